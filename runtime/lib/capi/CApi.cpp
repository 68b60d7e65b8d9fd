//===- CApi.cpp - tessera.h: attention over DLPack tensors ----------------===//
//
// Each entry point turns DLTensors into borrowed rt::Buffers and
// AttentionStrides, calls jit::attentionForward / attentionBackward (which
// check everything else before launch), and turns every exception into a
// status and a per-thread message.
//
//===----------------------------------------------------------------------===//
#include "tessera.h"

#include "tessera/jit/Attention.h"
#include "tessera/rt/Driver.h"
#include "tessera/rt/Runtime.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

using namespace tessera;

struct tessera_context {
  int ordinal = 0;
  std::unique_ptr<jit::Jit> jit;
  /// The backward passes' workspaces, one per stream, grown and never shrunk:
  /// allocating and freeing one per call cost a cuMemAlloc and a cuMemFree
  /// (which waits for the whole device) in every training step.  `mutex`
  /// is held from taking a workspace until the call's launches are queued,
  /// so a growth (its cuMemFree waits for pending work) never frees memory
  /// another thread's call is about to use.
  std::mutex mutex;
  std::map<void *, tessera::rt::Buffer> workspaces;
  /// Block masks by (mask name, batch, heads, seq_q, seq_k, data, stream),
  /// with the borrowed view of the data they read.  A mask that reads data
  /// has its lists rebuilt by every call (the data may have changed), on
  /// the call's stream; one that does not keeps them.
  struct Mask {
    tessera::rt::Buffer data;
    std::shared_ptr<tessera::jit::BlockMask> mask;
  };
  std::map<std::tuple<std::string, int, int, int, int, void *, void *>, Mask> masks;
};

