/*===- tessera.h - Tessera's C API: attention over DLPack tensors -----------===
 *
 * A C ABI for programs in any language (C, C++, Rust, Julia, Python through
 * ctypes): FlashAttention forward and backward on DLPack tensors (DLTensor,
 * dlpack/dlpack.h), on the caller's stream.  Every function returns a
 * tessera_status; on failure tessera_last_error() (per thread) says why.  No
 * C++ exception crosses this boundary.  Library: libtessera.so.
 *
 * Tensors: q, o, dout, dq [batch, seq_q, heads, head_dim] (TESSERA_LAYOUT_BSHD)
 * or [batch, heads, seq_q, head_dim] (TESSERA_LAYOUT_BHSD); k, v, dk, dv the
 * same with kv_heads and seq_k (kv_heads dividing heads: grouped-query; a
 * head stride of 0: multi-query); f16 or bf16, any strides (in elements;
 * NULL = row-major); lse float32 [batch, heads, seq_q] row-major.  Device
 * memory (kDLCUDA) on a GPU; host memory (kDLCPU) when the context runs in
 * the interpreter (TESSERA_INTERPRET=1).
 *===----------------------------------------------------------------------===*/
#ifndef TESSERA_H
#define TESSERA_H

#include <dlpack/dlpack.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TESSERA_API __attribute__((visibility("default")))
/* 2: tessera_attention_options gained score_mod, mask_mod, mask_data and
 * dropout_p/_seed/_offset.  3: workspace, and
 * tessera_attention_backward_workspace_bytes. */
#define TESSERA_C_API_VERSION 3

typedef enum {
  TESSERA_OK = 0,
  TESSERA_ERROR_INVALID_ARGUMENT = 1, /* shapes, dtypes, strides, devices, aliasing */
  TESSERA_ERROR_NO_GPU = 2,           /* no driver or no device */
  TESSERA_ERROR_DRIVER = 3,           /* a CUDA driver call failed */
  TESSERA_ERROR_COMPILE = 4,          /* a kernel could not be built */
  TESSERA_ERROR_INTERNAL = 5
} tessera_status;

typedef enum { TESSERA_LAYOUT_BSHD = 0, TESSERA_LAYOUT_BHSD = 1 } tessera_layout;

typedef struct {
  int causal;            /* top-left aligned (query i sees keys j <= i) */
  float scale;           /* 0: 1 / sqrt(head_dim) */
  tessera_layout layout;
  int deterministic;     /* backward: bit-identical gradients run to run */
  /* A built-in score modifier by name, traced into the kernels, or NULL:
   * "softcap.30" (cap * tanh(s / cap), tanh.approx), "softcap_exact.30",
   * "alibi.16" (ALiBi slopes for 16 heads); or "expr:" and an expression
   * over s (the scaled score), q and k (positions), h (head), b (batch),
   * e.g. "expr:s - 0.5 * abs(q - k)" (the language: kernels::scoremods::
   * expression; the backward derives its derivative). */
  const char *score_mod;
  /* A built-in mask by name, ANDed with `causal`, or NULL: "causal",
   * "causal_bottom_right", "sliding_window.L.R" (bottom-right aligned, L keys
   * back and R ahead; "inf" unbounded), "prefix_lm.P", "document" (reads
   * mask_data), or "expr:" and a condition over q, k, h, b, sq, sk, e.g.
   * "expr:k <= q && q - k < 256" (kernels::maskmods::expression).  The kernels visit only the blocks it leaves anything in; a
   * row it leaves no key gets output 0 and lse -inf.  With the varlen entry
   * points it applies to each sequence's own positions and lengths
   * (mask_data then has a row per sequence). */
  const char *mask_mod;
  /* int32 [batch, n] the mask reads ("document": each key's document id,
   * [batch, seq_k]), row-major, or NULL.  Read afresh by every call. */
  const DLTensor *mask_data;
  /* Dropout on the probabilities, in [0, 1) (0: none); the mask comes from
   * Philox keyed by dropout_seed at counter (key, query, batch * heads +
   * head, dropout_offset): pass the same three to the backward. */
  float dropout_p;
  uint64_t dropout_seed;
  uint32_t dropout_offset;
  /* The backward's scratch memory, or NULL for the context's own (one per
   * stream, grown as calls need).  Device memory (host in the interpreter),
   * contiguous, any dtype, at least tessera_attention_backward_workspace_bytes
   * bytes, not shared with a call running at the same time.  CUDA graph
   * capture needs it: a captured graph keeps the addresses it was given, and
   * the context's workspace may be reallocated by a later, larger call
   * (capturing without one is refused). */
  const DLTensor *workspace;
} tessera_attention_options;

