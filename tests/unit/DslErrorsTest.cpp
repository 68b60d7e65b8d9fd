//===- DslErrorsTest.cpp - every DSL misuse is a located, catchable error --===//
//
// Each case writes the offending call on a line whose number it records with
// __LINE__, and checks that the message starts with this file's name and that
// line, names the operation, and says what is wrong.
//
//===----------------------------------------------------------------------===//
#include "Common.h"

using namespace tessera;
using namespace tessera::dsl;
using tessera::test::at;
using tessera::test::errorOf;

namespace {
/// Traces `body` as a kernel and returns the error message it raised.
std::string traceError(const std::function<void(Kernel &)> &body, unsigned warps = 4) {
  auto ctx = test::makeContext();
  return errorOf([&] { trace(*ctx, "k", warps, body); });
}
} // namespace

TEST_CASE("shape mismatch names the user's line and both shapes", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile a = zeros({64, 32}, f32), b = zeros({64, 64}, f32);
    line = __LINE__; [[maybe_unused]] Tile c = a + b;
  });
  CHECK(msg == at(__FILE__, line) + "operator+: shape mismatch: 64x32 vs 64x64");
}

TEST_CASE("dtype mismatch names both dtypes", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, f32), b = zeros({128}, f16);
    line = __LINE__; [[maybe_unused]] Tile c = a * b;
  });
  CHECK(msg == at(__FILE__, line) +
                   "operator*: dtype mismatch: lhs is f32, rhs is f16 (cast one with .to())");
}

TEST_CASE("dot with mismatched K", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile a = zeros({64, 64}, f16), b = zeros({128, 32}, f16);
    line = __LINE__; [[maybe_unused]] Tile c = dot(a, b);
  });
  CHECK(msg == at(__FILE__, line) + "dot: K of lhs (64) != K of rhs (128)");
}

TEST_CASE("dot with mismatched operand dtypes", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile a = zeros({16, 16}, f16), b = zeros({16, 16}, bf16);
    line = __LINE__; dot(a, b);
  });
  CHECK(msg == at(__FILE__, line) + "dot: dtype mismatch: lhs is f16, rhs is bf16");
}

TEST_CASE("tile size that is not a power of two", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    line = __LINE__; [[maybe_unused]] Tile r = arange(0, 48);
  });
  CHECK(msg == at(__FILE__, line) + "arange: tile size 48 in shape 48 is not a power of two");

  msg = traceError([&](Kernel &) {
    line = __LINE__; [[maybe_unused]] Tile z = zeros({64, 100}, f32);
  });
  CHECK(msg == at(__FILE__, line) + "full: tile size 100 in shape 64x100 is not a power of two");
}

TEST_CASE("loop-carried value whose type changes", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &k) {
    Scalar n = k.i32("n");
    Tile acc = zeros({64}, f32);
    line = __LINE__; forRange(0, n, 1, {acc}, [&](Scalar) {
      acc = acc.to(f16);
    });
  });
  CHECK(msg == at(__FILE__, line) +
                   "forRange: carried tile #1 changed type in the body: it was f32 64, it "
                   "became f16 64");

  msg = traceError([&](Kernel &k) {
    Scalar n = k.i32("n");
    Tile acc = zeros({64}, f32);
    line = __LINE__; forRange(0, n, 1, {acc}, [&](Scalar) {
      acc = zeros({128}, f32);
    });
  });
  CHECK(msg == at(__FILE__, line) +
                   "forRange: carried tile #1 changed type in the body: it was f32 64, it "
                   "became f32 128");
}

TEST_CASE("a variable assigned in a body but not carried is named at its use", "[dsl][errors]") {
  int line = 0, loopLine = 0;
  std::string msg = traceError([&](Kernel &k) {
    Ptr out = k.ptr("out", f32);
    Scalar n = k.i32("n");
    Tile acc = zeros({64}, f32), other = zeros({64}, f32);
    loopLine = __LINE__; forRange(0, n, 1, {acc}, [&](Scalar) {
      acc = acc + 1.0;
      other = acc * 2.0; // not carried
    });
    line = __LINE__; store(out + arange(0, 64), other);
  });
  CHECK(msg == at(__FILE__, line) + "store: this operand was computed inside the body of the "
                                    "forRange at " + std::string(__FILE__) + ":" +
                   std::to_string(loopLine) +
                   ", which has ended; a variable assigned in a body keeps that value "
                   "afterwards only if it is carried (list it among the forRange's carried "
                   "values)");
}

