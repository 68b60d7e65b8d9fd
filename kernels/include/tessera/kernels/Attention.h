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
#include <string>

namespace tessera::kernels {

/// Every compile-time parameter of attention_fwd.
struct AttentionConfig {
  // Fixed by the problem.
  std::string dtype = "f16"; ///< "f16" or "bf16"
  int headDim = 64;
  bool causal = false;      ///< top-left aligned (key j <= query i)
  int intMultiple = 1;      ///< a power of two dividing every stride
  bool varlen = false;      ///< packed sequences with cu_seqlens offsets
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
