//===- TileDialect.h - the `tile` dialect ---------------------------------===//
#pragma once

#include <string>

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "tessera/Dialect/Tile/IR/TileDialect.h.inc"
#include "tessera/Dialect/Tile/IR/TileEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "tessera/Dialect/Tile/IR/TileTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "tessera/Dialect/Tile/IR/TileAttrs.h.inc"

#define GET_OP_CLASSES
#include "tessera/Dialect/Tile/IR/TileOps.h.inc"

namespace tessera::tile {

/// Shape of a tensor type; empty for scalars.
llvm::ArrayRef<int64_t> getShapeOrEmpty(mlir::Type type);

/// "file:line: " of the innermost file location within `loc` (the user's
/// C++ line for traced IR), or "" when it has none.  Every user-facing
/// message about an op starts with it.
std::string formatFileLine(mlir::Location loc);

/// Size in bytes of one element of `type` in memory (i1 occupies a byte,
/// pointers eight).
unsigned getElementByteSize(mlir::Type type);

/// The name Tessera gives a type in kernel metadata, buffer dtypes and
/// messages: MLIR's spelling ("f16", "i32"), "ptr<...>" for pointers, and
/// "f8e4m3" / "f8e5m2" for the FP8 types (MLIR: f8E4M3FN, f8E5M2).
std::string typeName(mlir::Type type);
/// FP8 (f8E4M3FN or f8E5M2): a storage type whose conversions from f32
/// round to nearest even and saturate to fp8MaxFinite.
bool isFP8(mlir::Type type);
/// The largest finite FP8 value: 448 (E4M3) or 57344 (E5M2).
double fp8MaxFinite(mlir::Type type);

} // namespace tessera::tile
