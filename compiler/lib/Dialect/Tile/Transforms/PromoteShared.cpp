//===- PromoteShared.cpp - tile-promote-shared ----------------------------===//
//
// Dot operands live in shared memory (#tile.shared).  This pass makes the
// loads that feed them write shared memory directly instead of going
// through registers, and gives every shared tile its place:
//
//   %x = tile.load %p : (tensor<64x64x!tile.ptr<f16>, #blocked>) -> tensor<64x64xf16, #blocked>
//   %s = tile.convert_layout %x : #blocked -> #tile.shared<contig = 1, swizzle = 128, offset = -1>
// becomes
//   %s = tile.load %p : (...) -> tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 0>>
//
// Buffers are allocated by liveness (first fit, 1024-byte aligned, since
// the swizzle XORs absolute address bits 4-9), and the total is checked
// against what one block may use on the target.
//
// Lit: tests/lit/Transforms/tile-promote-shared.mlir.
//
//===----------------------------------------------------------------------===//
#include "tessera/Dialect/Tile/Transforms/Passes.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/MathExtras.h"

#define DEBUG_TYPE "tile-promote-shared"

namespace tessera::tile {
#define GEN_PASS_DEF_TILEPROMOTESHARED
#include "tessera/Dialect/Tile/Transforms/Passes.h.inc"
} // namespace tessera::tile

using namespace mlir;
using namespace tessera::tile;

/// Alignment of a shared tile: the period of its swizzle pattern (S-byte
/// swizzle repeats every 8 rows of S bytes: 1024 bytes for 128-byte
/// swizzle), at least 128 bytes, which TMA needs for an unswizzled
/// destination.  Small buffers (mbarrier rings: 16 bytes per stage) so no
/// longer take a kilobyte each.
static int64_t sharedAlign(RankedTensorType t) {
  SharedLayoutAttr s = getSharedLayout(t);
  return std::max<int64_t>(128, int64_t(s.getSwizzle()) * 8);
}

namespace {

RankedTensorType withShared(RankedTensorType t, unsigned contig, unsigned swizzle,
                            int64_t offset) {
  return RankedTensorType::get(t.getShape(), t.getElementType(),
                               SharedLayoutAttr::get(t.getContext(), contig, swizzle, offset));
}

/// convert(load) -> a load that writes shared memory.  A load whose every
/// use converts it to the same shared layout (Q used by several dots) is
/// loaded into shared memory once for all of them.
struct LoadIntoShared : OpRewritePattern<ConvertLayoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvertLayoutOp op, PatternRewriter &rw) const override {
    auto load = op.getSrc().getDefiningOp<LoadOp>();
    if (!getSharedLayout(op.getType()) || !load || getSharedLayout(load.getType()))
      return failure();
    SmallVector<ConvertLayoutOp> converts;
    for (Operation *user : load->getUsers()) {
      auto c = dyn_cast<ConvertLayoutOp>(user);
      if (!c || c.getType() != op.getType())
        return failure();
      converts.push_back(c);
    }
    // Where the load was: a tile loaded before a loop and converted for a
    // dot inside it is read from global memory once, not every iteration.
    rw.setInsertionPoint(load);
    auto shared = LoadOp::create(rw, load.getLoc(), op.getType(), load.getPtr(), load.getMask(),
                                 load.getOther());
    for (ConvertLayoutOp c : converts)
      rw.replaceOp(c, shared.getResult());
    rw.eraseOp(load);
    return success();
  }
};

/// convert(trans(x)) to shared -> trans of x in shared memory: the same
/// bytes read with the other axis contiguous, so x keeps its natural
/// (row-major) layout and the transpose costs nothing.
struct TransposeInShared : OpRewritePattern<ConvertLayoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvertLayoutOp op, PatternRewriter &rw) const override {
    auto trans = op.getSrc().getDefiningOp<TransOp>();
    if (!getSharedLayout(op.getType()) || !trans || !trans->hasOneUse() ||
        trans.getType().getRank() != 2 || getSharedLayout(trans.getSrc().getType()))
      return failure();
    auto srcT = trans.getSrc().getType();
    unsigned sw = chooseSwizzle(srcT.getDimSize(1) * getElementByteSize(srcT));
    rw.setInsertionPoint(trans);
    Value src = ConvertLayoutOp::create(rw, op.getLoc(), withShared(srcT, 1, sw, -1),
                                        trans.getSrc());
    auto t = TransOp::create(rw, trans.getLoc(), withShared(trans.getType(), 0, sw, -1), src,
                             trans.getOrderAttr());
    rw.replaceOp(op, t.getResult());
    rw.eraseOp(trans);
    return success();
  }
};

/// The op in `block` that contains `op` (or `op` itself).
Operation *ancestorIn(Block *block, Operation *op) {
  while (op && op->getBlock() != block)
    op = op->getParentOp();
  return op;
}

/// The op after which the asynchronous dot `dot` (tile-pipeline's
/// `tile.async`) no longer reads its shared operands: the first dot_wait
/// of its block that leaves fewer dots in flight than were issued after it
/// (wgmma groups retire in order), else the block's terminator.  Dots
/// issued inside nested ops are not counted, which can only make the
/// answer later.
Operation *retiringWait(DotOp dot) {
  int64_t after = 0;
  for (Operation *op = dot->getNextNode(); op; op = op->getNextNode()) {
    if (auto d = dyn_cast<DotOp>(op); d && d->hasAttr("tile.async"))
      ++after;
    if (auto w = dyn_cast<DotWaitOp>(op); w && after >= int64_t(w.getPending()))
      return w;
  }
  return dot->getBlock()->getTerminator();
}

