//===- AttentionVariantsTest.cpp - mask modifiers, block lists, dropout (issue 21) -===//
//
// In the CPU interpreter: attention_block_mask's lists against the blocks
// classified on the host; the forward and backward with every built-in mask
// and a user's (per head, with causal) against float64 with the same mask
// as a predicate, including rows a mask leaves no key; dropout's mask
// against a host Philox and its rate, forward and backward against float64
// with the same mask; and the refusals.  (Score modifiers: AttentionApiTest.)
//
//===----------------------------------------------------------------------===//
#include "AttentionCommon.h"
#include "../kernels/Documents.h"
#include "../kernels/Philox.h"

#include <cmath>

using namespace tessera;
using test::bshd, test::randomBshd, test::uploadHalves, test::bshdError;

namespace {
/// A built-in (or user) mask and the same mask as a host predicate over
/// (batch * heads + head, query i, key j).
struct MaskCase {
  kernels::MaskMod mod;
  kernels::ref::RefMask ref;
  int seqQ, seqK;
  bool causal = false;
  int batch = 1;
};

const int H = 2;

/// Document ids of two batch entries of `n` keys: entry 0 one document
/// (every block full), entry 1 many: lists shared across the batch would be
/// wrong for one of them.
std::vector<int32_t> twoEntryDocuments(int n, uint32_t seed) {
  std::vector<int32_t> docs = testkernels::documentIds(2, n, 40, seed);
  std::fill(docs.begin(), docs.begin() + n, 0);
  return docs;
}

/// The cases the forward and backward run: each built-in and a user's mask.
std::vector<MaskCase> maskCases(const std::vector<int32_t> &docs, int docSeq) {
  kernels::MaskMod everyThird{"test.every_third_per_head",
                              [](const dsl::Scalar &, const dsl::Scalar &head,
                                 const dsl::Tile &q, const dsl::Tile &k,
                                 const kernels::MaskContext &) { return (k + head) % 3 > 0; }};
  everyThird.perHead = true;
  auto window = [](int sq, int sk, int left, int right) {
    return [=](int64_t, int64_t i, int64_t j) {
      int64_t c = i + sk - sq;
      return (left < 0 || j >= c - left) && (right < 0 || j <= c + right);
    };
  };
  // A user's copy of the document mask that forgets to say it differs per
  // batch entry: its data does, so its lists must too.
  kernels::MaskMod docs2 = kernels::maskmods::document();
  docs2.name = "test.document_not_marked_per_batch";
  docs2.perBatch = false;
  auto docRef = [&docs, docSeq](int64_t bh, int64_t i, int64_t j) {
    const int32_t *d = docs.data() + size_t(bh / H) * docSeq;
    return d[i] == d[j];
  };
  return {
      {docs2, docRef, docSeq, docSeq, /*causal=*/false, /*batch=*/2},
      {kernels::maskmods::slidingWindow(40, 0), window(200, 200, 40, 0), 200, 200},
      {kernels::maskmods::slidingWindow(30, 10), window(150, 170, 30, 10), 150, 170},
      // Queries 0..59 see no key: output 0, lse -inf, no gradient.
      {kernels::maskmods::causalBottomRight(),
       [](int64_t, int64_t i, int64_t j) { return j <= i + 90 - 150; }, 150, 90},
      {kernels::maskmods::causal(), [](int64_t, int64_t i, int64_t j) { return j <= i; }, 130,
       100},
      {kernels::maskmods::prefixLM(70),
       [](int64_t, int64_t i, int64_t j) { return j < 70 || j <= i; }, 200, 200},
      {kernels::maskmods::document(),
       [&docs, docSeq](int64_t bh, int64_t i, int64_t j) {
         const int32_t *d = docs.data() + size_t(bh / H) * docSeq;
         return d[i] == d[j];
       },
       docSeq, docSeq, /*causal=*/true, /*batch=*/2},
      {everyThird, [](int64_t bh, int64_t, int64_t j) { return (j + bh % H) % 3 != 0; }, 100,
       100, /*causal=*/true},
      // Masks written as text (what the C API and Python pass as "expr:..."):
      // a bottom-right window, and one per head.
      {kernels::maskmods::expression("k <= q + sk - sq && k >= q + sk - sq - 30"),
       window(150, 170, 30, 0), 150, 170},
      {kernels::findMaskMod("expr:h == 1 || k <= q"),
       [](int64_t bh, int64_t i, int64_t j) { return bh % H == 1 || j <= i; }, 120, 120},
  };
}
} // namespace

