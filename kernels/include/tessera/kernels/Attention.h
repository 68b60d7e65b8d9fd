//===- Attention.h - the attention kernels' schedules, typed, and the per-GPU choice -===//
//
// The attention kernel's compile-time choices as named fields, converted to
// the kernel's parameters in one place (AttentionConfig::params), and the
// choice measured per GPU generation (attentionConfigFor), which the
// runtime's attention entry point asks for.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/dsl/KernelDef.h"

#include <cstdint>
#include <functional>
#include <string>

namespace tessera::kernels {

/// A score modifier (issue 21), traced into the attention kernel where the
/// scores are in registers: fn(score, batch, head, query, key) returns the
/// modified scores.  `score` is a BLOCK_M x BLOCK_N f32 tile of q.k * scale
/// (natural units, before masking); `query` a BLOCK_M x 1 and `key` a
/// 1 x BLOCK_N i32 tile of positions (they broadcast against each other);
/// `batch` and `head` are i32 scalars.  The backward calls fn and grad on
/// transposed blocks too (score BLOCK_N x BLOCK_M, query 1 x BLOCK_M, key
/// BLOCK_N x 1): a modifier should only broadcast the positions against the
/// score, not assume which axis is which.
struct ScoreMod {
  using Tile = dsl::Tile;
  using Scalar = dsl::Scalar;
  /// Names fn in this process: kernels are memoized by name and parameters
  /// (the disk cache is keyed by the traced code, so it is never stale).
  std::string name;
  std::function<Tile(const Tile &score, const Scalar &batch, const Scalar &head,
                     const Tile &query, const Tile &key)>
      fn;
  /// d fn / d score for the backward, given the score and fn's result
  /// (modified).  Optional: left empty, the backward derives it from fn's
  /// operations (dsl::derivative; a DslError at the line of an operation it
  /// cannot differentiate).  Write it to use a cheaper form than the
  /// derived one, or for what the DSL cannot differentiate.  gradIsOne
  /// states that fn only adds a term of the positions (d/ds = 1; derived
  /// the same way when left false).
  std::function<Tile(const Tile &score, const Tile &modified, const Scalar &batch,
                     const Scalar &head, const Tile &query, const Tile &key)>
      grad;
  bool gradIsOne = false;
  /// If positive, every modified score lies in [-bound, bound] (softcap:
  /// the cap).  The forward then needs no running row maximum on bf16
  /// inputs: it subtracts the bound instead (softmax does not depend on the
  /// shift), which saves a max, the rescaling factor and O's rescale per
  /// block; the probabilities stay within f32's and bf16's range while
  /// 2 * bound * log2(e) <= 100 (else the running maximum is kept).  A bound
  /// that is exceeded is no error unless a score passes it by ~88.
  double bound = 0;
};

/// Makes `mod` the modifier its name stands for (replacing an earlier one).
/// The name is a C-identifier-like word (letters, digits, '_', '.', '-').
void registerScoreMod(const ScoreMod &mod);
/// The modifier registered under `name`, else the built-in whose name it is
/// ("softcap.30", "softcap_exact.30", "alibi.16", or "expr:TEXT" for
/// scoremods::expression(TEXT)); throws tessera::Error if neither.
ScoreMod findScoreMod(const std::string &name);

/// Built-in modifiers.
namespace scoremods {
/// Soft-capping (Gemma 2, Grok): cap * tanh(score / cap).  By default tanh
/// is the GPU's tanh.approx, as FlashAttention's softcap (relative error
/// 2^-11: up to 5e-4 * cap in a score; 0.41x the plain kernel's speed
/// through exp and a division instead, H200 2026-12-03); `exact` computes
/// 1 - 2 / (e^(2t) + 1) (about 1e-7).
ScoreMod softcap(double cap, bool exact = false);
/// ALiBi (Press et al.): score + slope_h * (key - query), slope_h =
/// 2^(-8 (h + 1) / heads).
ScoreMod alibi(int heads);
/// A modifier from text, for callers without the C++ DSL (the C API and the
/// Python package take "expr:" + the text as a score modifier's name):
/// numbers, s (the scaled score), q and k (query and key positions), h (the
/// query head) and b (the batch entry), all read as f32; + - * / and unary
/// -; comparisons < <= > >= == != combined with & (&&), | (||) and !;
/// functions tanh exp exp2 log log2 sqrt rsqrt abs sigmoid sin cos floor
/// ceil, min max pow, where(condition, a, b).  E.g. "30 * tanh(s / 30)",
/// "s - 0.5 * abs(q - k)", "where(k > q + 256, s - 4, s)".  Parsed and
/// checked here (a tessera::Error names the column); the backward derives
/// its derivative; a division by a number multiplies by its reciprocal; the
/// bound is set where the text implies one (tanh, sigmoid, sin, cos within
/// 1, and what sums, products, abs, min/max, where, exp of bounded terms
/// keep), so "30 * tanh(s / 30)" compiles to softcap(30)'s kernels.  Named
/// "expr.<hash of the text>".
ScoreMod expression(const std::string &text);
} // namespace scoremods

/// What a mask modifier may read besides the positions it is given.
struct MaskContext {
  dsl::Scalar seqQ, seqK; ///< the problem's lengths
  /// The batch entry's row of the i32 tensor given with the mask
  /// (jit::BlockMask's data: [batch, n] with n of the mask's choosing); an
  /// uninitialized handle (a located DslError if used) when none was given.
  dsl::Ptr data;
};

/// A mask modifier (issue 21): fn(batch, head, query, key, ctx) returns an
/// i1 tile, true where query i may attend to key j.  `query` is a
/// BLOCK_M x 1 and `key` a 1 x BLOCK_N i32 tile of positions (transposed
/// blocks in the backward, as for ScoreMod: only broadcast them).  Positions
/// may lie past the sequences (a block's tail): guard loads from ctx.data
/// with ctx.seqQ / ctx.seqK.  Tessera evaluates fn over every block of the
/// problem once (jit::BlockMask, kernel attention_block_mask) into lists of
/// partial and full blocks per query (or key) block; the attention kernels
/// then never load an empty block, skip the mask in full ones and evaluate
/// fn per element only in partial ones.
struct MaskMod {
  using Tile = dsl::Tile;
  using Scalar = dsl::Scalar;
  /// Names fn in this process (kernels are memoized by name and parameters).
  std::string name;
  std::function<Tile(const Scalar &batch, const Scalar &head, const Tile &query,
                     const Tile &key, const MaskContext &ctx)>
      fn;
  /// Whether the mask differs between batch entries / heads; a mask that
  /// does not keeps one block list for all of them.  A mask that reads
  /// data is taken as per batch (the data has a row per batch entry).
  bool perBatch = false, perHead = false;
  /// Whether fn reads ctx.data (the block mask then needs the tensor).
  bool usesData = false;
};

/// Makes `mod` the mask modifier its name stands for (names as ScoreMod's).
void registerMaskMod(const MaskMod &mod);
/// The mask modifier registered under `name`, else the built-in whose name
/// it is ("causal", "causal_bottom_right", "sliding_window.1024.0" (a side
/// "inf" is unbounded), "prefix_lm.64", "document", or "expr:TEXT" for
/// maskmods::expression(TEXT)); throws tessera::Error if neither.
MaskMod findMaskMod(const std::string &name);

/// Built-in masks.  Alignments: "top-left" puts query i and key i at the
/// same position (torch's is_causal); "bottom-right" aligns the last query
/// with the last key, query i at position i + seq_k - seq_q (FlashAttention's
/// convention for seq_q != seq_k, what decoding with a KV cache needs).
/// Equal lengths make the two the same.
namespace maskmods {
/// Key j <= query i, top-left aligned (AttentionProblem::causal is the same
/// mask without the block lists).
MaskMod causal();
/// Key j <= i + seq_k - seq_q.
MaskMod causalBottomRight();
/// Local attention (bottom-right aligned, FlashAttention's window_size):
/// with c = i + seq_k - seq_q, keys c - left <= j <= c + right; a negative
/// size is unbounded on that side.  slidingWindow(w, 0) is causal local
/// attention over the last w + 1 keys.
MaskMod slidingWindow(int left, int right = 0);
/// Prefix-LM: the first `prefix` keys are seen by every query, the rest
/// causally (top-left): j < prefix or j <= i.
MaskMod prefixLM(int prefix);
/// Document masking of packed sequences: data holds each key's document id
/// ([batch, seq_k] i32); query i belongs to the document of key
/// i + seq_k - seq_q (bottom-right), and sees the keys of its own document.
/// Combine with AttentionProblem::causal for causal packed training.
MaskMod document();
/// A mask from text (the C API and the Python package take "expr:" + the
/// text as a mask modifier's name): a condition in scoremods::expression's
/// language over q and k (positions), h (the query head), b (the batch
/// entry), sq and sk (the sequence lengths), all read as f32, e.g.
/// "k <= q && q - k < 256" (causal local attention), "k <= q + sk - sq".
/// Per head / per batch when it reads h / b.  Named "expr.<hash of the text>".
MaskMod expression(const std::string &text);
} // namespace maskmods

/// Every compile-time parameter of attention_fwd.
struct AttentionConfig {
  // Fixed by the problem.
  std::string dtype = "f16"; ///< "f16" or "bf16"
  int headDim = 64;
  bool causal = false;      ///< top-left aligned (key j <= query i)
  int intMultiple = 1;      ///< a power of two dividing every stride
  bool varlen = false;      ///< packed sequences with cu_seqlens offsets
  std::string scoreMod = "none"; ///< a registered ScoreMod's name, or "none"
  /// A registered MaskMod's name, or "none": the kernel then walks the
  /// block lists of attention_block_mask (BlockMaskConfig with this
  /// config's BLOCK_M x BLOCK_N) instead of every key block.
  std::string maskMod = "none";
  /// Dropout on P (arguments: threshold, scale, seed, offset; Dropout in
  /// kernels/lib/AttentionVariants.h).
  bool dropout = false;
  // The schedule, chosen per GPU.
  int blockM = 64, blockN = 64, numWarps = 4, numStages = 2;
  int minBlocks = 0;        ///< programs per SM the registers must allow (0: no bound)
  bool maskSplit = false;   ///< unmasked key blocks in a loop of their own
  bool overlap = false;     ///< P·V of block j-1 issued before block j's softmax
  bool persistent = false;  ///< programs loop over (query block, head) tiles
  bool warpSpecialize = false; ///< a producer warpgroup issues the TMA copies

