//===- TileToNVVM.cpp - convert-tile-to-nvvm ------------------------------===//
//
// Lowers laid-out `tile` kernels to per-thread LLVM/NVVM code: every tensor
// value becomes the scalars the current thread owns under its
// `#tile.blocked` layout.
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
// map from each tile value to its per-thread scalars; `scf.for`/`scf.if` are
// rebuilt with their tile-typed loop-carried values flattened to scalars.
// This is the correct, not yet fast, CUDA-core path: redistribution, `reduce`
// and `dot` go through one shared-memory scratch buffer.
//
// Lit: tests/lit/Conversion/convert-tile-to-nvvm.mlir.
//
//===----------------------------------------------------------------------===//
#include "tessera/Dialect/Tile/Analysis/AxisInfo.h"
#include "tessera/Dialect/Tile/Transforms/Passes.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#define DEBUG_TYPE "convert-tile-to-nvvm"

namespace tessera::tile {
#define GEN_PASS_DEF_CONVERTTILETONVVM
#include "tessera/Dialect/Tile/Transforms/Passes.h.inc"
} // namespace tessera::tile

using namespace mlir;
using namespace tessera::tile;

/// Global address space of PTX (`.global`).
static constexpr unsigned kGlobalAddrSpace = 1;
/// Shared address space of PTX (`.shared`).
static constexpr unsigned kSharedAddrSpace = 3;
static constexpr int64_t kWarpSize = 32;
/// Beyond this a thread's share of a tile cannot live in registers (255
/// per thread in PTX); the bound keeps absurd tiles from unrolling forever.
static constexpr unsigned kMaxRegsPerThread = 1024;
/// Widest access one thread makes: ld.global.v4.b32 (PTX ISA, "ld").
static constexpr int64_t kMaxAccessBytes = 16;
static constexpr double kLog2e = 1.4426950408889634;
static constexpr double kLn2 = 0.6931471805599453;

namespace {

/// Tensor-core shape of mma.sync.m16n8k16 (PTX ISA, "Matrix multiply-accumulate
/// operation using mma instruction", sm_80+).
constexpr int64_t kMmaM = 16, kMmaN = 8, kMmaK = 16;

/// Whether `v` is a tile in shared memory (#tile.shared).
bool isShared(Value v) { return bool(getSharedLayout(v.getType())); }

/// Whether a reduction can fold lanes with warp shuffles (see
/// lowerReduceWithShuffles): along the last axis of a distributed tile
/// whose chunks lie within one row, of 32-bit or narrower elements.
bool canReduceWithShuffles(ReduceOp op) {
  auto t = op.getSrc().getType();
  FailureOr<LayoutInfo> l = getLayoutInfo(t);
  Type elt = t.getElementType();
  bool shuffleable = elt.isF32() || elt.isF16() || elt.isBF16() || elt.isInteger(32);
  return succeeded(l) && !l->isMma() && shuffleable && int64_t(op.getAxis()) == t.getRank() - 1 &&
         !l->replicated() && t.getShape().back() >= l->vec;
}

/// Shared-memory scratch an op needs to redistribute its operands.
int64_t scratchBytes(Operation *op) {
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
      .Case<DotOp>([&](DotOp o) -> int64_t {
        if (isShared(o.getB()))
          return 0; // tensor cores read the operands where they are
        // B starts 16-byte aligned after A.
        return llvm::alignTo(bytesOf(o.getA()), 16) + bytesOf(o.getB());
      })
      .Default([](Operation *) { return int64_t(0); });
}

class KernelLowering {
public:
  KernelLowering(func::FuncOp func, LLVM::GlobalOp smem, int64_t scratchOffset, bool hopper,
                 bool exp2Ftz)
      : func(func), smem(smem), scratchOffset(scratchOffset), hopper(hopper), exp2Ftz(exp2Ftz),
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
  Value sharedOffset(RankedTensorType t, Value tileOffset, Value row, Value col,
                     bool swizzled = true);
  LogicalResult lowerLoadToShared(LoadOp op);
  LogicalResult lowerAsyncLoad(AsyncLoadOp op);
  LogicalResult lowerTmaLoad(TmaLoadOp op);
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
  void storeToShared(Value src, Value dst);
  void loadFromShared(Value src, Value dst);
  SmallVector<Value> loadChunk(LoadOp op, unsigned r, unsigned w);
  Value descriptor(RankedTensorType t, Value tileOffset, Value row, Value col, bool kMajor);
  LogicalResult lowerDotWgmma(DotOp op);
  LogicalResult lowerDotMmaSync(DotOp op);
  SmallVector<Value> waitForDots(unsigned pending, ArrayRef<Value> regs);
  SmallVector<Value> aFragmentFromRegisters(Value a, int64_t slice, int64_t kStep);
  SmallVector<Value> pinRegisters(ArrayRef<Value> regs, StringRef kind);
  Value inlineAsm(Type resTy, ValueRange operands, StringRef text, StringRef constraints);
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
  LogicalResult lowerWarpSpecialize(WarpSpecializeOp op);

  /// Moves `src` into the layout of `dst`: element `i` of the result is
  /// element `srcIndexOf(i)` of the source.
  void redistribute(Value src, Value dst,
                    function_ref<Value(ArrayRef<Value>)> srcIndexOf) {
    auto dstT = cast<RankedTensorType>(dst.getType());
    storeToScratch(src, 0);
    barrier();
    LayoutInfo l = layoutOf(dst);
    SmallVector<Value> out;
    for (unsigned r = 0; r < l.regs(); ++r) {
      SmallVector<Value> idx = delinearize(linearIndex(l, r), dstT.getShape());
      out.push_back(loadFromScratch(dstT.getElementType(), 0, srcIndexOf(idx)));
    }
    barrier();
    vals[dst] = out;
  }

