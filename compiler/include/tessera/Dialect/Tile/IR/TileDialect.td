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

def Tile_ReduceKind : I32EnumAttr<"ReduceKind", "reduction combiner", [
    I32EnumAttrCase<"Sum", 0, "sum">,
    I32EnumAttrCase<"Max", 1, "max">,
    I32EnumAttrCase<"Min", 2, "min">]> {
  let cppNamespace = "::tessera::tile";
}

#endif // TESSERA_TILE_DIALECT
