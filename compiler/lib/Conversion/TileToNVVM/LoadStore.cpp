//===- LoadStore.cpp - tile.load and tile.store (global memory) -----------===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

/// Widest access one thread makes: ld.global.v4.b32 (PTX ISA, "ld").
static constexpr int64_t kMaxAccessBytes = 16;

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

/// Whether `v` is absent, or the same in every row: a broadcast of a
/// [1, N] tile, a splat, a splat constant.
static bool sameDownRows(Value v) {
  if (!v)
    return true;
  if (auto bc = v.getDefiningOp<BroadcastOp>())
    return bc.getSrc().getType().getRank() == 2 && bc.getSrc().getType().getDimSize(0) == 1;
  if (v.getDefiningOp<SplatOp>())
    return true;
  auto c = v.getDefiningOp<arith::ConstantOp>();
  return c && isa<SplatElementsAttr>(c.getValue());
}

LogicalResult KernelLowering::lowerLoad(LoadOp op) {
  if (isShared(op.getResult()))
    return lowerLoadToShared(op);
  Value ptrs = op.getPtr();
  Type elt = llvmElemType(getElementTypeOrSelf(op.getType()));
  unsigned w = accessWidth(ptrs, op.getMask(), getElementByteSize(elt));
  // A row broadcast into an mma layout (tile-assign-layouts loads a [1, N]
  // tile of key ids there): a thread holds each of its columns in several
  // rows (r and r + 8 of each 16-row tile, and every tile down), so each
  // column is loaded once.  Register r sits in column piece (r / 4) % pieces,
  // at r % 2 in its pair (the layout lowerBroadcast copies rows from).
  std::optional<int64_t> pieces;
  if (auto t = dyn_cast<RankedTensorType>(ptrs.getType()); t && t.getRank() == 2) {
    LayoutInfo l = layoutOf(ptrs);
    if (w <= 2 && l.isMma() && !l.rowSlice && ptrs.getDefiningOp<BroadcastOp>() &&
        sameDownRows(ptrs) && sameDownRows(op.getMask()) && sameDownRows(op.getOther()))
      pieces = l.cols / (8 * l.warpsN);
  }
  llvm::DenseMap<int64_t, SmallVector<Value>> byColumn;
  SmallVector<Value> out;
  for (unsigned r = 0; r < width(ptrs); r += w) {
    if (!pieces) {
      llvm::append_range(out, loadChunk(op, r, w));
      continue;
    }
    int64_t column = (r / 4) % *pieces * 2 + r % 2;
    auto [it, fresh] = byColumn.try_emplace(column);
    if (fresh)
      it->second = loadChunk(op, r, w);
    llvm::append_range(out, it->second);
  }
  vals[op.getResult()] = out;
  return success();
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

/// The condition under which this thread writes the elements of `ptrs`
/// (null: always, as no other thread holds them): replicated elements (and
/// scalars) have one owner.
Value KernelLowering::writeOwner(Value ptrs) {
  auto t = dyn_cast<RankedTensorType>(ptrs.getType());
  if (!t)
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, i32(0));
  LayoutInfo l = layoutOf(ptrs);
  if (l.rowSlice) {
    // Lane 0 of each quad in the first warp column owns the row.
    Value warpCol = arith::ShRUIOp::create(b, loc, tid, i32(5 + llvm::Log2_32(l.warpsM)));
    return arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                              arith::AndIOp::create(b, loc, tid, i32(3)), i32(0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, warpCol, i32(0)));
  }
  if (l.replicated())
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid, i32(l.numel));
  return Value();
}

