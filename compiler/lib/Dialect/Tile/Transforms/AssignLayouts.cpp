//===- AssignLayouts.cpp - tile-assign-layouts ----------------------------===//
//
// Distributes every tile of a kernel over the threads of its block.
//
//   %x = tile.load %p : (tensor<256x!tile.ptr<f32>>) -> tensor<256xf32>
// becomes, in a kernel of 4 warps,
//   %x = tile.load %p : (tensor<256x!tile.ptr<f32>, #tile.blocked<vec = 2, threads = 128>>)
//                     -> tensor<256xf32, #tile.blocked<vec = 2, threads = 128>>
//
// Lit: tests/lit/Transforms/tile-assign-layouts.mlir.
//
//===----------------------------------------------------------------------===//
#include "tessera/Dialect/Tile/Transforms/Passes.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/MathExtras.h"

#define DEBUG_TYPE "tile-assign-layouts"

namespace tessera::tile {
#define GEN_PASS_DEF_TILEASSIGNLAYOUTS
#include "tessera/Dialect/Tile/Transforms/Passes.h.inc"
} // namespace tessera::tile

using namespace mlir;
using namespace tessera::tile;

/// Widest vector access the hardware has: 16 bytes per thread (ld.global.v4.b32).
static constexpr unsigned kMaxAccessBytes = 16;
static constexpr unsigned kDefaultNumWarps = 4;

unsigned tessera::tile::getNumWarps(func::FuncOp func) {
  if (auto a = func->getAttrOfType<IntegerAttr>(TileDialect::getNumWarpsAttrName()))
    return unsigned(a.getInt());
  return kDefaultNumWarps;
}

BlockedLayoutAttr tessera::tile::chooseBlockedLayout(MLIRContext *ctx,
                                                     int64_t numel,
                                                     unsigned threads,
                                                     unsigned maxVec) {
  int64_t perThread = numel / threads;
  unsigned vec = unsigned(std::clamp<int64_t>(perThread, 1, maxVec));
  return BlockedLayoutAttr::get(ctx, vec, threads);
}

FailureOr<LayoutInfo> tessera::tile::getLayoutInfo(RankedTensorType type) {
  if (auto mma = dyn_cast_or_null<MmaLayoutAttr>(type.getEncoding())) {
    unsigned wm = mma.getWarpsM(), wn = mma.getWarpsN();
    bool slice = type.getRank() == 1 || (type.getRank() == 2 && type.getDimSize(1) == 1);
    if (slice) {
      if (type.getDimSize(0) % (16 * wm) != 0)
        return failure();
      LayoutInfo l{1, 32 * wm * wn, type.getNumElements(), wm, wn, type.getDimSize(0), 1};
      l.rowSlice = true;
      return l;
    }
    if (type.getRank() != 2 || type.getDimSize(0) % (16 * wm) != 0 ||
        type.getDimSize(1) % (8 * wn) != 0)
      return failure();
    return LayoutInfo{2, 32 * wm * wn, type.getNumElements(), wm, wn,
                      type.getDimSize(0), type.getDimSize(1)};
  }
  auto layout = dyn_cast_or_null<BlockedLayoutAttr>(type.getEncoding());
  if (!layout)
    return failure();
  return LayoutInfo{layout.getVec(), layout.getThreads(), type.getNumElements()};
}

SharedLayoutAttr tessera::tile::getSharedLayout(Type type) {
  if (auto t = dyn_cast<RankedTensorType>(type))
    return dyn_cast_or_null<SharedLayoutAttr>(t.getEncoding());
  return {};
}

unsigned tessera::tile::chooseSwizzle(int64_t rowBytes) {
  for (unsigned w : {128u, 64u, 32u})
    if (rowBytes >= w)
      return w;
  return 16;
}

/// Narrowest element, in bytes, that the kernel moves to or from memory: it
/// bounds the vector width so a chunk is one 16-byte access of that type.
static unsigned narrowestAccessBytes(func::FuncOp func) {
  unsigned bytes = 4;
  bool any = false;
  func.walk([&](Operation *op) {
    Type ptrTy;
    if (auto load = dyn_cast<LoadOp>(op))
      ptrTy = load.getPtr().getType();
    else if (auto store = dyn_cast<StoreOp>(op))
      ptrTy = store.getPtr().getType();
    else if (auto atomic = dyn_cast<AtomicRMWOp>(op))
      ptrTy = atomic.getPtr().getType();
    else
      return;
    auto ptr = cast<PtrType>(getElementTypeOrSelf(ptrTy));
    unsigned b = getElementByteSize(ptr.getPointeeType());
    bytes = any ? std::min(bytes, b) : b;
    any = true;
  });
  return bytes;
}

static RankedTensorType withEncoding(RankedTensorType t, Attribute enc) {
  return RankedTensorType::get(t.getShape(), t.getElementType(), enc);
}

