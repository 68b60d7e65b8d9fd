//===- TmaWindow.h - which tile loads a TMA tensor map can describe -------===//
//
// A load can go through TMA when its pointer tile is a 2-D window of a
// strided tensor whose base, strides and extents the host knows (kernel
// arguments), so the launcher can describe the tensor in a tensor map:
//
//   ptr[i0, i1] = base + (start0 + i0) * stride0 + (start1 + i1) * stride1
//   mask[i0, i1] = (start0 + i0 < extent0) & (start1 + i1 < extent1)
//
// where start_d + i_d is one 1-D index vector (`splat(s) + arange`) along
// tile axis d, each stride is an i32 kernel argument or the constant 1 (the
// contiguous axis must be the unit one), each mask term is optional (no term:
// the window is promised in bounds) and compares the same index vector the
// address uses against an i32 kernel argument.  TMA zero-fills what lies
// outside the extents, exactly what the mask asks for.  `base` may also be
// a pointer argument advanced by scalar terms `x * stride` (attention's
// batch and head offsets, stride an i32 argument): each becomes one more
// map dimension, unbounded, with coordinate x and a box of extent 1.
//
// Used by tile-pipeline (the loads of a pipelined loop) and
// tile-warp-specialize (the loads outside the loops the producer issues).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Dialect/Tile/IR/TileDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <optional>

namespace tessera::tile {

/// One tile axis of a TMA window.
struct TmaWindowAxis {
  mlir::Value vec;                       ///< the 1-D index vector start + i
  llvm::SmallVector<mlir::Value> startParts; ///< scalars summing (with startConst) to start
  int64_t startConst = 0;
  mlir::BlockArgument stride;            ///< null: constant 1
  mlir::BlockArgument extent;            ///< null: unbounded
  bool seen = false;
};

struct TmaWindow {
  mlir::BlockArgument base;
  TmaWindowAxis axes[2];
  /// Scalar offsets of the base: (x, stride argument), innermost first.
  llvm::SmallVector<std::pair<mlir::Value, mlir::BlockArgument>> outer;
};

/// The TMA window `load` (of kernel `func`) reads, if the launcher can
/// describe it in a tensor map that the TMA unit accepts for every argument
/// the launcher admits; nullopt otherwise.
std::optional<TmaWindow> matchTmaWindow(LoadOp load, mlir::func::FuncOp func);

/// Adds to `func` the kernel argument carrying the tensor map of window `w`
/// for tiles like `t` and returns it; the launcher builds the map from the
/// arguments its `tile.tensor_map` attribute names.
mlir::Value addTensorMap(mlir::func::FuncOp func, const TmaWindow &w, mlir::RankedTensorType t);

/// Start of window axis `ax` as an i32, its scalars looked up in `map`.
mlir::Value tmaAxisStart(mlir::OpBuilder &b, mlir::Location loc, const TmaWindowAxis &ax,
                         mlir::IRMapping &map);

} // namespace tessera::tile
