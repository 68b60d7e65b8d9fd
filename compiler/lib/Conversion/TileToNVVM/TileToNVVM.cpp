//===- TileToNVVM.cpp - convert-tile-to-nvvm: the pass and its dispatch ---===//
//
// Lowers laid-out `tile` kernels to per-thread LLVM/NVVM code: every tensor
// value becomes the scalars the current thread owns under its layout
// (a `#tile.shared` tile becomes its offset in shared memory).
//
//   func.func @k(%p: !tile.ptr<f32>) attributes {tile.kernel} {
//     %o = tile.arange 0, 256 : tensor<256xi32, #L>
//     ...
// becomes
//   llvm.func @k(%p: !llvm.ptr<1>) attributes {nvvm.kernel, nvvm.maxntid = array<i32: 128, 1, 1>} {
//     %tid = nvvm.read.ptx.sreg.tid.x : i32
//     %o0 = arith.muli %tid, %c2 ...        // element 0 of this thread
//     %o1 = arith.addi %o0, %c1 ...         // element 1
//
// The walk is a straight clone of the kernel body, one op at a time, with a
// map from each tile value to its per-thread scalars (KernelLowering.h).  This
// file holds the pass (shared-memory budget, one `llvm.func` per kernel) and
// the dispatch of each op to the file of its family:
//   Indexing.cpp       program ids, aranges, splats, constants
//   Elementwise.cpp    arith and math ops, addptr
//   LoadStore.cpp      tile.load, tile.store
//   AsyncCopy.cpp      multi-buffered shared tiles, cp.async, TMA, mbarriers
//   LayoutChanges.cpp  convert_layout, broadcast, trans, expand_dims, reshape
//   Reduce.cpp         tile.reduce
//   DotWgmma.cpp       tile.dot with wgmma (sm_90a), tile.dot_wait
//   DotMmaSync.cpp     tile.dot with mma.sync
//   DotFMA.cpp         tile.dot as an FMA loop (operands not in shared memory)
//   ControlFlow.cpp    scf.for/if/yield, func.return, warp specialization
// Data moving between register layouts goes through one shared-memory scratch
// buffer, sized for its largest user, each use fenced by barriers.
//
// Lit: tests/lit/Conversion/convert-tile-to-nvvm*.mlir.
//
//===----------------------------------------------------------------------===//
#include "KernelLowering.h"
#include "tessera/Conversion/Passes.h"

namespace tessera {
#define GEN_PASS_DEF_CONVERTTILETONVVM
#include "tessera/Conversion/Passes.h.inc"
} // namespace tessera

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

/// Beyond this a thread's share of a tile cannot live in registers (255
/// per thread in PTX); the bound keeps absurd tiles from unrolling forever.
static constexpr unsigned kMaxRegsPerThread = 1024;

/// Shared-memory scratch an op needs to redistribute its operands.
static int64_t scratchBytes(Operation *op) {
  auto bytesOf = [](Value v) -> int64_t {
    auto t = cast<RankedTensorType>(v.getType());
    return t.getNumElements() * getElementByteSize(t);
  };
  if (auto red = dyn_cast<ReduceOp>(op); red && canReduceWithShuffles(red)) {
    // One partial per row and warp of the row.
    auto t = red.getSrc().getType();
    LayoutInfo l = *getLayoutInfo(t);
    int64_t n = t.getShape().back(), g = std::min<int64_t>(n / l.vec, l.threads);
    int64_t rows = t.getNumElements() / n, partials = std::max<int64_t>(1, g / 32);
    return rows * partials * getElementByteSize(t);
  }
  return TypeSwitch<Operation *, int64_t>(op)
      .Case<TransOp, ConvertLayoutOp>([&](auto o) -> int64_t {
        // Moves into, out of or within shared memory need no scratch.
        return isShared(o.getSrc()) || isShared(o.getResult()) || isRecomputable(o.getSrc())
                   ? 0
                   : bytesOf(o.getSrc());
      })
      .Case<BroadcastOp>([&](BroadcastOp o) -> int64_t {
        return isRecomputable(o.getSrc()) ? 0 : bytesOf(o.getSrc());
      })
      .Case<ReduceOp>([&](ReduceOp o) -> int64_t {
        FailureOr<LayoutInfo> l = getLayoutInfo(o.getSrc().getType());
        if (succeeded(l) && l->isMma() && !l->rowSlice && o.getAxis() == 1)
          return l->warpsN > 1 ? l->rows * l->warpsN * getElementByteSize(o.getSrc().getType())
                               : 0;
        return bytesOf(o.getSrc());
      })
      .Case<ScanOp>([&](ScanOp o) -> int64_t { return bytesOf(o.getSrc()); })
      .Case<AtomicRMWOp>([&](AtomicRMWOp o) -> int64_t {
        // Replicated elements' old values, published by their owners.
        if (o.getResult().use_empty())
          return 0;
        auto t = dyn_cast<RankedTensorType>(o.getType());
        if (!t)
          return 4;
        return getLayoutInfo(t)->replicated() ? bytesOf(o.getResult()) : 0;
      })
      .Case<DotOp>([&](DotOp o) -> int64_t {
        if (isShared(o.getB()))
          return 0; // tensor cores read the operands where they are
        // B starts 16-byte aligned after A.
        return llvm::alignTo(bytesOf(o.getA()), 16) + bytesOf(o.getB());
      })
      .Default([](Operation *) { return int64_t(0); });
}

