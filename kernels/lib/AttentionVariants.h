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
#include <utility>

namespace tessera::kernels {

/// mod.fn over the scaled scores `s` (f32) and positions that broadcast to
/// them, as a tile of s's shape and type: a result that ignores the score
/// (a [1, N] row of positions) is broadcast, f16/bf16 widened; anything
/// else is a tessera::Error naming the modifier.
dsl::Tile applyScoreMod(const ScoreMod &mod, const dsl::Tile &s, const dsl::Scalar &batch,
                        const dsl::Scalar &head, const dsl::Tile &query, const dsl::Tile &key);

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

  /// The lists' shape for blocks of BLOCK_M queries x BLOCK_N keys: the
  /// count of rows (query blocks; key blocks if `transposed`) and of
  /// columns (the other axis).
  static std::pair<dsl::Scalar, dsl::Scalar> rowsAndCols(const dsl::Scalar &seqQ,
                                                         const dsl::Scalar &seqK, int64_t bm,
                                                         int64_t bn, bool transposed);

  /// One row of the lists (BlockMaskConfig's layout, the only place it is
  /// spelled): row `row` of list set `set` (a (batch, head) index among
  /// the sets kept) holds `cols` + kBlockListPad partial entries, then as
  /// many full ones; its two counts are adjacent.
  struct ListRow {
    dsl::Ptr partial, full, counts;
  };
  ListRow listRow(const dsl::Scalar &set, const dsl::Scalar &rows, const dsl::Scalar &row,
                  const dsl::Scalar &cols) const;

  /// Calls body(block, masked) for each listed block of row `row` (a block
  /// index along the kernel's own axis) of (batch, head): first the partial
  /// blocks (masked = true: apply allowed() and the bounds), then the full
  /// ones (masked = false: every element in bounds and allowed).  `rows` and
  /// `cols` are the block counts of the lists (rowsAndCols).
  void walk(const dsl::Scalar &row, const dsl::Scalar &rows, const dsl::Scalar &cols,
            const dsl::Scalar &batch, const dsl::Scalar &head, const dsl::Scalar &heads,
            std::initializer_list<dsl::Var> carried,
            const std::function<void(const dsl::Scalar &block, bool masked)> &body) const;

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
