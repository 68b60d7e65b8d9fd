//===- PTXEmitter.cpp - LLVM IR to PTX through LLVM's NVPTX back end ------===//
#include "tessera/Target/PTXEmitter.h"
#include "tessera/Target/Target.h"
#include "../Diagnostics.h"

#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>
#include <set>

using namespace mlir;

namespace tessera {

static constexpr const char *kNVPTXTriple = "nvptx64-nvidia-cuda";

static void initNVPTX() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
}

static std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const CompileOptions &opts) {
  initNVPTX();
  llvm::Triple triple(kNVPTXTriple);
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target)
    throw Error("NVPTX back end unavailable: " + err);
  std::string features = "+ptx" + std::to_string(opts.ptxVersion);
  llvm::TargetOptions to;
  // Fast = fuse wherever a mul feeds an add; Standard (the default) leaves
  // only what the IR marks `contract`, and NVPTX then writes `.rn` on every
  // mul/add so that ptxas fuses nothing either.
  to.AllowFPOpFusion = opts.fpFusion ? llvm::FPOpFusion::Fast : llvm::FPOpFusion::Standard;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, opts.target, features, to, std::nullopt,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    throw Error("cannot create an NVPTX target machine for " + opts.target);
  return tm;
}

/// The oldest PTX ISA each chip's code may be written in (the PTX ISA's
/// target table), for the chips whose minimum is not LLVM's business.
static unsigned minPtxVersion(const std::string &target) {
  static const std::pair<const char *, unsigned> table[] = {
      {"sm_80", 70}, {"sm_86", 71}, {"sm_87", 74}, {"sm_89", 78}, {"sm_90", 78}, {"sm_90a", 80}};
  for (auto [chip, v] : table)
    if (target == chip)
      return v;
  return 0;
}

void validateOptions(const CompileOptions &opts) {
  validateTarget(opts.target);
  if (opts.optLevel > 3)
    throw Error("optLevel must be 0-3, got " + std::to_string(opts.optLevel));
  // An unknown "+ptxNN" feature is ignored by LLVM with a warning on
  // stderr, and the PTX then says whatever the default is.  The back end's
  // feature list is read once.
  static const std::set<std::string> ptxFeatures = [] {
    std::set<std::string> keys;
    auto tm = createTargetMachine(CompileOptions{});
    for (const llvm::SubtargetFeatureKV &f : tm->getMCSubtargetInfo()->getAllProcessorFeatures())
      if (llvm::StringRef(f.Key).starts_with("ptx"))
        keys.insert(f.Key);
    return keys;
  }();
  if (!ptxFeatures.count("ptx" + std::to_string(opts.ptxVersion)))
    throw Error("ptxVersion " + std::to_string(opts.ptxVersion) +
                " is not a PTX ISA version the NVPTX back end writes (e.g. 80 for PTX 8.0)");
  if (unsigned min = minPtxVersion(opts.target); opts.ptxVersion < min)
    throw Error("ptxVersion " + std::to_string(opts.ptxVersion) + " is too old for " +
                opts.target + " (PTX ISA " + std::to_string(min / 10) + "." +
                std::to_string(min % 10) + " or later)");
}

void validateTarget(const std::string &target) {
  // Ask a machine for a known chip, so LLVM prints no warning of its own.
  CompileOptions o;
  o.target = "sm_80";
  auto tm = createTargetMachine(o);
  // The NVPTX back end silently falls back for unknown chips; reject them
  // before code generation rather than emit PTX for the wrong machine.
  if (!Target::parse(target) || !tm->getMCSubtargetInfo()->isCPUStringValid(target))
    throw Error("unsupported GPU target '" + target +
                "' (expected e.g. sm_80, sm_86, sm_89, sm_90, sm_90a)");
}

void writeDumpFile(const std::string &dir, const std::string &name, llvm::StringRef text) {
  if (dir.empty())
    return;
  llvm::sys::fs::create_directories(dir);
  std::error_code ec;
  llvm::raw_fd_ostream os(dir + "/" + name, ec);
  if (!ec)
    os << text;
}

std::string translateToPTX(ModuleOp module, const CompileOptions &opts) {
  DiagnosticCollector diags(module.getContext());
  auto tm = createTargetMachine(opts);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "tessera");
  if (!llvmModule)
    diags.raise("translation to LLVM IR failed");
  llvmModule->setTargetTriple(tm->getTargetTriple());
  llvmModule->setDataLayout(tm->createDataLayout());

  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    static const llvm::OptimizationLevel levels[] = {
        llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1,
        llvm::OptimizationLevel::O2, llvm::OptimizationLevel::O3};
    llvm::OptimizationLevel level = levels[std::min(opts.optLevel, 3u)];
    llvm::ModulePassManager mpm = level == llvm::OptimizationLevel::O0
                                      ? pb.buildO0DefaultPipeline(level)
                                      : pb.buildPerModuleDefaultPipeline(level);
    mpm.run(*llvmModule, mam);
  }
  if (!opts.dumpDir.empty()) {
    std::string ir;
    llvm::raw_string_ostream os(ir);
    llvmModule->print(os, nullptr);
    writeDumpFile(opts.dumpDir, "llvm.ll", ir);
  }

  llvm::SmallString<0> ptx;
  {
    llvm::raw_svector_ostream os(ptx);
    llvm::legacy::PassManager codegen;
    if (tm->addPassesToEmitFile(codegen, os, nullptr,
                                llvm::CodeGenFileType::AssemblyFile))
      throw Error("NVPTX back end cannot emit assembly");
    codegen.run(*llvmModule);
  }
  writeDumpFile(opts.dumpDir, "kernel.ptx", ptx);
  return std::string(ptx.str());
}

} // namespace tessera
