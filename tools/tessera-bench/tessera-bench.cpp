//===- tessera-bench.cpp - compile times, launch overhead, bandwidth ------===//
//
//   tessera-bench [--json FILE] [--cache-dir DIR]
//
// On a GPU, through the JIT:
//  - per library kernel: cold compile (trace -> PTX -> cubin -> load, no
//    cache) and warm start (a new JIT over a filled disk cache: read + load);
//  - host cost of one launch through rt::Kernel::launch (arguments checked)
//    against a raw cuLaunchKernel of the same function;
//  - softmax and layer norm over 16384 x 8192 f16: effective bandwidth
//    (bytes read + written once / time; CUDA events, median of 20 after
//    warm-up) over a small sweep of BLOCK and num_warps.
// Prints a table and writes JSON.  Exits 77 without a GPU.
//
//===----------------------------------------------------------------------===//
#include "tessera/Support/Half.h"
#include "tessera/jit/Attention.h"
#include "tessera/jit/Autotune.h"
#include "tessera/jit/Jit.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <cmath>
#include <cstring>
#include <sstream>

using namespace tessera;
using Clock = std::chrono::steady_clock;

namespace {
double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Median kernel time in ms (CUDA events; see jit::medianMillis).
double timeKernel(const std::function<void()> &launchOnce, int warmup = 3, int reps = 20) {
  return jit::medianMillis(launchOnce, warmup, reps);
}

/// The fastest of `runs` (ms, index): each screened with a short timing, then
/// the three fastest timed as the anchors are (jit::benchMillis: do_bench's
/// time-sized warm-up and repetitions, L2 flushed before each run).  The
/// best of many short timings alone is biased: short runs see boost clocks
/// that sustained ones lose, and the minimum of noisy samples flatters.
/// TESSERA_BENCH_REP_MS lengthens the timed part (e.g. to watch clocks and
/// power under a sustained load).
std::pair<double, size_t> fastest(const std::vector<std::function<void()>> &runs) {
  jit::BenchOptions opt;
  if (const char *ms = std::getenv("TESSERA_BENCH_REP_MS")) {
    opt.repMs = std::clamp(std::atof(ms), 1.0, 600000.0);
    opt.maxReps = 1 << 20; // the time decides, even for short kernels
  }
  std::vector<std::pair<double, size_t>> screened;
  for (size_t i = 0; i < runs.size(); ++i)
    screened.push_back({timeKernel(runs[i], 3, 10), i});
  std::sort(screened.begin(), screened.end());
  std::pair<double, size_t> best{1e30, 0};
  for (size_t i = 0; i < screened.size() && i < 3; ++i)
    best = std::min(best, {jit::benchMillis(runs[screened[i].second], opt), screened[i].second});
  return best;
}

/// Fills a 16-bit float buffer with N(0, 1) values, as the torch anchors'
/// randn inputs: constant inputs toggle fewer bits in the tensor cores, draw
/// less power and run at higher clocks, which would flatter the kernel.
void fillRandom(rt::Buffer &buf, const std::string &dtype, unsigned seed) {
  std::vector<uint16_t> h(buf.bytes() / 2);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  for (auto &x : h)
    x = dtype == "bf16" ? toBF16(dist(rng)) : toHalf(dist(rng));
  buf.upload(h);
}

std::ostringstream json;
bool firstJson = true;
void record(const std::string &obj) {
  json << (firstJson ? "" : ",\n") << "  " << obj;
  firstJson = false;
}
} // namespace

/// The JIT on the first GPU, or nullptr (after saying why) where there is no
/// driver or device: the caller exits 77, reported as skipped.
std::unique_ptr<jit::Jit> openJit(rt::CacheOptions cache = rt::CacheOptions::fromEnvironment()) {
  try {
    return std::make_unique<jit::Jit>(0, std::move(cache));
  } catch (const rt::DriverError &e) {
    std::printf("skipped: %s\n", e.what());
    return nullptr;
  }
}

/// Tunes softmax and layer norm on 16384 x 8192 f16 through the autotuner,
/// whose results persist in $TESSERA_CACHE_DIR/autotune: run twice, the
/// second process reuses them.
int autotuneRowwise() {
  std::unique_ptr<jit::Jit> jit = openJit();
  if (!jit)
    return 77;
  jit::Autotuner tuner(*jit);
  const int rows = 16384, cols = 8192;
  rt::Buffer in(size_t(rows) * cols * 2, "f16"), out(size_t(rows) * cols * 2, "f16");
  rt::Buffer w(cols * 2, "f16"), bias(cols * 2, "f16"), mean(rows * 4, "f32"), rstd(rows * 4, "f32");
  fillRandom(in, "f16", 3); // the tuner times on data like the anchors'
  w.fill(0x3c);
  bias.fill(0);
  float eps = 1e-5f;
  auto grid = [&](const dsl::Params &) { return rt::Grid{unsigned(rows)}; };
  dsl::Params fixed{{"INT_MULTIPLE", "16"}};
  for (std::string name : {"softmax", "layer_norm"}) {
    const auto &def = kernels::findKernel(name);
    std::vector<rt::Arg> args =
        name == "softmax" ? std::vector<rt::Arg>{out, in, cols, cols, cols}
                          : std::vector<rt::Arg>{in, out, w, bias, mean, rstd, cols, cols, eps};
    auto t0 = Clock::now();
    const jit::Choice &c = tuner.tune(def, fixed, grid, args);
    size_t pruned = 0;
    for (const auto &t : c.trials)
      pruned += !t.pruned.empty();
    std::printf("autotune %-10s -> %s  %.3f ms  (%s, %.0f ms to decide; %zu trials, %zu pruned)\n",
                name.c_str(), c.params.str().c_str(), c.ms,
                c.fromDisk ? "from disk" : "tuned now", msSince(t0), c.trials.size(), pruned);
  }
  {
    const int n = 4096;
    rt::Buffer a(size_t(n) * n * 2, "f16"), b(size_t(n) * n * 2, "f16"), c(size_t(n) * n * 2, "f16");
    fillRandom(a, "f16", 1);
    fillRandom(b, "f16", 2);
    const auto &def = kernels::findKernel("matmul");
    auto mgrid = [&](const dsl::Params &p) {
      return rt::Grid{unsigned(n / p.i("BLOCK_M")), unsigned(n / p.i("BLOCK_N"))};
    };
    auto t0 = Clock::now();
    const jit::Choice &ch = tuner.tune(def, fixed, mgrid, {a, b, c, n, n, n, n, 1, n, 1, n, 1});
    std::printf("autotune %-10s -> %s  %.3f ms = %.1f TFLOP/s  (%s, %.0f ms to decide; %zu trials)\n",
                "matmul", ch.params.str().c_str(), ch.ms, 2.0 * n * n * double(n) / (ch.ms * 1e-3) / 1e12,
                ch.fromDisk ? "from disk" : "tuned now", msSince(t0), ch.trials.size());
  }
  return 0;
}

/// Forward attention, FA2-paper style shape b=4 h=16 s=2048 d=64, causal and
/// not, in TFLOP/s (FlashAttention convention); printed and recorded.
void benchAttention(jit::Jit &jit, const dsl::Params &config = {}, bool apiChoice = false) {
  int B = 4, H = 16, S = 2048, D = 64;
  size_t elems = size_t(B) * H * S * D;
  rt::Buffer q(elems * 2, "f16"), k(elems * 2, "f16"), v(elems * 2, "f16"), o(elems * 2, "f16"),
      lse(size_t(B) * H * S * 4, "f32");
  std::vector<uint16_t> h(elems);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (auto &x : h)
    x = toHalf(dist(rng));
  q.upload(h);
  k.upload(h);
  v.upload(h);
  for (int causal : {0, 1}) {
    // The configuration jit::attentionForward would pick on this device.
    dsl::Params p = apiChoice ? kernels::attentionConfigFor(jit.device().major, "f16", D, causal,
                                                            S, S)
                                    .params()
                              : config;
    p.set("CAUSAL", causal).set("INT_MULTIPLE", "16");
    auto kern = jit.get(kernels::findKernel("attention_fwd"), p);
    int bm = int(p.over(kernels::findKernel("attention_fwd").defaults).i("BLOCK_M"));
    int sb = H * S * D, sh = S * D, ss = D;
    float scale = 0.125f;
    // Timed as the table and the anchors are (do_bench's method).
    double ms = fastest({[&] {
      kern->launch({unsigned(S / bm), unsigned(H), unsigned(B)},
                   {q, k, v, o, lse, S, S, H, H, scale, sb, sh, ss, sb, sh, ss, sb, sh, ss, sb, sh, ss});
    }}).first;
    double tflops = 4.0 * B * H * double(S) * S * D / (causal ? 2 : 1) / (ms * 1e-3) / 1e12;
    std::printf("attention_fwd b=%d h=%d s=%d d=%d%s: %.3f ms, %.1f TFLOP/s  [%s]\n", B, H, S, D,
                causal ? " causal" : "", ms, tflops, p.str().c_str());
    record("{\"kind\": \"attention\", \"causal\": " + std::to_string(causal) +
           ", \"ms\": " + std::to_string(ms) + ", \"tflops\": " + std::to_string(tflops) + "}");
  }
}

