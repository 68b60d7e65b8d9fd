//===- Runtime.cpp - modules, buffers, streams and checked launches -------===//
#include "tessera/rt/Runtime.h"
#include "tessera/Target/Ptxas.h"
#include "tessera/Target/Target.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace tessera::rt {

// --- interpret mode ----------------------------------------------------------------

bool interpretMode() {
  const char *v = std::getenv("TESSERA_INTERPRET");
  return v && *v && std::string(v) != "0";
}

namespace {
/// Host allocations of Buffers in interpret mode, by start address.
std::mutex allocationsMu;
std::map<CUdeviceptr, size_t> &allocations() {
  static std::map<CUdeviceptr, size_t> m;
  return m;
}

/// Host memory borrowed by Buffer::borrow in interpret mode: start ->
/// (largest size borrowed, number of live views).
std::map<CUdeviceptr, std::pair<size_t, int>> &borrowed() {
  static std::map<CUdeviceptr, std::pair<size_t, int>> m;
  return m;
}

/// The entry of `m` whose [start, start + size) holds `address`.
template <class Map, class Size>
std::pair<CUdeviceptr, size_t> containing(const Map &m, CUdeviceptr address, Size size) {
  auto it = m.upper_bound(address);
  if (it == m.begin())
    return {0, 0};
  --it;
  if (address >= it->first + size(it->second))
    return {0, 0};
  return {it->first, size(it->second)};
}
} // namespace

std::pair<CUdeviceptr, size_t> hostAllocationOf(CUdeviceptr address) {
  std::lock_guard<std::mutex> lock(allocationsMu);
  auto owned = containing(allocations(), address, [](size_t n) { return n; });
  if (owned.second)
    return owned;
  return containing(borrowed(), address, [](const std::pair<size_t, int> &e) { return e.first; });
}

// --- buffers and streams --------------------------------------------------------

Buffer::Buffer(size_t bytes, std::string dtype) : bytes_(bytes), dtype_(std::move(dtype)) {
  if (interpretMode()) {
    void *p = std::aligned_alloc(256, ((bytes ? bytes : 1) + 255) / 256 * 256);
    if (!p)
      throw Error("Buffer: out of host memory for " + std::to_string(bytes) + " bytes");
    ptr_ = CUdeviceptr(p);
    std::lock_guard<std::mutex> lock(allocationsMu);
    allocations()[ptr_] = bytes;
    return;
  }
  check(driver().memAlloc(&ptr_, bytes ? bytes : 1), "cuMemAlloc");
}
Buffer Buffer::borrow(CUdeviceptr ptr, size_t bytes, std::string dtype) {
  Buffer b;
  b.ptr_ = ptr, b.bytes_ = bytes, b.dtype_ = std::move(dtype), b.owned_ = false;
  if (interpretMode() && ptr) {
    std::lock_guard<std::mutex> lock(allocationsMu);
    auto &e = borrowed()[ptr];
    e.first = std::max(e.first, bytes), ++e.second;
  }
  return b;
}
Buffer::~Buffer() {
  if (!ptr_)
    return;
  if (!owned_) {
    std::lock_guard<std::mutex> lock(allocationsMu);
    auto it = borrowed().find(ptr_);
    if (it != borrowed().end() && --it->second.second == 0)
      borrowed().erase(it);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(allocationsMu);
    if (allocations().erase(ptr_)) {
      std::free(reinterpret_cast<void *>(ptr_));
      return;
    }
  }
  driver().memFree(ptr_);
}
Buffer::Buffer(Buffer &&o) noexcept
    : ptr_(o.ptr_), bytes_(o.bytes_), dtype_(std::move(o.dtype_)), owned_(o.owned_) {
  o.ptr_ = 0;
}
Buffer &Buffer::operator=(Buffer &&o) noexcept {
  std::swap(ptr_, o.ptr_);
  std::swap(bytes_, o.bytes_);
  std::swap(dtype_, o.dtype_);
  std::swap(owned_, o.owned_);
  return *this;
}
void Buffer::upload(const void *host, size_t n) {
  if (n > bytes_)
    throw Error("Buffer::upload: " + std::to_string(n) + " bytes into a buffer of " +
                std::to_string(bytes_));
  if (interpretMode()) {
    std::memcpy(reinterpret_cast<void *>(ptr_), host, n);
    return;
  }
  check(driver().memcpyHtoD(ptr_, host, n), "cuMemcpyHtoD");
}
void Buffer::download(void *host, size_t n) const {
  if (n > bytes_)
    throw Error("Buffer::download: " + std::to_string(n) + " bytes from a buffer of " +
                std::to_string(bytes_));
  if (interpretMode()) {
    std::memcpy(host, reinterpret_cast<const void *>(ptr_), n);
    return;
  }
  check(driver().memcpyDtoH(host, ptr_, n), "cuMemcpyDtoH");
}
void Buffer::fill(uint8_t byte) {
  if (interpretMode()) {
    std::memset(reinterpret_cast<void *>(ptr_), byte, bytes_);
    return;
  }
  check(driver().memsetD8(ptr_, byte, bytes_), "cuMemsetD8");
}

