//===- WarpSpecialize.cpp - tile-warp-specialize --------------------------===//
//
// Splits a kernel that asked for it (`tile.warp_specialize`) between a
// producer warpgroup that issues every TMA copy and the consumer warps
// that compute, so that no block-wide barrier stands before a refill and
// the consumers get the registers the producer does not need:
//
//   tile.warp_specialize attributes {producer_warps = 4, producer_regs = 24,
//                                    consumer_regs = 240} {
//     ... the kernel body; each pipelined loop waits on its "full" ring and
//     ... arrives on its "empty" ring once done reading a slot
//   } {
//     ... the `tile.producer_loop`s tile-pipeline built: wait until slot
//     ... i mod S is empty, arm its barrier, issue iteration i's copies
//   }
//
// tile-pipeline makes the rings and producer loops (it knows the slots);
// this pass does the rest: ping-pong turns between consumer warpgroups,
// the loads outside the loops (attention's Q) issued by the producer too
// where shared memory allows, hoisting the allocations and barrier
// initialization every warp must see done, the split itself (with a
// producer tile loop in a persistent kernel), the setmaxnreg budgets, and
// the shared-memory allocation of the result.
// Lit: tests/lit/Transforms/tile-warp-specialize.mlir.
//
//===----------------------------------------------------------------------===//
#include "WarpSpecialize.h"

#include "tessera/Dialect/Tile/Analysis/TmaWindow.h"
#include "tessera/Dialect/Tile/Transforms/Passes.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

#define DEBUG_TYPE "tile-warp-specialize"

namespace tessera::tile {
#define GEN_PASS_DEF_TILEWARPSPECIALIZE
#include "tessera/Dialect/Tile/Transforms/Passes.h.inc"
} // namespace tessera::tile

using namespace mlir;
using namespace tessera::tile;

namespace {

/// Whether `v` can be recomputed at the start of the producer region: a
/// kernel argument, a shared allocation (hoisted to the top), or the result
/// of a pure, region-free op of `entry` whose operands can be too.  In a
/// persistent kernel (`tileBody`: the body of the loop over tiles at the
/// top of the kernel) also the tile loop's induction variable and ring
/// count and pure scalar ops of its body: the producer runs a loop of its
/// own over the same tiles.
bool recomputable(Value v, Block *entry, Block *tileBody = nullptr) {
  if (auto arg = dyn_cast<BlockArgument>(v))
    return arg.getOwner() == entry || (tileBody && arg.getOwner() == tileBody);
  Operation *def = v.getDefiningOp();
  if (def->getBlock() != entry && (!tileBody || def->getBlock() != tileBody))
    return false;
  if (isa<AllocSharedOp>(def))
    return true;
  // Scalars only: a tile op lowered in the producer warps would index its
  // layout with their thread ids (and may synchronize the consumers).
  if (llvm::any_of(def->getResultTypes(), [](Type t) { return isa<RankedTensorType>(t); }))
    return false;
  // Side-effect free is enough (not speculatable: a division): the kernel
  // computes it unconditionally at its top level too.  A scalar load marked
  // `speculative` (a block index) may be read by the producer as well.
  auto load = dyn_cast<LoadOp>(def);
  bool readable = load && load.getSpeculative();
  if (def->getNumRegions() != 0 || (!isMemoryEffectFree(def) && !readable))
    return false;
  return llvm::all_of(def->getOperands(),
                      [&](Value o) { return recomputable(o, entry, tileBody); });
}

} // namespace

bool tessera::tile::fitsProducerWarpgroup(unsigned consumerWarps) {
  return consumerWarps % 4 == 0 &&
         32 * (consumerWarps + kProducerWarps) <= unsigned(Target::kMaxThreadsPerBlock);
}

/// Whether every value `op` (and ops nested in it) uses from outside is
/// recomputable (above).
bool tessera::tile::recomputableInside(Operation *op, Block *entry, Block *tileBody) {
  bool ok = true;
  op->walk([&](Operation *inner) {
    for (Value v : inner->getOperands()) {
      Operation *def = v.getDefiningOp();
      Region *home = def ? def->getParentRegion() : cast<BlockArgument>(v).getParentRegion();
      if (!op->isAncestor(home->getParentOp()) && !recomputable(v, entry, tileBody))
        ok = false;
    }
  });
  return ok;
}

