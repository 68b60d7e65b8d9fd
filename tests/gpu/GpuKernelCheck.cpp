//===- GpuKernelCheck.cpp - run the library's PTX on a GPU, check it ------===//
//
//   tessera-gpu-check PTX_DIR [--json FILE]
//
// Loads the PTX that `tessera-kernels --out PTX_DIR` wrote for this device's
// chip (PTX_DIR/<kernel>.<target>.ptx; variants in PTX_DIR/<variant>/), runs
// each kernel on fresh random inputs with poisoned outputs, over shapes with
// tails, and compares with the float64 CPU references of kernels/.  Needs no
// LLVM: the driver is loaded with dlopen.  Exits 77 (skipped) where there is
// no driver or GPU, 1 on any mismatch.
//
// This is the GPU half of the compiler foundation's proof; the runtime issue
// replaces the PTX directory by the JIT and the cache.
//
//===----------------------------------------------------------------------===//
#include "tessera/kernels/References.h"
#include "tessera/rt/Driver.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace tessera;
using namespace tessera::rt;

namespace {

// --- host-side half precision (round to nearest even, as the GPU's cvt.rn) --

uint16_t toHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = int32_t((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff)
    return uint16_t(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31)
    return uint16_t(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10)
      return uint16_t(sign);
    mant |= 0x800000;
    uint32_t shift = uint32_t(14 - exp);
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1)))
      ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = sign | (uint32_t(exp) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    ++h;
  return uint16_t(h);
}

float fromHalf(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      x = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000 | mant << 13;
  } else {
    x = sign | (exp - 15 + 127) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

// --- device buffers and launches --------------------------------------------------

/// A device allocation, freed on scope exit.
struct Buffer {
  CUdeviceptr ptr = 0;
  size_t bytes = 0;
  explicit Buffer(size_t n) : bytes(n) { check(driver().memAlloc(&ptr, n), "cuMemAlloc"); }
  ~Buffer() {
    if (ptr)
      driver().memFree(ptr);
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  template <class T> void upload(const std::vector<T> &v) {
    check(driver().memcpyHtoD(ptr, v.data(), v.size() * sizeof(T)), "cuMemcpyHtoD");
  }
  template <class T> std::vector<T> download(size_t n) const {
    std::vector<T> v(n);
    check(driver().memcpyDtoH(v.data(), ptr, n * sizeof(T)), "cuMemcpyDtoH");
    return v;
  }
  /// Fill with 0xff bytes: NaN in f16/f32, so an unwritten element fails.
  void poison() { check(driver().memsetD8(ptr, 0xff, bytes), "cuMemsetD8"); }
};

struct Kernel {
  CUmodule module = nullptr;
  CUfunction fn = nullptr;
  ~Kernel() {
    if (module)
      driver().moduleUnload(module);
  }
};

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw Error("cannot read " + path + " (run tessera-kernels --out first)");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void loadKernel(Kernel &k, const std::string &path, const std::string &name) {
  std::string ptx = readFile(path);
  char log[8192] = {};
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *vals[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log))};
  CUresult r = driver().moduleLoadDataEx(&k.module, ptx.c_str(), 2, opts, vals);
  if (r != CUDA_SUCCESS)
    throw Error("loading " + path + " failed: " + log);
  check(driver().moduleGetFunction(&k.fn, k.module, name.c_str()), "cuModuleGetFunction");
}