TEST_CASE("branch-carried value whose type changes", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &k) {
    Scalar n = k.i32("n");
    Tile x = zeros({32}, f32);
    line = __LINE__; ifThen(n > 3, {x}, [&] { x = x.to(bf16); });
  });
  CHECK(msg == at(__FILE__, line) +
                   "ifThen: carried tile #1 changed type in the body: it was f32 32, it became "
                   "bf16 32");
}

TEST_CASE("loads and stores check pointers and masks and value types", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", f16);
    Tile offs = arange(0, 64);
    line = __LINE__; store(p + offs, zeros({64}, f32));
  });
  CHECK(msg == at(__FILE__, line) +
                   "store: value is f32 but the pointers are to f16 (cast with .to())");

  msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", f32);
    Tile offs = arange(0, 64);
    line = __LINE__; load(p + offs, offs);
  });
  CHECK(msg == at(__FILE__, line) + "load: mask must be a boolean tile, got i32");

  msg = traceError([&](Kernel &k) {
    line = __LINE__; load(arange(0, 64));
  });
  CHECK(msg == at(__FILE__, line) + "load: expects a tile of pointers, got a tile of i32");

  msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", f32);
    line = __LINE__; [[maybe_unused]] Tile bad = p + zeros({64}, f32);
  });
  CHECK(msg == at(__FILE__, line) +
                   "operator+: pointer offset must be an integer tile or scalar, got f32");
}

TEST_CASE("atomics check their element type, value and mask", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", f16);
    Tile offs = arange(0, 64);
    line = __LINE__; atomicAdd(p + offs, zeros({64}, f16));
  });
  CHECK(msg == at(__FILE__, line) +
                   "atomicAdd: combines i32 or f32 elements, got f16 (accumulate in f32 and "
                   "convert afterwards)");

  msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", i32);
    Tile offs = arange(0, 64);
    line = __LINE__; atomicMax(p + offs, zeros({64}, f32));
  });
  CHECK(msg == at(__FILE__, line) +
                   "atomicMax: value is f32 but the pointers are to i32 (cast with .to())");

  msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", f32);
    Tile offs = arange(0, 64);
    line = __LINE__; atomicMin(p + offs, zeros({64}, f32), offs);
  });
  CHECK(msg == at(__FILE__, line) + "atomicMin: mask must be a boolean tile, got i32");
}

TEST_CASE("reductions check axis and rank", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    line = __LINE__; sum(zeros({8, 8}, f32), 2);
  });
  CHECK(msg == at(__FILE__, line) + "sum: axis 2 out of range for rank 2");

  msg = traceError([&](Kernel &) {
    line = __LINE__; max(zeros({8, 8}, f32));
  });
  CHECK(msg == at(__FILE__, line) +
                   "max: reducing to a scalar needs a 1-D tile, got 8x8; pass an axis");
}

TEST_CASE("misuse outside a trace and of kernel arguments", "[dsl][errors]") {
  int line = __LINE__ + 1;
  std::string msg = errorOf([] { arange(0, 16); });
  CHECK(msg == at(__FILE__, line) + "arange: used outside of a kernel being traced");

  msg = traceError([&](Kernel &k) {
    k.i32("n");
    line = __LINE__; k.f32("n");
  });
  CHECK(msg == at(__FILE__, line) + "argument: kernel argument 'n' declared twice");

  msg = traceError([](Kernel &) {}, 3);
  CHECK(msg == "kernel 'k': num_warps must be a power of two in [1, 32], got 3");
}

