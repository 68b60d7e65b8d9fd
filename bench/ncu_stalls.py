"""Sums the warp-stall samples of an Nsight Compute source page (ncu --page source --csv
--print-source sass) by reason and lists the instructions with the most samples.
    python3 bench/ncu_stalls.py KERNEL.sass.csv
"""
import csv,sys,collections
f=sys.argv[1]
rows=list(csv.reader(open(f)))
hdr=rows[1]; data=rows[2:]
ix={h:i for i,h in enumerate(hdr)}
reasons=[h for h in hdr if h.startswith("stall_") and "Not Issued" not in h]
tot=collections.Counter()
allS=0
for r in data:
    if len(r)<len(hdr): continue
    allS+=int(r[ix["Warp Stall Sampling (All Samples)"]] or 0)
    for h in reasons:
        try: tot[h]+=int(r[ix[h]])
        except: pass
print(f, "samples", allS)
for h,v in tot.most_common(12): print(f"  {h:24s} {v:8d} {100*v/allS:5.1f}%")
# top instructions by samples
top=sorted(data,key=lambda r:-int(r[ix["Warp Stall Sampling (All Samples)"]] or 0))[:25]
for r in top:
    s=int(r[ix["Warp Stall Sampling (All Samples)"]])
    main=max(reasons,key=lambda h:int(r[ix[h]] or 0))
    print(f"  {s:6d} {100*s/allS:5.1f}% {main[6:]:12s} {r[0][-5:]} {r[1].strip()[:70]}")
