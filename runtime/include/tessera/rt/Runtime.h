//===- Runtime.h - modules, buffers, streams and checked launches ---------===//
//
// The part of Tessera a program needs to run compiled kernels: no LLVM, no
// link-time libcuda.  A launch checks its arguments against the kernel's
// signature (count, kinds, the alignment and divisibility the specialization
// assumed) and throws LaunchError naming the argument before the driver sees
// anything.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Support/KernelInfo.h"
#include "tessera/rt/Driver.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tessera::rt {

/// TESSERA_INTERPRET=1: buffers live in host memory and kernels obtained from
/// the JIT run in the CPU interpreter instead of on a GPU.
bool interpretMode();

/// In interpret mode, the host allocation made by a Buffer that contains
/// `address`: its start and size in bytes; {0, 0} if none.
std::pair<CUdeviceptr, size_t> hostAllocationOf(CUdeviceptr address);

/// A launch argument that does not match the kernel's signature.
class LaunchError : public Error {
public:
  using Error::Error;
};

/// Device memory, freed on destruction.  `dtype` ("f16", "f32", ...; empty for
/// untyped) is checked against pointer parameters at launch.
class Buffer {
public:
  Buffer() = default;
  Buffer(size_t bytes, std::string dtype = "");
  ~Buffer();
  Buffer(Buffer &&o) noexcept;
  Buffer &operator=(Buffer &&o) noexcept;
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;

  CUdeviceptr ptr() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  const std::string &dtype() const { return dtype_; }
  void upload(const void *host, size_t bytes);
  void download(void *host, size_t bytes) const;
  template <class T> void upload(const std::vector<T> &v) { upload(v.data(), v.size() * sizeof(T)); }
  template <class T> std::vector<T> download(size_t n) const {
    std::vector<T> v(n);
    download(v.data(), n * sizeof(T));
    return v;
  }
  /// Fills every byte with `byte` (0xff: NaN in f16/bf16/f32).
  void fill(uint8_t byte);

  /// A view of `bytes` at `ptr`, memory allocated elsewhere (a DLPack
  /// tensor, a framework's allocator): never freed here.  In interpret mode
  /// `ptr` is a host address, known to the interpreter's bounds checks while
  /// the view lives.
  static Buffer borrow(CUdeviceptr ptr, size_t bytes, std::string dtype = "");

private:
  CUdeviceptr ptr_ = 0;
  size_t bytes_ = 0;
  std::string dtype_;
  bool owned_ = true;
};

/// A stream of the current context, destroyed with the object.
class Stream {
public:
  Stream();
  ~Stream();
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;
  CUstream get() const { return s; }
  void synchronize() const;

private:
  CUstream s = nullptr;
};

/// Whether `stream` is capturing a CUDA graph (never in interpret mode).
/// Work queued there is recorded, not run, and the graph keeps the device
/// addresses it was given: a call may not allocate, and must not hand it
/// memory that a later call could free and reallocate.
bool isCapturing(CUstream stream);

/// A device pointer with the element type it points to (nullptr if
/// unknown; the string must outlive the launch call).
struct DevicePtr {
  CUdeviceptr ptr;
  const char *dtype = nullptr;
};

/// One launch argument, as the caller gave it.
class Arg {
public:
  enum class Kind { Ptr, I32, I64, F32 };
  Arg(const Buffer &b)
      : kind(Kind::Ptr), ptr(b.ptr()), dtype(b.dtype().empty() ? nullptr : b.dtype().c_str()) {}
  Arg(DevicePtr p) : kind(Kind::Ptr), ptr(p.ptr), dtype(p.dtype) {}
  Arg(int32_t v) : kind(Kind::I32), i32(v) {}
  Arg(int64_t v) : kind(Kind::I64), i64(v) {}
  Arg(float v) : kind(Kind::F32), f32(v) {}
  /// A double would silently lose precision in an f32 parameter: pass a float.
  Arg(double) = delete;

  Kind kind;
  CUdeviceptr ptr = 0;
  const char *dtype = nullptr; ///< pointee of a pointer, if known
  int32_t i32 = 0;
  int64_t i64 = 0;
  float f32 = 0;
  /// Address of the value, as cuLaunchKernel wants it.
  void *address() {
    switch (kind) {
    case Kind::Ptr: return &ptr;
    case Kind::I32: return &i32;
    case Kind::I64: return &i64;
    case Kind::F32: return &f32;
    }
    return nullptr;
  }
};

