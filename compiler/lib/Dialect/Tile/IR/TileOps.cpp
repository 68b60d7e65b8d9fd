//===- TileOps.cpp - verifiers of the `tile` operations -------------------===//
//
// The DSL checks the user's program first and reports errors at the user's
// C++ line; these verifiers are the dialect's own contract, enforced for IR
// from any source (tessera-opt, passes), so that invalid IR never reaches the
// lowering.
//
//===----------------------------------------------------------------------===//
#include "tessera/Dialect/Tile/IR/TileDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace tessera::tile;

#define GET_OP_CLASSES
#include "tessera/Dialect/Tile/IR/TileOps.cpp.inc"

/// Shapes of `a` and `b` are equal (both scalars counts as equal).
static bool sameShape(Type a, Type b) {
  return getShapeOrEmpty(a) == getShapeOrEmpty(b) &&
         isa<RankedTensorType>(a) == isa<RankedTensorType>(b);
}

LogicalResult ArangeOp::verify() {
  // I32Attr getters return the bits unsigned; the bounds are signed.
  int64_t start = int32_t(getStart()), end = int32_t(getEnd());
  int64_t n = end - start;
  if (n <= 0)
    return emitOpError("end (") << end << ") must be greater than start ("
                                << start << ")";
  if (!llvm::isPowerOf2_64(n))
    return emitOpError("length ") << n << " is not a power of two";
  if (getType().getDimSize(0) != n)
    return emitOpError("result has ") << getType().getDimSize(0)
                                      << " elements, expected " << n;
  return success();
}

OpFoldResult SplatOp::fold(FoldAdaptor adaptor) {
  auto t = cast<RankedTensorType>(getType());
  if (Attribute src = adaptor.getSrc(); src && isa<IntegerAttr, FloatAttr>(src) &&
                                       !isa<PtrType>(t.getElementType()))
    return SplatElementsAttr::get(t, src);
  return {};
}

LogicalResult SplatOp::verify() {
  if (!isa<IntegerType, FloatType, PtrType>(getSrc().getType()))
    return emitOpError("source must be a scalar number or pointer, got ")
           << getSrc().getType();
  if (getType().getElementType() != getSrc().getType())
    return emitOpError("element type ") << getType().getElementType()
                                        << " differs from source type "
                                        << getSrc().getType();
  return success();
}

LogicalResult BroadcastOp::verify() {
  auto src = getSrc().getType();
  auto dst = getType();
  if (src.getElementType() != dst.getElementType())
    return emitOpError("element types differ");
  if (src.getRank() != dst.getRank())
    return emitOpError("source rank ") << src.getRank() << " != result rank "
                                       << dst.getRank();
  for (auto [i, s, d] : llvm::enumerate(src.getShape(), dst.getShape()))
    if (s != d && s != 1)
      return emitOpError("dimension ") << i << ": source size " << s
                                       << " is neither 1 nor " << d;
  return success();
}

LogicalResult ExpandDimsOp::verify() {
  auto src = getSrc().getType();
  auto dst = getType();
  int64_t axis = int32_t(getAxis());
  if (axis < 0 || axis > src.getRank())
    return emitOpError("axis ") << axis << " out of range for rank "
                                << src.getRank();
  SmallVector<int64_t> shape(src.getShape());
  shape.insert(shape.begin() + axis, 1);
  if (dst.getShape() != ArrayRef<int64_t>(shape) ||
      dst.getElementType() != src.getElementType())
    return emitOpError("result type ") << dst << " does not insert a unit "
                                       << "dimension at axis " << axis;
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto src = getSrc().getType();
  auto dst = getType();
  if (src.getElementType() != dst.getElementType())
    return emitOpError("element types differ");
  if (src.getNumElements() != dst.getNumElements())
    return emitOpError("source has ") << src.getNumElements()
                                      << " elements, result "
                                      << dst.getNumElements();
  return success();
}

