//===- AxisInfo.cpp - contiguity, divisibility and constancy of tiles -----===//
#include "tessera/Dialect/Tile/Analysis/AxisInfo.h"
#include "tessera/Dialect/Tile/IR/TileDialect.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace tessera::tile;

/// Largest power of two dividing `v` (capped; 0 divides by anything).
static int64_t pow2Divisor(int64_t v) {
  if (v == 0)
    return kMaxDivisibility;
  return std::min<int64_t>(int64_t(1) << llvm::countr_zero(uint64_t(v)), kMaxDivisibility);
}

/// Size of the last dimension (1 for scalars).
static int64_t lastDim(Value v) {
  auto s = getShapeOrEmpty(v.getType());
  return s.empty() ? 1 : s.back();
}

AxisInfoAnalysis::AxisInfoAnalysis(func::FuncOp func) {
  for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
    AxisInfo a;
    // Promises from the IR are trusted only when they are sane powers of two.
    auto promise = [](IntegerAttr attr) -> int64_t {
      int64_t v = attr ? attr.getInt() : 1;
      return v > 0 && llvm::isPowerOf2_64(uint64_t(v)) ? std::min(v, kMaxDivisibility) : 1;
    };
    if (auto align = func.getArgAttrOfType<IntegerAttr>(i, TileDialect::getAlignmentAttrName()))
      a.divisibility = promise(align);
    if (auto div = func.getArgAttrOfType<IntegerAttr>(i, TileDialect::getDivisibilityAttrName()))
      a.divisibility = promise(div);
    info[arg] = a;
  }
  func.walk<WalkOrder::PreOrder>([&](Operation *op) { visit(op); });
}

AxisInfo AxisInfoAnalysis::get(Value v) const {
  auto it = info.find(v);
  return it == info.end() ? AxisInfo{} : it->second;
}