/// Attention backward through jit::attentionBackward (D, dK/dV, dQ: three
/// launches, timed together as the anchors time SDPA's backward; then the
/// schedule with dQ's atomic sums inside the dK/dV pass) at the FA2 table's
/// s=2048 rows (b=8, h*d=2048), d=64 and 128, causal and not; TFLOP/s counts
/// 2.5x the forward's FLOPs (FlashAttention's convention: the five matmuls
/// of the backward; the dQ kernel repeats two of them).  With `sweep`, each
/// shape also times the dK/dV kernel's and then the dQ kernel's candidate
/// schedules (the other kernel keeping the library's) and prints the
/// fastest of each: how attentionBackwardConfigFor is chosen.
void benchAttentionBackward(jit::Jit &jit, bool sweep = false) {
  // TESSERA_BENCH_BWD_S: another sequence length (b * s stays 16k tokens).
  const char *envS = std::getenv("TESSERA_BENCH_BWD_S");
  const int S = envS ? std::max(128, std::atoi(envS)) : 2048, B = std::max(1, 16384 / S);
  // TESSERA_BENCH_BWD_D / TESSERA_BENCH_BWD_CAUSAL: one head dim / one
  // causality only.
  const char *envD = std::getenv("TESSERA_BENCH_BWD_D");
  const char *envCausal = std::getenv("TESSERA_BENCH_BWD_CAUSAL");
  for (int D : {64, 128}) {
    if (envD && std::atoi(envD) != D)
      continue;
    const int H = 2048 / D;
    size_t elems = size_t(B) * H * S * D;
    rt::Buffer q(elems * 2, "f16"), k(elems * 2, "f16"), v(elems * 2, "f16"),
        o(elems * 2, "f16"), dO(elems * 2, "f16"), lse(size_t(B) * H * S * 4, "f32"),
        dq(elems * 2, "f16"), dk(elems * 2, "f16"), dv(elems * 2, "f16");
    fillRandom(q, "f16", 11);
    fillRandom(k, "f16", 12);
    fillRandom(v, "f16", 13);
    fillRandom(dO, "f16", 14);
    jit::AttentionStrides s{int64_t(H) * S * D, int64_t(S) * D, D, 1};
    for (int causal : {0, 1}) {
      if (envCausal && std::atoi(envCausal) != causal)
        continue;
      jit::AttentionProblem p{B, H, H, S, S, D, causal != 0};
      jit::AttentionBackwardOptions largest; // the atomic schedule's accumulator too
      largest.deterministic = false;
      rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p, largest), "f32");
      jit::attentionForward(jit, p, q, s, k, s, v, s, o, s, lse);
      auto backward = [&](const jit::AttentionBackwardOptions &opt) {
        jit::attentionBackward(jit, p, q, s, k, s, v, s, o, s, dO, s, lse, dq, s, dk, s, dv, s, ws,
                               nullptr, opt);
      };
      double flops = 2.5 * 4.0 * B * H * double(S) * S * D / (causal ? 2 : 1), tflops = 0;
      // The default, then the deterministic kernels one after the other on
      // one stream (dQ not beside dK/dV), then the atomic schedule.
      for (int schedule : {0, 1, 2}) {
        bool atomic = schedule == 2;
        jit::AttentionBackwardOptions opt;
        opt.deterministic = !atomic;
        opt.concurrentDq = schedule == 0;
        double ms = fastest({[&] { backward(opt); }}).first;
        double t = flops / (ms * 1e-3) / 1e12;
        if (schedule == 0)
          tflops = t;
        std::printf("attention_bwd%s b=%d h=%d s=%d d=%d%s: %.3f ms, %.1f TFLOP/s%s\n",
                    atomic ? " atomic-dQ" : schedule == 1 ? " serial-dQ" : "", B, H, S, D,
                    causal ? " causal" : "", ms, t,
                    schedule ? (" (" + std::to_string(int(100 * t / tflops + 0.5)) +
                                "% of the default)")
                                   .c_str()
                             : "");
        record("{\"kind\": \"attention_bwd\", \"d\": " + std::to_string(D) +
               ", \"causal\": " + std::to_string(causal) +
               ", \"atomic_dq\": " + std::to_string(int(atomic)) +
               ", \"concurrent_dq\": " + std::to_string(int(schedule == 0)) +
               ", \"ms\": " + std::to_string(ms) + ", \"tflops\": " + std::to_string(t) + "}");
      }
      if (!sweep)
        continue;
      using Schedule = kernels::AttentionBackwardConfig::Schedule;
      // The last six: a producer warpgroup issues the loop's TMA copies
      // (sm_90a; elsewhere they compile as the plain schedule).
      // Then persistent programs (about one per SM slot, looping over
      // tiles), plain and warp-specialized, and dP's dot issued early;
      // TESSERA_BENCH_BWD_SWEEP_PERSISTENT / _EARLY_DP time only the
      // library's schedule and those.
      std::vector<Schedule> candidates = {
          {64, 64, 4, 2},         {64, 64, 8, 2},          {32, 64, 4, 2},
          {64, 128, 8, 2},        {128, 64, 8, 2},         {32, 128, 8, 2},
          {64, 64, 4, 1},         {128, 128, 8, 2},        {32, 64, 8, 2},
          {64, 64, 4, 2, true},   {64, 64, 8, 2, true},    {64, 128, 8, 2, true},
          {128, 64, 8, 2, true},  {64, 64, 4, 3, true},    {128, 128, 8, 2, true}};
      const Schedule persistentOnes[] = {{64, 64, 4, 2, false, true},  {64, 64, 4, 2, true, true},
                                         {128, 64, 8, 2, true, true},  {64, 128, 8, 2, true, true},
                                         {128, 128, 8, 2, true, true}};
      Schedule earlyDp[] = {{64, 64, 4, 2}, {64, 64, 4, 2, true}, {64, 64, 4, 2, false, true}};
      for (Schedule &c : earlyDp)
        c.earlyDp = true;
      bool onlyPersistent = std::getenv("TESSERA_BENCH_BWD_SWEEP_PERSISTENT") != nullptr;
      bool onlyEarlyDp = std::getenv("TESSERA_BENCH_BWD_SWEEP_EARLY_DP") != nullptr;
      // TESSERA_BENCH_BWD_SWEEP_MASK_SPLIT: the library's tile with each
      // combination of the early dP dot and split-off unmasked blocks.
      bool onlyMaskSplit = std::getenv("TESSERA_BENCH_BWD_SWEEP_MASK_SPLIT") != nullptr;
      if (onlyMaskSplit)
        onlyPersistent = onlyEarlyDp = false;
      if (onlyPersistent || onlyEarlyDp || onlyMaskSplit)
        candidates.resize(1);
      if (!onlyEarlyDp && !onlyMaskSplit)
        candidates.insert(candidates.end(), std::begin(persistentOnes), std::end(persistentOnes));
      if (!onlyPersistent && !onlyMaskSplit)
        candidates.insert(candidates.end(), std::begin(earlyDp), std::end(earlyDp));
      // "BLOCK_M=64 BLOCK_N=64 num_warps=4 num_stages=2 warp-specialized ..."
      auto describe = [](const Schedule &c) {
        return "BLOCK_M=" + std::to_string(c.blockM) + " BLOCK_N=" + std::to_string(c.blockN) +
               " num_warps=" + std::to_string(c.numWarps) +
               " num_stages=" + std::to_string(c.numStages) +
               (c.warpSpecialize ? " warp-specialized" : "") + (c.persistent ? " persistent" : "") +
               (c.earlyDp ? " early-dP" : "") + (c.maskSplit ? " mask-split" : "");
      };
      // Every candidate's gradients must match the library schedule's (up
      // to f16 rounding of differently ordered f32 sums): a schedule that
      // runs fast but wrong is reported and left out.
      auto gradients = [&] {
        std::vector<float> g;
        for (rt::Buffer *b : {&dq, &dk, &dv})
          for (uint16_t h : b->download<uint16_t>(elems))
            g.push_back(fromHalf(h));
        return g;
      };
      backward({});
      const std::vector<float> reference = gradients();
      float scaleRef = 0;
      for (float x : reference)
        scaleRef = std::max(scaleRef, std::fabs(x));
      // TESSERA_BENCH_BWD_SWEEP_ATOMIC: the dK/dV candidates in the atomic
      // dQ schedule (which has no dQ kernel).
      bool sweepAtomic = std::getenv("TESSERA_BENCH_BWD_SWEEP_ATOMIC") != nullptr;
      // The library's own schedule for this shape on this GPU (it may be
      // none of the fixed candidates: d=128's persistent dQ), as is and
      // with the option under test flipped, whichever way the library has it.
      const kernels::AttentionBackwardConfig library =
          kernels::attentionBackwardConfigFor(jit.device().major, "f16", D, causal != 0, S);
      for (bool dkdv : {true, false}) {
        if (sweepAtomic && !dkdv)
          continue;
        std::vector<std::function<void()>> runs;
        std::vector<Schedule> built, tried = candidates;
        const Schedule own = dkdv ? library.dkdv : library.dq;
        auto add = [&](const Schedule &c) {
          if (std::find(tried.begin(), tried.end(), c) == tried.end())
            tried.push_back(c);
        };
        for (int early : {0, 1})
          for (int split : {0, 1}) {
            Schedule c = own;
            c.earlyDp = early ? !own.earlyDp : own.earlyDp;
            c.maskSplit = split ? !own.maskSplit : own.maskSplit;
            if (onlyMaskSplit || (onlyEarlyDp && !split))
              add(c);
          }
        for (Schedule c : tried) {
          jit::AttentionBackwardOptions opt;
          opt.deterministic = !sweepAtomic;
          (dkdv ? opt.dkdv : opt.dq) = c;
          try { // compile (a schedule may not fit the target) and run once
            for (rt::Buffer *b : {&dq, &dk, &dv})
              b->fill(0xff);
            backward(opt);
          } catch (const Error &e) {
            continue;
          }
          std::vector<float> g = gradients();
          float worst = 0;
          for (size_t i = 0; i < g.size(); ++i)
            worst = std::max(worst, std::isfinite(g[i]) ? std::fabs(g[i] - reference[i]) : 1e30f);
          if (worst > 2e-2f * scaleRef) {
            std::printf("  WRONG %s schedule %s: max |diff| %g (max |gradient| %g)\n",
                        dkdv ? "dK/dV" : "dQ", describe(c).c_str(), worst, scaleRef);
            continue;
          }
          built.push_back(c);
          runs.push_back([&, opt] { backward(opt); });
        }
        if (runs.empty())
          continue;
        // TESSERA_BENCH_BWD_SWEEP_ALL: every candidate's time too (a short
        // timing each, as `fastest` screens them).
        if (std::getenv("TESSERA_BENCH_BWD_SWEEP_ALL"))
          for (size_t i = 0; i < runs.size(); ++i)
            std::printf("    %s %s: %.3f ms\n", dkdv ? "dK/dV" : "dQ", describe(built[i]).c_str(),
                        timeKernel(runs[i], 3, 10));
        // TESSERA_BENCH_BWD_AB=1: each candidate against the library's own
        // schedule, timed alternately (A B A B ..., five rounds, each as the
        // anchors are): the median of the rounds' ratios, for effects of a
        // few percent that separate timings drift by (clocks, power).
        if (std::getenv("TESSERA_BENCH_BWD_AB")) {
          size_t ref = std::find(built.begin(), built.end(), own) - built.begin();
          if (ref == built.size())
            std::printf("  A/B %s: the library's schedule is not among the candidates\n",
                        dkdv ? "dK/dV" : "dQ");
          for (size_t i = 0; ref < built.size() && i < built.size(); ++i) {
            if (i == ref)
              continue;
            std::vector<double> ratios;
            for (int round = 0; round < 5; ++round) {
              double a = jit::benchMillis(runs[ref]), b = jit::benchMillis(runs[i]);
              ratios.push_back(b / a);
            }
            auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
            std::printf("  A/B %s %s vs the library's: time ratio %.3f (rounds %.3f-%.3f)\n",
                        dkdv ? "dK/dV" : "dQ", describe(built[i]).c_str(), median(ratios), *lo,
                        *hi);
          }
        }
        auto [best, at] = fastest(runs);
        std::printf("  fastest %s%s schedule: %s -> %.3f ms, %.1f TFLOP/s (of %zu)\n",
                    dkdv ? "dK/dV" : "dQ", sweepAtomic ? " (atomic dQ)" : "",
                    describe(built[at]).c_str(), best, flops / (best * 1e-3) / 1e12, runs.size());
      }
    }
  }
}

