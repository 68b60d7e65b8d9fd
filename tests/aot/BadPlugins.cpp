//===- BadPlugins.cpp - kernel plugins tessera-aot must refuse --------------===//
//
// Built twice: with TESSERA_TEST_LIBRARY_NAME it registers a kernel named
// like a library kernel (softmax); without, it registers nothing.
//
//===----------------------------------------------------------------------===//
#include "tessera/kernels/Library.h"

#ifdef TESSERA_TEST_LIBRARY_NAME
using namespace tessera::dsl;

namespace {
void copy(Kernel &k, const Params &) {
  Ptr x = k.ptr("x", f32), out = k.ptr("out", f32);
  Tile offs = arange(0, 128);
  store(out + offs, load(x + offs));
}

tessera::dsl::KernelDef clashingKernel() {
  return {"softmax", "named like the library's softmax", {{"num_warps", "4"}}, copy};
}
} // namespace

TESSERA_REGISTER_KERNEL(clashingKernel);
#endif
