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