  // --- rematerialization ---------------------------------------------------------
  /// Element `idx` of `v` (isRecomputable(v)), computed by this thread.
  Value rematAt(Value v, ArrayRef<Value> idx) {
    Operation *def = v.getDefiningOp();
    return TypeSwitch<Operation *, Value>(def)
        .Case<ArangeOp>([&](ArangeOp o) {
          return arith::AddIOp::create(b, loc, idx[0], i32(o.getStart())).getResult();
        })
        .Case<SplatOp>([&](SplatOp o) { return part(o.getSrc(), 0); })
        .Case<arith::ConstantOp>([&](arith::ConstantOp o) {
          auto splat = cast<SplatElementsAttr>(o.getValue());
          return arith::ConstantOp::create(b, loc, cast<TypedAttr>(splat.getSplatValue<Attribute>()))
              .getResult();
        })
        .Case<ExpandDimsOp>([&](ExpandDimsOp o) {
          SmallVector<Value> s(idx);
          s.erase(s.begin() + o.getAxis());
          return rematAt(o.getSrc(), s);
        })
        .Case<BroadcastOp>([&](BroadcastOp o) {
          SmallVector<Value> s(idx);
          for (auto [d, n] : llvm::enumerate(o.getSrc().getType().getShape()))
            if (n == 1)
              s[d] = i32(0);
          return rematAt(o.getSrc(), s);
        })
        .Case<AddPtrOp>([&](AddPtrOp o) {
          Type pointee = llvmElemType(
              cast<PtrType>(getElementTypeOrSelf(o.getType())).getPointeeType());
          auto ptrT = LLVM::LLVMPointerType::get(ctx, kGlobalAddrSpace);
          Value p = isa<RankedTensorType>(o.getPtr().getType()) ? rematAt(o.getPtr(), idx)
                                                                 : part(o.getPtr(), 0);
          Value off = isa<RankedTensorType>(o.getOffset().getType())
                          ? rematAt(o.getOffset(), idx)
                          : part(o.getOffset(), 0);
          return LLVM::GEPOp::create(b, loc, ptrT, pointee, p, ValueRange{off}).getResult();
        })
        .Default([&](Operation *o) {
          IRMapping map;
          for (Value x : o->getOperands())
            map.map(x, isa<RankedTensorType>(x.getType()) ? rematAt(x, idx) : part(x, 0));
          Operation *clone = b.clone(*o, map);
          Value r = clone->getResult(0);
          r.setType(llvmElemType(getElementTypeOrSelf(r.getType())));
          return r;
        });
  }
  /// `dst` (a new layout of src's elements, or a broadcast of them) by
  /// recomputing each owned element; `srcIndexOf` maps a dst index to src's.
  void rematInto(Value src, Value dst,
                 function_ref<SmallVector<Value>(ArrayRef<Value>)> srcIndexOf) {
    auto dstT = cast<RankedTensorType>(dst.getType());
    LayoutInfo l = layoutOf(dst);
    SmallVector<Value> out;
    for (unsigned r = 0; r < l.regs(); ++r)
      out.push_back(rematAt(src, srcIndexOf(delinearize(linearIndex(l, r), dstT.getShape()))));
    vals[dst] = out;
  }

  // --- operations --------------------------------------------------------------
  LogicalResult lowerBlock(Block &block);
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerElementwise(Operation *op);
  bool lowerRescaleIfChanged(arith::MulFOp op, unsigned n);
  LogicalResult lowerMath(Operation *op, unsigned r, Value &out);
  LogicalResult lowerLoad(LoadOp op);
  LogicalResult lowerStore(StoreOp op);
  LogicalResult lowerReduce(ReduceOp op);
  LogicalResult lowerReduceWithShuffles(ReduceOp op);
  LogicalResult lowerReduceMmaRows(ReduceOp op);
  Value shuffleXor(Value x, int offset);
  LogicalResult lowerDot(DotOp op);
  LogicalResult lowerFor(scf::ForOp op);
  LogicalResult lowerIf(scf::IfOp op);

