//===- Elementwise.cpp - arith/math ops and addptr, element by element ----===//
#include "KernelLowering.h"

#include <limits>

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

static constexpr double kLog2e = 1.4426950408889634;
static constexpr double kLn2 = 0.6931471805599453;

Value KernelLowering::ptxUnary(StringRef instr, Value x) {
  std::string text = (instr + " $0, $1;").str();
  auto asmOp = LLVM::InlineAsmOp::create(
      b, loc, b.getF32Type(), ValueRange{x}, b.getStringAttr(text),
      b.getStringAttr("=f,f"), /*has_side_effects=*/nullptr,
      /*is_align_stack=*/nullptr,
      LLVM::TailCallKindAttr::get(ctx, LLVM::tailcallkind::TailCallKind::None),
      LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT),
      /*operand_attrs=*/nullptr);
  return asmOp.getResult(0);
}

/// x - k 2pi with k = rint(x / 2pi), in [-pi, pi]: sin.approx and
/// cos.approx are accurate there (PTX ISA: absolute error 2^-20.5 over
/// -100pi..100pi, growing beyond).  2pi is split into an f32 head and tail
/// (Cody-Waite), each subtracted by one fma, so r keeps about 1e-7 absolute
/// accuracy while |k| stays far below 2^24.
Value KernelLowering::reduceToPi(Value x) {
  auto c = [&](double v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v))); };
  constexpr double kTwoPi = 6.283185307179586;
  float head = float(kTwoPi);
  Value k = LLVM::RoundEvenOp::create(b, loc, arith::MulFOp::create(b, loc, x, c(1 / kTwoPi)));
  Value negK = arith::NegFOp::create(b, loc, k);
  Value r = LLVM::FMAOp::create(b, loc, negK, c(head), x);
  return LLVM::FMAOp::create(b, loc, negK, c(kTwoPi - double(head)), r);
}

/// pow(x, y) = 2^(y log2|x|) through lg2/ex2.approx, with IEEE pow's cases:
/// a negative x (or -0, or -inf) to an odd integral power is negative; a
/// finite negative x to a non-integral power is NaN; pow(x, 0) = 1 (even
/// for NaN x); |x| = 1 gives magnitude 1 for any y (pow(1, NaN) = 1,
/// pow(-1, +-inf) = 1).
Value KernelLowering::powf(Value x, Value y, StringRef ex2) {
  using arith::CmpFPredicate;
  auto c = [&](float v) { return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v)); };
  auto cmp = [&](CmpFPredicate p, Value l, Value r) {
    return arith::CmpFOp::create(b, loc, p, l, r).getResult();
  };
  auto sel = [&](Value cond, Value t, Value f) {
    return arith::SelectOp::create(b, loc, cond, t, f).getResult();
  };
  Value ax = LLVM::FAbsOp::create(b, loc, x);
  Value l = ptxUnary("lg2.approx.f32", ax);
  // |x| = 1: log2 is exactly 0, and 0 * inf or 0 * NaN must not leak in.
  Value t = sel(cmp(CmpFPredicate::OEQ, ax, c(1)), c(0),
                arith::MulFOp::create(b, loc, y, l));
  Value mag = ptxUnary(ex2, t);
  Value integral = cmp(CmpFPredicate::OEQ, LLVM::FFloorOp::create(b, loc, y), y);
  // y - 2 floor(y / 2) is 1 exactly for odd integers (NaN for infinities).
  Value half = LLVM::FFloorOp::create(b, loc, arith::MulFOp::create(b, loc, y, c(0.5f)));
  Value odd = cmp(CmpFPredicate::OEQ,
                  arith::SubFOp::create(b, loc, y, arith::MulFOp::create(b, loc, half, c(2))),
                  c(1));
  Value bits = LLVM::BitcastOp::create(b, loc, b.getI32Type(), x);
  Value signBit = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, bits, i32(0));
  Value r = sel(arith::AndIOp::create(b, loc, signBit, odd), arith::NegFOp::create(b, loc, mag), mag);
  // Finite negative x to a non-integral power (pow(-inf, 0.5) = inf, pow(-0, 0.5) = 0).
  Value finiteNeg = arith::AndIOp::create(
      b, loc, cmp(CmpFPredicate::OLT, x, c(0)),
      cmp(CmpFPredicate::OGT, x, c(-std::numeric_limits<float>::infinity())));
  Value nan = c(std::numeric_limits<float>::quiet_NaN());
  r = sel(arith::AndIOp::create(b, loc, finiteNeg,
                                arith::XOrIOp::create(b, loc, integral,
                                                      arith::ConstantOp::create(b, loc, b.getBoolAttr(true)))),
          nan, r);
  return sel(cmp(CmpFPredicate::OEQ, y, c(0)), c(1), r);
}