FailureOr<LLVM::LLVMFuncOp> KernelLowering::run() {
  loc = func.getLoc();
  SmallVector<Type> argTypes;
  for (Type t : func.getArgumentTypes()) {
    if (isa<RankedTensorType>(t))
      return func.emitError("kernel arguments must be scalars or pointers"),
             failure();
    argTypes.push_back(llvmElemType(t));
  }
  if (func.getNumResults() != 0)
    return func.emitError("kernels return nothing"), failure();

  b.setInsertionPoint(func);
  auto fnType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), argTypes);
  auto llvmFunc = LLVM::LLVMFuncOp::create(b, loc, func.getName(), fnType);
  threads = 32 * getNumWarps(func);
  // The block: the tiles' warps, plus a warp-specialized kernel's
  // producer warps (the runtime launches what maxntid says).
  unsigned blockThreads = threads;
  for (auto ws : func.getBody().front().getOps<WarpSpecializeOp>())
    blockThreads += 32 * unsigned(ws.getProducerWarps());
  llvmFunc->setAttr(NVVM::NVVMDialect::getKernelFuncAttrName(), b.getUnitAttr());
  llvmFunc->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                    b.getDenseI32ArrayAttr({int32_t(blockThreads), 1, 1}));
  if (auto minBlocks = func->getAttrOfType<IntegerAttr>(TileDialect::getMinBlocksAttrName()))
    llvmFunc->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                      b.getI32IntegerAttr(int32_t(minBlocks.getInt())));
  else if (llvm::any_of(func.getBody().front().getOps<WarpSpecializeOp>(),
                        [](WarpSpecializeOp ws) { return ws.getConsumerRegs() > 0; }))
    // setmaxnreg's budgets assume every thread starts with the SM's
    // registers over the block's threads (tile-warp-specialize computes
    // them so). ptxas only allocates against that count, and lets the
    // consumers use the registers setmaxnreg.inc gives them, when the
    // kernel states its blocks per SM: without .minnctapersm it kept the
    // consumer warps at the launch count and spilled (measured with ptxas
    // 13.0 on the backward kernels: 204-1488 B of spills, none with it).
    llvmFunc->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(), b.getI32IntegerAttr(1));
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (auto align = func.getArgAttrOfType<IntegerAttr>(
            i, TileDialect::getAlignmentAttrName()))
      llvmFunc.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                          b.getI64IntegerAttr(align.getInt()));
  // Tensor maps: `.param .align 64 .b8 [128]` read in place by TMA
  // (CUDA's `const __grid_constant__ CUtensorMap`).
  SmallVector<Attribute> maps;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    if (!isa<TensorMapType>(func.getArgumentTypes()[i])) {
      if (!maps.empty())
        return func.emitError("tensor map arguments must come last"), failure();
      continue;
    }
    auto spec = func.getArgAttrOfType<DictionaryAttr>(i, TileDialect::getTensorMapAttrName());
    if (!spec)
      return func.emitError("tensor map argument #") << i << " has no tile.tensor_map", failure();
    maps.push_back(spec);
    llvmFunc.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(),
                        TypeAttr::get(LLVM::LLVMArrayType::get(b.getI64Type(), 16)));
    llvmFunc.setArgAttr(i, "nvvm.grid_constant", b.getUnitAttr());
    llvmFunc.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(), b.getI64IntegerAttr(64));
  }
  if (!maps.empty())
    llvmFunc->setAttr("tile.tensor_maps", b.getArrayAttr(maps));

  Block *entry = llvmFunc.addEntryBlock(b);
  b.setInsertionPointToStart(entry);
  tid = NVVM::ThreadIdXOp::create(b, loc, b.getI32Type());
  if (smem) {
    // Round the dynamic shared memory up to 1024 bytes: the swizzle of
    // shared tiles XORs absolute address bits (the pass reserved the slack).
    Value base = LLVM::AddressOfOp::create(b, loc, smem);
    Value addr = LLVM::PtrToIntOp::create(b, loc, b.getI32Type(), base);
    Value pad = arith::AndIOp::create(b, loc, arith::SubIOp::create(b, loc, i32(0), addr),
                                      i32(1023));
    smemBaseAddr = arith::AddIOp::create(b, loc, addr, pad);
    smemBase = LLVM::GEPOp::create(b, loc, base.getType(), b.getI8Type(), base, ValueRange{pad});
  }
  for (auto [oldArg, newArg] :
       llvm::zip(func.getArguments(), entry->getArguments()))
    vals[oldArg] = {newArg};
  if (failed(lowerBlock(func.getBody().front())))
    return failure();
  return llvmFunc;
}

