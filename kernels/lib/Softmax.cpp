//===- Softmax.cpp - row-wise softmax over rows of any length -------------===//
#include "tessera/kernels/Library.h"

#include <cmath>

using namespace tessera::dsl;

namespace tessera::kernels {

static constexpr double kLog2e = 1.4426950408889634;
/// Start of the running maximum: finite, so that `m - m_new` never becomes
/// inf - inf even in lanes that see only masked (-inf) elements.
static constexpr double kVeryNegative = -1e30;

/// One program per row.  A row of at most BLOCK columns is read once and kept
/// in registers.  Longer rows take two passes: pass 1 walks the row BLOCK columns at a time keeping,
/// per lane, a running max and a running sum of exp (online softmax); the
/// lanes are then combined.  Pass 2 writes exp(x - max) / sum.
/// Grid: rows.  INT_MULTIPLE promises n_cols and the strides are multiples of it.
static void softmax(Kernel &k, const Params &p) {
  DType dt = p.dtype("dtype");
  int64_t block = p.i("BLOCK");
  unsigned mult = unsigned(p.i("INT_MULTIPLE"));
  Ptr out = k.ptr("out", dt), in = k.ptr("in", dt);
  Scalar nCols = k.i32("n_cols", mult), inStride = k.i32("in_row_stride", mult),
         outStride = k.i32("out_row_stride", mult);

  Scalar row = programId(0);
  Ptr inRow = in + row * inStride, outRow = out + row * outStride;
  Tile cols = arange(0, block);

  // A row that fits one block stays in registers: one read, one write.
  ifThenElse(nCols <= block, {}, [&] {
    Tile mask = cols < nCols;
    Tile x = load(inRow + cols, mask, -INFINITY).to(f32);
    Tile e = exp2((x - max(x)) * kLog2e);
    store(outRow + cols, (e * (1.0 / sum(e))).to(dt), mask);
  }, [&] {
    Tile m = full({block}, kVeryNegative, f32), l = zeros({block}, f32);
    forRange(0, nCols, block, {m, l}, [&](Scalar start) {
      Tile c = start + cols;
      Tile x = load(inRow + c, c < nCols, -INFINITY).to(f32);
      Tile mNew = maximum(m, x);
      l = l * exp2((m - mNew) * kLog2e) + exp2((x - mNew) * kLog2e);
      m = mNew;
    });
    Scalar rowMax = max(m);
    Scalar invSum = 1.0 / sum(l * exp2((m - rowMax) * kLog2e));

    forRange(0, nCols, block, {}, [&](Scalar start) {
      Tile c = start + cols;
      Tile x = load(inRow + c, c < nCols).to(f32);
      store(outRow + c, (exp2((x - rowMax) * kLog2e) * invSum).to(dt), c < nCols);
    });
  });
}

KernelDef softmaxKernel() {
  return {"softmax", "row-wise softmax, rows of any length",
          {{"dtype", "f16"}, {"BLOCK", "1024"}, {"INT_MULTIPLE", "1"}, {"num_warps", "4"}},
          softmax,
          configSpace({{"BLOCK", {"1024", "2048", "4096", "8192"}}, {"num_warps", {"4", "8", "16"}}}),
          {"n_cols"}};
}

} // namespace tessera::kernels
