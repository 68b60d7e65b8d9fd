//===- SoftwarePipeline.cpp - tile-pipeline -------------------------------===//
//
// Overlaps the global->shared loads of a loop with the tensor-core work on
// earlier iterations: the loads of the next `stages - 1` iterations are in
// flight (cp.async) while one iteration computes.
//
//   scf.for %k = %lb to %ub step %s iter_args(%acc = ...) {
//     %a = tile.load %pa(%k) : ... -> tensor<128x64xf16, #shared>
//     %d = tile.dot %a, ...
// becomes, for 3 stages,
//   %buf = tile.alloc_shared : tensor<3x128x64xf16, #shared>
//   tile.async_load %pa(%lb) into %buf[0] mask (%lb < %ub)
//   tile.async_load %pa(%lb + %s) into %buf[1] mask (%lb + %s < %ub)
//   scf.for %k ... {
//     tile.async_wait {pending = 1}           // iteration k's copy landed
//     %a = tile.shared_slot %buf[i mod 3]
//     tile.async_load %pa(%k + 2 %s) into %buf[(i + 2) mod 3] mask (...)
//     %d = tile.dot %a, ...
//   }
//   tile.async_wait {pending = 0}
//
// A load is pipelined when it writes a shared tile (tile-promote-shared
// made it one), has no `other`, and its pointers and mask are computed in
// the loop body from the induction variable and values defined outside
// the loop only (they are recomputed for later iterations).  The buffers
// are then (re)allocated.  Lit: tests/lit/Transforms/tile-pipeline.mlir.
//
//===----------------------------------------------------------------------===//
#include "tessera/Dialect/Tile/Transforms/Passes.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

#define DEBUG_TYPE "tile-pipeline"

namespace tessera::tile {
#define GEN_PASS_DEF_TILEPIPELINE
#include "tessera/Dialect/Tile/Transforms/Passes.h.inc"
} // namespace tessera::tile

using namespace mlir;
using namespace tessera::tile;

namespace {

/// Adds to `slice` (in body order) the ops of `loop`'s body that `v`
/// depends on; fails if any is not pure or depends on a loop-carried value.
bool collectSlice(scf::ForOp loop, Value v, llvm::SetVector<Operation *> &slice) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != loop.getBody())
      return true; // defined outside
    return arg == loop.getInductionVar();
  }
  Operation *def = v.getDefiningOp();
  if (!loop.getBody()->findAncestorOpInBlock(*def))
    return true; // defined outside the loop
  if (def->getBlock() != loop.getBody() || def->getNumRegions() != 0 || !isPure(def))
    return false;
  if (slice.contains(def))
    return true;
  for (Value o : def->getOperands())
    if (!collectSlice(loop, o, slice))
      return false;
  slice.insert(def);
  return true;
}

/// `iv < ub` as an i1 tile shaped like `like`.
Value guard(OpBuilder &b, Location loc, Value iv, Value ub, RankedTensorType like) {
  Value c = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, iv, ub);
  auto t = RankedTensorType::get(like.getShape(), b.getI1Type(), like.getEncoding());
  return SplatOp::create(b, loc, t, c);
}

