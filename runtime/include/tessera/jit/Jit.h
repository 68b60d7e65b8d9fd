//===- Jit.h - trace, compile, cache and load kernels at run time ---------===//
//
//   tessera::jit::Jit jit;                                   // first GPU
//   auto k = jit.get(kernels::findKernel("softmax"), {{"BLOCK", "2048"}});
//   k->launch({rows}, {out, in, cols, stride, stride});
//
// `get` with the same kernel, parameters and device a second time is a
// hash-map lookup.  The first time, the kernel is traced and its canonical IR
// hashed; an entry of the on-disk cache under that key is used if present
// and intact, otherwise the kernel is compiled and the entry written.  The
// cubin is cached too, so a warm start neither compiles nor runs ptxas.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Compile.h"
#include "tessera/Pipeline.h"
#include "tessera/Target/PTXEmitter.h"
#include "tessera/kernels/Library.h"
#include "tessera/rt/Cache.h"
#include "tessera/rt/Runtime.h"

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tessera::jit {

/// A compiled kernel and where it came from.
struct Compiled {
  enum class Source { Compiled, Disk };
  std::string key; ///< SHA-256 of everything that determines the code
  std::string memoKey; ///< kernel name, parameters and target
  rt::CacheEntry entry;
  Source source = Source::Compiled;
  double millis = 0; ///< time to produce it (trace + compile, or disk read)
};

/// The key of a kernel's cache entry: SHA-256 over the canonical tile IR,
/// every compile option, the target, the PTX ISA version, Tessera's version
/// and build id, and LLVM's version.
std::string cacheKey(const std::string &canonicalIR, const CompileOptions &opts);

/// Identifies this build of Tessera (git revision at configure time, plus
/// the size and time of the running executable, so a rebuilt compiler never
/// reuses entries of an older one).
const std::string &buildId();

/// The CPU half of the JIT: trace -> compile -> disk cache.  Thread-safe;
/// concurrent requests for one kernel compile it once.
class Compiler {
public:
  explicit Compiler(rt::CacheOptions cache = rt::CacheOptions::fromEnvironment());

  /// `def` specialized with `params` (over its defaults) for `target`.
  /// Memoized by kernel name, parameters and target, a build that fails
  /// with a tessera::Error too (the same error again, not traced again).
  std::shared_ptr<const Compiled> compile(const dsl::KernelDef &def,
                                          const dsl::Params &params, const std::string &target);
  /// Records a cubin for an entry (in memory and on disk); returns the new entry.
  std::shared_ptr<const Compiled> addCubin(const std::shared_ptr<const Compiled> &c,
                                           std::string cubin);

  struct Stats {
    size_t memoryHits = 0, diskHits = 0, compiles = 0;
  };
  Stats stats() const;
  const rt::DiskCache &cache() const { return disk; }

private:
  std::shared_ptr<const Compiled> build(const dsl::KernelDef &def, const dsl::Params &params,
                                        const std::string &target);
  rt::DiskCache disk;
  mutable std::mutex mu;
  std::unordered_map<std::string, std::shared_future<std::shared_ptr<const Compiled>>> memo;
  Stats counts;
};

/// The JIT for one device: compiles for its chip and loads the kernels.
/// With TESSERA_INTERPRET=1 it opens no device: kernels run in the CPU
/// interpreter over Buffers in host memory (for debugging and CI).
class Jit {
public:
  explicit Jit(int deviceOrdinal = 0,
               rt::CacheOptions cache = rt::CacheOptions::fromEnvironment());
  const rt::Device &device() const { return dev; }
  /// The launchable kernel; throws tessera::Error (DslError for a DSL
  /// misuse) when it cannot be built.
  std::shared_ptr<rt::Kernel> get(const dsl::KernelDef &def, const dsl::Params &params = {});
  Compiler &compiler() { return comp; }
  /// A second stream of this device's context, made on first use, for work
  /// that runs beside the caller's stream and joins it again (the attention
  /// backward's dQ kernel).  Not in interpret mode.
  CUstream sideStream();

private:
  rt::Device dev;
  Compiler comp;
  std::unique_ptr<rt::Stream> side;
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<rt::Kernel>> loaded;
};

} // namespace tessera::jit
