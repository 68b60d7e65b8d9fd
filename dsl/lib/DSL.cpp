//===- DSL.cpp - tracing the embedded C++ tile DSL into `tile` IR ---------===//
//
// Every entry point checks its operands first and throws DslError at the
// user's line; only well-formed IR is built.  Exceptions never cross MLIR
// frames: ops (including scf.for / scf.if) are created without callbacks and
// user code runs afterwards, in Tessera's frames, with the insertion point
// moved into their bodies.
//
//===----------------------------------------------------------------------===//
#include "tessera/dsl/DSL.h"

#include "tessera/Dialect/Tile/IR/TileDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <climits>
#include <cmath>
#include <sstream>

using namespace mlir;

namespace tessera::dsl {

// --- dtypes and errors --------------------------------------------------------

const char *toString(DType t) {
  switch (t) {
  case DType::i1: return "i1";
  case DType::i8: return "i8";
  case DType::i32: return "i32";
  case DType::i64: return "i64";
  case DType::f16: return "f16";
  case DType::bf16: return "bf16";
  case DType::f32: return "f32";
  case DType::f8e4m3: return "f8e4m3";
  case DType::f8e5m2: return "f8e5m2";
  }
  return "?";
}

DType parseDType(const std::string &name) {
  for (DType t : {DType::i1, DType::i8, DType::i32, DType::i64, DType::f16, DType::bf16,
                  DType::f32, DType::f8e4m3, DType::f8e5m2})
    if (name == toString(t))
      return t;
  throw Error("unknown dtype '" + name +
              "' (expected f16, bf16, f32, f8e4m3, f8e5m2, i8, i32, i64 or i1)");
}

static std::string formatWhere(const SrcLoc &where) {
  return std::string(where.file_name()) + ":" + std::to_string(where.line());
}

DslError::DslError(const SrcLoc &where, const std::string &op, const std::string &msg)
    : Error(formatWhere(where) + ": " + op + ": " + msg), file(where.file_name()),
      line(where.line()) {}

static Type toMlir(MLIRContext *ctx, DType t) {
  Builder b(ctx);
  switch (t) {
  case DType::i1: return b.getI1Type();
  case DType::i8: return b.getI8Type();
  case DType::i32: return b.getI32Type();
  case DType::i64: return b.getI64Type();
  case DType::f16: return b.getF16Type();
  case DType::bf16: return b.getBF16Type();
  case DType::f32: return b.getF32Type();
  case DType::f8e4m3: return b.getType<Float8E4M3FNType>();
  case DType::f8e5m2: return b.getType<Float8E5M2Type>();
  }
  return {};
}

static DType fromMlir(Type t) {
  if (t.isInteger(1)) return DType::i1;
  if (t.isInteger(8)) return DType::i8;
  if (isa<Float8E4M3FNType>(t)) return DType::f8e4m3;
  if (isa<Float8E5M2Type>(t)) return DType::f8e5m2;
  if (t.isInteger(32)) return DType::i32;
  if (t.isInteger(64)) return DType::i64;
  if (t.isF16()) return DType::f16;
  if (t.isBF16()) return DType::bf16;
  if (t.isF32()) return DType::f32;
  throw Error("internal: no DSL dtype for an MLIR type");
}

static std::string typeStr(Type t) { return tile::typeName(t); }

static std::string shapeStr(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

// --- the trace ------------------------------------------------------------------

struct Kernel::Impl {
  MLIRContext *ctx;
  OpBuilder b;
  ModuleOp module;
  func::FuncOp func;
  struct ArgInfo {
    std::string name;
    unsigned alignment = 0;    ///< pointers: assumed byte alignment
    unsigned divisibility = 1; ///< integers: promised power-of-two divisor
    bool unit = false;         ///< integers: promised to be 1
  };
  std::vector<ArgInfo> argInfo;
  /// This trace, among every trace of the process (handles record it).
  uint64_t id;
  explicit Impl(MLIRContext *ctx) : ctx(ctx), b(ctx) {
    static std::atomic<uint64_t> traces{0};
    id = ++traces;
  }
};

static thread_local Kernel::Impl *gCurrent = nullptr;
/// The DSL call running on this thread (set by `current`): where a handle
/// from another trace is reported.
static thread_local SrcLoc gSite;
static thread_local const char *gSiteOp = nullptr;

/// Largest tile a program may build: 64K elements is already 512 registers
/// per thread for a 4-warp block.
static constexpr int64_t kMaxTileElements = 1 << 20;
/// Largest alignment or divisibility a kernel may be specialized for.
static constexpr unsigned kMaxPromise = 1u << 16;

static Kernel::Impl &current(const SrcLoc &where, const char *op) {
  if (!gCurrent)
    throw DslError(where, op, "used outside of a kernel being traced");
  gSite = where;
  gSiteOp = op;
  return *gCurrent;
}

Handle::Handle(mlir::Value v) : v(v), trace(v && gCurrent ? gCurrent->id : 0) {}

mlir::Value Handle::value() const {
  auto refuse = [](const std::string &why) {
    if (gCurrent && gSiteOp)
      throw DslError(gSite, gSiteOp, why);
    throw Error(why);
  };
  if (!v)
    return v;
  // Its IR may be gone (a finished trace) or in another module or context:
  // using it would crash in MLIR, so it is refused where it is used.
  if (!gCurrent || trace != gCurrent->id)
    refuse("a handle from another trace (a finished one, or another kernel's) was used; "
           "handles live only inside the kernel body that made them");
  // Computed in a loop or branch body that has ended (a variable assigned
  // there without being carried): MLIR would only say that the operand
  // does not dominate its use.
  Block *here = gCurrent->b.getInsertionBlock();
  Region *made = mlir::Value(v).getParentRegion();
  if (here && made && !made->isAncestor(here->getParent())) {
    Operation *body = made->getParentOp();
    std::string what = isa<scf::ForOp>(body) ? "forRange" : "ifThen/ifThenElse";
    std::string at;
    if (auto l = dyn_cast<FileLineColLoc>(body->getLoc()))
      at = " at " + l.getFilename().str() + ":" + std::to_string(l.getLine());
    refuse("this operand was computed inside the body of the " + what + at +
           ", which has ended; a variable assigned in a body keeps that value afterwards only "
           "if it is carried (list it among the " + what + "'s carried values)");
  }
  return v;
}

static Location mloc(Kernel::Impl &k, const SrcLoc &where) {
  return FileLineColLoc::get(k.ctx, where.file_name(), where.line(), where.column());
}

static Value requireTile(const Handle &h, const SrcLoc &where, const char *op);

/// Handles are empty until assigned; using an empty one is a misuse.
static void requireValue(Value v) {
  if (!v)
    throw Error("use of an uninitialized DSL handle (declare it from an argument, "
                "an operation or a constant first)");
}
std::vector<int64_t> Handle::shape() const {
  requireValue(value());
  auto s = tile::getShapeOrEmpty(v.getType());
  return {s.begin(), s.end()};
}
std::string Handle::typeName() const {
  requireValue(value());
  return typeStr(getElementTypeOrSelf(v.getType()));
}
DType Scalar::dtype() const {
  requireValue(value());
  return fromMlir(v.getType());
}
DType Ptr::pointee() const {
  requireValue(value());
  return fromMlir(cast<tile::PtrType>(v.getType()).getPointeeType());
}
bool Tile::isPointer() const {
  requireValue(value());
  return isa<tile::PtrType>(getElementTypeOrSelf(v.getType()));
}
DType Tile::dtype() const {
  requireValue(value());
  if (isPointer())
    throw Error("dtype() of a tile of pointers");
  return fromMlir(getElementTypeOrSelf(v.getType()));
}
int64_t Tile::dim(unsigned i) const {
  auto s = shape();
  if (i >= s.size())
    throw Error("dim(" + std::to_string(i) + ") of a rank-" + std::to_string(s.size()) + " tile");
  return s[i];
}

/// Tile dimensions must be powers of two (the layouts rely on it).
static void checkShape(ArrayRef<int64_t> shape, const SrcLoc &where, const char *op) {
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d <= 0 || !llvm::isPowerOf2_64(d))
      throw DslError(where, op, "tile size " + std::to_string(d) + " in shape " +
                                    shapeStr(shape) + " is not a power of two");
    numel *= d;
    if (numel > kMaxTileElements)
      throw DslError(where, op, "tile " + shapeStr(shape) + " has more than " +
                                    std::to_string(kMaxTileElements) +
                                    " elements; a block cannot hold it");
  }
}

static RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type elt) {
  return RankedTensorType::get(shape, elt);
}

static Value constant(Kernel::Impl &k, Location loc, Type elt, double x,
                      ArrayRef<int64_t> shape) {
  if (!elt.isIntOrFloat())
    throw Error("internal: a number cannot stand for a value of type " + typeStr(elt));
  TypedAttr scalar;
  if (tile::isFP8(elt) && !std::isnan(x))
    x = std::clamp(x, -tile::fp8MaxFinite(elt), tile::fp8MaxFinite(elt)); // saturates
  if (isa<FloatType>(elt))
    scalar = k.b.getFloatAttr(elt, x);
  else
    scalar = k.b.getIntegerAttr(elt, int64_t(x));
  if (shape.empty())
    return arith::ConstantOp::create(k.b, loc, scalar);
  auto t = tensorOf(shape, elt);
  return arith::ConstantOp::create(k.b, loc, DenseElementsAttr::get(t, scalar));
}