/// The loop over tiles of a persistent kernel that `loop` sits in directly:
/// an scf.for at the top of a warp-specialized kernel whose last iter_arg
/// is the ring count (added by addRingCounts), or null.
scf::ForOp tessera::tile::tileLoopOf(scf::ForOp loop) {
  auto outer = dyn_cast<scf::ForOp>(loop->getParentOp());
  if (!outer || !outer->hasAttr(TileDialect::getRingCountAttrName()))
    return {};
  return outer;
}

/// Gives every loop at the top of a warp-specialized kernel that holds
/// loops of its own (a persistent kernel's loop over tiles) one more
/// iter_arg, the ring count: iterations issued into the rings for earlier
/// tiles, 0 at first.  It passes through unchanged until tile-pipeline
/// makes rings in the body (then it advances by the tile's iterations).
void tessera::tile::addRingCounts(func::FuncOp func) {
  SmallVector<scf::ForOp> outer;
  for (auto loop : func.getBody().front().getOps<scf::ForOp>())
    if (!loop.getBody()->getOps<scf::ForOp>().empty() &&
        loop.getLowerBound().getType().isInteger(32))
      outer.push_back(loop);
  IRRewriter rw(func.getContext());
  for (scf::ForOp loop : outer) {
    rw.setInsertionPoint(loop);
    Value zero = arith::ConstantOp::create(rw, loop.getLoc(), rw.getI32IntegerAttr(0));
    auto grown = loop.replaceWithAdditionalYields(
        rw, ValueRange{zero}, /*replaceInitOperandUsesInLoop=*/false,
        [](OpBuilder &, Location, ArrayRef<BlockArgument> args) {
          return SmallVector<Value>{args.front()};
        });
    if (succeeded(grown))
      (*grown)->setAttr(TileDialect::getRingCountAttrName(), rw.getUnitAttr());
  }
}

namespace {

/// Ping-pong for the pipelined loop `loop` of a kernel with two or more
/// consumer warpgroups whose iteration issues its dots back to back (as
/// in attention's overlapped schedule: the next scores' dot before the
/// previous probabilities' one): the warpgroups take turns issuing them,
/// so one warpgroup's softmax runs while another's dots keep the tensor
/// cores busy.  Between the dots only ops that never synchronize the block
/// may run (a `bar.sync 1` there would wait for a warpgroup that waits for
/// the turn): after dropping what tile-pipeline's erased loads left dead,
/// dots, slot waits and views, and scalar or element-wise arithmetic.
/// Returns whether the loop takes turns.
bool takeTurns(scf::ForOp loop) {
  Block *body = loop.getBody();
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*body)))
    if (isOpTriviallyDead(&op))
      op.erase();
  Operation *first = nullptr, *last = nullptr;
  for (Operation &op : *body)
    if (isa<DotOp>(op) && op.hasAttr("tile.async")) {
      first = first ? first : &op;
      last = &op;
    }
  bool quiet = first && first != last;
  for (Operation *op = first; quiet && op != last; op = op->getNextNode()) {
    StringRef ns = op->getDialect() ? op->getDialect()->getNamespace() : "";
    bool sharedView = isa<TransOp>(op) && getSharedLayout(op->getResult(0).getType());
    quiet = op->getNumRegions() == 0 &&
            (isa<DotOp, BarrierWaitOp, SharedSlotOp, SplatOp>(op) || sharedView ||
             ns == "arith" || ns == "math");
  }
  if (!quiet)
    return false;
  OpBuilder tb(first);
  WarpgroupTurnOp::create(tb, loop.getLoc(), tb.getUnitAttr());
  tb.setInsertionPointAfter(last);
  WarpgroupTurnOp::create(tb, loop.getLoc(), UnitAttr());
  return true;
}

/// A load outside the loops (attention's Q, and when overlapped the first
/// block's K and the last block's V) that the producer issues through TMA
/// instead of the consumers: a one-slot buffer with a "full" barrier (the
/// copy landed) and an "empty" one (every consumer warp is done with the
/// previous tile's copy; used only in a persistent kernel's tile loop).
struct TileLoad {
  TmaWindow window;
  Value map, buf, full, empty;
  int64_t bytes = 0;
  unsigned after = 0; ///< producer loops before it in the tile body
};

/// The parity of the current tile of `tileLoop`: its index (iv - lb) / step,
/// & 1 -- the phase a one-slot buffer's barriers are in for it.
Value tileParity(OpBuilder &b, Location loc, scf::ForOp tileLoop) {
  Value idx = arith::DivSIOp::create(
      b, loc, arith::SubIOp::create(b, loc, tileLoop.getInductionVar(), tileLoop.getLowerBound()),
      tileLoop.getStep());
  return arith::AndIOp::create(b, loc, idx,
                               arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(1)));
}

