"""ctypes bindings of tessera.h (libtessera.so) and DLPack plumbing."""
import ctypes
import os
import threading


class Error(RuntimeError):
    """A call Tessera refused or could not run; the message says why."""


class Options(ctypes.Structure):
    """tessera_attention_options (C API version 3)."""
    _fields_ = [("causal", ctypes.c_int), ("scale", ctypes.c_float), ("layout", ctypes.c_int),
                ("deterministic", ctypes.c_int), ("score_mod", ctypes.c_char_p),
                ("mask_mod", ctypes.c_char_p), ("mask_data", ctypes.c_void_p),
                ("dropout_p", ctypes.c_float), ("dropout_seed", ctypes.c_uint64),
                ("dropout_offset", ctypes.c_uint32), ("workspace", ctypes.c_void_p)]


API_VERSION = 3


_lock = threading.Lock()
_lib = None
_ctx = None


def _find_library():
    # TESSERA_LIBRARY, else next to this package (an installed tree:
    # lib/python/tessera -> lib/libtessera.so), else the loader's search path.
    env = os.environ.get("TESSERA_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "libtessera.so"),
                 os.path.join(here, "..", "..", "libtessera.so")):
        if os.path.exists(cand):
            return cand
    return "libtessera.so"


def lib():
    global _lib
    with _lock:
        if _lib is None:
            path = _find_library()
            try:
                L = ctypes.CDLL(path)
            except OSError as e:
                raise Error(f"cannot load Tessera's C library ({path}): {e}; "
                            "set TESSERA_LIBRARY to libtessera.so") from None
            P = ctypes.c_void_p
            version = L.tessera_c_api_version()
            if version != API_VERSION:
                raise Error(f"{path} has C API version {version}; this package needs "
                            f"{API_VERSION}: install matching versions")
            L.tessera_last_error.restype = ctypes.c_char_p
            L.tessera_open.argtypes = [ctypes.c_int, ctypes.POINTER(P)]
            L.tessera_interpreted.argtypes = [P]
            L.tessera_attention_forward.argtypes = [P] * 6 + [ctypes.POINTER(Options), P]
            L.tessera_attention_backward.argtypes = [P] * 10 + [ctypes.POINTER(Options), P]
            I = ctypes.c_int
            L.tessera_attention_backward_workspace_bytes.argtypes = [I] * 5
            L.tessera_attention_backward_workspace_bytes.restype = ctypes.c_size_t
            L.tessera_attention_forward_varlen.argtypes = (
                [P] * 8 + [I, I, ctypes.POINTER(Options), P])
            L.tessera_attention_backward_varlen.argtypes = (
                [P] * 12 + [I, I, ctypes.POINTER(Options), P])
            _lib = L
        return _lib


def check(status):
    if status != 0:
        raise Error(lib().tessera_last_error().decode())


def context():
    """One context per process, on device 0 (or the interpreter)."""
    global _ctx
    L = lib()
    with _lock:
        if _ctx is None:
            ctx = ctypes.c_void_p()
            check(L.tessera_open(0, ctypes.byref(ctx)))
            _ctx = ctx
        return _ctx


_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


class Tensors:
    """DLTensor pointers of the arguments while the `with` block runs (the
    capsules, and so the arrays' memory, stay alive until it ends).  A
    DLManagedTensor starts with its DLTensor."""

    def __init__(self, *arrays):
        self.arrays = arrays

    def __enter__(self):
        self.capsules = []
        ptrs = []
        for i, a in enumerate(self.arrays):
            if not hasattr(a, "__dlpack__"):
                raise Error(f"argument {i + 1}: {type(a).__name__} does not export DLPack")
            if getattr(a, "requires_grad", False):  # torch refuses to export those
                a = a.detach()
            cap = a.__dlpack__()
            self.capsules.append(cap)
            ptrs.append(ctypes.c_void_p(_get_pointer(cap, b"dltensor")))
        return ptrs

    def __exit__(self, *exc):
        self.capsules = []
        return False


def stream_of(stream, tensor):
    """A CUstream: the given one, else the current PyTorch stream of a CUDA
    tensor's device, else the default stream."""
    if stream is not None:
        return ctypes.c_void_p(int(stream))
    dev = getattr(tensor, "device", None)
    if getattr(dev, "type", None) == "cuda":
        import torch
        return ctypes.c_void_p(torch.cuda.current_stream(dev).cuda_stream)
    return None
