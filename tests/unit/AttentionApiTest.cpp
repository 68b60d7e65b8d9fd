//===- AttentionApiTest.cpp - jit::attentionForward checks and runs -------===//
//
// The attention entry point over shapes: bad input is refused with a
// message before anything launches; a grouped-query problem in the
// [batch, seq, heads, dim] layout runs (in the CPU interpreter) and matches
// the float64 reference.
//
//===----------------------------------------------------------------------===//
#include "AttentionCommon.h"

#include "tessera/Support/Half.h"
#include "tessera/jit/Attention.h"
#include "tessera/kernels/References.h"

#include <cmath>
#include <cstdlib>
#include <random>

using namespace tessera;
using test::bshd, test::randomHalves, test::randomBshd, test::uploadHalves, test::bshdError;


TEST_CASE("attentionForward runs grouped-query attention in the [b s h d] layout", "[attention][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 2, KV = 1, SQ = 17, SK = 23, D = 64;
  std::mt19937 rng(11);
  auto make = [&](int h, int s) { return randomBshd(h, s, D, rng); };
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
  CHECK(bshdError(ref, bo, H, SQ, D) < 3e-3);
}

TEST_CASE("attentionForward traces score modifiers (soft-capping, ALiBi, a user's) into the kernel",
          "[attention][interp][scoremod]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 4, SQ = 33, SK = 40, D = 64;
  std::mt19937 rng(21);
  auto [q, qd] = randomBshd(H, SQ, D, rng);
  auto [k, kd] = randomBshd(H, SK, D, rng);
  auto [v, vd] = randomBshd(H, SK, D, rng);
  rt::Buffer bq(qd.size() * 2, "f16"), bk(kd.size() * 2, "f16"), bv(vd.size() * 2, "f16"),
      bo(qd.size() * 2, "f16"), bl(size_t(H) * SQ * 4, "f32");
  bq.upload(qd);
  bk.upload(kd);
  bv.upload(vd);
  double scale = 2.0 / std::sqrt(double(D)); // scores large enough for the cap to bite
  using Ref = std::function<double(double, int64_t, int64_t, int64_t)>;
  // A user's modifier: a relative-position bonus within 8 positions.
  kernels::ScoreMod local{"test.local_bonus",
                          [](const dsl::Tile &s, const dsl::Scalar &, const dsl::Scalar &,
                             const dsl::Tile &qi, const dsl::Tile &kj) {
                            dsl::Tile near = (kj - qi) * (kj - qi) < 64;
                            return dsl::where(near, s + 0.75, s);
                          }};
  struct Case {
    kernels::ScoreMod mod;
    Ref ref;
    bool causal;
  };
  std::vector<Case> cases{
      {kernels::scoremods::softcap(1.5), [](double x, int64_t, int64_t, int64_t) {
         return 1.5 * std::tanh(x / 1.5);
       }, false},
      {kernels::scoremods::softcap(1.5, /*exact=*/true), [](double x, int64_t, int64_t, int64_t) {
         return 1.5 * std::tanh(x / 1.5);
       }, true},
      {kernels::scoremods::alibi(H), [&](double x, int64_t bh, int64_t i, int64_t j) {
         return x + std::exp2(-8.0 * double(bh % H + 1) / H) * double(j - i);
       }, true},
      {local, [](double x, int64_t, int64_t i, int64_t j) {
         return (j - i) * (j - i) < 64 ? x + 0.75 : x;
       }, false},
      // One that ignores the score: its [1, BLOCK_N] row is broadcast.
      {kernels::findScoreMod("expr:0.1 * k"), [](double, int64_t, int64_t, int64_t j) {
         return 0.1 * double(j);
       }, true}};
  for (const Case &c : cases) {
    INFO(c.mod.name);
    bo.fill(0xff);
    jit::AttentionProblem p{1, H, H, SQ, SK, D, c.causal, float(scale)};
    p.scoreMod = c.mod;
    jit::attentionForward(jit, p, bq, bshd(H, SQ, D), bk, bshd(H, SK, D), bv, bshd(H, SK, D), bo,
                          bshd(H, SQ, D), bl);
    std::vector<double> ref(q.size()), rl(size_t(H) * SQ), plain(q.size());
    kernels::ref::attention(q.data(), k.data(), v.data(), ref.data(), rl.data(), H, SQ, SK, D,
                            float(scale), c.causal, 1, c.ref);
    kernels::ref::attention(q.data(), k.data(), v.data(), plain.data(), rl.data(), H, SQ, SK, D,
                            float(scale), c.causal, 1);
    CHECK(bshdError(ref, bo, H, SQ, D) < 3e-3);
    CHECK(bshdError(plain, bo, H, SQ, D) > 1e-2); // the modifier did change the output
  }
  // A modifier must return numbers of the block's shape (or that broadcast to it).
  kernels::ScoreMod boolean{"test.boolean", [](const dsl::Tile &s, const dsl::Scalar &,
                                               const dsl::Scalar &, const dsl::Tile &,
                                               const dsl::Tile &) { return s > 0.0; }};
  jit::AttentionProblem p{1, H, H, SQ, SK, D, false, float(scale)};
  p.scoreMod = boolean;
  std::string error = test::errorOf([&] {
    jit::attentionForward(jit, p, bq, bshd(H, SQ, D), bk, bshd(H, SK, D), bv, bshd(H, SK, D), bo,
                          bshd(H, SQ, D), bl);
  });
  INFO(error);
  CHECK(error.find("score modifier 'test.boolean' returned a tile of i1 elements; it must return "
                   "the scores' block ([") != std::string::npos);
}

