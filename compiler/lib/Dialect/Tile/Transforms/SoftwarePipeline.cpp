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
// are then (re)allocated.  On sm_90a the copies go through TMA when every
// pipelined load of the loop is a window a tensor map can describe
// (Analysis/TmaWindow.h): `tile.barrier_wait` replaces `tile.async_wait`
// and one thread issues `tile.tma_load` after arming the slot's mbarrier;
// when no dot accumulates across iterations (attention), each load has its
// own ring and is refilled as soon as it has been read (see `early` below).
//
// In a kernel marked `tile.warp_specialize` such a loop gets, instead of a
// prologue and refills, "empty" rings the consumers arrive on and a
// producer loop (`tile.producer_loop`) that waits for a free slot and
// issues the copies; a persistent kernel's loop over tiles carries the
// ring count (`tile.ring_count`).  tile-warp-specialize, which must run
// next, moves the producer loops into a producer warpgroup (until then the
// kernel is not runnable) and allocates the kernel's shared memory.
// Lit: tests/lit/Transforms/tile-pipeline.mlir.
//
//===----------------------------------------------------------------------===//
#include "WarpSpecialize.h"

#include "tessera/Dialect/Tile/Analysis/TmaWindow.h"
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

/// Whether scalar `v` is at least 1 by construction: a positive constant, or
/// max(x, c) with a positive constant c.
bool positive(Value v) {
  APInt c;
  if (matchPattern(v, m_ConstantInt(&c)))
    return c.isStrictlyPositive();
  if (auto max = v.getDefiningOp<arith::MaxSIOp>())
    return positive(max.getLhs()) || positive(max.getRhs());
  return false;
}

/// Whether `op` may run for an iteration the loop never reaches (the
/// refills compute the addresses of later iterations): pure, an integer
/// division whose divisor is positive by construction (MLIR counts any
/// division by a non-constant as possibly trapping; a kernel that flattens
/// two loops into one divides its induction variable by a trip count it
/// clamps to 1), or a scalar load marked `speculative` (a block-sparse
/// loop's block index, read from a padded list).
bool speculatable(Operation *op) {
  if (isPure(op))
    return true;
  if (auto load = dyn_cast<LoadOp>(op))
    return load.getSpeculative();
  if (isa<arith::DivSIOp, arith::RemSIOp, arith::DivUIOp, arith::RemUIOp>(op))
    return positive(op->getOperand(1)) && isMemoryEffectFree(op);
  return false;
}

/// Adds to `slice` (in body order) the ops of `loop`'s body that `v`
/// depends on; fails if any cannot be speculated or depends on a
/// loop-carried value.
bool collectSlice(scf::ForOp loop, Value v, llvm::SetVector<Operation *> &slice) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != loop.getBody())
      return true; // defined outside
    return arg == loop.getInductionVar();
  }
  Operation *def = v.getDefiningOp();
  if (!loop.getBody()->findAncestorOpInBlock(*def))
    return true; // defined outside the loop
  if (def->getBlock() != loop.getBody() || def->getNumRegions() != 0 || !speculatable(def))
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

/// Whether `op` (or an op nested in it) uses `v`.
bool usesValue(Operation *op, Value v) {
  bool found = false;
  op->walk([&](Operation *o) {
    found |= llvm::is_contained(o->getOperands(), v);
    return found ? WalkResult::interrupt() : WalkResult::advance();
  });
  return found;
}

/// Where `block` reads the shared slot `view` (through views of it such as
/// a transpose): the first op (of `block`) that reads it, and the wait that
/// retires the last read when that read is an asynchronous dot; null when
/// a synchronous op reads it last (or nothing reads it).
std::pair<Operation *, DotWaitOp> slotReads(Block *block, Value view) {
  SmallVector<Value> aliases{view};
  Operation *first = nullptr, *last = nullptr;
  for (size_t i = 0; i < aliases.size(); ++i)
    for (Operation *user : aliases[i].getUsers()) {
      if (user->getNumResults() == 1 && getSharedLayout(user->getResult(0).getType()) &&
          isPure(user)) {
        aliases.push_back(user->getResult(0)); // a view of the same memory
        continue;
      }
      Operation *done = block->findAncestorOpInBlock(*user);
      if (!done)
        continue;
      if (!first || done->isBeforeInBlock(first))
        first = done;
      // An asynchronous dot has read its operands once its wait returns.
      if (auto dot = dyn_cast<DotOp>(done); dot && dot->hasAttr("tile.async"))
        for (Operation *u : dot->getUsers())
          if (isa<DotWaitOp>(u) && u->getBlock() == block)
            done = u;
      if (!last || last->isBeforeInBlock(done))
        last = done;
    }
  return {first, dyn_cast_or_null<DotWaitOp>(last)};
}

