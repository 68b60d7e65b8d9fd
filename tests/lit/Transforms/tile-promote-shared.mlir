// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared | FileCheck %s
// RUN: not tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared=max-shared-bytes=12000 -o /dev/null 2>&1 | FileCheck %s --check-prefix=LIMIT

// Dot operands loaded from global memory are loaded straight into shared
// memory; both live at once, so they get different 1024-aligned offsets, and
// the kernel records the total.
// CHECK-LABEL: func.func @operands_loaded_into_shared
// CHECK-SAME: tile.shared_bytes = 16384 : i32
// CHECK: %[[A:.*]] = tile.load {{.*}} -> tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 0>>
// CHECK: %[[B:.*]] = tile.load {{.*}} -> tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 8192>>
// CHECK: tile.dot %[[A]], %[[B]]
// LIMIT: error: 'tile.load' op needs 16384 bytes of shared memory for its tiles, more than the 12000 bytes one block may use on sm_90a
func.func @operands_loaded_into_shared(%x: !tile.ptr<f16>, %y: !tile.ptr<f16>, %o: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %py = tile.splat %y : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %b = tile.load %py : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %d = tile.dot %a, %b, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %po = tile.splat %o : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %po, %d : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// A transposed operand (K^T in attention) is the untransposed tile in
// shared memory read with the other axis contiguous: no data moves.
// CHECK-LABEL: func.func @transposed_operand
// CHECK: %[[Q:.*]] = tile.load {{.*}} -> tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 0>>
// CHECK: %[[K:.*]] = tile.load {{.*}} -> tensor<32x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 8192>>
// CHECK: %[[KT:.*]] = tile.trans %[[K]] {{.*}} -> tensor<64x32xf16, #tile.shared<contig = 0, swizzle = 128, offset = 8192>>
// CHECK: tile.dot %[[Q]], %[[KT]]
func.func @transposed_operand(%x: !tile.ptr<f16>, %y: !tile.ptr<f16>, %o: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %py = tile.splat %y : !tile.ptr<f16> -> tensor<32x64x!tile.ptr<f16>>
  %q = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %k = tile.load %py : (tensor<32x64x!tile.ptr<f16>>) -> tensor<32x64xf16>
  %kt = tile.trans %k {order = array<i32: 1, 0>} : tensor<32x64xf16> -> tensor<64x32xf16>
  %z = arith.constant dense<0.0> : tensor<64x32xf32>
  %s = tile.dot %q, %kt, %z : tensor<64x64xf16>, tensor<64x32xf16> -> tensor<64x32xf32>
  %po = tile.splat %o : !tile.ptr<f32> -> tensor<64x32x!tile.ptr<f32>>
  tile.store %po, %s : (tensor<64x32x!tile.ptr<f32>>, tensor<64x32xf32>) -> ()
  return
}

// -----

// Buffers whose lives do not overlap share memory: the second dot's
// operands reuse the first one's offsets.
// CHECK-LABEL: func.func @reuse_by_liveness
// CHECK-SAME: tile.shared_bytes = 16384 : i32
// CHECK: offset = 0>>
// CHECK: offset = 8192>>
// CHECK: offset = 0>>
// CHECK: offset = 8192>>
func.func @reuse_by_liveness(%x: !tile.ptr<f16>, %o: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %b = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %d = tile.dot %a, %b, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %c = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %e = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %f = tile.dot %c, %e, %d : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %po = tile.splat %o : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %po, %f : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not fire: a kernel without dots has no shared tiles and no
// tile.shared_bytes.
// CHECK-LABEL: func.func @no_dot
// CHECK-NOT: tile.shared_bytes
// CHECK-NOT: #tile.shared
// CHECK: return
func.func @no_dot(%x: !tile.ptr<f16>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  tile.store %px, %a : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xf16>) -> ()
  return
}

// -----

// A tile loaded before a loop and used by a dot in it (attention's Q) is
// loaded into shared memory once, where it was loaded, not in every
// iteration where the dot converts it.
// CHECK-LABEL: func.func @invariant_operand
// CHECK: %[[Q:.*]] = tile.load {{.*}} -> tensor<64x64xf16, #tile.shared
// CHECK: scf.for
// CHECK-NOT: tile.load {{.*}}%[[Q]]
// CHECK: tile.dot %[[Q]],
func.func @invariant_operand(%x: !tile.ptr<f16>, %y: !tile.ptr<f16>, %o: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %py = tile.splat %y : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %q = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %res = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %k = tile.load %py : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %q, %k, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %po = tile.splat %o : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %po, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// A tile that several dots read in the same shared layout (attention's Q,
// used before a loop and in two loops) is loaded into shared memory once;
// before, each use converted it (a shared-memory store per use, inside the
// loops every iteration).
// CHECK-LABEL: func.func @one_load_several_dots
// CHECK: %[[Q:.*]] = tile.load {{.*}} -> tensor<64x64xf16, #tile.shared
// CHECK-NOT: tile.convert_layout
// CHECK: tile.dot %[[Q]]
// CHECK: scf.for
// CHECK-NOT: tile.convert_layout
// CHECK: tile.dot %[[Q]]
func.func @one_load_several_dots(%x: !tile.ptr<f16>, %y: !tile.ptr<f16>, %o: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %py = tile.splat %y : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %q = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %k0 = tile.load %py : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %first = tile.dot %q, %k0, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %res = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %first) -> (tensor<64x64xf32>) : i32 {
    %k = tile.load %py : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %q, %k, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %po = tile.splat %o : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %po, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}