TEST_CASE("attentionBackward differentiates through score modifiers (softcap's grad, ALiBi, a "
          "bonus that adds to the score, and derived ones), both dQ schedules, grouped-query causal",
          "[attention][interp][scoremod]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 4, KV = 2, SQ = 19, SK = 27, D = 64;
  std::mt19937 rng(23);
  auto make = [&](int h, int s) { return randomBshd(h, s, D, rng); };
  auto [q, qd] = make(H, SQ);
  auto [k, kd] = make(KV, SK);
  auto [v, vd] = make(KV, SK);
  auto [dO, dOd] = make(H, SQ);
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
             bdo = uploadHalves(dOd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(H) * SQ * 4, "f32"), bdq(qd.size() * 2, "f16"),
      bdk(kd.size() * 2, "f16"), bdv(vd.size() * 2, "f16");
  auto sq = bshd(H, SQ, D), sk = bshd(KV, SK, D);
  double scale = 2.0 / std::sqrt(double(D));
  using Ref = std::function<double(double, int64_t, int64_t, int64_t)>;
  kernels::ScoreMod bonus{"test.bwd_bonus",
                          [](const dsl::Tile &s, const dsl::Scalar &, const dsl::Scalar &,
                             const dsl::Tile &qi, const dsl::Tile &kj) {
                            return dsl::where((kj - qi) * (kj - qi) < 64, s + 0.75, s);
                          }};
  bonus.gradIsOne = true;
  kernels::ScoreMod derivedBonus = bonus;
  derivedBonus.name = "test.derived_bonus";
  derivedBonus.gradIsOne = false;
  kernels::ScoreMod derivedCap{"test.derived_cap",
                               [](const dsl::Tile &s, const dsl::Scalar &, const dsl::Scalar &,
                                  const dsl::Tile &, const dsl::Tile &) {
                                 return 1.5 * dsl::tanh(s / 1.5);
                               }};
  kernels::ScoreMod derivedMix{
      "test.derived_mix", [](const dsl::Tile &s, const dsl::Scalar &, const dsl::Scalar &,
                             const dsl::Tile &qi, const dsl::Tile &kj) {
        return dsl::where(kj > qi, dsl::maximum(s, s * 0.5),
                          s * dsl::sigmoid(s) + dsl::exp(s * 0.25));
      }};
  struct Case {
    kernels::ScoreMod mod;
    Ref ref, grad;
  };
  Ref one = [](double, int64_t, int64_t, int64_t) { return 1.0; };
  Ref capped = [](double x, int64_t, int64_t, int64_t) { return 1.5 * std::tanh(x / 1.5); };
  Ref cappedGrad = [](double x, int64_t, int64_t, int64_t) {
    double t = std::tanh(x / 1.5);
    return 1 - t * t;
  };
  std::vector<Case> cases{
      {kernels::scoremods::softcap(1.5), capped, cappedGrad},
      {kernels::scoremods::softcap(1.5, true), capped, cappedGrad},
      {kernels::scoremods::alibi(H),
       [&](double x, int64_t bh, int64_t i, int64_t j) {
         return x + std::exp2(-8.0 * double(bh % H + 1) / H) * double(j - i);
       },
       one},
      {bonus, [](double x, int64_t, int64_t i, int64_t j) { return (j - i) * (j - i) < 64 ? x + 0.75 : x; },
       one},
      // Without ScoreMod::grad: derived by the DSL (dsl::derivative).
      {derivedBonus, [](double x, int64_t, int64_t i, int64_t j) { return (j - i) * (j - i) < 64 ? x + 0.75 : x; },
       one},
      {derivedCap, capped, cappedGrad},
      // Written as text (what the C API and Python pass as "expr:...").
      {kernels::scoremods::expression("1.5 * tanh(s / 1.5)"), capped, cappedGrad},
      {kernels::findScoreMod("expr:where(k > q + 3 && h != 1, s - 0.25 * (k - q), -s / 2)"),
       [](double x, int64_t bh, int64_t i, int64_t j) {
         return j > i + 3 && bh % 4 != 1 ? x - 0.25 * double(j - i) : -x / 2;
       },
       [](double, int64_t bh, int64_t i, int64_t j) { return j > i + 3 && bh % 4 != 1 ? 1.0 : -0.5; }},
      {derivedMix,
       [](double x, int64_t, int64_t i, int64_t j) {
         return j > i ? std::max(x, 0.5 * x) : x / (1 + std::exp(-x)) + std::exp(0.25 * x);
       },
       [](double x, int64_t, int64_t i, int64_t j) {
         double sig = 1 / (1 + std::exp(-x));
         return j > i ? (x >= 0 ? 1.0 : 0.5) : sig + x * sig * (1 - sig) + 0.25 * std::exp(0.25 * x);
       }}};
  for (const Case &c : cases) {
    for (bool deterministic : {true, false}) {
      INFO(c.mod.name << (deterministic ? " deterministic" : " atomic dQ"));
      jit::AttentionProblem p{1, H, KV, SQ, SK, D, /*causal=*/true, float(scale)};
      p.scoreMod = c.mod;
      jit::AttentionBackwardOptions opt;
      opt.deterministic = deterministic;
      rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p, opt), "f32");
      jit::attentionForward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
      for (rt::Buffer *g : {&bdq, &bdk, &bdv})
        g->fill(0xff);
      jit::attentionBackward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk, sk,
                             bdv, sk, ws, nullptr, opt);
      std::vector<double> rq(q.size()), rk(k.size()), rv(v.size()), pq(q.size()), pk(k.size()),
          pv(v.size());
      kernels::ref::attentionBackward(q.data(), k.data(), v.data(), dO.data(), rq.data(),
                                      rk.data(), rv.data(), H, SQ, SK, D, float(scale), true,
                                      H / KV, c.ref, c.grad);
      kernels::ref::attentionBackward(q.data(), k.data(), v.data(), dO.data(), pq.data(),
                                      pk.data(), pv.data(), H, SQ, SK, D, float(scale), true,
                                      H / KV);
      CHECK(bshdError(rq, bdq, H, SQ, D) < 5e-3);
      CHECK(bshdError(rk, bdk, KV, SK, D) < 5e-3);
      CHECK(bshdError(rv, bdv, KV, SK, D) < 5e-3);
      CHECK(bshdError(pq, bdq, H, SQ, D) > 1e-2); // the modifier's gradient did change dQ
    }
  }
  // A modifier the DSL cannot differentiate (a scan along the keys) is
  // refused at its line, before anything runs.
  kernels::ScoreMod scan{"test.no_derivative",
                         [](const dsl::Tile &s, const dsl::Scalar &, const dsl::Scalar &,
                            const dsl::Tile &, const dsl::Tile &) { return dsl::cumsum(s, 1); }};
  int scanLine = __LINE__ - 1;
  jit::AttentionProblem p{1, H, KV, SQ, SK, D, true};
  p.scoreMod = scan;
  rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p, {}), "f32");
  std::string error = test::errorOf([&] {
    jit::attentionBackward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk, sk,
                           bdv, sk, ws);
  });
  INFO(error);
  CHECK(error.find("cannot differentiate through 'tile.scan'") != std::string::npos);
  CHECK(error.find("AttentionApiTest.cpp:" + std::to_string(scanLine) + ")") != std::string::npos);
  CHECK(error.find("write the derivative instead") != std::string::npos);
  CHECK(test::errorOf([&] { kernels::registerScoreMod({"bad name", bonus.fn}); }) ==
        "score modifier name 'bad name': use letters, digits, '_', '.' or '-' (and not 'none')");
}

