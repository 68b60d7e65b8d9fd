// RUN: tessera-opt %s -split-input-file -tile-assign-layouts | FileCheck %s

// f32 loads, 4 warps: 256 elements over 128 threads, 2 per thread; the
// pointer, offset and mask tiles of the same shape share the layout.
// CHECK-LABEL: func.func @same_shape_same_layout
// CHECK: tile.arange 0, 256 : tensor<256xi32, #tile.blocked<vec = 2, threads = 128>>
// CHECK: tile.addptr {{.*}} : tensor<256x!tile.ptr<f32>, #tile.blocked<vec = 2, threads = 128>>, tensor<256xi32, #tile.blocked<vec = 2, threads = 128>>
// CHECK: tile.load {{.*}} -> tensor<256xf32, #tile.blocked<vec = 2, threads = 128>>
func.func @same_shape_same_layout(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 256 : tensor<256xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<256x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<256x!tile.ptr<f32>>, tensor<256xi32>
  %v = tile.load %p : (tensor<256x!tile.ptr<f32>>) -> tensor<256xf32>
  tile.store %p, %v : (tensor<256x!tile.ptr<f32>>, tensor<256xf32>) -> ()
  return
}

// -----

// The vector width is capped at 16 bytes of the narrowest element moved:
// 8 f16 values.
// CHECK-LABEL: func.func @vector_width_from_narrowest_access
// CHECK: tensor<64x64xf16, #tile.blocked<vec = 8, threads = 128>>
func.func @vector_width_from_narrowest_access(%x: !tile.ptr<f16>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %v = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  tile.store %px, %v : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xf16>) -> ()
  return
}

// -----

// Fewer elements than threads: one element per thread, replicated; the
// warp count comes from tile.num_warps (8 warps = 256 threads).
// CHECK-LABEL: func.func @small_tile_replicated
// CHECK: tensor<16xi32, #tile.blocked<vec = 1, threads = 256>>
func.func @small_tile_replicated() attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %r = tile.arange 0, 16 : tensor<16xi32>
  return
}

// -----

// Constants and loop-carried block arguments get the layout too.
// CHECK-LABEL: func.func @constants_and_loops
// CHECK: arith.constant dense<0.000000e+00> : tensor<512xf32, #tile.blocked<vec = 4, threads = 128>>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<512xf32, #tile.blocked<vec = 4, threads = 128>>)
func.func @constants_and_loops(%n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %z = arith.constant dense<0.0> : tensor<512xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<512xf32>) : i32 {
    %a = arith.addf %acc, %acc : tensor<512xf32>
    scf.yield %a : tensor<512xf32>
  }
  return
}

// -----

// Must not fire: a function that is not a kernel is left alone.
// CHECK-LABEL: func.func @not_a_kernel
// CHECK: tile.arange 0, 64 : tensor<64xi32>{{$}}
func.func @not_a_kernel() {
  %r = tile.arange 0, 64 : tensor<64xi32>
  return
}

// -----

// Must not fire: tensors that already carry a layout keep it.
// CHECK-LABEL: func.func @keeps_existing_layout
// CHECK: tensor<64xi32, #tile.blocked<vec = 1, threads = 32>>
func.func @keeps_existing_layout() attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32, #tile.blocked<vec = 1, threads = 32>>
  return
}

// -----

// A tensor-core dot: the accumulator is carried through the loop in the
// #tile.mma layout (4 warps over 64 rows: one wgmma warpgroup), the zero
// accumulator is created in it, the operands are converted to swizzled
// shared tiles (128-byte rows: 128-byte swizzle), and the store happens in
// the mma layout too (its pointers are recomputable index arithmetic), so
// the accumulator never goes through shared memory.
// CHECK-LABEL: func.func @matmul_loop
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: %[[R:.*]] = scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[Z]]) -> (tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>)
// CHECK:   %[[A:.*]] = tile.convert_layout %{{.*}} -> tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = -1>>
// CHECK:   %[[B:.*]] = tile.convert_layout %{{.*}} -> tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = -1>>
// CHECK:   %[[D:.*]] = tile.dot %[[A]], %[[B]], %[[ACC]]
// CHECK-NOT: tile.convert_layout
// CHECK:   scf.yield %[[D]]
// CHECK-NOT: tile.convert_layout
// CHECK: tile.store %{{.*}}, %[[R]] : (tensor<64x64x!tile.ptr<f32>, #tile.mma<warpsM = 4, warpsN = 1>>, tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>)
func.func @matmul_loop(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %b = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %b, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %r : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// An element-wise rescale of the accumulator by a broadcast (attention's
// `acc * alpha`) runs in the #tile.mma layout: the broadcast is created in
// it, so nothing is converted inside the loop.
// CHECK-LABEL: func.func @rescale_in_mma
// CHECK: scf.for
// CHECK:   tile.broadcast {{.*}} -> tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK:   arith.mulf {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK:   tile.dot
// CHECK-NEXT: scf.yield
func.func @rescale_in_mma(%x: !tile.ptr<f16>, %s: !tile.ptr<f32>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %ps = tile.splat %s : !tile.ptr<f32> -> tensor<64x1x!tile.ptr<f32>>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %alpha = tile.load %ps : (tensor<64x1x!tile.ptr<f32>>) -> tensor<64x1xf32>
    %ab = tile.broadcast %alpha : tensor<64x1xf32> -> tensor<64x64xf32>
    %scaled = arith.mulf %acc, %ab : tensor<64x64xf32>
    %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %a, %scaled : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %r : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not use tensor-core layouts: f32 operands stay blocked, no
// conversions are inserted.
// CHECK-LABEL: func.func @f32_dot_stays_blocked
// CHECK-NOT: tile.convert_layout
// CHECK-NOT: #tile.mma
// CHECK: return
func.func @f32_dot_stays_blocked(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f32>>) -> tensor<64x64xf32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %d = tile.dot %a, %a, %z : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32>
  tile.store %px, %d : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// The online-softmax step of attention: the row max of a tensor-core
// result is reduced in its mma layout into a row slice (a [64] tensor with
// the #tile.mma encoding), broadcast back into the mma layout and
// subtracted there; nothing between the dot and the next dot's shared
// operand is converted.
// CHECK-LABEL: func.func @softmax_on_accumulator
// CHECK: tile.dot
// CHECK-NOT: tile.convert_layout {{.*}}#tile.blocked
// CHECK: tile.reduce max {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>> -> tensor<64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: tile.expand_dims {{.*}} -> tensor<64x1xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: tile.broadcast {{.*}} : tensor<64x1xf32, #tile.mma<warpsM = 4, warpsN = 1>> -> tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: arith.subf {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: math.exp2 {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: arith.truncf {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>> to tensor<64x64xf16, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: tile.convert_layout {{.*}} -> tensor<64x64xf16, #tile.shared
func.func @softmax_on_accumulator(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %b = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %b, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %m = tile.reduce max %s {axis = 1 : i32} : tensor<64x64xf32> -> tensor<64xf32>
  %mc = tile.expand_dims %m {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
  %mb = tile.broadcast %mc : tensor<64x1xf32> -> tensor<64x64xf32>
  %d = arith.subf %s, %mb : tensor<64x64xf32>
  %p = math.exp2 %d : tensor<64x64xf32>
  %p16 = arith.truncf %p : tensor<64x64xf32> to tensor<64x64xf16>
  %o = tile.dot %p16, %b, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %o : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}
