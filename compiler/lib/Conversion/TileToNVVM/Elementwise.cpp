//===- Elementwise.cpp - arith/math ops and addptr, element by element ----===//
#include "KernelLowering.h"

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