namespace {

thread_local std::string lastError;

tessera_status fail(tessera_status status, const std::string &message) {
  lastError = message;
  return status;
}

/// Runs `body`, mapping what it throws to a status.
template <class F> tessera_status guarded(F &&body) {
  try {
    body();
    lastError.clear();
    return TESSERA_OK;
  } catch (const rt::DriverError &e) {
    return fail(e.kind == rt::DriverError::Kind::Call ? TESSERA_ERROR_DRIVER
                                                      : TESSERA_ERROR_NO_GPU,
                e.what());
  } catch (const dsl::DslError &e) {
    return fail(TESSERA_ERROR_COMPILE, e.what());
  } catch (const Error &e) {
    return fail(TESSERA_ERROR_INVALID_ARGUMENT, e.what());
  } catch (const std::exception &e) {
    return fail(TESSERA_ERROR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(TESSERA_ERROR_INTERNAL, "internal error: an unknown exception");
  }
}

/// One tensor argument: a borrowed buffer and its strides as
/// [batch, heads, seq, head_dim].
struct Tensor {
  rt::Buffer buffer;
  jit::AttentionStrides strides;
  int64_t shape[4] = {0, 0, 0, 0}; // batch, heads, seq, head_dim
};

std::string dtypeName(DLDataType t) {
  if (t.lanes == 1 && t.bits == 16 && t.code == kDLFloat)
    return "f16";
  if (t.lanes == 1 && t.bits == 16 && t.code == kDLBfloat)
    return "bf16";
  if (t.lanes == 1 && t.bits == 32 && t.code == kDLFloat)
    return "f32";
  return "";
}

void checkDevice(const tessera_context *ctx, const DLTensor *t, const char *name) {
  bool host = rt::interpretMode();
  bool ok = host ? t->device.device_type == kDLCPU
                 : t->device.device_type == kDLCUDA || t->device.device_type == kDLCUDAManaged;
  if (!ok)
    throw Error(std::string(name) + ": " +
                (host ? "the interpreter (TESSERA_INTERPRET=1) takes host tensors (kDLCPU)"
                      : "a GPU context takes CUDA tensors (kDLCUDA)") +
                ", got device type " + std::to_string(int(t->device.device_type)));
  if (!host && t->device.device_id != ctx->ordinal)
    throw Error(std::string(name) + ": on device " + std::to_string(t->device.device_id) +
                ", the context is on device " + std::to_string(ctx->ordinal));
}

/// An f16/bf16 tensor of `ndim` dimensions described as `dims`: its
/// borrowed buffer and its strides (in elements; row-major when absent).
rt::Buffer halfTensor(const tessera_context *ctx, const DLTensor *t, const char *name, int ndim,
                      const char *dims, int64_t *st) {
  if (!t)
    throw Error(std::string(name) + ": null tensor");
  checkDevice(ctx, t, name);
  if (t->ndim != ndim)
    throw Error(std::string(name) + ": " + std::to_string(ndim) + " dimensions expected (" +
                dims + "), got " + std::to_string(t->ndim));
  std::string dtype = dtypeName(t->dtype);
  if (dtype != "f16" && dtype != "bf16")
    throw Error(std::string(name) + ": float16 or bfloat16 expected");
  int64_t run = 1, last = 0;
  for (int i = ndim - 1; i >= 0; --i) {
    if (t->shape[i] <= 0)
      throw Error(std::string(name) + ": dimension " + std::to_string(i) + " is " +
                  std::to_string(t->shape[i]) + "; every dimension must be positive");
    // A dimension of size 1 is never stepped along: its stride says nothing
    // (exporters differ: PyTorch 1.13 writes 1 there), so take row-major's.
    st[i] = t->strides && t->shape[i] != 1 ? t->strides[i] : run;
    if (st[i] < 0)
      throw Error(std::string(name) + ": negative strides are not supported");
    run *= t->shape[i];
    last += (t->shape[i] - 1) * st[i]; // the view spans up to its last element
  }
  return rt::Buffer::borrow(
      reinterpret_cast<CUdeviceptr>(static_cast<char *>(t->data) + t->byte_offset),
      size_t(last + 1) * 2, dtype);
}

/// A 4-D attention tensor in `layout`.
Tensor attentionTensor(const tessera_context *ctx, const DLTensor *t, const char *name,
                       tessera_layout layout) {
  bool bshd = layout == TESSERA_LAYOUT_BSHD;
  int64_t st[4];
  Tensor out;
  out.buffer = halfTensor(ctx, t, name, 4,
                          bshd ? "[batch, seq, heads, head_dim]" : "[batch, heads, seq, head_dim]",
                          st);
  int s = bshd ? 1 : 2, h = bshd ? 2 : 1;
  out.strides = {st[0], st[h], st[s], st[3]};
  out.shape[0] = t->shape[0], out.shape[1] = t->shape[h], out.shape[2] = t->shape[s],
  out.shape[3] = t->shape[3];
  return out;
}

/// A packed varlen tensor [total, heads, head_dim]: shape {1, heads, total,
/// head_dim} (the batch comes from cu_seqlens).
Tensor packedTensor(const tessera_context *ctx, const DLTensor *t, const char *name) {
  int64_t st[3];
  Tensor out;
  out.buffer = halfTensor(ctx, t, name, 3, "[total, heads, head_dim]", st);
  out.strides = {0, st[1], st[0], st[2]};
  out.shape[0] = 1, out.shape[1] = t->shape[1], out.shape[2] = t->shape[0],
  out.shape[3] = t->shape[2];
  return out;
}

/// cu_seqlens: int32 [batch + 1], row-major.
rt::Buffer offsetsBuffer(const tessera_context *ctx, const DLTensor *t, const char *name) {
  if (!t)
    throw Error(std::string(name) + ": null tensor");
  checkDevice(ctx, t, name);
  if (t->dtype.code != kDLInt || t->dtype.bits != 32 || t->dtype.lanes != 1 || t->ndim != 1 ||
      t->shape[0] < 2 || (t->strides && t->strides[0] != 1))
    throw Error(std::string(name) + ": a contiguous int32 vector of batch + 1 >= 2 offsets expected");
  return rt::Buffer::borrow(
      reinterpret_cast<CUdeviceptr>(static_cast<char *>(t->data) + t->byte_offset),
      size_t(t->shape[0]) * 4, "i32");
}

/// lse: float32 [batch, heads, seq_q], row-major.
rt::Buffer lseBuffer(const tessera_context *ctx, const DLTensor *t, const jit::AttentionProblem &p) {
  if (!t)
    throw Error("lse: null tensor");
  checkDevice(ctx, t, "lse");
  if (dtypeName(t->dtype) != "f32")
    throw Error("lse: float32 expected");
  int64_t want[3] = {p.batch, p.heads, p.seqQ};
  if (t->ndim != 3 || t->shape[0] != want[0] || t->shape[1] != want[1] || t->shape[2] != want[2])
    throw Error("lse: shape [" + std::to_string(p.batch) + ", " + std::to_string(p.heads) + ", " +
                std::to_string(p.seqQ) + "] expected");
  // Row-major; a dimension of size 1 may carry any stride.
  int64_t rowMajor[3] = {int64_t(p.heads) * p.seqQ, p.seqQ, 1};
  for (int i = 0; i < 3 && t->strides; ++i)
    if (want[i] != 1 && t->strides[i] != rowMajor[i])
      throw Error("lse: must be row-major (contiguous)");
  return rt::Buffer::borrow(reinterpret_cast<CUdeviceptr>(static_cast<char *>(t->data) + t->byte_offset),
                            size_t(p.batch) * p.heads * p.seqQ * 4, "f32");
}

jit::AttentionProblem problemOf(const Tensor &q, const Tensor &k,
                                const tessera_attention_options &o) {
  for (int64_t x : {q.shape[0], q.shape[1], q.shape[2], q.shape[3], k.shape[1], k.shape[2]})
    if (x > INT32_MAX)
      throw Error("a dimension past 2^31 - 1");
  if (k.shape[0] != q.shape[0] || k.shape[3] != q.shape[3])
    throw Error("k: batch and head_dim must match q's");
  jit::AttentionProblem p;
  p.batch = int(q.shape[0]), p.heads = int(q.shape[1]), p.kvHeads = int(k.shape[1]);
  p.seqQ = int(q.shape[2]), p.seqK = int(k.shape[2]), p.headDim = int(q.shape[3]);
  p.causal = o.causal != 0;
  p.scale = o.scale;
  return p;
}

/// The options' score and mask modifiers and dropout, set on `p` (built-ins by name).
void applyModifiers(tessera_context *ctx, jit::AttentionProblem &p,
                    const tessera_attention_options &o, void *stream) {
  if (o.score_mod)
    p.scoreMod = kernels::findScoreMod(o.score_mod);
  if (o.dropout_p != 0)
    p.dropout = jit::AttentionDropout{o.dropout_p, o.dropout_seed, o.dropout_offset};
  if (!o.mask_mod) {
    if (o.mask_data)
      throw Error("mask_data: given without a mask_mod");
    return;
  }
  kernels::MaskMod mod = kernels::findMaskMod(o.mask_mod);
  if (mod.usesData && rt::isCapturing(CUstream(stream)))
    throw Error("mask '" + mod.name +
                "' under CUDA graph capture: it reads mask_data, so every call rebuilds its "
                "block lists in memory the context keeps per stream, which a graph cannot "
                "hold; run it outside the graph");
  rt::Buffer data;
  void *dataPtr = nullptr;
  if (const DLTensor *t = o.mask_data) {
    checkDevice(ctx, t, "mask_data");
    if (t->dtype.code != kDLInt || t->dtype.bits != 32 || t->dtype.lanes != 1 || t->ndim != 2 ||
        t->shape[0] != p.batch || t->shape[1] <= 0 ||
        (t->strides && (t->strides[1] != 1 || t->strides[0] != t->shape[1])))
      throw Error("mask_data: a row-major int32 [batch = " + std::to_string(p.batch) +
                  ", n] tensor expected");
    dataPtr = static_cast<char *>(t->data) + t->byte_offset;
    data = rt::Buffer::borrow(reinterpret_cast<CUdeviceptr>(dataPtr),
                              size_t(t->shape[0] * t->shape[1]) * 4, "i32");
  }
  std::lock_guard<std::mutex> lock(ctx->mutex);
  auto key = std::make_tuple(mod.name, p.batch, p.heads, p.seqQ, p.seqK, dataPtr,
                             mod.usesData ? stream : nullptr);
  auto it = ctx->masks.find(key);
  if (it == ctx->masks.end()) {
    // A map node keeps its address: the mask points at the stored view.
    it = ctx->masks.emplace(key, tessera_context::Mask{std::move(data), nullptr}).first;
    try {
      it->second.mask = std::make_shared<jit::BlockMask>(mod, p.batch, p.heads, p.seqQ, p.seqK,
                                                         dataPtr ? &it->second.data : nullptr);
    } catch (...) {
      ctx->masks.erase(it);
      throw;
    }
  } else if (mod.usesData) {
    it->second.mask->invalidate();
  }
  p.mask = it->second.mask;
}

/// The workspace of a backward call, at least `bytes` long: the options'
/// (borrowed into `given`), else the context's for `stream` (the caller
/// holds ctx->mutex).  A capture gets no context workspace: the graph would
/// keep its address after a later call reallocated it.
rt::Buffer &workspaceFor(tessera_context *ctx, const tessera_attention_options &o, void *stream,
                         size_t bytes, rt::Buffer &given) {
  if (const DLTensor *t = o.workspace) {
    checkDevice(ctx, t, "workspace");
    // Contiguous: every stride row-major's (dimensions of size 1 excepted).
    int64_t elems = 1;
    for (int i = t->ndim - 1; i >= 0; --i) {
      if (t->shape[i] < 0)
        throw Error("workspace: dimension " + std::to_string(i) + " is negative");
      if (t->strides && t->shape[i] != 1 && t->strides[i] != elems)
        throw Error("workspace: must be contiguous");
      elems *= t->shape[i];
    }
    // Whole bytes only (a sub-byte dtype packs several elements per byte).
    size_t have = size_t(elems) * t->dtype.bits * t->dtype.lanes / 8;
    if (have < bytes)
      throw Error("workspace: holds " + std::to_string(have) + " bytes; this call needs " +
                  std::to_string(bytes) + " (tessera_attention_backward_workspace_bytes)");
    auto addr = reinterpret_cast<uintptr_t>(static_cast<char *>(t->data) + t->byte_offset);
    if (addr % 16 != 0)
      throw Error("workspace: its address must be a multiple of 16 bytes");
    given = rt::Buffer::borrow(CUdeviceptr(addr), have, "f32");
    return given;
  }
  if (rt::isCapturing(CUstream(stream)))
    throw Error("attention backward under CUDA graph capture: pass options->workspace (the "
                "context's per-stream workspace may be reallocated after the graph is made)");
  rt::Buffer &ws = ctx->workspaces[stream];
  if (ws.bytes() < bytes || ws.dtype() != "f32")
    ws = rt::Buffer(bytes, "f32");
  return ws;
}

/// Every entry point may be called from any thread (PyTorch runs backward
/// passes on its autograd thread): the device's context is made current.
void enter(const tessera_context *ctx) {
  if (!rt::interpretMode())
    rt::makeCurrent(ctx->jit->device());
}

/// The problem of a packed batch: its batch from the offsets' length, its
/// lengths bounded by max_seqlen_q/k (the library checks the offsets).
jit::AttentionProblem varlenProblem(const Tensor &q, const Tensor &k, const DLTensor *cuQ,
                                    const DLTensor *cuK, int maxQ, int maxK,
                                    const tessera_attention_options &o) {
  if (cuQ->shape[0] != cuK->shape[0])
    throw Error("cu_seqlens_q and cu_seqlens_k must have the same length (batch + 1)");
  if (maxQ <= 0 || maxK <= 0)
    throw Error("max_seqlen_q and max_seqlen_k must be positive");
  jit::AttentionProblem p = problemOf(q, k, o);
  p.batch = int(cuQ->shape[0] - 1), p.seqQ = maxQ, p.seqK = maxK;
  return p;
}

void sameShape(const Tensor &a, const Tensor &ref, const char *name, const char *refName) {
  for (int i = 0; i < 4; ++i)
    if (a.shape[i] != ref.shape[i])
      throw Error(std::string(name) + ": must have " + refName + "'s shape");
}

/// The tensors of one call, each checked against q's or k's shape: q, k, v
/// and o, and for a backward call dout, dq, dk and dv.  `make` reads one
/// DLTensor (as [b, s, h, d] / [b, h, s, d], or packed).
struct Tensors {
  Tensor q, k, v, o, dout, dq, dk, dv;
};
template <class Make>
Tensors tensorsOf(Make make, const DLTensor *q, const DLTensor *k, const DLTensor *v,
                  const DLTensor *o, const DLTensor *dout = nullptr, const DLTensor *dq = nullptr,
                  const DLTensor *dk = nullptr, const DLTensor *dv = nullptr) {
  Tensors t{make(q, "q"), make(k, "k"), make(v, "v"), make(o, "o"), {}, {}, {}, {}};
  sameShape(t.v, t.k, "v", "k");
  sameShape(t.o, t.q, "o", "q");
  if (dout) {
    t.dout = make(dout, "dout"), t.dq = make(dq, "dq"), t.dk = make(dk, "dk"), t.dv = make(dv, "dv");
    sameShape(t.dout, t.q, "dout", "q");
    sameShape(t.dq, t.q, "dq", "q");
    sameShape(t.dk, t.k, "dk", "k");
    sameShape(t.dv, t.k, "dv", "k");
  }
  return t;
}

} // namespace

extern "C" {

int tessera_c_api_version(void) { return TESSERA_C_API_VERSION; }

const char *tessera_last_error(void) { return lastError.c_str(); }

tessera_attention_options tessera_attention_options_default(void) {
  return {0, 0.0f, TESSERA_LAYOUT_BSHD, 1, nullptr, nullptr, nullptr, 0.0f, 0, 0, nullptr};
}

size_t tessera_attention_backward_workspace_bytes(int batch, int heads, int seq_q, int head_dim,
                                                  int deterministic) {
  if (batch < 0 || heads < 0 || seq_q < 0 || head_dim < 0 ||
      __int128(batch) * heads * seq_q * std::max(head_dim, 1) > (__int128(1) << 60))
    return 0;
  jit::AttentionProblem p;
  p.batch = batch, p.heads = heads, p.seqQ = seq_q, p.headDim = head_dim;
  jit::AttentionBackwardOptions bo;
  bo.deterministic = deterministic != 0;
  return jit::attentionBackwardWorkspaceBytes(p, bo);
}

tessera_status tessera_open(int device_ordinal, tessera_context **out) {
  if (!out)
    return fail(TESSERA_ERROR_INVALID_ARGUMENT, "tessera_open: null output pointer");
  *out = nullptr;
  return guarded([&] {
    auto ctx = std::make_unique<tessera_context>();
    ctx->ordinal = device_ordinal;
    ctx->jit = std::make_unique<jit::Jit>(device_ordinal);
    *out = ctx.release();
  });
}

void tessera_close(tessera_context *ctx) {
  if (!ctx)
    return;
  try {
    enter(ctx); // the workspaces are freed in the device's context
  } catch (...) {
  }
  delete ctx;
}

int tessera_interpreted(const tessera_context *) { return rt::interpretMode() ? 1 : 0; }

tessera_status tessera_attention_forward(tessera_context *ctx, const DLTensor *q,
                                         const DLTensor *k, const DLTensor *v, DLTensor *o,
                                         DLTensor *lse, const tessera_attention_options *options,
                                         void *stream) {
  if (!ctx)
    return fail(TESSERA_ERROR_INVALID_ARGUMENT, "attention forward: null context");
  return guarded([&] {
    tessera_attention_options opt = options ? *options : tessera_attention_options_default();
    enter(ctx);
    auto make = [&](const DLTensor *t, const char *name) {
      return attentionTensor(ctx, t, name, opt.layout);
    };
    Tensors t = tensorsOf(make, q, k, v, o);
    jit::AttentionProblem p = problemOf(t.q, t.k, opt);
    applyModifiers(ctx, p, opt, stream);
    rt::Buffer tl = lseBuffer(ctx, lse, p);
    jit::attentionForward(*ctx->jit, p, t.q.buffer, t.q.strides, t.k.buffer, t.k.strides,
                          t.v.buffer, t.v.strides, t.o.buffer, t.o.strides, tl, CUstream(stream));
  });
}

tessera_status tessera_attention_backward(tessera_context *ctx, const DLTensor *q,
                                          const DLTensor *k, const DLTensor *v, const DLTensor *o,
                                          const DLTensor *dout, const DLTensor *lse, DLTensor *dq,
                                          DLTensor *dk, DLTensor *dv,
                                          const tessera_attention_options *options, void *stream) {
  if (!ctx)
    return fail(TESSERA_ERROR_INVALID_ARGUMENT, "attention backward: null context");
  return guarded([&] {
    tessera_attention_options opt = options ? *options : tessera_attention_options_default();
    enter(ctx);
    auto make = [&](const DLTensor *t, const char *name) {
      return attentionTensor(ctx, t, name, opt.layout);
    };
    Tensors t = tensorsOf(make, q, k, v, o, dout, dq, dk, dv);
    jit::AttentionProblem p = problemOf(t.q, t.k, opt);
    applyModifiers(ctx, p, opt, stream);
    rt::Buffer tl = lseBuffer(ctx, lse, p);
    jit::AttentionBackwardOptions bo;
    bo.deterministic = opt.deterministic != 0;
    std::lock_guard<std::mutex> lock(ctx->mutex);
    rt::Buffer given;
    rt::Buffer &ws =
        workspaceFor(ctx, opt, stream, jit::attentionBackwardWorkspaceBytes(p, bo), given);
    jit::attentionBackward(*ctx->jit, p, t.q.buffer, t.q.strides, t.k.buffer, t.k.strides,
                           t.v.buffer, t.v.strides, t.o.buffer, t.o.strides, t.dout.buffer,
                           t.dout.strides, tl, t.dq.buffer, t.dq.strides, t.dk.buffer,
                           t.dk.strides, t.dv.buffer, t.dv.strides, ws, CUstream(stream), bo);
  });
}

tessera_status tessera_attention_forward_varlen(tessera_context *ctx, const DLTensor *q,
                                                const DLTensor *k, const DLTensor *v, DLTensor *o,
                                                DLTensor *lse, const DLTensor *cu_seqlens_q,
                                                const DLTensor *cu_seqlens_k, int max_seqlen_q,
                                                int max_seqlen_k,
                                                const tessera_attention_options *options,
                                                void *stream) {
  if (!ctx)
    return fail(TESSERA_ERROR_INVALID_ARGUMENT, "attention forward (varlen): null context");
  return guarded([&] {
    tessera_attention_options opt = options ? *options : tessera_attention_options_default();
    enter(ctx);
    auto make = [&](const DLTensor *t, const char *name) { return packedTensor(ctx, t, name); };
    Tensors t = tensorsOf(make, q, k, v, o);
    rt::Buffer cq = offsetsBuffer(ctx, cu_seqlens_q, "cu_seqlens_q"),
               ck = offsetsBuffer(ctx, cu_seqlens_k, "cu_seqlens_k");
    jit::AttentionProblem p = varlenProblem(t.q, t.k, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                                            max_seqlen_k, opt);
    applyModifiers(ctx, p, opt, stream);
    rt::Buffer tl = lseBuffer(ctx, lse, p);
    jit::attentionForwardVarlen(*ctx->jit, p, t.q.buffer, t.q.strides, t.k.buffer, t.k.strides,
                                t.v.buffer, t.v.strides, t.o.buffer, t.o.strides, tl, cq, ck,
                                CUstream(stream));
  });
}

tessera_status tessera_attention_backward_varlen(
    tessera_context *ctx, const DLTensor *q, const DLTensor *k, const DLTensor *v,
    const DLTensor *o, const DLTensor *dout, const DLTensor *lse, DLTensor *dq, DLTensor *dk,
    DLTensor *dv, const DLTensor *cu_seqlens_q, const DLTensor *cu_seqlens_k, int max_seqlen_q,
    int max_seqlen_k, const tessera_attention_options *options, void *stream) {
  if (!ctx)
    return fail(TESSERA_ERROR_INVALID_ARGUMENT, "attention backward (varlen): null context");
  return guarded([&] {
    tessera_attention_options opt = options ? *options : tessera_attention_options_default();
    enter(ctx);
    auto make = [&](const DLTensor *t, const char *name) { return packedTensor(ctx, t, name); };
    Tensors t = tensorsOf(make, q, k, v, o, dout, dq, dk, dv);
    rt::Buffer cq = offsetsBuffer(ctx, cu_seqlens_q, "cu_seqlens_q"),
               ck = offsetsBuffer(ctx, cu_seqlens_k, "cu_seqlens_k");
    jit::AttentionProblem p = varlenProblem(t.q, t.k, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                                            max_seqlen_k, opt);
    applyModifiers(ctx, p, opt, stream);
    rt::Buffer tl = lseBuffer(ctx, lse, p);
    jit::AttentionBackwardOptions bo;
    bo.deterministic = opt.deterministic != 0;
    std::lock_guard<std::mutex> lock(ctx->mutex);
    rt::Buffer given;
    rt::Buffer &ws =
        workspaceFor(ctx, opt, stream, jit::attentionBackwardWorkspaceBytes(p, bo), given);
    jit::attentionBackwardVarlen(*ctx->jit, p, t.q.buffer, t.q.strides, t.k.buffer, t.k.strides,
                                 t.v.buffer, t.v.strides, t.o.buffer, t.o.strides, t.dout.buffer,
                                 t.dout.strides, tl, t.dq.buffer, t.dq.strides, t.dk.buffer,
                                 t.dk.strides, t.dv.buffer, t.dv.strides, cq, ck, ws,
                                 CUstream(stream), bo);
  });
}

} // extern "C"
