"""Checks Tessera's attention output against torch's SDPA on the same GPU.

Reads what `tessera-bench --dump-attention DIR` wrote (fresh random inputs,
Tessera's O and logsumexp through jit::attentionForward, [b, h, s, d] f16),
runs torch.nn.functional.scaled_dot_product_attention on the same inputs in
f16 (the default backend) and in float64 (math), and reports per case the
relative error of Tessera and of SDPA-f16 against the float64 result, and of
Tessera against SDPA-f16.  A case passes when Tessera's error against float64
is within 2x SDPA-f16's (plus 1e-4) and its LSE within 1e-4 of float64's.

usage: python3 sdpa_compare.py DIR OUT.json
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F


def rel(a, b):
    return float(torch.linalg.vector_norm((a - b).double()) / torch.linalg.vector_norm(b.double()))


def main():
    d, out = sys.argv[1], sys.argv[2]
    cases = json.load(open(f"{d}/cases.json"))
    rows, ok = [], True
    for c in cases:
        b, h, kvh, sq, sk, hd = c["b"], c["h"], c["kvh"], c["sq"], c["sk"], c["d"]
        load = lambda n, shape, dt: torch.from_numpy(
            np.fromfile(f"{d}/{c['name']}_{n}", dtype=dt).reshape(shape)).cuda()
        q = load("q.f16", (b, h, sq, hd), np.float16)
        k = load("k.f16", (b, kvh, sk, hd), np.float16)
        v = load("v.f16", (b, kvh, sk, hd), np.float16)
        o = load("o.f16", (b, h, sq, hd), np.float16)
        lse = load("lse.f32", (b, h, sq), np.float32)
        if kvh != h:  # grouped-query: each K/V head serves h / kvh query heads
            k = k.repeat_interleave(h // kvh, dim=1)
            v = v.repeat_interleave(h // kvh, dim=1)
        scale = 1.0 / math.sqrt(hd)
        causal = c["causal"]
        o16 = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)
        q64, k64, v64 = q.double(), k.double(), v.double()
        s = (q64 @ k64.transpose(-1, -2)) * scale
        if causal:  # top-left aligned, as is_causal
            mask = torch.ones(sq, sk, dtype=torch.bool, device=s.device).tril()
            s = s.masked_fill(~mask, float("-inf"))
        o64 = torch.softmax(s, dim=-1) @ v64
        lse64 = torch.logsumexp(s, dim=-1)
        r = {"case": c["name"], "b": b, "h": h, "kv_heads": kvh, "seq_q": sq, "seq_k": sk, "d": hd,
             "causal": causal,
             "tessera_vs_fp64": rel(o, o64), "sdpa_f16_vs_fp64": rel(o16, o64),
             "tessera_vs_sdpa_f16": rel(o, o16),
             "max_abs_tessera_vs_sdpa": float((o.double() - o16.double()).abs().max()),
             "lse_vs_fp64": rel(lse, lse64)}
        r["pass"] = (r["tessera_vs_fp64"] <= 2 * r["sdpa_f16_vs_fp64"] + 1e-4
                     and r["lse_vs_fp64"] <= 1e-4)
        ok &= r["pass"]
        rows.append(r)
        print(f"{c['name']}: b={b} h={h} kv={kvh} sq={sq} sk={sk} d={hd}{' causal' if causal else ''}: "
              f"tessera {r['tessera_vs_fp64']:.2e}, sdpa-f16 {r['sdpa_f16_vs_fp64']:.2e} vs fp64; "
              f"tessera vs sdpa {r['tessera_vs_sdpa_f16']:.2e} (max {r['max_abs_tessera_vs_sdpa']:.1e}); "
              f"lse {r['lse_vs_fp64']:.1e}: {'ok' if r['pass'] else 'FAIL'}")
    json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": rows},
              open(out, "w"), indent=1)
    print("all cases agree with SDPA" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