TEST_CASE("attention_block_mask lists each row's partial and full blocks, skipping empty ones",
          "[attention][interp][mask]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int SQ = 256, SK = 300, B = 64;
  // Sliding window (bottom-right, 40 back, 5 ahead) and a prefix: blocks of
  // all three kinds, and a tail block of keys (300 = 4 * 64 + 44).
  kernels::MaskMod mod{"test.window_and_prefix",
                       [](const dsl::Scalar &, const dsl::Scalar &, const dsl::Tile &q,
                          const dsl::Tile &k, const kernels::MaskContext &c) {
                         dsl::Tile center = q + (c.seqK - c.seqQ);
                         return ((k >= center - 40) & (k <= center + 5)) | (k < 64);
                       }};
  auto allowed = [&](int64_t i, int64_t j) {
    int64_t c = i + SK - SQ;
    return (j >= c - 40 && j <= c + 5) || j < 64;
  };
  jit::BlockMask mask(mod, 1, H, SQ, SK);
  for (bool transposed : {false, true}) {
    INFO((transposed ? "per key block" : "per query block"));
    const auto &l = mask.lists(jit, B, B, /*causal=*/false, transposed, nullptr);
    int blocksQ = (SQ + B - 1) / B, blocksK = (SK + B - 1) / B;
    int rows = transposed ? blocksK : blocksQ, cols = transposed ? blocksQ : blocksK;
    int stride = cols + kernels::kBlockListPad;
    auto counts = l.counts.download<int32_t>(size_t(rows) * 2);
    auto idx = l.indices.download<int32_t>(size_t(rows) * 2 * stride);
    int empty = 0;
    for (int r = 0; r < rows; ++r) {
      std::vector<int32_t> partial, full;
      for (int c = 0; c < cols; ++c) {
        int qb = transposed ? c : r, kb = transposed ? r : c;
        bool any = false, all = true;
        for (int i = qb * B; i < (qb + 1) * B; ++i)
          for (int j = kb * B; j < (kb + 1) * B; ++j) {
            bool in = i < SQ && j < SK && allowed(i, j);
            any |= in;
            all &= in;
          }
        if (all)
          full.push_back(c);
        else if (any)
          partial.push_back(c);
        else
          ++empty;
      }
      INFO("row " << r);
      REQUIRE(counts[size_t(r) * 2] == int(partial.size()));
      REQUIRE(counts[size_t(r) * 2 + 1] == int(full.size()));
      const int32_t *row = idx.data() + size_t(r) * 2 * stride;
      CHECK(std::vector<int32_t>(row, row + partial.size()) == partial);
      CHECK(std::vector<int32_t>(row + stride, row + stride + full.size()) == full);
      // What a walk reads ahead of its last entry is a valid block.
      for (int e = 0; e < kernels::kBlockListPad; ++e) {
        CHECK(row[partial.size() + e] == 0);
        CHECK(row[stride + full.size() + e] == 0);
      }
    }
    CHECK(empty > 0); // the window leaves blocks out
  }
}