TEST_CASE("attentionForward runs bf16 multi-query attention", "[attention][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 4, KV = 1, SQ = 33, SK = 40, D = 64;
  std::mt19937 rng(12);
  std::normal_distribution<float> dist;
  // [h, s, d] contiguous (batch 1), values exactly representable in bf16.
  auto make = [&](int h, int s) {
    std::vector<double> ref(size_t(h) * s * D);
    std::vector<uint16_t> dev(ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      dev[i] = toBF16(dist(rng));
      ref[i] = fromBF16(dev[i]);
    }
    return std::make_pair(ref, dev);
  };
  auto [q, qd] = make(H, SQ);
  auto [k, kd] = make(KV, SK);
  auto [v, vd] = make(KV, SK);
  rt::Buffer bq(qd.size() * 2, "bf16"), bk(kd.size() * 2, "bf16"), bv(vd.size() * 2, "bf16"),
      bo(qd.size() * 2, "bf16"), bl(size_t(H) * SQ * 4, "f32");
  bq.upload(qd);
  bk.upload(kd);
  bv.upload(vd);
  bo.fill(0xff);
  auto bhsd = [](int h, int s) { return jit::AttentionStrides{int64_t(h) * s * D, int64_t(s) * D, D, 1}; };
  jit::AttentionProblem p{1, H, KV, SQ, SK, D, /*causal=*/false};
  jit::attentionForward(jit, p, bq, bhsd(H, SQ), bk, bhsd(KV, SK), bv, bhsd(KV, SK), bo, bhsd(H, SQ),
                        bl);
  std::vector<double> ref(q.size()), rl(size_t(H) * SQ);
  kernels::ref::attention(q.data(), k.data(), v.data(), ref.data(), rl.data(), H, SQ, SK, D,
                          1.0 / std::sqrt(double(D)), false, H / KV);
  auto out = bo.download<uint16_t>(qd.size());
  // bf16 keeps 8 bits of mantissa: P and O are rounded to it.
  CHECK(test::relativeL2(ref, [&](size_t i) { return double(fromBF16(out[i])); }) < 1e-2);
  auto lse = bl.download<float>(rl.size());
  for (size_t i = 0; i < rl.size(); ++i)
    CHECK(std::fabs(lse[i] - rl[i]) < 1e-3 * std::max(1.0, std::fabs(rl[i])));
}

TEST_CASE("attentionForward on bf16 subtracts a bounded modifier's bound instead of a running "
          "row maximum, and stays exact at the range's edges",
          "[attention][interp][scoremod]") {
  test::InterpretMode mode;
  jit::Jit jit;
  // Two key blocks and tails (70 keys, 64-key blocks): the sum runs across
  // blocks with no rescale in between.
  const int H = 2, SQ = 33, SK = 70, D = 64;
  std::mt19937 rng(41);
  std::normal_distribution<float> dist;
  std::vector<double> q(size_t(H) * SQ * D), k(size_t(H) * SK * D), v(k.size());
  for (auto &x : k)
    x = dist(rng);
  for (auto &x : v)
    x = dist(rng);
  for (auto &x : q)
    x = dist(rng);
  // Query row 0 of head 0 points away from every key (the keys share a
  // direction), so all its scores sit near the cap from below: with the
  // bound subtracted its probabilities are about 2^-98 each, still normal.
  for (int j = 0; j < SK; ++j)
    for (int c = 0; c < D; ++c)
      k[size_t(j) * D + c] = 0.2 * k[size_t(j) * D + c] + 1.0;
  for (int c = 0; c < D; ++c)
    q[c] = -4.0;
  auto upload = [](std::vector<double> &ref, rt::Buffer &b) {
    std::vector<uint16_t> dev(ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      dev[i] = toBF16(float(ref[i]));
      ref[i] = fromBF16(dev[i]); // the reference sees what the kernel reads
    }
    b.upload(dev);
  };
  rt::Buffer bq(q.size() * 2, "bf16"), bk(k.size() * 2, "bf16"), bv(v.size() * 2, "bf16"),
      bo(q.size() * 2, "bf16"), bl(size_t(H) * SQ * 4, "f32");
  upload(q, bq);
  upload(k, bk);
  upload(v, bv);
  auto bhsd = [](int s) { return jit::AttentionStrides{int64_t(H) * s * D, int64_t(s) * D, D, 1}; };
  // A modifier that claims a bound its scores pass (by up to ~10): the
  // shift is wrong for them but softmax does not depend on it.
  kernels::ScoreMod loose{"test.loose_bound", [](const dsl::Tile &s, const dsl::Scalar &,
                                                 const dsl::Scalar &, const dsl::Tile &,
                                                 const dsl::Tile &) { return s * 1.0; }};
  loose.bound = 1.0;
  struct Case {
    kernels::ScoreMod mod;
    std::function<double(double, int64_t, int64_t, int64_t)> ref;
    double scale;
  };
  std::vector<Case> cases{
      {kernels::scoremods::softcap(34), [](double x, int64_t, int64_t, int64_t) {
         return 34 * std::tanh(x / 34);
       }, 1.0},
      {kernels::scoremods::softcap(30), [](double x, int64_t, int64_t, int64_t) {
         return 30 * std::tanh(x / 30);
       }, 0.5},
      {loose, nullptr, 0.125}};
  for (const Case &c : cases) {
    INFO(c.mod.name);
    bo.fill(0xff);
    jit::AttentionProblem p{1, H, H, SQ, SK, D, /*causal=*/false, float(c.scale)};
    p.scoreMod = c.mod;
    jit::attentionForward(jit, p, bq, bhsd(SQ), bk, bhsd(SK), bv, bhsd(SK), bo, bhsd(SQ), bl);
    std::vector<double> ref(q.size()), rl(size_t(H) * SQ);
    if (c.ref)
      kernels::ref::attention(q.data(), k.data(), v.data(), ref.data(), rl.data(), H, SQ, SK, D,
                              c.scale, false, 1, c.ref);
    else
      kernels::ref::attention(q.data(), k.data(), v.data(), ref.data(), rl.data(), H, SQ, SK, D,
                              c.scale, false, 1);
    auto out = bo.download<uint16_t>(q.size());
    auto got = [&](size_t i) { return double(fromBF16(out[i])); };
    CHECK(test::relativeL2(ref, got) < 1e-2);
    // Row 0 of head 0 on its own (its scores all near -cap in the first case).
    CHECK(test::relativeL2(std::vector<double>(ref.begin(), ref.begin() + D), got) < 1e-2);
    auto lse = bl.download<float>(rl.size());
    for (size_t i = 0; i < rl.size(); ++i)
      CHECK(std::fabs(lse[i] - rl[i]) < 1e-3 * std::max(1.0, std::fabs(rl[i])));
  }
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
  jit::AttentionProblem negative = ok;
  negative.scale = -0.5f;
  CHECK(run(negative, q, s, k, lse) == "attention: the softmax scale must be positive and finite "
                                       "(0: 1/sqrt(head dim)), got -0.500000");
  // Shapes the kernels cannot address or launch: refused, not wrapped.
  CHECK(run({70000, 1, 1, S, S, D}, q, s, k, lse) ==
        "attention: heads = 1 and batch = 70000 must each be at most 65535 (one grid dimension "
        "each)");
  // More (batch, head) pairs than one grid dimension holds is fine (the
  // grid is (row blocks, heads, batch)): refused here only for the buffers.
  CHECK(run({300, 256, 256, S, S, D}, q, s, k, lse).find("attention: q: shape and strides") == 0);
  CHECK(run(ok, q, {int64_t(1) << 30, int64_t(1) << 30, D, 1}, k, lse) ==
        "attention: q: shape and strides reach element 3221229567; the kernels address at most "
        "2^31 elements per tensor");
  // And the same arguments, corrected, are accepted.
  CHECK(run(ok, q, s, k, lse).empty());
}

