"""tessera.attention's autograd wrapper on CPU PyTorch tensors in Tessera's
interpreter (TESSERA_INTERPRET=1): forward and torch.autograd.grad against a
float64 computation of the same attention by PyTorch itself, both layouts,
GQA, causal, and the varlen form (also with modifiers).  Run by ctest (python-autograd) where
Debian's python3-torch is installed; the same wrapper runs on CUDA tensors in
python/tests/test_torch.py on a GPU."""
import math

import torch

from torch_common import rel, tessera

assert tessera.interpreted(), "run with TESSERA_INTERPRET=1"


def reference(q, k, v, causal):
    """float64 attention on [b, h, s, d] with autograd (GQA by repeating k/v)."""
    g = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        sq, sk = s.shape[-2:]
        s = s.masked_fill(torch.arange(sk)[None, :] > torch.arange(sq)[:, None], float("-inf"))
    return torch.softmax(s, -1) @ v


def case(b, h, hk, sq, sk, d, causal, layout):
    shape = (lambda hh, s: (b, s, hh, d)) if layout == "bshd" else (lambda hh, s: (b, hh, s, d))
    q, k, v = (torch.randn(shape(hh, s), dtype=torch.float16, requires_grad=True)
               for hh, s in ((h, sq), (hk, sk), (hk, sk)))
    do = torch.randn(shape(h, sq), dtype=torch.float16)
    out = tessera.attention(q, k, v, causal=causal, layout=layout)
    grads = torch.autograd.grad(out, (q, k, v), do)
    bhsd = (lambda x: x.transpose(1, 2)) if layout == "bshd" else (lambda x: x)
    q64, k64, v64 = (bhsd(x).detach().double().requires_grad_() for x in (q, k, v))
    ref = reference(q64, k64, v64, causal)
    rgrads = torch.autograd.grad(ref, (q64, k64, v64), bhsd(do).double())
    errs = [rel(bhsd(out), ref)] + [rel(bhsd(g), r) for g, r in zip(grads, rgrads)]
    assert max(errs) < 3e-2, errs
    print(f"b={b} h={h} kv={hk} sq={sq} sk={sk} d={d} causal={causal} {layout}: "
          + " ".join(f"{e:.1e}" for e in errs) + " ok")


def varlen():
    lens, h, d = [7, 20, 2], 2, 64
    cu = torch.tensor([0] + list(torch.tensor(lens).cumsum(0)), dtype=torch.int32)
    q, k, v = (torch.randn(int(cu[-1]), h, d, dtype=torch.float16, requires_grad=True)
               for _ in range(3))
    do = torch.randn(int(cu[-1]), h, d, dtype=torch.float16)
    out = tessera.attention_varlen(q, k, v, cu, cu, max(lens), max(lens), causal=True)
    grads = torch.autograd.grad(out, (q, k, v), do)
    worst = 0
    for i in range(3):
        sl = slice(int(cu[i]), int(cu[i + 1]))
        t = lambda x: x[sl].transpose(0, 1)[None].detach().double().requires_grad_()
        q64, k64, v64 = t(q), t(k), t(v)
        ref = reference(q64, k64, v64, True)
        rgrads = torch.autograd.grad(ref, (q64, k64, v64), do[sl].transpose(0, 1)[None].double())
        mine = [x[sl].transpose(0, 1)[None] for x in (out, *grads)]
        worst = max([worst, rel(mine[0], ref)] + [rel(m, r) for m, r in zip(mine[1:], rgrads)])
    assert worst < 3e-2, worst
    print(f"varlen {lens} causal: worst {worst:.1e} ok")


