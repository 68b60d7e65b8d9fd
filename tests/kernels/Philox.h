//===- Philox.h - a test kernel for the DSL's Philox4x32-10 ---------------===//
//
// philox4x32 on counters and keys read from memory, and rand / randint4x
// keyed by an i64 seed, with a plain C++ Philox4x32-10 (checked against
// Random123's known-answer vectors by the interpreter test).  Shared by the
// interpreter test (tests/unit) and the GPU check (tests/gpu).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/dsl/DSL.h"
#include "tessera/dsl/KernelDef.h"

#include <array>
#include <cstdint>
#include <functional>
#include <cmath>
#include <string>
#include <vector>

namespace tessera::testkernels {

/// Philox4x32-10 in plain C++: the reference.
inline std::array<uint32_t, 4> philoxReference(std::array<uint32_t, 4> c, uint32_t k0,
                                               uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(0xD2511F53u) * c[0], p1 = uint64_t(0xCD9E8D57u) * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k0, uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k1,
         uint32_t(p0)};
    k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
  }
  return c;
}

/// Attention dropout's factor on P for (bh, query i, key j), as the kernels
/// draw it (kernels/lib/AttentionVariants.h: Dropout): kept when the top 24
/// bits of word 0 at counter (j, i, bh, offset) reach round(p 2^24), then
/// scaled by the f32 1 / (1 - p).
inline std::function<double(int64_t, int64_t, int64_t)> attentionDropoutReference(float p,
                                                                                   uint64_t seed,
                                                                                   uint32_t offset) {
  uint32_t threshold = uint32_t(std::lround(double(p) * 16777216.0));
  double scale = double(float(1.0 / (1.0 - double(p))));
  return [=](int64_t bh, int64_t i, int64_t j) {
    auto w = philoxReference({uint32_t(j), uint32_t(i), uint32_t(bh), offset}, uint32_t(seed),
                             uint32_t(seed >> 32));
    return (w[0] >> 8) >= threshold ? scale : 0.0;
  };
}

/// Per element i: out[8i..8i+3] = philox4x32(c[4i..4i+3], k0, k1);
/// out[8i+4..8i+7] = randint4x(seed, i); u[i] = rand(seed, i).
inline dsl::KernelDef philoxKernel() {
  using namespace tessera::dsl;
  return {"test_philox", "philox4x32, randint4x and rand",
          {{"BLOCK", "128"}, {"num_warps", "4"}},
          [](Kernel &k, const Params &p) {
            int64_t block = p.i("BLOCK");
            Ptr c = k.ptr("counters", i32), out = k.ptr("out", i32), u = k.ptr("u", f32);
            Scalar k0 = k.i32("k0"), k1 = k.i32("k1"), seed = k.i64("seed"), n = k.i32("n");
            Tile i = programId(0) * block + arange(0, block);
            Tile m = i < n;
            std::array<Tile, 4> ctr = {load(c + i * 4, m, 0), load(c + i * 4 + 1, m, 0),
                                       load(c + i * 4 + 2, m, 0), load(c + i * 4 + 3, m, 0)};
            std::array<Tile, 4> x = philox4x32(ctr, k0, k1);
            std::array<Tile, 4> r = randint4x(seed, i);
            for (int j = 0; j < 4; ++j) {
              store(out + i * 8 + j, x[j], m);
              store(out + i * 8 + 4 + j, r[j], m);
            }
            store(u + i, rand(seed, i), m);
          }};
}

/// Empty if the kernel's outputs match the reference, else the first difference.
inline std::string philoxMismatch(const std::vector<uint32_t> &counters, uint32_t k0, uint32_t k1,
                                  uint64_t seed, const std::vector<uint32_t> &out,
                                  const std::vector<float> &u) {
  for (size_t i = 0; i < u.size(); ++i) {
    auto x = philoxReference({counters[4 * i], counters[4 * i + 1], counters[4 * i + 2],
                              counters[4 * i + 3]},
                             k0, k1);
    auto r = philoxReference({uint32_t(i), 0, 0, 0}, uint32_t(seed), uint32_t(seed >> 32));
    for (int j = 0; j < 4; ++j) {
      if (out[8 * i + j] != x[j])
        return "philox4x32 element " + std::to_string(i) + " word " + std::to_string(j) + ": " +
               std::to_string(out[8 * i + j]) + ", expected " + std::to_string(x[j]);
      if (out[8 * i + 4 + j] != r[j])
        return "randint4x element " + std::to_string(i) + " word " + std::to_string(j) + ": " +
               std::to_string(out[8 * i + 4 + j]) + ", expected " + std::to_string(r[j]);
    }
    float want = float(r[0] >> 8) / 16777216.0f;
    if (u[i] != want)
      return "rand element " + std::to_string(i) + ": " + std::to_string(u[i]) + ", expected " +
             std::to_string(want);
  }
  return "";
}

} // namespace tessera::testkernels
