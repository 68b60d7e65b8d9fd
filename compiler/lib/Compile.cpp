//===- Compile.cpp - a traced kernel to PTX, with its launch metadata -----===//
#include "tessera/Compile.h"
#include "tessera/Pipeline.h"
#include "tessera/Dialect/Tile/Transforms/Transforms.h"
#include "tessera/Target/PTXEmitter.h"
#include "Diagnostics.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <filesystem>

using namespace mlir;

namespace tessera {

/// Kernel metadata, read off the traced kernel before it is lowered.
static KernelInfo describeKernel(func::FuncOp func) {
  KernelInfo info;
  info.name = func.getName().str();
  info.threadsPerBlock = 32 * tile::getNumWarps(func);
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    KernelParam p;
    if (auto n = func.getArgAttrOfType<StringAttr>(i, "tile.name"))
      p.name = n.str();
    else
      p.name = "arg" + std::to_string(i);
    p.type = tile::typeName(func.getArgumentTypes()[i]);
    if (auto a = func.getArgAttrOfType<IntegerAttr>(
            i, tile::TileDialect::getAlignmentAttrName()))
      p.alignment = unsigned(a.getInt());
    if (auto d = func.getArgAttrOfType<IntegerAttr>(
            i, tile::TileDialect::getDivisibilityAttrName()))
      p.multipleOf = unsigned(d.getInt());
    p.unit = bool(func.getArgAttr(i, tile::TileDialect::getUnitAttrName()));
    info.params.push_back(p);
  }
  return info;
}

/// The module's one traced kernel.
static func::FuncOp theKernel(ModuleOp module) {
  func::FuncOp kernel;
  for (auto f : module.getOps<func::FuncOp>())
    if (f->hasAttr(tile::TileDialect::getKernelAttrName())) {
      if (kernel)
        throw Error("compileToPTX compiles one kernel; the module holds '" +
                    kernel.getName().str() + "' and '" + f.getName().str() + "'");
      kernel = f;
    }
  if (!kernel)
    throw Error("module holds no tile.kernel function");
  return kernel;
}

KernelInfo describeKernel(ModuleOp module) { return describeKernel(theKernel(module)); }

/// A folder of its own under `base` for one compile of kernel `name`:
/// base/name, or base/name.2, .3, ... when that is taken (an earlier
/// compile of the kernel, e.g. another configuration the JIT or the
/// autotuner tried), so no compile overwrites another's dumps.
/// create_directory reports whether this call made the folder, so two
/// threads never share one.
static std::string dumpFolder(const std::string &base, const std::string &name) {
  std::filesystem::create_directories(base);
  for (int n = 1;; ++n) {
    auto dir = std::filesystem::path(base) / (n == 1 ? name : name + "." + std::to_string(n));
    if (std::filesystem::create_directory(dir))
      return dir.string();
  }
}

CompiledKernel compileToPTX(ModuleOp module, const CompileOptions &options) {
  validateOptions(options);
  CompileOptions opts = options;
  MLIRContext *ctx = module.getContext();
  // The lowering needs dialects and LLVM IR translations the caller's
  // context may not have registered.
  DialectRegistry registry;
  registerAllDialects(registry);
  ctx->appendDialectRegistry(registry);
  func::FuncOp kernel = theKernel(module);
  if (!opts.dumpDir.empty())
    opts.dumpDir = dumpFolder(opts.dumpDir, kernel.getName().str());
  CompiledKernel result;
  result.target = opts.target;
  result.info = describeKernel(kernel);

  {
    DiagnosticCollector diags(ctx);
    if (failed(verify(module)))
      diags.raise("invalid tile IR");
    PassManager pm(ctx);
    buildPipeline(pm, opts);
    if (!opts.dumpDir.empty()) {
      // Multi-threaded contexts cannot print per pass.
      ctx->disableMultithreading();
      pm.enableIRPrintingToFileTree(
          [](Pass *, Operation *) { return false; },
          [](Pass *, Operation *) { return true; }, /*printModuleScope=*/true,
          /*printAfterOnlyOnChange=*/false, /*printAfterOnlyOnFailure=*/false,
          opts.dumpDir + "/passes");
      std::string s;
      llvm::raw_string_ostream os(s);
      module.print(os);
      writeDumpFile(opts.dumpDir, "traced.mlir", s);
    }
    if (failed(pm.run(module)))
      diags.raise("lowering failed");
  }
  // A warp-specialized kernel runs more warps than its tiles use.
  for (auto g : module.getOps<LLVM::LLVMFuncOp>())
    if (auto ntid = g->getAttrOfType<DenseI32ArrayAttr>(NVVM::NVVMDialect::getMaxntidAttrName()))
      result.info.threadsPerBlock = unsigned(ntid.asArrayRef()[0]);
  for (auto g : module.getOps<LLVM::LLVMFuncOp>())
    if (auto smem = g->getAttrOfType<IntegerAttr>("tile.dynamic_shared_bytes")) {
      result.info.dynamicSharedBytes = unsigned(smem.getInt());
      g->removeAttr("tile.dynamic_shared_bytes");
    }
  for (auto g : module.getOps<LLVM::LLVMFuncOp>())
    if (auto maps = g->getAttrOfType<ArrayAttr>("tile.tensor_maps")) {
      for (Attribute a : maps) {
        auto d = cast<DictionaryAttr>(a);
        TensorMapSpec m;
        m.base = unsigned(cast<IntegerAttr>(d.get("base")).getInt());
        auto dims = cast<DenseI64ArrayAttr>(d.get("dims")).asArrayRef();
        auto box = cast<DenseI64ArrayAttr>(d.get("box")).asArrayRef();
        auto strides = cast<DenseI64ArrayAttr>(d.get("strides")).asArrayRef();
        m.rank = unsigned(dims.size());
        if (m.rank < 2 || m.rank > TensorMapSpec::kMaxRank || box.size() != m.rank ||
            strides.size() + 1 != m.rank)
          throw Error("malformed tile.tensor_map on kernel '" + result.info.name + "'");
        for (unsigned i = 0; i < m.rank; ++i) {
          m.dims[i] = int(dims[i]);
          m.box[i] = unsigned(box[i]);
          if (i > 0)
            m.strides[i - 1] = int(strides[i - 1]);
        }
        m.swizzle = unsigned(cast<IntegerAttr>(d.get("swizzle")).getInt());
        result.info.tensorMaps.push_back(m);
      }
      g->removeAttr("tile.tensor_maps");
    }
  result.ptx = translateToPTX(module, opts);
  return result;
}

} // namespace tessera