TEST_CASE("a handle used outside the trace that made it is a located error", "[dsl][errors]") {
  auto ctx = test::makeContext();
  Tile saved;
  Ptr savedPtr;
  trace(*ctx, "first", 4, [&](Kernel &k) {
    savedPtr = k.ptr("p", f32);
    saved = arange(0, 16);
  });
  int line = 0;
  const std::string why = "a handle from another trace (a finished one, or another kernel's) "
                          "was used; handles live only inside the kernel body that made them";
  std::string msg = traceError([&](Kernel &) {
    line = __LINE__; [[maybe_unused]] Tile y = saved + 1;
  });
  CHECK(msg == at(__FILE__, line) + "operator+: " + why);
  msg = traceError([&](Kernel &) {
    Tile offs = arange(0, 16);
    line = __LINE__; store(savedPtr + offs, offs.to(f32));
  });
  CHECK(msg == at(__FILE__, line) + "operator+: " + why);
  msg = traceError([&](Kernel &) {
    line = __LINE__; sum(saved.to(f32));
  });
  CHECK(msg == at(__FILE__, line) + "to: " + why);
  msg = traceError([&](Kernel &) {
    [[maybe_unused]] Tile mine = arange(0, 16) * 2;
    line = __LINE__; [[maybe_unused]] Tile c = saved.col();
  });
  CHECK(msg == at(__FILE__, line) + "col: " + why);
  // Nested: a handle of the outer kernel used while tracing an inner one.
  msg = traceError([&](Kernel &) {
    Tile outer = arange(0, 16);
    trace(*ctx, "inner", 4, [&](Kernel &) {
      line = __LINE__; [[maybe_unused]] Tile z = outer * 2;
    });
  });
  CHECK(msg == at(__FILE__, line) + "operator*: " + why);
}

TEST_CASE("errors are catchable as tessera::Error and carry file and line", "[dsl][errors]") {
  auto ctx = test::makeContext();
  int line = 0;
  try {
    trace(*ctx, "k", 4, [&](Kernel &) {
      line = __LINE__; arange(5, 4);
    });
    FAIL("no error raised");
  } catch (const DslError &e) {
    CHECK(e.line == unsigned(line));
    CHECK(e.file == __FILE__);
  }
}

TEST_CASE("uninitialized handles and pointer misuse are errors and not crashes", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile t;
    line = __LINE__; !t;
  });
  CHECK(msg == at(__FILE__, line) + "operator!: operand is an uninitialized handle");
  msg = traceError([&](Kernel &) {
    Tile t;
    line = __LINE__; t.col();
  });
  CHECK(msg == at(__FILE__, line) + "col: operand is an uninitialized handle");
  msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", f32);
    Tile ptrs = p + arange(0, 16);
    line = __LINE__; where(arange(0, 16) < 3, ptrs, 0);
  });
  CHECK(msg == at(__FILE__, line) + "where: a number cannot stand in for ptr<f32> values");
  msg = traceError([&](Kernel &) {
    line = __LINE__; zeros({4096, 4096}, f32);
  });
  CHECK(msg == at(__FILE__, line) +
                   "full: tile 4096x4096 has more than 1048576 elements; a block cannot hold it");
  msg = traceError([&](Kernel &k) {
    line = __LINE__; k.i32("n", 1u << 31);
  });
  CHECK(msg == at(__FILE__, line) + "argument: multipleOf must be a power of two up to 65536, "
                                    "got 2147483648");
}

TEST_CASE("shifts and xor on floating-point tiles, tanh on integers", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, f32);
    line = __LINE__; [[maybe_unused]] Tile c = a << 2;
  });
  CHECK(msg == at(__FILE__, line) + "operator<<: not defined on floating-point values");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, f32), b = zeros({128}, f32);
    line = __LINE__; [[maybe_unused]] Tile c = a ^ b;
  });
  CHECK(msg == at(__FILE__, line) + "operator^: not defined on floating-point values");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, i32);
    line = __LINE__; [[maybe_unused]] Tile c = tanh(a);
  });
  CHECK(msg == at(__FILE__, line) + "tanh: needs floating-point elements, got i32");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, i32);
    line = __LINE__; [[maybe_unused]] Tile c = erf(a);
  });
  CHECK(msg == at(__FILE__, line) + "erf: needs floating-point elements, got i32");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, i32);
    line = __LINE__; [[maybe_unused]] Tile c = maximum(a, 0.5);
  });
  CHECK(msg == at(__FILE__, line) + "maximum: fractional number used with an integer operand (i32)");
}