Stream::Stream() { check(driver().streamCreate(&s, CU_STREAM_NON_BLOCKING), "cuStreamCreate"); }
Stream::~Stream() {
  if (s)
    driver().streamDestroy(s);
}
void Stream::synchronize() const { check(driver().streamSynchronize(s), "cuStreamSynchronize"); }

bool isCapturing(CUstream stream) {
  if (interpretMode())
    return false;
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  check(driver().streamIsCapturing(stream, &status), "cuStreamIsCapturing");
  return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

// --- modules and kernels ------------------------------------------------------------

Module::Module(const std::string &image) {
  char log[8192] = {};
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *vals[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log))};
  // PTX must be NUL-terminated; std::string's buffer is.
  CUresult r = driver().moduleLoadDataEx(&m, image.c_str(), 2, opts, vals);
  if (r != CUDA_SUCCESS) {
    try {
      check(r, "cuModuleLoadDataEx");
    } catch (const DriverError &e) {
      throw DriverError(DriverError::Kind::Call, std::string(e.what()) + (log[0] ? "\n" : "") + log);
    }
  }
}
Module::~Module() {
  if (m)
    driver().moduleUnload(m);
}
CUfunction Module::function(const std::string &name) const {
  CUfunction f;
  check(driver().moduleGetFunction(&f, m, name.c_str()), ("cuModuleGetFunction(" + name + ")").c_str());
  return f;
}

Kernel::Kernel(std::shared_ptr<Module> module, KernelInfo info)
    : module(std::move(module)), info_(std::move(info)) {
  fn = this->module->function(info_.name);
}

Kernel::Kernel(HostRun run, KernelInfo info) : info_(std::move(info)), hostRun(std::move(run)) {}

static const char *kindName(Arg::Kind k) {
  switch (k) {
  case Arg::Kind::Ptr: return "a device pointer";
  case Arg::Kind::I32: return "i32";
  case Arg::Kind::I64: return "i64";
  case Arg::Kind::F32: return "f32";
  }
  return "?";
}

/// Element type of pointer parameter `p` ("ptr<f16>") as a TMA data type
/// and its size in bytes.
static std::pair<CUtensorMapDataType, unsigned> tmaType(const KernelParam &p) {
  std::string e = p.type.substr(4, p.type.size() - 5);
  if (e == "f16") return {CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2};
  if (e == "bf16") return {CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2};
  if (e == "f32") return {CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4};
  if (e == "f64") return {CU_TENSOR_MAP_DATA_TYPE_FLOAT64, 8};
  if (e == "i8" || e == "f8e4m3" || e == "f8e5m2") return {CU_TENSOR_MAP_DATA_TYPE_UINT8, 1};
  if (e == "i32") return {CU_TENSOR_MAP_DATA_TYPE_INT32, 4};
  if (e == "i64") return {CU_TENSOR_MAP_DATA_TYPE_INT64, 8};
  throw LaunchError("no TMA data type for " + p.type);
}

static int64_t intArg(const Arg &a) { return a.kind == Arg::Kind::I32 ? a.i32 : a.i64; }

