"""Anchor measurements for attention on the lent GPU: what a user would pick instead.

Measures, side by side in one run, FlashAttention-style forward (and backward) of
  - PyTorch SDPA with each backend (flash = FA2 code in PyTorch, cuDNN, mem-efficient)
  - a Triton FA2-style forward kernel (written here for measurement; autotuned)
Shapes follow the FA2 paper: batch*seqlen = 16k tokens, hidden 2048, head dim 64/128.
FLOPs: fwd 4*b*h*s*s*d (halved when causal), bwd 2.5x fwd.
"""
import json, math, os, sys, time
import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend
import triton
import triton.language as tl


@triton.jit
def _fa_fwd(Q, K, V, O, sm_scale, N_CTX,
            HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
            CAUSAL: tl.constexpr):
    # Q,K,V,O contiguous [B*H, N_CTX, HEAD_DIM]
    start_m = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    base = bh * N_CTX * HEAD_DIM
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    q = tl.load(Q + base + offs_m[:, None] * HEAD_DIM + offs_d[None, :])
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    qk_scale = sm_scale * 1.44269504
    hi = (start_m + 1) * BLOCK_M if CAUSAL else N_CTX
    for start_n in range(0, hi, BLOCK_N):
        start_n = tl.multiple_of(start_n, BLOCK_N)
        k = tl.load(K + base + (start_n + offs_n)[None, :] * HEAD_DIM + offs_d[:, None])
        qk = tl.dot(q, k) * qk_scale
        if CAUSAL:
            qk = tl.where(offs_m[:, None] >= (start_n + offs_n)[None, :], qk, float("-inf"))
        m_ij = tl.maximum(m_i, tl.max(qk, 1))
        p = tl.math.exp2(qk - m_ij[:, None])
        alpha = tl.math.exp2(m_i - m_ij)
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None]
        v = tl.load(V + base + (start_n + offs_n)[:, None] * HEAD_DIM + offs_d[None, :])
        acc = tl.dot(p.to(v.dtype), v, acc)
        m_i = m_ij
    acc = acc / l_i[:, None]
    tl.store(O + base + offs_m[:, None] * HEAD_DIM + offs_d[None, :], acc.to(O.dtype.element_ty))


_fa_fwd_tuned = triton.autotune(
    configs=[triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_stages=s, num_warps=w)
             for bm in (64, 128) for bn in (32, 64, 128) for s in (2, 3, 4) for w in (4, 8)],
    key=["N_CTX", "HEAD_DIM", "CAUSAL"])(_fa_fwd)


def triton_fwd(q, k, v, causal, sm_scale):
    B, H, S, D = q.shape
    o = torch.empty_like(q)
    grid = lambda meta: (triton.cdiv(S, meta["BLOCK_M"]), B * H)
    _fa_fwd_tuned[grid](q, k, v, o, sm_scale, S, HEAD_DIM=D, CAUSAL=causal)
    return o


def flops(B, H, S, D, causal, mode):
    f = 4.0 * B * H * S * S * D
    if causal:
        f *= 0.5
    if mode == "bwd":
        f *= 2.5
    return f


def bench(fn):
    return triton.testing.do_bench(fn, warmup=50, rep=200, return_mode="median")


