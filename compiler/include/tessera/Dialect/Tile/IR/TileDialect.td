//===- TileDialect.td - the `tile` dialect ---------------------*- tablegen -*-===//
//
// Block-level tensor programs: one program instance (a CUDA block) operates on
// ranked tensors whose elements are distributed over its threads by the layout
// assignment pass.  Pointers into global memory are `!tile.ptr<T>`.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_TILE_DIALECT
#define TESSERA_TILE_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Tile_Dialect : Dialect {
  let name = "tile";
  let cppNamespace = "::tessera::tile";
  let summary = "Block-level tensor programs for GPU kernels";
  let description = [{
    The `tile` dialect describes what one program instance (a thread block) of
    a kernel computes, in terms of ranked tensors ("tiles").  Element-wise math
    uses the `arith` and `math` dialects on tensors, control flow uses `scf`.
    Tensors carry no layout when traced; `tile-assign-layouts` attaches a
    `#tile.blocked` encoding that says which thread owns which element.
  }];
  let useDefaultTypePrinterParser = 1;
  let hasConstantMaterializer = 1;
  // The kernel attributes (tile.num_warps, tile.num_stages, ...) are checked
  // where they are attached, so no pass sees them out of range.
  let hasOperationAttrVerify = 1;
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect", "::mlir::func::FuncDialect"];
  let extraClassDeclaration = [{
    /// Unit attribute marking a `func.func` as a kernel entry point.
    static llvm::StringRef getKernelAttrName() { return "tile.kernel"; }
    /// i32 attribute on a kernel: warps per program (block).
    static llvm::StringRef getNumWarpsAttrName() { return "tile.num_warps"; }
    /// i32 attribute on a kernel pointer argument: known byte alignment.
    static llvm::StringRef getAlignmentAttrName() { return "tile.alignment"; }
    /// i32 attribute on a kernel integer argument: a power of two the value
    /// is promised to be a multiple of (checked by the launcher).
    static llvm::StringRef getDivisibilityAttrName() { return "tile.divisibility"; }
    /// Unit attribute on a kernel integer argument: promised to be 1 (a
    /// unit stride; checked by the launcher, the body uses the constant).
    static llvm::StringRef getUnitAttrName() { return "tile.unit"; }
    /// i32 attribute on a kernel: software-pipeline stages for tile-pipeline.
    static llvm::StringRef getNumStagesAttrName() { return "tile.num_stages"; }
    /// The most software-pipeline stages a kernel may ask for (each stage is
    /// a copy of the loop's tiles in shared memory; 16 is past any that fit).
    static constexpr int64_t kMaxNumStages = 16;
    /// i32 attribute on a kernel: blocks that must fit on one SM at once
    /// (CUDA's __launch_bounds__ minimum): ptxas caps registers to allow it.
    static llvm::StringRef getMinBlocksAttrName() { return "tile.min_blocks"; }
    /// Unit attribute on a kernel: asks tile-pipeline and tile-warp-specialize
    /// for a producer warpgroup that issues the TMA copies
    /// (`tile.warp_specialize`); ignored where the loops do not use TMA with
    /// early refill.
    static llvm::StringRef getWarpSpecializeAttrName() { return "tile.warp_specialize"; }
    /// Unit attribute on an scf.for that tile-pipeline made to issue the
    /// TMA copies of the pipelined loop that follows it in its block
    /// (waiting for each slot's "empty" barrier); tile-warp-specialize moves
    /// it into the producer region and drops the attribute.
    static llvm::StringRef getProducerLoopAttrName() { return "tile.producer_loop"; }
    /// Unit attribute on a persistent warp-specialized kernel's loop over
    /// tiles, whose last iter_arg is the ring count: iterations issued into
    /// the producer rings for earlier tiles (tile-pipeline adds it).
    static llvm::StringRef getRingCountAttrName() { return "tile.ring_count"; }
    /// i32 attribute on a kernel: bytes of shared memory its #tile.shared
    /// tiles occupy (set by tile-promote-shared).
    static llvm::StringRef getSharedBytesAttrName() { return "tile.shared_bytes"; }
    /// Dictionary on a !tile.tensor_map kernel argument: how the launcher
    /// builds it (`base`: index of the pointer argument; `dims`: per map
    /// dimension, innermost first, the index of the argument holding its
    /// extent, -1 if unbounded; `strides`: for dimensions 1.., the index of
    /// the argument holding the stride in elements; `box`: box extents;
    /// `swizzle`: bytes, 32/64/128).
    static llvm::StringRef getTensorMapAttrName() { return "tile.tensor_map"; }
  private:
    void registerTypes();
    void registerAttributes();
  public:
  }];
}

class Tile_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tile_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

def Tile_PtrType : TypeDef<Tile_Dialect, "Ptr"> {
  let mnemonic = "ptr";
  let summary = "pointer to an element in global memory";
  let description = [{
    `!tile.ptr<f16>` is the address of one `f16` in global memory.  A tensor of
    pointers (`tensor<64x!tile.ptr<f16>>`) is what `tile.load` and
    `tile.store` consume.
  }];
  let parameters = (ins "::mlir::Type":$pointeeType);
  let assemblyFormat = "`<` $pointeeType `>`";
}

