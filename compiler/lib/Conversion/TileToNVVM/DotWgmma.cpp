//===- DotWgmma.cpp - tile.dot with wgmma (sm_90a), tile.dot_wait ---------===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

/// Hopper tensor cores: each warpgroup (4 consecutive warps, which the
/// #tile.mma layout puts on 64 consecutive rows) issues
/// wgmma.mma_async.m64nNk16 with B (and A, unless A is in registers) read
/// from shared memory through descriptors, accumulating in the registers the layout gives it;
/// then commits the group and waits for it, unless the dot is asynchronous
/// (`tile.async`: a later tile.dot_wait waits).  The wait passes the
/// accumulators through an empty asm so no use of them can be scheduled
/// before it.
LogicalResult KernelLowering::lowerDotWgmma(DotOp op) {
  auto aT = op.getA().getType(), bT = op.getB().getType();
  LayoutInfo l = layoutOf(op.getResult());
  int64_t M = aT.getDimSize(0), K = aT.getDimSize(1);
  int64_t Nw = l.cols / l.warpsN, slices = M / (16 * l.warpsM);
  int64_t n = Nw / 2; // accumulator registers per slice and thread
  bool aInRegs = !isShared(op.getA());
  bool aKMajor = aInRegs || getSharedLayout(aT).getContig() == 1;
  bool bKMajor = getSharedLayout(bT).getContig() == 0;
  std::string ty = aT.getElementType().isF16() ? "f16" : "bf16";
  Value warp = arith::ShRUIOp::create(b, loc, tid, i32(5));
  Value firstWarp = arith::AndIOp::create(b, loc, warp, i32(~3));
  Value mBase = arith::MulIOp::create(
      b, loc, arith::AndIOp::create(b, loc, firstWarp, i32(l.warpsM - 1)), i32(16));
  Value nBase = arith::MulIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, firstWarp, i32(llvm::Log2_32(l.warpsM))),
      i32(Nw));
  Value aOff = aInRegs ? Value() : part(op.getA(), 0), bOff = part(op.getB(), 0);

  // SS: {d}, a-desc, b-desc, p, 1, 1, trans-a, trans-b.
  // RS: {d}, {a0..a3}, b-desc, p, 1, 1, trans-b (A in registers is K-major).
  int64_t nIn = aInRegs ? 6 : 3; // inputs before the tied accumulators
  auto num = [](int64_t i) { return "$" + std::to_string(i); };
  std::string text = "{\n.reg .pred p;\nsetp.ne.b32 p, " + num(n + nIn - 1) +
                     ", 0;\nwgmma.mma_async.sync.aligned.m64n" + std::to_string(Nw) +
                     "k16.f32." + ty + "." + ty + " {";
  std::string cons;
  for (int64_t i = 0; i < n; ++i) {
    text += (i ? ", " : "") + num(i);
    cons += "=f,";
  }
  if (aInRegs) {
    text += "}, {" + num(n) + ", " + num(n + 1) + ", " + num(n + 2) + ", " + num(n + 3) + "}, " +
            num(n + 4) + ", p, 1, 1, " + (bKMajor ? "0" : "1") + ";\n}";
    cons += "r,r,r,r,l,r";
  } else {
    text += "}, " + num(n) + ", " + num(n + 1) + ", p, 1, 1, " + (aKMajor ? "0" : "1") + ", " +
            (bKMajor ? "0" : "1") + ";\n}";
    cons += "l,l,r";
  }
  for (int64_t i = 0; i < n; ++i)
    cons += "," + std::to_string(i);
  Type f32 = b.getF32Type();
  auto resTy = LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(n, f32));
  SmallVector<Value> acc(vals[op.getAcc()].begin(), vals[op.getAcc()].end());
  if (acc.size() == 1)
    acc.assign(l.regs(), acc[0]);
  // Every register the wgmmas read (accumulators, A fragments) is produced
  // before wgmma.fence and pinned there through asm blocks tied to it (as
  // CUTLASS's warpgroup_fence_operand does): otherwise LLVM may schedule the
  // accumulator rescale or the packing of P after the fence, and ptxas then
  // injects a warpgroup.arrive of its own before the wgmma (C7519).
  SmallVector<Value> aRegs;
  int64_t kSteps = K / kMmaK;
  if (aInRegs)
    for (int64_t sl = 0; sl < slices; ++sl)
      for (int64_t ks = 0; ks < kSteps; ++ks)
        llvm::append_range(aRegs, aFragmentFromRegisters(op.getA(), sl, ks));
  acc = pinRegisters(acc, "f");
  aRegs = pinRegisters(aRegs, "r");
  inlineAsm(Type(), {}, "wgmma.fence.sync.aligned;", "");
  Value one = i32(1);
  SmallVector<Value> structs;
  for (int64_t sl = 0; sl < slices; ++sl) {
    SmallVector<Value> regs(acc.begin() + sl * n, acc.begin() + (sl + 1) * n);
    Value m0 = arith::AddIOp::create(b, loc, mBase, i32(sl * 16 * l.warpsM));
    Value res;
    for (int64_t k0 = 0; k0 < K; k0 += kMmaK) {
      Value db = descriptor(bT, bOff, i32(k0), nBase, bKMajor);
      SmallVector<Value> operands;
      if (aInRegs) {
        auto frag = ArrayRef<Value>(aRegs).slice(((sl * kSteps) + k0 / kMmaK) * 4, 4);
        operands.assign(frag.begin(), frag.end());
        operands.push_back(db);
      } else {
        Value da = descriptor(aT, aOff, m0, i32(k0), aKMajor);
        operands = {da, db};
      }
      operands.push_back(one);
      llvm::append_range(operands, regs);
      res = inlineAsm(resTy, operands, text, cons);
      for (int64_t i = 0; i < n; ++i)
        regs[i] = LLVM::ExtractValueOp::create(b, loc, res, i);
    }
    llvm::copy(regs, acc.begin() + sl * n);
  }
  inlineAsm(Type(), {}, "wgmma.commit_group.sync.aligned;", "");
  if (op->hasAttr("tile.async")) {
    // A later tile.dot_wait makes the registers readable.
    vals[op.getResult()] = acc;
    return success();
  }
  vals[op.getResult()] = waitForDots(0, acc);
  return success();
}

