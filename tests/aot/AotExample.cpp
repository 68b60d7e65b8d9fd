//===- AotExample.cpp - kernels compiled ahead of time, no LLVM linked ----===//
//
// Uses launchers that tessera-aot generated at build time (tessera_add_kernels
// in tests/CMakeLists.txt); this program links only Tessera's runtime.
// Checks the results against the float64 references; exits 77 without a GPU.
//
//===----------------------------------------------------------------------===//
#include "example_kernels.h"

#include "tessera/Support/Half.h"
#include "tessera/kernels/References.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

using namespace tessera;

int main() {
  auto t0 = std::chrono::steady_clock::now();
  double initMs = 0;
  try {
    rt::openDevice();
    initMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  } catch (const rt::DriverError &e) {
    if (e.kind != rt::DriverError::Kind::Call) {
      std::printf("skipped: %s\n", e.what());
      return 77;
    }
    throw;
  }
  try {
    std::mt19937 rng(7);
    std::normal_distribution<float> d;
    int n = 100003;
    std::vector<float> x(n), y(n);
    for (int i = 0; i < n; ++i)
      x[i] = d(rng), y[i] = d(rng);
    rt::Buffer bx(n * 4, "f32"), by(n * 4, "f32"), bo(n * 4, "f32");
    bx.upload(x);
    by.upload(y);
    bo.fill(0xff);
    example_kernels::vector_add({unsigned((n + 255) / 256)}, bx, by, bo, n);
    double firstLaunchMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    auto o = bo.download<float>(n);
    double maxErr = 0;
    for (int i = 0; i < n; ++i)
      maxErr = std::max(maxErr, std::fabs(double(o[i]) - (double(x[i]) + double(y[i]))));

    int rows = 64, cols = 4096;
    std::vector<uint16_t> h(size_t(rows) * cols);
    std::vector<double> hv(h.size()), ref(h.size());
    for (size_t i = 0; i < h.size(); ++i) {
      h[i] = toHalf(2.f * d(rng));
      hv[i] = fromHalf(h[i]);
    }
    rt::Buffer si(h.size() * 2, "f16"), so(h.size() * 2, "f16");
    si.upload(h);
    so.fill(0xff);
    example_kernels::softmax({unsigned(rows)}, so, si, cols, cols, cols);
    auto out = so.download<uint16_t>(h.size());
    kernels::ref::softmax(hv.data(), ref.data(), rows, cols);
    double num = 0, den = 0;
    for (size_t i = 0; i < h.size(); ++i) {
      double e = fromHalf(out[i]) - ref[i];
      num += e * e;
      den += ref[i] * ref[i];
    }
    double rel = std::sqrt(num / den);
    bool ok = maxErr < 1e-5 && rel < 2e-3 && std::isfinite(rel);
    std::printf("AOT vector_add max |err| %.2e, softmax rel. error %.2e: %s\n", maxErr, rel,
                ok ? "ok" : "FAIL");
    std::printf("start-up to first launch done: %.1f ms, of which driver initialization %.1f ms\n",
                firstLaunchMs, initMs);
    return ok ? 0 : 1;
  } catch (const Error &e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