/// `math` ops are evaluated in f32 with the PTX approximations the GPU
/// documents (PTX ISA, "Floating-Point Instructions": ex2.approx, lg2.approx,
/// rsqrt.approx have ~2 ulp error); f16/bf16 operands are widened first.
LogicalResult KernelLowering::lowerMath(Operation *op, unsigned r, Value &out) {
  Type resElt = getElementTypeOrSelf(op->getResult(0).getType());
  Type f32 = b.getF32Type();
  SmallVector<Value> args;
  for (Value v : op->getOperands()) {
    Value x = part(v, r);
    if (x.getType() != f32)
      x = arith::ExtFOp::create(b, loc, f32, x);
    args.push_back(x);
  }
  Value y;
  StringRef name = op->getName().getStringRef();
  StringRef ex2 = exp2Ftz ? "ex2.approx.ftz.f32" : "ex2.approx.f32";
  if (name == "math.exp2")
    y = ptxUnary(ex2, args[0]);
  else if (name == "math.exp")
    y = ptxUnary(ex2,
                 arith::MulFOp::create(b, loc, args[0],
                                       arith::ConstantOp::create(
                                           b, loc, b.getF32FloatAttr(kLog2e))));
  else if (name == "math.log2")
    y = ptxUnary("lg2.approx.f32", args[0]);
  else if (name == "math.log")
    y = arith::MulFOp::create(
        b, loc, ptxUnary("lg2.approx.f32", args[0]),
        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(kLn2)));
  else if (name == "math.rsqrt")
    y = ptxUnary("rsqrt.approx.f32", args[0]);
  else if (name == "math.tanh")
    y = ptxUnary("tanh.approx.f32", args[0]);
  else if (name == "math.sin" || name == "math.cos")
    y = ptxUnary(name == "math.sin" ? "sin.approx.f32" : "cos.approx.f32",
                 reduceToPi(args[0]));
  else if (name == "math.powf")
    y = powf(args[0], args[1], ex2);
  else if (name == "math.sqrt")
    y = LLVM::SqrtOp::create(b, loc, args[0]);
  else if (name == "math.fma")
    y = LLVM::FMAOp::create(b, loc, args[0], args[1], args[2]);
  else if (name == "math.absf")
    y = LLVM::FAbsOp::create(b, loc, args[0]);
  else if (name == "math.floor")
    y = LLVM::FFloorOp::create(b, loc, args[0]);
  else if (name == "math.ceil")
    y = LLVM::FCeilOp::create(b, loc, args[0]);
  else
    return op->emitOpError("has no GPU lowering in Tessera yet");
  if (resElt != f32)
    y = arith::TruncFOp::create(b, loc, resElt, y);
  out = y;
  return success();
}