TEST_CASE("attentionForward with mask modifiers (every built-in and a user's per-head mask) "
          "matches float64",
          "[attention][interp][mask]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int D = 64, docSeq = 160;
  std::mt19937 rng(31);
  std::vector<int32_t> docs = twoEntryDocuments(docSeq, rng());
  rt::Buffer docBuf(docs.size() * 4, "i32");
  docBuf.upload(docs);
  for (const MaskCase &c : maskCases(docs, docSeq)) {
    INFO(c.mod.name << " seq_q " << c.seqQ << " seq_k " << c.seqK);
    auto [q, qd] = randomBshd(H, c.seqQ, D, rng, c.batch);
    auto [k, kd] = randomBshd(H, c.seqK, D, rng, c.batch);
    auto [v, vd] = randomBshd(H, c.seqK, D, rng, c.batch);
    rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd);
    rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(c.batch) * H * c.seqQ * 4, "f32");
    bo.fill(0xff);
    jit::AttentionProblem p{c.batch, H, H, c.seqQ, c.seqK, D, c.causal};
    p.mask = std::make_shared<jit::BlockMask>(c.mod, c.batch, H, c.seqQ, c.seqK,
                                              c.mod.usesData ? &docBuf : nullptr);
    auto sq = bshd(H, c.seqQ, D), sk = bshd(H, c.seqK, D);
    jit::attentionForward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
    std::vector<double> ref(q.size()), rl(size_t(c.batch) * H * c.seqQ);
    double scale = 1.0 / std::sqrt(double(D));
    kernels::ref::attention(q.data(), k.data(), v.data(), ref.data(), rl.data(), c.batch * H,
                            c.seqQ, c.seqK, D, scale, c.causal, 1, {}, c.ref);
    CHECK(bshdError(ref, bo, H, c.seqQ, D) < 3e-3);
    auto lse = bl.download<float>(rl.size());
    int emptyRows = 0;
    for (size_t i = 0; i < rl.size(); ++i) {
      if (std::isinf(rl[i])) {
        ++emptyRows;
        CHECK(std::isinf(lse[i]));
        CHECK(lse[i] < 0);
      } else {
        CHECK(std::fabs(lse[i] - rl[i]) < 1e-3 * std::max(1.0, std::fabs(rl[i])));
      }
    }
    if (c.mod.name == "causal_bottom_right")
      CHECK(emptyRows == H * 60);
  }
}

TEST_CASE("attentionBackward through mask modifiers matches the float64 gradients, both dQ "
          "schedules, grouped-query",
          "[attention][interp][mask]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int D = 64, KV = 1, docSeq = 130;
  std::mt19937 rng(37);
  std::vector<int32_t> docs = twoEntryDocuments(docSeq, rng());
  rt::Buffer docBuf(docs.size() * 4, "i32");
  docBuf.upload(docs);
  for (const MaskCase &c : maskCases(docs, docSeq)) {
    auto [q, qd] = randomBshd(H, c.seqQ, D, rng, c.batch);
    auto [k, kd] = randomBshd(KV, c.seqK, D, rng, c.batch);
    auto [v, vd] = randomBshd(KV, c.seqK, D, rng, c.batch);
    auto [dO, dOd] = randomBshd(H, c.seqQ, D, rng, c.batch);
    rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
               bdo = uploadHalves(dOd);
    rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(c.batch) * H * c.seqQ * 4, "f32"),
        bdq(qd.size() * 2, "f16"), bdk(kd.size() * 2, "f16"), bdv(vd.size() * 2, "f16");
    auto sq = bshd(H, c.seqQ, D), sk = bshd(KV, c.seqK, D);
    jit::AttentionProblem p{c.batch, H, KV, c.seqQ, c.seqK, D, c.causal};
    p.mask = std::make_shared<jit::BlockMask>(c.mod, c.batch, H, c.seqQ, c.seqK,
                                              c.mod.usesData ? &docBuf : nullptr);
    jit::attentionForward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
    std::vector<double> rq(q.size()), rk(k.size()), rv(v.size());
    kernels::ref::attentionBackward(q.data(), k.data(), v.data(), dO.data(), rq.data(),
                                    rk.data(), rv.data(), c.batch * H, c.seqQ, c.seqK, D,
                                    1.0 / std::sqrt(double(D)), c.causal, H / KV, {}, {},
                                    c.ref);
    for (bool deterministic : {true, false}) {
      INFO(c.mod.name << (deterministic ? " deterministic" : " atomic dQ"));
      jit::AttentionBackwardOptions opt;
      opt.deterministic = deterministic;
      rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p, opt), "f32");
      for (rt::Buffer *g : {&bdq, &bdk, &bdv})
        g->fill(0xff);
      jit::attentionBackward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk,
                             sk, bdv, sk, ws, nullptr, opt);
      CHECK(bshdError(rq, bdq, H, c.seqQ, D) < 5e-3);
      CHECK(bshdError(rk, bdk, KV, c.seqK, D) < 5e-3);
      CHECK(bshdError(rv, bdv, KV, c.seqK, D) < 5e-3);
    }
  }
}

