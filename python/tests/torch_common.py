"""What the PyTorch tests share: the package of this checkout, fresh random
inputs every run, and the error they report."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tessera  # noqa: E402,F401  (re-exported)

torch.manual_seed(int.from_bytes(os.urandom(4), "little"))


def rel(a, b):
    """max |a - b| over max |b| (at least 1): b is the float64 reference."""
    return ((a.double() - b).abs().max() / b.abs().max().clamp_min(1)).item()