/// `v` (a scalar or a tile) made into a tile of `shape`, broadcasting.
static Value toShape(Kernel::Impl &k, Location loc, Value v, ArrayRef<int64_t> shape) {
  Type elt = getElementTypeOrSelf(v.getType());
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return tile::SplatOp::create(k.b, loc, tensorOf(shape, elt), v);
  if (t.getShape() == shape)
    return v;
  if (t.getRank() < int64_t(shape.size())) {
    SmallVector<int64_t> s(shape.size() - t.getRank(), 1);
    s.append(t.getShape().begin(), t.getShape().end());
    v = tile::ReshapeOp::create(k.b, loc, tensorOf(s, elt), v);
  }
  return tile::BroadcastOp::create(k.b, loc, tensorOf(shape, elt), v);
}

/// NumPy broadcast of two shapes, or nullopt.
static std::optional<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                           ArrayRef<int64_t> b) {
  SmallVector<int64_t> out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    int64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    out[i] = std::max(x, y);
  }
  return out;
}

// --- binary operators -----------------------------------------------------------

namespace {
enum class Bin { Add, Sub, Mul, Div, Rem, Lt, Le, Gt, Ge, Eq, Ne, And, Or, Max, Min, Xor, Shl, Shr, Pow };

const char *binName(Bin op) {
  static const char *names[] = {"operator+", "operator-", "operator*", "operator/",
                                "operator%", "operator<", "operator<=", "operator>",
                                "operator>=", "operator==", "operator!=", "operator&",
                                "operator|", "maximum", "minimum", "operator^",
                                "operator<<", "operator>>", "pow"};
  return names[int(op)];
}

/// An operand: a traced value or a C++ number.  The handle's value is read
/// once the operator is known to run in a trace (see `resolve`).
struct Operand {
  const Handle *h = nullptr;
  Value v;
  std::optional<Num> num;
  Operand(const Handle &h) : h(&h) {}
  Operand(Num n) : num(n) {}
  void resolve() {
    if (h)
      v = h->value();
  }
};
} // namespace

/// FP8 values are for storage: arithmetic on them is refused where it is
/// written, with the conversion to use.
static void requireArithmetic(Type elt, const SrcLoc &where, const char *name) {
  if (tile::isFP8(elt))
    throw DslError(where, name, typeStr(elt) + " is a storage type: convert with .to(f32) first");
}

static Value binary(Bin op, Operand a, Operand b, const SrcLoc &where) {
  const char *name = binName(op);
  Kernel::Impl &k = current(where, name);
  Location loc = mloc(k, where);
  a.resolve();
  b.resolve();
  for (Operand *o : {&a, &b})
    if (!o->num && !o->v)
      throw DslError(where, name, "operand is an uninitialized handle");

  // Pointer arithmetic: pointers advanced by integer offsets.
  if (op == Bin::Add && a.v && isa<tile::PtrType>(getElementTypeOrSelf(a.v.getType()))) {
    Value off = b.v;
    if (b.num) {
      if (!b.num->isInt)
        throw DslError(where, name, "pointer offset must be an integer");
      off = constant(k, loc, k.b.getI32Type(), b.num->v, tile::getShapeOrEmpty(a.v.getType()));
    }
    if (!getElementTypeOrSelf(off.getType()).isSignlessInteger() ||
        getElementTypeOrSelf(off.getType()).isInteger(1))
      throw DslError(where, name, "pointer offset must be an integer tile or scalar, got " +
                                      typeStr(getElementTypeOrSelf(off.getType())));
    auto shape = broadcastShapes(tile::getShapeOrEmpty(a.v.getType()),
                                 tile::getShapeOrEmpty(off.getType()));
    if (!shape)
      throw DslError(where, name, "shape mismatch: pointers " +
                                      shapeStr(tile::getShapeOrEmpty(a.v.getType())) +
                                      " vs offsets " + shapeStr(tile::getShapeOrEmpty(off.getType())));
    Value p = a.v;
    if (!shape->empty()) {
      p = toShape(k, loc, p, *shape);
      off = toShape(k, loc, off, *shape);
    }
    return tile::AddPtrOp::create(k.b, loc, p.getType(), p, off);
  }

  // Element type: from the traced operands; numbers adopt it.
  Type elt = a.v ? getElementTypeOrSelf(a.v.getType()) : getElementTypeOrSelf(b.v.getType());
  if (a.v && b.v) {
    Type eb = getElementTypeOrSelf(b.v.getType());
    if (elt != eb)
      throw DslError(where, name, "dtype mismatch: lhs is " + typeStr(elt) + ", rhs is " +
                                      typeStr(eb) + " (cast one with .to())");
  }
  if (isa<tile::PtrType>(elt))
    throw DslError(where, name, "pointers only support `+ integer offsets`");
  for (Operand *o : {&a, &b})
    if (o->num && !o->num->isInt && !isa<FloatType>(elt))
      throw DslError(where, name, "fractional number used with an integer operand (" +
                                      typeStr(elt) + ")");
  ArrayRef<int64_t> sa = a.v ? tile::getShapeOrEmpty(a.v.getType()) : ArrayRef<int64_t>{};
  ArrayRef<int64_t> sb = b.v ? tile::getShapeOrEmpty(b.v.getType()) : ArrayRef<int64_t>{};
  auto shape = broadcastShapes(sa, sb);
  if (!shape)
    throw DslError(where, name, "shape mismatch: " + shapeStr(sa) + " vs " + shapeStr(sb));
  requireArithmetic(elt, where, name);
  Value x = a.v ? a.v : constant(k, loc, elt, a.num->v, *shape);
  Value y = b.v ? b.v : constant(k, loc, elt, b.num->v, *shape);
  if (!shape->empty()) {
    x = toShape(k, loc, x, *shape);
    y = toShape(k, loc, y, *shape);
  }

  bool isF = isa<FloatType>(elt);
  bool isBool = elt.isInteger(1);
  OpBuilder &bb = k.b;
  bool bitwise = op == Bin::And || op == Bin::Or || op == Bin::Xor;
  bool shift = op == Bin::Shl || op == Bin::Shr;
  if (isBool && !bitwise && op != Bin::Eq && op != Bin::Ne)
    throw DslError(where, name, "not defined on booleans");
  if (isF && (bitwise || shift || op == Bin::Rem))
    throw DslError(where, name, "not defined on floating-point values");
  if (!isF && op == Bin::Pow)
    throw DslError(where, name, "needs floating-point elements (convert integers with .to(f32))");
  using namespace arith;
  if (shift) {
    // Shifts by the width or more (or by a negative amount, read unsigned)
    // are defined, the same on the GPU and in the interpreter: `<<` gives 0
    // and `>>` (arithmetic) the sign fill.  LLVM's shl/ashr alone would be
    // poison there.
    unsigned bits = elt.getIntOrFloatBitWidth();
    Value width = constant(k, loc, elt, int64_t(bits), *shape);
    Value inRange = CmpIOp::create(bb, loc, CmpIPredicate::ult, y, width);
    if (op == Bin::Shl)
      return SelectOp::create(bb, loc, inRange, ShLIOp::create(bb, loc, x, y),
                              constant(k, loc, elt, 0, *shape));
    Value amount = SelectOp::create(bb, loc, inRange, y, constant(k, loc, elt, bits - 1, *shape));
    return ShRSIOp::create(bb, loc, x, amount);
  }
  switch (op) {
  case Bin::Add: return isF ? (Value)AddFOp::create(bb, loc, x, y) : (Value)AddIOp::create(bb, loc, x, y);
  case Bin::Sub: return isF ? (Value)SubFOp::create(bb, loc, x, y) : (Value)SubIOp::create(bb, loc, x, y);
  case Bin::Mul: return isF ? (Value)MulFOp::create(bb, loc, x, y) : (Value)MulIOp::create(bb, loc, x, y);
  case Bin::Div: return isF ? (Value)DivFOp::create(bb, loc, x, y) : (Value)DivSIOp::create(bb, loc, x, y);
  case Bin::Rem: return RemSIOp::create(bb, loc, x, y);
  case Bin::And: return AndIOp::create(bb, loc, x, y);
  case Bin::Or: return OrIOp::create(bb, loc, x, y);
  case Bin::Xor: return XOrIOp::create(bb, loc, x, y);
  case Bin::Pow: return math::PowFOp::create(bb, loc, x, y);
  case Bin::Max: return isF ? (Value)MaximumFOp::create(bb, loc, x, y) : (Value)MaxSIOp::create(bb, loc, x, y);
  case Bin::Min: return isF ? (Value)MinimumFOp::create(bb, loc, x, y) : (Value)MinSIOp::create(bb, loc, x, y);
  default: break;
  }
  static const CmpFPredicate fp[] = {CmpFPredicate::OLT, CmpFPredicate::OLE, CmpFPredicate::OGT,
                                     CmpFPredicate::OGE, CmpFPredicate::OEQ, CmpFPredicate::UNE};
  static const CmpIPredicate ip[] = {CmpIPredicate::slt, CmpIPredicate::sle, CmpIPredicate::sgt,
                                     CmpIPredicate::sge, CmpIPredicate::eq, CmpIPredicate::ne};
  int c = int(op) - int(Bin::Lt);
  if (isF)
    return CmpFOp::create(bb, loc, fp[c], x, y);
  return CmpIOp::create(bb, loc, ip[c], x, y);
}

