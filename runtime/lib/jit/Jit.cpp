//===- Jit.cpp - trace, compile, cache and load kernels at run time -------===//
#include "tessera/jit/Jit.h"
#include "tessera/Interpreter/Interpreter.h"
#include "tessera/Support/Sha256.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <sys/stat.h>

#ifndef TESSERA_GIT_REV
#define TESSERA_GIT_REV "unknown"
#endif

namespace tessera::jit {

const std::string &buildId() {
  static const std::string id = [] {
    std::string s = std::string(TESSERA_VERSION) + "+" + TESSERA_GIT_REV;
    struct stat st;
    if (stat("/proc/self/exe", &st) == 0)
      s += "+" + std::to_string(st.st_size) + "." + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec);
    return s;
  }();
  return id;
}

std::string cacheKey(const std::string &canonicalIR, const CompileOptions &opts) {
  Sha256 h;
  h.field("tessera-kernel-cache-v1");
  h.field(canonicalIR);
  h.field("target=" + opts.target);
  h.field("ptx=" + std::to_string(opts.ptxVersion));
  h.field("opt=" + std::to_string(opts.optLevel));
  h.field(opts.fpFusion ? "fma=1" : "fma=0");
  h.field(opts.exp2Ftz ? "ex2ftz=1" : "ex2ftz=0");
  h.field("tessera=" + buildId());
  h.field("llvm=" TESSERA_LLVM_VERSION);
  return h.hex();
}

namespace {
double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// A context of its own per compilation: compilations run concurrently, and
/// a context's thread pool is not worth starting for one small kernel.
std::unique_ptr<mlir::MLIRContext> newContext() {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  return std::make_unique<mlir::MLIRContext>(registry, mlir::MLIRContext::Threading::DISABLED);
}
} // namespace

/// The kernel's name stands for its body: the same name, parameters and
/// target are the same kernel for the life of the process.
static std::string memoKeyOf(const dsl::KernelDef &def, const dsl::Params &params,
                             const std::string &target) {
  return def.name + "|" + params.over(def.defaults).str() + "|" + target;
}

Compiler::Compiler(rt::CacheOptions cache) : disk(std::move(cache)) {}

Compiler::Stats Compiler::stats() const {
  std::lock_guard<std::mutex> lock(mu);
  return counts;
}

std::shared_ptr<const Compiled> Compiler::build(const dsl::KernelDef &def,
                                                const dsl::Params &params,
                                                const std::string &target) {
  auto t0 = std::chrono::steady_clock::now();
  auto ctx = newContext();
  auto module = dsl::traceKernel(*ctx, def, params);
  std::string ir;
  {
    llvm::raw_string_ostream os(ir);
    module->print(os); // no locations: they do not change the code
  }
  CompileOptions opts = CompileOptions::fromEnvironment();
  opts.target = target;
  std::string key = cacheKey(ir, opts);
  auto out = std::make_shared<Compiled>();
  out->key = key;
  out->memoKey = memoKeyOf(def, params, target);
  if (auto e = disk.load(key); e && e->target == target && e->info.name == def.name) {
    out->entry = std::move(*e);
    out->source = Compiled::Source::Disk;
    out->millis = msSince(t0);
    std::lock_guard<std::mutex> lock(mu);
    ++counts.diskHits;
    return out;
  }
  CompiledKernel ck = compileToPTX(*module, opts);
  out->entry = rt::CacheEntry{target, ck.info, ck.ptx, ""};
  out->source = Compiled::Source::Compiled;
  disk.store(key, out->entry);
  out->millis = msSince(t0);
  std::lock_guard<std::mutex> lock(mu);
  ++counts.compiles;
  return out;
}

std::shared_ptr<const Compiled> Compiler::compile(const dsl::KernelDef &def,
                                                  const dsl::Params &params,
                                                  const std::string &target) {
  std::string memKey = memoKeyOf(def, params, target);
  std::promise<std::shared_ptr<const Compiled>> promise;
  std::shared_future<std::shared_ptr<const Compiled>> future;
  bool mine = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = memo.find(memKey);
    if (it != memo.end()) {
      ++counts.memoryHits;
      future = it->second;
    } else {
      future = promise.get_future().share();
      memo.emplace(memKey, future);
      mine = true;
    }
  }
  if (!mine)
    return future.get(); // rethrows the builder's error
  try {
    promise.set_value(build(def, params, target));
  } catch (const Error &) {
    // A build fails the same way every time for the same kernel, parameters
    // and target (trace and passes are deterministic; a disk-cache problem
    // is a miss, not an error), so the failure is remembered like a
    // success.  A caller that falls back to other parameters (attention
    // whose modifiers need more shared memory than the first tiles leave)
    // would otherwise trace and lower the failing configuration again on
    // every call.
    promise.set_exception(std::current_exception());
  } catch (...) {
    // Anything else (out of memory) may not happen again: the next request
    // tries again.
    promise.set_exception(std::current_exception());
    std::lock_guard<std::mutex> lock(mu);
    memo.erase(memKey);
  }
  return future.get();
}

