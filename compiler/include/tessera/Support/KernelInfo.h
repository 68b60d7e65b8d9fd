//===- KernelInfo.h - what a launcher needs to know about a kernel --------===//
//
// Plain data, no MLIR/LLVM: shared by the compiler (which fills it), the
// on-disk cache, the runtime (which checks launch arguments against it) and
// generated AOT launchers.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

namespace tessera {

struct KernelParam {
  std::string name; ///< as declared in the DSL
  std::string type; ///< "ptr<f16>", "i32", "f32", ...
  unsigned alignment = 0; ///< assumed byte alignment of a pointer (0: none)
  unsigned multipleOf = 1; ///< promised power-of-two divisor of an integer
  bool unit = false;       ///< integer promised to be 1 (a unit stride)
};

/// A TMA tensor map the launcher builds (cuTensorMapEncodeTiled) and passes
/// after the caller's arguments: a window of the tensor at argument `base`,
/// 2-D (a tile) plus up to 3 more dimensions of extent-1 boxes (e.g. batch
/// and head offsets).  Dimensions innermost first; -1 marks an unbounded
/// extent.
struct TensorMapSpec {
  static constexpr unsigned kMaxRank = 5;
  unsigned base = 0;                       ///< index of the pointer argument
  unsigned rank = 2;
  int dims[kMaxRank] = {-1, -1, -1, -1, -1}; ///< index of the argument holding each extent
  int strides[kMaxRank - 1] = {-1, -1, -1, -1}; ///< dims 1..: argument holding the stride (elements)
  unsigned box[kMaxRank] = {0, 0, 1, 1, 1};  ///< box extents in elements
  unsigned swizzle = 0;                    ///< 32, 64 or 128 bytes
};

/// What a launcher needs to know besides the PTX.
struct KernelInfo {
  std::string name;
  std::vector<KernelParam> params;
  unsigned threadsPerBlock = 0;
  unsigned staticSharedBytes = 0;
  unsigned dynamicSharedBytes = 0;
  std::vector<TensorMapSpec> tensorMaps; ///< hidden trailing parameters
};

struct CompiledKernel {
  std::string ptx;
  std::string target;
  KernelInfo info;
};

} // namespace tessera
