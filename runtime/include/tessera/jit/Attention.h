//===- Attention.h - attention forward and backward over shapes, checked before launch -===//
//
// The library's attention kernels take raw pointers, sizes and strides; these
// are the entry points a user calls with tensors: they check the shapes, the
// head configuration, the dtypes, the strides and the buffer extents, pick
// the kernel specialization (head dim, causal, the largest power-of-two
// divisor of the strides; the schedule is the kernel library's choice for
// the device, kernels::attentionConfigFor / attentionBackwardConfigFor) and
// launch.  Every misuse is a tessera::Error naming the argument, raised before
// anything reaches the GPU.  Causal masks are top-left aligned (query i sees
// keys j <= i) also when seq_q != seq_k, as torch's `is_causal`; FlashAttention's
// varlen functions align bottom-right.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/jit/Jit.h"
#include "tessera/kernels/Attention.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>

namespace tessera::jit {

/// Strides, in elements, of a tensor seen as [batch, heads, seq, head_dim].
/// [b, h, s, d] contiguous: {h*s*d, s*d, d, 1}; [b, s, h, d]: {s*h*d, d, h*d, 1}.
struct AttentionStrides {
  int64_t batch = 0, head = 0, seq = 0, dim = 1;
};

class BlockMask;

/// Dropout on the attention probabilities (FlashAttention's, for training):
/// each (batch, head, query, key) is dropped with probability p, the kept
/// ones scaled by 1 / (1 - p).  The mask comes from Philox4x32-10 keyed by
/// `seed`, counter (key, query, batch * heads + head, offset): the backward
/// regenerates it (call it with the same dropout); use a new seed or offset
/// per step and layer for fresh masks.
struct AttentionDropout {
  float p = 0; ///< in [0, 1)
  uint64_t seed = 0;
  uint32_t offset = 0;
};

struct AttentionProblem {
  int batch = 0, heads = 0, kvHeads = 0; ///< kvHeads 0 = heads
  int seqQ = 0, seqK = 0, headDim = 0;
  bool causal = false;
  float scale = 0; ///< > 0; 0 picks 1 / sqrt(headDim)
  /// A score modifier traced into the kernels (kernels::ScoreMod, e.g.
  /// kernels::scoremods::softcap(30)); registered under its name on use.
  /// The backward uses its derivative: ScoreMod::grad if set, else the
  /// one the DSL derives from its operations (dsl::derivative).
  std::optional<kernels::ScoreMod> scoreMod;
  /// A mask modifier with its block lists (BlockMask, made for this
  /// problem's batch, heads, seqQ and seqK), ANDed with `causal`: the
  /// kernels visit only the blocks it leaves anything in.  A query row it
  /// leaves no key gets output 0 and logsumexp -inf (zero gradients).  With
  /// the varlen entry points the mask sees each sequence's own positions and
  /// lengths (make the BlockMask for batch = the sequences and the longest
  /// lengths; a mask's data then has a row per sequence).
  std::shared_ptr<BlockMask> mask;
  std::optional<AttentionDropout> dropout;
};

/// A mask modifier (kernels::MaskMod, e.g. kernels::maskmods::slidingWindow(1024))
/// over one problem shape, and the lists of its partial and full blocks
/// that the attention kernels walk.  The lists are built on the device by
/// kernel attention_block_mask the first time a kernel needs them (per
/// block size; forward and backward use different ones) and kept, so make
/// one BlockMask and use it for every call of that shape, forward and
/// backward.  A mask that reads data (MaskMod::usesData, e.g. document ids)
/// takes an i32 buffer [batch, n], contiguous, which must outlive the
/// BlockMask; the lists reflect the data when they were built, so make a
/// new BlockMask when the data changes.  Thread-safe.
class BlockMask {
public:
  BlockMask(kernels::MaskMod mod, int batch, int heads, int seqQ, int seqK,
            rt::Buffer *data = nullptr);
  const kernels::MaskMod &mod() const { return mod_; }
  int batch() const { return batch_; }
  int heads() const { return heads_; }
  int seqQ() const { return seqQ_; }
  int seqK() const { return seqK_; }

