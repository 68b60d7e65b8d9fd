//===- OptTarget.cpp - mutated lit inputs through tessera-opt's passes ----===//
//
// Input: `pipeline=<pass pipeline>` or `pipeline=compile`, `target=<chip>`,
// a blank line, then MLIR text: one `// -----` chunk of a lit input with a
// few textual mutations.  The pipeline runs in-process with the passes
// tessera-opt registers; `compile` is the JIT's whole path (compileToPTX:
// every pass, then LLVM's NVPTX back end).  Every output of a pass pipeline
// that succeeds must parse and verify again (issue 19: the output of every
// pass is valid input to tessera-opt).
//
//===----------------------------------------------------------------------===//
#include "Fuzz.h"

#include "tessera/Compile.h"
#include "tessera/Pipeline.h"
#include "tessera/Support/Error.h"
#include "tessera/Support/ParseGuard.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <filesystem>
#include <fstream>
#include <regex>

namespace fs = std::filesystem;

namespace tessera::fuzz {
namespace {

std::vector<std::string> litChunks(const std::string &dir) {
  std::vector<fs::path> files;
  for (auto &e : fs::recursive_directory_iterator(dir))
    if (e.path().extension() == ".mlir")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::string> chunks;
  for (auto &f : files) {
    std::ifstream in(f);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t pos = 0;
    for (;;) {
      size_t sep = text.find("// -----", pos);
      std::string chunk = text.substr(pos, sep == std::string::npos ? std::string::npos : sep - pos);
      if (chunk.find("func.func") != std::string::npos || chunk.find("tile.") != std::string::npos)
        chunks.push_back(chunk);
      if (sep == std::string::npos)
        break;
      pos = text.find('\n', sep);
      if (pos == std::string::npos)
        break;
    }
  }
  return chunks;
}

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos)
      break;
    pos = nl + 1;
  }
  return out;
}

std::string join(const std::vector<std::string> &ls) {
  std::string s;
  for (auto &l : ls)
    s += l + "\n";
  return s;
}

/// Replaces one match of `re` (chosen at random) by `fn(match)`.
template <class F> bool replaceOne(std::string &text, const std::regex &re, Rng &rng, F &&fn) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it)
    spans.push_back({size_t(it->position()), size_t(it->length())});
  if (spans.empty())
    return false;
  auto [at, len] = rng.pick(spans);
  text.replace(at, len, fn(text.substr(at, len)));
  return true;
}

const std::vector<std::string> kInts = {"0", "1", "-1", "2", "3", "17", "48", "64", "4096",
                                        "65536", "2147483647", "2147483648", "4294967296",
                                        "1099511627776", "9223372036854775807", "-2147483648"};
const std::vector<std::string> kDims = {"0", "1", "3", "17", "48", "65536", "1048576", "4096"};
const std::vector<std::string> kTypes = {"f16", "bf16", "f32", "f64", "i1", "i8", "i32", "i64"};

void mutate(std::string &text, Rng &rng) {
  static const std::regex intLit(R"(\b\d+\b)");
  static const std::regex shape(R"(\b\d+(x\d+)+x)");
  static const std::regex elem(R"(\b(f16|bf16|f32|i1|i32|i64)\b)");
  static const std::regex attrValue(R"(\b[a-z_]+ = [^,}\s]+)");
  static const std::regex ssa(R"(%[A-Za-z0-9_#]+)");
  auto ls = lines(text);
  switch (rng.below(10)) {
  case 0: // drop a line
    if (!ls.empty())
      ls.erase(ls.begin() + long(rng.below(ls.size())));
    text = join(ls);
    break;
  case 1: // duplicate a line
    if (!ls.empty()) {
      size_t i = rng.below(ls.size());
      ls.insert(ls.begin() + long(i), ls[i]);
    }
    text = join(ls);
    break;
  case 2: // swap two lines
    if (ls.size() > 1)
      std::swap(ls[rng.below(ls.size())], ls[rng.below(ls.size())]);
    text = join(ls);
    break;
  case 3:
  case 4: // an integer literal to an edge value
    replaceOne(text, intLit, rng, [&](const std::string &) { return rng.pick(kInts); });
    break;
  case 5: // one dimension of a shape
    replaceOne(text, shape, rng, [&](const std::string &s) {
      std::vector<std::string> dims;
      size_t pos = 0;
      while (pos < s.size()) {
        size_t x = s.find('x', pos);
        dims.push_back(s.substr(pos, x - pos));
        pos = x + 1;
      }
      dims[rng.below(dims.size())] = rng.pick(kDims);
      std::string out;
      for (auto &d : dims)
        out += d + "x";
      return out;
    });
    break;
  case 6: // an element type
    replaceOne(text, elem, rng, [&](const std::string &) { return rng.pick(kTypes); });
    break;
  case 7: { // an attribute's value from another attribute
    std::vector<std::string> values;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), attrValue);
         it != std::sregex_iterator(); ++it)
      values.push_back(it->str().substr(it->str().find(" = ") + 3));
    if (!values.empty())
      replaceOne(text, attrValue, rng, [&](const std::string &s) {
        return s.substr(0, s.find(" = ") + 3) + rng.pick(values);
      });
    break;
  }
  case 8: { // an operand: drop one, or use another value in its place
    std::vector<std::string> names;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), ssa); it != std::sregex_iterator();
         ++it)
      names.push_back(it->str());
    if (names.empty())
      break;
    bool drop = rng.chance(50);
    std::regex use(R"(, %[A-Za-z0-9_#]+|%[A-Za-z0-9_#]+, )");
    if (drop)
      replaceOne(text, use, rng, [](const std::string &) { return std::string(); });
    else
      replaceOne(text, ssa, rng, [&](const std::string &) { return rng.pick(names); });
    break;
  }
  case 9: // truncate
    text = text.substr(0, rng.below(text.size() + 1));
    break;
  }
}

