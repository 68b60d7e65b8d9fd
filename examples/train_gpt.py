"""A small GPT trained twice from the same seed, once with PyTorch's SDPA and
once with Tessera's attention (tessera.attention, [b, s, h, d] without
copies, its backward through autograd): the loss curves and tokens/s.

    TESSERA_LIBRARY=/path/libtessera.so python3 examples/train_gpt.py --steps 300 --out DIR

Byte-level tokens from a text corpus (--corpus FILE..., default: this
Python's own standard library sources), 4 layers, d_model 512, 8 heads of
64, sequence 1024, AdamW, bf16 autocast."""
import argparse
import glob
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))


def corpus(paths):
    if not paths:
        paths = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))
    data = b"".join(open(p, "rb").read() for p in paths)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()


class Block(nn.Module):
    def __init__(self, d, h, attn):
        super().__init__()
        self.h, self.attn = h, attn
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        b, s, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, s, 3, self.h, d // self.h).unbind(2)  # [b, s, h, hd]
        if self.attn == "tessera":
            import tessera
            y = tessera.attention(q, k, v, causal=True, layout="bshd")
        else:
            y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                               v.transpose(1, 2), is_causal=True).transpose(1, 2)
        x = x + self.proj(y.reshape(b, s, d))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, layers, d, h, seq, attn):
        super().__init__()
        self.tok, self.pos = nn.Embedding(256, d), nn.Embedding(seq, d)
        self.blocks = nn.ModuleList(Block(d, h, attn) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, 256, bias=False)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


def train(attn, data, args):
    torch.manual_seed(args.seed)
    model = GPT(args.layers, args.d_model, args.heads, args.seq, attn).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    gen = torch.Generator().manual_seed(args.seed)
    losses, t0, tokens = [], None, 0
    for step in range(args.steps):
        ix = torch.randint(len(data) - args.seq - 1, (args.batch,), generator=gen)
        x = torch.stack([data[i:i + args.seq] for i in ix]).cuda()
        y = torch.stack([data[i + 1:i + 1 + args.seq] for i in ix]).cuda()
        lr = args.lr * min(1, (step + 1) / 50) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x).float().view(-1, 256), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step == 9:  # after warm-up (compilation, autotuning)
            torch.cuda.synchronize()
            t0, tokens = time.perf_counter(), 0
        elif t0 is not None:
            tokens += args.batch * args.seq
        if step % 50 == 0 or step == args.steps - 1:
            print(f"{attn:8s} step {step:4d} loss {losses[-1]:.4f}", flush=True)
    torch.cuda.synchronize()
    return losses, tokens / (time.perf_counter() - t0)


def attention_alone(args):
    """One layer's attention, forward + backward through autograd, at the training shape:
    GPU time per call (CUDA events over 50 calls) and the host time a call takes to queue
    its work (what a step that waits on loss.item() cannot hide)."""
    import tessera
    b, s, h, hd = args.batch, args.seq, args.heads, args.d_model // args.heads
    q, k, v = (torch.randn(b, s, h, hd, device="cuda", dtype=torch.bfloat16, requires_grad=True)
               for _ in range(3))
    do = torch.randn_like(q)
    calls = {
        "sdpa": lambda: F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                                       v.transpose(1, 2), is_causal=True).transpose(1, 2),
        "tessera": lambda: tessera.attention(q, k, v, causal=True, layout="bshd"),
    }
    out = {}
    for name, f in calls.items():
        for _ in range(5):
            torch.autograd.grad(f(), (q, k, v), do)
        torch.cuda.synchronize()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        # The GPU sleeps first, so the host queues all 50 calls before the
        # start event runs: the events time the kernels alone.
        torch.cuda._sleep(200_000_000)
        start.record()
        t = time.perf_counter()
        for _ in range(50):
            torch.autograd.grad(f(), (q, k, v), do)
        host = (time.perf_counter() - t) / 50
        stop.record()
        torch.cuda.synchronize()
        out[name] = {"gpu_ms": start.elapsed_time(stop) / 50, "host_queue_ms": host * 1e3}
        print(f"attention alone ({name}): forward+backward {out[name]['gpu_ms']:.3f} ms per call "
              f"on the GPU, {out[name]['host_queue_ms']:.3f} ms of host time to queue it",
              flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=512)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--corpus", nargs="*")
    ap.add_argument("--out")
    ap.add_argument("--attention-only", action="store_true",
                    help="only time one layer's attention (no training)")
    args = ap.parse_args()
    if args.attention_only:
        print(json.dumps(attention_alone(args)))
        return
    data = corpus(args.corpus)
    print(f"corpus: {len(data)} bytes; {torch.cuda.get_device_name()}", flush=True)
    result = {"args": vars(args), "device": torch.cuda.get_device_name()}
    for attn in ("sdpa", "tessera"):
        losses, tps = train(attn, data, args)
        result[attn] = {"losses": losses, "tokens_per_s": tps}
        print(f"{attn}: final loss {sum(losses[-20:]) / 20:.4f} (mean of the last 20), "
              f"{tps:,.0f} tokens/s", flush=True)
    a, b = result["sdpa"]["losses"], result["tessera"]["losses"]
    diff = max(abs(x - y) for x, y in zip(a, b))
    print(f"largest loss difference at any step: {diff:.4f}; "
          f"last-20 means {sum(a[-20:]) / 20:.4f} vs {sum(b[-20:]) / 20:.4f}")
    result["attention_alone"] = attention_alone(args)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        json.dump(result, open(os.path.join(args.out, "train_gpt.json"), "w"))


if __name__ == "__main__":
    main()
