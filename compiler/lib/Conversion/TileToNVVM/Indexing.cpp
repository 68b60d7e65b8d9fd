//===- Indexing.cpp - program ids, aranges, splats and constants ----------===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

/// tile.program_id: the block index along the axis (%ctaid).
LogicalResult KernelLowering::lowerProgramId(ProgramIdOp o) {
  Type i32T = b.getI32Type();
  Value v = o.getAxis() == 0   ? NVVM::BlockIdXOp::create(b, loc, i32T).getResult()
            : o.getAxis() == 1 ? NVVM::BlockIdYOp::create(b, loc, i32T).getResult()
                               : NVVM::BlockIdZOp::create(b, loc, i32T).getResult();
  vals[o.getResult()] = {v};
  return success();
}

/// tile.num_programs: the grid size along the axis (%nctaid).
LogicalResult KernelLowering::lowerNumPrograms(NumProgramsOp o) {
  Type i32T = b.getI32Type();
  Value v = o.getAxis() == 0   ? NVVM::GridDimXOp::create(b, loc, i32T).getResult()
            : o.getAxis() == 1 ? NVVM::GridDimYOp::create(b, loc, i32T).getResult()
                               : NVVM::GridDimZOp::create(b, loc, i32T).getResult();
  vals[o.getResult()] = {v};
  return success();
}

/// tile.arange: each owned element is its own linear index plus the start.
LogicalResult KernelLowering::lowerArange(ArangeOp o) {
  LayoutInfo l = layoutOf(o.getResult());
  SmallVector<Value> out;
  for (unsigned r = 0; r < l.regs(); ++r)
    out.push_back(arith::AddIOp::create(b, loc, linearIndex(l, r),
                                        i32(o.getStart())));
  vals[o.getResult()] = out;
  return success();
}

/// tile.splat: the scalar in every register.
LogicalResult KernelLowering::lowerSplat(SplatOp o) {
  vals[o.getResult()] =
      SmallVector<Value>(width(o.getResult()), part(o.getSrc(), 0));
  return success();
}

/// arith.constant: a scalar is cloned, a splat tile is its value in every
/// register.
LogicalResult KernelLowering::lowerConstant(arith::ConstantOp o) {
  auto t = dyn_cast<RankedTensorType>(o.getType());
  if (!t) {
    vals[o.getResult()] = {b.clone(*o)->getResult(0)};
    return success();
  }
  auto dense = dyn_cast<DenseElementsAttr>(o.getValue());
  if (!dense || !dense.isSplat())
    return LogicalResult(o.emitOpError("only splat tile constants are supported"));
  Value c = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(dense.getSplatValue<Attribute>()));
  vals[o.getResult()] = SmallVector<Value>(width(o.getResult()), c);
  return success();
}
