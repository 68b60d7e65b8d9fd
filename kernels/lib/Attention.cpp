//===- Attention.cpp - attention forward, FlashAttention-2 style ----------===//
#include "AttentionVariants.h"
#include "tessera/kernels/Library.h"

#include <algorithm>
#include <limits>
#include <optional>

#include <cmath>

using namespace tessera::dsl;

namespace tessera::kernels {

static constexpr double kLog2e = 1.4426950408889634;
static constexpr double kLn2 = 0.6931471805599453;
/// Start of the running row maximum: finite, so `m - m_new` is never inf - inf.
static constexpr double kVeryNegative = -1e30;

/// O = softmax(Q K^T * scale) V for one BLOCK_M block of queries of one
/// (batch, head): loop over BLOCK_N blocks of keys/values with online softmax
/// in the exp2 domain (scale folded into log2(e)); the score tile never
/// leaves the chip.  Causal masking is top-left aligned (key j <= query i),
/// as torch's `is_causal`.  Also writes the natural-log logsumexp per row.
/// Grouped-query and multi-query attention: K and V have kv_heads heads
/// (dividing heads), each shared by heads / kv_heads query heads.
/// Tensors are [batch, heads, seq, HEAD_DIM] under arbitrary batch/head/seq
/// strides (the last dimension contiguous).
/// Grid: (ceil(seq_q / BLOCK_M), heads, batch).  INT_MULTIPLE promises the
/// strides are multiples of it.  The scale must be positive (it is applied
/// to row maxima; jit::attentionForward refuses others).

static void attentionFwd(Kernel &k, const Params &p) {
  DType dt = p.dtype("dtype");
  std::optional<ScoreMod> mod;
  if (p.s("SCORE_MOD") != "none")
    mod = findScoreMod(p.s("SCORE_MOD"));
  MaskedBlocks blocks(p);
  Dropout drop(p);
  int64_t bm = p.i("BLOCK_M"), bn = p.i("BLOCK_N"), d = p.i("HEAD_DIM");
  bool causal = p.flag("CAUSAL");
  unsigned mult = unsigned(p.i("INT_MULTIPLE"));
  Ptr q = k.ptr("q", dt), kk = k.ptr("k", dt), v = k.ptr("v", dt), o = k.ptr("o", dt);
  Ptr lse = k.ptr("lse", f32, 4);
  Scalar seqQMax = k.i32("seq_q"), seqKMax = k.i32("seq_k"), heads = k.i32("heads");
  Scalar kvHeads = k.i32("kv_heads");
  Scalar scale = k.f32("scale");
  auto stride = [&](const char *name) { return k.i32(name, mult); };
  Scalar sqb = stride("q_stride_b"), sqh = stride("q_stride_h"), sqm = stride("q_stride_s");
  Scalar skb = stride("k_stride_b"), skh = stride("k_stride_h"), skn = stride("k_stride_s");
  Scalar svb = stride("v_stride_b"), svh = stride("v_stride_h"), svn = stride("v_stride_s");
  Scalar sob = stride("o_stride_b"), soh = stride("o_stride_h"), som = stride("o_stride_s");
  // VARLEN=1: the batch's sequences are packed along the sequence axis;
  // sequence b holds rows cu_seqlens[b] .. cu_seqlens[b + 1] - 1 (the batch
  // strides are unused, seq_q / seq_k are the longest lengths).
  bool varlen = p.flag("VARLEN");
  Ptr cuQ = varlen ? k.ptr("cu_seqlens_q", i32, 4) : Ptr();
  Ptr cuK = varlen ? k.ptr("cu_seqlens_k", i32, 4) : Ptr();

  // PERSISTENT=1: a grid of about one program per SM slot; each loops over
  // the (query block, batch * head) tiles, the query block fastest so that
  // concurrent programs share K/V in L2; causal: the longest tiles first
  // within groups of heads (below).  The grid and the
  // count of batch * head pairs (num_bh) come from the launcher.
  bool persistent = p.flag("PERSISTENT");
  // MASK_MOD: the block lists' arguments after the strides.
  if (blocks) {
    if (persistent || p.flag("OVERLAP"))
      throw Error("attention_fwd: MASK_MOD walks block lists; it does not support PERSISTENT "
                  "or OVERLAP");
    blocks.declareArgs(k);
  }
  if (drop) // DROPOUT: its arguments after those
    drop.declareArgs(k);
  // Last, as the launcher appends it (after a mask's and dropout's).
  Scalar numBH = persistent ? k.i32("num_bh") : Scalar();
  auto tile = [&](Scalar startM, Scalar batch, Scalar head) {
    Scalar bh = batch * heads + head;
    Scalar kvHead = head / (heads / kvHeads); // grouped-query: heads/kv_heads Q heads per K/V head
    Scalar seqQ = seqQMax, seqK = seqKMax;
    Scalar qOff = batch * sqb, kOff = batch * skb, vOff = batch * svb, oOff = batch * sob;
    if (varlen) {
      Scalar q0 = load(cuQ + batch), k0 = load(cuK + batch);
      seqQ = load(cuQ + batch + 1) - q0;
      seqK = load(cuK + batch + 1) - k0;
      qOff = q0 * sqm, kOff = k0 * skn, vOff = k0 * svn, oOff = q0 * som;
    }
    Ptr qBase = q + qOff + head * sqh, kBase = kk + kOff + kvHead * skh;
    Ptr vBase = v + vOff + kvHead * svh, oBase = o + oOff + head * soh;
    Tile offM = startM + arange(0, bm), offN = arange(0, bn), offD = arange(0, d);

    Tile qTile = load(qBase + offM.col() * sqm + offD.row(), offM.col() < seqQ);
    Scalar qkScale = scale * kLog2e;
    // A bounded modifier on bf16 (ScoreMod::bound): the row maximum is
    // replaced by the bound, in the exp2 domain, for good; P then lies in
    // [2^(-2 * bound * log2 e), 1], within f32's and bf16's normal range
    // (not f16's), and O never needs rescaling.
    std::optional<double> fixedMax;
    if (mod && mod->bound > 0 && dt == bf16 && 2 * mod->bound * kLog2e <= 100)
      fixedMax = mod->bound * kLog2e;
    Tile m = full({bm}, fixedMax ? *fixedMax : kVeryNegative, f32), l = zeros({bm}, f32),
         acc = zeros({bm, d}, f32);
    Scalar end = causal ? minimum(seqK, startM + bm) : seqK;
    // One online-softmax step over the raw scores `s` of key block `keys`:
    // masks them if `masked` (keys past seq_k, or causal: after the query),
    // advances the running maximum m (log2 domain) and sum l, and returns
    // P = exp2 of the scores under the new maximum and alpha, the factor that
    // rescales O.  The scale is applied to the row maximum, not to every
    // score (scale > 0, so max(s) * c = max(s * c)), and exp2's argument
    // s * c - m is one FFMA.
    auto onlineSoftmax = [&](Tile s, const Tile &keys, bool masked) {
      Scalar c = qkScale;
      if (mod) {
        // The modifier sees scaled scores; the exp2 domain then needs only log2(e).
        s = applyScoreMod(*mod, s * scale, batch, head, offM.col(), keys.row());
        c = scalar(kLog2e, f32);
      }
      if (masked) {
        Tile valid = keys.row() < seqK;
        if (causal)
          valid = valid & (keys.row() <= offM.col());
        if (blocks)
          valid = valid & blocks.allowed(batch, head, offM.col(), keys.row(), seqQ, seqK);
        s = where(valid, s, -INFINITY);
      }
      std::optional<Tile> alpha; // none: O keeps its scale
      Tile pTile;
      if (fixedMax) {
        pTile = exp2(s * c - *fixedMax);
        l = l + sum(pTile, 1);
      } else {
        Tile mNew = maximum(m, max(s, 1) * c);
        pTile = exp2(s * c - mNew.col());
        alpha = exp2(m - mNew);
        l = l * *alpha + sum(pTile, 1);
        m = mNew;
      }
      if (drop) // O sums the kept P (scaled); l, the softmax's sum, all of it
        pTile = drop.apply(pTile, bh, offM.col(), keys.row());
      return std::pair(pTile, alpha);
    };

    // One key block: `masked` blocks may hold keys past seq_k or (causal)
    // after a query; the others skip the select.
    auto block = [&](Scalar n0, bool masked) {
      Tile keys = n0 + offN;
      // K as stored ([bn, d], d contiguous); its transpose is a view of the
      // same shared tile, read K-major by the tensor cores.
      Tile kTile = load(kBase + keys.col() * skn + offD.row(), keys.col() < seqK);
      auto [pTile, alpha] = onlineSoftmax(dot(qTile, trans(kTile)), keys, masked);
      Tile vTile = load(vBase + keys.col() * svn + offD.row(), keys.col() < seqK);
      // Rescale, then accumulate P V.
      acc = dot(pTile.to(dt), vTile, alpha ? acc * alpha->col() : acc);
    };
    // MASK_SPLIT=1: whole blocks before seq_k and (causal) at or before
    // every query of this program need no mask, so they run in a loop of
    // their own; the rest (the diagonal, the tail) in a masked one.  Blocks
    // after the last query are never loaded either way.
    if (blocks) {
      // Only the blocks the mask leaves anything in: partial ones masked,
      // full ones not.
      auto [rows, cols] = MaskedBlocks::rowsAndCols(seqQMax, seqKMax, bm, bn, false);
      blocks.walk(startM / bm, rows, cols, batch, head, heads, {m, l, acc},
                  [&](const Scalar &blk, bool masked) { block(blk * bn, masked); });
    } else if (p.flag("OVERLAP")) {
      // The softmax of key block j overlaps the tensor-core work of P·V for
      // block j-1 (FlashAttention-3's intra-warpgroup pipelining, stated in
      // the kernel): each iteration issues S_j = Q K_j^T and then
      // O += P_{j-1} V_{j-1} before it reads S_j, so tile-pipeline's waits
      // let the P·V run while exp2/max/sum work on S_j; O is rescaled after.
      // Block 0's scores are computed before the loop, the last P·V after it.
      auto scores = [&](Scalar n0, Tile &sRaw, Tile &keys) {
        keys = n0 + offN;
        Tile kTile = load(kBase + keys.col() * skn + offD.row(), keys.col() < seqK);
        sRaw = dot(qTile, trans(kTile));
      };
      auto softmax = [&](Tile sRaw, const Tile &keys, bool masked) {
        auto [pTile, alpha] = onlineSoftmax(sRaw, keys, masked);
        return std::pair(pTile.to(dt), alpha);
      };
      auto values = [&](Scalar n0) {
        Tile keys = n0 + offN;
        return load(vBase + keys.col() * svn + offD.row(), keys.col() < seqK);
      };
      Tile sRaw, keys;
      scores(scalar(0, i32), sRaw, keys);
      Tile pPrev = softmax(sRaw, keys, true).first;
      auto step = [&](Scalar n0, bool masked) {
        Tile sj, kj;
        scores(n0, sj, kj);
        acc = dot(pPrev, values(n0 - bn), acc); // P_{j-1} V_{j-1}, in flight during the softmax
        auto [pj, alpha] = softmax(sj, kj, masked);
        if (alpha)
          acc = acc * alpha->col();
        pPrev = pj;
      };
      Scalar fullEnd = maximum((causal ? minimum(seqK, startM + 1) : seqK) / bn * bn,
                               scalar(bn, i32));
      forRange(bn, fullEnd, bn, {m, l, acc, pPrev}, [&](Scalar n0) { step(n0, false); });
      forRange(fullEnd, end, bn, {m, l, acc, pPrev}, [&](Scalar n0) { step(n0, true); });
      acc = dot(pPrev, values((end - 1) / bn * bn), acc);
    } else if (p.flag("MASK_SPLIT")) {
      Scalar fullEnd = (causal ? minimum(seqK, startM + 1) : seqK) / bn * bn;
      forRange(0, fullEnd, bn, {m, l, acc}, [&](Scalar n0) { block(n0, false); });
      forRange(fullEnd, end, bn, {m, l, acc}, [&](Scalar n0) { block(n0, true); });
    } else {
      forRange(0, end, bn, {m, l, acc}, [&](Scalar n0) { block(n0, true); });
    }

    Tile out = acc / l.col();
    if (blocks) // a row the mask leaves no key has l = 0: output 0 (its LSE is -inf)
      out = where(l.col() > 0.0, out, 0.0);
    store(oBase + offM.col() * som + offD.row(), out.to(dt), offM.col() < seqQ);
    store(lse + bh * seqQMax + offM, (m + log2(l)) * kLn2, offM < seqQ);
  };
  if (persistent) {
    if (varlen)
      throw Error("attention_fwd: PERSISTENT=1 does not support VARLEN=1");
    Scalar mBlocks = (seqQMax + (bm - 1)) / bm;
    Scalar programs = numPrograms(0);
    // Causal: groups of about `programs` tiles (g heads), longest tiles
    // first within each group -- every head's last query block, then the
    // one before, ... -- so the programs' loads stay balanced while the
    // tiles running at once share the K/V of g heads in L2.  (Longest first
    // over all heads put every running tile on a different head; grouping
    // helped little on the H100 -- causal persistent tiles still lose to
    // two 128x64 blocks per SM, bench/results/attention-persistent_*.)
    Scalar g = maximum(programs / mBlocks, scalar(1, i32));
    forRange(programId(0), mBlocks * numBH, programs, {}, [&](Scalar t) {
      if (causal) {
        Scalar group = t / (g * mBlocks), r = t % (g * mBlocks);
        Scalar inGroup = minimum(g, numBH - group * g); // the last group may be smaller
        Scalar bh = group * g + r % inGroup;
        tile((mBlocks - 1 - r / inGroup) * bm, bh / heads, bh % heads);
      } else {
        Scalar bh = t / mBlocks;
        tile(t % mBlocks * bm, bh / heads, bh % heads);
      }
    });
  } else {
    tile(programId(0) * bm, programId(2), programId(1));
  }
}

dsl::Params AttentionConfig::params() const {
  return {{"dtype", dtype},
          {"HEAD_DIM", std::to_string(headDim)},
          {"CAUSAL", causal ? "1" : "0"},
          {"INT_MULTIPLE", std::to_string(intMultiple)},
          {"VARLEN", varlen ? "1" : "0"},
          {"SCORE_MOD", scoreMod},
          {"MASK_MOD", maskMod},
          {"DROPOUT", dropout ? "1" : "0"},
          {"BLOCK_M", std::to_string(blockM)},
          {"BLOCK_N", std::to_string(blockN)},
          {"num_warps", std::to_string(numWarps)},
          {"num_stages", std::to_string(numStages)},
          {"min_blocks", std::to_string(minBlocks)},
          {"MASK_SPLIT", maskSplit ? "1" : "0"},
          {"OVERLAP", overlap ? "1" : "0"},
          {"PERSISTENT", persistent ? "1" : "0"},
          {"warp_specialize", warpSpecialize ? "1" : "0"}};
}

AttentionConfig attentionConfigFor(int ccMajor, const std::string &dtype, int headDim,
                                   bool causal, int64_t seqQ, int64_t seqK) {
  AttentionConfig c;
  c.dtype = dtype;
  c.headDim = headDim;
  c.causal = causal;
  // 256-wide heads keep the accumulator in registers with narrower key blocks.
  c.blockN = headDim == 256 ? 32 : 64;
  if (ccMajor != 9)
    return c;
  // The fastest tiles of the H100 table (bench/results/attention_h100_2026-11-25_tileloads.md):
  // unmasked key blocks in a loop of their own; for d=128 and d=256 one block
  // per SM with a producer warpgroup issuing every TMA copy (Q, the rings the
  // loops share, OVERLAP's first K and last V), the consumers with 240
  // registers; 128-key blocks at d=128, and from 2048 keys (d=256: 4096) the
  // two consumer warpgroups ping-pong (OVERLAP).  Non-causal d=128 up to
  // 2048 keys: persistent programs (the producer loads the next tile while
  // the consumers finish the current one; 369/450/512 TFLOP/s at s=512/1k/2k
  // against 343/411/487 for the best one-tile-per-program blocks before).
  // Causal d=128 up to 1024 keys (a causal query block, masked from the top
  // left, visits at most seqQ of them): two 128x64 blocks per SM without a
  // producer (launch bound: 128 registers), which hide each other's
  // prologue and epilogue; causal persistent tiles lose there.  d=64 keeps
  // 64x64 tiles with 4 warps up to 4k keys; beyond, the warp-specialized
  // 128x128 tile.
  c.maskSplit = true;
  int64_t keysVisited = causal ? std::min(seqQ, seqK) : seqK;
  auto warpSpecialized = [&](int blockN, int64_t overlapFrom) {
    c.blockM = 128, c.blockN = blockN, c.numWarps = 8, c.warpSpecialize = true;
    c.overlap = keysVisited >= overlapFrom;
  };
  if (headDim == 64 && keysVisited >= 8192)
    warpSpecialized(128, std::numeric_limits<int64_t>::max());
  else if (headDim == 128 && !causal && keysVisited <= 2048) {
    warpSpecialized(128, 0);
    c.persistent = true;
  } else if (headDim == 128 && causal && keysVisited <= 1024)
    c.blockM = 128, c.numWarps = 8, c.minBlocks = 2;
  else if (headDim == 128)
    warpSpecialized(128, 2048);
  else if (headDim == 256)
    warpSpecialized(64, 4096);
  return c;
}

KernelDef attentionFwdKernel() {
  return {"attention_fwd", "attention forward (online softmax), FA2 structure, tensor cores",
          AttentionConfig{}.params(),
          attentionFwd,
          configSpace({{"BLOCK_M", {"64", "128"}}, {"BLOCK_N", {"64", "128"}},
                       {"num_warps", {"4", "8"}}, {"num_stages", {"1", "2", "3"}},
                       {"MASK_SPLIT", {"0", "1"}}, {"OVERLAP", {"0", "1"}},
                       {"warp_specialize", {"0", "1"}}}),
          {"seq_q", "seq_k"}};
}

} // namespace tessera::kernels
