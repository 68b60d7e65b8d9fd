//===- PTXEmitter.h - LLVM IR to PTX through LLVM's NVPTX back end --------===//
#pragma once

#include "tessera/CompileOptions.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace tessera {

/// Checks that `target` names a chip Tessera and the NVPTX back end know
/// (sm_XY or sm_XYa); throws tessera::Error otherwise.
void validateTarget(const std::string &target);

/// Checks every field of `opts` that code generation reads: the target,
/// optLevel (0-3), and ptxVersion (a PTX ISA the back end writes, and not
/// older than the target needs); throws tessera::Error otherwise.
void validateOptions(const CompileOptions &opts);

/// LLVM IR -> PTX for an already lowered module (LLVM + NVVM dialects):
/// translated to LLVM IR, optimized at `opts.optLevel`, emitted for
/// `opts.target` with PTX ISA `opts.ptxVersion`.  With `opts.dumpDir`,
/// writes llvm.ll and kernel.ptx there.
std::string translateToPTX(mlir::ModuleOp module, const CompileOptions &opts);

} // namespace tessera