LogicalResult KernelLowering::lowerBlock(Block &block) {
  for (Operation &op : block)
    if (failed(lowerOp(&op)))
      return failure();
  return success();
}

/// Every tile must carry a layout that fits this kernel's block by now.
LogicalResult KernelLowering::checkLayouts(Operation *op) {
  auto check = [&](Value v, const char *what) -> LogicalResult {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t)
      return success();
    if (SharedLayoutAttr sh = getSharedLayout(t)) {
      // A ring of mbarriers (the barrier ops verify its shape).
      if (t.getRank() == 3 && t.getElementType().isInteger(64) && t.getDimSize(1) == 1 &&
          t.getDimSize(2) == 1 && sh.getOffset() >= 0)
        return success();
      if (t.getRank() == 3)
        t = RankedTensorType::get(t.getShape().drop_front(), t.getElementType(), sh);
      if (t.getRank() != 2 || sh.getOffset() < 0)
        return op->emitOpError(what) << " " << t
                                     << " must be a 2-D tile allocated by tile-promote-shared";
      int64_t rowBytes = t.getDimSize(sh.getContig()) * getElementByteSize(t);
      if (rowBytes % sh.getSwizzle() != 0 || t.getDimSize(1 - sh.getContig()) % 8 != 0)
        return op->emitOpError(what) << " " << t << " does not fill whole " << sh.getSwizzle()
                                     << "-byte swizzle atoms of 8 rows";
      return success();
    }
    FailureOr<LayoutInfo> l = getLayoutInfo(t);
    if (failed(l))
      return op->emitOpError(what) << " has no #tile.blocked layout; run "
                                      "tile-assign-layouts first";
    bool fits = l->replicated() ? l->vec == 1 : l->numel % (int64_t(l->threads) * l->vec) == 0;
    if (l->threads != threads || !fits)
      return op->emitOpError(what) << " layout " << t.getEncoding() << " does not fit " << t
                                   << " in a block of " << threads << " threads";
    if (l->regs() > int64_t(kMaxRegsPerThread))
      return op->emitOpError(what) << " " << t << " would need " << l->regs()
                                   << " registers per thread (at most " << kMaxRegsPerThread
                                   << "); use smaller tiles or more warps";
    return success();
  };
  // Element-wise ops, loads, stores and pointer arithmetic work element by
  // element in place: every tile they touch must share one layout.  (A
  // dot_wait passes each of its values through on its own.)
  if (!isa<BroadcastOp, TransOp, ConvertLayoutOp, ReduceOp, DotOp, DotWaitOp, ExpandDimsOp,
           ReshapeOp, scf::ForOp, scf::IfOp, scf::YieldOp>(op)) {
    Attribute first;
    for (Value v : llvm::concat<Value>(op->getOperands(), op->getResults()))
      if (auto t = dyn_cast<RankedTensorType>(v.getType()); t && !getSharedLayout(t)) {
        if (!first)
          first = t.getEncoding();
        else if (t.getEncoding() != first)
          return op->emitOpError("mixes tiles of layouts ")
                 << first << " and " << t.getEncoding() << "; insert tile.convert_layout";
      }
  }
  for (Value v : op->getOperands())
    if (failed(check(v, "operand")))
      return failure();
  for (Value v : op->getResults())
    if (failed(check(v, "result")))
      return failure();
  return success();
}