def Tile_TensorMapType : TypeDef<Tile_Dialect, "TensorMap"> {
  let mnemonic = "tensor_map";
  let summary = "a TMA tensor map (CUtensorMap) passed as a kernel parameter";
  let description = [{
    The 128-byte descriptor `cp.async.bulk.tensor` reads: global address,
    extents, strides, box and swizzle of a tensor.  `tile-pipeline` adds one
    as a trailing kernel argument per tile it loads with TMA; the argument's
    `tile.tensor_map` attribute says how the launcher builds it from the
    user's arguments (base pointer, extents, strides), so callers never pass
    it.  Lowered to a 64-byte-aligned `__grid_constant__` parameter.
  }];
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Tile_BlockedLayoutAttr : AttrDef<Tile_Dialect, "BlockedLayout"> {
  let mnemonic = "blocked";
  let summary = "distribution of a tensor over the threads of a block";
  let description = [{
    The elements of the tensor, in row-major order, are cut into chunks of
    `vec` consecutive elements; chunk `c` belongs to thread `c mod threads`.
    Consecutive threads therefore touch consecutive chunks (coalesced access)
    and a thread's chunk can move with one vector load when the addresses are
    contiguous and aligned.  A tensor with fewer elements than `threads` is
    replicated: thread `t` holds element `t mod numel`.

    ```mlir
    tensor<64x64xf32, #tile.blocked<vec = 4, threads = 128>>
    ```
  }];
  let parameters = (ins "unsigned":$vec, "unsigned":$threads);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Tile_MmaLayoutAttr : AttrDef<Tile_Dialect, "MmaLayout"> {
  let mnemonic = "mma";
  let summary = "tensor-core accumulator layout of a 2-D tile";
  let description = [{
    The layout `mma.sync.m16n8k16` and `wgmma.mma_async` keep their f32
    accumulators in.  The `warpsM x warpsN` warps of the block (warp `w` at
    row `w mod warpsM`, column `w / warpsM`) split an `M x N` tile: warp row
    `i` owns the 16-row slices `16 i + 16 warpsM j`, warp column `c` owns the
    contiguous columns `[c N / warpsN, (c + 1) N / warpsN)`.  Within a 16 x 8
    piece, lane `l` (`g = l / 4`, `q = l mod 4`) holds rows `g` and `g + 8`,
    columns `2q` and `2q + 1` -- the C fragment of PTX's m16n8k16 (PTX ISA,
    "Matrix Fragments for mma.m16n8k16").  Registers run over 16-row slices,
    then 8-column pieces, then the row pair, then the column pair, which is
    also the register order of a `wgmma` m64nN accumulator when four
    consecutive warps share a warp column.

    ```mlir
    tensor<128x128xf32, #tile.mma<warpsM = 8, warpsN = 1>>
    ```
  }];
  let parameters = (ins "unsigned":$warpsM, "unsigned":$warpsN);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Tile_SharedLayoutAttr : AttrDef<Tile_Dialect, "SharedLayout"> {
  let mnemonic = "shared";
  let summary = "a 2-D tile resident in shared memory, swizzled";
  let description = [{
    The tile lives once per block in shared memory, not in registers.  Axis
    `contig` is contiguous: it is cut into atoms of `swizzle` bytes (32, 64 or
    128; 16 means unswizzled), atom `a` of every row stored after all rows of
    atom `a - 1`; inside a group of 8 rows the 16-byte units of row `r` are
    XOR-ed with `r mod (swizzle / 16)`.  This is the layout TMA writes and
    `wgmma` descriptors read (PTX ISA, "Shared Memory Matrix Layout"), and
    `ldmatrix` reads it without bank conflicts.  `tile-promote-shared`
    assigns the byte `offset` within the kernel's shared memory; -1 means
    not yet allocated.

    ```mlir
    tensor<128x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 0>>
    ```
  }];
  let parameters = (ins "unsigned":$contig, "unsigned":$swizzle, "int64_t":$offset);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Tile_ReduceKind : I32EnumAttr<"ReduceKind", "reduction combiner", [
    I32EnumAttrCase<"Sum", 0, "sum">,
    I32EnumAttrCase<"Max", 1, "max">,
    I32EnumAttrCase<"Min", 2, "min">]> {
  let cppNamespace = "::tessera::tile";
}

def Tile_AtomicKind : I32EnumAttr<"AtomicKind", "atomic read-modify-write combiner", [
    I32EnumAttrCase<"Add", 0, "add">,
    I32EnumAttrCase<"Max", 1, "max">,
    I32EnumAttrCase<"Min", 2, "min">,
    I32EnumAttrCase<"Exch", 3, "exch">,
    I32EnumAttrCase<"Cas", 4, "cas">]> {
  let cppNamespace = "::tessera::tile";
}

#endif // TESSERA_TILE_DIALECT
