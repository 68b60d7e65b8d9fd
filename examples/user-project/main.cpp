// A program outside Tessera's tree that JIT-compiles its own DSL kernel
// (kernels.cpp) and checks it against float64 arithmetic.  With
// TESSERA_INTERPRET=1 it runs in Tessera's CPU interpreter (no GPU needed).
#include "tessera/jit/Jit.h"
#include "tessera/kernels/Library.h"
#include "tessera/rt/Runtime.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  using namespace tessera;
  const int rows = 37, cols = 1000;
  const float eps = 1e-6f;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> x(size_t(rows) * cols), w(cols);
  for (auto &v : x)
    v = dist(rng);
  for (auto &v : w)
    v = 1 + 0.1f * dist(rng);
  try {
    jit::Jit jit;
    auto kernel = jit.get(kernels::findKernel("user_rms_norm"), {{"BLOCK", "1024"}});
    rt::Buffer bx(x.size() * 4, "f32"), bw(w.size() * 4, "f32"), by(x.size() * 4, "f32");
    bx.upload(x);
    bw.upload(w);
    kernel->launch({unsigned(rows)}, {bx, bw, by, cols, eps});
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
    std::printf("user_rms_norm %dx%d (JIT%s): max rel. error %.2e: %s\n", rows, cols,
                rt::interpretMode() ? ", interpreter" : "", worst, ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
  } catch (const rt::DriverError &e) { // no GPU and no TESSERA_INTERPRET=1
    std::printf("no GPU here: %s\n", e.what());
    return e.kind == rt::DriverError::Kind::Call ? 1 : 77;
  } catch (const Error &e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
