//===- LayoutConversions.cpp - remove tile.convert_layout where possible ---===//
//
// tile-assign-layouts gives a tensor-core dot an #tile.mma accumulator and
// leaves everything around it blocked, with tile.convert_layout at each
// border.  A conversion between distributed layouts goes through shared
// memory, so these rewrites move the borders to where they cost nothing:
//
//   %c0 = arith.constant dense<0.0> : tensor<64x64xf32, #blocked>
//   %r = scf.for ... iter_args(%acc = %c0) {
//     %m = tile.convert_layout %acc : #blocked -> #mma
//     %d = tile.dot %a, %b, %m : ... #mma
//     %back = tile.convert_layout %d : #mma -> #blocked
//     scf.yield %back
//   }
// becomes a loop carrying %acc in #mma, the constant created in #mma, and
// one conversion after the loop.
//
//===----------------------------------------------------------------------===//
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace tessera::tile;

bool tessera::tile::isRecomputable(Value v, unsigned depth) {
  Operation *def = v.getDefiningOp();
  if (!def || depth > 24 || !isa<RankedTensorType>(v.getType()) ||
      getSharedLayout(v.getType()))
    return false;
  if (isa<ArangeOp, SplatOp>(def))
    return true;
  if (auto c = dyn_cast<arith::ConstantOp>(def))
    return isa<SplatElementsAttr>(c.getValue());
  if (!isa<ExpandDimsOp, BroadcastOp, AddPtrOp>(def) &&
      !(isa<arith::ArithDialect>(def->getDialect()) && def->getNumRegions() == 0 &&
        def->getNumResults() == 1))
    return false;
  for (Value o : def->getOperands())
    if (isa<RankedTensorType>(o.getType()) && !isRecomputable(o, depth + 1))
      return false;
  return true;
}

namespace {

/// Whether a layout is a distribution over registers (not shared memory).
bool isDistributed(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && rt.getEncoding() && !isa<SharedLayoutAttr>(rt.getEncoding());
}

RankedTensorType withEncodingOf(Type t, Type like) {
  auto rt = cast<RankedTensorType>(t);
  return RankedTensorType::get(rt.getShape(), rt.getElementType(),
                               cast<RankedTensorType>(like).getEncoding());
}

/// Producers that can be re-created in any distributed layout for free.
bool isRematerializable(Value v, Type target) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (auto cv = dyn_cast<ConvertLayoutOp>(def))
    return cv.getSrc().getType() == withEncodingOf(v.getType(), target);
  if (auto cst = dyn_cast<arith::ConstantOp>(def))
    return isa<SplatElementsAttr>(cst.getValue());
  return isa<SplatOp, BroadcastOp>(def);
}

/// An element-wise op of one result, which SinkIntoConsumerLayout may
/// re-create in another layout.
bool isSinkableElementwise(Operation *def) {
  return def && def->getNumResults() == 1 && def->getNumRegions() == 0 &&
         isa<arith::ArithDialect, math::MathDialect>(def->getDialect()) &&
         !isa<arith::ConstantOp>(def);
}

/// Whether `v` is cheap to have in the distributed layout of `target`: a
/// producer re-created there, or element-wise ops over such producers (a
/// mask compared from broadcast rows and columns: SinkIntoConsumerLayout
/// moves the conversion down to the broadcasts, which redistribute only
/// their small sources).
///
/// An element-wise value with several users is re-created in the target
/// layout as a copy (the original stays for the others), so it counts as
/// cheap only when everything below it is built from splats, constants and
/// broadcasts: index arithmetic such as a text modifier's `q - k`, read by
/// its score and by its mask.  With that difference counted as costly the
/// whole softmax stayed in the blocked layout and went through shared
/// memory every key block (H200, 2026-12-04: 16 TFLOP/s, 347 with the
/// copy).  A shared value over a real one (a conversion of a dot's result)
/// is not copied: in dK/dV that would compute P = exp2(S - lse) twice, once
/// per consumer; HoistPastElementwise moves such values instead.
bool isCheapIn(Value v, Type target, unsigned depth = 0, bool copied = false) {
  Operation *def = v.getDefiningOp();
  if (isRematerializable(v, target))
    return !(copied && isa<ConvertLayoutOp>(def));
  if (depth > 8 || !isSinkableElementwise(def))
    return false;
  copied = copied || !def->getResult(0).hasOneUse();
  for (Value o : def->getOperands())
    if (isa<RankedTensorType>(o.getType()) && !isCheapIn(o, target, depth + 1, copied))
      return false;
  return true;
}

