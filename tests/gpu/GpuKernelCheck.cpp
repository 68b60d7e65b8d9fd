//===- GpuKernelCheck.cpp - run every library kernel on a GPU, check it ---===//
//
//   tessera-gpu-check [--json FILE] [--kind KIND[,KIND...]] [--only SUBSTRING]
//
// --kind runs only the checks of those kinds (vector_add, softmax,
// layer_norm, matmul, attention, launch); --only keeps the results whose
// name contains SUBSTRING (every selected check still runs).
//
// Through the JIT (trace -> compile -> cache -> checked launch), runs each
// library kernel on fresh random inputs with poisoned outputs, over shapes
// with tails, and compares with the float64 CPU references of kernels/.
// Also checks that bad launch arguments are refused before launch and that a
// second JIT over the same cache loads every kernel from disk.  Exits 77
// (skipped) where there is no driver or GPU, 1 on any mismatch.
//
//===----------------------------------------------------------------------===//
#include "tessera/Support/Half.h"
#include "tessera/jit/Attention.h"
#include "tessera/jit/Jit.h"
#include "tessera/jit/Matmul.h"
#include "tessera/kernels/References.h"

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

using rt::Buffer;

jit::Jit *gJit = nullptr;

/// The library kernel `name` with `params`, through the JIT.
std::shared_ptr<rt::Kernel> kernel(const std::string &name, const dsl::Params &params) {
  return gJit->get(kernels::findKernel(name), params);
}

