//===- RuntimeTargets.cpp - the checked launch and the attention API ------===//
//
// Both run in interpret mode (TESSERA_INTERPRET=1: Buffers are host memory,
// launches run the traced IR in the CPU interpreter), so no GPU is needed.
//
// `launch`: a library kernel with one of its tuned configs, a small grid
// (or one past the hardware's limits) and an argument list built from the
// kernel's own signature, then changed: an argument dropped or added, of
// the wrong kind or dtype, null, misaligned, not from a Buffer, a buffer
// too short, sizes off their promised multiple.  Half the cases call
// interp::run directly with interp::Buffers (null, short, untyped).
//
// `attention`: random small problems through jit::attentionForward and
// attentionBackward (now and then with built-in score and mask modifiers),
// valid or changed in one way (strides, buffers too
// small, aliasing, dtypes).  An accepted call is compared with the float64
// reference: a wrong answer is a finding.
//
//===----------------------------------------------------------------------===//
#include "Fuzz.h"

#include "tessera/Interpreter/Interpreter.h"
#include "tessera/Pipeline.h"
#include "tessera/Support/Half.h"
#include "tessera/dsl/KernelDef.h"
#include "tessera/jit/Attention.h"
#include "tessera/jit/Jit.h"
#include "tessera/kernels/Library.h"
#include "tessera/kernels/References.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace tessera::fuzz {
namespace {

std::vector<int64_t> parseInts(const std::string &s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(std::stoll(item));
  return out;
}

template <class T> std::string joinInts(const std::vector<T> &v) {
  std::string s;
  for (auto &x : v)
    s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

/// One Jit per child: its kernels are traced once per child, not per case.
jit::Jit &theJit() {
  setenv("TESSERA_INTERPRET", "1", 1);
  static jit::Jit jit;
  return jit;
}

// --- launch ----------------------------------------------------------------------

const std::vector<std::string> kMutations = {"none", "none", "drop", "extra", "kind", "dtype",
                                             "nodtype", "null", "misalign", "short", "foreign",
                                             "multiple", "grid", "interp-null", "interp-short",
                                             "interp-untyped"};

std::string generateLaunch(Rng &rng) {
  const auto &lib = kernels::library();
  const dsl::KernelDef &def = lib[rng.below(lib.size())];
  dsl::Params p;
  if (!def.configs.empty() && rng.chance(70))
    p = def.configs[rng.below(def.configs.size())];
  if (def.defaults.has("INT_MULTIPLE") && rng.chance(40))
    p.set("INT_MULTIPLE", rng.pick(std::vector<std::string>{"1", "2", "8", "16"}));
  std::vector<int64_t> grid = {1 + int64_t(rng.below(2)), 1 + int64_t(rng.below(2)), 1};
  std::vector<int64_t> ints;
  for (int i = 0; i < 24; ++i)
    ints.push_back(rng.pick(std::vector<int64_t>{1, 2, 3, 7, 16, 17, 32, 64, 100, 0, -1}));
  std::string mutation = rng.pick(kMutations);
  return "kernel=" + def.name + "\nparams=" + p.str() + "\ngrid=" + joinInts(grid) +
         "\nints=" + joinInts(ints) + "\nelems=" + std::to_string(64 + rng.below(4096)) +
         "\nmutation=" + mutation + "\nat=" + std::to_string(rng.below(16)) +
         "\nvalue=" + std::to_string(rng.pick(std::vector<int64_t>{
                          0, 1, 2, 3, 4, 8, 65536, 2147483647, -1, 4294967296}));
}

bool runLaunch(const std::string &input) {
  auto spec = parseSpec(input);
  jit::Jit &jit = theJit();
  const dsl::KernelDef &def = kernels::findKernel(spec["kernel"]);
  auto kernel = jit.get(def, dsl::Params::parse(specStr(spec, "params")));
  const KernelInfo &info = kernel->info();
  std::vector<int64_t> grid = parseInts(spec["grid"]), ints = parseInts(spec["ints"]);
  std::string mutation = specStr(spec, "mutation", "none");
  size_t at = info.params.empty() ? 0 : size_t(specInt(spec, "at")) % info.params.size();
  int64_t value = specInt(spec, "value");
  size_t elems = size_t(specInt(spec, "elems", 256));

  std::vector<rt::Buffer> buffers;
  buffers.reserve(info.params.size() + 1);
  std::vector<rt::Arg> args;
  size_t nextInt = 0;
  for (size_t i = 0; i < info.params.size(); ++i) {
    const KernelParam &prm = info.params[i];
    if (prm.type.rfind("ptr<", 0) == 0) {
      std::string dt = prm.type.substr(4, prm.type.size() - 5);
      size_t width = dt == "f16" || dt == "bf16" ? 2 : dt == "i64" ? 8 : 4;
      size_t bytes = elems * width;
      if (mutation == "short" && i == at)
        bytes = size_t(std::max<int64_t>(value % 64, 0));
      buffers.emplace_back(bytes, mutation == "dtype" && i == at ? "i64" : dt);
      buffers.back().fill(0);
      rt::DevicePtr dp{buffers.back().ptr(), buffers.back().dtype().c_str()};
      if (mutation == "nodtype" && i == at)
        dp.dtype = nullptr;
      if (mutation == "null" && i == at)
        dp.ptr = 0;
      if (mutation == "misalign" && i == at)
        dp.ptr += CUdeviceptr(1 + std::abs(value) % 15);
      if (mutation == "foreign" && i == at)
        dp.ptr = CUdeviceptr(0x1000 + value * 16);
      args.push_back(dp);
    } else if (prm.type == "f32") {
      args.push_back(1.5f);
    } else {
      int64_t v = ints.empty() ? 1 : ints[nextInt++ % ints.size()];
      if (prm.unit)
        v = 1;
      if (prm.multipleOf > 1)
        v = v * prm.multipleOf + (mutation == "multiple" && i == at ? 1 : 0);
      if (mutation == "kind" && i == at)
        args.push_back(float(v));
      else if (prm.type == "i64")
        args.push_back(int64_t(v));
      else
        args.push_back(int32_t(v));
    }
  }
  if (mutation == "drop" && !args.empty())
    args.erase(args.begin() + long(at));
  if (mutation == "extra")
    args.push_back(int32_t(value));
  rt::Grid g{unsigned(grid.at(0)), unsigned(grid.at(1)), unsigned(grid.at(2))};
  if (mutation == "grid") {
    // Past CUDA's limits (x < 2^31, y and z < 2^16) or empty: refused
    // before anything runs (a valid huge grid would only be slow here).
    switch (std::abs(value) % 4) {
    case 0: g.x = 0; break;
    case 1: g.y = 65536; break;
    case 2: g.z = 65536; break;
    default: g.x = 0x80000000u; break;
    }
  }
  if (mutation.rfind("interp-", 0) == 0) {
    // The interpreter's own entry point, with its own Buffers.
    auto ctx = std::make_unique<mlir::MLIRContext>(mlir::MLIRContext::Threading::DISABLED);
    mlir::DialectRegistry registry;
    registerAllDialects(registry);
    ctx->appendDialectRegistry(registry);
    auto module = dsl::traceKernel(*ctx, def, dsl::Params::parse(specStr(spec, "params")));
    std::vector<interp::Arg> iargs;
    for (size_t i = 0; i < args.size(); ++i) {
      const rt::Arg &a = args[i];
      switch (a.kind) {
      case rt::Arg::Kind::Ptr: {
        auto [base, bytes] = rt::hostAllocationOf(a.ptr);
        interp::Buffer b{reinterpret_cast<void *>(a.ptr), bytes ? size_t(base + bytes - a.ptr) : 0,
                         a.dtype ? a.dtype : ""};
        if (i == at && mutation == "interp-null")
          b.data = nullptr;
        if (i == at && mutation == "interp-short")
          b.bytes = b.bytes / 3;
        if (mutation == "interp-untyped")
          b.dtype = "";
        iargs.push_back(b);
        break;
      }
      case rt::Arg::Kind::I32: iargs.push_back(a.i32); break;
      case rt::Arg::Kind::I64: iargs.push_back(a.i64); break;
      case rt::Arg::Kind::F32: iargs.push_back(a.f32); break;
      }
    }
    interp::run(*module, {g.x, g.y, g.z}, iargs);
    return true;
  }
  kernel->launch(g, args);
  return true;
}

// --- attention -------------------------------------------------------------------

const std::vector<std::string> kBad = {"none", "none", "none", "none", "qstride", "kvhead0",
                                       "short_o", "short_lse", "alias_qo", "alias_kv", "dtype",
                                       "neg_stride", "huge_stride", "dim_stride", "scale",
                                       "lse_dtype", "short_ws"};

std::string generateAttention(Rng &rng) {
  // Mostly valid problems (the interesting answers are the accepted ones),
  // then one field set to an odd value.
  int64_t h = rng.pick(std::vector<int64_t>{1, 2, 4}), kv = rng.pick(std::vector<int64_t>{0, 1, h});
  int64_t b = rng.pick(std::vector<int64_t>{1, 1, 2}), sq = rng.pick(std::vector<int64_t>{1, 2, 5, 16, 17, 33});
  int64_t sk = rng.pick(std::vector<int64_t>{1, 3, 16, 23, 40, 65});
  int64_t d = rng.chance(85) ? 64 : 128;
  std::string dt = rng.chance(50) ? "f16" : "bf16";
  if (rng.chance(25)) {
    switch (rng.below(7)) {
    case 0: b = rng.pick(std::vector<int64_t>{0, -1}); break;
    case 1: h = rng.pick(std::vector<int64_t>{0, -2, 3}); break;
    case 2: kv = rng.pick(std::vector<int64_t>{3, -1, 8}); break;
    case 3: sq = rng.pick(std::vector<int64_t>{0, -1}); break;
    case 4: sk = rng.pick(std::vector<int64_t>{0, -1}); break;
    case 5: d = rng.pick(std::vector<int64_t>{0, 17, 32, 512, -64}); break;
    default: dt = rng.pick(std::vector<std::string>{"f32", "i32", ""}); break;
    }
  }
  std::ostringstream s;
  s << "op=" << (rng.chance(25) ? "bwd" : "fwd") << "\nb=" << b << "\nh=" << h << "\nkv=" << kv
    << "\nsq=" << sq << "\nsk=" << sk << "\nd=" << d << "\ncausal=" << rng.below(2)
    << "\nscale=" << (rng.chance(80) ? 0.0 : rng.uniform() * 2 - 0.5) << "\ndtype=" << dt
    << "\nlayout=" << (rng.chance(50) ? "bshd" : "bhsd")
    << "\nbad=" << (rng.chance(60) ? "none" : rng.pick(kBad)) << "\nseed=" << rng.below(1000000);
  // Issue 21's modifiers by their built-in names, now and then: a score
  // modifier, a mask modifier (through a BlockMask and its lists), or both.
  if (rng.chance(25))
    s << "\nscore=" << rng.pick(std::vector<std::string>{"softcap.2", "softcap.30", "alibi.4",
                                                          "alibi.1", "softcap_exact.5",
                                                          "derived.softcap_exact.3"});
  if (rng.chance(35)) {
    auto n = [&] { return rng.pick(std::vector<std::string>{"inf", "0", "1", "3", "10"}); };
    switch (rng.below(4)) {
    case 0: s << "\nmask=sliding_window." << n() << "." << n(); break;
    case 1: s << "\nmask=causal_bottom_right"; break;
    case 2: s << "\nmask=prefix_lm." << rng.pick(std::vector<int64_t>{0, 4, 20}); break;
    default: s << "\nmask=causal"; break;
    }
  }
  return s.str();
}

/// The host forms of the built-in modifiers the generator names (the
/// kernels' own definitions, kernels/lib/AttentionVariants.cpp): the score
/// map and its derivative over (scaled score, bh, i, j), the mask over
/// (bh, i, j); `heads` for ALiBi's head index, seq_q/seq_k for the
/// bottom-right alignment.
struct HostModifiers {
  std::function<double(double, int64_t, int64_t, int64_t)> score, grad;
  kernels::ref::RefMask mask;
};
HostModifiers hostModifiers(const std::string &scoreName, const std::string &maskName, int64_t heads,
                            int64_t sq, int64_t sk) {
  HostModifiers m;
  auto after = [](const std::string &name, const std::string &prefix) {
    std::vector<double> xs;
    std::stringstream parts(name.substr(prefix.size() + 1));
    for (std::string x; std::getline(parts, x, '.');)
      xs.push_back(x == "inf" ? -1 : std::stod(x));
    return xs;
  };
  if (scoreName.rfind("softcap", 0) == 0) {
    double cap = after(scoreName, scoreName.rfind("softcap_exact", 0) == 0 ? "softcap_exact"
                                                                          : "softcap")[0];
    m.score = [cap](double x, int64_t, int64_t, int64_t) { return cap * std::tanh(x / cap); };
    m.grad = [cap](double x, int64_t, int64_t, int64_t) {
      double t = std::tanh(x / cap);
      return 1 - t * t;
    };
  } else if (scoreName.rfind("alibi", 0) == 0) {
    double n = after(scoreName, "alibi")[0];
    m.score = [n, heads](double x, int64_t bh, int64_t i, int64_t j) {
      return x + std::exp2(-8.0 * double(bh % heads + 1) / n) * double(j - i);
    };
    m.grad = [](double, int64_t, int64_t, int64_t) { return 1.0; };
  }
  int64_t shift = sk - sq; // bottom-right: query i's own key position
  if (maskName == "causal") {
    m.mask = [](int64_t, int64_t i, int64_t j) { return j <= i; };
  } else if (maskName == "causal_bottom_right") {
    m.mask = [shift](int64_t, int64_t i, int64_t j) { return j <= i + shift; };
  } else if (maskName.rfind("prefix_lm", 0) == 0) {
    double n = after(maskName, "prefix_lm")[0];
    m.mask = [n](int64_t, int64_t i, int64_t j) { return double(j) < n || j <= i; };
  } else if (maskName.rfind("sliding_window", 0) == 0) {
    auto lr = after(maskName, "sliding_window");
    double l = lr[0], r = lr[1];
    m.mask = [l, r, shift](int64_t, int64_t i, int64_t j) {
      double c = double(i + shift);
      return (l < 0 || double(j) >= c - l) && (r < 0 || double(j) <= c + r);
    };
  }
  return m;
}

struct Tensor {
  rt::Buffer buf;
  jit::AttentionStrides st;
  std::vector<uint16_t> host; // what was uploaded
};

double toDouble(uint16_t x, const std::string &dt) { return dt == "bf16" ? fromBF16(x) : fromHalf(x); }

bool runAttention(const std::string &input) {
  auto spec = parseSpec(input);
  jit::Jit &jit = theJit();
  jit::AttentionProblem p;
  p.batch = int(specInt(spec, "b"));
  p.heads = int(specInt(spec, "h"));
  p.kvHeads = int(specInt(spec, "kv"));
  p.seqQ = int(specInt(spec, "sq"));
  p.seqK = int(specInt(spec, "sk"));
  p.headDim = int(specInt(spec, "d"));
  p.causal = specInt(spec, "causal") != 0;
  p.scale = std::stof(specStr(spec, "scale", "0"));
  std::string dt = specStr(spec, "dtype", "f16"), bad = specStr(spec, "bad", "none");
  bool bshd = specStr(spec, "layout") == "bshd", bwd = specStr(spec, "op") == "bwd";
  Rng rng(uint64_t(specInt(spec, "seed")));
  int kvh = p.kvHeads ? p.kvHeads : p.heads;
  // Sizes are clamped at 0 so that a refused negative size does not make a
  // negative allocation here.
  auto nn = [](int64_t x) { return std::max<int64_t>(x, 0); };
  int64_t B = nn(p.batch), D = nn(p.headDim);

  auto strides = [&](int64_t h, int64_t s) {
    h = nn(h), s = nn(s);
    return bshd ? jit::AttentionStrides{s * h * D, D, h * D, 1}
                : jit::AttentionStrides{h * s * D, s * D, D, 1};
  };
  auto make = [&](int64_t h, int64_t s, const std::string &what) {
    Tensor t;
    t.st = strides(h, s);
    size_t n = size_t(B * nn(h) * nn(s) * D);
    if ((bad == "short_o" && what == "o") || (bad == "short_o" && what == "dq"))
      n = n / 2;
    std::string type = bad == "dtype" && what == "k" ? (dt == "f16" ? "bf16" : "f16") : dt;
    t.buf = rt::Buffer(n * 2, type);
    t.host.resize(n);
    for (auto &x : t.host) {
      float f = float(rng.uniform() * 4 - 2);
      x = dt == "bf16" ? toBF16(f) : toHalf(f);
    }
    t.buf.upload(t.host);
    return t;
  };
  Tensor q = make(p.heads, p.seqQ, "q"), k = make(kvh, p.seqK, "k"), v = make(kvh, p.seqK, "v"),
         o = make(p.heads, p.seqQ, "o");
  o.buf.fill(0xff);
  size_t lseN = size_t(B * nn(p.heads) * nn(p.seqQ));
  rt::Buffer lse((bad == "short_lse" ? lseN / 2 : lseN) * 4, bad == "lse_dtype" ? "f16" : "f32");
  if (bad == "qstride")
    q.st.seq += 1;
  if (bad == "kvhead0")
    k.st.head = v.st.head = 0; // what expand() gives for MQA: valid when kv = 1
  if (bad == "neg_stride")
    k.st.seq = -k.st.seq;
  if (bad == "huge_stride")
    v.st.batch = int64_t(1) << 40;
  if (bad == "dim_stride")
    q.st.dim = 2;
  if (bad == "scale")
    p.scale = rng.chance(50) ? -1.0f : NAN;
  rt::Buffer *oBuf = &o.buf;
  if (bad == "alias_qo")
    oBuf = &q.buf;
  rt::Buffer *vBuf = bad == "alias_kv" ? &k.buf : &v.buf;
  const std::vector<uint16_t> &vHost = bad == "alias_kv" ? k.host : v.host;
  std::string scoreName = specStr(spec, "score", "none"), maskName = specStr(spec, "mask", "none");
  // "derived.NAME": the built-in without its written derivative, so the
  // backward differentiates it (dsl::derivative; softcap's tanh.approx form
  // and ALiBi are derived anyway, the exact softcap through its division).
  bool derived = scoreName.rfind("derived.", 0) == 0;
  if (derived)
    scoreName = scoreName.substr(8);
  if (scoreName != "none") {
    p.scoreMod = kernels::findScoreMod(scoreName);
    if (derived) {
      p.scoreMod->name = "derived." + scoreName;
      p.scoreMod->grad = nullptr;
      p.scoreMod->gradIsOne = false;
    }
  }
  if (maskName != "none") // for the problem's shape; refuses sizes that are not positive
    p.mask = std::make_shared<jit::BlockMask>(kernels::findMaskMod(maskName), p.batch, p.heads,
                                              p.seqQ, p.seqK);
  HostModifiers mods = hostModifiers(scoreName, maskName, std::max(p.heads, 1), p.seqQ, p.seqK);

  jit::attentionForward(jit, p, q.buf, q.st, k.buf, k.st, *vBuf, v.st, *oBuf, o.st, lse);

  // Accepted: compare with the float64 reference, in [b*h, s, d].
  double scale = p.scale != 0 ? double(p.scale) : 1.0 / std::sqrt(double(D));
  auto gather = [&](const std::vector<uint16_t> &host, const jit::AttentionStrides &st, int64_t h,
                    int64_t s) {
    std::vector<double> out(size_t(B * h * s * D));
    for (int64_t ib = 0; ib < B; ++ib)
      for (int64_t ih = 0; ih < h; ++ih)
        for (int64_t is = 0; is < s; ++is)
          for (int64_t id = 0; id < D; ++id) {
            int64_t off = ib * st.batch + ih * st.head + is * st.seq + id * st.dim;
            if (off < 0 || size_t(off) >= host.size())
              throw Finding("accepted a tensor that reaches element " + std::to_string(off) +
                            " of a buffer of " + std::to_string(host.size()));
            out[size_t(((ib * h + ih) * s + is) * D + id)] = toDouble(host[size_t(off)], dt);
          }
    return out;
  };
  auto rq = gather(q.host, q.st, p.heads, p.seqQ), rk = gather(k.host, k.st, kvh, p.seqK),
       rv = gather(vHost, v.st, kvh, p.seqK);
  std::vector<double> ro(rq.size()), rl(lseN);
  kernels::ref::attention(rq.data(), rk.data(), rv.data(), ro.data(), rl.data(), B * p.heads,
                          p.seqQ, p.seqK, D, scale, p.causal, p.heads / kvh, mods.score,
                          mods.mask);
  // Relative L2 error, with every element's reference counted as at least
  // 1e-2 in the norm: a gradient that is all but zero (a saturated softmax,
  // one key) is a difference of nearly equal terms, and f16/bf16 cannot
  // give it to a relative precision.  A value that is not finite never
  // passes.
  auto relL2 = [](const std::vector<double> &ref, const std::vector<double> &got) {
    double err = 0, norm = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (!std::isfinite(got[i]))
        return double(NAN);
      double d = got[i] - ref[i];
      err += d * d;
      norm += std::max(ref[i] * ref[i], 1e-4);
    }
    return ref.empty() ? 0.0 : std::sqrt(err / norm);
  };
  double tol = dt == "bf16" ? 2e-2 : 5e-3;
  auto outHost = oBuf->download<uint16_t>(oBuf->bytes() / 2);
  std::vector<double> storedO = gather(outHost, o.st, p.heads, p.seqQ);
  double e = relL2(ro, storedO);
  if (!(e < tol))
    throw Finding("attentionForward accepted the call and returned O with relative L2 error " +
                  std::to_string(e));
  auto lseHost = lse.download<float>(lseN);
  for (size_t i = 0; i < lseN; ++i)
    if (!(std::fabs(lseHost[i] - rl[i]) < 1e-2 * std::max(1.0, std::fabs(rl[i]))) &&
        !(std::isinf(rl[i]) && rl[i] < 0 && lseHost[i] == rl[i])) // a row the mask leaves no key
      throw Finding("attentionForward's lse[" + std::to_string(i) + "] is " +
                    std::to_string(lseHost[i]) + ", the reference " + std::to_string(rl[i]));
  if (!bwd || bad == "alias_qo" || bad == "alias_kv")
    return true;

  // The backward from the forward's O and lse.
  Tensor dO = make(p.heads, p.seqQ, "dO"), dq = make(p.heads, p.seqQ, "dq"),
         dk = make(kvh, p.seqK, "dk"), dv = make(kvh, p.seqK, "dv");
  jit::AttentionBackwardOptions bo;
  bo.deterministic = rng.chance(50);
  size_t wsBytes = jit::attentionBackwardWorkspaceBytes(p, bo);
  rt::Buffer ws(bad == "short_ws" ? wsBytes / 2 : wsBytes, "f32");
  jit::attentionBackward(jit, p, q.buf, q.st, k.buf, k.st, v.buf, v.st, o.buf, o.st, dO.buf, dO.st,
                         lse, dq.buf, dq.st, dk.buf, dk.st, dv.buf, dv.st, ws, nullptr, bo);
  auto rdo = gather(dO.host, dO.st, p.heads, p.seqQ);
  std::vector<double> gq(rq.size()), gk(rk.size()), gv(rv.size());
  kernels::ref::attentionBackward(rq.data(), rk.data(), rv.data(), rdo.data(), gq.data(), gk.data(),
                                  gv.data(), B * p.heads, p.seqQ, p.seqK, D, scale, p.causal,
                                  p.heads / kvh, mods.score, mods.grad, mods.mask, {},
                                  storedO.data()); // D from O as stored, as the kernels take it
  double gtol = dt == "bf16" ? 3e-2 : 1e-2;
  // Past twice the default scale the softmax saturates: dS = P (dP - D) is
  // then a difference of nearly equal terms, and D = rowsum(dO O) from the
  // f16/bf16 O (as FlashAttention computes it) bounds its relative
  // precision, so there only finiteness is checked.
  bool compare = scale <= 2.0 / std::sqrt(double(D));
  struct G {
    const char *name;
    Tensor &t;
    std::vector<double> &ref;
    int64_t h, s;
  } grads[] = {{"dQ", dq, gq, p.heads, p.seqQ}, {"dK", dk, gk, kvh, p.seqK}, {"dV", dv, gv, kvh, p.seqK}};
  for (auto &g : grads) {
    auto got = gather(g.t.buf.download<uint16_t>(g.t.host.size()), g.t.st, g.h, g.s);
    double ge = relL2(g.ref, got);
    if (!compare && std::isfinite(ge))
      continue;
    if (!(ge < gtol)) {
      size_t bad = 0;
      double refMax = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        bad += !std::isfinite(got[i]);
        refMax = std::max(refMax, std::fabs(g.ref[i]));
      }
      throw Finding(std::string("attentionBackward accepted the call and returned ") + g.name +
                    " with relative L2 error " + std::to_string(ge) + " (" + std::to_string(bad) +
                    " of " + std::to_string(got.size()) + " not finite; largest |reference| " +
                    std::to_string(refMax) + ")");
    }
  }
  return true;
}

} // namespace

Target launchTarget() {
  Target t;
  t.name = "launch";
  t.summary = "library kernels launched in the interpreter with random, broken argument lists";
  t.generate = generateLaunch;
  t.run = runLaunch;
  return t;
}

Target attentionTarget() {
  Target t;
  t.name = "attention";
  t.summary = "random attention problems through the API in the interpreter, checked against float64";
  t.generate = generateAttention;
  t.run = runAttention;
  return t;
}

} // namespace tessera::fuzz
