//===- RowwiseChecks.cpp - vector add, softmax, layer norm and atomics on the GPU -- ===//
#include "GpuCheck.h"
#include "../kernels/Atomics.h"
#include "../kernels/AxisOps.h"
#include "../kernels/Elementwise.h"
#include "../kernels/Fp8.h"
#include "../kernels/Philox.h"

namespace gpucheck {

namespace {

Result checkVectorAdd(int mult, int n) {
  auto k = kernel("vector_add", withMult(mult));
  std::normal_distribution<float> dist;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i)
    x[i] = dist(rng), y[i] = dist(rng);
  Buffer bx(n * 4, "f32"), by(n * 4, "f32"), bo(n * 4, "f32");
  bx.upload(x);
  by.upload(y);
  bo.fill(0xff);
  float ms = launch(*k, {unsigned((n + 1023) / 1024)}, {bx, by, bo, n});
  auto o = bo.download<float>(n);
  std::vector<double> xd(x.begin(), x.end()), yd(y.begin(), y.end()), ref(n), out(o.begin(), o.end());
  kernels::ref::vectorAdd(xd.data(), yd.data(), ref.data(), n);
  return compare(label(mult, "vector_add f32 n=" + std::to_string(n)), out, ref, 1e-6, ms);
}

Result checkSoftmax(int mult, int rows, int cols) {
  auto k = kernel("softmax", withMult(mult));
  auto in = randomHalfValues(size_t(rows) * cols, 3.0);
  Buffer bi(in.size() * 2, "f16"), bo(in.size() * 2, "f16");
  bi.upload(asHalf(in));
  bo.fill(0xff);
  float ms = launch(*k, {unsigned(rows)}, {bo, bi, cols, cols, cols});
  auto out = halfToDouble(bo.download<uint16_t>(in.size()));
  std::vector<double> ref(in.size());
  kernels::ref::softmax(in.data(), ref.data(), rows, cols);
  return compare(label(mult, "softmax f16 ") + std::to_string(rows) + "x" + std::to_string(cols),
                 out, ref, 2e-3, ms);
}

Result checkLayerNorm(int mult, int rows, int cols) {
  auto k = kernel("layer_norm", withMult(mult));
  auto x = randomHalfValues(size_t(rows) * cols, 2.0), w = randomHalfValues(cols),
       b = randomHalfValues(cols);
  for (auto &v : x)
    v += 0.5; // a non-zero mean
  Buffer bx(x.size() * 2, "f16"), by(x.size() * 2, "f16"), bw(cols * 2, "f16"),
      bb(cols * 2, "f16"), bm(rows * 4, "f32"), br(rows * 4, "f32");
  bx.upload(asHalf(x));
  bw.upload(asHalf(w));
  bb.upload(asHalf(b));
  by.fill(0xff);
  bm.fill(0xff);
  br.fill(0xff);
  float eps = 1e-5f;
  float ms = launch(*k, {unsigned(rows)}, {bx, by, bw, bb, bm, br, cols, cols, eps});
  auto out = halfToDouble(by.download<uint16_t>(x.size()));
  auto mean = bm.download<float>(rows), rstd = br.download<float>(rows);
  std::vector<double> ref(x.size()), rm(rows), rr(rows);
  kernels::ref::layerNorm(x.data(), w.data(), b.data(), ref.data(), rm.data(), rr.data(), rows,
                          cols, eps);
  out.insert(out.end(), mean.begin(), mean.end());
  out.insert(out.end(), rstd.begin(), rstd.end());
  ref.insert(ref.end(), rm.begin(), rm.end());
  ref.insert(ref.end(), rr.begin(), rr.end());
  return compare(label(mult, "layer_norm f16 ") + std::to_string(rows) + "x" +
                     std::to_string(cols),
                 out, ref, 2e-3, ms);
}

} // namespace

