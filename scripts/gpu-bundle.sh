#!/usr/bin/env bash
# Makes ./bundle (git-ignored) for the GPU test machine, which has no LLVM:
# the GPU check program (glibc only, libcuda by dlopen), the PTX of every
# library kernel for sm_80 and sm_90a (plus the causal attention variant),
# and the ptxas reports.  Carry it with `carry: ["bundle"]`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
bash scripts/setup.sh > /dev/null
rm -rf bundle && mkdir -p bundle/ptx/causal bundle/ptx/mult16
"$BUILD_DIR/tools/tessera-kernels/tessera-kernels" --out bundle/ptx --json bundle/ptx/kernels.json \
  | tee bundle/ptx/kernels.txt
"$BUILD_DIR/tools/tessera-kernels/tessera-kernels" --kernel attention_fwd -D CAUSAL=1 \
  --out bundle/ptx/causal > /dev/null
# INT_MULTIPLE=16: sizes/strides promised multiples of 16, vectorized accesses.
"$BUILD_DIR/tools/tessera-kernels/tessera-kernels" -D INT_MULTIPLE=16 --out bundle/ptx/mult16 \
  > bundle/ptx/mult16.txt
rm -f bundle/ptx/*.cubin bundle/ptx/*/*.cubin
cp "$BUILD_DIR/tests/tessera-gpu-check" bundle/
strip bundle/tessera-gpu-check
cp scripts/gpu-run.sh bundle/
du -sh bundle