TEST_CASE("attentionForwardVarlen runs packed sequences and refuses bad offsets",
          "[attention][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int B = 3, H = 2, D = 64, MAXQ = 20, MAXK = 25;
  std::vector<int32_t> cuQ{0, 20, 21, 33}, cuK{0, 25, 32, 41};
  std::mt19937 rng(12);
  auto make = [&](size_t n) { return randomHalves(n, rng); };
  auto qd = make(size_t(cuQ.back()) * H * D), kd = make(size_t(cuK.back()) * H * D),
       vd = make(size_t(cuK.back()) * H * D);
  rt::Buffer bq(qd.size() * 2, "f16"), bk(kd.size() * 2, "f16"), bv(vd.size() * 2, "f16"),
      bo(qd.size() * 2, "f16"), bl(size_t(B) * H * MAXQ * 4, "f32"), bcq(cuQ.size() * 4, "i32"),
      bck(cuK.size() * 4, "i32");
  bq.upload(qd);
  bk.upload(kd);
  bv.upload(vd);
  bcq.upload(cuQ);
  bck.upload(cuK);
  bo.fill(0xff);
  jit::AttentionStrides packed{0, D, H * D, 1}; // [total, h, d]
  jit::AttentionProblem p{B, H, H, MAXQ, MAXK, D, /*causal=*/true};
  jit::attentionForwardVarlen(jit, p, bq, packed, bk, packed, bv, packed, bo, packed, bl, bcq, bck);
  auto out = bo.download<uint16_t>(qd.size());
  auto lse = bl.download<float>(size_t(B) * H * MAXQ);
  auto values = test::halvesToDoubles;
  auto qv = values(qd), kv = values(kd), vv = values(vd), ov = values(out);
  for (int b = 0; b < B; ++b) {
    int lq = cuQ[b + 1] - cuQ[b], lk = cuK[b + 1] - cuK[b];
    auto gather = [&](const std::vector<double> &x, int start, int len) {
      return kernels::ref::packedSequence(x, H, D, start, len);
    };
    auto qb = gather(qv, cuQ[b], lq), kb = gather(kv, cuK[b], lk), vb = gather(vv, cuK[b], lk);
    std::vector<double> ref(qb.size()), rl(size_t(H) * lq);
    kernels::ref::attention(qb.data(), kb.data(), vb.data(), ref.data(), rl.data(), H, lq, lk, D,
                            1.0 / std::sqrt(double(D)), true, 1);
    auto ob = gather(ov, cuQ[b], lq);
    double num = 0, den = 0, lerr = 0;
    for (size_t i = 0; i < ob.size(); ++i) {
      num += (ob[i] - ref[i]) * (ob[i] - ref[i]);
      den += ref[i] * ref[i];
    }
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < lq; ++i)
        lerr = std::max(lerr, std::abs(lse[(size_t(b) * H + h) * MAXQ + i] - rl[size_t(h) * lq + i]));
    INFO("sequence " << b);
    CHECK(std::sqrt(num / den) < 3e-3);
    CHECK(lerr < 1e-3);
  }

  auto err = [&](std::vector<int32_t> q, std::vector<int32_t> k) {
    bcq.upload(q);
    bck.upload(k);
    return test::errorOf([&] {
      jit::attentionForwardVarlen(jit, p, bq, packed, bk, packed, bv, packed, bo, packed, bl, bcq,
                                  bck);
    });
  };
  CHECK(err({0, 21, 22, 33}, cuK) ==
        "attention: cu_seqlens_q: sequence 0 has length 21, outside [0, seq_q = 20]");
  CHECK(err({0, 20, 19, 33}, cuK) ==
        "attention: cu_seqlens_q: sequence 1 has length -1, outside [0, seq_q = 20]");
  CHECK(err(cuQ, {0, 25, 25, 41}) == "attention: sequence 1 has 1 queries but no keys");
  CHECK(err(cuQ, {0, 25, 32, 50}) ==
        "attention: k: shape and strides reach element 6399 but the buffer holds 5248");
  rt::Buffer small(8, "i32");
  CHECK(test::errorOf([&] {
          jit::attentionForwardVarlen(jit, p, bq, packed, bk, packed, bv, packed, bo, packed, bl,
                                      small, bck);
        }) == "attention: cu_seqlens_q holds 2 offsets, needs batch + 1 = 4");
}

