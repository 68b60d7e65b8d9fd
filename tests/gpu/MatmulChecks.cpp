//===- MatmulChecks.cpp - matmul kernels and jit::matmul on the GPU ------------------ ===//
#include "GpuCheck.h"
#include "tessera/jit/Matmul.h"

namespace gpucheck {

namespace {

/// The column-major copy of a row-major rows x cols matrix.
std::vector<double> colMajor(const std::vector<double> &m, int rows, int cols) {
  std::vector<double> t(m.size());
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j)
      t[size_t(j) * rows + i] = m[size_t(i) * cols + j];
  return t;
}

/// C = A B with A and B row-major, or stored column-major when `colA` /
/// `colB` (A_LAYOUT / B_LAYOUT = col: the other stride is the unit one).
Result checkMatmul(int mult, const std::string &dtype, int M, int N, int K, bool colA = false,
                   bool colB = false, dsl::Params extra = {}) {
  dsl::Params p = withMult(mult, extra.set("dtype", dtype));
  p.set("A_LAYOUT", colA ? "col" : "row").set("B_LAYOUT", colB ? "col" : "row");
  auto k = kernel("matmul", p);
  dsl::Params full = p.over(kernels::findKernel("matmul").defaults);
  int bm = int(full.i("BLOCK_M")), bn = int(full.i("BLOCK_N"));
  bool bf = dtype == "bf16";
  auto a = randomValues(size_t(M) * K, bf), b = randomValues(size_t(K) * N, bf);
  // Store column-major copies where asked; the reference uses row-major.
  std::vector<double> ast = colA ? colMajor(a, M, K) : a, bst = colB ? colMajor(b, K, N) : b;
  Buffer ba(a.size() * 2, dtype), bb(b.size() * 2, dtype), bc(size_t(M) * N * 2, dtype);
  ba.upload(as16(ast, bf));
  bb.upload(as16(bst, bf));
  bc.fill(0xff);
  int sam = colA ? 1 : K, sak = colA ? M : 1, sbk = colB ? 1 : N, sbn = colB ? K : 1;
  float ms = launch(*k, {unsigned((M + bm - 1) / bm), unsigned((N + bn - 1) / bn)},
                    {ba, bb, bc, M, N, K, sam, sak, sbk, sbn, N, 1});
  auto out = from16(bc.download<uint16_t>(size_t(M) * N), bf);
  std::vector<double> ref(size_t(M) * N);
  kernels::ref::matmul(a.data(), b.data(), ref.data(), M, N, K);
  std::string cfg = std::to_string(bm) + "x" + std::to_string(bn) + "x" + full.s("BLOCK_K") +
                    " w" + full.s("num_warps");
  return compare(label(mult, "matmul " + dtype + (colA ? " A col" : "") + (colB ? " B col" : "") +
                                 " [" + cfg + "] ") +
                     std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K),
                 out, ref, bf ? 1e-2 : 2e-3, ms);
}

/// Matmul through jit::matmul (layout and INT_MULTIPLE derived from the
/// strides, config by size): A column-major, B row-major.
Result checkMatmulApi(const std::string &dtype, int M, int N, int K) {
  bool bf = dtype == "bf16";
  auto a = randomValues(size_t(M) * K, bf), b = randomValues(size_t(K) * N, bf);
  std::vector<double> acol = colMajor(a, M, K);
  Buffer ba(a.size() * 2, dtype), bb(b.size() * 2, dtype), bc(size_t(M) * N * 2, dtype);
  ba.upload(as16(acol, bf));
  bb.upload(as16(b, bf));
  bc.fill(0xff);
  jit::matmul(*gJit, M, N, K, ba, 1, M, bb, N, 1, bc, N);
  check(driver().ctxSynchronize(), "cuCtxSynchronize");
  auto out = from16(bc.download<uint16_t>(size_t(M) * N), bf);
  std::vector<double> ref(size_t(M) * N);
  kernels::ref::matmul(a.data(), b.data(), ref.data(), M, N, K);
  return compare("jit::matmul API " + dtype + " A col " + std::to_string(M) + "x" +
                     std::to_string(N) + "x" + std::to_string(K),
                 out, ref, bf ? 1e-2 : 2e-3, 0);
}

/// Matmul at a benchmark shape with the benchmark's config (128x256x64,
/// 8 warps, 4 stages): a float64 reference for every entry would take
/// minutes on the CPU, so 64 x 64 entries are checked (rows and columns
/// spread over the matrix, first and last included).
Result checkMatmulSampled(const std::string &dtype, int M, int N, int K) {
  bool bf = dtype == "bf16";
  auto k = kernel("matmul", {{"dtype", dtype}, {"BLOCK_M", "128"}, {"BLOCK_N", "256"},
                             {"BLOCK_K", "64"}, {"num_warps", "8"}, {"num_stages", "4"},
                             {"INT_MULTIPLE", "16"}});
  auto a = randomValues(size_t(M) * K, bf), b = randomValues(size_t(K) * N, bf);
  Buffer ba(a.size() * 2, dtype), bb(b.size() * 2, dtype), bc(size_t(M) * N * 2, dtype);
  ba.upload(as16(a, bf));
  bb.upload(as16(b, bf));
  bc.fill(0xff);
  float ms = launch(*k, {unsigned(M / 128), unsigned(N / 256)},
                    {ba, bb, bc, M, N, K, K, 1, N, 1, N, 1});
  auto c = bc.download<uint16_t>(size_t(M) * N);
  std::vector<double> out, ref;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 64; ++j) {
      int r = int(int64_t(i) * (M - 1) / 63), col = int(int64_t(j) * (N - 1) / 63);
      double s = 0;
      for (int kk = 0; kk < K; ++kk)
        s += a[size_t(r) * K + kk] * b[size_t(kk) * N + col];
      ref.push_back(s);
      out.push_back(from16({c[size_t(r) * N + col]}, bf)[0]);
    }
  return compare("matmul " + dtype + " [128x256x64 w8 s4] " + std::to_string(M) + "x" +
                     std::to_string(N) + "x" + std::to_string(K) + " (64x64 sampled)",
                 out, ref, bf ? 1e-2 : 2e-3, ms);
}

