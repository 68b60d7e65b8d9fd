//===- KernelDef.cpp - config spaces, tracing with parameters, registry ---===//
#include "tessera/dsl/KernelDef.h"
#include "tessera/Dialect/Tile/IR/TileDialect.h"
#include "tessera/Support/Error.h"

#include <deque>
#include <mutex>

namespace tessera::dsl {

std::vector<Params>
configSpace(const std::vector<std::pair<std::string, std::vector<std::string>>> &axes) {
  std::vector<Params> out = {Params{}};
  for (const auto &[key, values] : axes) {
    std::vector<Params> next;
    for (const auto &p : out)
      for (const auto &v : values)
        next.push_back(Params(p).set(key, v));
    out = std::move(next);
  }
  return out;
}

mlir::OwningOpRef<mlir::ModuleOp> traceKernel(mlir::MLIRContext &ctx, const KernelDef &def,
                                              const Params &params) {
  Params p = params.over(def.defaults);
  for (auto &[key, value] : params.items())
    if (!def.defaults.has(key))
      throw Error("kernel '" + def.name + "' has no parameter '" + key + "' (it takes " +
                  def.defaults.str() + ")");
  // The compile parameters every kernel may take, checked before tracing
  // (the IR verifier checks them again where they land).
  auto check = [&](const char *key, int64_t lo, int64_t hi, bool pow2) {
    if (!p.has(key))
      return;
    int64_t v = p.i(key);
    if (v < lo || v > hi || (pow2 && (v & (v - 1)) != 0))
      throw Error("kernel '" + def.name + "': " + key + " must be " +
                  (pow2 ? "a power of two " : "") + "in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "], got " + std::to_string(v));
  };
  check("num_warps", 1, 32, true);
  check("num_stages", 1, tile::TileDialect::kMaxNumStages, false);
  check("min_blocks", 0, 32, false);
  check("warp_specialize", 0, 1, false);
  int64_t warps = p.i("num_warps");
  auto module = trace(ctx, def.name, unsigned(warps), [&](Kernel &k) { def.body(k, p); });
  auto setOnKernels = [&](llvm::StringRef name, mlir::Attribute value) {
    for (auto f : module->getOps<mlir::func::FuncOp>())
      f->setAttr(name, value);
  };
  auto i32 = [&](int64_t v) {
    return mlir::IntegerAttr::get(mlir::IntegerType::get(&ctx, 32), int32_t(v));
  };
  // Pipeline depth is a compile-time parameter of the loops, not of the
  // traced body: it goes to tile-pipeline as a kernel attribute.
  if (p.has("num_stages"))
    setOnKernels(tile::TileDialect::getNumStagesAttrName(), i32(p.i("num_stages")));
  // Likewise the occupancy the register allocation must leave room for.
  if (p.has("min_blocks") && p.i("min_blocks") > 0)
    setOnKernels(tile::TileDialect::getMinBlocksAttrName(), i32(p.i("min_blocks")));
  // And whether a producer warpgroup issues the loops' TMA copies.
  if (p.has("warp_specialize") && p.i("warp_specialize") > 0)
    setOnKernels(tile::TileDialect::getWarpSpecializeAttrName(), mlir::UnitAttr::get(&ctx));
  return module;
}

/// Kernels registered by users' files (a deque: references stay valid).
static std::deque<KernelDef> &registered() {
  static std::deque<KernelDef> r;
  return r;
}
static std::mutex registryMu;

void registerKernel(KernelDef def) {
  std::lock_guard<std::mutex> lock(registryMu);
  for (KernelDef &d : registered())
    if (d.name == def.name) {
      d = std::move(def); // re-registration (e.g. a reloaded file) replaces
      return;
    }
  registered().push_back(std::move(def));
}

const KernelDef *registeredKernel(const std::string &name) {
  std::lock_guard<std::mutex> lock(registryMu);
  for (const KernelDef &d : registered())
    if (d.name == name)
      return &d;
  return nullptr;
}

std::vector<std::string> registeredKernelNames() {
  std::lock_guard<std::mutex> lock(registryMu);
  std::vector<std::string> names;
  for (const KernelDef &d : registered())
    names.push_back(d.name);
  return names;
}

} // namespace tessera::dsl
