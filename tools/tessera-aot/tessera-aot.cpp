//===- tessera-aot.cpp - compile kernels ahead of time into C++ sources ---===//
//
//   tessera-aot --name LIB --out DIR [--target sm_90a]... [--cubin]
//               [--tuned FILE.tune]... [--plugin LIB.so]... KERNEL[:KEY=VALUE,...]...
//
// Compiles each library kernel specialization for each target and writes
// DIR/LIB.h and DIR/LIB.cpp: the PTX (and, with --cubin, the cubin) embedded
// as byte arrays, one typed launch function per specialization that checks
// its arguments and picks the image for the device it runs on, and
// DIR/LIB.manifest.json recording what went in.  --tuned adds the winning
// config of an autotune result file (written by jit::Autotuner) as one more
// specialization.  Specializations of one kernel with one signature also get
// a dispatcher, named after the kernel, that launches the first of them
// (in command-line order) whose promises (alignment, multipleOf) the
// arguments keep.  The generated code needs
// only Tessera's runtime (driver by dlopen; no LLVM or MLIR).  Identical
// inputs give identical bytes.  On any error nothing is written and the exit
// status is 1 (2 for a malformed command line).
//
//===----------------------------------------------------------------------===//
#include "tessera/Compile.h"
#include "tessera/Pipeline.h"
#include "tessera/Target/PTXEmitter.h"
#include "tessera/Support/Sha256.h"
#include "tessera/Target/Ptxas.h"
#include "tessera/kernels/Library.h"

#include "mlir/IR/MLIRContext.h"

#include <algorithm>
#include <cstdio>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

using namespace tessera;
namespace fs = std::filesystem;

namespace {
struct Spec {
  const dsl::KernelDef *def;
  dsl::Params params;
  std::string symbol; ///< C++ name of the launch function
};

struct Image {
  std::string target;
  bool cubin;
  std::string bytes;
  KernelInfo info; ///< of this target's compile (shared memory, tensor maps differ)
};

/// A valid C++ identifier from a kernel name and a specialization index.
std::string symbolFor(const std::string &name, size_t index, size_t sameName) {
  return sameName > 1 ? name + "_" + std::to_string(index) : name;
}

std::string cType(const std::string &type) {
  if (type.rfind("ptr<", 0) == 0)
    return "tessera::rt::Arg";
  if (type == "i32")
    return "int32_t";
  if (type == "i64")
    return "int64_t";
  if (type == "f32")
    return "float";
  throw Error("tessera-aot: parameter type " + type + " has no C++ launcher type");
}

void bytesAsArray(std::ostream &os, const std::string &name, const std::string &bytes, bool nul) {
  os << "alignas(16) const unsigned char " << name << "[] = {";
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i % 24 == 0)
      os << "\n  ";
    os << unsigned(static_cast<unsigned char>(bytes[i])) << ",";
  }
  if (nul)
    os << "0";
  os << "\n};\n";
}

std::string jsonString(const std::string &s) {
  std::string o = "\"";
  for (char c : s)
    o += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return o + "\"";
}

/// Whether `s` can name the generated namespace and files: a C++
/// identifier that is not a keyword.
bool isCppIdentifier(const std::string &s) {
  static const std::set<std::string> keywords = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
      "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
      "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
      "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
      "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
      "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
      "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
      "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
      "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
      "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq"};
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) || keywords.count(s))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

int usage(const std::string &why) {
  std::cerr << "tessera-aot: " << why << "\n"
            << "usage: tessera-aot --name LIB --out DIR [--target sm_90a]... [--cubin] "
               "[--tuned FILE.tune]... [--plugin LIB.so]... KERNEL[:KEY=VALUE,...]...\n";
  return 2;
}
} // namespace

