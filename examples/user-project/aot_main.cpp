// The same kernel compiled ahead of time (tessera_add_kernels ... PLUGIN
// kernels.cpp): this program links only Tessera::Runtime (no LLVM) and runs
// the embedded image on the GPU; without one it says so and exits 77.
#include "user_kernels.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  using namespace tessera;
  try {
    rt::openDevice();
  } catch (const rt::DriverError &e) {
    std::printf("no GPU here: %s\n", e.what());
    return e.kind == rt::DriverError::Kind::Call ? 1 : 77;
  }
  const int rows = 37, cols = 1000;
  const float eps = 1e-6f;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> x(size_t(rows) * cols), w(cols);
  for (auto &v : x)
    v = dist(rng);
  for (auto &v : w)
    v = 1 + 0.1f * dist(rng);
  rt::Buffer bx(x.size() * 4, "f32"), bw(w.size() * 4, "f32"), by(x.size() * 4, "f32");
  bx.upload(x);
  bw.upload(w);
  user_kernels::user_rms_norm({unsigned(rows)}, bx, bw, by, cols, eps);
  std::vector<float> y = by.download<float>(x.size());
  double worst = 0;
  for (int r = 0; r < rows; ++r) {
    double ss = 0;
    for (int c = 0; c < cols; ++c)
      ss += double(x[size_t(r) * cols + c]) * x[size_t(r) * cols + c];
    double rstd = 1 / std::sqrt(ss / cols + eps);
    for (int c = 0; c < cols; ++c) {
      double ref = x[size_t(r) * cols + c] * rstd * w[c];
      worst = std::max(worst, std::fabs(y[size_t(r) * cols + c] - ref) / (1 + std::fabs(ref)));
    }
  }
  bool ok = worst < 1e-5;
  std::printf("user_rms_norm %dx%d (AOT): max rel. error %.2e: %s\n", rows, cols, worst,
              ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}