TEST_CASE("mask modifiers: misuse is refused before launch", "[attention][errors][mask]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int S = 64, D = 64;
  size_t n = size_t(H) * S * D;
  rt::Buffer q(n * 2, "f16"), k(n * 2, "f16"), v(n * 2, "f16"), o(n * 2, "f16"),
      lse(size_t(H) * S * 4, "f32"), f32Docs(size_t(S) * 4, "f32"), docs(size_t(S) * 4, "i32");
  auto s = bshd(H, S, D);
  CHECK(test::errorOf([&] { jit::BlockMask(kernels::maskmods::document(), 1, H, S, S); }) ==
        "BlockMask of 'document': the mask reads data (MaskMod::usesData); pass its i32 buffer");
  CHECK(test::errorOf([&] {
          jit::BlockMask(kernels::maskmods::document(), 1, H, S, S, &f32Docs);
        }) == "BlockMask of 'document': the data must be an i32 buffer, got f32");
  CHECK(test::errorOf([&] {
          jit::BlockMask(kernels::maskmods::causal(), 1, H, S, S, &docs);
        }) == "BlockMask of 'causal': the mask reads no data (MaskMod::usesData is false), yet a "
              "buffer was given");
  CHECK(test::errorOf([&] { jit::BlockMask(kernels::maskmods::causal(), 1, H, 0, S); }) ==
        "BlockMask of 'causal': batch, heads, seq_q and seq_k must be positive, got 1, 2, 0, 64");
  CHECK(test::errorOf([&] { kernels::maskmods::prefixLM(-1); }) ==
        "prefixLM: the prefix length must be at least 0, got -1");
  jit::AttentionProblem p{1, H, H, S, S, D};
  p.mask = std::make_shared<jit::BlockMask>(kernels::maskmods::causal(), 1, H, S, 2 * S);
  CHECK(test::errorOf([&] { jit::attentionForward(jit, p, q, s, k, s, v, s, o, s, lse); }) ==
        "attention: the BlockMask of 'causal' was made for batch 1, heads 2, seq_q 64, seq_k "
        "128; the problem has 1, 2, 64, 64");
  // Varlen: the mask is made for the sequences and the longest lengths.
  p.mask = std::make_shared<jit::BlockMask>(kernels::maskmods::causal(), 2, H, S, S);
  rt::Buffer cu(3 * 4, "i32");
  cu.upload(std::vector<int32_t>{0, S / 2, S});
  jit::AttentionProblem pv{2, H, H, S / 2, S / 2, D};
  pv.mask = p.mask;
  CHECK(test::errorOf([&] {
          jit::attentionForwardVarlen(jit, pv, q, s, k, s, v, s, o, s, lse, cu, cu);
        }) == "attention: the BlockMask of 'causal' was made for batch 2, heads 2, seq_q 64, "
              "seq_k 64; the problem has 2, 2, 32, 32");
}