std::shared_ptr<const Compiled> Compiler::addCubin(const std::shared_ptr<const Compiled> &c,
                                                   std::string cubin) {
  auto out = std::make_shared<Compiled>(*c);
  out->entry.cubin = std::move(cubin);
  disk.store(out->key, out->entry);
  std::promise<std::shared_ptr<const Compiled>> ready;
  ready.set_value(out);
  std::lock_guard<std::mutex> lock(mu);
  memo[out->memoKey] = ready.get_future().share();
  return out;
}

/// The device, or a stand-in when kernels run in the interpreter.
static rt::Device deviceFor(int ordinal) {
  if (!rt::interpretMode())
    return rt::openDevice(ordinal);
  rt::Device d;
  d.name = "CPU interpreter (TESSERA_INTERPRET=1)";
  d.major = 9;
  return d;
}

Jit::Jit(int deviceOrdinal, rt::CacheOptions cache)
    : dev(deviceFor(deviceOrdinal)), comp(std::move(cache)) {}

CUstream Jit::sideStream() {
  std::lock_guard<std::mutex> lock(mu);
  if (!side)
    side = std::make_unique<rt::Stream>();
  return side->get();
}

/// A kernel that runs the traced IR in the interpreter over the host
/// allocations that Buffers make in interpret mode.
static std::shared_ptr<rt::Kernel> interpretedKernel(const dsl::KernelDef &def,
                                                     const dsl::Params &params) {
  auto ctx = newContext();
  auto module = std::make_shared<mlir::OwningOpRef<mlir::ModuleOp>>(
      dsl::traceKernel(*ctx, def, params));
  KernelInfo info = describeKernel(**module);
  std::shared_ptr<mlir::MLIRContext> sharedCtx(ctx.release());
  auto run = [sharedCtx, module, info](rt::Grid grid, const rt::Arg *args, size_t n) {
    std::vector<interp::Arg> iargs;
    for (size_t i = 0; i < n; ++i) {
      const rt::Arg &a = args[i];
      switch (a.kind) {
      case rt::Arg::Kind::Ptr: {
        auto [base, bytes] = rt::hostAllocationOf(a.ptr);
        if (!bytes)
          throw rt::LaunchError(info.name + ": argument '" + info.params[i].name +
                                "' is not a Buffer made in interpret mode");
        iargs.push_back(interp::Buffer{reinterpret_cast<void *>(a.ptr),
                                       size_t(base + bytes - a.ptr), a.dtype ? a.dtype : ""});
        break;
      }
      case rt::Arg::Kind::I32: iargs.push_back(a.i32); break;
      case rt::Arg::Kind::I64: iargs.push_back(a.i64); break;
      case rt::Arg::Kind::F32: iargs.push_back(a.f32); break;
      }
    }
    interp::Options opts;
    const char *nan = std::getenv("TESSERA_INTERPRET_CHECK_NAN");
    opts.checkNonFinite = nan && *nan && std::string(nan) != "0";
    interp::run(**module, {grid.x, grid.y, grid.z}, iargs, opts);
  };
  return std::make_shared<rt::Kernel>(run, info);
}

std::shared_ptr<rt::Kernel> Jit::get(const dsl::KernelDef &def, const dsl::Params &params) {
  std::string memKey = def.name + "|" + params.over(def.defaults).str();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = loaded.find(memKey); it != loaded.end())
      return it->second;
  }
  if (rt::interpretMode()) {
    auto kernel = interpretedKernel(def, params);
    std::lock_guard<std::mutex> lock(mu);
    return loaded.emplace(memKey, kernel).first->second;
  }
  std::shared_ptr<const Compiled> c = comp.compile(def, params, dev.target());
  if (c->entry.cubin.empty())
    c = comp.addCubin(c, rt::ptxToCubin(c->entry.ptx, c->entry.target));
  auto module = std::make_shared<rt::Module>(c->entry.cubin);
  auto kernel = std::make_shared<rt::Kernel>(module, c->entry.info);
  std::lock_guard<std::mutex> lock(mu);
  return loaded.emplace(memKey, kernel).first->second;
}

} // namespace tessera::jit
