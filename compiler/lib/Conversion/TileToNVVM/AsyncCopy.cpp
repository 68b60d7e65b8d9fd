//===- AsyncCopy.cpp - cp.async, TMA, mbarriers, shared slots -------------===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

/// tile.alloc_shared: the buffer's offset in the kernel's shared memory.
LogicalResult KernelLowering::lowerAllocShared(AllocSharedOp o) {
  vals[o.getResult()] = {i32(getSharedLayout(o.getType()).getOffset())};
  return success();
}

/// tile.shared_slot: the offset of slot `slot` of the buffer.
LogicalResult KernelLowering::lowerSharedSlot(SharedSlotOp o) {
  auto t = o.getType();
  int64_t slotBytes = t.getNumElements() * getElementByteSize(t);
  vals[o.getResult()] = {arith::AddIOp::create(
      b, loc, part(o.getBuffer(), 0),
      arith::MulIOp::create(b, loc, part(o.getSlot(), 0), i32(slotBytes)))};
  return success();
}

/// cp.async of each thread's chunks into slot `slot` of the buffer (16, 8
/// or 4 bytes per copy; a masked-off chunk copies 0 source bytes, which
/// zero-fills), then one commit group.  Narrower chunks fall back to a
/// load and a shared store, made visible by the same tile.async_wait.
LogicalResult KernelLowering::lowerAsyncLoad(AsyncLoadOp op) {
  auto bufT = op.getBuffer().getType();
  SharedLayoutAttr sh = getSharedLayout(bufT);
  auto t = RankedTensorType::get(bufT.getShape().drop_front(), bufT.getElementType(), sh);
  Type elt = llvmElemType(t.getElementType());
  unsigned eb = getElementByteSize(elt);
  Value ptrs = op.getPtr();
  LayoutInfo l = layoutOf(ptrs);
  unsigned w = accessWidth(ptrs, op.getMask(), eb);
  Value offset = arith::AddIOp::create(
      b, loc, part(op.getBuffer(), 0),
      arith::MulIOp::create(b, loc, part(op.getSlot(), 0), i32(t.getNumElements() * eb)));
  bool contiguous = sh.getContig() == 1;
  for (unsigned r = 0; r < l.regs(); r += w) {
    SmallVector<Value> idx = delinearize(linearIndex(l, r), t.getShape());
    unsigned bytes = w * eb;
    if (contiguous && bytes >= 4) {
      Value dst = arith::AddIOp::create(b, loc, smemBaseAddr,
                                        sharedOffset(t, offset, idx[0], idx[1]));
      Value src = part(ptrs, r);
      Value n = i32(bytes);
      if (op.getMask())
        n = arith::SelectOp::create(b, loc, part(op.getMask(), r), n, i32(0));
      std::string text = std::string(bytes == 16 ? "cp.async.cg" : "cp.async.ca") +
                         ".shared.global [$0], [$1], " + std::to_string(bytes) + ", $2;";
      inlineAsm(Type(), {dst, src, n}, text, "r,l,r");
      continue;
    }
    for (unsigned i = 0; i < w; ++i) {
      Value x;
      if (op.getMask()) {
        auto ifOp = scf::IfOp::create(b, loc, SmallVector<Type>{elt}, part(op.getMask(), r + i),
                                      true, true);
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(ifOp.thenBlock());
        scf::YieldOp::create(b, loc, ValueRange{LLVM::LoadOp::create(b, loc, elt, part(ptrs, r + i), eb).getResult()});
        b.setInsertionPointToStart(ifOp.elseBlock());
        scf::YieldOp::create(b, loc, ValueRange{zeroOf(elt)});
        x = ifOp.getResult(0);
      } else {
        x = LLVM::LoadOp::create(b, loc, elt, part(ptrs, r + i), eb);
      }
      SmallVector<Value> ix = delinearize(linearIndex(l, r + i), t.getShape());
      LLVM::StoreOp::create(b, loc, x, smemAt(sharedOffset(t, offset, ix[0], ix[1])), eb);
    }
  }
  inlineAsm(Type(), {}, "cp.async.commit_group;", "");
  return success();
}

/// tile.async_wait: cp.async.wait_group, then the copies are visible to all
/// threads (and to the async proxy, for wgmma).
LogicalResult KernelLowering::lowerAsyncWait(AsyncWaitOp o) {
  inlineAsm(Type(), {}, "cp.async.wait_group " + std::to_string(o.getPending()) + ";", "");
  fenceProxyAsync();
  barrier();
  return success();
}