bool pipelineLoop(scf::ForOp loop, unsigned stages, bool asyncDots) {
  Block *body = loop.getBody();
  SmallVector<LoadOp> loads;
  llvm::SetVector<Operation *> slice;
  for (Operation &op : *body) {
    auto load = dyn_cast<LoadOp>(op);
    if (!load || !getSharedLayout(load.getType()) || load.getOther() ||
        !isa<RankedTensorType>(load.getPtr().getType()))
      continue;
    auto t = cast<RankedTensorType>(load.getType());
    // Every slot must start on a swizzle period.
    if (t.getNumElements() * getElementByteSize(t) % 1024 != 0)
      continue;
    llvm::SetVector<Operation *> s(slice);
    bool ok = collectSlice(loop, load.getPtr(), s) &&
              (!load.getMask() || collectSlice(loop, load.getMask(), s));
    if (!ok)
      continue;
    slice = std::move(s);
    loads.push_back(load);
  }
  if (loads.empty())
    return false;
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });

  Location loc = loop.getLoc();
  OpBuilder b(loop);
  Type i32 = b.getI32Type();
  auto cst = [&](int64_t v) { return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(v))); };
  Value lb = loop.getLowerBound(), ub = loop.getUpperBound(), step = loop.getStep();
  if (lb.getType() != i32)
    return false;

  SmallVector<Value> bufs;
  for (LoadOp load : loads) {
    auto t = cast<RankedTensorType>(load.getType());
    SmallVector<int64_t> shape{int64_t(stages)};
    llvm::append_range(shape, t.getShape());
    bufs.push_back(AllocSharedOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType(), t.getEncoding())));
  }
  // Issues the loads of the iteration whose induction variable is `iv`
  // into slot `slot`, masked off past the end of the loop.
  auto issue = [&](Value iv, Value slot) {
    IRMapping map;
    map.map(loop.getInductionVar(), iv);
    for (Operation *op : ordered)
      b.clone(*op, map);
    for (auto [load, buf] : llvm::zip(loads, bufs)) {
      Value ptr = map.lookupOrDefault(load.getPtr());
      Value mask = guard(b, loc, iv, ub, cast<RankedTensorType>(ptr.getType()));
      if (load.getMask())
        mask = arith::AndIOp::create(b, loc, map.lookupOrDefault(load.getMask()), mask);
      AsyncLoadOp::create(b, loc, ptr, buf, slot, mask);
    }
  };
  // Prologue: iterations 0 .. stages-2.
  for (unsigned j = 0; j + 1 < stages; ++j) {
    Value iv = arith::AddIOp::create(b, loc, lb, arith::MulIOp::create(b, loc, step, cst(j)));
    issue(iv, cst(j));
  }
  // Steady state.
  b.setInsertionPointToStart(body);
  AsyncWaitOp::create(b, loc, b.getI32IntegerAttr(int32_t((stages - 2) * loads.size())));
  Value idx = arith::DivSIOp::create(
      b, loc, arith::SubIOp::create(b, loc, loop.getInductionVar(), lb), step);
  Value slot = arith::RemSIOp::create(b, loc, idx, cst(stages));
  for (auto [load, buf] : llvm::zip(loads, bufs)) {
    Value view = SharedSlotOp::create(b, loc, load.getType(), buf, slot);
    load.getResult().replaceAllUsesWith(view);
  }
  // Dots on the slots whose accumulator is only carried to the next
  // iteration may run asynchronously (wgmma): the next one chains on the
  // same registers without a wait.  Before a slot is refilled, the dot of
  // the previous iteration (which read it) must be done in every warp.
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  SmallVector<unsigned> asyncResults;
  if (asyncDots)
    for (Operation &op : *body) {
      auto dot = dyn_cast<DotOp>(op);
      auto arg = dot ? dyn_cast<BlockArgument>(dot.getAcc()) : BlockArgument();
      if (!dot || !arg || arg.getOwner() != body || arg == loop.getInductionVar() ||
          !dot->hasOneUse() || *dot->getUsers().begin() != yield.getOperation() ||
          !arg.hasOneUse() || !isa_and_nonnull<SharedSlotOp>(dot.getA().getDefiningOp()))
        continue;
      unsigned i = arg.getArgNumber() - 1;
      if (yield.getOperand(i) != dot.getResult())
        continue;
      dot->setAttr("tile.async", b.getUnitAttr());
      asyncResults.push_back(i);
    }
  b.setInsertionPoint(yield);
  if (!asyncResults.empty())
    DotWaitOp::create(b, loc, TypeRange{}, ValueRange{}, b.getI32IntegerAttr(1), b.getUnitAttr());
  Value ahead = arith::AddIOp::create(
      b, loc, loop.getInductionVar(), arith::MulIOp::create(b, loc, step, cst(stages - 1)));
  issue(ahead, arith::RemSIOp::create(b, loc, arith::AddIOp::create(b, loc, idx, cst(stages - 1)),
                                      cst(stages)));
  for (LoadOp load : loads)
    load.erase();
  // Drain before anything after the loop reuses the memory or reads the
  // accumulators.
  b.setInsertionPointAfter(loop);
  AsyncWaitOp::create(b, loc, b.getI32IntegerAttr(0));
  if (!asyncResults.empty()) {
    SmallVector<Value> accs;
    for (unsigned i : asyncResults)
      accs.push_back(loop.getResult(i));
    auto wait = DotWaitOp::create(b, loc, ValueRange(accs).getTypes(), accs,
                                  b.getI32IntegerAttr(0), UnitAttr());
    for (auto [acc, waited] : llvm::zip(accs, wait.getResults()))
      acc.replaceAllUsesExcept(waited, wait);
  }
  return true;
}

struct TilePipelinePass : tessera::tile::impl::TilePipelineBase<TilePipelinePass> {
  using TilePipelineBase::TilePipelineBase;
  void runOnOperation() override {
    int64_t limit = maxSharedBytesFor(target);
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(TileDialect::getKernelAttrName()))
        continue;
      unsigned stages = numStages;
      if (auto a = func->getAttrOfType<IntegerAttr>(TileDialect::getNumStagesAttrName()))
        stages = unsigned(a.getInt());
      if (stages < 2)
        continue;
      SmallVector<scf::ForOp> loops;
      func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
      bool changed = false;
      for (scf::ForOp loop : loops)
        changed |= pipelineLoop(loop, stages, StringRef(target) == "sm_90a");
      if (changed && failed(allocateShared(func, limit, target)))
        return signalPassFailure();
    }
  }
};

} // namespace