/// Issue 6's table: the FA2 paper's shapes (b*s = 16k tokens, h*d = 2048,
/// d in {64, 128}, s = 512..16k, causal and not), then d = 256 (h = 8) and a
/// grouped-query shape (d = 128, 32 query heads over 8 K/V heads, b = 4,
/// s = 4096); [b, h, s, d] contiguous, inputs drawn from N(0, 1) as the
/// anchors' are.  Best of the candidate configs per shape (tilings; masked
/// blocks split off or not, or P·V overlapped with the next softmax).  SDPA
/// and Triton run separately (bench/attn_anchors.py) in the same job;
/// bench/attn_table.py joins the two.  `only` keeps some rows (see
/// `matches`); TESSERA_ATTENTION_CONFIG="BLOCK_M=128,..." replaces the
/// tilings by one (with its split / overlap variants), e.g. to profile it.
/// Whether a table row is selected by `only`: empty (all), a kind ("fa2",
/// "d256", "gqa"), a head dim, or KIND:D:CAUSAL:S with '*' for any field;
/// or a comma list of those (any).
bool matches(const std::string &only, const std::string &kind, int d, int causal, int s) {
  if (only.empty())
    return true;
  if (size_t comma = only.find(','); comma != std::string::npos) // any of a list
    return matches(only.substr(0, comma), kind, d, causal, s) ||
           matches(only.substr(comma + 1), kind, d, causal, s);
  if (only.find(':') == std::string::npos)
    return only == kind || only == std::to_string(d);
  std::vector<std::string> f;
  std::stringstream in(only);
  for (std::string x; std::getline(in, x, ':');)
    f.push_back(x);
  std::string have[] = {kind, std::to_string(d), std::to_string(causal), std::to_string(s)};
  for (size_t i = 0; i < f.size() && i < 4; ++i)
    if (f[i] != "*" && f[i] != have[i])
      return false;
  return true;
}

/// The attention tables' shapes (forward and backward), as
/// bench/attn_anchors.py lists them.
struct TableShape {
  int d, causal, s, b, h, kv;
  const char *kind;
};
std::vector<TableShape> attentionTableShapes() {
  std::vector<TableShape> shapes;
  for (int D : {64, 128})
    for (int causal : {0, 1})
      for (int S : {512, 1024, 2048, 4096, 8192, 16384})
        shapes.push_back({D, causal, S, std::max(1, 16384 / S), 2048 / D, 2048 / D, "fa2"});
  for (int causal : {0, 1})
    for (int S : {1024, 4096, 16384})
      shapes.push_back({256, causal, S, 16384 / S, 8, 8, "d256"});
  for (int causal : {0, 1})
    shapes.push_back({128, causal, 4096, 4, 32, 8, "gqa"});
  return shapes;
}

