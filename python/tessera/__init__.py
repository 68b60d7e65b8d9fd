"""Tessera's FlashAttention from Python: a thin adapter over the C API.

    import tessera
    out = tessera.attention(q, k, v, causal=True)      # torch tensors, autograd

Tensors are passed by DLPack (no copies): PyTorch CUDA tensors on the
current stream, or NumPy arrays when Tessera runs in its CPU interpreter
(TESSERA_INTERPRET=1).  Layout "bshd" ([batch, seq, heads, head_dim], what
torch.nn.functional.scaled_dot_product_attention's callers often hold
transposed) or "bhsd"; any strides; float16 or bfloat16; k/v may have fewer
heads than q (grouped-query attention).  Every check is the library's own:
a bad argument raises tessera.Error with its message.  No kernel logic here.
"""
import contextlib
import ctypes
import os

from . import _capi

Error = _capi.Error

__all__ = ["attention", "attention_forward", "attention_backward", "attention_varlen",
           "attention_varlen_forward", "attention_varlen_backward", "backward_workspace_bytes",
           "Error", "interpreted"]


def interpreted():
    """True when kernels run in Tessera's CPU interpreter (TESSERA_INTERPRET=1)."""
    return bool(_capi.lib().tessera_interpreted(_capi.context()))


def _options(causal, scale, layout, deterministic=True, score_mod=None, mask_mod=None,
             dropout=None):
    if layout not in ("bshd", "bhsd"):
        raise Error(f'layout must be "bshd" or "bhsd", got {layout!r}')
    o = _capi.Options()
    o.causal = 1 if causal else 0
    o.scale = float(scale or 0.0)
    o.layout = 0 if layout == "bshd" else 1
    o.deterministic = 1 if deterministic else 0
    o.score_mod = score_mod.encode() if score_mod else None
    o.mask_mod = mask_mod.encode() if mask_mod else None
    if dropout:  # (p, seed, offset)
        o.dropout_p, o.dropout_seed, o.dropout_offset = (float(dropout[0]), int(dropout[1]),
                                                          int(dropout[2]))
    return o


@contextlib.contextmanager
def _tensors(opts, *arrays, mask_data=None, workspace=None):
    """_capi.Tensors over the arrays; a mask's data and a workspace, if given,
    go into opts.mask_data and opts.workspace rather than the argument list."""
    extra = [x for x in (mask_data, workspace) if x is not None]
    with _capi.Tensors(*arrays, *extra) as t:
        if workspace is not None:
            opts.workspace = t.pop().value
        if mask_data is not None:
            opts.mask_data = t.pop().value
        yield t


def backward_workspace_bytes(batch, heads, seq_q, head_dim, deterministic=True):
    """Bytes of the scratch memory a backward call needs (its `workspace`
    argument): for a packed batch, batch = the number of sequences and
    seq_q = max_seqlen_q."""
    return int(_capi.lib().tessera_attention_backward_workspace_bytes(
        int(batch), int(heads), int(seq_q), int(head_dim), 1 if deterministic else 0))


def _dropout(dropout_p, seed, offset):
    """(p, seed, offset) for the options, or None; the seed drawn from torch's
    generator when not given."""
    if not dropout_p:
        return None
    if seed is None:
        import torch
        if torch.cuda.is_available() and torch.cuda.is_current_stream_capturing():
            # A seed drawn now would be a constant of the graph: every replay
            # would drop the same elements.
            raise Error("dropout under CUDA graph capture: a seed drawn while capturing would "
                        "repeat the same dropout mask on every replay; pass seed= (and offset=) "
                        "explicitly, or capture without dropout")
        seed = int(torch.randint(0, 2**63 - 1, (1,)).item())
    return (dropout_p, seed, offset)


