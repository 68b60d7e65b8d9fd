//===- LayoutChanges.cpp - convert_layout, broadcast, trans, views --------===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

/// tile.expand_dims, tile.reshape: the same element count, so the same
/// layout: nothing moves.
LogicalResult KernelLowering::lowerView(Operation *op, Value src, Value result) {
  if (layoutOf(src).vec != layoutOf(result).vec)
    return LogicalResult(op->emitOpError("changes layout; not supported"));
  SmallVector<Value> same = vals[src];
  vals[result] = same;
  return success();
}

/// tile.broadcast: register copies from a row slice, recomputation of
/// index arithmetic, else through scratch.
LogicalResult KernelLowering::lowerBroadcast(BroadcastOp o) {
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
}

/// tile.trans: a view of a shared tile, else through scratch.
LogicalResult KernelLowering::lowerTrans(TransOp o) {
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
}

/// tile.convert_layout: into or out of shared memory, recomputation of
/// index arithmetic, else through scratch.
LogicalResult KernelLowering::lowerConvertLayout(ConvertLayoutOp o) {
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
}

/// Moves `src` into the layout of `dst`: element `i` of the result is
/// element `srcIndexOf(i)` of the source.
void KernelLowering::redistribute(Value src, Value dst,
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
Value KernelLowering::rematAt(Value v, ArrayRef<Value> idx) {
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
void KernelLowering::rematInto(
    Value src, Value dst, function_ref<SmallVector<Value>(ArrayRef<Value>)> srcIndexOf) {
  auto dstT = cast<RankedTensorType>(dst.getType());
  LayoutInfo l = layoutOf(dst);
  SmallVector<Value> out;
  for (unsigned r = 0; r < l.regs(); ++r)
    out.push_back(rematAt(src, srcIndexOf(delinearize(linearIndex(l, r), dstT.getShape()))));
  vals[dst] = out;
}

// --- #tile.shared --------------------------------------------------------------
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