LogicalResult TransOp::verify() {
  auto src = getSrc().getType();
  auto dst = getType();
  ArrayRef<int32_t> order = getOrder();
  if (int64_t(order.size()) != src.getRank())
    return emitOpError("order has ") << order.size() << " entries for rank "
                                     << src.getRank();
  SmallVector<bool> seen(order.size(), false);
  for (int32_t o : order) {
    if (o < 0 || o >= int32_t(order.size()) || seen[o])
      return emitOpError("order is not a permutation");
    seen[o] = true;
  }
  if (dst.getRank() != src.getRank() ||
      dst.getElementType() != src.getElementType())
    return emitOpError("result type does not match source");
  for (auto [i, o] : llvm::enumerate(order))
    if (dst.getDimSize(i) != src.getDimSize(o))
      return emitOpError("result dimension ") << i << " is "
                                              << dst.getDimSize(i)
                                              << ", expected "
                                              << src.getDimSize(o);
  return success();
}

LogicalResult AddPtrOp::verify() {
  if (!sameShape(getPtr().getType(), getOffset().getType()))
    return emitOpError("pointer and offset shapes differ");
  return success();
}

LogicalResult LoadOp::verify() {
  Type ptrTy = getPtr().getType();
  auto pointee = cast<PtrType>(getElementTypeOrSelf(ptrTy)).getPointeeType();
  Type resTy = getResult().getType();
  if (!sameShape(ptrTy, resTy) || getElementTypeOrSelf(resTy) != pointee)
    return emitOpError("result type ") << resTy
                                       << " does not match the pointers "
                                       << ptrTy;
  if (getMask() && !sameShape(getMask().getType(), ptrTy))
    return emitOpError("mask shape differs from pointer shape");
  if (getOther()) {
    if (!getMask())
      return emitOpError("'other' requires a mask");
    if (getOther().getType() != resTy)
      return emitOpError("'other' type ") << getOther().getType()
                                          << " differs from result type "
                                          << resTy;
  }
  // Speculation is only promised for one address computed from scalars.
  if (getSpeculative() && (isa<RankedTensorType>(resTy) || getMask()))
    return emitOpError("'speculative' applies to unmasked scalar loads only");
  return success();
}

/// A write through `ptr` (tile.store, tile.atomic_rmw): the value typed and
/// shaped like the pointees, the mask shaped like the pointers.
static LogicalResult verifyWrite(Operation *op, Value ptr, Value value, Value mask) {
  Type ptrTy = ptr.getType();
  auto pointee = cast<PtrType>(getElementTypeOrSelf(ptrTy)).getPointeeType();
  Type valTy = value.getType();
  if (!sameShape(ptrTy, valTy) || getElementTypeOrSelf(valTy) != pointee)
    return op->emitOpError("value type ") << valTy << " does not match the pointers " << ptrTy;
  if (mask && !sameShape(mask.getType(), ptrTy))
    return op->emitOpError("mask shape differs from pointer shape");
  return success();
}

LogicalResult StoreOp::verify() {
  return verifyWrite(*this, getPtr(), getValue(), getMask());
}

LogicalResult AtomicRMWOp::verify() {
  if (failed(verifyWrite(*this, getPtr(), getValue(), getMask())))
    return failure();
  Type valTy = getValue().getType();
  if (getResult().getType() != valTy)
    return emitOpError("result type ") << getResult().getType()
                                       << " differs from the value type " << valTy;
  Type pointee = getElementTypeOrSelf(valTy);
  // What one atom/red instruction of sm_80 and later combines (PTX ISA,
  // "atom"): add.s32/f32, max/min.s32; max/min of f32 are two integer atoms.
  if (!pointee.isF32() && !pointee.isInteger(32))
    return emitOpError("combines i32 or f32 elements, got ") << pointee;
  bool cas = getKind() == AtomicKind::Cas;
  if (cas != bool(getCompare()))
    return emitOpError(cas ? "cas needs a compare operand"
                           : "only cas takes a compare operand");
  if (cas && getCompare().getType() != valTy)
    return emitOpError("compare type ") << getCompare().getType()
                                        << " differs from the value type " << valTy;
  return success();
}

