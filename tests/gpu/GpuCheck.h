//===- GpuCheck.h - what every GPU check shares: the JIT, inputs, compare -===//
#pragma once

#include "tessera/Support/Half.h"
#include "tessera/jit/Jit.h"
#include "tessera/kernels/References.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace gpucheck {

using namespace tessera;
using namespace tessera::rt;

using rt::Buffer;

inline jit::Jit *gJit = nullptr;

/// The library kernel `name` with `params`, through the JIT.
inline std::shared_ptr<rt::Kernel> kernel(const std::string &name, const dsl::Params &params) {
  return gJit->get(kernels::findKernel(name), params);
}

/// Runs `work` (launches on the default stream) and waits; returns its GPU
/// time in ms (events around it).
inline float timed(const std::function<void()> &work) {
  const Driver &d = driver();
  CUevent start, stop;
  check(d.eventCreate(&start, 0), "cuEventCreate");
  check(d.eventCreate(&stop, 0), "cuEventCreate");
  check(d.eventRecord(start, nullptr), "cuEventRecord");
  work();
  check(d.eventRecord(stop, nullptr), "cuEventRecord");
  check(d.ctxSynchronize(), "kernel execution");
  float ms = 0;
  check(d.eventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  d.eventDestroy(start);
  d.eventDestroy(stop);
  return ms;
}

/// Launches and waits; returns the kernel time in ms (one launch, events).
inline float launch(const rt::Kernel &k, rt::Grid grid, const std::vector<rt::Arg> &args) {
  return timed([&] { k.launch(grid, args); });
}

inline std::mt19937_64 rng(std::random_device{}());

inline std::vector<double> randomHalfValues(size_t n, double scale = 1.0) {
  std::normal_distribution<float> dist(0.0f, float(scale));
  std::vector<double> v(n);
  for (auto &x : v)
    x = fromHalf(toHalf(dist(rng))); // exactly representable in f16
  return v;
}
/// Random values exactly representable in f16 (or bf16).
inline std::vector<double> randomValues(size_t n, bool bf) {
  if (!bf)
    return randomHalfValues(n);
  std::normal_distribution<float> dist;
  std::vector<double> v(n);
  for (auto &x : v)
    x = fromBF16(toBF16(dist(rng)));
  return v;
}
inline std::vector<uint16_t> as16(const std::vector<double> &v, bool bf) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    h[i] = bf ? toBF16(float(v[i])) : toHalf(float(v[i]));
  return h;
}
inline std::vector<double> from16(const std::vector<uint16_t> &h, bool bf) {
  std::vector<double> v(h.size());
  for (size_t i = 0; i < h.size(); ++i)
    v[i] = bf ? fromBF16(h[i]) : fromHalf(h[i]);
  return v;
}

inline std::vector<uint16_t> asHalf(const std::vector<double> &v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    h[i] = toHalf(float(v[i]));
  return h;
}

/// `x` of [b, h, s, d] (the references' order) as [b, s, h, d], or, with
/// `toBshd` false, [b, s, h, d] back to [b, h, s, d].
inline std::vector<double> swapHeadsAndSeq(const std::vector<double> &x, int b, int h, int s,
                                           int d, bool toBshd) {
  std::vector<double> y(x.size());
  for (int ib = 0; ib < b; ++ib)
    for (int ih = 0; ih < h; ++ih)
      for (int is = 0; is < s; ++is)
        for (int id = 0; id < d; ++id) {
          size_t bhsd = ((size_t(ib) * h + ih) * s + is) * d + id;
          size_t bshd = ((size_t(ib) * s + is) * h + ih) * d + id;
          if (toBshd)
            y[bshd] = x[bhsd];
          else
            y[bhsd] = x[bshd];
        }
  return y;
}

struct Result {
  std::string name;
  double relErr = 0;  ///< ||out - ref|| / ||ref||
  double maxAbs = 0;  ///< max |out - ref|
  double tol = 0;
  bool nan = false;
  float ms = 0;
  /// Printed under a failed check: where its error is (which output, which
  /// part), so that a failure seen once says more than its total.
  std::string detail;
  bool pass() const { return !nan && relErr <= tol; }
};

inline Result compare(const std::string &name, const std::vector<double> &out,
               const std::vector<double> &ref, double tol, float ms) {
  Result r{name};
  r.tol = tol;
  r.ms = ms;
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i]))
      r.nan = true;
    double d = out[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    r.maxAbs = std::max(r.maxAbs, std::fabs(d));
  }
  r.relErr = std::sqrt(num / std::max(den, 1e-300));
  return r;
}

inline std::vector<double> halfToDouble(const std::vector<uint16_t> &h) {
  std::vector<double> v(h.size());
  for (size_t i = 0; i < h.size(); ++i)
    v[i] = fromHalf(h[i]);
  return v;
}

inline dsl::Params withMult(int mult, dsl::Params p = {}) {
  return p.set("INT_MULTIPLE", mult);
}
inline std::string label(int mult, const std::string &name) {
  return (mult > 1 ? "[x" + std::to_string(mult) + "] " : "") + name;
}

/// A check and its kind (what --kind selects).
using Check = std::pair<std::string, std::function<Result()>>;

// The checks of each kernel family, appended in the order they run.
void addRowwiseChecks(std::vector<Check> &checks);   // vector_add, softmax, layer_norm
void addMatmulChecks(std::vector<Check> &checks);
void addAttentionChecks(std::vector<Check> &checks);
void addLaunchChecks(std::vector<Check> &checks);

} // namespace gpucheck
