//===- TileDialect.cpp - `tile` dialect registration, types, attributes ---===//
#include "tessera/Dialect/Tile/IR/TileDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace tessera::tile;

#include "tessera/Dialect/Tile/IR/TileDialect.cpp.inc"
#include "tessera/Dialect/Tile/IR/TileEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "tessera/Dialect/Tile/IR/TileTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "tessera/Dialect/Tile/IR/TileAttrs.cpp.inc"

void TileDialect::initialize() {
  registerTypes();
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "tessera/Dialect/Tile/IR/TileOps.cpp.inc"
      >();
}

void TileDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "tessera/Dialect/Tile/IR/TileTypes.cpp.inc"
      >();
}

void TileDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "tessera/Dialect/Tile/IR/TileAttrs.cpp.inc"
      >();
}

LogicalResult
BlockedLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          unsigned vec, unsigned threads) {
  if (vec == 0 || !llvm::isPowerOf2_32(vec))
    return emitError() << "vec must be a power of two, got " << vec;
  if (threads == 0 || threads % 32 != 0 || !llvm::isPowerOf2_32(threads))
    return emitError() << "threads must be a power-of-two multiple of 32, got "
                       << threads;
  // A block runs at most 32 warps; layouts' thread counts are multiplied
  // and divided in 32 bits by the passes.
  if (threads > 1024)
    return emitError() << "threads must be at most 1024 (32 warps), got " << threads;
  return success();
}

/// Kernel attributes on a function: tile.num_warps a power of two in
/// [1, 32] (1024 threads), tile.num_stages in [1, kMaxNumStages],
/// tile.min_blocks in [1, 32], tile.warp_specialize a unit attribute.
LogicalResult TileDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  auto inRange = [&](int64_t lo, int64_t hi, bool pow2) -> LogicalResult {
    auto a = dyn_cast<IntegerAttr>(attr.getValue());
    if (!a || !a.getType().isInteger(32))
      return op->emitOpError("'") << name << "' must be an i32 attribute";
    int64_t v = a.getInt();
    if (v < lo || v > hi || (pow2 && !llvm::isPowerOf2_64(uint64_t(v))))
      return op->emitOpError("'") << name << "' must be " << (pow2 ? "a power of two " : "")
                                  << "in [" << lo << ", " << hi << "], got " << v;
    return success();
  };
  if (name == getNumWarpsAttrName())
    return inRange(1, 32, /*pow2=*/true);
  if (name == getNumStagesAttrName())
    return inRange(1, kMaxNumStages, false);
  if (name == getMinBlocksAttrName())
    return inRange(1, 32, false);
  if (name == getWarpSpecializeAttrName() && !isa<UnitAttr>(attr.getValue()))
    return op->emitOpError("'") << name << "' must be a unit attribute";
  return success();
}

Operation *TileDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                           Location loc) {
  if (auto typed = dyn_cast<TypedAttr>(value); typed && typed.getType() == type)
    return arith::ConstantOp::create(builder, loc, type, typed);
  return nullptr;
}

/// The product in 64 bits: 2^31 x 2 warps wrapped to 0 and passed, and the
/// passes then divided by 16 * warpsM = 0 (found by tessera-fuzz).
LogicalResult MmaLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                    unsigned warpsM, unsigned warpsN) {
  if (warpsM == 0 || warpsN == 0 || !llvm::isPowerOf2_32(warpsM) ||
      !llvm::isPowerOf2_32(warpsN) || uint64_t(warpsM) * warpsN > 32)
    return emitError() << "warpsM and warpsN must be powers of two with at most 32 warps, got "
                       << warpsM << " x " << warpsN;
  return success();
}

LogicalResult SharedLayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                       unsigned contig, unsigned swizzle, int64_t offset) {
  if (contig > 1)
    return emitError() << "contig must be 0 or 1 (shared tiles are 2-D), got " << contig;
  if (swizzle != 16 && swizzle != 32 && swizzle != 64 && swizzle != 128)
    return emitError() << "swizzle must be 16 (none), 32, 64 or 128 bytes, got " << swizzle;
  // Where tile-promote-shared's allocator puts tiles: on a period of the
  // swizzle pattern (8 rows of `swizzle` bytes), at least 128 bytes (TMA).
  int64_t align = std::max<int64_t>(128, int64_t(swizzle) * 8);
  if (offset < -1 || (offset >= 0 && offset % align != 0))
    return emitError() << "offset must be -1 (unallocated) or a multiple of " << align
                       << " (max(128, 8 x swizzle)), got " << offset;
  return success();
}

namespace tessera::tile {

ArrayRef<int64_t> getShapeOrEmpty(Type type) {
  if (auto t = dyn_cast<RankedTensorType>(type))
    return t.getShape();
  return {};
}

std::string formatFileLine(Location loc) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    return f.getFilename().str() + ":" + std::to_string(f.getLine()) + ": ";
  if (auto n = dyn_cast<NameLoc>(loc))
    return formatFileLine(n.getChildLoc());
  if (auto c = dyn_cast<CallSiteLoc>(loc))
    return formatFileLine(c.getCaller());
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (std::string s = formatFileLine(l); !s.empty())
        return s;
  return "";
}

unsigned getElementByteSize(Type type) {
  Type elt = getElementTypeOrSelf(type);
  if (isa<PtrType>(elt) || !elt.isIntOrFloat())
    return 8; // pointers (and index, which tiles should not hold)
  unsigned bits = elt.getIntOrFloatBitWidth();
  return bits < 8 ? 1 : bits / 8;
}

bool isFP8(Type type) { return isa<Float8E4M3FNType, Float8E5M2Type>(type); }

double fp8MaxFinite(Type type) { return isa<Float8E4M3FNType>(type) ? 448.0 : 57344.0; }

std::string typeName(Type type) {
  if (isa<Float8E4M3FNType>(type))
    return "f8e4m3";
  if (isa<Float8E5M2Type>(type))
    return "f8e5m2";
  if (auto p = dyn_cast<PtrType>(type))
    return "ptr<" + typeName(p.getPointeeType()) + ">";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

} // namespace tessera::tile