#define TESSERA_DSL_BINARY_IMPL(OP, KIND)                                                  \
  Tile operator OP(At<Tile> a, const Tile &b) { return Tile(binary(Bin::KIND, a.h, b, a.loc)); } \
  Tile operator OP(At<Tile> a, const Scalar &b) { return Tile(binary(Bin::KIND, a.h, b, a.loc)); } \
  Tile operator OP(At<Scalar> a, const Tile &b) { return Tile(binary(Bin::KIND, a.h, b, a.loc)); } \
  Tile operator OP(At<Tile> a, Num b) { return Tile(binary(Bin::KIND, a.h, b, a.loc)); }     \
  Tile operator OP(NumAt a, const Tile &b) { return Tile(binary(Bin::KIND, a.n, b, a.loc)); } \
  Scalar operator OP(At<Scalar> a, const Scalar &b) { return Scalar(binary(Bin::KIND, a.h, b, a.loc)); } \
  Scalar operator OP(At<Scalar> a, Num b) { return Scalar(binary(Bin::KIND, a.h, b, a.loc)); } \
  Scalar operator OP(NumAt a, const Scalar &b) { return Scalar(binary(Bin::KIND, a.n, b, a.loc)); }
TESSERA_DSL_BINARY_IMPL(+, Add)
TESSERA_DSL_BINARY_IMPL(-, Sub)
TESSERA_DSL_BINARY_IMPL(*, Mul)
TESSERA_DSL_BINARY_IMPL(/, Div)
TESSERA_DSL_BINARY_IMPL(%, Rem)
TESSERA_DSL_BINARY_IMPL(<, Lt)
TESSERA_DSL_BINARY_IMPL(<=, Le)
TESSERA_DSL_BINARY_IMPL(>, Gt)
TESSERA_DSL_BINARY_IMPL(>=, Ge)
TESSERA_DSL_BINARY_IMPL(&, And)
TESSERA_DSL_BINARY_IMPL(|, Or)
TESSERA_DSL_BINARY_IMPL(^, Xor)
TESSERA_DSL_BINARY_IMPL(<<, Shl)
TESSERA_DSL_BINARY_IMPL(>>, Shr)
#undef TESSERA_DSL_BINARY_IMPL
// Equality: every handle operand through At<> (DSL.h says why).
#define TESSERA_DSL_EQUALITY_IMPL(OP, KIND)                                                \
  Tile operator OP(At<Tile> a, At<Tile> b) { return Tile(binary(Bin::KIND, a.h, b.h, a.loc)); } \
  Tile operator OP(At<Tile> a, At<Scalar> b) { return Tile(binary(Bin::KIND, a.h, b.h, a.loc)); } \
  Tile operator OP(At<Scalar> a, At<Tile> b) { return Tile(binary(Bin::KIND, a.h, b.h, a.loc)); } \
  Tile operator OP(At<Tile> a, Num b) { return Tile(binary(Bin::KIND, a.h, b, a.loc)); }     \
  Tile operator OP(NumAt a, At<Tile> b) { return Tile(binary(Bin::KIND, a.n, b.h, a.loc)); } \
  Scalar operator OP(At<Scalar> a, At<Scalar> b) { return Scalar(binary(Bin::KIND, a.h, b.h, a.loc)); } \
  Scalar operator OP(At<Scalar> a, Num b) { return Scalar(binary(Bin::KIND, a.h, b, a.loc)); } \
  Scalar operator OP(NumAt a, At<Scalar> b) { return Scalar(binary(Bin::KIND, a.n, b.h, a.loc)); }
TESSERA_DSL_EQUALITY_IMPL(==, Eq)
TESSERA_DSL_EQUALITY_IMPL(!=, Ne)
#undef TESSERA_DSL_EQUALITY_IMPL

namespace {
/// One binary operation of a composite (philox4x32, rand, erf, sigmoid,
/// argmax): any error it raises names the user's call `w`.
Tile tileOp(Bin op, Operand a, Operand b, const SrcLoc &w) { return Tile(binary(op, a, b, w)); }
} // namespace

Tile operator-(At<Tile> a) { return Tile(binary(Bin::Sub, Num(0), a.h, a.loc)); }
Scalar operator-(At<Scalar> a) { return Scalar(binary(Bin::Sub, Num(0), a.h, a.loc)); }
Tile operator!(At<Tile> a) {
  requireTile(a.h, a.loc, "operator!");
  if (!getElementTypeOrSelf(a.h.value().getType()).isInteger(1))
    throw DslError(a.loc, "operator!", "needs a boolean tile, got " + a.h.typeName());
  Kernel::Impl &k = current(a.loc, "operator!");
  Value ones = constant(k, mloc(k, a.loc), k.b.getI1Type(), 1, a.h.shape());
  return Tile(arith::XOrIOp::create(k.b, mloc(k, a.loc), a.h.value(), ones));
}
Tile operator+(At<Ptr> p, const Tile &offsets) { return Tile(binary(Bin::Add, p.h, offsets, p.loc)); }
Ptr operator+(At<Ptr> p, const Scalar &offset) { return Ptr(binary(Bin::Add, p.h, offset, p.loc)); }
Ptr operator+(At<Ptr> p, Num offset) { return Ptr(binary(Bin::Add, p.h, offset, p.loc)); }

Tile maximum(const Tile &a, const Tile &b, SrcLoc loc) { return Tile(binary(Bin::Max, a, b, loc)); }
Tile minimum(const Tile &a, const Tile &b, SrcLoc loc) { return Tile(binary(Bin::Min, a, b, loc)); }
Tile maximum(const Tile &a, Num b, SrcLoc loc) {
  requireTile(a, loc, "maximum");
  return Tile(binary(Bin::Max, a, b, loc));
}
Tile minimum(const Tile &a, Num b, SrcLoc loc) {
  requireTile(a, loc, "minimum");
  return Tile(binary(Bin::Min, a, b, loc));
}
Scalar maximum(const Scalar &a, const Scalar &b, SrcLoc loc) { return Scalar(binary(Bin::Max, a, b, loc)); }
Scalar minimum(const Scalar &a, const Scalar &b, SrcLoc loc) { return Scalar(binary(Bin::Min, a, b, loc)); }

// --- program and index ------------------------------------------------------------

static void checkAxis(int axis, const SrcLoc &where, const char *op) {
  if (axis < 0 || axis > 2)
    throw DslError(where, op, "grid axis must be 0, 1 or 2, got " + std::to_string(axis));
}

Scalar programId(int axis, SrcLoc where) {
  checkAxis(axis, where, "programId");
  Kernel::Impl &k = current(where, "programId");
  return Scalar(tile::ProgramIdOp::create(k.b, mloc(k, where), k.b.getI32Type(), axis));
}

Scalar numPrograms(int axis, SrcLoc where) {
  checkAxis(axis, where, "numPrograms");
  Kernel::Impl &k = current(where, "numPrograms");
  return Scalar(tile::NumProgramsOp::create(k.b, mloc(k, where), k.b.getI32Type(), axis));
}

Tile arange(int64_t start, int64_t end, SrcLoc where) {
  Kernel::Impl &k = current(where, "arange");
  if (start < INT32_MIN || end > INT32_MAX)
    throw DslError(where, "arange", "bounds must fit in i32");
  if (end <= start)
    throw DslError(where, "arange", "end (" + std::to_string(end) + ") must exceed start (" +
                                        std::to_string(start) + ")");
  checkShape({end - start}, where, "arange");
  auto t = tensorOf({end - start}, k.b.getI32Type());
  return Tile(tile::ArangeOp::create(k.b, mloc(k, where), t, int32_t(start), int32_t(end)));
}

// --- creation and shape -----------------------------------------------------------

static Value requireTile(const Handle &h, const SrcLoc &where, const char *op) {
  if (gCurrent) { // where a handle from another trace is reported
    gSite = where;
    gSiteOp = op;
  }
  if (!h.value())
    throw DslError(where, op, "operand is an uninitialized handle");
  if (!isa<RankedTensorType>(h.value().getType()))
    throw DslError(where, op, "expects a tile, got a scalar of type " + h.typeName());
  return h.value();
}

Tile full(std::vector<int64_t> shape, Num value, DType t, SrcLoc where) {
  Kernel::Impl &k = current(where, "full");
  checkShape(shape, where, "full");
  Type elt = toMlir(k.ctx, t);
  if (!value.isInt && !isa<FloatType>(elt))
    throw DslError(where, "full", "fractional value for an integer tile");
  return Tile(constant(k, mloc(k, where), elt, value.v, shape));
}

Tile zeros(std::vector<int64_t> shape, DType t, SrcLoc where) { return full(shape, Num(0), t, where); }

Scalar scalar(Num value, DType t, SrcLoc where) {
  Kernel::Impl &k = current(where, "scalar");
  Type elt = toMlir(k.ctx, t);
  if (!value.isInt && !isa<FloatType>(elt))
    throw DslError(where, "scalar", "fractional value for an integer scalar");
  return Scalar(constant(k, mloc(k, where), elt, value.v, {}));
}

Tile splat(const Scalar &s, std::vector<int64_t> shape, SrcLoc where) {
  Kernel::Impl &k = current(where, "splat");
  checkShape(shape, where, "splat");
  if (!s.value())
    throw DslError(where, "splat", "operand is an uninitialized handle");
  return Tile(toShape(k, mloc(k, where), s.value(), shape));
}

Tile broadcastTo(const Tile &t, std::vector<int64_t> shape, SrcLoc where) {
  Kernel::Impl &k = current(where, "broadcastTo");
  Value v = requireTile(t, where, "broadcastTo");
  checkShape(shape, where, "broadcastTo");
  auto out = broadcastShapes(t.shape(), shape);
  if (!out || ArrayRef<int64_t>(*out) != ArrayRef<int64_t>(shape))
    throw DslError(where, "broadcastTo", "cannot broadcast " + shapeStr(t.shape()) + " to " +
                                             shapeStr(shape));
  return Tile(toShape(k, mloc(k, where), v, shape));
}

