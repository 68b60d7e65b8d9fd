//===- TmaWindow.cpp - which tile loads a TMA tensor map can describe -----===//
#include "tessera/Dialect/Tile/Analysis/TmaWindow.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

using namespace mlir;
using namespace tessera::tile;

namespace {

/// The value under any layout conversions: they do not change the indices.
Value skipConvert(Value v) {
  while (auto c = v.getDefiningOp<ConvertLayoutOp>())
    v = c.getSrc();
  return v;
}

/// `v` as a kernel argument of the enclosing function (a scalar), or null.
BlockArgument kernelArg(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || !isa<func::FuncOp>(arg.getOwner()->getParentOp()))
    return {};
  return arg;
}

/// Splits the 1-D index vector `v` into scalar summands and one arange.
bool matchVec(Value v, TmaWindowAxis &ax, unsigned &aranges) {
  v = skipConvert(v);
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (auto a = dyn_cast<ArangeOp>(def)) {
    ax.startConst += a.getStart();
    return ++aranges == 1;
  }
  if (auto sp = dyn_cast<SplatOp>(def)) {
    ax.startParts.push_back(sp.getSrc());
    return true;
  }
  if (auto c = dyn_cast<arith::ConstantOp>(def)) {
    auto d = dyn_cast<SplatElementsAttr>(c.getValue());
    if (!d || !d.getElementType().isInteger(32))
      return false;
    ax.startConst += d.getSplatValue<APInt>().getSExtValue();
    return true;
  }
  if (auto add = dyn_cast<arith::AddIOp>(def))
    return matchVec(add.getLhs(), ax, aranges) && matchVec(add.getRhs(), ax, aranges);
  return false;
}