  Value ptxUnary(StringRef instr, Value x);
  unsigned accessWidth(Value ptrs, Value mask, unsigned bytes);
  SmallVector<Value> loadVector(Value ptr, Type elt, unsigned w);
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

} // namespace

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

/// arith/math ops on tiles apply to every element independently: clone the
/// op once per owned element, on scalars.
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

/// Elements of one thread that move with one access: consecutive registers
/// of a chunk whose addresses are contiguous, aligned to the access size (at
/// most 16 bytes, ld.global.v4.b32) and under one mask value.
unsigned KernelLowering::accessWidth(Value ptrs, Value mask, unsigned bytes) {
  auto t = dyn_cast<RankedTensorType>(ptrs.getType());
  if (!t)
    return 1;
  LayoutInfo l = layoutOf(ptrs);
  if (l.replicated())
    return 1;
  // i1 lives in memory as one byte per element; vectors of i1 would be bits.
  if (cast<PtrType>(getElementTypeOrSelf(ptrs.getType())).getPointeeType().isInteger(1))
    return 1;
  AxisInfo p = axis.get(ptrs);
  int64_t w = std::min<int64_t>({l.vec, p.contiguity, kMaxAccessBytes / bytes});
  if (mask)
    w = std::min(w, axis.get(mask).constancy);
  w = int64_t(1) << llvm::Log2_64(std::max<int64_t>(w, 1));
  while (w > 1 && p.divisibility % (w * bytes) != 0)
    w /= 2;
  return unsigned(w);
}

SmallVector<Value> KernelLowering::loadVector(Value ptr, Type elt, unsigned w) {
  unsigned bytes = getElementByteSize(elt);
  if (w == 1)
    return {LLVM::LoadOp::create(b, loc, elt, ptr, bytes)};
  Value v = LLVM::LoadOp::create(b, loc, VectorType::get({int64_t(w)}, elt), ptr, w * bytes);
  SmallVector<Value> out;
  for (unsigned i = 0; i < w; ++i)
    out.push_back(LLVM::ExtractElementOp::create(b, loc, v, i32(i)));
  return out;
}

/// The `w` elements of `op` starting at register `r` of its pointer tile; a
/// masked-off access does not touch memory (a branch around the load).
SmallVector<Value> KernelLowering::loadChunk(LoadOp op, unsigned r, unsigned w) {
  Type elt = llvmElemType(getElementTypeOrSelf(op.getType()));
  Value p = part(op.getPtr(), r);
  if (!op.getMask())
    return loadVector(p, elt, w);
  auto ifOp = scf::IfOp::create(b, loc, SmallVector<Type>(w, elt), part(op.getMask(), r),
                                /*addThenBlock=*/true, /*addElseBlock=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, loadVector(p, elt, w));
    b.setInsertionPointToStart(ifOp.elseBlock());
    SmallVector<Value> others;
    for (unsigned i = 0; i < w; ++i)
      others.push_back(op.getOther() ? part(op.getOther(), r + i) : zeroOf(elt));
    scf::YieldOp::create(b, loc, others);
  }
  return SmallVector<Value>(ifOp.getResults());
}

LogicalResult KernelLowering::lowerLoad(LoadOp op) {
  if (isShared(op.getResult()))
    return lowerLoadToShared(op);
  Value ptrs = op.getPtr();
  Type elt = llvmElemType(getElementTypeOrSelf(op.getType()));
  unsigned w = accessWidth(ptrs, op.getMask(), getElementByteSize(elt));
  SmallVector<Value> out;
  for (unsigned r = 0; r < width(ptrs); r += w)
    llvm::append_range(out, loadChunk(op, r, w));
  vals[op.getResult()] = out;
  return success();
}

Value KernelLowering::inlineAsm(Type resTy, ValueRange operands, StringRef text,
                                StringRef constraints) {
  auto op = LLVM::InlineAsmOp::create(
      b, loc, resTy ? resTy : LLVM::LLVMVoidType::get(ctx), operands, b.getStringAttr(text),
      b.getStringAttr(constraints), /*has_side_effects=*/b.getUnitAttr(),
      /*is_align_stack=*/nullptr,
      LLVM::TailCallKindAttr::get(ctx, LLVM::tailcallkind::TailCallKind::None),
      LLVM::AsmDialectAttr::get(ctx, LLVM::AsmDialect::AD_ATT), /*operand_attrs=*/nullptr);
  return resTy ? op.getResult(0) : Value();
}

/// Byte offset in shared memory of element (row, col) of the #tile.shared
/// tile `t` stored at `tileOffset`: the contiguous axis is cut into atoms
/// of `swizzle` bytes, all rows of an atom stored together, and the 16-byte
/// units of a row XOR-ed with the row's position in its 8-row group (bits
/// 4.. of the address XOR bits 7.., PTX ISA "Shared Memory Matrix Layout").
/// `swizzled = false` gives the address before the XOR, which is what a
/// wgmma descriptor's start address names.
Value KernelLowering::sharedOffset(RankedTensorType t, Value tileOffset, Value row, Value col,
                                   bool swizzled) {
  SharedLayoutAttr s = getSharedLayout(t);
  int64_t eb = getElementByteSize(t), W = s.getSwizzle(), E = W / eb;
  bool c1 = s.getContig() == 1;
  Value prow = c1 ? row : col, pcol = c1 ? col : row;
  int64_t R = t.getDimSize(c1 ? 0 : 1);
  Value atom = arith::ShRUIOp::create(b, loc, pcol, i32(llvm::Log2_64(E)));
  Value within = arith::AndIOp::create(b, loc, pcol, i32(E - 1));
  Value byte = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, atom, i32(R * W)),
      arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, prow, i32(W)),
                            arith::MulIOp::create(b, loc, within, i32(eb))));
  if (swizzled && W > 16) {
    Value phase = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, byte, i32(7)),
                                        i32(W / 16 - 1));
    byte = arith::XOrIOp::create(b, loc, byte,
                                 arith::ShLIOp::create(b, loc, phase, i32(4)));
  }
  return arith::AddIOp::create(b, loc, tileOffset, byte);
}

/// Global -> shared: each thread loads its chunks of the pointer tile (as
/// wide as the addresses allow) and stores them at their swizzled place.
/// A barrier first (the previous readers of this buffer are done), then
/// the stores, the async-proxy fence wgmma needs, and a barrier.
LogicalResult KernelLowering::lowerLoadToShared(LoadOp op) {
  auto t = cast<RankedTensorType>(op.getType());
  Type elt = llvmElemType(t.getElementType());
  unsigned eb = getElementByteSize(elt);
  Value ptrs = op.getPtr();
  if (!isa<RankedTensorType>(ptrs.getType()))
    return op.emitOpError("a shared-memory tile needs a tile of pointers");
  LayoutInfo l = layoutOf(ptrs);
  unsigned w = accessWidth(ptrs, op.getMask(), eb);
  bool vectorStore = getSharedLayout(t).getContig() == 1;
  Value offset = i32(getSharedLayout(t).getOffset());
  barrier();
  for (unsigned r = 0; r < l.regs(); r += w) {
    SmallVector<Value> xs = loadChunk(op, r, w);
    SmallVector<Value> idx = delinearize(linearIndex(l, r), t.getShape());
    if (vectorStore && w > 1) {
      auto vt = VectorType::get({int64_t(w)}, elt);
      Value v = LLVM::PoisonOp::create(b, loc, vt);
      for (unsigned i = 0; i < w; ++i)
        v = LLVM::InsertElementOp::create(b, loc, v, xs[i], i32(i));
      LLVM::StoreOp::create(b, loc, v, smemAt(sharedOffset(t, offset, idx[0], idx[1])),
                            w * eb);
      continue;
    }
    for (unsigned i = 0; i < w; ++i) {
      Value col = arith::AddIOp::create(b, loc, idx[1], i32(i));
      LLVM::StoreOp::create(b, loc, xs[i], smemAt(sharedOffset(t, offset, idx[0], col)), eb);
    }
  }
  fenceProxyAsync();
  barrier();
  vals[op.getResult()] = {offset};
  return success();
}

