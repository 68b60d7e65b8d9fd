//===- Passes.td - passes over the `tile` dialect -------------*- tablegen -*-===//
#ifndef TESSERA_TILE_PASSES
#define TESSERA_TILE_PASSES

include "mlir/Pass/PassBase.td"

def TileExpandFP8 : Pass<"tile-expand-fp8", "::mlir::ModuleOp"> {
  let summary = "Keep FP8 tiles as bytes and expand their conversions into integer ops";
  let description = [{
    LLVM has no 8-bit float, so before layouts are assigned each
    `arith.extf` from FP8 (f8E4M3FN, f8E5M2) to f32 and each `arith.truncf`
    from f32 to FP8 becomes arithmetic on the bits (exact; f32 to FP8
    rounds to nearest even and saturates to the largest finite value, NaN
    to S.1111.111), and every other FP8 value, pointer, block argument and
    constant is retyped to i8 with the same bits.  Arithmetic on FP8 values
    is an error (the DSL refuses it where it is written).
  }];
  let dependentDialects = ["::tessera::tile::TileDialect", "::mlir::arith::ArithDialect"];
}

def TileFoldFactors : Pass<"tile-fold-factors", "::mlir::ModuleOp"> {
  let summary = "Fold multiplications of tiles by uniform factors";
  let description = [{
    `(x * a) * b` becomes `x * (a * b)` when `a` and `b` are uniform (splat
    constants, `tile.splat`s of scalars): the factors' product is computed
    once (folded when both are constants) and each element is multiplied
    once.  This reassociates -- a result may differ in the last bit -- and
    is limited to uniform factors.  Exact rewrites let more of them meet:
    `reduce max|min (x * c)` becomes `reduce(x) * c` for a finite constant
    c > 0, and `select(p, x * c, k)` becomes `select(p, x, k) * c` when the
    product has no other user and `k * c == k` (k = +-inf, 0).  In
    attention with a soft-capping modifier, scale, 1/cap, cap and log2(e)
    become one multiply before the tanh and one FMA before the exp2.
  }];
  let dependentDialects = ["::tessera::tile::TileDialect", "::mlir::arith::ArithDialect"];
}

def TileAssignLayouts : Pass<"tile-assign-layouts", "::mlir::ModuleOp"> {
  let summary = "Distribute every tile of a kernel over the threads of its block";
  let description = [{
    Attaches a `#tile.blocked<vec = V, threads = T>` encoding to every ranked
    tensor in each `tile.kernel` function (results, block arguments and
    constants).  `T` is `32 * tile.num_warps`; `V`, the elements a thread owns
    contiguously, is the largest power of two such that a chunk is at most
    16 bytes of the narrowest element the kernel loads or stores and the
    block's threads are all busy.  Because the layout depends only on the
    number of elements, element-wise operations, `expand_dims` and `reshape`
    never move data; `broadcast`, `trans`, `reduce` and `dot` redistribute
    through shared memory in the lowering.  Functions without `tile.kernel`,
    and tensors that already carry an encoding, are left alone.
  }];
  let dependentDialects = ["::tessera::tile::TileDialect"];
}

