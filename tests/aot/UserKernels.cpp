//===- UserKernels.cpp - a user's own DSL kernels, for tessera-aot --plugin
#include "tessera/kernels/Library.h"

using namespace tessera::dsl;

namespace {
/// out = x * alpha, BLOCK elements per program.
void scale(Kernel &k, const Params &p) {
  int64_t block = p.i("BLOCK");
  Ptr x = k.ptr("x", f32), out = k.ptr("out", f32);
  Scalar alpha = k.f32("alpha"), n = k.i32("n");
  Tile offs = programId(0) * block + arange(0, block);
  store(out + offs, load(x + offs, offs < n) * alpha, offs < n);
}

tessera::dsl::KernelDef scaleKernel() {
  return {"user_scale", "out = x * alpha", {{"BLOCK", "512"}, {"num_warps", "4"}}, scale};
}
} // namespace

TESSERA_REGISTER_KERNEL(scaleKernel);