/// Launches and waits; returns the kernel time in ms (one launch, events).
float launch(const rt::Kernel &k, rt::Grid grid, const std::vector<rt::Arg> &args) {
  const Driver &d = driver();
  CUevent start, stop;
  check(d.eventCreate(&start, 0), "cuEventCreate");
  check(d.eventCreate(&stop, 0), "cuEventCreate");
  check(d.eventRecord(start, nullptr), "cuEventRecord");
  k.launch(grid, args);
  check(d.eventRecord(stop, nullptr), "cuEventRecord");
  check(d.ctxSynchronize(), "kernel execution");
  float ms = 0;
  check(d.eventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  d.eventDestroy(start);
  d.eventDestroy(stop);
  return ms;
}

// --- checks ----------------------------------------------------------------------------

/// 128-query tiles over 8 consumer warps with a producer warpgroup
/// (warp_specialize), `blockN` keys per block; persistent programs if asked.
dsl::Params wsTile(const char *blockN, bool persistent = false) {
  dsl::Params p{{"BLOCK_M", "128"}, {"BLOCK_N", blockN}, {"num_warps", "8"},
                {"warp_specialize", "1"}};
  if (persistent)
    p.set("PERSISTENT", "1");
  return p;
}

std::mt19937_64 rng(std::random_device{}());


std::vector<double> randomHalfValues(size_t n, double scale = 1.0) {
  std::normal_distribution<float> dist(0.0f, float(scale));
  std::vector<double> v(n);
  for (auto &x : v)
    x = fromHalf(toHalf(dist(rng))); // exactly representable in f16
  return v;
}
/// Random values exactly representable in f16 (or bf16).
std::vector<double> randomValues(size_t n, bool bf) {
  if (!bf)
    return randomHalfValues(n);
  std::normal_distribution<float> dist;
  std::vector<double> v(n);
  for (auto &x : v)
    x = fromBF16(toBF16(dist(rng)));
  return v;
}
std::vector<uint16_t> as16(const std::vector<double> &v, bool bf) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    h[i] = bf ? toBF16(float(v[i])) : toHalf(float(v[i]));
  return h;
}
std::vector<double> from16(const std::vector<uint16_t> &h, bool bf) {
  std::vector<double> v(h.size());
  for (size_t i = 0; i < h.size(); ++i)
    v[i] = bf ? fromBF16(h[i]) : fromHalf(h[i]);
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

dsl::Params withMult(int mult, dsl::Params p = {}) {
  return p.set("INT_MULTIPLE", mult);
}
std::string label(int mult, const std::string &name) {
  return (mult > 1 ? "[x" + std::to_string(mult) + "] " : "") + name;
}

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

/// Attention against the float64 reference.  `bshd`: the tensors live as
/// [batch, seq, heads, dim] (only the strides change; the reference data is
/// permuted on upload and the output permuted back).
Result checkAttention(int mult, int batch, int heads, int seqQ, int seqK, bool causal,
                      int d = 64, int kvHeads = 0, bool bshd = false, bool split = false,
                      bool overlap = false, dsl::Params extra = {}, unsigned programs = 7) {
  if (kvHeads == 0)
    kvHeads = heads;
  dsl::Params params = withMult(mult, {{"CAUSAL", causal ? "1" : "0"},
                                       {"HEAD_DIM", std::to_string(d)},
                                       {"MASK_SPLIT", split ? "1" : "0"},
                                       {"OVERLAP", overlap ? "1" : "0"}});
  for (auto &[key, value] : extra.items())
    params.set(key, value);
  const int bm = extra.has("BLOCK_M") ? int(extra.i("BLOCK_M")) : 64;
  auto k = kernel("attention_fwd", params);
  int bh = batch * heads;
  int kvbh = batch * kvHeads;
  auto q = randomHalfValues(size_t(bh) * seqQ * d), kk = randomHalfValues(size_t(kvbh) * seqK * d),
       v = randomHalfValues(size_t(kvbh) * seqK * d);
  // [b, h, s, d] (the reference's order) <-> [b, s, h, d].
  auto toBshd = [&](const std::vector<double> &x, int h, int s) {
    std::vector<double> y(x.size());
    for (int ib = 0; ib < batch; ++ib)
      for (int ih = 0; ih < h; ++ih)
        for (int is = 0; is < s; ++is)
          for (int id = 0; id < d; ++id)
            y[((size_t(ib) * s + is) * h + ih) * d + id] = x[((size_t(ib) * h + ih) * s + is) * d + id];
    return y;
  };
  Buffer bq(q.size() * 2, "f16"), bk(kk.size() * 2, "f16"), bv(v.size() * 2, "f16"),
      bo(q.size() * 2, "f16"), bl(size_t(bh) * seqQ * 4, "f32");
  bq.upload(asHalf(bshd ? toBshd(q, heads, seqQ) : q));
  bk.upload(asHalf(bshd ? toBshd(kk, kvHeads, seqK) : kk));
  bv.upload(asHalf(bshd ? toBshd(v, kvHeads, seqK) : v));
  bo.fill(0xff);
  bl.fill(0xff);
  float scale = 1.0f / std::sqrt(float(d));
  int sqb = heads * seqQ * d, sqh = seqQ * d, sqs = d;
  int skb = kvHeads * seqK * d, skh = seqK * d, sks = d;
  if (bshd) {
    sqh = d, sqs = heads * d;
    skh = d, sks = kvHeads * d;
  }
  unsigned mBlocks = unsigned((seqQ + bm - 1) / bm);
  std::vector<rt::Arg> args{bq,  bk,  bv,  bo,  bl,  seqQ, seqK, heads, kvHeads, scale, sqb,
                            sqh, sqs, skb, skh, sks, skb,  skh,  sks,   sqb,     sqh,   sqs};
  rt::Grid grid{mBlocks, unsigned(bh)};
  if (extra.has("PERSISTENT")) { // fewer programs than tiles, not dividing them
    args.push_back(bh);
    grid = {std::min(programs, mBlocks * unsigned(bh)), 1};
  }
  float ms = launch(*k, grid, args);
  auto out = halfToDouble(bo.download<uint16_t>(q.size()));
  if (bshd) { // back to [b, h, s, d]
    std::vector<double> back(out.size());
    for (int ib = 0; ib < batch; ++ib)
      for (int ih = 0; ih < heads; ++ih)
        for (int is = 0; is < seqQ; ++is)
          for (int id = 0; id < d; ++id)
            back[((size_t(ib) * heads + ih) * seqQ + is) * d + id] =
                out[((size_t(ib) * seqQ + is) * heads + ih) * d + id];
    out = back;
  }
  auto lse = bl.download<float>(size_t(bh) * seqQ);
  std::vector<double> ref(q.size()), rl(size_t(bh) * seqQ);
  kernels::ref::attention(q.data(), kk.data(), v.data(), ref.data(), rl.data(), bh, seqQ, seqK, d,
                          scale, causal, heads / kvHeads);
  out.insert(out.end(), lse.begin(), lse.end());
  ref.insert(ref.end(), rl.begin(), rl.end());
  return compare(label(mult, "attention_fwd f16 d=" + std::to_string(d) + " ") +
                     (split ? "split " : "") + (overlap ? "overlap " : "") +
                     (extra.items().empty() ? "" : "[" + extra.str() + "] ") +
                     (bshd ? "[b,s,h,d] " : "") +
                     (causal ? "causal " : "") +
                     "b=" + std::to_string(batch) + " h=" + std::to_string(heads) +
                     (kvHeads != heads ? " kv=" + std::to_string(kvHeads) : std::string()) +
                     " sq=" + std::to_string(seqQ) + " sk=" + std::to_string(seqK),
                 out, ref, 3e-3, ms);
}

/// Variable-length attention: `lens` sequences packed as [total, heads, d],
/// cu_seqlens offsets; each sequence against the float64 reference.
Result checkAttentionVarlen(int mult, std::vector<std::pair<int, int>> lens, bool causal, int d,
                            bool overlap = false, bool api = false) {
  int heads = 2, batch = int(lens.size());
  std::vector<int32_t> cuQ{0}, cuK{0};
  int maxQ = 0, maxK = 0;
  for (auto [lq, lk] : lens) {
    cuQ.push_back(cuQ.back() + lq);
    cuK.push_back(cuK.back() + lk);
    maxQ = std::max(maxQ, lq);
    maxK = std::max(maxK, lk);
  }
  const int bm = 64;
  auto k = kernel("attention_fwd",
                  withMult(mult, {{"CAUSAL", causal ? "1" : "0"}, {"HEAD_DIM", std::to_string(d)},
                                  {"VARLEN", "1"}, {"OVERLAP", overlap ? "1" : "0"}}));
  auto q = randomHalfValues(size_t(cuQ.back()) * heads * d),
       kk = randomHalfValues(size_t(cuK.back()) * heads * d),
       v = randomHalfValues(size_t(cuK.back()) * heads * d);
  Buffer bq(q.size() * 2, "f16"), bk(kk.size() * 2, "f16"), bv(v.size() * 2, "f16"),
      bo(q.size() * 2, "f16"), bl(size_t(batch) * heads * maxQ * 4, "f32"),
      bcq(cuQ.size() * 4, "i32"), bck(cuK.size() * 4, "i32");
  bq.upload(asHalf(q));
  bk.upload(asHalf(kk));
  bv.upload(asHalf(v));
  bcq.upload(cuQ);
  bck.upload(cuK);
  bo.fill(0xff);
  bl.fill(0xff);
  float scale = 1.0f / std::sqrt(float(d));
  int ss = heads * d;
  float ms = 0;
  if (api) { // through jit::attentionForwardVarlen (its own config choice)
    jit::AttentionStrides packed{0, d, ss, 1};
    jit::AttentionProblem p{batch, heads, heads, maxQ, maxK, d, causal};
    jit::attentionForwardVarlen(*gJit, p, bq, packed, bk, packed, bv, packed, bo, packed, bl, bcq,
                                bck);
    check(driver().ctxSynchronize(), "cuCtxSynchronize");
  } else {
    ms = launch(*k, {unsigned((maxQ + bm - 1) / bm), unsigned(batch * heads)},
                {bq, bk, bv, bo, bl, maxQ, maxK, heads, heads, scale, 0, d, ss, 0, d, ss, 0, d, ss,
                 0, d, ss, bcq, bck});
  }
  auto out = halfToDouble(bo.download<uint16_t>(q.size()));
  auto lse = bl.download<float>(size_t(batch) * heads * maxQ);
  std::vector<double> got, want;
  for (int b = 0; b < batch; ++b) {
    int lq = cuQ[b + 1] - cuQ[b], lk = cuK[b + 1] - cuK[b];
    auto gather = [&](const std::vector<double> &x, int start, int len) {
      return kernels::ref::packedSequence(x, heads, d, start, len);
    };
    auto qb = gather(q, cuQ[b], lq), kb = gather(kk, cuK[b], lk), vb = gather(v, cuK[b], lk);
    std::vector<double> ref(qb.size()), rl(size_t(heads) * lq);
    kernels::ref::attention(qb.data(), kb.data(), vb.data(), ref.data(), rl.data(), heads, lq, lk,
                            d, scale, causal, 1);
    auto ob = gather(out, cuQ[b], lq);
    got.insert(got.end(), ob.begin(), ob.end());
    want.insert(want.end(), ref.begin(), ref.end());
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < lq; ++i) {
        got.push_back(lse[(size_t(b) * heads + h) * maxQ + i]);
        want.push_back(rl[size_t(h) * lq + i]);
      }
  }
  std::string desc;
  for (auto [lq, lk] : lens)
    desc += " " + std::to_string(lq) + "/" + std::to_string(lk);
  return compare((api ? std::string("attentionForwardVarlen API d=") + std::to_string(d) + " "
                      : label(mult, "attention_fwd f16 d=" + std::to_string(d) + " varlen ")) +
                     (overlap ? "overlap " : "") + (causal ? "causal" : "") + desc,
                 got, want, 3e-3, ms);
}

