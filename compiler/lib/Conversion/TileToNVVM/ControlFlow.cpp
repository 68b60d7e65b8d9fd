//===- ControlFlow.cpp - scf.for/if/yield, return, warp specialization ----===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

LogicalResult KernelLowering::lowerFor(scf::ForOp op) {
  SmallVector<Value> init = flatten(op.getInitArgs());
  LogicalResult result = success();
  auto loop = scf::ForOp::create(
      b, loc, part(op.getLowerBound(), 0), part(op.getUpperBound(), 0),
      part(op.getStep(), 0), init,
      [&](OpBuilder &nb, Location, Value iv, ValueRange args) {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        vals[op.getInductionVar()] = {iv};
        unflatten(op.getRegionIterArgs(), args);
        result = lowerBlock(*op.getBody());
      });
  unflatten(op.getResults(), loop.getResults());
  return result;
}

LogicalResult KernelLowering::lowerIf(scf::IfOp op) {
  SmallVector<Type> types;
  for (Value res : op.getResults())
    for (Value v : SmallVector<Value>(width(res), res))
      types.push_back(llvmElemType(getElementTypeOrSelf(v.getType())));
  bool hasElse = !op.getElseRegion().empty();
  auto ifOp = scf::IfOp::create(b, loc, types, part(op.getCondition(), 0),
                                /*addThenBlock=*/true, hasElse);
  OpBuilder::InsertionGuard g(b);
  // Without results an scf.if gets its terminator from the builder.
  if (ifOp.thenBlock()->mightHaveTerminator())
    ifOp.thenBlock()->getTerminator()->erase();
  b.setInsertionPointToEnd(ifOp.thenBlock());
  if (failed(lowerBlock(op.getThenRegion().front())))
    return failure();
  if (hasElse) {
    if (ifOp.elseBlock()->mightHaveTerminator())
      ifOp.elseBlock()->getTerminator()->erase();
    b.setInsertionPointToEnd(ifOp.elseBlock());
    if (failed(lowerBlock(op.getElseRegion().front())))
      return failure();
  }
  unflatten(op.getResults(), ifOp.getResults());
  return success();
}

/// scf.yield: the flattened scalars of the yielded values.
LogicalResult KernelLowering::lowerYield(scf::YieldOp o) {
  scf::YieldOp::create(b, loc, flatten(o.getOperands()));
  return success();
}

/// func.return: llvm.return.
LogicalResult KernelLowering::lowerReturn(func::ReturnOp) {
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return success();
}

/// Consumer warps (tid < threads) run the first region; of the producer
/// warps, the first runs the second region and the others leave.  Each side
/// first moves its register budget (setmaxnreg acts per warpgroup: every
/// warp of the group executes it).
LogicalResult KernelLowering::lowerWarpSpecialize(WarpSpecializeOp op) {
  if (!hopper)
    return op.emitOpError("needs sm_90a (setmaxnreg, TMA)");
  Value isConsumer = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid, i32(threads));
  auto split = scf::IfOp::create(b, loc, TypeRange{}, isConsumer, /*withElse=*/true);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(split.thenBlock());
  if (op.getConsumerRegs())
    inlineAsm(Type(), {},
              "setmaxnreg.inc.sync.aligned.u32 " + std::to_string(op.getConsumerRegs()) + ";", "");
  unsigned groups = threads / 128;
  if (op.getTurns()) {
    if (groups < 2 || threads % 128 != 0)
      return op.emitOpError("turns need two or more whole consumer warpgroups");
    // Warpgroup 0 holds the first turn: its own arrival counts half of
    // barrier 2, its first `begin` the other half.
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid, i32(128));
    auto ifFirst = scf::IfOp::create(b, loc, TypeRange{}, first, /*withElse=*/false);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    inlineAsm(Type(), {}, "bar.arrive 2, 256;", "");
  }
  turnGroups = op.getTurns() ? groups : 0;
  consumersOnly = true;
  LogicalResult result = lowerBlock(op.getConsumer().front());
  turnGroups = 0;
  consumersOnly = false;
  if (failed(result))
    return failure();
  b.setInsertionPointToStart(split.elseBlock());
  if (op.getConsumerRegs())
    inlineAsm(Type(), {},
              "setmaxnreg.dec.sync.aligned.u32 " + std::to_string(op.getProducerRegs()) + ";", "");
  Value firstWarp = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid, i32(threads + 32));
  auto issuer = scf::IfOp::create(b, loc, TypeRange{}, firstWarp, /*withElse=*/false);
  b.setInsertionPointToStart(issuer.thenBlock());
  leaderTid = threads;
  result = lowerBlock(op.getProducer().front());
  leaderTid = 0;
  return result;
}

/// tile.warpgroup_turn: begin or hand over a consumer warpgroup's turn.
LogicalResult KernelLowering::lowerWarpgroupTurn(WarpgroupTurnOp o) {
  if (!turnGroups)
    return o.emitOpError("outside the consumer region of a tile.warp_specialize with turns");
  // Barrier 2 + g: warpgroup g's `begin` (128 threads) and the
  // previous warpgroup's hand-over (128 threads).
  Value g = arith::ShRUIOp::create(b, loc, tid, i32(7));
  Value id = arith::AddIOp::create(
      b, loc, i32(2),
      o.getBegin() ? g
                   : arith::RemUIOp::create(b, loc, arith::AddIOp::create(b, loc, g, i32(1)),
                                            i32(int32_t(turnGroups))));
  inlineAsm(Type(), {id}, o.getBegin() ? "bar.sync $0, 256;" : "bar.arrive $0, 256;", "r");
  return success();
}