/// A 2-D index tile varying along one axis: broadcast(expand_dims(vec)).
/// Returns the axis and the 1-D vector.
std::optional<std::pair<unsigned, Value>> matchIndex(Value v) {
  v = skipConvert(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return matchIndex(bc.getSrc());
  auto ex = v.getDefiningOp<ExpandDimsOp>();
  if (!ex || ex.getType().getRank() != 2)
    return std::nullopt;
  return std::make_pair(unsigned(1 - ex.getAxis()), skipConvert(ex.getSrc()));
}

/// Scalar i32 kernel argument splatted into `v`, or null.
BlockArgument splattedArg(Value v) {
  v = skipConvert(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return splattedArg(bc.getSrc());
  auto sp = v.getDefiningOp<SplatOp>();
  return sp ? kernelArg(sp.getSrc()) : BlockArgument();
}

bool matchAxisTerm(Value v, BlockArgument stride, TmaWindow &w) {
  auto idx = matchIndex(v);
  if (!idx)
    return false;
  TmaWindowAxis &ax = w.axes[idx->first];
  if (ax.seen)
    return false;
  ax.seen = true;
  ax.vec = idx->second;
  ax.stride = stride;
  unsigned aranges = 0;
  return matchVec(ax.vec, ax, aranges) && aranges == 1;
}

bool matchOffset(Value v, TmaWindow &w) {
  v = skipConvert(v);
  if (auto add = v.getDefiningOp<arith::AddIOp>())
    return matchOffset(add.getLhs(), w) && matchOffset(add.getRhs(), w);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    if (Value src = skipConvert(bc.getSrc());
        src.getDefiningOp<arith::AddIOp>() || src.getDefiningOp<arith::MulIOp>())
      return matchOffset(src, w);
  if (auto mul = v.getDefiningOp<arith::MulIOp>()) {
    for (auto [x, y] : {std::pair(mul.getLhs(), mul.getRhs()), std::pair(mul.getRhs(), mul.getLhs())})
      if (BlockArgument s = splattedArg(y); s && s.getType().isInteger(32))
        return matchAxisTerm(x, s, w);
    return false;
  }
  return matchAxisTerm(v, BlockArgument(), w);
}

/// A scalar pointer: a kernel argument advanced by `x * stride` terms.
bool matchScalarPtr(Value v, TmaWindow &w);
bool matchScalarOffset(Value v, TmaWindow &w) {
  if (auto add = v.getDefiningOp<arith::AddIOp>())
    return matchScalarOffset(add.getLhs(), w) && matchScalarOffset(add.getRhs(), w);
  auto mul = v.getDefiningOp<arith::MulIOp>();
  if (!mul)
    return false;
  // Prefer as the stride an argument with a divisibility promise.
  auto promised = [](BlockArgument a) {
    auto f = cast<func::FuncOp>(a.getOwner()->getParentOp());
    return bool(f.getArgAttr(a.getArgNumber(), TileDialect::getDivisibilityAttrName()));
  };
  BlockArgument l = kernelArg(mul.getLhs()), r = kernelArg(mul.getRhs());
  if (r && r.getType().isInteger(32) && (promised(r) || !l))
    w.outer.push_back({mul.getLhs(), r});
  else if (l && l.getType().isInteger(32))
    w.outer.push_back({mul.getRhs(), l});
  else
    return false;
  return true;
}
bool matchScalarPtr(Value v, TmaWindow &w) {
  if (auto add = v.getDefiningOp<AddPtrOp>())
    return !isa<RankedTensorType>(add.getType()) && matchScalarPtr(add.getPtr(), w) &&
           matchScalarOffset(add.getOffset(), w);
  w.base = kernelArg(v);
  return bool(w.base);
}

bool matchPtr(Value v, TmaWindow &w) {
  v = skipConvert(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return matchPtr(bc.getSrc(), w);
  if (auto add = v.getDefiningOp<AddPtrOp>())
    return isa<RankedTensorType>(add.getOffset().getType()) && matchPtr(add.getPtr(), w) &&
           matchOffset(add.getOffset(), w);
  auto sp = v.getDefiningOp<SplatOp>();
  if (!sp || w.base)
    return false;
  return matchScalarPtr(sp.getSrc(), w);
}

bool matchMask(Value v, TmaWindow &w) {
  v = skipConvert(v);
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return matchMask(bc.getSrc(), w);
  if (auto a = v.getDefiningOp<arith::AndIOp>())
    return matchMask(a.getLhs(), w) && matchMask(a.getRhs(), w);
  auto cmp = v.getDefiningOp<arith::CmpIOp>();
  if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::slt)
    return false;
  auto idx = matchIndex(cmp.getLhs());
  BlockArgument bound = splattedArg(cmp.getRhs());
  if (!idx || !bound || !bound.getType().isInteger(32))
    return false;
  TmaWindowAxis &ax = w.axes[idx->first];
  if (!ax.seen || ax.vec != idx->second || (ax.extent && ax.extent != bound))
    return false;
  ax.extent = bound;
  return true;
}

} // namespace

std::optional<TmaWindow> tessera::tile::matchTmaWindow(LoadOp load, func::FuncOp func) {
  auto t = cast<RankedTensorType>(load.getType());
  SharedLayoutAttr s = getSharedLayout(t);
  int64_t eb = getElementByteSize(t);
  if (t.getRank() != 2 || !s || s.getSwizzle() < 32 || t.getDimSize(1 - s.getContig()) > 256 ||
      (t.getDimSize(s.getContig()) * eb) % s.getSwizzle() != 0)
    return std::nullopt;
  TmaWindow w;
  if (!matchPtr(load.getPtr(), w) || !w.axes[0].seen || !w.axes[1].seen)
    return std::nullopt;
  if (load.getMask() && !matchMask(load.getMask(), w))
    return std::nullopt;
  // The global address must be 16-byte aligned and the strides multiples of
  // 16 bytes (cuTensorMapEncodeTiled); the contiguous axis has unit stride.
  auto align = func.getArgAttrOfType<IntegerAttr>(w.base.getArgNumber(),
                                                  TileDialect::getAlignmentAttrName());
  if (!align || align.getInt() % 16 != 0)
    return std::nullopt;
  const TmaWindowAxis &inner = w.axes[s.getContig()], &outer = w.axes[1 - s.getContig()];
  if (inner.stride || !outer.stride)
    return std::nullopt;
  if (2 + w.outer.size() > 5)
    return std::nullopt;
  SmallVector<BlockArgument> strides{outer.stride};
  for (auto &[x, s] : w.outer)
    strides.push_back(s);
  for (BlockArgument s : strides) {
    auto div = func.getArgAttrOfType<IntegerAttr>(s.getArgNumber(),
                                                  TileDialect::getDivisibilityAttrName());
    if (!div || (div.getInt() * eb) % 16 != 0)
      return std::nullopt;
  }
  // The outer terms were collected outermost first; the map wants them
  // innermost first.
  std::reverse(w.outer.begin(), w.outer.end());
  return w;
}

Value tessera::tile::addTensorMap(func::FuncOp func, const TmaWindow &w, RankedTensorType t) {
  SharedLayoutAttr s = getSharedLayout(t);
  unsigned c = s.getContig();
  int64_t eb = getElementByteSize(t);
  const TmaWindowAxis &inner = w.axes[c], &outer = w.axes[1 - c];
  Builder b(func.getContext());
  auto idx = [](BlockArgument a) { return a ? int64_t(a.getArgNumber()) : int64_t(-1); };
  SmallVector<int64_t> dims{idx(inner.extent), idx(outer.extent)}, strides{idx(outer.stride)},
      box{s.getSwizzle() / eb, t.getDimSize(1 - c)};
  for (auto &[x, stride] : w.outer) {
    dims.push_back(-1);
    strides.push_back(idx(stride));
    box.push_back(1);
  }
  auto spec = b.getDictionaryAttr({
      b.getNamedAttr("base", b.getI64IntegerAttr(w.base.getArgNumber())),
      b.getNamedAttr("dims", b.getDenseI64ArrayAttr(dims)),
      b.getNamedAttr("strides", b.getDenseI64ArrayAttr(strides)),
      b.getNamedAttr("box", b.getDenseI64ArrayAttr(box)),
      b.getNamedAttr("swizzle", b.getI64IntegerAttr(s.getSwizzle())),
  });
  unsigned n = func.getNumArguments();
  (void)func.insertArgument(n, TensorMapType::get(func.getContext()),
                            b.getDictionaryAttr(b.getNamedAttr(
                                TileDialect::getTensorMapAttrName(), spec)),
                            func.getLoc());
  return func.getArgument(n);
}

Value tessera::tile::tmaAxisStart(OpBuilder &b, Location loc, const TmaWindowAxis &ax,
                                  IRMapping &map) {
  Value v;
  for (Value p : ax.startParts)
    v = v ? arith::AddIOp::create(b, loc, v, map.lookupOrDefault(p)).getResult()
          : map.lookupOrDefault(p);
  if (ax.startConst != 0 || !v) {
    Value c = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(ax.startConst)));
    v = v ? arith::AddIOp::create(b, loc, v, c).getResult() : c;
  }
  return v;
}

