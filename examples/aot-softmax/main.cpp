// Row-wise softmax of a 1024 x 4096 f16 matrix with a kernel compiled ahead
// of time; checked against a float64 computation.  No LLVM in this program.
#include "app_kernels.h"

#include "tessera/Support/Half.h"

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
  // 4096 columns keep the INT_MULTIPLE=16 specialization's promise; the
  // dispatcher app_kernels::softmax would pick the general one for, say, 4095.
  const int rows = 1024, cols = 4096;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  std::vector<uint16_t> x(size_t(rows) * cols);
  for (auto &v : x)
    v = toHalf(2 * dist(rng));
  rt::Buffer in(x.size() * 2, "f16"), out(x.size() * 2, "f16");
  in.upload(x);
  app_kernels::softmax({rows}, out, in, cols, cols, cols);
  auto y = out.download<uint16_t>(x.size());
  double worst = 0;
  for (int r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int c = 0; c < cols; ++c)
      m = std::max(m, double(fromHalf(x[size_t(r) * cols + c])));
    for (int c = 0; c < cols; ++c)
      s += std::exp(fromHalf(x[size_t(r) * cols + c]) - m);
    for (int c = 0; c < cols; ++c) {
      double ref = std::exp(fromHalf(x[size_t(r) * cols + c]) - m) / s;
      worst = std::max(worst, std::fabs(fromHalf(y[size_t(r) * cols + c]) - ref));
    }
  }
  std::printf("softmax %dx%d (AOT): max |error| %.2e: %s\n", rows, cols, worst,
              worst < 1e-3 ? "ok" : "FAIL");
  return worst < 1e-3 ? 0 : 1;
}
