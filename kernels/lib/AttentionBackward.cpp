//===- AttentionBackward.cpp - attention backward: D, dK/dV, dQ (FlashAttention-2) -===//
//
// The gradients of O = softmax(scale * Q K^T) V, given dO and the forward's
// natural-log logsumexp (LSE) per query row, without the N x N matrices ever
// reaching memory: each kernel recomputes P = exp(scale * Q K^T - LSE) block
// by block.  With dP = dO V^T and D = rowsum(dO * O):
//   dV = P^T dO,  dS = P * (dP - D),  dK = scale * dS^T Q,  dQ = scale * dS K.
// Two schedules (ATOMIC_DQ):
//   ATOMIC_DQ=1 (FlashAttention-2's): D, then one pass over key blocks that
//     computes dK and dV and adds each program's share of dQ = dS K into an
//     f32 accumulator with atomics, then a conversion of the accumulator to
//     dq.  Five matmuls; dQ's sums depend on the order the adds arrive in.
//       attention_bwd_preprocess  D for a block of query rows (and zeroes
//                                 their dQ accumulator rows),
//       attention_bwd_dkdv        one block of keys: dK, dV over every query
//                                 block (and, grouped-query, every query head
//                                 sharing the K/V head), dQ's share atomically,
//       attention_bwd_dq_convert  dq = scale * accumulator, for a block of rows.
//   ATOMIC_DQ=0 (deterministic): each program owns the rows it writes, so the
//     gradients are the same bits run to run, with no atomics:
//       attention_bwd_preprocess, attention_bwd_dkdv (dK, dV only), then
//       attention_bwd_dq          one block of queries: dQ over every key
//                                 block, recomputing S and dP (seven matmuls:
//                                 1.4x the FLOPs).
// Each dK/dV program computes the transposed scores S^T = K Q^T directly,
// so P^T and dS^T are accumulator tiles used as a dot's A operand
// (registers) and never need a transpose; dQ's share dS K reads dS^T
// transposed from shared memory.  The dQ accumulator is
// [batch * heads, seq_q, HEAD_DIM] f32, rows as LSE and D.
// Layout and masking follow attention_fwd: [batch, heads, seq, HEAD_DIM]
// under arbitrary batch/head/seq strides (the last dimension contiguous),
// causal is top-left aligned (key j <= query i), K/V have kv_heads heads,
// LSE and D are [batch * heads, seq_q] f32.  VARLEN=1: packed sequences as
// in attention_fwd (sequence b is rows cu_seqlens[b] .. cu_seqlens[b+1]-1;
// seq_q/seq_k are the longest lengths, LSE and D stay [batch * heads, seq_q]);
// programs past their sequence's end skip their loop.
//
//===----------------------------------------------------------------------===//
#include "AttentionVariants.h"
#include "tessera/kernels/Library.h"

#include "mlir/IR/Matchers.h"

#include <optional>

using namespace tessera::dsl;

