//===- TileDialect.h - the `tile` dialect ---------------------------------===//
#pragma once

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

} // namespace tessera::tile
