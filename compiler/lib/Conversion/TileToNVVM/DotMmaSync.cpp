//===- DotMmaSync.cpp - tile.dot on Ampere tensor cores (mma.sync) --------===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

/// Ampere tensor cores: every warp walks K in steps of 16 with
/// mma.sync.m16n8k16 over the 16x8 pieces the #tile.mma layout gives it,
/// reading A and B fragments from the swizzled shared tiles (a pair of
/// K-adjacent elements is one 32-bit load when K is the contiguous axis).
LogicalResult KernelLowering::lowerDotMmaSync(DotOp op) {
  auto aT = op.getA().getType(), bT = op.getB().getType();
  LayoutInfo l = layoutOf(op.getResult());
  int64_t K = aT.getDimSize(1);
  int64_t pieces = l.cols / (8 * l.warpsN), slices = l.rows / (16 * l.warpsM);
  Type elt = aT.getElementType(), i32T = b.getI32Type();
  bool aInRegs = !isShared(op.getA());
  Value aOff = aInRegs ? Value() : part(op.getA(), 0), bOff = part(op.getB(), 0);
  bool aK = aInRegs || getSharedLayout(aT).getContig() == 1;
  bool bK = getSharedLayout(bT).getContig() == 0;
  Value warp = arith::ShRUIOp::create(b, loc, tid, i32(5));
  Value lane = arith::AndIOp::create(b, loc, tid, i32(31));
  Value wm = arith::AndIOp::create(b, loc, warp, i32(l.warpsM - 1));
  Value wn = arith::ShRUIOp::create(b, loc, warp, i32(llvm::Log2_32(l.warpsM)));
  Value g = arith::ShRUIOp::create(b, loc, lane, i32(2));
  Value q2 = arith::MulIOp::create(b, loc, arith::AndIOp::create(b, loc, lane, i32(3)), i32(2));
  Value rowBase = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, wm, i32(16)), g);
  Value colBase = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, wn, i32(l.cols / l.warpsN)), g);
  // Two K-adjacent elements (k, k+1) at (row, k) of A or (k, col) of B, as
  // one b32 register, the lower k in the low half.
  auto pairAt = [&](RankedTensorType t, Value off, Value r, Value c, bool kContig,
                    bool isA) -> Value {
    if (kContig)
      return LLVM::LoadOp::create(b, loc, i32T, smemAt(sharedOffset(t, off, r, c)), 4);
    auto vt = VectorType::get({2}, elt);
    Value v = LLVM::PoisonOp::create(b, loc, vt);
    for (int i = 0; i < 2; ++i) {
      Value rr = isA ? r : arith::AddIOp::create(b, loc, r, i32(i)).getResult();
      Value cc = isA ? arith::AddIOp::create(b, loc, c, i32(i)).getResult() : c;
      Value x = LLVM::LoadOp::create(b, loc, elt, smemAt(sharedOffset(t, off, rr, cc)), 2);
      v = LLVM::InsertElementOp::create(b, loc, v, x, i32(i));
    }
    return LLVM::BitcastOp::create(b, loc, i32T, v);
  };
  std::string ty = elt.isF16() ? "f16" : "bf16";
  std::string text = "mma.sync.aligned.m16n8k16.row.col.f32." + ty + "." + ty +
                     ".f32 {$0, $1, $2, $3}, {$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};";
  Type f32 = b.getF32Type();
  auto resTy = LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(4, f32));
  SmallVector<Value> acc(vals[op.getAcc()].begin(), vals[op.getAcc()].end());
  if (acc.size() == 1)
    acc.assign(l.regs(), acc[0]);
  for (int64_t k0 = 0; k0 < K; k0 += kMmaK) {
    SmallVector<SmallVector<Value>> aFrag(slices), bFrag(pieces);
    for (int64_t sl = 0; sl < slices; ++sl) {
      if (aInRegs) {
        aFrag[sl] = aFragmentFromRegisters(op.getA(), sl, k0 / kMmaK);
        continue;
      }
      Value r0 = arith::AddIOp::create(b, loc, rowBase, i32(sl * 16 * l.warpsM));
      Value r8 = arith::AddIOp::create(b, loc, r0, i32(8));
      Value c0 = arith::AddIOp::create(b, loc, q2, i32(k0));
      Value c8 = arith::AddIOp::create(b, loc, c0, i32(8));
      aFrag[sl] = {pairAt(aT, aOff, r0, c0, aK, true), pairAt(aT, aOff, r8, c0, aK, true),
                   pairAt(aT, aOff, r0, c8, aK, true), pairAt(aT, aOff, r8, c8, aK, true)};
    }
    for (int64_t pc = 0; pc < pieces; ++pc) {
      Value col = arith::AddIOp::create(b, loc, colBase, i32(pc * 8));
      Value k = arith::AddIOp::create(b, loc, q2, i32(k0));
      Value k8 = arith::AddIOp::create(b, loc, k, i32(8));
      bFrag[pc] = {pairAt(bT, bOff, k, col, bK, false), pairAt(bT, bOff, k8, col, bK, false)};
    }
    for (int64_t sl = 0; sl < slices; ++sl)
      for (int64_t pc = 0; pc < pieces; ++pc) {
        int64_t r = (sl * pieces + pc) * 4;
        SmallVector<Value> operands(aFrag[sl]);
        llvm::append_range(operands, bFrag[pc]);
        for (int i = 0; i < 4; ++i)
          operands.push_back(acc[r + i]);
        auto mma = LLVM::InlineAsmOp::create(
            b, loc, resTy, operands, b.getStringAttr(text),
            b.getStringAttr("=f,=f,=f,=f,r,r,r,r,r,r,f,f,f,f"), /*has_side_effects=*/nullptr,
            /*is_align_stack=*/nullptr,
            LLVM::TailCallKindAttr::get(ctx, LLVM::tailcallkind::TailCallKind::None),
            LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT), /*operand_attrs=*/nullptr);
        for (int i = 0; i < 4; ++i)
          acc[r + i] = LLVM::ExtractValueOp::create(b, loc, mma.getResult(0), i);
      }
  }
  vals[op.getResult()] = acc;
  return success();
}

/// The four b32 registers of the m16k16 A fragment for 16-row slice `slice`
/// and K step `kStep` of an A operand held in a #tile.mma layout (one warp
/// column): its 8-column pieces 2 kStep and 2 kStep + 1, rows g and g + 8,
/// each a pair of adjacent columns packed low-first (PTX ISA, "Matrix
/// Fragments for mma.m16n8k16"; the same for wgmma's register A).
SmallVector<Value> KernelLowering::aFragmentFromRegisters(Value a, int64_t slice, int64_t kStep) {
  LayoutInfo la = layoutOf(a);
  Type elt = cast<RankedTensorType>(a.getType()).getElementType();
  int64_t pieces = la.cols / 8;
  auto vt = VectorType::get({2}, elt);
  SmallVector<Value> out;
  for (int64_t piece : {2 * kStep, 2 * kStep + 1})
    for (int64_t half = 0; half < 2; ++half) {
      int64_t r = ((slice * pieces + piece) * 2 + half) * 2;
      Value v = LLVM::PoisonOp::create(b, loc, vt);
      v = LLVM::InsertElementOp::create(b, loc, v, part(a, r), i32(0));
      v = LLVM::InsertElementOp::create(b, loc, v, part(a, r + 1), i32(1));
      out.push_back(LLVM::BitcastOp::create(b, loc, b.getI32Type(), v));
    }
  // Order: (piece 2k, rows g), (2k, g + 8), (2k + 1, g), (2k + 1, g + 8).
  return out;
}