int main(int argc, char **argv) {
  std::string name, outDir;
  std::vector<std::string> targets, specTexts;
  bool wantCubin = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--name")
      name = value();
    else if (a == "--out")
      outDir = value();
    else if (a == "--target")
      targets.push_back(value());
    else if (a == "--cubin")
      wantCubin = true;
    else if (a == "--plugin") {
      // A user's shared library of DSL kernels, registered by name as it
      // loads (TESSERA_REGISTER_KERNEL); its DSL calls bind to this program.
      std::string file = value();
      std::vector<std::string> before = dsl::registeredKernelNames();
      if (!dlopen(file.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
        std::cerr << "tessera-aot: cannot load kernel plugin '" << file << "': " << dlerror()
                  << "\n";
        return 1;
      }
      // What the plugin registered: something, and nothing named like a
      // library kernel (a request for that name would be ambiguous).
      std::vector<std::string> added;
      for (const std::string &n : dsl::registeredKernelNames())
        if (std::find(before.begin(), before.end(), n) == before.end())
          added.push_back(n);
      if (added.empty()) {
        std::cerr << "tessera-aot: kernel plugin '" << file << "' registers no kernel (register "
                  << "each with TESSERA_REGISTER_KERNEL, and link the plugin so its static "
                  << "initializers run)\n";
        return 1;
      }
      for (const std::string &n : added)
        for (const dsl::KernelDef &d : kernels::library())
          if (d.name == n) {
            std::cerr << "tessera-aot: kernel plugin '" << file << "' registers a kernel named '"
                      << n << "', like the library kernel; rename it\n";
            return 1;
          }
    }
    else if (a == "--tuned") {
      std::string file = value();
      std::ifstream in(file);
      std::string line, kernel, best;
      while (std::getline(in, line)) {
        if (line.rfind("best ", 0) == 0)
          best = line.substr(5, line.find(' ', 5) - 5);
        if (line.rfind("kernel ", 0) == 0)
          kernel = line.substr(7);
      }
      if (kernel.empty() || best.empty()) {
        std::cerr << "tessera-aot: '" << file << "' is not an autotune result (no 'kernel' and "
                  << "'best' lines)\n";
        return 1;
      }
      specTexts.push_back(kernel + ":" + best);
    }
    else if (!a.empty() && a[0] == '-')
      return usage("unknown option '" + a + "'");
    else
      specTexts.push_back(a);
  }
  if (name.empty() || outDir.empty() || specTexts.empty())
    return usage("--name, --out and at least one kernel are required");
  if (!isCppIdentifier(name))
    return usage("--name must be a C++ identifier (not a keyword), got '" + name + "'");
  if (targets.empty())
    targets = {"sm_80", "sm_90a"};

  fs::path tmp;
  try {
    for (const auto &t : targets)
      validateTarget(t);
    std::optional<std::string> ptxas = findPtxas();
    if (wantCubin && !ptxas)
      throw Error("--cubin needs ptxas (TESSERA_PTXAS, /usr/local/cuda/bin/ptxas or PATH); none found");

    // Parse every specialization before compiling anything.
    std::vector<Spec> specs;
    std::map<std::string, size_t> perName;
    for (const auto &text : specTexts) {
      size_t colon = text.find(':');
      const dsl::KernelDef &def = kernels::findKernel(text.substr(0, colon));
      dsl::Params p = colon == std::string::npos ? dsl::Params{} : dsl::Params::parse(text.substr(colon + 1));
      specs.push_back({&def, p, ""});
      ++perName[def.name];
    }
    std::map<std::string, size_t> seen;
    for (auto &s : specs)
      s.symbol = symbolFor(s.def->name, seen[s.def->name]++, perName[s.def->name]);

    mlir::DialectRegistry registry;
    registerAllDialects(registry);
    std::ostringstream header, source, manifest;
    header << "// Generated by tessera-aot: do not edit.\n#pragma once\n\n"
              "#include \"tessera/rt/Runtime.h\"\n\n#include <cstdint>\n\nnamespace "
           << name << " {\n\n";
    source << "// Generated by tessera-aot: do not edit.\n#include \"" << name
           << ".h\"\n\n#include <iterator>\n#include <mutex>\n\nnamespace {\n\n";
    manifest << "{\n  \"name\": " << jsonString(name) << ",\n  \"tessera\": "
             << jsonString(TESSERA_VERSION) << ",\n  \"llvm\": " << jsonString(TESSERA_LLVM_VERSION)
             << ",\n  \"targets\": [";
    for (size_t i = 0; i < targets.size(); ++i)
      manifest << (i ? ", " : "") << jsonString(targets[i]);
    manifest << "],\n  \"kernels\": [\n";

    std::ostringstream defs; // the launch functions, after the anonymous namespace
    // Per kernel name: the specializations' symbols and their C++ signature.
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> byName;
    std::map<std::string, std::string> argListOf;
    for (size_t si = 0; si < specs.size(); ++si) {
      const Spec &s = specs[si];
      dsl::Params full = s.params.over(s.def->defaults);
      std::vector<Image> images;
      KernelInfo info;
      for (const auto &target : targets) {
        mlir::MLIRContext ctx(registry, mlir::MLIRContext::Threading::DISABLED);
        auto module = dsl::traceKernel(ctx, *s.def, s.params);
        CompileOptions opts = CompileOptions::fromEnvironment();
        opts.target = target;
        CompiledKernel ck = compileToPTX(*module, opts);
        info = ck.info;
        images.push_back({target, false, ck.ptx, ck.info});
        if (wantCubin) {
          char t[] = "/tmp/tessera-aot-cubin-XXXXXX";
          int fd = mkstemp(t);
          if (fd < 0)
            throw Error("cannot create a temporary file");
          close(fd);
          PtxasReport rep = runPtxas(*ptxas, ck.ptx, target, t);
          std::ifstream in(t, std::ios::binary);
          std::string cubin((std::istreambuf_iterator<char>(in)), {});
          fs::remove(t);
          if (rep.exitCode != 0 || cubin.empty())
            throw Error("ptxas failed for " + s.def->name + " on " + target + ":\n" + rep.log);
          images.push_back({target, true, cubin, ck.info});
        }
      }
      // Embedded images and metadata.
      for (size_t ii = 0; ii < images.size(); ++ii)
        bytesAsArray(source, "k" + s.symbol + "Image" + std::to_string(ii), images[ii].bytes,
                     !images[ii].cubin);
      // Per image: the TMA tensor maps its launches build.
      for (size_t ii = 0; ii < images.size(); ++ii) {
        if (images[ii].info.tensorMaps.empty())
          continue;
        source << "const tessera::TensorMapSpec k" << s.symbol << "Maps" << ii << "[] = {\n";
        for (const auto &m : images[ii].info.tensorMaps)
        {
          auto list = [&](auto &arr, unsigned n) {
            source << "{";
            for (unsigned i = 0; i < n; ++i)
              source << (i ? ", " : "") << arr[i];
            source << "}";
          };
          source << "  {" << m.base << ", " << m.rank << ", ";
          list(m.dims, TensorMapSpec::kMaxRank);
          source << ", ";
          list(m.strides, TensorMapSpec::kMaxRank - 1);
          source << ", ";
          list(m.box, TensorMapSpec::kMaxRank);
          source << ", " << m.swizzle << "},\n";
        }
        source << "};\n";
      }
      source << "const tessera::rt::KernelImage k" << s.symbol << "Images[] = {\n";
      for (size_t ii = 0; ii < images.size(); ++ii) {
        const KernelInfo &ii_info = images[ii].info;
        source << "  {\"" << images[ii].target << "\", " << (images[ii].cubin ? "true" : "false")
               << ", k" << s.symbol << "Image" << ii << ", " << images[ii].bytes.size() << ", "
               << ii_info.dynamicSharedBytes << ", ";
        if (ii_info.tensorMaps.empty())
          source << "nullptr, 0, ";
        else
          source << "k" << s.symbol << "Maps" << ii << ", " << ii_info.tensorMaps.size() << ", ";
        source << ii_info.threadsPerBlock << "},\n";
      }
      source << "};\n\ntessera::KernelInfo " << s.symbol << "Info() {\n  return {\"" << info.name
             << "\", {";
      for (const auto &p : info.params)
        source << "{\"" << p.name << "\", \"" << p.type << "\", " << p.alignment << ", "
               << p.multipleOf << ", " << (p.unit ? "true" : "false") << "}, ";
      source << "}, " << info.threadsPerBlock << ", " << info.staticSharedBytes << ", "
             << info.dynamicSharedBytes << "};\n}\n\n";

      // The typed launch function.
      std::ostringstream params, args;
      for (const auto &p : info.params) {
        params << ", " << cType(p.type) << " " << p.name;
        args << (args.tellp() > 0 ? ", " : "") << p.name;
      }
      byName[s.def->name].push_back({s.symbol, params.str()});
      argListOf[s.def->name] = args.str();
      header << "/// " << s.def->name << " (" << full.str() << "): " << s.def->summary << ".\n";
      header << "void " << s.symbol << "(tessera::rt::Grid grid" << params.str()
             << ", CUstream stream = nullptr);\n";
      header << "/// The loaded kernel for the current device (loaded on first use).\n";
      header << "const tessera::rt::Kernel &" << s.symbol << "_kernel();\n\n";
      defs << "const tessera::rt::Kernel &" << name << "::" << s.symbol << "_kernel() {\n"
           << "  static std::once_flag once;\n  static std::shared_ptr<tessera::rt::Kernel> k;\n"
           << "  std::call_once(once, [] {\n    static tessera::rt::Device device = "
              "tessera::rt::openDevice();\n"
           << "    k = tessera::rt::loadKernelImage(k" << s.symbol << "Images, "
           << images.size() << ", " << s.symbol << "Info(), device);\n  });\n  return *k;\n}\n\n";
      defs << "void " << name << "::" << s.symbol << "(tessera::rt::Grid grid" << params.str()
           << ", CUstream stream) {\n  " << s.symbol << "_kernel().launch(grid, {" << args.str()
           << "}, stream);\n}\n\n";

      manifest << "    {\"symbol\": " << jsonString(s.symbol) << ", \"kernel\": "
               << jsonString(s.def->name) << ", \"params\": " << jsonString(full.str())
               << ", \"images\": [";
      for (size_t ii = 0; ii < images.size(); ++ii)
        manifest << (ii ? ", " : "") << "{\"target\": " << jsonString(images[ii].target)
                 << ", \"kind\": " << (images[ii].cubin ? "\"cubin\"" : "\"ptx\"")
                 << ", \"sha256\": " << jsonString(sha256Hex(images[ii].bytes)) << "}";
      manifest << "]}" << (si + 1 < specs.size() ? "," : "") << "\n";
    }
    // Dispatchers: the first specialization whose promises the arguments keep.
    for (const auto &[kernel, variants] : byName) {
      if (variants.size() < 2)
        continue;
      bool sameSignature = true;
      for (const auto &v : variants)
        sameSignature &= v.second == variants[0].second;
      if (!sameSignature)
        continue;
      header << "/// " << kernel << ": launches the first specialization above whose alignment "
             << "and multipleOf promises the arguments keep.\n";
      header << "void " << kernel << "(tessera::rt::Grid grid" << variants[0].second
             << ", CUstream stream = nullptr);\n\n";
      defs << "void " << name << "::" << kernel << "(tessera::rt::Grid grid" << variants[0].second
           << ", CUstream stream) {\n  const tessera::rt::Arg args[] = {" << argListOf[kernel]
           << "};\n";
      for (const auto &v : variants)
        defs << "  if (tessera::rt::argsFit(" << v.first << "_kernel().info(), args, "
             << "std::size(args)))\n    return " << v.first << "_kernel().launch(grid, args, "
             << "std::size(args), stream, 0);\n";
      defs << "  " << variants.back().first << "_kernel().launch(grid, args, std::size(args), "
           << "stream, 0); // reports why nothing fits\n}\n\n";
    }
    header << "} // namespace " << name << "\n";
    source << "} // namespace\n\n" << defs.str();
    manifest << "  ]\n}\n";

    // Write everything to a fresh folder beside the output, then move the
    // files into place: a failure leaves no partial output.
    fs::create_directories(outDir);
    tmp = fs::path(outDir) / (".tessera-aot-" + std::to_string(getpid()));
    fs::create_directories(tmp);
    std::ofstream(tmp / (name + ".h")) << header.str();
    std::ofstream(tmp / (name + ".cpp")) << source.str();
    std::ofstream(tmp / (name + ".manifest.json")) << manifest.str();
    for (const char *ext : {".h", ".cpp", ".manifest.json"})
      fs::rename(tmp / (name + ext), fs::path(outDir) / (name + ext));
    fs::remove_all(tmp);
  } catch (const std::exception &e) {
    if (!tmp.empty())
      fs::remove_all(tmp);
    std::cerr << "tessera-aot: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
