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
// pipelined load of the loop is a window a tensor map can describe (the
// "TMA" section below): `tile.barrier_wait` replaces `tile.async_wait` and
// one thread issues `tile.tma_load` after arming the slot's mbarrier; when
// no dot accumulates across iterations (attention), each load has its own
// ring and is refilled as soon as it has been read (see `early` below).
// Lit: tests/lit/Transforms/tile-pipeline.mlir.
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

// --- TMA ------------------------------------------------------------------------
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

/// One tile axis of a TMA window.
struct WindowAxis {
  Value vec;                    ///< the 1-D index vector start + i
  SmallVector<Value> startParts; ///< scalars summing (with startConst) to start
  int64_t startConst = 0;
  BlockArgument stride;         ///< null: constant 1
  BlockArgument extent;         ///< null: unbounded
  bool seen = false;
};

struct Window {
  BlockArgument base;
  WindowAxis axes[2];
  /// Scalar offsets of the base: (x, stride argument), outermost last.
  SmallVector<std::pair<Value, BlockArgument>> outer;
};

Value skipConvert(Value v) {
  while (auto c = v.getDefiningOp<ConvertLayoutOp>())
    v = c.getSrc();
  return v;
}

/// `v` as a kernel argument of the enclosing function (a scalar), or null.
BlockArgument kernelArg(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || !isa<func::FuncOp>(arg.getOwner()->getParentOp()))
    return {};
  return arg;
}

/// Splits the 1-D index vector `v` into scalar summands and one arange.
bool matchVec(Value v, WindowAxis &ax, unsigned &aranges) {
  v = skipConvert(v);
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (auto a = dyn_cast<ArangeOp>(def)) {
    ax.startConst += a.getStart();
    return ++aranges == 1;
  }
  if (auto sp = dyn_cast<SplatOp>(def)) {
    ax.startParts.push_back(sp.getSrc());
    return true;
  }
  if (auto c = dyn_cast<arith::ConstantOp>(def)) {
    auto d = dyn_cast<SplatElementsAttr>(c.getValue());
    if (!d || !d.getElementType().isInteger(32))
      return false;
    ax.startConst += d.getSplatValue<APInt>().getSExtValue();
    return true;
  }
  if (auto add = dyn_cast<arith::AddIOp>(def))
    return matchVec(add.getLhs(), ax, aranges) && matchVec(add.getRhs(), ax, aranges);
  return false;
}