Tile expandDims(const Tile &t, int axis, SrcLoc where) {
  Kernel::Impl &k = current(where, "expandDims");
  Value v = requireTile(t, where, "expandDims");
  auto s = t.shape();
  if (axis < 0 || axis > int(s.size()))
    throw DslError(where, "expandDims", "axis " + std::to_string(axis) + " out of range for rank " +
                                            std::to_string(s.size()));
  s.insert(s.begin() + axis, 1);
  return Tile(tile::ExpandDimsOp::create(k.b, mloc(k, where),
                                         tensorOf(s, getElementTypeOrSelf(v.getType())), v, axis));
}

Tile Tile::col(SrcLoc where) const {
  requireTile(*this, where, "col");
  return expandDims(*this, int(shape().size()), where);
}
Tile Tile::row(SrcLoc where) const { return expandDims(*this, 0, where); }

Tile reshape(const Tile &t, std::vector<int64_t> shape, SrcLoc where) {
  Kernel::Impl &k = current(where, "reshape");
  Value v = requireTile(t, where, "reshape");
  checkShape(shape, where, "reshape");
  auto src = cast<RankedTensorType>(v.getType());
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  if (n != src.getNumElements())
    throw DslError(where, "reshape", "cannot reshape " + shapeStr(src.getShape()) + " (" +
                                         std::to_string(src.getNumElements()) + " elements) to " +
                                         shapeStr(shape));
  return Tile(tile::ReshapeOp::create(k.b, mloc(k, where), tensorOf(shape, src.getElementType()), v));
}

Tile permute(const Tile &t, std::vector<int32_t> order, SrcLoc where) {
  Kernel::Impl &k = current(where, "permute");
  Value v = requireTile(t, where, "permute");
  auto s = t.shape();
  std::vector<bool> seen(s.size(), false);
  if (order.size() != s.size())
    throw DslError(where, "permute", "order has " + std::to_string(order.size()) +
                                         " entries for a rank-" + std::to_string(s.size()) + " tile");
  SmallVector<int64_t> out;
  for (int32_t o : order) {
    if (o < 0 || o >= int32_t(s.size()) || seen[o])
      throw DslError(where, "permute", "order is not a permutation");
    seen[o] = true;
    out.push_back(s[o]);
  }
  return Tile(tile::TransOp::create(k.b, mloc(k, where),
                                    tensorOf(out, getElementTypeOrSelf(v.getType())), v, order));
}

Tile trans(const Tile &t, SrcLoc where) {
  if (t.value() && t.shape().size() != 2)
    throw DslError(where, "trans", "expects a 2-D tile, got " + shapeStr(t.shape()));
  return permute(t, {1, 0}, where);
}

Tile Tile::to(DType dt, SrcLoc where) const {
  Kernel::Impl &k = current(where, "to");
  Value v = value();
  if (!v)
    throw DslError(where, "to", "operand is an uninitialized handle");
  Type from = getElementTypeOrSelf(v.getType());
  if (isa<tile::PtrType>(from))
    throw DslError(where, "to", "cannot cast pointers");
  Type to = toMlir(k.ctx, dt);
  if (from == to)
    return *this;
  // FP8 converts to and from f32 only (one rounding: f32 -> FP8 is exact
  // to compute); other types go through f32.
  if (tile::isFP8(from) && dt != DType::f32)
    return this->to(DType::f32, where).to(dt, where);
  if (tile::isFP8(to) && !from.isF32())
    return this->to(DType::f32, where).to(dt, where);
  Type res = isa<RankedTensorType>(v.getType()) ? Type(tensorOf(shape(), to)) : to;
  Location loc = mloc(k, where);
  OpBuilder &b = k.b;
  bool fF = isa<FloatType>(from), tF = isa<FloatType>(to);
  Value out;
  if (fF && tF)
    out = from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth() &&
                  !(from.isBF16() && to.isF16())
              ? (Value)arith::ExtFOp::create(b, loc, res, v)
              : (from.isF16() && to.isBF16()) || (from.isBF16() && to.isF16())
                    ? (Value)arith::TruncFOp::create(
                          b, loc, res,
                          arith::ExtFOp::create(
                              b, loc,
                              isa<RankedTensorType>(res) ? Type(tensorOf(shape(), b.getF32Type()))
                                                         : b.getF32Type(),
                              v))
                    : (Value)arith::TruncFOp::create(b, loc, res, v);
  else if (!fF && tF)
    out = from.isInteger(1) ? (Value)arith::UIToFPOp::create(b, loc, res, v)
                            : (Value)arith::SIToFPOp::create(b, loc, res, v);
  else if (fF && !tF) {
    if (to.isInteger(1))
      throw DslError(where, "to", "cast a float to bool with a comparison instead");
    out = arith::FPToSIOp::create(b, loc, res, v);
  } else if (to.isInteger(1)) {
    // Any non-zero integer is true (as in C++), not just odd ones.
    Value zero = constant(k, loc, from, 0, tile::getShapeOrEmpty(v.getType()));
    out = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, zero);
  } else if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    out = from.isInteger(1) ? (Value)arith::ExtUIOp::create(b, loc, res, v)
                            : (Value)arith::ExtSIOp::create(b, loc, res, v);
  else
    out = arith::TruncIOp::create(b, loc, res, v);
  return Tile(out);
}

Scalar Scalar::to(DType dt, SrcLoc where) const {
  current(where, "to");
  return Scalar(Tile(value()).to(dt, where).value());
}

// --- memory -----------------------------------------------------------------------

/// `mask`, checked to be boolean and broadcast to the pointers' shape.
static Value maskFor(Kernel::Impl &k, Location loc, const Tile &mask, const Tile &ptrs,
                     const SrcLoc &where, const char *op) {
  Value mv = requireTile(mask, where, op);
  if (!getElementTypeOrSelf(mv.getType()).isInteger(1))
    throw DslError(where, op, "mask must be a boolean tile, got " + mask.typeName());
  auto shape = broadcastShapes(mask.shape(), ptrs.shape());
  if (!shape || ArrayRef<int64_t>(*shape) != ArrayRef<int64_t>(ptrs.shape()))
    throw DslError(where, op, "mask shape " + shapeStr(mask.shape()) +
                                  " does not broadcast to pointer shape " + shapeStr(ptrs.shape()));
  return toShape(k, loc, mv, ptrs.shape());
}

static Value loadImpl(const Tile &ptrs, const Tile *mask, std::optional<Num> other,
                      const SrcLoc &where) {
  Kernel::Impl &k = current(where, "load");
  Value p = requireTile(ptrs, where, "load");
  if (!ptrs.isPointer())
    throw DslError(where, "load", "expects a tile of pointers, got a tile of " + ptrs.typeName());
  Location loc = mloc(k, where);
  auto pointee = cast<tile::PtrType>(getElementTypeOrSelf(p.getType())).getPointeeType();
  auto resT = tensorOf(ptrs.shape(), pointee);
  Value m, o;
  if (mask) {
    m = maskFor(k, loc, *mask, ptrs, where, "load");
    if (other) {
      if (!other->isInt && !isa<FloatType>(pointee))
        throw DslError(where, "load", "fractional 'other' for integer elements");
      o = constant(k, loc, pointee, other->v, ptrs.shape());
    }
  }
  return tile::LoadOp::create(k.b, loc, resT, p, m, o);
}

Tile load(const Tile &ptrs, SrcLoc where) { return Tile(loadImpl(ptrs, nullptr, std::nullopt, where)); }
Tile load(const Tile &ptrs, const Tile &mask, SrcLoc where) {
  return Tile(loadImpl(ptrs, &mask, std::nullopt, where));
}
Tile load(const Tile &ptrs, const Tile &mask, Num other, SrcLoc where) {
  return Tile(loadImpl(ptrs, &mask, other, where));
}
Scalar load(const Ptr &p, SrcLoc where) {
  Kernel::Impl &k = current(where, "load");
  if (!p.value())
    throw DslError(where, "load", "operand is an uninitialized handle");
  auto pointee = cast<tile::PtrType>(p.value().getType()).getPointeeType();
  return Scalar(tile::LoadOp::create(k.b, mloc(k, where), pointee, p.value(), Value(), Value()));
}

Scalar loadSpeculative(const Ptr &p, SrcLoc where) {
  Kernel::Impl &k = current(where, "loadSpeculative");
  if (!p.value())
    throw DslError(where, "loadSpeculative", "operand is an uninitialized handle");
  auto pointee = cast<tile::PtrType>(p.value().getType()).getPointeeType();
  auto load = tile::LoadOp::create(k.b, mloc(k, where), pointee, p.value(), Value(), Value());
  load.setSpeculative(true);
  return Scalar(load);
}

void store(const Ptr &p, const Scalar &value, SrcLoc where) {
  Kernel::Impl &k = current(where, "store");
  if (!p.value() || !value.value())
    throw DslError(where, "store", "operand is an uninitialized handle");
  Type pointee = cast<tile::PtrType>(p.value().getType()).getPointeeType();
  if (value.value().getType() != pointee)
    throw DslError(where, "store", "value is " + typeStr(value.value().getType()) +
                                       ", the pointer's elements are " + typeStr(pointee) +
                                       " (cast with .to())");
  // Every thread of the program stores the same value: one write's worth.
  tile::StoreOp::create(k.b, mloc(k, where), p.value(), value.value(), Value());
}

namespace {
/// The operands of a write through a tile of pointers (a store or an
/// atomic), checked: the value converted to the pointers' shape.
struct Write {
  Kernel::Impl &k;
  Location loc;
  Value ptrs, value, mask;
};
} // namespace