/// `v` in the layout of `type`, through a tile.convert_layout unless it
/// already is.
static Value convertTo(OpBuilder &b, Value v, RankedTensorType type) {
  if (v.getType() == type)
    return v;
  return ConvertLayoutOp::create(b, v.getLoc(), type, v);
}

/// Tensor-core dots (f16/bf16 operands, f32 accumulator, M, N, K multiples
/// of 16, 8, 16): the accumulator and result take a #tile.mma layout whose
/// warps split M first (four consecutive warps over 64 rows is what a wgmma
/// warpgroup needs), the operands go to swizzled shared memory.  Everything
/// else about the dot's neighbours stays blocked, with conversions that
/// removeLayoutConversions then tries to remove.
static void assignDotLayouts(func::FuncOp func, unsigned warps) {
  MLIRContext *ctx = func.getContext();
  SmallVector<DotOp> dots;
  func.walk([&](DotOp op) { dots.push_back(op); });
  for (DotOp dot : dots) {
    auto aT = dot.getA().getType(), bT = dot.getB().getType(), cT = dot.getType();
    Type elt = aT.getElementType();
    int64_t M = aT.getDimSize(0), K = aT.getDimSize(1), N = bT.getDimSize(1);
    if (!(elt.isF16() || elt.isBF16()) || !cT.getElementType().isF32() || M % 16 != 0 ||
        N % 8 != 0 || K % 16 != 0)
      continue;
    unsigned wm = unsigned(std::min<int64_t>(warps, M / 16)), wn = warps / wm;
    if (N % (8 * wn) != 0)
      continue;
    OpBuilder b(dot);
    auto mmaT = withEncoding(cT, MmaLayoutAttr::get(ctx, wm, wn));
    auto sharedOf = [&](RankedTensorType t) {
      unsigned sw = chooseSwizzle(t.getDimSize(1) * getElementByteSize(t));
      return withEncoding(t, SharedLayoutAttr::get(ctx, 1, sw, -1));
    };
    Value a = convertTo(b, dot.getA(), sharedOf(aT));
    Value bb = convertTo(b, dot.getB(), sharedOf(bT));
    Value acc = convertTo(b, dot.getAcc(), mmaT);
    dot.getAMutable().assign(a);
    dot.getBMutable().assign(bb);
    dot.getAccMutable().assign(acc);
    dot.getResult().setType(mmaT);
    b.setInsertionPointAfter(dot);
    auto back = ConvertLayoutOp::create(b, dot.getLoc(), cT, dot.getResult());
    dot.getResult().replaceAllUsesExcept(back, back);
  }
}

LogicalResult tessera::tile::assignLayouts(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  unsigned warps = getNumWarps(func);
  if (warps == 0 || warps > 32 || !llvm::isPowerOf2_32(warps))
    return func.emitError("tile.num_warps must be a power of two in [1, 32] (1024 threads "
                          "per block at most), got ")
           << int32_t(warps);
  unsigned threads = 32 * warps;
  unsigned maxVec = kMaxAccessBytes / narrowestAccessBytes(func);

  // Every shape is a power of two (the DSL and the verifiers guarantee it),
  // so the layout depends only on the element count.
  auto convert = [&](Type type) -> Type {
    auto t = dyn_cast<RankedTensorType>(type);
    if (!t || t.getEncoding())
      return type;
    auto layout = chooseBlockedLayout(ctx, t.getNumElements(), threads, maxVec);
    return RankedTensorType::get(t.getShape(), t.getElementType(), layout);
  };

  LogicalResult result = success();
  func.walk([&](Operation *op) {
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          arg.setType(convert(arg.getType()));
    for (OpResult res : op->getResults()) {
      auto t = dyn_cast<RankedTensorType>(res.getType());
      if (!t)
        continue;
      for (int64_t d : t.getShape())
        if (d <= 0 || !llvm::isPowerOf2_64(d)) {
          result = op->emitOpError("tile shape ") << t << " is not made of powers of two";
          return;
        }
      res.setType(convert(t));
    }
    // Constants carry their type twice (attribute and result).
    if (auto cst = dyn_cast<arith::ConstantOp>(op))
      if (auto dense = dyn_cast<DenseElementsAttr>(cst.getValue()))
        if (dense.getType() != cst.getType())
          cst.setValueAttr(dense.reshape(cast<ShapedType>(cst.getType())));
  });
  if (failed(result))
    return failure();
  assignDotLayouts(func, warps);
  removeLayoutConversions(func);
  return success();
}

namespace {
struct TileAssignLayoutsPass
    : tessera::tile::impl::TileAssignLayoutsBase<TileAssignLayoutsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func->hasAttr(TileDialect::getKernelAttrName()))
        if (failed(assignLayouts(func)))
          return signalPassFailure();
  }
};
} // namespace
