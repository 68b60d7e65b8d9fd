//===- ExpandFP8.cpp - FP8 kept as bytes, its conversions as integer ops --===//
//
// LLVM has no 8-bit float type, so FP8 cannot reach the lowering as such.
// FP8 values only move (loads, stores, selects, layout changes) and convert
// (arith.extf to f32, arith.truncf from f32: the DSL routes every other
// conversion through f32), so this pass (1) rewrites the conversions into
// integer and f32 arithmetic on the bits, and (2) retypes every remaining
// FP8 value, pointer and constant to i8 with the same bits.  The expansions
// are exact and target-independent (sm_80 has no FP8 conversion
// instructions; sm_89's cvt ... e4m3x2 would be the faster form there).
//
//===----------------------------------------------------------------------===//
#include "tessera/Dialect/Tile/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace tessera::tile {
#define GEN_PASS_DEF_TILEEXPANDFP8
#include "tessera/Dialect/Tile/Transforms/Passes.h.inc"
} // namespace tessera::tile

using namespace mlir;
using namespace tessera::tile;

namespace {

/// `elt` in the shape (and encoding) of `like`: a scalar or a tensor.
Type shaped(Type like, Type elt) {
  if (auto t = dyn_cast<RankedTensorType>(like))
    return RankedTensorType::get(t.getShape(), elt, t.getEncoding());
  return elt;
}

/// `t` with every FP8 element type replaced by i8 (tensors, pointers).
Type toBytes(Type t) {
  if (isFP8(t))
    return IntegerType::get(t.getContext(), 8);
  if (auto rt = dyn_cast<RankedTensorType>(t))
    return RankedTensorType::get(rt.getShape(), toBytes(rt.getElementType()), rt.getEncoding());
  if (auto p = dyn_cast<PtrType>(t))
    return PtrType::get(t.getContext(), toBytes(p.getPointeeType()));
  return t;
}

/// Builds element-wise arithmetic shaped like one value.
struct Bits {
  OpBuilder &b;
  Location loc;
  Type like; // any value of the shape being built
  Type i32() { return shaped(like, b.getI32Type()); }
  Type f32() { return shaped(like, b.getF32Type()); }
  Value cst(Type elt, Attribute scalar) {
    if (auto t = dyn_cast<RankedTensorType>(like)) {
      auto shapedT = RankedTensorType::get(t.getShape(), elt, t.getEncoding());
      return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(shapedT, scalar));
    }
    return arith::ConstantOp::create(b, loc, cast<TypedAttr>(scalar));
  }
  Value i(int64_t v) { return cst(b.getI32Type(), b.getI32IntegerAttr(int32_t(v))); }
  Value f(double v) { return cst(b.getF32Type(), b.getF32FloatAttr(float(v))); }
  Value shr(Value x, int64_t n) { return arith::ShRUIOp::create(b, loc, x, i(n)); }
  Value shl(Value x, int64_t n) { return arith::ShLIOp::create(b, loc, x, i(n)); }
  Value band(Value x, int64_t m) { return arith::AndIOp::create(b, loc, x, i(m)); }
  Value bor(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sel(Value c, Value x, Value y) { return arith::SelectOp::create(b, loc, c, x, y); }
  Value eq(Value x, int64_t v) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, i(v));
  }
};

