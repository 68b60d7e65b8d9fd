"""The Python package over the C API, on NumPy arrays in Tessera's CPU
interpreter: forward and backward against float64 references, both layouts,
strided views, grouped-query attention, and errors raised as tessera.Error.
Run by ctest (python-package) with TESSERA_INTERPRET=1 and TESSERA_LIBRARY."""
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tessera  # noqa: E402

rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))


def reference(q, k, v, do, causal, scale):
    """float64 attention and its gradients, [b, h, s, d] arrays."""
    q, k, v, do = (x.astype(np.float64) for x in (q, k, v, do))
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    s = np.einsum("bhqd,bhkd->bhqk", q, k) * scale
    if causal:
        sq, sk = s.shape[2], s.shape[3]
        s = np.where(np.arange(sk)[None, :] <= np.arange(sq)[:, None], s, -np.inf)
    m = s.max(-1, keepdims=True)
    p = np.exp(s - m)
    l = p.sum(-1, keepdims=True)
    p /= l
    o = np.einsum("bhqk,bhkd->bhqd", p, v)
    lse = (m + np.log(l))[..., 0]
    dv = np.einsum("bhqk,bhqd->bhkd", p, do)
    dp = np.einsum("bhqd,bhkd->bhqk", do, v)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    dq = np.einsum("bhqk,bhkd->bhqd", ds, k) * scale
    dk = np.einsum("bhqk,bhqd->bhkd", ds, q) * scale
    b, hk = dk.shape[0], dk.shape[1] // group
    dk = dk.reshape(b, hk, group, *dk.shape[2:]).sum(2)
    dv = dv.reshape(b, hk, group, *dv.shape[2:]).sum(2)
    return o, lse, dq, dk, dv


def close(name, got, want, tol):
    err = np.abs(got.astype(np.float64) - want).max() / max(1.0, np.abs(want).max())
    assert err < tol, f"{name}: relative error {err:.2e} >= {tol}"
    return err


def run(b, h, hk, sq, sk, d, causal, layout):
    scale = 1 / math.sqrt(d)
    shape = lambda hh, s: (b, s, hh, d) if layout == "bshd" else (b, hh, s, d)
    q = rng.standard_normal(shape(h, sq)).astype(np.float16)
    k = rng.standard_normal(shape(hk, sk)).astype(np.float16)
    v = rng.standard_normal(shape(hk, sk)).astype(np.float16)
    do = rng.standard_normal(shape(h, sq)).astype(np.float16)
    o, lse = np.empty_like(q), np.empty((b, h, sq), np.float32)
    tessera.attention_forward(q, k, v, o, lse, causal=causal, layout=layout)
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    tessera.attention_backward(q, k, v, o, do, lse, dq, dk, dv, causal=causal, layout=layout)
    bhsd = (lambda x: x.transpose(0, 2, 1, 3)) if layout == "bshd" else (lambda x: x)
    ro, rlse, rdq, rdk, rdv = reference(bhsd(q), bhsd(k), bhsd(v), bhsd(do), causal, scale)
    errs = [close("o", bhsd(o), ro, 2e-2), close("lse", lse, rlse, 1e-3),
            close("dq", bhsd(dq), rdq, 3e-2), close("dk", bhsd(dk), rdk, 3e-2),
            close("dv", bhsd(dv), rdv, 3e-2)]
    print(f"b={b} h={h} kv={hk} sq={sq} sk={sk} d={d} causal={causal} {layout}: "
          + " ".join(f"{e:.1e}" for e in errs) + " ok")


def strided_view():
    """q/k/v as views into one packed [b, s, 3, h, d] array (non-contiguous)."""
    b, s, h, d = 1, 33, 2, 64
    qkv = rng.standard_normal((b, s, 3, h, d)).astype(np.float16)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    o, lse = np.empty_like(q), np.empty((b, h, s), np.float32)
    tessera.attention_forward(q, k, v, o, lse, layout="bshd")
    t = lambda x: x.transpose(0, 2, 1, 3)
    ro = reference(t(q), t(k), t(v), t(q), False, 1 / math.sqrt(d))[0]
    print(f"packed qkv views: o error {close('o', t(o), ro, 2e-2):.1e} ok")


