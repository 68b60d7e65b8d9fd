"""Runs Tessera's attention forward a few times on one problem, for a profiler
(ncu --kernel-name regex:attention_fwd --launch-skip 2 --launch-count 1):
    python3 bench/attention_once.py [SCORE_MOD] [MASK_MOD]
bf16, b=4, h=16, s=4096, d=128, [b, s, h, d] (the issue-21 table's shape).
Needs TESSERA_LIBRARY (the C API's library) and a GPU."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import tessera  # noqa: E402

score_mod = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "none" else None
mask_mod = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "none" else None
q, k, v = (torch.randn(4, 4096, 16, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))
with torch.no_grad():
    for _ in range(4):
        tessera.attention(q, k, v, score_mod=score_mod, mask_mod=mask_mod)
torch.cuda.synchronize()
print("ran", score_mod, mask_mod)
