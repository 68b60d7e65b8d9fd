//===- Atomics.h - test kernels for the DSL's atomics and their expected results -===//
//
// atomicsKernel exercises atomicAdd/Max/Min, shared by the interpreter
// test (tests/unit) and the GPU check (tests/gpu): f32 sums into a few
// buckets, f32 max/min over mixed and all-negative values (the sign-split
// integer atomics on the GPU), i32 max, and tickets (an i32 add whose
// returned old values must be a permutation of 0..n-1).  With BLOCK below
// 32 * num_warps the tiles are replicated: one owner per element updates
// memory and the old values reach the replicas through shared memory.
// atomicSwapKernel exercises atomicExchange and atomicCAS (i32 and f32),
// checked by invariants that hold in any arrival order.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/dsl/DSL.h"
#include "tessera/dsl/KernelDef.h"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace tessera::testkernels {

inline constexpr int kAtomicBuckets = 8;

inline dsl::KernelDef atomicsKernel() {
  using namespace tessera::dsl;
  return {"test_atomics",
          "atomicAdd/Max/Min over buckets, and tickets",
          {{"BLOCK", "64"}, {"num_warps", "1"}},
          [](Kernel &k, const Params &p) {
            int64_t block = p.i("BLOCK");
            Ptr x = k.ptr("x", f32), xi = k.ptr("xi", i32);
            Ptr sums = k.ptr("sums", f32), fmax = k.ptr("fmax", f32), fmin = k.ptr("fmin", f32);
            Ptr imax = k.ptr("imax", i32), ticket = k.ptr("ticket", i32);
            Ptr tickets = k.ptr("tickets", i32);
            Scalar n = k.i32("n");
            Tile offs = programId(0) * block + arange(0, block);
            Tile m = offs < n;
            Tile v = load(x + offs, m), iv = load(xi + offs, m);
            atomicAdd(sums + offs % kAtomicBuckets, v, m);
            // Slots 0-1: mixed signs; 2-3: every value negative.
            Tile negative = 0.0 - v * v - 1.0;
            atomicMax(fmax + offs % 2, v, m);
            atomicMax(fmax + offs % 2 + 2, negative, m);
            atomicMin(fmin + offs % 2, v, m);
            atomicMin(fmin + offs % 2 + 2, negative, m);
            atomicMax(imax + offs % 4, iv, m);
            store(tickets + offs, atomicAdd(ticket + offs * 0, offs * 0 + 1, m), m);
          }};
}

/// Buffers of the kernel's outputs and their initial values.
struct AtomicsOutputs {
  std::vector<float> sums = std::vector<float>(kAtomicBuckets, 0.f),
                     fmax = std::vector<float>(4, -FLT_MAX), fmin = std::vector<float>(4, FLT_MAX);
  std::vector<int32_t> imax = std::vector<int32_t>(4, INT_MIN), ticket = {0}, tickets;
  explicit AtomicsOutputs(int n) : tickets(size_t(n), -1) {}
};

/// Empty if `out` is what the kernel must produce from `x`, `xi`; else what
/// differs.
inline std::string atomicsMismatch(const std::vector<float> &x, const std::vector<int32_t> &xi,
                                   const AtomicsOutputs &out) {
  int n = int(x.size());
  std::vector<double> sums(kAtomicBuckets, 0.0), squares(kAtomicBuckets, 0.0);
  std::vector<float> fmax(4, -FLT_MAX), fmin(4, FLT_MAX);
  std::vector<int32_t> imax(4, INT_MIN);
  for (int i = 0; i < n; ++i) {
    sums[i % kAtomicBuckets] += x[i];
    squares[i % kAtomicBuckets] += double(x[i]) * x[i];
    float neg = 0.f - x[i] * x[i] - 1.f;
    fmax[i % 2] = std::max(fmax[i % 2], x[i]);
    fmax[i % 2 + 2] = std::max(fmax[i % 2 + 2], neg);
    fmin[i % 2] = std::min(fmin[i % 2], x[i]);
    fmin[i % 2 + 2] = std::min(fmin[i % 2 + 2], neg);
    imax[i % 4] = std::max(imax[i % 4], xi[i]);
  }
  // The atomic f32 sums add in whatever order the threads arrive: each
  // addition rounds by up to half an ulp of the partial sum, and for
  // zero-mean inputs the partial sums grow like sqrt(k * mean square), so
  // the rounding errors add up to a standard deviation of about
  // 0.2 * eps * sqrt(count * sum of squares).  Ten of those is no flake
  // (a fixed 1e-4 relative bound failed under compute-sanitizer, which
  // reorders the atomics) and still below the size of a typical input
  // element missed or added twice (3e-3 at n = 100003, 0.03 at 2^20).
  int perBucket = (n + kAtomicBuckets - 1) / kAtomicBuckets;
  for (int b = 0; b < kAtomicBuckets; ++b)
    if (std::abs(out.sums[b] - sums[b]) >
        1e-6 * (1 + std::abs(sums[b])) + 2 * FLT_EPSILON * std::sqrt(perBucket * squares[b]))
      return "sum " + std::to_string(b) + " is " + std::to_string(out.sums[b]) + ", expected " +
             std::to_string(sums[b]);
  // x*x rounds the same on both sides only up to contraction: compare
  // within an ulp or two rather than bit for bit.
  auto close = [](float a, float b) { return std::abs(a - b) <= 1e-6f * (1 + std::abs(b)); };
  for (int j = 0; j < 4; ++j) {
    if (!close(out.fmax[j], fmax[j]))
      return "f32 max " + std::to_string(j) + " is " + std::to_string(out.fmax[j]) +
             ", expected " + std::to_string(fmax[j]);
    if (!close(out.fmin[j], fmin[j]))
      return "f32 min " + std::to_string(j) + " is " + std::to_string(out.fmin[j]) +
             ", expected " + std::to_string(fmin[j]);
    if (out.imax[j] != imax[j])
      return "i32 max " + std::to_string(j) + " is " + std::to_string(out.imax[j]) +
             ", expected " + std::to_string(imax[j]);
  }
  if (out.ticket[0] != n)
    return "the ticket counter is " + std::to_string(out.ticket[0]) + ", expected " +
           std::to_string(n);
  std::vector<int32_t> t = out.tickets;
  std::sort(t.begin(), t.end());
  for (int i = 0; i < n; ++i)
    if (t[i] != i)
      return "the old values of the ticket counter are not 0.." + std::to_string(n - 1);
  return "";
}

