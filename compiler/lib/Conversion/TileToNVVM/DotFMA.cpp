//===- DotFMA.cpp - tile.dot on CUDA cores (an FMA loop over K) -----------===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

/// CUDA-core matrix product: A and B to scratch, then each thread runs one
/// loop over K carrying the accumulators of the C elements it owns.
LogicalResult KernelLowering::lowerDotFMA(DotOp op) {
  auto aT = op.getA().getType(), bT = op.getB().getType();
  int64_t K = aT.getDimSize(1), N = bT.getDimSize(1);
  Type elt = aT.getElementType();
  int64_t bOffset = llvm::alignTo(aT.getNumElements() * getElementByteSize(elt), 16);
  storeToScratch(op.getA(), 0);
  storeToScratch(op.getB(), bOffset);
  barrier();
  auto cT = op.getType();
  LayoutInfo l = layoutOf(op.getResult());
  SmallVector<Value> aRow, bCol;
  for (unsigned r = 0; r < l.regs(); ++r) {
    SmallVector<Value> idx = delinearize(linearIndex(l, r), cT.getShape());
    aRow.push_back(arith::MulIOp::create(b, loc, idx[0], i32(K)));
    bCol.push_back(idx[1]);
  }
  SmallVector<Value> init;
  for (unsigned r = 0; r < l.regs(); ++r)
    init.push_back(part(op.getAcc(), r));
  Type f32 = b.getF32Type();
  auto loop = scf::ForOp::create(
      b, loc, i32(0), i32(K), i32(1), init,
      [&](OpBuilder &nb, Location, Value k, ValueRange acc) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        Value kRow = arith::MulIOp::create(b, loc, k, i32(N));
        SmallVector<Value> next;
        for (unsigned r = 0; r < l.regs(); ++r) {
          Value x = loadFromScratch(elt, 0, arith::AddIOp::create(b, loc, aRow[r], k));
          Value y = loadFromScratch(elt, bOffset,
                                    arith::AddIOp::create(b, loc, kRow, bCol[r]));
          if (elt != f32) {
            x = arith::ExtFOp::create(b, loc, f32, x);
            y = arith::ExtFOp::create(b, loc, f32, y);
          }
          next.push_back(LLVM::FMAOp::create(b, loc, x, y, acc[r]));
        }
        scf::YieldOp::create(b, loc, next);
      });
  barrier();
  vals[op.getResult()] = SmallVector<Value>(loop.getResults());
  return success();
}