def attention_forward(q, k, v, o, lse, *, causal=False, scale=None, layout="bshd", stream=None,
                      score_mod=None, mask_mod=None, mask_data=None, dropout=None):
    """o = softmax(q k^T * scale) v into `o`, the rows' logsumexp into `lse`
    (float32 [batch, heads, seq_q]).  Any DLPack-exporting arrays.
    score_mod / mask_mod: built-in modifiers by name (see tessera.h), e.g.
    score_mod="softcap.30", mask_mod="sliding_window.1024.0" or "document",
    or a score modifier as an expression over s (the scaled score), q, k
    (positions), h (head), b (batch): score_mod="expr:30 * tanh(s / 30)"
    (its derivative is derived; see scoremods::expression in Attention.h),
    and a mask as a condition over q, k, h, b, sq, sk: mask_mod="expr:k <= q",
    with mask_data an int32 [batch, seq_k] array of document ids.  dropout:
    (p, seed, offset), FlashAttention's dropout on the probabilities (the
    backward takes the same three and regenerates the mask)."""
    opts = _options(causal, scale, layout, True, score_mod, mask_mod, dropout)
    with _tensors(opts, q, k, v, o, lse, mask_data=mask_data) as t:
        _capi.check(_capi.lib().tessera_attention_forward(
            _capi.context(), *t, ctypes.byref(opts), _capi.stream_of(stream, q)))


def attention_backward(q, k, v, o, dout, lse, dq, dk, dv, *, causal=False, scale=None,
                       layout="bshd", deterministic=True, stream=None, score_mod=None,
                       mask_mod=None, mask_data=None, dropout=None, workspace=None):
    """dq, dk, dv (written in place) from the forward's inputs, output, lse and dout
    (the same modifiers as the forward).  workspace: a contiguous array of at least
    backward_workspace_bytes(...) bytes, else the library keeps one per stream
    (CUDA graph capture needs one given; tessera.attention passes one)."""
    opts = _options(causal, scale, layout, deterministic, score_mod, mask_mod, dropout)
    with _tensors(opts, q, k, v, o, dout, lse, dq, dk, dv, mask_data=mask_data,
                  workspace=workspace) as t:
        _capi.check(_capi.lib().tessera_attention_backward(
            _capi.context(), *t, ctypes.byref(opts), _capi.stream_of(stream, q)))


_AttentionFunction = None


def _autograd(q, k, v, lse_shape, forward, backward, deterministic):
    """o = forward(q, k, v, o, lse) through a torch.autograd.Function whose
    backward is backward(q, k, v, o, dout, lse, dq, dk, dv, workspace=...).
    The Function class is made once: defining one per call cost more host
    time than the forward and backward launches together (0.68 ms per layer
    on the H200).  The backward's workspace comes from PyTorch's allocator,
    so that it follows the stream and CUDA graph capture like dq, dk, dv."""
    global _AttentionFunction
    if _AttentionFunction is None:
        import torch

        class _Attention(torch.autograd.Function):
            @staticmethod
            def forward(ctx, q, k, v, lse_shape, forward, backward, deterministic):
                o = torch.empty_like(q)
                lse = torch.empty(lse_shape, dtype=torch.float32, device=q.device)
                forward(q, k, v, o, lse)
                ctx.save_for_backward(q, k, v, o, lse)
                ctx.backward_fn = backward
                ctx.deterministic = deterministic
                return o

            @staticmethod
            def backward(ctx, dout):
                q, k, v, o, lse = ctx.saved_tensors
                dout = _unit_last_stride(dout)  # out.sum()'s gradient has every stride 0
                dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
                nbytes = backward_workspace_bytes(*lse.shape, q.shape[-1], ctx.deterministic)
                ws = torch.empty(nbytes, dtype=torch.uint8, device=q.device)
                ctx.backward_fn(q, k, v, o, dout, lse, dq, dk, dv, workspace=ws)
                return dq, dk, dv, None, None, None, None

        _AttentionFunction = _Attention
    q, k, v = (_unit_last_stride(x) for x in (q, k, v))
    return _AttentionFunction.apply(q, k, v, lse_shape, forward, backward, deterministic)


def _unit_last_stride(x):
    """x, or a contiguous copy where its head dimension is not contiguous: the
    kernels read rows of head_dim elements (any other strides, 0 included,
    are read as they are).  The autograd path copies rather than refusing,
    as torch's own attention does; the low-level functions refuse."""
    return x if x.stride(-1) == 1 or x.shape[-1] == 1 else x.contiguous()