struct FoldConversion : OpRewritePattern<ConvertLayoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvertLayoutOp op, PatternRewriter &rw) const override {
    Value src = op.getSrc();
    if (src.getType() == op.getType()) {
      rw.replaceOp(op, src);
      return success();
    }
    auto inner = src.getDefiningOp<ConvertLayoutOp>();
    if (!inner)
      return failure();
    if (inner.getSrc().getType() == op.getType())
      rw.replaceOp(op, inner.getSrc());
    else
      rw.replaceOpWithNewOp<ConvertLayoutOp>(op, op.getType(), inner.getSrc());
    return success();
  }
};

/// convert(constant splat / splat / broadcast) -> the producer in the target
/// layout (a broadcast redistributes anyway, into whatever layout it makes).
struct RematerializeProducer : OpRewritePattern<ConvertLayoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvertLayoutOp op, PatternRewriter &rw) const override {
    if (!isDistributed(op.getType()))
      return failure();
    Operation *def = op.getSrc().getDefiningOp();
    if (!def)
      return failure();
    if (auto cst = dyn_cast<arith::ConstantOp>(def)) {
      auto splat = dyn_cast<SplatElementsAttr>(cst.getValue());
      if (!splat)
        return failure();
      rw.replaceOpWithNewOp<arith::ConstantOp>(op, op.getType(),
                                               splat.reshape(op.getType()));
      return success();
    }
    if (auto s = dyn_cast<SplatOp>(def)) {
      rw.replaceOpWithNewOp<SplatOp>(op, op.getType(), s.getSrc());
      return success();
    }
    if (auto bc = dyn_cast<BroadcastOp>(def)) {
      // Broadcasting a row slice of the target mma layout is a register
      // copy: take the slice itself rather than its blocked conversion.
      Value src = bc.getSrc();
      if (auto cv = src.getDefiningOp<ConvertLayoutOp>())
        if (auto enc = cast<RankedTensorType>(cv.getSrc().getType()).getEncoding();
            enc && enc == cast<RankedTensorType>(op.getType()).getEncoding())
          src = cv.getSrc();
      rw.replaceOpWithNewOp<BroadcastOp>(op, op.getType(), src);
      return success();
    }
    return failure();
  }
};

/// convert(elementwise(x, y)), where every operand is cheap to have in the
/// target layout (isCheapIn) -> elementwise in the target layout (a copy
/// when the element-wise op has other users).
struct SinkIntoConsumerLayout : OpRewritePattern<ConvertLayoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvertLayoutOp op, PatternRewriter &rw) const override {
    Type target = op.getType();
    if (!isDistributed(target))
      return failure();
    Operation *def = op.getSrc().getDefiningOp();
    if (!isSinkableElementwise(def))
      return failure();
    bool copied = !def->getResult(0).hasOneUse();
    for (Value v : def->getOperands())
      if (isa<RankedTensorType>(v.getType()) && !isCheapIn(v, target, 0, copied))
        return failure();
    rw.setInsertionPoint(def);
    IRMapping map;
    for (Value v : def->getOperands())
      if (isa<RankedTensorType>(v.getType()))
        map.map(v, ConvertLayoutOp::create(rw, v.getLoc(), withEncodingOf(v.getType(), target),
                                           v)
                       .getResult());
    Operation *clone = rw.clone(*def, map);
    clone->getResult(0).setType(withEncodingOf(def->getResult(0).getType(), target));
    rw.replaceOp(op, clone->getResult(0));
    return success();
  }
};