/// Marks the dots of `block` that read a shared B operand `tile.async` and
/// inserts, before the first use of each result, a `tile.dot_wait` for it
/// (and every dot issued before it) that leaves the later dots in flight.
void overlapDotsInBlock(Block *block) {
  SmallVector<DotOp> outstanding; // issue order
  for (Operation &op : llvm::make_early_inc_range(*block)) {
    int last = -1;
    for (auto [i, d] : llvm::enumerate(outstanding))
      if (usesValue(&op, d.getResult()))
        last = int(i);
    if (last >= 0) {
      OpBuilder b(&op);
      SmallVector<Value> done;
      for (int i = 0; i <= last; ++i)
        done.push_back(outstanding[i].getResult());
      auto wait = DotWaitOp::create(b, op.getLoc(), ValueRange(done).getTypes(), done,
                                    b.getI32IntegerAttr(int32_t(outstanding.size()) - 1 - last),
                                    UnitAttr());
      for (auto [v, w] : llvm::zip(done, wait.getResults()))
        v.replaceAllUsesExcept(w, wait);
      outstanding.erase(outstanding.begin(), outstanding.begin() + last + 1);
    }
    auto dot = dyn_cast<DotOp>(op);
    if (dot && getSharedLayout(dot.getB().getType())) {
      dot->setAttr("tile.async", UnitAttr::get(dot.getContext()));
      outstanding.push_back(dot);
    }
  }
}

/// The rings of the last warp-specialized loop, which the next one at the
/// top of the kernel reuses when its loads have the same types: its
/// iterations continue the slot and phase count (`before`: iterations of
/// the loops that used the rings so far).  In a warp-specialized kernel
/// every ring is live throughout, so two loops over the same keys
/// (attention's masked and unmasked blocks) would otherwise need twice the
/// shared memory.
struct RingSet {
  SmallVector<Type> loadTypes;
  SmallVector<Value> bufs, bars, empties;
  SmallVector<unsigned> ringOf;
  unsigned stages = 0;
  Value before; ///< i32, iterations issued into the rings before the loop
};