  /// The lists of one block size, built on `stream` (and kept) if new.
  /// With `offsets` (cu_seqlens_q and _k, a varlen call's; the mask's batch
  /// is then the sequences and seqQ / seqK the longest lengths) they are
  /// built per sequence, over its own lengths, on every call: the offsets
  /// may differ from call to call.  They are rebuilt in place, so varlen
  /// calls sharing a BlockMask must be on one stream (the C API keeps a
  /// BlockMask per stream).
  struct Lists {
    rt::Buffer counts, indices;
    bool stale = false;
  };
  const Lists &lists(Jit &jit, int blockM, int blockN, bool causal, bool transposed,
                     CUstream stream, const std::vector<rt::Arg> *offsets = nullptr);
  /// Marks every list stale: the next use rebuilds it in place from the
  /// data (after the data changed; on the stream of the calls that use it).
  void invalidate();
  /// The kernel arguments that follow a masked kernel's others: the lists,
  /// then the data and its batch stride if the mask reads data.
  void pushArgs(std::vector<rt::Arg> &args, const Lists &l) const;

private:
  kernels::MaskMod mod_;
  int batch_, heads_, seqQ_, seqK_;
  rt::Buffer *data_;
  int dataStride_ = 0;
  std::mutex mu_;
  std::map<std::tuple<int, int, bool, bool, bool>, std::unique_ptr<Lists>> lists_;
};

/// O = softmax(Q K^T * scale) V and the row logsumexp, for q/o of
/// [batch, heads, seqQ, headDim] and k/v of [batch, kvHeads, seqK, headDim]
/// (f16 or bf16, all the same), lse f32 [batch * heads * seqQ] contiguous.
void attentionForward(Jit &jit, const AttentionProblem &p, rt::Buffer &q, AttentionStrides sq,
                      rt::Buffer &k, AttentionStrides sk, rt::Buffer &v, AttentionStrides sv,
                      rt::Buffer &o, AttentionStrides so, rt::Buffer &lse,
                      CUstream stream = nullptr);

/// Variable-length batch: sequence b of q and o is rows cuSeqlensQ[b] ..
/// cuSeqlensQ[b + 1] - 1 of the packed [total_q, heads, head_dim] tensors (row
/// stride `seq`, head stride `head`; `batch` strides are ignored), likewise k
/// and v with cuSeqlensK (i32 buffers of batch + 1 offsets); p.seqQ / p.seqK
/// are the longest lengths; causal masks align each sequence's first query
/// and key; lse is [batch, heads, p.seqQ].  The offsets are read back (two
/// small copies, synchronous) and checked before launch: non-decreasing,
/// each length within p.seqQ / p.seqK, a key in every sequence with queries,
/// rows inside the buffers.
void attentionForwardVarlen(Jit &jit, const AttentionProblem &p, rt::Buffer &q,
                            AttentionStrides sq, rt::Buffer &k, AttentionStrides sk,
                            rt::Buffer &v, AttentionStrides sv, rt::Buffer &o,
                            AttentionStrides so, rt::Buffer &lse, rt::Buffer &cuSeqlensQ,
                            rt::Buffer &cuSeqlensK, CUstream stream = nullptr);

/// What attentionBackward may be told beyond the problem.
struct AttentionBackwardOptions {
  /// Bit-identical gradients run to run (the default): dQ from a kernel of
  /// its own that recomputes the scores, seven matmuls.  false: FlashAttention-2's
  /// schedule, dQ summed across key blocks with f32 atomics inside the dK/dV
  /// pass (five matmuls, an f32 accumulator in the workspace, sums whose
  /// order varies).  On the H200 (2026-12-03) the atomics cost more than the
  /// two matmuls they save: 0.59-0.77x the deterministic speed
  /// (bench/results/attention-bwd_h200_2026-12-03.md).
  bool deterministic = true;
  /// Deterministic schedule on a GPU: the dQ kernel runs on a second stream
  /// (Jit::sideStream) beside the dK/dV kernel, which reads the same inputs
  /// and writes other outputs; both start after the preprocess and the call
  /// returns with the caller's stream waiting for both (a fork and join of
  /// events).  Under CUDA graph capture the fork goes through a stream of
  /// the call's own and becomes two branches of the graph.  false: one
  /// after the other on the caller's stream.  The gradients are the same
  /// bits either way.
  bool concurrentDq = true;
  /// Replace the kernel library's schedule (attentionBackwardConfigFor) of
  /// the dK/dV or the (deterministic) dQ kernel: for tuning and benchmarks.
  std::optional<kernels::AttentionBackwardConfig::Schedule> dkdv, dq;
};

/// Bytes of the f32 workspace attentionBackward needs: D = rowsum(dO * O)
/// (batch * heads * seqQ values) and, with options.deterministic false, the dQ
/// accumulator (batch * heads * seqQ * headDim values; a problem whose
/// accumulator would pass 2^31 values runs deterministically instead).
size_t attentionBackwardWorkspaceBytes(const AttentionProblem &p,
                                       const AttentionBackwardOptions &options = {});

/// The gradients of attentionForward: dq, dk, dv (shaped and typed like q, k,
/// v) from the forward's q, k, v, o and lse and the output gradient dO
/// (shaped like o), the same problem `p` (causal masks are top-left aligned,
/// as in the forward).  Grouped-query: dk/dv sum over the query heads that
/// share a K/V head.  `workspace`: an f32 buffer of at least
/// attentionBackwardWorkspaceBytes(p, options).  dq, dk, dv and the
/// workspace must be distinct buffers, none of them an input.  Three
/// launches on `stream`: D, dK/dV per key block, then dQ per query block,
/// every gradient element written by one program in a fixed order (the same
/// bits run to run); with options.deterministic false: D (and zeroing dQ's
/// accumulator), dK/dV per key block adding dQ's shares atomically, then dq
/// from its accumulator.
void attentionBackward(Jit &jit, const AttentionProblem &p, rt::Buffer &q, AttentionStrides sq,
                       rt::Buffer &k, AttentionStrides sk, rt::Buffer &v, AttentionStrides sv,
                       rt::Buffer &o, AttentionStrides so, rt::Buffer &dO, AttentionStrides sdo,
                       rt::Buffer &lse, rt::Buffer &dq, AttentionStrides sdq, rt::Buffer &dk,
                       AttentionStrides sdk, rt::Buffer &dv, AttentionStrides sdv,
                       rt::Buffer &workspace, CUstream stream = nullptr,
                       const AttentionBackwardOptions &options = {});

/// The backward of attentionForwardVarlen: packed sequences as there
/// (cu_seqlens offsets checked the same way, batch strides ignored, lse
/// [batch, heads, p.seqQ]); dq/dk/dv packed like q/k/v.
void attentionBackwardVarlen(Jit &jit, const AttentionProblem &p, rt::Buffer &q,
                             AttentionStrides sq, rt::Buffer &k, AttentionStrides sk,
                             rt::Buffer &v, AttentionStrides sv, rt::Buffer &o,
                             AttentionStrides so, rt::Buffer &dO, AttentionStrides sdo,
                             rt::Buffer &lse, rt::Buffer &dq, AttentionStrides sdq,
                             rt::Buffer &dk, AttentionStrides sdk, rt::Buffer &dv,
                             AttentionStrides sdv, rt::Buffer &cuSeqlensQ, rt::Buffer &cuSeqlensK,
                             rt::Buffer &workspace, CUstream stream = nullptr,
                             const AttentionBackwardOptions &options = {});

} // namespace tessera::jit
