//===- InterpreterTest.cpp - every library kernel on the CPU --------------===//
//
// The interpreter runs each library kernel as traced, on small random shapes
// with tails, against the float64 references; a deliberately wrong kernel
// shows the out-of-bounds report; and the block-level passes are checked to
// preserve meaning by interpreting the IR before and after them.
//
//===----------------------------------------------------------------------===//
#include "Common.h"
#include "../kernels/Atomics.h"
#include "../kernels/AxisOps.h"
#include "../kernels/Elementwise.h"
#include "../kernels/Fp8.h"
#include "../kernels/Philox.h"

#include "tessera/Interpreter/Interpreter.h"
#include "tessera/Support/Half.h"
#include "tessera/kernels/Attention.h"
#include "tessera/kernels/Library.h"
#include "tessera/kernels/References.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cmath>
#include <functional>
#include <numbers>
#include <random>

using namespace tessera;
using namespace tessera::dsl;
using interp::Buffer;

namespace {
std::mt19937_64 rng(std::random_device{}());

/// Random f16 values (exactly representable) as doubles, and their bits.
struct Half16 {
  std::vector<double> v;
  std::vector<uint16_t> bits;
  Half16(size_t n, double scale = 1.0) : v(n), bits(n) {
    std::normal_distribution<float> d(0.f, float(scale));
    for (size_t i = 0; i < n; ++i) {
      bits[i] = toHalf(d(rng));
      v[i] = fromHalf(bits[i]);
    }
  }
  Buffer buf() { return {bits.data(), bits.size() * 2, "f16"}; }
};
std::vector<double> halves(const std::vector<uint16_t> &h) {
  std::vector<double> v(h.size());
  for (size_t i = 0; i < h.size(); ++i)
    v[i] = fromHalf(h[i]);
  return v;
}
/// ||out - ref|| / ||ref||, with NaN failing.
double relErr(const std::vector<double> &out, const std::vector<double> &ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i]))
      return INFINITY;
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

mlir::OwningOpRef<mlir::ModuleOp> traced(mlir::MLIRContext &ctx, const std::string &name,
                                         const Params &p = {}) {
  return dsl::traceKernel(ctx, kernels::findKernel(name), p);
}
} // namespace

TEST_CASE("interpreter: vector_add with a tail", "[interp][kernels]") {
  auto ctx = test::makeContext();
  for (int mult : {1, 16}) {
    auto m = traced(*ctx, "vector_add", {{"BLOCK", "256"}, {"INT_MULTIPLE", std::to_string(mult)}});
    int n = mult == 1 ? 1000 : 1024 + 16;
    std::vector<float> x(n), y(n), out(n, NAN);
    std::normal_distribution<float> d;
    for (int i = 0; i < n; ++i)
      x[i] = d(rng), y[i] = d(rng);
    interp::run(*m, {unsigned((n + 255) / 256)},
                {Buffer{x.data(), x.size() * 4, "f32"}, Buffer{y.data(), y.size() * 4, "f32"},
                 Buffer{out.data(), out.size() * 4, "f32"}, n});
    std::vector<double> xd(x.begin(), x.end()), yd(y.begin(), y.end()), ref(n),
        od(out.begin(), out.end());
    kernels::ref::vectorAdd(xd.data(), yd.data(), ref.data(), n);
    CHECK(relErr(od, ref) < 1e-7);
  }
}

TEST_CASE("interpreter: softmax with one-pass and looped rows", "[interp][kernels]") {
  auto ctx = test::makeContext();
  auto m = traced(*ctx, "softmax", {{"BLOCK", "128"}});
  for (int cols : {1, 100, 128, 300}) {
    int rows = 3;
    Half16 in(size_t(rows) * cols, 3.0);
    std::vector<uint16_t> out(in.bits.size(), 0xffff);
    interp::run(*m, {unsigned(rows)},
                {Buffer{out.data(), out.size() * 2, "f16"}, in.buf(), cols, cols, cols});
    std::vector<double> ref(in.v.size());
    kernels::ref::softmax(in.v.data(), ref.data(), rows, cols);
    INFO("cols " << cols);
    CHECK(relErr(halves(out), ref) < 2e-3);
  }
}

TEST_CASE("interpreter: layer_norm", "[interp][kernels]") {
  auto ctx = test::makeContext();
  auto m = traced(*ctx, "layer_norm", {{"BLOCK", "128"}});
  for (int cols : {77, 128, 300}) {
    int rows = 3;
    Half16 x(size_t(rows) * cols, 2.0), w(cols), b(cols);
    std::vector<uint16_t> y(x.bits.size(), 0xffff);
    std::vector<float> mean(rows, NAN), rstd(rows, NAN);
    float eps = 1e-5f;
    interp::run(*m, {unsigned(rows)},
                {x.buf(), Buffer{y.data(), y.size() * 2, "f16"}, w.buf(), b.buf(),
                 Buffer{mean.data(), mean.size() * 4, "f32"},
                 Buffer{rstd.data(), rstd.size() * 4, "f32"}, cols, cols, eps});
    std::vector<double> ref(x.v.size()), rm(rows), rr(rows);
    kernels::ref::layerNorm(x.v.data(), w.v.data(), b.v.data(), ref.data(), rm.data(), rr.data(),
                            rows, cols, eps);
    INFO("cols " << cols);
    CHECK(relErr(halves(y), ref) < 2e-3);
    CHECK(relErr(std::vector<double>(mean.begin(), mean.end()), rm) < 1e-5);
    CHECK(relErr(std::vector<double>(rstd.begin(), rstd.end()), rr) < 1e-5);
  }
}

