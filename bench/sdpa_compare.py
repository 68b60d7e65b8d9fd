"""Checks Tessera's attention output against torch's SDPA on the same GPU.

Reads what `tessera-bench --dump-attention DIR` wrote (fresh random inputs,
Tessera's O and logsumexp through jit::attentionForward and, where present,
its dQ/dK/dV for a random dO through jit::attentionBackward, [b, h, s, d]
f16), runs torch.nn.functional.scaled_dot_product_attention on the same
inputs in f16 (the default backend) and in float64 (math), the gradients
through torch.autograd.grad, and reports per case the relative error of
Tessera and of SDPA-f16 against the float64 result, and of Tessera against
SDPA-f16.  A case passes when Tessera's error against float64 is within 2x
SDPA-f16's (plus 1e-4) for O and within 1.5x for each gradient, and its LSE
within 1e-4 of float64's.

usage: python3 sdpa_compare.py DIR OUT.json
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F


def rel(a, b):
    a, b = a.detach(), b.detach()
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
        scale = 1.0 / math.sqrt(hd)
        causal = c["causal"]
        # grouped-query: each K/V head serves h / kvh query heads (expanded
        # inside the graph, so the gradients sum over them).
        expand = lambda x: x.repeat_interleave(h // kvh, dim=1) if kvh != h else x
        leaves16 = [x.clone().requires_grad_() for x in (q, k, v)]
        o16 = F.scaled_dot_product_attention(leaves16[0], expand(leaves16[1]), expand(leaves16[2]),
                                             is_causal=causal, scale=scale)
        leaves64 = [x.double().requires_grad_() for x in (q, k, v)]
        q64, k64, v64 = leaves64[0], expand(leaves64[1]), expand(leaves64[2])
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
        grads = ""
        try:
            do = load("do.f16", (b, h, sq, hd), np.float16)
            mine = [load(f"{g}.f16", shape, np.float16) for g, shape in
                    (("dq", (b, h, sq, hd)), ("dk", (b, kvh, sk, hd)), ("dv", (b, kvh, sk, hd)))]
        except FileNotFoundError:
            mine = None
        if mine is not None:
            g16 = torch.autograd.grad(o16, leaves16, do)
            g64 = torch.autograd.grad(o64, leaves64, do.double())
            for name, t, s16, s64 in zip(("dq", "dk", "dv"), mine, g16, g64):
                r[f"{name}_tessera_vs_fp64"] = rel(t, s64)
                r[f"{name}_sdpa_f16_vs_fp64"] = rel(s16, s64)
                r["pass"] &= r[f"{name}_tessera_vs_fp64"] <= 1.5 * r[f"{name}_sdpa_f16_vs_fp64"] + 1e-4
                grads += (f"; {name} tessera {r[f'{name}_tessera_vs_fp64']:.2e} "
                          f"sdpa {r[f'{name}_sdpa_f16_vs_fp64']:.2e}")
        ok &= r["pass"]
        rows.append(r)
        print(f"{c['name']}: b={b} h={h} kv={kvh} sq={sq} sk={sk} d={hd}{' causal' if causal else ''}: "
              f"tessera {r['tessera_vs_fp64']:.2e}, sdpa-f16 {r['sdpa_f16_vs_fp64']:.2e} vs fp64; "
              f"tessera vs sdpa {r['tessera_vs_sdpa_f16']:.2e} (max {r['max_abs_tessera_vs_sdpa']:.1e}); "
              f"lse {r['lse_vs_fp64']:.1e}{grads}: {'ok' if r['pass'] else 'FAIL'}")
    json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": rows},
              open(out, "w"), indent=1)
    print("all cases agree with SDPA" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
