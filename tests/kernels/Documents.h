//===- Documents.h - document ids of packed sequences, for mask tests -----===//
//
// The host side of kernels::maskmods::document()'s checks (interpreter unit
// tests and GPU checks): random packings of documents into sequences.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tessera::testkernels {

/// Document ids [batch, n] of `batch` sequences of `n` keys packed with
/// documents of 1..maxRun keys each (ids 0, 1, ... along a sequence).
inline std::vector<int32_t> documentIds(int batch, int n, int maxRun, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> run(1, maxRun);
  std::vector<int32_t> doc(size_t(batch) * n);
  for (int b = 0; b < batch; ++b)
    for (int j = 0, id = 0; j < n; ++id)
      for (int r = run(rng); r > 0 && j < n; --r, ++j)
        doc[size_t(b) * n + j] = id;
  return doc;
}

} // namespace tessera::testkernels
