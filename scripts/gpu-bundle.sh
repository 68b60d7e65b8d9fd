#!/usr/bin/env bash
# Makes ./bundle (git-ignored) for the GPU test machine, which has no LLVM: the
# GPU test program and the benchmark, linked statically against LLVM/MLIR
# (build-static/, TESSERA_STATIC=ON; only glibc stays dynamic and libcuda is
# opened with dlopen), stripped and xz-compressed, plus the scripts they run
# with.  Carry it with `carry: ["bundle"]`; scripts/gpu-run.sh unpacks it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh > /dev/null
STATIC_DIR=${TESSERA_STATIC_BUILD_DIR:-build-static}
if [ ! -f "$STATIC_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$STATIC_DIR" -DCMAKE_BUILD_TYPE=Release -DTESSERA_STATIC=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir
fi
cmake --build "$STATIC_DIR" -j "${TESSERA_JOBS:-2}" --target tessera-gpu-check tessera-bench \
  tessera-aot-example tessera
rm -rf bundle && mkdir -p bundle
for exe in tests/tessera-gpu-check tools/tessera-bench/tessera-bench tests/tessera-aot-example; do
  strip -o "bundle/$(basename "$exe")" "$STATIC_DIR/$exe"
  xz -T2 -6 -f "bundle/$(basename "$exe")"
done
# The standalone AOT example (no LLVM at all), built by the test suite.
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
if [ -x "$BUILD_DIR/tests/example-aot-softmax/softmax_app" ]; then
  strip -o bundle/softmax_app "$BUILD_DIR/tests/example-aot-softmax/softmax_app"
  xz -T2 -6 -f bundle/softmax_app
fi
# examples/user-project's AOT program (the user's own kernel; Tessera::Runtime
# only, no LLVM), built by the test suite's user-project test.
if [ -x "$BUILD_DIR/tests/user-project/user/user_aot" ]; then
  strip -o bundle/user_aot "$BUILD_DIR/tests/user-project/user/user_aot"
  xz -T2 -6 -f bundle/user_aot
fi
# The C API's library (LLVM inside) and the Python package, for PyTorch there.
strip -o bundle/libtessera.so "$STATIC_DIR/runtime/libtessera.so"
xz -T2 -6 -f bundle/libtessera.so
rm -rf bundle/python bundle/examples && mkdir -p bundle/python bundle/examples
cp -r python/tessera python/tests bundle/python/
cp examples/train_gpt.py bundle/examples/
cp scripts/gpu-run.sh scripts/gpu-unpack.sh bench/torch_rowwise.py bench/torch_matmul.py bench/attn_anchors.py bench/sdpa_compare.py bundle/
du -sh bundle