LogicalResult DotOp::verify() {
  auto a = getA().getType(), b = getB().getType(), c = getAcc().getType();
  if (a.getRank() != 2 || b.getRank() != 2 || c.getRank() != 2)
    return emitOpError("operands must be 2-D");
  if (a.getElementType() != b.getElementType())
    return emitOpError("operand element types differ: ")
           << a.getElementType() << " vs " << b.getElementType();
  if (!a.getElementType().isF16() && !a.getElementType().isBF16() &&
      !a.getElementType().isF32())
    return emitOpError("operands must be f16, bf16 or f32, got ")
           << a.getElementType();
  if (!c.getElementType().isF32())
    return emitOpError("accumulator must be f32, got ") << c.getElementType();
  if (a.getDimSize(1) != b.getDimSize(0))
    return emitOpError("K of lhs (") << a.getDimSize(1) << ") != K of rhs ("
                                     << b.getDimSize(0) << ")";
  if (c.getDimSize(0) != a.getDimSize(0) || c.getDimSize(1) != b.getDimSize(1))
    return emitOpError("accumulator shape must be ")
           << a.getDimSize(0) << "x" << b.getDimSize(1);
  return success();
}

LogicalResult ReduceOp::verify() {
  auto src = getSrc().getType();
  int64_t axis = int32_t(getAxis());
  if (axis < 0 || axis >= src.getRank())
    return emitOpError("axis ") << axis << " out of range for rank "
                                << src.getRank();
  Type elt = src.getElementType();
  if (!isa<FloatType, IntegerType>(elt) || elt.isInteger(1))
    return emitOpError("cannot reduce elements of type ") << elt;
  Type res = getResult().getType();
  if (src.getRank() == 1) {
    if (res != elt)
      return emitOpError("reducing a 1-D tile gives a scalar of type ") << elt;
    return success();
  }
  SmallVector<int64_t> shape(src.getShape());
  shape.erase(shape.begin() + axis);
  auto resT = dyn_cast<RankedTensorType>(res);
  if (!resT || resT.getShape() != ArrayRef<int64_t>(shape) ||
      resT.getElementType() != elt)
    return emitOpError("result type ") << res << " is not the source without axis "
                                       << axis;
  return success();
}

LogicalResult ScanOp::verify() {
  auto src = getSrc().getType();
  int64_t axis = int32_t(getAxis());
  if (axis < 0 || axis >= src.getRank())
    return emitOpError("axis ") << axis << " out of range for rank " << src.getRank();
  Type elt = src.getElementType();
  if (!isa<FloatType, IntegerType>(elt) || elt.isInteger(1))
    return emitOpError("cannot scan elements of type ") << elt;
  return success();
}

static bool isSharedType(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  return rt && isa_and_nonnull<SharedLayoutAttr>(rt.getEncoding());
}

LogicalResult AllocSharedOp::verify() {
  auto t = getType();
  if (t.getRank() != 3 || !isSharedType(t))
    return emitOpError("result must be a 3-D (slots x rows x columns) #tile.shared tensor");
  return success();
}

LogicalResult SharedSlotOp::verify() {
  auto buf = getBuffer().getType(), res = getType();
  if (buf.getRank() != 3 || !isSharedType(buf) || !isSharedType(res) ||
      res.getShape() != buf.getShape().drop_front() ||
      res.getElementType() != buf.getElementType())
    return emitOpError("result must be one 2-D slot of the 3-D shared buffer");
  return success();
}

LogicalResult AsyncLoadOp::verify() {
  auto buf = getBuffer().getType();
  auto ptr = dyn_cast<RankedTensorType>(getPtr().getType());
  if (buf.getRank() != 3 || !isSharedType(buf) || !ptr ||
      ptr.getShape() != buf.getShape().drop_front())
    return emitOpError("pointer tile must have the shape of one slot of the shared buffer");
  auto pointee = cast<PtrType>(ptr.getElementType()).getPointeeType();
  if (pointee != buf.getElementType())
    return emitOpError("pointee type ") << pointee << " differs from the buffer's "
                                        << buf.getElementType();
  if (getMask() && getShapeOrEmpty(getMask().getType()) != ptr.getShape())
    return emitOpError("mask must have the pointer tile's shape");
  return success();
}