std::string passPipeline(Rng &rng, std::string &target) {
  static const std::vector<std::string> stages = {
      "tile-assign-layouts", "tile-promote-shared", "tile-pipeline", "tile-warp-specialize",
      "convert-tile-to-nvvm"};
  auto withOptions = [&](const std::string &pass) {
    std::string opts;
    if (pass != "tile-assign-layouts")
      opts = "target=" + target;
    if (pass == "tile-pipeline")
      opts += " num-stages=" + rng.pick(std::vector<std::string>{"0", "1", "2", "3", "4", "16"});
    if ((pass == "tile-promote-shared" || pass == "convert-tile-to-nvvm") && rng.chance(20))
      opts += " max-shared-bytes=" + rng.pick(std::vector<std::string>{"1", "1024", "12000"});
    return opts.empty() ? pass : pass + "{" + opts + "}";
  };
  switch (rng.below(3)) {
  case 0: // one pass alone
    return "builtin.module(" + withOptions(rng.pick(stages)) + ")";
  case 1: { // the pipeline's passes up to one
    std::string p = "builtin.module(";
    size_t n = 1 + rng.below(stages.size());
    for (size_t i = 0; i < n; ++i)
      p += (i ? "," : "") + withOptions(stages[i]);
    return p + ")";
  }
  default:
    return "compile";
  }
}

std::unique_ptr<mlir::MLIRContext> newContext() {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  // No thread pool: the child is forked, and one context per case is cheap.
  auto ctx = std::make_unique<mlir::MLIRContext>(registry, mlir::MLIRContext::Threading::DISABLED);
  ctx->allowUnregisteredDialects(false);
  return ctx;
}

bool runOpt(const std::string &input) {
  auto spec = parseSpec(input);
  std::string pipeline = specStr(spec, "pipeline"), target = specStr(spec, "target", "sm_90a");
  auto ctx = newContext();
  std::string diags;
  mlir::ScopedDiagnosticHandler handler(ctx.get(), [&](mlir::Diagnostic &d) {
    diags += d.str() + "\n";
    return mlir::success();
  });
  // What tessera-opt refuses before parsing (MLIR's parser would abort).
  if (checkParserInput(spec["body"]))
    return false;
  mlir::ParserConfig config(ctx.get());
  auto module = mlir::parseSourceString<mlir::ModuleOp>(spec["body"], config);
  if (!module || failed(mlir::verify(*module)))
    return false;
  if (pipeline == "compile") {
    CompileOptions opts;
    opts.target = target;
    compileToPTX(*module, opts); // throws tessera::Error when refused
    return true;
  }
  mlir::PassManager pm(ctx.get());
  std::string err;
  llvm::raw_string_ostream es(err);
  if (failed(mlir::parsePassPipeline(pipeline, pm, es)))
    throw Finding("the fuzzer's pipeline does not parse: " + pipeline + ": " + err);
  if (failed(pm.run(*module))) {
    if (diags.empty())
      throw Finding("a pass failed without a diagnostic");
    return false;
  }
  // The output is valid input to tessera-opt again.
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  auto ctx2 = newContext();
  std::string diags2;
  mlir::ScopedDiagnosticHandler handler2(ctx2.get(), [&](mlir::Diagnostic &d) {
    diags2 += d.str() + "\n";
    return mlir::success();
  });
  mlir::ParserConfig config2(ctx2.get());
  auto again = mlir::parseSourceString<mlir::ModuleOp>(printed, config2);
  if (!again || failed(mlir::verify(*again)))
    throw Finding("the output of " + pipeline + " does not parse back: " + diags2);
  return true;
}

} // namespace

Target optTarget(const std::string &litDir) {
  auto chunks = std::make_shared<std::vector<std::string>>(litChunks(litDir));
  Target t;
  t.name = "opt";
  t.summary = "mutated lit inputs through each pass, pass prefixes, and compileToPTX";
  t.generate = [chunks](Rng &rng) {
    std::string target = rng.chance(50) ? "sm_80" : "sm_90a";
    std::string pipeline = passPipeline(rng, target);
    std::string text = chunks->empty() ? "" : rng.pick(*chunks);
    // One in ten unchanged: valid inputs must pass every pass alone too.
    unsigned n = rng.chance(10) ? 0 : 1 + unsigned(rng.below(3));
    for (unsigned i = 0; i < n; ++i)
      mutate(text, rng);
    return "pipeline=" + pipeline + "\ntarget=" + target + "\n\n" + text;
  };
  t.run = runOpt;
  return t;
}

} // namespace tessera::fuzz
