// RUN: tessera-opt %s -split-input-file -convert-tile-to-nvvm | FileCheck %s

#M = #tile.mma<warpsM = 4, warpsN = 1>

// A row reduction of an mma tile into its row slice: each thread folds its
// 16 values per row (8 pieces x 2 columns), then two butterfly shuffles
// (lanes 1 and 2 apart: the quad sharing the row); one warp column, so no
// shared memory and no barrier.  The broadcast back is a register copy,
// and the slice is stored by lane 0 of each quad only.
// CHECK-LABEL: llvm.func @row_max
// CHECK-NOT: nvvm.barrier0
// CHECK-COUNT-2: nvvm.shfl.sync bfly %{{.*}}, %{{.*}}, %c1_i32
// CHECK-NOT: nvvm.barrier0
// CHECK: arith.andi %{{.*}}, %c3_i32
// CHECK: scf.if
// CHECK: llvm.store
// CHECK-NOT: nvvm.barrier0
// CHECK: llvm.return
func.func @row_max(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>, #M>
  %s = tile.load %px : (tensor<64x64x!tile.ptr<f32>, #M>) -> tensor<64x64xf32, #M>
  %m = tile.reduce max %s {axis = 1 : i32} : tensor<64x64xf32, #M> -> tensor<64xf32, #M>
  %mc = tile.expand_dims %m {axis = 1 : i32} : tensor<64xf32, #M> -> tensor<64x1xf32, #M>
  %mb = tile.broadcast %mc : tensor<64x1xf32, #M> -> tensor<64x64xf32, #M>
  %d = arith.subf %s, %mb : tensor<64x64xf32, #M>
  tile.store %px, %d : (tensor<64x64x!tile.ptr<f32>, #M>, tensor<64x64xf32, #M>) -> ()
  %r = tile.arange 0, 64 : tensor<64xi32, #M>
  %pl = tile.splat %x : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>, #M>
  %pr = tile.addptr %pl, %r : tensor<64x!tile.ptr<f32>, #M>, tensor<64xi32, #M>
  tile.store %pr, %m : (tensor<64x!tile.ptr<f32>, #M>, tensor<64xf32, #M>) -> ()
  return
}

// -----

#M2 = #tile.mma<warpsM = 2, warpsN = 2>

// Two warp columns share each row: after the quad shuffles one partial per
// row and warp column goes through shared memory (64 rows x 2 x 4 bytes).
// CHECK-LABEL: llvm.func @row_sum_two_warp_columns
// CHECK-SAME: tile.dynamic_shared_bytes = 512 : i32
// CHECK: nvvm.shfl.sync bfly
// CHECK: llvm.store {{.*}} : f32, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: llvm.load {{.*}} : !llvm.ptr<3> -> f32
func.func @row_sum_two_warp_columns(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>, #M2>
  %s = tile.load %px : (tensor<64x64x!tile.ptr<f32>, #M2>) -> tensor<64x64xf32, #M2>
  %m = tile.reduce sum %s {axis = 1 : i32} : tensor<64x64xf32, #M2> -> tensor<64xf32, #M2>
  %r = tile.arange 0, 64 : tensor<64xi32, #M2>
  %pl = tile.splat %x : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>, #M2>
  %pr = tile.addptr %pl, %r : tensor<64x!tile.ptr<f32>, #M2>, tensor<64xi32, #M2>
  tile.store %pr, %m : (tensor<64x!tile.ptr<f32>, #M2>, tensor<64xf32, #M2>) -> ()
  return
}

// -----

#M3 = #tile.mma<warpsM = 4, warpsN = 1>

// A loop-carried accumulator scaled by a row broadcast (online softmax's
// acc * alpha): each thread's 32 registers hold 2 rows, so it compares its
// 2 factors with 1, the warp votes, and the 32 multiplies run only where
// some factor changed; otherwise the registers pass through unchanged.
// Must not fire: the same product of a value that is not loop-carried.
// CHECK-LABEL: llvm.func @rescale_if_changed
// CHECK: scf.for
// CHECK-COUNT-2: arith.cmpf une
// CHECK: %[[ANY:.*]] = nvvm.vote.sync any %{{.*}}, %{{.*}} -> i1
// CHECK: scf.if %[[ANY]] -> (f32, f32
// CHECK-COUNT-32: arith.mulf
// CHECK: scf.yield
// CHECK: } else {
// CHECK-NOT: arith.mulf
// CHECK: scf.yield
// CHECK: }
// CHECK-NOT: nvvm.vote.sync
// CHECK-COUNT-32: arith.mulf
// CHECK-NOT: nvvm.vote.sync
// CHECK: llvm.return
func.func @rescale_if_changed(%x: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>, #M3>
  %pl = tile.splat %x : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>, #M3>
  %r = tile.arange 0, 64 : tensor<64xi32, #M3>
  %pr = tile.addptr %pl, %r : tensor<64x!tile.ptr<f32>, #M3>, tensor<64xi32, #M3>
  %z = arith.constant dense<1.0> : tensor<64x64xf32, #M3>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %res = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<64x64xf32, #M3>) : i32 {
    %f = tile.load %pr : (tensor<64x!tile.ptr<f32>, #M3>) -> tensor<64xf32, #M3>
    %fc = tile.expand_dims %f {axis = 1 : i32} : tensor<64xf32, #M3> -> tensor<64x1xf32, #M3>
    %fb = tile.broadcast %fc : tensor<64x1xf32, #M3> -> tensor<64x64xf32, #M3>
    %next = arith.mulf %acc, %fb : tensor<64x64xf32, #M3>
    scf.yield %next : tensor<64x64xf32, #M3>
  }
  %f2 = tile.load %pr : (tensor<64x!tile.ptr<f32>, #M3>) -> tensor<64xf32, #M3>
  %f2c = tile.expand_dims %f2 {axis = 1 : i32} : tensor<64xf32, #M3> -> tensor<64x1xf32, #M3>
  %f2b = tile.broadcast %f2c : tensor<64x1xf32, #M3> -> tensor<64x64xf32, #M3>
  %out = arith.mulf %res, %f2b : tensor<64x64xf32, #M3>
  tile.store %px, %out : (tensor<64x64x!tile.ptr<f32>, #M3>, tensor<64x64xf32, #M3>) -> ()
  return
}

// -----

#A = #tile.mma<warpsM = 8, warpsN = 1>
#B = #tile.mma<warpsM = 4, warpsN = 2>

// A dot_wait passes each accumulator through on its own, so accumulators of
// different mma arrangements may share one (attention backward's dK/dV,
// 8 warps over 128 keys, and dQ's share, 4x2 warps over 64 queries).
// CHECK-LABEL: llvm.func @dot_wait_mixed_layouts
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: llvm.return
func.func @dot_wait_mixed_layouts(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %pa = tile.splat %x : !tile.ptr<f32> -> tensor<128x64x!tile.ptr<f32>, #A>
  %a = tile.load %pa : (tensor<128x64x!tile.ptr<f32>, #A>) -> tensor<128x64xf32, #A>
  %pb = tile.splat %x : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>, #B>
  %b = tile.load %pb : (tensor<64x64x!tile.ptr<f32>, #B>) -> tensor<64x64xf32, #B>
  %w:2 = tile.dot_wait %a, %b {pending = 0 : i32} : (tensor<128x64xf32, #A>, tensor<64x64xf32, #B>) -> (tensor<128x64xf32, #A>, tensor<64x64xf32, #B>)
  tile.store %pa, %w#0 : (tensor<128x64x!tile.ptr<f32>, #A>, tensor<128x64xf32, #A>) -> ()
  tile.store %pb, %w#1 : (tensor<64x64x!tile.ptr<f32>, #B>, tensor<64x64xf32, #B>) -> ()
  return
}

// -----

#MR = #tile.mma<warpsM = 4, warpsN = 1>
#BR = #tile.blocked<vec = 1, threads = 128>

// A row of key ids broadcast down an mma tile (what tile-assign-layouts
// makes of a document mask's key ids): each thread holds 16 columns (8
// pieces x 2), each in two rows, and loads each column once: 16 loads for
// its 32 elements, no shared memory.  Pointers that vary down the rows are
// loaded per element: 32 loads.
// CHECK-LABEL: llvm.func @row_ids_loaded_once
// CHECK-NOT: nvvm.barrier0
// CHECK-COUNT-16: llvm.load {{.*}} : !llvm.ptr<1> -> i32
// CHECK-NOT: llvm.load {{.*}} : !llvm.ptr<1> -> i32
// CHECK: llvm.store
// CHECK-COUNT-32: llvm.load {{.*}} : !llvm.ptr<1> -> i32
// CHECK-NOT: llvm.load {{.*}} : !llvm.ptr<1> -> i32
// CHECK: llvm.return
func.func @row_ids_loaded_once(%ids: !tile.ptr<i32>, %y: !tile.ptr<i32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32, #BR>
  %rk = tile.expand_dims %r {axis = 0 : i32} : tensor<64xi32, #BR> -> tensor<1x64xi32, #BR>
  %pk = tile.splat %ids : !tile.ptr<i32> -> tensor<1x64x!tile.ptr<i32>, #BR>
  %ak = tile.addptr %pk, %rk : tensor<1x64x!tile.ptr<i32>, #BR>, tensor<1x64xi32, #BR>
  %ns = tile.splat %n : i32 -> tensor<1x64xi32, #BR>
  %in = arith.cmpi slt, %rk, %ns : tensor<1x64xi32, #BR>
  %pb = tile.broadcast %ak : tensor<1x64x!tile.ptr<i32>, #BR> -> tensor<64x64x!tile.ptr<i32>, #MR>
  %mb = tile.broadcast %in : tensor<1x64xi1, #BR> -> tensor<64x64xi1, #MR>
  %other = arith.constant dense<-2> : tensor<64x64xi32, #MR>
  %d = tile.load %pb mask %mb other %other : (tensor<64x64x!tile.ptr<i32>, #MR>, tensor<64x64xi1, #MR>, tensor<64x64xi32, #MR>) -> tensor<64x64xi32, #MR>
  %py = tile.splat %y : !tile.ptr<i32> -> tensor<64x64x!tile.ptr<i32>, #MR>
  tile.store %py, %d : (tensor<64x64x!tile.ptr<i32>, #MR>, tensor<64x64xi32, #MR>) -> ()
  %rq = tile.expand_dims %r {axis = 1 : i32} : tensor<64xi32, #BR> -> tensor<64x1xi32, #BR>
  %rows = tile.broadcast %rq : tensor<64x1xi32, #BR> -> tensor<64x64xi32, #MR>
  %pr = tile.addptr %pb, %rows : tensor<64x64x!tile.ptr<i32>, #MR>, tensor<64x64xi32, #MR>
  %e = tile.load %pr mask %mb other %other : (tensor<64x64x!tile.ptr<i32>, #MR>, tensor<64x64xi1, #MR>, tensor<64x64xi32, #MR>) -> tensor<64x64xi32, #MR>
  tile.store %py, %e : (tensor<64x64x!tile.ptr<i32>, #MR>, tensor<64x64xi32, #MR>) -> ()
  return
}

// -----

#ML = #tile.mma<warpsM = 4, warpsN = 1>

// A pointer tile carried by a loop (a block argument, no producer to look
// at) is loaded element by element.
// CHECK-LABEL: llvm.func @carried_pointers
// CHECK-COUNT-32: llvm.load {{.*}} : !llvm.ptr<1> -> i32
// CHECK-NOT: llvm.load {{.*}} : !llvm.ptr<1> -> i32
// CHECK: llvm.return
func.func @carried_pointers(%ids: !tile.ptr<i32>, %y: !tile.ptr<i32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %p0 = tile.splat %ids : !tile.ptr<i32> -> tensor<64x64x!tile.ptr<i32>, #ML>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c2 = arith.constant 2 : i32
  %acc0 = arith.constant dense<0> : tensor<64x64xi32, #ML>
  %r:2 = scf.for %i = %c0 to %c2 step %c1 iter_args(%p = %p0, %acc = %acc0) -> (tensor<64x64x!tile.ptr<i32>, #ML>, tensor<64x64xi32, #ML>) : i32 {
    %d = tile.load %p : (tensor<64x64x!tile.ptr<i32>, #ML>) -> tensor<64x64xi32, #ML>
    %s = arith.addi %acc, %d : tensor<64x64xi32, #ML>
    scf.yield %p, %s : tensor<64x64x!tile.ptr<i32>, #ML>, tensor<64x64xi32, #ML>
  }
  %py = tile.splat %y : !tile.ptr<i32> -> tensor<64x64x!tile.ptr<i32>, #ML>
  tile.store %py, %r#1 : (tensor<64x64x!tile.ptr<i32>, #ML>, tensor<64x64xi32, #ML>) -> ()
  return
}