def errors():
    q = np.zeros((1, 16, 2, 64), np.float16)
    lse = np.zeros((1, 2, 16), np.float32)
    cases = {
        "float32 inputs": (q.astype(np.float32), q, q, q, lse),
        "3-D q": (q[0], q, q, q, lse),
        "lse shape": (q, q, q, np.empty_like(q), np.zeros((1, 2, 15), np.float32)),
        "head_dim mismatch": (q, q[..., :32], q[..., :32], np.empty_like(q), lse),
        "not an array": (q, [1, 2], q, np.empty_like(q), lse),
    }
    for what, args in cases.items():
        try:
            tessera.attention_forward(*args)
        except tessera.Error as e:
            print(f"refused ({what}): {e}")
        else:
            raise AssertionError(f"{what}: accepted")
    try:
        tessera.attention_forward(q, q, q, np.empty_like(q), lse, layout="sbhd")
    except tessera.Error as e:
        print(f"refused (layout): {e}")
    else:
        raise AssertionError("bad layout accepted")


def varlen(causal):
    """Three packed sequences (lengths differ between q and k when not causal)."""
    lq = [5, 17, 1] if not causal else [9, 17, 3]
    lk = [12, 3, 20] if not causal else lq
    h, hk, d = 4, 2, 64
    cq = np.concatenate([[0], np.cumsum(lq)]).astype(np.int32)
    ck = np.concatenate([[0], np.cumsum(lk)]).astype(np.int32)
    q = rng.standard_normal((cq[-1], h, d)).astype(np.float16)
    k = rng.standard_normal((ck[-1], hk, d)).astype(np.float16)
    v = rng.standard_normal((ck[-1], hk, d)).astype(np.float16)
    do = rng.standard_normal(q.shape).astype(np.float16)
    o, lse = np.empty_like(q), np.zeros((3, h, max(lq)), np.float32)
    tessera.attention_varlen_forward(q, k, v, o, lse, cq, ck, max(lq), max(lk), causal=causal)
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    tessera.attention_varlen_backward(q, k, v, o, do, lse, dq, dk, dv, cq, ck, max(lq), max(lk),
                                      causal=causal)
    errs = []
    for b in range(3):
        sq, sk = slice(cq[b], cq[b + 1]), slice(ck[b], ck[b + 1])
        t = lambda x: x[None].transpose(0, 2, 1, 3)  # [s, h, d] -> [1, h, s, d]
        ro, rlse, rdq, rdk, rdv = reference(t(q[sq]), t(k[sk]), t(v[sk]), t(do[sq]), causal,
                                            1 / math.sqrt(d))
        errs += [close("o", t(o[sq]), ro, 2e-2), close("lse", lse[b, :, :lq[b]], rlse[0], 1e-3),
                 close("dq", t(dq[sq]), rdq, 3e-2), close("dk", t(dk[sk]), rdk, 3e-2),
                 close("dv", t(dv[sk]), rdv, 3e-2)]
    print(f"varlen q {lq} k {lk} causal={causal}: worst {max(errs):.1e} ok")