/// tests/kernels/Atomics.h over `n` elements in BLOCK-element programs of
/// `warps` warps (BLOCK < 32 * warps: replicated tiles).
Result checkAtomics(int block, int warps, int n) {
  auto k = gJit->get(testkernels::atomicsKernel(),
                     {{"BLOCK", std::to_string(block)}, {"num_warps", std::to_string(warps)}});
  std::normal_distribution<float> dist;
  std::vector<float> x(n);
  std::vector<int32_t> xi(n);
  for (int i = 0; i < n; ++i) {
    x[i] = dist(rng);
    xi[i] = int32_t(rng() % 2000001) - 1000000;
  }
  testkernels::AtomicsOutputs out(n);
  auto up = [](const auto &v, const char *dt) {
    Buffer b(v.size() * 4, dt);
    b.upload(v);
    return b;
  };
  Buffer bx = up(x, "f32"), bxi = up(xi, "i32"), sums = up(out.sums, "f32"),
         fmax = up(out.fmax, "f32"), fmin = up(out.fmin, "f32"), imax = up(out.imax, "i32"),
         ticket = up(out.ticket, "i32"), tickets = up(out.tickets, "i32");
  Result r{"atomics BLOCK=" + std::to_string(block) + " warps=" + std::to_string(warps) +
           " n=" + std::to_string(n)};
  r.ms = launch(*k, {unsigned((n + block - 1) / block)},
                {bx, bxi, sums, fmax, fmin, imax, ticket, tickets, n});
  out.sums = sums.download<float>(out.sums.size());
  out.fmax = fmax.download<float>(4);
  out.fmin = fmin.download<float>(4);
  out.imax = imax.download<int32_t>(4);
  out.ticket = ticket.download<int32_t>(1);
  out.tickets = tickets.download<int32_t>(size_t(n));
  std::string bad = testkernels::atomicsMismatch(x, xi, out);
  if (!bad.empty()) {
    std::printf("  %s\n", bad.c_str());
    r.relErr = 1;
  }
  return r;
}

/// atomicExchange and atomicCAS (tests/kernels/Atomics.h): invariants that
/// hold in any arrival order.
Result checkAtomicSwap(int block, int warps, int n) {
  auto k = gJit->get(testkernels::atomicSwapKernel(),
                     {{"BLOCK", std::to_string(block)}, {"num_warps", std::to_string(warps)}});
  testkernels::AtomicSwapOutputs out(n);
  auto up = [](const auto &v, const char *dt) {
    Buffer b(v.size() * 4, dt);
    b.upload(v);
    return b;
  };
  Buffer slot = up(out.slot, "i32"), xold = up(out.xold, "i32"), claim = up(out.claim, "i32"),
         cold = up(out.cold, "i32"), fclaim = up(out.fclaim, "f32"), fold = up(out.fold, "f32");
  Result r{"atomic_swap BLOCK=" + std::to_string(block) + " warps=" + std::to_string(warps) +
           " n=" + std::to_string(n)};
  r.ms = launch(*k, {unsigned((n + block - 1) / block)}, {slot, xold, claim, cold, fclaim, fold, n});
  out.slot = slot.download<int32_t>(out.slot.size());
  out.xold = xold.download<int32_t>(size_t(n));
  out.claim = claim.download<int32_t>(out.claim.size());
  out.cold = cold.download<int32_t>(size_t(n));
  out.fclaim = fclaim.download<float>(2);
  out.fold = fold.download<float>(size_t(n));
  std::string bad = testkernels::atomicSwapMismatch(n, out);
  if (!bad.empty()) {
    std::printf("  %s\n", bad.c_str());
    r.relErr = 1;
  }
  return r;
}

