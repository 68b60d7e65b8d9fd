//===- Matmul.h - C = A B over shapes and strides, checked before launch --===//
//
// The matmul entry point a user calls with buffers: it checks dtypes,
// strides and extents, derives the kernel's specialization from the
// arguments (which operand stride is the unit one, the largest power-of-two
// divisor of sizes and strides), picks a tile config by problem size (or
// takes the caller's), and launches.  Misuse is a tessera::Error, raised
// before anything reaches the GPU.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/jit/Jit.h"

#include <cstdint>

namespace tessera::jit {

/// C[M, N] = A[M, K] B[K, N] (f16 or bf16, f32 accumulation).  A and B may
/// each be row- or column-major (one of their two strides must be 1); C is
/// row-major with row stride `ldc`.  `config` overrides BLOCK_M/N/K,
/// num_warps, num_stages, GROUP_M.
void matmul(Jit &jit, int M, int N, int K, rt::Buffer &a, int64_t strideAm, int64_t strideAk,
            rt::Buffer &b, int64_t strideBk, int64_t strideBn, rt::Buffer &c, int64_t ldc,
            CUstream stream = nullptr, const dsl::Params &config = {});

} // namespace tessera::jit