/// Launches and waits; returns the kernel time in ms (one launch, events).
float launch(const Kernel &k, unsigned gx, unsigned gy, unsigned threads, void **args) {
  const Driver &d = driver();
  CUevent start, stop;
  check(d.eventCreate(&start, 0), "cuEventCreate");
  check(d.eventCreate(&stop, 0), "cuEventCreate");
  check(d.eventRecord(start, nullptr), "cuEventRecord");
  check(d.launchKernel(k.fn, gx, gy, 1, threads, 1, 1, 0, nullptr, args, nullptr),
        "cuLaunchKernel");
  check(d.eventRecord(stop, nullptr), "cuEventRecord");
  check(d.ctxSynchronize(), "kernel execution");
  float ms = 0;
  check(d.eventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  d.eventDestroy(start);
  d.eventDestroy(stop);
  return ms;
}

// --- checks ----------------------------------------------------------------------------

std::mt19937_64 rng(std::random_device{}());

/// Check name, marked when it runs the INT_MULTIPLE=16 build.
std::string label(const std::string &dir, const std::string &name) {
  bool m16 = dir.size() >= 7 && dir.compare(dir.size() - 7, 7, "/mult16") == 0;
  return (m16 ? "[x16] " : "") + name;
}

std::vector<double> randomHalfValues(size_t n, double scale = 1.0) {
  std::normal_distribution<float> dist(0.0f, float(scale));
  std::vector<double> v(n);
  for (auto &x : v)
    x = fromHalf(toHalf(dist(rng))); // exactly representable in f16
  return v;
}
std::vector<uint16_t> asHalf(const std::vector<double> &v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    h[i] = toHalf(float(v[i]));
  return h;
}

struct Result {
  std::string name;
  double relErr = 0;  ///< ||out - ref|| / ||ref||
  double maxAbs = 0;  ///< max |out - ref|
  double tol = 0;
  bool nan = false;
  float ms = 0;
  bool pass() const { return !nan && relErr <= tol; }
};

Result compare(const std::string &name, const std::vector<double> &out,
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

std::vector<double> halfToDouble(const std::vector<uint16_t> &h) {
  std::vector<double> v(h.size());
  for (size_t i = 0; i < h.size(); ++i)
    v[i] = fromHalf(h[i]);
  return v;
}

Result checkVectorAdd(const std::string &dir, const std::string &target, int n) {
  Kernel k;
  loadKernel(k, dir + "/vector_add." + target + ".ptx", "vector_add");
  std::normal_distribution<float> dist;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i)
    x[i] = dist(rng), y[i] = dist(rng);
  Buffer bx(n * 4), by(n * 4), bo(n * 4);
  bx.upload(x);
  by.upload(y);
  bo.poison();
  void *args[] = {&bx.ptr, &by.ptr, &bo.ptr, &n};
  float ms = launch(k, unsigned((n + 1023) / 1024), 1, 128, args);
  auto o = bo.download<float>(n);
  std::vector<double> xd(x.begin(), x.end()), yd(y.begin(), y.end()), ref(n), out(o.begin(), o.end());
  kernels::ref::vectorAdd(xd.data(), yd.data(), ref.data(), n);
  return compare(label(dir, "vector_add f32 n=" + std::to_string(n)), out, ref, 1e-6, ms);
}

Result checkSoftmax(const std::string &dir, const std::string &target, int rows, int cols) {
  Kernel k;
  loadKernel(k, dir + "/softmax." + target + ".ptx", "softmax");
  auto in = randomHalfValues(size_t(rows) * cols, 3.0);
  Buffer bi(in.size() * 2), bo(in.size() * 2);
  bi.upload(asHalf(in));
  bo.poison();
  int stride = cols;
  void *args[] = {&bo.ptr, &bi.ptr, &cols, &stride, &stride};
  float ms = launch(k, unsigned(rows), 1, 128, args);
  auto out = halfToDouble(bo.download<uint16_t>(in.size()));
  std::vector<double> ref(in.size());
  kernels::ref::softmax(in.data(), ref.data(), rows, cols);
  return compare(label(dir, "softmax f16 ") + std::to_string(rows) + "x" + std::to_string(cols), out, ref, 2e-3,
                 ms);
}

Result checkLayerNorm(const std::string &dir, const std::string &target, int rows, int cols) {
  Kernel k;
  loadKernel(k, dir + "/layer_norm." + target + ".ptx", "layer_norm");
  auto x = randomHalfValues(size_t(rows) * cols, 2.0), w = randomHalfValues(cols),
       b = randomHalfValues(cols);
  for (auto &v : x)
    v += 0.5; // a non-zero mean
  Buffer bx(x.size() * 2), by(x.size() * 2), bw(cols * 2), bb(cols * 2), bm(rows * 4), br(rows * 4);
  bx.upload(asHalf(x));
  bw.upload(asHalf(w));
  bb.upload(asHalf(b));
  by.poison();
  bm.poison();
  br.poison();
  float eps = 1e-5f;
  void *args[] = {&bx.ptr, &by.ptr, &bw.ptr, &bb.ptr, &bm.ptr, &br.ptr, &cols, &cols, &eps};
  float ms = launch(k, unsigned(rows), 1, 128, args);
  auto out = halfToDouble(by.download<uint16_t>(x.size()));
  auto mean = bm.download<float>(rows), rstd = br.download<float>(rows);
  std::vector<double> ref(x.size()), rm(rows), rr(rows);
  kernels::ref::layerNorm(x.data(), w.data(), b.data(), ref.data(), rm.data(), rr.data(), rows,
                          cols, eps);
  out.insert(out.end(), mean.begin(), mean.end());
  out.insert(out.end(), rstd.begin(), rstd.end());
  ref.insert(ref.end(), rm.begin(), rm.end());
  ref.insert(ref.end(), rr.begin(), rr.end());
  return compare(label(dir, "layer_norm f16 ") + std::to_string(rows) + "x" + std::to_string(cols), out, ref,
                 2e-3, ms);
}

Result checkMatmul(const std::string &dir, const std::string &target, int M, int N, int K) {
  Kernel k;
  loadKernel(k, dir + "/matmul." + target + ".ptx", "matmul");
  auto a = randomHalfValues(size_t(M) * K), b = randomHalfValues(size_t(K) * N);
  Buffer ba(a.size() * 2), bb(b.size() * 2), bc(size_t(M) * N * 2);
  ba.upload(asHalf(a));
  bb.upload(asHalf(b));
  bc.poison();
  int one = 1;
  void *args[] = {&ba.ptr, &bb.ptr, &bc.ptr, &M, &N, &K, &K, &one, &N, &one, &N, &one};
  float ms = launch(k, unsigned((M + 31) / 32), unsigned((N + 31) / 32), 128, args);
  auto out = halfToDouble(bc.download<uint16_t>(size_t(M) * N));
  std::vector<double> ref(size_t(M) * N);
  kernels::ref::matmul(a.data(), b.data(), ref.data(), M, N, K);
  return compare(label(dir, "matmul f16 ") + std::to_string(M) + "x" + std::to_string(N) + "x" +
                     std::to_string(K),
                 out, ref, 2e-3, ms);
}

Result checkAttention(const std::string &dir, const std::string &target, int batch, int heads,
                      int seqQ, int seqK, bool causal) {
  const int d = 64, bm = 64;
  Kernel k;
  loadKernel(k, dir + (causal ? "/causal" : "") + "/attention_fwd." + target + ".ptx",
             "attention_fwd");
  int bh = batch * heads;
  auto q = randomHalfValues(size_t(bh) * seqQ * d), kk = randomHalfValues(size_t(bh) * seqK * d),
       v = randomHalfValues(size_t(bh) * seqK * d);
  Buffer bq(q.size() * 2), bk(kk.size() * 2), bv(v.size() * 2), bo(q.size() * 2),
      bl(size_t(bh) * seqQ * 4);
  bq.upload(asHalf(q));
  bk.upload(asHalf(kk));
  bv.upload(asHalf(v));
  bo.poison();
  bl.poison();
  float scale = 1.0f / std::sqrt(float(d));
  // [batch, heads, seq, d], contiguous.
  int sqb = heads * seqQ * d, sqh = seqQ * d, sqs = d;
  int skb = heads * seqK * d, skh = seqK * d, sks = d;
  void *args[] = {&bq.ptr, &bk.ptr, &bv.ptr, &bo.ptr, &bl.ptr, &seqQ, &seqK, &heads, &scale,
                  &sqb, &sqh, &sqs, &skb, &skh, &sks, &skb, &skh, &sks, &sqb, &sqh, &sqs};
  float ms = launch(k, unsigned((seqQ + bm - 1) / bm), unsigned(bh), 128, args);
  auto out = halfToDouble(bo.download<uint16_t>(q.size()));
  auto lse = bl.download<float>(size_t(bh) * seqQ);
  std::vector<double> ref(q.size()), rl(size_t(bh) * seqQ);
  kernels::ref::attention(q.data(), kk.data(), v.data(), ref.data(), rl.data(), bh, seqQ, seqK, d,
                          scale, causal);
  out.insert(out.end(), lse.begin(), lse.end());
  ref.insert(ref.end(), rl.begin(), rl.end());
  return compare(label(dir, "attention_fwd f16 d=64 ") + (causal ? "causal " : "") + "b=" +
                     std::to_string(batch) + " h=" + std::to_string(heads) +
                     " sq=" + std::to_string(seqQ) + " sk=" + std::to_string(seqK),
                 out, ref, 3e-3, ms);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tessera-gpu-check PTX_DIR [--json FILE]\n");
    return 2;
  }
  // Line-buffered, so a crash still leaves the lines before it.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dir = argv[1], jsonPath;
  if (argc >= 4 && std::string(argv[2]) == "--json")
    jsonPath = argv[3];
  Device dev;
  try {
    dev = openDevice();
  } catch (const DriverError &e) {
    if (e.kind != DriverError::Kind::Call) {
      std::printf("skipped: %s\n", e.what());
      return 77;
    }
    std::printf("error: %s\n", e.what());
    return 1;
  }
  int version = 0;
  driver().driverGetVersion(&version);
  std::string target = dev.target();
  std::printf("device: %s (sm_%d%d, %d SMs), driver %d, PTX target %s\n", dev.name.c_str(),
              dev.major, dev.minor, dev.smCount, version, target.c_str());

  // Kernels compiled with INT_MULTIPLE=1 take any sizes; those in
  // PTX_DIR/mult16 (INT_MULTIPLE=16) are checked on sizes and strides that
  // keep that promise, which is what lets their accesses be vectorized.
  std::string m16 = dir + "/mult16";
  std::vector<std::function<Result()>> checks = {
      [&] { return checkVectorAdd(dir, target, 1); },
      [&] { return checkVectorAdd(dir, target, 1000003); },
      [&] { return checkSoftmax(dir, target, 37, 1000); },
      [&] { return checkSoftmax(dir, target, 5, 3001); },
      [&] { return checkSoftmax(dir, target, 3, 1); },
      [&] { return checkLayerNorm(dir, target, 33, 1500); },
      [&] { return checkLayerNorm(dir, target, 4, 4096); },
      [&] { return checkMatmul(dir, target, 100, 70, 130); },
      [&] { return checkMatmul(dir, target, 256, 256, 256); },
      [&] { return checkMatmul(dir, target, 1, 17, 5); },
      [&] { return checkAttention(dir, target, 2, 3, 100, 130, false); },
      [&] { return checkAttention(dir, target, 1, 2, 1, 17, false); },
      [&] { return checkAttention(dir, target, 1, 2, 257, 257, false); },
      [&] { return checkAttention(dir, target, 2, 2, 100, 130, true); },
      [&] { return checkAttention(dir, target, 1, 1, 200, 200, true); },
      [&] { return checkVectorAdd(m16, target, 1 << 20); },
      [&] { return checkVectorAdd(m16, target, 16 * 4099); },
      [&] { return checkSoftmax(m16, target, 37, 1008); },
      [&] { return checkSoftmax(m16, target, 5, 3008); },
      [&] { return checkLayerNorm(m16, target, 33, 1504); },
      [&] { return checkMatmul(m16, target, 100, 80, 144); },
      [&] { return checkAttention(m16, target, 2, 3, 100, 130, false); },
  };
  bool ok = true;
  std::vector<Result> results;
  std::printf("%-50s %12s %10s %9s %9s  %s\n", "check", "rel. error", "max |err|", "tolerance",
              "ms", "result");
  for (auto &c : checks) {
    Result r;
    try {
      r = c();
    } catch (const Error &e) {
      std::printf("ERROR: %s\n", e.what());
      ok = false;
      continue;
    }
    std::printf("%-50s %12.3e %10.3e %9.0e %9.3f  %s\n", r.name.c_str(), r.relErr, r.maxAbs, r.tol,
                r.ms, r.pass() ? "ok" : (r.nan ? "FAIL (non-finite)" : "FAIL"));
    ok &= r.pass();
    results.push_back(r);
  }
  if (!jsonPath.empty()) {
    std::ofstream js(jsonPath);
    js << "{\"device\": \"" << dev.name << "\", \"driver\": " << version << ", \"target\": \""
       << target << "\", \"checks\": [\n";
    for (size_t i = 0; i < results.size(); ++i)
      js << "  {\"name\": \"" << results[i].name << "\", \"rel_err\": " << results[i].relErr
         << ", \"max_abs\": " << results[i].maxAbs << ", \"tol\": " << results[i].tol
         << ", \"ms\": " << results[i].ms << ", \"pass\": " << (results[i].pass() ? "true" : "false")
         << "}" << (i + 1 < results.size() ? "," : "") << "\n";
    js << "]}\n";
  }
  std::printf(ok ? "all GPU checks passed\n" : "GPU CHECKS FAILED\n");
  return ok ? 0 : 1;
}
