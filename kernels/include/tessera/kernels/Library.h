//===- Library.h - Tessera's kernel library ---------------------------------===//
//
// The built-in kernels, each a dsl::KernelDef defined in its own file of
// kernels/lib, and the lookup by name that tools and the JIT use (built-in
// kernels first, then the ones a program registered).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/dsl/KernelDef.h"

#include <string>
#include <vector>

namespace tessera::kernels {

/// Every kernel of the library, in a stable order.
const std::vector<dsl::KernelDef> &library();

/// The kernel called `name`: a library kernel, else one registered with
/// dsl::registerKernel.  Throws tessera::Error listing the known names, or
/// when a registered kernel takes a library kernel's name.
const dsl::KernelDef &findKernel(const std::string &name);

// Definitions, one per file in kernels/lib.
dsl::KernelDef vectorAddKernel();
dsl::KernelDef softmaxKernel();
dsl::KernelDef layerNormKernel();
dsl::KernelDef matmulKernel();
dsl::KernelDef attentionFwdKernel();
dsl::KernelDef attentionBwdPreprocessKernel();
dsl::KernelDef attentionBwdDkDvKernel();
dsl::KernelDef attentionBwdDqKernel();
dsl::KernelDef attentionBwdDqConvertKernel();
dsl::KernelDef attentionBlockMaskKernel();

} // namespace tessera::kernels