/// Checks what TMA needs beyond the signature: strides it reads with must
/// be positive (a zero or negative stride cannot be described).
static void checkTensorMapArgs(const KernelInfo &info, const Arg *args) {
  for (const TensorMapSpec &m : info.tensorMaps)
    for (unsigned i = 0; i + 1 < m.rank; ++i)
      if (int s = m.strides[i]; s >= 0 && intArg(args[s]) <= 0)
        throw LaunchError(info.name + ": argument '" + info.params[s].name + "' (#" +
                          std::to_string(s + 1) + ") = " + std::to_string(intArg(args[s])) +
                          " must be positive ('" + info.params[m.base].name +
                          "' is read with TMA on this GPU)");
}

/// The tensor map `m` describes for these arguments.
static void encodeTensorMap(const KernelInfo &info, const TensorMapSpec &m, const Arg *args,
                            CUtensorMap *out) {
  auto [type, eb] = tmaType(info.params[m.base]);
  constexpr unsigned R = TensorMapSpec::kMaxRank;
  cuuint64_t dims[R], strides[R - 1];
  cuuint32_t box[R], elementStrides[R];
  for (unsigned i = 0; i < m.rank; ++i) {
    // An extent the kernel does not bound: what the window reads is
    // promised to be inside the tensor.
    dims[i] = m.dims[i] < 0 ? cuuint64_t(1) << 31
                            : cuuint64_t(std::max<int64_t>(1, intArg(args[m.dims[i]])));
    box[i] = m.box[i];
    elementStrides[i] = 1;
    if (i)
      strides[i - 1] = cuuint64_t(intArg(args[m.strides[i - 1]])) * eb;
  }
  CUtensorMapSwizzle swizzle = m.swizzle == 128  ? CU_TENSOR_MAP_SWIZZLE_128B
                               : m.swizzle == 64 ? CU_TENSOR_MAP_SWIZZLE_64B
                                                 : CU_TENSOR_MAP_SWIZZLE_32B;
  CUresult r = driver().tensorMapEncodeTiled(
      out, type, m.rank, reinterpret_cast<void *>(args[m.base].ptr), dims, strides, box,
      elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw LaunchError(info.name + ": cannot describe argument '" + info.params[m.base].name +
                      "' for TMA (cuTensorMapEncodeTiled: " + std::to_string(int(r)) +
                      "), rank " + std::to_string(m.rank) + ", row stride " +
                      std::to_string(strides[0]) + " bytes");
}

void checkLaunchArgs(const KernelInfo &info_, const Arg *args, size_t nargs) {
  const auto &params = info_.params;
  if (nargs != params.size()) {
    std::string sig;
    for (const auto &p : params)
      sig += (sig.empty() ? "" : ", ") + p.type + " " + p.name;
    throw LaunchError(info_.name + ": expected " + std::to_string(params.size()) +
                      " arguments (" + sig + "), got " + std::to_string(nargs));
  }
  for (size_t i = 0; i < nargs; ++i) {
    const KernelParam &p = params[i];
    const Arg &a = args[i];
    // Messages are built only on failure: this runs on every launch.
    auto where = [&] {
      return info_.name + ": argument '" + p.name + "' (#" + std::to_string(i + 1) + ")";
    };
    bool isPtr = p.type.compare(0, 4, "ptr<") == 0;
    Arg::Kind want = isPtr ? Arg::Kind::Ptr
                     : p.type == "i32" ? Arg::Kind::I32
                     : p.type == "i64" ? Arg::Kind::I64
                     : p.type == "f32" ? Arg::Kind::F32
                                       : Arg::Kind::Ptr;
    if (!isPtr && p.type != "i32" && p.type != "i64" && p.type != "f32")
      throw LaunchError(where() + " has type " + p.type + ", which launches do not support yet");
    if (a.kind != want)
      throw LaunchError(where() + " is " + p.type + " but " + kindName(a.kind) + " was passed");
    if (isPtr) {
      // p.type is "ptr<ELT>": compare ELT without copying it.
      size_t eltLen = p.type.size() - 5;
      if (a.dtype && (std::strlen(a.dtype) != eltLen || p.type.compare(4, eltLen, a.dtype) != 0))
        throw LaunchError(where() + " points to " + p.type.substr(4, eltLen) +
                          " but a buffer of " + a.dtype + " was passed");
      if (a.ptr == 0)
        throw LaunchError(where() + " is a null pointer");
      if (p.alignment > 1 && a.ptr % p.alignment != 0)
        throw LaunchError(where() + " must be " + std::to_string(p.alignment) +
                          "-byte aligned (the kernel was specialized for it); got address 0x" +
                          [&] {
                            char buf[32];
                            std::snprintf(buf, sizeof buf, "%llx", (unsigned long long)a.ptr);
                            return std::string(buf);
                          }());
    } else if (p.unit) {
      int64_t v = a.kind == Arg::Kind::I32 ? a.i32 : a.i64;
      if (v != 1)
        throw LaunchError(where() + " = " + std::to_string(v) +
                          " must be 1 (the kernel was specialized for a unit stride)");
    } else if (p.multipleOf > 1) {
      int64_t v = a.kind == Arg::Kind::I32 ? a.i32 : a.i64;
      if (v % int64_t(p.multipleOf) != 0)
        throw LaunchError(where() + " = " + std::to_string(v) + " must be a multiple of " +
                          std::to_string(p.multipleOf) + " (the kernel was specialized for it)");
    }
  }
  checkTensorMapArgs(info_, args);
}

bool argsFit(const KernelInfo &info, const Arg *args, size_t n) {
  try {
    checkLaunchArgs(info, args, n);
    return true;
  } catch (const LaunchError &) {
    return false;
  }
}

void Kernel::optInShared(unsigned dyn) const {
  // Above 48 KB a kernel must opt in to more dynamic shared memory.
  if (dyn > sharedOptIn && dyn + info_.staticSharedBytes > 48 * 1024) {
    check(driver().funcSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(dyn)),
          "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
    sharedOptIn = dyn;
  }
}

void Kernel::launch(Grid grid, const Arg *args, size_t nargs, CUstream stream,
                    unsigned dynamicSharedBytes) const {
  checkLaunchArgs(info_, args, nargs);
  if (grid.x == 0 || grid.y == 0 || grid.z == 0)
    throw LaunchError(info_.name + ": empty grid (" + std::to_string(grid.x) + ", " +
                      std::to_string(grid.y) + ", " + std::to_string(grid.z) + ")");
  // The driver would fail the launch (CUDA_ERROR_INVALID_VALUE) after the
  // arguments were accepted; the interpreter must refuse what the GPU does.
  if (grid.x > kMaxGridX || grid.y > kMaxGridYZ || grid.z > kMaxGridYZ)
    throw LaunchError(info_.name + ": grid (" + std::to_string(grid.x) + ", " +
                      std::to_string(grid.y) + ", " + std::to_string(grid.z) +
                      ") is larger than CUDA allows (" + std::to_string(kMaxGridX) + ", " +
                      std::to_string(kMaxGridYZ) + ", " + std::to_string(kMaxGridYZ) + ")");
  if (hostRun) {
    hostRun(grid, args, nargs);
    return;
  }
  unsigned dyn = std::max(dynamicSharedBytes, info_.dynamicSharedBytes);
  optInShared(dyn);
  void *ptrs[64];
  CUtensorMap maps[8];
  size_t nmaps = info_.tensorMaps.size();
  if (nargs + nmaps > 64 || nmaps > 8)
    throw LaunchError(info_.name + ": more than 64 arguments or 8 tensor maps");
  for (size_t i = 0; i < nargs; ++i)
    ptrs[i] = const_cast<Arg &>(args[i]).address();
  for (size_t i = 0; i < nmaps; ++i) {
    encodeTensorMap(info_, info_.tensorMaps[i], args, &maps[i]);
    ptrs[nargs + i] = &maps[i];
  }
  check(driver().launchKernel(fn, grid.x, grid.y, grid.z, info_.threadsPerBlock, 1, 1, dyn, stream,
                              ptrs, nullptr),
        ("cuLaunchKernel(" + info_.name + ")").c_str());
}

unsigned Kernel::blocksPerSM() const {
  if (hostRun)
    return 1;
  unsigned dyn = info_.dynamicSharedBytes;
  optInShared(dyn); // the occupancy the launch will have
  int n = 0;
  check(driver().occupancyMaxActiveBlocks(&n, fn, int(info_.threadsPerBlock), dyn),
        ("cuOccupancyMaxActiveBlocksPerMultiprocessor(" + info_.name + ")").c_str());
  return unsigned(std::max(n, 1));
}

// --- embedded images ---------------------------------------------------------------------

std::shared_ptr<Kernel> loadKernelImage(const KernelImage *images, size_t count, KernelInfo info,
                                        const Device &device) {
  // Interpret mode's buffers live in host memory and its kernels are traced
  // from the DSL; a compiled image can run on neither (on a GPU it would be
  // handed host addresses).
  if (interpretMode())
    throw Error(info.name + ": TESSERA_INTERPRET=1, but this kernel is a compiled image "
                "(tessera-aot); the interpreter runs kernels the JIT traces from their DSL "
                "source. Unset TESSERA_INTERPRET to run it on the GPU, or get the kernel "
                "through jit::Jit to interpret it");
  std::string want = device.target();
  const KernelImage *best = nullptr;
  for (size_t i = 0; i < count; ++i)
    if (want == images[i].target && (!best || images[i].isCubin))
      best = &images[i];
  if (!best) {
    // PTX for an older, non-arch-specific target is JIT-compiled by the driver.
    int bestCC = -1;
    for (size_t i = 0; i < count; ++i) {
      std::optional<Target> t = Target::parse(images[i].target);
      int cc = t ? t->computeCapability() : 0;
      if (t && !images[i].isCubin && !t->archSpecific && t->major > 0 &&
          cc <= device.major * 10 + device.minor && cc > bestCC) {
        bestCC = cc;
        best = &images[i];
      }
    }
  }
  if (!best) {
    std::string have;
    for (size_t i = 0; i < count; ++i)
      have += std::string(have.empty() ? "" : ", ") + images[i].target +
              (images[i].isCubin ? " (cubin)" : " (PTX)");
    throw Error(info.name + ": no compiled image runs on " + device.name + " (" + want +
                "); this program has: " + have);
  }
  auto module = std::make_shared<Module>(
      std::string(reinterpret_cast<const char *>(best->data), best->size));
  info.dynamicSharedBytes = best->dynamicSharedBytes;
  info.tensorMaps.assign(best->tensorMaps, best->tensorMaps + best->numTensorMaps);
  if (best->threadsPerBlock)
    info.threadsPerBlock = best->threadsPerBlock;
  return std::make_shared<Kernel>(module, std::move(info));
}

// --- PTX -> cubin ---------------------------------------------------------------------

static std::string cubinWithDriver(const std::string &ptx, const std::string &target) {
  const Driver &d = driver();
  char log[8192] = {};
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *vals[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log))};
  CUlinkState state;
  check(d.linkCreate(2, opts, vals, &state), "cuLinkCreate");
  struct Destroy {
    CUlinkState s;
    ~Destroy() { driver().linkDestroy(s); }
  } guard{state};
  CUresult r = d.linkAddData(state, CU_JIT_INPUT_PTX, const_cast<char *>(ptx.c_str()), ptx.size() + 1,
                             "kernel.ptx", 0, nullptr, nullptr);
  if (r != CUDA_SUCCESS)
    throw DriverError(DriverError::Kind::Call,
                      "cuLinkAddData (assembling PTX for " + target + ") failed:\n" + log);
  void *cubin = nullptr;
  size_t size = 0;
  check(d.linkComplete(state, &cubin, &size), "cuLinkComplete");
  return std::string(static_cast<const char *>(cubin), size); // copied before destroy
}

std::string ptxToCubin(const std::string &ptx, const std::string &target) {
  std::optional<std::string> ptxas = findPtxas();
  if (!ptxas)
    return cubinWithDriver(ptx, target);
  char tmpl[] = "/tmp/tessera-cubin-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0)
    throw Error("cannot create a temporary file for ptxas");
  close(fd);
  PtxasReport rep = runPtxas(*ptxas, ptx, target, tmpl);
  std::string cubin;
  if (rep.exitCode == 0) {
    std::ifstream in(tmpl, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    cubin = ss.str();
  }
  std::filesystem::remove(tmpl);
  if (rep.exitCode != 0 || cubin.empty())
    throw Error("ptxas failed for " + target + ":\n" + rep.log);
  return cubin;
}

} // namespace tessera::rt