LogicalResult KernelLowering::lowerOp(Operation *op) {
  loc = op->getLoc();
  if (failed(checkLayouts(op)))
    return failure();
  return TypeSwitch<Operation *, LogicalResult>(op)
      // Indexing.cpp
      .Case<ProgramIdOp>([&](ProgramIdOp o) { return lowerProgramId(o); }) // %ctaid
      .Case<NumProgramsOp>([&](NumProgramsOp o) { return lowerNumPrograms(o); }) // %nctaid
      .Case<ArangeOp>([&](ArangeOp o) { return lowerArange(o); }) // from the thread's indices
      .Case<SplatOp>([&](SplatOp o) { return lowerSplat(o); }) // the scalar, every register
      .Case<arith::ConstantOp>([&](arith::ConstantOp o) { return lowerConstant(o); }) // splats
      // Elementwise.cpp
      .Case<AddPtrOp>([&](AddPtrOp o) { return lowerAddPtr(o); }) // a GEP per element
      // LoadStore.cpp
      .Case<LoadOp>([&](LoadOp o) { return lowerLoad(o); })    // ld.global (or to shared)
      .Case<StoreOp>([&](StoreOp o) { return lowerStore(o); }) // st.global, one owner
      .Case<AtomicRMWOp>( // atom/red.global, one owner
          [&](AtomicRMWOp o) { return lowerAtomicRMW(o); })
      // AsyncCopy.cpp
      .Case<AllocSharedOp>([&](AllocSharedOp o) { return lowerAllocShared(o); }) // offset
      .Case<SharedSlotOp>([&](SharedSlotOp o) { return lowerSharedSlot(o); })    // offset
      .Case<AsyncLoadOp>([&](AsyncLoadOp o) { return lowerAsyncLoad(o); })       // cp.async
      .Case<AsyncWaitOp>([&](AsyncWaitOp o) { return lowerAsyncWait(o); }) // cp.async.wait
      .Case<TmaLoadOp>([&](TmaLoadOp o) { return lowerTmaLoad(o); }) // cp.async.bulk.tensor
      .Case<BarrierInitOp>([&](BarrierInitOp o) { return lowerBarrierInit(o); }) // mbarrier.init
      .Case<BarrierExpectOp>([&](BarrierExpectOp o) { return lowerBarrierExpect(o); }) // expect_tx
      .Case<BarrierArriveOp>([&](BarrierArriveOp o) { return lowerBarrierArrive(o); }) // a warp
      .Case<BarrierWaitOp>([&](BarrierWaitOp o) { return lowerBarrierWait(o); }) // try_wait loop
      // LayoutChanges.cpp
      .Case<ExpandDimsOp, ReshapeOp>( // nothing moves
          [&](auto o) { return lowerView(o, o.getSrc(), o.getResult()); })
      .Case<BroadcastOp>([&](BroadcastOp o) { return lowerBroadcast(o); }) // copy, remat, scratch
      .Case<TransOp>([&](TransOp o) { return lowerTrans(o); }) // a shared view, or scratch
      .Case<ConvertLayoutOp>( // to/from shared, remat, scratch
          [&](ConvertLayoutOp o) { return lowerConvertLayout(o); })
      // Reduce.cpp
      .Case<ReduceOp>([&](ReduceOp o) { return lowerReduce(o); }) // shuffles, or scratch
      .Case<ScanOp>([&](ScanOp o) { return lowerScan(o); })       // pieces in scratch
      // DotWgmma.cpp, DotMmaSync.cpp, DotFMA.cpp
      .Case<DotOp>([&](DotOp o) { return lowerDot(o); })              // see lowerDot
      .Case<DotWaitOp>([&](DotWaitOp o) { return lowerDotWait(o); }) // wgmma.wait_group
      // ControlFlow.cpp
      .Case<scf::ForOp>([&](scf::ForOp o) { return lowerFor(o); })       // flattened carries
      .Case<scf::IfOp>([&](scf::IfOp o) { return lowerIf(o); })          // flattened results
      .Case<scf::YieldOp>([&](scf::YieldOp o) { return lowerYield(o); }) // flattened operands
      .Case<func::ReturnOp>([&](func::ReturnOp o) { return lowerReturn(o); }) // llvm.return
      .Case<WarpSpecializeOp>( // consumer and producer warps
          [&](WarpSpecializeOp o) { return lowerWarpSpecialize(o); })
      .Case<WarpgroupTurnOp>( // named barriers 2 + g
          [&](WarpgroupTurnOp o) { return lowerWarpgroupTurn(o); })
      .Default([&](Operation *o) -> LogicalResult {
        // Elementwise.cpp: any other arith/math op, once per element
        if (isa<arith::ArithDialect, math::MathDialect>(o->getDialect()) &&
            o->getNumRegions() == 0)
          return lowerElementwise(o);
        return o->emitOpError("cannot be lowered to NVVM by Tessera");
      });
}

