"""Anchors for Tessera's row-wise benchmark, run in the same session on the same GPU:
torch.softmax and torch.nn.functional.layer_norm on 16384 x 8192 fp16, and the
device-to-device copy ceiling.  Bandwidth counts each input read and each output
written once.  Prints a table and writes JSON to argv[1]."""
import json, sys
import torch, triton

def bench(fn):
    return triton.testing.do_bench(fn, warmup=25, rep=200, return_mode="median")

rows, cols = 16384, 8192
x = torch.randn(rows, cols, device="cuda", dtype=torch.float16)
w = torch.ones(cols, device="cuda", dtype=torch.float16)
b = torch.zeros(cols, device="cuda", dtype=torch.float16)
out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "results": []}
big = torch.empty(2**30, device="cuda", dtype=torch.uint8)
dst = torch.empty_like(big)
ms = bench(lambda: dst.copy_(big))
copy = 2 * big.numel() / (ms * 1e-3)
out["copy_bytes_per_s"] = copy
print(f"d2d copy ceiling: {copy/1e12:.2f} TB/s")
for name, fn, nbytes in [
    ("torch.softmax", lambda: torch.softmax(x, dim=-1), 2 * x.numel() * 2),
    ("torch layer_norm", lambda: torch.nn.functional.layer_norm(x, (cols,), w, b, 1e-5),
     2 * x.numel() * 2 + 2 * cols * 2),
]:
    ms = bench(fn)
    gbs = nbytes / (ms * 1e-3) / 1e9
    print(f"{name:18s} {ms:8.3f} ms {gbs:9.1f} GB/s {100*gbs*1e9/copy:6.1f}% of measured copy, "
          f"{100*gbs*1e9/3.0e12:6.1f}% of 3.0 TB/s")
    out["results"].append({"name": name, "ms": ms, "gb_per_s": gbs})
if len(sys.argv) > 1:
    json.dump(out, open(sys.argv[1], "w"), indent=1)
