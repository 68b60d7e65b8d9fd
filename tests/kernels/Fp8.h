//===- Fp8.h - a test kernel for the i8 and FP8 element types -------------===//
//
// f32 values converted to f8e4m3 and f8e5m2 and stored (the bytes are
// checked against a reference that searches all 256 codes for the nearest,
// ties to the even code, saturating), loaded back and widened to f32, and
// an f16 -> FP8 -> bf16 chain; i8 loaded, widened, wrapped in i8 arithmetic
// and stored.  Inputs span FP8's subnormals to past its largest finite
// value, with ties and IEEE specials.  Shared by the interpreter test
// (tests/unit) and the GPU check (tests/gpu).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/dsl/DSL.h"
#include "tessera/dsl/KernelDef.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace tessera::testkernels {

inline dsl::KernelDef fp8Kernel() {
  using namespace tessera::dsl;
  return {"test_fp8", "FP8 (e4m3, e5m2) and i8: conversions, loads and stores",
          {{"BLOCK", "128"}, {"num_warps", "4"}},
          [](Kernel &k, const Params &p) {
            int64_t block = p.i("BLOCK");
            Ptr x = k.ptr("x", f32), q4 = k.ptr("q4", f8e4m3), q5 = k.ptr("q5", f8e5m2);
            Ptr back = k.ptr("back", f32), xb = k.ptr("xb", i8), outb = k.ptr("outb", i8);
            Ptr outi = k.ptr("outi", i32);
            Scalar n = k.i32("n");
            Tile offs = programId(0) * block + arange(0, block);
            Tile m = offs < n;
            Tile v = load(x + offs, m);
            store(q4 + offs, v.to(f8e4m3), m);
            store(q5 + offs, v.to(f8e5m2), m);
            // Read back what was stored (other: a saturated constant).
            Tile r4 = load(q4 + offs, m, 1000.0), r5 = load(q5 + offs, m);
            Tile o = offs * 3;
            store(back + o, r4.to(f32), m);
            store(back + o + 1, r5.to(f32), m);
            store(back + o + 2, v.to(f16).to(f8e4m3).to(bf16).to(f32), m);
            Tile b = load(xb + offs, m);
            store(outb + offs, b * 3 + 1, m); // wraps in i8
            store(outi + offs * 2, b.to(i32), m);
            store(outi + offs * 2 + 1, b.to(f32).to(i32) + b.to(i64).to(i32), m);
          }};
}

/// FP8 formats by exponent/mantissa bits: e4m3 (bias 7, no infinities,
/// S.1111.111 NaN) and e5m2 (bias 15, IEEE-like).
inline double fp8Decode(uint8_t c, bool e4m3) {
  int man = e4m3 ? 3 : 2, bias = e4m3 ? 7 : 15, expMax = e4m3 ? 15 : 31;
  int e = (c & 0x7F) >> man, m = c & ((1 << man) - 1);
  double s = c & 0x80 ? -1 : 1;
  if (e4m3 && (c & 0x7F) == 0x7F)
    return NAN;
  if (!e4m3 && e == expMax)
    return m ? NAN : s * INFINITY;
  if (e == 0)
    return s * std::ldexp(m, 1 - bias - man);
  return s * std::ldexp((1 << man) + m, e - bias - man);
}

/// The code of the finite FP8 value nearest x (ties: the even code),
/// saturating; 0x7F for NaN.  A search over all codes, independent of the
/// bit tricks the compiler uses.
inline uint8_t fp8Encode(float x, bool e4m3) {
  if (std::isnan(x))
    return 0x7F;
  // Saturation: anything past the largest finite value is that value.
  double a = std::min(std::fabs(double(x)), e4m3 ? 448.0 : 57344.0);
  int best = 0;
  double bestErr = INFINITY;
  for (int c = 0; c < 0x80; ++c) {
    double v = fp8Decode(uint8_t(c), e4m3);
    if (!std::isfinite(v))
      continue;
    double err = std::fabs(v - a);
    if (err < bestErr || (err == bestErr && c % 2 == 0))
      best = c, bestErr = err;
  }
  return uint8_t(best | (std::signbit(x) ? 0x80 : 0));
}