TEST_CASE("a scalar store of another dtype", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", f16);
    Scalar s = k.f32("s");
    line = __LINE__; store(p, s);
  });
  CHECK(msg == at(__FILE__, line) + "store: value is f32, the pointer's elements are f16 (cast with .to())");
}

TEST_CASE("random numbers from float offsets or a float seed", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &k) {
    Scalar seed = k.i64("seed");
    Tile offs = zeros({128}, f32);
    line = __LINE__; [[maybe_unused]] Tile r = rand(seed, offs);
  });
  CHECK(msg == at(__FILE__, line) + "randint4x: offsets must be an i32 tile, got f32");
  msg = traceError([&](Kernel &k) {
    Scalar seed = k.f32("seed");
    line = __LINE__; [[maybe_unused]] Tile r = rand(seed, arange(0, 128));
  });
  CHECK(msg == at(__FILE__, line) + "randint4x: the seed must be an i32 or i64 scalar, got f32");
}

TEST_CASE("pow and sin on integer tiles", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, i32);
    line = __LINE__; [[maybe_unused]] Tile c = pow(a, 2);
  });
  CHECK(msg == at(__FILE__, line) + "pow: needs floating-point elements (convert integers with .to(f32))");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, i32);
    line = __LINE__; [[maybe_unused]] Tile c = sin(a);
  });
  CHECK(msg == at(__FILE__, line) + "sin: needs floating-point elements, got i32");
}

TEST_CASE("atomicCAS with a compare tile of another dtype or shape", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", i32);
    Tile ptrs = p + arange(0, 128);
    Tile expected = zeros({128}, f32), value = zeros({128}, i32);
    line = __LINE__; [[maybe_unused]] Tile c = atomicCAS(ptrs, expected, value);
  });
  CHECK(msg == at(__FILE__, line) + "atomicCAS: compare is f32 but the value is i32");
  msg = traceError([&](Kernel &k) {
    Ptr p = k.ptr("p", f16);
    Tile ptrs = p + arange(0, 128);
    Tile value = zeros({128}, f16);
    line = __LINE__; [[maybe_unused]] Tile c = atomicExchange(ptrs, value);
  });
  CHECK(msg == at(__FILE__, line) + "atomicExchange: combines i32 or f32 elements, got f16");
}

TEST_CASE("argmax and cumsum misuse", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile a = zeros({16, 32}, f32);
    line = __LINE__; [[maybe_unused]] Tile c = cumsum(a, 2);
  });
  CHECK(msg == at(__FILE__, line) + "cumsum: axis 2 out of range for rank 2");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({16}, f32) < 1.0;
    line = __LINE__; [[maybe_unused]] Tile c = cumsum(a, 0);
  });
  CHECK(msg == at(__FILE__, line) + "cumsum: cannot scan a tile of i1");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({16}, f32);
    line = __LINE__; [[maybe_unused]] Tile c = argmax(a, 0);
  });
  CHECK(msg == at(__FILE__, line) + "argmax: a 1-D tile reduces to a Scalar; call it without an axis");
}

TEST_CASE("arithmetic on FP8 tiles names the conversion to use", "[dsl][errors]") {
  int line = 0;
  std::string msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, f8e4m3);
    line = __LINE__; [[maybe_unused]] Tile c = a + a;
  });
  CHECK(msg == at(__FILE__, line) + "operator+: f8e4m3 is a storage type: convert with .to(f32) first");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, f8e5m2);
    line = __LINE__; [[maybe_unused]] Tile c = exp(a);
  });
  CHECK(msg == at(__FILE__, line) + "exp: f8e5m2 is a storage type: convert with .to(f32) first");
  msg = traceError([&](Kernel &) {
    Tile a = zeros({128}, f8e4m3);
    line = __LINE__; [[maybe_unused]] Scalar c = sum(a);
  });
  CHECK(msg == at(__FILE__, line) + "sum: f8e4m3 is a storage type: convert with .to(f32) first");
}