TEST_CASE("interpreter: matmul with tails", "[interp][kernels]") {
  auto ctx = test::makeContext();
  auto m = traced(*ctx, "matmul", {{"BLOCK_M", "16"}, {"BLOCK_N", "16"}, {"BLOCK_K", "16"}});
  int M = 37, N = 20, K = 45;
  Half16 a(size_t(M) * K), b(size_t(K) * N);
  std::vector<uint16_t> c(size_t(M) * N, 0xffff);
  interp::run(*m, {unsigned((M + 15) / 16), unsigned((N + 15) / 16)},
              {a.buf(), b.buf(), Buffer{c.data(), c.size() * 2, "f16"}, M, N, K, K, 1, N, 1, N,
               1});
  std::vector<double> ref(size_t(M) * N);
  kernels::ref::matmul(a.v.data(), b.v.data(), ref.data(), M, N, K);
  CHECK(relErr(halves(c), ref) < 2e-3);
}

TEST_CASE("interpreter: attention forward causal and not and grouped-query", "[interp][kernels]") {
  auto ctx = test::makeContext();
  struct Case {
    bool causal;
    int heads, kvHeads;
    bool split = false;   // unmasked key blocks in a loop of their own
    bool overlap = false; // P·V of block j-1 issued before the softmax of block j
    bool persistent = false; // 7 programs looping over the 3 x heads tiles
  };
  for (Case c : {Case{false, 2, 2}, Case{true, 2, 2}, Case{false, 4, 2}, Case{true, 4, 1},
                 Case{false, 2, 2, true}, Case{true, 4, 1, true}, Case{false, 2, 2, false, true},
                 Case{true, 4, 1, false, true}, Case{false, 4, 2, true, false, true},
                 Case{true, 4, 1, true, true, true}}) {
    kernels::AttentionConfig cfg;
    cfg.blockM = cfg.blockN = cfg.headDim = 16;
    cfg.causal = c.causal, cfg.maskSplit = c.split, cfg.overlap = c.overlap;
    cfg.persistent = c.persistent;
    auto m = traced(*ctx, "attention_fwd", cfg.params());
    int batch = 1, heads = c.heads, kvHeads = c.kvHeads, sq = 37, sk = 29, d = 16;
    int bh = batch * heads, kvbh = batch * kvHeads;
    Half16 q(size_t(bh) * sq * d), k(size_t(kvbh) * sk * d), v(size_t(kvbh) * sk * d);
    std::vector<uint16_t> o(q.bits.size(), 0xffff);
    std::vector<float> lse(size_t(bh) * sq, NAN);
    float scale = 0.25f;
    int qb = heads * sq * d, qh = sq * d, kb = kvHeads * sk * d, kh = sk * d;
    std::vector<interp::Arg> args{q.buf(), k.buf(), v.buf(), Buffer{o.data(), o.size() * 2, "f16"},
                                  Buffer{lse.data(), lse.size() * 4, "f32"}, sq, sk, heads,
                                  kvHeads, scale, qb, qh, d, kb, kh, d, kb, kh, d, qb, qh, d};
    if (c.persistent)
      args.push_back(bh); // num_bh; fewer programs than tiles, not dividing them
    // (7 programs over 3 query blocks: causal tiles in groups of 2 heads.)
    interp::run(*m, c.persistent ? interp::Grid{7} : interp::Grid{unsigned((sq + 15) / 16), unsigned(heads), unsigned(batch)},
                args);
    std::vector<double> ref(q.v.size()), rl(lse.size());
    kernels::ref::attention(q.v.data(), k.v.data(), v.v.data(), ref.data(), rl.data(), bh, sq, sk,
                            d, scale, c.causal, heads / kvHeads);
    INFO("causal " << c.causal << " heads " << heads << " kv heads " << kvHeads << " split "
                   << c.split << " overlap " << c.overlap << " persistent " << c.persistent);
    CHECK(relErr(halves(o), ref) < 3e-3);
    CHECK(relErr(std::vector<double>(lse.begin(), lse.end()), rl) < 1e-4);
  }
}