int attentionTable(const std::string &only) {
  std::unique_ptr<jit::Jit> jit = openJit();
  if (!jit)
    return 77;
  using Shape = TableShape;
  std::vector<Shape> shapes = attentionTableShapes();
  // Every shape holds 16k x 2048 values per tensor except the grouped-query
  // one (16k x 4096 for Q and O); one set of random buffers serves them all.
  size_t maxElems = size_t(16384) * 4096;
  rt::Buffer q(maxElems * 2, "f16"), k(maxElems * 2, "f16"), v(maxElems * 2, "f16"),
      o(maxElems * 2, "f16"), lse(size_t(16384) * 32 * 4, "f32");
  {
    std::vector<uint16_t> h(maxElems);
    std::mt19937 rng(5);
    std::normal_distribution<float> dist;
    for (rt::Buffer *buf : {&q, &k, &v}) {
      for (auto &x : h)
        x = toHalf(dist(rng));
      buf->upload(h);
    }
  }
  std::printf("%5s %4s %6s %6s %3s %3s %3s %9s %9s  %s\n", "kind", "D", "causal", "S", "B", "H",
              "KV", "ms", "TFLOP/s", "best config");
  for (const Shape &sh : shapes) {
    if (!matches(only, sh.kind, sh.d, sh.causal, sh.s))
      continue;
    int D = sh.d, S = sh.s, B = sh.b, H = sh.h, KV = sh.kv, causal = sh.causal;
    std::vector<dsl::Params> tiles;
    if (D == 256)
      tiles = {{{"BLOCK_M", "64"}, {"BLOCK_N", "32"}, {"num_warps", "4"}},
               {{"BLOCK_M", "64"}, {"BLOCK_N", "64"}, {"num_warps", "4"}},
               {{"BLOCK_M", "128"}, {"BLOCK_N", "32"}, {"num_warps", "8"}},
               {{"BLOCK_M", "128"}, {"BLOCK_N", "64"}, {"num_warps", "8"}},
               {{"BLOCK_M", "128"}, {"BLOCK_N", "64"}, {"num_warps", "8"}, {"warp_specialize", "1"}}};
    else
      // (64x128/4 warps, 128x128/8 warps and 128x64 with 3 stages, none with a
      // producer, won no shape in the 2026-11-24/25 tables and were dropped.)
      tiles = {{{"BLOCK_M", "64"}, {"BLOCK_N", "64"}, {"num_warps", "4"}},
               {{"BLOCK_M", "128"}, {"BLOCK_N", "64"}, {"num_warps", "8"}},
               {{"BLOCK_M", "128"}, {"BLOCK_N", "64"}, {"num_warps", "8"}, {"min_blocks", "2"}},
               // A producer warpgroup issues the TMA copies (sm_90a).
               {{"BLOCK_M", "128"}, {"BLOCK_N", "64"}, {"num_warps", "8"}, {"warp_specialize", "1"}},
               {{"BLOCK_M", "128"}, {"BLOCK_N", "128"}, {"num_warps", "8"}, {"warp_specialize", "1"}},
               // One consumer warpgroup per block, two blocks per SM, each with
               // its producer (the blocks overlap each other's prologue/epilogue).
               {{"BLOCK_M", "64"}, {"BLOCK_N", "64"}, {"num_warps", "4"}, {"warp_specialize", "1"},
                {"min_blocks", "2"}},
               {{"BLOCK_M", "64"}, {"BLOCK_N", "128"}, {"num_warps", "4"}, {"warp_specialize", "1"},
                {"min_blocks", "2"}}};
    std::vector<dsl::Params> candidates;
    bool exact = false; // the config names its schedule: run only it
    if (const char *one = std::getenv("TESSERA_ATTENTION_CONFIG")) { // e.g. for ncu
      tiles = {dsl::Params::parse(one)};
      exact = tiles[0].items().count("MASK_SPLIT") || tiles[0].items().count("OVERLAP") ||
              tiles[0].items().count("PERSISTENT");
    }
    if (exact)
      candidates = tiles;
    else
      for (const char *split : {"0", "1", "overlap", "overlap+split"})
        for (dsl::Params c : tiles) {
          std::string sp = split;
          bool ws = c.items().count("warp_specialize");
          // d=256 overlaps only with a producer warpgroup (240 registers);
          // both loops and the overlap together only where the rings are
          // shared (warp-specialized).
          if ((D == 256 && sp != "0" && sp != "1" && !ws) || (sp == "overlap+split" && !ws))
            continue;
          if (sp == "overlap+split")
            c.set("OVERLAP", "1").set("MASK_SPLIT", "1");
          else if (sp == "overlap")
            c.set("OVERLAP", "1");
          else
            c.set("MASK_SPLIT", sp);
          candidates.push_back(c);
        }
    // Persistent programs with a producer (Q and K/V of the next tile load
    // during the current one's epilogue); with the unmasked blocks split off,
    // and with the consumer warpgroups' ping-pong (OVERLAP).  Not d=256: its
    // one-slot buffers for the tile's loads do not fit beside the rings.
    if (!exact && D != 256)
      for (const char *overlap : {"0", "1"})
        candidates.push_back({{"BLOCK_M", "128"}, {"BLOCK_N", "128"}, {"num_warps", "8"},
                              {"warp_specialize", "1"}, {"MASK_SPLIT", "1"},
                              {"OVERLAP", overlap}, {"PERSISTENT", "1"}});
    std::vector<dsl::Params> built;
    std::vector<std::function<void()>> runs;
    int sb = H * S * D, sh_ = S * D, ss = D, kb = KV * S * D;
    float scale = 1.0f / std::sqrt(float(D));
    for (dsl::Params p : candidates) {
      p.set("HEAD_DIM", D).set("CAUSAL", causal).set("INT_MULTIPLE", "16");
      std::shared_ptr<rt::Kernel> kern;
      try {
        kern = jit->get(kernels::findKernel("attention_fwd"), p);
      } catch (const Error &) {
        continue;
      }
      unsigned blocks = unsigned(S / int(p.i("BLOCK_M")));
      built.push_back(p);
      if (p.has("PERSISTENT") && p.flag("PERSISTENT")) {
        // As jit::attentionForward launches it: as many programs as fit.
        unsigned slots = unsigned(jit->device().smCount) * kern->blocksPerSM();
        unsigned grid = std::min(slots, blocks * unsigned(B * H));
        runs.push_back([&, kern, grid] {
          kern->launch({grid, 1}, {q, k, v, o, lse, S, S, H, KV, scale, sb, sh_, ss, kb, sh_, ss,
                                   kb, sh_, ss, sb, sh_, ss, B * H});
        });
        continue;
      }
      runs.push_back([&, kern, blocks] {
        kern->launch({blocks, unsigned(H), unsigned(B)}, {q, k, v, o, lse, S, S, H, KV, scale, sb, sh_, ss,
                                                 kb, sh_, ss, kb, sh_, ss, sb, sh_, ss});
      });
    }
    auto [best, at] = fastest(runs);
    std::string bestCfg = runs.empty() ? "" : built[at].str();
    double tflops = 4.0 * B * H * double(S) * S * D / (causal ? 2 : 1) / (best * 1e-3) / 1e12;
    std::printf("%5s %4d %6d %6d %3d %3d %3d %9.3f %9.1f  %s\n", sh.kind, D, causal, S, B, H, KV,
                best, tflops, bestCfg.c_str());
    std::fflush(stdout);
  }
  return 0;
}

/// Issue 18's table: the backward (jit::attentionBackward with the
/// library's schedule: D, dK/dV, dQ, timed together) at the forward table's
/// shapes, [b, h, s, d] f16 from N(0, 1); then with dQ's atomic sums (the
/// non-deterministic schedule), printed in the last column.  FLOPs: 2.5x
/// the forward's.  SDPA's and Triton's backward: bench/attn_anchors.py, same
/// job; bench/attn_table.py --bwd joins them.
int attentionBackwardTable(const std::string &only) {
  std::unique_ptr<jit::Jit> jit = openJit();
  if (!jit)
    return 77;
  std::printf("%5s %4s %6s %6s %3s %3s %3s %9s %9s  %s\n", "kind", "D", "causal", "S", "B", "H",
              "KV", "ms", "TFLOP/s", "atomic-dQ TFLOP/s");
  for (const TableShape &sh : attentionTableShapes()) {
    if (!matches(only, sh.kind, sh.d, sh.causal, sh.s))
      continue;
    int D = sh.d, S = sh.s, B = sh.b, H = sh.h, KV = sh.kv;
    size_t nq = size_t(B) * H * S * D, nk = size_t(B) * KV * S * D;
    rt::Buffer q(nq * 2, "f16"), k(nk * 2, "f16"), v(nk * 2, "f16"), o(nq * 2, "f16"),
        dO(nq * 2, "f16"), lse(size_t(B) * H * S * 4, "f32"), dq(nq * 2, "f16"),
        dk(nk * 2, "f16"), dv(nk * 2, "f16");
    fillRandom(q, "f16", 21);
    fillRandom(k, "f16", 22);
    fillRandom(v, "f16", 23);
    fillRandom(dO, "f16", 24);
    jit::AttentionStrides sq{int64_t(H) * S * D, int64_t(S) * D, D, 1},
        sk{int64_t(KV) * S * D, int64_t(S) * D, D, 1};
    jit::AttentionProblem p{B, H, KV, S, S, D, sh.causal != 0};
    jit::AttentionBackwardOptions atomic;
    atomic.deterministic = false;
    rt::Buffer ws(jit::attentionBackwardWorkspaceBytes(p, atomic), "f32");
    jit::attentionForward(*jit, p, q, sq, k, sk, v, sk, o, sq, lse);
    double flops = 2.5 * 4.0 * B * H * double(S) * S * D / (sh.causal ? 2 : 1), ms[2] = {0, 0};
    // TESSERA_BENCH_NO_ATOMIC: the default schedule only (keeps the whole
    // table and its anchors within one job's time).
    int schedules = std::getenv("TESSERA_BENCH_NO_ATOMIC") ? 1 : 2;
    for (int a = 0; a < schedules; ++a) {
      jit::AttentionBackwardOptions opt;
      opt.deterministic = a == 0;
      ms[a] = fastest({[&] {
                jit::attentionBackward(*jit, p, q, sq, k, sk, v, sk, o, sq, dO, sq, lse, dq, sq,
                                       dk, sk, dv, sk, ws, nullptr, opt);
              }}).first;
    }
    std::printf("%5s %4d %6d %6d %3d %3d %3d %9.3f %9.1f  %.1f\n", sh.kind, D, sh.causal, S, B, H,
                KV, ms[0], flops / (ms[0] * 1e-3) / 1e12,
                ms[1] > 0 ? flops / (ms[1] * 1e-3) / 1e12 : 0.0);
    std::fflush(stdout);
  }
  return 0;
}

