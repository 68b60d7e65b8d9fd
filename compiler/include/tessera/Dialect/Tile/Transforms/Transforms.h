//===- Transforms.h - reusable rewrites of the `tile` dialect -------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "tessera/Dialect/Tile/IR/TileDialect.h"
#include "tessera/Target/Target.h"

namespace tessera::tile {

/// How the elements of a distributed tensor sit in the threads of a block:
/// a `#tile.blocked` layout, or a `#tile.mma` accumulator layout (then
/// `warpsM` is non-zero).
struct LayoutInfo {
  unsigned vec;       ///< contiguous elements per chunk (2 for mma)
  unsigned threads;   ///< threads of the block
  int64_t numel;      ///< elements of the tensor
  unsigned warpsM = 0, warpsN = 0; ///< #tile.mma only
  int64_t rows = 0, cols = 0;      ///< #tile.mma only: the 2-D shape
  /// #tile.mma on an [M] or [M, 1] tensor: one value per accumulator row,
  /// held by every thread that holds that row (a row reduction's result).
  bool rowSlice = false;
  /// Elements each thread holds in registers (1 when replicated); 64-bit,
  /// so that an absurd tile (2^40 elements) is counted, not wrapped.
  int64_t regs() const {
    if (rowSlice)
      return 2 * rows / (16 * warpsM);
    return numel >= threads ? numel / threads : 1;
  }
  /// Several threads hold the same element.
  bool replicated() const { return rowSlice || numel < int64_t(threads); }
  bool isMma() const { return warpsM != 0; }
};

/// The shared-memory layout of `type`, or null when it is not in shared memory.
SharedLayoutAttr getSharedLayout(mlir::Type type);

/// Swizzle width (bytes) `tile-assign-layouts` gives a shared tile whose
/// contiguous rows are `rowBytes` long: the widest of 128/64/32 that fits,
/// 16 (none) below 32.
unsigned chooseSwizzle(int64_t rowBytes);

/// Whether `v` is index arithmetic (aranges, splats, splat constants,
/// expand_dims, broadcasts, addptr and arith ops over them) that any thread
/// can recompute for any element, so that producing it in another layout
/// costs no data movement.
bool isRecomputable(mlir::Value v, unsigned depth = 0);

/// `tile-fold-factors`' rewrites: products by uniform factors folded into
/// one, and positive constant factors moved out of max/min reductions and
/// out of selects against constants they leave unchanged.
void populateFoldFactorsPatterns(mlir::RewritePatternSet &patterns);

/// Rewrites that move `tile.convert_layout`s out of the way: cancel pairs,
/// re-create constants, splats and broadcasts in the wanted layout, carry
/// loop values in the layout their producer inside the loop has, and run
/// element-wise chains in the layout their single consumer wants.
void removeLayoutConversions(mlir::func::FuncOp func);

/// The blocked layout `tile-assign-layouts` chooses for `numel` elements in a
/// block of `threads` threads when no chunk may exceed `maxVec` elements.
BlockedLayoutAttr chooseBlockedLayout(mlir::MLIRContext *ctx, int64_t numel,
                                      unsigned threads, unsigned maxVec);

/// Attach blocked layouts to every tensor of kernel `func`; returns failure
/// (with a diagnostic) when the kernel's shapes cannot be distributed.
mlir::LogicalResult assignLayouts(mlir::func::FuncOp func);

/// The layout of a laid-out tensor type, or failure if it has none.
mlir::FailureOr<LayoutInfo> getLayoutInfo(mlir::RankedTensorType type);

/// Gives every shared-memory tile of `func` a 1024-aligned byte offset by
/// liveness and records the total as `tile.shared_bytes`; fails (with a
/// diagnostic at the tile that does not fit) beyond `maxBytes`.
mlir::LogicalResult allocateShared(mlir::func::FuncOp func, int64_t maxBytes,
                                   llvm::StringRef target);

/// A pass's `target` option as a target description; emits an error on
/// `module` when it does not name one.
mlir::FailureOr<tessera::Target> targetOption(mlir::ModuleOp module, llvm::StringRef target);

/// Warps per block of a kernel (its `tile.num_warps`, default 4).
unsigned getNumWarps(mlir::func::FuncOp func);

} // namespace tessera::tile