/// cp.async of each thread's chunks into slot `slot` of the buffer (16, 8
/// or 4 bytes per copy; a masked-off chunk copies 0 source bytes, which
/// zero-fills), then one commit group.  Narrower chunks fall back to a
/// load and a shared store, made visible by the same tile.async_wait.
/// Thread 0 issues one `cp.async.bulk.tensor` per swizzle atom of the slot
/// (the box is one atom wide, all rows tall; atom a lands after all rows
/// of atom a - 1, as the #tile.shared layout stores them).
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

/// Registers -> shared memory (tile.convert_layout to #tile.shared).
void KernelLowering::storeToShared(Value src, Value dst) {
  auto t = cast<RankedTensorType>(dst.getType());
  Type elt = llvmElemType(t.getElementType());
  unsigned eb = getElementByteSize(elt);
  LayoutInfo l = layoutOf(src);
  Value offset = i32(getSharedLayout(t).getOffset());
  unsigned w = 1;
  if (getSharedLayout(t).getContig() == 1 && !l.replicated())
    w = unsigned(std::min<int64_t>({l.vec, 16 / eb, t.getDimSize(1)}));
  barrier();
  for (unsigned r = 0; r < l.regs(); r += w) {
    SmallVector<Value> idx = delinearize(linearIndex(l, r), t.getShape());
    Value at = smemAt(sharedOffset(t, offset, idx[0], idx[1]));
    if (w == 1) {
      LLVM::StoreOp::create(b, loc, part(src, r), at, eb);
      continue;
    }
    auto vt = VectorType::get({int64_t(w)}, elt);
    Value v = LLVM::PoisonOp::create(b, loc, vt);
    for (unsigned i = 0; i < w; ++i)
      v = LLVM::InsertElementOp::create(b, loc, v, part(src, r + i), i32(i));
    LLVM::StoreOp::create(b, loc, v, at, w * eb);
  }
  fenceProxyAsync();
  barrier();
  vals[dst] = {offset};
}

/// Shared memory -> registers (tile.convert_layout from #tile.shared).
void KernelLowering::loadFromShared(Value src, Value dst) {
  auto t = cast<RankedTensorType>(src.getType());
  Type elt = llvmElemType(t.getElementType());
  LayoutInfo l = layoutOf(dst);
  SmallVector<Value> out;
  for (unsigned r = 0; r < l.regs(); ++r) {
    SmallVector<Value> idx = delinearize(linearIndex(l, r), t.getShape());
    out.push_back(LLVM::LoadOp::create(b, loc, elt,
                                       smemAt(sharedOffset(t, part(src, 0), idx[0], idx[1])),
                                       getElementByteSize(elt)));
  }
  vals[dst] = out;
}

LogicalResult KernelLowering::lowerStore(StoreOp op) {
  Value ptrs = op.getPtr();
  Type elt = llvmElemType(getElementTypeOrSelf(op.getValue().getType()));
  unsigned bytes = getElementByteSize(elt);
  unsigned w = accessWidth(ptrs, op.getMask(), bytes);
  // Replicated elements (and scalars) are written by one thread only.
  Value owner;
  if (auto t = dyn_cast<RankedTensorType>(ptrs.getType())) {
    LayoutInfo l = layoutOf(ptrs);
    if (l.rowSlice) {
      // Lane 0 of each quad in the first warp column owns the row.
      Value warpCol = arith::ShRUIOp::create(
          b, loc, tid, i32(5 + llvm::Log2_32(l.warpsM)));
      owner = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                arith::AndIOp::create(b, loc, tid, i32(3)), i32(0)),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, warpCol, i32(0)));
    } else if (l.replicated())
      owner = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid,
                                    i32(l.numel));
  } else {
    owner = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, i32(0));
  }
  for (unsigned r = 0; r < width(ptrs); r += w) {
    Value cond = owner;
    if (op.getMask()) {
      Value m = part(op.getMask(), r);
      cond = cond ? arith::AndIOp::create(b, loc, cond, m).getResult() : m;
    }
    Value p = part(ptrs, r);
    OpBuilder::InsertionGuard g(b);
    if (cond) {
      auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
      b.setInsertionPointToStart(ifOp.thenBlock());
    }
    if (w == 1) {
      LLVM::StoreOp::create(b, loc, part(op.getValue(), r), p, bytes);
      continue;
    }
    auto vt = VectorType::get({int64_t(w)}, elt);
    Value v = LLVM::PoisonOp::create(b, loc, vt);
    for (unsigned i = 0; i < w; ++i)
      v = LLVM::InsertElementOp::create(b, loc, v, part(op.getValue(), r + i), i32(i));
    LLVM::StoreOp::create(b, loc, v, p, w * bytes);
  }
  return success();
}

