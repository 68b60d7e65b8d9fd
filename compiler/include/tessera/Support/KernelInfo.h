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
/// after the caller's arguments: a 2-D window of the tensor at argument
/// `base`.  Dimensions innermost first; -1 marks an unbounded extent.
struct TensorMapSpec {
  unsigned base = 0;            ///< index of the pointer argument
  int dims[2] = {-1, -1};       ///< index of the argument holding each extent
  int stride = -1;              ///< index of the argument holding dim 1's stride (elements)
  unsigned box[2] = {0, 0};     ///< box extents in elements
  unsigned swizzle = 0;         ///< 32, 64 or 128 bytes
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