inline constexpr int kSwapSlots = 4;

/// Element i (id i + 1) exchanges its id into slot[i % 4], claims
/// claim[i % 4] by compare-and-swap from 0, and claims fclaim[i % 2] from
/// +0.0, comparing +0.0 where i % 4 < 2 and -0.0 (bits that never match)
/// elsewhere.
inline dsl::KernelDef atomicSwapKernel() {
  using namespace tessera::dsl;
  return {"test_atomic_swap",
          "atomicExchange and atomicCAS (i32, f32 bit comparison)",
          {{"BLOCK", "64"}, {"num_warps", "1"}},
          [](Kernel &k, const Params &p) {
            int64_t block = p.i("BLOCK");
            Ptr slot = k.ptr("slot", i32), xold = k.ptr("xold", i32);
            Ptr claim = k.ptr("claim", i32), cold = k.ptr("cold", i32);
            Ptr fclaim = k.ptr("fclaim", f32), fold = k.ptr("fold", f32);
            Scalar n = k.i32("n");
            Tile offs = programId(0) * block + arange(0, block);
            Tile m = offs < n;
            Tile id = offs + 1;
            store(xold + offs, atomicExchange(slot + offs % kSwapSlots, id, m), m);
            store(cold + offs, atomicCAS(claim + offs % kSwapSlots, offs * 0, id, m), m);
            Tile zero = zeros({block}, f32);
            Tile expected = where(offs % 4 < 2, zero, zero * -1.0);
            store(fold + offs, atomicCAS(fclaim + offs % 2, expected, id.to(f32), m), m);
          }};
}

struct AtomicSwapOutputs {
  std::vector<int32_t> slot = std::vector<int32_t>(kSwapSlots, 0), xold, claim =
      std::vector<int32_t>(kSwapSlots, 0), cold;
  std::vector<float> fclaim = std::vector<float>(2, 0.f), fold;
  explicit AtomicSwapOutputs(int n) : xold(size_t(n), -1), cold(size_t(n), -1), fold(size_t(n), -1.f) {}
};

/// Empty if the outputs of n elements satisfy what any arrival order gives:
/// per exchange slot, the old values returned plus the final value are the
/// initial 0 and the ids sent there; per claim, one element (whose id is the
/// final value) saw 0 and the others saw the winner (f32: -0.0 comparers
/// never win and saw +0.0 or the winner).
inline std::string atomicSwapMismatch(int n, const AtomicSwapOutputs &out) {
  for (int s = 0; s < kSwapSlots; ++s) {
    std::vector<int32_t> got{out.slot[s]}, want{0};
    for (int i = s; i < n; i += kSwapSlots) {
      got.push_back(out.xold[i]);
      want.push_back(i + 1);
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    if (got != want)
      return "exchange slot " + std::to_string(s) + ": the old values and the final " +
             std::to_string(out.slot[s]) + " are not 0 and the ids sent there";
    if (s >= n)
      continue;
    int32_t w = out.claim[s];
    if (w < 1 || w > n || (w - 1) % kSwapSlots != s)
      return "claim " + std::to_string(s) + " holds " + std::to_string(w) +
             ", not the id of an element that claims it";
    for (int i = s; i < n; i += kSwapSlots)
      if (out.cold[i] != (i + 1 == w ? 0 : w))
        return "claim " + std::to_string(s) + ": element " + std::to_string(i) + " saw " +
               std::to_string(out.cold[i]) + " (winner " + std::to_string(w) + ")";
  }
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
  };
  for (int s = 0; s < 2 && s < n; ++s) {
    float w = out.fclaim[s];
    int wi = int(w) - 1;
    if (!(w == float(wi + 1)) || wi < 0 || wi >= n || wi % 2 != s || wi % 4 >= 2)
      return "f32 claim " + std::to_string(s) + " holds " + std::to_string(w) +
             ", not the id of an element comparing +0.0";
    for (int i = s; i < n; i += 2) {
      float o = out.fold[i];
      bool ok = i == wi ? bits(o) == 0 : i % 4 < 2 ? o == w : (bits(o) == 0 || o == w);
      if (!ok)
        return "f32 claim " + std::to_string(s) + ": element " + std::to_string(i) + " saw " +
               std::to_string(o) + " (winner " + std::to_string(w) + ")";
    }
  }
  return "";
}

} // namespace tessera::testkernels
