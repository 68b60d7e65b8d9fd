//===- Interpreter.cpp - run `tile` kernels on the CPU --------------------===//
//
// A direct evaluator of traced tile IR: every value is a dense array of
// doubles (floats), int64s (integers, booleans) or pointers (argument index
// and byte offset).  Results are rounded to their element type after every
// operation, so f16/bf16 arithmetic and i32 wrap-around behave as on the GPU.
// Transcendentals use the C library in double, rounded to f32: closer to the
// true value than the GPU's ex2.approx/lg2.approx (2 ulp), which tests must
// allow for.
//
//===----------------------------------------------------------------------===//
#include "tessera/Interpreter/Interpreter.h"

#include "tessera/Dialect/Tile/IR/TileDialect.h"
#include "tessera/Support/Half.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/TypeSwitch.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <sstream>

using namespace mlir;
using namespace tessera::tile;

namespace tessera::interp {
namespace {

struct PtrV {
  int arg = -1;        ///< index of the kernel argument it points into
  int64_t offset = 0;  ///< bytes from the start of that buffer
};

/// A scalar or a tile: `shape` empty for scalars.
struct Val {
  Type elt;
  std::vector<int64_t> shape;
  std::vector<double> f;
  std::vector<int64_t> i;
  std::vector<PtrV> p;
  size_t size() const { return std::max({f.size(), i.size(), p.size()}); }
};

bool isFloat(Type t) { return isa<FloatType>(t); }
bool isPtr(Type t) { return isa<PtrType>(t); }

/// Rounds `x` to the precision of float type `t` (round to nearest even).
double roundTo(Type t, double x) {
  if (t.isF64())
    return x;
  if (isFP8(t)) {
    // Nearest even, saturating (cvt .satfinite): what overflows becomes the
    // largest finite value of x's sign; NaN stays NaN.
    if (std::isnan(x))
      return x;
    APFloat f(x);
    bool lost = false;
    f.convert(cast<FloatType>(t).getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    if (f.isInfinity() || f.isNaN())
      return std::copysign(fp8MaxFinite(t), x);
    f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
    return f.convertToDouble();
  }
  float f = float(x);
  if (t.isF16())
    return fromHalf(toHalf(f));
  if (t.isBF16())
    return fromBF16(toBF16(f));
  return f;
}

/// Wraps `x` to the width of integer type `t` (two's complement).
int64_t wrapTo(Type t, int64_t x) {
  unsigned bits = t.getIntOrFloatBitWidth();
  if (bits >= 64)
    return x;
  if (bits == 1)
    return x & 1;
  uint64_t mask = (uint64_t(1) << bits) - 1;
  uint64_t u = uint64_t(x) & mask;
  if (u >> (bits - 1))
    u |= ~mask;
  return int64_t(u);
}

std::string where(Operation *op) { return formatFileLine(op->getLoc()); }

std::string opName(Operation *op) {
  std::string n = op->getName().getStringRef().str();
  size_t dot = n.find('.');
  return dot == std::string::npos ? n : n.substr(dot + 1);
}

class Machine {
public:
  Machine(func::FuncOp fn, Grid grid, const std::vector<Arg> &args, Options opts)
      : fn(fn), grid(grid), args(args), opts(opts) {}

  void runAll() {
    checkArgs();
    for (unsigned z = 0; z < grid.z; ++z)
      for (unsigned y = 0; y < grid.y; ++y)
        for (unsigned x = 0; x < grid.x; ++x) {
          pid[0] = x, pid[1] = y, pid[2] = z;
          vals.clear();
          for (auto [i, a] : llvm::enumerate(fn.getArguments()))
            vals[a] = argValue(i);
          runBlock(fn.getBody().front());
        }
  }

private:
  // --- arguments ------------------------------------------------------------------
  std::string argName(unsigned i) {
    if (auto n = fn.getArgAttrOfType<StringAttr>(i, "tile.name"))
      return n.str();
    return "#" + std::to_string(i);
  }

  void checkArgs() {
    if (args.size() != fn.getNumArguments())
      throw InterpError(fn.getName().str() + ": expected " +
                        std::to_string(fn.getNumArguments()) + " arguments, got " +
                        std::to_string(args.size()));
    for (auto [i, t] : llvm::enumerate(fn.getArgumentTypes())) {
      const Arg &a = args[i];
      std::string name = fn.getName().str() + ": argument '" + argName(i) + "'";
      auto kind = [&](const char *k) { throw InterpError(name + " needs " + std::string(k)); };
      if (auto ptr = dyn_cast<PtrType>(t)) {
        auto *b = std::get_if<Buffer>(&a);
        if (!b)
          kind("a Buffer");
        std::string elt = typeName(ptr.getPointeeType());
        if (!b->dtype.empty() && b->dtype != elt)
          throw InterpError(name + " points to " + elt + " but a buffer of " + b->dtype +
                            " was passed");
        if (!b->data && b->bytes > 0)
          throw InterpError(name + " is a null Buffer of " + std::to_string(b->bytes) +
                            " bytes");
      } else if (t.isInteger(32) && !std::holds_alternative<int32_t>(a)) {
        kind("an int32_t");
      } else if (t.isInteger(64) && !std::holds_alternative<int64_t>(a)) {
        kind("an int64_t");
      } else if (t.isF32() && !std::holds_alternative<float>(a)) {
        kind("a float");
      }
    }
  }

  Val argValue(unsigned i) {
    Val v;
    v.elt = fn.getArgumentTypes()[i];
    const Arg &a = args[i];
    if (isPtr(v.elt))
      v.p = {PtrV{int(i), 0}};
    else if (auto *x = std::get_if<int32_t>(&a))
      v.i = {*x};
    else if (auto *x = std::get_if<int64_t>(&a))
      v.i = {*x};
    else if (auto *x = std::get_if<float>(&a))
      v.f = {*x};
    return v;
  }

  // --- evaluation -----------------------------------------------------------------
  void runBlock(Block &block) {
    for (Operation &op : block) {
      if (isa<func::ReturnOp, scf::YieldOp>(op))
        return;
      exec(&op);
    }
  }

  /// The values `block`'s terminator yields, after running the block.
  std::vector<Val> runRegion(Block &block) {
    runBlock(block);
    std::vector<Val> out;
    for (Value v : block.getTerminator()->getOperands())
      out.push_back(vals[v]);
    return out;
  }

  Val &in(Operation *op, unsigned k) { return vals[op->getOperand(k)]; }

  Val like(Type type) {
    Val v;
    v.elt = getElementTypeOrSelf(type);
    auto s = getShapeOrEmpty(type);
    v.shape.assign(s.begin(), s.end());
    return v;
  }
  static int64_t numel(const std::vector<int64_t> &shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }

  [[noreturn]] void fail(Operation *op, const std::string &msg) {
    throw InterpError(where(op) + opName(op) + ": program (" + std::to_string(pid[0]) + ", " +
                      std::to_string(pid[1]) + ", " + std::to_string(pid[2]) + ") " + msg);
  }

  /// Byte size of an element of type `t` in memory.
  static unsigned bytesOf(Type t) { return getElementByteSize(t); }

  /// Checks that `ptr` addresses a whole, aligned element of type `t` inside
  /// its buffer; returns the host address.
  char *address(Operation *op, const PtrV &ptr, Type t, size_t index, const char *verb) {
    unsigned size = bytesOf(t);
    if (ptr.arg < 0 || size_t(ptr.arg) >= args.size() || !std::holds_alternative<Buffer>(args[ptr.arg]))
      fail(op, std::string(verb) + " through a pointer that is not a kernel buffer");
    const Buffer &b = std::get<Buffer>(args[ptr.arg]);
    int64_t elems = int64_t(b.bytes / size);
    std::ostringstream ctx;
    ctx << " (tile element " << index << ")";
    if (ptr.offset % size != 0)
      fail(op, std::string(verb) + " argument '" + argName(ptr.arg) + "' at byte offset " +
                   std::to_string(ptr.offset) + ", not a multiple of the element size " +
                   std::to_string(size) + ctx.str());
    int64_t e = ptr.offset / int64_t(size);
    if (ptr.offset < 0 || e >= elems)
      fail(op, std::string(verb) + " element " + std::to_string(e) + " of argument '" +
                   argName(ptr.arg) + "', which has " + std::to_string(elems) +
                   " elements: out of bounds" + ctx.str());
    return static_cast<char *>(b.data) + ptr.offset;
  }

  double readFloat(char *a, Type t) {
    if (isFP8(t)) {
      APFloat f(cast<FloatType>(t).getFloatSemantics(), APInt(8, uint8_t(*a)));
      bool lost = false;
      f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      return f.convertToDouble();
    }
    if (t.isF32()) {
      float f;
      std::memcpy(&f, a, 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, a, 2);
    return t.isF16() ? fromHalf(h) : fromBF16(h);
  }
  void writeFloat(char *a, Type t, double x) {
    if (isFP8(t)) {
      // x is already an FP8 value (or NaN): the conversion is exact.
      APFloat f(roundTo(t, x));
      bool lost = false;
      f.convert(cast<FloatType>(t).getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      *a = char(f.bitcastToAPInt().getZExtValue());
      return;
    }
    if (t.isF32()) {
      float f = float(x);
      std::memcpy(a, &f, 4);
      return;
    }
    uint16_t h = t.isF16() ? toHalf(float(x)) : toBF16(float(x));
    std::memcpy(a, &h, 2);
  }
  int64_t readInt(char *a, Type t) {
    unsigned size = bytesOf(t);
    int64_t v = 0;
    std::memcpy(&v, a, size); // little-endian
    return wrapTo(t, v);
  }
  void writeInt(char *a, Type t, int64_t x) { std::memcpy(a, &x, bytesOf(t)); }

  void checkFinite(Operation *op, const Val &v) {
    if (!opts.checkNonFinite || !isFloat(v.elt))
      return;
    for (Value o : op->getOperands()) {
      const Val &x = vals[o];
      for (double d : x.f)
        if (!std::isfinite(d))
          return; // not the first producer
    }
    for (size_t k = 0; k < v.f.size(); ++k)
      if (!std::isfinite(v.f[k]))
        fail(op, "produced " + std::string(std::isnan(v.f[k]) ? "NaN" : "an infinity") +
                     " at element " + std::to_string(k) + " from finite inputs");
  }

  void exec(Operation *op);
  void execElementwise(Operation *op);
  void execLoad(LoadOp op);
  void execStore(StoreOp op);
  void execAtomicRMW(AtomicRMWOp op);
  void execReduce(ReduceOp op);
  void execScan(ScanOp op);
  void execDot(DotOp op);

  func::FuncOp fn;
  Grid grid;
  const std::vector<Arg> &args;
  Options opts;
  unsigned pid[3] = {0, 0, 0};
  DenseMap<Value, Val> vals;
};

void Machine::exec(Operation *op) {
  TypeSwitch<Operation *>(op)
      .Case<ProgramIdOp>([&](ProgramIdOp o) {
        Val v = like(o.getType());
        v.i = {int64_t(pid[o.getAxis()])};
        vals[o.getResult()] = v;
      })
      .Case<NumProgramsOp>([&](NumProgramsOp o) {
        Val v = like(o.getType());
        unsigned n[3] = {grid.x, grid.y, grid.z};
        v.i = {int64_t(n[o.getAxis()])};
        vals[o.getResult()] = v;
      })
      .Case<ArangeOp>([&](ArangeOp o) {
        Val v = like(o.getType());
        int64_t start = int32_t(o.getStart());
        for (int64_t k = 0; k < numel(v.shape); ++k)
          v.i.push_back(start + k);
        vals[o.getResult()] = v;
      })
      .Case<SplatOp>([&](SplatOp o) {
        Val v = like(o.getType());
        Val &s = in(op, 0);
        size_t n = size_t(numel(v.shape));
        if (!s.f.empty())
          v.f.assign(n, s.f[0]);
        if (!s.i.empty())
          v.i.assign(n, s.i[0]);
        if (!s.p.empty())
          v.p.assign(n, s.p[0]);
        vals[o.getResult()] = v;
      })
      .Case<ExpandDimsOp, ReshapeOp, ConvertLayoutOp>([&](Operation *) {
        Val v = in(op, 0);
        auto s = getShapeOrEmpty(op->getResult(0).getType());
        v.shape.assign(s.begin(), s.end());
        vals[op->getResult(0)] = v;
      })
      .Case<BroadcastOp, TransOp>([&](Operation *) {
        Val &src = in(op, 0);
        Val v = like(op->getResult(0).getType());
        int64_t n = numel(v.shape);
        size_t rank = v.shape.size();
        std::vector<int64_t> srcStride(rank, 1);
        for (int d = int(rank) - 2; d >= 0; --d)
          srcStride[d] = srcStride[d + 1] * src.shape[d + 1];
        auto trans = dyn_cast<TransOp>(op);
        std::vector<int64_t> idx(rank);
        auto srcIndex = [&]() {
          int64_t lin = 0;
          for (size_t d = 0; d < rank; ++d) {
            if (trans)
              lin += idx[d] * srcStride[trans.getOrder()[d]];
            else if (src.shape[d] != 1)
              lin += idx[d] * srcStride[d];
          }
          return lin;
        };
        for (int64_t k = 0; k < n; ++k) {
          int64_t rem = k;
          for (int d = int(rank) - 1; d >= 0; --d) {
            idx[d] = rem % v.shape[d];
            rem /= v.shape[d];
          }
          int64_t s = srcIndex();
          if (!src.f.empty())
            v.f.push_back(src.f[s]);
          if (!src.i.empty())
            v.i.push_back(src.i[s]);
          if (!src.p.empty())
            v.p.push_back(src.p[s]);
        }
        vals[op->getResult(0)] = v;
      })
      .Case<AddPtrOp>([&](AddPtrOp o) {
        Val v = in(op, 0);
        Val &off = in(op, 1);
        unsigned size = bytesOf(cast<PtrType>(getElementTypeOrSelf(o.getType())).getPointeeType());
        for (size_t k = 0; k < v.p.size(); ++k)
          v.p[k].offset += off.i[k] * int64_t(size);
        vals[o.getResult()] = v;
      })
      .Case<LoadOp>([&](LoadOp o) { execLoad(o); })
      .Case<StoreOp>([&](StoreOp o) { execStore(o); })
      .Case<AtomicRMWOp>([&](AtomicRMWOp o) { execAtomicRMW(o); })
      .Case<ReduceOp>([&](ReduceOp o) { execReduce(o); })
      .Case<ScanOp>([&](ScanOp o) { execScan(o); })
      .Case<DotOp>([&](DotOp o) { execDot(o); })
      .Case<scf::ForOp>([&](scf::ForOp o) {
        int64_t lb = in(op, 0).i[0], ub = in(op, 1).i[0], step = in(op, 2).i[0];
        std::vector<Val> carried;
        for (Value init : o.getInitArgs())
          carried.push_back(vals[init]);
        Type ivType = o.getInductionVar().getType();
        for (int64_t iv = lb; iv < ub; iv += step) {
          Val ivv;
          ivv.elt = ivType;
          ivv.i = {iv};
          vals[o.getInductionVar()] = ivv;
          for (auto [arg, c] : llvm::zip(o.getRegionIterArgs(), carried))
            vals[arg] = c;
          carried = runRegion(*o.getBody());
        }
        for (auto [res, c] : llvm::zip(o.getResults(), carried))
          vals[res] = c;
      })
      .Case<scf::IfOp>([&](scf::IfOp o) {
        bool cond = in(op, 0).i[0] != 0;
        if (!cond && o.getElseRegion().empty())
          return;
        Block &b = cond ? o.getThenRegion().front() : o.getElseRegion().front();
        std::vector<Val> out = runRegion(b);
        for (auto [res, v] : llvm::zip(o.getResults(), out))
          vals[res] = v;
      })
      .Case<arith::ConstantOp>([&](arith::ConstantOp o) {
        Val v = like(o.getType());
        Attribute a = o.getValue();
        size_t n = size_t(numel(v.shape));
        if (auto d = dyn_cast<DenseElementsAttr>(a)) {
          if (!d.isSplat())
            fail(op, "non-splat tile constants are not supported");
          a = d.getSplatValue<Attribute>();
        }
        if (auto f = dyn_cast<FloatAttr>(a))
          v.f.assign(n, f.getValueAsDouble());
        else if (auto i = dyn_cast<IntegerAttr>(a))
          v.i.assign(n, v.elt.isInteger(1) ? (i.getValue().getBoolValue() ? 1 : 0)
                                            : i.getValue().getSExtValue());
        else
          fail(op, "unsupported constant");
        vals[o.getResult()] = v;
      })
      .Default([&](Operation *) {
        if (isa<arith::ArithDialect, math::MathDialect>(op->getDialect()))
          return execElementwise(op);
        fail(op, "is not supported by the interpreter");
      });
}

void Machine::execElementwise(Operation *op) {
  Val out = like(op->getResult(0).getType());
  size_t n = size_t(numel(out.shape));
  StringRef name = op->getName().getStringRef();
  auto F = [&](unsigned k, size_t e) {
    const Val &v = in(op, k);
    return v.f.size() == 1 ? v.f[0] : v.f[e];
  };
  auto I = [&](unsigned k, size_t e) {
    const Val &v = in(op, k);
    return v.i.size() == 1 ? v.i[0] : v.i[e];
  };
  Type inElt = getElementTypeOrSelf(op->getOperand(0).getType());
  bool resF = isFloat(out.elt);

  if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
    using P = arith::CmpFPredicate;
    for (size_t e = 0; e < n; ++e) {
      double a = F(0, e), b = F(1, e);
      bool un = std::isnan(a) || std::isnan(b), r = false;
      switch (cmp.getPredicate()) {
      case P::OLT: r = !un && a < b; break;
      case P::OLE: r = !un && a <= b; break;
      case P::OGT: r = !un && a > b; break;
      case P::OGE: r = !un && a >= b; break;
      case P::OEQ: r = !un && a == b; break;
      case P::ONE: r = !un && a != b; break;
      case P::UNE: r = un || a != b; break;
      case P::ULT: r = un || a < b; break;
      case P::UGT: r = un || a > b; break;
      case P::UEQ: r = un || a == b; break;
      case P::UGE: r = un || a >= b; break;
      case P::ULE: r = un || a <= b; break;
      case P::ORD: r = !un; break;
      case P::UNO: r = un; break;
      case P::AlwaysTrue: r = true; break;
      case P::AlwaysFalse: r = false; break;
      }
      out.i.push_back(r);
    }
  } else if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    using P = arith::CmpIPredicate;
    unsigned bits = inElt.getIntOrFloatBitWidth();
    auto u = [&](int64_t x) {
      return bits >= 64 ? uint64_t(x) : uint64_t(x) & ((uint64_t(1) << bits) - 1);
    };
    for (size_t e = 0; e < n; ++e) {
      int64_t a = I(0, e), b = I(1, e);
      bool r = false;
      switch (cmp.getPredicate()) {
      case P::eq: r = a == b; break;
      case P::ne: r = a != b; break;
      case P::slt: r = a < b; break;
      case P::sle: r = a <= b; break;
      case P::sgt: r = a > b; break;
      case P::sge: r = a >= b; break;
      case P::ult: r = u(a) < u(b); break;
      case P::ule: r = u(a) <= u(b); break;
      case P::ugt: r = u(a) > u(b); break;
      case P::uge: r = u(a) >= u(b); break;
      }
      out.i.push_back(r);
    }
  } else if (isa<arith::SelectOp>(op)) {
    const Val &t = in(op, 1);
    for (size_t e = 0; e < n; ++e) {
      bool c = I(0, e) != 0;
      if (!t.p.empty()) {
        const Val &x = in(op, c ? 1 : 2);
        out.p.push_back(x.p.size() == 1 ? x.p[0] : x.p[e]);
      } else if (resF) {
        out.f.push_back(F(c ? 1 : 2, e));
      } else {
        out.i.push_back(I(c ? 1 : 2, e));
      }
    }
  } else if (resF) {
    bool fromInt = !isFloat(inElt);
    for (size_t e = 0; e < n; ++e) {
      double a = fromInt ? 0 : F(0, e);
      double r;
      if (name == "arith.addf") r = a + F(1, e);
      else if (name == "arith.subf") r = a - F(1, e);
      else if (name == "arith.mulf") r = a * F(1, e);
      else if (name == "arith.divf") r = a / F(1, e);
      else if (name == "arith.negf") r = -a;
      else if (name == "arith.maximumf") {
        double b = F(1, e);
        r = std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
      } else if (name == "arith.minimumf") {
        double b = F(1, e);
        r = std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
      } else if (name == "arith.maxnumf") r = std::fmax(a, F(1, e));
      else if (name == "arith.minnumf") r = std::fmin(a, F(1, e));
      else if (name == "arith.extf" || name == "arith.truncf") r = a;
      else if (name == "arith.sitofp") r = double(I(0, e));
      else if (name == "arith.uitofp") {
        unsigned bits = inElt.getIntOrFloatBitWidth();
        r = double(bits >= 64 ? uint64_t(I(0, e))
                              : uint64_t(I(0, e)) & ((uint64_t(1) << bits) - 1));
      } else if (name == "math.exp2") r = std::exp2(a);
      else if (name == "math.exp") r = std::exp(a);
      else if (name == "math.log2") r = std::log2(a);
      else if (name == "math.log") r = std::log(a);
      else if (name == "math.sqrt") r = std::sqrt(a);
      else if (name == "math.rsqrt") r = 1.0 / std::sqrt(a);
      else if (name == "math.absf") r = std::fabs(a);
      else if (name == "math.sin") r = std::sin(a);
      else if (name == "math.cos") r = std::cos(a);
      else if (name == "math.powf") r = std::pow(a, F(1, e));
      else if (name == "math.tanh") r = std::tanh(a);
      else if (name == "math.floor") r = std::floor(a);
      else if (name == "math.ceil") r = std::ceil(a);
      else if (name == "math.fma") r = roundTo(out.elt, std::fma(a, F(1, e), F(2, e)));
      else
        fail(op, "is not supported by the interpreter");
      // The GPU evaluates math in f32 and rounds f16/bf16 results.
      if (op->getDialect()->getNamespace() == "math" && !out.elt.isF32())
        r = roundTo(Float32Type::get(op->getContext()), r);
      out.f.push_back(roundTo(out.elt, r));
    }
  } else {
    for (size_t e = 0; e < n; ++e) {
      int64_t a = isFloat(inElt) ? 0 : I(0, e);
      int64_t r;
      auto b = [&] { return I(1, e); };
      // In unsigned arithmetic: i64 wraps like the GPU's (signed overflow
      // would be undefined behaviour here).
      if (name == "arith.addi") r = int64_t(uint64_t(a) + uint64_t(b()));
      else if (name == "arith.subi") r = int64_t(uint64_t(a) - uint64_t(b()));
      else if (name == "arith.muli") r = int64_t(uint64_t(a) * uint64_t(b()));
      else if (name == "arith.divsi" || name == "arith.remsi") {
        int64_t d = b();
        if (d == 0)
          fail(op, "divides by zero at element " + std::to_string(e));
        r = name == "arith.divsi" ? a / d : a % d;
      } else if (name == "arith.andi") r = a & b();
      else if (name == "arith.ori") r = a | b();
      else if (name == "arith.xori") r = a ^ b();
      else if (name == "arith.maxsi") r = std::max(a, b());
      else if (name == "arith.minsi") r = std::min(a, b());
      else if (name == "arith.shli") r = int64_t(uint64_t(a) << (b() & 63));
      else if (name == "arith.shrsi") r = a >> (b() & 63);
      else if (name == "arith.extsi" || name == "arith.trunci") r = a;
      else if (name == "arith.extui") {
        unsigned bits = inElt.getIntOrFloatBitWidth();
        r = bits >= 64 ? a : int64_t(uint64_t(a) & ((uint64_t(1) << bits) - 1));
      } else if (name == "arith.fptosi") r = int64_t(std::trunc(F(0, e)));
      else
        fail(op, "is not supported by the interpreter");
      out.i.push_back(wrapTo(out.elt, r));
    }
  }
  checkFinite(op, out);
  vals[op->getResult(0)] = std::move(out);
}

void Machine::execLoad(LoadOp o) {
  Operation *op = o;
  Val out = like(o.getType());
  const Val &ptrs = in(op, 0);
  const Val *mask = o.getMask() ? &vals[o.getMask()] : nullptr;
  const Val *other = o.getOther() ? &vals[o.getOther()] : nullptr;
  Type elt = out.elt;
  for (size_t e = 0; e < ptrs.p.size(); ++e) {
    bool on = !mask || mask->i[e];
    if (isFloat(elt)) {
      out.f.push_back(on ? readFloat(address(op, ptrs.p[e], elt, e, "reads"), elt)
                         : (other ? other->f[e] : 0.0));
    } else if (isPtr(elt)) {
      fail(op, "loading pointers is not supported");
    } else {
      out.i.push_back(on ? readInt(address(op, ptrs.p[e], elt, e, "reads"), elt)
                         : (other ? other->i[e] : 0));
    }
  }
  vals[o.getResult()] = std::move(out);
}

void Machine::execStore(StoreOp o) {
  Operation *op = o;
  const Val &ptrs = in(op, 0), &v = in(op, 1);
  const Val *mask = o.getMask() ? &vals[o.getMask()] : nullptr;
  Type elt = v.elt;
  for (size_t e = 0; e < ptrs.p.size(); ++e) {
    if (mask && !mask->i[e])
      continue;
    char *a = address(op, ptrs.p[e], elt, e, "writes");
    if (isFloat(elt))
      writeFloat(a, elt, v.f[e]);
    else
      writeInt(a, elt, v.i[e]);
  }
}

/// Programs run one after another, so each element's read-modify-write is
/// atomic; elements apply in index order (the GPU's order is unspecified,
/// which only f32 sums can observe).
void Machine::execAtomicRMW(AtomicRMWOp o) {
  Operation *op = o;
  const Val &ptrs = in(op, 0), &v = in(op, 1);
  const Val *mask = o.getMask() ? &vals[o.getMask()] : nullptr;
  const Val *cmp = o.getCompare() ? &vals[o.getCompare()] : nullptr;
  Type elt = v.elt;
  Val out = like(o.getType());
  AtomicKind kind = o.getKind();
  for (size_t e = 0; e < ptrs.p.size(); ++e) {
    if (mask && !mask->i[e]) {
      if (isFloat(elt))
        out.f.push_back(0.0);
      else
        out.i.push_back(0);
      continue;
    }
    char *a = address(op, ptrs.p[e], elt, e, "updates");
    if (isFloat(elt)) {
      double old = readFloat(a, elt), x = v.f[e], next = old + x;
      if (kind == AtomicKind::Exch || kind == AtomicKind::Cas) {
        // cas compares the f32 bit patterns, as atom.cas.b32 does.
        auto bitsOf = [](double d) { return std::bit_cast<uint32_t>(float(d)); };
        next = kind == AtomicKind::Exch || bitsOf(old) == bitsOf(cmp->f[e]) ? x : old;
      } else if (kind != AtomicKind::Add) {
        // The GPU's order: by value, with -0.0 below +0.0 (see the op).
        bool xBelow = x < old || (x == old && std::signbit(x) && !std::signbit(old));
        next = (kind == AtomicKind::Max) == xBelow ? old : x;
      }
      writeFloat(a, elt, next);
      out.f.push_back(old);
    } else {
      int64_t old = readInt(a, elt), x = v.i[e];
      int64_t next = kind == AtomicKind::Add    ? old + x
                     : kind == AtomicKind::Max  ? std::max(old, x)
                     : kind == AtomicKind::Min  ? std::min(old, x)
                     : kind == AtomicKind::Exch ? x
                                                : (old == cmp->i[e] ? x : old);
      writeInt(a, elt, wrapTo(elt, next));
      out.i.push_back(old);
    }
  }
  vals[o.getResult()] = std::move(out);
}

/// One step of a reduction or scan along an axis (NaN propagates through
/// max/min, as arith.maximumf/minimumf; sums round to the element type).
static double combineF(ReduceKind kind, Type elt, double acc, double x) {
  switch (kind) {
  case ReduceKind::Sum: return roundTo(elt, acc + x);
  case ReduceKind::Max: return std::isnan(acc) || std::isnan(x) ? NAN : std::max(acc, x);
  case ReduceKind::Min: return std::isnan(acc) || std::isnan(x) ? NAN : std::min(acc, x);
  }
  return acc;
}
static int64_t combineI(ReduceKind kind, Type elt, int64_t acc, int64_t x) {
  switch (kind) {
  case ReduceKind::Sum: return wrapTo(elt, int64_t(uint64_t(acc) + uint64_t(x)));
  case ReduceKind::Max: return std::max(acc, x);
  case ReduceKind::Min: return std::min(acc, x);
  }
  return acc;
}

/// Calls visit(at) for each line along `axis` of a row-major `shape`, where
/// at(k) is the linear index of the line's element k; returns the length.
template <class F>
static int64_t forEachLine(const std::vector<int64_t> &shape, int64_t axis, F visit) {
  int64_t inner = 1, outer = 1, n = shape[axis];
  for (int64_t d = axis + 1; d < int64_t(shape.size()); ++d)
    inner *= shape[d];
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t b = 0; b < inner; ++b)
      visit([=](int64_t k) { return size_t((a * n + k) * inner + b); });
  return n;
}

void Machine::execReduce(ReduceOp o) {
  Operation *op = o;
  const Val &src = in(op, 0);
  Val out = like(o.getType());
  int64_t n = src.shape[o.getAxis()];
  bool f = isFloat(src.elt);
  forEachLine(src.shape, o.getAxis(), [&](auto at) {
    if (f) {
      double acc = src.f[at(0)];
      for (int64_t k = 1; k < n; ++k)
        acc = combineF(o.getKind(), src.elt, acc, src.f[at(k)]);
      out.f.push_back(acc);
    } else {
      int64_t acc = src.i[at(0)];
      for (int64_t k = 1; k < n; ++k)
        acc = combineI(o.getKind(), src.elt, acc, src.i[at(k)]);
      out.i.push_back(acc);
    }
  });
  checkFinite(op, out);
  vals[o.getResult()] = std::move(out);
}

/// Left to right along the axis, rounding each step to the element type.
void Machine::execScan(ScanOp o) {
  Operation *op = o;
  Val out = in(op, 0);
  int64_t n = out.shape[o.getAxis()];
  bool f = isFloat(out.elt);
  forEachLine(out.shape, o.getAxis(), [&](auto at) {
    for (int64_t k = 1; k < n; ++k) {
      if (f)
        out.f[at(k)] = combineF(o.getKind(), out.elt, out.f[at(k - 1)], out.f[at(k)]);
      else
        out.i[at(k)] = combineI(o.getKind(), out.elt, out.i[at(k - 1)], out.i[at(k)]);
    }
  });
  checkFinite(op, out);
  vals[o.getResult()] = std::move(out);
}

void Machine::execDot(DotOp o) {
  Operation *op = o;
  const Val &a = in(op, 0), &b = in(op, 1), &c = in(op, 2);
  int64_t M = a.shape[0], K = a.shape[1], N = b.shape[1];
  Val out = like(o.getType());
  out.f.resize(size_t(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float acc = float(c.f[m * N + n]);
      for (int64_t k = 0; k < K; ++k)
        acc = std::fma(float(a.f[m * K + k]), float(b.f[k * N + n]), acc);
      out.f[m * N + n] = acc;
    }
  checkFinite(op, out);
  vals[o.getResult()] = std::move(out);
}

} // namespace

void run(ModuleOp module, Grid grid, const std::vector<Arg> &args, Options opts) {
  func::FuncOp kernel;
  for (auto f : module.getOps<func::FuncOp>())
    if (f->hasAttr(TileDialect::getKernelAttrName())) {
      if (kernel)
        throw InterpError("the module holds more than one tile.kernel");
      kernel = f;
    }
  if (!kernel)
    throw InterpError("the module holds no tile.kernel function");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0)
    throw InterpError(kernel.getName().str() + ": empty grid");
  Machine m(kernel, grid, args, opts);
  m.runAll();
}

} // namespace tessera::interp