TEST_CASE("interpreter: attention backward (dQ, dK, dV) against the float64 gradients",
          "[interp][kernels]") {
  auto ctx = test::makeContext();
  struct Case {
    bool causal;
    int heads, kvHeads, sq, sk;
  };
  // Tails on both axes, seq_q above and below seq_k, grouped- and multi-query;
  // dQ summed atomically (ATOMIC_DQ) and by its own kernel.
  for (Case c : {Case{false, 2, 2, 37, 29}, Case{true, 2, 2, 37, 29}, Case{true, 2, 2, 21, 45},
                 Case{false, 4, 2, 37, 29}, Case{true, 4, 1, 33, 40}})
  for (bool atomic : {true, false}) {
    const int batch = 2, d = 16, bh = batch * c.heads, kvbh = batch * c.kvHeads;
    const float scale = 0.25f;
    Params rows{{"BLOCK_M", "16"}, {"HEAD_DIM", "16"}};
    Params shape =
        Params{{"BLOCK_N", "16"}, {"CAUSAL", c.causal ? "1" : "0"}}.over(rows);
    Params withAtomics = Params{{"ATOMIC_DQ", atomic ? "1" : "0"}};
    Half16 q(size_t(bh) * c.sq * d), k(size_t(kvbh) * c.sk * d), v(size_t(kvbh) * c.sk * d),
        dO(size_t(bh) * c.sq * d);
    // [b, h, s, d], contiguous: strides of one tensor (b, h, s).
    using HS = std::vector<std::pair<int, int>>; // (heads, seq) of each tensor
    auto strides = [&](const HS &tensors, std::vector<interp::Arg> &args) {
      for (auto [h, s] : tensors)
        args.insert(args.end(), {h * s * d, s * d, d});
    };
    const std::pair<int, int> Q{c.heads, c.sq}, KV{c.kvHeads, c.sk};
    // The forward, as a user runs it: O and the logsumexp.
    std::vector<uint16_t> o(q.bits.size(), 0xffff);
    std::vector<float> lse(size_t(bh) * c.sq, NAN), delta(lse.size(), NAN),
        accum(lse.size() * d, NAN); // the preprocess zeroes it
    Buffer bo{o.data(), o.size() * 2, "f16"}, blse{lse.data(), lse.size() * 4, "f32"},
        bdelta{delta.data(), delta.size() * 4, "f32"},
        baccum{accum.data(), accum.size() * 4, "f32"};
    std::vector<interp::Arg> fwd{q.buf(), k.buf(), v.buf(), bo, blse, c.sq, c.sk, c.heads,
                                 c.kvHeads, scale};
    strides({Q, KV, KV, Q}, fwd);
    interp::Grid qGrid{unsigned((c.sq + 15) / 16), unsigned(c.heads), unsigned(batch)};
    interp::run(*traced(*ctx, "attention_fwd", shape), qGrid, fwd);

    std::vector<interp::Arg> pre{bo, dO.buf(), bdelta};
    if (atomic)
      pre.push_back(baccum);
    pre.insert(pre.end(), {c.sq, c.heads});
    strides({Q, Q}, pre);
    interp::run(*traced(*ctx, "attention_bwd_preprocess", withAtomics.over(rows)), qGrid, pre);

    std::vector<uint16_t> dq(q.bits.size(), 0xffff), dk(k.bits.size(), 0xffff),
        dv(v.bits.size(), 0xffff);
    Buffer bdq{dq.data(), dq.size() * 2, "f16"}, bdk{dk.data(), dk.size() * 2, "f16"},
        bdv{dv.data(), dv.size() * 2, "f16"};
    std::vector<interp::Arg> dkdv{q.buf(), k.buf(), v.buf(), dO.buf(), blse, bdelta, bdk, bdv};
    if (atomic)
      dkdv.push_back(baccum);
    dkdv.insert(dkdv.end(), {c.sq, c.sk, c.heads, c.kvHeads, scale});
    strides({Q, KV, KV, Q, KV, KV}, dkdv);
    interp::run(*traced(*ctx, "attention_bwd_dkdv", withAtomics.over(shape)),
                {unsigned((c.sk + 15) / 16), unsigned(c.kvHeads), unsigned(batch)}, dkdv);
    if (atomic) {
      std::vector<interp::Arg> convert{baccum, bdq, c.sq, c.heads, scale};
      strides({Q}, convert);
      interp::run(*traced(*ctx, "attention_bwd_dq_convert", rows), qGrid, convert);
    } else {
      std::vector<interp::Arg> dqArgs{q.buf(), k.buf(), v.buf(), dO.buf(), blse, bdelta, bdq,
                                      c.sq, c.sk, c.heads, c.kvHeads, scale};
      strides({Q, KV, KV, Q, Q}, dqArgs);
      interp::run(*traced(*ctx, "attention_bwd_dq", shape), qGrid, dqArgs);
    }

    std::vector<double> rq(q.v.size()), rk(k.v.size()), rv(v.v.size());
    kernels::ref::attentionBackward(q.v.data(), k.v.data(), v.v.data(), dO.v.data(), rq.data(),
                                    rk.data(), rv.data(), bh, c.sq, c.sk, d, scale, c.causal,
                                    c.heads / c.kvHeads);
    INFO("causal " << c.causal << " heads " << c.heads << " kv heads " << c.kvHeads << " sq "
                   << c.sq << " sk " << c.sk << " atomic dQ " << atomic);
    // f16 gradients from f16 P and dS: about 1e-3 of the norm.
    CHECK(relErr(halves(dq), rq) < 5e-3);
    CHECK(relErr(halves(dk), rk) < 5e-3);
    CHECK(relErr(halves(dv), rv) < 5e-3);
  }
}