static Write checkedWrite(const Tile &ptrs, const Tile &value, const Tile *mask,
                          const SrcLoc &where, const char *what) {
  Kernel::Impl &k = current(where, what);
  Value p = requireTile(ptrs, where, what);
  if (!ptrs.isPointer())
    throw DslError(where, what, "expects a tile of pointers, got a tile of " + ptrs.typeName());
  if (!value.value())
    throw DslError(where, what, "value is an uninitialized handle");
  Location loc = mloc(k, where);
  auto pointee = cast<tile::PtrType>(getElementTypeOrSelf(p.getType())).getPointeeType();
  Type vt = getElementTypeOrSelf(value.value().getType());
  if (vt != pointee)
    throw DslError(where, what, "value is " + typeStr(vt) + " but the pointers are to " +
                                    typeStr(pointee) + " (cast with .to())");
  auto shape = broadcastShapes(value.shape(), ptrs.shape());
  if (!shape || ArrayRef<int64_t>(*shape) != ArrayRef<int64_t>(ptrs.shape()))
    throw DslError(where, what, "shape mismatch: value " + shapeStr(value.shape()) +
                                    " vs pointers " + shapeStr(ptrs.shape()));
  Value v = toShape(k, loc, value.value(), ptrs.shape());
  Value m;
  if (mask)
    m = maskFor(k, loc, *mask, ptrs, where, what);
  return {k, loc, p, v, m};
}

void store(const Tile &ptrs, const Tile &value, SrcLoc where) {
  Write w = checkedWrite(ptrs, value, nullptr, where, "store");
  tile::StoreOp::create(w.k.b, w.loc, w.ptrs, w.value, w.mask);
}
void store(const Tile &ptrs, const Tile &value, const Tile &mask, SrcLoc where) {
  Write w = checkedWrite(ptrs, value, &mask, where, "store");
  tile::StoreOp::create(w.k.b, w.loc, w.ptrs, w.value, w.mask);
}

static Tile atomicImpl(tile::AtomicKind kind, const Tile &ptrs, const Tile &value,
                       const Tile *mask, const SrcLoc &where, const char *what,
                       const Tile *compare = nullptr) {
  Write w = checkedWrite(ptrs, value, mask, where, what);
  Type elt = getElementTypeOrSelf(w.value.getType());
  if (!elt.isF32() && !elt.isInteger(32))
    throw DslError(where, what,
                   "combines i32 or f32 elements, got " + typeStr(elt) +
                       (kind == tile::AtomicKind::Add ? " (accumulate in f32 and convert afterwards)"
                                                      : ""));
  Value cmp;
  if (compare) {
    // The expected values: checked like a second value written through ptrs.
    if (compare->value() && compare->dtype() != value.dtype())
      throw DslError(where, what, "compare is " + compare->typeName() + " but the value is " +
                                      value.typeName());
    cmp = checkedWrite(ptrs, *compare, nullptr, where, what).value;
  }
  return Tile(tile::AtomicRMWOp::create(w.k.b, w.loc, w.value.getType(), kind, w.ptrs, w.value,
                                        cmp, w.mask)
                  .getResult());
}

Tile atomicAdd(const Tile &ptrs, const Tile &value, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Add, ptrs, value, nullptr, where, "atomicAdd");
}
Tile atomicAdd(const Tile &ptrs, const Tile &value, const Tile &mask, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Add, ptrs, value, &mask, where, "atomicAdd");
}
Tile atomicMax(const Tile &ptrs, const Tile &value, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Max, ptrs, value, nullptr, where, "atomicMax");
}
Tile atomicMax(const Tile &ptrs, const Tile &value, const Tile &mask, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Max, ptrs, value, &mask, where, "atomicMax");
}
Tile atomicMin(const Tile &ptrs, const Tile &value, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Min, ptrs, value, nullptr, where, "atomicMin");
}
Tile atomicMin(const Tile &ptrs, const Tile &value, const Tile &mask, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Min, ptrs, value, &mask, where, "atomicMin");
}
Tile atomicExchange(const Tile &ptrs, const Tile &value, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Exch, ptrs, value, nullptr, where, "atomicExchange");
}
Tile atomicExchange(const Tile &ptrs, const Tile &value, const Tile &mask, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Exch, ptrs, value, &mask, where, "atomicExchange");
}
Tile atomicCAS(const Tile &ptrs, const Tile &compare, const Tile &value, SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Cas, ptrs, value, nullptr, where, "atomicCAS", &compare);
}
Tile atomicCAS(const Tile &ptrs, const Tile &compare, const Tile &value, const Tile &mask,
               SrcLoc where) {
  return atomicImpl(tile::AtomicKind::Cas, ptrs, value, &mask, where, "atomicCAS", &compare);
}

// --- math --------------------------------------------------------------------------

Tile dot(const Tile &a, const Tile &b, const Tile &acc, SrcLoc where) {
  Kernel::Impl &k = current(where, "dot");
  Value av = requireTile(a, where, "dot"), bv = requireTile(b, where, "dot");
  Value cv = requireTile(acc, where, "dot");
  auto as = a.shape(), bs = b.shape(), cs = acc.shape();
  if (as.size() != 2 || bs.size() != 2)
    throw DslError(where, "dot", "operands must be 2-D, got " + shapeStr(as) + " and " + shapeStr(bs));
  if (as[1] != bs[0])
    throw DslError(where, "dot", "K of lhs (" + std::to_string(as[1]) + ") != K of rhs (" +
                                     std::to_string(bs[0]) + ")");
  Type ea = getElementTypeOrSelf(av.getType()), eb = getElementTypeOrSelf(bv.getType());
  if (ea != eb)
    throw DslError(where, "dot", "dtype mismatch: lhs is " + typeStr(ea) + ", rhs is " + typeStr(eb));
  if (!ea.isF16() && !ea.isBF16() && !ea.isF32())
    throw DslError(where, "dot", "operands must be f16, bf16 or f32, got " + typeStr(ea));
  if (!getElementTypeOrSelf(cv.getType()).isF32() || cs.size() != 2 || cs[0] != as[0] ||
      cs[1] != bs[1])
    throw DslError(where, "dot", "accumulator must be f32 " + std::to_string(as[0]) + "x" +
                                     std::to_string(bs[1]) + ", got " + acc.typeName() + " " +
                                     shapeStr(cs));
  return Tile(tile::DotOp::create(k.b, mloc(k, where), cv.getType(), av, bv, cv));
}

Tile dot(const Tile &a, const Tile &b, SrcLoc where) {
  if (!a.value() || !b.value() || a.shape().size() != 2 || b.shape().size() != 2)
    return dot(a, b, Tile(), where); // reports the problem
  return dot(a, b, zeros({a.dim(0), b.dim(1)}, DType::f32, where), where);
}

/// The operand of a reduction or scan (`verb`: "reduce", "scan"): a tile of
/// numbers that arithmetic applies to.
static Value axisOperand(const Tile &t, const SrcLoc &where, const char *name, const char *verb) {
  Value v = requireTile(t, where, name);
  Type elt = getElementTypeOrSelf(v.getType());
  if (isa<tile::PtrType>(elt) || elt.isInteger(1))
    throw DslError(where, name, std::string("cannot ") + verb + " a tile of " + typeStr(elt));
  requireArithmetic(elt, where, name);
  return v;
}

static Value reduceImpl(tile::ReduceKind kind, const Tile &t, std::optional<int> axis,
                        const SrcLoc &where, const char *name) {
  Kernel::Impl &k = current(where, name);
  Value v = axisOperand(t, where, name, "reduce");
  auto s = t.shape();
  Type elt = getElementTypeOrSelf(v.getType());
  int ax = axis.value_or(0);
  if (!axis && s.size() != 1)
    throw DslError(where, name, "reducing to a scalar needs a 1-D tile, got " + shapeStr(s) +
                                    "; pass an axis");
  if (axis && s.size() < 2)
    throw DslError(where, name, "a 1-D tile reduces to a Scalar; call it without an axis");
  if (ax < 0 || ax >= int(s.size()))
    throw DslError(where, name, "axis " + std::to_string(ax) + " out of range for rank " +
                                    std::to_string(s.size()));
  Type res = elt;
  if (s.size() > 1) {
    s.erase(s.begin() + ax);
    res = tensorOf(s, elt);
  }
  return tile::ReduceOp::create(k.b, mloc(k, where), res, kind, v, ax);
}

Tile sum(const Tile &t, int axis, SrcLoc w) { return Tile(reduceImpl(tile::ReduceKind::Sum, t, axis, w, "sum")); }
Tile max(const Tile &t, int axis, SrcLoc w) { return Tile(reduceImpl(tile::ReduceKind::Max, t, axis, w, "max")); }
Tile min(const Tile &t, int axis, SrcLoc w) { return Tile(reduceImpl(tile::ReduceKind::Min, t, axis, w, "min")); }
Scalar sum(const Tile &t, SrcLoc w) { return Scalar(reduceImpl(tile::ReduceKind::Sum, t, std::nullopt, w, "sum")); }
Scalar max(const Tile &t, SrcLoc w) { return Scalar(reduceImpl(tile::ReduceKind::Max, t, std::nullopt, w, "max")); }
Scalar min(const Tile &t, SrcLoc w) { return Scalar(reduceImpl(tile::ReduceKind::Min, t, std::nullopt, w, "min")); }

