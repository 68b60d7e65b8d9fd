//===- Pipeline.h - the one ordered list of passes --------------------------===//
#pragma once

#include "tessera/CompileOptions.h"

#include "mlir/Pass/PassManager.h"

namespace tessera {

/// Adds, in order, every pass from traced `tile` IR to the LLVM dialect.
/// Used by every entry point (JIT, AOT, tessera-opt's -tessera-pipeline).
void buildPipeline(mlir::PassManager &pm, const CompileOptions &opts);
/// The same list on any pass manager (for nesting in other pipelines).
void buildPipeline(mlir::OpPassManager &pm, const CompileOptions &opts);

/// Registers every dialect, interface and translation Tessera uses.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers Tessera's passes and the `tessera-pipeline` pipeline for
/// command-line drivers.
void registerAllPasses();

} // namespace tessera
