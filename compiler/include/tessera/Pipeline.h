//===- Pipeline.h - the one ordered list of passes, and DSL IR -> PTX -----===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "tessera/Support/KernelInfo.h"

#include <string>
#include <vector>

namespace tessera {

/// Everything that changes the code generated for a kernel.  All fields take
/// part in cache keys (later), so each has a fixed, documented default.
struct CompileOptions {
  /// PTX target chip: sm_80, sm_86, sm_89, sm_90, sm_90a, ...
  std::string target = "sm_90a";
  /// PTX ISA version the NVPTX back end emits (8.0: first with sm_90a).
  unsigned ptxVersion = 80;
  /// LLVM optimization level for the LLVM IR (0-3).
  unsigned optLevel = 3;
  /// Lets the back end fuse a multiply and an add into one FMA (one rounding
  /// instead of two), as Triton does by default: attention's `s * scale - m`
  /// becomes one FFMA.  Off: every mul/add rounds on its own (`mul.rn`).
  bool fpFusion = true;
  /// exp2/exp as `ex2.approx.ftz.f32` (one MUFU instruction instead of four:
  /// the non-ftz form adds a compare and two multiplies for denormals);
  /// results below 2^-126 flush to 0, which softmax cannot see (they are
  /// below its sum's rounding).  As FlashAttention's fast-math builds do.
  /// On the H100 it made attention faster at 29 of 32 shapes (median +4%);
  /// TESSERA_EXP2_FTZ=0 turns it off (see withEnvironment).
  bool exp2Ftz = true;
  /// When non-empty, every stage's IR is written under this folder
  /// (defaults to $TESSERA_DUMP_DIR).
  std::string dumpDir;
};

/// Reads TESSERA_DUMP_DIR into `dumpDir` when that is empty, and
/// TESSERA_EXP2_FTZ (1 or 0) into `exp2Ftz`.
CompileOptions withEnvironment(CompileOptions opts);

/// Adds, in order, every pass from traced `tile` IR to the LLVM dialect.
/// Used by every entry point (JIT, AOT, tessera-opt's -tessera-pipeline).
void buildPipeline(mlir::PassManager &pm, const CompileOptions &opts);
/// The same list on any pass manager (for nesting in other pipelines).
void buildPipeline(mlir::OpPassManager &pm, const CompileOptions &opts);

/// Compiles a module holding one traced `tile.kernel` to PTX.  The module is
/// lowered in place.  Throws tessera::Error with the diagnostics (each with
/// its `file:line:`) when any stage fails.
CompiledKernel compileToPTX(mlir::ModuleOp module, const CompileOptions &opts);

/// Kernel metadata (name, parameters, threads) of the module's one traced
/// `tile.kernel`; throws tessera::Error if there is not exactly one.
KernelInfo describeKernel(mlir::ModuleOp module);

/// LLVM IR -> PTX for an already lowered module (LLVM + NVVM dialects).
std::string translateToPTX(mlir::ModuleOp module, const CompileOptions &opts);

/// Registers every dialect, interface and translation Tessera uses.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers Tessera's passes and the `tessera-pipeline` pipeline for
/// command-line drivers.
void registerAllPasses();

/// Checks that `target` names a chip the NVPTX back end knows; throws
/// tessera::Error otherwise.
void validateTarget(const std::string &target);

} // namespace tessera