/// elementwise(convert(x : L -> B), y...) where x is a real (not
/// recomputable) value and every other operand is free in L ->
/// convert(elementwise in L): the conversion moves toward the consumers, so
/// that e.g. `truncf` of a tensor-core result runs in the mma layout.  A
/// conversion with several users moves past all of them or none (past some
/// only, x would be converted and so would their results): a score
/// modifier's value feeds both P and its derivative, and the one conversion
/// it stopped at cost the softcap backward a round trip through shared
/// memory per block.
struct HoistPastElementwise : OpRewritePattern<ConvertLayoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvertLayoutOp op, PatternRewriter &rw) const override {
    Type srcT = op.getSrc().getType();
    if (!isDistributed(srcT) || !isDistributed(op.getType()) || op->use_empty() ||
        isRecomputable(op.getSrc()))
      return failure();
    // Loop-carried operands are converted too: the loop rule then carries
    // them in this layout (the conversions cancel).
    auto isIterArg = [&](Value v) {
      auto arg = dyn_cast<BlockArgument>(v);
      return arg && isa<scf::ForOp>(arg.getOwner()->getParentOp()) && arg.getArgNumber() > 0;
    };
    auto hoistable = [&](Operation *user) {
      if (user->getNumResults() != 1 || user->getNumRegions() != 0 ||
          !isa<arith::ArithDialect, math::MathDialect>(user->getDialect()) ||
          !isa<RankedTensorType>(user->getResult(0).getType()))
        return false;
      for (Value v : user->getOperands())
        if (v != op.getResult() && isa<RankedTensorType>(v.getType()) && !isCheapIn(v, srcT) &&
            !isRecomputable(v) && !isIterArg(v))
          return false;
      return true;
    };
    llvm::SetVector<Operation *> users(op->user_begin(), op->user_end());
    if (!llvm::all_of(users, hoistable))
      return failure();
    for (Operation *user : users) {
      rw.setInsertionPoint(user);
      IRMapping map;
      for (Value v : user->getOperands()) {
        if (!isa<RankedTensorType>(v.getType()) || map.contains(v))
          continue;
        if (v == op.getResult())
          map.map(v, op.getSrc());
        else
          map.map(v,
                  ConvertLayoutOp::create(rw, v.getLoc(), withEncodingOf(v.getType(), srcT), v)
                      .getResult());
      }
      Operation *clone = rw.clone(*user, map);
      Type resT = user->getResult(0).getType();
      clone->getResult(0).setType(withEncodingOf(resT, srcT));
      rw.replaceOp(user, ConvertLayoutOp::create(rw, user->getLoc(), resT, clone->getResult(0)));
    }
    rw.eraseOp(op);
    return success();
  }
};

/// reduce(convert(x : mma -> B)) along the rows -> the reduction in the mma
/// layout, into its row slice (shuffles within each quad), converted after.
struct HoistPastReduce : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp op, PatternRewriter &rw) const override {
    auto cv = op.getSrc().getDefiningOp<ConvertLayoutOp>();
    auto resT = dyn_cast<RankedTensorType>(op.getType());
    if (!cv || !resT || op.getAxis() != 1 || !resT.getEncoding())
      return failure();
    auto srcT = cast<RankedTensorType>(cv.getSrc().getType());
    auto mma = dyn_cast_or_null<MmaLayoutAttr>(srcT.getEncoding());
    if (!mma || srcT.getRank() != 2 || srcT.getDimSize(0) % (16 * mma.getWarpsM()) != 0)
      return failure();
    auto sliceT = RankedTensorType::get(resT.getShape(), resT.getElementType(), mma);
    auto red = ReduceOp::create(rw, op.getLoc(), sliceT, op.getKindAttr(), cv.getSrc(),
                                op.getAxisAttr());
    rw.replaceOpWithNewOp<ConvertLayoutOp>(op, resT, red.getResult());
    return success();
  }
};

/// broadcast(convert(x : slice of L -> B)) into L -> broadcast(x): a
/// register copy instead of a round trip.
struct BroadcastFromSlice : OpRewritePattern<BroadcastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BroadcastOp op, PatternRewriter &rw) const override {
    auto cv = op.getSrc().getDefiningOp<ConvertLayoutOp>();
    if (!cv)
      return failure();
    Attribute enc = cast<RankedTensorType>(cv.getSrc().getType()).getEncoding();
    if (!enc || !isa<MmaLayoutAttr>(enc) || enc != op.getType().getEncoding())
      return failure();
    rw.modifyOpInPlace(op, [&] { op.getSrcMutable().assign(cv.getSrc()); });
    return success();
  }
};

