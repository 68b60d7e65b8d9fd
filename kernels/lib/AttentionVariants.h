//===- AttentionVariants.h - score and mask modifiers inside the attention kernels -===//
//
// What the forward and backward attention kernels share to run a mask
// modifier (MASK_MOD): the block lists of attention_block_mask as kernel
// arguments, the walk over them (partial blocks with the element mask, then
// full blocks without it), and the element mask itself.  Internal to
// kernels/lib.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/kernels/Attention.h"

#include <optional>

namespace tessera::kernels {

/// A kernel's view of its MASK_MOD parameter.  Declare its arguments after
/// every other argument of the kernel (declareArgs); then walk() replaces
/// the loop over every key (or query) block.
class MaskedBlocks {
public:
  explicit MaskedBlocks(const dsl::Params &p);
  explicit operator bool() const { return mod.has_value(); }

  /// bm_counts, bm_indices (i32), and mask_data with its batch stride if
  /// the mask reads data.
  void declareArgs(dsl::Kernel &k);

  /// The element mask of (batch, head) over query x key positions (tiles
  /// that broadcast), the mask modifier's predicate only.
  dsl::Tile allowed(const dsl::Scalar &batch, const dsl::Scalar &head, const dsl::Tile &query,
                    const dsl::Tile &key, const dsl::Scalar &seqQ,
                    const dsl::Scalar &seqK) const;

  /// Calls body(block, masked) for each listed block of row `row` (a block
  /// index along the kernel's own axis) of (batch, head): first the partial
  /// blocks (masked = true: apply allowed() and the bounds), then the full
  /// ones (masked = false: every element in bounds and allowed).  `rows` and
  /// `cols` are the block counts of the lists (rows: this kernel's axis).
  void walk(const dsl::Scalar &row, const dsl::Scalar &rows, const dsl::Scalar &cols,
            const dsl::Scalar &batch, const dsl::Scalar &head, const dsl::Scalar &heads,
            std::initializer_list<dsl::Var> carried,
            const std::function<void(const dsl::Scalar &block, bool masked)> &body) const;

  const dsl::Ptr &countsPtr() const { return counts; }
  const dsl::Ptr &indicesPtr() const { return indices; }

private:
  std::optional<MaskMod> mod;
  dsl::Ptr counts, indices, data;
  dsl::Scalar dataStride;
};

/// A kernel's view of its DROPOUT parameter (issue 21): FlashAttention's
/// dropout on P.  Element (bh, query i, key j) is kept when the top 24 bits
/// of Philox4x32-10's first word for counter (j, i, bh, offset) under the
/// 64-bit seed reach `threshold` (= round(p * 2^24)), and scaled by
/// 1 / (1 - p); the backward regenerates the same mask from the same
/// counters.  Declare its arguments after every other (after MaskedBlocks').
class Dropout {
public:
  explicit Dropout(const dsl::Params &p) : on(p.flag("DROPOUT")) {}
  explicit operator bool() const { return on; }
  /// dropout_threshold (i32), dropout_scale (f32), seed_lo, seed_hi,
  /// dropout_offset (i32).
  void declareArgs(dsl::Kernel &k);
  /// x where kept (times the scale), 0 where dropped: x is a block of
  /// (bh, query, key), positions as tiles that broadcast to x's shape.
  dsl::Tile apply(const dsl::Tile &x, const dsl::Scalar &bh, const dsl::Tile &query,
                  const dsl::Tile &key) const;

private:
  bool on;
  dsl::Scalar threshold, scale, seedLo, seedHi, offset;
};

} // namespace tessera::kernels
