"""tessera.attention on PyTorch CUDA tensors (the H200): forward and
gradients through autograd against a float64 reference, side by side with
SDPA's error on the same inputs; both layouts, f16/bf16, causal, GQA, odd
lengths, a side stream, a packed variable-length batch.  Fresh random inputs each run.  Needs a GPU and
TESSERA_LIBRARY (scripts/gpu-python.sh sets it)."""
import sys

import torch
import torch.nn.functional as F

from torch_common import rel, tessera

dev = "cuda"


def case(b, h, hk, sq, sk, d, causal, layout, dtype, stream=None):
    def make(hh, s):
        shape = (b, s, hh, d) if layout == "bshd" else (b, hh, s, d)
        return torch.randn(shape, device=dev, dtype=dtype, requires_grad=True)
    q, k, v = make(h, sq), make(hk, sk), make(hk, sk)
    do = torch.randn_like(q)
    bhsd = (lambda x: x.transpose(1, 2)) if layout == "bshd" else (lambda x: x)
    ctx = torch.cuda.stream(stream) if stream is not None else torch.cuda.stream(torch.cuda.current_stream())
    with ctx:
        out = tessera.attention(q, k, v, causal=causal, layout=layout)
        grads = torch.autograd.grad(out, (q, k, v), do)
    torch.cuda.synchronize()
    # float64 reference and SDPA (f16/bf16) on the same inputs, [b, h, s, d]
    q64, k64, v64 = (bhsd(x).detach().double().requires_grad_() for x in (q, k, v))
    ref = F.scaled_dot_product_attention(q64, k64, v64, is_causal=causal, enable_gqa=hk != h)
    rgrads = torch.autograd.grad(ref, (q64, k64, v64), bhsd(do).double())
    qs, ks, vs = (bhsd(x).detach().requires_grad_() for x in (q, k, v))
    sdpa = F.scaled_dot_product_attention(qs, ks, vs, is_causal=causal, enable_gqa=hk != h)
    sgrads = torch.autograd.grad(sdpa, (qs, ks, vs), bhsd(do))
    names = ["o", "dq", "dk", "dv"]
    ours = [rel(bhsd(out), ref)] + [rel(bhsd(g), r) for g, r in zip(grads, rgrads)]
    theirs = [rel(sdpa, ref)] + [rel(g, r) for g, r in zip(sgrads, rgrads)]
    line = " ".join(f"{n} {a:.1e}/{s:.1e}" for n, a, s in zip(names, ours, theirs))
    bad = [n for n, a, s in zip(names, ours, theirs) if a > 2 * s + 1e-3]
    tag = f"b={b} h={h} kv={hk} sq={sq} sk={sk} d={d} causal={int(causal)} {layout} {str(dtype)[6:]}"
    print(f"{tag}{' stream' if stream is not None else ''}: tessera/sdpa error {line}: "
          f"{'ok' if not bad else 'WORSE ' + ','.join(bad)}", flush=True)
    return not bad


def varlen_case(lens_q, lens_k, h, hk, d, causal, dtype):
    """tessera.attention_varlen on a packed batch, against float64 and SDPA per sequence."""
    cu = lambda lens: torch.tensor([0] + list(torch.tensor(lens).cumsum(0)), dtype=torch.int32, device=dev)
    q = torch.randn(sum(lens_q), h, d, device=dev, dtype=dtype, requires_grad=True)
    k = torch.randn(sum(lens_k), hk, d, device=dev, dtype=dtype, requires_grad=True)
    v = torch.randn(sum(lens_k), hk, d, device=dev, dtype=dtype, requires_grad=True)
    do = torch.randn_like(q)
    out = tessera.attention_varlen(q, k, v, cu(lens_q), cu(lens_k), max(lens_q), max(lens_k),
                                   causal=causal)
    grads = torch.autograd.grad(out, (q, k, v), do)
    torch.cuda.synchronize()
    worst_ours, worst_sdpa, oq, ok_ = [0.0] * 4, [0.0] * 4, 0, 0
    for sq, sk in zip(lens_q, lens_k):
        sl_q, sl_k = slice(oq, oq + sq), slice(ok_, ok_ + sk)
        oq, ok_ = oq + sq, ok_ + sk
        part = lambda x, sl: x[sl].transpose(0, 1).unsqueeze(0)  # [1, h, s, d]
        q64, k64, v64 = (part(x, sl).detach().double().requires_grad_()
                         for x, sl in ((q, sl_q), (k, sl_k), (v, sl_k)))
        ref = F.scaled_dot_product_attention(q64, k64, v64, is_causal=causal, enable_gqa=hk != h)
        rg = torch.autograd.grad(ref, (q64, k64, v64), part(do, sl_q).double())
        qs, ks, vs = (part(x, sl).detach().requires_grad_() for x, sl in ((q, sl_q), (k, sl_k), (v, sl_k)))
        sd = F.scaled_dot_product_attention(qs, ks, vs, is_causal=causal, enable_gqa=hk != h)
        sg = torch.autograd.grad(sd, (qs, ks, vs), part(do, sl_q))
        ours = [rel(part(out, sl_q), ref)] + [rel(part(g, sl), r) for g, sl, r in
                                             zip(grads, (sl_q, sl_k, sl_k), rg)]
        theirs = [rel(sd, ref)] + [rel(g, r) for g, r in zip(sg, rg)]
        worst_ours = [max(a, b) for a, b in zip(worst_ours, ours)]
        worst_sdpa = [max(a, b) for a, b in zip(worst_sdpa, theirs)]
    names = ["o", "dq", "dk", "dv"]
    line = " ".join(f"{n} {a:.1e}/{s:.1e}" for n, a, s in zip(names, worst_ours, worst_sdpa))
    bad = [n for n, a, s in zip(names, worst_ours, worst_sdpa) if a > 2 * s + 1e-3]
    print(f"varlen q={lens_q} k={lens_k} h={h} kv={hk} d={d} causal={int(causal)} "
          f"{str(dtype)[6:]}: tessera/sdpa error {line}: {'ok' if not bad else 'WORSE ' + ','.join(bad)}",
          flush=True)
    return not bad


ok = True
side = torch.cuda.Stream()
for args in [(2, 8, 8, 1024, 1024, 64, False, "bshd", torch.float16),
             (2, 8, 8, 1024, 1024, 128, True, "bshd", torch.bfloat16),
             (1, 32, 8, 1000, 1000, 128, True, "bhsd", torch.float16),   # GQA 32:8
             (1, 8, 1, 17, 4097, 64, False, "bshd", torch.bfloat16),     # MQA, odd lengths
             (2, 4, 4, 333, 129, 256, True, "bhsd", torch.float16),
             (1, 4, 4, 1, 1, 64, False, "bshd", torch.float16)]:
    ok &= case(*args)
ok &= case(2, 8, 8, 512, 512, 64, True, "bshd", torch.float16, stream=side)
ok &= varlen_case([17, 1000, 1, 300], [17, 1000, 64, 513], 8, 2, 128, True, torch.bfloat16)
ok &= varlen_case([129, 77], [129, 77], 4, 4, 64, False, torch.float16)
try:
    tessera.attention(torch.randn(2, 3, 4, device=dev, dtype=torch.float16),
                      torch.randn(2, 3, 4, device=dev, dtype=torch.float16),
                      torch.randn(2, 3, 4, device=dev, dtype=torch.float16))
    ok = False
    print("3-D tensors accepted: FAIL")
except tessera.Error as e:
    print(f"refused: {e}")
print("torch tests:", "ok" if ok else "FAIL")
sys.exit(0 if ok else 1)
