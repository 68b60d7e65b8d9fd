// The project's own kernel, written in Tessera's DSL: RMSNorm of each row,
// y = x / sqrt(mean(x^2) + eps) * w, f32, one row per program (BLOCK >= the
// row length).  Registered by name, so both the JIT (main.cpp) and
// tessera-aot (CMakeLists.txt: tessera_add_kernels ... PLUGIN kernels.cpp)
// find it.
#include "tessera/kernels/Library.h"

using namespace tessera::dsl;

namespace {

void rmsNorm(Kernel &k, const Params &p) {
  int64_t block = p.i("BLOCK");
  Ptr x = k.ptr("x", f32), w = k.ptr("w", f32), y = k.ptr("y", f32);
  Scalar cols = k.i32("n_cols"), eps = k.f32("eps");
  Scalar row = programId(0);
  Tile c = arange(0, block);
  Tile mask = c < cols;
  Tile v = load(x + row * cols + c, mask);
  Scalar rstd = rsqrt(sum(v * v) / cols.to(f32) + eps);
  store(y + row * cols + c, v * rstd * load(w + c, mask), mask);
}

KernelDef rmsNormKernel() {
  return {"user_rms_norm", "RMSNorm of each row (f32)", {{"BLOCK", "1024"}, {"num_warps", "4"}},
          rmsNorm};
}

} // namespace

TESSERA_REGISTER_KERNEL(rmsNormKernel);