/// argmax/argmin: the smallest index along `axis` holding the max (min),
/// where a NaN counts as the max (min), as NumPy and PyTorch do.  Two
/// reductions: the extreme value (maximumf/minimumf propagate NaN, so it is
/// NaN exactly when one is there), then the least index that holds it.
static Value argImpl(tile::ReduceKind kind, const Tile &t, std::optional<int> axis,
                     const SrcLoc &w, const char *name) {
  Value extreme = reduceImpl(kind, t, axis, w, name); // checks t and axis
  auto shape = t.shape();
  int ax = axis.value_or(0);
  int64_t n = shape[ax];
  std::vector<int64_t> line(shape.size(), 1);
  line[ax] = n;
  Tile idx = broadcastTo(reshape(arange(0, n, w), line, w), shape, w);
  Tile hit = axis ? tileOp(Bin::Eq, t, expandDims(Tile(extreme), ax, w), w)
                  : tileOp(Bin::Eq, t, Scalar(extreme), w);
  if (isa<FloatType>(getElementTypeOrSelf(t.value().getType())))
    hit = tileOp(Bin::Or, hit, tileOp(Bin::Ne, t, t, w), w);
  return reduceImpl(tile::ReduceKind::Min, where(hit, idx, Num((long long)n), w), axis, w, name);
}

static Tile scanImpl(tile::ReduceKind kind, const Tile &t, int axis, const SrcLoc &where,
                     const char *name) {
  Kernel::Impl &k = current(where, name);
  Value v = axisOperand(t, where, name, "scan");
  auto s = t.shape();
  if (axis < 0 || axis >= int(s.size()))
    throw DslError(where, name, "axis " + std::to_string(axis) + " out of range for rank " +
                                    std::to_string(s.size()));
  return Tile(tile::ScanOp::create(k.b, mloc(k, where), v.getType(), kind, v, axis));
}

Tile cumsum(const Tile &t, int axis, SrcLoc w) { return scanImpl(tile::ReduceKind::Sum, t, axis, w, "cumsum"); }
Tile cummax(const Tile &t, int axis, SrcLoc w) { return scanImpl(tile::ReduceKind::Max, t, axis, w, "cummax"); }
Tile cummin(const Tile &t, int axis, SrcLoc w) { return scanImpl(tile::ReduceKind::Min, t, axis, w, "cummin"); }

Tile argmax(const Tile &t, int axis, SrcLoc w) { return Tile(argImpl(tile::ReduceKind::Max, t, axis, w, "argmax")); }
Tile argmin(const Tile &t, int axis, SrcLoc w) { return Tile(argImpl(tile::ReduceKind::Min, t, axis, w, "argmin")); }
Scalar argmax(const Tile &t, SrcLoc w) { return Scalar(argImpl(tile::ReduceKind::Max, t, std::nullopt, w, "argmax")); }
Scalar argmin(const Tile &t, SrcLoc w) { return Scalar(argImpl(tile::ReduceKind::Min, t, std::nullopt, w, "argmin")); }

static Value whereImpl(const Tile &cond, Operand a, Operand b, const SrcLoc &where) {
  Kernel::Impl &k = current(where, "where");
  a.resolve();
  b.resolve();
  Value c = requireTile(cond, where, "where");
  if (!getElementTypeOrSelf(c.getType()).isInteger(1))
    throw DslError(where, "where", "condition must be a boolean tile, got " + cond.typeName());
  Location loc = mloc(k, where);
  Type elt = a.v ? getElementTypeOrSelf(a.v.getType()) : getElementTypeOrSelf(b.v.getType());
  if (a.v && b.v && getElementTypeOrSelf(b.v.getType()) != elt)
    throw DslError(where, "where", "dtype mismatch: " + typeStr(elt) + " vs " +
                                       typeStr(getElementTypeOrSelf(b.v.getType())));
  if ((a.num || b.num) && !elt.isIntOrFloat())
    throw DslError(where, "where", "a number cannot stand in for " + typeStr(elt) + " values");
  auto shape = broadcastShapes(cond.shape(), a.v ? tile::getShapeOrEmpty(a.v.getType())
                                                 : tile::getShapeOrEmpty(b.v.getType()));
  if (shape && a.v && b.v)
    shape = broadcastShapes(*shape, tile::getShapeOrEmpty(b.v.getType()));
  if (!shape)
    throw DslError(where, "where", "shapes of condition and values do not broadcast");
  Value x = a.v ? toShape(k, loc, a.v, *shape) : constant(k, loc, elt, a.num->v, *shape);
  Value y = b.v ? toShape(k, loc, b.v, *shape) : constant(k, loc, elt, b.num->v, *shape);
  return arith::SelectOp::create(k.b, loc, toShape(k, loc, c, *shape), x, y);
}

Tile where(const Tile &c, const Tile &a, const Tile &b, SrcLoc w) {
  requireTile(a, w, "where");
  requireTile(b, w, "where");
  return Tile(whereImpl(c, a, b, w));
}
Tile where(const Tile &c, const Tile &a, Num b, SrcLoc w) {
  requireTile(a, w, "where");
  return Tile(whereImpl(c, a, b, w));
}
Tile where(const Tile &c, Num a, const Tile &b, SrcLoc w) {
  requireTile(b, w, "where");
  return Tile(whereImpl(c, a, b, w));
}
Tile where(const Tile &c, Num a, Num b, SrcLoc w) {
  Kernel::Impl &k = current(w, "where");
  requireTile(c, w, "where");
  Type elt = a.isInt && b.isInt ? Type(k.b.getI32Type()) : Type(k.b.getF32Type());
  // The first value as a tile of the condition's shape, the second a number.
  Tile first(constant(k, mloc(k, w), elt, a.v, c.shape()));
  return Tile(whereImpl(c, first, b, w));
}

template <class OpTy>
static Value unaryMathValue(const Handle &h, const SrcLoc &where, const char *name) {
  Kernel::Impl &k = current(where, name);
  Value v = h.value();
  if (!v)
    throw DslError(where, name, "operand is an uninitialized handle");
  requireArithmetic(getElementTypeOrSelf(v.getType()), where, name);
  if (!isa<FloatType>(getElementTypeOrSelf(v.getType())))
    throw DslError(where, name, "needs floating-point elements, got " + h.typeName());
  return OpTy::create(k.b, mloc(k, where), v);
}

template <class OpTy>
static Tile unaryMath(const Tile &t, const SrcLoc &where, const char *name) {
  requireTile(t, where, name);
  return Tile(unaryMathValue<OpTy>(t, where, name));
}

Scalar exp2(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::Exp2Op>(s, w, "exp2")); }
Scalar exp(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::ExpOp>(s, w, "exp")); }
Scalar tanh(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::TanhOp>(s, w, "tanh")); }
Scalar floor(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::FloorOp>(s, w, "floor")); }
Scalar ceil(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::CeilOp>(s, w, "ceil")); }
Scalar sin(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::SinOp>(s, w, "sin")); }
Scalar cos(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::CosOp>(s, w, "cos")); }
Scalar pow(const Scalar &x, const Scalar &y, SrcLoc w) { return Scalar(binary(Bin::Pow, x, y, w)); }
Scalar pow(const Scalar &x, Num y, SrcLoc w) { return Scalar(binary(Bin::Pow, x, y, w)); }
Scalar log2(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::Log2Op>(s, w, "log2")); }
Scalar log(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::LogOp>(s, w, "log")); }
Scalar sqrt(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::SqrtOp>(s, w, "sqrt")); }
Scalar rsqrt(const Scalar &s, SrcLoc w) { return Scalar(unaryMathValue<math::RsqrtOp>(s, w, "rsqrt")); }

Tile exp2(const Tile &t, SrcLoc w) { return unaryMath<math::Exp2Op>(t, w, "exp2"); }
Tile exp(const Tile &t, SrcLoc w) { return unaryMath<math::ExpOp>(t, w, "exp"); }
Tile log2(const Tile &t, SrcLoc w) { return unaryMath<math::Log2Op>(t, w, "log2"); }
Tile log(const Tile &t, SrcLoc w) { return unaryMath<math::LogOp>(t, w, "log"); }
Tile sqrt(const Tile &t, SrcLoc w) { return unaryMath<math::SqrtOp>(t, w, "sqrt"); }
Tile rsqrt(const Tile &t, SrcLoc w) { return unaryMath<math::RsqrtOp>(t, w, "rsqrt"); }
Tile abs(const Tile &t, SrcLoc w) { return unaryMath<math::AbsFOp>(t, w, "abs"); }
Tile tanh(const Tile &t, SrcLoc w) { return unaryMath<math::TanhOp>(t, w, "tanh"); }
Tile floor(const Tile &t, SrcLoc w) { return unaryMath<math::FloorOp>(t, w, "floor"); }
Tile ceil(const Tile &t, SrcLoc w) { return unaryMath<math::CeilOp>(t, w, "ceil"); }
Tile sin(const Tile &t, SrcLoc w) { return unaryMath<math::SinOp>(t, w, "sin"); }
Tile cos(const Tile &t, SrcLoc w) { return unaryMath<math::CosOp>(t, w, "cos"); }
Tile pow(const Tile &x, const Tile &y, SrcLoc w) {
  requireTile(x, w, "pow");
  requireTile(y, w, "pow");
  return Tile(binary(Bin::Pow, x, y, w));
}
Tile pow(const Tile &x, Num y, SrcLoc w) {
  requireTile(x, w, "pow");
  return Tile(binary(Bin::Pow, x, y, w));
}
Tile pow(Num x, const Tile &y, SrcLoc w) {
  requireTile(y, w, "pow");
  return Tile(binary(Bin::Pow, x, y, w));
}
namespace {

/// The high and low 32 bits of the unsigned product a * m (a: i32 tile read
/// as unsigned; m < 2^32), through i64.
std::pair<Tile, Tile> mulHiLo(const Tile &a, int64_t m, SrcLoc w) {
  Tile wide = tileOp(Bin::Mul, tileOp(Bin::And, a.to(i64, w), Num(0xffffffffLL), w),
                     Num((long long)m), w);
  return {tileOp(Bin::Shr, wide, Num(32), w).to(i32, w), wide.to(i32, w)};
}

/// An i32 constant from its unsigned 32-bit pattern.
Num u32(uint32_t x) { return Num((long long)int32_t(x)); }
} // namespace

