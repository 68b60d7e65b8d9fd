"""cuBLAS anchor for Tessera's matmul benchmark: torch.matmul (f16 and bf16,
row-major A[M,K] @ B[K,N]) at the shapes of issue 5, timed with CUDA events
(median of 20 after 5 warm-ups).  Writes a JSON list to argv[1]."""
import json, sys
import torch

SHAPES = [(1024, 1024, 1024), (2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 8192),
          (4096, 14336, 4096), (8192, 1024, 8192)]  # (M, N, K)


def median_ms(fn, warm=5, reps=20):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort()
    return ts[len(ts) // 2]


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
