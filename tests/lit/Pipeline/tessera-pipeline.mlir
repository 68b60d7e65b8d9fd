// RUN: tessera-opt %s -tessera-pipeline | FileCheck %s

// The whole pipeline leaves only LLVM and NVVM dialect operations.
// CHECK-LABEL: llvm.func @scale
// CHECK-SAME: nvvm.kernel
// CHECK-NOT: = tile.
// CHECK-NOT: arith.
// CHECK-NOT: scf.
// CHECK: llvm.fmul
// CHECK: llvm.return
func.func @scale(%x: !tile.ptr<f32>, %s: f32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 512 : tensor<512xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<512x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<512x!tile.ptr<f32>>, tensor<512xi32>
  %v = tile.load %p : (tensor<512x!tile.ptr<f32>>) -> tensor<512xf32>
  %ss = tile.splat %s : f32 -> tensor<512xf32>
  %w = arith.mulf %v, %ss : tensor<512xf32>
  tile.store %p, %w : (tensor<512x!tile.ptr<f32>>, tensor<512xf32>) -> ()
  return
}