TEST_CASE("attentionBackward gives the float64 gradients ([b s h d], grouped-query, causal) "
          "and refuses bad input before launch", "[attention][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 4, KV = 2, SQ = 19, SK = 27, D = 64;
  std::mt19937 rng(13);
  auto make = [&](int h, int s) { return randomBshd(h, s, D, rng); };
  auto [q, qd] = make(H, SQ);
  auto [k, kd] = make(KV, SK);
  auto [v, vd] = make(KV, SK);
  auto [dO, dOd] = make(H, SQ);
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
             bdo = uploadHalves(dOd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(H) * SQ * 4, "f32"), bdq(qd.size() * 2, "f16"),
      bdk(kd.size() * 2, "f16"), bdv(vd.size() * 2, "f16");
  jit::AttentionProblem p{1, H, KV, SQ, SK, D, /*causal=*/true};
  rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p), "f32");
  auto sq = bshd(H, SQ, D), sk = bshd(KV, SK, D);
  jit::attentionForward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
  for (rt::Buffer *g : {&bdq, &bdk, &bdv})
    g->fill(0xff);
  jit::attentionBackward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk, sk, bdv,
                         sk, ws);
  std::vector<double> rq(q.size()), rk(k.size()), rv(v.size());
  kernels::ref::attentionBackward(q.data(), k.data(), v.data(), dO.data(), rq.data(), rk.data(),
                                  rv.data(), H, SQ, SK, D, 1.0 / std::sqrt(double(D)), true, H / KV);
  // ref is [h, s, d], the gradients [s, h, d].
  auto check = [&](const std::vector<double> &ref, const rt::Buffer &g, int h, int s) {
    return bshdError(ref, g, h, s, D);
  };
  CHECK(check(rq, bdq, H, SQ) < 5e-3);
  CHECK(check(rk, bdk, KV, SK) < 5e-3);
  CHECK(check(rv, bdv, KV, SK) < 5e-3);
  // Atomic dQ: summed inside the dK/dV pass into an f32 accumulator that
  // the workspace holds after D.
  jit::AttentionBackwardOptions atomic;
  atomic.deterministic = false;
  CHECK(jit::attentionBackwardWorkspaceBytes(p) == size_t(H) * SQ * 4);
  CHECK(jit::attentionBackwardWorkspaceBytes(p, atomic) ==
        size_t(H) * SQ * 4 + size_t(H) * SQ * D * 4);
  rt::Buffer wsAtomic(jit::attentionBackwardWorkspaceBytes(p, atomic), "f32");
  for (rt::Buffer *g : {&bdq, &bdk, &bdv})
    g->fill(0xff);
  jit::attentionBackward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk, sk, bdv,
                         sk, wsAtomic, nullptr, atomic);
  CHECK(check(rq, bdq, H, SQ) < 5e-3);
  CHECK(check(rk, bdk, KV, SK) < 5e-3);
  CHECK(check(rv, bdv, KV, SK) < 5e-3);

  auto error = [&](rt::Buffer &dq, rt::Buffer &dk, rt::Buffer &w, jit::AttentionStrides sdq) {
    return test::errorOf([&] {
      jit::attentionBackward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, dq, sdq, dk, sk,
                             bdv, sk, w);
    });
  };
  rt::Buffer small(16, "f32"), dkBf(kd.size() * 2, "bf16");
  CHECK(error(bq, bdk, ws, sq) ==
        "attention backward: dq and q are the same buffer; the gradients need buffers of their own");
  CHECK(error(bdq, bdq, ws, sq) ==
        "attention backward: dq and dk are the same buffer; the gradients need buffers of their own");
  CHECK(error(bdq, bdk, small, sq) == "attention backward: the workspace holds 16 bytes, needs " +
                                          std::to_string(H * SQ * 4) +
                                          " (attentionBackwardWorkspaceBytes with the same options)");
  CHECK(error(bdq, dkBf, ws, sq) == "attention: dk is a buffer of bf16, expected f16");
  CHECK(error(bdq, bdk, ws, {sq.batch, sq.head, sq.seq, 2}) ==
        "attention: dq: the head-dim stride must be 1 (contiguous), got 2");
  CHECK(error(bdq, bdk, ws, sq).empty());
}

TEST_CASE("attentionBackward's persistent schedules, early dP dots and split-off unmasked "
          "blocks give the plain schedule's bits", "[attention][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  // [b, h, s, d], two batch entries, grouped-query, tails: 16-row tiles
  // over 37 queries and 29 keys, causal and not.  The interpreter's grid
  // for a persistent kernel is one program, which loops over every tile.
  const int B = 2, H = 4, KV = 2, SQ = 37, SK = 29, D = 64;
  std::mt19937 rng(19);
  auto make = [&](size_t n) { return randomHalves(n, rng); };
  auto qd = make(size_t(B) * H * SQ * D), kd = make(size_t(B) * KV * SK * D),
       vd = make(kd.size()), dOd = make(qd.size());
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
             bdo = uploadHalves(dOd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(B) * H * SQ * 4, "f32");
  jit::AttentionStrides sq{int64_t(H) * SQ * D, int64_t(SQ) * D, D, 1},
      sk{int64_t(KV) * SK * D, int64_t(SK) * D, D, 1};
  auto values = test::halvesToDoubles;
  auto qv = values(qd), kv = values(kd), vv = values(vd), dov = values(dOd);
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    jit::AttentionProblem p{B, H, KV, SQ, SK, D, causal};
    rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p), "f32");
    jit::attentionForward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
    // dq, dk, dv's bits from one backward run of `pr` (its forward's O and
    // LSE in `out`, `lse`) with schedule `s` for both kernels.
    using Schedule = kernels::AttentionBackwardConfig::Schedule;
    auto gradients = [&](const jit::AttentionProblem &pr, rt::Buffer &out, rt::Buffer &lse,
                         const Schedule &s) {
      jit::AttentionBackwardOptions o;
      o.dkdv = o.dq = s;
      rt::Buffer bdq(qd.size() * 2, "f16"), bdk(kd.size() * 2, "f16"), bdv(kd.size() * 2, "f16");
      for (rt::Buffer *g : {&bdq, &bdk, &bdv})
        g->fill(0xff);
      jit::attentionBackward(jit, pr, bq, sq, bk, sk, bv, sk, out, sq, bdo, sq, lse, bdq, sq, bdk,
                             sk, bdv, sk, ws, nullptr, o);
      return std::vector<std::vector<uint16_t>>{bdq.download<uint16_t>(qd.size()),
                                                bdk.download<uint16_t>(kd.size()),
                                                bdv.download<uint16_t>(kd.size())};
    };
    auto with = [](Schedule s, bool persistent, bool earlyDp, bool maskSplit) {
      s.persistent = persistent, s.earlyDp = earlyDp, s.maskSplit = maskSplit;
      return s;
    };
    const Schedule tiles{16, 16, 4, 2};
    std::vector<std::vector<uint16_t>> bits[5];
    // plain, persistent, early dP, unmasked blocks split off, both.
    for (int variant : {0, 1, 2, 3, 4})
      bits[variant] = gradients(p, bo, bl,
                                with(tiles, variant == 1, variant == 2 || variant == 4,
                                     variant >= 3));
    CHECK(bits[1] == bits[0]);
    CHECK(bits[2] == bits[0]);
    CHECK(bits[3] == bits[0]);
    CHECK(bits[4] == bits[0]);
    // The split's bounds with query and key blocks of different sizes.
    for (auto [bm, bn] : {std::pair{16, 32}, std::pair{32, 16}}) {
      INFO("BLOCK_M " << bm << " BLOCK_N " << bn);
      Schedule other{bm, bn, 4, 2};
      CHECK(gradients(p, bo, bl, with(other, false, false, true)) == gradients(p, bo, bl, other));
    }
    // With a score modifier the query tail keeps a masked loop: this one
    // shifts every score by 1000, so an unmasked tail row (Q = 0, LSE = 0)
    // would have P = 2^1442 = inf and turn dK/dV into NaN.
    {
      jit::AttentionProblem pm = p;
      pm.scoreMod = kernels::ScoreMod{"test.shift1000", [](const dsl::Tile &s, const dsl::Scalar &,
                                                           const dsl::Scalar &, const dsl::Tile &,
                                                           const dsl::Tile &) { return s + 1000.0; }};
      pm.scoreMod->gradIsOne = true;
      rt::Buffer bom(qd.size() * 2, "f16"), blm(size_t(B) * H * SQ * 4, "f32");
      jit::attentionForward(jit, pm, bq, sq, bk, sk, bv, sk, bom, sq, blm);
      auto split = gradients(pm, bom, blm, with(tiles, false, false, true));
      CHECK(split == gradients(pm, bom, blm, tiles));
      // And the gradients are the plain scores' (a constant shift changes
      // no probability), up to the f16 rounding of the shifted scores.
      for (int g = 0; g < 3; ++g)
        CHECK(test::relativeOrAbsoluteL2(values(split[g]), values(bits[0][g])) < 2e-2);
    }
    // And float64, per batch entry (each a contiguous [h, s, d] slice).
    auto slice = [](const std::vector<double> &x, int b, size_t n) {
      return std::vector<double>(x.begin() + b * n, x.begin() + (b + 1) * n);
    };
    size_t nq = size_t(H) * SQ * D, nk = size_t(KV) * SK * D;
    auto dq = values(bits[1][0]), dk = values(bits[1][1]), dv = values(bits[1][2]);
    for (int b = 0; b < B; ++b) {
      INFO("batch " << b);
      auto qb = slice(qv, b, nq), kb = slice(kv, b, nk), vb = slice(vv, b, nk),
           dob = slice(dov, b, nq);
      std::vector<double> rq(nq), rk(nk), rv(nk);
      kernels::ref::attentionBackward(qb.data(), kb.data(), vb.data(), dob.data(), rq.data(),
                                      rk.data(), rv.data(), H, SQ, SK, D,
                                      1.0 / std::sqrt(double(D)), causal, H / KV);
      auto err = test::relativeOrAbsoluteL2;
      CHECK(err(slice(dq, b, nq), rq) < 5e-3);
      CHECK(err(slice(dk, b, nk), rk) < 5e-3);
      CHECK(err(slice(dv, b, nk), rv) < 5e-3);
    }
  }
}