Result checkMatmulBiasRelu(int M, int N, int K) {
  auto k = kernel("matmul", {{"EPILOGUE", "bias_relu"}, {"BLOCK_M", "64"}, {"BLOCK_N", "64"}});
  auto a = randomHalfValues(size_t(M) * K), b = randomHalfValues(size_t(K) * N),
       bias = randomHalfValues(N);
  Buffer ba(a.size() * 2, "f16"), bb(b.size() * 2, "f16"), bc(size_t(M) * N * 2, "f16"),
      bbias(N * 2, "f16");
  ba.upload(asHalf(a));
  bb.upload(asHalf(b));
  bbias.upload(asHalf(bias));
  bc.fill(0xff);
  float ms = launch(*k, {unsigned((M + 63) / 64), unsigned((N + 63) / 64)},
                    {ba, bb, bc, bbias, M, N, K, K, 1, N, 1, N, 1});
  auto out = halfToDouble(bc.download<uint16_t>(size_t(M) * N));
  std::vector<double> ref(size_t(M) * N);
  kernels::ref::matmul(a.data(), b.data(), ref.data(), M, N, K);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j)
      ref[size_t(i) * N + j] = std::max(0.0, ref[size_t(i) * N + j] + bias[j]);
  return compare("matmul f16 +bias relu " + std::to_string(M) + "x" + std::to_string(N) + "x" +
                     std::to_string(K),
                 out, ref, 2e-3, ms);
}

} // namespace

void addMatmulChecks(std::vector<Check> &checks) {
  checks.insert(checks.end(), {
      {"matmul", [] { return checkMatmul(1, "f16", 100, 70, 130); }},
      {"matmul", [] { return checkMatmul(1, "f16", 256, 256, 256); }},
      {"matmul", [] { return checkMatmul(1, "f16", 1, 17, 5); }},
      {"matmul", [] { return checkMatmul(1, "bf16", 100, 70, 130); }},
      {"matmul", [] { return checkMatmul(8, "f16", 512, 384, 320); }},
      {"matmul", [] { return checkMatmul(8, "bf16", 304, 200, 136, true, false); }},
      {"matmul", [] { return checkMatmul(8, "f16", 300, 200, 136, false, true); }},
      {"matmul", [] { return checkMatmul(8, "f16", 304, 200, 136, true, true); }},
      {"matmul", [] { return checkMatmul(8, "f16", 256, 512, 256, false, false, {{"BLOCK_M", "64"}, {"BLOCK_N", "256"}, {"num_warps", "4"}}); }},
      {"matmul", [] { return checkMatmul(8, "f16", 256, 256, 256, false, false, {{"BLOCK_M", "64"}, {"BLOCK_N", "64"}, {"BLOCK_K", "32"}, {"num_warps", "8"}}); }},
      {"matmul", [] { return checkMatmul(8, "f16", 256, 256, 520, false, false, {{"num_stages", "2"}}); }},
      {"matmul", [] { return checkMatmul(8, "bf16", 256, 256, 520, false, false, {{"num_stages", "4"}}); }},
      {"matmul", [] { return checkMatmul(1, "f16", 130, 70, 50, false, false, {{"BLOCK_M", "32"}, {"BLOCK_N", "32"}, {"BLOCK_K", "32"}, {"num_warps", "4"}}); }},
      {"matmul", [] { return checkMatmulBiasRelu(200, 130, 96); }},
      {"matmul", [] { return checkMatmulApi("f16", 1000, 520, 300); }},
      {"matmul", [] { return checkMatmulApi("bf16", 2048, 2304, 512); }},
      {"matmul", [] { return checkMatmulSampled("f16", 8192, 8192, 8192); }},
      {"matmul", [] { return checkMatmulSampled("bf16", 8192, 8192, 8192); }},
      {"matmul", [] { return checkMatmulSampled("f16", 4096, 14336, 4096); }},
      {"matmul", [] { return checkMatmulSampled("bf16", 8192, 1024, 8192); }},
      {"matmul", [] { return checkMatmulSampled("f16", 2048, 2048, 2048); }},
      {"matmul", [] { return checkMatmulSampled("bf16", 1024, 1024, 1024); }},
      {"matmul", [] { return checkMatmul(16, "f16", 100, 80, 144); }},
  });
}

} // namespace gpucheck
