//===- MatmulApiTest.cpp - jit::matmul checks, specializes and runs -------===//
#include "Common.h"

#include "tessera/Support/Half.h"
#include "tessera/jit/Matmul.h"
#include "tessera/kernels/References.h"

#include <cmath>
#include <cstdlib>
#include <random>

using namespace tessera;

TEST_CASE("jit::matmul multiplies a column-major A by a row-major B", "[matmul][interp]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int M = 70, N = 48, K = 40;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  std::vector<double> a(size_t(M) * K), b(size_t(K) * N);
  std::vector<uint16_t> ad(a.size()), bd(b.size());
  for (int i = 0; i < M; ++i)
    for (int k = 0; k < K; ++k) {
      uint16_t x = toHalf(dist(rng));
      a[size_t(i) * K + k] = fromHalf(x);
      ad[size_t(k) * M + i] = x; // stored column-major
    }
  for (size_t i = 0; i < b.size(); ++i) {
    bd[i] = toHalf(dist(rng));
    b[i] = fromHalf(bd[i]);
  }
  rt::Buffer ba(ad.size() * 2, "f16"), bb(bd.size() * 2, "f16"), bc(size_t(M) * N * 2, "f16");
  ba.upload(ad);
  bb.upload(bd);
  bc.fill(0xff);
  jit::matmul(jit, M, N, K, ba, 1, M, bb, N, 1, bc, N, nullptr,
              {{"BLOCK_M", "64"}, {"BLOCK_N", "32"}, {"BLOCK_K", "32"}, {"num_warps", "4"}});
  std::vector<double> ref(size_t(M) * N);
  kernels::ref::matmul(a.data(), b.data(), ref.data(), M, N, K);
  auto out = bc.download<uint16_t>(size_t(M) * N);
  CHECK(test::relativeL2(ref, [&](size_t i) { return double(fromHalf(out[i])); }) < 2e-3);
}

TEST_CASE("jit::matmul refuses bad input before launch", "[matmul][errors]") {
  test::InterpretMode mode;
  jit::Jit jit;
  const int M = 64, N = 64, K = 64;
  rt::Buffer a(M * K * 2, "f16"), b(K * N * 2, "f16"), c(M * N * 2, "f16"), bf(K * N * 2, "bf16"),
      small(M * K, "f16");
  auto run = [&](int m, rt::Buffer &aa, int64_t sam, int64_t sak, rt::Buffer &bb) {
    return test::errorOf([&] { jit::matmul(jit, m, N, K, aa, sam, sak, bb, N, 1, c, N); });
  };
  CHECK(run(0, a, K, 1, b) == "matmul: M, N and K must be positive, got 0, 64, 64");
  CHECK(run(M, a, K, 1, bf) == "matmul: b is a buffer of bf16, expected f16");
  CHECK(run(M, small, K, 1, b) ==
        "matmul: a: shape and strides reach element 4095 but the buffer holds 2048");
  CHECK(run(M, a, 2, 2 * M, b) ==
        "matmul: a needs a unit stride along one axis (row- or column-major), got strides 2 and "
        "128");
}
