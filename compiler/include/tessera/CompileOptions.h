//===- CompileOptions.h - everything that changes a kernel's code ---------===//
#pragma once

#include <string>

namespace tessera {

/// Everything that changes the code generated for a kernel.  All fields take
/// part in the JIT's cache keys, so each has a fixed, documented default.
struct CompileOptions {
  /// PTX target chip: sm_80, sm_86, sm_89, sm_90, sm_90a, ...
  std::string target = "sm_90a";
  /// PTX ISA version the NVPTX back end emits (8.0: first with sm_90a; 8.1:
  /// vector `red`, which f32 atomic sums use on sm_90).  Drivers of CUDA
  /// 12.1 and later load it.
  unsigned ptxVersion = 81;
  /// LLVM optimization level for the LLVM IR (0-3).
  unsigned optLevel = 3;
  /// Lets the back end fuse a multiply and an add into one FMA (one rounding
  /// instead of two), as Triton does by default: attention's `s * scale - m`
  /// becomes one FFMA.  Off: every mul/add rounds on its own (`mul.rn`).
  bool fpFusion = true;
  /// exp2/exp as `ex2.approx.ftz.f32` (one MUFU instruction instead of four:
  /// the non-ftz form adds a compare and two multiplies for denormals);
  /// results below 2^-126 flush to 0, which softmax cannot see (they are
  /// below its sum's rounding).  As FlashAttention's fast-math builds do.
  /// On the H100 it made attention faster at 29 of 32 shapes (median +4%);
  /// TESSERA_EXP2_FTZ=0 turns it off (see fromEnvironment).
  bool exp2Ftz = true;
  /// When non-empty, every stage's IR is written under this folder
  /// ($TESSERA_DUMP_DIR through fromEnvironment), one subfolder per compile:
  /// <kernel>, then <kernel>.2, <kernel>.3, ... (never overwritten).
  std::string dumpDir;

  /// The defaults with the environment applied: TESSERA_DUMP_DIR into
  /// `dumpDir`, TESSERA_EXP2_FTZ (1 or 0) into `exp2Ftz`.  The one place
  /// the environment is read; the JIT and the tools start from it, and
  /// compileToPTX uses the options it is given as they are.
  static CompileOptions fromEnvironment();
};

} // namespace tessera
