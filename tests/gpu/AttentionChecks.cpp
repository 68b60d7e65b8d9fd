//===- AttentionChecks.cpp - attention_fwd and jit::attentionForward on the GPU -- ===//
#include "GpuCheck.h"
#include "../kernels/Documents.h"
#include "../kernels/Philox.h"
#include "tessera/jit/Attention.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <random>
#include <optional>

namespace gpucheck {

namespace {

/// 128-query tiles over 8 consumer warps with a producer warpgroup
/// (warp_specialize), `blockN` keys per block; persistent programs if asked.
dsl::Params wsTile(const char *blockN, bool persistent = false) {
  dsl::Params p{{"BLOCK_M", "128"}, {"BLOCK_N", blockN}, {"num_warps", "8"},
                {"warp_specialize", "1"}};
  if (persistent)
    p.set("PERSISTENT", "1");
  return p;
}

/// Attention against the float64 reference.  `bshd`: the tensors live as
/// [batch, seq, heads, dim] (only the strides change; the reference data is
/// permuted on upload and the output permuted back).
Result checkAttention(int mult, int batch, int heads, int seqQ, int seqK, bool causal,
                      int d = 64, int kvHeads = 0, bool bshd = false, bool split = false,
                      bool overlap = false, dsl::Params extra = {}, unsigned programs = 7) {
  if (kvHeads == 0)
    kvHeads = heads;
  dsl::Params params = withMult(mult, {{"CAUSAL", causal ? "1" : "0"},
                                       {"HEAD_DIM", std::to_string(d)},
                                       {"MASK_SPLIT", split ? "1" : "0"},
                                       {"OVERLAP", overlap ? "1" : "0"}});
  for (auto &[key, value] : extra.items())
    params.set(key, value);
  const int bm = extra.has("BLOCK_M") ? int(extra.i("BLOCK_M")) : 64;
  auto k = kernel("attention_fwd", params);
  int bh = batch * heads;
  int kvbh = batch * kvHeads;
  auto q = randomHalfValues(size_t(bh) * seqQ * d), kk = randomHalfValues(size_t(kvbh) * seqK * d),
       v = randomHalfValues(size_t(kvbh) * seqK * d);
  auto toBshd = [&](const std::vector<double> &x, int h, int s) {
    return swapHeadsAndSeq(x, batch, h, s, d, true);
  };
  Buffer bq(q.size() * 2, "f16"), bk(kk.size() * 2, "f16"), bv(v.size() * 2, "f16"),
      bo(q.size() * 2, "f16"), bl(size_t(bh) * seqQ * 4, "f32");
  bq.upload(asHalf(bshd ? toBshd(q, heads, seqQ) : q));
  bk.upload(asHalf(bshd ? toBshd(kk, kvHeads, seqK) : kk));
  bv.upload(asHalf(bshd ? toBshd(v, kvHeads, seqK) : v));
  bo.fill(0xff);
  bl.fill(0xff);
  float scale = 1.0f / std::sqrt(float(d));
  int sqb = heads * seqQ * d, sqh = seqQ * d, sqs = d;
  int skb = kvHeads * seqK * d, skh = seqK * d, sks = d;
  if (bshd) {
    sqh = d, sqs = heads * d;
    skh = d, sks = kvHeads * d;
  }
  unsigned mBlocks = unsigned((seqQ + bm - 1) / bm);
  std::vector<rt::Arg> args{bq,  bk,  bv,  bo,  bl,  seqQ, seqK, heads, kvHeads, scale, sqb,
                            sqh, sqs, skb, skh, sks, skb,  skh,  sks,   sqb,     sqh,   sqs};
  rt::Grid grid{mBlocks, unsigned(heads), unsigned(batch)};
  if (extra.has("PERSISTENT")) { // fewer programs than tiles, not dividing them
    args.push_back(bh);
    grid = {std::min(programs, mBlocks * unsigned(bh)), 1};
  }
  float ms = launch(*k, grid, args);
  auto out = halfToDouble(bo.download<uint16_t>(q.size()));
  if (bshd) // back to [b, h, s, d]
    out = swapHeadsAndSeq(out, batch, heads, seqQ, d, false);
  auto lse = bl.download<float>(size_t(bh) * seqQ);
  std::vector<double> ref(q.size()), rl(size_t(bh) * seqQ);
  kernels::ref::attention(q.data(), kk.data(), v.data(), ref.data(), rl.data(), bh, seqQ, seqK, d,
                          scale, causal, heads / kvHeads);
  out.insert(out.end(), lse.begin(), lse.end());
  ref.insert(ref.end(), rl.begin(), rl.end());
  return compare(label(mult, "attention_fwd f16 d=" + std::to_string(d) + " ") +
                     (split ? "split " : "") + (overlap ? "overlap " : "") +
                     (extra.items().empty() ? "" : "[" + extra.str() + "] ") +
                     (bshd ? "[b,s,h,d] " : "") +
                     (causal ? "causal " : "") +
                     "b=" + std::to_string(batch) + " h=" + std::to_string(heads) +
                     (kvHeads != heads ? " kv=" + std::to_string(kvHeads) : std::string()) +
                     " sq=" + std::to_string(seqQ) + " sk=" + std::to_string(seqK),
                 out, ref, 3e-3, ms);
}

/// A packed batch of (query, key) sequence lengths: its cu_seqlens offsets
/// and longest lengths.
struct Packed {
  std::vector<int32_t> cuQ, cuK;
  int maxQ = 0, maxK = 0;
};
Packed packOffsets(const std::vector<std::pair<int, int>> &lens) {
  Packed p{{0}, {0}};
  for (auto [lq, lk] : lens) {
    p.cuQ.push_back(p.cuQ.back() + lq);
    p.cuK.push_back(p.cuK.back() + lk);
    p.maxQ = std::max(p.maxQ, lq);
    p.maxK = std::max(p.maxK, lk);
  }
  return p;
}

/// Variable-length attention: `lens` sequences packed as [total, heads, d],
/// cu_seqlens offsets; each sequence against the float64 reference.
Result checkAttentionVarlen(int mult, std::vector<std::pair<int, int>> lens, bool causal, int d,
                            bool overlap = false, bool api = false, dsl::Params extra = {}) {
  int heads = 2, batch = int(lens.size());
  auto [cuQ, cuK, maxQ, maxK] = packOffsets(lens);
  dsl::Params params = withMult(mult, {{"CAUSAL", causal ? "1" : "0"},
                                       {"HEAD_DIM", std::to_string(d)},
                                       {"VARLEN", "1"},
                                       {"OVERLAP", overlap ? "1" : "0"}});
  for (auto &[key, value] : extra.items())
    params.set(key, value);
  const int bm = params.has("BLOCK_M") ? std::stoi(params.s("BLOCK_M")) : 64;
  auto k = kernel("attention_fwd", params);
  auto q = randomHalfValues(size_t(cuQ.back()) * heads * d),
       kk = randomHalfValues(size_t(cuK.back()) * heads * d),
       v = randomHalfValues(size_t(cuK.back()) * heads * d);
  Buffer bq(q.size() * 2, "f16"), bk(kk.size() * 2, "f16"), bv(v.size() * 2, "f16"),
      bo(q.size() * 2, "f16"), bl(size_t(batch) * heads * maxQ * 4, "f32"),
      bcq(cuQ.size() * 4, "i32"), bck(cuK.size() * 4, "i32");
  bq.upload(asHalf(q));
  bk.upload(asHalf(kk));
  bv.upload(asHalf(v));
  bcq.upload(cuQ);
  bck.upload(cuK);
  bo.fill(0xff);
  bl.fill(0xff);
  float scale = 1.0f / std::sqrt(float(d));
  int ss = heads * d;
  float ms = 0;
  if (api) { // through jit::attentionForwardVarlen (its own config choice)
    jit::AttentionStrides packed{0, d, ss, 1};
    jit::AttentionProblem p{batch, heads, heads, maxQ, maxK, d, causal};
    jit::attentionForwardVarlen(*gJit, p, bq, packed, bk, packed, bv, packed, bo, packed, bl, bcq,
                                bck);
    check(driver().ctxSynchronize(), "cuCtxSynchronize");
  } else {
    ms = launch(*k, {unsigned((maxQ + bm - 1) / bm), unsigned(heads), unsigned(batch)},
                {bq, bk, bv, bo, bl, maxQ, maxK, heads, heads, scale, 0, d, ss, 0, d, ss, 0, d, ss,
                 0, d, ss, bcq, bck});
  }
  auto out = halfToDouble(bo.download<uint16_t>(q.size()));
  auto lse = bl.download<float>(size_t(batch) * heads * maxQ);
  std::vector<double> got, want;
  for (int b = 0; b < batch; ++b) {
    int lq = cuQ[b + 1] - cuQ[b], lk = cuK[b + 1] - cuK[b];
    auto gather = [&](const std::vector<double> &x, int start, int len) {
      return kernels::ref::packedSequence(x, heads, d, start, len);
    };
    auto qb = gather(q, cuQ[b], lq), kb = gather(kk, cuK[b], lk), vb = gather(v, cuK[b], lk);
    std::vector<double> ref(qb.size()), rl(size_t(heads) * lq);
    kernels::ref::attention(qb.data(), kb.data(), vb.data(), ref.data(), rl.data(), heads, lq, lk,
                            d, scale, causal, 1);
    auto ob = gather(out, cuQ[b], lq);
    got.insert(got.end(), ob.begin(), ob.end());
    want.insert(want.end(), ref.begin(), ref.end());
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < lq; ++i) {
        got.push_back(lse[(size_t(b) * heads + h) * maxQ + i]);
        want.push_back(rl[size_t(h) * lq + i]);
      }
  }
  std::string desc;
  for (auto [lq, lk] : lens)
    desc += " " + std::to_string(lq) + "/" + std::to_string(lk);
  for (auto &[key, value] : extra.items()) // the schedule, so that each name says which
    desc += " " + key + "=" + value;
  return compare((api ? std::string("attentionForwardVarlen API d=") + std::to_string(d) + " "
                      : label(mult, "attention_fwd f16 d=" + std::to_string(d) + " varlen ")) +
                     (overlap ? "overlap " : "") + (causal ? "causal" : "") + desc,
                 got, want, 3e-3, ms);
}

/// Attention through jit::attentionForward (shape checks, config choice,
/// stride specialization), [b, h, s, d] contiguous.
using ScoreRef = std::function<double(double, int64_t, int64_t, int64_t)>;

/// A mask modifier for a check: the mask, the same mask on the host, and the
/// data it reads ([batch, n] i32; empty if none).
struct MaskSpec {
  kernels::MaskMod mod;
  kernels::ref::RefMask ref;
  std::vector<int32_t> data;
  /// Sets p.mask (the data's buffer is kept in `keep`).
  void apply(jit::AttentionProblem &p, std::unique_ptr<Buffer> &keep) const {
    if (!data.empty()) {
      keep = std::make_unique<Buffer>(data.size() * 4, "i32");
      keep->upload(data);
    }
    p.mask = std::make_shared<jit::BlockMask>(mod, p.batch, p.heads, p.seqQ, p.seqK, keep.get());
  }
};

/// A user's score modifier: +0.75 within 8 positions (adds a term of the
/// positions: its derivative is one).
kernels::ScoreMod userBonus() {
  kernels::ScoreMod m{"check.user_bonus",
                      [](const dsl::Tile &s, const dsl::Scalar &, const dsl::Scalar &,
                         const dsl::Tile &qi, const dsl::Tile &kj) {
                        return dsl::where((kj - qi) * (kj - qi) < 64, s + 0.75, s);
                      }};
  m.gradIsOne = true;
  return m;
}
ScoreRef userBonusRef() {
  return [](double x, int64_t, int64_t i, int64_t j) { return (j - i) * (j - i) < 64 ? x + 0.75 : x; };
}
/// A user's modifier with no ScoreMod::grad: the backward differentiates it
/// (dsl::derivative).
kernels::ScoreMod derivedMix() {
  return {"check.derived_mix", [](const dsl::Tile &s, const dsl::Scalar &, const dsl::Scalar &,
                                  const dsl::Tile &qi, const dsl::Tile &kj) {
            return dsl::where(kj > qi, dsl::maximum(s, s * 0.5),
                              s * dsl::sigmoid(s) + dsl::exp(s * 0.25));
          }};
}
ScoreRef derivedMixRef() {
  return [](double x, int64_t, int64_t i, int64_t j) {
    return j > i ? std::max(x, 0.5 * x) : x / (1 + std::exp(-x)) + std::exp(0.25 * x);
  };
}
ScoreRef derivedMixGrad() {
  return [](double x, int64_t, int64_t i, int64_t j) {
    double sig = 1 / (1 + std::exp(-x));
    return j > i ? (x >= 0 ? 1.0 : 0.5) : sig + x * sig * (1 - sig) + 0.25 * std::exp(0.25 * x);
  };
}
/// A user's mask: key j hidden from head h where (j + h) % 3 == 0; the
/// reference's bh is batch * heads + head with heads 4 in the checks.
MaskSpec userMask() {
  kernels::MaskMod m{"check.user_every_third",
                     [](const dsl::Scalar &, const dsl::Scalar &head, const dsl::Tile &,
                        const dsl::Tile &k, const kernels::MaskContext &) {
                       return (k + head) % 3 != 0;
                     }};
  m.perHead = true;
  return {m, [](int64_t bh, int64_t, int64_t j) { return (j + bh % 4) % 3 != 0; }};
}

/// A document mask over `ids` ([batch, n]) for queries of `heads` heads.
MaskSpec documentMask(std::vector<int32_t> ids, int n, int heads) {
  auto shared = std::make_shared<std::vector<int32_t>>(ids);
  return {kernels::maskmods::document(),
          [shared, n, heads](int64_t bh, int64_t i, int64_t j) {
            const int32_t *d = shared->data() + size_t(bh / heads) * n;
            return d[i] == d[j];
          },
          std::move(ids)};
}

Result checkAttentionApi(int d, bool causal, int seqQ, int seqK, const std::string &dtype = "f16",
                         int B = 2, int H = 2, std::optional<kernels::ScoreMod> mod = {},
                         ScoreRef modRef = {}, std::optional<MaskSpec> mask = {},
                         std::optional<jit::AttentionDropout> dropout = {}) {
  bool bf = dtype == "bf16";
  auto q = randomValues(size_t(B) * H * seqQ * d, bf), kk = randomValues(size_t(B) * H * seqK * d, bf),
       v = randomValues(size_t(B) * H * seqK * d, bf);
  Buffer bq(q.size() * 2, dtype), bk(kk.size() * 2, dtype), bv(v.size() * 2, dtype),
      bo(q.size() * 2, dtype), bl(size_t(B) * H * seqQ * 4, "f32");
  bq.upload(as16(q, bf));
  bk.upload(as16(kk, bf));
  bv.upload(as16(v, bf));
  bo.fill(0xff);
  jit::AttentionStrides sq{int64_t(H) * seqQ * d, int64_t(seqQ) * d, d, 1},
      sk{int64_t(H) * seqK * d, int64_t(seqK) * d, d, 1};
  jit::AttentionProblem p{B, H, H, seqQ, seqK, d, causal};
  p.scoreMod = mod;
  std::unique_ptr<Buffer> maskData;
  if (mask)
    mask->apply(p, maskData);
  p.dropout = dropout;
  jit::attentionForward(*gJit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
  check(driver().ctxSynchronize(), "cuCtxSynchronize");
  auto out = from16(bo.download<uint16_t>(q.size()), bf);
  std::vector<double> ref(q.size()), rl(size_t(B) * H * seqQ);
  kernels::ref::attention(q.data(), kk.data(), v.data(), ref.data(), rl.data(), B * H, seqQ, seqK, d,
                          float(1.0 / std::sqrt(double(d))), causal, 1, modRef,
                          mask ? mask->ref : kernels::ref::RefMask(),
                          dropout ? testkernels::attentionDropoutReference(
                                        dropout->p, dropout->seed, dropout->offset)
                                  : kernels::ref::RefDropout());
  // bf16 keeps 8 bits of mantissa (P and the output are rounded to it): the
  // tolerance of the bf16 matmul checks.
  return compare("attentionForward API " + (mod ? mod->name + " " : std::string()) +
                     (mask ? "mask " + mask->mod.name + " " : std::string()) +
                     (dropout ? "dropout " : "") + (bf ? dtype + " " : std::string()) + "d=" +
                     std::to_string(d) + (causal ? " causal" : "") + " b=" + std::to_string(B) + " h=" +
                     std::to_string(H) + " sq=" +
                     std::to_string(seqQ) + " sk=" + std::to_string(seqK),
                 out, ref, bf ? 1e-2 : 3e-3, 0);
}

/// K and V expanded over the heads (head stride 0, torch's `expand`):
/// `bothExpanded` passes both so (the runtime runs it as multi-query
/// attention, through TMA); otherwise only K is expanded and V holds a copy
/// per head (the kernels then load without TMA, which cannot describe a
/// stride of 0).  Against the float64 multi-query reference.
Result checkAttentionExpanded(int d, bool causal, bool bothExpanded) {
  const int B = 2, H = 4, S = 300;
  auto q = randomValues(size_t(B) * H * S * d, false), kk = randomValues(size_t(B) * S * d, false),
       v = randomValues(size_t(B) * S * d, false);
  std::vector<double> vCopies; // [b, h, s, d]: each batch entry's V, once per head
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      vCopies.insert(vCopies.end(), v.begin() + size_t(b) * S * d, v.begin() + size_t(b + 1) * S * d);
  Buffer bq(q.size() * 2, "f16"), bk(kk.size() * 2, "f16"),
      bv((bothExpanded ? v.size() : vCopies.size()) * 2, "f16"), bo(q.size() * 2, "f16"),
      bl(size_t(B) * H * S * 4, "f32");
  bq.upload(as16(q, false));
  bk.upload(as16(kk, false));
  bv.upload(as16(bothExpanded ? v : vCopies, false));
  bo.fill(0xff);
  jit::AttentionStrides sq{int64_t(H) * S * d, int64_t(S) * d, d, 1},
      expanded{int64_t(S) * d, 0, d, 1};
  jit::attentionForward(*gJit, {B, H, H, S, S, d, causal}, bq, sq, bk, expanded, bv,
                        bothExpanded ? expanded : sq, bo, sq, bl);
  check(driver().ctxSynchronize(), "cuCtxSynchronize");
  auto out = from16(bo.download<uint16_t>(q.size()), false);
  std::vector<double> ref(q.size()), rl(size_t(B) * H * S);
  for (int b = 0; b < B; ++b) // one K/V head per batch entry: groups = H
    kernels::ref::attention(q.data() + size_t(b) * H * S * d, kk.data() + size_t(b) * S * d,
                            v.data() + size_t(b) * S * d, ref.data() + size_t(b) * H * S * d,
                            rl.data() + size_t(b) * H * S, H, S, S, d, 1.0 / std::sqrt(double(d)),
                            causal, H);
  return compare(std::string("attentionForward K") + (bothExpanded ? "/V" : "") +
                     " expanded (head stride 0) d=" + std::to_string(d) +
                     (causal ? " causal" : "") + " b=2 h=4 s=300",
                 out, ref, 3e-3, 0);
}

/// The backward through jit::attentionForward + jit::attentionBackward
/// against the float64 gradients: dq, dk, dv each compared (the worst is
/// reported), and a second backward must give the same bits: all three
/// (deterministic, the default), or dk and dv with `atomic` dQ (its sums
/// may differ in order).
/// `bshd`: tensors as [b, s, h, d] (strides only; the data is the same).
Result checkAttentionBackward(int d, bool causal, int heads, int kvHeads, int seqQ, int seqK,
                              const std::string &dtype = "f16", bool bshd = false,
                              bool atomic = false, std::optional<kernels::ScoreMod> mod = {},
                              ScoreRef modRef = {}, ScoreRef modGrad = {},
                              std::optional<MaskSpec> mask = {},
                              std::optional<jit::AttentionDropout> dropout = {}) {
  const int B = 2;
  bool bf = dtype == "bf16";
  size_t nq = size_t(B) * heads * seqQ * d, nk = size_t(B) * kvHeads * seqK * d;
  auto q = randomValues(nq, bf), kk = randomValues(nk, bf), v = randomValues(nk, bf),
       dO = randomValues(nq, bf);
  // [b, h, s, d] data (the reference's order) placed as the strides say.
  auto strides = [&](int h, int s) {
    return bshd ? jit::AttentionStrides{int64_t(s) * h * d, d, int64_t(h) * d, 1}
                : jit::AttentionStrides{int64_t(h) * s * d, int64_t(s) * d, d, 1};
  };
  auto place = [&](const std::vector<double> &x, int h, int s) {
    return bshd ? swapHeadsAndSeq(x, B, h, s, d, true) : x;
  };
  auto unplace = [&](const std::vector<double> &y, int h, int s) {
    return bshd ? swapHeadsAndSeq(y, B, h, s, d, false) : y;
  };
  auto upload = [&](const std::vector<double> &x, int h, int s) {
    Buffer b(x.size() * 2, dtype);
    b.upload(as16(place(x, h, s), bf));
    return b;
  };
  Buffer bq = upload(q, heads, seqQ), bk = upload(kk, kvHeads, seqK), bv = upload(v, kvHeads, seqK),
         bdo = upload(dO, heads, seqQ);
  Buffer bo(nq * 2, dtype), bl(size_t(B) * heads * seqQ * 4, "f32"), bdq(nq * 2, dtype),
      bdk(nk * 2, dtype), bdv(nk * 2, dtype);
  jit::AttentionProblem p{B, heads, kvHeads, seqQ, seqK, d, causal};
  p.scoreMod = mod;
  std::unique_ptr<Buffer> maskData;
  if (mask)
    mask->apply(p, maskData);
  p.dropout = dropout;
  jit::AttentionBackwardOptions options;
  options.deterministic = !atomic;
  Buffer ws(jit::attentionBackwardWorkspaceBytes(p, options), "f32");
  jit::AttentionStrides sq = strides(heads, seqQ), sk = strides(kvHeads, seqK);
  jit::attentionForward(*gJit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
  const char *names[] = {"dq", "dk", "dv"};
  std::vector<uint16_t> first[3];
  float ms = 0;
  for (int run = 0; run < 2; ++run) {
    for (Buffer *g : {&bdq, &bdk, &bdv})
      g->fill(0xff);
    ms = timed([&] {
      jit::attentionBackward(*gJit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq, bdk,
                             sk, bdv, sk, ws, nullptr, options);
    });
    std::vector<uint16_t> now[3] = {bdq.download<uint16_t>(nq), bdk.download<uint16_t>(nk),
                                    bdv.download<uint16_t>(nk)};
    for (int g = atomic ? 1 : 0; g < 3 && run == 1; ++g)
      if (now[g] != first[g]) {
        Result r{std::string("attentionBackward not deterministic: two runs differ in ") +
                 names[g]};
        r.nan = true;
        return r;
      }
    if (run == 0)
      for (int g = 0; g < 3; ++g)
        first[g] = std::move(now[g]);
  }
  std::vector<double> rq(nq), rk(nk), rv(nk);
  kernels::ref::attentionBackward(q.data(), kk.data(), v.data(), dO.data(), rq.data(), rk.data(),
                                  rv.data(), B * heads, seqQ, seqK, d,
                                  float(1.0 / std::sqrt(double(d))), causal, heads / kvHeads,
                                  modRef, modGrad, mask ? mask->ref : kernels::ref::RefMask(),
                                  dropout ? testkernels::attentionDropoutReference(
                                                dropout->p, dropout->seed, dropout->offset)
                                          : kernels::ref::RefDropout());
  std::string desc = (mod ? mod->name + " " : std::string()) +
                     (mask ? "mask " + mask->mod.name + " " : std::string()) +
                     (dropout ? "dropout " : "") +
                     std::string(atomic ? "atomic dQ " : "") + (bf ? "bf16 " : "") +
                     "d=" + std::to_string(d) +
                     (causal ? " causal" : "") + (bshd ? " [b,s,h,d]" : "") +
                     " b=2 h=" + std::to_string(heads) +
                     (kvHeads != heads ? " kv=" + std::to_string(kvHeads) : std::string()) +
                     " sq=" + std::to_string(seqQ) + " sk=" + std::to_string(seqK);
  // dS sums over every key (dQ) or query (dK) of f16/bf16-rounded products.
  double tol = bf ? 2e-2 : 1e-2;
  Result worst;
  std::vector<double> *refs[] = {&rq, &rk, &rv};
  for (int g = 0; g < 3; ++g) {
    auto [h, s] = g == 0 ? std::pair(heads, seqQ) : std::pair(kvHeads, seqK);
    Result r = compare(std::string("attentionBackward ") + names[g] + " " + desc,
                       unplace(from16(first[g], bf), h, s), *refs[g], tol, ms);
    if (g == 0 || r.nan || r.relErr > worst.relErr)
      worst = r;
  }
  return worst;
}

/// The varlen backward through jit::attentionBackwardVarlen: `lens`
/// (query, key) sequences packed as [total, heads, d], 4 query heads over 2
/// K/V heads; each sequence's dq, dk, dv against the float64 gradients.
/// With `mask`: that mask modifier over each sequence's own positions,
/// `maskRef(lq, lk)` its host predicate for a sequence of those lengths.
Result checkAttentionBackwardVarlen(
    int d, bool causal, std::vector<std::pair<int, int>> lens,
    std::optional<kernels::MaskMod> mask = std::nullopt,
    std::function<kernels::ref::RefMask(int, int)> maskRef = {}) {
  const int H = 4, KV = 2, B = int(lens.size());
  auto [cuQ, cuK, maxQ, maxK] = packOffsets(lens);
  size_t nq = size_t(cuQ.back()) * H * d, nk = size_t(cuK.back()) * KV * d;
  auto q = randomHalfValues(nq), kk = randomHalfValues(nk), v = randomHalfValues(nk),
       dO = randomHalfValues(nq);
  auto upload = [](const std::vector<double> &x) {
    Buffer b(x.size() * 2, "f16");
    b.upload(asHalf(x));
    return b;
  };
  Buffer bq = upload(q), bk = upload(kk), bv = upload(v), bdo = upload(dO);
  Buffer bo(nq * 2, "f16"), bl(size_t(B) * H * maxQ * 4, "f32"), bdq(nq * 2, "f16"),
      bdk(nk * 2, "f16"), bdv(nk * 2, "f16"), bcq(cuQ.size() * 4, "i32"), bck(cuK.size() * 4, "i32");
  bcq.upload(cuQ);
  bck.upload(cuK);
  jit::AttentionStrides sq{0, d, int64_t(H) * d, 1}, sk{0, d, int64_t(KV) * d, 1};
  jit::AttentionProblem p{B, H, KV, maxQ, maxK, d, causal};
  if (mask)
    p.mask = std::make_shared<jit::BlockMask>(*mask, B, H, maxQ, maxK);
  Buffer ws(jit::attentionBackwardWorkspaceBytes(p), "f32");
  jit::attentionForwardVarlen(*gJit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl, bcq, bck);
  for (Buffer *g : {&bdq, &bdk, &bdv})
    g->fill(0xff);
  float ms = timed([&] {
    jit::attentionBackwardVarlen(*gJit, p, bq, sq, bk, sk, bv, sk, bo, sq, bdo, sq, bl, bdq, sq,
                                 bdk, sk, bdv, sk, bcq, bck, ws);
  });
  auto dq = halfToDouble(bdq.download<uint16_t>(nq)), dk = halfToDouble(bdk.download<uint16_t>(nk)),
       dv = halfToDouble(bdv.download<uint16_t>(nk));
  // Every sequence's gradients, gathered to [heads, len, d], one comparison.
  auto o = halfToDouble(bo.download<uint16_t>(nq));
  std::vector<double> got, want;
  // On failure: each sequence's error per output, the forward's O (whose
  // D and LSE the backward takes) beside the gradients.
  std::string detail;
  const kernels::ref::PackedBatch packed{cuQ, cuK, H, KV, d};
  for (int b = 0; b < B; ++b) {
    int lq = cuQ[b + 1] - cuQ[b], lk = cuK[b + 1] - cuK[b];
    auto qb = packed.queries(q, b), dob = packed.queries(dO, b);
    auto kb = packed.keys(kk, b), vb = packed.keys(v, b);
    std::vector<double> rq(qb.size()), rk(kb.size()), rv(vb.size()), ro(qb.size()),
        rl(size_t(H) * lq);
    double scale = 1.0 / std::sqrt(double(d));
    kernels::ref::RefMask refMask = mask ? maskRef(lq, lk) : kernels::ref::RefMask();
    kernels::ref::attentionBackward(qb.data(), kb.data(), vb.data(), dob.data(), rq.data(),
                                    rk.data(), rv.data(), H, lq, lk, d, scale, causal, H / KV,
                                    {}, {}, refMask);
    kernels::ref::attention(qb.data(), kb.data(), vb.data(), ro.data(), rl.data(), H, lq, lk, d,
                            scale, causal, H / KV, {}, refMask);
    detail += "    sequence " + std::to_string(b) + " (" + std::to_string(lq) + "/" +
              std::to_string(lk) + "):";
    const char *names[] = {"o", "dq", "dk", "dv"};
    int i = 0;
    for (auto [out, ref] : {std::pair(packed.queries(o, b), ro),
                            std::pair(packed.queries(dq, b), rq),
                            std::pair(packed.keys(dk, b), rk), std::pair(packed.keys(dv, b), rv)}) {
      Result part = compare("", out, ref, 0, 0);
      // A zero reference (one key: dS = 0, so dq and dk are 0) has no
      // relative error: its largest absolute one instead.
      bool zero = std::all_of(ref.begin(), ref.end(), [](double x) { return x == 0; });
      char buf[64];
      std::snprintf(buf, sizeof buf, " %s %s%.2e%s", names[i], zero ? "|err| " : "",
                    zero ? part.maxAbs : part.relErr, part.nan ? " (non-finite)" : "");
      detail += buf;
      if (i++ == 0)
        continue; // O is checked by the forward's own checks
      got.insert(got.end(), out.begin(), out.end());
      want.insert(want.end(), ref.begin(), ref.end());
    }
    detail += "\n";
  }
  std::string desc;
  for (auto [lq, lk] : lens)
    desc += " " + std::to_string(lq) + "/" + std::to_string(lk);
  Result r = compare("attentionBackwardVarlen d=" + std::to_string(d) + (causal ? " causal" : "") +
                         (mask ? " mask " + mask->name : std::string()) + " h=4 kv=2" + desc,
                     got, want, 1e-2, ms);
  r.detail = detail;
  return r;
}

} // namespace

void addAttentionChecks(std::vector<Check> &checks) {
  checks.insert(checks.end(), {
      {"attention", [] { return checkAttention(1, 2, 3, 100, 130, false); }},
      {"attention", [] { return checkAttention(1, 1, 2, 1, 17, false); }},
      {"attention", [] { return checkAttention(1, 1, 2, 257, 257, false); }},
      {"attention", [] { return checkAttention(1, 2, 2, 100, 130, true); }},
      {"attention", [] { return checkAttention(1, 1, 1, 200, 200, true); }},
      {"attention", [] { return checkAttention(1, 1, 2, 97, 80, false, 128); }},
      {"attention", [] { return checkAttention(1, 2, 4, 100, 130, false, 64, 2); }}, // grouped-query
      {"attention", [] { return checkAttention(1, 1, 4, 70, 70, true, 64, 1); }},    // multi-query, causal
      {"attention", [] { return checkAttention(1, 2, 3, 1000, 1000, false, 64, 0, true); }},
      {"attention", [] { return checkAttention(1, 1, 2, 300, 517, true, 128, 1, true); }},
      {"attention", [] { return checkAttention(1, 1, 1, 4097, 4097, true); }},
      // Unmasked blocks in a loop of their own (MASK_SPLIT), with and without TMA.
      {"attention", [] { return checkAttention(1, 2, 2, 100, 130, true, 64, 0, false, true); }},
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1000, false, 64, 0, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 300, 517, true, 128, 1, true, true); }},
      {"attention", [] { return checkAttention(16, 1, 1, 4097, 4097, true, 64, 0, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 17, 1, false, 128, 0, false, true); }},
      // Packed variable-length sequences (cu_seqlens), lengths q/k.
      {"attention", [] { return checkAttentionVarlen(1, {{100, 130}, {1, 17}, {257, 200}}, false, 64); }},
      {"attention", [] { return checkAttentionVarlen(16, {{300, 517}, {64, 64}, {1000, 999}}, true, 128); }},
      {"attention", [] { return checkAttentionVarlen(16, {{300, 300}, {17, 1}, {700, 900}}, true, 64, true); }},
      {"attention", [] { return checkAttentionVarlen(16, {{2048, 2048}, {5, 900}, {1500, 2100}}, true, 128, false, true); }},
      {"attention", [] { return checkAttentionVarlen(16, {{333, 444}, {1, 1}}, false, 64, false, true); }},
      // P·V of block j-1 issued before the softmax of block j (OVERLAP).
      {"attention", [] { return checkAttention(1, 2, 2, 100, 130, true, 64, 0, false, false, true); }},
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1000, false, 64, 0, false, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 300, 517, true, 128, 1, true, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 1, 4097, 4097, true, 64, 0, false, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 17, 1, false, 128, 0, false, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 130, 64, true, 128, 0, false, false, true); }},
      // A producer warpgroup issues the TMA copies (warp_specialize; on sm_90a:
      // 4 more warps, empty barriers, setmaxnreg), 128-row blocks over 8 warps.
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1000, false, 128, 0, false, true, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}}); }},
      {"attention", [] { return checkAttention(16, 1, 2, 300, 517, true, 128, 1, true, true, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}}); }},
      {"attention", [] { return checkAttention(16, 1, 1, 4097, 4097, true, 64, 0, false, true, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}}); }},
      {"attention", [] { return checkAttention(16, 2, 2, 1000, 1100, true, 64, 0, false, false, true,
                                 wsTile("128")); }},
      {"attention", [] { return checkAttention(16, 1, 2, 17, 1, false, 128, 0, false, false, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}}); }},
      // d=256 with both loops and OVERLAP (fits once small buffers are packed).
      {"attention", [] { return checkAttention(16, 1, 2, 300, 517, true, 256, 0, false, true, true,
                                 wsTile("64")); }},
      // Both loops (MASK_SPLIT) and OVERLAP's tail share one set of rings.
      {"attention", [] { return checkAttention(16, 2, 2, 1000, 1100, true, 128, 0, false, true, true,
                                 wsTile("128")); }},
      {"attention", [] { return checkAttention(16, 2, 2, 333, 700, true, 64, 0, false, true, false,
                                 {{"warp_specialize", "1"}, {"min_blocks", "2"}}); }},
      // Persistent programs looping over tiles (two blocks per SM; 64x64).
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1100, true, 128, 0, false, true, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"min_blocks", "2"},
                                  {"PERSISTENT", "1"}}); }},
      {"attention", [] { return checkAttention(16, 2, 3, 517, 300, false, 64, 0, true, true, false,
                                 {{"PERSISTENT", "1"}}); }},
      // ... with a producer warpgroup whose ring count runs on across tiles.
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1100, true, 128, 0, false, true, false,
                                 wsTile("128", true)); }},
      // 24 programs over 8 query blocks: causal tiles in groups of 3 heads,
      // 10 heads in all (the last group holds one).
      {"attention", [] { return checkAttention(16, 2, 5, 1000, 1100, true, 128, 0, false, true, false,
                                 wsTile("128", true), 24); }},
      {"attention", [] { return checkAttention(16, 2, 3, 700, 517, false, 128, 0, true, true, true,
                                 wsTile("128", true)); }},
      {"attention", [] { return checkAttention(16, 1, 4, 300, 517, true, 256, 2, false, true, true,
                                 wsTile("64", true)); }},
      // OVERLAP's first K and last V through the producer in every tile:
      // causal grouped-query, 24 programs over 9 query blocks x 8 heads.
      {"attention", [] { return checkAttention(16, 2, 4, 1100, 1000, true, 128, 2, false, false, true,
                                 wsTile("128", true), 24); }},
      {"attention", [] { return checkAttention(16, 1, 3, 1, 129, false, 64, 0, true, false, true,
                                 wsTile("128")); }},
      {"attention", [] { return checkAttentionApi(256, false, 130, 190); }},
      // Score modifiers (issue 21) through the library's schedules: soft-capping
      // at a cap the scores reach, ALiBi causal, grouped tails.
      {"score_mod", [] { return checkAttentionApi(128, false, 1000, 1100, "bf16", 2, 4,
                                 kernels::scoremods::softcap(2.0),
                                 [](double x, int64_t, int64_t, int64_t) { return 2.0 * std::tanh(x / 2.0); }); }},
      {"score_mod", [] { return checkAttentionApi(64, true, 777, 901, "f16", 2, 8,
                                 kernels::scoremods::alibi(8),
                                 [](double x, int64_t bh, int64_t i, int64_t j) {
                                   return x + std::exp2(-8.0 * double(bh % 8 + 1) / 8) * double(j - i);
                                 }); }},
      {"score_mod", [] { return checkAttentionApi(128, true, 4100, 4100, "bf16", 1, 2,
                                 kernels::scoremods::softcap(2.0, /*exact=*/true),
                                 [](double x, int64_t, int64_t, int64_t) { return 2.0 * std::tanh(x / 2.0); }); }},
      // ... and their backward (both dQ schedules), against float64 gradients.
      {"score_mod", [] { return checkAttentionBackward(128, true, 4, 2, 1000, 1100, "bf16", true, false,
                                 kernels::scoremods::softcap(2.0),
                                 [](double x, int64_t, int64_t, int64_t) { return 2.0 * std::tanh(x / 2.0); },
                                 [](double x, int64_t, int64_t, int64_t) {
                                   double t = std::tanh(x / 2.0);
                                   return 1 - t * t;
                                 }); }},
      {"score_mod", [] { return checkAttentionBackward(64, true, 8, 8, 777, 901, "f16", false, true,
                                 kernels::scoremods::alibi(8),
                                 [](double x, int64_t bh, int64_t i, int64_t j) {
                                   return x + std::exp2(-8.0 * double(bh % 8 + 1) / 8) * double(j - i);
                                 },
                                 [](double, int64_t, int64_t, int64_t) { return 1.0; }); }},
      // A user's modifier without a written derivative (the DSL derives it),
      // piecewise through where/maximum and smooth through sigmoid and exp.
      {"score_mod", [] { return checkAttentionBackward(128, true, 4, 2, 1000, 1100, "bf16", true, false,
                                 derivedMix(), derivedMixRef(), derivedMixGrad()); }},
      {"score_mod", [] { return checkAttentionBackward(64, false, 2, 2, 517, 300, "f16", false, true,
                                 derivedMix(), derivedMixRef(), derivedMixGrad()); }},
      // Written as text (the C API's and Python's "expr:"), backward derived.
      {"score_mod", [] { return checkAttentionBackward(128, true, 4, 2, 700, 900, "bf16", true, false,
                                 kernels::findScoreMod("expr:s - 0.1 * abs(q - k)"),
                                 [](double x, int64_t, int64_t i, int64_t j) {
                                   return x - 0.1 * std::abs(double(i - j));
                                 },
                                 [](double, int64_t, int64_t, int64_t) { return 1.0; }); }},
      {"mask", [] { return checkAttentionBackward(64, false, 4, 2, 900, 1000, "f16", false, false,
                                 {}, {}, {},
                                 MaskSpec{kernels::findMaskMod("expr:k <= q + sk - sq && k > q + sk - sq - 300"),
                                          [](int64_t, int64_t i, int64_t j) {
                                            return j <= i + 100 && j > i + 100 - 300;
                                          }}); }},
      // Mask modifiers (issue 21) through the block lists, with the library's
      // schedules (warp-specialized at d=128 and d=64 from 8192 keys):
      // sliding windows, bottom-right causal with rows that see no key,
      // document masks of packed sequences (causal), a prefix-LM.
      {"mask", [] { return checkAttentionApi(128, false, 2000, 2000, "bf16", 2, 2, {}, {},
                           MaskSpec{kernels::maskmods::slidingWindow(256, 0),
                                    [](int64_t, int64_t i, int64_t j) { return j <= i && j >= i - 256; }}); }},
      {"mask", [] { return checkAttentionApi(64, false, 1000, 700, "f16", 2, 2, {}, {},
                           MaskSpec{kernels::maskmods::causalBottomRight(),
                                    [](int64_t, int64_t i, int64_t j) { return j <= i - 300; }}); }},
      {"mask", [] { return checkAttentionApi(64, false, 8300, 8300, "f16", 1, 2, {}, {},
                           MaskSpec{kernels::maskmods::slidingWindow(1024, 0),
                                    [](int64_t, int64_t i, int64_t j) { return j <= i && j >= i - 1024; }}); }},
      {"mask", [] { return checkAttentionApi(128, true, 1500, 1500, "f16", 2, 2, {}, {},
                           documentMask(testkernels::documentIds(2, 1500, 400, 5), 1500, 2)); }},
      {"mask", [] { return checkAttentionApi(256, false, 1100, 1100, "bf16", 1, 2, {}, {},
                           MaskSpec{kernels::maskmods::prefixLM(300),
                                    [](int64_t, int64_t i, int64_t j) { return j < 300 || j <= i; }}); }},
      {"mask", [] { return checkAttentionBackward(128, false, 4, 2, 1000, 1000, "bf16", true, false,
                           {}, {}, {},
                           MaskSpec{kernels::maskmods::slidingWindow(256, 0),
                                    [](int64_t, int64_t i, int64_t j) { return j <= i && j >= i - 256; }}); }},
      {"mask", [] { return checkAttentionBackward(64, true, 2, 2, 900, 900, "f16", false, false,
                           {}, {}, {}, documentMask(testkernels::documentIds(2, 900, 300, 7), 900, 2)); }},
      {"mask", [] { return checkAttentionBackward(64, false, 2, 1, 700, 500, "f16", false, true,
                           {}, {}, {},
                           MaskSpec{kernels::maskmods::causalBottomRight(),
                                    [](int64_t, int64_t i, int64_t j) { return j <= i - 200; }}); }},
      {"mask", [] { return checkAttentionBackward(256, false, 2, 2, 600, 600, "bf16", false, false,
                           {}, {}, {},
                           MaskSpec{kernels::maskmods::prefixLM(200),
                                    [](int64_t, int64_t i, int64_t j) { return j < 200 || j <= i; }}); }},
      // Packed sequences (varlen): the mask over each sequence's own
      // positions (a bottom-right window of its own lengths), forward and
      // backward (the gradients need the forward's O and LSE).
      {"mask", [] { return checkAttentionBackwardVarlen(128, false, {{1, 17}, {700, 900}, {1500, 1300}},
                           kernels::maskmods::slidingWindow(200, 0), [](int lq, int lk) {
                             return [=](int64_t, int64_t i, int64_t j) {
                               int64_t c = i + lk - lq;
                               return j <= c && j >= c - 200;
                             };
                           }); }},
      // A user's own modifiers: a relative-position bonus (its derivative
      // one) and a per-head mask with causal, forward and backward.
      {"mask", [] { return checkAttentionApi(128, true, 1100, 1100, "bf16", 2, 4, userBonus(),
                           userBonusRef(), userMask()); }},
      {"mask", [] { return checkAttentionBackward(64, true, 4, 2, 900, 1000, "f16", false, false,
                           userBonus(), userBonusRef(),
                           [](double, int64_t, int64_t, int64_t) { return 1.0; },
                           userMask()); }},
      // Dropout (issue 21): the mask regenerated from Philox on the host,
      // forward and backward (both dQ schedules), with and without a mask.
      {"dropout", [] { return checkAttentionApi(128, true, 1000, 1100, "bf16", 2, 4, {}, {}, {},
                              jit::AttentionDropout{0.1f, 0x5eed5eed5eedull, 3}); }},
      // d=128 not causal up to 2048 keys: the persistent forward (its
      // arguments were once out of order with dropout's).
      {"dropout", [] { return checkAttentionApi(128, false, 1000, 1100, "bf16", 2, 4, {}, {}, {},
                              jit::AttentionDropout{0.15f, 77, 5}); }},
      {"dropout", [] { return checkAttentionApi(64, false, 777, 901, "f16", 2, 2, {}, {},
                              MaskSpec{kernels::maskmods::slidingWindow(200, 0),
                                       [](int64_t, int64_t i, int64_t j) { return j <= i + 124 && j >= i + 124 - 200; }},
                              jit::AttentionDropout{0.25f, 42, 0}); }},
      {"dropout", [] { return checkAttentionBackward(128, true, 4, 2, 1000, 1000, "bf16", true, false,
                              {}, {}, {}, {}, jit::AttentionDropout{0.1f, 7, 1}); }},
      {"dropout", [] { return checkAttentionBackward(64, false, 2, 2, 700, 900, "f16", false, true,
                              {}, {}, {}, {}, jit::AttentionDropout{0.2f, 1234567, 9}); }},
      {"attention", [] { return checkAttentionApi(256, true, 257, 257); }},
      {"attention", [] { return checkAttentionApi(128, true, 200, 333); }},
      // The H100 choices (kernels::attentionConfigFor), all with unmasked blocks split
      // off: d=64 64x64, from 8192 keys 128x128 with a producer warpgroup;
      // d=128 128x128 with a producer warpgroup -- persistent and ping-pong
      // (OVERLAP) up to 2048 keys when not causal (777x901 below) -- or, causal
      // up to 1024 keys, 128x64 with two blocks per SM (the 200x333 case
      // above); d=256 128x64 with a producer warpgroup (above). The consumer
      // warpgroups ping-pong from 2048 keys at d=128 (2100x2100 causal below)
      // and 4096 at d=256.
      {"attention", [] { return checkAttentionApi(64, false, 150, 8300); }},
      {"attention", [] { return checkAttentionApi(128, false, 200, 2500); }},
      {"attention", [] { return checkAttentionApi(256, false, 130, 4200); }},
      {"attention", [] { return checkAttentionApi(64, true, 1000, 1100); }},
      {"attention", [] { return checkAttentionApi(64, false, 2048, 2100); }},
      {"attention", [] { return checkAttentionApi(128, false, 777, 901); }},
      {"attention", [] { return checkAttentionApi(128, true, 2100, 2100); }},
      // bf16 through each head dim's H100 choice.
      {"attention", [] { return checkAttentionApi(64, true, 1000, 1100, "bf16"); }},
      {"attention", [] { return checkAttentionApi(128, false, 777, 901, "bf16"); }},
      {"attention", [] { return checkAttentionApi(128, true, 300, 517, "bf16"); }},
      {"attention", [] { return checkAttentionApi(256, false, 130, 190, "bf16"); }},
      {"attention", [] { return checkAttention(16, 2, 3, 100, 130, false); }},
      {"attention", [] { return checkAttentionExpanded(128, false, true); }},
      {"attention", [] { return checkAttentionExpanded(64, true, false); }},
      // More (batch, head) pairs than one grid dimension holds (65535): the
      // grid is (row blocks, heads, batch).
      {"attention", [] { return checkAttentionApi(64, false, 9, 13, "f16", 320, 256); }},
      // Packed sequences in the library's 128x128 tiles over 8 warps: their
      // bounds are loaded, not arguments, so no TMA (warp_specialize finds
      // nothing to issue) and the rings fill through cp.async.  OVERLAP's
      // first K block, read by both warpgroups' scores before the loop,
      // shares memory with the loop's rings: the prologue's copies must
      // wait for every warp (compute-sanitizer's racecheck timing gave
      // 1e-3..3e-2 errors before it did, 2026-12-04; without TMA also
      // INT_MULTIPLE=1).  Appended: the sanitizer's picks index the list.
      {"attention", [] { return checkAttentionVarlen(16, {{517, 300}, {64, 64}, {17, 1}}, false, 128, true, false, wsTile("128")); }},
      {"attention", [] { return checkAttentionVarlen(16, {{517, 300}, {64, 64}, {17, 1}}, false, 128, false, false, wsTile("128")); }},
      {"attention", [] { return checkAttentionVarlen(16, {{517, 300}, {64, 64}, {17, 1}}, true, 128, true, false, wsTile("128").set("MASK_SPLIT", "1")); }},
      {"attention", [] { return checkAttentionVarlen(16, {{517, 300}, {64, 64}, {17, 1}}, false, 128, true, false, {{"BLOCK_M", "128"}, {"BLOCK_N", "128"}, {"num_warps", "8"}}); }},
      {"attention", [] { return checkAttentionVarlen(1, {{517, 300}, {64, 64}, {17, 1}}, false, 128, true, false, wsTile("128")); }},
      // The backward (D, dK/dV, dQ kernels) through the API: each head dim,
      // causal both ways round (seq_q above and below seq_k), odd lengths,
      // grouped- and multi-query, [b, s, h, d], bf16.
      {"attention_bwd", [] { return checkAttentionBackward(64, false, 2, 2, 1, 17); }},
      {"attention_bwd", [] { return checkAttentionBackward(64, true, 2, 2, 1000, 1100); }},
      {"attention_bwd", [] { return checkAttentionBackward(64, true, 2, 2, 1100, 1000); }},
      {"attention_bwd", [] { return checkAttentionBackward(128, false, 2, 2, 777, 901); }},
      {"attention_bwd", [] { return checkAttentionBackward(128, true, 4, 1, 300, 517); }},
      {"attention_bwd", [] { return checkAttentionBackward(256, false, 2, 2, 130, 190); }},
      {"attention_bwd", [] { return checkAttentionBackward(64, true, 1, 1, 4097, 4097); }},
      {"attention_bwd", [] { return checkAttentionBackward(128, false, 8, 2, 1000, 1000, "f16", true); }},
      {"attention_bwd", [] { return checkAttentionBackward(64, true, 4, 2, 517, 300, "bf16"); }},
      {"attention_bwd", [] { return checkAttentionBackward(128, true, 2, 2, 1000, 1000, "bf16", true); }},
      {"attention_bwd", [] { return checkAttentionBackward(256, true, 2, 1, 300, 301, "bf16"); }},
      {"attention_bwd", [] { return checkAttentionBackward(128, true, 32, 8, 257, 257); }},
      {"attention_bwd", [] { return checkAttentionBackward(64, true, 40000, 40000, 5, 7); }},
      // dQ summed with atomics inside the dK/dV pass (not the default).
      {"attention_bwd", [] { return checkAttentionBackward(64, true, 2, 2, 1000, 1100, "f16", false, true); }},
      {"attention_bwd", [] { return checkAttentionBackward(128, true, 4, 1, 300, 517, "f16", false, true); }},
      {"attention_bwd", [] { return checkAttentionBackward(256, false, 2, 2, 130, 190, "f16", false, true); }},
      {"attention_bwd", [] { return checkAttentionBackward(128, true, 2, 2, 1000, 1000, "bf16", true, true); }},
      {"attention_bwd", [] { return checkAttentionBackwardVarlen(64, true, {{1, 17}, {300, 200}, {1000, 1100}}); }},
      {"attention_bwd", [] { return checkAttentionBackwardVarlen(128, false, {{517, 300}, {64, 64}, {17, 1}}); }},
  });
}

} // namespace gpucheck