def shapes():
    """(kind, D, causal, S, B, H, KV): the FA2 paper's shapes, then d=256 and a
    grouped-query shape, as tessera-bench --attention-table runs them.
    ANCHORS_ONLY=128 / fa2 / d256 / gqa keeps the matching rows (a comma list:
    rows matching any, in that order; a row matching two tokens comes twice);
    ANCHORS_S=2048 keeps one sequence length."""
    out = []
    for D in (64, 128):
        for causal in (False, True):
            for S in (512, 1024, 2048, 4096, 8192, 16384):
                out.append(("fa2", D, causal, S, max(1, 16384 // S), 2048 // D, 2048 // D))
    for causal in (False, True):
        for S in (1024, 4096, 16384):
            out.append(("d256", 256, causal, S, 16384 // S, 8, 8))
    for causal in (False, True):
        out.append(("gqa", 128, causal, 4096, 4, 32, 8))
    # ANCHORS_S=2048,4096 keeps those sequence lengths only.
    lengths = [int(t) for t in os.environ.get("ANCHORS_S", "").split(",") if t]
    if lengths:
        out = [s for s in out if s[3] in lengths]
    # A comma list keeps the rows matching any token, in the list's order.
    only = [t for t in os.environ.get("ANCHORS_ONLY", "").split(",") if t]
    if not only:
        return out
    return [s for t in only for s in out if t in (s[0], str(s[1]))]


def main():
    dev = torch.cuda.get_device_name()
    rows = []
    dtype = torch.float16
    for kind, D, causal, S, B, H, KV in shapes():
        torch.manual_seed(0)
        q = torch.randn(B, H, S, D, device="cuda", dtype=dtype)
        k = torch.randn(B, KV, S, D, device="cuda", dtype=dtype)
        v = torch.randn_like(k)
        # Triton's kernel and a backend without grouped-query support
        # see K/V expanded to every query head (not timed).
        kx = k.repeat_interleave(H // KV, dim=1) if KV != H else k
        vx = v.repeat_interleave(H // KV, dim=1) if KV != H else v
        scale = 1.0 / math.sqrt(D)
        ref = None
        res = {"kind": kind, "D": D, "causal": causal, "S": S, "B": B, "H": H, "KV": KV}
        for name, be in (("sdpa_flash", SDPBackend.FLASH_ATTENTION),
                         ("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION),
                         ("sdpa_efficient", SDPBackend.EFFICIENT_ATTENTION)):
            try:
                with sdpa_kernel([be]):
                    try:
                        fn = lambda: F.scaled_dot_product_attention(
                            q, k, v, is_causal=causal, enable_gqa=KV != H)
                        out = fn()
                    except Exception:
                        if KV == H:
                            raise
                        res[name + "_kv_expanded"] = True
                        fn = lambda: F.scaled_dot_product_attention(q, kx, vx, is_causal=causal)
                        out = fn()
                    ms = bench(fn)
                if ref is None:
                    ref = out.float()
                res[name] = round(flops(B, H, S, D, causal, "fwd") / ms / 1e9, 1)
            except Exception as e:
                res[name] = f"err:{type(e).__name__}"
        try:
            fn = lambda: triton_fwd(q, kx, vx, causal, scale)
            out = fn()
            err = ((out.float() - ref).norm() / ref.norm()).item()
            ms = bench(fn)
            res["triton_fa2"] = round(flops(B, H, S, D, causal, "fwd") / ms / 1e9, 1)
            res["triton_relerr"] = float(f"{err:.2e}")
        except Exception as e:
            res["triton_fa2"] = f"err:{type(e).__name__}:{str(e)[:80]}"
        # backward through SDPA (cuDNN and flash); ANCHORS_FWD_ONLY=1 skips it
        for name, be in () if os.environ.get("ANCHORS_FWD_ONLY") else (("bwd_sdpa_flash", SDPBackend.FLASH_ATTENTION),
                         ("bwd_sdpa_cudnn", SDPBackend.CUDNN_ATTENTION)):
            try:
                qg = q.clone().requires_grad_(); kg = k.clone().requires_grad_(); vg = v.clone().requires_grad_()
                with sdpa_kernel([be]):
                    o = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
                    do = torch.randn_like(o)
                    fn = lambda: torch.autograd.grad(o, (qg, kg, vg), do, retain_graph=True)
                    ms = bench(fn)
                res[name] = round(flops(B, H, S, D, causal, "bwd") / ms / 1e9, 1)
            except Exception as e:
                res[name] = f"err:{type(e).__name__}"
        rows.append(res)
        print(json.dumps(res), flush=True)
    out = os.environ.get("OUT", ".")
    with open(os.path.join(out, "attn_anchors.json"), "w") as f:
        json.dump({"device": dev, "torch": torch.__version__, "triton": triton.__version__, "rows": rows}, f, indent=1)
    print("device:", dev, "torch", torch.__version__, "triton", triton.__version__)
    hdr = ["kind", "D", "causal", "S", "sdpa_flash", "sdpa_cudnn", "sdpa_efficient", "triton_fa2", "bwd_sdpa_flash", "bwd_sdpa_cudnn"]
    print(" ".join(f"{h:>14}" for h in hdr))
    for r in rows:
        print(" ".join(f"{str(r.get(h)):>14}" for h in hdr))


if __name__ == "__main__":
    main()