/// One thread (byThreadZero) issues one `cp.async.bulk.tensor` per swizzle
/// atom of the slot (the box is one atom wide, all rows tall; atom a lands
/// after all rows of atom a - 1, as the #tile.shared layout stores them).
LogicalResult KernelLowering::lowerTmaLoad(TmaLoadOp op) {
  auto bufT = op.getBuffer().getType();
  SharedLayoutAttr s = getSharedLayout(bufT);
  unsigned c = s.getContig();
  int64_t eb = getElementByteSize(bufT), W = s.getSwizzle(), E = W / eb;
  int64_t rows = bufT.getDimSize(2 - c), cols = bufT.getDimSize(1 + c);
  int64_t slotBytes = rows * cols * eb;
  Value slot = part(op.getSlot(), 0);
  Value dst = arith::AddIOp::create(
      b, loc, smemBaseAddr,
      arith::AddIOp::create(b, loc, part(op.getBuffer(), 0),
                            arith::MulIOp::create(b, loc, slot, i32(slotBytes))));
  Value bar = barrierAddr(op.getBarriers(), slot);
  Value map = LLVM::PtrToIntOp::create(b, loc, b.getI64Type(), part(op.getMap(), 0));
  size_t rank = op.getCoords().size();
  // $1 dst, $2 map, $3 barrier, then the coordinates.
  std::string coords, cons = "r,l,r";
  for (size_t i = 0; i < rank; ++i) {
    coords += (i ? ", $" : "$") + std::to_string(4 + i);
    cons += ",r";
  }
  std::string instr = "cp.async.bulk.tensor." + std::to_string(rank) +
                      "d.shared::cluster.global.mbarrier::complete_tx::bytes [$1], [$2, {" +
                      coords + "}], [$3];";
  Value c0 = part(op.getCoords()[0], 0);
  for (int64_t a = 0; a < cols / E; ++a) {
    SmallVector<Value> operands{arith::AddIOp::create(b, loc, dst, i32(a * rows * W)), map, bar,
                                arith::AddIOp::create(b, loc, c0, i32(a * E))};
    for (size_t i = 1; i < rank; ++i)
      operands.push_back(part(op.getCoords()[i], 0));
    byThreadZero(instr, operands, cons);
  }
  return success();
}

/// tile.barrier_init: one thread initializes each mbarrier of the ring.
LogicalResult KernelLowering::lowerBarrierInit(BarrierInitOp o) {
  for (int64_t s = 0; s < o.getBarriers().getType().getDimSize(0); ++s)
    byThreadZero("mbarrier.init.shared::cta.b64 [$1], " + std::to_string(o.getCount()) + ";",
                 {barrierAddr(o.getBarriers(), i32(s))}, "r");
  // Visible to the other threads and to the TMA unit before use (once
  // for a run of inits, as at the top of a warp-specialized kernel).
  if (isa_and_nonnull<BarrierInitOp>(o->getNextNode()))
    return success();
  inlineAsm(Type(), {}, "fence.mbarrier_init.release.cluster;", "");
  barrier();
  return success();
}

/// tile.barrier_expect: one thread arrives on the slot's mbarrier and sets
/// the bytes the TMA copies will complete.
LogicalResult KernelLowering::lowerBarrierExpect(BarrierExpectOp o) {
  byThreadZero("mbarrier.arrive.expect_tx.shared::cta.b64 _, [$1], " +
                   std::to_string(o.getBytes()) + ";",
               {barrierAddr(o.getBarriers(), part(o.getSlot(), 0))}, "r");
  return success();
}

/// tile.barrier_arrive: one arrival per warp on the slot's mbarrier.
LogicalResult KernelLowering::lowerBarrierArrive(BarrierArriveOp o) {
  // The warp's lanes are done with the slot once they all get here;
  // then one of them arrives (release: their reads come first).
  Value lane = arith::AndIOp::create(b, loc, tid, i32(31));
  inlineAsm(Type(), {lane, barrierAddr(o.getBarriers(), part(o.getSlot(), 0))},
            "{\n.reg .pred p;\nsetp.eq.u32 p, $0, 0;\nbar.warp.sync -1;\n"
            "@p mbarrier.arrive.shared::cta.b64 _, [$1];\n}",
            "r,r");
  return success();
}

/// tile.barrier_wait: every thread spins until the slot's mbarrier has
/// completed phase `phase`.
LogicalResult KernelLowering::lowerBarrierWait(BarrierWaitOp o) {
  // Labels are local to the braces, so the loop can be inlined often.
  inlineAsm(Type(),
            {barrierAddr(o.getBarriers(), part(o.getSlot(), 0)), part(o.getPhase(), 0)},
            "{\n.reg .pred done;\nwait:\nmbarrier.try_wait.parity.shared::cta.b64 done, "
            "[$0], $1;\n@!done bra wait;\n}",
            "r,r");
  return success();
}