TEST_CASE("interpreter: variable-length attention over packed sequences", "[interp][kernels]") {
  auto ctx = test::makeContext();
  for (bool causal : {false, true}) {
    auto m = traced(*ctx, "attention_fwd",
                    {{"BLOCK_M", "16"}, {"BLOCK_N", "16"}, {"HEAD_DIM", "16"},
                     {"CAUSAL", causal ? "1" : "0"}, {"VARLEN", "1"}});
    // Three sequences packed as [total, heads, d]; K/V lengths differ from Q's.
    std::vector<int32_t> cuQ{0, 5, 5 + 37, 5 + 37 + 16}, cuK{0, 9, 9 + 29, 9 + 29 + 40};
    int batch = 3, heads = 2, d = 16, totQ = cuQ.back(), totK = cuK.back(), maxQ = 37, maxK = 40;
    Half16 q(size_t(totQ) * heads * d), k(size_t(totK) * heads * d), v(size_t(totK) * heads * d);
    std::vector<uint16_t> o(q.bits.size(), 0xffff);
    std::vector<float> lse(size_t(batch) * heads * maxQ, NAN);
    float scale = 0.25f;
    int ss = heads * d; // row stride of the packed layout
    interp::run(*m, {unsigned((maxQ + 15) / 16), unsigned(heads), unsigned(batch)},
                {q.buf(), k.buf(), v.buf(), Buffer{o.data(), o.size() * 2, "f16"},
                 Buffer{lse.data(), lse.size() * 4, "f32"}, maxQ, maxK, heads, heads, scale, 0, d,
                 ss, 0, d, ss, 0, d, ss, 0, d, ss, Buffer{cuQ.data(), cuQ.size() * 4, "i32"},
                 Buffer{cuK.data(), cuK.size() * 4, "i32"}});
    auto out = halves(o);
    for (int b = 0; b < batch; ++b) {
      int lq = cuQ[b + 1] - cuQ[b], lk = cuK[b + 1] - cuK[b];
      // This sequence as [heads, len, d] for the reference.
      auto gather = [&](const std::vector<double> &x, int start, int len) {
        return kernels::ref::packedSequence(x, heads, d, start, len);
      };
      auto qb = gather(q.v, cuQ[b], lq), kb = gather(k.v, cuK[b], lk), vb = gather(v.v, cuK[b], lk);
      std::vector<double> ref(qb.size()), rl(size_t(heads) * lq);
      kernels::ref::attention(qb.data(), kb.data(), vb.data(), ref.data(), rl.data(), heads, lq,
                              lk, d, scale, causal, 1);
      auto ob = gather(out, cuQ[b], lq);
      std::vector<double> lb;
      for (int h = 0; h < heads; ++h)
        for (int i = 0; i < lq; ++i)
          lb.push_back(lse[(size_t(b) * heads + h) * maxQ + i]);
      INFO("causal " << causal << " sequence " << b);
      CHECK(relErr(ob, ref) < 3e-3);
      CHECK(relErr(lb, rl) < 1e-4);
    }
  }
}

TEST_CASE("interpreter: atomicAdd/Max/Min update memory and return the old values",
          "[interp][atomics]") {
  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, testkernels::atomicsKernel(), {{"BLOCK", "16"}});
  const int n = 45; // three programs, the last with a tail
  std::vector<float> x(n);
  std::vector<int32_t> xi(n);
  std::normal_distribution<float> d;
  for (int i = 0; i < n; ++i) {
    x[i] = d(rng);
    xi[i] = int32_t(rng() % 2001) - 1000;
  }
  x[3] = -0.0f; // orders below +0.0
  testkernels::AtomicsOutputs out(n);
  auto f32 = [](std::vector<float> &v) { return Buffer{v.data(), v.size() * 4, "f32"}; };
  auto i32 = [](std::vector<int32_t> &v) { return Buffer{v.data(), v.size() * 4, "i32"}; };
  interp::run(*m, {3},
              {f32(x), i32(xi), f32(out.sums), f32(out.fmax), f32(out.fmin), i32(out.imax),
               i32(out.ticket), i32(out.tickets), n});
  CHECK(testkernels::atomicsMismatch(x, xi, out) == "");
  // Sequential programs, elements in order: the tickets are 0..n-1 in place.
  for (int i = 0; i < n; ++i)
    CHECK(out.tickets[i] == i);
}

TEST_CASE("interpreter: atomicExchange and atomicCAS (i32, f32 by bits)", "[interp][atomics]") {
  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, testkernels::atomicSwapKernel(), {{"BLOCK", "16"}});
  const int n = 45;
  testkernels::AtomicSwapOutputs out(n);
  auto f32 = [](std::vector<float> &v) { return Buffer{v.data(), v.size() * 4, "f32"}; };
  auto i32 = [](std::vector<int32_t> &v) { return Buffer{v.data(), v.size() * 4, "i32"}; };
  interp::run(*m, {3},
              {i32(out.slot), i32(out.xold), i32(out.claim), i32(out.cold), f32(out.fclaim),
               f32(out.fold), n});
  CHECK(testkernels::atomicSwapMismatch(n, out) == "");
  // In order: element 0 wins every i32 claim of slot 0, element 0 the f32 one.
  CHECK(out.claim[0] == 1);
  CHECK(out.fclaim[0] == 1.0f);
  CHECK(out.xold[4] == 1); // slot 0 held element 0's id when element 4 came
}

TEST_CASE("interpreter: an out-of-bounds access names the DSL line and program and element",
          "[interp][errors]") {
  auto ctx = test::makeContext();
  int line = 0;
  // Wrong on purpose: the store is not masked, so the last program writes
  // past the end of `out`.
  auto m = trace(*ctx, "copy_no_mask", 1, [&](Kernel &k) {
    Ptr x = k.ptr("x", f32), out = k.ptr("out", f32);
    Scalar n = k.i32("n");
    Tile offs = programId(0) * 32 + arange(0, 32);
    Tile v = load(x + offs, offs < n);
    line = __LINE__; store(out + offs, v);
  });
  std::vector<float> x(40, 1.f), out(40);
  std::string msg = test::errorOf([&] {
    interp::run(*m, {2}, {Buffer{x.data(), 160, "f32"}, Buffer{out.data(), 160, "f32"}, 40});
  });
  CHECK(msg == test::at(__FILE__, line) +
                   "store: program (1, 0, 0) writes element 40 of argument 'out', which has 40 "
                   "elements: out of bounds (tile element 8)");
  CHECK(out[39] == 1.f); // everything before the fault was written
}

