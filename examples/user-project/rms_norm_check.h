// Inputs and the float64 check shared by the JIT and the AOT program.
#pragma once

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

constexpr int kRows = 37, kCols = 1000;
constexpr float kEps = 1e-6f;

/// Random rows x (kRows x kCols) and weights w near 1.
inline void makeInputs(std::vector<float> &x, std::vector<float> &w) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  x.resize(size_t(kRows) * kCols), w.resize(kCols);
  for (auto &v : x)
    v = dist(rng);
  for (auto &v : w)
    v = 1 + 0.1f * dist(rng);
}

/// The largest error of y against RMSNorm computed in float64, relative to
/// max(1, |reference|).
inline double rmsNormError(const std::vector<float> &x, const std::vector<float> &w,
                           const std::vector<float> &y) {
  double worst = 0;
  for (int r = 0; r < kRows; ++r) {
    double ss = 0;
    for (int c = 0; c < kCols; ++c)
      ss += double(x[size_t(r) * kCols + c]) * x[size_t(r) * kCols + c];
    double rstd = 1 / std::sqrt(ss / kCols + kEps);
    for (int c = 0; c < kCols; ++c) {
      double ref = x[size_t(r) * kCols + c] * rstd * w[c];
      worst = std::max(worst, std::fabs(y[size_t(r) * kCols + c] - ref) / (1 + std::fabs(ref)));
    }
  }
  return worst;
}