/// Score modifiers (issue 21) against the plain kernel at FlexAttention's
/// anchor shape (bf16, d=128, b*s = 16k, h = 16, s = 4096): forward
/// TFLOP/s over the unmasked area, the ratio to the plain kernel, and each
/// modifier's first call (a cold compile: the disk cache is off).
int scoreModTable() {
  std::unique_ptr<jit::Jit> jit = openJit(rt::CacheOptions{"", false});
  if (!jit)
    return 77;
  const int B = 4, H = 16, S = 4096, D = 128;
  size_t n = size_t(B) * H * S * D;
  rt::Buffer q(n * 2, "bf16"), k(n * 2, "bf16"), v(n * 2, "bf16"), o(n * 2, "bf16"),
      lse(size_t(B) * H * S * 4, "f32");
  fillRandom(q, "bf16", 31);
  fillRandom(k, "bf16", 32);
  fillRandom(v, "bf16", 33);
  jit::AttentionStrides s{int64_t(H) * S * D, int64_t(S) * D, D, 1};
  rt::Buffer dO(n * 2, "bf16"), dq(n * 2, "bf16"), dk(n * 2, "bf16"), dv(n * 2, "bf16");
  fillRandom(dO, "bf16", 34);
  rt::Buffer ws(jit::attentionBackwardWorkspaceBytes({B, H, H, S, S, D, false}), "f32");
  std::printf("%-22s %6s %9s %9s %8s %14s %9s %9s %8s\n", "modifier", "causal", "fwd ms",
              "TFLOP/s", "x plain", "first call ms", "bwd ms", "TFLOP/s", "x plain");
  for (int causal = 0; causal < 2; ++causal) {
    double plainMs = 0, plainBwdMs = 0;
    // bench.clamp30 caps the scores like softcap 30 but with min/max (no
    // MUFU op), its derivative kept as softcap's is: the difference between
    // the two rows is the cost of tanh.approx itself.
    kernels::ScoreMod clamp{"bench.clamp30", [](const dsl::Tile &x, const dsl::Scalar &,
                                                 const dsl::Scalar &, const dsl::Tile &,
                                                 const dsl::Tile &) {
                              return dsl::minimum(dsl::maximum(x, -30.0), 30.0);
                            }};
    clamp.grad = [](const dsl::Tile &, const dsl::Tile &m, const dsl::Scalar &,
                    const dsl::Scalar &, const dsl::Tile &, const dsl::Tile &) {
      return ((m > -30.0) & (m < 30.0)).to(dsl::f32);
    };
    std::vector<std::optional<kernels::ScoreMod>> mods{
        std::nullopt, kernels::scoremods::softcap(30), kernels::scoremods::softcap(30, true),
        kernels::scoremods::alibi(H), clamp};
    for (const auto &mod : mods) {
      jit::AttentionProblem p{B, H, H, S, S, D, causal != 0};
      p.scoreMod = mod;
      auto t0 = Clock::now();
      jit::attentionForward(*jit, p, q, s, k, s, v, s, o, s, lse);
      rt::check(rt::driver().ctxSynchronize(), "cuCtxSynchronize");
      double firstMs = msSince(t0);
      double ms = fastest({[&] { jit::attentionForward(*jit, p, q, s, k, s, v, s, o, s, lse); }}).first;
      // The backward (deterministic dQ, the default), FLOPs 2.5x the forward's.
      double bwdMs = fastest({[&] {
                       jit::attentionBackward(*jit, p, q, s, k, s, v, s, o, s, dO, s, lse, dq, s,
                                              dk, s, dv, s, ws);
                     }}).first;
      if (!mod)
        plainMs = ms, plainBwdMs = bwdMs;
      double flops = 4.0 * B * H * double(S) * S * D / (causal ? 2 : 1);
      std::printf("%-22s %6d %9.3f %9.1f %8.2f %14.0f %9.3f %9.1f %8.2f\n",
                  mod ? mod->name.c_str() : "none (plain)", causal, ms,
                  flops / (ms * 1e-3) / 1e12, plainMs / ms, firstMs, bwdMs,
                  2.5 * flops / (bwdMs * 1e-3) / 1e12, plainBwdMs / bwdMs);
    }
  }
  return 0;
}

