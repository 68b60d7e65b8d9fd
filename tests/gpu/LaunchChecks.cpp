//===- LaunchChecks.cpp - bad launch arguments refused before launch ------------- ===//
#include "GpuCheck.h"

namespace gpucheck {

namespace {

/// Bad launches are refused with the argument's name, before the driver.
Result checkLaunchErrors() {
  Result r{"bad launch arguments refused"};
  r.tol = 0;
  auto k = kernel("vector_add", withMult(16));
  Buffer a(4096, "f32"), h(4096, "f16");
  std::vector<std::pair<std::function<void()>, std::string>> cases = {
      {[&] { k->launch({1}, {a, a, a}); }, "expected 4 arguments"},
      {[&] { k->launch({1}, {a, a, h, 16}); }, "argument 'out' (#3) points to f32 but a buffer of f16"},
      {[&] { k->launch({1}, {a, a, a, 17}); }, "argument 'n' (#4) = 17 must be a multiple of 16"},
      {[&] { k->launch({1}, {a, rt::DevicePtr{a.ptr() + 4, "f32"}, a, 16}); },
       "argument 'y' (#2) must be 16-byte aligned"},
      {[&] { k->launch({0}, {a, a, a, 16}); }, "empty grid"},
  };
  for (auto &[fn, want] : cases) {
    std::string got;
    try {
      fn();
    } catch (const rt::LaunchError &e) {
      got = e.what();
    }
    if (got.find(want) == std::string::npos) {
      std::printf("  expected an error containing '%s', got '%s'\n", want.c_str(), got.c_str());
      r.relErr = 1;
    }
  }
  return r;
}

} // namespace

void addLaunchChecks(std::vector<Check> &checks) {
  checks.insert(checks.end(), {
      {"launch", [] { return checkLaunchErrors(); }},
  });
}

} // namespace gpucheck