/// The loads of the tile body (`tileLoop`'s body, or the kernel's top
/// level where there is no tile loop) that the producer can issue, and
/// rewrites the consumers' side: shared tiles that TMA can describe, whose
/// addresses depend only on scalars the producer can recompute, read by
/// synchronous ops of the body or by its loops (whose tensor-core reads of
/// them are waited for within the loop).  Each is replaced by a view of
/// its buffer after a wait on `full` (parity: the tile's index & 1), and
/// the consumers arrive on `empty` after the last op reading it (and the
/// drain after it).  Buffers and barriers go before the tile loop.
std::vector<TileLoad> prefetchableTileLoads(func::FuncOp func, scf::ForOp tileLoop,
                                            ArrayRef<scf::ForOp> producers) {
  std::vector<TileLoad> out;
  Block *entry = &func.getBody().front();
  Block *tbody = tileLoop ? tileLoop.getBody() : entry;
  Block *inner = tileLoop ? tbody : nullptr;
  MLIRContext *ctx = func.getContext();
  for (auto load : llvm::make_early_inc_range(tbody->getOps<LoadOp>())) {
    auto t = dyn_cast<RankedTensorType>(load.getType());
    if (!t || !getSharedLayout(t) || load.getOther())
      continue;
    std::optional<TmaWindow> w = matchTmaWindow(load, func);
    if (!w)
      continue;
    bool ok = true;
    for (const TmaWindowAxis &ax : w->axes)
      for (Value v : ax.startParts)
        ok &= recomputable(v, entry, inner);
    for (auto &[x, stride] : w->outer)
      ok &= recomputable(x, entry, inner);
    // Its readers, through views of the same memory (a transpose): none an
    // asynchronous dot of the body itself (its wait would come later).
    SmallVector<Value> aliases{load.getResult()};
    Operation *last = nullptr;
    for (size_t i = 0; i < aliases.size() && ok; ++i)
      for (Operation *user : aliases[i].getUsers()) {
        Operation *top = tbody->findAncestorOpInBlock(*user);
        if (!top) {
          ok = false;
          break;
        }
        if (top == user && user->getNumResults() == 1 &&
            getSharedLayout(user->getResult(0).getType()) && isPure(user)) {
          aliases.push_back(user->getResult(0));
          continue;
        }
        ok &= !(top == user && user->hasAttr("tile.async"));
        if (!last || last->isBeforeInBlock(top))
          last = top;
      }
    if (!ok || !last)
      continue;
    // A loop's last asynchronous dots are waited for right after it.
    while (isa_and_nonnull<DotWaitOp>(last->getNextNode()))
      last = last->getNextNode();
    TileLoad tl;
    tl.window = *w;
    tl.map = addTensorMap(func, *w, t);
    tl.bytes = t.getNumElements() * getElementByteSize(t);
    for (scf::ForOp p : producers)
      tl.after += p->getBlock() == tbody && p->isBeforeInBlock(load);
    OpBuilder b(ctx);
    if (tileLoop)
      b.setInsertionPoint(tileLoop);
    else
      b.setInsertionPointToStart(entry);
    Location loc = load.getLoc();
    SmallVector<int64_t> shape{1};
    llvm::append_range(shape, t.getShape());
    tl.buf = AllocSharedOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType(), t.getEncoding()));
    auto barType = RankedTensorType::get({1, 1, 1}, b.getI64Type(),
                                         SharedLayoutAttr::get(ctx, 1, 16, -1));
    tl.full = AllocSharedOp::create(b, loc, barType);
    BarrierInitOp::create(b, loc, tl.full, b.getI32IntegerAttr(1));
    if (tileLoop) {
      tl.empty = AllocSharedOp::create(b, loc, barType);
      BarrierInitOp::create(b, loc, tl.empty, b.getI32IntegerAttr(int32_t(getNumWarps(func))));
    }
    // Consumers: wait for the tile's copy, read the buffer, release it.
    b.setInsertionPoint(load);
    Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    BarrierWaitOp::create(b, loc, tl.full, zero, tileLoop ? tileParity(b, loc, tileLoop) : zero);
    Value view = SharedSlotOp::create(b, loc, t, tl.buf, zero);
    load.getResult().replaceAllUsesWith(view);
    load.erase();
    if (tileLoop) {
      b.setInsertionPointAfter(last);
      BarrierArriveOp::create(b, loc, tl.empty, zero);
    }
    out.push_back(tl);
  }
  return out;
}