/// wgmma shared-memory matrix descriptor (PTX ISA, "Matrix Descriptor
/// Format") for the 8-row-group-aligned sub-tile of `t` starting at
/// (row, col).  K-major operands (A with K contiguous, B with K contiguous)
/// step 8-row groups along M/N by SBO = 8 atoms-rows; M/N-major ones step
/// atoms along M/N by LBO = the bytes of one atom column and 8-row groups
/// along K by SBO.  Swizzle codes: 128B = 1, 64B = 2, 32B = 3.
Value KernelLowering::descriptor(RankedTensorType t, Value tileOffset, Value row, Value col,
                                 bool kMajor) {
  SharedLayoutAttr s = getSharedLayout(t);
  int64_t W = s.getSwizzle();
  int64_t R = t.getDimSize(s.getContig() == 1 ? 0 : 1);
  int64_t lbo = kMajor ? 16 : R * W, sbo = 8 * W;
  uint64_t swz = W == 128 ? 1 : W == 64 ? 2 : 3;
  uint64_t fixed = (uint64_t((lbo >> 4) & 0x3FFF) << 16) |
                   (uint64_t((sbo >> 4) & 0x3FFF) << 32) | (swz << 62);
  Type i64 = b.getI64Type();
  Value addr = arith::AddIOp::create(b, loc, smemBaseAddr,
                                     sharedOffset(t, tileOffset, row, col, /*swizzled=*/false));
  Value start = arith::ShRUIOp::create(b, loc,
                                       arith::AndIOp::create(b, loc, addr, i32(0x3FFFF)), i32(4));
  Value wide = arith::ExtUIOp::create(b, loc, i64, start);
  return arith::OrIOp::create(b, loc, wide,
                              arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(int64_t(fixed))));
}

/// wgmma.wait_group `pending`, then `regs` passed through empty asm blocks
/// tied to them, so no use can be scheduled before the wait.
SmallVector<Value> KernelLowering::waitForDots(unsigned pending, ArrayRef<Value> regs) {
  inlineAsm(Type(), {}, "wgmma.wait_group.sync.aligned " + std::to_string(pending) + ";", "");
  return pinRegisters(regs, "f");
}

/// `regs` (all of the type the constraint letter `kind` names: "f" f32,
/// "r" i32) passed through empty side-effecting asm blocks tied to them, 64
/// at a time: their producers stay before this point and their users after.
SmallVector<Value> KernelLowering::pinRegisters(ArrayRef<Value> regs, StringRef kind) {
  SmallVector<Value> out;
  for (size_t start = 0; start < regs.size(); start += 64) {
    size_t n = std::min<size_t>(64, regs.size() - start);
    std::string cons;
    for (size_t i = 0; i < n; ++i)
      cons += "=" + kind.str() + ",";
    for (size_t i = 0; i < n; ++i)
      cons += (i ? "," : "") + std::to_string(i);
    SmallVector<Type> types;
    for (size_t i = 0; i < n; ++i)
      types.push_back(regs[start + i].getType());
    auto resTy = LLVM::LLVMStructType::getLiteral(ctx, types);
    Value tied = inlineAsm(resTy, regs.slice(start, n), "", cons);
    for (size_t i = 0; i < n; ++i)
      out.push_back(LLVM::ExtractValueOp::create(b, loc, tied, i));
  }
  return out;
}

/// tile.dot_wait: waits for all but `pending` wgmma groups (mma.sync has
/// nothing in flight), then optionally synchronizes the block.
LogicalResult KernelLowering::lowerDotWait(DotWaitOp o) {
  SmallVector<Value> regs = flatten(o.getValues());
  SmallVector<Value> out = hopper ? waitForDots(o.getPending(), regs) : regs;
  if (o.getSync())
    barrier();
  unflatten(o.getResults(), out);
  return success();
}
