// RUN: tessera-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the `tile` dialect's verifiers: the axis
// constraint of program_id/num_programs, the #tile.blocked attribute
// verifier, the AllTypesMatch constraints of addptr and dot, and every
// emitOpError branch in TileOps.cpp.

//===----------------------------------------------------------------------===//
// program_id / num_programs: axis in 0..2
//===----------------------------------------------------------------------===//

func.func @program_id_axis_above_2() {
  // expected-error @+1 {{'tile.program_id' op attribute 'axis' failed to satisfy constraint: 32-bit signless integer attribute whose minimum value is 0 whose maximum value is 2}}
  %0 = tile.program_id 3
  return
}

// -----

func.func @program_id_axis_negative() {
  // expected-error @+1 {{'tile.program_id' op attribute 'axis' failed to satisfy constraint}}
  %0 = tile.program_id -1
  return
}

// -----

func.func @num_programs_axis_above_2() {
  // expected-error @+1 {{'tile.num_programs' op attribute 'axis' failed to satisfy constraint: 32-bit signless integer attribute whose minimum value is 0 whose maximum value is 2}}
  %0 = tile.num_programs 3
  return
}

// -----

func.func @num_programs_axis_negative() {
  // expected-error @+1 {{'tile.num_programs' op attribute 'axis' failed to satisfy constraint}}
  %0 = tile.num_programs -1
  return
}

// -----

//===----------------------------------------------------------------------===//
// #tile.blocked: vec a power of two, threads a power-of-two multiple of 32
//===----------------------------------------------------------------------===//

func.func @blocked_vec_not_power_of_two(
    // expected-error @+1 {{vec must be a power of two, got 3}}
    %a: tensor<64xf32, #tile.blocked<vec = 3, threads = 128>>) {
  return
}

// -----

func.func @blocked_vec_zero(
    // expected-error @+1 {{vec must be a power of two, got 0}}
    %a: tensor<64xf32, #tile.blocked<vec = 0, threads = 128>>) {
  return
}

// -----

func.func @blocked_threads_not_multiple_of_32(
    // expected-error @+1 {{threads must be a power-of-two multiple of 32, got 16}}
    %a: tensor<64xf32, #tile.blocked<vec = 1, threads = 16>>) {
  return
}

// -----

func.func @blocked_threads_multiple_of_32_not_power_of_two(
    // expected-error @+1 {{threads must be a power-of-two multiple of 32, got 96}}
    %a: tensor<64xf32, #tile.blocked<vec = 1, threads = 96>>) {
  return
}

// -----

func.func @blocked_threads_zero(
    // expected-error @+1 {{threads must be a power-of-two multiple of 32, got 0}}
    %a: tensor<64xf32, #tile.blocked<vec = 1, threads = 0>>) {
  return
}

// -----

// More threads than a block runs (32 warps).
func.func @blocked_threads_over_1024(
    // expected-error @+1 {{threads must be at most 1024 (32 warps), got 2048}}
    %a: tensor<64xf32, #tile.blocked<vec = 1, threads = 2048>>) {
  return
}

// -----

// 2^31 x 2 warps: the product wraps to 0 in 32 bits (found by tessera-fuzz;
// the passes then divided by zero).
func.func @mma_warps_product_wraps(
    // expected-error @+1 {{warpsM and warpsN must be powers of two with at most 32 warps, got 2147483648 x 2}}
    %a: tensor<64x64xf32, #tile.mma<warpsM = 2147483648, warpsN = 2>>) {
  return
}

// -----

func.func @mma_too_many_warps(
    // expected-error @+1 {{warpsM and warpsN must be powers of two with at most 32 warps, got 8 x 8}}
    %a: tensor<64x64xf32, #tile.mma<warpsM = 8, warpsN = 8>>) {
  return
}

// -----

//===----------------------------------------------------------------------===//
// arange
//===----------------------------------------------------------------------===//

func.func @arange_end_equal_to_start() {
  // expected-error @+1 {{'tile.arange' op end (8) must be greater than start (8)}}
  %0 = tile.arange 8, 8 : tensor<1xi32>
  return
}

// -----

func.func @arange_end_below_start() {
  // expected-error @+1 {{'tile.arange' op end (0) must be greater than start (16)}}
  %0 = tile.arange 16, 0 : tensor<16xi32>
  return
}

// -----