TEST_CASE("interpreter: the non-finite check names the first producer", "[interp][errors]") {
  auto ctx = test::makeContext();
  int line = 0;
  auto m = trace(*ctx, "logs", 1, [&](Kernel &k) {
    Ptr x = k.ptr("x", f32), out = k.ptr("out", f32);
    Tile offs = arange(0, 32);
    Tile v = load(x + offs);
    line = __LINE__; Tile l = log2(v);
    store(out + offs, l * 2.0);
  });
  std::vector<float> x(32, 1.f), out(32);
  x[5] = -1.f;
  std::vector<interp::Arg> args = {Buffer{x.data(), 128, "f32"}, Buffer{out.data(), 128, "f32"}};
  interp::run(*m, {1}, args); // without the check: NaN flows to out
  CHECK(std::isnan(out[5]));
  std::string msg = test::errorOf([&] { interp::run(*m, {1}, args, {/*checkNonFinite=*/true}); });
  CHECK(msg == test::at(__FILE__, line) +
                   "log2: program (0, 0, 0) produced NaN at element 5 from finite inputs");
}

TEST_CASE("interpreter: bad arguments are reported", "[interp][errors]") {
  auto ctx = test::makeContext();
  auto m = traced(*ctx, "vector_add");
  std::vector<float> x(4);
  CHECK(test::errorOf([&] { interp::run(*m, {1}, {Buffer{x.data(), 16, "f32"}}); }) ==
        "vector_add: expected 4 arguments, got 1");
  CHECK(test::errorOf([&] {
          interp::run(*m, {1}, {Buffer{x.data(), 16, "f16"}, Buffer{x.data(), 16, ""},
                                Buffer{x.data(), 16, ""}, 4});
        }) == "vector_add: argument 'x' points to f32 but a buffer of f16 was passed");
  CHECK(test::errorOf([&] {
          interp::run(*m, {1}, {Buffer{x.data(), 16, ""}, Buffer{x.data(), 16, ""},
                                Buffer{x.data(), 16, ""}, int64_t(4)});
        }) == "vector_add: argument 'n' needs an int32_t");
  CHECK(test::errorOf([&] {
          interp::run(*m, {1}, {Buffer{x.data(), 16, "f32"}, Buffer{nullptr, 16, "f32"},
                                Buffer{x.data(), 16, "f32"}, 4});
        }) == "vector_add: argument 'y' is a null Buffer of 16 bytes");
  // Empty buffers (null or not) are fine until something reads them.
  CHECK(test::errorOf([&] {
          interp::run(*m, {1}, {Buffer{nullptr, 0, "f32"}, Buffer{nullptr, 0, "f32"},
                                Buffer{nullptr, 0, "f32"}, 0});
        }) == "");
}

TEST_CASE("interpreter: canonicalize and cse preserve every kernel's meaning",
          "[interp][passes]") {
  // The block-level rewrites of the pipeline (before layouts) run on a
  // clone; both versions are interpreted on the same random inputs and
  // must agree bit for bit.
  auto ctx = test::makeContext();
  auto m = traced(*ctx, "softmax", {{"BLOCK", "64"}});
  mlir::OwningOpRef<mlir::ModuleOp> after(m->clone());
  mlir::PassManager pm(ctx.get());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
  REQUIRE(mlir::succeeded(pm.run(*after)));
  for (int cols : {1, 50, 64, 130}) {
    Half16 in(size_t(2) * cols, 2.0);
    std::vector<uint16_t> o1(in.bits.size(), 0), o2(in.bits.size(), 1);
    interp::run(*m, {2}, {Buffer{o1.data(), o1.size() * 2, "f16"}, in.buf(), cols, cols, cols});
    interp::run(*after, {2}, {Buffer{o2.data(), o2.size() * 2, "f16"}, in.buf(), cols, cols, cols});
    CHECK(o1 == o2);
  }
  auto mm = traced(*ctx, "matmul", {{"BLOCK_M", "16"}, {"BLOCK_N", "16"}, {"BLOCK_K", "16"}});
  mlir::OwningOpRef<mlir::ModuleOp> mmAfter(mm->clone());
  mlir::PassManager pm2(ctx.get());
  pm2.addPass(mlir::createCanonicalizerPass());
  pm2.addPass(mlir::createCSEPass());
  REQUIRE(mlir::succeeded(pm2.run(*mmAfter)));
  int M = 20, N = 18, K = 33;
  Half16 a(size_t(M) * K), b(size_t(K) * N);
  std::vector<uint16_t> c1(size_t(M) * N, 0), c2(size_t(M) * N, 1);
  std::vector<interp::Arg> common = {a.buf(), b.buf()};
  interp::run(*mm, {2, 2}, {a.buf(), b.buf(), Buffer{c1.data(), c1.size() * 2, "f16"}, M, N, K, K,
                            1, N, 1, N, 1});
  interp::run(*mmAfter, {2, 2}, {a.buf(), b.buf(), Buffer{c2.data(), c2.size() * 2, "f16"}, M, N,
                                 K, K, 1, N, 1, N, 1});
  CHECK(c1 == c2);
}