/// Attention through jit::attentionForward (shape checks, config choice,
/// stride specialization), [b, h, s, d] contiguous.
Result checkAttentionApi(int d, bool causal, int seqQ, int seqK, const std::string &dtype = "f16") {
  const int B = 2, H = 2;
  bool bf = dtype == "bf16";
  auto q = randomValues(size_t(B) * H * seqQ * d, bf), kk = randomValues(size_t(B) * H * seqK * d, bf),
       v = randomValues(size_t(B) * H * seqK * d, bf);
  Buffer bq(q.size() * 2, dtype), bk(kk.size() * 2, dtype), bv(v.size() * 2, dtype),
      bo(q.size() * 2, dtype), bl(size_t(B) * H * seqQ * 4, "f32");
  bq.upload(as16(q, bf));
  bk.upload(as16(kk, bf));
  bv.upload(as16(v, bf));
  bo.fill(0xff);
  jit::AttentionStrides sq{int64_t(H) * seqQ * d, int64_t(seqQ) * d, d, 1},
      sk{int64_t(H) * seqK * d, int64_t(seqK) * d, d, 1};
  jit::AttentionProblem p{B, H, H, seqQ, seqK, d, causal};
  jit::attentionForward(*gJit, p, bq, sq, bk, sk, bv, sk, bo, sq, bl);
  check(driver().ctxSynchronize(), "cuCtxSynchronize");
  auto out = from16(bo.download<uint16_t>(q.size()), bf);
  std::vector<double> ref(q.size()), rl(size_t(B) * H * seqQ);
  kernels::ref::attention(q.data(), kk.data(), v.data(), ref.data(), rl.data(), B * H, seqQ, seqK, d,
                          1.0 / std::sqrt(double(d)), causal, 1);
  // bf16 keeps 8 bits of mantissa (P and the output are rounded to it): the
  // tolerance of the bf16 matmul checks.
  return compare("attentionForward API " + (bf ? dtype + " " : std::string()) + "d=" +
                     std::to_string(d) + (causal ? " causal" : "") + " b=2 h=2 sq=" +
                     std::to_string(seqQ) + " sk=" + std::to_string(seqK),
                 out, ref, bf ? 1e-2 : 3e-3, 0);
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

/// Bad launches are refused with the argument's name, before the driver.
Result checkLaunchErrors() {
  Result r{"bad launch arguments refused"};
  r.tol = 0;
  auto k = kernel("vector_add", withMult(16));
  Buffer a(4096, "f32"), h(4096, "f16");
  std::vector<std::pair<std::function<void()>, std::string>> cases = {
      {[&] { k->launch({1}, {a, a, a}); }, "expected 4 arguments"},
      {[&] { k->launch({1}, {a, a, h, 16}); }, "argument 'out' (#3) points to f32 but a buffer of f16"},
      {[&] { k->launch({1}, {a, a, a, 17}); }, "argument 'n' (#4) = 17 must be a multiple of 16"},
      {[&] { k->launch({1}, {a, rt::DevicePtr{a.ptr() + 4, "f32"}, a, 16}); },
       "argument 'y' (#2) must be 16-byte aligned"},
      {[&] { k->launch({0}, {a, a, a, 16}); }, "empty grid"},
  };
  for (auto &[fn, want] : cases) {
    std::string got;
    try {
      fn();
    } catch (const rt::LaunchError &e) {
      got = e.what();
    }
    if (got.find(want) == std::string::npos) {
      std::printf("  expected an error containing '%s', got '%s'\n", want.c_str(), got.c_str());
      r.relErr = 1;
    }
  }
  return r;
}

} // namespace

