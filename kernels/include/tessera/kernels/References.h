//===- References.h - float64 CPU references of the library kernels -------===//
//
// Each kernel is checked against these on fresh random inputs.  All math is in
// double; layouts are row-major and contiguous unless a stride is given.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <functional>

#include <cstdint>
#include <vector>

namespace tessera::kernels::ref {

void vectorAdd(const double *x, const double *y, double *out, int64_t n);

/// Softmax of each of `rows` rows of `cols` elements.
void softmax(const double *in, double *out, int64_t rows, int64_t cols);

/// (x - mean) / sqrt(var + eps) * w + b per row; also each row's mean and
/// 1/sqrt(var + eps).
void layerNorm(const double *x, const double *w, const double *b, double *y, double *mean,
               double *rstd, int64_t rows, int64_t cols, double eps);

/// C (MxN) = A (MxK) * B (KxN).
void matmul(const double *a, const double *b, double *c, int64_t M, int64_t N, int64_t K);

/// O = softmax(Q K^T * scale [causal: key j <= query i]) V for each of `bh`
/// (batch x head) slices; Q is bh x seqQ x d, K and V (bh / groups) x seqK x d
/// (grouped-query: query head h uses K/V head h / groups).  Also the
/// natural-log logsumexp of each row's scaled scores.
/// `scoreMod`, if set, maps each scaled score: (score, bh, query i, key j).
/// `mask`, if set, hides key j from query i where mask(bh, i, j) is false
/// (ANDed with causal); a row with no key left gets o = 0, lse = -inf.
using RefMask = std::function<bool(int64_t, int64_t, int64_t)>;
/// `dropout`, if set, gives each (bh, i, j)'s factor on P in o: 0 (dropped)
/// or 1 / (1 - p); the softmax and lse are unchanged.
using RefDropout = std::function<double(int64_t, int64_t, int64_t)>;
void attention(const double *q, const double *k, const double *v, double *o, double *lse,
               int64_t bh, int64_t seqQ, int64_t seqK, int64_t d, double scale, bool causal,
               int64_t groups = 1,
               const std::function<double(double, int64_t, int64_t, int64_t)> &scoreMod = {},
               const RefMask &mask = {}, const RefDropout &dropout = {});

/// The gradients of `attention` (same layouts): dQ, dK, dV given dO, from
/// the analytic formulas (P = softmax, D = rowsum(dO * O), dS = P * (dO V^T - D),
/// dQ = scale dS K, dK = scale dS^T Q, dV = P^T dO); grouped-query dK/dV sum
/// over the query heads sharing a K/V head.
/// With `scoreMod`, P comes from the modified scores and dS picks up
/// `scoreModGrad` (d modified / d score at the unmodified score).
/// `storedO`, if set, is the forward's output as the kernels stored it
/// (rounded to f16/bf16), and D = rowsum(dO * O) is taken from it, as the
/// kernels take it: where dS = P (dP - D) is a difference of nearly equal
/// terms, O's rounding bounds the gradients' precision, and a check of the
/// kernels' own arithmetic needs the same D.
void attentionBackward(const double *q, const double *k, const double *v, const double *dO,
                       double *dq, double *dk, double *dv, int64_t bh, int64_t seqQ,
                       int64_t seqK, int64_t d, double scale, bool causal, int64_t groups = 1,
                       const std::function<double(double, int64_t, int64_t, int64_t)> &scoreMod = {},
                       const std::function<double(double, int64_t, int64_t, int64_t)> &scoreModGrad = {},
                       const RefMask &mask = {}, const RefDropout &dropout = {},
                       const double *storedO = nullptr);

/// Sequence `start .. start + len - 1` of a packed variable-length batch `x`
/// ([total, heads, d], the cu_seqlens layout) as [heads, len, d], the layout
/// `attention` takes.
std::vector<double> packedSequence(const std::vector<double> &x, int64_t heads, int64_t d,
                                   int64_t start, int64_t len);

/// A packed batch's sequences one at a time: sequence `b` of its query-side
/// ([total_q, heads, d]) and key-side ([total_k, kv_heads, d]) tensors,
/// gathered by packedSequence from the cu_seqlens offsets.
struct PackedBatch {
  std::vector<int32_t> cuQ, cuK;
  int64_t heads, kvHeads, d;
  std::vector<double> queries(const std::vector<double> &x, int b) const {
    return packedSequence(x, heads, d, cuQ[size_t(b)], cuQ[size_t(b) + 1] - cuQ[size_t(b)]);
  }
  std::vector<double> keys(const std::vector<double> &x, int b) const {
    return packedSequence(x, kvHeads, d, cuK[size_t(b)], cuK[size_t(b) + 1] - cuK[size_t(b)]);
  }
};

} // namespace tessera::kernels::ref
