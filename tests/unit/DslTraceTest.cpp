//===- DslTraceTest.cpp - what the DSL builds -----------------------------===//
#include "Common.h"

#include "tessera/Dialect/Tile/IR/TileDialect.h"
#include "tessera/kernels/Library.h"

#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

using namespace tessera;
using namespace tessera::dsl;

namespace {
std::string print(mlir::ModuleOp m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  m.print(os);
  return s;
}
size_t count(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
    ++n;
  return n;
}
} // namespace

TEST_CASE("a traced kernel is a verified tile.kernel with named arguments", "[dsl]") {
  auto ctx = test::makeContext();
  auto module = trace(*ctx, "axpy", 2, [](Kernel &k) {
    Ptr x = k.ptr("x", f32), y = k.ptr("y", f32);
    Scalar a = k.f32("a"), n = k.i32("n");
    Tile offs = programId(0) * 256 + arange(0, 256);
    Tile mask = offs < n;
    store(y + offs, load(x + offs, mask) * a + load(y + offs, mask), mask);
  });
  REQUIRE(mlir::succeeded(mlir::verify(*module)));
  std::string ir = print(*module);
  CHECK(ir.find("func.func @axpy(%arg0: !tile.ptr<f32> {tile.alignment = 16 : i32, tile.name = \"x\"}") !=
        std::string::npos);
  CHECK(ir.find("tile.num_warps = 2 : i32") != std::string::npos);
  CHECK(count(ir, "tile.load") == 2);
  CHECK(count(ir, "tile.store") == 1);
  CHECK(count(ir, "tile.addptr") == 3);
  CHECK(ir.find("arith.mulf") != std::string::npos);
  // Locations point at this file.
  std::string withLocs;
  llvm::raw_string_ostream os(withLocs);
  module->print(os, mlir::OpPrintingFlags().enableDebugInfo());
  CHECK(withLocs.find("DslTraceTest.cpp") != std::string::npos);
}

TEST_CASE("loops carry tiles and rebind the C++ variables", "[dsl]") {
  auto ctx = test::makeContext();
  auto module = trace(*ctx, "loop", 4, [](Kernel &k) {
    Scalar n = k.i32("n");
    Ptr out = k.ptr("out", f32);
    Tile acc = zeros({128}, f32), m = full({128}, -1.0, f32);
    forRange(0, n, 16, {acc, m}, [&](Scalar i) {
      Tile x = splat(i.to(f32), {128});
      m = maximum(m, x);
      acc = acc + x;
    });
    store(out + arange(0, 128), acc + m);
  });
  std::string ir = print(*module);
  CHECK(count(ir, "scf.for") == 1);
  CHECK(ir.find("iter_args") != std::string::npos);
  CHECK(ir.find("scf.yield") != std::string::npos);
  // The store uses the loop's results, not the initial values.
  CHECK(ir.find("arith.addf %0#0, %0#1") != std::string::npos);
}

TEST_CASE("branches carry values and the untaken side keeps them", "[dsl]") {
  auto ctx = test::makeContext();
  auto module = trace(*ctx, "branch", 1, [](Kernel &k) {
    Scalar n = k.i32("n");
    Ptr out = k.ptr("out", f32);
    Tile x = zeros({32}, f32);
    ifThen(n > 3, {x}, [&] { x = x + 1.0; });
    ifThenElse(n > 7, {x}, [&] { x = x * 2.0; }, [&] { x = x - 1.0; });
    store(out + arange(0, 32), x);
  });
  std::string ir = print(*module);
  CHECK(count(ir, "scf.if") == 2);
  CHECK(count(ir, "} else {") == 2);
}

TEST_CASE("compile-time parameters specialize the trace", "[dsl][kernels]") {
  auto ctx = test::makeContext();
  const auto &attn = kernels::findKernel("attention_fwd");
  std::string plain = print(*dsl::traceKernel(*ctx, attn, {}));
  std::string causal = print(*dsl::traceKernel(*ctx, attn, Params{{"CAUSAL", "1"}}));
  CHECK(count(causal, "arith.cmpi sle") > count(plain, "arith.cmpi sle"));
  CHECK(causal.find("arith.minsi") != std::string::npos);
  std::string bf = print(*dsl::traceKernel(*ctx, attn, Params{{"dtype", "bf16"}, {"HEAD_DIM", "128"}}));
  CHECK(bf.find("tensor<64x128xbf16>") != std::string::npos);
}

TEST_CASE("library lookup and parameters report bad input", "[kernels]") {
  auto ctx = test::makeContext();
  CHECK(test::errorOf([] { kernels::findKernel("nope"); })
            .find("unknown kernel 'nope' (known: vector_add, softmax") == 0);
  const auto &add = kernels::findKernel("vector_add");
  CHECK(test::errorOf([&] { dsl::traceKernel(*ctx, add, Params{{"BLOK", "4"}}); })
            .find("kernel 'vector_add' has no parameter 'BLOK'") == 0);
  CHECK(test::errorOf([&] { dsl::traceKernel(*ctx, add, Params{{"BLOCK", "abc"}}); }) ==
        "compile-time parameter 'BLOCK' must be an integer, got 'abc'");
  CHECK(test::errorOf([&] { dsl::traceKernel(*ctx, add, Params{{"dtype", "f8"}}); })
            .find("unknown dtype 'f8'") == 0);
  CHECK(test::errorOf([&] { dsl::traceKernel(*ctx, add, Params{{"BLOCK", "1000"}}); })
            .find("VectorAdd.cpp") != std::string::npos);
  // Compile parameters out of range, before anything is traced or allocated.
  const auto &mm = kernels::findKernel("matmul");
  CHECK(test::errorOf([&] { dsl::traceKernel(*ctx, mm, Params{{"num_stages", "-1"}}); }) ==
        "kernel 'matmul': num_stages must be in [1, 16], got -1");
  CHECK(test::errorOf([&] { dsl::traceKernel(*ctx, mm, Params{{"num_warps", "-4"}}); }) ==
        "kernel 'matmul': num_warps must be a power of two in [1, 32], got -4");
  CHECK(test::errorOf([&] { dsl::traceKernel(*ctx, mm, Params{{"num_stages", "100000"}}); }) ==
        "kernel 'matmul': num_stages must be in [1, 16], got 100000");
}

TEST_CASE("Params print sorted and override defaults", "[dsl]") {
  Params d{{"b", "2"}, {"a", "1"}};
  Params p = Params{{"b", "3"}}.over(d);
  CHECK(p.str() == "a=1,b=3");
  CHECK(p.i("b") == 3);
  CHECK(parseDType("bf16") == bf16);
}