/// `producers`: the TMA issue loops made for a warp-specialized kernel
/// (see `specialize` below), which tile-warp-specialize moves into the
/// producer warps' region.
bool pipelineLoop(scf::ForOp loop, unsigned stages, const tessera::Target &target,
                  SmallVectorImpl<scf::ForOp> &producers, std::optional<RingSet> &rings) {
  Block *body = loop.getBody();
  auto func = loop->getParentOfType<func::FuncOp>();
  // A persistent kernel's tile loop whose key-block loops got a producer:
  // its own loads (attention's Q) stay where they are.
  if (llvm::any_of(producers, [&](scf::ForOp p) { return loop->isProperAncestor(p); }))
    return false;
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

  // With TMA (sm_90a) every load of the loop goes through it if each one can.
  std::vector<TmaWindow> windows;
  if (target.hasTma)
    for (LoadOp load : loads) {
      std::optional<TmaWindow> w = matchTmaWindow(load, func);
      if (!w) {
        windows.clear();
        break;
      }
      windows.push_back(*w);
    }
  bool tma = !windows.empty();

  SmallVector<Value> bufs, maps;
  for (LoadOp load : loads) {
    auto t = cast<RankedTensorType>(load.getType());
    SmallVector<int64_t> shape{int64_t(stages)};
    llvm::append_range(shape, t.getShape());
    bufs.push_back(AllocSharedOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType(), t.getEncoding())));
  }
  // Dots on the slots whose accumulator is only carried to the next
  // iteration may run asynchronously (wgmma): the next one chains on the
  // same registers without a wait.  Before a slot is refilled, the dot of
  // the previous iteration (which read it) must be done in every warp.
  // That protects the slots only: a B in shared memory that the body loads
  // itself (a tile too small to pipeline, an address carried by the loop)
  // is rewritten by the next iteration while the dot may still read it, so
  // such a dot stays synchronous.
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  auto slotOrInvariant = [&](Value v) {
    while (auto t = v.getDefiningOp<TransOp>())
      v = t.getSrc();
    auto load = v.getDefiningOp<LoadOp>();
    return !getSharedLayout(v.getType()) || (load && llvm::is_contained(loads, load)) ||
           loop.isDefinedOutsideOfLoop(v);
  };
  SmallVector<unsigned> asyncResults;
  if (target.hasWgmma)
    for (Operation &op : *body) {
      auto dot = dyn_cast<DotOp>(op);
      auto arg = dot ? dyn_cast<BlockArgument>(dot.getAcc()) : BlockArgument();
      auto aLoad = dot ? dot.getA().getDefiningOp<LoadOp>() : LoadOp();
      if (!dot || !arg || arg.getOwner() != body || arg == loop.getInductionVar() ||
          !dot->hasOneUse() || *dot->getUsers().begin() != yield.getOperation() ||
          !arg.hasOneUse() || !aLoad || !llvm::is_contained(loads, aLoad) ||
          !slotOrInvariant(dot.getB()))
        continue;
      unsigned i = arg.getArgNumber() - 1;
      if (yield.getOperand(i) != dot.getResult())
        continue;
      dot->setAttr("tile.async", b.getUnitAttr());
      asyncResults.push_back(i);
    }
  // Early refill (TMA, every dot of the iteration done within it): slot
  // i mod S is refilled with iteration i + S as soon as every warp is done
  // reading it in iteration i, each load on its own barrier ring, waited
  // for just before its first read.  Attention's K then arrives while the
  // softmax and P·V of earlier blocks run, and V while the scores do: with
  // 2 stages each copy has about 1.5 iterations to land, where refilling
  // at the end of the iteration (below) leaves it none.  With an
  // accumulate-only async dot (matmul) the dot of iteration i is still in
  // flight at its end, so slot i - 1 is refilled there with i + S - 1.
  // Otherwise the loads of an iteration share one ring.
  bool early = tma && asyncResults.empty();
  SmallVector<Value> bars;      // per ring
  SmallVector<int64_t> bytes;   // per ring and stage
  SmallVector<unsigned> ringOf; // per load
  if (tma) {
    MLIRContext *ctx = b.getContext();
    for (auto [i, load, w] : llvm::enumerate(loads, windows)) {
      auto t = cast<RankedTensorType>(load.getType());
      maps.push_back(addTensorMap(func, w, t));
      if (early || i == 0) {
        bars.push_back(AllocSharedOp::create(
            b, loc, RankedTensorType::get({int64_t(stages), 1, 1}, b.getI64Type(),
                                          SharedLayoutAttr::get(ctx, 1, 16, -1))));
        BarrierInitOp::create(b, loc, bars.back(), b.getI32IntegerAttr(1));
        bytes.push_back(0);
      }
      ringOf.push_back(unsigned(bars.size() - 1));
      bytes.back() += t.getNumElements() * getElementByteSize(t);
    }
  }
  // Issues the loads `which` (indices into `loads`) of the iteration whose
  // induction variable is `iv` into slot `slot`, masked off past the end of
  // the loop.
  SmallVector<unsigned> all = llvm::to_vector(llvm::seq<unsigned>(0, loads.size()));
  auto issue = [&](Value iv, Value slot, ArrayRef<unsigned> which) {
    IRMapping map;
    map.map(loop.getInductionVar(), iv);
    SmallVector<Operation *> clones;
    for (Operation *op : ordered)
      clones.push_back(b.clone(*op, map));
    if (tma) {
      // One thread arms the slot's barrier and issues the copies; nothing
      // is issued for iterations past the end.
      Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, iv, ub);
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{}, inRange, /*withElse=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      for (unsigned i : which) {
        const TmaWindow &w = windows[i];
        unsigned r = ringOf[i];
        if (i == which.front() || r != ringOf[i - 1]) // once per ring
          BarrierExpectOp::create(b, loc, bars[r], slot, b.getI32IntegerAttr(int32_t(bytes[r])));
        unsigned c = getSharedLayout(loads[i].getType()).getContig();
        // Coordinates innermost (contiguous axis) first.
        SmallVector<Value> coords{tmaAxisStart(b, loc, w.axes[c], map),
                                  tmaAxisStart(b, loc, w.axes[1 - c], map)};
        for (auto &[x, stride] : w.outer)
          coords.push_back(map.lookupOrDefault(x));
        TmaLoadOp::create(b, loc, maps[i], coords, bufs[i], slot, bars[r]);
      }
    } else {
      for (unsigned i : which) {
        Value ptr = map.lookupOrDefault(loads[i].getPtr());
        Value mask = guard(b, loc, iv, ub, cast<RankedTensorType>(ptr.getType()));
        if (loads[i].getMask())
          mask = arith::AndIOp::create(b, loc, map.lookupOrDefault(loads[i].getMask()), mask);
        AsyncLoadOp::create(b, loc, ptr, bufs[i], slot, mask);
      }
    }
    // The address tiles TMA does not need.
    for (Operation *op : llvm::reverse(clones))
      if (op->use_empty())
        op->erase();
  };
  // Warp specialization (the kernel asks for it with tile.warp_specialize;
  // early refill; the loop at the top of the kernel): a producer warp runs
  // a loop of its own over the same iterations that waits until slot
  // i mod S is free (an "empty" ring, one arrival per consumer warp),
  // arms the slot's barrier and issues iteration i's copies.  The
  // consumer warps only wait for the data and arrive on the empty ring
  // once they are done reading, so no block-wide barrier stands before a
  // refill.  Everything the producer loop uses from outside is
  // recomputed in the producer warps: tile-warp-specialize moves the loop
  // (marked tile.producer_loop) there once all loops are done.
  SmallVector<Value> empties;
  // A persistent kernel's loops over key blocks sit in its loop over tiles;
  // the rings' slot and phase then carry on from tile to tile (the tile
  // loop's ring count: iterations issued for earlier tiles).
  scf::ForOp tileLoop = tileLoopOf(loop);
  Block *entry = &func.getBody().front();
  bool specialize = early && func->hasAttr(TileDialect::getWarpSpecializeAttrName()) &&
                    (loop->getBlock() == entry || tileLoop) &&
                    fitsProducerWarpgroup(getNumWarps(func));
  // Iterations the rings served before this loop (0 for fresh rings).
  Value before;
  if (specialize)
    before = tileLoop ? Value(tileLoop.getRegionIterArgs().back()) : cst(0);
  bool reuse = false;
  if (specialize && rings && rings->stages == stages && rings->ringOf == ringOf &&
      rings->loadTypes.size() == loads.size() &&
      rings->before.getParentBlock() == loop->getBlock()) {
    reuse = true;
    for (auto [t, load] : llvm::zip(rings->loadTypes, loads))
      reuse &= t == load.getType();
  }
  // This loop's fresh buffers and barriers, dropped once the producer loop
  // on the reused ones is known to work (nothing reads them before).
  SmallVector<Value> freshBufs(bufs), freshBars(bars);
  if (reuse) {
    bufs.assign(rings->bufs.begin(), rings->bufs.end());
    bars.assign(rings->bars.begin(), rings->bars.end());
    before = rings->before;
  }
  if (specialize) {
    SmallVector<Operation *> made;
    for (size_t r = 0; reuse && r < bars.size(); ++r)
      empties.push_back(rings->empties[r]);
    for (size_t r = 0; !reuse && r < bars.size(); ++r) {
      auto empty = AllocSharedOp::create(b, loc, cast<RankedTensorType>(bars[r].getType()));
      made.push_back(empty);
      made.push_back(BarrierInitOp::create(b, loc, empty,
                                           b.getI32IntegerAttr(int32_t(getNumWarps(func)))));
      empties.push_back(empty);
    }
    auto producer = scf::ForOp::create(b, loc, lb, ub, step);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(producer.getBody());
      Value piv = producer.getInductionVar();
      Value pidx = arith::AddIOp::create(
          b, loc, arith::DivSIOp::create(b, loc, arith::SubIOp::create(b, loc, piv, lb), step),
          before);
      Value pslot = arith::RemSIOp::create(b, loc, pidx, cst(stages));
      // Use k of a slot waits for the consumers' k-th release of it, which
      // completed the phase of parity (k - 1) & 1; the first use waits for
      // parity 1, the phase "before" a fresh barrier's, which passes.
      Value free = arith::XOrIOp::create(
          b, loc,
          arith::AndIOp::create(b, loc, arith::DivSIOp::create(b, loc, pidx, cst(stages)),
                                cst(1)),
          cst(1));
      // Ring by ring, so that K goes out as soon as its slot is free even
      // while V's is still being read.
      for (auto [r, empty] : llvm::enumerate(empties)) {
        BarrierWaitOp::create(b, loc, empty, pslot, free);
        SmallVector<unsigned> ofRing;
        for (unsigned i : all)
          if (ringOf[i] == r)
            ofRing.push_back(i);
        issue(piv, pslot, ofRing);
      }
    }
    if (recomputableInside(producer, entry, tileLoop ? tileLoop.getBody() : nullptr)) {
      producers.push_back(producer);
      producer->setAttr(TileDialect::getProducerLoopAttrName(), b.getUnitAttr());
      if (reuse) // this loop's own rings are never used
        for (Value v : llvm::concat<Value>(freshBufs, freshBars)) {
          for (Operation *user : llvm::make_early_inc_range(v.getUsers()))
            user->erase(); // the barrier_init
          v.getDefiningOp()->erase();
        }
      // The next loop continues where this one ends.
      Value span = arith::SubIOp::create(b, loc, ub, lb);
      Value trips = arith::DivSIOp::create(
          b, loc, arith::AddIOp::create(b, loc, span, arith::SubIOp::create(b, loc, step, cst(1))),
          step);
      trips = arith::MaxSIOp::create(b, loc, trips, cst(0));
      RingSet next;
      for (LoadOp load : loads)
        next.loadTypes.push_back(load.getType());
      next.bufs.assign(bufs.begin(), bufs.end());
      next.bars.assign(bars.begin(), bars.end());
      next.empties.assign(empties.begin(), empties.end());
      next.ringOf.assign(ringOf.begin(), ringOf.end());
      next.stages = stages;
      next.before = arith::AddIOp::create(b, loc, before, trips);
      rings = std::move(next);
    } else {
      // Back to this loop's own rings, pipelined without a producer.
      bufs.assign(freshBufs.begin(), freshBufs.end());
      bars.assign(freshBars.begin(), freshBars.end());
      before = cst(0);
      producer.erase();
      for (Operation *op : llvm::reverse(made))
        op->erase();
      empties.clear();
      specialize = false;
    }
  }
  // The rings may take the memory of tiles read before the loop (shared
  // memory is allocated by liveness: attention's first K block, read by the
  // scores' dot before an OVERLAP loop).  A warp past its own wait for that
  // dot is no proof that the other warps' dots are done, so every warp
  // waits for its dots and meets the others before the prologue's first
  // copy lands there.  (In the loop, the waits at the top of each iteration
  // order the refills; the producer's empty rings, a specialized loop's.)
  if (!specialize)
    DotWaitOp::create(b, loc, TypeRange{}, ValueRange{}, b.getI32IntegerAttr(0), b.getUnitAttr());
  // Prologue: iterations 0 .. S-1 (early refill) or 0 .. S-2.
  for (unsigned j = 0; !specialize && j + (early ? 0 : 1) < stages; ++j) {
    Value iv = arith::AddIOp::create(b, loc, lb, arith::MulIOp::create(b, loc, step, cst(j)));
    issue(iv, cst(j), all);
  }
  // Steady state.
  b.setInsertionPointToStart(body);
  Value idx = arith::DivSIOp::create(
      b, loc, arith::SubIOp::create(b, loc, loop.getInductionVar(), lb), step);
  if (specialize)
    idx = arith::AddIOp::create(b, loc, idx, before);
  Value slot = arith::RemSIOp::create(b, loc, idx, cst(stages));
  Value phase;
  if (tma) // use k of slot s is the (k / stages)-th phase of its barrier
    phase = arith::AndIOp::create(b, loc, arith::DivSIOp::create(b, loc, idx, cst(stages)),
                                  cst(1));
  else
    AsyncWaitOp::create(b, loc, b.getI32IntegerAttr(int32_t((stages - 2) * loads.size())));
  SmallVector<Value> views;
  for (auto [load, buf] : llvm::zip(loads, bufs)) {
    views.push_back(SharedSlotOp::create(b, loc, load.getType(), buf, slot));
    load.getResult().replaceAllUsesWith(views.back());
  }
  // Without an accumulate-only dot, every tensor-core dot of the iteration
  // is issued without waiting and waited for just before its result is
  // first used (wgmma groups retire in order: waiting for dot D leaves in
  // flight the dots issued after D).  A kernel that issues its next dot
  // before using the previous result (attention's P·V before the softmax of
  // the next scores) gets the tensor cores and the other units working at
  // once.
  if (target.hasWgmma && asyncResults.empty())
    overlapDotsInBlock(body);
  SmallVector<unsigned> atEnd;
  if (tma && !early) {
    // One ring: wait before the first read of any slot.
    Operation *first = nullptr;
    for (Value view : views)
      if (Operation *f = slotReads(body, view).first; f && (!first || f->isBeforeInBlock(first)))
        first = f;
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(first ? first : yield.getOperation());
    BarrierWaitOp::create(b, loc, bars[0], slot, phase);
  } else if (tma) {
    for (auto [i, view] : llvm::enumerate(views)) {
      auto [first, done] = slotReads(body, view);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(first ? first : yield.getOperation());
      BarrierWaitOp::create(b, loc, bars[ringOf[i]], slot, phase);
      if (!done) {
        atEnd.push_back(unsigned(i));
        continue;
      }
      if (specialize) {
        // This warp is done with the slot: the producer may refill it.
        b.setInsertionPointAfter(done);
        BarrierArriveOp::create(b, loc, empties[ringOf[i]], slot);
        continue;
      }
      // Every warp past the wait that retires the last read, then refill.
      done->setAttr("sync", b.getUnitAttr());
      b.setInsertionPointAfter(done);
      Value ahead = arith::AddIOp::create(b, loc, loop.getInductionVar(),
                                          arith::MulIOp::create(b, loc, step, cst(stages)));
      issue(ahead, slot, {unsigned(i)});
    }
  }
  b.setInsertionPoint(yield);
  // With cp.async the barrier at the top of the iteration already orders the
  // refill after every read of the slot; a TMA wait is no block barrier.
  if (specialize) {
    // Read last by something other than a waited-for dot: released at the
    // end of the iteration, once any dot still in flight is done too.
    if (!atEnd.empty())
      DotWaitOp::create(b, loc, TypeRange{}, ValueRange{}, b.getI32IntegerAttr(0), UnitAttr());
    for (unsigned i : atEnd)
      BarrierArriveOp::create(b, loc, empties[ringOf[i]], slot);
  } else if (!asyncResults.empty() || (tma && (!early || !atEnd.empty()))) {
    DotWaitOp::create(b, loc, TypeRange{}, ValueRange{},
                      b.getI32IntegerAttr(asyncResults.empty() ? 0 : 1), b.getUnitAttr());
  }
  if (specialize) {
    // The producer warp issues every copy.
  } else if (early) {
    if (!atEnd.empty())
      issue(arith::AddIOp::create(b, loc, loop.getInductionVar(),
                                  arith::MulIOp::create(b, loc, step, cst(stages))),
            slot, atEnd);
  } else {
    Value ahead = arith::AddIOp::create(
        b, loc, loop.getInductionVar(), arith::MulIOp::create(b, loc, step, cst(stages - 1)));
    issue(ahead,
          arith::RemSIOp::create(b, loc, arith::AddIOp::create(b, loc, idx, cst(stages - 1)),
                                 cst(stages)),
          all);
  }
  for (LoadOp load : loads)
    load.erase();
  // Drain before anything after the loop reuses the memory or reads the
  // accumulators.  (Every TMA copy issued was waited for in the loop.)
  b.setInsertionPointAfter(loop);
  if (!tma)
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
    FailureOr<tessera::Target> t = targetOption(getOperation(), target);
    if (failed(t))
      return signalPassFailure();
    int64_t limit = t->maxSharedBytesPerBlock;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(TileDialect::getKernelAttrName()))
        continue;
      if (numStages > unsigned(TileDialect::kMaxNumStages)) {
        func.emitError("num-stages must be at most ") << TileDialect::kMaxNumStages << ", got "
                                                      << numStages;
        return signalPassFailure();
      }
      unsigned stages = numStages;
      if (auto a = func->getAttrOfType<IntegerAttr>(TileDialect::getNumStagesAttrName()))
        stages = unsigned(a.getInt());
      if (stages < 2)
        continue;
      if (func->hasAttr(TileDialect::getWarpSpecializeAttrName()))
        addRingCounts(func);
      SmallVector<scf::ForOp> loops;
      func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
      bool changed = false;
      SmallVector<scf::ForOp> producers;
      std::optional<RingSet> rings;
      for (scf::ForOp loop : loops)
        changed |= pipelineLoop(loop, stages, *t, producers, rings);
      // A tile loop's ring count advances by the iterations of its tile.
      for (scf::ForOp loop : loops)
        if (loop->hasAttr(TileDialect::getRingCountAttrName()) && rings &&
            rings->before.getParentBlock() == loop.getBody()) {
          auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
          yield->setOperand(yield.getNumOperands() - 1, rings->before);
        }
      // A kernel with producer loops is allocated once tile-warp-specialize
      // has split it: every ring then stays live throughout.
      if (changed && producers.empty() && failed(allocateShared(func, limit, target)))
        return signalPassFailure();
    }
  }
};

} // namespace
