//===- main.cpp - tessera-gpu-check: every library kernel on a GPU, checked ===//
//
//   tessera-gpu-check [--json FILE] [--kind KIND[,KIND...]] [--pick I[,J...]]
//                     [--only SUBSTRING]
//
// --kind runs only the checks of those kinds (vector_add, softmax,
// layer_norm, atomics, atomic_swap, elementwise, axis_ops, fp8, philox, matmul, attention, score_mod, attention_bwd,
// launch); --pick
// runs only the I-th, J-th... of those (from 0; e.g. one small case under
// compute-sanitizer, which slows every launch); --only keeps the results
// whose name contains SUBSTRING (every selected check still runs).
//
// Through the JIT (trace -> compile -> cache -> checked launch), runs each
// library kernel on fresh random inputs with poisoned outputs, over shapes
// with tails, and compares with the float64 CPU references of kernels/.
// Also checks that bad launch arguments are refused before launch and that a
// second JIT over the same cache loads every kernel from disk.  Exits 77
// (skipped) where there is no driver or GPU, 1 on any mismatch.
//
//===----------------------------------------------------------------------===//
#include "GpuCheck.h"

#include <fstream>
#include <memory>

using namespace gpucheck;

int main(int argc, char **argv) {
  // Line-buffered, so a crash still leaves the lines before it.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string jsonPath, only, kinds, pick;
  bool detail = false; // --detail: every check's breakdown, not only a failed one's
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--detail") {
      detail = true;
      continue;
    }
    if (i + 1 == argc)
      break;
    std::string value = argv[++i];
    if (a == "--json")
      jsonPath = value;
    else if (a == "--only")
      only = value;
    else if (a == "--kind")
      kinds = value;
    else if (a == "--pick")
      pick = value;
  }
  std::unique_ptr<jit::Jit> jitPtr;
  try {
    jitPtr = std::make_unique<jit::Jit>();
  } catch (const DriverError &e) {
    if (e.kind == DriverError::Kind::NoDriver || e.kind == DriverError::Kind::NoDevice) {
      std::printf("skipped: %s\n", e.what());
      return 77;
    }
    std::printf("error: %s\n", e.what());
    return 1;
  }
  gJit = jitPtr.get();
  const rt::Device &dev = gJit->device();
  std::printf("device: %s (sm_%d%d, %d SMs, %d KB L2), driver %d, target %s, cache %s\n",
              dev.name.c_str(), dev.major, dev.minor, dev.smCount, dev.l2Bytes / 1024,
              dev.driverVersion, dev.target().c_str(),
              gJit->compiler().cache().enabled() ? gJit->compiler().cache().dir().c_str() : "off");

  // INT_MULTIPLE=1 kernels take any sizes; INT_MULTIPLE=16 ones are checked
  // on sizes and strides that keep that promise (vectorized accesses).
  // Each check with its kind (--kind selects before running; --only filters
  // the names after), family by family.
  std::vector<Check> checks;
  addRowwiseChecks(checks);
  addMatmulChecks(checks);
  addAttentionChecks(checks);
  addLaunchChecks(checks);
  bool ok = true;
  std::vector<Result> results;
  std::printf("%-50s %12s %10s %9s %9s  %s\n", "check", "rel. error", "max |err|", "tolerance",
              "ms", "result");
  size_t selected = 0;
  for (auto &[kind, c] : checks) {
    if (!kinds.empty() && ("," + kinds + ",").find("," + kind + ",") == std::string::npos)
      continue;
    if (!pick.empty() &&
        ("," + pick + ",").find("," + std::to_string(selected++) + ",") == std::string::npos)
      continue;
    Result r;
    try {
      r = c();
      if (!only.empty() && r.name.find(only) == std::string::npos)
        continue; // (ran, but not asked for: cheap, and keeps the list simple)
    } catch (const Error &e) {
      std::printf("ERROR: %s\n", e.what());
      ok = false;
      continue;
    }
    std::printf("%-50s %12.3e %10.3e %9.0e %9.3f  %s\n", r.name.c_str(), r.relErr, r.maxAbs, r.tol,
                r.ms, r.pass() ? "ok" : (r.nan ? "FAIL (non-finite)" : "FAIL"));
    if ((detail || !r.pass()) && !r.detail.empty())
      std::printf("%s", r.detail.c_str());
    ok &= r.pass();
    results.push_back(r);
  }
  auto st = gJit->compiler().stats();
  std::printf("jit: %zu compiled, %zu from the disk cache, %zu memory hits\n", st.compiles,
              st.diskHits, st.memoryHits);
  if (!jsonPath.empty()) {
    std::ofstream js(jsonPath);
    js << "{\"device\": \"" << dev.name << "\", \"driver\": " << dev.driverVersion
       << ", \"target\": \"" << dev.target() << "\", \"compiled\": " << st.compiles
       << ", \"disk_hits\": " << st.diskHits << ", \"checks\": [\n";
    for (size_t i = 0; i < results.size(); ++i)
      js << "  {\"name\": \"" << results[i].name << "\", \"rel_err\": " << results[i].relErr
         << ", \"max_abs\": " << results[i].maxAbs << ", \"tol\": " << results[i].tol
         << ", \"ms\": " << results[i].ms << ", \"pass\": " << (results[i].pass() ? "true" : "false")
         << "}" << (i + 1 < results.size() ? "," : "") << "\n";
    js << "]}\n";
  }
  std::printf(ok ? "all GPU checks passed\n" : "GPU CHECKS FAILED\n");
  return ok ? 0 : 1;
}