/// argmax/argmin and the scans (tests/kernels/AxisOps.h): exact.  The
/// shapes pick how the scanned lines are cut into pieces (one piece per
/// line, or many).
Result checkAxisOps(int rows, int cols, int warps, int programs) {
  auto k = gJit->get(testkernels::axisOpsKernel(), {{"ROWS", std::to_string(rows)},
                                                     {"COLS", std::to_string(cols)},
                                                     {"num_warps", std::to_string(warps)}});
  testkernels::AxisOpsData d(programs, rows, cols, rng);
  testkernels::AxisOpsOutputs out(d);
  auto up = [](const auto &v, const char *dt) {
    Buffer b(v.size() * 4, dt);
    b.upload(v);
    return b;
  };
  Buffer x = up(d.x, "f32"), xi = up(d.xi, "i32"), amax1 = up(out.amax1, "i32"),
         amin1 = up(out.amin1, "i32"), amax0 = up(out.amax0, "i32"), arow = up(out.arow, "i32"),
         csum1 = up(out.csum1, "f32"), csum0 = up(out.csum0, "f32"), cmax1 = up(out.cmax1, "f32"),
         cisum1 = up(out.cisum1, "i32"), crow = up(out.crow, "f32");
  Result r{"axis_ops " + std::to_string(rows) + "x" + std::to_string(cols) +
           " warps=" + std::to_string(warps)};
  r.ms = launch(*k, {unsigned(programs)},
                {x, xi, amax1, amin1, amax0, arow, csum1, csum0, cmax1, cisum1, crow});
  out.amax1 = amax1.download<int32_t>(out.amax1.size());
  out.amin1 = amin1.download<int32_t>(out.amin1.size());
  out.amax0 = amax0.download<int32_t>(out.amax0.size());
  out.arow = arow.download<int32_t>(out.arow.size());
  out.csum1 = csum1.download<float>(out.csum1.size());
  out.csum0 = csum0.download<float>(out.csum0.size());
  out.cmax1 = cmax1.download<float>(out.cmax1.size());
  out.cisum1 = cisum1.download<int32_t>(out.cisum1.size());
  out.crow = crow.download<float>(out.crow.size());
  std::string bad = testkernels::axisOpsMismatch(d, out);
  if (!bad.empty()) {
    std::printf("  %s\n", bad.c_str());
    r.relErr = 1;
  }
  return r;
}

/// FP8 and i8 (tests/kernels/Fp8.h): bit-exact codes and widened values.
Result checkFp8(int block, int n) {
  auto k = gJit->get(testkernels::fp8Kernel(), {{"BLOCK", std::to_string(block)}});
  testkernels::Fp8Data d(n, rng);
  testkernels::Fp8Outputs out(n);
  Buffer x(size_t(n) * 4, "f32"), q4(size_t(n), "f8e4m3"), q5(size_t(n), "f8e5m2"),
      back(size_t(n) * 12, "f32"), xb(size_t(n), "i8"), outb(size_t(n), "i8"),
      outi(size_t(n) * 8, "i32");
  x.upload(d.x);
  xb.upload(d.xb);
  Result r{"fp8 BLOCK=" + std::to_string(block) + " n=" + std::to_string(n)};
  r.ms = launch(*k, {unsigned((n + block - 1) / block)}, {x, q4, q5, back, xb, outb, outi, n});
  out.q4 = q4.download<uint8_t>(size_t(n));
  out.q5 = q5.download<uint8_t>(size_t(n));
  out.back = back.download<float>(size_t(n) * 3);
  out.outb = outb.download<int8_t>(size_t(n));
  out.outi = outi.download<int32_t>(size_t(n) * 2);
  std::string bad = testkernels::fp8Mismatch(d, out);
  if (!bad.empty()) {
    std::printf("  %s\n", bad.c_str());
    r.relErr = 1;
  }
  return r;
}

/// The DSL's element-wise vocabulary (tests/kernels/Elementwise.h): tanh
/// within tanh.approx's error (2^-10.987 relative), the rest within 1e-5.
Result checkElementwise(int block, int n) {
  auto k = gJit->get(testkernels::elementwiseKernel(), {{"BLOCK", std::to_string(block)}});
  std::normal_distribution<float> dist(0, 3);
  std::vector<float> x(n);
  std::vector<int32_t> xi(n), shift(n);
  for (int i = 0; i < n; ++i) {
    x[i] = dist(rng);
    xi[i] = int32_t(rng());
    shift[i] = int32_t(i % 40) - 4; // negative and past the width too
  }
  testkernels::addSpecialValues(x);
  Buffer bx(x.size() * 4, "f32"), bxi(xi.size() * 4, "i32"), bs(shift.size() * 4, "i32"),
      out(size_t(n) * testkernels::kElementwiseOutputs * 4, "f32"), outi(size_t(n) * 3 * 4, "i32");
  unsigned programs = unsigned((n + block - 1) / block);
  Buffer psum(programs * 4, "f32");
  bx.upload(x);
  bxi.upload(xi);
  bs.upload(shift);
  Result r{"elementwise BLOCK=" + std::to_string(block) + " n=" + std::to_string(n)};
  r.ms = launch(*k, {programs}, {bx, bxi, bs, out, outi, psum, n});
  std::string bad = testkernels::elementwiseMismatch(
      x, xi, shift, out.download<float>(size_t(n) * testkernels::kElementwiseOutputs),
      outi.download<int32_t>(size_t(n) * 3), 1e-5, 1e-3);
  if (bad.empty())
    bad = testkernels::programSumsMismatch(x, block, psum.download<float>(programs));
  if (!bad.empty()) {
    std::printf("  %s\n", bad.c_str());
    r.relErr = 1;
  }
  return r;
}