func.func @arange_length_not_power_of_two() {
  // expected-error @+1 {{'tile.arange' op length 48 is not a power of two}}
  %0 = tile.arange 0, 48 : tensor<48xi32>
  return
}

// -----

func.func @arange_result_length_mismatch() {
  // expected-error @+1 {{'tile.arange' op result has 32 elements, expected 64}}
  %0 = tile.arange 0, 64 : tensor<32xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// splat
//===----------------------------------------------------------------------===//

func.func @splat_source_not_scalar(%t: tensor<4xf32>) {
  // expected-error @+1 {{'tile.splat' op source must be a scalar}}
  %0 = tile.splat %t : tensor<4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @splat_element_type_differs(%x: f32) {
  // expected-error @+1 {{'tile.splat' op element type 'f16' differs from source type 'f32'}}
  %0 = tile.splat %x : f32 -> tensor<64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

func.func @broadcast_element_types_differ(%row: tensor<1x64xf32>) {
  // expected-error @+1 {{'tile.broadcast' op element types differ}}
  %0 = tile.broadcast %row : tensor<1x64xf32> -> tensor<32x64xf16>
  return
}

// -----

func.func @broadcast_rank_differs(%v: tensor<64xf32>) {
  // expected-error @+1 {{'tile.broadcast' op source rank 1 != result rank 2}}
  %0 = tile.broadcast %v : tensor<64xf32> -> tensor<32x64xf32>
  return
}

// -----

func.func @broadcast_dimension_neither_1_nor_result(%t: tensor<1x48xf32>) {
  // expected-error @+1 {{'tile.broadcast' op dimension 1: source size 48 is neither 1 nor 64}}
  %0 = tile.broadcast %t : tensor<1x48xf32> -> tensor<32x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// expand_dims
//===----------------------------------------------------------------------===//

func.func @expand_dims_axis_out_of_range(%v: tensor<64xf32>) {
  // expected-error @+1 {{'tile.expand_dims' op axis 2 out of range for rank 1}}
  %0 = tile.expand_dims %v {axis = 2 : i32} : tensor<64xf32> -> tensor<64x1xf32>
  return
}

// -----

// A negative axis is rejected too (the message shows it as unsigned).
func.func @expand_dims_axis_negative(%v: tensor<64xf32>) {
  // expected-error @+1 {{out of range for rank 1}}
  %0 = tile.expand_dims %v {axis = -1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
  return
}

// -----

func.func @expand_dims_result_shape_wrong(%v: tensor<64xf32>) {
  // expected-error @+1 {{'tile.expand_dims' op result type 'tensor<1x64xf32>' does not insert a unit dimension at axis 1}}
  %0 = tile.expand_dims %v {axis = 1 : i32} : tensor<64xf32> -> tensor<1x64xf32>
  return
}

// -----

func.func @expand_dims_result_element_type_wrong(%v: tensor<64xf32>) {
  // expected-error @+1 {{'tile.expand_dims' op result type 'tensor<64x1xf16>' does not insert a unit dimension at axis 1}}
  %0 = tile.expand_dims %v {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// reshape
//===----------------------------------------------------------------------===//

func.func @reshape_element_types_differ(%t: tensor<4x16xf32>) {
  // expected-error @+1 {{'tile.reshape' op element types differ}}
  %0 = tile.reshape %t : tensor<4x16xf32> -> tensor<64xi32>
  return
}

// -----

func.func @reshape_element_count_differs(%t: tensor<4x16xf32>) {
  // expected-error @+1 {{'tile.reshape' op source has 64 elements, result 32}}
  %0 = tile.reshape %t : tensor<4x16xf32> -> tensor<32xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// trans
//===----------------------------------------------------------------------===//

func.func @trans_order_length_differs_from_rank(%t: tensor<4x8xf32>) {
  // expected-error @+1 {{'tile.trans' op order has 1 entries for rank 2}}
  %0 = tile.trans %t {order = array<i32: 0>} : tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @trans_order_repeats_dimension(%t: tensor<4x8xf32>) {
  // expected-error @+1 {{'tile.trans' op order is not a permutation}}
  %0 = tile.trans %t {order = array<i32: 0, 0>} : tensor<4x8xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @trans_order_entry_too_large(%t: tensor<4x8xf32>) {
  // expected-error @+1 {{'tile.trans' op order is not a permutation}}
  %0 = tile.trans %t {order = array<i32: 2, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  return
}

// -----

func.func @trans_order_entry_negative(%t: tensor<4x8xf32>) {
  // expected-error @+1 {{'tile.trans' op order is not a permutation}}
  %0 = tile.trans %t {order = array<i32: -1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  return
}

// -----

func.func @trans_result_rank_differs(%t: tensor<4x8xf32>) {
  // expected-error @+1 {{'tile.trans' op result type does not match source}}
  %0 = tile.trans %t {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<8x4x1xf32>
  return
}

// -----

func.func @trans_result_element_type_differs(%t: tensor<4x8xf32>) {
  // expected-error @+1 {{'tile.trans' op result type does not match source}}
  %0 = tile.trans %t {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf16>
  return
}

// -----

func.func @trans_result_dimension_wrong(%t: tensor<4x8xf32>) {
  // expected-error @+1 {{'tile.trans' op result dimension 0 is 4, expected 8}}
  %0 = tile.trans %t {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// addptr
//===----------------------------------------------------------------------===//

func.func @addptr_shapes_differ(%p: tensor<128x!tile.ptr<f16>>, %o: tensor<64xi32>) {
  // expected-error @+1 {{'tile.addptr' op pointer and offset shapes differ}}
  %0 = tile.addptr %p, %o : tensor<128x!tile.ptr<f16>>, tensor<64xi32>
  return
}

// -----

func.func @addptr_scalar_pointer_tensor_offset(%p: !tile.ptr<f16>, %o: tensor<1xi32>) {
  // expected-error @+1 {{'tile.addptr' op pointer and offset shapes differ}}
  %0 = tile.addptr %p, %o : !tile.ptr<f16>, tensor<1xi32>
  return
}

// -----

func.func @addptr_result_type_differs_from_pointer(%p: !tile.ptr<f32>, %o: i32) {
  // expected-error @+1 {{'tile.addptr' op failed to verify that all of {ptr, result} have same type}}
  %0 = "tile.addptr"(%p, %o) : (!tile.ptr<f32>, i32) -> !tile.ptr<f16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// load
//===----------------------------------------------------------------------===//

func.func @load_result_element_type_differs_from_pointee(%p: tensor<128x!tile.ptr<f16>>) {
  // expected-error @+1 {{'tile.load' op result type 'tensor<128xf32>' does not match the pointers 'tensor<128x!tile.ptr<f16>>'}}
  %0 = tile.load %p : (tensor<128x!tile.ptr<f16>>) -> tensor<128xf32>
  return
}

// -----

func.func @load_result_shape_differs_from_pointers(%p: tensor<128x!tile.ptr<f16>>) {
  // expected-error @+1 {{'tile.load' op result type 'tensor<64xf16>' does not match the pointers 'tensor<128x!tile.ptr<f16>>'}}
  %0 = tile.load %p : (tensor<128x!tile.ptr<f16>>) -> tensor<64xf16>
  return
}

// -----

func.func @load_scalar_pointer_tensor_result(%p: !tile.ptr<f32>) {
  // expected-error @+1 {{'tile.load' op result type 'tensor<1xf32>' does not match the pointers '!tile.ptr<f32>'}}
  %0 = tile.load %p : (!tile.ptr<f32>) -> tensor<1xf32>
  return
}

// -----

func.func @load_mask_shape_differs(%p: tensor<128x!tile.ptr<f16>>, %m: tensor<64xi1>) {
  // expected-error @+1 {{'tile.load' op mask shape differs from pointer shape}}
  %0 = tile.load %p mask %m : (tensor<128x!tile.ptr<f16>>, tensor<64xi1>) -> tensor<128xf16>
  return
}

// -----

func.func @load_other_without_mask(%p: tensor<128x!tile.ptr<f16>>, %o: tensor<128xf16>) {
  // expected-error @+1 {{'tile.load' op 'other' requires a mask}}
  %0 = tile.load %p other %o : (tensor<128x!tile.ptr<f16>>, tensor<128xf16>) -> tensor<128xf16>
  return
}

// -----

func.func @speculative_tile_load(%p: tensor<128x!tile.ptr<f16>>) {
  // expected-error @+1 {{'tile.load' op 'speculative' applies to unmasked scalar loads only}}
  %0 = tile.load %p {speculative} : (tensor<128x!tile.ptr<f16>>) -> tensor<128xf16>
  return
}

// -----

func.func @load_other_type_differs(%p: tensor<128x!tile.ptr<f16>>, %m: tensor<128xi1>, %o: tensor<128xf32>) {
  // expected-error @+1 {{'tile.load' op 'other' type 'tensor<128xf32>' differs from result type 'tensor<128xf16>'}}
  %0 = tile.load %p mask %m other %o : (tensor<128x!tile.ptr<f16>>, tensor<128xi1>, tensor<128xf32>) -> tensor<128xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// store
//===----------------------------------------------------------------------===//

func.func @store_value_element_type_differs_from_pointee(%p: tensor<128x!tile.ptr<f16>>, %v: tensor<128xf32>) {
  // expected-error @+1 {{'tile.store' op value type 'tensor<128xf32>' does not match the pointers 'tensor<128x!tile.ptr<f16>>'}}
  tile.store %p, %v : (tensor<128x!tile.ptr<f16>>, tensor<128xf32>) -> ()
  return
}

// -----

func.func @store_value_shape_differs_from_pointers(%p: !tile.ptr<f16>, %v: tensor<128xf16>) {
  // expected-error @+1 {{'tile.store' op value type 'tensor<128xf16>' does not match the pointers '!tile.ptr<f16>'}}
  tile.store %p, %v : (!tile.ptr<f16>, tensor<128xf16>) -> ()
  return
}

// -----

func.func @store_mask_shape_differs(%p: tensor<128x!tile.ptr<f16>>, %v: tensor<128xf16>, %m: i1) {
  // expected-error @+1 {{'tile.store' op mask shape differs from pointer shape}}
  tile.store %p, %v mask %m : (tensor<128x!tile.ptr<f16>>, tensor<128xf16>, i1) -> ()
  return
}

// -----

//===----------------------------------------------------------------------===//
// atomic_rmw
//===----------------------------------------------------------------------===//

func.func @atomic_value_type_differs_from_pointee(%p: tensor<128x!tile.ptr<f32>>, %v: tensor<128xi32>) {
  // expected-error @+1 {{'tile.atomic_rmw' op value type 'tensor<128xi32>' does not match the pointers 'tensor<128x!tile.ptr<f32>>'}}
  %0 = tile.atomic_rmw add %p, %v : (tensor<128x!tile.ptr<f32>>, tensor<128xi32>) -> tensor<128xi32>
  return
}

// -----

func.func @atomic_result_type_differs(%p: tensor<128x!tile.ptr<f32>>, %v: tensor<128xf32>) {
  // expected-error @+1 {{'tile.atomic_rmw' op result type 'tensor<64xf32>' differs from the value type 'tensor<128xf32>'}}
  %0 = tile.atomic_rmw add %p, %v : (tensor<128x!tile.ptr<f32>>, tensor<128xf32>) -> tensor<64xf32>
  return
}

// -----

func.func @atomic_mask_shape_differs(%p: tensor<128x!tile.ptr<f32>>, %v: tensor<128xf32>, %m: tensor<64xi1>) {
  // expected-error @+1 {{'tile.atomic_rmw' op mask shape differs from pointer shape}}
  %0 = tile.atomic_rmw add %p, %v mask %m : (tensor<128x!tile.ptr<f32>>, tensor<128xf32>, tensor<64xi1>) -> tensor<128xf32>
  return
}

// -----

func.func @atomic_f16(%p: tensor<128x!tile.ptr<f16>>, %v: tensor<128xf16>) {
  // expected-error @+1 {{'tile.atomic_rmw' op combines i32 or f32 elements, got 'f16'}}
  %0 = tile.atomic_rmw add %p, %v : (tensor<128x!tile.ptr<f16>>, tensor<128xf16>) -> tensor<128xf16>
  return
}

// -----

func.func @atomic_cas_without_compare(%p: tensor<128x!tile.ptr<i32>>, %v: tensor<128xi32>) {
  // expected-error @+1 {{'tile.atomic_rmw' op cas needs a compare operand}}
  %0 = tile.atomic_rmw cas %p, %v : (tensor<128x!tile.ptr<i32>>, tensor<128xi32>) -> tensor<128xi32>
  return
}

// -----

func.func @atomic_compare_without_cas(%p: tensor<128x!tile.ptr<i32>>, %v: tensor<128xi32>) {
  // expected-error @+1 {{'tile.atomic_rmw' op only cas takes a compare operand}}
  %0 = tile.atomic_rmw exch %p, %v compare %v : (tensor<128x!tile.ptr<i32>>, tensor<128xi32>, tensor<128xi32>) -> tensor<128xi32>
  return
}

// -----

func.func @atomic_cas_compare_type(%p: tensor<128x!tile.ptr<i32>>, %v: tensor<128xi32>, %c: tensor<64xi32>) {
  // expected-error @+1 {{'tile.atomic_rmw' op compare type 'tensor<64xi32>' differs from the value type 'tensor<128xi32>'}}
  %0 = tile.atomic_rmw cas %p, %v compare %c : (tensor<128x!tile.ptr<i32>>, tensor<128xi32>, tensor<64xi32>) -> tensor<128xi32>
  return
}

// -----

func.func @atomic_unknown_kind(%p: tensor<128x!tile.ptr<f32>>, %v: tensor<128xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'kind' [add, max, min, exch, cas]}}
  %0 = tile.atomic_rmw xor %p, %v : (tensor<128x!tile.ptr<f32>>, tensor<128xf32>) -> tensor<128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// dot
//===----------------------------------------------------------------------===//

func.func @dot_operands_not_2d(%a: tensor<32xf16>, %b: tensor<32x64xf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{'tile.dot' op operands must be 2-D}}
  %0 = tile.dot %a, %b, %c : tensor<32xf16>, tensor<32x64xf16> -> tensor<64x64xf32>
  return
}

// -----

func.func @dot_operand_element_types_differ(%a: tensor<64x32xf16>, %b: tensor<32x64xbf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{'tile.dot' op operand element types differ: 'f16' vs 'bf16'}}
  %0 = tile.dot %a, %b, %c : tensor<64x32xf16>, tensor<32x64xbf16> -> tensor<64x64xf32>
  return
}

// -----

func.func @dot_operands_not_float(%a: tensor<64x32xi32>, %b: tensor<32x64xi32>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{'tile.dot' op operands must be f16, bf16 or f32, got 'i32'}}
  %0 = tile.dot %a, %b, %c : tensor<64x32xi32>, tensor<32x64xi32> -> tensor<64x64xf32>
  return
}

// -----

func.func @dot_operands_f64(%a: tensor<64x32xf64>, %b: tensor<32x64xf64>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{'tile.dot' op operands must be f16, bf16 or f32, got 'f64'}}
  %0 = tile.dot %a, %b, %c : tensor<64x32xf64>, tensor<32x64xf64> -> tensor<64x64xf32>
  return
}

// -----

func.func @dot_accumulator_not_f32(%a: tensor<64x32xf16>, %b: tensor<32x64xf16>, %c: tensor<64x64xf16>) {
  // expected-error @+1 {{'tile.dot' op accumulator must be f32, got 'f16'}}
  %0 = tile.dot %a, %b, %c : tensor<64x32xf16>, tensor<32x64xf16> -> tensor<64x64xf16>
  return
}

// -----

func.func @dot_k_mismatch(%a: tensor<64x32xf16>, %b: tensor<16x64xf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{'tile.dot' op K of lhs (32) != K of rhs (16)}}
  %0 = tile.dot %a, %b, %c : tensor<64x32xf16>, tensor<16x64xf16> -> tensor<64x64xf32>
  return
}

// -----

func.func @dot_accumulator_shape_wrong(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{'tile.dot' op accumulator shape must be 64x16}}
  %0 = tile.dot %a, %b, %c : tensor<64x32xf16>, tensor<32x16xf16> -> tensor<64x64xf32>
  return
}

// -----

func.func @dot_result_type_differs_from_accumulator(%a: tensor<64x32xf16>, %b: tensor<32x64xf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{'tile.dot' op failed to verify that all of {acc, result} have same type}}
  %0 = "tile.dot"(%a, %b, %c) : (tensor<64x32xf16>, tensor<32x64xf16>, tensor<64x64xf32>) -> tensor<64x64xf32, #tile.blocked<vec = 1, threads = 128>>
  return
}

// -----

//===----------------------------------------------------------------------===//
// reduce
//===----------------------------------------------------------------------===//

func.func @scan_axis_out_of_range(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{'tile.scan' op axis 2 out of range for rank 2}}
  %0 = tile.scan sum %s {axis = 2 : i32} : tensor<64x128xf32>
  return
}

// -----

func.func @scan_i1(%s: tensor<64xi1>) {
  // expected-error @+1 {{'tile.scan' op cannot scan elements of type 'i1'}}
  %0 = tile.scan sum %s {axis = 0 : i32} : tensor<64xi1>
  return
}

// -----

func.func @reduce_axis_out_of_range(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{'tile.reduce' op axis 2 out of range for rank 2}}
  %0 = tile.reduce sum %s {axis = 2 : i32} : tensor<64x128xf32> -> tensor<64xf32>
  return
}

// -----

// A negative axis is rejected too (the message shows it as unsigned).
func.func @reduce_axis_negative(%s: tensor<64xf32>) {
  // expected-error @+1 {{out of range for rank 1}}
  %0 = tile.reduce max %s {axis = -1 : i32} : tensor<64xf32> -> f32
  return
}

// -----

func.func @reduce_zero_rank_source(%s: tensor<f32>) {
  // expected-error @+1 {{'tile.reduce' op axis 0 out of range for rank 0}}
  %0 = tile.reduce sum %s {axis = 0 : i32} : tensor<f32> -> f32
  return
}

// -----

func.func @reduce_cannot_reduce_i1(%s: tensor<64xi1>) {
  // expected-error @+1 {{'tile.reduce' op cannot reduce elements of type 'i1'}}
  %0 = tile.reduce max %s {axis = 0 : i32} : tensor<64xi1> -> i1
  return
}

// -----

func.func @reduce_cannot_reduce_pointers(%s: tensor<64x!tile.ptr<f32>>) {
  // expected-error @+1 {{'tile.reduce' op cannot reduce elements of type '!tile.ptr<f32>'}}
  %0 = tile.reduce min %s {axis = 0 : i32} : tensor<64x!tile.ptr<f32>> -> !tile.ptr<f32>
  return
}

// -----

func.func @reduce_1d_result_not_scalar(%s: tensor<64xf32>) {
  // expected-error @+1 {{'tile.reduce' op reducing a 1-D tile gives a scalar of type 'f32'}}
  %0 = tile.reduce sum %s {axis = 0 : i32} : tensor<64xf32> -> tensor<1xf32>
  return
}

// -----

func.func @reduce_1d_result_wrong_scalar_type(%s: tensor<64xf32>) {
  // expected-error @+1 {{'tile.reduce' op reducing a 1-D tile gives a scalar of type 'f32'}}
  %0 = tile.reduce sum %s {axis = 0 : i32} : tensor<64xf32> -> f16
  return
}

// -----

func.func @reduce_result_keeps_reduced_axis(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{'tile.reduce' op result type 'tensor<128xf32>' is not the source without axis 1}}
  %0 = tile.reduce max %s {axis = 1 : i32} : tensor<64x128xf32> -> tensor<128xf32>
  return
}

// -----

func.func @reduce_2d_result_scalar(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{'tile.reduce' op result type 'f32' is not the source without axis 0}}
  %0 = tile.reduce sum %s {axis = 0 : i32} : tensor<64x128xf32> -> f32
  return
}

// -----

func.func @reduce_result_element_type_differs(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{'tile.reduce' op result type 'tensor<64xf16>' is not the source without axis 1}}
  %0 = tile.reduce min %s {axis = 1 : i32} : tensor<64x128xf32> -> tensor<64xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// convert_layout
//===----------------------------------------------------------------------===//

func.func @convert_layout_shape_changes(%x: tensor<64xf32, #tile.blocked<vec = 1, threads = 128>>) {
  // expected-error @+1 {{'tile.convert_layout' op shape and element type must not change}}
  %0 = tile.convert_layout %x : tensor<64xf32, #tile.blocked<vec = 1, threads = 128>> -> tensor<32xf32, #tile.blocked<vec = 2, threads = 32>>
  return
}

// -----

func.func @convert_layout_element_type_changes(%x: tensor<64xf32, #tile.blocked<vec = 1, threads = 128>>) {
  // expected-error @+1 {{'tile.convert_layout' op shape and element type must not change}}
  %0 = tile.convert_layout %x : tensor<64xf32, #tile.blocked<vec = 1, threads = 128>> -> tensor<64xf16, #tile.blocked<vec = 2, threads = 32>>
  return
}

// -----

// Tiles have static shapes.
func.func @dynamic_shape_rejected(%a: tensor<?x16xf16>, %b: tensor<16x16xf16>, %c: tensor<?x16xf32>) {
  // expected-error @+1 {{must be statically shaped tensor of any type values}}
  %0 = tile.dot %a, %b, %c : tensor<?x16xf16>, tensor<16x16xf16> -> tensor<?x16xf32>
  return
}

// -----

func.func @splat_of_vector(%v: vector<4xf32>) {
  // expected-error @+1 {{'tile.splat' op source must be a scalar number or pointer, got 'vector<4xf32>'}}
  %0 = tile.splat %v : vector<4xf32> -> tensor<4xvector<4xf32>>
  return
}

// -----

// Negative attribute values are reported as such.
func.func @expand_dims_negative_axis_message(%x: tensor<8xf32>) {
  // expected-error @+1 {{'tile.expand_dims' op axis -1 out of range for rank 1}}
  %0 = tile.expand_dims %x {axis = -1 : i32} : tensor<8xf32> -> tensor<1x8xf32>
  return
}

// -----

func.func @arange_negative_empty(%x: f32) {
  // expected-error @+1 {{'tile.arange' op end (-8) must be greater than start (-4)}}
  %0 = tile.arange -4, -8 : tensor<4xi32>
  return
}

// -----

func.func @warp_specialize_partial_warpgroup() {
  // expected-error @+1 {{'tile.warp_specialize' op producer_warps must be a positive multiple of 4 (whole warpgroups)}}
  tile.warp_specialize attributes {producer_warps = 2 : i32, producer_regs = 24 : i32, consumer_regs = 240 : i32} {
  } {
  }
  return
}

// -----

func.func @warp_specialize_bad_budget() {
  // expected-error @+1 {{'tile.warp_specialize' op register budgets must be multiples of 8 in [24, 256]}}
  tile.warp_specialize attributes {producer_warps = 4 : i32, producer_regs = 24 : i32, consumer_regs = 250 : i32} {
  } {
  }
  return
}

// -----

func.func @warp_specialize_producer_richer() {
  // expected-error @+1 {{'tile.warp_specialize' op gives the producer more registers than the consumers}}
  tile.warp_specialize attributes {producer_warps = 4 : i32, producer_regs = 240 : i32, consumer_regs = 232 : i32} {
  } {
  }
  return
}

// -----

func.func @barrier_arrive_not_a_ring(%s: i32) {
  %b = tile.alloc_shared : tensor<2x2x1xi64, #tile.shared<contig = 1, swizzle = 16, offset = 0>>
  // expected-error @+1 {{'tile.barrier_arrive' op barriers must be a #tile.shared tensor<Sx1x1xi64> (one mbarrier per slot)}}
  tile.barrier_arrive %b[%s] : tensor<2x2x1xi64, #tile.shared<contig = 1, swizzle = 16, offset = 0>>
  return
}

// -----

// Unswizzled tiles (mbarrier rings) sit on 128-byte boundaries; a swizzled
// one on its pattern's period, 8 rows of `swizzle` bytes.
func.func @shared_offset_off_period() {
  %ok = tile.alloc_shared : tensor<2x1x1xi64, #tile.shared<contig = 1, swizzle = 16, offset = 8320>>
  // expected-error @+1 {{offset must be -1 (unallocated) or a multiple of 512 (max(128, 8 x swizzle)), got 8320}}
  %bad = tile.alloc_shared : tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 64, offset = 8320>>
  return
}

// -----

//===----------------------------------------------------------------------===//
// kernel attributes
//===----------------------------------------------------------------------===//

// expected-error @+1 {{'func.func' op 'tile.num_stages' must be in [1, 16], got -1}}
func.func @negative_stages() attributes {tile.kernel, tile.num_warps = 4 : i32, tile.num_stages = -1 : i32} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'tile.num_warps' must be a power of two in [1, 32], got 3}}
func.func @three_warps() attributes {tile.kernel, tile.num_warps = 3 : i32} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'tile.min_blocks' must be in [1, 32], got 0}}
func.func @zero_min_blocks() attributes {tile.kernel, tile.num_warps = 4 : i32, tile.min_blocks = 0 : i32} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'tile.warp_specialize' must be a unit attribute}}
func.func @warp_specialize_not_unit() attributes {tile.kernel, tile.num_warps = 4 : i32, tile.warp_specialize = 2 : i32} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'tile.num_stages' must be an i32 attribute}}
func.func @stages_not_i32() attributes {tile.kernel, tile.num_warps = 4 : i32, tile.num_stages = "two"} {
  return
}