/// A ring of mbarriers: `S x 1 x 1` i64 in shared memory.
static LogicalResult verifyBarriers(Operation *op, RankedTensorType t) {
  if (t.getRank() != 3 || !isSharedType(t) || !t.getElementType().isInteger(64) ||
      t.getDimSize(1) != 1 || t.getDimSize(2) != 1)
    return op->emitOpError("barriers must be a #tile.shared tensor<Sx1x1xi64> (one mbarrier per slot)");
  return success();
}

LogicalResult BarrierInitOp::verify() {
  if (getCount() < 1)
    return emitOpError("count must be at least 1");
  return verifyBarriers(*this, getBarriers().getType());
}

LogicalResult BarrierExpectOp::verify() {
  if (getBytes() < 1 || getBytes() >= (1 << 20))
    return emitOpError("bytes must be in [1, 2^20)");
  return verifyBarriers(*this, getBarriers().getType());
}

LogicalResult BarrierWaitOp::verify() { return verifyBarriers(*this, getBarriers().getType()); }

LogicalResult BarrierArriveOp::verify() { return verifyBarriers(*this, getBarriers().getType()); }

LogicalResult WarpSpecializeOp::verify() {
  // setmaxnreg acts on whole warpgroups, and its counts are multiples of 8
  // in [24, 256] (PTX ISA, "setmaxnreg").
  if (getProducerWarps() < 1 || getProducerWarps() % 4 != 0)
    return emitOpError("producer_warps must be a positive multiple of 4 (whole warpgroups)");
  auto regsOk = [](int32_t r) { return r >= 24 && r <= 256 && r % 8 == 0; };
  if (getConsumerRegs() != 0 && (!regsOk(getConsumerRegs()) || !regsOk(getProducerRegs())))
    return emitOpError("register budgets must be multiples of 8 in [24, 256] (or "
                       "consumer_regs = 0 to leave them)");
  if (getConsumerRegs() != 0 && getProducerRegs() > getConsumerRegs())
    return emitOpError("gives the producer more registers than the consumers");
  bool nested = false;
  getProducer().walk([&](WarpSpecializeOp) { nested = true; });
  getConsumer().walk([&](WarpSpecializeOp) { nested = true; });
  if (nested)
    return emitOpError("cannot be nested");
  return success();
}

LogicalResult TmaLoadOp::verify() {
  auto buf = getBuffer().getType();
  if (buf.getRank() != 3 || !isSharedType(buf))
    return emitOpError("buffer must be a 3-D (slots x rows x columns) #tile.shared tensor");
  if (getCoords().size() < 2 || getCoords().size() > 5)
    return emitOpError("takes 2 to 5 coordinates (the tile's two axes, then extent-1 "
                       "dimensions), got ")
           << getCoords().size();
  auto s = cast<SharedLayoutAttr>(buf.getEncoding());
  if (s.getSwizzle() < 32)
    return emitOpError("needs a swizzled (32, 64 or 128-byte) shared layout");
  auto bars = getBarriers().getType();
  if (failed(verifyBarriers(*this, bars)))
    return failure();
  if (bars.getDimSize(0) != buf.getDimSize(0))
    return emitOpError("needs one barrier per slot: ") << buf.getDimSize(0) << " slots, "
                                                        << bars.getDimSize(0) << " barriers";
  return success();
}

LogicalResult ConvertLayoutOp::verify() {
  auto src = getSrc().getType();
  auto dst = getType();
  if (src.getShape() != dst.getShape() ||
      src.getElementType() != dst.getElementType())
    return emitOpError("shape and element type must not change");
  return success();
}
