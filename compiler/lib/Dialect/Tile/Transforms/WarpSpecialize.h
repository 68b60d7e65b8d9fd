//===- WarpSpecialize.h - what tile-pipeline needs of warp specialization -===//
//
// Private to the Tile transforms.  tile-pipeline decides per loop whether
// a producer warpgroup will issue its TMA copies and, if so, builds the
// producer's issue loop (marked `tile.producer_loop`) in place of the
// prologue and refills; tile-warp-specialize then moves those loops into
// the producer region.  These are the rules both passes must agree on.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Dialect/Tile/IR/TileDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace tessera::tile {

/// Warps of the producer warpgroup (setmaxnreg and wgmma act per
/// warpgroup, so the consumers come in whole warpgroups too).
inline constexpr unsigned kProducerWarps = 4;

/// Whether a kernel of `consumerWarps` warps can get a producer warpgroup:
/// whole consumer warpgroups, and with the producers at most the threads
/// one block may have.
bool fitsProducerWarpgroup(unsigned consumerWarps);

/// Whether every value `op` (and ops nested in it) uses from outside can be
/// recomputed at the start of the producer region (see WarpSpecialize.cpp);
/// `entry` is the kernel's entry block, `tileBody` the body of a persistent
/// kernel's loop over tiles (or null).
bool recomputableInside(mlir::Operation *op, mlir::Block *entry, mlir::Block *tileBody);

/// The loop over tiles of a persistent kernel that `loop` sits in directly
/// (an scf.for marked `tile.ring_count`), or null.
mlir::scf::ForOp tileLoopOf(mlir::scf::ForOp loop);

/// Gives every loop at the top of warp-specialized kernel `func` that
/// holds loops of its own (a persistent kernel's loop over tiles) one more
/// iter_arg, the ring count, and marks it `tile.ring_count`.
void addRingCounts(mlir::func::FuncOp func);

} // namespace tessera::tile