def modifiers():
    """Built-in score and mask modifiers by name through the C API: soft-capping
    with a sliding window, a causal document mask reading document ids, and a
    score modifier and a mask written as expressions."""
    b, h, s, d, cap = 2, 2, 70, 64, 2.0
    scale = 2 / math.sqrt(d)  # scores large enough for the cap to bite
    ids = np.repeat(np.arange(s), rng.integers(1, 25, s))[:s]
    docs = np.stack([ids, ids[::-1].copy()]).astype(np.int32)  # [b, s]
    i, j = np.arange(s)[:, None], np.arange(s)[None, :]
    capped = (lambda r: cap * np.tanh(r / cap), lambda r: 1 - np.tanh(r / cap) ** 2)
    plain = (lambda r: r, lambda r: 1.0)
    # A modifier written as text ("expr:"): traced by Tessera, its derivative derived.
    distance = (lambda r: np.where(j > i, r - 0.1 * np.abs(i - j), 2 * np.tanh(r / 2)),
                lambda r: np.where(j > i, 1.0, 1 - np.tanh(r / 2) ** 2))
    cases = [("softcap.2", "sliding_window.20.0", None, False,
              np.broadcast_to((j <= i) & (j >= i - 20), (b, 1, s, s)), capped),
             (None, "document", docs, True,
              (docs[:, None, :, None] == docs[:, None, None, :]) & (j <= i), plain),
             ("expr:where(k > q, s - 0.1 * abs(q - k), 2 * tanh(s / 2))", None, None, False,
              np.ones((b, 1, s, s), bool), distance),
             (None, "expr:k <= q && q - k <= 20", None, False,
              np.broadcast_to((j <= i) & (j >= i - 20), (b, 1, s, s)), plain)]
    for score_mod, mask_mod, data, causal, allowed, (f, df) in cases:
        q, k, v, do = (rng.standard_normal((b, h, s, d)).astype(np.float16) for _ in range(4))
        o, lse = np.empty_like(q), np.empty((b, h, s), np.float32)
        kw = dict(causal=causal, scale=scale, layout="bhsd", score_mod=score_mod,
                  mask_mod=mask_mod, mask_data=data)
        tessera.attention_forward(q, k, v, o, lse, **kw)
        dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
        tessera.attention_backward(q, k, v, o, do, lse, dq, dk, dv, **kw)
        q64, k64, v64, do64 = (x.astype(np.float64) for x in (q, k, v, do))
        raw = np.einsum("bhqd,bhkd->bhqk", q64, k64) * scale
        sc = f(raw)
        sc = np.where(allowed, sc, -np.inf)
        p = np.exp(sc - sc.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        ro = np.einsum("bhqk,bhkd->bhqd", p, v64)
        dp = np.einsum("bhqd,bhkd->bhqk", do64, v64)
        ds = p * (dp - (dp * p).sum(-1, keepdims=True))
        ds *= df(raw)
        errs = [close("o", o, ro, 2e-2),
                close("dq", dq, np.einsum("bhqk,bhkd->bhqd", ds, k64) * scale, 3e-2),
                close("dk", dk, np.einsum("bhqk,bhqd->bhkd", ds, q64) * scale, 3e-2),
                close("dv", dv, np.einsum("bhqk,bhqd->bhkd", p, do64), 3e-2)]
        print(f"score_mod={score_mod} mask_mod={mask_mod}: worst {max(errs):.1e} ok")
    for what, kw in {"unknown mask": dict(mask_mod="no_such_mask"),
                     "malformed expression": dict(score_mod="expr:s * (q"),
                     "document without ids": dict(mask_mod="document"),
                     "float ids": dict(mask_mod="document",
                                       mask_data=np.zeros((b, s), np.float32))}.items():
        q = np.zeros((b, h, s, d), np.float16)
        try:
            tessera.attention_forward(q, q, q, np.empty_like(q), np.empty((b, h, s), np.float32),
                                      layout="bhsd", **kw)
        except tessera.Error as e:
            print(f"refused ({what}): {e}")
        else:
            raise AssertionError(f"{what}: accepted")


def varlen_modifiers():
    """A packed batch with soft-capping and a sliding window: each sequence's own
    positions (the window aligned to its own last key) through the varlen entry points."""
    lq, lk, h, d, cap, left = [3, 30, 12], [9, 30, 40], 2, 64, 2.0, 6
    scale = 2 / math.sqrt(d)
    cq = np.concatenate([[0], np.cumsum(lq)]).astype(np.int32)
    ck = np.concatenate([[0], np.cumsum(lk)]).astype(np.int32)
    q, do = (rng.standard_normal((cq[-1], h, d)).astype(np.float16) for _ in range(2))
    k, v = (rng.standard_normal((ck[-1], h, d)).astype(np.float16) for _ in range(2))
    o, lse = np.empty_like(q), np.zeros((3, h, max(lq)), np.float32)
    kw = dict(scale=scale, score_mod="softcap.2", mask_mod=f"sliding_window.{left}.0")
    tessera.attention_varlen_forward(q, k, v, o, lse, cq, ck, max(lq), max(lk), **kw)
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    tessera.attention_varlen_backward(q, k, v, o, do, lse, dq, dk, dv, cq, ck, max(lq), max(lk),
                                      **kw)
    errs = []
    for b in range(3):
        sq, sk = slice(cq[b], cq[b + 1]), slice(ck[b], ck[b + 1])
        q64, k64, v64, do64 = (x.astype(np.float64) for x in (q[sq], k[sk], v[sk], do[sq]))
        i, j = np.arange(lq[b])[:, None] + lk[b] - lq[b], np.arange(lk[b])[None, :]
        raw = np.einsum("qhd,khd->hqk", q64, k64) * scale
        sc = np.where((j <= i) & (j >= i - left), cap * np.tanh(raw / cap), -np.inf)
        p = np.exp(sc - sc.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        dp = np.einsum("qhd,khd->hqk", do64, v64)
        ds = p * (dp - (dp * p).sum(-1, keepdims=True)) * (1 - np.tanh(raw / cap) ** 2)
        t = lambda x: x.transpose(1, 0, 2)  # [s, h, d] -> [h, s, d]
        errs += [close("o", t(o[sq]), np.einsum("hqk,khd->hqd", p, v64), 2e-2),
                 close("dq", t(dq[sq]), np.einsum("hqk,khd->hqd", ds, k64) * scale, 3e-2),
                 close("dk", t(dk[sk]), np.einsum("hqk,qhd->hkd", ds, q64) * scale, 3e-2),
                 close("dv", t(dv[sk]), np.einsum("hqk,qhd->hkd", p, do64), 3e-2)]
    print(f"varlen softcap + sliding window q {lq} k {lk}: worst {max(errs):.1e} ok")


def philox_keep(shape_bhqk, p, seed, offset):
    """The kernels' dropout factors: Philox4x32-10 at counter (key, query, bh, offset)."""
    M = np.uint64(0xFFFFFFFF)
    b, h, sq, sk = shape_bhqk
    bh, i, j = np.meshgrid(np.arange(b * h), np.arange(sq), np.arange(sk), indexing="ij")
    c = [j.astype(np.uint64), i.astype(np.uint64), bh.astype(np.uint64),
         np.full(j.shape, offset, np.uint64)]
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    for _ in range(10):
        p0, p1 = np.uint64(0xD2511F53) * c[0], np.uint64(0xCD9E8D57) * c[2]
        c = [((p1 >> np.uint64(32)) ^ c[1] ^ k0) & M, p1 & M,
             ((p0 >> np.uint64(32)) ^ c[3] ^ k1) & M, p0 & M]
        k0, k1 = (k0 + np.uint64(0x9E3779B9)) & M, (k1 + np.uint64(0xBB67AE85)) & M
    keep = (c[0] >> np.uint64(8)) >= np.uint64(round(p * 2**24))
    return np.where(keep, np.float32(1 / (1 - p)), 0).reshape(b, h, sq, sk).astype(np.float64)


def dropout():
    """Dropout through the C API: the same mask as a NumPy Philox, forward and backward."""
    b, h, s, d, p, seed, offset = 1, 2, 50, 64, 0.25, (7 << 40) + 12345, 9
    q, k, v, do = (rng.standard_normal((b, h, s, d)).astype(np.float16) for _ in range(4))
    o, lse = np.empty_like(q), np.empty((b, h, s), np.float32)
    kw = dict(causal=True, layout="bhsd", dropout=(p, seed, offset))
    tessera.attention_forward(q, k, v, o, lse, **kw)
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    tessera.attention_backward(q, k, v, o, do, lse, dq, dk, dv, **kw)
    z = philox_keep((b, h, s, s), p, seed, offset)
    q64, k64, v64, do64 = (x.astype(np.float64) for x in (q, k, v, do))
    sc = np.einsum("bhqd,bhkd->bhqk", q64, k64) / math.sqrt(d)
    sc = np.where(np.arange(s)[None, :] <= np.arange(s)[:, None], sc, -np.inf)
    pr = np.exp(sc - sc.max(-1, keepdims=True))
    pr /= pr.sum(-1, keepdims=True)
    ro = np.einsum("bhqk,bhkd->bhqd", pr * z, v64)
    dp = np.einsum("bhqd,bhkd->bhqk", do64, v64) * z
    ds = pr * (dp - (do64 * ro).sum(-1)[..., None])
    errs = [close("o", o, ro, 2e-2),
            close("dq", dq, np.einsum("bhqk,bhkd->bhqd", ds, k64) / math.sqrt(d), 3e-2),
            close("dk", dk, np.einsum("bhqk,bhqd->bhkd", ds, q64) / math.sqrt(d), 3e-2),
            close("dv", dv, np.einsum("bhqk,bhqd->bhkd", pr * z, do64), 3e-2)]
    kept = (z > 0)[..., np.arange(s)[None, :] <= np.arange(s)[:, None]].mean()
    print(f"dropout p={p}: kept {kept:.3f} of the causal area, worst {max(errs):.1e} ok")


assert tessera.interpreted(), "run with TESSERA_INTERPRET=1"
dropout()
modifiers()
varlen(False)
varlen(True)
varlen_modifiers()
run(2, 2, 2, 17, 40, 64, False, "bshd")
run(1, 4, 2, 40, 40, 64, True, "bhsd")
run(1, 2, 1, 65, 33, 128, True, "bshd")
strided_view()
errors()
print("python package: ok")
