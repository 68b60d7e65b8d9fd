// RUN: tessera-opt %s -split-input-file -tile-fold-factors | FileCheck %s

// Attention's soft-capped scores: the kernel's scale (a runtime scalar) and
// the modifier's 1/cap become one scalar multiply, splatted once; the row
// maximum is taken before the cap; cap and log2(e) fold into one constant
// (30 * 1.44269502 = 43.2808495 in f32), so exp2's argument is one multiply
// and a subtraction (an FMA once lowered).  Constants are hoisted to the top.
// CHECK-LABEL: func.func @softcap_scores(
// CHECK-SAME: %[[S:.*]]: tensor<64x64xf32>, %[[SCALE:.*]]: f32
// CHECK-DAG: %[[C2:.*]] = arith.constant dense<43.2808495> : tensor<64x64xf32>
// CHECK-DAG: %[[C:.*]] = arith.constant dense<43.2808495> : tensor<64xf32>
// CHECK-DAG: %[[INV:.*]] = arith.constant 0.0333333351 : f32
// CHECK: %[[F:.*]] = arith.mulf %[[SCALE]], %[[INV]] : f32
// CHECK: %[[FS:.*]] = tile.splat %[[F]] : f32 -> tensor<64x64xf32>
// CHECK: %[[X:.*]] = arith.mulf %[[S]], %[[FS]] : tensor<64x64xf32>
// CHECK: %[[T:.*]] = math.tanh %[[X]] : tensor<64x64xf32>
// CHECK: %[[MAX:.*]] = tile.reduce max %[[T]] {axis = 1 : i32} : tensor<64x64xf32> -> tensor<64xf32>
// CHECK: %[[M:.*]] = arith.mulf %[[MAX]], %[[C]] : tensor<64xf32>
// CHECK: %[[E:.*]] = arith.mulf %[[T]], %[[C2]] : tensor<64x64xf32>
// CHECK-NOT: arith.mulf
// CHECK: return %[[M]], %[[E]]
func.func @softcap_scores(%s: tensor<64x64xf32>, %scale: f32) -> (tensor<64xf32>, tensor<64x64xf32>) {
  %inv = arith.constant dense<0.0333333351> : tensor<64x64xf32>
  %cap = arith.constant dense<30.0> : tensor<64x64xf32>
  %log2e = arith.constant dense<1.44269502> : tensor<64x64xf32>
  %log2e_row = arith.constant dense<1.44269502> : tensor<64xf32>
  %sc = tile.splat %scale : f32 -> tensor<64x64xf32>
  %0 = arith.mulf %s, %sc : tensor<64x64xf32>
  %1 = arith.mulf %0, %inv : tensor<64x64xf32>
  %2 = math.tanh %1 : tensor<64x64xf32>
  %3 = arith.mulf %2, %cap : tensor<64x64xf32>
  %4 = tile.reduce max %3 {axis = 1 : i32} : tensor<64x64xf32> -> tensor<64xf32>
  %5 = arith.mulf %4, %log2e_row : tensor<64xf32>
  %6 = arith.mulf %3, %log2e : tensor<64x64xf32>
  return %5, %6 : tensor<64xf32>, tensor<64x64xf32>
}

// -----

// A masked block: the select against -inf commutes with the cap (-inf * 30
// is -inf), so the maximum and exp2's argument still see the tanh; the
// factor on the left operand of the multiply and a minimum fold too.
// CHECK-LABEL: func.func @masked_scores(
// CHECK-SAME: %[[T:.*]]: tensor<64x64xf32>, %[[P:.*]]: tensor<64x64xi1>
// CHECK-DAG: %[[CL:.*]] = arith.constant dense<43.2808495> : tensor<64x64xf32>
// CHECK-DAG: %[[CAP:.*]] = arith.constant dense<3.000000e+01> : tensor<64xf32>
// CHECK: %[[SEL:.*]] = arith.select %[[P]], %[[T]], %{{.*}} : tensor<64x64xi1>, tensor<64x64xf32>
// CHECK: %[[MIN:.*]] = tile.reduce min %[[SEL]] {axis = 1 : i32} : tensor<64x64xf32> -> tensor<64xf32>
// CHECK: arith.mulf %[[MIN]], %[[CAP]] : tensor<64xf32>
// CHECK: arith.mulf %[[SEL]], %[[CL]] : tensor<64x64xf32>
func.func @masked_scores(%t: tensor<64x64xf32>, %p: tensor<64x64xi1>) -> (tensor<64xf32>, tensor<64x64xf32>) {
  %cap = arith.constant dense<30.0> : tensor<64x64xf32>
  %log2e = arith.constant dense<1.44269502> : tensor<64x64xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<64x64xf32>
  %0 = arith.mulf %cap, %t : tensor<64x64xf32>
  %1 = arith.select %p, %0, %ninf : tensor<64x64xi1>, tensor<64x64xf32>
  %2 = tile.reduce min %1 {axis = 1 : i32} : tensor<64x64xf32> -> tensor<64xf32>
  %3 = arith.mulf %log2e, %1 : tensor<64x64xf32>
  return %2, %3 : tensor<64xf32>, tensor<64x64xf32>
}