/// The producer's side of `tl` for the tile of `tileLoop` (in terms of the
/// consumers' values; the caller maps them into the producer's tile loop):
/// wait until the previous tile's copy is released (use k waits for parity
/// (k - 1) & 1; the first passes), arm `full`, issue the copy.  Without a
/// tile loop the buffer is used once: no wait.
void issueTileLoad(OpBuilder &b, Location loc, scf::ForOp tileLoop, const TileLoad &tl) {
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  if (tileLoop) {
    Value one = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(1));
    Value free = arith::XOrIOp::create(b, loc, tileParity(b, loc, tileLoop), one);
    BarrierWaitOp::create(b, loc, tl.empty, zero, free);
  }
  BarrierExpectOp::create(b, loc, tl.full, zero, b.getI32IntegerAttr(int32_t(tl.bytes)));
  unsigned c = getSharedLayout(cast<RankedTensorType>(tl.buf.getType())).getContig();
  IRMapping none;
  SmallVector<Value> coords{tmaAxisStart(b, loc, tl.window.axes[c], none),
                            tmaAxisStart(b, loc, tl.window.axes[1 - c], none)};
  for (auto &[x, stride] : tl.window.outer)
    coords.push_back(x);
  TmaLoadOp::create(b, loc, tl.map, coords, tl.buf, zero, tl.full);
}

/// Clones to the start of `into` the ops of `from` whose results ops in
/// `into` (or nested in them) use, with the ops those depend on, in order,
/// and makes those uses refer to the clones; `map` may hold replacements
/// for block arguments of `from` (a loop's induction variable).
void recomputeInto(OpBuilder &b, Block *from, Block *into, IRMapping &map) {
  llvm::SetVector<Operation *> needed;
  std::function<void(Value)> need = [&](Value v) {
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != from || needed.contains(def))
      return;
    for (Value o : def->getOperands())
      need(o);
    needed.insert(def);
  };
  into->walk([&](Operation *op) {
    for (Value v : op->getOperands())
      need(v);
  });
  SmallVector<Operation *> ordered(needed.begin(), needed.end());
  llvm::sort(ordered, [](Operation *x, Operation *y) { return x->isBeforeInBlock(y); });
  b.setInsertionPointToStart(into);
  for (Operation *op : ordered)
    b.clone(*op, map);
  into->walk([&](Operation *op) {
    for (OpOperand &use : op->getOpOperands())
      if (Value m = map.lookupOrNull(use.get()))
        use.set(m);
  });
}

/// With ping-pong (`turns`), the dots outside the loops of the tile body
/// (overlapped attention's first Q·K^T and last P·V) take turns as well, as in
/// FlashAttention-3: the consumer warpgroups then stay half a step apart
/// through the whole tile and into the next one, so one's first softmax and
/// epilogue run while the other's dots keep the tensor cores busy (with
/// only the loops' dots taking turns both met at every tile's start and
/// end).  Between the two turn ops there is only the dot: its operands are
/// in registers or in shared memory the consumers waited for before.
void turnTileDots(WarpSpecializeOp ws) {
  if (!ws.getTurns())
    return;
  Block *consumer = &ws.getConsumer().front();
  SmallVector<Block *> bodies{consumer};
  for (auto loop : consumer->getOps<scf::ForOp>())
    if (loop->hasAttr(TileDialect::getRingCountAttrName()))
      bodies.push_back(loop.getBody());
  for (Block *body : bodies)
    for (auto dot : llvm::make_early_inc_range(body->getOps<DotOp>())) {
      if (dot->hasAttr("tile.async"))
        continue;
      OpBuilder b(dot);
      WarpgroupTurnOp::create(b, dot.getLoc(), b.getUnitAttr());
      b.setInsertionPointAfter(dot);
      WarpgroupTurnOp::create(b, dot.getLoc(), UnitAttr());
    }
}