int main(int argc, char **argv) {
  // Line-buffered, so a crash still leaves the lines before it.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string jsonPath, only, kinds;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--json")
      jsonPath = argv[i + 1];
    else if (a == "--only")
      only = argv[i + 1];
    else if (a == "--kind")
      kinds = argv[i + 1];
  }
  std::unique_ptr<jit::Jit> jitPtr;
  try {
    jitPtr = std::make_unique<jit::Jit>();
  } catch (const DriverError &e) {
    if (e.kind == DriverError::Kind::NoDriver || e.kind == DriverError::Kind::NoDevice) {
      std::printf("skipped: %s\n", e.what());
      return 77;
    }
    std::printf("error: %s\n", e.what());
    return 1;
  }
  gJit = jitPtr.get();
  const rt::Device &dev = gJit->device();
  std::printf("device: %s (sm_%d%d, %d SMs, %d KB L2), driver %d, target %s, cache %s\n",
              dev.name.c_str(), dev.major, dev.minor, dev.smCount, dev.l2Bytes / 1024,
              dev.driverVersion, dev.target().c_str(),
              gJit->compiler().cache().enabled() ? gJit->compiler().cache().dir().c_str() : "off");

  // INT_MULTIPLE=1 kernels take any sizes; INT_MULTIPLE=16 ones are checked
  // on sizes and strides that keep that promise (vectorized accesses).
  // Each check with its kind (--kind selects before running; --only filters
  // the names after).
  std::vector<std::pair<std::string, std::function<Result()>>> checks = {
      {"vector_add", [] { return checkVectorAdd(1, 1); }},
      {"vector_add", [] { return checkVectorAdd(1, 1000003); }},
      {"softmax", [] { return checkSoftmax(1, 37, 1000); }},
      {"softmax", [] { return checkSoftmax(1, 5, 3001); }},
      {"softmax", [] { return checkSoftmax(1, 3, 1); }},
      {"layer_norm", [] { return checkLayerNorm(1, 33, 1500); }},
      {"layer_norm", [] { return checkLayerNorm(1, 4, 4096); }},
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
      {"attention", [] { return checkAttention(1, 2, 3, 100, 130, false); }},
      {"attention", [] { return checkAttention(1, 1, 2, 1, 17, false); }},
      {"attention", [] { return checkAttention(1, 1, 2, 257, 257, false); }},
      {"attention", [] { return checkAttention(1, 2, 2, 100, 130, true); }},
      {"attention", [] { return checkAttention(1, 1, 1, 200, 200, true); }},
      {"attention", [] { return checkAttention(1, 1, 2, 97, 80, false, 128); }},
      {"attention", [] { return checkAttention(1, 2, 4, 100, 130, false, 64, 2); }}, // grouped-query
      {"attention", [] { return checkAttention(1, 1, 4, 70, 70, true, 64, 1); }},    // multi-query, causal
      {"attention", [] { return checkAttention(1, 2, 3, 1000, 1000, false, 64, 0, true); }},
      {"attention", [] { return checkAttention(1, 1, 2, 300, 517, true, 128, 1, true); }},
      {"attention", [] { return checkAttention(1, 1, 1, 4097, 4097, true); }},
      // Unmasked blocks in a loop of their own (MASK_SPLIT), with and without TMA.
      {"attention", [] { return checkAttention(1, 2, 2, 100, 130, true, 64, 0, false, true); }},
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1000, false, 64, 0, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 300, 517, true, 128, 1, true, true); }},
      {"attention", [] { return checkAttention(16, 1, 1, 4097, 4097, true, 64, 0, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 17, 1, false, 128, 0, false, true); }},
      // Packed variable-length sequences (cu_seqlens), lengths q/k.
      {"attention", [] { return checkAttentionVarlen(1, {{100, 130}, {1, 17}, {257, 200}}, false, 64); }},
      {"attention", [] { return checkAttentionVarlen(16, {{300, 517}, {64, 64}, {1000, 999}}, true, 128); }},
      {"attention", [] { return checkAttentionVarlen(16, {{300, 300}, {17, 1}, {700, 900}}, true, 64, true); }},
      {"attention", [] { return checkAttentionVarlen(16, {{2048, 2048}, {5, 900}, {1500, 2100}}, true, 128, false, true); }},
      {"attention", [] { return checkAttentionVarlen(16, {{333, 444}, {1, 1}}, false, 64, false, true); }},
      // P·V of block j-1 issued before the softmax of block j (OVERLAP).
      {"attention", [] { return checkAttention(1, 2, 2, 100, 130, true, 64, 0, false, false, true); }},
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1000, false, 64, 0, false, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 300, 517, true, 128, 1, true, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 1, 4097, 4097, true, 64, 0, false, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 17, 1, false, 128, 0, false, false, true); }},
      {"attention", [] { return checkAttention(16, 1, 2, 130, 64, true, 128, 0, false, false, true); }},
      // A producer warpgroup issues the TMA copies (warp_specialize; on sm_90a:
      // 4 more warps, empty barriers, setmaxnreg), 128-row blocks over 8 warps.
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1000, false, 128, 0, false, true, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}}); }},
      {"attention", [] { return checkAttention(16, 1, 2, 300, 517, true, 128, 1, true, true, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}}); }},
      {"attention", [] { return checkAttention(16, 1, 1, 4097, 4097, true, 64, 0, false, true, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}}); }},
      {"attention", [] { return checkAttention(16, 2, 2, 1000, 1100, true, 64, 0, false, false, true,
                                 wsTile("128")); }},
      {"attention", [] { return checkAttention(16, 1, 2, 17, 1, false, 128, 0, false, false, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}}); }},
      // d=256 with both loops and OVERLAP (fits once small buffers are packed).
      {"attention", [] { return checkAttention(16, 1, 2, 300, 517, true, 256, 0, false, true, true,
                                 wsTile("64")); }},
      // Both loops (MASK_SPLIT) and OVERLAP's tail share one set of rings.
      {"attention", [] { return checkAttention(16, 2, 2, 1000, 1100, true, 128, 0, false, true, true,
                                 wsTile("128")); }},
      {"attention", [] { return checkAttention(16, 2, 2, 333, 700, true, 64, 0, false, true, false,
                                 {{"warp_specialize", "1"}, {"min_blocks", "2"}}); }},
      // Persistent programs looping over tiles (two blocks per SM; 64x64).
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1100, true, 128, 0, false, true, false,
                                 {{"BLOCK_M", "128"}, {"num_warps", "8"}, {"min_blocks", "2"},
                                  {"PERSISTENT", "1"}}); }},
      {"attention", [] { return checkAttention(16, 2, 3, 517, 300, false, 64, 0, true, true, false,
                                 {{"PERSISTENT", "1"}}); }},
      // ... with a producer warpgroup whose ring count runs on across tiles.
      {"attention", [] { return checkAttention(16, 2, 3, 1000, 1100, true, 128, 0, false, true, false,
                                 wsTile("128", true)); }},
      // 24 programs over 8 query blocks: causal tiles in groups of 3 heads,
      // 10 heads in all (the last group holds one).
      {"attention", [] { return checkAttention(16, 2, 5, 1000, 1100, true, 128, 0, false, true, false,
                                 wsTile("128", true), 24); }},
      {"attention", [] { return checkAttention(16, 2, 3, 700, 517, false, 128, 0, true, true, true,
                                 wsTile("128", true)); }},
      {"attention", [] { return checkAttention(16, 1, 4, 300, 517, true, 256, 2, false, true, true,
                                 wsTile("64", true)); }},
      // OVERLAP's first K and last V through the producer in every tile:
      // causal grouped-query, 24 programs over 9 query blocks x 8 heads.
      {"attention", [] { return checkAttention(16, 2, 4, 1100, 1000, true, 128, 2, false, false, true,
                                 wsTile("128", true), 24); }},
      {"attention", [] { return checkAttention(16, 1, 3, 1, 129, false, 64, 0, true, false, true,
                                 wsTile("128")); }},
      {"matmul", [] { return checkMatmulApi("f16", 1000, 520, 300); }},
      {"matmul", [] { return checkMatmulApi("bf16", 2048, 2304, 512); }},
      {"attention", [] { return checkAttentionApi(256, false, 130, 190); }},
      {"attention", [] { return checkAttentionApi(256, true, 257, 257); }},
      {"attention", [] { return checkAttentionApi(128, true, 200, 333); }},
      // The H100 choices (jit::attentionConfig), all with unmasked blocks split
      // off: d=64 64x64, from 8192 keys 128x128 with a producer warpgroup;
      // d=128 128x128 with a producer warpgroup -- persistent and ping-pong
      // (OVERLAP) up to 2048 keys when not causal (777x901 below) -- or, causal
      // up to 1024 keys, 128x64 with two blocks per SM (the 200x333 case
      // above); d=256 128x64 with a producer warpgroup (above). The consumer
      // warpgroups ping-pong from 2048 keys at d=128 (2100x2100 causal below)
      // and 4096 at d=256.
      {"attention", [] { return checkAttentionApi(64, false, 150, 8300); }},
      {"attention", [] { return checkAttentionApi(128, false, 200, 2500); }},
      {"attention", [] { return checkAttentionApi(256, false, 130, 4200); }},
      {"attention", [] { return checkAttentionApi(64, true, 1000, 1100); }},
      {"attention", [] { return checkAttentionApi(64, false, 2048, 2100); }},
      {"attention", [] { return checkAttentionApi(128, false, 777, 901); }},
      {"attention", [] { return checkAttentionApi(128, true, 2100, 2100); }},
      // bf16 through each head dim's H100 choice.
      {"attention", [] { return checkAttentionApi(64, true, 1000, 1100, "bf16"); }},
      {"attention", [] { return checkAttentionApi(128, false, 777, 901, "bf16"); }},
      {"attention", [] { return checkAttentionApi(128, true, 300, 517, "bf16"); }},
      {"attention", [] { return checkAttentionApi(256, false, 130, 190, "bf16"); }},
      {"matmul", [] { return checkMatmulSampled("f16", 8192, 8192, 8192); }},
      {"matmul", [] { return checkMatmulSampled("bf16", 8192, 8192, 8192); }},
      {"matmul", [] { return checkMatmulSampled("f16", 4096, 14336, 4096); }},
      {"matmul", [] { return checkMatmulSampled("bf16", 8192, 1024, 8192); }},
      {"matmul", [] { return checkMatmulSampled("f16", 2048, 2048, 2048); }},
      {"matmul", [] { return checkMatmulSampled("bf16", 1024, 1024, 1024); }},
      {"vector_add", [] { return checkVectorAdd(16, 1 << 20); }},
      {"vector_add", [] { return checkVectorAdd(16, 16 * 4099); }},
      {"softmax", [] { return checkSoftmax(16, 37, 1008); }},
      {"softmax", [] { return checkSoftmax(16, 5, 3008); }},
      {"layer_norm", [] { return checkLayerNorm(16, 33, 1504); }},
      {"matmul", [] { return checkMatmul(16, "f16", 100, 80, 144); }},
      {"attention", [] { return checkAttention(16, 2, 3, 100, 130, false); }},
      {"launch", [] { return checkLaunchErrors(); }},
  };
  bool ok = true;
  std::vector<Result> results;
  std::printf("%-50s %12s %10s %9s %9s  %s\n", "check", "rel. error", "max |err|", "tolerance",
              "ms", "result");
  for (auto &[kind, c] : checks) {
    if (!kinds.empty() && ("," + kinds + ",").find("," + kind + ",") == std::string::npos)
      continue;
    Result r;
    try {
      r = c();
      if (!only.empty() && r.name.find(only) == std::string::npos)
        continue; // (ran, but not asked for: cheap, and keeps the list simple)
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
  auto st = gJit->compiler().stats();
  std::printf("jit: %zu compiled, %zu from the disk cache, %zu memory hits\n", st.compiles,
              st.diskHits, st.memoryHits);
  if (!jsonPath.empty()) {
    std::ofstream js(jsonPath);
    js << "{\"device\": \"" << dev.name << "\", \"driver\": " << dev.driverVersion
       << ", \"target\": \"" << dev.target() << "\", \"compiled\": " << st.compiles
       << ", \"disk_hits\": " << st.diskHits << ", \"checks\": [\n";
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