static Value combine(OpBuilder &b, Location loc, ReduceKind kind, Value x,
                     Value y) {
  bool isFloat = isa<FloatType>(x.getType());
  switch (kind) {
  case ReduceKind::Sum:
    return isFloat ? arith::AddFOp::create(b, loc, x, y).getResult()
                   : arith::AddIOp::create(b, loc, x, y).getResult();
  case ReduceKind::Max:
    return isFloat ? arith::MaximumFOp::create(b, loc, x, y).getResult()
                   : arith::MaxSIOp::create(b, loc, x, y).getResult();
  case ReduceKind::Min:
    return isFloat ? arith::MinimumFOp::create(b, loc, x, y).getResult()
                   : arith::MinSIOp::create(b, loc, x, y).getResult();
  }
  llvm_unreachable("unknown reduce kind");
}

/// Reductions along the last axis of a distributed tile use the layout: a
/// row's chunks sit on consecutive threads, so each thread folds its chunk,
/// lanes fold with butterfly shuffles, and only one partial per warp and row
/// goes through shared memory.
/// shfl.sync.bfly of a 32-bit-or-narrower value across the whole warp.
Value KernelLowering::shuffleXor(Value x, int offset) {
  Type t = x.getType(), f32 = b.getF32Type();
  Value y = (t.isF16() || t.isBF16()) ? arith::ExtFOp::create(b, loc, f32, x).getResult() : x;
  Value r = NVVM::ShflOp::create(b, loc, y.getType(), i32(-1), y, i32(offset),
                                 i32(kWarpSize - 1),
                                 NVVM::ShflKindAttr::get(ctx, NVVM::ShflKind::bfly),
                                 UnitAttr());
  if (r.getType() != t)
    r = arith::TruncFOp::create(b, loc, t, r); // exact: the value came from t
  return r;
}

LogicalResult KernelLowering::lowerReduceWithShuffles(ReduceOp op) {
  auto srcT = op.getSrc().getType();
  Type elt = srcT.getElementType();
  LayoutInfo l = layoutOf(op.getSrc());
  int64_t T = l.threads, V = l.vec, N = srcT.getShape().back();
  int64_t G = N / V;                      // chunks per row
  int64_t g = std::min(G, T);             // threads sharing a row
  int64_t roundsPerRow = std::max<int64_t>(1, G / T);
  int64_t gw = std::min<int64_t>(g, kWarpSize); // lanes of a row within a warp
  int64_t P = std::max<int64_t>(1, g / kWarpSize); // partials per row (warps)
  unsigned rounds = l.regs() / V;
  ReduceKind kind = op.getKind();
  ArrayRef<Value> src = vals[op.getSrc()];

  // 1. In-thread: fold each chunk, then the rounds that belong to one row.
  SmallVector<Value> partial;
  for (unsigned j = 0; j < rounds; ++j) {
    Value acc = src[j * V];
    for (int64_t i = 1; i < V; ++i)
      acc = combine(b, loc, kind, acc, src[j * V + i]);
    if (j % roundsPerRow == 0)
      partial.push_back(acc);
    else
      partial.back() = combine(b, loc, kind, partial.back(), acc);
  }
  // 2. Across the lanes of a row, within each warp.
  for (int64_t off = gw / 2; off >= 1; off /= 2)
    for (Value &p : partial)
      p = combine(b, loc, kind, p, shuffleXor(p, int(off)));
  // 3. One lane per row and warp writes its partial: slot row * P + warp.
  Value lane = arith::AndIOp::create(b, loc, tid, i32(kWarpSize - 1));
  Value writer = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::AndIOp::create(b, loc, lane, i32(gw - 1)), i32(0));
  Value rowOfThread = arith::DivUIOp::create(b, loc, tid, i32(g));
  Value warpInRow = arith::RemUIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, tid, i32(kWarpSize)), i32(P));
  for (auto [q, p] : llvm::enumerate(partial)) {
    Value row = arith::AddIOp::create(b, loc, rowOfThread, i32(int64_t(q) * (T / g)));
    Value slot = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, row, i32(P)), warpInRow);
    auto ifOp = scf::IfOp::create(b, loc, writer, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    Value x = p;
    LLVM::StoreOp::create(b, loc, x, smemPtr(elt, 0, slot));
  }
  barrier();
  // 4. Each thread folds the partials of the rows its result elements are.
  SmallVector<Value> rows;
  if (auto resT = dyn_cast<RankedTensorType>(op.getType())) {
    LayoutInfo rl = layoutOf(op.getResult());
    for (unsigned r = 0; r < rl.regs(); ++r)
      rows.push_back(linearIndex(rl, r));
  } else {
    rows.push_back(i32(0));
  }
  SmallVector<Value> out;
  for (Value row : rows) {
    Value base = arith::MulIOp::create(b, loc, row, i32(P));
    Value acc = loadFromScratch(elt, 0, base);
    for (int64_t i = 1; i < P; ++i)
      acc = combine(b, loc, kind, acc,
                    loadFromScratch(elt, 0, arith::AddIOp::create(b, loc, base, i32(i))));
    out.push_back(acc);
  }
  barrier();
  vals[op.getResult()] = out;
  return success();
}