std::array<Tile, 4> philox4x32(const std::array<Tile, 4> &c, const Scalar &key0,
                               const Scalar &key1, SrcLoc w) {
  const char *name = "philox4x32";
  for (const Tile &t : c) {
    requireTile(t, w, name);
    if (t.dtype() != i32)
      throw DslError(w, name, "counter words must be i32 tiles, got " + t.typeName());
    if (t.shape() != c[0].shape())
      throw DslError(w, name, "counter words of different shapes: " + shapeStr(c[0].shape()) +
                                  " vs " + shapeStr(t.shape()));
  }
  for (const Scalar *k : {&key0, &key1})
    if (!k->value() || k->dtype() != i32)
      throw DslError(w, name, "key words must be i32 scalars, got " + k->typeName());
  constexpr int64_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;
  constexpr uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  std::array<Tile, 4> x = c;
  Scalar k0 = key0, k1 = key1;
  for (int round = 0; round < 10; ++round) {
    auto [hi0, lo0] = mulHiLo(x[0], kM0, w);
    auto [hi1, lo1] = mulHiLo(x[2], kM1, w);
    x = {tileOp(Bin::Xor, tileOp(Bin::Xor, hi1, x[1], w), k0, w), lo1,
         tileOp(Bin::Xor, tileOp(Bin::Xor, hi0, x[3], w), k1, w), lo0};
    k0 = Scalar(binary(Bin::Add, k0, u32(kW0), w));
    k1 = Scalar(binary(Bin::Add, k1, u32(kW1), w));
  }
  return x;
}

std::array<Tile, 4> randint4x(const Scalar &seed, const Tile &offsets, SrcLoc w) {
  requireTile(offsets, w, "randint4x");
  if (offsets.dtype() != i32)
    throw DslError(w, "randint4x", "offsets must be an i32 tile, got " + offsets.typeName());
  if (!seed.value() || (seed.dtype() != i32 && seed.dtype() != i64))
    throw DslError(w, "randint4x", "the seed must be an i32 or i64 scalar, got " + seed.typeName());
  Scalar k0 = seed.dtype() == i64 ? seed.to(i32, w) : seed;
  Scalar k1 = seed.dtype() == i64 ? Scalar(binary(Bin::Shr, seed, Num(32), w)).to(i32, w)
                                  : scalar(Num(0), i32, w);
  Tile zero = zeros(offsets.shape(), i32, w);
  return philox4x32({offsets, zero, zero, zero}, k0, k1, w);
}

Tile rand(const Scalar &seed, const Tile &offsets, SrcLoc w) {
  Tile bits = randint4x(seed, offsets, w)[0];
  // The top 24 bits (as an unsigned word) scaled by 2^-24: exact in f32, < 1.
  Tile top = tileOp(Bin::And, tileOp(Bin::Shr, bits, Num(8), w), Num(0xffffff), w);
  return tileOp(Bin::Mul, top.to(f32, w), Num(1.0 / 16777216.0), w);
}

Tile erf(const Tile &t, SrcLoc w) {
  requireTile(t, w, "erf");
  if (!isa<FloatType>(getElementTypeOrSelf(t.value().getType())))
    throw DslError(w, "erf", "needs floating-point elements, got " + t.typeName());
  // Abramowitz & Stegun 7.1.26 on |x| (absolute error <= 1.5e-7), the sign
  // restored: erf(x) = 1 - (a1 u + ... + a5 u^5) e^(-x^2), u = 1 / (1 + p|x|).
  Tile ax = abs(t, w);
  Tile u = tileOp(Bin::Div, Num(1.0),
                  tileOp(Bin::Add, tileOp(Bin::Mul, ax, Num(0.3275911), w), Num(1.0), w), w);
  Tile poly = tileOp(Bin::Mul, u, Num(1.061405429), w);
  for (double a : {-1.453152027, 1.421413741, -0.284496736, 0.254829592})
    poly = tileOp(Bin::Mul, tileOp(Bin::Add, poly, Num(a), w), u, w);
  Tile e = exp(tileOp(Bin::Sub, Num(0), tileOp(Bin::Mul, ax, ax, w), w), w);
  Tile y = tileOp(Bin::Sub, Num(1.0), tileOp(Bin::Mul, poly, e, w), w);
  return where(tileOp(Bin::Lt, t, Num(0.0), w), tileOp(Bin::Sub, Num(0), y, w), y, w);
}

Tile sigmoid(const Tile &t, SrcLoc w) {
  requireTile(t, w, "sigmoid");
  // 1 / (1 + e^-x): exp's ex2.approx keeps ~2 ulp on the GPU (tanh.approx,
  // the other formula, has an absolute error near 5e-4).
  Tile e(unaryMathValue<math::ExpOp>(tileOp(Bin::Sub, Num(0), t, w), w, "sigmoid"));
  return tileOp(Bin::Div, Num(1), tileOp(Bin::Add, e, Num(1), w), w);
}

Tile fma(const Tile &a, const Tile &b, const Tile &c, SrcLoc where) {
  Kernel::Impl &k = current(where, "fma");
  for (const Tile *t : {&a, &b, &c})
    requireTile(*t, where, "fma");
  if (a.shape() != b.shape() || a.shape() != c.shape())
    throw DslError(where, "fma", "shape mismatch: " + shapeStr(a.shape()) + ", " +
                                     shapeStr(b.shape()) + ", " + shapeStr(c.shape()));
  Type e = getElementTypeOrSelf(a.value().getType());
  if (!isa<FloatType>(e) || getElementTypeOrSelf(b.value().getType()) != e ||
      getElementTypeOrSelf(c.value().getType()) != e)
    throw DslError(where, "fma", "needs three floating-point tiles of one dtype");
  return Tile(math::FmaOp::create(k.b, mloc(k, where), a.value(), b.value(), c.value()));
}

// --- control flow --------------------------------------------------------------------

static Value intValue(Kernel::Impl &k, const IntArg &a, const SrcLoc &where, const char *op) {
  if (!a.isScalar && (a.n < INT32_MIN || a.n > INT32_MAX))
    throw DslError(where, op, "bound " + std::to_string(a.n) + " does not fit in i32");
  if (!a.isScalar)
    return constant(k, mloc(k, where), k.b.getI32Type(), double(a.n), {});
  if (!a.s.value() || !a.s.value().getType().isInteger(32))
    throw DslError(where, op, "loop bounds must be i32 scalars or C++ integers");
  return a.s.value();
}

/// Values of the carried variables, checked to be initialized.
static SmallVector<Value> carriedValues(std::initializer_list<Var> carried, const SrcLoc &where,
                                        const char *op) {
  SmallVector<Value> out;
  for (const Var &c : carried) {
    if (!c.h->value())
      throw DslError(where, op, "carried variable #" + std::to_string(out.size() + 1) +
                                    " is uninitialized");
    out.push_back(c.h->value());
  }
  return out;
}

/// The carried variables' values at the end of a body, checked against their
/// types at entry.
static SmallVector<Value> yieldedValues(std::initializer_list<Var> carried, ArrayRef<Value> entry,
                                        const SrcLoc &where, const char *op) {
  SmallVector<Value> out;
  size_t i = 0;
  for (const Var &c : carried) {
    Value v = c.h->value();
    Type was = entry[i].getType();
    if (!v || v.getType() != was) {
      std::string now = v ? (typeStr(getElementTypeOrSelf(v.getType())) + " " +
                             shapeStr(tile::getShapeOrEmpty(v.getType())))
                          : "nothing";
      throw DslError(where, op, "carried " + std::string(c.what) + " #" + std::to_string(i + 1) +
                                    " changed type in the body: it was " +
                                    typeStr(getElementTypeOrSelf(was)) + " " +
                                    shapeStr(tile::getShapeOrEmpty(was)) + ", it became " + now);
    }
    out.push_back(v);
    ++i;
  }
  return out;
}

static void rebind(std::initializer_list<Var> carried, ValueRange values) {
  size_t i = 0;
  for (const Var &c : carried)
    *c.h = Handle(values[i++]);
}

void forRange(IntArg lo, IntArg hi, IntArg step, std::initializer_list<Var> carried,
              const std::function<void(Scalar)> &body, SrcLoc where) {
  Kernel::Impl &k = current(where, "forRange");
  Location loc = mloc(k, where);
  Value l = intValue(k, lo, where, "forRange"), h = intValue(k, hi, where, "forRange");
  Value s = intValue(k, step, where, "forRange");
  if (!step.isScalar && step.n <= 0)
    throw DslError(where, "forRange", "step must be positive");
  SmallVector<Value> init = carriedValues(carried, where, "forRange");
  auto loop = scf::ForOp::create(k.b, loc, l, h, s, init);
  Block *blockBody = loop.getBody();
  {
    OpBuilder::InsertionGuard guard(k.b);
    k.b.setInsertionPointToStart(blockBody);
    rebind(carried, loop.getRegionIterArgs());
    body(Scalar(loop.getInductionVar()));
    SmallVector<Value> next = yieldedValues(carried, init, where, "forRange");
    if (!next.empty()) {
      k.b.setInsertionPointToEnd(blockBody);
      scf::YieldOp::create(k.b, loc, next);
    }
  }
  rebind(carried, loop.getResults());
}

