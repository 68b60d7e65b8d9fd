//===- FoldFactors.cpp - products by uniform factors, folded --------------===//
//
// Kernels and the modifiers traced into them multiply tiles by uniform
// factors in steps that were written apart: the attention forward scales
// the scores, a score modifier divides them by its cap, takes tanh and
// multiplies by the cap again, and the softmax multiplies by log2(e) -- four
// multiplies per score where FlashAttention-3's hand-written softcap does
// one before the tanh and folds the other into its exp2's FMA.  Three
// rewrites recover that form without the kernel knowing the modifier:
//
//   (x * a) * b            -> x * (a * b)        a, b uniform (splats)
//   reduce max/min (x * c) -> reduce(x) * c      c a positive constant
//   select(p, x * c, k)    -> select(p, x, k) * c  k * c == k exactly
//
// The first reassociates (a * b is computed once per program, in the
// element type, and x * (a * b) may differ from (x * a) * b in the last
// bit): the same latitude as XLA's algebraic simplifier, limited to uniform
// factors so it never trades one multiply for another.  The other two are
// exact: x -> x * c rounds monotonically for c > 0, so the maximum of the
// products is the product of the maximum, and a select between a product
// and a constant the factor leaves unchanged (+-inf, 0) commutes with it.
//
//===----------------------------------------------------------------------===//
#include "tessera/Dialect/Tile/Transforms/Passes.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tessera::tile {
#define GEN_PASS_DEF_TILEFOLDFACTORS
#include "tessera/Dialect/Tile/Transforms/Passes.h.inc"
} // namespace tessera::tile

using namespace mlir;
using namespace tessera::tile;

namespace {

/// A factor that is the same for every element: a splat constant (`value`
/// set) or a `tile.splat` of a scalar (`scalar` set), or a scalar itself.
struct Uniform {
  std::optional<APFloat> value;
  Value scalar;
};

std::optional<Uniform> uniformFactor(Value v) {
  if (!isa<FloatType>(getElementTypeOrSelf(v.getType())))
    return std::nullopt;
  FloatAttr scalarAttr;
  if (matchPattern(v, m_Constant(&scalarAttr)))
    return Uniform{scalarAttr.getValue(), {}};
  DenseFPElementsAttr dense;
  if (matchPattern(v, m_Constant(&dense)) && dense.isSplat())
    return Uniform{dense.getSplatValue<APFloat>(), {}};
  if (auto splat = v.getDefiningOp<SplatOp>())
    return Uniform{std::nullopt, splat.getSrc()};
  if (!isa<ShapedType>(v.getType())) // a scalar that is not a constant
    return Uniform{std::nullopt, v};
  return std::nullopt;
}

/// `u` as a value of type `type` (a tensor: splatted), created at the
/// rewriter's insertion point.
Value materialize(PatternRewriter &rw, Location loc, const Uniform &u, Type type) {
  Type elt = getElementTypeOrSelf(type);
  Value scalar = u.scalar;
  if (u.value) {
    if (auto shaped = dyn_cast<ShapedType>(type))
      return rw.create<arith::ConstantOp>(
          loc, type, DenseElementsAttr::get(shaped, FloatAttr::get(elt, *u.value)));
    scalar = rw.create<arith::ConstantOp>(loc, elt, FloatAttr::get(elt, *u.value));
  }
  if (isa<ShapedType>(type))
    return rw.create<SplatOp>(loc, type, scalar);
  return scalar;
}

/// The product of two uniform factors: folded when both are constants,
/// else one scalar multiply (per program, not per element).
Uniform product(PatternRewriter &rw, Location loc, const Uniform &a, const Uniform &b,
                Type elt) {
  if (a.value && b.value) {
    APFloat p = *a.value;
    p.multiply(*b.value, APFloat::rmNearestTiesToEven);
    return {p, {}};
  }
  Value x = materialize(rw, loc, a, elt), y = materialize(rw, loc, b, elt);
  return {std::nullopt, rw.create<arith::MulFOp>(loc, x, y)};
}

/// `v` = x * factor, x a tile and the factor uniform (either operand).
std::optional<std::pair<Value, Uniform>> scaledBy(Value v) {
  auto mul = v.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return std::nullopt;
  for (int i = 0; i < 2; ++i)
    if (auto u = uniformFactor(mul->getOperand(1 - i)); u && !uniformFactor(mul->getOperand(i)))
      return std::pair(mul->getOperand(i), *u);
  return std::nullopt;
}

/// (x * a) * b -> x * (a * b).
struct ReassociateFactors : OpRewritePattern<arith::MulFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::MulFOp op, PatternRewriter &rw) const override {
    if (!isa<ShapedType>(op.getType()))
      return failure(); // scalars: one multiply either way
    for (int i = 0; i < 2; ++i) {
      auto outer = uniformFactor(op->getOperand(1 - i));
      auto inner = scaledBy(op->getOperand(i));
      if (!outer || !inner)
        continue;
      Type elt = getElementTypeOrSelf(op.getType());
      Uniform ab = product(rw, op.getLoc(), inner->second, *outer, elt);
      Value factor = materialize(rw, op.getLoc(), ab, op.getType());
      rw.replaceOpWithNewOp<arith::MulFOp>(op, inner->first, factor);
      return success();
    }
    return failure();
  }
};