void AxisInfoAnalysis::visit(Operation *op) {
  if (op->getNumResults() == 0 && !isa<scf::ForOp>(op))
    return;
  auto in = [&](unsigned i) { return get(op->getOperand(i)); };
  auto set = [&](AxisInfo a) {
    a.contiguity = std::clamp<int64_t>(a.contiguity, 1, lastDim(op->getResult(0)));
    a.constancy = std::clamp<int64_t>(a.constancy, 1, lastDim(op->getResult(0)));
    info[op->getResult(0)] = a;
  };
  int64_t last = op->getNumResults() ? lastDim(op->getResult(0)) : 1;

  TypeSwitch<Operation *>(op)
      .Case<arith::ConstantOp>([&](arith::ConstantOp c) {
        AxisInfo a;
        Attribute v = c.getValue();
        if (auto d = dyn_cast<DenseElementsAttr>(v); d && d.isSplat())
          v = d.getSplatValue<Attribute>();
        if (auto i = dyn_cast<IntegerAttr>(v))
          a.divisibility = pow2Divisor(i.getValue().getSExtValue());
        a.constancy = last;
        set(a);
      })
      .Case<ArangeOp>([&](ArangeOp o) {
        set({last, pow2Divisor(int32_t(o.getStart())), 1});
      })
      .Case<SplatOp>([&](SplatOp o) {
        set({1, in(0).elementDivisibility(), last});
      })
      .Case<BroadcastOp>([&](BroadcastOp o) {
        AxisInfo a = in(0);
        if (lastDim(o.getSrc()) == 1 && last > 1)
          a = {1, a.elementDivisibility(), last};
        set(a);
      })
      .Case<ExpandDimsOp>([&](ExpandDimsOp o) {
        AxisInfo a = in(0);
        if (int64_t(o.getAxis()) == o.getSrc().getType().getRank()) // new last dim of size 1
          a = {1, a.elementDivisibility(), 1};
        set(a);
      })
      .Case<ReshapeOp, ConvertLayoutOp>([&](Operation *) {
        AxisInfo a = in(0);
        if (lastDim(op->getOperand(0)) != last)
          a = {1, a.elementDivisibility(), 1};
        set(a);
      })
      .Case<arith::ExtSIOp, arith::ExtUIOp>([&](Operation *) { set(in(0)); })
      .Case<arith::TruncIOp>([&](arith::TruncIOp t) {
        // Wrapping breaks runs of consecutive values; only equality survives.
        AxisInfo a = in(0);
        int64_t bits = getElementTypeOrSelf(t.getType()).getIntOrFloatBitWidth();
        int64_t cap = bits >= 31 ? kMaxDivisibility : (int64_t(1) << bits);
        set({1, std::min(a.elementDivisibility(), cap), a.constancy});
      })
      .Case<arith::AddIOp, AddPtrOp>([&](Operation *) {
        AxisInfo a = in(0), b = in(1);
        int64_t scale = 1; // bytes per offset unit, for pointers
        if (auto p = dyn_cast<PtrType>(getElementTypeOrSelf(op->getResult(0).getType())))
          scale = getElementByteSize(p.getPointeeType());
        b.divisibility = std::min(b.divisibility * scale, kMaxDivisibility);
        AxisInfo r;
        r.constancy = std::min(a.constancy, b.constancy);
        // One side contiguous over runs on which the other is constant.
        int64_t ca = std::min(a.contiguity, b.constancy), cb = std::min(b.contiguity, a.constancy);
        r.contiguity = std::max(ca, cb);
        if (r.contiguity > 1) {
          const AxisInfo &c = cb >= ca ? b : a, &k = cb >= ca ? a : b;
          r.divisibility = std::min(c.divisibility, k.elementDivisibility());
        } else {
          r.divisibility = std::min(a.elementDivisibility(), b.elementDivisibility());
        }
        set(r);
      })
      .Case<arith::SubIOp>([&](Operation *) {
        AxisInfo a = in(0), b = in(1);
        AxisInfo r;
        r.constancy = std::min(a.constancy, b.constancy);
        r.contiguity = std::min(a.contiguity, b.constancy);
        r.divisibility = r.contiguity > 1
                             ? std::min(a.divisibility, b.elementDivisibility())
                             : std::min(a.elementDivisibility(), b.elementDivisibility());
        set(r);
      })
      .Case<arith::MulIOp>([&](Operation *) {
        AxisInfo a = in(0), b = in(1);
        set({1, std::min(a.elementDivisibility() * b.elementDivisibility(), kMaxDivisibility),
             std::min(a.constancy, b.constancy)});
      })
      .Case<arith::CmpIOp>([&](arith::CmpIOp c) {
        AxisInfo a = in(0), b = in(1);
        int64_t k = std::min(a.constancy, b.constancy);
        // `x < n` and `x >= n` with x contiguous and n constant over a run
        // flip between n-1 and n; if the run start and n share a power-of-two
        // divisor L, that is never inside an aligned run of length L.  (`<=`,
        // `>` and `==` flip inside a run.)
        auto runs = [](const AxisInfo &x, const AxisInfo &n) {
          return std::min({x.contiguity, x.divisibility, n.elementDivisibility(), n.constancy});
        };
        using P = arith::CmpIPredicate;
        P p = c.getPredicate();
        if (p == P::slt || p == P::sge || p == P::ult || p == P::uge)
          k = std::max(k, runs(a, b));
        if (p == P::sgt || p == P::sle || p == P::ugt || p == P::ule)
          k = std::max(k, runs(b, a));
        set({1, 1, k});
      })
      .Case<arith::AndIOp, arith::OrIOp, arith::XOrIOp>([&](Operation *) {
        set({1, 1, std::min(in(0).constancy, in(1).constancy)});
      })
      .Case<arith::SelectOp>([&](Operation *) {
        set({1, 1, std::min({in(0).constancy, in(1).constancy, in(2).constancy})});
      })
      .Case<scf::ForOp>([&](scf::ForOp f) {
        // The induction variable is lb + i * step.
        AxisInfo iv;
        iv.divisibility = std::min(get(f.getLowerBound()).elementDivisibility(),
                                   get(f.getStep()).elementDivisibility());
        info[f.getInductionVar()] = iv;
      })
      .Default([&](Operation *) {});
}