/// broadcast(load(p, mask, other)) into an mma layout L, where the
/// load has no other user and its operands are index arithmetic -> the load
/// made where the broadcast needs it: an [M, 1] column into an mma layout
/// is loaded in the row slice (each thread the rows it holds; the broadcast
/// is then a register copy), anything else as the broadcast pointers in L
/// (each thread loads the elements it holds; replicated ones share an
/// address, served by L1).  Either way no round trip through shared memory
/// and no barrier across the block: a mask that reads memory (document ids
/// per query and per key) costs loads, not two block-wide synchronizations
/// per key block.
struct LoadWhereBroadcast : OpRewritePattern<BroadcastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BroadcastOp op, PatternRewriter &rw) const override {
    auto ld = op.getSrc().getDefiningOp<LoadOp>();
    RankedTensorType to = op.getType();
    if (!ld || !ld->hasOneUse() || !isDistributed(to) || !isDistributed(ld.getType()))
      return failure();
    auto from = cast<RankedTensorType>(ld.getType());
    auto mma = dyn_cast<MmaLayoutAttr>(to.getEncoding());
    // Into the tensor cores' layout only: blocked tiles are the layout
    // assignment's starting point, which the other rewrites move from.
    if (!mma || from.getEncoding() == to.getEncoding() || !isRecomputable(ld.getPtr()) ||
        (ld.getMask() && !isRecomputable(ld.getMask())) ||
        (ld.getOther() && !isRecomputable(ld.getOther())))
      return failure();
    bool slice = to.getRank() == 2 && from.getDimSize(1) == 1 &&
                 from.getDimSize(0) == to.getDimSize(0) &&
                 to.getDimSize(0) % (16 * mma.getWarpsM()) == 0;
    FailureOr<LayoutInfo> info = getLayoutInfo(to);
    // A broadcast load holds every element a thread owns in registers: no
    // more than a tile of scores would.
    if (!slice && (failed(info) || info->regs() > 64))
      return failure();
    Type loadT = slice ? RankedTensorType::get(from.getShape(), from.getElementType(), mma)
                       : Type(to);
    // Index arithmetic costs nothing to have in another layout (the
    // lowering recomputes it), broadcast or not.
    auto move = [&](Value v) -> Value {
      if (!v)
        return v;
      auto t = cast<RankedTensorType>(v.getType());
      auto shape = cast<RankedTensorType>(loadT).getShape();
      auto vt = RankedTensorType::get(shape, t.getElementType(),
                                      cast<RankedTensorType>(loadT).getEncoding());
      if (slice)
        return ConvertLayoutOp::create(rw, op.getLoc(), vt, v);
      return BroadcastOp::create(rw, op.getLoc(), vt, v);
    };
    rw.setInsertionPoint(ld);
    Value ptr = move(ld.getPtr()), mask = move(ld.getMask()), other = move(ld.getOther());
    auto load = LoadOp::create(rw, ld.getLoc(), loadT, ptr, mask, other,
                               ld.getSpeculativeAttr());
    rw.setInsertionPoint(op);
    if (slice)
      rw.replaceOpWithNewOp<BroadcastOp>(op, to, load.getResult());
    else
      rw.replaceOp(op, load.getResult());
    rw.eraseOp(ld);
    return success();
  }
};

