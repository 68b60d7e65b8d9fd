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

// -----

// A score modifier's value feeds two element-wise users (P's exponent and
// the modifier's derivative, softcap's backward): the conversion out of the
// mma layout moves past both, so neither runs in a blocked layout.
// CHECK-LABEL: func.func @hoist_past_every_user
// CHECK: tile.dot
// CHECK-NOT: tile.convert_layout {{.*}}#tile.blocked
// CHECK: math.tanh {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK-DAG: math.exp2 {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK-DAG: arith.mulf {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: arith.mulf {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: arith.truncf {{.*}} to tensor<64x64xf16, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: return
func.func @hoist_past_every_user(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %m = math.tanh %s : tensor<64x64xf32>
  %p = math.exp2 %m : tensor<64x64xf32>
  %g = arith.mulf %m, %m : tensor<64x64xf32>
  %pg = arith.mulf %p, %g : tensor<64x64xf32>
  %p16 = arith.truncf %pg : tensor<64x64xf32> to tensor<64x64xf16>
  %o = tile.dot %p16, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %o : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not move past only some users: the reduction down the columns
// (axis 0) has no mma form, so the conversion stays where it is, one
// conversion rather than one for the tile and one per hoisted user.
// CHECK-LABEL: func.func @not_past_some_users
// CHECK: tile.dot
// CHECK: %[[B:.*]] = tile.convert_layout {{.*}} -> tensor<64x64xf32, #tile.blocked
// CHECK: math.exp2 %[[B]] : tensor<64x64xf32, #tile.blocked
// CHECK: tile.reduce sum %[[B]] {axis = 0 : i32}
func.func @not_past_some_users(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %p = math.exp2 %s : tensor<64x64xf32>
  %c = tile.reduce sum %s {axis = 0 : i32} : tensor<64x64xf32> -> tensor<64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %p : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  %pc = tile.splat %y : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>>
  tile.store %pc, %c : (tensor<64x!tile.ptr<f32>>, tensor<64xf32>) -> ()
  return
}

// -----

// A mask compared from loaded rows and columns (the document mask: ids of
// the queries [64,1] and of the keys [1,64]) applied to scores: the
// comparison moves into the scores' mma layout down to its broadcasts, and
// the loads move to where the broadcasts need them: the query ids in the
// row slice (then a register copy), the key ids as broadcast pointers in
// the mma layout (each thread loads what it holds); no broadcast of a
// loaded value through shared memory is left.  The scores stay in mma.
// CHECK-LABEL: func.func @mask_from_loaded_ids
// CHECK: %[[S:.*]] = tile.dot
// CHECK-NOT: tile.broadcast {{.*}}xi32, #tile.blocked{{.*}} -> tensor<64x64xi32, #tile.mma
// CHECK-DAG: %[[Q:.*]] = tile.load {{.*}} -> tensor<64x1xi32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK-DAG: tile.broadcast %[[Q]] : tensor<64x1xi32, #tile.mma<warpsM = 4, warpsN = 1>> -> tensor<64x64xi32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK-DAG: tile.load {{.*}} : (tensor<64x64x!tile.ptr<i32>, #tile.mma<warpsM = 4, warpsN = 1>>) -> tensor<64x64xi32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK-NOT: tile.broadcast {{.*}}xi32, #tile.blocked{{.*}} -> tensor<64x64xi32, #tile.mma
// CHECK: arith.cmpi eq, {{.*}} : tensor<64x64xi32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: arith.select {{.*}}, %[[S]], {{.*}} : tensor<64x64xi1, #tile.mma<warpsM = 4, warpsN = 1>>, tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK-NOT: tile.convert_layout {{.*}} -> tensor<64x64xf32, #tile.blocked
// CHECK: math.exp2 {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
func.func @mask_from_loaded_ids(%x: !tile.ptr<f16>, %ids: !tile.ptr<i32>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %r = tile.arange 0, 64 : tensor<64xi32>
  %rq = tile.expand_dims %r {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %rk = tile.expand_dims %r {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %pq = tile.splat %ids : !tile.ptr<i32> -> tensor<64x1x!tile.ptr<i32>>
  %pk = tile.splat %ids : !tile.ptr<i32> -> tensor<1x64x!tile.ptr<i32>>
  %aq = tile.addptr %pq, %rq : tensor<64x1x!tile.ptr<i32>>, tensor<64x1xi32>
  %ak = tile.addptr %pk, %rk : tensor<1x64x!tile.ptr<i32>>, tensor<1x64xi32>
  %dq = tile.load %aq : (tensor<64x1x!tile.ptr<i32>>) -> tensor<64x1xi32>
  %dk = tile.load %ak : (tensor<1x64x!tile.ptr<i32>>) -> tensor<1x64xi32>
  %bq = tile.broadcast %dq : tensor<64x1xi32> -> tensor<64x64xi32>
  %bk = tile.broadcast %dk : tensor<1x64xi32> -> tensor<64x64xi32>
  %same = arith.cmpi eq, %bq, %bk : tensor<64x64xi32>
  %ninf = arith.constant dense<0xFF800000> : tensor<64x64xf32>
  %masked = arith.select %same, %s, %ninf : tensor<64x64xi1>, tensor<64x64xf32>
  %p = math.exp2 %masked : tensor<64x64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %p : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not load where the broadcast is: a loaded row with another user
// (stored as it is) stays one load, broadcast through shared memory; a
// loaded column whose broadcast holds more than 64 elements per thread
// ([1,256] over 256x256 scores in 4 warps: 512) stays too.
// CHECK-LABEL: func.func @load_not_moved
// CHECK: %[[Q:.*]] = tile.load {{.*}} -> tensor<64x1xi32, #tile.blocked
// CHECK: tile.broadcast %[[Q]] : tensor<64x1xi32, #tile.blocked{{.*}} -> tensor<64x64xi32, #tile.mma
// CHECK: %[[K:.*]] = tile.load {{.*}} -> tensor<1x256xi32, #tile.blocked
// CHECK: tile.broadcast %[[K]] : tensor<1x256xi32, #tile.blocked{{.*}} -> tensor<256x256xi32, #tile.mma
func.func @load_not_moved(%x: !tile.ptr<f16>, %ids: !tile.ptr<i32>, %y: !tile.ptr<f32>, %w: !tile.ptr<i32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %r = tile.arange 0, 64 : tensor<64xi32>
  %rq = tile.expand_dims %r {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %pq = tile.splat %ids : !tile.ptr<i32> -> tensor<64x1x!tile.ptr<i32>>
  %aq = tile.addptr %pq, %rq : tensor<64x1x!tile.ptr<i32>>, tensor<64x1xi32>
  %dq = tile.load %aq : (tensor<64x1x!tile.ptr<i32>>) -> tensor<64x1xi32>
  %pw = tile.splat %w : !tile.ptr<i32> -> tensor<64x1x!tile.ptr<i32>>
  %aw = tile.addptr %pw, %rq : tensor<64x1x!tile.ptr<i32>>, tensor<64x1xi32>
  tile.store %aw, %dq : (tensor<64x1x!tile.ptr<i32>>, tensor<64x1xi32>) -> ()
  %bq = tile.broadcast %dq : tensor<64x1xi32> -> tensor<64x64xi32>
  %zero = arith.constant dense<0> : tensor<64x64xi32>
  %same = arith.cmpi eq, %bq, %zero : tensor<64x64xi32>
  %ninf = arith.constant dense<0xFF800000> : tensor<64x64xf32>
  %masked = arith.select %same, %s, %ninf : tensor<64x64xi1>, tensor<64x64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %masked : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  %pb = tile.splat %x : !tile.ptr<f16> -> tensor<256x256x!tile.ptr<f16>>
  %b = tile.load %pb : (tensor<256x256x!tile.ptr<f16>>) -> tensor<256x256xf16>
  %zb = arith.constant dense<0.0> : tensor<256x256xf32>
  %sb = tile.dot %b, %b, %zb : tensor<256x256xf16>, tensor<256x256xf16> -> tensor<256x256xf32>
  %rk = tile.arange 0, 256 : tensor<256xi32>
  %rk2 = tile.expand_dims %rk {axis = 0 : i32} : tensor<256xi32> -> tensor<1x256xi32>
  %pk = tile.splat %ids : !tile.ptr<i32> -> tensor<1x256x!tile.ptr<i32>>
  %ak = tile.addptr %pk, %rk2 : tensor<1x256x!tile.ptr<i32>>, tensor<1x256xi32>
  %dk = tile.load %ak : (tensor<1x256x!tile.ptr<i32>>) -> tensor<1x256xi32>
  %bk = tile.broadcast %dk : tensor<1x256xi32> -> tensor<256x256xi32>
  %zk = arith.constant dense<0> : tensor<256x256xi32>
  %samek = arith.cmpi eq, %bk, %zk : tensor<256x256xi32>
  %ninfb = arith.constant dense<0xFF800000> : tensor<256x256xf32>
  %maskedb = arith.select %samek, %sb, %ninfb : tensor<256x256xi1>, tensor<256x256xf32>
  %pyb = tile.splat %y : !tile.ptr<f32> -> tensor<256x256x!tile.ptr<f32>>
  tile.store %pyb, %maskedb : (tensor<256x256x!tile.ptr<f32>>, tensor<256x256xf32>) -> ()
  return
}

// -----

// A single loaded value ([1,1]) broadcast over the scores is no row: it is
// loaded as broadcast pointers in the mma layout, not in a row slice.
// CHECK-LABEL: func.func @one_loaded_value
// CHECK: tile.load {{.*}} : (tensor<64x64x!tile.ptr<i32>, #tile.mma<warpsM = 4, warpsN = 1>>) -> tensor<64x64xi32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK-NOT: tensor<1x1xi32, #tile.mma
func.func @one_loaded_value(%x: !tile.ptr<f16>, %ids: !tile.ptr<i32>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %p1 = tile.splat %ids : !tile.ptr<i32> -> tensor<1x1x!tile.ptr<i32>>
  %d1 = tile.load %p1 : (tensor<1x1x!tile.ptr<i32>>) -> tensor<1x1xi32>
  %b1 = tile.broadcast %d1 : tensor<1x1xi32> -> tensor<64x64xi32>
  %zero = arith.constant dense<0> : tensor<64x64xi32>
  %same = arith.cmpi eq, %b1, %zero : tensor<64x64xi32>
  %ninf = arith.constant dense<0xFF800000> : tensor<64x64xf32>
  %masked = arith.select %same, %s, %ninf : tensor<64x64xi1>, tensor<64x64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %masked : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not move a whole loaded mask: converting a [64,64] tile costs as
// much as converting the scores, so the scores are converted (once) and
// the select stays blocked.
// CHECK-LABEL: func.func @mask_loaded_whole
// CHECK: %[[S:.*]] = tile.dot
// CHECK: %[[B:.*]] = tile.convert_layout %[[S]] : {{.*}} -> tensor<64x64xf32, #tile.blocked
// CHECK: arith.select {{.*}}, %[[B]], {{.*}} : tensor<64x64xi1, #tile.blocked{{.*}}, tensor<64x64xf32, #tile.blocked
func.func @mask_loaded_whole(%x: !tile.ptr<f16>, %mask: !tile.ptr<i1>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %pm = tile.splat %mask : !tile.ptr<i1> -> tensor<64x64x!tile.ptr<i1>>
  %m = tile.load %pm : (tensor<64x64x!tile.ptr<i1>>) -> tensor<64x64xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<64x64xf32>
  %masked = arith.select %m, %s, %ninf : tensor<64x64xi1>, tensor<64x64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %masked : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// A column defined before the loop (LSE, D) and broadcast over the scores
// in it goes into the row slice once, before the loop: each iteration
// then broadcasts it from registers instead of through shared memory.
// CHECK-LABEL: func.func @invariant_column
// CHECK: tile.convert_layout {{.*}} : tensor<64x1xf32, #tile.blocked<vec = 1, threads = 128>> -> tensor<64x1xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: scf.for
// CHECK-NOT: tile.expand_dims
// CHECK: tile.broadcast {{.*}} : tensor<64x1xf32, #tile.mma<warpsM = 4, warpsN = 1>> -> tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: scf.yield
func.func @invariant_column(%x: !tile.ptr<f16>, %l: !tile.ptr<f32>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %pl = tile.splat %l : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>>
  %pl2 = tile.addptr %pl, %r : tensor<64x!tile.ptr<f32>>, tensor<64xi32>
  %col = tile.load %pl2 : (tensor<64x!tile.ptr<f32>>) -> tensor<64xf32>
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %acc = scf.for %i = %c0 to %n step %c1 iter_args(%a0 = %z) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %e = tile.expand_dims %col {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
    %b = tile.broadcast %e : tensor<64x1xf32> -> tensor<64x64xf32>
    %d = arith.subf %s, %b : tensor<64x64xf32>
    %n2 = arith.addf %a0, %d : tensor<64x64xf32>
    scf.yield %n2 : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %acc : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not move a column defined in the loop out of it.
// CHECK-LABEL: func.func @column_in_loop
// CHECK: scf.for
// CHECK: tile.load {{.*}} -> tensor<64xf32, #tile.blocked
// CHECK: tile.broadcast {{.*}} : tensor<64x1xf32, #tile.blocked<vec = 1, threads = 128>> -> tensor<64x64xf32, #tile.mma
func.func @column_in_loop(%x: !tile.ptr<f16>, %l: !tile.ptr<f32>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %pl = tile.splat %l : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>>
  %pl2 = tile.addptr %pl, %r : tensor<64x!tile.ptr<f32>>, tensor<64xi32>

  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %acc = scf.for %i = %c0 to %n step %c1 iter_args(%a0 = %z) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %col = tile.load %pl2 : (tensor<64x!tile.ptr<f32>>) -> tensor<64xf32>
    %e = tile.expand_dims %col {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
    %b = tile.broadcast %e : tensor<64x1xf32> -> tensor<64x64xf32>
    %d = arith.subf %s, %b : tensor<64x64xf32>
    %n2 = arith.addf %a0, %d : tensor<64x64xf32>
    scf.yield %n2 : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %acc : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// A difference of query and key positions read by both a score modifier and
// a mask (written as text: "s - 0.01 * abs(q - k)" with "k <= q && q - k <
// 48"): cheap in the mma layout although it has two users, so the scores,
// the mask and the softmax all stay in the mma layout (re-created there from
// the broadcasts), with no [64, 64] conversion; the difference was kept
// blocked before, and with it the whole softmax.
// CHECK-LABEL: func.func @shared_index_difference
// CHECK: tile.dot
// CHECK-NOT: tile.convert_layout {{.*}} -> tensor<64x64x{{.*}}#tile.blocked
// CHECK: math.absf {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: arith.select {{.*}} : tensor<64x64xi1, #tile.mma<warpsM = 4, warpsN = 1>>, tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: math.exp2 {{.*}} : tensor<64x64xf32, #tile.mma<warpsM = 4, warpsN = 1>>
// CHECK: return
func.func @shared_index_difference(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %i = tile.arange 0, 64 : tensor<64xi32>
  %fi = arith.sitofp %i : tensor<64xi32> to tensor<64xf32>
  %qc = tile.expand_dims %fi {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
  %kr = tile.expand_dims %fi {axis = 0 : i32} : tensor<64xf32> -> tensor<1x64xf32>
  %q = tile.broadcast %qc : tensor<64x1xf32> -> tensor<64x64xf32>
  %k = tile.broadcast %kr : tensor<1x64xf32> -> tensor<64x64xf32>
  %d = arith.subf %q, %k : tensor<64x64xf32>
  %ad = math.absf %d : tensor<64x64xf32>
  %c001 = arith.constant dense<0.01> : tensor<64x64xf32>
  %bias = arith.mulf %ad, %c001 : tensor<64x64xf32>
  %score = arith.subf %s, %bias : tensor<64x64xf32>
  %c48 = arith.constant dense<48.0> : tensor<64x64xf32>
  %near = arith.cmpf olt, %d, %c48 : tensor<64x64xf32>
  %past = arith.cmpf ole, %k, %q : tensor<64x64xf32>
  %ok = arith.andi %past, %near : tensor<64x64xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<64x64xf32>
  %m = arith.select %ok, %score, %ninf : tensor<64x64xi1>, tensor<64x64xf32>
  %p = math.exp2 %m : tensor<64x64xf32>
  %p16 = arith.truncf %p : tensor<64x64xf32> to tensor<64x64xf16>
  %o = tile.dot %p16, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %o : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not copy: P = exp2(S - lse) over a dot's result, read by two dots
// (dV's P and dK's dS = P * (dP - D)) as in the backward's dK/dV kernel.
// A shared value over a real one is moved, not re-created per consumer:
// exp2 runs once per element.
// CHECK-LABEL: func.func @shared_value_over_dot_not_copied
// CHECK: math.exp2
// CHECK-NOT: math.exp2
// CHECK: return
func.func @shared_value_over_dot_not_copied(%x: !tile.ptr<f16>, %l: !tile.ptr<f32>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %s = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %pl = tile.splat %l : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>>
  %lse = tile.load %pl : (tensor<64x!tile.ptr<f32>>) -> tensor<64xf32>
  %lr = tile.expand_dims %lse {axis = 0 : i32} : tensor<64xf32> -> tensor<1x64xf32>
  %lb = tile.broadcast %lr : tensor<1x64xf32> -> tensor<64x64xf32>
  %d = arith.subf %s, %lb : tensor<64x64xf32>
  %p = math.exp2 %d : tensor<64x64xf32>
  %p16 = arith.truncf %p : tensor<64x64xf32> to tensor<64x64xf16>
  %dv = tile.dot %p16, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %dp = tile.dot %a, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %dpd = arith.subf %dp, %lb : tensor<64x64xf32>
  %ds = arith.mulf %p, %dpd : tensor<64x64xf32>
  %ds16 = arith.truncf %ds : tensor<64x64xf32> to tensor<64x64xf16>
  %dk = tile.dot %ds16, %a, %dv : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %dk : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}