struct Buffer {
  Value value;          ///< the tile that owns the storage
  SmallVector<Value> aliases; ///< transposed views of it
  int64_t start, end;   ///< live range in pre-order positions
  int64_t bytes;
  int64_t align;
  int64_t offset = -1;
};

} // namespace

LogicalResult tessera::tile::allocateShared(func::FuncOp func, int64_t maxBytes,
                                            StringRef target) {
  // Pre-order positions; `last[op]` is the last position inside op.
  DenseMap<Operation *, int64_t> pos, last;
  int64_t n = 0;
  std::function<void(Operation *)> number = [&](Operation *op) {
    pos[op] = n++;
    for (Region &r : op->getRegions())
      for (Block &b : r)
        for (Operation &o : b)
          number(&o);
    last[op] = n - 1;
  };
  number(func);

  SmallVector<Buffer> buffers;
  DenseMap<Value, unsigned> owner;
  LogicalResult result = success();
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    for (Value v : op->getResults()) {
      if (!getSharedLayout(v.getType()))
        continue;
      Value viewOf;
      if (auto t = dyn_cast<TransOp>(op); t && getSharedLayout(t.getSrc().getType()))
        viewOf = t.getSrc();
      if (auto s = dyn_cast<SharedSlotOp>(op))
        viewOf = s.getBuffer();
      if (viewOf) {
        unsigned i = owner.lookup(viewOf);
        owner[v] = i;
        buffers[i].aliases.push_back(v);
        continue;
      }
      if (!isa<LoadOp, ConvertLayoutOp, AllocSharedOp>(op)) {
        result = op->emitOpError("cannot produce a shared-memory tile");
        return;
      }
      auto t = cast<RankedTensorType>(v.getType());
      int64_t align = sharedAlign(t);
      int64_t bytes = llvm::alignTo(t.getNumElements() * getElementByteSize(t), 16);
      owner[v] = buffers.size();
      buffers.push_back({v, {}, pos[op], pos[op], bytes, align});
    }
  });
  if (failed(result))
    return failure();
  if (buffers.empty())
    return success();
  // A use nested in a loop keeps the buffer alive to the end of that loop;
  // an asynchronous dot's, until the wait that retires it.
  for (Buffer &buf : buffers) {
    Block *home = buf.value.getParentBlock();
    SmallVector<Value> all{buf.value};
    llvm::append_range(all, buf.aliases);
    for (Value v : all)
      for (Operation *user : v.getUsers()) {
        if (auto dot = dyn_cast<DotOp>(user); dot && dot->hasAttr("tile.async"))
          user = retiringWait(dot);
        if (Operation *a = ancestorIn(home, user))
          buf.end = std::max(buf.end, last[a]);
      }
  }
  // First fit in order of definition.
  int64_t total = 0;
  for (unsigned i = 0; i < buffers.size(); ++i) {
    Buffer &buf = buffers[i];
    SmallVector<std::pair<int64_t, int64_t>> taken;
    for (unsigned j = 0; j < i; ++j)
      if (buffers[j].start <= buf.end && buf.start <= buffers[j].end)
        taken.push_back({buffers[j].offset, buffers[j].offset + buffers[j].bytes});
    llvm::sort(taken);
    int64_t off = 0;
    for (auto [lo, hi] : taken)
      if (off + buf.bytes > lo && off < hi)
        off = llvm::alignTo(hi, buf.align);
    buf.offset = off;
    total = std::max(total, off + buf.bytes);
    if (total > maxBytes) {
      Operation *def = buf.value.getDefiningOp();
      return def->emitOpError("needs ")
             << total << " bytes of shared memory for its tiles, more than the " << maxBytes
             << " bytes one block may use on " << target
             << "; use smaller tiles or fewer stages";
    }
    SmallVector<Value> all{buf.value};
    llvm::append_range(all, buf.aliases);
    for (Value v : all) {
      auto t = cast<RankedTensorType>(v.getType());
      SharedLayoutAttr s = getSharedLayout(t);
      v.setType(withShared(t, s.getContig(), s.getSwizzle(), off));
    }
  }
  func->setAttr(TileDialect::getSharedBytesAttrName(),
                IntegerAttr::get(IntegerType::get(func.getContext(), 32), total));
  return success();
}

FailureOr<tessera::Target> tessera::tile::targetOption(ModuleOp module, StringRef target) {
  if (std::optional<Target> t = Target::parse(target.str()))
    return *t;
  return module.emitError() << "unknown GPU target '" << target
                            << "' (expected sm_XY or sm_XYa, e.g. sm_80, sm_90a)";
}

namespace {
struct TilePromoteSharedPass
    : tessera::tile::impl::TilePromoteSharedBase<TilePromoteSharedPass> {
  using TilePromoteSharedBase::TilePromoteSharedBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    FailureOr<tessera::Target> t = targetOption(getOperation(), target);
    if (failed(t))
      return signalPassFailure();
    int64_t limit = maxSharedBytes > 0 ? int64_t(maxSharedBytes) : t->maxSharedBytesPerBlock;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr(TileDialect::getKernelAttrName()))
        continue;
      bool any = false;
      func.walk([&](ConvertLayoutOp op) { any |= bool(getSharedLayout(op.getType())); });
      if (any) {
        RewritePatternSet patterns(ctx);
        patterns.add<LoadIntoShared, TransposeInShared>(ctx);
        (void)applyPatternsGreedily(func, std::move(patterns));
      }
      if (failed(allocateShared(func, limit, target)))
        return signalPassFailure();
    }
  }
};
} // namespace