struct Fp8Data {
  std::vector<float> x;
  std::vector<int8_t> xb;
  template <class Rng> Fp8Data(int n, Rng &rng) : x(size_t(n)), xb(size_t(n)) {
    std::normal_distribution<float> d;
    std::uniform_int_distribution<int> scale(-22, 17);
    for (int i = 0; i < n; ++i) {
      x[i] = std::ldexp(d(rng), scale(rng));
      xb[i] = int8_t(rng());
    }
    // Ties (1.0625 between e4m3's 1 and 1.125; 1.1875 between 1.125 and
    // 1.25), the largest finite values and past them, specials.
    const float special[] = {0.0f,   -0.0f,   1.0625f, 1.1875f, -1.0625f, 448.0f, 449.0f, 464.0f,
                             480.0f, 1e6f,    -1e6f,   57344.0f, 61440.0f, INFINITY, -INFINITY,
                             NAN,    0x1p-9f, 0x1p-10f, 3 * 0x1p-11f, 0x1p-16f, 0x1p-17f, 3 * 0x1p-18f};
    for (size_t i = 0; i < std::size(special) && i < x.size(); ++i)
      x[i] = special[i];
  }
};

struct Fp8Outputs {
  std::vector<uint8_t> q4, q5;
  std::vector<float> back;
  std::vector<int8_t> outb;
  std::vector<int32_t> outi;
  explicit Fp8Outputs(int n)
      : q4(size_t(n)), q5(size_t(n)), back(size_t(n) * 3), outb(size_t(n)), outi(size_t(n) * 2) {}
};

/// Empty if the kernel's outputs are exact; else what differs.
inline std::string fp8Mismatch(const Fp8Data &d, const Fp8Outputs &out) {
  auto same = [](double got, double want) {
    return std::isnan(want) ? std::isnan(got) : got == want && std::signbit(got) == std::signbit(want);
  };
  for (size_t i = 0; i < d.x.size(); ++i) {
    float x = d.x[i];
    uint8_t c4 = fp8Encode(x, true), c5 = fp8Encode(x, false);
    bool nan = std::isnan(x);
    auto hex = [](unsigned v) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02x", v);
      return std::string(buf);
    };
    if ((nan ? (out.q4[i] & 0x7F) != 0x7F : out.q4[i] != c4) ||
        (nan ? !std::isnan(fp8Decode(out.q5[i], false)) : out.q5[i] != c5))
      return "element " + std::to_string(i) + " (" + std::to_string(x) + "): e4m3 " +
             hex(out.q4[i]) + " e5m2 " + hex(out.q5[i]) + ", expected " + hex(c4) + " " + hex(c5);
    // f16 first: x rounded to f16 (its subnormals, overflow to inf), then e4m3.
    float h = float(_Float16(x));
    double want[3] = {fp8Decode(c4, true), fp8Decode(c5, false),
                      fp8Decode(fp8Encode(h, true), true)};
    for (int j = 0; j < 3; ++j)
      if (!same(out.back[i * 3 + j], want[j]))
        return "element " + std::to_string(i) + " (" + std::to_string(x) + ") widened " +
               std::to_string(j) + ": " + std::to_string(out.back[i * 3 + j]) + ", expected " +
               std::to_string(want[j]);
    int8_t b = d.xb[i];
    if (out.outb[i] != int8_t(uint8_t(b) * 3 + 1) || out.outi[i * 2] != b ||
        out.outi[i * 2 + 1] != 2 * b)
      return "element " + std::to_string(i) + " i8 " + std::to_string(b) + ": " +
             std::to_string(out.outb[i]) + ", " + std::to_string(out.outi[i * 2]) + ", " +
             std::to_string(out.outi[i * 2 + 1]);
  }
  return "";
}

} // namespace tessera::testkernels
