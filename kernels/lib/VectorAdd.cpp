//===- VectorAdd.cpp - out = x + y ------------------------------------------===//
#include "tessera/kernels/Library.h"

using namespace tessera::dsl;

namespace tessera::kernels {

/// One program adds BLOCK consecutive elements; the tail is masked.
/// Grid: ceil(n / BLOCK).  INT_MULTIPLE (a power of two) promises n is a
/// multiple of it, which lets the masked accesses move 16 bytes at a time.
static void vectorAdd(Kernel &k, const Params &p) {
  DType dt = p.dtype("dtype");
  int64_t block = p.i("BLOCK");
  unsigned mult = unsigned(p.i("INT_MULTIPLE"));
  Ptr x = k.ptr("x", dt), y = k.ptr("y", dt), out = k.ptr("out", dt);
  Scalar n = k.i32("n", mult);

  Tile offs = programId(0) * block + arange(0, block);
  Tile mask = offs < n;
  store(out + offs, load(x + offs, mask) + load(y + offs, mask), mask);
}

KernelDef vectorAddKernel() {
  return {"vector_add", "out[i] = x[i] + y[i]",
          {{"dtype", "f32"}, {"BLOCK", "1024"}, {"INT_MULTIPLE", "1"}, {"num_warps", "4"}}, vectorAdd};
}

} // namespace tessera::kernels