TEST_CASE("interpreter: matmul with a fused bias and relu epilogue", "[interp][kernels]") {
  auto ctx = test::makeContext();
  auto m = traced(*ctx, "matmul",
                  {{"BLOCK_M", "16"}, {"BLOCK_N", "16"}, {"BLOCK_K", "16"}, {"EPILOGUE", "bias_relu"}});
  int M = 21, N = 19, K = 40;
  Half16 a(size_t(M) * K), b(size_t(K) * N), bias(N);
  std::vector<uint16_t> c(size_t(M) * N, 0xffff);
  interp::run(*m, {2, 2},
              {a.buf(), b.buf(), Buffer{c.data(), c.size() * 2, "f16"}, bias.buf(), M, N, K, K, 1,
               N, 1, N, 1});
  std::vector<double> ref(size_t(M) * N);
  kernels::ref::matmul(a.v.data(), b.v.data(), ref.data(), M, N, K);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j)
      ref[i * N + j] = std::max(0.0, ref[i * N + j] + bias.v[j]);
  CHECK(relErr(halves(c), ref) < 2e-3);
  auto ctx2 = test::makeContext();
  CHECK(test::errorOf([&] { traced(*ctx2, "matmul", {{"EPILOGUE", "gelu"}}); }) ==
        "matmul: EPILOGUE must be none, bias, relu or bias_relu, got 'gelu'");
}

TEST_CASE("interpreter: the element-wise vocabulary (tanh ... pow, ^ << >>) with IEEE special values",
          "[interp][elementwise]") {
  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, testkernels::elementwiseKernel(), {{"BLOCK", "32"}});
  const int n = 77;
  std::vector<float> x(n);
  std::vector<int32_t> xi(n), shift(n);
  std::normal_distribution<float> d(0, 3);
  for (int i = 0; i < n; ++i) {
    x[i] = d(rng);
    xi[i] = int32_t(rng());
    shift[i] = int32_t(i % 40) - 4; // -4..35: negative and past the width too
  }
  testkernels::addSpecialValues(x);
  std::vector<float> out(size_t(n) * testkernels::kElementwiseOutputs);
  std::vector<int32_t> outi(size_t(n) * 3);
  std::vector<float> psum(3);
  interp::run(*m, {3},
              {Buffer{x.data(), x.size() * 4, "f32"}, Buffer{xi.data(), xi.size() * 4, "i32"},
               Buffer{shift.data(), shift.size() * 4, "i32"},
               Buffer{out.data(), out.size() * 4, "f32"}, Buffer{outi.data(), outi.size() * 4, "i32"},
               Buffer{psum.data(), psum.size() * 4, "f32"}, n});
  CHECK(testkernels::elementwiseMismatch(x, xi, shift, out, outi, 1e-6, 1e-6) == "");
  CHECK(testkernels::programSumsMismatch(x, 32, psum) == "");
}

TEST_CASE("interpreter: argmax/argmin (ties, NaN) and cumsum/cummax along each axis",
          "[interp][axis]") {
  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, testkernels::axisOpsKernel(), {{"ROWS", "8"}, {"COLS", "16"}});
  testkernels::AxisOpsData d(3, 8, 16, rng);
  testkernels::AxisOpsOutputs out(d);
  auto f32 = [](std::vector<float> &v) { return Buffer{v.data(), v.size() * 4, "f32"}; };
  auto i32 = [](std::vector<int32_t> &v) { return Buffer{v.data(), v.size() * 4, "i32"}; };
  interp::run(*m, {3},
              {f32(d.x), i32(d.xi), i32(out.amax1), i32(out.amin1), i32(out.amax0),
               i32(out.arow), f32(out.csum1), f32(out.csum0), f32(out.cmax1), i32(out.cisum1),
               f32(out.crow)});
  CHECK(testkernels::axisOpsMismatch(d, out) == "");
}

TEST_CASE("interpreter: FP8 (e4m3, e5m2) rounding, saturation and widening; i8", "[interp][fp8]") {
  // The reference itself: known codes.
  CHECK(testkernels::fp8Encode(448.0f, true) == 0x7E);
  CHECK(testkernels::fp8Encode(1e9f, true) == 0x7E);  // saturates
  CHECK(testkernels::fp8Encode(-INFINITY, false) == 0xFB); // -57344
  CHECK(testkernels::fp8Encode(1.0625f, true) == 0x38);  // tie: to 1.0 (even)
  CHECK(testkernels::fp8Decode(0x01, true) == std::ldexp(1.0, -9));
  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, testkernels::fp8Kernel(), {{"BLOCK", "64"}});
  const int n = 300;
  testkernels::Fp8Data d(n, rng);
  testkernels::Fp8Outputs out(n);
  interp::run(*m, {5},
              {Buffer{d.x.data(), d.x.size() * 4, "f32"}, Buffer{out.q4.data(), out.q4.size(), "f8e4m3"},
               Buffer{out.q5.data(), out.q5.size(), "f8e5m2"},
               Buffer{out.back.data(), out.back.size() * 4, "f32"},
               Buffer{d.xb.data(), d.xb.size(), "i8"}, Buffer{out.outb.data(), out.outb.size(), "i8"},
               Buffer{out.outi.data(), out.outi.size() * 4, "i32"}, n});
  CHECK(testkernels::fp8Mismatch(d, out) == "");
}