/// Whether `u` is a constant > 0 and finite.
bool isPositiveConstant(const Uniform &u) {
  return u.value && u.value->isFiniteNonZero() && !u.value->isNegative();
}

/// reduce max/min (x * c) -> reduce max/min (x) * c for a constant c > 0.
struct FactorOutOfExtremum : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp op, PatternRewriter &rw) const override {
    if (op.getKind() == ReduceKind::Sum)
      return failure(); // a sum of products rounds differently
    auto scaled = scaledBy(op.getSrc());
    if (!scaled || !isPositiveConstant(scaled->second))
      return failure();
    Value reduced = rw.create<ReduceOp>(op.getLoc(), op.getType(), op.getKindAttr(),
                                        scaled->first, op.getAxisAttr());
    Value c = materialize(rw, op.getLoc(), scaled->second, op.getType());
    rw.replaceOpWithNewOp<arith::MulFOp>(op, reduced, c);
    return success();
  }
};

/// select(p, x * c, k) -> select(p, x, k) * c when k * c == k (a splat k;
/// the product's only user is the select, so no multiply is added).
struct FactorOutOfSelect : OpRewritePattern<arith::SelectOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::SelectOp op, PatternRewriter &rw) const override {
    for (int i = 1; i <= 2; ++i) {
      Value product = op->getOperand(i);
      auto scaled = scaledBy(product);
      auto k = uniformFactor(op->getOperand(3 - i));
      if (!scaled || !product.hasOneUse() || !scaled->second.value || !k || !k->value)
        continue;
      APFloat kc = *k->value;
      kc.multiply(*scaled->second.value, APFloat::rmNearestTiesToEven);
      if (!kc.bitwiseIsEqual(*k->value))
        continue;
      Value x = scaled->first, other = op->getOperand(3 - i);
      Value sel = rw.create<arith::SelectOp>(op.getLoc(), op.getCondition(),
                                             i == 1 ? x : other, i == 1 ? other : x);
      Value c = materialize(rw, op.getLoc(), scaled->second, op.getType());
      rw.replaceOpWithNewOp<arith::MulFOp>(op, sel, c);
      return success();
    }
    return failure();
  }
};

struct TileFoldFactorsPass : tessera::tile::impl::TileFoldFactorsBase<TileFoldFactorsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFoldFactorsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void tessera::tile::populateFoldFactorsPatterns(RewritePatternSet &patterns) {
  patterns.add<ReassociateFactors, FactorOutOfExtremum, FactorOutOfSelect>(
      patterns.getContext());
}
