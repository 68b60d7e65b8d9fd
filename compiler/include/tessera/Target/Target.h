//===- Target.h - what Tessera knows of a GPU target, parsed once ---------===//
//
// One description of a PTX target chip ("sm_80", "sm_90a"), used by the
// passes (shared-memory limit, register budget, which instructions exist)
// and by the runtime (a device's target, which embedded image a device can
// run).  LLVM-free: the runtime links it without LLVM.  The numbers come from
// the CUDA programming guide's "Compute Capabilities" table and the PTX ISA;
// each field says which.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera {

struct Target {
  std::string name;          ///< "sm_90a"
  int major = 0, minor = 0;  ///< compute capability 9.0
  /// The "a" suffix: features of this exact chip only (wgmma, setmaxnreg;
  /// PTX for it runs on no other chip).
  bool archSpecific = false;

  /// Opt-in dynamic shared memory one block may use (guide, "Maximum amount
  /// of shared memory per thread block"): 227 KB on 9.x, 163 KB on 8.0/8.7,
  /// 99 KB on other 8.x.
  int64_t maxSharedBytesPerBlock = 48 * 1024;
  /// Shared memory one block may use without opting in (static allocations
  /// and the default dynamic limit).
  static constexpr int64_t kDefaultSharedBytesPerBlock = 48 * 1024;
  /// 32-bit registers of one SM (every chip Tessera targets).
  static constexpr int kRegistersPerSM = 65536;
  /// Most registers one thread may use (PTX, .maxnreg).
  static constexpr int kMaxRegistersPerThread = 255;
  /// Most threads in one block.
  static constexpr int kMaxThreadsPerBlock = 1024;

  /// Asynchronous warpgroup MMA (wgmma.mma_async), register reallocation
  /// (setmaxnreg) and the tensor memory accelerator's bulk tensor copies
  /// with the swizzles wgmma reads: sm_90a.
  bool hasWgmma = false, hasSetmaxnreg = false, hasTma = false;
  /// `red.global.add` of two or four f32 in one instruction: sm_90 and
  /// later (with PTX ISA 8.1).
  bool hasVectorRed = false;

  int computeCapability() const { return major * 10 + minor; }

  /// Parses "sm_XY" or "sm_XYa"; nullopt if `text` is not of that form.
  static std::optional<Target> parse(std::string_view text);
  /// The target Tessera compiles for on a device of compute capability
  /// major.minor: the arch-specific sm_90a on 9.0 (its wgmma and setmaxnreg
  /// exist only there), else sm_XY.
  static Target forDevice(int major, int minor);
};

} // namespace tessera
