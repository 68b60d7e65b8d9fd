//===- LayerNorm.cpp - layer normalization, forward -----------------------===//
#include "tessera/kernels/Library.h"

using namespace tessera::dsl;

namespace tessera::kernels {

/// One program per row.  A row of at most BLOCK columns is read once and kept
/// in registers; longer rows take three passes: mean, then variance of the centred row, then
/// y = (x - mean) * rstd * w + b; mean and rstd are kept for the backward pass.
/// Statistics are accumulated per lane in f32 and combined at the end.
/// Grid: rows.  INT_MULTIPLE promises n_cols and the stride are multiples of it.
static void layerNorm(Kernel &k, const Params &p) {
  DType dt = p.dtype("dtype");
  int64_t block = p.i("BLOCK");
  unsigned mult = unsigned(p.i("INT_MULTIPLE"));
  Ptr x = k.ptr("x", dt), y = k.ptr("y", dt), w = k.ptr("w", dt), b = k.ptr("b", dt);
  Ptr meanOut = k.ptr("mean", f32, 4), rstdOut = k.ptr("rstd", f32, 4);
  Scalar nCols = k.i32("n_cols", mult), stride = k.i32("row_stride", mult);
  Scalar eps = k.f32("eps");

  Scalar row = programId(0);
  Ptr xRow = x + row * stride, yRow = y + row * stride;
  Tile cols = arange(0, block);
  Scalar n = nCols.to(f32);

  Scalar mean = scalar(0.0, f32), rstd = scalar(1.0, f32);
  // A row that fits one block stays in registers: one read, one write.
  ifThenElse(nCols <= block, {mean, rstd}, [&] {
    Tile mask = cols < nCols;
    Tile x = load(xRow + cols, mask).to(f32);
    mean = sum(x) / n;
    Tile d = where(mask, x - mean, 0.0);
    rstd = rsqrt(sum(d * d) / n + eps);
    Tile out = d * rstd * load(w + cols, mask).to(f32) + load(b + cols, mask).to(f32);
    store(yRow + cols, out.to(dt), mask);
  }, [&] {
    Tile acc = zeros({block}, f32);
    forRange(0, nCols, block, {acc}, [&](Scalar start) {
      Tile c = start + cols;
      acc = acc + load(xRow + c, c < nCols).to(f32);
    });
    mean = sum(acc) / n;

    Tile sq = zeros({block}, f32);
    forRange(0, nCols, block, {sq}, [&](Scalar start) {
      Tile c = start + cols;
      Tile d = where(c < nCols, load(xRow + c, c < nCols).to(f32) - mean, 0.0);
      sq = sq + d * d;
    });
    rstd = rsqrt(sum(sq) / n + eps);

    forRange(0, nCols, block, {}, [&](Scalar start) {
      Tile c = start + cols;
      Tile mask = c < nCols;
      Tile xn = (load(xRow + c, mask).to(f32) - mean) * rstd;
      Tile out = xn * load(w + c, mask).to(f32) + load(b + c, mask).to(f32);
      store(yRow + c, out.to(dt), mask);
    });
  });
  store(meanOut + row + arange(0, 1), splat(mean, {1}));
  store(rstdOut + row + arange(0, 1), splat(rstd, {1}));
}

KernelDef layerNormKernel() {
  return {"layer_norm", "layer normalization forward, rows of any length",
          {{"dtype", "f16"}, {"BLOCK", "1024"}, {"INT_MULTIPLE", "1"}, {"num_warps", "4"}},
          layerNorm,
          configSpace({{"BLOCK", {"1024", "2048", "4096", "8192"}}, {"num_warps", {"4", "8", "16"}}}),
          {"n_cols"}};
}

} // namespace tessera::kernels