  /// The kernel's parameters, every one set.
  dsl::Params params() const;
};

/// The fastest schedule measured for a problem on a GPU of compute
/// capability `ccMajor`.x (sm_90: the H100 table,
/// bench/results/attention_h100_2026-11-25_tileloads.md; others: 64x64
/// tiles, 4 warps), with the problem's fields set.
AttentionConfig attentionConfigFor(int ccMajor, const std::string &dtype, int headDim,
                                   bool causal, int64_t seqQ, int64_t seqK);

/// The backward kernels' (attention_bwd_preprocess, _dkdv, _dq_convert, _dq)
/// parameters.
struct AttentionBackwardConfig {
  // Fixed by the problem.
  std::string dtype = "f16";
  int headDim = 64;
  bool causal = false;
  int intMultiple = 1;
  bool varlen = false; ///< packed sequences with cu_seqlens offsets
  /// dQ from its own kernel (attention_bwd_dq, same bits run to run) instead
  /// of atomics into an f32 accumulator (attention_bwd_dkdv with ATOMIC_DQ).
  bool deterministic = true;
  /// One kernel's tiles: BLOCK_M query rows, BLOCK_N keys.
  struct Schedule {
    int blockM = 64, blockN = 64, numWarps = 4, numStages = 2;
    bool warpSpecialize = false; ///< a producer warpgroup issues the TMA copies (sm_90a)
    /// About one program per SM slot, each looping over tiles (not with
    /// packed sequences or a mask modifier; the launcher falls back).
    bool persistent = false;
    /// EARLY_DP: dP's dot (dK/dV: V dO^T, dQ: dO V^T) issued right after
    /// the scores', so that its wgmma runs while P is computed (dK/dV: and
    /// dV's while dS is; the waits become wgmma.wait_group 1; same bits).
    /// attentionBackwardConfigFor turns it on for dK/dV at short sequences.
    bool earlyDp = false;
    /// MASK_SPLIT: the blocks that need no mask (dQ: before the key tail;
    /// dK/dV: every one without a score modifier, else before the query
    /// tail; causal: wholly on the visible side of the diagonal) run in a
    /// loop of their own, without the bounds/causal selects; the rest in
    /// masked loops (same bits).  Only where the loop is the kernel's own:
    /// not with a producer warpgroup, a mask modifier, or dK/dV's atomic dQ.
    bool maskSplit = false;
    bool operator==(const Schedule &) const = default;
  };
  Schedule dkdv, dq;
  int preprocessBlockM = 64;
  std::string scoreMod = "none"; ///< a registered ScoreMod's name, or "none"
  /// A registered MaskMod's name, or "none": dK/dV walk the transposed block
  /// lists (per key block), dQ the lists per query block.
  std::string maskMod = "none";
  bool dropout = false; ///< the forward's dropout, regenerated

