//===- Matmul.cpp - C = A B over shapes and strides, checked before launch -===//
#include "tessera/jit/Matmul.h"
#include "tessera/Support/Error.h"

#include <limits>
#include <string>

namespace tessera::jit {

namespace {

void checkOperand(const char *name, const rt::Buffer &buf, const std::string &dtype, int64_t rows,
                  int64_t cols, int64_t sr, int64_t sc) {
  std::string what = std::string("matmul: ") + name;
  if (buf.dtype() != dtype)
    throw Error(what + " is a buffer of " + (buf.dtype().empty() ? "unknown type" : buf.dtype()) +
                ", expected " + dtype);
  for (int64_t s : {sr, sc})
    if (s < 0 || s > std::numeric_limits<int32_t>::max())
      throw Error(what + ": strides must be in [0, 2^31), got " + std::to_string(s));
  int64_t last = (rows - 1) * sr + (cols - 1) * sc;
  int64_t elems = int64_t(buf.bytes() / 2);
  if (last >= elems)
    throw Error(what + ": shape and strides reach element " + std::to_string(last) +
                " but the buffer holds " + std::to_string(elems));
}

/// "row" when the column stride is 1, "col" when the row stride is 1.
std::string layoutOf(const char *name, int64_t sr, int64_t sc) {
  if (sc == 1)
    return "row";
  if (sr == 1)
    return "col";
  throw Error(std::string("matmul: ") + name + " needs a unit stride along one axis (row- or " +
              "column-major), got strides " + std::to_string(sr) + " and " + std::to_string(sc));
}

} // namespace

void matmul(Jit &jit, int M, int N, int K, rt::Buffer &a, int64_t sam, int64_t sak,
            rt::Buffer &b, int64_t sbk, int64_t sbn, rt::Buffer &c, int64_t ldc, CUstream stream,
            const dsl::Params &config) {
  if (M <= 0 || N <= 0 || K <= 0)
    throw Error("matmul: M, N and K must be positive, got " + std::to_string(M) + ", " +
                std::to_string(N) + ", " + std::to_string(K));
  const std::string &dt = a.dtype();
  if (dt != "f16" && dt != "bf16")
    throw Error("matmul: a must be f16 or bf16, got " + (dt.empty() ? "untyped" : dt));
  std::string la = layoutOf("a", sam, sak), lb = layoutOf("b", sbk, sbn);
  checkOperand("a", a, dt, M, K, sam, sak);
  checkOperand("b", b, dt, K, N, sbk, sbn);
  checkOperand("c", c, dt, M, N, ldc, 1);
  // The kernel promises INT_MULTIPLE divides N, K and the non-unit strides.
  unsigned mult = 16;
  for (int64_t v : {int64_t(N), int64_t(K), la == "row" ? sam : sak, lb == "row" ? sbk : sbn, ldc})
    while (mult > 1 && v % mult != 0)
      mult /= 2;
  dsl::Params p;
  if (int64_t(M) * N >= 2048 * 2048)
    p = dsl::Params{{"BLOCK_M", "128"}, {"BLOCK_N", "256"}, {"num_stages", "4"}};
  p = config.over(p);
  p.set("dtype", dt).set("A_LAYOUT", la).set("B_LAYOUT", lb).set("INT_MULTIPLE", mult);
  const dsl::KernelDef &def = kernels::findKernel("matmul");
  auto kernel = jit.get(def, p);
  dsl::Params full = p.over(def.defaults);
  int64_t bm = full.i("BLOCK_M"), bn = full.i("BLOCK_N");
  kernel->launch({unsigned((M + bm - 1) / bm), unsigned((N + bn - 1) / bn)},
                 {a, b, c, M, N, K, int(sam), int(sak), int(sbk), int(sbn), int(ldc), 1}, stream);
}

} // namespace tessera::jit
