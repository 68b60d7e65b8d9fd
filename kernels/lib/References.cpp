//===- References.cpp - float64 CPU references ----------------------------===//
#include "tessera/kernels/References.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace tessera::kernels::ref {

void vectorAdd(const double *x, const double *y, double *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = x[i] + y[i];
}

void softmax(const double *in, double *out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const double *x = in + r * cols;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < cols; ++c)
      m = std::max(m, x[c]);
    double s = 0;
    for (int64_t c = 0; c < cols; ++c)
      s += std::exp(x[c] - m);
    for (int64_t c = 0; c < cols; ++c)
      out[r * cols + c] = std::exp(x[c] - m) / s;
  }
}

void layerNorm(const double *x, const double *w, const double *b, double *y, double *mean,
               double *rstd, int64_t rows, int64_t cols, double eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const double *xr = x + r * cols;
    double mu = 0;
    for (int64_t c = 0; c < cols; ++c)
      mu += xr[c];
    mu /= double(cols);
    double var = 0;
    for (int64_t c = 0; c < cols; ++c)
      var += (xr[c] - mu) * (xr[c] - mu);
    var /= double(cols);
    double rs = 1.0 / std::sqrt(var + eps);
    for (int64_t c = 0; c < cols; ++c)
      y[r * cols + c] = (xr[c] - mu) * rs * w[c] + b[c];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

void matmul(const double *a, const double *b, double *c, int64_t M, int64_t N, int64_t K) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += a[i * K + k] * b[k * N + j];
      c[i * N + j] = s;
    }
}

void attention(const double *q, const double *k, const double *v, double *o, double *lse,
               int64_t bh, int64_t seqQ, int64_t seqK, int64_t d, double scale, bool causal,
               int64_t groups,
               const std::function<double(double, int64_t, int64_t, int64_t)> &scoreMod,
               const RefMask &mask, const RefDropout &dropout) {
  std::vector<double> s(seqK);
  for (int64_t h = 0; h < bh; ++h)
    for (int64_t i = 0; i < seqQ; ++i) {
      int64_t kvh = h / groups;
      const double *qi = q + (h * seqQ + i) * d;
      int64_t n = causal ? std::min(seqK, i + 1) : seqK;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n; ++j) {
        const double *kj = k + (kvh * seqK + j) * d;
        double dotp = 0;
        for (int64_t x = 0; x < d; ++x)
          dotp += qi[x] * kj[x];
        s[j] = dotp * scale;
        if (scoreMod)
          s[j] = scoreMod(s[j], h, i, j);
        if (mask && !mask(h, i, j))
          s[j] = -std::numeric_limits<double>::infinity();
        m = std::max(m, s[j]);
      }
      double *oi = o + (h * seqQ + i) * d;
      if (m == -std::numeric_limits<double>::infinity()) { // no key left
        std::fill(oi, oi + d, 0.0);
        lse[h * seqQ + i] = m;
        continue;
      }
      double l = 0;
      for (int64_t j = 0; j < n; ++j)
        l += std::exp(s[j] - m);
      for (int64_t x = 0; x < d; ++x) {
        double acc = 0;
        for (int64_t j = 0; j < n; ++j)
          acc += std::exp(s[j] - m) * (dropout ? dropout(h, i, j) : 1.0) *
                 v[(kvh * seqK + j) * d + x];
        oi[x] = acc / l;
      }
      lse[h * seqQ + i] = m + std::log(l);
    }
}

void attentionBackward(const double *q, const double *k, const double *v, const double *dO,
                       double *dq, double *dk, double *dv, int64_t bh, int64_t seqQ,
                       int64_t seqK, int64_t d, double scale, bool causal, int64_t groups,
                       const std::function<double(double, int64_t, int64_t, int64_t)> &scoreMod,
                       const std::function<double(double, int64_t, int64_t, int64_t)> &scoreModGrad,
                       const RefMask &mask, const RefDropout &dropout, const double *storedO) {
  std::vector<double> o(size_t(bh * seqQ * d)), lse(size_t(bh * seqQ));
  attention(q, k, v, o.data(), lse.data(), bh, seqQ, seqK, d, scale, causal, groups, scoreMod,
            mask, dropout);
  if (storedO)
    std::copy(storedO, storedO + bh * seqQ * d, o.begin()); // D's O only
  std::fill(dq, dq + bh * seqQ * d, 0.0);
  std::fill(dk, dk + bh / groups * seqK * d, 0.0);
  std::fill(dv, dv + bh / groups * seqK * d, 0.0);
  for (int64_t h = 0; h < bh; ++h)
    for (int64_t i = 0; i < seqQ; ++i) {
      int64_t kvh = h / groups;
      const double *qi = q + (h * seqQ + i) * d, *doi = dO + (h * seqQ + i) * d;
      const double *oi = o.data() + (h * seqQ + i) * d;
      double D = 0;
      for (int64_t x = 0; x < d; ++x)
        D += doi[x] * oi[x];
      int64_t n = causal ? std::min(seqK, i + 1) : seqK;
      for (int64_t j = 0; j < n; ++j) {
        if (mask && !mask(h, i, j))
          continue; // P = 0
        const double *kj = k + (kvh * seqK + j) * d, *vj = v + (kvh * seqK + j) * d;
        double s = 0, dp = 0;
        for (int64_t x = 0; x < d; ++x) {
          s += qi[x] * kj[x];
          dp += doi[x] * vj[x];
        }
        double sm = scoreMod ? scoreMod(s * scale, h, i, j) : s * scale;
        double p = std::exp(sm - lse[size_t(h * seqQ + i)]);
        double z = dropout ? dropout(h, i, j) : 1.0; // o took p * z
        dp *= z;
        double ds = p * (dp - D);
        if (scoreModGrad)
          ds *= scoreModGrad(s * scale, h, i, j);
        double *dqi = dq + (h * seqQ + i) * d;
        double *dkj = dk + (kvh * seqK + j) * d, *dvj = dv + (kvh * seqK + j) * d;
        for (int64_t x = 0; x < d; ++x) {
          dqi[x] += scale * ds * kj[x];
          dkj[x] += scale * ds * qi[x];
          dvj[x] += p * z * doi[x];
        }
      }
    }
}

std::vector<double> packedSequence(const std::vector<double> &x, int64_t heads, int64_t d,
                                   int64_t start, int64_t len) {
  std::vector<double> y(size_t(heads * len * d));
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < len; ++i)
      for (int64_t e = 0; e < d; ++e)
        y[size_t((h * len + i) * d + e)] = x[size_t(((start + i) * heads + h) * d + e)];
  return y;
}

} // namespace tessera::kernels::ref