/// tile.dot: on tensor cores when B is in shared memory (wgmma on sm_90a
/// when the layout and the swizzles allow, else mma.sync), else an FMA loop.
LogicalResult KernelLowering::lowerDot(DotOp op) {
  if (isShared(op.getB())) {
    LayoutInfo l = layoutOf(op.getResult());
    int64_t nw = l.cols / l.warpsN;
    bool wgmma = hopper && l.warpsM % 4 == 0 && nw >= 8 && nw <= 256 &&
                 (!isShared(op.getA()) || getSharedLayout(op.getA().getType()).getSwizzle() > 16) &&
                 getSharedLayout(op.getB().getType()).getSwizzle() > 16;
    return wgmma ? lowerDotWgmma(op) : lowerDotMmaSync(op);
  }
  return lowerDotFMA(op);
}

namespace {
struct ConvertTileToNVVMPass
    : tessera::impl::ConvertTileToNVVMBase<ConvertTileToNVVMPass> {
  using ConvertTileToNVVMBase::ConvertTileToNVVMBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr(TileDialect::getKernelAttrName()))
        kernels.push_back(f);
    FailureOr<tessera::Target> t = targetOption(module, target);
    if (failed(t))
      return signalPassFailure();
    bool hopper = t->hasWgmma;
    int64_t limit = maxSharedBytes > 0 ? int64_t(maxSharedBytes) : t->maxSharedBytesPerBlock;
    for (func::FuncOp func : kernels) {
      // The kernel's shared tiles (placed by tile-promote-shared), then one
      // scratch buffer sized for its largest user; each use of the scratch
      // is fenced by barriers, so uses can share it.
      int64_t tiles = 0;
      if (auto a = func->getAttrOfType<IntegerAttr>(TileDialect::getSharedBytesAttrName()))
        tiles = a.getInt();
      int64_t scratch = 0;
      Operation *largest = nullptr;
      func.walk([&](Operation *op) {
        int64_t n = scratchBytes(op);
        if (n > scratch) {
          scratch = n;
          largest = op;
        }
      });
      // Slack to align the shared tiles to 1024 bytes at run time.
      int64_t slack = tiles > 0 ? 1024 : 0;
      int64_t bytes = slack + tiles + llvm::alignTo(scratch, 16);
      if (bytes > limit) {
        Operation *at = largest ? largest : func.getOperation();
        at->emitOpError("needs ")
            << bytes << " bytes of shared memory (" << tiles << " for tiles, " << scratch
            << " of scratch), more than the " << limit << " bytes one block may use on "
            << target << "; use smaller tiles";
        return signalPassFailure();
      }
      LLVM::GlobalOp smem;
      if (bytes > 0) {
        // Dynamic shared memory (`.extern .shared .b8 name[]`): the size
        // is given at launch, which allows more than 48 KB.
        OpBuilder mb(module.getBodyRegion());
        auto arrTy = LLVM::LLVMArrayType::get(mb.getI8Type(), 0);
        smem = LLVM::GlobalOp::create(mb, func.getLoc(), arrTy, /*isConstant=*/false,
                                      LLVM::Linkage::External,
                                      (func.getName() + "_smem").str(),
                                      /*value=*/Attribute(), /*alignment=*/16,
                                      kSharedAddrSpace);
      }
      KernelLowering lowering(func, smem, tiles, hopper, exp2Ftz,
                              t->hasVectorRed && ptxVersion >= 81);
      FailureOr<LLVM::LLVMFuncOp> llvmFunc = lowering.run();
      if (failed(llvmFunc))
        return signalPassFailure();
      (*llvmFunc)->setAttr("tile.dynamic_shared_bytes",
                           IntegerAttr::get(IntegerType::get(&getContext(), 32), bytes));
      func.erase();
    }
  }
};
} // namespace
