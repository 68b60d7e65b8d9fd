//===- Matmul.cpp - C = A * B through tile.dot ----------------------------===//
#include "tessera/kernels/Library.h"

using namespace tessera::dsl;

namespace tessera::kernels {

/// One program computes a BLOCK_M x BLOCK_N tile of C, walking K in steps of
/// BLOCK_K with an f32 accumulator; any M, N, K (tails masked), any strides.
/// Grid: (ceil(M / BLOCK_M), ceil(N / BLOCK_N)).  INT_MULTIPLE promises N, K and
/// the row strides are multiples of it.  A_LAYOUT / B_LAYOUT say which
/// stride of A / B is promised to be 1 ("row": the K resp. N stride, "col":
/// the M resp. K stride, "any": none), so its tiles move with 16-byte
/// accesses; the launcher refuses a launch that breaks the promise.  With
/// f16/bf16 and blocks of at least 16x8x16 the dot runs on tensor cores
/// (wgmma on sm_90a).  EPILOGUE fuses, before the one store of C:
/// "none", "bias" (a bias of N elements, an extra argument after c),
/// "relu", or "bias_relu".
static void matmul(Kernel &k, const Params &p) {
  DType dt = p.dtype("dtype");
  int64_t bm = p.i("BLOCK_M"), bn = p.i("BLOCK_N"), bk = p.i("BLOCK_K");
  unsigned mult = unsigned(p.i("INT_MULTIPLE"));
  const std::string &epilogue = p.s("EPILOGUE");
  bool hasBias = epilogue == "bias" || epilogue == "bias_relu";
  bool relu = epilogue == "relu" || epilogue == "bias_relu";
  if (!hasBias && !relu && epilogue != "none")
    throw Error("matmul: EPILOGUE must be none, bias, relu or bias_relu, got '" + epilogue + "'");
  Ptr a = k.ptr("a", dt), b = k.ptr("b", dt), c = k.ptr("c", dt);
  Ptr bias = hasBias ? k.ptr("bias", dt) : Ptr();
  Scalar M = k.i32("M"), N = k.i32("N", mult), K = k.i32("K", mult);
  const std::string &la = p.s("A_LAYOUT"), &lb = p.s("B_LAYOUT");
  for (const std::string *l : {&la, &lb})
    if (*l != "row" && *l != "col" && *l != "any")
      throw Error("matmul: A_LAYOUT and B_LAYOUT must be row, col or any, got '" + *l + "'");
  Scalar sam = la == "col" ? k.unitI32("stride_am") : k.i32("stride_am", la == "row" ? mult : 1);
  Scalar sak = la == "row" ? k.unitI32("stride_ak") : k.i32("stride_ak", la == "col" ? mult : 1);
  Scalar sbk = lb == "col" ? k.unitI32("stride_bk") : k.i32("stride_bk", lb == "row" ? mult : 1);
  Scalar sbn = lb == "row" ? k.unitI32("stride_bn") : k.i32("stride_bn", lb == "col" ? mult : 1);
  // C is row-major (its column stride is promised 1) so the tensor-core
  // accumulator is stored straight from registers with paired accesses.
  Scalar scm = k.i32("stride_cm", mult), scn = k.unitI32("stride_cn");

  // Grouped order: consecutive programs (x fastest) walk GROUP_M row
  // blocks of one column block before the next, so the B and A tiles they
  // share are still in L2.  The launch grid stays (M blocks, N blocks).
  Scalar pidM = programId(0), pidN = programId(1);
  if (int64_t group = p.i("GROUP_M"); group > 1) {
    Scalar gm = numPrograms(0), gn = numPrograms(1);
    Scalar pid = pidN * gm + pidM;
    Scalar inGroup = gn * group;
    Scalar first = (pid / inGroup) * group;
    Scalar size = minimum(gm - first, scalar(group, i32));
    pidM = first + (pid % inGroup) % size;
    pidN = (pid % inGroup) / size;
  }
  Tile rm = pidM * bm + arange(0, bm);
  Tile rn = pidN * bn + arange(0, bn);
  Tile rk = arange(0, bk);

  Tile acc = zeros({bm, bn}, f32);
  forRange(0, K, bk, {acc}, [&](Scalar k0) {
    Tile kk = k0 + rk;
    Tile at = load(a + rm.col() * sam + kk.row() * sak, (rm.col() < M) & (kk.row() < K));
    Tile bt = load(b + kk.col() * sbk + rn.row() * sbn, (kk.col() < K) & (rn.row() < N));
    acc = dot(at, bt, acc);
  });
  if (hasBias)
    acc = acc + load(bias + rn.row(), rn.row() < N).to(f32);
  if (relu)
    acc = where(acc > 0.0, acc, 0.0);
  store(c + rm.col() * scm + rn.row() * scn, acc.to(dt), (rm.col() < M) & (rn.row() < N));
}

KernelDef matmulKernel() {
  return {"matmul", "C = A * B, f32 accumulation, any M/N/K and strides",
          {{"dtype", "f16"}, {"BLOCK_M", "128"}, {"BLOCK_N", "128"}, {"BLOCK_K", "64"},
           {"INT_MULTIPLE", "1"}, {"EPILOGUE", "none"}, {"A_LAYOUT", "row"},
           {"B_LAYOUT", "row"}, {"GROUP_M", "8"}, {"num_warps", "8"}, {"num_stages", "3"}},
          matmul,
          configSpace({{"BLOCK_M", {"64", "128"}}, {"BLOCK_N", {"64", "128", "256"}},
                       {"BLOCK_K", {"32", "64"}}, {"num_warps", {"4", "8"}},
                       {"num_stages", {"2", "3", "4"}}}),
          {"M", "N", "K"}};
}

} // namespace tessera::kernels