/// broadcast(expand_dims(x)) of a column x ([M] -> [M, 1], not index
/// arithmetic) into an mma layout L, where x is defined outside the loop
/// the broadcast is in -> x moved into L's row slice once, right after its
/// definition, and broadcast from there (a register copy).  Otherwise each
/// iteration would take the column through shared memory, with two
/// barriers across the block, for a value that never changes (the
/// backward's dQ loop: LSE and D per query row, twice per key block).
struct BroadcastInvariantColumn : OpRewritePattern<BroadcastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BroadcastOp op, PatternRewriter &rw) const override {
    auto ex = op.getSrc().getDefiningOp<ExpandDimsOp>();
    RankedTensorType to = op.getType();
    auto mma = dyn_cast_or_null<MmaLayoutAttr>(to.getEncoding());
    if (!ex || !mma || ex.getAxis() != 1 || to.getRank() != 2 ||
        to.getDimSize(0) % (16 * mma.getWarpsM()) != 0)
      return failure();
    Value x = ex.getSrc();
    auto xT = cast<RankedTensorType>(x.getType());
    auto loop = op->getParentOfType<scf::ForOp>();
    if (!isDistributed(xT) || isa<MmaLayoutAttr>(xT.getEncoding()) || isRecomputable(x) ||
        xT.getDimSize(0) != to.getDimSize(0) || !loop || !loop.isDefinedOutsideOfLoop(x))
      return failure();
    auto exT = cast<RankedTensorType>(ex.getType());
    auto sliceT = RankedTensorType::get(exT.getShape(), exT.getElementType(), mma);
    rw.setInsertionPointAfterValue(x);
    auto col = ExpandDimsOp::create(rw, ex.getLoc(), exT, x, ex.getAxisAttr());
    auto inSlice = ConvertLayoutOp::create(rw, ex.getLoc(), sliceT, col.getResult());
    rw.setInsertionPoint(op);
    rw.modifyOpInPlace(op, [&] { op.getSrcMutable().assign(inSlice.getResult()); });
    if (ex->use_empty())
      rw.eraseOp(ex);
    return success();
  }
};

/// expand_dims(convert(x : slice -> B)) -> convert(expand_dims in the slice).
struct HoistPastExpandDims : OpRewritePattern<ExpandDimsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpandDimsOp op, PatternRewriter &rw) const override {
    auto cv = op.getSrc().getDefiningOp<ConvertLayoutOp>();
    if (!cv || op.getAxis() != 1 || op.getSrc().getType().getRank() != 1)
      return failure();
    auto mma = dyn_cast_or_null<MmaLayoutAttr>(
        cast<RankedTensorType>(cv.getSrc().getType()).getEncoding());
    if (!mma)
      return failure();
    auto t = op.getType();
    auto e = ExpandDimsOp::create(rw, op.getLoc(),
                                  RankedTensorType::get(t.getShape(), t.getElementType(), mma),
                                  cv.getSrc(), op.getAxisAttr());
    rw.replaceOpWithNewOp<ConvertLayoutOp>(op, t, e.getResult());
    return success();
  }
};

/// store(ptr, convert(x : L -> B), mask) with recomputable pointers and
/// mask -> the store in L: each thread writes what it holds instead of a
/// round trip through shared memory.  The same for tile.atomic_rmw, whose
/// result (the replaced values, also in L) converts back for its users.
template <class WriteOp> struct WriteInValueLayout : OpRewritePattern<WriteOp> {
  using OpRewritePattern<WriteOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(WriteOp op, PatternRewriter &rw) const override {
    auto cv = op.getValue().template getDefiningOp<ConvertLayoutOp>();
    if (!cv || !isDistributed(cv.getSrc().getType()) || !isRecomputable(op.getPtr()) ||
        (op.getMask() && !isRecomputable(op.getMask())))
      return failure();
    if constexpr (std::is_same_v<WriteOp, AtomicRMWOp>)
      if (op.getCompare()) // a second value: moving it would be a conversion of its own
        return failure();
    Type l = cv.getSrc().getType();
    Value ptr = ConvertLayoutOp::create(rw, op.getLoc(), withEncodingOf(op.getPtr().getType(), l),
                                        op.getPtr());
    Value mask = op.getMask();
    if (mask)
      mask = ConvertLayoutOp::create(rw, op.getLoc(), withEncodingOf(mask.getType(), l), mask);
    rw.modifyOpInPlace(op, [&] {
      op.getPtrMutable().assign(ptr);
      op.getValueMutable().assign(cv.getSrc());
      if (mask)
        op.getMaskMutable().assign(mask);
    });
    if constexpr (std::is_same_v<WriteOp, AtomicRMWOp>) {
      Type before = op.getResult().getType();
      rw.modifyOpInPlace(op, [&] { op.getResult().setType(l); });
      if (!op.getResult().use_empty()) {
        rw.setInsertionPointAfter(op);
        auto back = ConvertLayoutOp::create(rw, op.getLoc(), before, op.getResult());
        rw.replaceAllUsesExcept(op.getResult(), back.getResult(), back);
      }
    }
    return success();
  }
};

