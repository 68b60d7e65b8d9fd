//===- Derivative.cpp - dsl::derivative -----------------------------------===//
//
// d y / d x for tiles of the trace running: forward mode over the
// element-wise operations between x and y, built with the DSL's own
// operations right after y.  Each rule reuses the values the trace already
// has (tanh's derivative is 1 - tanh^2 from the tanh computed for y, not a
// second tanh), and a derivative known to be 0 or 1 stays symbolic, so a
// term that only adds (ALiBi's bias) costs nothing.  Used by the attention
// backward for a score modifier without a written derivative.
//
//===----------------------------------------------------------------------===//
#include "tessera/dsl/DSL.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <numbers>

using namespace mlir;

namespace tessera::dsl {
namespace {

/// A derivative: 0, 1, or a tile.
struct Deriv {
  enum Kind { Zero, One, Some } kind = Zero;
  Tile t;
  static Deriv some(const Tile &t) { return {Some, t}; }
};

class Differentiator {
public:
  Differentiator(Value x, const SrcLoc &site) : x(x), site(site) {}

  Deriv of(Value v) {
    if (v == x)
      return {Deriv::One, {}};
    if (auto it = memo.find(v); it != memo.end())
      return it->second;
    Deriv d = compute(v);
    memo[v] = d;
    return d;
  }

  /// `d` as a tile shaped and typed as `like`.
  Tile tile(const Deriv &d, Value like) {
    if (d.kind == Deriv::Some)
      return d.t;
    Tile l(like);
    return full(l.shape(), Num(d.kind == Deriv::One ? 1.0 : 0.0), l.dtype(), site);
  }

private:
  Value x;
  SrcLoc site; ///< the derivative() call
  llvm::DenseMap<Value, Deriv> memo;

  Deriv scaled(const Deriv &d, const Tile &f) {
    if (d.kind == Deriv::Zero)
      return d;
    return Deriv::some(d.kind == Deriv::One ? f : d.t * f);
  }
  Deriv sum(const Deriv &a, const Deriv &b, Value like, bool subtract = false) {
    if (b.kind == Deriv::Zero)
      return a;
    if (a.kind == Deriv::Zero)
      return subtract ? Deriv::some(-tile(b, like)) : b;
    return Deriv::some(subtract ? tile(a, like) - tile(b, like) : tile(a, like) + tile(b, like));
  }

  Deriv compute(Value v) {
    Operation *op = v.getDefiningOp();
    auto type = dyn_cast<RankedTensorType>(v.getType());
    // Only floating-point tiles carry a derivative: block arguments other
    // than x, integers and booleans (positions, masks) are constants here.
    if (!op || !type || !isa<FloatType>(type.getElementType()))
      return {};
    SmallVector<Deriv, 3> d;
    bool any = false;
    for (Value o : op->getOperands()) {
      d.push_back(of(o));
      any |= d.back().kind != Deriv::Zero;
    }
    if (!any)
      return {};
    auto in = [&](unsigned i) { return Tile(op->getOperand(i)); };
    Tile y(v);
    const double ln2 = std::numbers::ln2;
    std::optional<Deriv> r =
        llvm::TypeSwitch<Operation *, std::optional<Deriv>>(op)
            .Case([&](arith::AddFOp) { return sum(d[0], d[1], v); })
            .Case([&](arith::SubFOp) { return sum(d[0], d[1], v, true); })
            .Case([&](arith::NegFOp) { return sum({}, d[0], v, true); })
            .Case([&](arith::MulFOp) { return sum(scaled(d[0], in(1)), scaled(d[1], in(0)), v); })
            .Case([&](arith::DivFOp) {
              // (da - y db) / b
              Deriv num = sum(d[0], scaled(d[1], y), v, true);
              return num.kind == Deriv::Zero ? num : Deriv::some(tile(num, v) / in(1));
            })
            .Case([&](math::FmaOp) {
              return sum(sum(scaled(d[0], in(1)), scaled(d[1], in(0)), v), d[2], v);
            })
            .Case([&](arith::MaximumFOp) {
              return Deriv::some(dsl::where(in(0) >= in(1), tile(d[0], v), tile(d[1], v), site));
            })
            .Case([&](arith::MinimumFOp) {
              return Deriv::some(dsl::where(in(0) <= in(1), tile(d[0], v), tile(d[1], v), site));
            })
            .Case([&](arith::SelectOp) {
              // The condition picks a branch; its own dependence on x has
              // no derivative (a step).
              return Deriv::some(dsl::where(in(0), tile(d[1], v), tile(d[2], v), site));
            })
            .Case([&](math::TanhOp) { return scaled(d[0], 1.0 - y * y); })
            .Case([&](math::ExpOp) { return scaled(d[0], y); })
            .Case([&](math::Exp2Op) { return scaled(d[0], y * ln2); })
            .Case([&](math::LogOp) { return scaled(d[0], 1.0 / in(0)); })
            .Case([&](math::Log2Op) { return scaled(d[0], 1.0 / (in(0) * ln2)); })
            .Case([&](math::SqrtOp) { return scaled(d[0], 0.5 / y); })
            .Case([&](math::RsqrtOp) { return scaled(d[0], y * y * y * -0.5); })
            .Case([&](math::AbsFOp) {
              return scaled(d[0], dsl::where(in(0) >= 0.0, Num(1.0), Num(-1.0), site).to(y.dtype()));
            })
            .Case([&](math::SinOp) { return scaled(d[0], cos(in(0), site)); })
            .Case([&](math::CosOp) { return scaled(d[0], -sin(in(0), site)); })
            .Case([&](math::PowFOp) {
              // d(a^b) = b a^(b-1) da + a^b ln(a) db
              Deriv r = scaled(d[0], pow(in(0), in(1) - 1.0, site) * in(1));
              return sum(r, scaled(d[1], y * log(in(0), site)), v);
            })
            // Steps: 0 almost everywhere.
            .Case<math::FloorOp, math::CeilOp>([&](Operation *) { return Deriv{}; })
            .Case<arith::ExtFOp, arith::TruncFOp>([&](Operation *) {
              return Deriv::some(tile(d[0], op->getOperand(0)).to(y.dtype()));
            })
            .Default([](Operation *) { return std::nullopt; });
    if (!r) {
      std::string at;
      if (auto l = dyn_cast<FileLineColLoc>(op->getLoc()))
        at = " (at " + l.getFilename().str() + ":" + std::to_string(l.getLine()) + ")";
      throw DslError(site, "derivative",
                     "cannot differentiate through '" + op->getName().getStringRef().str() + "'" +
                         at + ": only element-wise arithmetic and math functions are; write "
                         "the derivative instead");
    }
    return *r;
  }
};

} // namespace

Tile derivative(const Tile &y, const Tile &x, SrcLoc where) {
  Value yv = y.value(), xv = x.value();
  if (!yv || !xv)
    throw DslError(where, "derivative", "operand is an uninitialized handle");
  if (!isa<RankedTensorType>(yv.getType()) || !isa<RankedTensorType>(xv.getType()) ||
      !isa<FloatType>(cast<RankedTensorType>(yv.getType()).getElementType()) ||
      !isa<FloatType>(cast<RankedTensorType>(xv.getType()).getElementType()))
    throw DslError(where, "derivative", "expects tiles of floating-point numbers");
  if (y.shape() != x.shape())
    throw DslError(where, "derivative",
                   "is element-wise: y and x must have one shape (d y_i / d x_i)");
  Differentiator diff(xv, where);
  return diff.tile(diff.of(yv), yv);
}

} // namespace tessera::dsl
