//===- AxisOps.h - a test kernel for argmax/argmin and the scans ----------===//
//
// argmax/argmin along either axis of a 2-D tile and of a 1-D tile, and the
// inclusive scans cumsum (f32 and wrapping i32, along both axes and on a
// 1-D tile) and cummax, with the results they must give.  The f32 inputs
// are multiples of 0.5 (ties for argmax; sums exact in any order) with a
// NaN in some rows.  Shared by the interpreter test (tests/unit) and the
// GPU check (tests/gpu); ROWS x COLS shapes choose how the GPU cuts the
// scanned lines into pieces.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/dsl/DSL.h"
#include "tessera/dsl/KernelDef.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tessera::testkernels {

/// Program p owns rows [p ROWS, (p+1) ROWS) of a row-major [P ROWS, COLS]
/// matrix x (and xi).
inline dsl::KernelDef axisOpsKernel() {
  using namespace tessera::dsl;
  return {"test_axis_ops", "argmax/argmin, cumsum/cummax along each axis",
          {{"ROWS", "16"}, {"COLS", "64"}, {"num_warps", "4"}},
          [](Kernel &k, const Params &p) {
            int64_t R = p.i("ROWS"), C = p.i("COLS");
            Ptr x = k.ptr("x", f32), xi = k.ptr("xi", i32);
            Ptr amax1 = k.ptr("amax1", i32), amin1 = k.ptr("amin1", i32);
            Ptr amax0 = k.ptr("amax0", i32), arow = k.ptr("arow", i32);
            Ptr csum1 = k.ptr("csum1", f32), csum0 = k.ptr("csum0", f32);
            Ptr cmax1 = k.ptr("cmax1", f32), cisum1 = k.ptr("cisum1", i32);
            Ptr crow = k.ptr("crow", f32);
            Scalar pid = programId(0);
            Tile rows = pid * R + arange(0, R), cols = arange(0, C);
            Tile offs = rows.col() * C + cols.row();
            Tile v = load(x + offs), iv = load(xi + offs);
            store(amax1 + rows, argmax(v, 1));
            store(amin1 + rows, argmin(v, 1));
            store(amax0 + (pid * C + cols), argmax(v, 0));
            store(csum1 + offs, cumsum(v, 1));
            store(csum0 + offs, cumsum(v, 0));
            store(cmax1 + offs, cummax(v, 1));
            store(cisum1 + offs, cumsum(iv, 1));
            // The program's first row as a 1-D tile.
            Tile first = load(x + (pid * (R * C) + cols));
            store(arow + pid, argmax(first));
            store(crow + (pid * C + cols), cumsum(first, 0));
          }};
}

struct AxisOpsData {
  int programs, rows, cols;
  std::vector<float> x;
  std::vector<int32_t> xi;
  template <class Rng>
  AxisOpsData(int programs, int rows, int cols, Rng &rng)
      : programs(programs), rows(rows), cols(cols), x(size_t(programs) * rows * cols),
        xi(x.size()) {
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = float(int(rng() % 13) - 6) * 0.5f;
      xi[i] = int32_t(rng());
    }
    // A NaN in every fifth row, at a column that moves.
    for (int r = 0; r < programs * rows; r += 5)
      x[size_t(r) * cols + size_t(r * 7) % cols] = NAN;
  }
};

struct AxisOpsOutputs {
  std::vector<int32_t> amax1, amin1, amax0, arow, cisum1;
  std::vector<float> csum1, csum0, cmax1, crow;
  explicit AxisOpsOutputs(const AxisOpsData &d)
      : amax1(size_t(d.programs) * d.rows), amin1(amax1.size()),
        amax0(size_t(d.programs) * d.cols), arow(size_t(d.programs)), cisum1(d.x.size()),
        csum1(d.x.size()), csum0(d.x.size()), cmax1(d.x.size()), crow(amax0.size()) {}
};

/// Empty if `out` is what the kernel must give on `d`: exact (the f32 sums
/// of halves are exact), NaN where the reference is NaN.
inline std::string axisOpsMismatch(const AxisOpsData &d, const AxisOpsOutputs &out) {
  const int R = d.rows, C = d.cols;
  auto X = [&](int p, int r, int c) { return d.x[(size_t(p) * R + r) * C + c]; };
  auto same = [](float got, double want) {
    return std::isnan(want) ? std::isnan(got) : double(got) == want;
  };
  // NumPy's rule: the first index of the extreme, a NaN counting as it.
  auto arg = [](const std::vector<float> &v, bool max) {
    int best = 0;
    for (int i = 0; i < int(v.size()); ++i) {
      if (std::isnan(v[i]))
        return i;
      if (max ? v[i] > v[best] : v[i] < v[best])
        best = i;
    }
    return best;
  };
  for (int p = 0; p < d.programs; ++p) {
    for (int r = 0; r < R; ++r) {
      std::vector<float> line(C);
      for (int c = 0; c < C; ++c)
        line[c] = X(p, r, c);
      size_t row = size_t(p) * R + r;
      if (out.amax1[row] != arg(line, true) || out.amin1[row] != arg(line, false))
        return "row " + std::to_string(row) + ": argmax " + std::to_string(out.amax1[row]) +
               ", argmin " + std::to_string(out.amin1[row]) + ", expected " +
               std::to_string(arg(line, true)) + ", " + std::to_string(arg(line, false));
      double sum = 0, mx = -INFINITY;
      uint32_t isum = 0;
      for (int c = 0; c < C; ++c) {
        size_t i = row * C + c;
        sum += line[c];
        mx = std::isnan(mx) || std::isnan(line[c]) ? NAN : std::max(mx, double(line[c]));
        isum += uint32_t(d.xi[i]);
        if (!same(out.csum1[i], sum) || !same(out.cmax1[i], mx) || out.cisum1[i] != int32_t(isum))
          return "row " + std::to_string(row) + " column " + std::to_string(c) + ": cumsum " +
                 std::to_string(out.csum1[i]) + " cummax " + std::to_string(out.cmax1[i]) +
                 " i32 cumsum " + std::to_string(out.cisum1[i]) + ", expected " +
                 std::to_string(sum) + ", " + std::to_string(mx) + ", " +
                 std::to_string(int32_t(isum));
      }
      if (r == 0) {
        if (out.arow[p] != arg(line, true))
          return "program " + std::to_string(p) + ": 1-D argmax " + std::to_string(out.arow[p]) +
                 ", expected " + std::to_string(arg(line, true));
        double s = 0;
        for (int c = 0; c < C; ++c)
          if (!same(out.crow[size_t(p) * C + c], s += line[c]))
            return "program " + std::to_string(p) + ": 1-D cumsum at " + std::to_string(c);
      }
    }
    for (int c = 0; c < C; ++c) {
      std::vector<float> column(R);
      double sum = 0;
      for (int r = 0; r < R; ++r) {
        column[r] = X(p, r, c);
        sum += column[r];
        size_t i = (size_t(p) * R + r) * C + c;
        if (!same(out.csum0[i], sum))
          return "program " + std::to_string(p) + " column " + std::to_string(c) + " row " +
                 std::to_string(r) + ": cumsum along rows " + std::to_string(out.csum0[i]) +
                 ", expected " + std::to_string(sum);
      }
      if (out.amax0[size_t(p) * C + c] != arg(column, true))
        return "program " + std::to_string(p) + " column " + std::to_string(c) + ": argmax " +
               std::to_string(out.amax0[size_t(p) * C + c]) + ", expected " +
               std::to_string(arg(column, true));
    }
  }
  return "";
}

} // namespace tessera::testkernels