  dsl::Params preprocessParams() const;
  dsl::Params dkdvParams() const;
  dsl::Params dqParams() const;
  dsl::Params dqConvertParams() const;
};

/// The backward schedule for a problem on a GPU of compute capability
/// `ccMajor`.x, with the problem's fields set.  `seqK`: the keys each query
/// sees at most, where the length-dependent schedules (persistent dQ, the
/// early dP dot, split-off unmasked blocks) may be used; 0 keeps the
/// schedules every problem can run (masks, packed sequences, modifiers).
/// The length-dependent ones were timed with f16 and are used for bf16
/// too (same tiles and registers; bf16 is float64-checked with them).
AttentionBackwardConfig attentionBackwardConfigFor(int ccMajor, const std::string &dtype,
                                                   int headDim, bool causal, int64_t seqK = 0);

/// The parameters of attention_block_mask: mask `maskMod` evaluated over
/// blocks of BLOCK_M queries x BLOCK_N keys (ANDed with top-left causal if
/// `causal`) into, per row of blocks, a list of partial blocks and a list of
/// full ones.  Rows are query blocks, or with `transposed` key blocks (whose
/// lists then hold query blocks: the dK/dV kernel's walk).  With `varlen`
/// the lengths are each packed sequence's (cu_seqlens_q/_k after seq_q and
/// seq_k, which are then the longest), and the lists are per batch entry.
struct BlockMaskConfig {
  std::string maskMod;
  int blockM = 64, blockN = 64;
  bool causal = false, transposed = false, varlen = false;
  dsl::Params params() const;
};

/// Entries past a list's last that a walk may read ahead (software
/// pipelining reads up to num_stages - 1 ahead): every list is padded by
/// this many entries.
inline constexpr int kBlockListPad = 8;

/// Head dims the attention kernels are compiled for.
inline constexpr int kAttentionHeadDims[] = {64, 128, 256};

} // namespace tessera::kernels