TEST_CASE("mask modifiers with packed sequences (varlen): each sequence's own positions and "
          "lengths, forward and backward against float64",
          "[attention][interp][mask]") {
  test::InterpretMode mode;
  jit::Jit jit;
  // Three sequences: a single query, more keys than queries, the longest;
  // grouped-query (two query heads per K/V head).
  const int B = 3, KV = 1, D = 64, MAXQ = 70, MAXK = 80;
  std::vector<int32_t> cuQ{0, 1, 41, 111}, cuK{0, 30, 80, 150};
  std::mt19937 rng(43);
  // Document ids per sequence ([B, MAXK], a row per sequence, keys' positions).
  std::vector<int32_t> docs(size_t(B) * MAXK);
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < MAXK; ++j)
      docs[size_t(b) * MAXK + j] = j / (13 + 7 * b);
  rt::Buffer docBuf(docs.size() * 4, "i32");
  docBuf.upload(docs);
  kernels::MaskMod everyThird{"test.varlen_every_third_per_head",
                              [](const dsl::Scalar &, const dsl::Scalar &head, const dsl::Tile &,
                                 const dsl::Tile &k, const kernels::MaskContext &) {
                                return (k + head) % 3 > 0;
                              }};
  everyThird.perHead = true;
  struct Case {
    kernels::MaskMod mod;
    bool causal;
    /// The host predicate of sequence b (lq queries, lk keys), over (head, i, j).
    std::function<kernels::ref::RefMask(int b, int lq, int lk)> ref;
  };
  std::vector<Case> cases{
      {kernels::maskmods::slidingWindow(12, 3), false,
       [](int, int lq, int lk) -> kernels::ref::RefMask {
         return [=](int64_t, int64_t i, int64_t j) {
           int64_t c = i + lk - lq; // bottom-right, within the sequence
           return j >= c - 12 && j <= c + 3;
         };
       }},
      {kernels::maskmods::document(), true,
       [&](int b, int lq, int lk) -> kernels::ref::RefMask {
         return [=, &docs](int64_t, int64_t i, int64_t j) {
           int64_t qi = i + lk - lq;
           const int32_t *d = docs.data() + size_t(b) * MAXK;
           return qi >= 0 && d[qi] == d[j];
         };
       }},
      {everyThird, true,
       [](int, int, int) -> kernels::ref::RefMask {
         return [](int64_t h, int64_t, int64_t j) { return (j + h) % 3 != 0; };
       }},
  };
  auto qd = test::randomHalves(size_t(cuQ.back()) * H * D, rng),
       kd = test::randomHalves(size_t(cuK.back()) * KV * D, rng),
       vd = test::randomHalves(size_t(cuK.back()) * KV * D, rng),
       dOd = test::randomHalves(qd.size(), rng);
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
             bdo = uploadHalves(dOd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(B) * H * MAXQ * 4, "f32"),
      bdq(qd.size() * 2, "f16"), bdk(kd.size() * 2, "f16"), bdv(vd.size() * 2, "f16"),
      bcq(cuQ.size() * 4, "i32"), bck(cuK.size() * 4, "i32");
  bcq.upload(cuQ);
  bck.upload(cuK);
  jit::AttentionStrides sq{0, D, H * D, 1}, sk{0, D, KV * D, 1}; // [total, heads, d]
  auto values = test::halvesToDoubles;
  auto qv = values(qd), kv = values(kd), vv = values(vd), dov = values(dOd);
  auto err = test::relativeOrAbsoluteL2;
  double scale = 1.0 / std::sqrt(double(D));
  for (const Case &c : cases) {
    jit::AttentionProblem p{B, H, KV, MAXQ, MAXK, D, c.causal};
    p.mask = std::make_shared<jit::BlockMask>(c.mod, B, H, MAXQ, MAXK,
                                              c.mod.usesData ? &docBuf : nullptr);
    bo.fill(0xff);
    jit::attentionForwardVarlen(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl, bcq, bck);
    for (rt::Buffer *g : {&bdq, &bdk, &bdv})
      g->fill(0xff);
    // 16-row tiles: several blocks per sequence, and rows of blocks wholly
    // past a sequence's end (whose lists must be empty).
    jit::AttentionBackwardOptions small;
    small.dkdv = small.dq = kernels::AttentionBackwardConfig::Schedule{16, 16, 4, 2};
    rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p, small), "f32");
    jit::attentionBackwardVarlen(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq,
                                 bdk, sk, bdv, sk, bcq, bck, ws, nullptr, small);
    auto o = values(bo.download<uint16_t>(qd.size())), dq = values(bdq.download<uint16_t>(qd.size())),
         dk = values(bdk.download<uint16_t>(kd.size())),
         dv = values(bdv.download<uint16_t>(vd.size()));
    const kernels::ref::PackedBatch packed{cuQ, cuK, H, KV, D};
    for (int b = 0; b < B; ++b) {
      int lq = cuQ[b + 1] - cuQ[b], lk = cuK[b + 1] - cuK[b];
      auto qb = packed.queries(qv, b), dob = packed.queries(dov, b);
      auto kb = packed.keys(kv, b), vb = packed.keys(vv, b);
      kernels::ref::RefMask mask = c.ref(b, lq, lk);
      std::vector<double> ro(qb.size()), rl(size_t(H) * lq), rq(qb.size()), rk(kb.size()),
          rv(vb.size());
      kernels::ref::attention(qb.data(), kb.data(), vb.data(), ro.data(), rl.data(), H, lq, lk,
                              D, scale, c.causal, H / KV, {}, mask);
      kernels::ref::attentionBackward(qb.data(), kb.data(), vb.data(), dob.data(), rq.data(),
                                      rk.data(), rv.data(), H, lq, lk, D, scale, c.causal,
                                      H / KV, {}, {}, mask);
      INFO(c.mod.name << " sequence " << b);
      CHECK(err(packed.queries(o, b), ro) < 3e-3);
      CHECK(err(packed.queries(dq, b), rq) < 5e-3);
      CHECK(err(packed.keys(dk, b), rk) < 5e-3);
      CHECK(err(packed.keys(dv, b), rv) < 5e-3);
    }
  }
}