LogicalResult KernelLowering::lowerStore(StoreOp op) {
  Value ptrs = op.getPtr();
  Type elt = llvmElemType(getElementTypeOrSelf(op.getValue().getType()));
  unsigned bytes = getElementByteSize(elt);
  unsigned w = accessWidth(ptrs, op.getMask(), bytes);
  Value owner = writeOwner(ptrs);
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

/// One `atom.global` per element (relaxed, device scope; exch and cas
/// included), by the element's owner under its mask; f32 sums whose old values nobody reads are vector
/// `red`s on sm_90.  f32 max/min are integer atoms on the bits: a
/// non-negative float orders like its bits as s32, a negative one reversed
/// like its bits as u32, so max is max.s32 or min.u32 by the value's sign
/// (min: min.s32 or max.u32).  Replicated elements' old values reach the
/// other threads through scratch.
LogicalResult KernelLowering::lowerAtomicRMW(AtomicRMWOp op) {
  Value ptrs = op.getPtr();
  Type elt = getElementTypeOrSelf(op.getValue().getType());
  Type i32Ty = b.getI32Type();
  bool isFloat = elt.isF32();
  AtomicKind kind = op.getKind();
  Value owner = writeOwner(ptrs);
  bool needResult = !op.getResult().use_empty();
  auto atomic = [&](LLVM::AtomicBinOp bin, Value p, Value x) -> Value {
    return LLVM::AtomicRMWOp::create(b, loc, bin, p, x, LLVM::AtomicOrdering::monotonic,
                                     "device", /*alignment=*/4)
        .getResult();
  };
  // The old value of one element (thread is the owner and the mask is on).
  auto update = [&](Value p, Value x, Value expected) -> Value {
    if (kind == AtomicKind::Add)
      return atomic(isFloat ? LLVM::AtomicBinOp::fadd : LLVM::AtomicBinOp::add, p, x);
    if (kind == AtomicKind::Exch)
      return atomic(LLVM::AtomicBinOp::xchg, p, x);
    if (kind == AtomicKind::Cas) {
      // atom.cas.b32 compares bits: f32 goes through i32.
      auto bits = [&](Value v) {
        return isFloat ? LLVM::BitcastOp::create(b, loc, i32Ty, v).getResult() : v;
      };
      auto cas = LLVM::AtomicCmpXchgOp::create(
          b, loc, p, bits(expected), bits(x), LLVM::AtomicOrdering::monotonic,
          LLVM::AtomicOrdering::monotonic, "device", /*alignment=*/4);
      Value old = LLVM::ExtractValueOp::create(b, loc, cas, ArrayRef<int64_t>{0});
      return isFloat ? LLVM::BitcastOp::create(b, loc, elt, old).getResult() : old;
    }
    bool isMax = kind == AtomicKind::Max;
    if (!isFloat)
      return atomic(isMax ? LLVM::AtomicBinOp::max : LLVM::AtomicBinOp::min, p, x);
    Value bits = LLVM::BitcastOp::create(b, loc, i32Ty, x);
    Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, bits, i32(0));
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{i32Ty}, negative, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(
          b, loc, atomic(isMax ? LLVM::AtomicBinOp::umin : LLVM::AtomicBinOp::umax, p, bits));
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(
          b, loc, atomic(isMax ? LLVM::AtomicBinOp::max : LLVM::AtomicBinOp::min, p, bits));
    }
    return LLVM::BitcastOp::create(b, loc, elt, ifOp.getResult(0));
  };
  // sm_90 adds two or four contiguous f32 with one `red` (PTX ISA, "red":
  // .v2/.v4.f32 need sm_90): a wgmma accumulator holds column pairs.
  unsigned w = 1;
  if (!needResult && vectorRed && kind == AtomicKind::Add && isFloat && !owner)
    w = accessWidth(ptrs, op.getMask(), 4);
  if (w > 1) {
    std::string text = "red.relaxed.gpu.global.add.v" + std::to_string(w) + ".f32 [$0], {";
    std::string constraints = "l";
    for (unsigned i = 0; i < w; ++i) {
      text += (i ? ", $" : "$") + std::to_string(i + 1);
      constraints += ",f";
    }
    text += "};";
    for (unsigned r = 0; r < width(ptrs); r += w) {
      OpBuilder::InsertionGuard g(b);
      if (op.getMask()) {
        auto ifOp = scf::IfOp::create(b, loc, part(op.getMask(), r), /*withElseRegion=*/false);
        b.setInsertionPointToStart(ifOp.thenBlock());
      }
      SmallVector<Value> operands{part(ptrs, r)};
      for (unsigned i = 0; i < w; ++i)
        operands.push_back(part(op.getValue(), r + i));
      inlineAsm(Type(), operands, text, constraints);
    }
    // Nothing reads the old values.
    vals[op.getResult()] = SmallVector<Value>(width(ptrs), zeroOf(elt));
    return success();
  }
  SmallVector<Value> olds;
  for (unsigned r = 0; r < width(ptrs); ++r) {
    Value cond = owner;
    if (op.getMask()) {
      Value m = part(op.getMask(), r);
      cond = cond ? arith::AndIOp::create(b, loc, cond, m).getResult() : m;
    }
    Value p = part(ptrs, r), x = part(op.getValue(), r);
    Value expected = op.getCompare() ? part(op.getCompare(), r) : Value();
    if (!cond) {
      olds.push_back(update(p, x, expected));
      continue;
    }
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{elt}, cond, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, update(p, x, expected));
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, zeroOf(elt));
    olds.push_back(ifOp.getResult(0));
  }
  if (needResult && owner) {
    // Owners publish the old values; every holder reads its copy.
    auto t = dyn_cast<RankedTensorType>(ptrs.getType());
    std::optional<LayoutInfo> l;
    if (t)
      l = layoutOf(ptrs);
    auto indexOf = [&](unsigned r) { return t ? linearIndex(*l, r) : i32(0); };
    for (unsigned r = 0; r < olds.size(); ++r) {
      Value cond = owner;
      if (op.getMask())
        cond = arith::AndIOp::create(b, loc, cond, part(op.getMask(), r));
      OpBuilder::InsertionGuard g(b);
      auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
      b.setInsertionPointToStart(ifOp.thenBlock());
      LLVM::StoreOp::create(b, loc, olds[r], smemPtr(elt, 0, indexOf(r)));
    }
    barrier();
    for (unsigned r = 0; r < olds.size(); ++r) {
      Value shared = loadFromScratch(elt, 0, indexOf(r));
      olds[r] = op.getMask() ? arith::SelectOp::create(b, loc, part(op.getMask(), r), shared,
                                                       zeroOf(elt))
                                   .getResult()
                             : shared;
    }
    barrier();
  }
  vals[op.getResult()] = olds;
  return success();
}