// -----

// A reduction to a scalar takes its factor as a scalar constant.
// CHECK-LABEL: func.func @max_to_scalar(
// CHECK: %[[C:.*]] = arith.constant 2.500000e+00 : f32
// CHECK: %[[R:.*]] = tile.reduce max %arg0 {axis = 0 : i32} : tensor<64xf32> -> f32
// CHECK: arith.mulf %[[R]], %[[C]] : f32
func.func @max_to_scalar(%x: tensor<64xf32>) -> f32 {
  %c = arith.constant dense<2.5> : tensor<64xf32>
  %0 = arith.mulf %x, %c : tensor<64xf32>
  %1 = tile.reduce max %0 {axis = 0 : i32} : tensor<64xf32> -> f32
  return %1 : f32
}

// -----

// Must not fire: a sum of products rounds differently from a product of the
// sum; a negative factor turns a maximum into a minimum; a factor that is
// not uniform (a loaded tile) is not folded; a select whose constant the
// factor changes (1 * 30) or whose product has another user stays.
// CHECK-LABEL: func.func @not_folded(
// CHECK: %[[A:.*]] = arith.mulf %arg0, %{{.*}} : tensor<64x64xf32>
// CHECK: tile.reduce sum %[[A]]
// CHECK: %[[B:.*]] = arith.mulf %arg0, %{{.*}} : tensor<64x64xf32>
// CHECK: tile.reduce max %[[B]]
// CHECK: %[[C:.*]] = arith.mulf %arg0, %arg1 : tensor<64x64xf32>
// CHECK: arith.mulf %[[C]], %{{.*}} : tensor<64x64xf32>
// CHECK: %[[D:.*]] = arith.select %arg2, %[[A]], %{{.*}} : tensor<64x64xi1>, tensor<64x64xf32>
// CHECK: %[[E:.*]] = arith.select %arg2, %[[B]], %{{.*}} : tensor<64x64xi1>, tensor<64x64xf32>
func.func @not_folded(%x: tensor<64x64xf32>, %y: tensor<64x64xf32>, %p: tensor<64x64xi1>)
    -> (tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) {
  %cap = arith.constant dense<30.0> : tensor<64x64xf32>
  %neg = arith.constant dense<-2.0> : tensor<64x64xf32>
  %one = arith.constant dense<1.0> : tensor<64x64xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<64x64xf32>
  %0 = arith.mulf %x, %cap : tensor<64x64xf32>
  %1 = tile.reduce sum %0 {axis = 1 : i32} : tensor<64x64xf32> -> tensor<64xf32>
  %2 = arith.mulf %x, %neg : tensor<64x64xf32>
  %3 = tile.reduce max %2 {axis = 1 : i32} : tensor<64x64xf32> -> tensor<64xf32>
  %4 = arith.mulf %x, %y : tensor<64x64xf32>
  %5 = arith.mulf %4, %cap : tensor<64x64xf32>
  %6 = arith.select %p, %0, %one : tensor<64x64xi1>, tensor<64x64xf32>
  %7 = arith.select %p, %2, %ninf : tensor<64x64xi1>, tensor<64x64xf32>
  return %1, %3, %5, %6, %7 : tensor<64xf32>, tensor<64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>
}