namespace {
kernels::ref::RefDropout hostDropout(const jit::AttentionDropout &d) {
  return testkernels::attentionDropoutReference(d.p, d.seed, d.offset);
}
} // namespace

TEST_CASE("attention dropout: the kernel's mask is Philox's, at the asked rate, and a new offset "
          "draws a new one",
          "[attention][interp][dropout]") {
  test::InterpretMode mode;
  jit::Jit jit;
  // Equal scores (q = 0) and one-hot values (v_j = e_j): o[i][j] is exactly
  // the dropout factor of (i, j) over seq_k, so o shows the mask.
  const int Hd = 4, S = 64, D = 64;
  std::vector<uint16_t> q(size_t(Hd) * S * D, toHalf(0.f)), v(q.size(), toHalf(0.f));
  for (int s = 0; s < S; ++s)
    for (int h = 0; h < Hd; ++h)
      v[(size_t(s) * Hd + h) * D + s] = toHalf(1.f);
  std::mt19937 rng(41);
  auto [kref, kd] = randomBshd(Hd, S, D, rng);
  rt::Buffer bq = uploadHalves(q), bk = uploadHalves(kd), bv = uploadHalves(v);
  rt::Buffer bo(q.size() * 2, "f16"), bl(size_t(Hd) * S * 4, "f32");
  auto st = bshd(Hd, S, D);
  jit::AttentionProblem p{1, Hd, Hd, S, S, D};
  p.dropout = jit::AttentionDropout{0.3f, 0x123456789abcdefull, 7};
  jit::attentionForward(jit, p, bq, st, bk, st, bv, st, bo, st, bl);
  auto o = bo.download<uint16_t>(q.size());
  auto z = hostDropout(*p.dropout);
  int kept = 0, mismatched = 0;
  for (int h = 0; h < Hd; ++h)
    for (int i = 0; i < S; ++i)
      for (int j = 0; j < S; ++j) {
        double got = fromHalf(o[(size_t(i) * Hd + h) * D + j]), want = z(h, i, j) / S;
        kept += got > 0;
        mismatched += std::fabs(got - want) > 1e-3 * (1.0 / S / 0.7);
      }
  CHECK(mismatched == 0);
  double n = double(Hd) * S * S, rate = kept / n, sigma = std::sqrt(0.3 * 0.7 / n);
  INFO("kept " << rate << " of " << n);
  CHECK(std::fabs(rate - 0.7) < 3 * sigma);
  // Another offset: another mask.
  std::vector<uint16_t> first = o;
  p.dropout->offset = 8;
  jit::attentionForward(jit, p, bq, st, bk, st, bv, st, bo, st, bl);
  CHECK(bo.download<uint16_t>(q.size()) != first);
  p.dropout->p = 1.0f;
  CHECK(test::errorOf([&] { jit::attentionForward(jit, p, bq, st, bk, st, bv, st, bo, st, bl); }) ==
        "attention: the dropout probability must be in [0, 1), got 1.000000");
}

