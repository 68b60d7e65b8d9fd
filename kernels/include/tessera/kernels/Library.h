//===- Library.h - Tessera's kernel library ---------------------------------===//
#pragma once

#include "tessera/dsl/DSL.h"

#include <functional>
#include <string>
#include <vector>

namespace tessera::kernels {

/// A library kernel: its DSL body and the compile-time parameters it takes,
/// with their defaults ("num_warps" is always among them).
struct KernelDef {
  std::string name;
  std::string summary;
  dsl::Params defaults;
  std::function<void(dsl::Kernel &, const dsl::Params &)> body;
  /// Config space for the autotuner: each entry overrides `defaults`.
  std::vector<dsl::Params> configs = {};
  /// Names of the runtime arguments whose values key the tuned choice.
  std::vector<std::string> tuningKeys = {};
};

/// Every combination of the given values, e.g.
/// configSpace({{"BLOCK", {"1024", "2048"}}, {"num_warps", {"4", "8"}}}) gives 4 configs.
std::vector<dsl::Params>
configSpace(const std::vector<std::pair<std::string, std::vector<std::string>>> &axes);

/// Every kernel of the library, in a stable order.
const std::vector<KernelDef> &library();

/// The kernel called `name` (library kernels, then registered ones); throws
/// tessera::Error listing the known names.
const KernelDef &findKernel(const std::string &name);

/// Makes a user's kernel known by name (to findKernel, hence to tessera-aot
/// and tools).  Registering a library kernel's name again is an error.
void registerKernel(KernelDef def);

/// In a user's file of DSL kernels: registers `makeDef()` (a function
/// returning a KernelDef) when the file is loaded, e.g. by
/// `tessera-aot --plugin libmy_kernels.so`.
#define TESSERA_REGISTER_KERNEL(makeDef)                                                  \
  static const bool tesseraRegistered_##makeDef = [] {                                   \
    ::tessera::kernels::registerKernel(makeDef());                                        \
    return true;                                                                           \
  }()

/// Traces `def` specialized with `params` over its defaults.
mlir::OwningOpRef<mlir::ModuleOp> traceKernel(mlir::MLIRContext &ctx, const KernelDef &def,
                                              const dsl::Params &params = {});

// Definitions, one per file in kernels/lib.
KernelDef vectorAddKernel();
KernelDef softmaxKernel();
KernelDef layerNormKernel();
KernelDef matmulKernel();
KernelDef attentionFwdKernel();

} // namespace tessera::kernels