/// f32 from FP8 bits (an FP8-typed value, bitcast to i8).
Value expandExtF(OpBuilder &b, Location loc, Value x) {
  Type fp8 = getElementTypeOrSelf(x.getType());
  Bits h{b, loc, x.getType()};
  Value byte = arith::BitcastOp::create(b, loc, shaped(x.getType(), b.getI8Type()), x);
  if (isa<Float8E5M2Type>(fp8)) {
    // E5M2 is the upper byte of an f16 (same exponent, fewer mantissa bits).
    Type i16 = shaped(x.getType(), b.getI16Type());
    Value wide = arith::ExtUIOp::create(b, loc, i16, byte);
    Value hi = arith::ShLIOp::create(
        b, loc, wide, h.cst(b.getI16Type(), b.getI16IntegerAttr(8)));
    Value half = arith::BitcastOp::create(b, loc, shaped(x.getType(), b.getF16Type()), hi);
    return arith::ExtFOp::create(b, loc, h.f32(), half);
  }
  // E4M3 (bias 7, no infinities, S.1111.111 is NaN): normals move their
  // exponent to f32's bias; subnormals are m * 2^-9 exactly.
  Value code = arith::ExtUIOp::create(b, loc, h.i32(), byte);
  Value e = h.band(h.shr(code, 3), 0xF), m = h.band(code, 7);
  Value normal = arith::BitcastOp::create(
      b, loc, h.f32(), h.bor(h.shl(h.add(e, h.i(127 - 7)), 23), h.shl(m, 20)));
  Value sub = arith::MulFOp::create(b, loc, arith::SIToFPOp::create(b, loc, h.f32(), m),
                                    h.f(std::ldexp(1.0, -9)));
  Value mag = h.sel(h.eq(e, 0), sub, normal);
  mag = h.sel(h.eq(h.band(code, 0x7F), 0x7F), h.f(std::numeric_limits<float>::quiet_NaN()), mag);
  return h.sel(h.eq(h.band(code, 0x80), 0x80), arith::NegFOp::create(b, loc, mag), mag);
}

/// FP8 bits (as an FP8-typed value) from f32: nearest even, saturating to
/// the largest finite value, NaN to S.1111.111.
Value expandTruncF(OpBuilder &b, Location loc, Value x, Type fp8) {
  bool e4m3 = isa<Float8E4M3FNType>(fp8);
  int64_t man = e4m3 ? 3 : 2, bias = e4m3 ? 7 : 15;
  Bits h{b, loc, x.getType()};
  Value bits = arith::BitcastOp::create(b, loc, h.i32(), x);
  Value sign = h.band(h.shr(bits, 24), 0x80);
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
  // |x| clamped to the largest finite value (infinities included).
  Value a = arith::MinimumFOp::create(
      b, loc, arith::BitcastOp::create(b, loc, h.f32(), h.band(bits, 0x7FFFFFFF)),
      h.f(fp8MaxFinite(fp8)));
  Value abits = arith::BitcastOp::create(b, loc, h.i32(), a);
  // Normal: round f32's mantissa to `man` bits (nearest even; a carry
  // moves into the exponent), then rebias the exponent.
  int64_t shift = 23 - man;
  Value roundUp = h.add(h.i((int64_t(1) << (shift - 1)) - 1), h.band(h.shr(abits, shift), 1));
  Value normal = h.add(h.shr(h.add(abits, roundUp), shift), h.i(-((127 - bias) << man)));
  // Subnormal: a / 2^(1 - bias - man) rounded to an integer, nearest even
  // (adding and removing 2^23 rounds in f32); 2^man is the smallest normal's code.
  Value scaled = arith::MulFOp::create(b, loc, a, h.f(std::ldexp(1.0, int(bias - 1 + man))));
  Value big = h.f(8388608.0);
  Value q = arith::FPToSIOp::create(
      b, loc, h.i32(),
      arith::SubFOp::create(b, loc, arith::AddFOp::create(b, loc, scaled, big), big));
  Value tiny = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, a,
                                     h.f(std::ldexp(1.0, int(1 - bias))));
  Value code = h.bor(h.sel(isNan, h.i(0x7F), h.sel(tiny, q, normal)), sign);
  Value byte = arith::TruncIOp::create(b, loc, shaped(x.getType(), b.getI8Type()), code);
  return arith::BitcastOp::create(b, loc, shaped(x.getType(), fp8), byte);
}