TEST_CASE("attentionBackwardConfigFor picks persistent dQ programs, the early dP dot and "
          "split-off unmasked blocks only where they were measured faster", "[attention]") {
  auto config = [](int cc, int d, bool causal, int64_t seqK) {
    auto c = kernels::attentionBackwardConfigFor(cc, "f16", d, causal, seqK);
    CHECK(!c.dkdv.persistent); // no dK/dV schedule measured faster persistent
    CHECK(!c.dq.earlyDp);      // dQ's early dot measured level
    return c;
  };
  auto dq = [&](int cc, int d, bool causal, int64_t seqK) { return config(cc, d, causal, seqK).dq; };
  // d=128, not causal, sm_90, up to 16384 keys (H200 2026-12-04: +4-7%).
  for (int64_t s : {1, 512, 4096, 16384}) {
    auto c = dq(9, 128, false, s);
    CHECK(c.persistent);
    CHECK(c.warpSpecialize);
    CHECK(c.blockM == 128);
    CHECK(c.blockN == 128);
    CHECK(c.numWarps == 8);
  }
  CHECK(!dq(9, 128, false, 16385).persistent); // longer: not measured
  CHECK(!dq(9, 128, true, 1024).persistent);   // causal: measured no faster
  CHECK(!dq(9, 64, false, 1024).persistent);   // d=64: measured no faster
  CHECK(!dq(8, 128, false, 1024).persistent);  // the tiles need sm_90's shared memory
  CHECK(!dq(9, 128, false, 0).persistent);     // length unknown (masks, varlen, modifiers)
  // dK/dV's early dP dot: sm_90, d <= 128, up to 2048 keys, causal or not.
  for (int d : {64, 128})
    for (bool causal : {false, true}) {
      CHECK(config(9, d, causal, 512).dkdv.earlyDp);
      CHECK(config(9, d, causal, 2048).dkdv.earlyDp);
      CHECK(!config(9, d, causal, 2049).dkdv.earlyDp); // 8192 keys: measured slower
      CHECK(!config(9, d, causal, 0).dkdv.earlyDp);
      CHECK(!config(8, d, causal, 512).dkdv.earlyDp); // not measured off sm_90
    }
  CHECK(!config(9, 256, false, 1024).dkdv.earlyDp);
  // dK/dV's unmasked blocks split off: d=64 only, sm_90, up to 2048 keys.
  for (bool causal : {false, true}) {
    CHECK(config(9, 64, causal, 2048).dkdv.maskSplit);
    CHECK(!config(9, 64, causal, 2049).dkdv.maskSplit);
    CHECK(!config(9, 128, causal, 1024).dkdv.maskSplit); // spills at d=128
    CHECK(!config(9, 64, causal, 1024).dq.maskSplit);    // measured level
    CHECK(!config(8, 64, causal, 1024).dkdv.maskSplit);
  }
}

