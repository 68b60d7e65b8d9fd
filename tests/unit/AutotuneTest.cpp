//===- AutotuneTest.cpp - the autotuner, in the interpreter (no GPU) ------===//
#include "Common.h"

#include "tessera/jit/Autotune.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace tessera;
namespace fs = std::filesystem;

namespace {
struct InterpretEnv {
  fs::path dir = fs::temp_directory_path() / ("tessera-tune-test-" + std::to_string(getpid()));
  InterpretEnv() {
    fs::remove_all(dir);
    setenv("TESSERA_INTERPRET", "1", 1);
  }
  ~InterpretEnv() {
    unsetenv("TESSERA_INTERPRET");
    unsetenv("TESSERA_AUTOTUNE_FORCE");
    fs::remove_all(dir);
  }
};

/// vector_add with a small config space, one config of which does not trace.
dsl::KernelDef tunableAdd() {
  dsl::KernelDef def = kernels::findKernel("vector_add");
  def.configs = dsl::configSpace({{"BLOCK", {"64", "128", "100"}}, {"num_warps", {"1", "2"}}});
  def.tuningKeys = {"n"};
  return def;
}
} // namespace

TEST_CASE("configSpace is the cartesian product", "[autotune]") {
  auto c = dsl::configSpace({{"A", {"1", "2"}}, {"B", {"x", "y", "z"}}});
  REQUIRE(c.size() == 6);
  CHECK(c[0].str() == "A=1,B=x");
  CHECK(c[5].str() == "A=2,B=z");
  CHECK(dsl::Params::parse("A=1,B=x").str() == "A=1,B=x");
  CHECK(test::errorOf([] { dsl::Params::parse("A"); }) ==
        "malformed parameter 'A' (expected KEY=VALUE)");
}

TEST_CASE("the autotuner prunes, picks, persists and reuses", "[autotune][interp]") {
  InterpretEnv env;
  jit::Jit jit;
  auto def = tunableAdd();
  int n = 1000;
  rt::Buffer x(n * 4, "f32"), y(n * 4, "f32"), out(n * 4, "f32");
  std::vector<float> hx(n, 1.f), hy(n, 2.f);
  x.upload(hx);
  y.upload(hy);
  auto grid = [&](const dsl::Params &p) { return rt::Grid{unsigned((n + p.i("BLOCK") - 1) / p.i("BLOCK"))}; };
  std::vector<rt::Arg> args = {x, y, out, n};

  jit::Autotuner tuner(jit, env.dir.string());
  const jit::Choice &c = tuner.tune(def, {}, grid, args);
  CHECK_FALSE(c.fromDisk);
  REQUIRE(c.trials.size() == 6);
  size_t pruned = 0;
  for (const auto &t : c.trials)
    if (!t.pruned.empty()) {
      ++pruned;
      CHECK(t.params.i("BLOCK") == 100);
      CHECK(t.pruned.find("not a power of two") != std::string::npos);
    } else {
      CHECK(t.ms >= 0);
    }
  CHECK(pruned == 2);
  CHECK(c.params.i("BLOCK") != 100);
  // The three fastest bursts are timed again; the longer timing decides.
  size_t finalists = 0;
  double fastest = 1e300;
  for (const auto &t : c.trials)
    if (t.sustainedMs >= 0) {
      ++finalists;
      fastest = std::min(fastest, t.sustainedMs);
    }
  CHECK(finalists == 3);
  CHECK(c.ms == fastest);
  for (const auto &t : c.trials)
    if (t.params.str() == c.params.str())
      CHECK(t.sustainedMs == fastest);

  // The winner runs correctly.
  tuner.launch(def, {}, grid, args);
  for (float v : out.download<float>(n))
    REQUIRE(v == 3.f);

  // A second tuner (as another process would) reads the result from disk.
  jit::Autotuner again(jit, env.dir.string());
  const jit::Choice &c2 = again.tune(def, {}, grid, args);
  CHECK(c2.fromDisk);
  CHECK(c2.params.str() == c.params.str());
  CHECK(c2.trials.empty());
  // The file lists every trial, the pruned ones with their reason.
  std::ifstream f(env.dir / (again.key(def, {}, args) + ".tune"));
  std::string text((std::istreambuf_iterator<char>(f)), {});
  CHECK(text.rfind("best " + c.params.str(), 0) == 0);
  CHECK(text.find("BLOCK=100,num_warps=1 pruned:") != std::string::npos);

  // Another key value is another tuning problem; the force switch re-tunes.
  std::vector<rt::Arg> args2 = {x, y, out, 500};
  CHECK(again.key(def, {}, args2) != again.key(def, {}, args));
  setenv("TESSERA_AUTOTUNE_FORCE", "1", 1);
  jit::Autotuner forced(jit, env.dir.string());
  CHECK_FALSE(forced.tune(def, {}, grid, args).fromDisk);
}

TEST_CASE("benchMillis times at least minReps runs and returns their median", "[autotune][interp]") {
  InterpretEnv env;
  int calls = 0;
  auto sleepy = [&] {
    ++calls;
    // Every run takes >= 2 ms on the host clock (the interpreter's timer).
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
    while (std::chrono::steady_clock::now() < until) {
    }
  };
  jit::BenchOptions opt;
  opt.minReps = 7;
  double ms = jit::benchMillis(sleepy, opt);
  CHECK(calls >= 7);
  CHECK(ms >= 2.0);
  CHECK(ms < 50.0);
}

TEST_CASE("with fewer than three configs left, each is timed again", "[autotune][interp]") {
  InterpretEnv env;
  jit::Jit jit;
  dsl::KernelDef def = kernels::findKernel("vector_add");
  def.configs = dsl::configSpace({{"BLOCK", {"64", "100"}}, {"num_warps", {"1"}}});
  int n = 100;
  rt::Buffer x(n * 4, "f32"), y(n * 4, "f32"), out(n * 4, "f32");
  auto grid = [&](const dsl::Params &p) { return rt::Grid{unsigned((n + p.i("BLOCK") - 1) / p.i("BLOCK"))}; };
  jit::Autotuner tuner(jit, env.dir.string());
  const jit::Choice &c = tuner.tune(def, {}, grid, {x, y, out, n});
  REQUIRE(c.trials.size() == 2);
  CHECK(c.params.i("BLOCK") == 64);
  for (const auto &t : c.trials)
    CHECK((t.sustainedMs >= 0) == t.pruned.empty());
  CHECK(c.ms > 0);
}