def varlen_modifiers():
    """The varlen wrapper with a score and a mask modifier: soft-capping and a
    sliding window of 4 keys back, over each sequence's own positions."""
    lens, h, d, cap, left = [7, 20, 2], 2, 64, 5.0, 4
    cu = torch.tensor([0] + list(torch.tensor(lens).cumsum(0)), dtype=torch.int32)
    q, k, v = (torch.randn(int(cu[-1]), h, d, dtype=torch.float16, requires_grad=True)
               for _ in range(3))
    do = torch.randn(int(cu[-1]), h, d, dtype=torch.float16)
    out = tessera.attention_varlen(q, k, v, cu, cu, max(lens), max(lens),
                                   score_mod=f"softcap.{cap:g}", mask_mod=f"sliding_window.{left}.0")
    grads = torch.autograd.grad(out, (q, k, v), do)
    worst = 0
    for i, n in enumerate(lens):
        sl = slice(int(cu[i]), int(cu[i + 1]))
        t = lambda x: x[sl].transpose(0, 1)[None].detach().double().requires_grad_()
        q64, k64, v64 = t(q), t(k), t(v)
        s = cap * torch.tanh(q64 @ k64.transpose(-1, -2) / math.sqrt(d) / cap)
        pos = torch.arange(n)
        allowed = (pos[None, :] <= pos[:, None]) & (pos[None, :] >= pos[:, None] - left)
        ref = torch.softmax(s.masked_fill(~allowed, float("-inf")), -1) @ v64
        rgrads = torch.autograd.grad(ref, (q64, k64, v64), do[sl].transpose(0, 1)[None].double())
        mine = [x[sl].transpose(0, 1)[None] for x in (out, *grads)]
        worst = max([worst, rel(mine[0], ref)] + [rel(m, r) for m, r in zip(mine[1:], rgrads)])
    assert worst < 3e-2, worst
    print(f"varlen {lens} softcap {cap:g} + sliding window {left}: worst {worst:.1e} ok")


def expressions():
    """Modifiers written as expressions: Tessera derives the score modifier's
    derivative; torch.autograd differentiates the float64 reference."""
    b, h, s, d = 2, 2, 37, 64
    q, k, v = (torch.randn(b, s, h, d, dtype=torch.float16, requires_grad=True) for _ in range(3))
    do = torch.randn(b, s, h, d, dtype=torch.float16)
    out = tessera.attention(q, k, v, scale=0.25, score_mod="expr:4 * tanh(s / 4) - 0.1 * abs(q - k)",
                            mask_mod="expr:k <= q && q - k < 9")
    grads = torch.autograd.grad(out, (q, k, v), do)
    t = lambda x: x.detach().double().transpose(1, 2).requires_grad_()
    q64, k64, v64 = t(q), t(k), t(v)
    pos = torch.arange(s, dtype=torch.float64)
    sc = 4 * torch.tanh(q64 @ k64.transpose(-1, -2) * 0.25 / 4) - 0.1 * (pos[:, None] - pos).abs()
    allowed = (pos[None, :] <= pos[:, None]) & (pos[:, None] - pos[None, :] < 9)
    ref = torch.softmax(sc.masked_fill(~allowed, float("-inf")), -1) @ v64
    rgrads = torch.autograd.grad(ref, (q64, k64, v64), do.double().transpose(1, 2))
    mine = [x.transpose(1, 2) for x in (out, *grads)]
    worst = max([rel(mine[0], ref)] + [rel(m, r) for m, r in zip(mine[1:], rgrads)])
    assert worst < 3e-2, worst
    print(f"expression score_mod + mask_mod: worst {worst:.1e} ok")


def odd_strides():
    """Inputs whose head dimension is not contiguous (a view of [b, s, d, h])
    and out.sum()'s gradient, whose every stride is 0: the wrapper copies
    what the kernels cannot read as it is (found on the H200 by
    test_graphs.py: the library refused sum()'s gradient)."""
    b, h, s, d = 1, 2, 29, 64
    q, k, v = (torch.randn(b, s, d, h, dtype=torch.float16, requires_grad=True) for _ in range(3))
    qt, kt, vt = (x.transpose(2, 3) for x in (q, k, v))  # [b, s, h, d], head-dim stride h
    out = tessera.attention(qt, kt, vt, causal=True)
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    q64, k64, v64 = (x.detach().double().transpose(2, 3).transpose(1, 2).requires_grad_()
                     for x in (q, k, v))
    ref = reference(q64, k64, v64, True)
    rgrads = torch.autograd.grad(ref.sum(), (q64, k64, v64))
    mine = [out.transpose(1, 2)] + [g.transpose(2, 3).transpose(1, 2) for g in grads]
    worst = max([rel(mine[0], ref)] + [rel(m, r) for m, r in zip(mine[1:], rgrads)])
    assert worst < 3e-2, worst
    print(f"head dim not contiguous, out.sum() backward: worst {worst:.1e} ok")


case(1, 2, 2, 33, 33, 64, False, "bshd")
case(1, 4, 2, 40, 24, 64, True, "bhsd")
odd_strides()
varlen()
varlen_modifiers()
expressions()
try:
    tessera.attention(torch.randn(2, 3, 4, dtype=torch.float16),
                      torch.randn(2, 3, 4, dtype=torch.float16),
                      torch.randn(2, 3, 4, dtype=torch.float16))
    raise AssertionError("3-D tensors accepted")
except tessera.Error as e:
    print(f"refused: {e}")
print("autograd (CPU tensors, interpreter): ok")