TEST_CASE("attentionBackwardVarlen gives each packed sequence's float64 gradients",
          "[attention][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  // Three sequences (one query only; more queries than keys; the longest),
  // grouped-query (two query heads per K/V head), causal.
  const int B = 3, H = 2, KV = 1, D = 64, MAXQ = 20, MAXK = 25;
  std::vector<int32_t> cuQ{0, 1, 19, 39}, cuK{0, 25, 32, 55};
  std::mt19937 rng(14);
  auto make = [&](size_t n) { return randomHalves(n, rng); };
  auto qd = make(size_t(cuQ.back()) * H * D), kd = make(size_t(cuK.back()) * KV * D),
       vd = make(size_t(cuK.back()) * KV * D), dOd = make(qd.size());
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
             bdo = uploadHalves(dOd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(B) * H * MAXQ * 4, "f32"),
      bdq(qd.size() * 2, "f16"), bdk(kd.size() * 2, "f16"), bdv(vd.size() * 2, "f16"),
      bcq(cuQ.size() * 4, "i32"), bck(cuK.size() * 4, "i32");
  bcq.upload(cuQ);
  bck.upload(cuK);
  jit::AttentionStrides sq{0, D, H * D, 1}, sk{0, D, KV * D, 1}; // [total, heads, d]
  jit::AttentionProblem p{B, H, KV, MAXQ, MAXK, D, /*causal=*/true};
  rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p), "f32");
  jit::attentionForwardVarlen(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl, bcq, bck);
  for (rt::Buffer *g : {&bdq, &bdk, &bdv})
    g->fill(0xff);
  // 16-row tiles: several blocks per sequence, and blocks wholly past a
  // sequence's end (which must skip their loop and write nothing).
  jit::AttentionBackwardOptions small;
  small.dkdv = small.dq = kernels::AttentionBackwardConfig::Schedule{16, 16, 4, 2};
  jit::attentionBackwardVarlen(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk,
                               sk, bdv, sk, bcq, bck, ws, nullptr, small);
  auto values = test::halvesToDoubles;
  auto qv = values(qd), kv = values(kd), vv = values(vd), dov = values(dOd);
  auto dq = values(bdq.download<uint16_t>(qd.size())),
       dk = values(bdk.download<uint16_t>(kd.size())),
       dv = values(bdv.download<uint16_t>(vd.size()));
  const kernels::ref::PackedBatch packed{cuQ, cuK, H, KV, D};
  for (int b = 0; b < B; ++b) {
    int lq = cuQ[b + 1] - cuQ[b], lk = cuK[b + 1] - cuK[b];
    auto qb = packed.queries(qv, b), dob = packed.queries(dov, b);
    auto kb = packed.keys(kv, b), vb = packed.keys(vv, b);
    std::vector<double> rq(qb.size()), rk(kb.size()), rv(vb.size());
    kernels::ref::attentionBackward(qb.data(), kb.data(), vb.data(), dob.data(), rq.data(),
                                    rk.data(), rv.data(), H, lq, lk, D,
                                    1.0 / std::sqrt(double(D)), true, H / KV);
    // Relative L2 error; absolute where the gradient is exactly zero (one
    // causal query sees one key: P = 1, dP = D, so dS = 0).
    auto err = test::relativeOrAbsoluteL2;
    INFO("sequence " << b);
    CHECK(err(packed.queries(dq, b), rq) < 5e-3);
    CHECK(err(packed.keys(dk, b), rk) < 5e-3);
    CHECK(err(packed.keys(dv, b), rv) < 5e-3);
  }
  // Unmasked blocks split off (MASK_SPLIT) and the early dP dot: the same
  // bits, over each sequence's own lengths.
  {
    jit::AttentionBackwardOptions split = small;
    split.dkdv->maskSplit = split.dq->maskSplit = split.dkdv->earlyDp = true;
    rt::Buffer sdq(qd.size() * 2, "f16"), sdk(kd.size() * 2, "f16"), sdv(vd.size() * 2, "f16");
    for (rt::Buffer *g : {&sdq, &sdk, &sdv})
      g->fill(0xff);
    jit::attentionBackwardVarlen(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, sdq, sq, sdk,
                                 sk, sdv, sk, bcq, bck, ws, nullptr, split);
    CHECK(sdq.download<uint16_t>(qd.size()) == bdq.download<uint16_t>(qd.size()));
    CHECK(sdk.download<uint16_t>(kd.size()) == bdk.download<uint16_t>(kd.size()));
    CHECK(sdv.download<uint16_t>(vd.size()) == bdv.download<uint16_t>(vd.size()));
  }
  // The offsets are checked as the forward's are.
  bcq.upload(std::vector<int32_t>{0, 21, 22, 39});
  CHECK(test::errorOf([&] {
          jit::attentionBackwardVarlen(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq,
                                       sq, bdk, sk, bdv, sk, bcq, bck, ws);
        }) == "attention: cu_seqlens_q: sequence 0 has length 21, outside [0, seq_q = 20]");
}

TEST_CASE("attention takes K and V expanded over the heads (head stride 0) and refuses outputs "
          "that broadcast", "[attention][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 3, SQ = 11, SK = 14, D = 64;
  std::mt19937 rng(17);
  auto make = [&](int h, int s) { return randomBshd(h, s, D, rng); };
  // One K/V head in memory, passed as H heads with head stride 0 (what
  // torch's k.expand(b, h, s, d) is): multi-query attention.
  auto [q, qd] = make(H, SQ);
  auto [k, kd] = make(1, SK);
  auto [v, vd] = make(1, SK);
  auto [dO, dOd] = make(H, SQ);
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
             bdo = uploadHalves(dOd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(H) * SQ * 4, "f32"), bdq(qd.size() * 2, "f16"),
      bdk(kd.size() * 2, "f16"), bdv(vd.size() * 2, "f16");
  jit::AttentionProblem p{1, H, H, SQ, SK, D, /*causal=*/false};
  auto sq = bshd(H, SQ, D);
  jit::AttentionStrides expanded{int64_t(SK) * D, 0, D, 1};
  jit::attentionForward(jit, p, bq, sq, bk, expanded, bv, expanded, bo, sq, bl);
  std::vector<double> ro(q.size()), rl(size_t(H) * SQ);
  double scale = 1.0 / std::sqrt(double(D));
  kernels::ref::attention(q.data(), k.data(), v.data(), ro.data(), rl.data(), H, SQ, SK, D, scale,
                          false, H);
  auto check = [&](const std::vector<double> &ref, const rt::Buffer &g, int h, int s) {
    return bshdError(ref, g, h, s, D);
  };
  CHECK(check(ro, bo, H, SQ) < 3e-3);

  // The gradient of an expanded tensor sums over its copies: dK and dV
  // expanded too get the multi-query gradients.
  rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p), "f32");
  for (rt::Buffer *g : {&bdq, &bdk, &bdv})
    g->fill(0xff);
  jit::attentionBackward(jit, p, bq, sq, bk, expanded, bv, expanded, bo, sq, bdo, sq, bl, bdq, sq,
                         bdk, expanded, bdv, expanded, ws);
  std::vector<double> rq(q.size()), rk(k.size()), rv(v.size());
  kernels::ref::attentionBackward(q.data(), k.data(), v.data(), dO.data(), rq.data(), rk.data(),
                                  rv.data(), H, SQ, SK, D, scale, false, H);
  CHECK(check(rq, bdq, H, SQ) < 5e-3);
  CHECK(check(rk, bdk, 1, SK) < 5e-3);
  CHECK(check(rv, bdv, 1, SK) < 5e-3);

  // Per-head gradients of expanded K/V: each head's dK is its own query
  // head's share (the reference with K/V copied H times).
  std::vector<double> kH, vH;
  for (int h = 0; h < H; ++h) {
    kH.insert(kH.end(), k.begin(), k.end());
    vH.insert(vH.end(), v.begin(), v.end());
  }
  rt::Buffer bdkH(size_t(H) * SK * D * 2, "f16"), bdvH(size_t(H) * SK * D * 2, "f16");
  std::vector<double> rkH(kH.size()), rvH(vH.size());
  kernels::ref::attentionBackward(q.data(), kH.data(), vH.data(), dO.data(), rq.data(), rkH.data(),
                                  rvH.data(), H, SQ, SK, D, scale, false, 1);
  jit::attentionBackward(jit, p, bq, sq, bk, expanded, bv, expanded, bo, sq, bdo, sq, bl, bdq, sq,
                         bdkH, bshd(H, SK, D), bdvH, bshd(H, SK, D), ws);
  CHECK(check(rq, bdq, H, SQ) < 5e-3);
  CHECK(check(rkH, bdkH, H, SK) < 5e-3);
  CHECK(check(rvH, bdvH, H, SK) < 5e-3);

  // An output with a stride of 0 would have programs overwrite each other.
  CHECK(test::errorOf([&] {
          jit::attentionForward(jit, p, bq, sq, bk, expanded, bv, expanded, bo,
                                {int64_t(SQ) * D, 0, D, 1}, bl);
        }) == "attention: o has a stride of 0 (batch 704, head 0, seq 64) along an axis of more "
              "than one entry; an output needs a place for every row");
  CHECK(test::errorOf([&] {
          jit::attentionBackward(jit, p, bq, sq, bk, expanded, bv, expanded, bo, sq, bdo, sq, bl,
                                 bdq, sq, bdkH, expanded, bdvH, bshd(H, SK, D), ws);
        }).find("attention: dk has a stride of 0") == 0);
}

