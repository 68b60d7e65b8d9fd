//===- Library.cpp - the registry of library kernels ----------------------===//
#include "tessera/kernels/Library.h"
#include "tessera/Dialect/Tile/IR/TileDialect.h"

#include <deque>
#include <mutex>

namespace tessera::kernels {

const std::vector<KernelDef> &library() {
  static const std::vector<KernelDef> all = {vectorAddKernel(), softmaxKernel(), layerNormKernel(),
                                             matmulKernel(), attentionFwdKernel()};
  return all;
}

std::vector<dsl::Params>
configSpace(const std::vector<std::pair<std::string, std::vector<std::string>>> &axes) {
  std::vector<dsl::Params> out = {dsl::Params{}};
  for (const auto &[key, values] : axes) {
    std::vector<dsl::Params> next;
    for (const auto &p : out)
      for (const auto &v : values)
        next.push_back(dsl::Params(p).set(key, v));
    out = std::move(next);
  }
  return out;
}

/// Kernels registered by users' files (a deque: references stay valid).
static std::deque<KernelDef> &registered() {
  static std::deque<KernelDef> r;
  return r;
}
static std::mutex registryMu;

void registerKernel(KernelDef def) {
  std::lock_guard<std::mutex> lock(registryMu);
  for (const KernelDef &d : library())
    if (d.name == def.name)
      throw Error("registerKernel: '" + def.name + "' is a library kernel's name");
  for (KernelDef &d : registered())
    if (d.name == def.name) {
      d = std::move(def); // re-registration (e.g. a reloaded file) replaces
      return;
    }
  registered().push_back(std::move(def));
}

const KernelDef &findKernel(const std::string &name) {
  std::string known;
  for (const KernelDef &d : library()) {
    if (d.name == name)
      return d;
    known += (known.empty() ? "" : ", ") + d.name;
  }
  std::lock_guard<std::mutex> lock(registryMu);
  for (const KernelDef &d : registered()) {
    if (d.name == name)
      return d;
    known += (known.empty() ? "" : ", ") + d.name;
  }
  throw Error("unknown kernel '" + name + "' (known: " + known + ")");
}

mlir::OwningOpRef<mlir::ModuleOp> traceKernel(mlir::MLIRContext &ctx, const KernelDef &def,
                                              const dsl::Params &params) {
  dsl::Params p = params.over(def.defaults);
  for (auto &[key, value] : params.items())
    if (!def.defaults.has(key))
      throw Error("kernel '" + def.name + "' has no parameter '" + key + "' (it takes " +
                  def.defaults.str() + ")");
  int64_t warps = p.i("num_warps");
  auto module = dsl::trace(ctx, def.name, unsigned(warps), [&](dsl::Kernel &k) { def.body(k, p); });
  // Pipeline depth is a compile-time parameter of the loops, not of the
  // traced body: it goes to tile-pipeline as a kernel attribute.
  if (p.has("num_stages"))
    for (auto f : module->getOps<mlir::func::FuncOp>())
      f->setAttr(tile::TileDialect::getNumStagesAttrName(),
                 mlir::IntegerAttr::get(mlir::IntegerType::get(&ctx, 32),
                                        int32_t(p.i("num_stages"))));
  // Likewise the occupancy the register allocation must leave room for.
  if (p.has("min_blocks") && p.i("min_blocks") > 0)
    for (auto f : module->getOps<mlir::func::FuncOp>())
      f->setAttr(tile::TileDialect::getMinBlocksAttrName(),
                 mlir::IntegerAttr::get(mlir::IntegerType::get(&ctx, 32),
                                        int32_t(p.i("min_blocks"))));
  // And whether a producer warpgroup issues the loops' TMA copies.
  if (p.has("warp_specialize") && p.i("warp_specialize") > 0)
    for (auto f : module->getOps<mlir::func::FuncOp>())
      f->setAttr(tile::TileDialect::getWarpSpecializeAttrName(), mlir::UnitAttr::get(&ctx));
  return module;
}

} // namespace tessera::kernels
