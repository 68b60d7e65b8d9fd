//===- DSL.h - Tessera's embedded C++ tile DSL ----------------------------===//
//
// A kernel is an ordinary C++ function over handles: `Ptr` (a pointer kernel
// argument), `Scalar` (a number uniform over the block: an argument, a
// program id, a loop index) and `Tile` (a block-level tensor of numbers,
// booleans or pointers).  Running the function *traces* it into `tile` IR;
// C++ control flow and compile-time parameters specialize the trace, and
// `forRange` / `ifThen` build loops and branches in the IR.
//
//   void vectorAdd(Kernel &k, const Params &p) {
//     Ptr x = k.ptr("x", f32), y = k.ptr("y", f32), out = k.ptr("out", f32);
//     Scalar n = k.i32("n");
//     Tile offs = programId(0) * p.i("BLOCK") + arange(0, p.i("BLOCK"));
//     Tile mask = offs < n;
//     store(out + offs, load(x + offs, mask) + load(y + offs, mask), mask);
//   }
//
// Every entry point records the caller's std::source_location, so a misuse
// is reported as "vector_add.cpp:6: store: ..." through tessera::dsl::DslError.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Support/Error.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/Value.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <source_location>
#include <array>
#include <string>
#include <vector>

namespace tessera::dsl {

using SrcLoc = std::source_location;

/// Element types a kernel can use.
/// f8e4m3 (FP8 E4M3, no infinities, max 448) and f8e5m2 (FP8 E5M2, max
/// 57344) are storage types: load, store, select and convert them (.to);
/// arithmetic needs a wider type.  Converting to FP8 rounds to nearest even
/// and saturates to the largest finite value (PTX's cvt .satfinite); NaN
/// stays NaN.
enum class DType { i1, i8, i32, i64, f16, bf16, f32, f8e4m3, f8e5m2 };
inline constexpr DType i1 = DType::i1, i8 = DType::i8, i32 = DType::i32, i64 = DType::i64,
                       f16 = DType::f16, bf16 = DType::bf16, f32 = DType::f32,
                       f8e4m3 = DType::f8e4m3, f8e5m2 = DType::f8e5m2;
const char *toString(DType t);
/// Parses "f16", "bf16", "f32", "f8e4m3", "i32", ...; throws tessera::Error otherwise.
DType parseDType(const std::string &name);

/// A misuse of the DSL, located at the user's C++ line.
class DslError : public Error {
public:
  DslError(const SrcLoc &where, const std::string &op, const std::string &msg);
  std::string file;
  unsigned line;
};

/// Common part of every handle: the traced MLIR value.
class Handle {
public:
  Handle() = default;
  /// A value of the trace running on this thread; the handle belongs to it.
  explicit Handle(mlir::Value v);
  /// The value; a DslError (at the DSL call using it) if the handle belongs
  /// to another trace: a finished one, or another kernel's.
  mlir::Value value() const;
  /// Shape of a tile (empty for scalars and pointers).
  std::vector<int64_t> shape() const;
  /// Element type ("f16", "ptr<f16>", ...) for messages.
  std::string typeName() const;

protected:
  mlir::Value v;
  uint64_t trace = 0; ///< which trace made it (0: none)
};

/// A number (or boolean) uniform over the program: kernel arguments,
/// program ids, loop indices, results of 1-D reductions.
class Scalar : public Handle {
public:
  using Handle::Handle;
  DType dtype() const;
  Scalar to(DType t, SrcLoc loc = SrcLoc::current()) const;
};

/// A pointer kernel argument (or a pointer advanced by a scalar).
class Ptr : public Handle {
public:
  using Handle::Handle;
  DType pointee() const;
};

/// A block-level tensor of numbers, booleans or pointers.
class Tile : public Handle {
public:
  using Handle::Handle;
  bool isPointer() const;
  /// Element type of a tile of numbers.
  DType dtype() const;
  int64_t dim(unsigned i) const;
  /// Cast the elements (fp32 -> fp16/bf16 rounds to nearest even).
  Tile to(DType t, SrcLoc loc = SrcLoc::current()) const;
  /// `x[:, None]`: a column (appends a unit dimension).
  Tile col(SrcLoc loc = SrcLoc::current()) const;
  /// `x[None, :]`: a row (prepends a unit dimension).
  Tile row(SrcLoc loc = SrcLoc::current()) const;
};

/// A C++ number used in tile arithmetic; it takes the type of the other
/// operand.
struct Num {
  double v;
  bool isInt;
  Num(int x) : v(x), isInt(true) {}
  Num(long x) : v(double(x)), isInt(true) {}
  Num(long long x) : v(double(x)), isInt(true) {}
  Num(double x) : v(x), isInt(false) {}
  Num(float x) : v(x), isInt(false) {}
};

/// An operand of an operator, with the place it was written (the defaulted
/// source_location of an implicit conversion is the expression's own).
template <class T> struct At {
  const T &h;
  SrcLoc loc;
  At(const T &h, SrcLoc loc = SrcLoc::current()) : h(h), loc(loc) {}
};
struct NumAt {
  Num n;
  SrcLoc loc;
  NumAt(int x, SrcLoc loc = SrcLoc::current()) : n(x), loc(loc) {}
  NumAt(long x, SrcLoc loc = SrcLoc::current()) : n(x), loc(loc) {}
  NumAt(long long x, SrcLoc loc = SrcLoc::current()) : n(x), loc(loc) {}
  NumAt(double x, SrcLoc loc = SrcLoc::current()) : n(x), loc(loc) {}
  NumAt(float x, SrcLoc loc = SrcLoc::current()) : n(x), loc(loc) {}
};

/// Something an integer Scalar can be made of: a C++ integer or a Scalar.
struct IntArg {
  IntArg(int x) : n(x) {}
  IntArg(long x) : n(x) {}
  IntArg(long long x) : n(x) {}
  IntArg(const Scalar &s) : s(s), isScalar(true) {}
  int64_t n = 0;
  Scalar s;
  bool isScalar = false;
};

/// Binary operators.  Tiles broadcast NumPy-style (size-1 dimensions, rank
/// extended on the left); a Scalar or Num is splat to the tile's shape.
/// Both operands must have the same element type: casts are explicit.
#define TESSERA_DSL_BINARY(OP)                                                 \
  Tile operator OP(At<Tile> a, const Tile &b);                                 \
  Tile operator OP(At<Tile> a, const Scalar &b);                               \
  Tile operator OP(At<Scalar> a, const Tile &b);                               \
  Tile operator OP(At<Tile> a, Num b);                                         \
  Tile operator OP(NumAt a, const Tile &b);                                    \
  Scalar operator OP(At<Scalar> a, const Scalar &b);                           \
  Scalar operator OP(At<Scalar> a, Num b);                                     \
  Scalar operator OP(NumAt a, const Scalar &b);
TESSERA_DSL_BINARY(+)
TESSERA_DSL_BINARY(-)
TESSERA_DSL_BINARY(*)
TESSERA_DSL_BINARY(/)
TESSERA_DSL_BINARY(%)
TESSERA_DSL_BINARY(<)
TESSERA_DSL_BINARY(<=)
TESSERA_DSL_BINARY(>)
TESSERA_DSL_BINARY(>=)
/// == and != take every handle operand as At<> (an equally ranked
/// conversion): C++20 also tries each the other way round (a rewritten
/// `0 == x` for `x != 0`), and an exact match there would win and be
/// ill-formed, as these return tiles, not bool.  So `t != 0`, `0 == t`,
/// `t == s` all mean the element-wise comparison.
#define TESSERA_DSL_EQUALITY(OP)                                               \
  Tile operator OP(At<Tile> a, At<Tile> b);                                    \
  Tile operator OP(At<Tile> a, At<Scalar> b);                                  \
  Tile operator OP(At<Scalar> a, At<Tile> b);                                  \
  Tile operator OP(At<Tile> a, Num b);                                         \
  Tile operator OP(NumAt a, At<Tile> b);                                       \
  Scalar operator OP(At<Scalar> a, At<Scalar> b);                              \
  Scalar operator OP(At<Scalar> a, Num b);                                     \
  Scalar operator OP(NumAt a, At<Scalar> b);
TESSERA_DSL_EQUALITY(==)
TESSERA_DSL_EQUALITY(!=)
#undef TESSERA_DSL_EQUALITY
TESSERA_DSL_BINARY(&)
TESSERA_DSL_BINARY(|)
/// Integers (and booleans for ^) only.  Shifts by the width or more give 0
/// (<<) or the sign fill (>>, arithmetic), on the GPU as in the interpreter.
TESSERA_DSL_BINARY(^)
TESSERA_DSL_BINARY(<<)
TESSERA_DSL_BINARY(>>)
#undef TESSERA_DSL_BINARY
Tile operator-(At<Tile> a);
Scalar operator-(At<Scalar> a);
Tile operator!(At<Tile> a);

/// Pointer arithmetic, in elements.
Tile operator+(At<Ptr> p, const Tile &offsets);
Ptr operator+(At<Ptr> p, const Scalar &offset);
Ptr operator+(At<Ptr> p, Num offset);

// --- program and index ------------------------------------------------------
Scalar programId(int axis, SrcLoc loc = SrcLoc::current());
Scalar numPrograms(int axis, SrcLoc loc = SrcLoc::current());
/// start, ..., end-1 as a 1-D i32 tile; end - start must be a power of two.
Tile arange(int64_t start, int64_t end, SrcLoc loc = SrcLoc::current());

// --- creation and shape -----------------------------------------------------
Tile full(std::vector<int64_t> shape, Num value, DType t, SrcLoc loc = SrcLoc::current());
Tile zeros(std::vector<int64_t> shape, DType t, SrcLoc loc = SrcLoc::current());
/// A scalar constant (e.g. the initial value of a carried Scalar).
Scalar scalar(Num value, DType t, SrcLoc loc = SrcLoc::current());
Tile splat(const Scalar &s, std::vector<int64_t> shape, SrcLoc loc = SrcLoc::current());
Tile broadcastTo(const Tile &t, std::vector<int64_t> shape, SrcLoc loc = SrcLoc::current());
Tile expandDims(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
Tile reshape(const Tile &t, std::vector<int64_t> shape, SrcLoc loc = SrcLoc::current());
/// Transpose of a 2-D tile.
Tile trans(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile permute(const Tile &t, std::vector<int32_t> order, SrcLoc loc = SrcLoc::current());

// --- memory -------------------------------------------------------------------
Tile load(const Tile &ptrs, SrcLoc loc = SrcLoc::current());
/// Masked load; masked-off elements are zero.
Tile load(const Tile &ptrs, const Tile &mask, SrcLoc loc = SrcLoc::current());
/// Masked load; masked-off elements are `other`.
Tile load(const Tile &ptrs, const Tile &mask, Num other, SrcLoc loc = SrcLoc::current());
Scalar load(const Ptr &p, SrcLoc loc = SrcLoc::current());
/// A scalar load the compiler may run ahead of where the program runs it:
/// software pipelining computes the addresses of up to num_stages - 1
/// iterations past a loop's last, and a producer warpgroup recomputes them.
/// The caller promises every such address is readable and not written
/// while the kernel runs -- e.g. a padded list of block indices that a
/// block-sparse loop walks (the loads it addresses are then pipelined).
Scalar loadSpeculative(const Ptr &p, SrcLoc loc = SrcLoc::current());
void store(const Tile &ptrs, const Tile &value, SrcLoc loc = SrcLoc::current());
/// One value through a scalar pointer (e.g. a program's partial result).
void store(const Ptr &p, const Scalar &value, SrcLoc loc = SrcLoc::current());
void store(const Tile &ptrs, const Tile &value, const Tile &mask,
           SrcLoc loc = SrcLoc::current());
/// Atomic read-modify-write of each element (i32 or f32): `*p += value`,
/// `*p = max(*p, value)`, `*p = min(*p, value)`; returns the values replaced
/// (zero where masked off).  Relaxed, device scope; elements of one call
/// are not ordered with each other.  f32 max/min order -0.0 below +0.0 and
/// do not support NaN.
Tile atomicAdd(const Tile &ptrs, const Tile &value, SrcLoc loc = SrcLoc::current());
Tile atomicAdd(const Tile &ptrs, const Tile &value, const Tile &mask,
               SrcLoc loc = SrcLoc::current());
Tile atomicMax(const Tile &ptrs, const Tile &value, SrcLoc loc = SrcLoc::current());
Tile atomicMax(const Tile &ptrs, const Tile &value, const Tile &mask,
               SrcLoc loc = SrcLoc::current());
Tile atomicMin(const Tile &ptrs, const Tile &value, SrcLoc loc = SrcLoc::current());
Tile atomicMin(const Tile &ptrs, const Tile &value, const Tile &mask,
               SrcLoc loc = SrcLoc::current());
/// `*p = value`, returning the old values (i32 or f32).
Tile atomicExchange(const Tile &ptrs, const Tile &value, SrcLoc loc = SrcLoc::current());
Tile atomicExchange(const Tile &ptrs, const Tile &value, const Tile &mask,
                    SrcLoc loc = SrcLoc::current());
/// Compare-and-swap: `*p = value` where `*p == compare` (bit for bit: f32
/// -0.0 does not match +0.0); returns the old values, so an element
/// succeeded where the result equals `compare` (a lock, a claimed slot).
Tile atomicCAS(const Tile &ptrs, const Tile &compare, const Tile &value,
               SrcLoc loc = SrcLoc::current());
Tile atomicCAS(const Tile &ptrs, const Tile &compare, const Tile &value, const Tile &mask,
               SrcLoc loc = SrcLoc::current());

// --- math -----------------------------------------------------------------------
/// a (MxK) times b (KxN), accumulated in f32.
Tile dot(const Tile &a, const Tile &b, SrcLoc loc = SrcLoc::current());
/// acc + a * b.
Tile dot(const Tile &a, const Tile &b, const Tile &acc, SrcLoc loc = SrcLoc::current());
/// Reductions along `axis` of a tile of rank >= 2.
Tile sum(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
Tile max(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
Tile min(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
/// Reductions of a whole 1-D tile to a Scalar.
Scalar sum(const Tile &t, SrcLoc loc = SrcLoc::current());
Scalar max(const Tile &t, SrcLoc loc = SrcLoc::current());
Scalar min(const Tile &t, SrcLoc loc = SrcLoc::current());
/// The index (i32) of the max / min along `axis` (or of a whole 1-D tile):
/// the first one on ties, and a NaN counts as the max / min (NumPy's and
/// PyTorch's rule).
Tile argmax(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
Tile argmin(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
Scalar argmax(const Tile &t, SrcLoc loc = SrcLoc::current());
Scalar argmin(const Tile &t, SrcLoc loc = SrcLoc::current());
/// Inclusive scans along `axis` (0 for a 1-D tile): element k combines
/// elements 0..k.  f32 sums may round differently from a left-to-right sum
/// on the GPU (pieces of the axis, then their totals).
Tile cumsum(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
Tile cummax(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
Tile cummin(const Tile &t, int axis, SrcLoc loc = SrcLoc::current());
/// Element-wise choice: cond ? a : b.
Tile where(const Tile &cond, const Tile &a, const Tile &b, SrcLoc loc = SrcLoc::current());
Tile where(const Tile &cond, const Tile &a, Num b, SrcLoc loc = SrcLoc::current());
Tile where(const Tile &cond, Num a, const Tile &b, SrcLoc loc = SrcLoc::current());
/// Two numbers: a tile of the condition's shape, i32 if both are integers,
/// else f32 (`where(m, 1.0, 0.0)`).
Tile where(const Tile &cond, Num a, Num b, SrcLoc loc = SrcLoc::current());
Tile maximum(const Tile &a, const Tile &b, SrcLoc loc = SrcLoc::current());
Tile minimum(const Tile &a, const Tile &b, SrcLoc loc = SrcLoc::current());
Tile exp2(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile exp(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile log2(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile log(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile sqrt(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile rsqrt(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile abs(const Tile &t, SrcLoc loc = SrcLoc::current());
/// tanh on the GPU is tanh.approx.f32 (absolute error about 5e-4 near 0.5).
Tile tanh(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile floor(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile ceil(const Tile &t, SrcLoc loc = SrcLoc::current());
/// On the GPU: the argument reduced to [-pi, pi] (x - k 2pi in two parts,
/// fused), then sin.approx / cos.approx: absolute error about 1e-6 for
/// |x| < 1e5.
Tile sin(const Tile &t, SrcLoc loc = SrcLoc::current());
Tile cos(const Tile &t, SrcLoc loc = SrcLoc::current());
/// x^y with IEEE pow's special cases (pow(x, 0) = 1, pow(1, y) = 1, a
/// negative x only to an integral power, else NaN).  On the GPU
/// exp2(y log2|x|) through ex2/lg2.approx: relative error about
/// 2^-22 (2 + |y log2 x|).
Tile pow(const Tile &x, const Tile &y, SrcLoc loc = SrcLoc::current());
Tile pow(const Tile &x, Num y, SrcLoc loc = SrcLoc::current());
Tile pow(Num x, const Tile &y, SrcLoc loc = SrcLoc::current());
/// The error function (Abramowitz & Stegun 7.1.26: within 1.5e-7 plus f32
/// rounding and, on the GPU, ex2.approx); GELU is 0.5 x (1 + erf(x / sqrt 2)).
Tile erf(const Tile &t, SrcLoc loc = SrcLoc::current());
/// 1 / (1 + exp(-x)).
Tile sigmoid(const Tile &t, SrcLoc loc = SrcLoc::current());
/// d y / d x element by element (y_i depends on x_i only), for a y this
/// trace computed from x: forward mode through the element-wise arithmetic
/// (+ - * / fma, maximum, minimum, where) and math functions (tanh, exp,
/// exp2, log, log2, sqrt, rsqrt, abs, sin, cos, pow, floor, ceil: the steps
/// count 0) between them, reusing the values already computed (tanh's
/// derivative is 1 - tanh^2 of the tanh that made y).  Everything that does
/// not depend on x (positions, masks, other tiles) is a constant, and so is,
/// inside a forRange body, a value the loop carries (its dependence on x
/// through earlier iterations is not followed).  A path through anything
/// else (a reduction, a load, a shape change, a finished loop or branch) is
/// a DslError naming that operation's line.  It is the derivative of the
/// expression as written: one whose intermediate overflows (2 / (exp(t) + 1)
/// at large t) can give NaN where a rewritten formula would not.
Tile derivative(const Tile &y, const Tile &x, SrcLoc loc = SrcLoc::current());
/// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11; the
/// generator of cuRAND, JAX and Triton).  Four i32 tiles (the 32-bit words,
/// read as unsigned) from a 128-bit counter and a 64-bit key; the same
/// counter and key give the same numbers on the GPU and in the interpreter.
std::array<Tile, 4> philox4x32(const std::array<Tile, 4> &counter, const Scalar &key0,
                               const Scalar &key1, SrcLoc loc = SrcLoc::current());
/// Random i32 words for each element of `offsets` (i32), keyed by `seed`
/// (an i32 or i64 scalar): Philox with counter (offset, 0, 0, 0).  A
/// dropout mask made from (seed, element index) is regenerated exactly by
/// the backward pass.
std::array<Tile, 4> randint4x(const Scalar &seed, const Tile &offsets,
                              SrcLoc loc = SrcLoc::current());
/// Uniform f32 in [0, 1) (24 random bits) per offset: the first word of randint4x.
Tile rand(const Scalar &seed, const Tile &offsets, SrcLoc loc = SrcLoc::current());
/// Element-wise max/min with a constant (e.g. maximum(x, 0.0): ReLU).
Tile maximum(const Tile &a, Num b, SrcLoc loc = SrcLoc::current());
Tile minimum(const Tile &a, Num b, SrcLoc loc = SrcLoc::current());
Tile fma(const Tile &a, const Tile &b, const Tile &c, SrcLoc loc = SrcLoc::current());
Scalar maximum(const Scalar &a, const Scalar &b, SrcLoc loc = SrcLoc::current());
Scalar exp2(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar exp(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar tanh(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar floor(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar ceil(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar sin(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar cos(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar pow(const Scalar &x, const Scalar &y, SrcLoc loc = SrcLoc::current());
Scalar pow(const Scalar &x, Num y, SrcLoc loc = SrcLoc::current());
Scalar log2(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar log(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar sqrt(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar rsqrt(const Scalar &s, SrcLoc loc = SrcLoc::current());
Scalar minimum(const Scalar &a, const Scalar &b, SrcLoc loc = SrcLoc::current());

// --- control flow ---------------------------------------------------------------
/// A variable carried through a loop or branch: the body may reassign it, but
/// not change its type.
class Var {
public:
  Var(Tile &t) : h(&t), what("tile") {}
  Var(Scalar &s) : h(&s), what("scalar") {}
  Handle *h;
  const char *what;
};

/// for (i = lo; i < hi; i += step) body(i), in the IR.  The variables in
/// `carried` are loop-carried: after the loop they hold their final values.
void forRange(IntArg lo, IntArg hi, IntArg step, std::initializer_list<Var> carried,
              const std::function<void(Scalar)> &body, SrcLoc loc = SrcLoc::current());
/// if (cond) then(); variables in `carried` keep their old value otherwise.
void ifThen(const Scalar &cond, std::initializer_list<Var> carried,
            const std::function<void()> &then, SrcLoc loc = SrcLoc::current());
void ifThenElse(const Scalar &cond, std::initializer_list<Var> carried,
                const std::function<void()> &then, const std::function<void()> &otherwise,
                SrcLoc loc = SrcLoc::current());

// --- kernels ----------------------------------------------------------------------
/// Compile-time parameters of a kernel: block sizes, warps, dtypes, flags.
/// Values are kept as text so a set of parameters prints and hashes stably.
class Params {
public:
  Params() = default;
  Params(std::initializer_list<std::pair<const std::string, std::string>> kv) : kv(kv) {}
  Params &set(const std::string &k, const std::string &v) { kv[k] = v; return *this; }
  Params &set(const std::string &k, int64_t v) { return set(k, std::to_string(v)); }
  bool has(const std::string &k) const { return kv.count(k) != 0; }
  /// Integer parameter; throws tessera::Error when missing or not a number.
  int64_t i(const std::string &k) const;
  /// Text parameter; throws tessera::Error when missing.
  const std::string &s(const std::string &k) const;
  /// dtype parameter ("f16", "bf16", "f32").
  DType dtype(const std::string &k) const;
  bool flag(const std::string &k) const { return i(k) != 0; }
  /// Parameters over `defaults`.
  Params over(const Params &defaults) const;
  /// "BLOCK=128,dtype=f16" (sorted by key).
  std::string str() const;
  /// The inverse of str(); throws tessera::Error on malformed text.
  static Params parse(const std::string &text);
  const std::map<std::string, std::string> &items() const { return kv; }

private:
  std::map<std::string, std::string> kv;
};

/// The kernel being traced: declares its arguments.
class Kernel {
public:
  /// A pointer argument to elements of type `pointee`, assumed aligned to
  /// `alignment` bytes.
  Ptr ptr(const std::string &name, DType pointee, unsigned alignment = 16,
          SrcLoc loc = SrcLoc::current());
  /// An integer argument.  `multipleOf` (a power of two) promises the value
  /// is a multiple of it, so that accesses indexed by it can be vectorized;
  /// the launcher checks the promise before every launch.
  Scalar i32(const std::string &name, unsigned multipleOf = 1, SrcLoc loc = SrcLoc::current());
  Scalar i64(const std::string &name, unsigned multipleOf = 1, SrcLoc loc = SrcLoc::current());
  /// An i32 argument promised to be 1 (a unit stride): the kernel body
  /// uses the constant 1, so accesses along that axis are known contiguous
  /// and vectorize; the launcher refuses any other value before launch.
  Scalar unitI32(const std::string &name, SrcLoc loc = SrcLoc::current());
  Scalar f32(const std::string &name, SrcLoc loc = SrcLoc::current());

  struct Impl;
  explicit Kernel(Impl *impl) : impl(impl) {}

private:
  mlir::Value addArg(const std::string &name, mlir::Type t, SrcLoc loc);
  Impl *impl;
};

/// Traces `body` into a module holding one `tile.kernel` function called
/// `name` that runs with `numWarps` warps per program.  Throws DslError for a
/// misuse, located at the user's line.
mlir::OwningOpRef<mlir::ModuleOp> trace(mlir::MLIRContext &ctx, const std::string &name,
                                        unsigned numWarps,
                                        const std::function<void(Kernel &)> &body);

/// Loads every dialect the DSL builds IR in.
void loadDialects(mlir::MLIRContext &ctx);

} // namespace tessera::dsl
