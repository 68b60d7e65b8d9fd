//===- KernelLowering.h - convert-tile-to-nvvm: the per-kernel state ------===//
//
// The lowering of one `tile.kernel` function, shared by the files of
// lib/Conversion/TileToNVVM (private to them): the map from each tile value
// to the scalars this thread owns, the builder, the helpers every op family
// uses (layout indexing, scratch and shared memory, inline PTX), and one
// `lower...` member per op, defined in the file named for the op's family.
// TileToNVVM.cpp walks the kernel and dispatches each op to its member.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Dialect/Tile/Analysis/AxisInfo.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

namespace tessera::tile::lowering {
using namespace mlir;

/// Global address space of PTX (`.global`).
inline constexpr unsigned kGlobalAddrSpace = 1;
/// Shared address space of PTX (`.shared`).
inline constexpr unsigned kSharedAddrSpace = 3;
/// K of one tensor-core step: mma.sync.m16n8k16 and wgmma.m64nNk16 (PTX ISA,
/// "Matrix multiply-accumulate operation using mma instruction", sm_80+).
inline constexpr int64_t kMmaK = 16;

/// Whether `v` is a tile in shared memory (#tile.shared).
inline bool isShared(Value v) { return bool(getSharedLayout(v.getType())); }

/// Whether a reduction can fold lanes with warp shuffles (see
/// lowerReduceWithShuffles): along the last axis of a distributed tile
/// whose chunks lie within one row, of 32-bit or narrower elements.
bool canReduceWithShuffles(ReduceOp op);

class KernelLowering {
public:
  KernelLowering(func::FuncOp func, LLVM::GlobalOp smem, int64_t scratchOffset, bool hopper,
                 bool exp2Ftz, bool vectorRed)
      : func(func), smem(smem), scratchOffset(scratchOffset), hopper(hopper), exp2Ftz(exp2Ftz),
        vectorRed(vectorRed),
        axis(func),
        b(func.getContext()), ctx(func.getContext()) {}

