// RUN: tessera-opt %s -split-input-file -verify-diagnostics -tile-assign-layouts -tile-promote-shared -tile-pipeline=num-stages=16 -tile-warp-specialize

// Rings that do not fit in shared memory once warp-specialized (every
// ring lives for the whole kernel): an error at the ring that does not fit
// and one saying why, in terms of the IR.  (tile-pipeline alone leaves the
// allocation to tile-warp-specialize.)
// expected-error @below {{with warp specialization every pipelined buffer stays allocated for the whole kernel (the producer warps fill them; consecutive loops share one set of rings); use fewer stages, smaller tiles, fewer pipelined loops, or no tile.warp_specialize}}
func.func @ws_rings_too_big(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32, tile.warp_specialize} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c64 = arith.constant 64 : i32
  %rows = tile.expand_dims %r {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %lds = tile.splat %ld : i32 -> tensor<64x1xi32>
  %roff = arith.muli %rows, %lds : tensor<64x1xi32>
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x1x!tile.ptr<f16>>
  %prow = tile.addptr %px, %roff : tensor<64x1x!tile.ptr<f16>>, tensor<64x1xi32>
  %prowb = tile.broadcast %prow : tensor<64x1x!tile.ptr<f16>> -> tensor<64x64x!tile.ptr<f16>>
  %cols = tile.expand_dims %r {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %colsb = tile.broadcast %cols : tensor<1x64xi32> -> tensor<64x64xi32>
  %pq = tile.addptr %prowb, %colsb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
  %q = tile.load %pq : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %msp = tile.splat %m : i32 -> tensor<64x1xi32>
  %rowok = arith.cmpi slt, %rows, %msp : tensor<64x1xi32>
  %rowokb = tile.broadcast %rowok : tensor<64x1xi1> -> tensor<64x64xi1>
  // expected-error @below {{'tile.alloc_shared' op needs 262144 bytes of shared memory for its tiles, more than the 232448 bytes one block may use on sm_90a; use smaller tiles or fewer stages}}
  %res = scf.for %k = %c0 to %n step %c64 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %kr = tile.expand_dims %kk {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %kb = tile.broadcast %kr : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %prowb, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p mask %rowokb : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi1>) -> tensor<64x64xf16>
    %b = tile.load %p mask %rowokb : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi1>) -> tensor<64x64xf16>
    %s = tile.dot %q, %a, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %e = math.exp2 %s : tensor<64x64xf32>
    %e16 = arith.truncf %e : tensor<64x64xf32> to tensor<64x64xf16>
    %o = tile.dot %e16, %b, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %o : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}
