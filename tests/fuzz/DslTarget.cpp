//===- DslTarget.cpp - random parameters and DSL programs, traced and compiled
//
// Two kinds of input, both compiled to PTX for `target=` (no GPU, no ptxas):
//  - `kernel=<library kernel>` and `params=<Params::str()>`: the kernel's
//    own parameters set to values from its config space, odd values
//    (block sizes 0, 1, 3, 48, 4096, negative; num_warps 0/3/64; num_stages
//    0/-1/100; HEAD_DIM 0/17/512; unknown dtypes) or words;
//  - `program=<hex bytes>`: a small program the bytes spell out, op by op,
//    over the DSL's API (loads, stores, arange, dot, reductions, where,
//    forRange, ifThen, conversions, shapes, a handle kept from an earlier
//    trace), with odd shapes and dtypes; misuse must be a DslError.
//
//===----------------------------------------------------------------------===//
#include "Fuzz.h"

#include "tessera/Compile.h"
#include "tessera/Pipeline.h"
#include "tessera/dsl/DSL.h"
#include "tessera/dsl/KernelDef.h"
#include "tessera/kernels/Attention.h"
#include "tessera/kernels/Library.h"

#include "mlir/IR/MLIRContext.h"

#include <optional>

using namespace tessera::dsl;

namespace tessera::fuzz {
namespace {

const std::vector<std::string> kOdd = {"0", "1", "3", "48", "4096", "-1", "-64", "17", "512",
                                       "64", "100", "2147483648", "abc", "", "f8"};

std::string paramValue(const std::string &key, const std::string &dflt,
                       const std::vector<std::string> &fromConfigs, Rng &rng) {
  if (!fromConfigs.empty() && rng.chance(40))
    return rng.pick(fromConfigs);
  if (rng.chance(30))
    return dflt;
  if (key == "dtype")
    return rng.pick(std::vector<std::string>{"f16", "bf16", "f32", "i32", "f64", "fp8", "F16"});
  if (key == "num_warps")
    return rng.pick(std::vector<std::string>{"0", "1", "2", "3", "8", "16", "32", "64", "-4"});
  if (key == "num_stages")
    return rng.pick(std::vector<std::string>{"0", "-1", "1", "2", "5", "100", "4294967297"});
  if (key == "HEAD_DIM")
    return rng.pick(std::vector<std::string>{"0", "16", "17", "32", "64", "96", "128", "256", "512"});
  if (key == "INT_MULTIPLE")
    return rng.pick(std::vector<std::string>{"0", "1", "3", "8", "16", "32", "-8"});
  return rng.pick(kOdd);
}

std::string generateParams(Rng &rng) {
  const auto &lib = kernels::library();
  const KernelDef &def = lib[rng.below(lib.size())];
  Params p;
  for (auto &[key, dflt] : def.defaults.items()) {
    if (!rng.chance(35))
      continue;
    std::vector<std::string> seen;
    for (auto &c : def.configs)
      if (c.has(key))
        seen.push_back(c.s(key));
    std::string v = paramValue(key, dflt, seen, rng);
    // Params::str() separates with ',' and '='; keep the value one token.
    p.set(key, v);
  }
  // Sometimes a whole config from the tuner's space (valid: must compile).
  if (!def.configs.empty() && rng.chance(25))
    p = def.configs[rng.below(def.configs.size())];
  if (rng.chance(5))
    p.set("NOT_A_PARAM", "1");
  return "kernel=" + def.name + "\nparams=" + p.str();
}

/// The program an input's bytes spell out.
class Program {
public:
  Program(const std::vector<uint8_t> &bytes) : bytes(bytes) {}

  void body(Kernel &k) {
    p0 = k.ptr("p0", dtype());
    p1 = k.ptr("p1", dtype(), byte() % 4 == 0 ? 1 + byte() % 8 : 16);
    n = byte() % 2 ? k.i32("n", 1u << (byte() % 6)) : k.i64("n");
    scalars.push_back(n);
    scalars.push_back(programId(int(byte() % 4)));
    tiles.push_back(arange(0, size()));
    ops(0);
    // Always one store, so that the program does something.
    if (!tiles.empty()) {
      Tile t = pickTile();
      if (t.isPointer())
        store(t, load(t));
      else
        store(p0 + arange(0, t.shape().empty() ? 1 : t.dim(0)), t);
    }
    // A handle of this trace, for the next trace in this child to misuse.
    staleTile() = pickTile();
  }

private:
  uint8_t byte() { return pos < bytes.size() ? bytes[pos++] : 0; }
  bool more() const { return pos < bytes.size(); }
  DType dtype() {
    static const DType all[] = {f16, bf16, f32, i32, i64, i1};
    return all[byte() % 6];
  }
  int64_t size() {
    static const int64_t all[] = {16, 32, 64, 128, 1, 2, 4, 8, 3, 0, -1, 48, 256, 4096};
    return all[byte() % 14];
  }
  std::vector<int64_t> shape() {
    if (byte() % 2)
      return {size()};
    return {size(), size()};
  }
  Tile pickTile() { return tiles[byte() % tiles.size()]; }
  Scalar pickScalar() { return scalars[byte() % scalars.size()]; }
  static std::optional<Tile> &staleTile() {
    static std::optional<Tile> t;
    return t;
  }