TEST_CASE("attentionBackward's atomic dQ stays finite when every score of a row is very negative",
          "[attention][interp]") {
  // Found by tessera-fuzz (attention): keys past seq_k score 0 in the dK/dV
  // pass, so their P was 2^-lse2, past f16's range when every real score of
  // the row is below about -11 (one key, a large scale); the atomic dQ then
  // multiplied it by the zero K rows: NaN rows in dQ.
  test::InterpretMode mode;
  jit::Jit jit;
  const int H = 1, SQ = 5, SK = 1, D = 64;
  const float scale = 2.0f;
  // q = 1, k = -1: the one score is -128 (scaled), lse = -128.
  std::vector<uint16_t> qd(size_t(SQ) * D, toHalf(1.0f)), kd(size_t(SK) * D, toHalf(-1.0f));
  std::mt19937 rng(14);
  auto [v, vd] = randomBshd(H, SK, D, rng);
  auto [dO, dOd] = randomBshd(H, SQ, D, rng);
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
             bdo = uploadHalves(dOd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(H) * SQ * 4, "f32"), bdq(qd.size() * 2, "f16"),
      bdk(kd.size() * 2, "f16"), bdv(vd.size() * 2, "f16");
  jit::AttentionProblem p{1, H, H, SQ, SK, D, /*causal=*/false, scale};
  auto sq = bshd(H, SQ, D), sk = bshd(H, SK, D);
  jit::attentionForward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
  jit::AttentionBackwardOptions atomic;
  atomic.deterministic = false;
  rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p, atomic), "f32");
  bdq.fill(0xff);
  jit::attentionBackward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk, sk, bdv,
                         sk, ws, nullptr, atomic);
  // One key: P = 1, so dS = dP - D = 0 and dQ is 0 (up to O's rounding in D).
  auto dq = bdq.download<uint16_t>(qd.size());
  for (size_t i = 0; i < dq.size(); ++i) {
    INFO("dq[" << i << "]");
    REQUIRE(std::isfinite(fromHalf(dq[i])));
    CHECK(std::fabs(fromHalf(dq[i])) < 0.05);
  }
}

TEST_CASE("scoremods::expression and maskmods::expression parse and check their text, naming the column of an error",
          "[attention][scoremod]") {
  auto err = [](const std::string &text) {
    return test::errorOf([&] { kernels::scoremods::expression(text); });
  };
  CHECK(err("").find("the expression ends early at column 1") != std::string::npos);
  CHECK(err("s +") == "score modifier expression 's +': the expression ends early at column 4");
  CHECK(err("s * x") == "score modifier expression 's * x': unknown name 'x' (s, q, k, h, b, or a "
                        "function with arguments) at column 5");
  CHECK(err("tanh(s, 2)") ==
        "score modifier expression 'tanh(s, 2)': tanh takes 1 argument, got 2 at column 1");
  CHECK(err("foo(s)") == "score modifier expression 'foo(s)': unknown function 'foo' at column 1");
  CHECK(err("(s + 1") == "score modifier expression '(s + 1': expected ')' at column 7");
  CHECK(err("s > 1") == "score modifier expression 's > 1': the expression is a condition; a "
                        "score modifier returns a number (use where) at column 1");
  CHECK(err("where(s, 1, 2)") == "score modifier expression 'where(s, 1, 2)': where's first "
                                 "argument needs a condition (a comparison), not a number at "
                                 "column 7");
  CHECK(err("s + (q < k)") == "score modifier expression 's + (q < k)': + needs a number, not a "
                              "condition at column 8");
  CHECK(err("s $ 2") == "score modifier expression 's $ 2': unexpected '$' at column 3");
  // Deep nesting is refused, not a stack overflow.
  std::string deep = std::string(100000, '(') + "s" + std::string(100000, ')');
  CHECK(err(deep).find("nested more than 200 deep at column 201") != std::string::npos);
  CHECK(err(std::string(100000, '-') + "s").find("nested more than 200 deep") != std::string::npos);
  CHECK(kernels::scoremods::expression(std::string(150, '(') + "s" + std::string(150, ')')).fn);
  // A bound on the result, where the text implies one (the bf16 forward's
  // fixed shift): "30 * tanh(s / 30)" is the built-in softcap.30 (the same
  // PTX, forward and backward, checked 2026-12-04).
  CHECK(kernels::scoremods::expression("30 * tanh(s / 30)").bound == 30);
  CHECK(kernels::scoremods::expression("where(k > q, 2 * tanh(s), -1)").bound == 2);
  CHECK(kernels::scoremods::expression("exp(tanh(s)) - sigmoid(s) / 4").bound ==
        Approx(std::exp(1.0) + 0.25));
  CHECK(kernels::scoremods::expression("s + 1").bound == 0);
  CHECK(kernels::scoremods::expression("tanh(s) * q").bound == 0);
  // Masks: a condition over q, k, h, b, sq, sk (no score).
  auto maskErr = [](const std::string &text) {
    return test::errorOf([&] { kernels::maskmods::expression(text); });
  };
  CHECK(maskErr("q + k") == "mask modifier expression 'q + k': the expression is a number; a mask "
                            "modifier is a condition (a comparison) at column 1");
  CHECK(maskErr("s < 1") == "mask modifier expression 's < 1': unknown name 's' (q, k, h, b, sq, "
                            "sk, or a function with arguments) at column 1");
  CHECK(err("k < sk") == "score modifier expression 'k < sk': unknown name 'sk' (s, q, k, h, b, or "
                         "a function with arguments) at column 5");
  CHECK(kernels::maskmods::expression("k <= q").perHead == false);
  CHECK(kernels::maskmods::expression("k <= q || h == 2").perHead == true);
  CHECK(kernels::maskmods::expression("k <= q || b == 2").perBatch == true);
  // The same text names the same modifier; another text another one.
  CHECK(kernels::scoremods::expression("s * 2").name ==
        kernels::findScoreMod("expr:s * 2").name);
  CHECK(kernels::scoremods::expression("s * 2").name != kernels::scoremods::expression("s*3").name);
  CHECK(kernels::scoremods::expression("s * 2").name.rfind("expr.", 0) == 0);
}