  /// Builds the `llvm.func` replacing `func`; on failure a diagnostic has
  /// been emitted at the offending op.
  FailureOr<LLVM::LLVMFuncOp> run();

private:
  // --- types and constants ------------------------------------------------
  Type llvmElemType(Type elt) {
    if (isa<PtrType>(elt))
      return LLVM::LLVMPointerType::get(ctx, kGlobalAddrSpace);
    if (isa<TensorMapType>(elt))
      return LLVM::LLVMPointerType::get(ctx); // byval, generic address
    return elt;
  }
  /// Type an element is kept in shared memory as (i1 is widened to a byte).
  Type smemElemType(Type elt) {
    if (elt.isInteger(1))
      return b.getI8Type();
    return llvmElemType(elt);
  }
  Value i32(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(v)));
  }
  Value zeroOf(Type t) {
    if (isa<LLVM::LLVMPointerType>(t))
      return LLVM::ZeroOp::create(b, loc, t);
    if (isa<FloatType>(t))
      return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, 0.0));
    return arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, 0));
  }

  // --- layouts --------------------------------------------------------------
  LayoutInfo layoutOf(Value v) {
    return *getLayoutInfo(cast<RankedTensorType>(v.getType()));
  }
  /// Row-major linear index of register `r` of this thread in layout `l`.
  Value linearIndex(const LayoutInfo &l, unsigned r) {
    if (l.isMma()) {
      auto [row, col] = mmaRowCol(l, r);
      return arith::AddIOp::create(b, loc,
                                   arith::MulIOp::create(b, loc, row, i32(l.cols)), col);
    }
    if (l.replicated())
      return arith::AndIOp::create(b, loc, tid, i32(l.numel - 1));
    int64_t chunkStride = int64_t(l.threads) * l.vec;
    Value base = arith::MulIOp::create(b, loc, tid, i32(l.vec));
    return arith::AddIOp::create(b, loc, base,
                                 i32((r / l.vec) * chunkStride + r % l.vec));
  }
  /// Row and column of register `r` in a #tile.mma layout (see the
  /// attribute's description): r = ((slice * pieces + piece) * 2 + half) * 2 + pair.
  std::pair<Value, Value> mmaRowCol(const LayoutInfo &l, unsigned r) {
    // A row slice holds (slice, half) pairs: r = slice * 2 + half, column 0.
    int64_t pieces = l.rowSlice ? 1 : l.cols / (8 * l.warpsN), perWarpCols = l.cols / l.warpsN;
    int64_t pair = r % 2, half = (r / 2) % 2, piece = (r / 4) % pieces, slice = r / 4 / pieces;
    if (l.rowSlice) {
      half = r % 2;
      slice = r / 2;
    }
    Value warp = arith::ShRUIOp::create(b, loc, tid, i32(5));
    Value lane = arith::AndIOp::create(b, loc, tid, i32(31));
    Value wm = arith::AndIOp::create(b, loc, warp, i32(l.warpsM - 1));
    Value wn = arith::ShRUIOp::create(b, loc, warp, i32(llvm::Log2_32(l.warpsM)));
    Value g = arith::ShRUIOp::create(b, loc, lane, i32(2));
    Value q = arith::AndIOp::create(b, loc, lane, i32(3));
    Value row = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, wm, i32(16)),
        arith::AddIOp::create(b, loc, g, i32(slice * 16 * l.warpsM + 8 * half)));
    if (l.rowSlice)
      return {row, i32(0)};
    Value col = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, wn, i32(perWarpCols)),
        arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, q, i32(2)),
                              i32(piece * 8 + pair)));
    return {row, col};
  }
  /// Multi-dimensional index of linear index `lin` in `shape` (all dims are
  /// powers of two, so this is shifts and masks).
  SmallVector<Value> delinearize(Value lin, ArrayRef<int64_t> shape) {
    SmallVector<Value> idx(shape.size());
    int64_t stride = 1;
    for (int d = int(shape.size()) - 1; d >= 0; --d) {
      Value v = lin;
      if (stride > 1)
        v = arith::ShRUIOp::create(b, loc, v, i32(llvm::Log2_64(stride)));
      idx[d] = arith::AndIOp::create(b, loc, v, i32(shape[d] - 1));
      stride *= shape[d];
    }
    return idx;
  }
  Value linearize(ArrayRef<Value> idx, ArrayRef<int64_t> shape) {
    Value lin = i32(0);
    int64_t stride = 1;
    for (int d = int(shape.size()) - 1; d >= 0; --d) {
      Value term = idx[d];
      if (stride > 1)
        term = arith::MulIOp::create(b, loc, term, i32(stride));
      lin = arith::AddIOp::create(b, loc, lin, term);
      stride *= shape[d];
    }
    return lin;
  }

  // --- shared memory ----------------------------------------------------------
  /// Element `index` of type `elt` in the scratch buffer, `byteOffset` in.
  Value smemPtr(Type elt, int64_t byteOffset, Value index) {
    auto sptr = LLVM::LLVMPointerType::get(ctx, kSharedAddrSpace);
    Value base = smemBase;
    if (byteOffset + scratchOffset)
      base = LLVM::GEPOp::create(b, loc, sptr, b.getI8Type(), base,
                                 ArrayRef<LLVM::GEPArg>{int32_t(byteOffset + scratchOffset)});
    return LLVM::GEPOp::create(b, loc, sptr, smemElemType(elt), base,
                               ValueRange{index});
  }
  /// Pointer to byte `offset` (i32) of the kernel's shared memory.
  Value smemAt(Value offset) {
    auto sptr = LLVM::LLVMPointerType::get(ctx, kSharedAddrSpace);
    return LLVM::GEPOp::create(b, loc, sptr, b.getI8Type(), smemBase, ValueRange{offset});
  }
  /// Shared-window address of `barriers[slot]`.
  Value barrierAddr(Value barriers, Value slot) {
    return arith::AddIOp::create(
        b, loc, smemBaseAddr,
        arith::AddIOp::create(b, loc, part(barriers, 0),
                              arith::MulIOp::create(b, loc, slot, i32(8))));
  }
  /// `instr` (PTX using operands $1...) executed by one thread only:
  /// thread 0, or the producer warps' first thread in their region.
  void byThreadZero(StringRef instr, ValueRange operands, StringRef constraints) {
    SmallVector<Value> ops{tid};
    llvm::append_range(ops, operands);
    inlineAsm(Type(), ops,
              ("{\n.reg .pred p;\nsetp.eq.u32 p, $0, " + std::to_string(leaderTid) + ";\n@p " +
               instr + "\n}")
                  .str(),
              ("r," + constraints).str());
  }
  /// Inline PTX `text` (kept in place: it has side effects); its result, if
  /// `resTy` is set.
  Value inlineAsm(Type resTy, ValueRange operands, StringRef text, StringRef constraints) {
    auto op = LLVM::InlineAsmOp::create(
        b, loc, resTy ? resTy : LLVM::LLVMVoidType::get(ctx), operands, b.getStringAttr(text),
        b.getStringAttr(constraints), /*has_side_effects=*/b.getUnitAttr(),
        /*is_align_stack=*/nullptr,
        LLVM::TailCallKindAttr::get(ctx, LLVM::tailcallkind::TailCallKind::None),
        LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT), /*operand_attrs=*/nullptr);
    return resTy ? op.getResult(0) : Value();
  }
  void fenceProxyAsync() {
    if (hopper)
      inlineAsm(Type(), {}, "fence.proxy.async.shared::cta;", "");
  }
  /// Every thread writes the elements it owns of `v` to scratch at their
  /// row-major position.
  void storeToScratch(Value v, int64_t byteOffset) {
    auto t = cast<RankedTensorType>(v.getType());
    LayoutInfo l = layoutOf(v);
    Type elt = t.getElementType();
    for (unsigned r = 0; r < l.regs(); ++r) {
      Value x = vals[v][r];
      if (elt.isInteger(1))
        x = arith::ExtUIOp::create(b, loc, b.getI8Type(), x);
      LLVM::StoreOp::create(b, loc, x,
                            smemPtr(elt, byteOffset, linearIndex(l, r)));
    }
  }
  Value loadFromScratch(Type elt, int64_t byteOffset, Value index) {
    Value x = LLVM::LoadOp::create(b, loc, smemElemType(elt),
                                   smemPtr(elt, byteOffset, index));
    if (elt.isInteger(1))
      x = arith::TruncIOp::create(b, loc, b.getI1Type(), x);
    return x;
  }
  /// Synchronizes the threads that run the kernel's tiles: the whole
  /// block, or in a warp-specialized kernel the consumer warps only (named
  /// barrier 1; the producer warps never reach it).
  void barrier() {
    if (consumersOnly)
      inlineAsm(Type(), {}, "bar.sync 1, " + std::to_string(threads) + ";", "");
    else
      NVVM::Barrier0Op::create(b, loc);
  }

  // --- values -----------------------------------------------------------------
  /// Number of scalars `v` lowers to.
  unsigned width(Value v) {
    if (auto t = dyn_cast<RankedTensorType>(v.getType()))
      return layoutOf(v).regs();
    return 1;
  }
  /// Scalar `r` of `v`; scalars (uniform values) broadcast to every `r`.
  Value part(Value v, unsigned r) {
    auto it = vals.find(v);
    // Every operand is defined earlier in the kernel body and was lowered
    // there; anything else is a bug in this walk, not in the user's kernel.
    if (it == vals.end() || it->second.empty())
      llvm::report_fatal_error("convert-tile-to-nvvm: operand used before it was lowered");
    auto &p = it->second;
    return p.size() == 1 ? p[0] : p[r];
  }
  SmallVector<Value> flatten(ValueRange vs) {
    SmallVector<Value> out;
    for (Value v : vs)
      llvm::append_range(out, vals[v]);
    return out;
  }
  /// Maps `olds` to consecutive slices of `news`.
  void unflatten(ValueRange olds, ValueRange news) {
    unsigned i = 0;
    for (Value v : olds) {
      unsigned n = width(v);
      vals[v] = SmallVector<Value>(news.begin() + i, news.begin() + i + n);
      i += n;
    }
  }

  // --- the walk and its dispatch (TileToNVVM.cpp) ------------------------------
  LogicalResult lowerBlock(Block &block);
  LogicalResult lowerOp(Operation *op);
  LogicalResult checkLayouts(Operation *op);
  LogicalResult lowerDot(DotOp op);

  // --- Indexing.cpp -------------------------------------------------------------
  LogicalResult lowerProgramId(ProgramIdOp o);
  LogicalResult lowerNumPrograms(NumProgramsOp o);
  LogicalResult lowerArange(ArangeOp o);
  LogicalResult lowerSplat(SplatOp o);
  LogicalResult lowerConstant(arith::ConstantOp o);

  // --- Elementwise.cpp ----------------------------------------------------------
  LogicalResult lowerElementwise(Operation *op);
  bool lowerRescaleIfChanged(arith::MulFOp op, unsigned n);
  LogicalResult lowerMath(Operation *op, unsigned r, Value &out);
  Value ptxUnary(StringRef instr, Value x);
  Value reduceToPi(Value x);
  Value powf(Value x, Value y, StringRef ex2);
  LogicalResult lowerAddPtr(AddPtrOp o);

  // --- LoadStore.cpp ------------------------------------------------------------
  LogicalResult lowerLoad(LoadOp op);
  LogicalResult lowerLoadToShared(LoadOp op);
  LogicalResult lowerStore(StoreOp op);
  LogicalResult lowerAtomicRMW(AtomicRMWOp op);
  Value writeOwner(Value ptrs);
  unsigned accessWidth(Value ptrs, Value mask, unsigned bytes);
  SmallVector<Value> loadVector(Value ptr, Type elt, unsigned w);
  SmallVector<Value> loadChunk(LoadOp op, unsigned r, unsigned w);

  // --- AsyncCopy.cpp ------------------------------------------------------------
  LogicalResult lowerAllocShared(AllocSharedOp o);
  LogicalResult lowerSharedSlot(SharedSlotOp o);
  LogicalResult lowerAsyncLoad(AsyncLoadOp op);
  LogicalResult lowerAsyncWait(AsyncWaitOp o);
  LogicalResult lowerTmaLoad(TmaLoadOp op);
  LogicalResult lowerBarrierInit(BarrierInitOp o);
  LogicalResult lowerBarrierExpect(BarrierExpectOp o);
  LogicalResult lowerBarrierArrive(BarrierArriveOp o);
  LogicalResult lowerBarrierWait(BarrierWaitOp o);

  // --- LayoutChanges.cpp --------------------------------------------------------
  LogicalResult lowerView(Operation *op, Value src, Value result);
  LogicalResult lowerBroadcast(BroadcastOp o);
  LogicalResult lowerTrans(TransOp o);
  LogicalResult lowerConvertLayout(ConvertLayoutOp o);
  Value sharedOffset(RankedTensorType t, Value tileOffset, Value row, Value col,
                     bool swizzled = true);
  void storeToShared(Value src, Value dst);
  void loadFromShared(Value src, Value dst);
  /// Moves `src` into the layout of `dst`: element `i` of the result is
  /// element `srcIndexOf(i)` of the source.
  void redistribute(Value src, Value dst, function_ref<Value(ArrayRef<Value>)> srcIndexOf);
  /// Element `idx` of `v` (isRecomputable(v)), computed by this thread.
  Value rematAt(Value v, ArrayRef<Value> idx);
  /// `dst` (a new layout of src's elements, or a broadcast of them) by
  /// recomputing each owned element; `srcIndexOf` maps a dst index to src's.
  void rematInto(Value src, Value dst,
                 function_ref<SmallVector<Value>(ArrayRef<Value>)> srcIndexOf);

  // --- Reduce.cpp ---------------------------------------------------------------
  LogicalResult lowerReduce(ReduceOp op);
  LogicalResult lowerScan(ScanOp op);
  LogicalResult lowerReduceWithShuffles(ReduceOp op);
  LogicalResult lowerReduceMmaRows(ReduceOp op);
  Value shuffleXor(Value x, int offset);

  // --- DotWgmma.cpp -------------------------------------------------------------
  LogicalResult lowerDotWgmma(DotOp op);
  LogicalResult lowerDotWait(DotWaitOp o);
  Value descriptor(RankedTensorType t, Value tileOffset, Value row, Value col, bool kMajor);
  SmallVector<Value> waitForDots(unsigned pending, ArrayRef<Value> regs);
  SmallVector<Value> pinRegisters(ArrayRef<Value> regs, StringRef kind);

  // --- DotMmaSync.cpp -----------------------------------------------------------
  LogicalResult lowerDotMmaSync(DotOp op);
  SmallVector<Value> aFragmentFromRegisters(Value a, int64_t slice, int64_t kStep);

  // --- DotFMA.cpp ---------------------------------------------------------------
  LogicalResult lowerDotFMA(DotOp op);

  // --- ControlFlow.cpp ----------------------------------------------------------
  LogicalResult lowerFor(scf::ForOp op);
  LogicalResult lowerIf(scf::IfOp op);
  LogicalResult lowerYield(scf::YieldOp o);
  LogicalResult lowerReturn(func::ReturnOp o);
  LogicalResult lowerWarpSpecialize(WarpSpecializeOp op);
  LogicalResult lowerWarpgroupTurn(WarpgroupTurnOp o);

  func::FuncOp func;
  LLVM::GlobalOp smem;
  /// Where the scratch buffer starts, after the kernel's shared tiles.
  int64_t scratchOffset;
  /// Target has wgmma (sm_90a).
  bool hopper;
  /// exp2/exp as ex2.approx.ftz.f32: one MUFU instruction, where the non-ftz
  /// form costs a compare and two predicated multiplies around it (ptxas's
  /// denormal handling); results below 2^-126 become 0.
  bool exp2Ftz;
  /// Unread f32 atomic sums of contiguous elements as one `red...v2/v4.f32`
  /// (sm_90 with PTX 8.1).
  bool vectorRed;
  /// Start of the kernel's shared memory, 1024-byte aligned, as a pointer
  /// and as a shared-window address (for wgmma descriptors).
  Value smemBase, smemBaseAddr;
  AxisInfoAnalysis axis;
  OpBuilder b;
  MLIRContext *ctx;
  Location loc = UnknownLoc::get(ctx);
  Value tid;
  /// Threads the tiles are laid out over (the consumer warps when the
  /// kernel is warp-specialized).
  unsigned threads = 0;
  /// Lowering the consumer region of a tile.warp_specialize.
  bool consumersOnly = false;
  /// Consumer warpgroups taking turns (tile.warpgroup_turn), 0 if none.
  unsigned turnGroups = 0;
  /// The thread that issues single-thread PTX (mbarrier init/expect, TMA).
  unsigned leaderTid = 0;
  DenseMap<Value, SmallVector<Value>> vals;
};

} // namespace tessera::tile::lowering
