//===- PipelineTest.cpp - DSL -> PTX for every library kernel -------------===//
#include "Common.h"

#include "tessera/kernels/Library.h"

#include "../kernels/Atomics.h"
#include "../kernels/AxisOps.h"
#include "../kernels/Elementwise.h"
#include "../kernels/Fp8.h"
#include "../kernels/Philox.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace tessera;
using namespace tessera::dsl;

TEST_CASE("every library kernel compiles to PTX for sm_80 and sm_90a", "[pipeline][kernels]") {
  for (const auto &def : kernels::library())
    for (std::string target : {"sm_80", "sm_90a"}) {
      INFO(def.name << " for " << target);
      auto ctx = test::makeContext();
      auto module = dsl::traceKernel(*ctx, def);
      CompileOptions opts;
      opts.target = target;
      CompiledKernel ck = compileToPTX(*module, opts);
      CHECK(ck.ptx.find(".target " + target) != std::string::npos);
      CHECK(ck.ptx.find(".entry " + def.name) != std::string::npos);
      CHECK(ck.info.name == def.name);
      CHECK(ck.info.threadsPerBlock == 32 * def.defaults.i("num_warps"));
      CHECK(ck.target == target);
    }
}

TEST_CASE("kernel metadata lists parameters and threads and shared memory", "[pipeline]") {
  auto ctx = test::makeContext();
  auto module = dsl::traceKernel(*ctx, kernels::findKernel("softmax"), Params{{"num_warps", "8"}});
  CompiledKernel ck = compileToPTX(*module, CompileOptions{});
  REQUIRE(ck.info.params.size() == 5);
  CHECK(ck.info.params[0].name == "out");
  CHECK(ck.info.params[0].type == "ptr<f16>");
  CHECK(ck.info.params[0].alignment == 16);
  CHECK(ck.info.params[2].name == "n_cols");
  CHECK(ck.info.params[2].type == "i32");
  CHECK(ck.info.threadsPerBlock == 256);
  // The row reductions pass one f32 partial per warp through shared memory.
  CHECK(ck.info.staticSharedBytes == 0);
  CHECK(ck.info.dynamicSharedBytes == 8 * 4);
  CHECK(ck.ptx.find(".maxntid 256, 1, 1") != std::string::npos);
}

TEST_CASE("an unsupported target is an error before code generation", "[pipeline][errors]") {
  auto ctx = test::makeContext();
  auto module = dsl::traceKernel(*ctx, kernels::findKernel("vector_add"));
  CompileOptions opts;
  opts.target = "sm_12345";
  CHECK(test::errorOf([&] { compileToPTX(*module, opts); }) ==
        "unsupported GPU target 'sm_12345' (expected e.g. sm_80, sm_86, sm_89, sm_90, sm_90a)");
  opts.target = "gfx90a";
  CHECK(test::errorOf([&] { compileToPTX(*module, opts); }).find("unsupported GPU target") == 0);
}

TEST_CASE("CompileOptions outside their range are errors", "[pipeline][errors]") {
  auto ctx = test::makeContext();
  auto module = dsl::traceKernel(*ctx, kernels::findKernel("vector_add"));
  CompileOptions opts;
  opts.optLevel = 7;
  CHECK(test::errorOf([&] { compileToPTX(*module, opts); }) == "optLevel must be 0-3, got 7");
  opts.optLevel = 3;
  opts.ptxVersion = 999;
  CHECK(test::errorOf([&] { compileToPTX(*module, opts); }) ==
        "ptxVersion 999 is not a PTX ISA version the NVPTX back end writes (e.g. 80 for PTX 8.0)");
  opts.ptxVersion = 78; // wgmma and sm_90a need PTX 8.0
  CHECK(test::errorOf([&] { compileToPTX(*module, opts); }) ==
        "ptxVersion 78 is too old for sm_90a (PTX ISA 8.0 or later)");
  opts.target = "sm_80"; // ...which sm_80 does not
  CHECK(compileToPTX(*module, opts).ptx.find(".version 7.8") != std::string::npos);
}

