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
  /// (modified).  Leave it empty and set gradIsOne for a modifier that adds
  /// a term of the positions only (ALiBi, a bonus); with neither, the
  /// backward refuses the modifier.
  std::function<Tile(const Tile &score, const Tile &modified, const Scalar &batch,
                     const Scalar &head, const Tile &query, const Tile &key)>
      grad;
  bool gradIsOne = false;
};

/// Makes `mod` the modifier its name stands for (replacing an earlier one).
/// The name is a C-identifier-like word (letters, digits, '_', '.', '-').
void registerScoreMod(const ScoreMod &mod);
/// The modifier registered under `name`; throws tessera::Error if none is.
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
} // namespace scoremods

/// Every compile-time parameter of attention_fwd.
struct AttentionConfig {
  // Fixed by the problem.
  std::string dtype = "f16"; ///< "f16" or "bf16"
  int headDim = 64;
  bool causal = false;      ///< top-left aligned (key j <= query i)
  int intMultiple = 1;      ///< a power of two dividing every stride
  bool varlen = false;      ///< packed sequences with cu_seqlens offsets
  std::string scoreMod = "none"; ///< a registered ScoreMod's name, or "none"
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
  };
  Schedule dkdv, dq;
  int preprocessBlockM = 64;
  std::string scoreMod = "none"; ///< a registered ScoreMod's name, or "none"

  dsl::Params preprocessParams() const;
  dsl::Params dkdvParams() const;
  dsl::Params dqParams() const;
  dsl::Params dqConvertParams() const;
};

/// The backward schedule for a problem on a GPU of compute capability
/// `ccMajor`.x, with the problem's fields set.
AttentionBackwardConfig attentionBackwardConfigFor(int ccMajor, const std::string &dtype,
                                                   int headDim, bool causal);

/// Head dims the attention kernels are compiled for.
inline constexpr int kAttentionHeadDims[] = {64, 128, 256};

} // namespace tessera::kernels
