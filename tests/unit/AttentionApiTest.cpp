//===- AttentionApiTest.cpp - jit::attentionForward checks and runs -------===//
//
// The attention entry point over shapes: bad input is refused with a
// message before anything launches; a grouped-query problem in the
// [batch, seq, heads, dim] layout runs (in the CPU interpreter) and matches
// the float64 reference.
//
//===----------------------------------------------------------------------===//
#include "Common.h"

#include "tessera/Support/Half.h"
#include "tessera/jit/Attention.h"
#include "tessera/kernels/References.h"

#include <cmath>
#include <cstdlib>
#include <random>

using namespace tessera;

namespace {
/// [b, s, h, d] strides of a tensor with h heads, s positions, d dims.
jit::AttentionStrides bshd(int h, int s, int d) { return {int64_t(s) * h * d, d, int64_t(h) * d, 1}; }
} // namespace

TEST_CASE("attentionForward runs grouped-query attention in the [b s h d] layout", "[attention][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 2, KV = 1, SQ = 17, SK = 23, D = 64;
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  // Reference layout [h, s, d]; device layout [s, h, d] (batch 1).
  auto make = [&](int h, int s) {
    std::vector<double> ref(size_t(h) * s * D);
    std::vector<uint16_t> dev(ref.size());
    for (int ih = 0; ih < h; ++ih)
      for (int is = 0; is < s; ++is)
        for (int id = 0; id < D; ++id) {
          uint16_t x = toHalf(dist(rng));
          ref[(size_t(ih) * s + is) * D + id] = fromHalf(x);
          dev[(size_t(is) * h + ih) * D + id] = x;
        }
    return std::make_pair(ref, dev);
  };
  auto [q, qd] = make(H, SQ);
  auto [k, kd] = make(KV, SK);
  auto [v, vd] = make(KV, SK);
  rt::Buffer bq(qd.size() * 2, "f16"), bk(kd.size() * 2, "f16"), bv(vd.size() * 2, "f16"),
      bo(qd.size() * 2, "f16"), bl(size_t(H) * SQ * 4, "f32");
  bq.upload(qd);
  bk.upload(kd);
  bv.upload(vd);
  bo.fill(0xff);
  jit::AttentionProblem p{1, H, KV, SQ, SK, D, /*causal=*/true};
  jit::attentionForward(jit, p, bq, bshd(H, SQ, D), bk, bshd(KV, SK, D), bv, bshd(KV, SK, D), bo,
                        bshd(H, SQ, D), bl);
  std::vector<double> ref(q.size()), rl(size_t(H) * SQ);
  kernels::ref::attention(q.data(), k.data(), v.data(), ref.data(), rl.data(), H, SQ, SK, D,
                          1.0 / std::sqrt(double(D)), true, H / KV);
  auto out = bo.download<uint16_t>(qd.size());
  double err = 0, norm = 0;
  for (int ih = 0; ih < H; ++ih)
    for (int is = 0; is < SQ; ++is)
      for (int id = 0; id < D; ++id) {
        double r = ref[(size_t(ih) * SQ + is) * D + id];
        double o = fromHalf(out[(size_t(is) * H + ih) * D + id]);
        err += (o - r) * (o - r);
        norm += r * r;
      }
  CHECK(std::sqrt(err / norm) < 3e-3);
}

TEST_CASE("attentionForward refuses bad input before launch", "[attention][errors]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 4, S = 64, D = 64;
  size_t n = size_t(H) * S * D;
  rt::Buffer q(n * 2, "f16"), k(n * 2, "f16"), v(n * 2, "f16"), o(n * 2, "f16"),
      lse(size_t(H) * S * 4, "f32"), kb(n * 2, "bf16"), small(n, "f16"), l16(H * S * 2, "f16");
  jit::AttentionStrides s = bshd(H, S, D);
  auto run = [&](jit::AttentionProblem p, rt::Buffer &qq, jit::AttentionStrides sq, rt::Buffer &kk,
                 rt::Buffer &ll) {
    return test::errorOf(
        [&] { jit::attentionForward(jit, p, qq, sq, kk, s, v, s, o, s, ll); });
  };
  jit::AttentionProblem ok{1, H, H, S, S, D};
  CHECK(run({1, H, 3, S, S, D}, q, s, k, lse) == "attention: kv_heads (3) must divide heads (4)");
  CHECK(run({1, H, H, S, S, 96}, q, s, k, lse) ==
        "attention: no kernel for head dim 96 (there are kernels for 64, 128 and 256)");
  CHECK(run({0, H, H, S, S, D}, q, s, k, lse) ==
        "attention: batch, heads, kv_heads, seq_q and seq_k must be positive, got 0, 4, 4, 64, 64");
  CHECK(run(ok, q, {s.batch, s.head, s.seq, 2}, k, lse) ==
        "attention: q: the head-dim stride must be 1 (contiguous), got 2");
  CHECK(run(ok, q, s, kb, lse) == "attention: k is a buffer of bf16, expected f16");
  CHECK(run(ok, small, s, k, lse) ==
        "attention: q: shape and strides reach element 16383 but the buffer holds 8192");
  CHECK(run(ok, q, s, k, l16) == "attention: lse must be an f32 buffer, got f16");
  // And the same arguments, corrected, are accepted.
  CHECK(run(ok, q, s, k, lse).empty());
}