def attention(q, k, v, *, causal=False, scale=None, layout="bshd", deterministic=True,
              score_mod=None, mask_mod=None, mask_data=None, dropout_p=0.0, seed=None,
              offset=0):
    """FlashAttention on PyTorch tensors with autograd: returns softmax(q k^T * scale) v
    shaped like q; its backward is Tessera's.  score_mod / mask_mod / mask_data:
    built-in modifiers by name, as attention_forward.  dropout_p > 0: dropout on
    the probabilities, its mask from `seed` (default: drawn from torch's
    generator) and `offset`; the backward regenerates it."""
    dropout = _dropout(dropout_p, seed, offset)
    if getattr(q, "dim", lambda: 4)() != 4:
        raise Error(f"q: 4 dimensions expected, got {q.dim()}")
    b = q.shape[0]
    h, s = (q.shape[2], q.shape[1]) if layout == "bshd" else (q.shape[1], q.shape[2])
    opts = dict(causal=causal, scale=scale, layout=layout, score_mod=score_mod,
                mask_mod=mask_mod, mask_data=mask_data, dropout=dropout)
    return _autograd(q, k, v, (b, h, s),
                     lambda *t: attention_forward(*t, **opts),
                     lambda *t, **w: attention_backward(*t, deterministic=deterministic, **w,
                                                        **opts), deterministic)


def attention_varlen_forward(q, k, v, o, lse, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                             max_seqlen_k, *, causal=False, scale=None, stream=None,
                             score_mod=None, mask_mod=None, mask_data=None, dropout=None):
    """Packed variable-length batch: q/o [total_q, heads, d], k/v [total_k, kv_heads, d],
    cu_seqlens_* int32 [batch + 1], lse float32 [batch, heads, max_seqlen_q].  The
    modifiers as attention_forward's; a mask sees each sequence's own positions and
    lengths (mask_data: int32 [batch, n], a row per sequence)."""
    opts = _options(causal, scale, "bshd", True, score_mod, mask_mod, dropout)
    with _tensors(opts, q, k, v, o, lse, cu_seqlens_q, cu_seqlens_k, mask_data=mask_data) as t:
        _capi.check(_capi.lib().tessera_attention_forward_varlen(
            _capi.context(), *t, int(max_seqlen_q), int(max_seqlen_k), ctypes.byref(opts),
            _capi.stream_of(stream, q)))


def attention_varlen_backward(q, k, v, o, dout, lse, dq, dk, dv, cu_seqlens_q, cu_seqlens_k,
                              max_seqlen_q, max_seqlen_k, *, causal=False, scale=None,
                              deterministic=True, stream=None, score_mod=None, mask_mod=None,
                              mask_data=None, dropout=None, workspace=None):
    """dq, dk, dv of attention_varlen_forward, written in place (the same modifiers
    and workspace as attention_backward's)."""
    opts = _options(causal, scale, "bshd", deterministic, score_mod, mask_mod, dropout)
    with _tensors(opts, q, k, v, o, dout, lse, dq, dk, dv, cu_seqlens_q, cu_seqlens_k,
                  mask_data=mask_data, workspace=workspace) as t:
        _capi.check(_capi.lib().tessera_attention_backward_varlen(
            _capi.context(), *t, int(max_seqlen_q), int(max_seqlen_k), ctypes.byref(opts),
            _capi.stream_of(stream, q)))


def attention_varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, *,
                     causal=False, scale=None, deterministic=True, score_mod=None,
                     mask_mod=None, mask_data=None, dropout_p=0.0, seed=None, offset=0):
    """FlashAttention over a packed batch of sequences (PyTorch, autograd): q [total_q,
    heads, d], k/v [total_k, kv_heads, d], cu_seqlens_* int32 CUDA tensors [batch + 1];
    the modifiers and dropout as tessera.attention's, per sequence."""
    offsets = (cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k)
    dropout = _dropout(dropout_p, seed, offset)
    opts = dict(causal=causal, scale=scale, score_mod=score_mod, mask_mod=mask_mod,
                mask_data=mask_data, dropout=dropout)
    return _autograd(q, k, v, (cu_seqlens_q.shape[0] - 1, q.shape[1], max_seqlen_q),
                     lambda *t: attention_varlen_forward(*t, *offsets, **opts),
                     lambda *t, **w: attention_varlen_backward(*t, *offsets,
                                                               deterministic=deterministic,
                                                               **w, **opts), deterministic)
