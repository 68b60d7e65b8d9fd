"""Joins `tessera-bench --attention-table` output with bench/attn_anchors.py's JSON
(measured in the same job) into the markdown table of bench/results/attention_*.md;
with --bwd, `tessera-bench --attention-bwd-table` output with the anchors' backward
columns (its last column, the atomic-dQ schedule's TFLOP/s, in place of the config).

    python3 bench/attn_table.py [--bwd] TESSERA_TABLE.txt ATTN_ANCHORS.json > table.md
"""
import json
import sys


def main():
    args = sys.argv[1:]
    bwd = args[0] == "--bwd"
    if bwd:
        args = args[1:]
    names = (("bwd_sdpa_cudnn", "bwd_sdpa_flash", "bwd_triton_fa2") if bwd
             else ("sdpa_cudnn", "sdpa_flash", "triton_fa2"))
    tess = {}
    for line in open(args[0]):
        f = line.split()
        if len(f) < 10 or not f[1].isdigit():
            continue
        kind, d, causal, s = f[0], int(f[1]), int(f[2]), int(f[3])
        tess[(kind, d, causal, s)] = (float(f[8]), f[9], int(f[5]), int(f[6]))
    anchors = json.load(open(args[1]))
    print(f"Anchors: {anchors['device']}, torch {anchors['torch']}, triton {anchors['triton']}.\n")
    print("| shape | d | causal | s | Tessera | SDPA-cuDNN | SDPA-flash | Triton FA2 "
          "| ratio to cuDNN | ratio to flash | ratio to Triton | "
          + ("Tessera atomic dQ |" if bwd else "Tessera config |"))
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = {}
    order = {"fa2": 0, "d256": 1, "gqa": 2}
    rows = sorted(anchors["rows"], key=lambda r: (order.get(r.get("kind", "fa2"), 3), r["D"],
                                                  int(r["causal"]), r["S"]))
    for r in rows:
        key = (r.get("kind", "fa2"), r["D"], int(r["causal"]), r["S"])
        if key not in tess:
            continue
        t, cfg, h, kv = tess[key]
        shape = {"fa2": "FA2", "d256": "d=256"}.get(key[0], f"GQA {h}/{kv} heads")
        cells, rs = [], []
        for name in names:
            a = r.get(name)
            if isinstance(a, (int, float)):
                mark = "*" if r.get(name + "_kv_expanded") else ""
                cells.append(f"{a}{mark}")
                rs.append(f"{t / a:.2f}")
                ratios.setdefault((name, key[0], key[1], key[2]), []).append(t / a)
            else:
                cells.append(str(a))
                rs.append("-")
        print(f"| {shape} | {key[1]} | {'yes' if key[2] else 'no'} | {key[3]} | {t} | "
              + " | ".join(cells) + " | " + " | ".join(rs) + f" | {cfg} |")
    print("\n`*`: that backend has no grouped-query path here; it ran on K/V expanded to every "
          "query head (the expansion not timed).\n")
    for name in names:
        parts = []
        for (n, kind, d, causal), v in sorted(ratios.items()):
            if n == name:
                parts.append(f"{kind} d={d}{' causal' if causal else ''} {min(v):.2f}-{max(v):.2f}")
        print(f"- ratio to {name}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