/// Splits `func` between consumer and producer warps: shared allocations
/// and barrier initialization (which every warp must see done) move to
/// the top; then a tile.warp_specialize gets the rest of the body as its
/// consumer region and the `producers` loops, with recomputed copies of
/// the values they use, as its producer region.  With `tileLoads` the
/// producer also issues the loads outside the loops it can (above); with
/// `turns` (a loop takes ping-pong turns) the tile body's dots take turns too.
void specializeWarps(func::FuncOp func, ArrayRef<scf::ForOp> producers, bool tileLoads,
                     bool turns) {
  Block &entry = func.getBody().front();
  OpBuilder b(func.getContext());
  Operation *top = nullptr;
  auto hoist = [&](Operation *op) {
    if (top)
      op->moveAfter(top);
    else
      op->moveBefore(&entry.front());
    top = op;
  };
  // A persistent kernel's rings are made once, before its tile loop.
  scf::ForOp tileLoop = tileLoopOf(producers.front());
  std::vector<TileLoad> issued;
  if (tileLoads)
    issued = prefetchableTileLoads(func, tileLoop, producers);
  if (tileLoop)
    for (Operation &op : llvm::make_early_inc_range(*tileLoop.getBody()))
      if (isa<AllocSharedOp, BarrierInitOp>(op))
        op.moveBefore(tileLoop);
  for (Operation &op : llvm::make_early_inc_range(entry))
    if (isa<AllocSharedOp>(op))
      hoist(&op);
  for (Operation &op : llvm::make_early_inc_range(entry))
    if (isa<BarrierInitOp>(op))
      hoist(&op);

  // Budgets: ptxas gives every thread of the block the same count at
  // launch (the SM's registers over the threads of min_blocks blocks, in
  // units of 8, at most the per-thread maximum); setmaxnreg then moves
  // registers from the producer warpgroup (24 each, enough to issue
  // copies) to the consumers, at most 256 each (setmaxnreg's range).
  constexpr int32_t kProducerRegs = 24, kMaxSetmaxnreg = 256;
  int32_t producerWarps = int32_t(kProducerWarps);
  int32_t consumers = int32_t(getNumWarps(func));
  int32_t threads = 32 * (consumers + producerWarps);
  int32_t minBlocks = 1;
  if (auto a = func->getAttrOfType<IntegerAttr>(TileDialect::getMinBlocksAttrName()))
    minBlocks = std::max<int32_t>(1, int32_t(a.getInt()));
  using tessera::Target;
  int32_t atLaunch = std::min<int32_t>(Target::kMaxRegistersPerThread,
                                       Target::kRegistersPerSM / (minBlocks * threads)) & ~7;
  int32_t consumerRegs =
      std::min<int32_t>(kMaxSetmaxnreg,
                        (atLaunch * threads - kProducerRegs * 32 * producerWarps) /
                            (32 * consumers)) & ~7;
  if (consumerRegs <= atLaunch)
    consumerRegs = 0; // nothing to gain: leave the budgets alone

  b.setInsertionPoint(entry.getTerminator());
  auto ws = WarpSpecializeOp::create(b, func.getLoc(), b.getI32IntegerAttr(producerWarps),
                                     b.getI32IntegerAttr(consumerRegs ? kProducerRegs : 0),
                                     b.getI32IntegerAttr(consumerRegs),
                                     turns ? b.getUnitAttr() : UnitAttr());
  Block *consumer = b.createBlock(&ws.getConsumer());
  Block *producer = b.createBlock(&ws.getProducer());
  for (Operation &op : llvm::make_early_inc_range(entry)) {
    if (&op == ws.getOperation() || op.hasTrait<OpTrait::IsTerminator>() ||
        (top && (&op == top || op.isBeforeInBlock(top))))
      continue;
    auto loop = dyn_cast<scf::ForOp>(op);
    bool produces = loop && llvm::is_contained(producers, loop);
    op.moveBefore(produces ? producer : consumer, (produces ? producer : consumer)->end());
  }
  if (tileLoop) {
    // The producer's own loop over the same tiles, carrying its ring count
    // as the consumers' does; in it, the producer loops and the scalars of
    // the tile body they use (tile indices, offsets, loop bounds).
    b.setInsertionPointToEnd(producer);
    Location loc = tileLoop.getLoc();
    auto ptile = scf::ForOp::create(b, loc, tileLoop.getLowerBound(), tileLoop.getUpperBound(),
                                    tileLoop.getStep(), ValueRange{tileLoop.getInitArgs().back()});
    Block *pbody = ptile.getBody();
    auto cyield = cast<scf::YieldOp>(tileLoop.getBody()->getTerminator());
    b.setInsertionPointToEnd(pbody);
    auto pyield = scf::YieldOp::create(b, loc, ValueRange{cyield.getOperands().back()});
    // Each tile load where the consumers meet it among the loops: one that
    // waits for its buffer to be released must not hold back the rings.
    b.setInsertionPoint(pyield);
    for (unsigned k = 0; k <= producers.size(); ++k) {
      for (TileLoad &tl : issued)
        if (tl.after == k)
          issueTileLoad(b, loc, tileLoop, tl);
      if (k < producers.size())
        producers[k]->moveBefore(pyield);
    }
    IRMapping tmap;
    tmap.map(tileLoop.getInductionVar(), ptile.getInductionVar());
    tmap.map(tileLoop.getRegionIterArgs().back(), ptile.getRegionIterArgs().back());
    recomputeInto(b, tileLoop.getBody(), pbody, tmap);
  } else if (!issued.empty()) {
    // One tile: every buffer is used once, so all copies go out first.
    b.setInsertionPointToStart(producer);
    for (TileLoad &tl : issued)
      issueTileLoad(b, func.getLoc(), scf::ForOp(), tl);
  }
  // Recompute in the producer region what its loops use from the consumer
  // region (loop bounds, program ids, strides).
  IRMapping map;
  recomputeInto(b, consumer, producer, map);
  turnTileDots(ws);
}

