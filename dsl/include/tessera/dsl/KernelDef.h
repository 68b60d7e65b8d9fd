//===- KernelDef.h - a named DSL kernel, its parameters, tracing, registry -===//
//
// The kernel vocabulary every layer shares: a KernelDef is a DSL body with
// the compile-time parameters it takes; traceKernel specializes it into
// tile IR, mapping the parameters the compiler reads (num_warps,
// num_stages, min_blocks, warp_specialize) onto kernel attributes; a
// program's own kernels are registered by name so that tools (tessera-aot)
// can find them.  The library of built-in kernels (kernels/) is made of
// KernelDefs too.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/dsl/DSL.h"

#include <functional>
#include <string>
#include <vector>

namespace tessera::dsl {

/// A kernel: its DSL body and the compile-time parameters it takes, with
/// their defaults ("num_warps" is always among them).
struct KernelDef {
  std::string name;
  std::string summary;
  Params defaults;
  std::function<void(Kernel &, const Params &)> body;
  /// Config space for the autotuner: each entry overrides `defaults`.
  std::vector<Params> configs = {};
  /// Names of the runtime arguments whose values key the tuned choice.
  std::vector<std::string> tuningKeys = {};
};

/// Every combination of the given values, e.g.
/// configSpace({{"BLOCK", {"1024", "2048"}}, {"num_warps", {"4", "8"}}}) gives 4 configs.
std::vector<Params>
configSpace(const std::vector<std::pair<std::string, std::vector<std::string>>> &axes);

/// Traces `def` specialized with `params` over its defaults.  A parameter
/// the kernel does not list is an error.  `num_warps` sets the warps per
/// program; `num_stages`, `min_blocks` and `warp_specialize`, where the
/// kernel lists them, become the kernel attributes the compiler reads.
mlir::OwningOpRef<mlir::ModuleOp> traceKernel(mlir::MLIRContext &ctx, const KernelDef &def,
                                              const Params &params = {});

/// Makes a program's kernel known by name (to kernels::findKernel, hence
/// to tessera-aot and the tools).  Registering a name again replaces the
/// earlier kernel (a reloaded file).
void registerKernel(KernelDef def);

/// The registered kernel called `name`, or null.
const KernelDef *registeredKernel(const std::string &name);

/// Names of the registered kernels, in registration order.
std::vector<std::string> registeredKernelNames();

/// In a user's file of DSL kernels: registers `makeDef()` (a function
/// returning a KernelDef) when the file is loaded, e.g. by
/// `tessera-aot --plugin libmy_kernels.so`.
#define TESSERA_REGISTER_KERNEL(makeDef)                                                  \
  static const bool tesseraRegistered_##makeDef = [] {                                   \
    ::tessera::dsl::registerKernel(makeDef());                                            \
    return true;                                                                           \
  }()

} // namespace tessera::dsl
