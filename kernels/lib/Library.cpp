//===- Library.cpp - the library's kernels and the lookup by name ---------===//
#include "tessera/kernels/Library.h"
#include "tessera/Support/Error.h"

namespace tessera::kernels {

const std::vector<dsl::KernelDef> &library() {
  static const std::vector<dsl::KernelDef> all = {vectorAddKernel(), softmaxKernel(),
                                                  layerNormKernel(), matmulKernel(),
                                                  attentionFwdKernel(), attentionBwdPreprocessKernel(),
                                                  attentionBwdDkDvKernel(), attentionBwdDqKernel(),
                                                  attentionBwdDqConvertKernel(), attentionBlockMaskKernel()};
  return all;
}

const dsl::KernelDef &findKernel(const std::string &name) {
  std::string known;
  const dsl::KernelDef *found = nullptr;
  for (const dsl::KernelDef &d : library()) {
    if (d.name == name)
      found = &d;
    known += (known.empty() ? "" : ", ") + d.name;
  }
  const dsl::KernelDef *mine = dsl::registeredKernel(name);
  if (found && mine)
    throw Error("a kernel registered by this program is named '" + name +
                "', like the library kernel; rename it");
  if (found || mine)
    return found ? *found : *mine;
  for (const std::string &n : dsl::registeredKernelNames())
    known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown kernel '" + name + "' (known: " + known + ")");
}

} // namespace tessera::kernels
