//===- TileOps.td - operations of the `tile` dialect -----------*- tablegen -*-===//
#ifndef TESSERA_TILE_OPS
#define TESSERA_TILE_OPS

include "tessera/Dialect/Tile/IR/TileDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinTypes.td"

def Tile_AnyPtr : Type<CPred<"::llvm::isa<::tessera::tile::PtrType>($_self)">,
                       "!tile.ptr">;
def Tile_PtrLike : AnyTypeOf<[Tile_AnyPtr, StaticShapeTensorOf<[Tile_AnyPtr]>]>;
def Tile_IntLike : AnyTypeOf<[AnySignlessInteger, StaticShapeTensorOf<[AnySignlessInteger]>]>;
def Tile_BoolLike : AnyTypeOf<[I1, StaticShapeTensorOf<[I1]>]>;

def Tile_ProgramIdOp : Tile_Op<"program_id", [Pure]> {
  let summary = "index of this program instance along a grid axis";
  let description = [{
    Which program (thread block) of the launch grid executes this instance,
    along `axis` (0, 1 or 2).

    ```mlir
    %pid = tile.program_id 0
    ```
  }];
  let arguments = (ins ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict";
}

def Tile_NumProgramsOp : Tile_Op<"num_programs", [Pure]> {
  let summary = "number of program instances along a grid axis";
  let description = [{
    ```mlir
    %n = tile.num_programs 1
    ```
  }];
  let arguments = (ins ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict";
}

def Tile_ArangeOp : Tile_Op<"arange", [Pure]> {
  let summary = "the integers start, start+1, ..., end-1 as a 1-D tile";
  let description = [{
    The length `end - start` must be a power of two and match the result type.

    ```mlir
    %cols = tile.arange 0, 128 : tensor<128xi32>
    ```
  }];
  let arguments = (ins I32Attr:$start, I32Attr:$end);
  let results = (outs 1DTensorOf<[I32]>:$result);
  let assemblyFormat = "$start `,` $end attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Tile_SplatOp : Tile_Op<"splat", [Pure]> {
  let summary = "a tile with every element equal to a scalar";
  let description = [{
    ```mlir
    %t = tile.splat %x : f32 -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins AnyType:$src);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
  // A splat of a constant is a constant: canonicalization then folds
  // `x * 1`, `x + 0`, which keeps contiguity visible to the axis analysis.
  let hasFolder = 1;
}

def Tile_BroadcastOp : Tile_Op<"broadcast", [Pure]> {
  let summary = "repeat a tile along its dimensions of size one";
  let description = [{
    Source and result have the same rank; every source dimension equals the
    result dimension or is 1.

    ```mlir
    %b = tile.broadcast %row : tensor<1x64xf32> -> tensor<32x64xf32>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$src);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_ExpandDimsOp : Tile_Op<"expand_dims", [Pure]> {
  let summary = "insert a dimension of size one";
  let description = [{
    ```mlir
    %c = tile.expand_dims %v {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$src, I32Attr:$axis);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_ReshapeOp : Tile_Op<"reshape", [Pure]> {
  let summary = "reinterpret the elements, in row-major order, with a new shape";
  let description = [{
    ```mlir
    %r = tile.reshape %t : tensor<4x16xf32> -> tensor<64xf32>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$src);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_TransOp : Tile_Op<"trans", [Pure]> {
  let summary = "permute the dimensions of a tile";
  let description = [{
    Result dimension `i` is source dimension `order[i]`.

    ```mlir
    %kt = tile.trans %k {order = array<i32: 1, 0>} : tensor<64x128xf16> -> tensor<128x64xf16>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$src, DenseI32ArrayAttr:$order);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_AddPtrOp : Tile_Op<"addptr", [Pure, AllTypesMatch<["ptr", "result"]>]> {
  let summary = "advance pointers by element offsets";
  let description = [{
    `result[i] = ptr[i] + offset[i] * sizeof(T)`; a scalar pointer with a
    scalar offset, or tiles of equal shape.

    ```mlir
    %p = tile.addptr %base, %offs : tensor<128x!tile.ptr<f16>>, tensor<128xi32>
    ```
  }];
  let arguments = (ins Tile_PtrLike:$ptr, Tile_IntLike:$offset);
  let results = (outs Tile_PtrLike:$result);
  let assemblyFormat = "$ptr `,` $offset attr-dict `:` type($ptr) `,` type($offset)";
  let hasVerifier = 1;
}

def Tile_LoadOp : Tile_Op<"load", [AttrSizedOperandSegments,
                                   MemoryEffects<[MemRead]>]> {
  let summary = "load from global memory, optionally masked";
  let description = [{
    Loads the element each pointer addresses.  Where `mask` is false nothing
    is read and the result is `other` (zero when `other` is absent).

    `speculative` (scalar loads without a mask only) promises that the load
    may run where the program would not run it: tile-pipeline computes a
    later iteration's load addresses ahead, up to num_stages - 1 iterations
    past the loop's last, and tile-warp-specialize recomputes them in the
    producer warps.  A block-sparse loop reads its block indices this way
    (the index lists are padded and never written while the kernel runs).

    ```mlir
    %x = tile.load %p mask %m other %o
        : (tensor<128x!tile.ptr<f16>>, tensor<128xi1>, tensor<128xf16>) -> tensor<128xf16>
    ```
  }];
  let arguments = (ins Tile_PtrLike:$ptr, Optional<Tile_BoolLike>:$mask,
                       Optional<AnyType>:$other, UnitAttr:$speculative);
  let results = (outs AnyType:$result);
  let assemblyFormat = [{
    $ptr (`mask` $mask^)? (`other` $other^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Tile_StoreOp : Tile_Op<"store", [MemoryEffects<[MemWrite]>]> {
  let summary = "store to global memory, optionally masked";
  let description = [{
    Writes `value[i]` to `ptr[i]` where `mask[i]` is true (everywhere when
    there is no mask).

    ```mlir
    tile.store %p, %v mask %m
        : (tensor<128x!tile.ptr<f16>>, tensor<128xf16>, tensor<128xi1>) -> ()
    ```
  }];
  let arguments = (ins Tile_PtrLike:$ptr, AnyType:$value, Optional<Tile_BoolLike>:$mask);
  let assemblyFormat = [{
    $ptr `,` $value (`mask` $mask^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Tile_AtomicRMWOp : Tile_Op<"atomic_rmw", [AttrSizedOperandSegments,
                                             MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "atomic read-modify-write of global memory, optionally masked";
  let description = [{
    Where `mask[i]` is true (everywhere when there is no mask), atomically
    replaces `*ptr[i]` with `combine(*ptr[i], value[i])` and returns the value
    it replaced; where it is false memory is untouched and the result is
    zero.  Each element is one atomic operation (relaxed, device scope): the
    elements of one op are not ordered with each other, and two elements
    with the same pointer both apply.  `add` takes i32 or f32 (f32 sums
    depend on the order the adds arrive in); `max` and `min` take i32
    (signed) or f32, where -0.0 orders below +0.0 and NaN operands are not
    supported (they compare by their bits).  `exch` stores `value`; `cas`
    (compare-and-swap, the only kind with a `compare` operand) stores
    `value` where the old value equals `compare[i]` bit for bit (so an f32
    -0.0 does not match +0.0, and a NaN matches the same NaN).

    ```mlir
    %old = tile.atomic_rmw add %p, %v mask %m
        : (tensor<64x128x!tile.ptr<f32>>, tensor<64x128xf32>, tensor<64x128xi1>)
          -> tensor<64x128xf32>
    %seen = tile.atomic_rmw cas %p, %new compare %expected
        : (tensor<128x!tile.ptr<i32>>, tensor<128xi32>, tensor<128xi32>) -> tensor<128xi32>
    ```
  }];
  let arguments = (ins Tile_AtomicKind:$kind, Tile_PtrLike:$ptr, AnyType:$value,
                       Optional<AnyType>:$compare, Optional<Tile_BoolLike>:$mask);
  let results = (outs AnyType:$result);
  let assemblyFormat = [{
    $kind $ptr `,` $value (`compare` $compare^)? (`mask` $mask^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Tile_DotOp : Tile_Op<"dot", [Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "matrix product with accumulation: result = a * b + acc";
  let description = [{
    `a` is MxK, `b` is KxN, both f16, bf16 or f32 (the same type); `acc` and
    the result are MxN f32.  Products are accumulated in f32.

    ```mlir
    %c = tile.dot %a, %b, %acc : tensor<64x32xf16>, tensor<32x64xf16> -> tensor<64x64xf32>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$a, AnyStaticShapeTensor:$b, AnyStaticShapeTensor:$acc);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$a `,` $b `,` $acc attr-dict `:` type($a) `,` type($b) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_ReduceOp : Tile_Op<"reduce", [Pure]> {
  let summary = "reduce a tile along one axis with sum, max or min";
  let description = [{
    The result has the source's shape without `axis`; reducing a 1-D tile
    gives a scalar.  `max`/`min` follow `arith.maximumf`/`minimumf` (a NaN
    propagates).

    ```mlir
    %m = tile.reduce max %s {axis = 1 : i32} : tensor<64x128xf32> -> tensor<64xf32>
    ```
  }];
  let arguments = (ins Tile_ReduceKind:$kind, AnyStaticShapeTensor:$src, I32Attr:$axis);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$kind $src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_ScanOp : Tile_Op<"scan", [Pure, AllTypesMatch<["src", "result"]>]> {
  let summary = "inclusive scan of a tile along one axis with sum, max or min";
  let description = [{
    Element k along `axis` of the result combines elements 0..k of the
    source (cumsum, cummax, cummin).  `max`/`min` follow
    `arith.maximumf`/`minimumf` (a NaN propagates to every later element).
    f32 sums may round differently from a left-to-right sum: the GPU adds
    chunks of the axis, then the chunks' totals.

    ```mlir
    %c = tile.scan sum %x {axis = 1 : i32} : tensor<64x128xf32>
    ```
  }];
  let arguments = (ins Tile_ReduceKind:$kind, AnyStaticShapeTensor:$src, I32Attr:$axis);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$kind $src attr-dict `:` type($src)";
  let hasVerifier = 1;
}

def Tile_ConvertLayoutOp : Tile_Op<"convert_layout", [Pure]> {
  let summary = "move a tile to another distribution over threads";
  let description = [{
    Same shape and element type, different `#tile.blocked` encoding; inserted
    by `tile-assign-layouts` where an operation needs its operand distributed
    differently.

    ```mlir
    %y = tile.convert_layout %x : tensor<64xf32, #tile.blocked<vec = 1, threads = 128>>
                               -> tensor<64xf32, #tile.blocked<vec = 2, threads = 32>>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$src);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Asynchronous copies into shared memory (created by tile-pipeline)
//===----------------------------------------------------------------------===//

def Tile_AllocSharedOp : Tile_Op<"alloc_shared", [MemoryEffects<[MemAlloc]>]> {
  let summary = "a multi-buffered tile in shared memory";
  let description = [{
    `S` slots of an `R x C` shared tile (result shape `S x R x C`), one per
    pipeline stage; `tile-promote-shared`'s allocation places it.

    ```mlir
    %buf = tile.alloc_shared : tensor<3x128x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = -1>>
    ```
  }];
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Tile_SharedSlotOp : Tile_Op<"shared_slot", [Pure]> {
  let summary = "one slot of a multi-buffered shared tile";
  let description = [{
    A view of slot `slot` of `buffer` as a 2-D shared tile (no data moves).

    ```mlir
    %a = tile.shared_slot %buf[%s] : tensor<3x128x64xf16, #S> -> tensor<128x64xf16, #S>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$buffer, I32:$slot);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$buffer `[` $slot `]` attr-dict `:` type($buffer) `->` type($result)";
  let hasVerifier = 1;
}

def Tile_AsyncLoadOp : Tile_Op<"async_load", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "start copying a tile from global memory into a shared slot";
  let description = [{
    Issues the copy of the tile addressed by `ptr` into slot `slot` of
    `buffer` without waiting for it (`cp.async` with one commit group per
    op); masked-off elements become zero.  Only `tile.async_wait` makes the
    data visible.

    ```mlir
    tile.async_load %p into %buf[%s] mask %m : tensor<128x64x!tile.ptr<f16>, #B>, tensor<3x128x64xf16, #S>, tensor<128x64xi1, #B>
    ```
  }];
  let arguments = (ins Tile_PtrLike:$ptr, AnyStaticShapeTensor:$buffer, I32:$slot,
                       Optional<Tile_BoolLike>:$mask);
  let assemblyFormat = [{
    $ptr `into` $buffer `[` $slot `]` (`mask` $mask^)? attr-dict `:` type($ptr) `,` type($buffer)
    (`,` type($mask)^)?
  }];
  let hasVerifier = 1;
}

def Tile_AsyncWaitOp : Tile_Op<"async_wait"> {
  let summary = "wait until at most `pending` async_load groups are in flight";
  let description = [{
    `cp.async.wait_group pending`, then the block synchronizes, so every
    thread sees the completed copies (and, on Hopper, the async proxy that
    wgmma reads through does too).

    ```mlir
    tile.async_wait {pending = 1 : i32}
    ```
  }];
  let arguments = (ins I32Attr:$pending);
  let assemblyFormat = "attr-dict";
}

def Tile_DotWaitOp : Tile_Op<"dot_wait"> {
  let summary = "wait until at most `pending` asynchronous dots are in flight";
  let description = [{
    `tile-pipeline` marks dots `tile.async` on sm_90a: their wgmma groups are
    committed without waiting, so the tensor cores keep working while the
    next loads are issued.  This op waits (`wgmma.wait_group pending`) and
    returns its operands, the accumulators that are safe to read only
    afterwards; with `sync` the block synchronizes as well (before a shared
    slot that an earlier dot read is overwritten).

    ```mlir
    %acc = tile.dot_wait %r {pending = 0 : i32} : (tensor<128x128xf32, #M>) -> tensor<128x128xf32, #M>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values, I32Attr:$pending, UnitAttr:$sync);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat = "$values attr-dict `:` functional-type($values, $results)";
}

//===----------------------------------------------------------------------===//
// TMA and mbarriers (created by tile-pipeline on sm_90a)
//===----------------------------------------------------------------------===//

def Tile_BarrierInitOp : Tile_Op<"barrier_init"> {
  let summary = "initialize a ring of mbarriers in shared memory";
  let description = [{
    `barriers` (from `tile.alloc_shared`, i64 elements, shape `S x 1 x 1`)
    holds one mbarrier per pipeline slot.  One thread initializes each with
    `count` expected arrivals; the block then synchronizes so every thread
    (and the TMA unit) sees them initialized.

    ```mlir
    tile.barrier_init %bars {count = 1 : i32} : tensor<3x1x1xi64, #S>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$barriers, I32Attr:$count);
  let assemblyFormat = "$barriers attr-dict `:` type($barriers)";
  let hasVerifier = 1;
}

def Tile_BarrierExpectOp : Tile_Op<"barrier_expect"> {
  let summary = "arrive on a slot's mbarrier, announcing the bytes to come";
  let description = [{
    One thread arrives on `barriers[slot]` and raises its transaction count
    by `bytes`: the phase completes when the TMA copies naming this barrier
    have delivered that many bytes.

    ```mlir
    tile.barrier_expect %bars[%s] {bytes = 32768 : i32} : tensor<3x1x1xi64, #S>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$barriers, I32:$slot, I32Attr:$bytes);
  let assemblyFormat = "$barriers `[` $slot `]` attr-dict `:` type($barriers)";
  let hasVerifier = 1;
}

def Tile_BarrierWaitOp : Tile_Op<"barrier_wait"> {
  let summary = "wait until a slot's mbarrier completes phase `phase`";
  let description = [{
    Every thread waits (`mbarrier.try_wait.parity`) until the phase with
    parity `phase` of `barriers[slot]` has completed; the data the TMA
    copies delivered to the slot is then visible.

    ```mlir
    tile.barrier_wait %bars[%s], %phase : tensor<3x1x1xi64, #S>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$barriers, I32:$slot, I32:$phase);
  let assemblyFormat = "$barriers `[` $slot `]` `,` $phase attr-dict `:` type($barriers)";
  let hasVerifier = 1;
}

def Tile_BarrierArriveOp : Tile_Op<"barrier_arrive"> {
  let summary = "each warp arrives once on a slot's mbarrier";
  let description = [{
    One lane of every warp that executes it arrives on `barriers[slot]`
    (`mbarrier.arrive`): a ring initialized with `count` = the number of
    such warps completes its phase when all of them are past this point.
    Warp-specialized kernels use it on the "empty" ring: consumer warps
    arrive once the dot that read a slot has retired, and the producer
    waits for the phase before it refills the slot.

    ```mlir
    tile.barrier_arrive %empty[%s] : tensor<2x1x1xi64, #S>
    ```
  }];
  let arguments = (ins AnyStaticShapeTensor:$barriers, I32:$slot);
  let assemblyFormat = "$barriers `[` $slot `]` attr-dict `:` type($barriers)";
  let hasVerifier = 1;
}

def Tile_WarpgroupTurnOp : Tile_Op<"warpgroup_turn"> {
  let summary = "take (`begin`) or hand on the turn of the consumer warpgroups";
  let description = [{
    Ping-pong scheduling in a warp-specialized kernel (FlashAttention-3):
    the consumer warpgroups take turns issuing their tensor-core work, so
    that while one warpgroup's dots run, the other computes its softmax.
    `begin` waits until it is this warpgroup's turn (named barrier 2 + g);
    without it, the op hands the turn to the next warpgroup
    (arrive on 2 + (g + 1) mod n).  Warpgroup 0 holds the first turn.

    ```mlir
    tile.warpgroup_turn {begin}
    %s = tile.dot ... {tile.async}
    %o = tile.dot ... {tile.async}
    tile.warpgroup_turn
    ```
  }];
  let arguments = (ins UnitAttr:$begin);
  let assemblyFormat = "attr-dict";
}

def Tile_WarpSpecializeOp : Tile_Op<"warp_specialize", [NoTerminator, SingleBlock]> {
  let summary = "consumer warps run the first region, producer warps the second";
  let description = [{
    Made by `tile-pipeline` for a kernel marked `tile.warp_specialize`: the
    block gets `producer_warps` more warps than `tile.num_warps`.  Warps
    0 .. num_warps-1 (the consumers, whose tiles are laid out over them)
    run `consumer`; the producer warps run `producer`, which only issues
    TMA copies (one warp does; the others exit).  Block-wide
    synchronization inside `consumer` covers the consumer warps only.
    When `consumer_regs` is non-zero, each side first moves its register
    budget (`setmaxnreg`): producers down to `producer_regs`, consumers up
    to `consumer_regs`, so the consumers' tiles fit without spills.
    With `turns`, the consumer region's `tile.warpgroup_turn` ops order
    the consumer warpgroups (warpgroup 0 starts with the turn).

    ```mlir
    tile.warp_specialize {producer_warps = 4 : i32, producer_regs = 24 : i32, consumer_regs = 240 : i32} {
      ... the kernel's body ...
    } {
      ... the TMA issue loops ...
    }
    ```
  }];
  let arguments = (ins I32Attr:$producer_warps, I32Attr:$producer_regs, I32Attr:$consumer_regs,
                       UnitAttr:$turns);
  let regions = (region SizedRegion<1>:$consumer, SizedRegion<1>:$producer);
  let assemblyFormat = "attr-dict-with-keyword $consumer $producer";
  let hasVerifier = 1;
}

def Tile_TmaLoadOp : Tile_Op<"tma_load", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "copy a tile from global into a shared slot with TMA";
  let description = [{
    One thread issues `cp.async.bulk.tensor` copies of the tile at element
    coordinates `coords` (innermost dimension of the tensor map first) into
    slot `slot` of `buffer`, completing on `barriers[slot]`.  The slot's
    contiguous axis is the map's innermost dimension; a slot wider than one
    swizzle atom takes one box per atom.  Coordinates past the second are
    for map dimensions whose box has extent 1 (e.g. batch and head).  Parts
    outside the map's extents arrive as zeros.

    ```mlir
    tile.tma_load %map[%k, %m] into %buf[%s], %bars : !tile.tensor_map, tensor<3x128x64xf16, #S>, tensor<3x1x1xi64, #S2>
    ```
  }];
  let arguments = (ins Tile_TensorMapType:$map, Variadic<I32>:$coords,
                       AnyStaticShapeTensor:$buffer, I32:$slot,
                       AnyStaticShapeTensor:$barriers);
  let assemblyFormat = [{
    $map `[` $coords `]` `into` $buffer `[` $slot `]` `,` $barriers attr-dict `:`
    type($map) `,` type($buffer) `,` type($barriers)
  }];
  let hasVerifier = 1;
}

#endif // TESSERA_TILE_OPS
