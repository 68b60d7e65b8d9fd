//===- AttentionCommon.h - what the attention API tests share -------------===//
//
// Random f16 tensors in the [b, s, h, d] layout with their float64 copies
// in the references' [b * h, s, d] layout, and the error of a
// device result against a reference.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "Common.h"

#include "tessera/Support/Half.h"
#include "tessera/jit/Attention.h"
#include "tessera/kernels/References.h"

#include <random>

namespace tessera::test {
/// [b, s, h, d] strides of a tensor with h heads, s positions, d dims.
inline jit::AttentionStrides bshd(int h, int s, int d) { return {int64_t(s) * h * d, d, int64_t(h) * d, 1}; }

/// `n` random f16 values, as bits.
inline std::vector<uint16_t> randomHalves(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> dist;
  std::vector<uint16_t> x(n);
  for (auto &e : x)
    e = toHalf(dist(rng));
  return x;
}

/// Random f16 values for a tensor of `batch` entries of h heads, s
/// positions, d dims: as doubles in the reference layout [batch * h, s, d]
/// and as bits in the device layout [batch, s, h, d].
inline std::pair<std::vector<double>, std::vector<uint16_t>>
randomBshd(int h, int s, int d, std::mt19937 &rng, int batch = 1) {
  std::normal_distribution<float> dist;
  std::vector<double> ref(size_t(batch) * h * s * d);
  std::vector<uint16_t> dev(ref.size());
  for (int b = 0; b < batch; ++b)
    for (int ih = 0; ih < h; ++ih)
      for (int is = 0; is < s; ++is)
        for (int id = 0; id < d; ++id) {
          uint16_t x = toHalf(dist(rng));
          ref[((size_t(b) * h + ih) * s + is) * d + id] = fromHalf(x);
          dev[((size_t(b) * s + is) * h + ih) * d + id] = x;
        }
  return {ref, dev};
}
/// An f16 buffer holding `x`.
inline rt::Buffer uploadHalves(const std::vector<uint16_t> &x) {
  rt::Buffer b(x.size() * 2, "f16");
  b.upload(x);
  return b;
}

/// f16 bits as doubles.
inline std::vector<double> halvesToDoubles(const std::vector<uint16_t> &x) {
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = fromHalf(x[i]);
  return y;
}

/// Relative L2 error of `out` against `ref`; absolute where `ref` is all
/// zero (e.g. a gradient a sequence of one causal query leaves zero).
inline double relativeOrAbsoluteL2(const std::vector<double> &out, const std::vector<double> &ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1.0));
}

/// Relative L2 error of f16 buffer `g`, laid out [batch, s, h, d], against
/// `ref` in the reference layout [batch * h, s, d].
inline double bshdError(const std::vector<double> &ref, const rt::Buffer &g, int h, int s, int d) {
  auto out = g.download<uint16_t>(ref.size());
  return relativeL2(ref, [&](size_t i) {
    size_t bh = i / (size_t(s) * d), is = i / d % s, id = i % d;
    size_t b = bh / h, ih = bh % h;
    return double(fromHalf(out[((b * s + is) * h + ih) * d + id]));
  });
}

} // namespace tessera::test
