//===- Pipeline.cpp - the ordered pass list, and LLVM IR -> PTX -----------===//
//
// The one place that orders Tessera's passes.  Every entry point (the JIT,
// the AOT tool, tessera-opt) goes through buildPipeline, so a kernel is
// compiled the same way wherever it is compiled.
//
// MLIR and LLVM are built without exceptions: diagnostics raised inside them
// are collected by a handler and turned into tessera::Error only here, after
// the MLIR/LLVM call has returned.
//
//===----------------------------------------------------------------------===//
#include "tessera/Pipeline.h"
#include "tessera/Dialect/Tile/Transforms/Passes.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"
#include "tessera/Support/Error.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"

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

#include <cstdlib>
#include <mutex>

using namespace mlir;

namespace tessera {

static constexpr const char *kNVPTXTriple = "nvptx64-nvidia-cuda";

CompileOptions withEnvironment(CompileOptions opts) {
  if (opts.dumpDir.empty())
    if (const char *dir = std::getenv("TESSERA_DUMP_DIR"))
      opts.dumpDir = dir;
  if (const char *ftz = std::getenv("TESSERA_EXP2_FTZ"))
    opts.exp2Ftz = std::string(ftz) != "0";
  return opts;
}

void buildPipeline(PassManager &pm, const CompileOptions &opts) {
  buildPipeline(static_cast<OpPassManager &>(pm), opts);
}

void buildPipeline(OpPassManager &pm, const CompileOptions &opts) {
  // Block level: clean up the traced IR, then distribute tiles over threads.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(tile::createTileAssignLayouts());
  pm.addPass(tile::createTilePromoteShared({opts.target, 0}));
  pm.addPass(tile::createTilePipeline({opts.target, 1}));
  // Thread level: per-thread scalars, then the standard conversions to LLVM.
  pm.addPass(tile::createConvertTileToNVVM({opts.target, 0, opts.exp2Ftz}));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void registerAllDialects(DialectRegistry &registry) {
  registry.insert<tile::TileDialect, arith::ArithDialect, math::MathDialect,
                  scf::SCFDialect, func::FuncDialect, cf::ControlFlowDialect,
                  LLVM::LLVMDialect, NVVM::NVVMDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

void registerAllPasses() {
  tile::registerTilePasses();
  PassPipelineRegistration<>(
      "tessera-pipeline", "Tessera's full pipeline from traced tile IR to LLVM",
      [](OpPassManager &pm) { buildPipeline(pm, CompileOptions{}); });
}

namespace {
/// Collects error diagnostics, with their user locations, while MLIR runs.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Error) {
            if (!text.empty())
              text += "\n";
            text += tile::formatFileLine(d.getLocation()) + d.str();
          }
          return success();
        }) {}
  /// Throws the collected diagnostics (or `fallback`) as a tessera::Error.
  [[noreturn]] void raise(const std::string &fallback) {
    throw Error(text.empty() ? fallback : text);
  }

private:
  std::string text;
  ScopedDiagnosticHandler handler;
};
} // namespace

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

void validateTarget(const std::string &target) {
  // Ask a machine for a known chip, so LLVM prints no warning of its own.
  CompileOptions o;
  o.target = "sm_80";
  auto tm = createTargetMachine(o);
  // The NVPTX back end silently falls back for unknown chips; reject them
  // before code generation rather than emit PTX for the wrong machine.
  if (target.rfind("sm_", 0) != 0 ||
      !tm->getMCSubtargetInfo()->isCPUStringValid(target))
    throw Error("unsupported GPU target '" + target +
                "' (expected e.g. sm_80, sm_86, sm_89, sm_90, sm_90a)");
}

static void writeFile(const std::string &dir, const std::string &name,
                      llvm::StringRef text) {
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
    writeFile(opts.dumpDir, "llvm.ll", ir);
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
  writeFile(opts.dumpDir, "kernel.ptx", ptx);
  return std::string(ptx.str());
}

/// Kernel metadata, read off the traced kernel before it is lowered.
static KernelInfo describeKernel(func::FuncOp func) {
  KernelInfo info;
  info.name = func.getName().str();
  info.threadsPerBlock = 32 * tile::getNumWarps(func);
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    KernelParam p;
    if (auto n = func.getArgAttrOfType<StringAttr>(i, "tile.name"))
      p.name = n.str();
    else
      p.name = "arg" + std::to_string(i);
    std::string s;
    llvm::raw_string_ostream os(s);
    Type t = func.getArgumentTypes()[i];
    if (auto ptr = dyn_cast<tile::PtrType>(t))
      os << "ptr<" << ptr.getPointeeType() << ">";
    else
      os << t;
    p.type = s;
    if (auto a = func.getArgAttrOfType<IntegerAttr>(
            i, tile::TileDialect::getAlignmentAttrName()))
      p.alignment = unsigned(a.getInt());
    if (auto d = func.getArgAttrOfType<IntegerAttr>(
            i, tile::TileDialect::getDivisibilityAttrName()))
      p.multipleOf = unsigned(d.getInt());
    p.unit = bool(func.getArgAttr(i, tile::TileDialect::getUnitAttrName()));
    info.params.push_back(p);
  }
  return info;
}