TEST_CASE("attention dropout with the persistent forward (d=128, not causal: the sm_90 schedule "
          "up to 2048 keys), its arguments in the kernel's order",
          "[attention][interp][dropout]") {
  test::InterpretMode mode; // an sm_90 stand-in: attentionConfigFor's Hopper tiles
  jit::Jit jit;
  const int D = 128, SQ = 70, SK = 90;
  REQUIRE(kernels::attentionConfigFor(9, "f16", D, false, SQ, SK).persistent);
  std::mt19937 rng(47);
  auto [q, qd] = randomBshd(H, SQ, D, rng);
  auto [k, kd] = randomBshd(H, SK, D, rng);
  auto [v, vd] = randomBshd(H, SK, D, rng);
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(H) * SQ * 4, "f32");
  auto sq = bshd(H, SQ, D), sk = bshd(H, SK, D);
  jit::AttentionProblem p{1, H, H, SQ, SK, D};
  p.dropout = jit::AttentionDropout{0.25f, 5, 11};
  jit::attentionForward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
  std::vector<double> ro(q.size()), rl(size_t(H) * SQ);
  kernels::ref::attention(q.data(), k.data(), v.data(), ro.data(), rl.data(), H, SQ, SK, D,
                          1.0 / std::sqrt(double(D)), false, 1, {}, {}, hostDropout(*p.dropout));
  CHECK(bshdError(ro, bo, H, SQ, D) < 3e-3);
}

TEST_CASE("attention dropout: forward and backward match float64 with the same mask (both dQ "
          "schedules, grouped-query, causal, with a mask modifier)",
          "[attention][interp][dropout]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int D = 64, KV = 1, SQ = 70, SK = 90;
  std::mt19937 rng(43);
  auto [q, qd] = randomBshd(H, SQ, D, rng);
  auto [k, kd] = randomBshd(KV, SK, D, rng);
  auto [v, vd] = randomBshd(KV, SK, D, rng);
  auto [dO, dOd] = randomBshd(H, SQ, D, rng);
  rt::Buffer bq = uploadHalves(qd), bk = uploadHalves(kd), bv = uploadHalves(vd),
             bdo = uploadHalves(dOd);
  rt::Buffer bo(qd.size() * 2, "f16"), bl(size_t(H) * SQ * 4, "f32"), bdq(qd.size() * 2, "f16"),
      bdk(kd.size() * 2, "f16"), bdv(vd.size() * 2, "f16");
  auto sq = bshd(H, SQ, D), sk = bshd(KV, SK, D);
  for (bool masked : {false, true}) {
    jit::AttentionProblem p{1, H, KV, SQ, SK, D, /*causal=*/!masked};
    p.dropout = jit::AttentionDropout{0.2f, 99, 3};
    kernels::ref::RefMask refMask;
    if (masked) {
      p.mask = std::make_shared<jit::BlockMask>(kernels::maskmods::slidingWindow(25, 5), 1, H,
                                                SQ, SK);
      refMask = [](int64_t, int64_t i, int64_t j) {
        int64_t c = i + SK - SQ;
        return j >= c - 25 && j <= c + 5;
      };
    }
    auto z = hostDropout(*p.dropout);
    jit::attentionForward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
    std::vector<double> ro(q.size()), rl(size_t(H) * SQ), plain(q.size());
    double scale = 1.0 / std::sqrt(double(D));
    kernels::ref::attention(q.data(), k.data(), v.data(), ro.data(), rl.data(), H, SQ, SK, D,
                            scale, p.causal, H / KV, {}, refMask, z);
    kernels::ref::attention(q.data(), k.data(), v.data(), plain.data(), rl.data(), H, SQ, SK, D,
                            scale, p.causal, H / KV, {}, refMask);
    INFO((masked ? "sliding window" : "causal"));
    CHECK(bshdError(ro, bo, H, SQ, D) < 3e-3);
    CHECK(bshdError(plain, bo, H, SQ, D) > 0.1); // dropout did drop
    std::vector<double> rq(q.size()), rk(k.size()), rv(v.size());
    kernels::ref::attentionBackward(q.data(), k.data(), v.data(), dO.data(), rq.data(), rk.data(),
                                    rv.data(), H, SQ, SK, D, scale, p.causal, H / KV, {}, {},
                                    refMask, z);
    for (bool deterministic : {true, false}) {
      INFO((deterministic ? "deterministic" : "atomic dQ"));
      jit::AttentionBackwardOptions opt;
      opt.deterministic = deterministic;
      rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p, opt), "f32");
      jit::attentionBackward(jit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk,
                             sk, bdv, sk, ws, nullptr, opt);
      CHECK(bshdError(rq, bdq, H, SQ, D) < 5e-3);
      CHECK(bshdError(rk, bdk, KV, SK, D) < 5e-3);
      CHECK(bshdError(rv, bdv, KV, SK, D) < 5e-3);
    }
  }
}
