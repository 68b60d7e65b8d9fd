"""cuBLAS anchor for Tessera's matmul benchmark: torch.matmul (f16 and bf16,
row-major A[M,K] @ B[K,N]) at the shapes of issue 5, timed with
triton.testing.do_bench (50 ms warm-up, 200 ms of runs, L2 flushed before
each, median) as tessera-bench's jit::benchMillis times Tessera's side.
Writes a JSON list to argv[1]."""
import json, sys
import torch
import triton

SHAPES = [(1024, 1024, 1024), (2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 8192),
          (4096, 14336, 4096), (8192, 1024, 8192)]  # (M, N, K)


def median_ms(fn):
    return triton.testing.do_bench(fn, warmup=50, rep=200, return_mode="median")


out = []
for dt in (torch.float16, torch.bfloat16):
    for m, n, k in SHAPES:
        a = torch.randn(m, k, device="cuda", dtype=dt)
        b = torch.randn(k, n, device="cuda", dtype=dt)
        ms = median_ms(lambda: torch.matmul(a, b))
        tf = 2.0 * m * n * k / (ms * 1e-3) / 1e12
        print(f"torch.matmul {str(dt)[6:]:9s} M={m:5d} N={n:5d} K={k:5d} {ms:8.3f} ms {tf:7.1f} TFLOP/s",
              flush=True)
        out.append({"dtype": str(dt)[6:], "M": m, "N": n, "K": k, "ms": ms, "tflops": tf})
json.dump(out, open(sys.argv[1], "w"), indent=1)
