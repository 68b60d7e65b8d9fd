/* tessera.h from C: the status and message of refused calls, and one
 * attention forward in the interpreter (TESSERA_INTERPRET=1) checked against
 * a float64 computation written here. */
#include "tessera.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint16_t toHalf(float f) { /* round to nearest even, normal range */
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, mant = x & 0x7fffff;
  int exp = (int)((x >> 23) & 0xff) - 127 + 15;
  if (exp <= 0)
    return (uint16_t)sign;
  uint32_t h = sign | ((uint32_t)exp << 10) | (mant >> 13), rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return (uint16_t)h;
}
static float fromHalf(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, x;
  if (exp == 0)
    return sign ? -ldexpf((float)mant, -24) : ldexpf((float)mant, -24);
  x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static DLTensor tensor(void *data, int ndim, int64_t *shape, DLDataTypeCode code, int bits) {
  DLTensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.device.device_type = kDLCPU;
  t.ndim = ndim;
  t.dtype.code = (uint8_t)code, t.dtype.bits = (uint8_t)bits, t.dtype.lanes = 1;
  t.shape = shape;
  return t;
}

int main(void) {
  if (tessera_c_api_version() != TESSERA_C_API_VERSION)
    return printf("FAIL: version\n"), 1;
  tessera_context *ctx = NULL;
  tessera_status st = tessera_open(0, &ctx);
  if (st != TESSERA_OK) {
    printf("tessera_open: %d %s\n", st, tessera_last_error());
    return st == TESSERA_ERROR_NO_GPU ? 77 : 1;
  }
  if (!tessera_interpreted(ctx))
    return printf("run with TESSERA_INTERPRET=1\n"), 77;
  enum { B = 1, S = 37, H = 2, D = 64 };
  int64_t shape[4] = {B, S, H, D}, lseShape[3] = {B, H, S};
  size_t n = (size_t)B * S * H * D;
  uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2), *o = malloc(n * 2);
  float *lse = malloc((size_t)B * H * S * 4);
  srand(3);
  for (size_t i = 0; i < n; ++i) {
    q[i] = toHalf((float)rand() / RAND_MAX * 2 - 1);
    k[i] = toHalf((float)rand() / RAND_MAX * 2 - 1);
    v[i] = toHalf((float)rand() / RAND_MAX * 2 - 1);
  }
  DLTensor tq = tensor(q, 4, shape, kDLFloat, 16), tk = tensor(k, 4, shape, kDLFloat, 16),
           tv = tensor(v, 4, shape, kDLFloat, 16), to = tensor(o, 4, shape, kDLFloat, 16),
           tl = tensor(lse, 3, lseShape, kDLFloat, 32);
  tessera_attention_options opt = tessera_attention_options_default();
  opt.causal = 1;

  /* Refused calls: a status and a message, never a crash. */
  DLTensor bad = tq;
  bad.ndim = 3;
  st = tessera_attention_forward(ctx, &bad, &tk, &tv, &to, &tl, &opt, NULL);
  printf("3-D q: status %d: %s\n", st, tessera_last_error());
  if (st != TESSERA_ERROR_INVALID_ARGUMENT || !strstr(tessera_last_error(), "4 dimensions"))
    return printf("FAIL\n"), 1;
  st = tessera_attention_forward(NULL, &tq, &tk, &tv, &to, &tl, &opt, NULL);
  printf("null context: status %d: %s\n", st, tessera_last_error());
  if (st != TESSERA_ERROR_INVALID_ARGUMENT)
    return printf("FAIL\n"), 1;
  bad = tq;
  bad.device.device_type = kDLCUDA;
  st = tessera_attention_forward(ctx, &bad, &tk, &tv, &to, &tl, &opt, NULL);
  printf("CUDA tensor in the interpreter: status %d: %s\n", st, tessera_last_error());
  if (st != TESSERA_ERROR_INVALID_ARGUMENT)
    return printf("FAIL\n"), 1;

  st = tessera_attention_forward(ctx, &tq, &tk, &tv, &to, &tl, &opt, NULL);
  if (st != TESSERA_OK)
    return printf("FAIL: forward: %s\n", tessera_last_error()), 1;
  /* float64 causal attention, [b, s, h, d] */
  double worst = 0, scale = 1 / sqrt((double)D);
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < S; ++i) {
      double p[S], m = -INFINITY, l = 0;
      for (int j = 0; j <= i; ++j) {
        double s = 0;
        for (int c = 0; c < D; ++c)
          s += (double)fromHalf(q[(i * H + h) * D + c]) * fromHalf(k[(j * H + h) * D + c]);
        p[j] = s * scale;
        m = p[j] > m ? p[j] : m;
      }
      for (int j = 0; j <= i; ++j)
        l += (p[j] = exp(p[j] - m));
      for (int c = 0; c < D; ++c) {
        double acc = 0;
        for (int j = 0; j <= i; ++j)
          acc += p[j] / l * fromHalf(v[(j * H + h) * D + c]);
        double e = fabs(fromHalf(o[(i * H + h) * D + c]) - acc);
        worst = e > worst ? e : worst;
      }
      double e = fabs(lse[h * S + i] - (m + log(l)));
      worst = e > worst ? e : worst;
    }
  printf("attention forward (C API, interpreter, causal b=%d s=%d h=%d d=%d): max |error| %.2e\n",
         B, S, H, D, worst);
  if (worst > 5e-3)
    return printf("FAIL\n"), 1;

  /* The backward with the context's workspace and with the caller's
   * (options.workspace): deterministic, so the same bits.  A workspace too
   * small or misaligned is refused. */
  uint16_t *dout = malloc(n * 2), *grads[2][3];
  for (size_t i = 0; i < n; ++i)
    dout[i] = toHalf((float)rand() / RAND_MAX * 2 - 1);
  size_t wsBytes = tessera_attention_backward_workspace_bytes(B, H, S, D, 1);
  if (wsBytes < (size_t)B * H * S * 4 || tessera_attention_backward_workspace_bytes(-1, H, S, D, 1))
    return printf("FAIL: workspace bytes %zu\n", wsBytes), 1;
  unsigned char *wsMem = aligned_alloc(64, (wsBytes + 64 + 63) / 64 * 64);
  int64_t wsShape[1] = {(int64_t)wsBytes};
  DLTensor tws = tensor(wsMem, 1, wsShape, kDLUInt, 8), tdo = tensor(dout, 4, shape, kDLFloat, 16);
  for (int run = 0; run < 2; ++run) {
    DLTensor tg[3];
    for (int g = 0; g < 3; ++g)
      grads[run][g] = malloc(n * 2), tg[g] = tensor(grads[run][g], 4, shape, kDLFloat, 16);
    opt.workspace = run ? &tws : NULL;
    st = tessera_attention_backward(ctx, &tq, &tk, &tv, &to, &tdo, &tl, &tg[0], &tg[1], &tg[2],
                                    &opt, NULL);
    if (st != TESSERA_OK)
      return printf("FAIL: backward (workspace %s): %s\n", run ? "given" : "the context's",
                    tessera_last_error()), 1;
  }
  for (int g = 0; g < 3; ++g)
    if (memcmp(grads[0][g], grads[1][g], n * 2) != 0)
      return printf("FAIL: gradient %d differs with the caller's workspace\n", g), 1;
  printf("backward with the caller's workspace (%zu bytes): the same bits\n", wsBytes);
  DLTensor tg[3];
  for (int g = 0; g < 3; ++g)
    tg[g] = tensor(grads[0][g], 4, shape, kDLFloat, 16);
  int64_t smallShape[1] = {(int64_t)wsBytes - 4};
  DLTensor small = tensor(wsMem, 1, smallShape, kDLUInt, 8), shifted = tensor(wsMem + 4, 1, wsShape, kDLUInt, 8);
  DLTensor *badWs[2] = {&small, &shifted};
  const char *want[2] = {"needs", "multiple of 16"};
  for (int i = 0; i < 2; ++i) {
    opt.workspace = badWs[i];
    st = tessera_attention_backward(ctx, &tq, &tk, &tv, &to, &tdo, &tl, &tg[0], &tg[1], &tg[2],
                                    &opt, NULL);
    printf("bad workspace: status %d: %s\n", st, tessera_last_error());
    if (st != TESSERA_ERROR_INVALID_ARGUMENT || !strstr(tessera_last_error(), want[i]))
      return printf("FAIL\n"), 1;
  }
  for (int run = 0; run < 2; ++run)
    for (int g = 0; g < 3; ++g)
      free(grads[run][g]);
  free(dout), free(wsMem);
  tessera_close(ctx);
  free(q), free(k), free(v), free(o), free(lse);
  printf("C API: ok\n");
  return 0;
}