/// specializeWarps with the producer issuing the tile loads too, if their
/// one-slot buffers (live for the whole kernel, where the consumers' loads
/// could share memory with other tiles) still fit in shared memory: true
/// if so; otherwise `func` is left as it was (overlapped d=256 attention:
/// its Q alone is 64 KB).
bool specializeWithTileLoads(func::FuncOp func, SmallVectorImpl<scf::ForOp> &producers,
                             bool turns, int64_t limit, StringRef target) {
  IRMapping map;
  func::FuncOp backup = func.clone(map);
  SmallVector<scf::ForOp> backupProducers;
  for (scf::ForOp p : producers)
    backupProducers.push_back(cast<scf::ForOp>(map.lookup(p.getOperation())));
  specializeWarps(func, producers, /*tileLoads=*/true, turns);
  bool fits;
  {
    // The trial's "too much shared memory" is not the user's error.
    ScopedDiagnosticHandler quiet(func.getContext(), [](Diagnostic &) { return success(); });
    fits = succeeded(allocateShared(func, limit, target));
  }
  if (!fits) {
    func.getBody().takeBody(backup.getBody());
    func->setAttrs(backup->getAttrDictionary());
    producers.assign(backupProducers.begin(), backupProducers.end());
  }
  backup.erase();
  return fits;
}

struct TileWarpSpecializePass
    : tessera::tile::impl::TileWarpSpecializeBase<TileWarpSpecializePass> {
  using TileWarpSpecializeBase::TileWarpSpecializeBase;
  void runOnOperation() override {
    FailureOr<tessera::Target> t = targetOption(getOperation(), target);
    if (failed(t))
      return signalPassFailure();
    int64_t limit = t->maxSharedBytesPerBlock;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(TileDialect::getKernelAttrName()))
        continue;
      // tile-pipeline's producer loops, in program order (the order they
      // were made in); the markers have served once read.
      SmallVector<scf::ForOp> producers;
      func.walk([&](scf::ForOp loop) {
        if (loop->removeAttr(TileDialect::getProducerLoopAttrName()))
          producers.push_back(loop);
      });
      if (producers.empty())
        continue;
      if (tileLoopOf(producers.front()) &&
          llvm::any_of(producers, [&](scf::ForOp p) {
            return tileLoopOf(p) != tileLoopOf(producers.front());
          })) {
        func.emitError("tile.warp_specialize: the producer loops must all sit in one loop "
                       "over tiles, or all at the top of the kernel");
        return signalPassFailure();
      }
      // Each producer loop's pipelined loop is the next loop of its block.
      bool turns = false;
      if (getNumWarps(func) >= 8)
        for (scf::ForOp p : producers) {
          Operation *next = p->getNextNode();
          while (next && !isa<scf::ForOp>(next))
            next = next->getNextNode();
          if (next)
            turns |= takeTurns(cast<scf::ForOp>(next));
        }
      if (!specializeWithTileLoads(func, producers, turns, limit, target))
        specializeWarps(func, producers, /*tileLoads=*/false, turns);
      if (failed(allocateShared(func, limit, target))) {
        func.emitError("with warp specialization every pipelined buffer stays allocated for "
                       "the whole kernel (the producer warps fill them; consecutive loops "
                       "share one set of rings); use fewer stages, smaller tiles, fewer "
                       "pipelined loops, or no tile.warp_specialize");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