/// dot(convert(x : mma -> shared), b, acc : mma) where x's warps own whole
/// rows (one warp column) in the accumulator's row arrangement -> x is the
/// A operand straight from registers: an accumulator's C fragment is the A
/// fragment of the next product (attention's P in P V), no shared memory.
struct AOperandFromRegisters : OpRewritePattern<DotOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DotOp op, PatternRewriter &rw) const override {
    auto cv = op.getA().getDefiningOp<ConvertLayoutOp>();
    if (!cv || !getSharedLayout(op.getA().getType()))
      return failure();
    auto xm = dyn_cast_or_null<MmaLayoutAttr>(
        cast<RankedTensorType>(cv.getSrc().getType()).getEncoding());
    auto cm = dyn_cast_or_null<MmaLayoutAttr>(op.getType().getEncoding());
    if (!xm || !cm || xm.getWarpsN() != 1 || cm.getWarpsN() != 1 ||
        xm.getWarpsM() != cm.getWarpsM() || cv.getSrc().getType() == op.getType())
      return failure();
    rw.modifyOpInPlace(op, [&] { op.getAMutable().assign(cv.getSrc()); });
    return success();
  }
};

/// A loop value whose next iteration is produced in another layout and
/// converted back for the yield is carried in the producer's layout.
bool carryInProducerLayout(scf::ForOp loop) {
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  bool changed = false;
  for (unsigned i = 0; i < loop.getNumRegionIterArgs(); ++i) {
    auto cv = yield.getOperand(i).getDefiningOp<ConvertLayoutOp>();
    if (!cv || !isDistributed(cv.getSrc().getType()))
      continue;
    Type newT = cv.getSrc().getType();
    BlockArgument arg = loop.getRegionIterArgs()[i];
    Type oldT = arg.getType();
    OpBuilder b(loop);
    OpOperand &init = loop.getInitArgsMutable()[i];
    init.set(ConvertLayoutOp::create(b, loop.getLoc(), newT, init.get()));
    yield->setOperand(i, cv.getSrc());
    arg.setType(newT);
    Value res = loop.getResult(i);
    res.setType(newT);
    b.setInsertionPointToStart(loop.getBody());
    auto in = ConvertLayoutOp::create(b, loop.getLoc(), oldT, arg);
    arg.replaceAllUsesExcept(in, in);
    b.setInsertionPointAfter(loop);
    auto out = ConvertLayoutOp::create(b, loop.getLoc(), oldT, res);
    res.replaceAllUsesExcept(out, out);
    changed = true;
  }
  return changed;
}

} // namespace

void tessera::tile::removeLayoutConversions(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  // Only kernels with conversions are touched (the greedy driver would also
  // delete dead code, which is canonicalization's job, not this one's).
  bool any = false;
  func.walk([&](ConvertLayoutOp) { any = true; });
  if (!any)
    return;
  for (int round = 0; round < 8; ++round) {
    RewritePatternSet patterns(ctx);
    patterns.add<FoldConversion, RematerializeProducer, SinkIntoConsumerLayout,
                 HoistPastElementwise, WriteInValueLayout<StoreOp>,
                 WriteInValueLayout<AtomicRMWOp>, HoistPastReduce,
                 HoistPastExpandDims, BroadcastFromSlice, LoadWhereBroadcast,
                 BroadcastInvariantColumn,
                 AOperandFromRegisters>(ctx);
    (void)applyPatternsGreedily(func, std::move(patterns));
    bool changed = false;
    func.walk([&](scf::ForOp loop) { changed |= carryInProducerLayout(loop); });
    if (!changed)
      break;
  }
}
