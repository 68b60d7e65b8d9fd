// RUN: tessera-opt %s -split-input-file -tile-expand-fp8 | FileCheck %s

// FP8 pointers, loads, stores and constants become i8 with the same bits;
// truncf from f32 becomes integer arithmetic (rounding by adding and
// removing 2^23 for subnormals, saturation by a minimum with 448), extf to
// f32 likewise; no FP8 type is left.
// CHECK-LABEL: func.func @e4m3_round_trip(
// CHECK-SAME: %{{.*}}: !tile.ptr<f32>, %{{.*}}: !tile.ptr<i8>)
// CHECK-NOT: f8E4M3FN
// CHECK: arith.constant dense<126> : tensor<64xi8>
// CHECK: arith.minimumf %{{.*}}, %{{.*}} : tensor<64xf32>
// CHECK: arith.constant dense<0x4B000000> : tensor<64xf32>
// CHECK: arith.trunci %{{.*}} : tensor<64xi32> to tensor<64xi8>
// CHECK: tile.store %{{.*}}, %{{.*}} : (tensor<64x!tile.ptr<i8>>, tensor<64xi8>) -> ()
// CHECK: tile.load %{{.*}} : (tensor<64x!tile.ptr<i8>>) -> tensor<64xi8>
// CHECK: arith.extui %{{.*}} : tensor<64xi8> to tensor<64xi32>
// CHECK-NOT: arith.extf
// CHECK-NOT: f8E4M3FN
// CHECK: return
func.func @e4m3_round_trip(%x: !tile.ptr<f32>, %q: !tile.ptr<f8E4M3FN>) attributes {tile.kernel} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>>
  %pxs = tile.addptr %px, %r : tensor<64x!tile.ptr<f32>>, tensor<64xi32>
  %pq = tile.splat %q : !tile.ptr<f8E4M3FN> -> tensor<64x!tile.ptr<f8E4M3FN>>
  %pqs = tile.addptr %pq, %r : tensor<64x!tile.ptr<f8E4M3FN>>, tensor<64xi32>
  %big = arith.constant dense<448.0> : tensor<64xf8E4M3FN>
  %v = tile.load %pxs : (tensor<64x!tile.ptr<f32>>) -> tensor<64xf32>
  %t = arith.truncf %v : tensor<64xf32> to tensor<64xf8E4M3FN>
  tile.store %pqs, %t : (tensor<64x!tile.ptr<f8E4M3FN>>, tensor<64xf8E4M3FN>) -> ()
  %back = tile.load %pqs : (tensor<64x!tile.ptr<f8E4M3FN>>) -> tensor<64xf8E4M3FN>
  %w = arith.extf %back : tensor<64xf8E4M3FN> to tensor<64xf32>
  tile.store %pxs, %w : (tensor<64x!tile.ptr<f32>>, tensor<64xf32>) -> ()
  return
}

// -----

// E5M2 widens through f16 (its upper byte).
// CHECK-LABEL: func.func @e5m2_widen(
// CHECK: arith.extui %{{.*}} : i8 to i16
// CHECK: arith.shli
// CHECK: arith.bitcast %{{.*}} : i16 to f16
// CHECK: arith.extf %{{.*}} : f16 to f32
func.func @e5m2_widen(%q: !tile.ptr<f8E5M2>, %y: !tile.ptr<f32>) attributes {tile.kernel} {
  %v = tile.load %q : (!tile.ptr<f8E5M2>) -> f8E5M2
  %w = arith.extf %v : f8E5M2 to f32
  tile.store %y, %w : (!tile.ptr<f32>, f32) -> ()
  return
}

// -----

// Must not fire: a kernel without FP8 is unchanged.
// CHECK-LABEL: func.func @no_fp8(
// CHECK-NEXT: %[[V:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK-NEXT: return %[[V]]
func.func @no_fp8(%x: f16) -> f32 attributes {tile.kernel} {
  %v = arith.extf %x : f16 to f32
  return %v : f32
}