TEST_CASE("interpreter: Philox4x32-10 (known answers), randint4x and rand", "[interp][philox]") {
  // Random123's known-answer vectors for philox4x32_10.
  CHECK(testkernels::philoxReference({0, 0, 0, 0}, 0, 0) ==
        std::array<uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(testkernels::philoxReference({~0u, ~0u, ~0u, ~0u}, ~0u, ~0u) ==
        std::array<uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(testkernels::philoxReference({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                                     0xa4093822, 0x299f31d0) ==
        std::array<uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});

  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, testkernels::philoxKernel(), {{"BLOCK", "32"}});
  const int n = 70;
  std::vector<uint32_t> counters(size_t(n) * 4), out(size_t(n) * 8);
  std::vector<float> u(n);
  for (auto &c : counters)
    c = uint32_t(rng());
  // The known-answer counters as elements 0-2 (keys differ: checked by the reference).
  counters[4] = counters[5] = counters[6] = counters[7] = ~0u;
  uint32_t k0 = uint32_t(rng()), k1 = uint32_t(rng());
  uint64_t seed = (uint64_t(rng()) << 32) | rng();
  interp::run(*m, {3},
              {Buffer{counters.data(), counters.size() * 4, "i32"},
               Buffer{out.data(), out.size() * 4, "i32"}, Buffer{u.data(), u.size() * 4, "f32"},
               int32_t(k0), int32_t(k1), int64_t(seed), n});
  CHECK(testkernels::philoxMismatch(counters, k0, k1, seed, out, u) == "");
}

TEST_CASE("DSL: where picks between two numbers (f32, or i32 when both are integers)",
          "[interp][dsl]") {
  dsl::KernelDef def{"test_where_numbers", "where(cond, number, number)", {{"num_warps", "4"}},
                     [](Kernel &k, const Params &) {
                       Ptr x = k.ptr("x", f32), f = k.ptr("f", f32), n = k.ptr("n", i32);
                       Tile i = arange(0, 16);
                       Tile v = load(x + i);
                       store(f + i, where(v > 0.0, 1.5, -2.0));
                       store(n + i, where(v > 0.0, 3, 7));
                     }};
  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, def, {});
  std::vector<float> x(16), f(16);
  std::vector<int32_t> n(16);
  for (int e = 0; e < 16; ++e)
    x[e] = float(e % 3) - 1.0f;
  interp::run(*m, {1}, {Buffer{x.data(), 64, "f32"}, Buffer{f.data(), 64, "f32"},
                        Buffer{n.data(), 64, "i32"}});
  for (int e = 0; e < 16; ++e) {
    CHECK(f[e] == (x[e] > 0 ? 1.5f : -2.0f));
    CHECK(n[e] == (x[e] > 0 ? 3 : 7));
  }
}

TEST_CASE("DSL: == and != compare tiles, scalars and numbers either way round",
          "[interp][dsl]") {
  // C++20 also tries `0 == t` for `t != 0`; these must still trace (once
  // they did not compile) and mean the element-wise comparison.
  dsl::KernelDef def{"test_equality", "== and != in every operand order", {{"num_warps", "4"}},
                     [](Kernel &k, const Params &) {
                       Ptr x = k.ptr("x", i32), out = k.ptr("out", i32);
                       Tile i = arange(0, 16);
                       Tile v = load(x + i);
                       Scalar s = load(x);
                       Tile r = (v != 0).to(i32) + (0 == v).to(i32) * 2 + (v == s).to(i32) * 4 +
                                (s != v).to(i32) * 8 + (v == v).to(i32) * 16;
                       Scalar t = (s == 3).to(i32) * 32 + (3 != s).to(i32) * 64;
                       store(out + i, r + t);
                     }};
  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, def, {});
  std::vector<int32_t> x{3, 0, 3, -1, 0, 7, 3, 3, 0, 1, 2, 3, 4, 0, 0, 3}, out(16);
  interp::run(*m, {1}, {Buffer{x.data(), 64, "i32"}, Buffer{out.data(), 64, "i32"}});
  for (int e = 0; e < 16; ++e) {
    int want = (x[e] != 0) + (x[e] == 0) * 2 + (x[e] == x[0]) * 4 + (x[e] != x[0]) * 8 + 16 +
               (x[0] == 3) * 32 + (x[0] != 3) * 64;
    CHECK(out[e] == want);
  }
}