/// Source to scratch, then every thread folds, for each result element it
/// owns, the column of the source along `axis` (one loop carrying all of
/// this thread's partial results).
/// Row reduction of a #tile.mma tile into its row slice: each thread folds
/// the columns it holds of each of its rows, the four lanes of a quad (which
/// share rows) fold with two butterfly shuffles, and with several warp
/// columns one partial per row and warp column goes through shared memory.
LogicalResult KernelLowering::lowerReduceMmaRows(ReduceOp op) {
  LayoutInfo l = layoutOf(op.getSrc());
  int64_t pieces = l.cols / (8 * l.warpsN), slices = l.rows / (16 * l.warpsM);
  ArrayRef<Value> src = vals[op.getSrc()];
  ReduceKind kind = op.getKind();
  Type elt = op.getSrc().getType().getElementType();
  SmallVector<Value> out;
  for (int64_t sl = 0; sl < slices; ++sl)
    for (int64_t half = 0; half < 2; ++half) {
      Value acc;
      for (int64_t pc = 0; pc < pieces; ++pc)
        for (int64_t pair = 0; pair < 2; ++pair) {
          Value x = src[((sl * pieces + pc) * 2 + half) * 2 + pair];
          acc = acc ? combine(b, loc, kind, acc, x) : x;
        }
      for (int off : {1, 2})
        acc = combine(b, loc, kind, acc, shuffleXor(acc, off));
      out.push_back(acc);
    }
  if (l.warpsN > 1) {
    // Slot row * warpsN + warp column, written by lane 0 of each quad.
    LayoutInfo rl = layoutOf(op.getResult());
    Value warpCol = arith::ShRUIOp::create(b, loc, tid, i32(5 + llvm::Log2_32(l.warpsM)));
    Value writer = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         arith::AndIOp::create(b, loc, tid, i32(3)), i32(0));
    SmallVector<Value> rows;
    for (unsigned r = 0; r < out.size(); ++r) {
      rows.push_back(linearIndex(rl, r));
      Value slot = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, rows.back(), i32(l.warpsN)), warpCol);
      auto ifOp = scf::IfOp::create(b, loc, writer, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      LLVM::StoreOp::create(b, loc, out[r], smemPtr(elt, 0, slot));
    }
    barrier();
    for (unsigned r = 0; r < out.size(); ++r) {
      Value base = arith::MulIOp::create(b, loc, rows[r], i32(l.warpsN));
      Value acc;
      for (unsigned w = 0; w < l.warpsN; ++w) {
        Value x = loadFromScratch(elt, 0, arith::AddIOp::create(b, loc, base, i32(w)));
        acc = acc ? combine(b, loc, kind, acc, x) : x;
      }
      out[r] = acc;
    }
    barrier();
  }
  vals[op.getResult()] = out;
  return success();
}

