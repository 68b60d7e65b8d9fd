//===- Reduce.cpp - tile.reduce (shuffles, accumulator rows, scratch), tile.scan -===//
#include "KernelLowering.h"

using namespace mlir;
using namespace tessera::tile;
using namespace tessera::tile::lowering;

static constexpr int64_t kWarpSize = 32;

namespace tessera::tile::lowering {
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

} // namespace tessera::tile::lowering

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

/// Reductions along the last axis of a distributed tile use the layout: a
/// row's chunks sit on consecutive threads, so each thread folds its chunk,
/// lanes fold with butterfly shuffles, and only one partial per warp and row
/// goes through shared memory.
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

/// Accumulator rows and reductions shuffles can fold take the paths above;
/// otherwise the source goes to scratch, then every thread folds, for each
/// result element it owns, the column of the source along `axis` (one loop
/// carrying all of this thread's partial results).
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

/// An inclusive scan along `axis` through scratch, work-efficiently: each
/// line along the axis is cut into `chunks` pieces so that lines x chunks
/// covers the threads.  (1) the source goes to scratch; (2) one thread per
/// (line, chunk) scans its piece in place; (3) one thread per line carries
/// the running total through the pieces' last elements; (4) every thread
/// reads its elements back, combining all but a piece's last element with
/// the previous piece's total.  Each thread does about n / chunks + chunks
/// steps per line it serves instead of n per element.
LogicalResult KernelLowering::lowerScan(ScanOp op) {
  auto t = op.getSrc().getType();
  ArrayRef<int64_t> shape = t.getShape();
  int64_t axis = op.getAxis(), n = shape[axis];
  Type elt = t.getElementType();
  ReduceKind kind = op.getKind();
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < t.getRank(); ++d)
    inner *= shape[d];
  int64_t lines = t.getNumElements() / n;
  int64_t chunks = std::clamp<int64_t>(int64_t(llvm::bit_floor(
                                           uint64_t(std::max<int64_t>(1, threads / lines)))),
                                       1, n);
  int64_t len = llvm::divideCeil(n, chunks);
  chunks = llvm::divideCeil(n, len); // no empty piece
  // Scratch index of element k of line `line`.
  auto at = [&](Value line, Value k) {
    Value outer = arith::DivUIOp::create(b, loc, line, i32(inner));
    Value in = arith::RemUIOp::create(b, loc, line, i32(inner));
    Value row = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, outer, i32(n)), k);
    return arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, row, i32(inner)), in)
        .getResult();
  };
  auto store = [&](Value x, Value index) {
    LLVM::StoreOp::create(b, loc, x, smemPtr(elt, 0, index));
  };
  // for (w = tid; w < count; w += threads) body(w)
  auto forWork = [&](int64_t count, function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, tid, i32(count), i32(threads), ValueRange{},
                       [&](OpBuilder &nb, Location, Value w, ValueRange) {
                         OpBuilder::InsertionGuard g(b);
                         b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                         body(w);
                         scf::YieldOp::create(b, loc);
                       });
  };
  // A sequential scan of elements [from, to) of `line`, in place.
  auto scanRange = [&](Value line, Value from, Value to, Value step) {
    Value first = loadFromScratch(elt, 0, at(line, from));
    Value next = arith::AddIOp::create(b, loc, from, step);
    scf::ForOp::create(b, loc, next, to, step, ValueRange{first},
                       [&](OpBuilder &nb, Location, Value k, ValueRange acc) {
                         OpBuilder::InsertionGuard g(b);
                         b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
                         Value idx = at(line, k);
                         Value x = combine(b, loc, kind, acc[0], loadFromScratch(elt, 0, idx));
                         store(x, idx);
                         scf::YieldOp::create(b, loc, x);
                       });
  };

  storeToScratch(op.getSrc(), 0);
  barrier();
  forWork(lines * chunks, [&](Value w) {
    Value line = arith::DivUIOp::create(b, loc, w, i32(chunks));
    Value from = arith::MulIOp::create(b, loc, arith::RemUIOp::create(b, loc, w, i32(chunks)),
                                       i32(len));
    Value to = arith::MinUIOp::create(b, loc, arith::AddIOp::create(b, loc, from, i32(len)), i32(n));
    scanRange(line, from, to, i32(1));
  });
  barrier();
  if (chunks > 1) {
    // The pieces' last elements: len - 1, 2 len - 1, ..., n - 1.
    forWork(lines, [&](Value line) {
      Value first = loadFromScratch(elt, 0, at(line, i32(len - 1)));
      auto loop = scf::ForOp::create(b, loc, i32(1), i32(chunks), i32(1), ValueRange{first});
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        Value c = loop.getInductionVar();
        Value end = arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, c, i32(len)),
                                          i32(len)),
            i32(n));
        end = arith::SubIOp::create(b, loc, end, i32(1));
        Value idx = at(line, end);
        Value x = combine(b, loc, kind, loop.getRegionIterArg(0), loadFromScratch(elt, 0, idx));
        store(x, idx);
        scf::YieldOp::create(b, loc, x);
      }
    });
    barrier();
  }
  LayoutInfo l = layoutOf(op.getResult());
  SmallVector<Value> out;
  for (unsigned r = 0; r < l.regs(); ++r) {
    Value i = linearIndex(l, r);
    Value x = loadFromScratch(elt, 0, i);
    if (chunks > 1) {
      // Position along the axis, and whether a previous piece's total applies.
      Value k = arith::RemUIOp::create(b, loc, arith::DivUIOp::create(b, loc, i, i32(inner)),
                                       i32(n));
      Value inPiece = arith::RemUIOp::create(b, loc, k, i32(len));
      Value needs = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, k, i32(len)),
          arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::ne,
              arith::AddIOp::create(b, loc, k, i32(1)),
              arith::MinUIOp::create(
                  b, loc,
                  arith::AddIOp::create(b, loc, arith::SubIOp::create(b, loc, k, inPiece),
                                        i32(len)),
                  i32(n))));
      // The previous piece's last element: i - (inPiece + 1) * inner.
      Value prevIdx = arith::SubIOp::create(
          b, loc, i,
          arith::MulIOp::create(b, loc, arith::AddIOp::create(b, loc, inPiece, i32(1)),
                                i32(inner)));
      Value safeIdx = arith::SelectOp::create(b, loc, needs, prevIdx, i);
      Value prev = loadFromScratch(elt, 0, safeIdx);
      x = arith::SelectOp::create(b, loc, needs, combine(b, loc, kind, prev, x), x);
    }
    out.push_back(x);
  }
  barrier();
  vals[op.getResult()] = out;
  return success();
}