/// The module's one traced kernel.
static func::FuncOp theKernel(ModuleOp module) {
  func::FuncOp kernel;
  for (auto f : module.getOps<func::FuncOp>())
    if (f->hasAttr(tile::TileDialect::getKernelAttrName())) {
      if (kernel)
        throw Error("compileToPTX compiles one kernel; the module holds '" +
                    kernel.getName().str() + "' and '" + f.getName().str() + "'");
      kernel = f;
    }
  if (!kernel)
    throw Error("module holds no tile.kernel function");
  return kernel;
}

KernelInfo describeKernel(ModuleOp module) { return describeKernel(theKernel(module)); }

CompiledKernel compileToPTX(ModuleOp module, const CompileOptions &inOpts) {
  CompileOptions opts = withEnvironment(inOpts);
  validateTarget(opts.target);
  MLIRContext *ctx = module.getContext();
  // The lowering needs dialects and LLVM IR translations the caller's
  // context may not have registered.
  DialectRegistry registry;
  registerAllDialects(registry);
  ctx->appendDialectRegistry(registry);
  func::FuncOp kernel = theKernel(module);
  CompiledKernel result;
  result.target = opts.target;
  result.info = describeKernel(kernel);

  {
    DiagnosticCollector diags(ctx);
    if (failed(verify(module)))
      diags.raise("invalid tile IR");
    PassManager pm(ctx);
    buildPipeline(pm, opts);
    if (!opts.dumpDir.empty()) {
      // Multi-threaded contexts cannot print per pass.
      ctx->disableMultithreading();
      pm.enableIRPrintingToFileTree(
          [](Pass *, Operation *) { return false; },
          [](Pass *, Operation *) { return true; }, /*printModuleScope=*/true,
          /*printAfterOnlyOnChange=*/false, /*printAfterOnlyOnFailure=*/false,
          opts.dumpDir + "/passes");
      std::string s;
      llvm::raw_string_ostream os(s);
      module.print(os);
      writeFile(opts.dumpDir, "traced.mlir", s);
    }
    if (failed(pm.run(module)))
      diags.raise("lowering failed");
  }
  // A warp-specialized kernel runs more warps than its tiles use.
  for (auto g : module.getOps<LLVM::LLVMFuncOp>())
    if (auto ntid = g->getAttrOfType<DenseI32ArrayAttr>(NVVM::NVVMDialect::getMaxntidAttrName()))
      result.info.threadsPerBlock = unsigned(ntid.asArrayRef()[0]);
  for (auto g : module.getOps<LLVM::LLVMFuncOp>())
    if (auto smem = g->getAttrOfType<IntegerAttr>("tile.dynamic_shared_bytes")) {
      result.info.dynamicSharedBytes = unsigned(smem.getInt());
      g->removeAttr("tile.dynamic_shared_bytes");
    }
  for (auto g : module.getOps<LLVM::LLVMFuncOp>())
    if (auto maps = g->getAttrOfType<ArrayAttr>("tile.tensor_maps")) {
      for (Attribute a : maps) {
        auto d = cast<DictionaryAttr>(a);
        TensorMapSpec m;
        m.base = unsigned(cast<IntegerAttr>(d.get("base")).getInt());
        auto dims = cast<DenseI64ArrayAttr>(d.get("dims")).asArrayRef();
        auto box = cast<DenseI64ArrayAttr>(d.get("box")).asArrayRef();
        auto strides = cast<DenseI64ArrayAttr>(d.get("strides")).asArrayRef();
        m.rank = unsigned(dims.size());
        if (m.rank < 2 || m.rank > TensorMapSpec::kMaxRank || box.size() != m.rank ||
            strides.size() + 1 != m.rank)
          throw Error("malformed tile.tensor_map on kernel '" + result.info.name + "'");
        for (unsigned i = 0; i < m.rank; ++i) {
          m.dims[i] = int(dims[i]);
          m.box[i] = unsigned(box[i]);
          if (i > 0)
            m.strides[i - 1] = int(strides[i - 1]);
        }
        m.swizzle = unsigned(cast<IntegerAttr>(d.get("swizzle")).getInt());
        result.info.tensorMaps.push_back(m);
      }
      g->removeAttr("tile.tensor_maps");
    }
  result.ptx = translateToPTX(module, opts);
  return result;
}

} // namespace tessera
