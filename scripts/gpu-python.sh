#!/usr/bin/env bash
# Runs on the GPU machine, over ./bundle: the Python package on PyTorch CUDA
# tensors (python/tests/test_torch.py: forward and autograd gradients against
# float64, next to SDPA's error), the same under CUDA graph capture
# (python/tests/test_graphs.py) and then, unless NO_TRAIN=1, the training
# comparison (examples/train_gpt.py: the same small GPT with SDPA and with
# Tessera's attention; STEPS, default 300).  Output in OUT.
set -uo pipefail
OUT=${1:?usage: gpu-python.sh OUT_DIR}
mkdir -p "$OUT"
source "$(dirname "$0")/gpu-unpack.sh"
export TESSERA_CACHE_DIR=/tmp/tessera-cache TESSERA_LIBRARY=/tmp/tessera-bin/libtessera.so
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv; date -u;
  python3 -c "import torch; print('torch', torch.__version__)"; } > "$OUT/device.txt" 2>&1
timeout ${TEST_TIMEOUT:-240} python3 bundle/python/tests/test_torch.py > "$OUT/test_torch.log" 2>&1
echo "test_torch rc=$?" >> "$OUT/test_torch.log"
cat "$OUT/test_torch.log"
timeout ${TEST_TIMEOUT:-240} python3 bundle/python/tests/test_graphs.py > "$OUT/test_graphs.log" 2>&1
echo "test_graphs rc=$?" >> "$OUT/test_graphs.log"
cat "$OUT/test_graphs.log"
if [ -z "${NO_TRAIN:-}" ]; then
  timeout ${TRAIN_TIMEOUT:-300} python3 bundle/examples/train_gpt.py --steps ${STEPS:-300} --out "$OUT" \
    > "$OUT/train_gpt.log" 2>&1
  echo "train_gpt rc=$?" >> "$OUT/train_gpt.log"
  cat "$OUT/train_gpt.log"
fi
