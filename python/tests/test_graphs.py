"""tessera.attention under CUDA graph capture (torch.cuda.graph): forward and
backward through autograd captured once, then replayed on fresh random
inputs copied into the captured tensors; every replay must give the bits an
eager call gives on the same inputs (the backward is deterministic), and
those are checked against float64.  The calls a graph cannot hold are
refused with a message: a document mask (its block lists are rebuilt per
call in the library's memory), dropout with a seed drawn while capturing,
and the low-level backward without a workspace.  Needs a GPU and
TESSERA_LIBRARY (scripts/gpu-python.sh sets it)."""
import sys

import torch
import torch.nn.functional as F

from torch_common import rel, tessera

dev = "cuda"


def graph_case(b, h, hk, s, d, causal, dtype, **mods):
    shape_q, shape_kv = (b, s, h, d), (b, s, hk, d)
    q = torch.randn(shape_q, device=dev, dtype=dtype, requires_grad=True)
    k = torch.randn(shape_kv, device=dev, dtype=dtype, requires_grad=True)
    v = torch.randn(shape_kv, device=dev, dtype=dtype, requires_grad=True)
    do = torch.randn(shape_q, device=dev, dtype=dtype)

    def step():
        out = tessera.attention(q, k, v, causal=causal, **mods)
        return (out,) + torch.autograd.grad(out, (q, k, v), do)

    # Warm up on a side stream (torch's recipe): kernels compiled, lists built.
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):
            step()
    torch.cuda.current_stream().wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        static = step()
    tag = f"b={b} h={h} kv={hk} s={s} d={d} causal={int(causal)} {str(dtype)[6:]} {mods or ''}"
    ok = True
    for replay in range(3):
        with torch.no_grad():
            for t in (q, k, v, do):
                t.copy_(torch.randn_like(t))
        g.replay()
        torch.cuda.synchronize()
        eager = step()
        torch.cuda.synchronize()
        same = all(torch.equal(a, e) for a, e in zip(static, eager))
        # float64: SDPA in double on the same inputs ([b, h, s, d]).
        t64 = [x.detach().transpose(1, 2).double().requires_grad_() for x in (q, k, v)]
        if mods.get("mask_mod", "").startswith("sliding_window"):
            left = int(mods["mask_mod"].split(".")[1])
            i = torch.arange(s, device=dev)
            allowed = (i[None, :] <= i[:, None]) & (i[:, None] - i[None, :] <= left)
            ref = F.scaled_dot_product_attention(*t64, attn_mask=allowed, enable_gqa=hk != h)
        else:
            ref = F.scaled_dot_product_attention(*t64, is_causal=causal, enable_gqa=hk != h)
        rg = torch.autograd.grad(ref, t64, do.transpose(1, 2).double())
        errs = [rel(static[0].transpose(1, 2), ref)] + [
            rel(a.transpose(1, 2), r) for a, r in zip(static[1:], rg)]
        good = same and max(errs) < (2e-2 if dtype == torch.bfloat16 else 4e-3)
        print(f"graph {tag} replay {replay}: {'bit-identical to eager' if same else 'DIFFERS from eager'}, "
              f"error vs float64 o/dq/dk/dv {' '.join(f'{e:.1e}' for e in errs)}: "
              f"{'ok' if good else 'FAIL'}", flush=True)
        ok &= good
    return ok


def refused(what, fn, words):
    """fn() called while capturing must raise tessera.Error naming `words`."""
    g = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(g):
            fn()
        print(f"{what}: captured without an error: FAIL")
        return False
    except tessera.Error as e:
        good = all(w in str(e) for w in words)
        print(f"{what}: refused: {e}: {'ok' if good else 'FAIL (message)'}")
        return good
    except Exception as e:  # the capture itself must not fail some other way
        print(f"{what}: {type(e).__name__}: {e}: FAIL")
        return False


ok = True
ok &= graph_case(2, 8, 8, 1024, 64, False, torch.float16)
ok &= graph_case(1, 16, 4, 777, 128, True, torch.bfloat16)          # GQA, odd length
ok &= graph_case(2, 4, 4, 600, 64, False, torch.float16, mask_mod="sliding_window.128.0")

q = torch.randn(1, 256, 4, 64, device=dev, dtype=torch.float16, requires_grad=True)
k, v = torch.randn_like(q), torch.randn_like(q)
docs = torch.zeros(1, 256, device=dev, dtype=torch.int32)
docs[:, 100:] = 1
tessera.attention(q, k, v, mask_mod="document", mask_data=docs).sum().backward()  # warm
ok &= refused("document mask", lambda: tessera.attention(q, k, v, mask_mod="document",
                                                          mask_data=docs), ["document", "graph"])
ok &= refused("dropout without a seed", lambda: tessera.attention(q, k, v, dropout_p=0.1),
              ["dropout", "seed"])
o = torch.empty_like(q)
lse = torch.empty(1, 4, 256, device=dev, dtype=torch.float32)
tessera.attention_forward(q, k, v, o, lse)
grads = [torch.empty_like(x) for x in (q, k, v)]
tessera.attention_backward(q, k, v, o, torch.randn_like(q), lse, *grads)  # warm
ok &= refused("backward without a workspace",
              lambda: tessera.attention_backward(q, k, v, o, o, lse, *grads),
              ["workspace", "graph"])
torch.cuda.synchronize()
print("graph tests:", "ok" if ok else "FAIL")
sys.exit(0 if ok else 1)