/// An FP8 constant's bits as an i8 constant.
Attribute constantBytes(Attribute value) {
  auto bytesOf = [](APFloat f) { return f.bitcastToAPInt(); };
  if (auto fa = dyn_cast<FloatAttr>(value))
    return IntegerAttr::get(IntegerType::get(value.getContext(), 8), bytesOf(fa.getValue()));
  auto dense = cast<DenseFPElementsAttr>(value);
  auto t = cast<RankedTensorType>(toBytes(dense.getType()));
  return dense.mapValues(t.getElementType(), bytesOf);
}

LogicalResult expandFP8(func::FuncOp func) {
  // (1) the conversions.
  SmallVector<Operation *> convs;
  func.walk([&](Operation *op) {
    if (isa<arith::ExtFOp, arith::TruncFOp>(op) &&
        (isFP8(getElementTypeOrSelf(op->getOperand(0).getType())) ||
         isFP8(getElementTypeOrSelf(op->getResult(0).getType()))))
      convs.push_back(op);
  });
  for (Operation *op : convs) {
    OpBuilder b(op);
    Value in = op->getOperand(0);
    Type from = getElementTypeOrSelf(in.getType()), to = getElementTypeOrSelf(op->getResult(0).getType());
    Value out;
    if (isFP8(from) && to.isF32())
      out = expandExtF(b, op->getLoc(), in);
    else if (from.isF32() && isFP8(to))
      out = expandTruncF(b, op->getLoc(), in, to);
    else
      return op->emitOpError("converts FP8 only to and from f32 (the DSL goes through f32)");
    op->getResult(0).replaceAllUsesWith(out);
    op->erase();
  }
  // (2) every FP8 value becomes i8 with the same bits.
  SmallVector<arith::ConstantOp> consts;
  func.walk([&](arith::ConstantOp c) {
    if (isFP8(getElementTypeOrSelf(c.getType())))
      consts.push_back(c);
  });
  for (arith::ConstantOp c : consts) {
    OpBuilder b(c);
    auto bytes = arith::ConstantOp::create(b, c.getLoc(), cast<TypedAttr>(constantBytes(c.getValue())));
    c.getResult().replaceAllUsesWith(bytes.getResult());
    c.erase();
  }
  WalkResult walk = func.walk([&](Operation *op) -> WalkResult {
    bool touches = llvm::any_of(op->getOperandTypes(), [](Type t) { return toBytes(t) != t; }) ||
                   llvm::any_of(op->getResultTypes(), [](Type t) { return toBytes(t) != t; });
    if (!touches)
      return WalkResult::advance();
    // What may hold FP8: moves and conversions' bitcasts, not arithmetic.
    if (isa<arith::ArithDialect, math::MathDialect>(op->getDialect()) &&
        !isa<arith::SelectOp, arith::BitcastOp>(op))
      return op->emitOpError("computes on FP8; convert to f32 first"), WalkResult::interrupt();
    for (Value r : op->getResults())
      r.setType(toBytes(r.getType()));
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          arg.setType(toBytes(arg.getType()));
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  for (BlockArgument arg : func.getArguments())
    arg.setType(toBytes(arg.getType()));
  SmallVector<Type> inputs;
  for (Type t : func.getArgumentTypes())
    inputs.push_back(toBytes(t));
  func.setType(FunctionType::get(func.getContext(), inputs, func.getResultTypes()));
  // The conversions' bitcasts are now i8 -> i8.
  func.walk([](arith::BitcastOp op) {
    if (op.getIn().getType() == op.getType()) {
      op.getResult().replaceAllUsesWith(op.getIn());
      op.erase();
    }
  });
  return success();
}

struct TileExpandFP8Pass : tessera::tile::impl::TileExpandFP8Base<TileExpandFP8Pass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func->hasAttr(TileDialect::getKernelAttrName()))
        if (failed(expandFP8(func)))
          return signalPassFailure();
  }
};
} // namespace