struct Grid {
  unsigned x = 1, y = 1, z = 1;
};
/// CUDA's grid limits (every GPU since sm_30): Kernel::launch refuses more.
inline constexpr unsigned kMaxGridX = 0x7fffffff, kMaxGridYZ = 65535;

/// A loaded module (from a cubin or PTX image).
class Module {
public:
  /// `image` is a cubin, or PTX text (the driver then assembles it).
  explicit Module(const std::string &image);
  ~Module();
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;
  CUfunction function(const std::string &name) const;

private:
  CUmodule m = nullptr;
};

/// A kernel ready to launch: its module, function and signature.
class Kernel {
public:
  Kernel(std::shared_ptr<Module> module, KernelInfo info);
  /// A kernel that runs on the host (the interpreter): `run` receives the
  /// checked arguments.
  using HostRun = std::function<void(Grid, const Arg *, size_t)>;
  Kernel(HostRun run, KernelInfo info);
  const KernelInfo &info() const { return info_; }
  CUfunction function() const { return fn; }

  /// Checks `args` against the signature, then launches
  /// info().threadsPerBlock threads per program on `grid`.  No allocation
  /// happens on this path unless an argument is wrong.
  void launch(Grid grid, std::initializer_list<Arg> args, CUstream stream = nullptr,
              unsigned dynamicSharedBytes = 0) const {
    launch(grid, args.begin(), args.size(), stream, dynamicSharedBytes);
  }
  void launch(Grid grid, const std::vector<Arg> &args, CUstream stream = nullptr,
              unsigned dynamicSharedBytes = 0) const {
    launch(grid, args.data(), args.size(), stream, dynamicSharedBytes);
  }
  void launch(Grid grid, const Arg *args, size_t n, CUstream stream,
              unsigned dynamicSharedBytes) const;
  /// How many blocks of this kernel fit on one SM at once (registers, shared
  /// memory, threads), for sizing a persistent grid; 1 for the interpreter.
  unsigned blocksPerSM() const;

private:
  /// Lets the function use `dyn` bytes of dynamic shared memory (once).
  void optInShared(unsigned dyn) const;
  std::shared_ptr<Module> module;
  KernelInfo info_;
  CUfunction fn = nullptr;
  HostRun hostRun;
  mutable unsigned sharedOptIn = 0; ///< dynamic shared memory enabled so far
};

/// Throws LaunchError naming the first argument of `args` that does not match
/// the signature in `info` (count, kind, pointee type, null, alignment and
/// divisibility the kernel was specialized for).
void checkLaunchArgs(const KernelInfo &info, const Arg *args, size_t n);
inline void checkLaunchArgs(const KernelInfo &info, const std::vector<Arg> &args) {
  checkLaunchArgs(info, args.data(), args.size());
}
/// Whether `args` satisfy every promise of `info` (checkLaunchArgs passes).
bool argsFit(const KernelInfo &info, const Arg *args, size_t n);

/// A compiled image of a kernel embedded in a program (by tessera-aot).
struct KernelImage {
  const char *target;        ///< "sm_90a", "sm_80", ...
  bool isCubin;              ///< cubin for exactly `target`, else PTX text
  const unsigned char *data; ///< PTX is NUL-terminated
  size_t size;
  unsigned dynamicSharedBytes = 0;             ///< this image's (targets differ)
  const TensorMapSpec *tensorMaps = nullptr;   ///< TMA maps its launches build
  size_t numTensorMaps = 0;
  /// This image's block size when it differs by target (a warp-specialized
  /// sm_90a kernel adds a producer warpgroup); 0: the KernelInfo's.
  unsigned threadsPerBlock = 0;
};

/// Loads the best of `images` for the current device (its shared-memory size,
/// tensor maps and block size replace those in `info`): a cubin or PTX for its
/// exact target first, else PTX for the newest older target of the same
/// architecture family that the driver can JIT.  Throws tessera::Error
/// listing the available targets when none fits.
std::shared_ptr<Kernel> loadKernelImage(const KernelImage *images, size_t count, KernelInfo info,
                                        const Device &device);

/// PTX -> cubin for `target`: with ptxas where it exists (TESSERA_PTXAS,
/// /usr/local/cuda/bin/ptxas, PATH), else through the driver's linker
/// (needs a current context).
std::string ptxToCubin(const std::string &ptx, const std::string &target);

} // namespace tessera::rt
