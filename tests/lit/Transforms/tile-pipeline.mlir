// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared -tile-pipeline=num-stages=3 | FileCheck %s
// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared "-tile-pipeline=num-stages=3 target=sm_80" | FileCheck %s --check-prefix=AMPERE

// A K loop loading both dot operands into shared memory, 3 stages: two
// 3-slot buffers, the loads of iterations 0 and 1 issued before the loop
// (masked by `iv < ub`), and in the body: wait until only the 2 copies of
// the newest iteration are in flight, views of slot (i mod 3), the dot (on
// sm_90a asynchronous: marked tile.async, one wgmma group left in flight by
// a synchronizing tile.dot_wait before the slot it read is refilled), then
// the copies for iteration i + 2.  After the loop: drain both.
// CHECK-LABEL: func.func @k_loop
// CHECK-SAME: tile.shared_bytes = 49152
// CHECK: %[[A:.*]] = tile.alloc_shared : tensor<3x64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 0>>
// CHECK: %[[B:.*]] = tile.alloc_shared : tensor<3x64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 24576>>
// CHECK-COUNT-2: tile.async_load %{{.*}} into %[[A]]
// CHECK: scf.for
// CHECK:   tile.async_wait {pending = 2 : i32}
// CHECK:   tile.shared_slot %[[A]]
// CHECK:   tile.shared_slot %[[B]]
// CHECK:   tile.dot {{.*}} {tile.async}
// CHECK:   tile.dot_wait {pending = 1 : i32, sync}
// CHECK:   tile.async_load %{{.*}} into %[[A]]
// CHECK:   tile.async_load %{{.*}} into %[[B]]
// CHECK:   scf.yield
// CHECK: tile.async_wait {pending = 0 : i32}
// CHECK: tile.dot_wait %{{.*}} {pending = 0 : i32}
// AMPERE-LABEL: func.func @k_loop
// AMPERE-NOT: tile.async}
// AMPERE-NOT: tile.dot_wait
// AMPERE: tile.async_wait {pending = 0 : i32}
func.func @k_loop(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c64 = arith.constant 64 : i32
  %res = scf.for %k = %c0 to %n step %c64 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %kr = tile.expand_dims %kk {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %kb = tile.broadcast %kr : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %px, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %b = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %b, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not fire: the load's address depends on a loop-carried value, so
// later iterations' addresses are not known ahead.
// CHECK-LABEL: func.func @address_carried
// CHECK-NOT: tile.async_load
// CHECK-NOT: tile.alloc_shared
// CHECK: tile.load
// AMPERE-LABEL: func.func @address_carried
func.func @address_carried(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %px0 = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %one = arith.constant dense<64> : tensor<64x64xi32>
  %res:2 = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %z, %px = %px0) -> (tensor<64x64xf32>, tensor<64x64x!tile.ptr<f16>>) : i32 {
    %a = tile.load %px : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %a, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %next = tile.addptr %px, %one : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    scf.yield %d, %next : tensor<64x64xf32>, tensor<64x64x!tile.ptr<f16>>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res#0 : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}