/// A 2-D index tile varying along one axis: broadcast(expand_dims(vec)).
/// Returns the axis and the 1-D vector.
std::optional<std::pair<unsigned, Value>> matchIndex(Value v) {
  v = skipConvert(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return matchIndex(bc.getSrc());
  auto ex = v.getDefiningOp<ExpandDimsOp>();
  if (!ex || ex.getType().getRank() != 2)
    return std::nullopt;
  return std::make_pair(unsigned(1 - ex.getAxis()), skipConvert(ex.getSrc()));
}

/// Scalar i32 kernel argument splatted into `v`, or null.
BlockArgument splattedArg(Value v) {
  v = skipConvert(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return splattedArg(bc.getSrc());
  auto sp = v.getDefiningOp<SplatOp>();
  return sp ? kernelArg(sp.getSrc()) : BlockArgument();
}

bool matchAxisTerm(Value v, BlockArgument stride, Window &w) {
  auto idx = matchIndex(v);
  if (!idx)
    return false;
  WindowAxis &ax = w.axes[idx->first];
  if (ax.seen)
    return false;
  ax.seen = true;
  ax.vec = idx->second;
  ax.stride = stride;
  unsigned aranges = 0;
  return matchVec(ax.vec, ax, aranges) && aranges == 1;
}

bool matchOffset(Value v, Window &w) {
  v = skipConvert(v);
  if (auto add = v.getDefiningOp<arith::AddIOp>())
    return matchOffset(add.getLhs(), w) && matchOffset(add.getRhs(), w);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    if (Value src = skipConvert(bc.getSrc());
        src.getDefiningOp<arith::AddIOp>() || src.getDefiningOp<arith::MulIOp>())
      return matchOffset(src, w);
  if (auto mul = v.getDefiningOp<arith::MulIOp>()) {
    for (auto [x, y] : {std::pair(mul.getLhs(), mul.getRhs()), std::pair(mul.getRhs(), mul.getLhs())})
      if (BlockArgument s = splattedArg(y); s && s.getType().isInteger(32))
        return matchAxisTerm(x, s, w);
    return false;
  }
  return matchAxisTerm(v, BlockArgument(), w);
}

/// A scalar pointer: a kernel argument advanced by `x * stride` terms.
bool matchScalarPtr(Value v, Window &w);
bool matchScalarOffset(Value v, Window &w) {
  if (auto add = v.getDefiningOp<arith::AddIOp>())
    return matchScalarOffset(add.getLhs(), w) && matchScalarOffset(add.getRhs(), w);
  auto mul = v.getDefiningOp<arith::MulIOp>();
  if (!mul)
    return false;
  // Prefer as the stride an argument with a divisibility promise.
  auto promised = [](BlockArgument a) {
    auto f = cast<func::FuncOp>(a.getOwner()->getParentOp());
    return bool(f.getArgAttr(a.getArgNumber(), TileDialect::getDivisibilityAttrName()));
  };
  BlockArgument l = kernelArg(mul.getLhs()), r = kernelArg(mul.getRhs());
  if (r && r.getType().isInteger(32) && (promised(r) || !l))
    w.outer.push_back({mul.getLhs(), r});
  else if (l && l.getType().isInteger(32))
    w.outer.push_back({mul.getRhs(), l});
  else
    return false;
  return true;
}
bool matchScalarPtr(Value v, Window &w) {
  if (auto add = v.getDefiningOp<AddPtrOp>())
    return !isa<RankedTensorType>(add.getType()) && matchScalarPtr(add.getPtr(), w) &&
           matchScalarOffset(add.getOffset(), w);
  w.base = kernelArg(v);
  return bool(w.base);
}

bool matchPtr(Value v, Window &w) {
  v = skipConvert(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return matchPtr(bc.getSrc(), w);
  if (auto add = v.getDefiningOp<AddPtrOp>())
    return isa<RankedTensorType>(add.getOffset().getType()) && matchPtr(add.getPtr(), w) &&
           matchOffset(add.getOffset(), w);
  auto sp = v.getDefiningOp<SplatOp>();
  if (!sp || w.base)
    return false;
  return matchScalarPtr(sp.getSrc(), w);
}

bool matchMask(Value v, Window &w) {
  v = skipConvert(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return matchMask(bc.getSrc(), w);
  if (auto a = v.getDefiningOp<arith::AndIOp>())
    return matchMask(a.getLhs(), w) && matchMask(a.getRhs(), w);
  auto cmp = v.getDefiningOp<arith::CmpIOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::slt)
    return false;
  auto idx = matchIndex(cmp.getLhs());
  BlockArgument bound = splattedArg(cmp.getRhs());
  if (!idx || !bound || !bound.getType().isInteger(32))
    return false;
  WindowAxis &ax = w.axes[idx->first];
  if (!ax.seen || ax.vec != idx->second || (ax.extent && ax.extent != bound))
    return false;
  ax.extent = bound;
  return true;
}

/// The TMA window `load` reads, if the launcher can describe it in a tensor
/// map that the TMA unit accepts for every argument the launcher admits.
std::optional<Window> matchWindow(LoadOp load, func::FuncOp func) {
  auto t = cast<RankedTensorType>(load.getType());
  SharedLayoutAttr s = getSharedLayout(t);
  int64_t eb = getElementByteSize(t);
  if (t.getRank() != 2 || !s || s.getSwizzle() < 32 || t.getDimSize(1 - s.getContig()) > 256 ||
      (t.getDimSize(s.getContig()) * eb) % s.getSwizzle() != 0)
    return std::nullopt;
  Window w;
  if (!matchPtr(load.getPtr(), w) || !w.axes[0].seen || !w.axes[1].seen)
    return std::nullopt;
  if (load.getMask() && !matchMask(load.getMask(), w))
    return std::nullopt;
  // The global address must be 16-byte aligned and the strides multiples of
  // 16 bytes (cuTensorMapEncodeTiled); the contiguous axis has unit stride.
  auto align = func.getArgAttrOfType<IntegerAttr>(w.base.getArgNumber(),
                                                  TileDialect::getAlignmentAttrName());
  if (!align || align.getInt() % 16 != 0)
    return std::nullopt;
  const WindowAxis &inner = w.axes[s.getContig()], &outer = w.axes[1 - s.getContig()];
  if (inner.stride || !outer.stride)
    return std::nullopt;
  if (2 + w.outer.size() > 5)
    return std::nullopt;
  SmallVector<BlockArgument> strides{outer.stride};
  for (auto &[x, s] : w.outer)
    strides.push_back(s);
  for (BlockArgument s : strides) {
    auto div = func.getArgAttrOfType<IntegerAttr>(s.getArgNumber(),
                                                  TileDialect::getDivisibilityAttrName());
    if (!div || (div.getInt() * eb) % 16 != 0)
      return std::nullopt;
  }
  // The outer terms were collected outermost first; the map wants them
  // innermost first.
  std::reverse(w.outer.begin(), w.outer.end());
  return w;
}

/// Adds the kernel argument carrying the tensor map of window `w` for tiles
/// like `t`; the launcher builds it from the arguments the attribute names.
Value addTensorMap(func::FuncOp func, const Window &w, RankedTensorType t) {
  SharedLayoutAttr s = getSharedLayout(t);
  unsigned c = s.getContig();
  int64_t eb = getElementByteSize(t);
  const WindowAxis &inner = w.axes[c], &outer = w.axes[1 - c];
  Builder b(func.getContext());
  auto idx = [](BlockArgument a) { return a ? int64_t(a.getArgNumber()) : int64_t(-1); };
  SmallVector<int64_t> dims{idx(inner.extent), idx(outer.extent)}, strides{idx(outer.stride)},
      box{s.getSwizzle() / eb, t.getDimSize(1 - c)};
  for (auto &[x, stride] : w.outer) {
    dims.push_back(-1);
    strides.push_back(idx(stride));
    box.push_back(1);
  }
  auto spec = b.getDictionaryAttr({
      b.getNamedAttr("base", b.getI64IntegerAttr(w.base.getArgNumber())),
      b.getNamedAttr("dims", b.getDenseI64ArrayAttr(dims)),
      b.getNamedAttr("strides", b.getDenseI64ArrayAttr(strides)),
      b.getNamedAttr("box", b.getDenseI64ArrayAttr(box)),
      b.getNamedAttr("swizzle", b.getI64IntegerAttr(s.getSwizzle())),
  });
  unsigned n = func.getNumArguments();
  (void)func.insertArgument(n, TensorMapType::get(func.getContext()),
                            b.getDictionaryAttr(b.getNamedAttr(
                                TileDialect::getTensorMapAttrName(), spec)),
                            func.getLoc());
  return func.getArgument(n);
}

/// Start of window axis `ax` as an i32, its scalars looked up in `map`.
Value axisStart(OpBuilder &b, Location loc, const WindowAxis &ax, IRMapping &map) {
  Value v;
  for (Value p : ax.startParts)
    v = v ? arith::AddIOp::create(b, loc, v, map.lookupOrDefault(p)).getResult()
          : map.lookupOrDefault(p);
  if (ax.startConst != 0 || !v) {
    Value c = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(ax.startConst)));
    v = v ? arith::AddIOp::create(b, loc, v, c).getResult() : c;
  }
  return v;
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
  // computes it unconditionally at its top level too.
  if (def->getNumRegions() != 0 || !isMemoryEffectFree(def))
    return false;
  return llvm::all_of(def->getOperands(),
                      [&](Value o) { return recomputable(o, entry, tileBody); });
}

/// Whether every value `op` (and ops nested in it) uses from outside is
/// recomputable (above).
bool recomputableInside(Operation *op, Block *entry, Block *tileBody) {
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
scf::ForOp tileLoopOf(scf::ForOp loop) {
  auto outer = dyn_cast<scf::ForOp>(loop->getParentOp());
  if (!outer || !outer->hasAttr("tile.ring_count"))
    return {};
  return outer;
}

/// The rings of the last warp-specialized loop, which the next one at the
/// top of the kernel reuses when its loads have the same types: its
/// iterations continue the slot and phase count (`before`: iterations of
/// the loops that used the rings so far).  In a warp-specialized kernel
/// every ring is live throughout, so attention's two loops (MASK_SPLIT)
/// would otherwise need twice the shared memory.
struct RingSet {
  SmallVector<Type> loadTypes;
  SmallVector<Value> bufs, bars, empties;
  SmallVector<unsigned> ringOf;
  unsigned stages = 0;
  Value before; ///< i32, iterations issued into the rings before the loop
};

/// `producers`: the TMA issue loops made for a warp-specialized kernel
/// (see `specialize` below), to be moved into the producer warps' region.
bool pipelineLoop(scf::ForOp loop, unsigned stages, bool hopper,
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

  // On sm_90a every load of the loop goes through TMA if each one can.
  std::vector<Window> windows;
  if (hopper)
    for (LoadOp load : loads) {
      std::optional<Window> w = matchWindow(load, func);
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
  auto yield = cast<scf::YieldOp>(body->getTerminator());
  SmallVector<unsigned> asyncResults;
  if (hopper)
    for (Operation &op : *body) {
      auto dot = dyn_cast<DotOp>(op);
      auto arg = dot ? dyn_cast<BlockArgument>(dot.getAcc()) : BlockArgument();
      auto aLoad = dot ? dot.getA().getDefiningOp<LoadOp>() : LoadOp();
      if (!dot || !arg || arg.getOwner() != body || arg == loop.getInductionVar() ||
          !dot->hasOneUse() || *dot->getUsers().begin() != yield.getOperation() ||
          !arg.hasOneUse() || !aLoad || !llvm::is_contained(loads, aLoad))
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
        const Window &w = windows[i];
        unsigned r = ringOf[i];
        if (i == which.front() || r != ringOf[i - 1]) // once per ring
          BarrierExpectOp::create(b, loc, bars[r], slot, b.getI32IntegerAttr(int32_t(bytes[r])));
        unsigned c = getSharedLayout(loads[i].getType()).getContig();
        // Coordinates innermost (contiguous axis) first.
        SmallVector<Value> coords{axisStart(b, loc, w.axes[c], map),
                                  axisStart(b, loc, w.axes[1 - c], map)};
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
  // recomputed in the producer warps (tile.warp_specialize, made once all
  // loops are done: specializeWarps).
  SmallVector<Value> empties;
  // Whole consumer warpgroups (setmaxnreg and wgmma act per warpgroup), and
  // with the producers at most 1024 threads.
  unsigned consumerWarps = getNumWarps(func);
  // A persistent kernel's loops over key blocks sit in its loop over tiles;
  // the rings' slot and phase then carry on from tile to tile (the tile
  // loop's ring count: iterations issued for earlier tiles).
  scf::ForOp tileLoop = tileLoopOf(loop);
  Block *entry = &func.getBody().front();
  bool specialize = early && func->hasAttr(TileDialect::getWarpSpecializeAttrName()) &&
                    (loop->getBlock() == entry || tileLoop) && consumerWarps % 4 == 0 &&
                    consumerWarps + 4 <= 32;
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
  if (hopper && asyncResults.empty())
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
  // Ping-pong (two or more consumer warpgroups, the iteration's dots
  // issued back to back as in attention's OVERLAP schedule): the
  // warpgroups take turns issuing them, so one warpgroup's softmax runs
  // while another's dots keep the tensor cores busy.  Between the dots
  // only ops that never synchronize the block may run (a `bar.sync 1`
  // there would wait for a warpgroup that waits for the turn): after
  // dropping what the erased loads left dead, dots, slot waits and views,
  // and scalar or element-wise arithmetic.
  if (specialize && consumerWarps >= 8) {
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
    if (quiet) {
      OpBuilder tb(first);
      WarpgroupTurnOp::create(tb, loc, tb.getUnitAttr());
      tb.setInsertionPointAfter(last);
      WarpgroupTurnOp::create(tb, loc, UnitAttr());
      func->setAttr("tile.turns", tb.getUnitAttr());
    }
  }

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

/// A load outside the loops (attention's Q, and with OVERLAP the first
/// block's K and the last block's V) that the producer issues through TMA
/// instead of the consumers: a one-slot buffer with a "full" barrier (the
/// copy landed) and an "empty" one (every consumer warp is done with the
/// previous tile's copy; used only in a persistent kernel's tile loop).
struct TileLoad {
  Window window;
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
    std::optional<Window> w = matchWindow(load, func);
    if (!w)
      continue;
    bool ok = true;
    for (const WindowAxis &ax : w->axes)
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
  SmallVector<Value> coords{axisStart(b, loc, tl.window.axes[c], none),
                            axisStart(b, loc, tl.window.axes[1 - c], none)};
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
/// (attention OVERLAP's first Q·K^T and last P·V) take turns as well, as in
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
    if (loop->hasAttr("tile.ring_count"))
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
/// producer also issues the loads outside the loops it can (above).
void specializeWarps(func::FuncOp func, ArrayRef<scf::ForOp> producers, bool tileLoads) {
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
  // launch (65536 registers over the threads of min_blocks blocks, in
  // units of 8, at most 255); setmaxnreg then moves registers from the
  // producer warpgroup (24 each, enough to issue copies) to the consumers.
  constexpr int32_t kProducerWarps = 4, kProducerRegs = 24;
  int32_t consumers = int32_t(getNumWarps(func));
  int32_t threads = 32 * (consumers + kProducerWarps);
  int32_t minBlocks = 1;
  if (auto a = func->getAttrOfType<IntegerAttr>(TileDialect::getMinBlocksAttrName()))
    minBlocks = std::max<int32_t>(1, int32_t(a.getInt()));
  int32_t atLaunch = std::min<int32_t>(255, 65536 / (minBlocks * threads)) & ~7;
  int32_t consumerRegs =
      std::min<int32_t>(256, (atLaunch * threads - kProducerRegs * 32 * kProducerWarps) /
                                 (32 * consumers)) & ~7;
  if (consumerRegs <= atLaunch)
    consumerRegs = 0; // nothing to gain: leave the budgets alone

  b.setInsertionPoint(entry.getTerminator());
  auto ws = WarpSpecializeOp::create(b, func.getLoc(), b.getI32IntegerAttr(kProducerWarps),
                                     b.getI32IntegerAttr(consumerRegs ? kProducerRegs : 0),
                                     b.getI32IntegerAttr(consumerRegs),
                                     func->hasAttr("tile.turns") ? b.getUnitAttr() : UnitAttr());
  func->removeAttr("tile.turns");
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

/// Gives every loop at the top of a warp-specialized kernel that holds
/// loops of its own (a persistent kernel's loop over tiles) one more
/// iter_arg, the ring count: iterations issued into the rings for earlier
/// tiles, 0 at first.  It passes through unchanged until tile-pipeline
/// makes rings in the body (then it advances by the tile's iterations).
void addRingCounts(func::FuncOp func) {
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
      (*grown)->setAttr("tile.ring_count", rw.getUnitAttr());
  }
}

/// specializeWarps with the producer issuing the tile loads too, if their
/// one-slot buffers (live for the whole kernel, where the consumers' loads
/// could share memory with other tiles) still fit in shared memory: true
/// if so; otherwise `func` is left as it was (d=256 attention with
/// OVERLAP: its Q alone is 64 KB).
bool specializeWithTileLoads(func::FuncOp func, SmallVectorImpl<scf::ForOp> &producers,
                             int64_t limit, StringRef target) {
  IRMapping map;
  func::FuncOp backup = func.clone(map);
  SmallVector<scf::ForOp> backupProducers;
  for (scf::ForOp p : producers)
    backupProducers.push_back(cast<scf::ForOp>(map.lookup(p.getOperation())));
  specializeWarps(func, producers, /*tileLoads=*/true);
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
      if (func->hasAttr(TileDialect::getWarpSpecializeAttrName()))
        addRingCounts(func);
      SmallVector<scf::ForOp> loops;
      func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
      bool changed = false;
      SmallVector<scf::ForOp> producers;
      std::optional<RingSet> rings;
      for (scf::ForOp loop : loops)
        changed |= pipelineLoop(loop, stages, StringRef(target) == "sm_90a", producers, rings);
      // A tile loop's ring count advances by the iterations of its tile.
      for (scf::ForOp loop : loops)
        if (loop->hasAttr("tile.ring_count") && rings &&
            rings->before.getParentBlock() == loop.getBody()) {
          auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
          yield->setOperand(yield.getNumOperands() - 1, rings->before);
        }
      if (!producers.empty() && tileLoopOf(producers.front()) &&
          llvm::any_of(producers, [&](scf::ForOp p) {
            return tileLoopOf(p) != tileLoopOf(producers.front());
          })) {
        func.emitError("warp_specialize=1: the producer loops must all sit in one loop over "
                       "tiles, or all at the top of the kernel");
        return signalPassFailure();
      }
      if (!producers.empty() && !specializeWithTileLoads(func, producers, limit, target))
        specializeWarps(func, producers, /*tileLoads=*/false);
      if (changed && failed(allocateShared(func, limit, target))) {
        if (!producers.empty())
          func.emitError("with warp_specialize=1 every pipelined buffer stays allocated for "
                         "the whole kernel (the producer warps fill them; consecutive loops "
                         "share one set of rings); use fewer stages, smaller BLOCK_N, fewer "
                         "loops (MASK_SPLIT=0, OVERLAP=0) or warp_specialize=0");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