static void ifImpl(const Scalar &cond, std::initializer_list<Var> carried,
                   const std::function<void()> &then, const std::function<void()> *otherwise,
                   const SrcLoc &where, const char *op) {
  Kernel::Impl &k = current(where, op);
  Location loc = mloc(k, where);
  if (!cond.value() || !cond.value().getType().isInteger(1))
    throw DslError(where, op, "condition must be a boolean Scalar (a comparison)");
  SmallVector<Value> init = carriedValues(carried, where, op);
  SmallVector<Type> types;
  for (Value v : init)
    types.push_back(v.getType());
  bool needElse = otherwise || !init.empty();
  auto ifOp = scf::IfOp::create(k.b, loc, types, cond.value(), /*addThenBlock=*/true, needElse);
  auto fill = [&](Block *block, const std::function<void()> *fn) {
    OpBuilder::InsertionGuard guard(k.b);
    rebind(carried, init);
    if (block->mightHaveTerminator())
      k.b.setInsertionPoint(block->getTerminator());
    else
      k.b.setInsertionPointToEnd(block);
    if (fn)
      (*fn)();
    SmallVector<Value> next = yieldedValues(carried, init, where, op);
    if (!block->mightHaveTerminator())
      scf::YieldOp::create(k.b, loc, next);
  };
  fill(ifOp.thenBlock(), &then);
  if (needElse)
    fill(ifOp.elseBlock(), otherwise);
  rebind(carried, ifOp.getResults());
}

void ifThen(const Scalar &cond, std::initializer_list<Var> carried,
            const std::function<void()> &then, SrcLoc where) {
  ifImpl(cond, carried, then, nullptr, where, "ifThen");
}

void ifThenElse(const Scalar &cond, std::initializer_list<Var> carried,
                const std::function<void()> &then, const std::function<void()> &otherwise,
                SrcLoc where) {
  ifImpl(cond, carried, then, &otherwise, where, "ifThenElse");
}

// --- parameters -------------------------------------------------------------------------

int64_t Params::i(const std::string &key) const {
  auto it = kv.find(key);
  if (it == kv.end())
    throw Error("missing compile-time parameter '" + key + "'");
  try {
    size_t used = 0;
    int64_t v = std::stoll(it->second, &used);
    if (used == it->second.size())
      return v;
  } catch (const std::exception &) {
  }
  throw Error("compile-time parameter '" + key + "' must be an integer, got '" + it->second + "'");
}

const std::string &Params::s(const std::string &key) const {
  auto it = kv.find(key);
  if (it == kv.end())
    throw Error("missing compile-time parameter '" + key + "'");
  return it->second;
}

DType Params::dtype(const std::string &key) const {
  auto it = kv.find(key);
  if (it == kv.end())
    throw Error("missing compile-time parameter '" + key + "'");
  return parseDType(it->second);
}

Params Params::over(const Params &defaults) const {
  Params out = defaults;
  for (auto &[key, v] : kv)
    out.kv[key] = v;
  return out;
}

Params Params::parse(const std::string &text) {
  Params p;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error("malformed parameter '" + item + "' (expected KEY=VALUE)");
    p.set(item.substr(0, eq), item.substr(eq + 1));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return p;
}

std::string Params::str() const {
  std::string s;
  for (auto &[key, v] : kv)
    s += (s.empty() ? "" : ",") + key + "=" + v;
  return s;
}

// --- kernels ------------------------------------------------------------------------------

Value Kernel::addArg(const std::string &name, Type t, SrcLoc where) {
  if (gCurrent != impl)
    throw DslError(where, "argument", "kernel arguments are declared while tracing");
  for (auto &a : impl->argInfo)
    if (a.name == name)
      throw DslError(where, "argument", "kernel argument '" + name + "' declared twice");
  Block &entry = impl->func.getBody().front();
  impl->argInfo.push_back({name});
  return entry.addArgument(t, mloc(*impl, where));
}

Ptr Kernel::ptr(const std::string &name, DType pointee, unsigned alignment, SrcLoc where) {
  if (pointee == DType::i1)
    throw DslError(where, "ptr", "pointers to i1 are not supported; use i8-sized data as i32");
  if (alignment == 0 || !llvm::isPowerOf2_32(alignment) || alignment > kMaxPromise)
    throw DslError(where, "ptr", "alignment must be a power of two up to " +
                                     std::to_string(kMaxPromise) + ", got " +
                                     std::to_string(alignment));
  Value v = addArg(name, tile::PtrType::get(impl->ctx, toMlir(impl->ctx, pointee)), where);
  impl->argInfo.back().alignment = alignment;
  return Ptr(v);
}
static Scalar intArg(Kernel::Impl *impl, Value v, unsigned multipleOf, const SrcLoc &where) {
  if (multipleOf == 0 || !llvm::isPowerOf2_32(multipleOf) || multipleOf > kMaxPromise)
    throw DslError(where, "argument", "multipleOf must be a power of two up to " +
                                          std::to_string(kMaxPromise) + ", got " +
                                          std::to_string(multipleOf));
  impl->argInfo.back().divisibility = multipleOf;
  return Scalar(v);
}
Scalar Kernel::i32(const std::string &name, unsigned multipleOf, SrcLoc w) {
  return intArg(impl, addArg(name, IntegerType::get(impl->ctx, 32), w), multipleOf, w);
}
Scalar Kernel::i64(const std::string &name, unsigned multipleOf, SrcLoc w) {
  return intArg(impl, addArg(name, IntegerType::get(impl->ctx, 64), w), multipleOf, w);
}
Scalar Kernel::unitI32(const std::string &name, SrcLoc w) {
  addArg(name, IntegerType::get(impl->ctx, 32), w);
  impl->argInfo.back().unit = true;
  // The body sees the constant, so address arithmetic over it is known
  // contiguous; the launcher refuses any other value.
  return Scalar(arith::ConstantOp::create(impl->b, mloc(*impl, w),
                                          impl->b.getI32IntegerAttr(1)));
}
Scalar Kernel::f32(const std::string &name, SrcLoc w) { return Scalar(addArg(name, Float32Type::get(impl->ctx), w)); }

void loadDialects(MLIRContext &ctx) {
  ctx.loadDialect<tile::TileDialect, arith::ArithDialect, math::MathDialect, scf::SCFDialect,
                  func::FuncDialect>();
}

namespace {
/// Makes `impl` the kernel being traced on this thread, for one trace.
struct CurrentKernel {
  Kernel::Impl *prev;
  const char *prevOp = gSiteOp;
  explicit CurrentKernel(Kernel::Impl *impl) : prev(gCurrent) {
    gCurrent = impl;
    gSiteOp = nullptr;
  }
  ~CurrentKernel() {
    gCurrent = prev;
    gSiteOp = prevOp;
  }
};
} // namespace

OwningOpRef<ModuleOp> trace(MLIRContext &ctx, const std::string &name, unsigned numWarps,
                            const std::function<void(Kernel &)> &body) {
  if (numWarps == 0 || numWarps > 32 || !llvm::isPowerOf2_32(numWarps))
    throw Error("kernel '" + name + "': num_warps must be a power of two in [1, 32], got " +
                std::to_string(numWarps));
  loadDialects(ctx);
  Kernel::Impl impl(&ctx);
  Location loc = NameLoc::get(StringAttr::get(&ctx, name));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  impl.module = *module;
  impl.b.setInsertionPointToEnd(module->getBody());
  impl.func = func::FuncOp::create(impl.b, loc, name, FunctionType::get(&ctx, {}, {}));
  impl.func->setAttr(tile::TileDialect::getKernelAttrName(), impl.b.getUnitAttr());
  impl.func->setAttr(tile::TileDialect::getNumWarpsAttrName(),
                     impl.b.getI32IntegerAttr(int32_t(numWarps)));
  Block *entry = impl.func.addEntryBlock();
  impl.b.setInsertionPointToStart(entry);
  {
    CurrentKernel guard(&impl);
    Kernel k(&impl);
    body(k);
  }
  func::ReturnOp::create(impl.b, loc);
  impl.func.setType(FunctionType::get(&ctx, entry->getArgumentTypes(), {}));
  for (auto [i, info] : llvm::enumerate(impl.argInfo)) {
    impl.func.setArgAttr(i, "tile.name", impl.b.getStringAttr(info.name));
    if (info.alignment)
      impl.func.setArgAttr(i, tile::TileDialect::getAlignmentAttrName(),
                           impl.b.getI32IntegerAttr(int32_t(info.alignment)));
    if (info.divisibility > 1)
      impl.func.setArgAttr(i, tile::TileDialect::getDivisibilityAttrName(),
                           impl.b.getI32IntegerAttr(int32_t(info.divisibility)));
    if (info.unit)
      impl.func.setArgAttr(i, tile::TileDialect::getUnitAttrName(), impl.b.getUnitAttr());
  }

  // The DSL's checks should make this unreachable; if a verifier still
  // objects, report it at the user's line rather than hand on bad IR.
  std::string diag;
  {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
      diag += tile::formatFileLine(d.getLocation()) + d.str() + "\n";
      return success();
    });
    if (failed(verify(*module)))
      throw Error(diag.empty() ? "kernel '" + name + "' is invalid" : diag);
  }
  return module;
}

} // namespace tessera::dsl