TEST_CASE("DSL: derivative differentiates element-wise arithmetic and math functions, reuses "
          "values, and names what it cannot differentiate",
          "[interp][dsl][derivative]") {
  // Each function of x (and of b, which does not depend on x) with its
  // derivative in double.
  struct Fn {
    std::function<Tile(const Tile &, const Tile &)> f;
    std::function<double(double, double)> df;
    double tol = 1e-5;
  };
  std::vector<Fn> fns{
      {[](const Tile &x, const Tile &) { return dsl::tanh(x * 0.7) * 2.0; },
       [](double x, double) { double t = std::tanh(0.7 * x); return 1.4 * (1 - t * t); }},
      {[](const Tile &x, const Tile &) { return dsl::exp(x) / (1.0 + x * x); },
       [](double x, double) { return std::exp(x) * (1 - x) * (1 - x) / ((1 + x * x) * (1 + x * x)); }},
      {[](const Tile &x, const Tile &) { return dsl::exp2(x) + dsl::log(x) + dsl::log2(x); },
       [](double x, double) { return std::exp2(x) * std::numbers::ln2 + 1 / x + 1 / (x * std::numbers::ln2); }},
      {[](const Tile &x, const Tile &) { return dsl::sqrt(x) * dsl::rsqrt(x + 1.0); },
       [](double x, double) {
         return 0.5 / std::sqrt(x) / std::sqrt(x + 1) - 0.5 * std::sqrt(x) * std::pow(x + 1, -1.5);
       }},
      {[](const Tile &x, const Tile &b) { return dsl::sin(x) * dsl::cos(x * b); },
       [](double x, double b) { return std::cos(x) * std::cos(x * b) - std::sin(x) * std::sin(x * b) * b; }},
      {[](const Tile &x, const Tile &b) { return dsl::pow(x, 2.5) + dsl::pow(b, x); },
       [](double x, double b) { return 2.5 * std::pow(x, 1.5) + std::pow(b, x) * std::log(b); }},
      {[](const Tile &x, const Tile &) {
         return dsl::maximum(x - 1.0, (1.0 - x) * 0.5) + dsl::abs(x - 1.2) - dsl::minimum(x, 0.9);
       },
       [](double x, double) {
         return (x - 1 >= (1 - x) * 0.5 ? 1.0 : -0.5) + (x >= 1.2 ? 1.0 : -1.0) - (x <= 0.9 ? 1.0 : 0.0);
       }},
      {[](const Tile &x, const Tile &b) { return dsl::where(x > b, x * x, -x) + dsl::floor(x * 3.0); },
       [](double x, double b) { return x > b ? 2 * x : -1.0; }},
      {[](const Tile &x, const Tile &b) { return dsl::fma(x, x * b, b) - x / b; },
       [](double x, double b) { return 2 * x * b - 1 / b; }},
      {[](const Tile &x, const Tile &) { return dsl::sigmoid(x) + dsl::erf(x); },
       [](double x, double) {
         double s = 1 / (1 + std::exp(-x));
         return s * (1 - s) + 2 / std::sqrt(std::numbers::pi) * std::exp(-x * x);
       },
       2e-4}, // erf's derivative is that of its approximation
      {[](const Tile &x, const Tile &b) { return (x * x).to(f16).to(f32) + b; },
       [](double x, double) { return 2 * x; }, 2e-3}, // d rounded to f16 as y is
      {[](const Tile &x, const Tile &b) { return x + b * 3.0; }, [](double, double) { return 1.0; }},
      {[](const Tile &, const Tile &b) { return b * 2.0; }, [](double, double) { return 0.0; }},
  };
  const int n = 64;
  bool additiveIsOne = false;
  dsl::KernelDef def{"test_derivative", "derivative() of each function", {{"num_warps", "4"}},
                     [&](Kernel &k, const Params &) {
                       Ptr xp = k.ptr("x", f32), bp = k.ptr("b", f32), out = k.ptr("out", f32);
                       Tile i = arange(0, n);
                       Tile x = load(xp + i), b = load(bp + i);
                       for (size_t f = 0; f < fns.size(); ++f)
                         store(out + (i + int(f * n)), derivative(fns[f].f(x, b), x));
                       // A term that only adds stays the constant 1 (no
                       // multiply by it in a kernel).
                       additiveIsOne = mlir::matchPattern(derivative(x * 1.0 + b, x).value(),
                                                          mlir::m_OneFloat());
                     }};
  auto ctx = test::makeContext();
  auto m = traceKernel(*ctx, def, {});
  CHECK(additiveIsOne);
  std::vector<float> x(n), b(n), out(fns.size() * n, NAN);
  std::uniform_real_distribution<float> dx(0.3f, 2.0f), db(0.5f, 1.5f);
  for (int e = 0; e < n; ++e)
    x[e] = dx(rng), b[e] = db(rng);
  interp::run(*m, {1}, {Buffer{x.data(), x.size() * 4, "f32"}, Buffer{b.data(), b.size() * 4, "f32"},
                        Buffer{out.data(), out.size() * 4, "f32"}});
  for (size_t f = 0; f < fns.size(); ++f)
    for (int e = 0; e < n; ++e) {
      double want = fns[f].df(x[e], b[e]);
      INFO("function " << f << " at x = " << x[e] << ", b = " << b[e]);
      CHECK(std::abs(out[f * n + e] - want) <= fns[f].tol * std::max(1.0, std::abs(want)));
    }

  // What it cannot differentiate is named at the user's line.
  auto errorFor = [&](std::function<void(const Tile &)> body) {
    dsl::KernelDef bad{"test_derivative_bad", "", {{"num_warps", "4"}},
                       [&](Kernel &k, const Params &) {
                         Ptr xp = k.ptr("x", f32);
                         body(load(xp + arange(0, 16).col() * 16 + arange(0, 16).row()));
                       }};
    return test::errorOf([&] { traceKernel(*ctx, bad, {}); });
  };
  int line = __LINE__ + 1;
  std::string scan = errorFor([](const Tile &x) { derivative(dsl::cumsum(x, 1) * 2.0, x); });
  CHECK(scan.find(":" + std::to_string(line) + ":") != std::string::npos); // the call
  CHECK(scan.find("cannot differentiate through 'tile.scan' (at ") != std::string::npos);
  CHECK(scan.find("InterpreterTest.cpp:" + std::to_string(line) + ")") != std::string::npos);
  std::string loop = errorFor([](const Tile &x) {
    Tile acc = x;
    forRange(0, 2, 1, {acc}, [&](Scalar) { acc = acc * x; });
    derivative(acc, x);
  });
  CHECK(loop.find("cannot differentiate through 'scf.for'") != std::string::npos);
  CHECK(errorFor([](const Tile &x) { derivative(dsl::sum(x, 1), x); })
            .find("derivative: is element-wise: y and x must have one shape") != std::string::npos);
  CHECK(errorFor([](const Tile &x) { derivative(x, x.to(i32)); })
            .find("derivative: expects tiles of floating-point numbers") != std::string::npos);
}
