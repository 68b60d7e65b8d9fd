//===- Pipeline.cpp - the one ordered list of passes ----------------------===//
//
// The one place that orders Tessera's passes.  Every entry point (the JIT,
// the AOT tool, tessera-opt) goes through buildPipeline, so a kernel is
// compiled the same way wherever it is compiled.
//
//===----------------------------------------------------------------------===//
#include "tessera/Pipeline.h"
#include "tessera/Conversion/Passes.h"
#include "tessera/Dialect/Tile/Transforms/Passes.h"
#include "tessera/Target/Target.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace tessera {

void buildPipeline(PassManager &pm, const CompileOptions &opts) {
  buildPipeline(static_cast<OpPassManager &>(pm), opts);
}

void buildPipeline(OpPassManager &pm, const CompileOptions &opts) {
  // Block level: FP8 to bytes first (so no folding rounds an FP8 constant
  // other than as the expansion does), clean up the traced IR (uniform
  // factors that kernel and user code multiplied in separate steps folded),
  // then distribute tiles over threads.
  pm.addPass(tile::createTileExpandFP8());
  pm.addPass(tile::createTileFoldFactors());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(tile::createTileAssignLayouts());
  pm.addPass(tile::createTilePromoteShared({opts.target, 0}));
  pm.addPass(tile::createTilePipeline({opts.target, 1}));
  // A producer warpgroup issues TMA copies and hands registers over with
  // setmaxnreg: sm_90a only.  (An unknown target is reported by the passes.)
  std::optional<Target> target = Target::parse(opts.target);
  if (!target || target->hasSetmaxnreg)
    pm.addPass(tile::createTileWarpSpecialize({opts.target}));
  // Thread level: per-thread scalars, then the standard conversions to LLVM.
  pm.addPass(createConvertTileToNVVM({opts.target, 0, opts.exp2Ftz, opts.ptxVersion}));
  pm.addPass(createConvertSCFToCFBottomUp());
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
  registerConversionPasses(); // tessera's (Conversion/Passes.td), not MLIR's
  PassPipelineRegistration<>(
      "tessera-pipeline", "Tessera's full pipeline from traced tile IR to LLVM",
      [](OpPassManager &pm) { buildPipeline(pm, CompileOptions{}); });
}

} // namespace tessera