def TilePromoteShared : Pass<"tile-promote-shared", "::mlir::ModuleOp"> {
  let summary = "Load dot operands straight into swizzled shared memory and allocate it";
  let description = [{
    Folds `tile.convert_layout` of a single-use `tile.load` into a shared
    `#tile.shared` layout into a load that writes shared memory directly
    (no round trip through registers in the user's code), and a conversion
    of a `tile.trans` into a transposed view of the untransposed tile in
    shared memory.  Then allocates every shared tile by liveness (first fit,
    1024-byte aligned: the 128-byte swizzle pattern repeats every 1024 bytes
    and XORs absolute address bits), writing the offset into its
    `#tile.shared` encoding and the total into the kernel's
    `tile.shared_bytes`.  A kernel needing more than one block may use on
    the target is an error at the tile that does not fit.  Kernels without
    shared tiles are left unchanged.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"sm_90a\"", "GPU target (sets the limit)">,
    Option<"maxSharedBytes", "max-shared-bytes", "int64_t", "0",
           "Shared-memory limit per block in bytes (0: the target's)">,
  ];
  let dependentDialects = ["::tessera::tile::TileDialect"];
}

def TileWarpSpecialize : Pass<"tile-warp-specialize", "::mlir::ModuleOp"> {
  let summary = "Split a pipelined kernel between a TMA producer warpgroup and consumer warps";
  let description = [{
    Runs right after `tile-pipeline`, which, in a kernel marked
    `tile.warp_specialize` (on sm_90a: TMA loads refilled early, the loop at
    the top of the kernel or in a persistent kernel's loop over tiles, whole
    consumer warpgroups and at most 1024 threads with the producers), leaves
    the pipelined loop without prologue or refills, its consumers arriving
    on an "empty" barrier ring once done with a slot, and puts before it a
    loop marked `tile.producer_loop` that waits for each slot to be empty and
    issues its copies.  A persistent kernel's loop over tiles carries the ring
    count as its last iter_arg (`tile.ring_count`).

    This pass wraps the kernel body in a `tile.warp_specialize`: the
    consumer region holds the body, the producer region the marked loops
    (in a loop of their own over the same tiles in a persistent kernel) with
    recomputed copies of the scalars they use.  Shared allocations and
    barrier initialization move to the top.  Shared tiles loaded outside
    the loops through a TMA window are issued by the producer too (a
    one-slot buffer with "full" and, per tile, "empty" barriers) when the
    kernel still fits in shared memory.  With two or more consumer
    warpgroups whose loop issues its dots back to back, the warpgroups take
    turns issuing them (`tile.warpgroup_turn`, ping-pong).  Register
    budgets: the producer warpgroup keeps 24 registers per thread and the
    consumers take the rest (`setmaxnreg`), when that gives them more than
    the launch budget.  Shared tiles are re-allocated afterwards.  Kernels
    without `tile.producer_loop`s are left unchanged.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"sm_90a\"", "GPU target (sets the limit)">,
  ];
  let dependentDialects = ["::tessera::tile::TileDialect"];
}

def TilePipeline : Pass<"tile-pipeline", "::mlir::ModuleOp"> {
  let summary = "Software-pipeline the shared-memory loads of loops (TMA or cp.async)";
  let description = [{
    For each loop whose body loads tiles into shared memory (after
    `tile-promote-shared`) from addresses computed from the induction
    variable and loop-invariant values, keeps the loads of the next
    `stages - 1` iterations in flight: multi-buffered `tile.alloc_shared`,
    `tile.async_load` (cp.async, zero-filled past the end) for the prologue
    and one iteration ahead in the body, `tile.async_wait` at the top of the
    body, `tile.shared_slot` views for the consumers.  The stage count is the
    kernel's `tile.num_stages`, else `num-stages`; below 2 nothing changes.
    Shared tiles are re-allocated afterwards.

    On sm_90a, when every such load reads a window of a strided tensor the
    host can describe (see SoftwarePipeline.cpp), the loads go through TMA
    instead: a `!tile.tensor_map` kernel argument per load (built by the
    launcher), a ring of mbarriers (`tile.barrier_init`), one thread arming
    and issuing (`tile.barrier_expect`, `tile.tma_load`), every thread
    waiting on the slot's phase (`tile.barrier_wait`) before the slot's first
    read.  Tensor-core dots become asynchronous: an accumulate-only dot stays
    in flight across iterations (one ring; slot i-1 refilled at the end of
    iteration i); otherwise each dot is waited for at its result's first use,
    and each load, on its own ring, has its slot refilled with iteration
    i + stages as soon as the dot reading it has been waited for.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"sm_90a\"", "GPU target (sets the limit)">,
    Option<"numStages", "num-stages", "unsigned", "1",
           "Stages for kernels without tile.num_stages">,
  ];
  let dependentDialects = ["::tessera::tile::TileDialect"];
}

#endif // TESSERA_TILE_PASSES