/* A JIT for one device (or the CPU interpreter), with its kernel cache. */
typedef struct tessera_context tessera_context;

TESSERA_API int tessera_c_api_version(void);
/* The message of the last failure on this thread ("" if none). */
TESSERA_API const char *tessera_last_error(void);
/* Defaults: not causal, scale 1/sqrt(d), BSHD, deterministic, no modifiers. */
TESSERA_API tessera_attention_options tessera_attention_options_default(void);

TESSERA_API tessera_status tessera_open(int device_ordinal, tessera_context **out);
TESSERA_API void tessera_close(tessera_context *ctx);
/* 1 if the context runs kernels in the CPU interpreter (host tensors). */
TESSERA_API int tessera_interpreted(const tessera_context *ctx);

/* o = softmax(q k^T * scale) v, and lse = the rows' logsumexp (for the
 * backward).  `stream`: a CUstream, NULL for the default stream. */
TESSERA_API tessera_status tessera_attention_forward(tessera_context *ctx, const DLTensor *q,
                                                     const DLTensor *k, const DLTensor *v,
                                                     DLTensor *o, DLTensor *lse,
                                                     const tessera_attention_options *options,
                                                     void *stream);

/* dq, dk, dv from the forward's q, k, v, o, lse and the output's gradient
 * dout.  Its f32 workspace is options->workspace, else kept in the context,
 * one per stream, grown when a call needs more and freed by tessera_close.
 * Calls on one context are serialized on the host while they queue their
 * launches.  Under CUDA graph capture (of the forward too): call once on
 * the same shapes before capturing, so that kernels are compiled and masks'
 * block lists built outside the graph; a mask that reads mask_data is
 * refused while capturing (its lists live in the context, per stream). */
TESSERA_API tessera_status tessera_attention_backward(
    tessera_context *ctx, const DLTensor *q, const DLTensor *k, const DLTensor *v,
    const DLTensor *o, const DLTensor *dout, const DLTensor *lse, DLTensor *dq, DLTensor *dk,
    DLTensor *dv, const tessera_attention_options *options, void *stream);

/* Bytes of the workspace tessera_attention_backward(_varlen) needs: for a
 * packed batch, `batch` is the number of sequences and seq_q max_seqlen_q.
 * 0 for a negative or absurdly large (over 2^60 values) size. */
TESSERA_API size_t tessera_attention_backward_workspace_bytes(int batch, int heads, int seq_q,
                                                              int head_dim, int deterministic);

/* Packed variable-length batches: q, o, dout, dq [total_q, heads, head_dim]
 * and k, v, dk, dv [total_k, kv_heads, head_dim] (any strides); sequence b is
 * rows cu_seqlens_q[b] .. cu_seqlens_q[b + 1] - 1 (int32 [batch + 1],
 * row-major; likewise cu_seqlens_k); max_seqlen_q/k bound the lengths; lse is
 * float32 [batch, heads, max_seqlen_q]; a causal mask aligns each sequence's
 * first query and key.  options->layout is not used. */
TESSERA_API tessera_status tessera_attention_forward_varlen(
    tessera_context *ctx, const DLTensor *q, const DLTensor *k, const DLTensor *v, DLTensor *o,
    DLTensor *lse, const DLTensor *cu_seqlens_q, const DLTensor *cu_seqlens_k, int max_seqlen_q,
    int max_seqlen_k, const tessera_attention_options *options, void *stream);

TESSERA_API tessera_status tessera_attention_backward_varlen(
    tessera_context *ctx, const DLTensor *q, const DLTensor *k, const DLTensor *v,
    const DLTensor *o, const DLTensor *dout, const DLTensor *lse, DLTensor *dq, DLTensor *dk,
    DLTensor *dv, const DLTensor *cu_seqlens_q, const DLTensor *cu_seqlens_k, int max_seqlen_q,
    int max_seqlen_k, const tessera_attention_options *options, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_H */