/// Philox4x32-10, randint4x and rand (tests/kernels/Philox.h): bit-exact.
Result checkPhilox(int block, int n) {
  auto k = gJit->get(testkernels::philoxKernel(), {{"BLOCK", std::to_string(block)}});
  std::vector<uint32_t> counters(size_t(n) * 4);
  for (auto &c : counters)
    c = uint32_t(rng());
  uint32_t k0 = uint32_t(rng()), k1 = uint32_t(rng());
  uint64_t seed = (uint64_t(rng()) << 32) | rng();
  Buffer bc(counters.size() * 4, "i32"), out(size_t(n) * 8 * 4, "i32"), u(size_t(n) * 4, "f32");
  bc.upload(counters);
  Result r{"philox BLOCK=" + std::to_string(block) + " n=" + std::to_string(n)};
  r.ms = launch(*k, {unsigned((n + block - 1) / block)},
                {bc, out, u, int32_t(k0), int32_t(k1), int64_t(seed), n});
  std::string bad = testkernels::philoxMismatch(counters, k0, k1, seed,
                                                out.download<uint32_t>(size_t(n) * 8),
                                                u.download<float>(size_t(n)));
  if (!bad.empty()) {
    std::printf("  %s\n", bad.c_str());
    r.relErr = 1;
  }
  return r;
}

void addRowwiseChecks(std::vector<Check> &checks) {
  checks.insert(checks.end(), {
      {"vector_add", [] { return checkVectorAdd(1, 1); }},
      {"atomics", [] { return checkAtomics(64, 1, 100003); }},
      {"atomics", [] { return checkAtomics(64, 4, 4099); }}, // replicated: 64 over 128 threads
      {"atomics", [] { return checkAtomics(1024, 4, 1 << 20); }},
      {"atomic_swap", [] { return checkAtomicSwap(128, 4, 100003); }},
      {"atomic_swap", [] { return checkAtomicSwap(64, 4, 4099); }}, // replicated
      {"elementwise", [] { return checkElementwise(128, 100003); }},
      {"fp8", [] { return checkFp8(256, 100003); }},
      {"axis_ops", [] { return checkAxisOps(16, 64, 4, 37); }},
      {"axis_ops", [] { return checkAxisOps(4, 256, 4, 11); }},  // 32 pieces per row
      {"axis_ops", [] { return checkAxisOps(128, 8, 4, 5); }},   // one piece per row
      {"axis_ops", [] { return checkAxisOps(2, 1024, 8, 3); }},  // 1024-long lines
      {"philox", [] { return checkPhilox(256, 100003); }},
      {"vector_add", [] { return checkVectorAdd(1, 1000003); }},
      {"softmax", [] { return checkSoftmax(1, 37, 1000); }},
      {"softmax", [] { return checkSoftmax(1, 5, 3001); }},
      {"softmax", [] { return checkSoftmax(1, 3, 1); }},
      {"layer_norm", [] { return checkLayerNorm(1, 33, 1500); }},
      {"layer_norm", [] { return checkLayerNorm(1, 4, 4096); }},
      {"vector_add", [] { return checkVectorAdd(16, 1 << 20); }},
      {"vector_add", [] { return checkVectorAdd(16, 16 * 4099); }},
      {"softmax", [] { return checkSoftmax(16, 37, 1008); }},
      {"softmax", [] { return checkSoftmax(16, 5, 3008); }},
      {"layer_norm", [] { return checkLayerNorm(16, 33, 1504); }},
  });
}

} // namespace gpucheck
