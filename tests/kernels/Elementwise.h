//===- Elementwise.h - a test kernel for the DSL's element-wise vocabulary -===//
//
// tanh, sigmoid, floor, ceil, maximum/minimum with a constant, erf, sin,
// cos (arguments to about +-100: the range reduction), pow (negative bases,
// integral and fractional powers), integer ^, <<, >> (shift amounts past the
// width and negative ones included) and a scalar store, with
// the float64/int64 results they must give.  Shared by the interpreter test
// (tests/unit) and the GPU check (tests/gpu).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/dsl/DSL.h"
#include "tessera/dsl/KernelDef.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::testkernels {

inline constexpr int kElementwiseOutputs = 12; // f32 results per element

inline dsl::KernelDef elementwiseKernel() {
  using namespace tessera::dsl;
  return {"test_elementwise",
          "tanh, sigmoid, floor, ceil, maximum/minimum with constants, ^ << >>",
          {{"BLOCK", "128"}, {"num_warps", "4"}},
          [](Kernel &k, const Params &p) {
            int64_t block = p.i("BLOCK");
            Ptr x = k.ptr("x", f32), xi = k.ptr("xi", i32), s = k.ptr("shift", i32);
            Ptr out = k.ptr("out", f32), outi = k.ptr("outi", i32), psum = k.ptr("psum", f32);
            Scalar n = k.i32("n");
            Tile offs = programId(0) * block + arange(0, block);
            Tile m = offs < n;
            Tile v = load(x + offs, m), iv = load(xi + offs, m), sv = load(s + offs, m);
            Tile o = offs * kElementwiseOutputs;
            store(out + o, tanh(v), m);
            store(out + o + 1, sigmoid(v), m);
            store(out + o + 2, floor(v * 3.0), m);
            store(out + o + 3, ceil(v * 3.0), m);
            store(out + o + 4, maximum(v, 0.0), m);
            store(out + o + 5, minimum(v, 0.5), m);
            store(out + o + 6, erf(v), m);
            store(out + o + 7, sin(v * 10.0), m);
            store(out + o + 8, cos(v * 10.0), m);
            store(out + o + 9, pow(abs(v), v * 0.5), m);
            store(out + o + 10, pow(v, 3.0), m);
            store(out + o + 11, pow(v, 0.5), m); // NaN for negative v
            Tile oi = offs * 3;
            store(outi + oi, iv ^ (sv * 12345), m);
            store(outi + oi + 1, iv << sv, m);
            store(outi + oi + 2, iv >> sv, m);
            // A scalar store: each program's sum of its floor outputs.
            store(psum + programId(0), sum(where(m, floor(v * 3.0), 0.0)));
          }};
}

/// IEEE special values in x[1..]: pow's and the range reduction's edge
/// cases (0, -0, infinities, NaN, +-1) reach every output.
inline void addSpecialValues(std::vector<float> &x) {
  const float inf = INFINITY;
  const float specials[] = {0.0f, -0.0f, inf, -inf, NAN, 1.0f, -1.0f, -2.0f, 0.5f};
  for (size_t i = 0; i < std::size(specials) && i + 1 < x.size(); ++i)
    x[i + 1] = specials[i];
}

/// NaN where `want` is NaN, the same infinity, else within `tol`: absolute
/// below magnitude 1, relative above.
inline bool close(double got, double want, double tol) {
  if (std::isnan(want))
    return std::isnan(got);
  if (std::isinf(want))
    return got == want;
  return std::fabs(got - want) <= tol * std::max(1.0, std::fabs(want));
}

/// The per-program sums the kernel stores through a scalar pointer.
inline std::string programSumsMismatch(const std::vector<float> &x, int block,
                                       const std::vector<float> &psum) {
  for (size_t p = 0; p < psum.size(); ++p) {
    double want = 0;
    for (size_t i = p * block; i < std::min(x.size(), (p + 1) * size_t(block)); ++i)
      want += std::floor(float(x[i] * 3));
    if (!close(psum[p], want, 1e-6))
      return "program " + std::to_string(p) + " sum " + std::to_string(psum[p]) +
             ", expected " + std::to_string(want);
  }
  return "";
}

/// Empty if the outputs are what the kernel must give (f32 within `tol`,
/// absolute below magnitude 1 and relative above; tanh within `tanhTol`: the
/// GPU's tanh.approx; NaN where the reference is NaN), else what differs.
inline std::string elementwiseMismatch(const std::vector<float> &x, const std::vector<int32_t> &xi,
                                       const std::vector<int32_t> &shift,
                                       const std::vector<float> &out,
                                       const std::vector<int32_t> &outi, double tol,
                                       double tanhTol) {
  for (size_t i = 0; i < x.size(); ++i) {
    double v = x[i];
    double want[kElementwiseOutputs] = {std::tanh(v),           1 / (1 + std::exp(-v)),
                                        std::floor(float(v * 3)), std::ceil(float(v * 3)),
                                        std::max(v, 0.0),       std::min(v, 0.5),
                                        std::erf(v),
                                        std::sin(float(v * 10)),
                                        std::cos(float(v * 10)),
                                        std::pow(std::fabs(v), v * 0.5),
                                        std::pow(v, 3.0),
                                        std::pow(v, 0.5)};
    for (int j = 0; j < kElementwiseOutputs; ++j) {
      double got = out[i * kElementwiseOutputs + j];
      if (!close(got, want[j], j == 0 ? tanhTol : tol))
        return "element " + std::to_string(i) + " output " + std::to_string(j) + ": " +
               std::to_string(got) + ", expected " + std::to_string(want[j]);
    }
    int32_t a = xi[i], s = shift[i];
    uint32_t us = uint32_t(s);
    int32_t wantXor = a ^ int32_t(uint32_t(s) * 12345u);
    int32_t wantShl = us < 32 ? int32_t(uint32_t(a) << us) : 0;
    int32_t wantShr = a >> (us < 32 ? us : 31);
    int32_t got[3] = {outi[i * 3], outi[i * 3 + 1], outi[i * 3 + 2]};
    int32_t want3[3] = {wantXor, wantShl, wantShr};
    for (int j = 0; j < 3; ++j)
      if (got[j] != want3[j])
        return "element " + std::to_string(i) + " integer output " + std::to_string(j) + " (" +
               std::to_string(a) + ", shift " + std::to_string(s) + "): " +
               std::to_string(got[j]) + ", expected " + std::to_string(want3[j]);
  }
  return "";
}

} // namespace tessera::testkernels
