"""Anchor measurements for attention on the lent GPU: what a user would pick instead.

Measures, side by side in one run, FlashAttention-style forward (and backward) of
  - PyTorch SDPA with each backend (flash = FA2 code in PyTorch, cuDNN, mem-efficient)
  - a Triton FA2-style forward kernel and backward kernels (written here for
    measurement; autotuned): the backward is the algorithm of Triton's
    fused-attention tutorial (D = rowsum(dO*O), then per program dK/dV for a
    block of keys over the query blocks, and dQ for a block of queries over
    the key blocks; no atomics)
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
            CAUSAL: tl.constexpr, LSE=None, STORE_LSE: tl.constexpr = False):
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
    if STORE_LSE:  # base-2 logsumexp of the scaled scores, for the backward
        tl.store(LSE + bh * N_CTX + offs_m, m_i + tl.math.log2(l_i))


@triton.jit
def _fa_bwd_pre(O, DO, DELTA, HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr):
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    offs_d = tl.arange(0, HEAD_DIM)
    o = tl.load(O + rows[:, None] * HEAD_DIM + offs_d[None, :]).to(tl.float32)
    do = tl.load(DO + rows[:, None] * HEAD_DIM + offs_d[None, :]).to(tl.float32)
    tl.store(DELTA + rows, tl.sum(o * do, 1))


@triton.jit
def _fa_bwd(Q, K, V, DO, DQ, DK, DV, LSE, DELTA, sm_scale, N_CTX,
            HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr, INNER: tl.constexpr,
            CAUSAL: tl.constexpr):
    # Contiguous [B*H, N_CTX, HEAD_DIM]; LSE (base 2) and DELTA [B*H, N_CTX].
    # Program (i, bh): dK/dV of keys i*BLOCK.. over query blocks of INNER
    # rows, then dQ of queries i*BLOCK.. over key blocks of INNER keys.
    start = tl.program_id(0) * BLOCK
    bh = tl.program_id(1).to(tl.int64)
    base = bh * N_CTX * HEAD_DIM
    Q += base; K += base; V += base; DO += base; DQ += base; DK += base; DV += base
    LSE += bh * N_CTX; DELTA += bh * N_CTX
    offs_d = tl.arange(0, HEAD_DIM)
    own = start + tl.arange(0, BLOCK)
    inner = tl.arange(0, INNER)
    qk_scale = sm_scale * 1.44269504
    # dK, dV: the transposed scores of this key block against each query block.
    k = tl.load(K + own[:, None] * HEAD_DIM + offs_d[None, :])
    v = tl.load(V + own[:, None] * HEAD_DIM + offs_d[None, :])
    dk = tl.zeros([BLOCK, HEAD_DIM], tl.float32)
    dv = tl.zeros([BLOCK, HEAD_DIM], tl.float32)
    lo = (start // INNER) * INNER if CAUSAL else 0
    for m0 in range(lo, N_CTX, INNER):
        m0 = tl.multiple_of(m0, INNER)
        rows = m0 + inner
        qT = tl.load(Q + rows[None, :] * HEAD_DIM + offs_d[:, None])
        lse = tl.load(LSE + rows)
        pT = tl.math.exp2(tl.dot(k, qT) * qk_scale - lse[None, :])
        if CAUSAL:
            pT = tl.where(own[:, None] <= rows[None, :], pT, 0.0)
        do = tl.load(DO + rows[:, None] * HEAD_DIM + offs_d[None, :])
        dv = tl.dot(pT.to(do.dtype), do, dv)
        dpT = tl.dot(v, tl.trans(do))
        dsT = pT * (dpT - tl.load(DELTA + rows)[None, :])
        dk = tl.dot(dsT.to(qT.dtype), tl.trans(qT), dk)
    tl.store(DK + own[:, None] * HEAD_DIM + offs_d[None, :], (dk * sm_scale).to(DK.dtype.element_ty))
    tl.store(DV + own[:, None] * HEAD_DIM + offs_d[None, :], dv.to(DV.dtype.element_ty))
    # dQ: this query block's scores against each key block.
    q = tl.load(Q + own[:, None] * HEAD_DIM + offs_d[None, :])
    do = tl.load(DO + own[:, None] * HEAD_DIM + offs_d[None, :])
    lse = tl.load(LSE + own)
    delta = tl.load(DELTA + own)
    dq = tl.zeros([BLOCK, HEAD_DIM], tl.float32)
    hi = start + BLOCK if CAUSAL else N_CTX
    for n0 in range(0, hi, INNER):
        n0 = tl.multiple_of(n0, INNER)
        keys = n0 + inner
        kT = tl.load(K + keys[None, :] * HEAD_DIM + offs_d[:, None])
        vT = tl.load(V + keys[None, :] * HEAD_DIM + offs_d[:, None])
        p = tl.math.exp2(tl.dot(q, kT) * qk_scale - lse[:, None])
        if CAUSAL:
            p = tl.where(own[:, None] >= keys[None, :], p, 0.0)
        ds = p * (tl.dot(do, vT) - delta[:, None])
        dq = tl.dot(ds.to(kT.dtype), tl.trans(kT), dq)
    tl.store(DQ + own[:, None] * HEAD_DIM + offs_d[None, :], (dq * sm_scale).to(DQ.dtype.element_ty))


_fa_bwd_tuned = triton.autotune(
    configs=[triton.Config({"BLOCK": b, "INNER": i}, num_stages=s, num_warps=w)
             for b, i in ((64, 32), (64, 64), (128, 32), (128, 64)) for s in (1, 2) for w in (4, 8)],
    key=["N_CTX", "HEAD_DIM", "CAUSAL"], reset_to_zero=[],
    # Shorter timing per candidate (ANCHORS_TUNE_REP ms), so the whole table
    # and Tessera's fit in one job; the chosen config is then timed in full.
    **({"warmup": 10, "rep": int(os.environ["ANCHORS_TUNE_REP"])}
       if os.environ.get("ANCHORS_TUNE_REP") else {}))(_fa_bwd)


def triton_bwd_setup(q, k, v, do, causal, sm_scale):
    """Runs the Triton forward (keeping the logsumexp) and returns a function
    computing (dq, dk, dv) by the Triton backward: only what a training
    step's backward runs is timed."""
    B, H, S, D = q.shape
    o = torch.empty_like(q)
    lse = torch.empty(B * H, S, device=q.device, dtype=torch.float32)
    _fa_fwd[(S // 64, B * H)](q, k, v, o, sm_scale, S, HEAD_DIM=D, BLOCK_M=64, BLOCK_N=64,
                             CAUSAL=causal, LSE=lse, STORE_LSE=True)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty_like(lse)

    def run():
        _fa_bwd_pre[(B * H * S // 64,)](o, do, delta, HEAD_DIM=D, BLOCK=64)
        grid = lambda meta: (triton.cdiv(S, meta["BLOCK"]), B * H)
        _fa_bwd_tuned[grid](q, k, v, do, dq, dk, dv, lse, delta, sm_scale, S, HEAD_DIM=D,
                            CAUSAL=causal)
        return dq, dk, dv
    return run


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
    # ANCHORS_PROFILE=1 (under `ncu --profile-from-start off`, as
    # scripts/gpu-profile-attention-bwd.sh runs it): one warm call, then one
    # call between cudaProfilerStart and Stop, so that Nsight Compute sees
    # exactly one run of each anchor's kernels; the timing follows as usual.
    if os.environ.get("ANCHORS_PROFILE"):
        fn()
        torch.cuda.synchronize()
        torch.cuda.profiler.start()
        fn()
        torch.cuda.synchronize()
        torch.cuda.profiler.stop()
    return triton.testing.do_bench(fn, warmup=50, rep=200, return_mode="median")


def shapes():
    """(kind, D, causal, S, B, H, KV): the FA2 paper's shapes, then d=256 and a
    grouped-query shape, as tessera-bench --attention-table runs them.
    ANCHORS_ONLY=128 / fa2 / d256 / gqa / KIND:D:CAUSAL:S ('*' for any field,
    as tessera-bench's row selection) keeps the matching rows (a comma list:
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
    return [s for t in only for s in out if _matches(t, s)]


def _matches(token, shape):
    """Whether a row selection token (a kind, a head dim, or KIND:D:CAUSAL:S
    with '*' for any field) selects shape (kind, D, causal, S, ...)."""
    if ":" not in token:
        return token in (shape[0], str(shape[1]))
    have = (shape[0], str(shape[1]), str(int(shape[2])), str(shape[3]))
    return all(f in ("*", h) for f, h in zip(token.split(":"), have))


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
        # ANCHORS_BWD_ONLY=1: the backward columns only
        fwd = not os.environ.get("ANCHORS_BWD_ONLY")
        for name, be in () if not fwd else (("sdpa_flash", SDPBackend.FLASH_ATTENTION),
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
            if not fwd:
                raise RuntimeError("skipped")
            fn = lambda: triton_fwd(q, kx, vx, causal, scale)
            out = fn()
            err = ((out.float() - ref).norm() / ref.norm()).item()
            ms = bench(fn)
            res["triton_fa2"] = round(flops(B, H, S, D, causal, "fwd") / ms / 1e9, 1)
            res["triton_relerr"] = float(f"{err:.2e}")
        except Exception as e:
            res["triton_fa2"] = f"err:{type(e).__name__}:{str(e)[:80]}"
        # backward through SDPA (cuDNN and flash) and the Triton kernels;
        # ANCHORS_FWD_ONLY=1 skips it
        bwd_ref = None
        do = torch.randn_like(q)
        for name, be in () if os.environ.get("ANCHORS_FWD_ONLY") else (("bwd_sdpa_flash", SDPBackend.FLASH_ATTENTION),
                         ("bwd_sdpa_cudnn", SDPBackend.CUDNN_ATTENTION)):
            try:
                qg = q.clone().requires_grad_(); kg = k.clone().requires_grad_(); vg = v.clone().requires_grad_()
                with sdpa_kernel([be]):
                    o = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal, enable_gqa=KV != H)
                    fn = lambda: torch.autograd.grad(o, (qg, kg, vg), do, retain_graph=True)
                    grads = fn()
                    ms = bench(fn)
                if bwd_ref is None:
                    bwd_ref = grads[0].float()
                res[name] = round(flops(B, H, S, D, causal, "bwd") / ms / 1e9, 1)
            except Exception as e:
                res[name] = f"err:{type(e).__name__}"
        if not os.environ.get("ANCHORS_FWD_ONLY"):
            try:
                fn = triton_bwd_setup(q, kx, vx, do, causal, scale)
                dq = fn()[0]
                if bwd_ref is not None:
                    res["triton_bwd_dq_relerr"] = float(f"{((dq.float() - bwd_ref).norm() / bwd_ref.norm()).item():.2e}")
                ms = bench(fn)
                res["bwd_triton_fa2"] = round(flops(B, H, S, D, causal, "bwd") / ms / 1e9, 1)
                if KV != H:
                    res["bwd_triton_fa2_kv_expanded"] = True
            except Exception as e:
                res["bwd_triton_fa2"] = f"err:{type(e).__name__}:{str(e)[:80]}"
        rows.append(res)
        print(json.dumps(res), flush=True)
    out = os.environ.get("OUT", ".")
    with open(os.path.join(out, "attn_anchors.json"), "w") as f:
        json.dump({"device": dev, "torch": torch.__version__, "triton": triton.__version__, "rows": rows}, f, indent=1)
    print("device:", dev, "torch", torch.__version__, "triton", triton.__version__)
    hdr = ["kind", "D", "causal", "S", "sdpa_flash", "sdpa_cudnn", "sdpa_efficient", "triton_fa2", "bwd_sdpa_flash", "bwd_sdpa_cudnn", "bwd_triton_fa2"]
    print(" ".join(f"{h:>14}" for h in hdr))
    for r in rows:
        print(" ".join(f"{str(r.get(h)):>14}" for h in hdr))


if __name__ == "__main__":
    main()