TEST_CASE("a lowering limit is reported at the user's line", "[pipeline][errors]") {
  auto ctx = test::makeContext();
  int line = 0;
  auto module = trace(*ctx, "big_dot", 4, [&](Kernel &k) {
    Ptr p = k.ptr("p", f32);
    Tile a = zeros({256, 256}, f32);
    line = __LINE__; Tile c = dot(a, a);
    store(p + arange(0, 256).col() * 256 + arange(0, 256).row(), c);
  });
  std::string msg = test::errorOf([&] { compileToPTX(*module, CompileOptions{}); });
  CHECK(msg.find(test::at(__FILE__, line) + "'tile.dot' op needs 524288 bytes of shared memory (0 for "
                                            "tiles, 524288 of scratch), more than the 232448") == 0);
}

TEST_CASE("TESSERA_DUMP_DIR-style dumps write every stage", "[pipeline]") {
  auto dir = std::filesystem::temp_directory_path() / "tessera-dump-test";
  std::filesystem::remove_all(dir);
  auto ctx = test::makeContext();
  auto module = dsl::traceKernel(*ctx, kernels::findKernel("vector_add"));
  CompileOptions opts;
  opts.dumpDir = dir.string();
  compileToPTX(*module, opts);
  CHECK(std::filesystem::exists(dir / "vector_add" / "traced.mlir"));
  CHECK(std::filesystem::exists(dir / "vector_add" / "llvm.ll"));
  CHECK(std::filesystem::exists(dir / "vector_add" / "kernel.ptx"));
  size_t stages = 0;
  for (auto &e : std::filesystem::recursive_directory_iterator(dir / "vector_add" / "passes"))
    stages += e.is_regular_file();
  CHECK(stages >= 8); // one file per pass of buildPipeline
  // A second compile of the kernel (e.g. another configuration) keeps the
  // first one's dumps and writes its own (compileToPTX lowers the module
  // in place: trace it again).
  auto again = dsl::traceKernel(*ctx, kernels::findKernel("vector_add"));
  compileToPTX(*again, opts);
  CHECK(std::filesystem::exists(dir / "vector_add" / "kernel.ptx"));
  CHECK(std::filesystem::exists(dir / "vector_add.2" / "kernel.ptx"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("every pass's output parses back and verifies, for every library kernel",
          "[pipeline][kernels]") {
  // Each kernel in its default configuration, plus the configurations that
  // exercise the most passes: attention with a producer warpgroup and
  // persistent programs, the backward with atomic dQ.
  std::vector<std::pair<std::string, Params>> cases;
  for (const auto &def : kernels::library())
    cases.push_back({def.name, {}});
  cases.push_back({"attention_fwd", {{"HEAD_DIM", "128"}, {"BLOCK_M", "128"}, {"num_warps", "8"},
                                     {"warp_specialize", "1"}, {"INT_MULTIPLE", "16"}}});
  cases.push_back({"attention_fwd", {{"BLOCK_M", "128"}, {"BLOCK_N", "128"}, {"num_warps", "8"},
                                     {"warp_specialize", "1"}, {"MASK_SPLIT", "1"},
                                     {"OVERLAP", "1"}, {"PERSISTENT", "1"}, {"CAUSAL", "1"}}});
  cases.push_back({"attention_bwd_dkdv", {{"ATOMIC_DQ", "1"}, {"INT_MULTIPLE", "16"}}});
  auto dir = std::filesystem::temp_directory_path() /
             ("tessera-roundtrip-test-" + std::to_string(::getpid()));
  for (auto &[name, params] : cases)
    for (std::string target : {"sm_80", "sm_90a"}) {
      INFO(name << " " << params.str() << " for " << target);
      std::filesystem::remove_all(dir);
      auto ctx = test::makeContext();
      auto module = dsl::traceKernel(*ctx, kernels::findKernel(name), params);
      CompileOptions opts;
      opts.target = target;
      opts.dumpDir = dir.string();
      compileToPTX(*module, opts);
      size_t stages = 0;
      for (auto &e : std::filesystem::recursive_directory_iterator(dir / name / "passes")) {
        if (!e.is_regular_file())
          continue;
        ++stages;
        std::ifstream in(e.path());
        std::string text((std::istreambuf_iterator<char>(in)), {});
        auto fresh = test::makeContext();
        std::string diag;
        fresh->getDiagEngine().registerHandler([&](mlir::Diagnostic &d) {
          diag += d.str() + "\n";
          return mlir::success();
        });
        auto parsed = mlir::parseSourceString<mlir::ModuleOp>(text, fresh.get());
        INFO("stage " << e.path().filename().string() << ": " << diag);
        REQUIRE(parsed);
        CHECK(mlir::succeeded(mlir::verify(*parsed)));
      }
      CHECK(stages >= 8);
    }
  std::filesystem::remove_all(dir);
}

TEST_CASE("fpFusion decides whether a multiply feeding an add becomes one FMA", "[pipeline]") {
  // softmax's exp2((x - max) * log2e) and layer norm's (x - mean) * rstd * w + b
  // have multiplies feeding adds; attention's s * scale - m is the case that
  // matters.  Off: every mul/add rounds on its own, written `.rn` so that
  // ptxas fuses nothing either.
  auto ptxOf = [](bool fuse) {
    auto ctx = test::makeContext();
    auto module = dsl::traceKernel(*ctx, kernels::findKernel("attention_fwd"),
                                       Params{{"INT_MULTIPLE", "16"}});
    CompileOptions opts;
    opts.fpFusion = fuse;
    return compileToPTX(*module, opts).ptx;
  };
  std::string fused = ptxOf(true), separate = ptxOf(false);
  CHECK(fused.find("fma.rn.f32") != std::string::npos);
  CHECK(fused.find("mul.rn.f32") == std::string::npos);
  CHECK(separate.find("mul.rn.f32") != std::string::npos);
  CHECK(separate.find("sub.rn.f32") != std::string::npos);
  CHECK(separate.find("fma.rn.f32") == std::string::npos);
}

TEST_CASE("min_blocks reaches PTX as .minnctapersm", "[pipeline]") {
  auto ctx = test::makeContext();
  auto module = dsl::traceKernel(*ctx, kernels::findKernel("attention_fwd"),
                                     Params{{"min_blocks", "3"}});
  std::string ptx = compileToPTX(*module, CompileOptions{}).ptx;
  CHECK(ptx.find(".minnctapersm 3") != std::string::npos);
  auto plain = dsl::traceKernel(*ctx, kernels::findKernel("attention_fwd"));
  CHECK(compileToPTX(*plain, CompileOptions{}).ptx.find(".minnctapersm") == std::string::npos);
}

TEST_CASE("warp_specialize launches the producer warpgroup too, on sm_90a only", "[pipeline]") {
  auto ctx = test::makeContext();
  Params p{{"INT_MULTIPLE", "16"}, {"HEAD_DIM", "128"}, {"BLOCK_M", "128"},
           {"num_warps", "8"}, {"warp_specialize", "1"}};
  CompileOptions hopper;
  hopper.target = "sm_90a";
  auto module = dsl::traceKernel(*ctx, kernels::findKernel("attention_fwd"), p);
  CompiledKernel k = compileToPTX(*module, hopper);
  // 8 consumer warps + 4 producer warps: the launcher must start all 384.
  CHECK(k.info.threadsPerBlock == 384);
  CHECK(k.ptx.find(".maxntid 384, 1, 1") != std::string::npos);
  CHECK(k.ptx.find("setmaxnreg.dec.sync.aligned.u32 24;") != std::string::npos);
  CHECK(k.ptx.find("setmaxnreg.inc.sync.aligned.u32 240;") != std::string::npos);
  // Without TMA (sm_80) the request is ignored: no extra warps.
  auto ampere = dsl::traceKernel(*ctx, kernels::findKernel("attention_fwd"), p);
  CompileOptions sm80;
  sm80.target = "sm_80";
  CompiledKernel a = compileToPTX(*ampere, sm80);
  CHECK(a.info.threadsPerBlock == 256);
  CHECK(a.ptx.find("setmaxnreg") == std::string::npos);
}

TEST_CASE("exp2Ftz lowers exp2 to ex2.approx.ftz.f32", "[pipeline]") {
  auto ptxOf = [](bool ftz) {
    auto ctx = test::makeContext();
    auto module = dsl::traceKernel(*ctx, kernels::findKernel("softmax"));
    CompileOptions opts;
    opts.exp2Ftz = ftz;
    return compileToPTX(*module, opts).ptx;
  };
  std::string ftz = ptxOf(true), plain = ptxOf(false);
  CHECK(ftz.find("ex2.approx.ftz.f32") != std::string::npos);
  CHECK(plain.find("ex2.approx.f32") != std::string::npos);
  CHECK(plain.find("ex2.approx.ftz.f32") == std::string::npos);
}

TEST_CASE("the element-wise vocabulary compiles for sm_80 and sm_90a", "[pipeline]") {
  for (std::string target : {"sm_80", "sm_90a"}) {
    INFO(target);
    auto ctx = test::makeContext();
    auto module = dsl::traceKernel(*ctx, testkernels::elementwiseKernel());
    CompileOptions opts;
    opts.target = target;
    CompiledKernel ck = compileToPTX(*module, opts);
    CHECK(ck.ptx.find("tanh.approx.f32") != std::string::npos);
    CHECK(ck.ptx.find("shl.b32") != std::string::npos);
    CHECK(ck.ptx.find("shr.s32") != std::string::npos);
    CHECK(ck.ptx.find("xor.b32") != std::string::npos);
    // sin/cos after the range reduction (cvt.rni: k = rint(x / 2pi)); pow through lg2.
    CHECK(ck.ptx.find("sin.approx.f32") != std::string::npos);
    CHECK(ck.ptx.find("cos.approx.f32") != std::string::npos);
    CHECK(ck.ptx.find("cvt.rni.f32.f32") != std::string::npos);
    CHECK(ck.ptx.find("lg2.approx.f32") != std::string::npos);
  }
}

TEST_CASE("atomicExchange and atomicCAS compile to atom exch/cas for sm_80 and sm_90a",
          "[pipeline]") {
  for (std::string target : {"sm_80", "sm_90a"}) {
    INFO(target);
    auto ctx = test::makeContext();
    auto module = dsl::traceKernel(*ctx, testkernels::atomicSwapKernel());
    CompileOptions opts;
    opts.target = target;
    CompiledKernel ck = compileToPTX(*module, opts);
    CHECK(ck.ptx.find(".exch.b32") != std::string::npos);
    CHECK(ck.ptx.find(".cas.b32") != std::string::npos);
  }
}

TEST_CASE("argmax/argmin and the scans compile for sm_80 and sm_90a", "[pipeline]") {
  for (std::string target : {"sm_80", "sm_90a"}) {
    for (auto [rows, cols] : {std::pair{16, 64}, {4, 256}, {128, 8}}) {
      INFO(target << " " << rows << "x" << cols);
      auto ctx = test::makeContext();
      auto module = dsl::traceKernel(*ctx, testkernels::axisOpsKernel(),
                                     {{"ROWS", std::to_string(rows)}, {"COLS", std::to_string(cols)}});
      CompileOptions opts;
      opts.target = target;
      CompiledKernel ck = compileToPTX(*module, opts);
      CHECK(ck.ptx.find("bar.sync") != std::string::npos); // the scans' phases
    }
  }
}

TEST_CASE("FP8 and i8 compile for sm_80 and sm_90a; the metadata names the dtypes",
          "[pipeline]") {
  for (std::string target : {"sm_80", "sm_90a"}) {
    INFO(target);
    auto ctx = test::makeContext();
    auto module = dsl::traceKernel(*ctx, testkernels::fp8Kernel());
    CompileOptions opts;
    opts.target = target;
    CompiledKernel ck = compileToPTX(*module, opts);
    CHECK(ck.info.params[1].type == "ptr<f8e4m3>");
    CHECK(ck.info.params[2].type == "ptr<f8e5m2>");
    CHECK(ck.info.params[4].type == "ptr<i8>");
    CHECK(ck.ptx.find("st.global.b8") != std::string::npos);
  }
}

TEST_CASE("Philox (philox4x32, randint4x, rand) compiles for sm_80 and sm_90a", "[pipeline]") {
  for (std::string target : {"sm_80", "sm_90a"}) {
    INFO(target);
    auto ctx = test::makeContext();
    auto module = dsl::traceKernel(*ctx, testkernels::philoxKernel());
    CompileOptions opts;
    opts.target = target;
    CompiledKernel ck = compileToPTX(*module, opts);
    // The 32x32 -> 64-bit products: LLVM narrows them to mul.wide.u32 / mul.hi.u32.
    CHECK((ck.ptx.find("mul.wide.u32") != std::string::npos ||
           ck.ptx.find("mul.hi.u32") != std::string::npos));
  }
}
