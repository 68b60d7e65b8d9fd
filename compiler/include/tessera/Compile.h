//===- Compile.h - a traced kernel to PTX, with its launch metadata -------===//
#pragma once

#include "tessera/CompileOptions.h"
#include "tessera/Support/KernelInfo.h"

#include "mlir/IR/BuiltinOps.h"

namespace tessera {

/// Compiles a module holding one traced `tile.kernel` to PTX: buildPipeline's
/// passes, then translateToPTX.  The module is lowered in place.  Throws
/// tessera::Error with the diagnostics (each with its `file:line:`) when any
/// stage fails.
CompiledKernel compileToPTX(mlir::ModuleOp module, const CompileOptions &opts);

/// Kernel metadata (name, parameters, threads) of the module's one traced
/// `tile.kernel`; throws tessera::Error if there is not exactly one.
KernelInfo describeKernel(mlir::ModuleOp module);

} // namespace tessera
