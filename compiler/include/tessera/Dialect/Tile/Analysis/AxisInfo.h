//===- AxisInfo.h - contiguity, divisibility and constancy of tiles -------===//
//
// What the lowering needs to turn per-element memory accesses into vector
// accesses: along the last dimension of a tile, how long the runs of
// consecutive integers are (contiguity), what power of two divides the
// first element of every run (divisibility; bytes for pointers), and how long
// the runs of equal values are (constancy).  Runs are aligned: a run of
// length L starts at a multiple of L along the dimension.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

namespace tessera::tile {

struct AxisInfo {
  int64_t contiguity = 1;
  int64_t divisibility = 1;
  int64_t constancy = 1;
  /// Divisibility every element has (not just the first of a run).
  int64_t elementDivisibility() const { return contiguity > 1 ? 1 : divisibility; }
};

/// The largest divisibility tracked: 2^30 (zero is divisible by anything).
inline constexpr int64_t kMaxDivisibility = int64_t(1) << 30;

/// Forward analysis over one kernel, in program order.  Values it knows
/// nothing about (loaded data, loop-carried tiles) get the all-ones default.
class AxisInfoAnalysis {
public:
  explicit AxisInfoAnalysis(mlir::func::FuncOp func);
  AxisInfo get(mlir::Value v) const;

private:
  void visit(mlir::Operation *op);
  llvm::DenseMap<mlir::Value, AxisInfo> info;
};

} // namespace tessera::tile