/// A loop-carried accumulator scaled by a broadcast factor, `acc * f` (the
/// online softmax's `acc * alpha[row]`): each warp multiplies only when one
/// of its factors differs from 1, which after the first key blocks is rare
/// (the running maximum has settled), saving a multiply per accumulator
/// register.  Skipping is exact: x * 1 == x.  Needs many registers per
/// thread over few distinct factors (a row broadcast), else it does nothing.
bool KernelLowering::lowerRescaleIfChanged(arith::MulFOp op, unsigned n) {
  if (n < 16)
    return false;
  for (unsigned i = 0; i < 2; ++i) {
    auto acc = dyn_cast<BlockArgument>(op->getOperand(i));
    Value factor = op->getOperand(1 - i);
    if (!acc || !isa<scf::ForOp>(acc.getOwner()->getParentOp()) ||
        !factor.getDefiningOp<BroadcastOp>())
      continue;
    llvm::SetVector<Value> factors;
    for (unsigned r = 0; r < n; ++r)
      factors.insert(part(factor, r));
    if (factors.size() * 4 > n)
      continue;
    Type f32 = b.getF32Type();
    if (getElementTypeOrSelf(op.getType()) != f32)
      continue;
    Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f));
    Value changed;
    for (Value f : factors) {
      Value c = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, f, one);
      changed = changed ? arith::OrIOp::create(b, loc, changed, c).getResult() : c;
    }
    Value any = NVVM::VoteSyncOp::create(b, loc, b.getI1Type(), i32(-1), changed,
                                         NVVM::VoteSyncKind::any);
    SmallVector<Type> types(n, f32);
    auto ifOp = scf::IfOp::create(b, loc, types, any, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> scaled;
      for (unsigned r = 0; r < n; ++r)
        scaled.push_back(arith::MulFOp::create(b, loc, part(acc, r), part(factor, r)));
      scf::YieldOp::create(b, loc, scaled);
      b.setInsertionPointToStart(ifOp.elseBlock());
      SmallVector<Value> same;
      for (unsigned r = 0; r < n; ++r)
        same.push_back(part(acc, r));
      scf::YieldOp::create(b, loc, same);
    }
    vals[op.getResult()] = SmallVector<Value>(ifOp.getResults());
    return true;
  }
  return false;
}

/// arith/math ops on tiles apply to every element independently: clone the
/// op once per owned element, on scalars.
LogicalResult KernelLowering::lowerElementwise(Operation *op) {
  unsigned n = 1;
  for (Value v : op->getResults())
    n = std::max(n, width(v));
  if (auto mul = dyn_cast<arith::MulFOp>(op); mul && lowerRescaleIfChanged(mul, n))
    return success();
  bool isMath = isa<math::MathDialect>(op->getDialect());
  if (isMath && !isa<FloatType>(getElementTypeOrSelf(op->getResult(0).getType())))
    return op->emitOpError("integer math is not supported on the GPU yet");
  SmallVector<SmallVector<Value>> results(op->getNumResults());
  for (unsigned r = 0; r < n; ++r) {
    if (isMath) {
      Value y;
      if (failed(lowerMath(op, r, y)))
        return failure();
      results[0].push_back(y);
      continue;
    }
    IRMapping map;
    for (Value v : op->getOperands())
      map.map(v, part(v, r));
    Operation *clone = b.clone(*op, map);
    for (auto [i, res] : llvm::enumerate(clone->getResults())) {
      res.setType(llvmElemType(getElementTypeOrSelf(res.getType())));
      results[i].push_back(res);
    }
  }
  for (auto [i, res] : llvm::enumerate(op->getResults()))
    vals[res] = results[i];
  return success();
}

/// tile.addptr: one getelementptr per owned element.
LogicalResult KernelLowering::lowerAddPtr(AddPtrOp o) {
  Type pointee = llvmElemType(
      cast<PtrType>(getElementTypeOrSelf(o.getType())).getPointeeType());
  auto ptrT = LLVM::LLVMPointerType::get(ctx, kGlobalAddrSpace);
  SmallVector<Value> out;
  for (unsigned r = 0; r < width(o.getResult()); ++r)
    out.push_back(LLVM::GEPOp::create(b, loc, ptrT, pointee,
                                      part(o.getPtr(), r),
                                      ValueRange{part(o.getOffset(), r)}));
  vals[o.getResult()] = out;
  return success();
}
