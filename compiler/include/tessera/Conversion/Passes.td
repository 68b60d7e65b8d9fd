//===- Passes.td - conversions out of the `tile` dialect ---*- tablegen -*-===//
#ifndef TESSERA_CONVERSION_PASSES
#define TESSERA_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertTileToNVVM : Pass<"convert-tile-to-nvvm", "::mlir::ModuleOp"> {
  let summary = "Lower laid-out tile kernels to per-thread LLVM/NVVM code";
  let description = [{
    Rewrites each `tile.kernel` function, whose tensors carry layouts
    (`#tile.blocked`, `#tile.mma`, `#tile.shared`), into an `llvm.func` PTX
    kernel in which every tensor value is replaced by the scalars the current
    thread owns (a shared tile by its offset in the kernel's dynamic shared
    memory).  Loads and stores become (predicated, where the addresses allow
    vectorized) `llvm.load`/`llvm.store`; data movement between register
    layouts goes through one shared-memory scratch buffer guarded by
    `bar.sync`; `dot` uses tensor cores when its B operand is in shared memory
    (`wgmma` on sm_90a, `mma.sync` otherwise) and is an FMA loop over K
    otherwise; pipelined loads become `cp.async` or TMA copies with
    mbarriers; `math` operations use the PTX approximations (`ex2.approx`,
    `lg2.approx`, `rsqrt.approx`, `tanh.approx`).  Scalar `arith`, `math` and
    `scf` operations are left for the standard conversions that follow in the
    pipeline.  Sources: lib/Conversion/TileToNVVM/, one file per op family.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"sm_90a\"",
           "GPU target: wgmma is used on sm_90a only">,
    Option<"maxSharedBytes", "max-shared-bytes", "int64_t", "0",
           "Shared-memory limit per block in bytes (0: the target's)">,
    Option<"exp2Ftz", "exp2-ftz", "bool", "true",
           "exp2/exp as ex2.approx.ftz.f32 (one instruction; results below 2^-126 flush to 0)">,
    Option<"ptxVersion", "ptx-version", "unsigned", "81",
           "PTX ISA version the module will be emitted with (x10): instructions newer "
           "than it are not used">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

def ConvertSCFToCFBottomUp : Pass<"convert-scf-to-cf-bottom-up", "::mlir::ModuleOp"> {
  let summary = "Lower scf to cf with upstream's patterns, last operation first";
  let description = [{
    The same rewrites as MLIR's `convert-scf-to-cf` (its pattern set), applied
    by the greedy driver, which visits a block's operations from its end,
    instead of the dialect conversion, which visits them from its start.
    Lowering an `scf.if` splits its block, moving every operation after it
    into a new block: from the start, a kernel body with n masked loads and
    m operations moves O(n * m) operations (a one-warp matmul with 1408
    `scf.if` in 200k operations took 16 s); from the end, each operation
    moves at most once.  The blocks come out in the same order either way.
    No folding or region simplification: nothing but the lowering.
  }];
  let dependentDialects = ["::mlir::cf::ControlFlowDialect"];
}

#endif // TESSERA_CONVERSION_PASSES
