//===- Transforms.h - reusable rewrites of the `tile` dialect -------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "tessera/Dialect/Tile/IR/TileDialect.h"

namespace tessera::tile {

/// Number of elements a thread owns contiguously in `layout` for a tensor of
/// `numel` elements, and how many it owns in all.
struct LayoutInfo {
  unsigned vec;       ///< contiguous elements per chunk
  unsigned threads;   ///< threads of the block
  int64_t numel;      ///< elements of the tensor
  /// Elements each thread holds in registers (1 when replicated).
  unsigned regs() const { return numel >= threads ? unsigned(numel / threads) : 1; }
  /// Fewer elements than threads: several threads hold the same element.
  bool replicated() const { return numel < int64_t(threads); }
};

/// The blocked layout `tile-assign-layouts` chooses for `numel` elements in a
/// block of `threads` threads when no chunk may exceed `maxVec` elements.
BlockedLayoutAttr chooseBlockedLayout(mlir::MLIRContext *ctx, int64_t numel,
                                      unsigned threads, unsigned maxVec);

/// Attach blocked layouts to every tensor of kernel `func`; returns failure
/// (with a diagnostic) when the kernel's shapes cannot be distributed.
mlir::LogicalResult assignLayouts(mlir::func::FuncOp func);

/// The layout of a laid-out tensor type, or failure if it has none.
mlir::FailureOr<LayoutInfo> getLayoutInfo(mlir::RankedTensorType type);

/// Warps per block of a kernel (its `tile.num_warps`, default 4).
unsigned getNumWarps(mlir::func::FuncOp func);

} // namespace tessera::tile