namespace tessera::kernels {

static constexpr double kLog2e = 1.4426950408889634;

namespace {
/// A [batch, heads, seq, d] tensor argument: its pointer and strides
/// (declared in the order pointer first, strides among the scalars).
struct Strided {
  Ptr base;
  Scalar b, h, s;
  /// Pointer to row `row0` of (batch, head); no row offset if `row0` is null.
  Ptr at(const Scalar &batch, const Scalar &head, const Scalar &row0 = Scalar()) const {
    Ptr p = base + batch * b + head * h;
    return row0.value() ? p + row0 * s : p;
  }
};

/// Where one batch entry's sequences lie: their lengths and first rows
/// (null unless VARLEN).
struct Sequence {
  Scalar lenQ, lenK, rowQ, rowK;
};

/// Every argument the three kernels share, declared in one order.
struct BwdArgs {
  Scalar seqQ, seqK, heads, kvHeads, scale;
  Ptr cuQ, cuK;
  DType dt;
  int64_t d;
  unsigned mult;
  bool varlen;
  Kernel &k;
  BwdArgs(Kernel &k, const Params &p) : k(k) {
    dt = p.dtype("dtype");
    d = p.i("HEAD_DIM");
    mult = unsigned(p.i("INT_MULTIPLE"));
    varlen = p.flag("VARLEN");
  }
  /// Row `row0` of (batch * heads + head) `bh` in the dQ accumulator.
  Ptr accumulatorRow(const Ptr &acc, const Scalar &bh, const Scalar &row0) const {
    return acc + (bh * seqQ + row0) * scalar(d, i32);
  }
  void scalars(bool withKv) {
    seqQ = k.i32("seq_q");
    if (withKv)
      seqK = k.i32("seq_k");
    heads = k.i32("heads");
    if (withKv) {
      kvHeads = k.i32("kv_heads");
      scale = k.f32("scale");
    }
  }
  Strided strides(Ptr base, const std::string &name) {
    return {base, k.i32(name + "_stride_b", mult), k.i32(name + "_stride_h", mult),
            k.i32(name + "_stride_s", mult)};
  }
  /// The cu_seqlens arguments, after every other (VARLEN only).
  void offsets(bool withKv) {
    if (!varlen)
      return;
    cuQ = k.ptr("cu_seqlens_q", i32, 4);
    if (withKv)
      cuK = k.ptr("cu_seqlens_k", i32, 4);
  }
  /// Batch entry `batch`'s sequences.
  Sequence sequence(const Scalar &batch) const {
    if (!varlen)
      return {seqQ, seqK, Scalar(), Scalar()};
    Sequence s;
    s.rowQ = load(cuQ + batch);
    s.lenQ = load(cuQ + batch + 1) - s.rowQ;
    if (cuK.value()) {
      s.rowK = load(cuK + batch);
      s.lenK = load(cuK + batch + 1) - s.rowK;
    }
    return s;
  }
};

/// `n` if `first` < `len`, else 0: the trip bound of a program whose first
/// row may lie past its sequence (min(max(len - first, 0), 1) * n).
Scalar ifInside(const Scalar &first, const Scalar &len, const Scalar &n) {
  return maximum(minimum(len - first, scalar(1, i32)), scalar(0, i32)) * n;
}

/// The scores of a block under the kernel's score modifier (SCORE_MOD):
/// P in the exp2 domain from the raw q.k products, and the factor dS picks
/// up (d modified / d score; none for plain scores or a gradIsOne modifier).
struct ModifiedScores {
  std::optional<ScoreMod> mod;
  explicit ModifiedScores(const Params &p) {
    if (p.s("SCORE_MOD") != "none")
      mod = findScoreMod(p.s("SCORE_MOD"));
  }
  /// exp2 of the (modified) scores minus lse2 (log2 units), and dmod/ds.
  std::pair<Tile, std::optional<Tile>> operator()(const Tile &qk, const Scalar &scale,
                                                  const Scalar &qkScale, const Tile &lse2,
                                                  const Scalar &batch, const Scalar &head,
                                                  const Tile &query, const Tile &key) const {
    if (!mod) // the plain kernels' code as before: one FFMA per score
      return {exp2(qk * qkScale - lse2), std::nullopt};
    Tile s = qk * scale;
    Tile m = applyScoreMod(*mod, s, batch, head, query, key);
    std::optional<Tile> g;
    if (mod->grad) {
      g = mod->grad(s, m, batch, head, query, key);
    } else if (!mod->gradIsOne) {
      // Derived by the DSL from the modifier's operations; a modifier that
      // only adds a term of the positions derives to the constant 1: no
      // factor, as with gradIsOne.
      Tile d = derivative(m, s);
      if (!mlir::matchPattern(d.value(), mlir::m_OneFloat()))
        g = d;
    }
    return {exp2(m * kLog2e - lse2), g};
  }
};

/// The scores' product a b^T; with EARLY_DP (`early`) dP's product c d^T is
/// issued right after it into `dp`, so that tile-pipeline's wait before the
/// scores' first use leaves dP's wgmma in flight while P is computed (see
/// AttentionBackwardConfig::Schedule::earlyDp).
Tile scoresDot(const Tile &a, const Tile &b, bool early, const Tile &c, const Tile &d,
               std::optional<Tile> &dp) {
  Tile s = dot(a, trans(b));
  if (early)
    dp = dot(c, trans(d));
  return s;
}

/// PERSISTENT=1 (dK/dV and dQ): a grid of about one program per SM slot,
/// each looping over the kernel's tiles -- (block, batch * heads) pairs,
/// the block fastest, so that the programs running at once share a head's
/// inputs in L2 -- so that one tile's prologue and epilogue overlap the
/// next one's loads instead of waiting for a new program (the forward's
/// persistent schedule, for short sequences).  The launcher passes the
/// number of (batch, head) pairs, `num_bh`, after every other argument.
/// Otherwise one program per tile: (block, head, batch) = programId(0, 1, 2).
struct Persistent {
  Scalar numBH;
  Persistent(Kernel &k, const Params &p, const BwdArgs &a, const MaskedBlocks &blocks) {
    if (!p.flag("PERSISTENT"))
      return;
    // Packed sequences have lengths of their own and masks walk lists
    // indexed by the program's block: one program per tile.
    if (a.varlen || blocks)
      throw Error("attention backward: PERSISTENT=1 does not support VARLEN=1 or MASK_MOD");
    numBH = k.i32("num_bh");
  }
  /// tile(first row of the block, batch, head) for every block of `rows`
  /// rows (`block` per tile) of every (batch, head) of `heads` heads.
  template <class PerTile>
  void run(const Scalar &rows, int64_t block, const Scalar &heads, PerTile &&tile) const {
    if (!numBH.value()) {
      Scalar first = programId(0) * block, batch = programId(2), head = programId(1);
      tile(first, batch, head);
      return;
    }
    Scalar blocks = (rows + scalar(block - 1, i32)) / block;
    forRange(programId(0), blocks * numBH, numPrograms(0), {}, [&](Scalar t) {
      Scalar bh = t / blocks;
      tile(t % blocks * block, bh / heads, bh % heads);
    });
  }
};
} // namespace

/// D = rowsum(dO * O) in f32 for BLOCK_M query rows of one (batch, head);
/// ATOMIC_DQ: also zeroes those rows of the dQ accumulator.
/// Grid: (ceil(seq_q / BLOCK_M), heads, batch).
static void attentionBwdPreprocess(Kernel &k, const Params &p) {
  BwdArgs a(k, p);
  int64_t bm = p.i("BLOCK_M");
  bool atomicDq = p.flag("ATOMIC_DQ");
  Ptr o = k.ptr("o", a.dt), dO = k.ptr("do", a.dt), delta = k.ptr("delta", f32, 4);
  Ptr dqAcc = atomicDq ? k.ptr("dq_accum", f32, 16) : Ptr();
  a.scalars(false);
  Strided so = a.strides(o, "o"), sdo = a.strides(dO, "do");
  a.offsets(false);
  Scalar batch = programId(2), head = programId(1), bh = batch * a.heads + head;
  Sequence seq = a.sequence(batch);
  Tile offM = programId(0) * bm + arange(0, bm), offD = arange(0, a.d);
  Tile rows = offM.col() < seq.lenQ;
  Tile oTile = load(so.at(batch, head, seq.rowQ) + offM.col() * so.s + offD.row(), rows).to(f32);
  Tile doTile =
      load(sdo.at(batch, head, seq.rowQ) + offM.col() * sdo.s + offD.row(), rows).to(f32);
  store(delta + bh * a.seqQ + offM, sum(oTile * doTile, 1), offM < seq.lenQ);
  if (atomicDq)
    store(a.accumulatorRow(dqAcc, bh, scalar(0, i32)) + offM.col() * a.d + offD.row(),
          zeros({bm, a.d}, f32), rows);
}

/// dK and dV for BLOCK_N keys of one (batch, K/V head), over every query
/// block of every query head that shares the K/V head; ATOMIC_DQ: each
/// query block's share of dQ / scale added into the accumulator.
/// Grid: (ceil(seq_k / BLOCK_N), kv_heads, batch).
static void attentionBwdDkDv(Kernel &k, const Params &p) {
  BwdArgs a(k, p);
  int64_t bm = p.i("BLOCK_M"), bn = p.i("BLOCK_N");
  bool causal = p.flag("CAUSAL"), atomicDq = p.flag("ATOMIC_DQ");
  bool earlyDp = p.flag("EARLY_DP");
  Ptr q = k.ptr("q", a.dt), kk = k.ptr("k", a.dt), v = k.ptr("v", a.dt), dO = k.ptr("do", a.dt);
  Ptr lse = k.ptr("lse", f32, 4), delta = k.ptr("delta", f32, 4);
  Ptr dk = k.ptr("dk", a.dt), dv = k.ptr("dv", a.dt);
  Ptr dqAcc = atomicDq ? k.ptr("dq_accum", f32, 16) : Ptr();
  a.scalars(true);
  Strided sq = a.strides(q, "q"), sk = a.strides(kk, "k"), sv = a.strides(v, "v");
  Strided sdo = a.strides(dO, "do"), sdk = a.strides(dk, "dk"), sdv = a.strides(dv, "dv");
  a.offsets(true);
  MaskedBlocks blocks(p);
  if (blocks)
    blocks.declareArgs(k);
  Dropout drop(p);
  if (drop)
    drop.declareArgs(k);
  Persistent persistent(k, p, a, blocks);

  // One tile: BLOCK_N keys of (batch, K/V head).
  auto tile = [&](const Scalar &startN, const Scalar &batch, const Scalar &kvHead) {
    Scalar group = a.heads / a.kvHeads;
    Sequence seq = a.sequence(batch);
    Tile offN = startN + arange(0, bn), offD = arange(0, a.d), rowsM = arange(0, bm);
    Tile keyRows = offN.col() < seq.lenK;
    Tile kTile = load(sk.at(batch, kvHead, seq.rowK) + offN.col() * sk.s + offD.row(), keyRows);
    Tile vTile = load(sv.at(batch, kvHead, seq.rowK) + offN.col() * sv.s + offD.row(), keyRows);
    Scalar qkScale = a.scale * kLog2e;
    ModifiedScores scores(p);
    Tile dkAcc = zeros({bn, a.d}, f32), dvAcc = zeros({bn, a.d}, f32);
    // Causal: query blocks wholly before the first key see none of its keys.
    Scalar firstM = causal ? startN / bm * bm : scalar(0, i32);
    // Packed sequences: a key block past its sequence's end has nothing to do.
    Scalar endM = a.varlen ? ifInside(startN, seq.lenK, seq.lenQ) : seq.lenQ;
    // One query block of query head `head` (of the K/V head's group);
    // `masked`: bounds, causal and the mask modifier apply (MASK_MOD's full
    // blocks need none of them).
    auto step = [&](const Scalar &head, const Scalar &m0, bool masked) {
      Scalar bh = batch * a.heads + head;
      Ptr qBase = sq.at(batch, head, seq.rowQ), doBase = sdo.at(batch, head, seq.rowQ);
      Tile offM = m0 + rowsM;
      Tile queryRows = offM.col() < seq.lenQ;
      Tile qTile = load(qBase + offM.col() * sq.s + offD.row(), queryRows);
      Tile doTile = load(doBase + offM.col() * sdo.s + offD.row(), queryRows);
      Tile lse2 = load(lse + bh * a.seqQ + offM, offM < seq.lenQ) * kLog2e;
      Tile dRow = load(delta + bh * a.seqQ + offM, offM < seq.lenQ);
      // P^T [bn, bm]: the scores transposed, in the exp2 domain.
      std::optional<Tile> dpEarly;
      auto [pT, gradT] = scores(scoresDot(kTile, qTile, earlyDp, vTile, doTile, dpEarly), a.scale,
                                qkScale, lse2.row(), batch, head, offM.row(), offN.col());
      if (masked) {
        Tile valid = offM.row() < seq.lenQ;
        // Keys past seq_k score 0 (K is loaded as 0), so their P is 2^-lse2,
        // past f16's range once every score of the row is below about -11: in
        // dK and dV those rows are never stored, but the atomic dQ multiplies
        // them by the zero K rows, and inf * 0 is NaN (found by tessera-fuzz).
        if (atomicDq)
          valid = valid & keyRows;
        if (causal)
          valid = valid & (offN.col() <= offM.row());
        if (blocks)
          valid = valid & blocks.allowed(batch, head, offM.row(), offN.col(), seq.lenQ, seq.lenK);
        pT = where(valid, pT, 0.0);
      }
      // dS^T = P^T * (dP^T - D) * dmod/ds: the factor is folded into P now,
      // so that one f32 tile, not P and the factor, stays live across the two
      // dots below (as in the plain kernel; at d=128 the second one spilled).
      Tile pgT = gradT ? pT * *gradT : pT;
      Tile dpT;
      if (drop) {
        // The forward's mask, regenerated: dV from the kept P, dP through it.
        dvAcc = dot(drop.apply(pT, bh, offM.row(), offN.col()).to(a.dt), doTile, dvAcc);
        dpT = drop.apply(dpEarly ? *dpEarly : dot(vTile, trans(doTile)), bh, offM.row(),
                         offN.col());
      } else {
        dvAcc = dot(pT.to(a.dt), doTile, dvAcc);
        dpT = dpEarly ? *dpEarly : dot(vTile, trans(doTile));
      }
      Tile dsT = (pgT * (dpT - dRow.row())).to(a.dt);
      dkAcc = dot(dsT, qTile, dkAcc);
      if (atomicDq)
        atomicAdd(a.accumulatorRow(dqAcc, bh, m0) + rowsM.col() * a.d + offD.row(),
                  dot(trans(dsT), kTile), queryRows);
  };
  if (blocks) {
    // The transposed lists: per key block, the query blocks the mask leaves
    // anything in, for each query head of the group.
    if (p.flag("warp_specialize"))
      throw Error("attention_bwd_dkdv: MASK_MOD does not support warp_specialize");
    auto [rows, cols] = MaskedBlocks::rowsAndCols(a.seqQ, a.seqK, bm, bn, /*transposed=*/true);
    forRange(0, group, 1, {dkAcc, dvAcc}, [&](Scalar g) {
      Scalar head = kvHead * group + g;
      blocks.walk(programId(0), rows, cols, batch, head, a.heads, {dkAcc, dvAcc},
                  [&](const Scalar &blk, bool masked) { step(head, blk * bm, masked); });
    });
  } else if (p.flag("warp_specialize")) {
    // A producer warpgroup must own the loop, which must then sit at the
    // top of the kernel: one loop over (query head, query block) pairs.
    // Its divisor is clamped to 1 so that the pipeliner may compute a later
    // iteration's addresses ahead (no division by zero).  Without a
    // producer the two nested loops below avoid a division per iteration
    // (the flattened loop ran 1.6-3.5% slower on the H200, 2026-12-03).
    Scalar blocksM = maximum(endM - firstM + scalar(bm - 1, i32), scalar(0, i32)) / bm;
    Scalar divisor = maximum(blocksM, scalar(1, i32));
    forRange(0, group * blocksM, 1, {dkAcc, dvAcc}, [&](Scalar t) {
      step(kvHead * group + t / divisor, firstM + t % divisor * bm, true);
    });
  } else if (p.flag("MASK_SPLIT") && !atomicDq) {
    // Query blocks wholly at or after this block's last key (causal) and
    // before the query tail see every key unmasked: a loop of their own
    // between the masked diagonal and the masked tail.  (Keys past seq_k are
    // not masked in any loop, as in the plain one: each dK/dV row depends
    // only on its own key's row of P and those rows are never stored; the
    // atomic dQ reads them, so it keeps the single masked loop.)
    // Without a score modifier the query tail needs no mask either: its
    // rows load as zeros (Q, dO, LSE, D), so P is 1 there and every product
    // it enters is zero, as the masked P's 0 gives.  A modifier could make
    // that P overflow (inf * 0): then the tail keeps a masked loop.
    bool maskedTail = scores.mod.has_value();
    Scalar fullStart =
        causal ? minimum((startN + scalar(bn - 1 + bm - 1, i32)) / bm * bm, endM) : firstM;
    Scalar fullEnd =
        maskedTail ? maximum(minimum(seq.lenQ / bm * bm, endM), fullStart) : endM;
    forRange(0, group, 1, {dkAcc, dvAcc}, [&](Scalar g) {
      Scalar head = kvHead * group + g;
      if (causal)
        forRange(firstM, fullStart, bm, {dkAcc, dvAcc}, [&](Scalar m0) { step(head, m0, true); });
      forRange(fullStart, fullEnd, bm, {dkAcc, dvAcc}, [&](Scalar m0) { step(head, m0, false); });
      if (maskedTail)
        forRange(fullEnd, endM, bm, {dkAcc, dvAcc}, [&](Scalar m0) { step(head, m0, true); });
    });
  } else {
    forRange(0, group, 1, {dkAcc, dvAcc}, [&](Scalar g) {
      forRange(firstM, endM, bm, {dkAcc, dvAcc},
               [&](Scalar m0) { step(kvHead * group + g, m0, true); });
    });
  }
  store(sdk.at(batch, kvHead, seq.rowK) + offN.col() * sdk.s + offD.row(),
        (dkAcc * a.scale).to(a.dt), keyRows);
  store(sdv.at(batch, kvHead, seq.rowK) + offN.col() * sdv.s + offD.row(), dvAcc.to(a.dt),
        keyRows);
  };
  persistent.run(a.seqK, bn, a.kvHeads, tile);
}

/// dQ for BLOCK_M queries of one (batch, head), over every key block.
/// Grid: (ceil(seq_q / BLOCK_M), heads, batch).
static void attentionBwdDq(Kernel &k, const Params &p) {
  BwdArgs a(k, p);
  int64_t bm = p.i("BLOCK_M"), bn = p.i("BLOCK_N");
  bool causal = p.flag("CAUSAL"), earlyDp = p.flag("EARLY_DP");
  Ptr q = k.ptr("q", a.dt), kk = k.ptr("k", a.dt), v = k.ptr("v", a.dt), dO = k.ptr("do", a.dt);
  Ptr lse = k.ptr("lse", f32, 4), delta = k.ptr("delta", f32, 4);
  Ptr dq = k.ptr("dq", a.dt);
  a.scalars(true);
  Strided sq = a.strides(q, "q"), sk = a.strides(kk, "k"), sv = a.strides(v, "v");
  Strided sdo = a.strides(dO, "do"), sdq = a.strides(dq, "dq");
  a.offsets(true);
  MaskedBlocks blocks(p);
  if (blocks) {
    if (p.flag("warp_specialize"))
      throw Error("attention_bwd_dq: MASK_MOD does not support warp_specialize");
    blocks.declareArgs(k);
  }
  Dropout drop(p);
  if (drop)
    drop.declareArgs(k);
  Persistent persistent(k, p, a, blocks);

  // One tile: BLOCK_M queries of (batch, head).
  auto tile = [&](const Scalar &startM, const Scalar &batch, const Scalar &head) {
    Scalar bh = batch * a.heads + head;
    Scalar kvHead = head / (a.heads / a.kvHeads);
    Sequence seq = a.sequence(batch);
    Tile offM = startM + arange(0, bm), offD = arange(0, a.d), colsN = arange(0, bn);
    Tile queryRows = offM.col() < seq.lenQ;
    Tile qTile = load(sq.at(batch, head, seq.rowQ) + offM.col() * sq.s + offD.row(), queryRows);
    Tile doTile = load(sdo.at(batch, head, seq.rowQ) + offM.col() * sdo.s + offD.row(), queryRows);
    Tile lse2 = load(lse + bh * a.seqQ + offM, offM < seq.lenQ) * kLog2e;
    Tile dRow = load(delta + bh * a.seqQ + offM, offM < seq.lenQ);
    Ptr kBase = sk.at(batch, kvHead, seq.rowK), vBase = sv.at(batch, kvHead, seq.rowK);
    Scalar qkScale = a.scale * kLog2e;
    ModifiedScores scores(p);
    Tile dqAcc = zeros({bm, a.d}, f32);
    // Causal: key blocks wholly after the last query are never loaded.
    Scalar end = causal ? minimum(seq.lenK, startM + bm) : seq.lenK;
    // Packed sequences: a query block past its sequence's end has nothing to do.
    if (a.varlen)
      end = ifInside(startM, seq.lenQ, end);
    // One key block; `masked` as in the dK/dV kernel.
    auto step = [&](const Scalar &n0, bool masked) {
      Tile keys = n0 + colsN;
      Tile keyRows = keys.col() < seq.lenK;
      Tile kTile = load(kBase + keys.col() * sk.s + offD.row(), keyRows);
      Tile vTile = load(vBase + keys.col() * sv.s + offD.row(), keyRows);
      std::optional<Tile> dpEarly;
      auto [pTile, grad] = scores(scoresDot(qTile, kTile, earlyDp, doTile, vTile, dpEarly),
                                  a.scale, qkScale, lse2.col(), batch, head, offM.col(),
                                  keys.row());
      if (masked) {
        Tile valid = keys.row() < seq.lenK;
        if (causal)
          valid = valid & (keys.row() <= offM.col());
        if (blocks)
          valid = valid & blocks.allowed(batch, head, offM.col(), keys.row(), seq.lenQ, seq.lenK);
        pTile = where(valid, pTile, 0.0);
      }
      if (grad) // folded into P before the dot, as in the dK/dV kernel
        pTile = pTile * *grad;
      Tile dp = dpEarly ? *dpEarly : dot(doTile, trans(vTile));
      if (drop)
        dp = drop.apply(dp, bh, offM.col(), keys.row());
      dqAcc = dot((pTile * (dp - dRow.col())).to(a.dt), kTile, dqAcc);
  };
  if (blocks) {
    auto [rows, cols] = MaskedBlocks::rowsAndCols(a.seqQ, a.seqK, bm, bn, false);
    blocks.walk(programId(0), rows, cols, batch, head, a.heads, {dqAcc},
                [&](const Scalar &blk, bool masked) { step(blk * bn, masked); });
  } else if (p.flag("MASK_SPLIT") && !p.flag("warp_specialize")) {
    // Key blocks before the key tail and (causal) wholly at or before this
    // block's first query need no mask: a loop of their own, then the
    // masked rest.  (A producer warpgroup owns one loop: not with it.)
    Scalar fullEnd =
        minimum((causal ? minimum(seq.lenK, startM + 1) : seq.lenK) / bn * bn, end);
    forRange(0, fullEnd, bn, {dqAcc}, [&](Scalar n0) { step(n0, false); });
    forRange(fullEnd, end, bn, {dqAcc}, [&](Scalar n0) { step(n0, true); });
  } else {
    forRange(0, end, bn, {dqAcc}, [&](Scalar n0) { step(n0, true); });
  }
  store(sdq.at(batch, head, seq.rowQ) + offM.col() * sdq.s + offD.row(),
        (dqAcc * a.scale).to(a.dt), queryRows);
  };
  persistent.run(a.seqQ, bm, a.heads, tile);
}

/// dq = scale * the dQ accumulator, for BLOCK_M query rows of one
/// (batch, head).  Grid: (ceil(seq_q / BLOCK_M), heads, batch).
static void attentionBwdDqConvert(Kernel &k, const Params &p) {
  BwdArgs a(k, p);
  int64_t bm = p.i("BLOCK_M");
  Ptr dqAcc = k.ptr("dq_accum", f32, 16), dq = k.ptr("dq", a.dt);
  a.scalars(false);
  a.scale = k.f32("scale");
  Strided sdq = a.strides(dq, "dq");
  a.offsets(false);
  Scalar batch = programId(2), head = programId(1), bh = batch * a.heads + head;
  Sequence seq = a.sequence(batch);
  Tile offM = programId(0) * bm + arange(0, bm), offD = arange(0, a.d);
  Tile rows = offM.col() < seq.lenQ;
  Tile acc =
      load(a.accumulatorRow(dqAcc, bh, scalar(0, i32)) + offM.col() * a.d + offD.row(), rows);
  store(sdq.at(batch, head, seq.rowQ) + offM.col() * sdq.s + offD.row(),
        (acc * a.scale).to(a.dt), rows);
}

Params AttentionBackwardConfig::preprocessParams() const {
  return {{"dtype", dtype},
          {"HEAD_DIM", std::to_string(headDim)},
          {"INT_MULTIPLE", std::to_string(intMultiple)},
          {"VARLEN", varlen ? "1" : "0"},
          {"ATOMIC_DQ", deterministic ? "0" : "1"},
          {"BLOCK_M", std::to_string(preprocessBlockM)},
          {"num_warps", "4"}};
}

Params AttentionBackwardConfig::dqConvertParams() const {
  return {{"dtype", dtype},
          {"HEAD_DIM", std::to_string(headDim)},
          {"INT_MULTIPLE", std::to_string(intMultiple)},
          {"VARLEN", varlen ? "1" : "0"},
          {"BLOCK_M", std::to_string(preprocessBlockM)},
          {"num_warps", "4"}};
}

static Params scheduleParams(const AttentionBackwardConfig &c,
                             const AttentionBackwardConfig::Schedule &s) {
  return {{"dtype", c.dtype},
          {"HEAD_DIM", std::to_string(c.headDim)},
          {"CAUSAL", c.causal ? "1" : "0"},
          {"INT_MULTIPLE", std::to_string(c.intMultiple)},
          {"VARLEN", c.varlen ? "1" : "0"},
          {"BLOCK_M", std::to_string(s.blockM)},
          {"BLOCK_N", std::to_string(s.blockN)},
          {"num_warps", std::to_string(s.numWarps)},
          {"num_stages", std::to_string(s.numStages)},
          {"warp_specialize", s.warpSpecialize ? "1" : "0"},
          {"PERSISTENT", s.persistent ? "1" : "0"},
          {"EARLY_DP", s.earlyDp ? "1" : "0"},
          {"MASK_SPLIT", s.maskSplit ? "1" : "0"},
          {"SCORE_MOD", c.scoreMod},
          {"MASK_MOD", c.maskMod},
          {"DROPOUT", c.dropout ? "1" : "0"}};
}
Params AttentionBackwardConfig::dkdvParams() const {
  return scheduleParams(*this, dkdv).set("ATOMIC_DQ", deterministic ? "0" : "1");
}
Params AttentionBackwardConfig::dqParams() const { return scheduleParams(*this, dq); }

AttentionBackwardConfig attentionBackwardConfigFor(int ccMajor, const std::string &dtype,
                                                   int headDim, bool causal, int64_t seqK) {
  AttentionBackwardConfig c;
  c.dtype = dtype;
  c.headDim = headDim;
  c.causal = causal;
  // 256-wide heads.  sm_90 (227 KB of shared memory per block): 64x64 tiles
  // over 8 warps, the only candidate ptxas compiles without spills (4 warps
  // or 32-row tiles spill 1.4-12 KB).  Elsewhere 32x32 tiles keep K, V and
  // two stages of Q and dO within 163 KB.
  if (headDim == 256 && ccMajor == 9)
    c.dkdv.numWarps = c.dq.numWarps = 8;
  else if (headDim == 256)
    c.dkdv.blockM = c.dkdv.blockN = c.dq.blockM = c.dq.blockN = 32;
  // d=128, not causal, up to 16384 keys on sm_90: dQ from persistent
  // 128x128 programs with a producer warpgroup, which load the next tile
  // while finishing this one, the programs running at once on neighbouring
  // query blocks of one head (H200 2026-12-04, the whole backward 4-7%
  // faster at s=512-4096; every other persistent schedule, dK/dV's, and the
  // causal ones measured no faster:
  // bench/results/attention-bwd-persistent_h200_2026-12-04.md).
  // The sweep measured 4.6% at 8192 keys too; 16384 is the table's row.
  if (headDim == 128 && ccMajor == 9 && !causal && seqK > 0 && seqK <= 16384)
    c.dq = {128, 128, 8, 2, /*warpSpecialize=*/true, /*persistent=*/true};
  // dK/dV's dP^T dot issued right after S^T's (EARLY_DP) up to 2048 keys on
  // sm_90: 3-4% on the whole backward at 512 keys not causal (d=64 0.749 ->
  // 0.724 ms, d=128 0.649 -> 0.625), about 1% causal, 0-1.5% at 2048; at
  // 8192 keys 2-11% slower in the sweep's screens (H200 2026-12-04,
  // bench/results/attention-bwd-early-dp_h200_2026-12-04.md).  dQ's early
  // dot measured level everywhere and stays off.
  if (headDim <= 128 && ccMajor == 9 && seqK > 0 && seqK <= 2048)
    c.dkdv.earlyDp = true;
  // d=64 there: dK/dV's unmasked query blocks in a loop of their own
  // (MASK_SPLIT), 1-5% faster at 512-2048 keys in alternating A/B timings
  // (H200 2026-12-04, bench/results/attention-bwd-mask-split_h200_2026-12-04.md).
  // Not d=128, where the three loops spill (24 -> 396 B) and ran 4-6%
  // slower; dQ's split measured level.
  if (headDim == 64 && ccMajor == 9 && seqK > 0 && seqK <= 2048)
    c.dkdv.maskSplit = true;
  // D's rows are 256 wide too: 32-row blocks keep them in registers.
  if (headDim == 256)
    c.preprocessBlockM = 32;
  return c;
}

KernelDef attentionBwdPreprocessKernel() {
  return {"attention_bwd_preprocess", "attention backward: D = rowsum(dO * O)",
          AttentionBackwardConfig{}.preprocessParams(), attentionBwdPreprocess};
}

KernelDef attentionBwdDkDvKernel() {
  return {"attention_bwd_dkdv", "attention backward: dK, dV per key block (FA2 structure)",
          AttentionBackwardConfig{}.dkdvParams(), attentionBwdDkDv,
          configSpace({{"BLOCK_M", {"32", "64", "128"}}, {"BLOCK_N", {"32", "64", "128"}},
                       {"num_warps", {"4", "8"}}, {"num_stages", {"1", "2"}},
                       {"warp_specialize", {"0", "1"}}}),
          {"seq_q", "seq_k"}};
}

KernelDef attentionBwdDqConvertKernel() {
  return {"attention_bwd_dq_convert", "attention backward: dq from its f32 accumulator",
          AttentionBackwardConfig{}.dqConvertParams(), attentionBwdDqConvert};
}

KernelDef attentionBwdDqKernel() {
  return {"attention_bwd_dq", "attention backward: dQ per query block (deterministic)",
          AttentionBackwardConfig{}.dqParams(), attentionBwdDq,
          configSpace({{"BLOCK_M", {"32", "64", "128"}}, {"BLOCK_N", {"32", "64", "128"}},
                       {"num_warps", {"4", "8"}}, {"num_stages", {"1", "2"}},
                       {"warp_specialize", {"0", "1"}}}),
          {"seq_q", "seq_k"}};
}

} // namespace tessera::kernels