/// Mask modifiers (issue 21): forward and backward through the block lists.
/// (1) FlexAttention's anchor shape (bf16, d=128, b=4, h=16, s=4096):
/// TFLOP/s over the unmasked area (FlexAttention's count), the causal mask
/// both as the plain causal kernel and as a block mask, and a sliding window
/// of 1024 (causal).  (2) Scaling at s=16384 (b=1): a sliding window of 1024
/// against dense attention over the same number of visited blocks (time /
/// (dense time * visited / all blocks); target <= 1.2).  Each mask's first
/// call (block lists + kernels, cold: the disk cache is off) is printed.
int maskTable() {
  std::unique_ptr<jit::Jit> jit = openJit(rt::CacheOptions{"", false});
  if (!jit)
    return 77;
  const int H = 16, D = 128;
  std::printf("%-26s %6s %6s %9s %9s %12s %9s %9s %9s %14s\n", "mask", "s", "causal", "fwd ms",
              "TFLOP/s", "x dense/blk", "bwd ms", "TFLOP/s", "x dense/blk", "first call ms");
  for (int S : {4096, 16384}) {
    int B = S == 4096 ? 4 : 1;
    size_t n = size_t(B) * H * S * D;
    rt::Buffer q(n * 2, "bf16"), k(n * 2, "bf16"), v(n * 2, "bf16"), o(n * 2, "bf16"),
        lse(size_t(B) * H * S * 4, "f32"), dO(n * 2, "bf16"), dq(n * 2, "bf16"),
        dk(n * 2, "bf16"), dv(n * 2, "bf16");
    fillRandom(q, "bf16", 41);
    fillRandom(k, "bf16", 42);
    fillRandom(v, "bf16", 43);
    fillRandom(dO, "bf16", 44);
    jit::AttentionStrides s{int64_t(H) * S * D, int64_t(S) * D, D, 1};
    rt::Buffer ws(jit::attentionBackwardWorkspaceBytes({B, H, H, S, S, D, false}), "f32");
    struct Row {
      const char *what;
      bool causal;
      std::optional<kernels::MaskMod> mod;
      std::function<bool(int64_t, int64_t)> allowed;
    };
    std::vector<Row> rows{
        {"dense (plain)", false, std::nullopt, [](int64_t, int64_t) { return true; }},
        {"causal (plain)", true, std::nullopt, [](int64_t i, int64_t j) { return j <= i; }},
        {"causal (block mask)", false, kernels::maskmods::causal(),
         [](int64_t i, int64_t j) { return j <= i; }},
        {"sliding window 1024", false, kernels::maskmods::slidingWindow(1023, 0),
         [](int64_t i, int64_t j) { return j <= i && j > i - 1024; }}};
    double denseMs = 0, denseBwdMs = 0;
    for (const Row &r : rows) {
      if (S == 16384 && r.causal)
        continue;
      jit::AttentionProblem p{B, H, H, S, S, D, r.causal};
      if (r.mod)
        p.mask = std::make_shared<jit::BlockMask>(*r.mod, B, H, S, S);
      auto t0 = Clock::now();
      jit::attentionForward(*jit, p, q, s, k, s, v, s, o, s, lse);
      rt::check(rt::driver().ctxSynchronize(), "cuCtxSynchronize");
      double firstMs = msSince(t0);
      double ms = fastest({[&] { jit::attentionForward(*jit, p, q, s, k, s, v, s, o, s, lse); }}).first;
      double bwdMs = fastest({[&] {
                       jit::attentionBackward(*jit, p, q, s, k, s, v, s, o, s, dO, s, lse, dq, s,
                                              dk, s, dv, s, ws);
                     }}).first;
      if (!r.mod && !r.causal)
        denseMs = ms, denseBwdMs = bwdMs;
      // FLOPs over the unmasked area, FlexAttention's count.
      double area = 0;
      for (int64_t i = 0; i < S; ++i) {
        int64_t lo = 0, hi = S - 1;
        while (lo < S && !r.allowed(i, lo))
          ++lo;
        while (hi >= lo && !r.allowed(i, hi))
          --hi;
        area += double(std::max<int64_t>(hi - lo + 1, 0)); // each row's keys are one run here
      }
      double flops = 4.0 * B * H * area * D;
      // The share of blocks the lists visit (forward: its own blocks;
      // backward: the dK/dV kernel's), against dense attention's time.
      auto visited = [&](int bm, int bn, bool transposed) {
        if (!p.mask)
          return 1.0;
        const auto &l = p.mask->lists(*jit, bm, bn, false, transposed, nullptr);
        int rowsN = transposed ? (S + bn - 1) / bn : (S + bm - 1) / bm;
        int cols = transposed ? (S + bm - 1) / bm : (S + bn - 1) / bn;
        auto c = l.counts.download<int32_t>(size_t(rowsN) * 2);
        double sum = 0;
        for (int32_t x : c)
          sum += x;
        return sum / (double(rowsN) * cols);
      };
      auto fc = kernels::attentionConfigFor(jit->device().major, "bf16", D, false, S, S);
      auto bc = kernels::attentionBackwardConfigFor(jit->device().major, "bf16", D, false);
      double fwdShare = visited(fc.blockM, fc.blockN, false);
      double bwdShare = visited(bc.dkdv.blockM, bc.dkdv.blockN, true);
      std::printf("%-26s %6d %6d %9.3f %9.1f %12.2f %9.3f %9.1f %9.2f %14.0f\n", r.what, S,
                  int(r.causal), ms, flops / (ms * 1e-3) / 1e12,
                  p.mask ? ms / (denseMs * fwdShare) : 0.0, bwdMs,
                  2.5 * flops / (bwdMs * 1e-3) / 1e12,
                  p.mask ? bwdMs / (denseBwdMs * bwdShare) : 0.0, firstMs);
      std::fflush(stdout);
      if (!p.mask || r.mod->name.rfind("sliding_window", 0) != 0)
        continue;
      // Dense attention over as many key blocks per query block as the
      // window visits: seq_k = the visited blocks' keys (a prefix of K/V).
      int skEq = int(std::lround(fwdShare * ((S + fc.blockN - 1) / fc.blockN))) * fc.blockN;
      jit::AttentionProblem eq{B, H, H, S, skEq, D, false};
      double eqMs = fastest({[&] { jit::attentionForward(*jit, eq, q, s, k, s, v, s, o, s, lse); }}).first;
      double eqBwdMs = fastest({[&] {
                         jit::attentionBackward(*jit, eq, q, s, k, s, v, s, o, s, dO, s, lse, dq,
                                                s, dk, s, dv, s, ws);
                       }}).first;
      double eqFlops = 4.0 * B * H * double(S) * skEq * D;
      std::printf("%-26s %6d %6d %9.3f %9.1f %12.2f %9.3f %9.1f %9.2f   (window / this)\n",
                  ("dense, seq_k " + std::to_string(skEq)).c_str(), S, 0, eqMs,
                  eqFlops / (eqMs * 1e-3) / 1e12, ms / eqMs, eqBwdMs,
                  2.5 * eqFlops / (eqBwdMs * 1e-3) / 1e12, bwdMs / eqBwdMs);
      // The window's backward under other dK/dV schedules (the masked
      // dK/dV kernel has its own register pressure).
      for (auto sch : {kernels::AttentionBackwardConfig::Schedule{64, 64, 8, 2},
                       kernels::AttentionBackwardConfig::Schedule{128, 64, 8, 2},
                       kernels::AttentionBackwardConfig::Schedule{64, 128, 8, 2}}) {
        jit::AttentionBackwardOptions opt;
        opt.dkdv = sch;
        try {
          double t = fastest({[&] {
                       jit::attentionBackward(*jit, p, q, s, k, s, v, s, o, s, dO, s, lse, dq, s,
                                              dk, s, dv, s, ws, nullptr, opt);
                     }}).first;
          std::printf("    window bwd, dK/dV %dx%d %d warps: %.3f ms (%.2fx the default)\n",
                      sch.blockM, sch.blockN, sch.numWarps, t, t / bwdMs);
        } catch (const Error &e) {
          std::printf("    window bwd, dK/dV %dx%d %d warps: %s\n", sch.blockM, sch.blockN,
                      sch.numWarps, e.what());
        }
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

/// The flagship's speed, for the main job.
int attentionSpeed() {
  std::unique_ptr<jit::Jit> jit = openJit();
  if (!jit)
    return 77;
  // The configuration jit::attentionForward picks on this device.
  if (!std::getenv("TESSERA_BENCH_BWD_ONLY"))
    benchAttention(*jit, {}, /*apiChoice=*/true);
  benchAttentionBackward(*jit, std::getenv("TESSERA_BENCH_BWD_SWEEP") != nullptr);
  if (std::getenv("TESSERA_BENCH_ATTENTION_CONFIGS")) // exploration, not the main job
    for (dsl::Params c : {dsl::Params{{"BLOCK_M", "128"}, {"num_warps", "8"}},
                          dsl::Params{{"BLOCK_M", "128"}, {"BLOCK_N", "128"}, {"num_warps", "8"}},
                          dsl::Params{{"num_stages", "1"}}, dsl::Params{{"num_stages", "3"}}})
      benchAttention(*jit, c);
  return 0;
}

/// Issue 5's matmul table: M=N=K in {1024..8192} and two LLM shapes, f16
/// and bf16, row-major, each the best of a few tensor-core configs (the
/// config is printed).  torch.matmul runs separately (bench/torch_matmul.py).
int matmulTable() {
  std::unique_ptr<jit::Jit> jit = openJit();
  if (!jit)
    return 77;
  struct Shape { int m, n, k; };
  const Shape shapes[] = {{1024, 1024, 1024}, {2048, 2048, 2048}, {4096, 4096, 4096},
                          {8192, 8192, 8192}, {4096, 14336, 4096}, {8192, 1024, 8192}};
  const dsl::Params configs[] = {
      {{"BLOCK_M", "128"}, {"BLOCK_N", "128"}, {"BLOCK_K", "64"}, {"num_warps", "8"}, {"num_stages", "3"}},
      {{"BLOCK_M", "128"}, {"BLOCK_N", "128"}, {"BLOCK_K", "64"}, {"num_warps", "8"}, {"num_stages", "4"}},
      {{"BLOCK_M", "128"}, {"BLOCK_N", "256"}, {"BLOCK_K", "64"}, {"num_warps", "8"}, {"num_stages", "3"}},
      {{"BLOCK_M", "128"}, {"BLOCK_N", "256"}, {"BLOCK_K", "64"}, {"num_warps", "8"}, {"num_stages", "4"}},
      {{"BLOCK_M", "128"}, {"BLOCK_N", "256"}, {"BLOCK_K", "64"}, {"num_warps", "8"}, {"num_stages", "3"}, {"GROUP_M", "1"}},
      {{"BLOCK_M", "256"}, {"BLOCK_N", "128"}, {"BLOCK_K", "64"}, {"num_warps", "16"}, {"num_stages", "4"}},
      {{"BLOCK_M", "128"}, {"BLOCK_N", "256"}, {"BLOCK_K", "64"}, {"num_warps", "16"}, {"num_stages", "4"}},
      {{"BLOCK_M", "256"}, {"BLOCK_N", "128"}, {"BLOCK_K", "64"}, {"num_warps", "8"}, {"num_stages", "4"}},
      {{"BLOCK_M", "64"}, {"BLOCK_N", "256"}, {"BLOCK_K", "64"}, {"num_warps", "4"}, {"num_stages", "4"}},
      {{"BLOCK_M", "128"}, {"BLOCK_N", "64"}, {"BLOCK_K", "64"}, {"num_warps", "4"}, {"num_stages", "4"}},
  };
  std::printf("%-5s %6s %6s %6s %10s %9s  %s\n", "dtype", "M", "N", "K", "ms", "TFLOP/s", "best config");
  for (const char *dt : {"f16", "bf16"})
    for (Shape s : shapes) {
      rt::Buffer a(size_t(s.m) * s.k * 2, dt), b(size_t(s.k) * s.n * 2, dt),
          c(size_t(s.m) * s.n * 2, dt);
      fillRandom(a, dt, 1);
      fillRandom(b, dt, 2);
      std::vector<dsl::Params> built;
      std::vector<std::function<void()>> runs;
      for (dsl::Params p : configs) {
        p.set("dtype", dt).set("INT_MULTIPLE", "16");
        std::shared_ptr<rt::Kernel> k;
        try {
          k = jit->get(kernels::findKernel("matmul"), p);
        } catch (const Error &e) {
          continue;
        }
        rt::Grid g{unsigned(s.m / p.i("BLOCK_M")), unsigned(s.n / p.i("BLOCK_N"))};
        built.push_back(p);
        runs.push_back([&, k, g] { k->launch(g, {a, b, c, s.m, s.n, s.k, s.k, 1, s.n, 1, s.n, 1}); });
      }
      auto [best, at] = fastest(runs);
      std::string bestCfg = runs.empty() ? "" : built[at].str();
      double tflops = 2.0 * s.m * s.n * double(s.k) / (best * 1e-3) / 1e12;
      std::printf("%-5s %6d %6d %6d %10.3f %9.1f  %s\n", dt, s.m, s.n, s.k, best, tflops,
                  bestCfg.c_str());
    }
  return 0;
}

/// Runs jit::attentionForward and jit::attentionBackward (with a random
/// output gradient dO) on fresh random inputs for a few problems and writes
/// inputs, outputs and gradients to `dir` (raw f16/f32, [b, h, s, d]) with
/// cases.json, for bench/sdpa_compare.py to check against
/// torch.nn.functional.scaled_dot_product_attention (and its autograd) on the
/// same GPU.
int dumpAttention(const std::string &dir) {
  std::unique_ptr<jit::Jit> jit = openJit();
  if (!jit)
    return 77;
  std::filesystem::create_directories(dir);
  struct Case { int b, h, kvh, sq, sk, d; bool causal; };
  const Case cases[] = {{2, 4, 4, 1000, 1000, 64, false}, {2, 4, 4, 300, 517, 128, true},
                        {1, 8, 2, 2048, 2048, 128, true},  {1, 2, 2, 4097, 4097, 64, true},
                        {2, 4, 4, 2048, 2100, 64, false},  {1, 2, 2, 130, 190, 256, false}};
  std::mt19937 rng(20261124);
  std::normal_distribution<float> dist;
  auto write = [&](const std::string &name, const void *data, size_t bytes) {
    std::ofstream(dir + "/" + name, std::ios::binary).write(static_cast<const char *>(data), bytes);
  };
  std::string json = "[\n";
  int i = 0;
  for (const Case &c : cases) {
    size_t nq = size_t(c.b) * c.h * c.sq * c.d, nk = size_t(c.b) * c.kvh * c.sk * c.d;
    std::vector<uint16_t> hq(nq), hk(nk), hv(nk);
    for (auto *v : {&hq, &hk, &hv})
      for (auto &x : *v)
        x = toHalf(dist(rng));
    rt::Buffer q(nq * 2, "f16"), k(nk * 2, "f16"), v(nk * 2, "f16"), o(nq * 2, "f16"),
        lse(size_t(c.b) * c.h * c.sq * 4, "f32");
    q.upload(hq);
    k.upload(hk);
    v.upload(hv);
    jit::AttentionProblem p;
    p.batch = c.b, p.heads = c.h, p.kvHeads = c.kvh, p.seqQ = c.sq, p.seqK = c.sk;
    p.headDim = c.d, p.causal = c.causal;
    jit::AttentionStrides sq{int64_t(c.h) * c.sq * c.d, int64_t(c.sq) * c.d, c.d, 1},
        sk{int64_t(c.kvh) * c.sk * c.d, int64_t(c.sk) * c.d, c.d, 1};
    jit::attentionForward(*jit, p, q, sq, k, sk, v, sk, o, sq, lse);
    std::vector<uint16_t> hdo(nq);
    for (auto &x : hdo)
      x = toHalf(dist(rng));
    rt::Buffer dO(nq * 2, "f16"), dq(nq * 2, "f16"), dk(nk * 2, "f16"), dv(nk * 2, "f16"),
        ws(jit::attentionBackwardWorkspaceBytes(p), "f32");
    dO.upload(hdo);
    jit::attentionBackward(*jit, p, q, sq, k, sk, v, sk, o, sq, dO, sq, lse, dq, sq, dk, sk, dv, sk,
                           ws);
    rt::check(rt::driver().ctxSynchronize(), "cuCtxSynchronize");
    auto ho = o.download<uint16_t>(nq);
    auto hl = lse.download<float>(size_t(c.b) * c.h * c.sq);
    std::string pre = "case" + std::to_string(i);
    write(pre + "_q.f16", hq.data(), nq * 2);
    write(pre + "_k.f16", hk.data(), nk * 2);
    write(pre + "_v.f16", hv.data(), nk * 2);
    write(pre + "_o.f16", ho.data(), nq * 2);
    write(pre + "_lse.f32", hl.data(), hl.size() * 4);
    write(pre + "_do.f16", hdo.data(), nq * 2);
    write(pre + "_dq.f16", dq.download<uint16_t>(nq).data(), nq * 2);
    write(pre + "_dk.f16", dk.download<uint16_t>(nk).data(), nk * 2);
    write(pre + "_dv.f16", dv.download<uint16_t>(nk).data(), nk * 2);
    json += std::string(i ? ",\n" : "") + "  {\"name\": \"" + pre + "\", \"b\": " +
            std::to_string(c.b) + ", \"h\": " + std::to_string(c.h) + ", \"kvh\": " +
            std::to_string(c.kvh) + ", \"sq\": " + std::to_string(c.sq) + ", \"sk\": " +
            std::to_string(c.sk) + ", \"d\": " + std::to_string(c.d) +
            ", \"causal\": " + (c.causal ? "true" : "false") + "}";
    std::printf("%s: b=%d h=%d kv=%d sq=%d sk=%d d=%d%s written\n", pre.c_str(), c.b, c.h, c.kvh,
                c.sq, c.sk, c.d, c.causal ? " causal" : "");
    ++i;
  }
  json += "\n]\n";
  write("cases.json", json.data(), json.size());
  return 0;
}

int run(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string jsonPath, cacheDir = "/tmp/tessera-bench-cache";
  bool autotuneOnly = false, attentionOnly = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json" && i + 1 < argc)
      jsonPath = argv[++i];
    else if (a == "--cache-dir" && i + 1 < argc)
      cacheDir = argv[++i];
    else if (a == "--autotune")
      autotuneOnly = true;
    else if (a == "--attention")
      attentionOnly = true;
    else if (a == "--matmul")
      return matmulTable();
    else if (a == "--attention-table")
      return attentionTable(i + 1 < argc && argv[i + 1][0] != '-' ? argv[i + 1] : "");
    else if (a == "--attention-bwd-table")
      return attentionBackwardTable(i + 1 < argc && argv[i + 1][0] != '-' ? argv[i + 1] : "");
    else if (a == "--score-mods")
      return scoreModTable();
    else if (a == "--masks")
      return maskTable();
    else if (a == "--dump-attention" && i + 1 < argc)
      return dumpAttention(argv[++i]);
  }
  if (autotuneOnly)
    return autotuneRowwise();
  if (attentionOnly)
    return attentionSpeed();
  std::filesystem::remove_all(cacheDir);
  std::unique_ptr<jit::Jit> cold = openJit(rt::CacheOptions{cacheDir, true});
  if (!cold)
    return 77;
  const rt::Device &dev = cold->device();
  std::printf("device: %s, %d SMs, driver %d, target %s\n", dev.name.c_str(), dev.smCount,
              dev.driverVersion, dev.target().c_str());

  // --- 1. cold compile and warm start -------------------------------------------------
  std::printf("\n%-14s %16s %16s\n", "kernel", "cold compile ms", "warm start ms");
  for (const auto &def : kernels::library()) {
    auto t0 = Clock::now();
    cold->get(def);
    double coldMs = msSince(t0);
    jit::Jit warm(0, rt::CacheOptions{cacheDir, true}); // as a new process would
    t0 = Clock::now();
    warm.get(def);
    double warmMs = msSince(t0);
    bool fromDisk = warm.compiler().stats().diskHits == 1 && warm.compiler().stats().compiles == 0;
    std::printf("%-14s %16.1f %16.2f%s\n", def.name.c_str(), coldMs, warmMs,
                fromDisk ? "" : "  (NOT from the disk cache)");
    record("{\"kind\": \"compile\", \"kernel\": \"" + def.name + "\", \"cold_ms\": " +
           std::to_string(coldMs) + ", \"warm_ms\": " + std::to_string(warmMs) +
           ", \"warm_from_disk\": " + (fromDisk ? "true" : "false") + "}");
  }

  // --- 2. launch overhead ---------------------------------------------------------------
  {
    auto k = cold->get(kernels::findKernel("vector_add"));
    rt::Buffer x(4096, "f32"), y(4096, "f32"), o(4096, "f32");
    int n = 1;
    const int batch = 200, batches = 50;
    const rt::Driver &d = rt::driver();
    CUfunction fn = k->function();
    CUdeviceptr px = x.ptr(), py = y.ptr(), po = o.ptr();
    void *raw[] = {&px, &py, &po, &n};
    std::vector<double> tTessera, tRaw;
    for (int b = 0; b < batches; ++b) {
      rt::check(d.ctxSynchronize(), "sync");
      auto t0 = Clock::now();
      for (int i = 0; i < batch; ++i)
        k->launch({1}, {x, y, o, n});
      tTessera.push_back(msSince(t0) * 1000.0 / batch);
      rt::check(d.ctxSynchronize(), "sync");
      t0 = Clock::now();
      for (int i = 0; i < batch; ++i)
        rt::check(d.launchKernel(fn, 1, 1, 1, 128, 1, 1, 0, nullptr, raw, nullptr), "cuLaunchKernel");
      tRaw.push_back(msSince(t0) * 1000.0 / batch);
    }
    rt::check(d.ctxSynchronize(), "sync");
    double ts = median(tTessera), tr = median(tRaw);
    std::printf("\nlaunch (host time per call, median of %d batches of %d): Tessera %.3f us, raw "
                "cuLaunchKernel %.3f us, overhead %.3f us\n",
                batches, batch, ts, tr, ts - tr);
    record("{\"kind\": \"launch\", \"tessera_us\": " + std::to_string(ts) + ", \"raw_us\": " +
           std::to_string(tr) + ", \"overhead_us\": " + std::to_string(ts - tr) + "}");
  }

  // --- 3. row-wise bandwidth ------------------------------------------------------------
  const int rows = 16384, cols = 8192;
  const double copyCeiling = 3.0e12; // bytes/s, device-to-device copy measured (GPU.md)
  rt::Buffer in(size_t(rows) * cols * 2, "f16"), out(size_t(rows) * cols * 2, "f16");
  rt::Buffer w(cols * 2, "f16"), bias(cols * 2, "f16"), mean(rows * 4, "f32"), rstd(rows * 4, "f32");
  {
    std::mt19937 rng(1);
    std::normal_distribution<float> dist;
    std::vector<uint16_t> h(size_t(rows) * cols);
    for (auto &v : h)
      v = toHalf(dist(rng));
    in.upload(h);
    std::vector<uint16_t> ones(cols, 0x3c00), zeros(cols, 0);
    w.upload(ones);
    bias.upload(zeros);
  }
  std::printf("\n%-11s %-26s %10s %12s %12s\n", "kernel", "config", "ms", "GB/s", "of 3.0 TB/s");
  for (std::string name : {"softmax", "layer_norm"}) {
    double bytes = 2.0 * rows * cols * 2 + (name == "layer_norm" ? 2.0 * cols * 2 + rows * 8.0 : 0);
    double best = 1e30;
    std::string bestCfg;
    for (int block : {1024, 2048, 4096, 8192})
      for (int warps : {4, 8, 16}) {
        dsl::Params p{{"BLOCK", std::to_string(block)}, {"num_warps", std::to_string(warps)},
                      {"INT_MULTIPLE", "16"}};
        std::shared_ptr<rt::Kernel> k;
        try {
          k = cold->get(kernels::findKernel(name), p);
        } catch (const Error &e) {
          std::printf("%-11s %-26s  does not compile: %s\n", name.c_str(), p.str().c_str(), e.what());
          continue;
        }
        float eps = 1e-5f;
        double ms = timeKernel([&] {
          if (name == "softmax")
            k->launch({unsigned(rows)}, {out, in, cols, cols, cols});
          else
            k->launch({unsigned(rows)}, {in, out, w, bias, mean, rstd, cols, cols, eps});
        });
        double gbs = bytes / (ms * 1e-3) / 1e9;
        std::printf("%-11s %-26s %10.3f %12.1f %11.1f%%\n", name.c_str(),
                    ("BLOCK=" + std::to_string(block) + ",warps=" + std::to_string(warps)).c_str(), ms,
                    gbs, 100.0 * gbs * 1e9 / copyCeiling);
        record("{\"kind\": \"bandwidth\", \"kernel\": \"" + name + "\", \"rows\": " +
               std::to_string(rows) + ", \"cols\": " + std::to_string(cols) + ", \"block\": " +
               std::to_string(block) + ", \"num_warps\": " + std::to_string(warps) +
               ", \"ms\": " + std::to_string(ms) + ", \"gb_per_s\": " + std::to_string(gbs) + "}");
        if (ms < best) {
          best = ms;
          bestCfg = p.str();
        }
      }
    std::printf("%-11s best %s: %.1f%% of the copy ceiling\n", name.c_str(), bestCfg.c_str(),
                100.0 * bytes / (best * 1e-3) / copyCeiling);
  }
  // --- 4. dot-heavy kernels (tensor cores through mma.sync, first slice) -----------
  {
    const int n = 4096;
    rt::Buffer a(size_t(n) * n * 2, "f16"), bm(size_t(n) * n * 2, "f16"), c(size_t(n) * n * 2, "f16");
    std::vector<uint16_t> h(size_t(n) * n);
    std::mt19937 rng(2);
    std::normal_distribution<float> dist;
    for (auto &v : h)
      v = toHalf(dist(rng));
    a.upload(h);
    bm.upload(h);
    std::printf("\n%-11s %-34s %10s %10s\n", "kernel", "config", "ms", "TFLOP/s");
    struct Cfg { int bm, bn, bk, warps; };
    for (Cfg cfg : {Cfg{64, 64, 64, 4}, Cfg{128, 128, 64, 8}, Cfg{128, 256, 64, 8},
                    Cfg{64, 256, 64, 4}, Cfg{128, 128, 32, 8}}) {
      {
        dsl::Params p{{"BLOCK_M", std::to_string(cfg.bm)}, {"BLOCK_N", std::to_string(cfg.bn)},
                      {"BLOCK_K", std::to_string(cfg.bk)}, {"num_warps", std::to_string(cfg.warps)},
                      {"INT_MULTIPLE", "16"}};
        std::shared_ptr<rt::Kernel> k;
        try {
          k = cold->get(kernels::findKernel("matmul"), p);
        } catch (const Error &e) {
          std::printf("%-11s %-34s  does not compile: %.100s\n", "matmul", p.str().c_str(), e.what());
          continue;
        }
        rt::Grid g{unsigned(n / cfg.bm), unsigned(n / cfg.bn)};
        double ms = timeKernel([&] { k->launch(g, {a, bm, c, n, n, n, n, 1, n, 1, n, 1}); }, 2, 5);
        double tflops = 2.0 * n * n * double(n) / (ms * 1e-3) / 1e12;
        std::printf("%-11s %-34s %10.3f %10.1f\n", "matmul", p.str().c_str(), ms, tflops);
        record("{\"kind\": \"matmul\", \"n\": " + std::to_string(n) + ", \"params\": \"" +
               p.str() + "\", \"ms\": " + std::to_string(ms) + ", \"tflops\": " +
               std::to_string(tflops) + "}");
      }
    }
    benchAttention(*cold);
  }
  if (!jsonPath.empty())
    std::ofstream(jsonPath) << "{\"device\": \"" << dev.name << "\", \"results\": [\n"
                            << json.str() << "\n]}\n";
  std::filesystem::remove_all(cacheDir);
  return 0;
}

int main(int argc, char **argv) {
  // Bad input (e.g. a malformed TESSERA_ATTENTION_CONFIG) is a message, not an abort.
  try {
    return run(argc, argv);
  } catch (const Error &e) {
    std::fprintf(stderr, "tessera-bench: %s\n", e.what());
    return 1;
  }
}