  void ops(int depth) {
    unsigned count = 1 + byte() % 12;
    for (unsigned i = 0; i < count && more(); ++i)
      op(depth);
  }

  void op(int depth) {
    switch (byte() % 23) {
    case 0: tiles.push_back(arange(int64_t(byte() % 3) - 1, size())); break;
    case 1: tiles.push_back(zeros(shape(), dtype())); break;
    case 2: tiles.push_back(full(shape(), Num(double(int(byte()) - 128) / 4), dtype())); break;
    case 3: {
      Tile a = pickTile(), b = pickTile();
      switch (byte() % 8) {
      case 0: tiles.push_back(a + b); break;
      case 1: tiles.push_back(a - b); break;
      case 2: tiles.push_back(a * b); break;
      case 3: tiles.push_back(a / b); break;
      case 4: tiles.push_back(a % b); break;
      case 5: tiles.push_back(a < b); break;
      case 6: tiles.push_back(a & b); break;
      default: tiles.push_back(a == b); break;
      }
      break;
    }
    case 4: tiles.push_back(pickTile() * Num(int(byte()) - 100)); break;
    case 5: { // a load from pointer plus offsets, masked or not
      Tile offs = pickTile();
      Tile ptrs = (byte() % 2 ? p0 : p1) + offs;
      if (byte() % 2)
        tiles.push_back(load(ptrs, offs < pickScalar(), Num(0)));
      else
        tiles.push_back(load(ptrs));
      break;
    }
    case 6: {
      Tile offs = pickTile();
      if (byte() % 2)
        store(p0 + offs, pickTile(), offs < pickScalar());
      else
        store(p1 + offs, pickTile());
      break;
    }
    case 7:
      if (byte() % 2)
        tiles.push_back(dot(pickTile(), pickTile()));
      else
        tiles.push_back(dot(pickTile(), pickTile(), pickTile()));
      break;
    case 8: {
      Tile t = pickTile();
      int axis = int(byte() % 3) - (byte() % 4 == 0 ? 1 : 0);
      switch (byte() % 4) {
      case 0: tiles.push_back(sum(t, axis)); break;
      case 1: tiles.push_back(max(t, axis)); break;
      case 2: tiles.push_back(min(t, axis)); break;
      default: scalars.push_back(sum(t)); break;
      }
      break;
    }
    case 9: tiles.push_back(where(pickTile(), pickTile(), pickTile())); break;
    case 10: tiles.push_back(expandDims(pickTile(), int(byte() % 4) - 1)); break;
    case 11: tiles.push_back(trans(pickTile())); break;
    case 12: tiles.push_back(reshape(pickTile(), shape())); break;
    case 13: tiles.push_back(broadcastTo(pickTile(), shape())); break;
    case 14: tiles.push_back(byte() % 2 ? pickTile().col() : pickTile().row()); break;
    case 15: tiles.push_back(pickTile().to(dtype())); break;
    case 16: {
      Tile t = pickTile();
      switch (byte() % 5) {
      case 0: tiles.push_back(exp2(t)); break;
      case 1: tiles.push_back(log(t)); break;
      case 2: tiles.push_back(sqrt(t)); break;
      case 3: tiles.push_back(abs(t)); break;
      default: tiles.push_back(maximum(t, pickTile())); break;
      }
      break;
    }
    case 17: { // a loop carrying one tile (or, misused, none)
      if (depth > 2)
        break;
      Tile acc = pickTile();
      bool carry = byte() % 4 != 0;
      int64_t lo = int64_t(byte() % 3) - 1, hi = int64_t(byte() % 5), step = int64_t(byte() % 3);
      auto body = [&](Scalar i) {
        scalars.push_back(i);
        ops(depth + 1);
        acc = acc + pickTile();
      };
      if (byte() % 2)
        forRange(lo, hi, step == 0 ? 1 : step, {}, body);
      else if (carry)
        forRange(lo, byte() % 2 ? IntArg(n) : IntArg(hi), step, {acc}, body);
      else
        forRange(lo, hi, step, {}, body);
      tiles.push_back(acc);
      break;
    }
    case 18: { // a branch
      if (depth > 2)
        break;
      Tile v = pickTile();
      Scalar c = pickScalar() < pickScalar();
      if (byte() % 2)
        ifThen(c, {v}, [&] {
          ops(depth + 1);
          v = pickTile();
        });
      else
        ifThenElse(
            c, {v}, [&] { v = v + pickTile(); }, [&] { ops(depth + 1); });
      tiles.push_back(v);
      break;
    }
    case 19: {
      Scalar a = pickScalar(), b = pickScalar();
      switch (byte() % 4) {
      case 0: scalars.push_back(a + b); break;
      case 1: scalars.push_back(a * b); break;
      case 2: scalars.push_back(load(byte() % 2 ? p0 + a : p1)); break;
      default: scalars.push_back(a.to(dtype())); break;
      }
      break;
    }
    case 20: tiles.push_back(splat(pickScalar(), shape())); break;
    case 21: // a handle from the previous trace in this process
      if (staleTile())
        tiles.push_back(*staleTile() + pickTile());
      break;
    case 22: { // d y / d x of two tiles, related or not
      Tile y = pickTile();
      tiles.push_back(derivative(y, pickTile()));
      break;
    }
    }
  }