LogicalResult KernelLowering::lowerReduce(ReduceOp op) {
  if (auto l = getLayoutInfo(op.getSrc().getType()); succeeded(l) && l->isMma() &&
      !l->rowSlice && op.getAxis() == 1 && isa<RankedTensorType>(op.getType()) &&
      succeeded(getLayoutInfo(cast<RankedTensorType>(op.getType()))) &&
      layoutOf(op.getResult()).rowSlice)
    return lowerReduceMmaRows(op);
  if (canReduceWithShuffles(op))
    return lowerReduceWithShuffles(op);
  auto srcT = op.getSrc().getType();
  ArrayRef<int64_t> shape = srcT.getShape();
  int64_t axis = op.getAxis();
  Type elt = srcT.getElementType();
  int64_t axisStride = 1;
  for (int64_t d = axis + 1; d < srcT.getRank(); ++d)
    axisStride *= shape[d];

  storeToScratch(op.getSrc(), 0);
  barrier();
  // Linear source index of element 0 along `axis`, per owned result element.
  SmallVector<Value> bases;
  if (auto resT = dyn_cast<RankedTensorType>(op.getType())) {
    LayoutInfo l = layoutOf(op.getResult());
    for (unsigned r = 0; r < l.regs(); ++r) {
      SmallVector<Value> idx = delinearize(linearIndex(l, r), resT.getShape());
      idx.insert(idx.begin() + axis, i32(0));
      bases.push_back(linearize(idx, shape));
    }
  } else {
    bases.push_back(i32(0));
  }
  SmallVector<Value> init;
  for (Value base : bases)
    init.push_back(loadFromScratch(elt, 0, base));
  SmallVector<Value> out(init);
  if (shape[axis] > 1) {
    auto loop = scf::ForOp::create(
        b, loc, i32(1), i32(shape[axis]), i32(1), init,
        [&](OpBuilder &nb, Location l, Value j, ValueRange acc) {
          OpBuilder::InsertionGuard g(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          Value off = arith::MulIOp::create(b, loc, j, i32(axisStride));
          SmallVector<Value> next;
          for (auto [base, a] : llvm::zip(bases, acc)) {
            Value x = loadFromScratch(elt, 0, arith::AddIOp::create(b, loc, base, off));
            next.push_back(combine(b, loc, op.getKind(), a, x));
          }
          scf::YieldOp::create(b, loc, next);
        });
    out.assign(loop.getResults().begin(), loop.getResults().end());
  }
  barrier();
  vals[op.getResult()] = out;
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

/// Hopper tensor cores: each warpgroup (4 consecutive warps, which the
/// #tile.mma layout puts on 64 consecutive rows) issues
/// wgmma.mma_async.m64nNk16 with both operands read from shared memory
/// through descriptors, accumulating in the registers the layout gives it;
/// then commits and waits for the group.  The wait passes the accumulators
/// through an empty asm so no use of them can be scheduled before it.
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

/// CUDA-core matrix product: A and B to scratch, then each thread runs one
/// loop over K carrying the accumulators of the C elements it owns.
LogicalResult KernelLowering::lowerDot(DotOp op) {
  if (isShared(op.getB())) {
    LayoutInfo l = layoutOf(op.getResult());
    int64_t nw = l.cols / l.warpsN;
    bool wgmma = hopper && l.warpsM % 4 == 0 && nw >= 8 && nw <= 256 &&
                 (!isShared(op.getA()) || getSharedLayout(op.getA().getType()).getSwizzle() > 16) &&
                 getSharedLayout(op.getB().getType()).getSwizzle() > 16;
    return wgmma ? lowerDotWgmma(op) : lowerDotMmaSync(op);
  }
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

LogicalResult KernelLowering::lowerOp(Operation *op) {
  loc = op->getLoc();
  // Every tile must carry a layout that fits this kernel's block by now.
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
    if (l->regs() > kMaxRegsPerThread)
      return op->emitOpError(what) << " " << t << " would need " << l->regs()
                                   << " registers per thread (at most " << kMaxRegsPerThread
                                   << "); use smaller tiles or more warps";
    return success();
  };
  // Element-wise ops, loads, stores and pointer arithmetic work element by
  // element in place: every tile they touch must share one layout.
  if (!isa<BroadcastOp, TransOp, ConvertLayoutOp, ReduceOp, DotOp, ExpandDimsOp, ReshapeOp,
           scf::ForOp, scf::IfOp, scf::YieldOp>(op)) {
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

  return TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ProgramIdOp>([&](ProgramIdOp o) {
        Type i32T = b.getI32Type();
        Value v = o.getAxis() == 0   ? NVVM::BlockIdXOp::create(b, loc, i32T).getResult()
                  : o.getAxis() == 1 ? NVVM::BlockIdYOp::create(b, loc, i32T).getResult()
                                     : NVVM::BlockIdZOp::create(b, loc, i32T).getResult();
        vals[o.getResult()] = {v};
        return success();
      })
      .Case<NumProgramsOp>([&](NumProgramsOp o) {
        Type i32T = b.getI32Type();
        Value v = o.getAxis() == 0   ? NVVM::GridDimXOp::create(b, loc, i32T).getResult()
                  : o.getAxis() == 1 ? NVVM::GridDimYOp::create(b, loc, i32T).getResult()
                                     : NVVM::GridDimZOp::create(b, loc, i32T).getResult();
        vals[o.getResult()] = {v};
        return success();
      })
      .Case<ArangeOp>([&](ArangeOp o) {
        LayoutInfo l = layoutOf(o.getResult());
        SmallVector<Value> out;
        for (unsigned r = 0; r < l.regs(); ++r)
          out.push_back(arith::AddIOp::create(b, loc, linearIndex(l, r),
                                              i32(o.getStart())));
        vals[o.getResult()] = out;
        return success();
      })
      .Case<SplatOp>([&](SplatOp o) {
        vals[o.getResult()] =
            SmallVector<Value>(width(o.getResult()), part(o.getSrc(), 0));
        return success();
      })
      .Case<ExpandDimsOp, ReshapeOp>([&](auto o) {
        // Same element count, so the same layout: nothing moves.
        if (layoutOf(o.getSrc()).vec != layoutOf(o.getResult()).vec)
          return LogicalResult(o->emitOpError("changes layout; not supported"));
        SmallVector<Value> same = vals[o.getSrc()];
        vals[o.getResult()] = same;
        return success();
      })
      .Case<BroadcastOp>([&](BroadcastOp o) {
        ArrayRef<int64_t> srcShape = o.getSrc().getType().getShape();
        LayoutInfo sl = layoutOf(o.getSrc()), dl = layoutOf(o.getResult());
        if (sl.rowSlice && dl.isMma() && !dl.rowSlice && sl.warpsM == dl.warpsM &&
            sl.warpsN == dl.warpsN) {
          // Each thread already holds the rows it owns: copy registers.
          int64_t pieces = dl.cols / (8 * dl.warpsN);
          SmallVector<Value> out;
          for (unsigned r = 0; r < dl.regs(); ++r)
            out.push_back(part(o.getSrc(), (r / 4 / pieces) * 2 + (r / 2) % 2));
          vals[o.getResult()] = out;
          return success();
        }
        if (isRecomputable(o.getSrc())) {
          rematInto(o.getSrc(), o.getResult(), [&](ArrayRef<Value> idx) {
            SmallVector<Value> s(idx);
            for (auto [d, n] : llvm::enumerate(srcShape))
              if (n == 1)
                s[d] = i32(0);
            return s;
          });
          return success();
        }
        redistribute(o.getSrc(), o.getResult(), [&](ArrayRef<Value> idx) {
          SmallVector<Value> s(idx);
          for (auto [d, n] : llvm::enumerate(srcShape))
            if (n == 1)
              s[d] = i32(0);
          return linearize(s, srcShape);
        });
        return success();
      })
      .Case<TransOp>([&](TransOp o) {
        if (isShared(o.getSrc()) != isShared(o.getResult()))
          return LogicalResult(o.emitOpError("moves between shared memory and registers"));
        if (isShared(o.getSrc())) {
          // The same bytes, read with the other axis contiguous.
          vals[o.getResult()] = {part(o.getSrc(), 0)};
          return success();
        }
        ArrayRef<int64_t> srcShape = o.getSrc().getType().getShape();
        ArrayRef<int32_t> order = o.getOrder();
        redistribute(o.getSrc(), o.getResult(), [&](ArrayRef<Value> idx) {
          SmallVector<Value> s(idx.size());
          for (auto [i, from] : llvm::enumerate(order))
            s[from] = idx[i];
          return linearize(s, srcShape);
        });
        return success();
      })
      .Case<ConvertLayoutOp>([&](ConvertLayoutOp o) {
        if (isShared(o.getSrc()) && isShared(o.getResult()))
          return LogicalResult(o.emitOpError("between two shared layouts is not supported"));
        if (isShared(o.getResult())) {
          storeToShared(o.getSrc(), o.getResult());
          return success();
        }
        if (isShared(o.getSrc())) {
          loadFromShared(o.getSrc(), o.getResult());
          return success();
        }
        ArrayRef<int64_t> shape = o.getType().getShape();
        if (isRecomputable(o.getSrc())) {
          rematInto(o.getSrc(), o.getResult(),
                    [](ArrayRef<Value> idx) { return SmallVector<Value>(idx); });
          return success();
        }
        redistribute(o.getSrc(), o.getResult(),
                     [&](ArrayRef<Value> idx) { return linearize(idx, shape); });
        return success();
      })
      .Case<AddPtrOp>([&](AddPtrOp o) {
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
      })
      .Case<LoadOp>([&](LoadOp o) { return lowerLoad(o); })
      .Case<AllocSharedOp>([&](AllocSharedOp o) {
        vals[o.getResult()] = {i32(getSharedLayout(o.getType()).getOffset())};
        return success();
      })
      .Case<SharedSlotOp>([&](SharedSlotOp o) {
        auto t = o.getType();
        int64_t slotBytes = t.getNumElements() * getElementByteSize(t);
        vals[o.getResult()] = {arith::AddIOp::create(
            b, loc, part(o.getBuffer(), 0),
            arith::MulIOp::create(b, loc, part(o.getSlot(), 0), i32(slotBytes)))};
        return success();
      })
      .Case<AsyncLoadOp>([&](AsyncLoadOp o) { return lowerAsyncLoad(o); })
      .Case<TmaLoadOp>([&](TmaLoadOp o) { return lowerTmaLoad(o); })
      .Case<BarrierInitOp>([&](BarrierInitOp o) {
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
      })
      .Case<BarrierExpectOp>([&](BarrierExpectOp o) {
        byThreadZero("mbarrier.arrive.expect_tx.shared::cta.b64 _, [$1], " +
                         std::to_string(o.getBytes()) + ";",
                     {barrierAddr(o.getBarriers(), part(o.getSlot(), 0))}, "r");
        return success();
      })
      .Case<BarrierArriveOp>([&](BarrierArriveOp o) {
        // The warp's lanes are done with the slot once they all get here;
        // then one of them arrives (release: their reads come first).
        Value lane = arith::AndIOp::create(b, loc, tid, i32(31));
        inlineAsm(Type(), {lane, barrierAddr(o.getBarriers(), part(o.getSlot(), 0))},
                  "{\n.reg .pred p;\nsetp.eq.u32 p, $0, 0;\nbar.warp.sync -1;\n"
                  "@p mbarrier.arrive.shared::cta.b64 _, [$1];\n}",
                  "r,r");
        return success();
      })
      .Case<WarpSpecializeOp>([&](WarpSpecializeOp o) { return lowerWarpSpecialize(o); })
      .Case<WarpgroupTurnOp>([&](WarpgroupTurnOp o) -> LogicalResult {
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
      })
      .Case<BarrierWaitOp>([&](BarrierWaitOp o) {
        // Labels are local to the braces, so the loop can be inlined often.
        inlineAsm(Type(),
                  {barrierAddr(o.getBarriers(), part(o.getSlot(), 0)), part(o.getPhase(), 0)},
                  "{\n.reg .pred done;\nwait:\nmbarrier.try_wait.parity.shared::cta.b64 done, "
                  "[$0], $1;\n@!done bra wait;\n}",
                  "r,r");
        return success();
      })
      .Case<DotWaitOp>([&](DotWaitOp o) {
        SmallVector<Value> regs = flatten(o.getValues());
        SmallVector<Value> out = hopper ? waitForDots(o.getPending(), regs) : regs;
        if (o.getSync())
          barrier();
        unflatten(o.getResults(), out);
        return success();
      })
      .Case<AsyncWaitOp>([&](AsyncWaitOp o) {
        inlineAsm(Type(), {}, "cp.async.wait_group " + std::to_string(o.getPending()) + ";", "");
        fenceProxyAsync();
        barrier();
        return success();
      })
      .Case<StoreOp>([&](StoreOp o) { return lowerStore(o); })
      .Case<ReduceOp>([&](ReduceOp o) { return lowerReduce(o); })
      .Case<DotOp>([&](DotOp o) { return lowerDot(o); })
      .Case<scf::ForOp>([&](scf::ForOp o) { return lowerFor(o); })
      .Case<scf::IfOp>([&](scf::IfOp o) { return lowerIf(o); })
      .Case<scf::YieldOp>([&](scf::YieldOp o) {
        scf::YieldOp::create(b, loc, flatten(o.getOperands()));
        return success();
      })
      .Case<func::ReturnOp>([&](func::ReturnOp) {
        LLVM::ReturnOp::create(b, loc, ValueRange{});
        return success();
      })
      .Case<arith::ConstantOp>([&](arith::ConstantOp o) {
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
      })
      .Default([&](Operation *o) -> LogicalResult {
        if (isa<arith::ArithDialect, math::MathDialect>(o->getDialect()) &&
            o->getNumRegions() == 0)
          return lowerElementwise(o);
        return o->emitOpError("cannot be lowered to NVVM by Tessera");
      });
}

namespace {
struct ConvertTileToNVVMPass
    : tessera::tile::impl::ConvertTileToNVVMBase<ConvertTileToNVVMPass> {
  using ConvertTileToNVVMBase::ConvertTileToNVVMBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr(TileDialect::getKernelAttrName()))
        kernels.push_back(f);
    bool hopper = StringRef(target).ends_with("a") && StringRef(target).starts_with("sm_9");
    int64_t limit = maxSharedBytes > 0 ? int64_t(maxSharedBytes) : maxSharedBytesFor(target);
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
      KernelLowering lowering(func, smem, tiles, hopper, exp2Ftz);
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
