//===- tessera-kernels.cpp - compile the kernel library and report on it --===//
//
//   tessera-kernels [--target sm_90a]... [--kernel NAME]... [-D KEY=VALUE]...
//                   [--out DIR] [--json FILE] [--repeat N] [--list]
//
// Traces each library kernel from its DSL source, compiles it to PTX for each
// target and prints, per kernel and target: the time from DSL to PTX (median
// of --repeat runs), the PTX size and, where ptxas exists, the registers,
// shared memory and spills that `ptxas -v` reports (and whether it
// assembled).  Exits non-zero if any kernel fails to compile or assemble.
//
//===----------------------------------------------------------------------===//
#include "tessera/Compile.h"
#include "tessera/Pipeline.h"
#include "tessera/Target/PTXEmitter.h"
#include "tessera/Target/Ptxas.h"
#include "tessera/kernels/Library.h"

#include "mlir/IR/MLIRContext.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

using namespace tessera;

namespace {
struct Row {
  std::string kernel, target, params;
  unsigned dynamicShared = 0; ///< shared memory requested at launch
  double compileMs = 0;
  size_t ptxBytes = 0;
  bool assembled = false;
  PtxasReport ptxas;
  std::string error;
};

void usage() {
  std::cout << "usage: tessera-kernels [--target CHIP]... [--kernel NAME]... [-D KEY=VALUE]...\n"
               "                       [--out DIR] [--json FILE] [--repeat N] [--list] [--require-ptxas]\n"
               "Compiles Tessera's library kernels to PTX and reports on each.\n";
}

std::string jsonEscape(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\', o += c;
    else if (c == '\n')
      o += "\\n";
    else if (static_cast<unsigned char>(c) >= 0x20)
      o += c;
  }
  return o;
}
} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> targets, names;
  dsl::Params overrides;
  std::string outDir, jsonPath;
  int repeat = 1;
  bool requirePtxas = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "tessera-kernels: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--target")
      targets.push_back(next());
    else if (a == "--kernel")
      names.push_back(next());
    else if (a == "-D") {
      std::string kv = next();
      size_t eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "tessera-kernels: -D expects KEY=VALUE, got '" << kv << "'\n";
        return 2;
      }
      overrides.set(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "--out")
      outDir = next();
    else if (a == "--json")
      jsonPath = next();
    else if (a == "--require-ptxas")
      requirePtxas = true;
    else if (a == "--repeat")
      repeat = std::max(1, std::atoi(next().c_str()));
    else if (a == "--list") {
      for (const auto &d : kernels::library())
        std::cout << d.name << "  (" << d.defaults.str() << ")  " << d.summary << "\n";
      return 0;
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::cerr << "tessera-kernels: unknown argument '" << a << "'\n";
      usage();
      return 2;
    }
  }
  if (targets.empty())
    targets = {"sm_80", "sm_90a"};
  std::vector<const dsl::KernelDef *> defs;
  try {
    if (names.empty())
      for (const auto &d : kernels::library())
        defs.push_back(&d);
    for (const auto &n : names)
      defs.push_back(&kernels::findKernel(n));
    for (const auto &t : targets)
      validateTarget(t);
  } catch (const Error &e) {
    std::cerr << "tessera-kernels: " << e.what() << "\n";
    return 2;
  }
  std::optional<std::string> ptxas = findPtxas();
  if (!ptxas && requirePtxas) {
    std::cout << "ptxas not found: cannot check that the PTX assembles (skipped)\n";
    return 77;
  }
  if (!ptxas)
    std::cout << "note: ptxas not found; registers/shared memory are not reported\n";
  if (!outDir.empty())
    std::filesystem::create_directories(outDir);

  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  std::vector<Row> rows;
  bool ok = true;
  for (const auto *def : defs)
    for (const auto &target : targets) {
      Row row{def->name, target, dsl::Params(overrides).over(def->defaults).str()};
      std::vector<double> times;
      CompiledKernel ck;
      try {
        dsl::Params mine;
        for (auto &[k, v] : overrides.items())
          if (def->defaults.has(k))
            mine.set(k, v);
        for (int r = 0; r < repeat; ++r) {
          mlir::MLIRContext ctx(registry);
          auto t0 = std::chrono::steady_clock::now();
          auto module = dsl::traceKernel(ctx, *def, mine);
          CompileOptions opts = CompileOptions::fromEnvironment();
          opts.target = target;
          ck = compileToPTX(*module, opts);
          times.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count());
        }
        std::sort(times.begin(), times.end());
        row.compileMs = times[times.size() / 2];
        row.ptxBytes = ck.ptx.size();
        row.dynamicShared = ck.info.dynamicSharedBytes;
        if (!outDir.empty()) {
          std::ofstream(outDir + "/" + def->name + "." + target + ".ptx") << ck.ptx;
        }
        if (ptxas) {
          std::string cubin = outDir.empty() ? "" : outDir + "/" + def->name + "." + target + ".cubin";
          row.ptxas = runPtxas(*ptxas, ck.ptx, target, cubin);
          row.assembled = row.ptxas.exitCode == 0;
          if (!row.assembled) {
            row.error = "ptxas failed:\n" + row.ptxas.log;
            ok = false;
          }
        }
      } catch (const Error &e) {
        row.error = e.what();
        ok = false;
      }
      rows.push_back(row);
    }

  std::printf("%-14s %-7s %11s %10s %6s %10s %8s  %s\n", "kernel", "target", "DSL->PTX ms",
              "PTX bytes", "regs", "smem bytes", "spills", "ptxas");
  for (const Row &r : rows) {
    if (!r.error.empty() && r.ptxBytes == 0) {
      std::printf("%-14s %-7s  FAILED: %s\n", r.kernel.c_str(), r.target.c_str(), r.error.c_str());
      continue;
    }
    std::string status = !ptxas ? "not run" : r.assembled ? "ok" : "FAILED";
    std::printf("%-14s %-7s %11.1f %10zu %6d %10d %8d  %s\n", r.kernel.c_str(), r.target.c_str(),
                r.compileMs, r.ptxBytes, r.ptxas.registers, r.ptxas.sharedBytes + r.dynamicShared,
                r.ptxas.spillStoreBytes + r.ptxas.spillLoadBytes, status.c_str());
    if (!r.error.empty())
      std::printf("    %s\n", r.error.c_str());
  }
  if (!jsonPath.empty()) {
    std::ofstream js(jsonPath);
    js << "[\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row &r = rows[i];
      js << "  {\"kernel\": \"" << r.kernel << "\", \"target\": \"" << r.target
         << "\", \"params\": \"" << jsonEscape(r.params) << "\", \"compile_ms\": " << r.compileMs
         << ", \"ptx_bytes\": " << r.ptxBytes << ", \"registers\": " << r.ptxas.registers
         << ", \"smem_bytes\": " << r.ptxas.sharedBytes + r.dynamicShared
         << ", \"spill_bytes\": " << (r.ptxas.spillStoreBytes + r.ptxas.spillLoadBytes)
         << ", \"wgmma_fixups\": " << r.ptxas.wgmmaFixups << ", \"assembled\": " << (r.assembled ? "true" : "false") << ", \"error\": \""
         << jsonEscape(r.error) << "\"}" << (i + 1 < rows.size() ? "," : "") << "\n";
    }
    js << "]\n";
  }
  return ok ? 0 : 1;
}