  const std::vector<uint8_t> &bytes;
  size_t pos = 0;
  Ptr p0, p1;
  Scalar n;
  std::vector<Tile> tiles;
  std::vector<Scalar> scalars;
};

std::vector<uint8_t> fromHex(const std::string &hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::unique_ptr<mlir::MLIRContext> newContext() {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  return std::make_unique<mlir::MLIRContext>(registry, mlir::MLIRContext::Threading::DISABLED);
}

bool runDsl(const std::string &input) {
  auto spec = parseSpec(input);
  CompileOptions opts;
  opts.target = specStr(spec, "target", "sm_90a");
  auto ctx = newContext();
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (spec.count("kernel")) {
    const KernelDef &def = kernels::findKernel(spec["kernel"]);
    module = traceKernel(*ctx, def, Params::parse(specStr(spec, "params")));
  } else {
    std::vector<uint8_t> bytes = fromHex(specStr(spec, "program"));
    Program prog(bytes);
    module = trace(*ctx, "fuzz", unsigned(specInt(spec, "warps", 4)),
                   [&](Kernel &k) { prog.body(k); });
  }
  compileToPTX(*module, opts);
  return true;
}

/// Target::allowance: a tensor-core kernel (matmul, attention) on one warp
/// holds a whole block's tiles per thread and becomes one block of straight-
/// line code (matmul 128x64 with BLOCK_K 64: a 750 KB PTX kernel with 1408
/// masked loads; attention d=256 forward: 1.1 MB).  LLVM's straight-line
/// strength reduction and GVN are superlinear in a block's size, so these
/// compile in 10 s (that matmul) to 70-85 s (the d=256 attention forward)
/// on this project's 2-core machines: slow, not hung, and valid, so they
/// are fuzzed with ten times the time instead of being skipped (they were
/// on the skip list until 2026-12-04).
unsigned dslAllowance(const std::string &input) {
  auto spec = parseSpec(input);
  std::string kernel = specStr(spec, "kernel");
  if (kernel != "matmul" && kernel.rfind("attention", 0) != 0)
    return 1;
  try {
    if (Params::parse(specStr(spec, "params")).over(kernels::findKernel(kernel).defaults).s(
            "num_warps") == "1")
      return 10;
  } catch (const Error &) {
  }
  return 1;
}

} // namespace

Target dslTarget() {
  Target t;
  t.name = "dsl";
  t.summary = "library kernels with random parameters, and random DSL programs, to PTX";
  t.generate = [](Rng &rng) {
    std::string target = rng.chance(50) ? "sm_80" : "sm_90a";
    if (rng.chance(50))
      return generateParams(rng) + "\ntarget=" + target;
    static const char *hex = "0123456789abcdef";
    std::string program;
    size_t n = 8 + rng.below(120);
    for (size_t i = 0; i < n; ++i) {
      uint8_t b = uint8_t(rng.next());
      program += hex[b >> 4];
      program += hex[b & 15];
    }
    unsigned warps = unsigned(rng.pick(std::vector<int>{1, 2, 4, 4, 4, 8, 0, 3, 64}));
    return "program=" + program + "\nwarps=" + std::to_string(warps) + "\ntarget=" + target;
  };
  t.run = runDsl;
  t.allowance = dslAllowance;
  return t;
}

namespace {
/// A random expression of scoremods::expression's language, mostly well
/// formed (a small grammar), then now and then damaged by a few edits.
std::string randomExpression(Rng &rng, int depth = 0) {
  static const std::vector<std::string> leaves{"s",   "q", "k", "h",  "b", "2",
                                               "0.5", "1e3", "s", "sq", "sk"};
  static const std::vector<std::string> ops{"+", "-", "*", "/", "<", ">=", "==", "&&", "||"};
  static const std::vector<std::string> fns{"tanh", "exp", "sqrt", "abs", "sigmoid", "log2",
                                            "floor", "max", "pow", "where", "nope"};
  if (depth > 3 || rng.chance(30))
    return rng.pick(leaves);
  switch (rng.below(4)) {
  case 0:
    return randomExpression(rng, depth + 1) + " " + rng.pick(ops) + " " +
           randomExpression(rng, depth + 1);
  case 1: return (rng.chance(50) ? "-" : "!") + randomExpression(rng, depth + 1);
  case 2: return "(" + randomExpression(rng, depth + 1) + ")";
  default: {
    std::string f = rng.pick(fns), args = randomExpression(rng, depth + 1);
    for (uint64_t n = rng.below(3); n > 0; --n)
      args += ", " + randomExpression(rng, depth + 1);
    return f + "(" + args + ")";
  }
  }
}

/// Parses the text as a score modifier (or, kind=mask, a mask); if it is
/// accepted, traces the forward and the dQ kernels with it (the backward
/// derives its derivative; a mask: the block-mask kernel) and compiles
/// them but the dQ: a text the checker accepts must never fail later.
bool runScoreExpr(const std::string &input) {
  auto spec = parseSpec(input);
  std::string text = spec["text"];
  bool mask = specStr(spec, "kind", "score") == "mask";
  // A refusal here is a tessera::Error.
  std::string name;
  if (mask) {
    kernels::MaskMod mod = kernels::maskmods::expression(text);
    kernels::registerMaskMod(mod);
    name = mod.name;
  } else {
    kernels::ScoreMod mod = kernels::scoremods::expression(text);
    kernels::registerScoreMod(mod);
    name = mod.name;
  }
  std::string param = (mask ? "MASK_MOD=" : "SCORE_MOD=") + name;
  try {
    auto ctx = newContext();
    for (const char *kernel :
         {"attention_fwd", mask ? "attention_block_mask" : "attention_bwd_dq"}) {
      Params p = Params::parse(std::string(kernel) == "attention_block_mask"
                                   ? param
                                   : "HEAD_DIM=64,BLOCK_M=64,BLOCK_N=64," + param);
      auto module = traceKernel(*ctx, kernels::findKernel(kernel), p);
      if (std::string(kernel) != "attention_bwd_dq")
        compileToPTX(*module, CompileOptions{});
    }
  } catch (const Error &e) {
    throw Finding("expression accepted, then refused: " + std::string(e.what()));
  }
  return true;
}
} // namespace

Target scoreExprTarget() {
  Target t;
  t.name = "score_expr";
  t.summary = "score and mask modifiers as text (the C API's \"expr:\"): parsed, traced, compiled";
  t.generate = [](Rng &rng) {
    std::string text = randomExpression(rng);
    for (uint64_t edits = rng.chance(30) ? 1 + rng.below(3) : 0; edits > 0; --edits) {
      size_t at = text.empty() ? 0 : rng.below(text.size());
      static const std::string junk = "()+-*/<>=!&|,.0123456789eqksx $";
      if (rng.chance(50) && !text.empty())
        text.erase(at, 1);
      else
        text.insert(at, 1, junk[rng.below(junk.size())]);
    }
    // One line: the spec's lines are key=value.
    for (char &c : text)
      if (c == '\n')
        c = ' ';
    // A quarter of the texts go in as masks (a condition; no s).
    return std::string(rng.chance(25) ? "kind=mask\n" : "") + "text=" + text;
  };
  t.run = runScoreExpr;
  return t;
}

} // namespace tessera::fuzz
