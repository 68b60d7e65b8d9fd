// RUN: tessera-opt %s | tessera-opt | FileCheck %s
// RUN: tessera-opt %s --mlir-print-op-generic | tessera-opt | FileCheck %s

// Every operation of the `tile` dialect, the `!tile.ptr<T>` type and the
// `#tile.blocked` attribute survive printing and re-parsing, both from the
// custom assembly format and from the generic form.

// CHECK-LABEL: func.func @program_id_and_num_programs_all_axes
// CHECK: %[[P0:.+]] = tile.program_id 0{{$}}
// CHECK: %[[P1:.+]] = tile.program_id 1{{$}}
// CHECK: %[[P2:.+]] = tile.program_id 2{{$}}
// CHECK: %[[N0:.+]] = tile.num_programs 0{{$}}
// CHECK: %[[N1:.+]] = tile.num_programs 1{{$}}
// CHECK: %[[N2:.+]] = tile.num_programs 2{{$}}
// CHECK: return %[[P0]], %[[P1]], %[[P2]], %[[N0]], %[[N1]], %[[N2]] : i32, i32, i32, i32, i32, i32
func.func @program_id_and_num_programs_all_axes() -> (i32, i32, i32, i32, i32, i32) {
  %p0 = tile.program_id 0
  %p1 = tile.program_id 1
  %p2 = tile.program_id 2
  %n0 = tile.num_programs 0
  %n1 = tile.num_programs 1
  %n2 = tile.num_programs 2
  return %p0, %p1, %p2, %n0, %n1, %n2 : i32, i32, i32, i32, i32, i32
}

// CHECK-LABEL: func.func @arange_from_zero_and_offset
// CHECK: tile.arange 0, 128 : tensor<128xi32>{{$}}
// CHECK: tile.arange 16, 32 : tensor<16xi32>{{$}}
func.func @arange_from_zero_and_offset() -> (tensor<128xi32>, tensor<16xi32>) {
  %a = tile.arange 0, 128 : tensor<128xi32>
  %b = tile.arange 16, 32 : tensor<16xi32>
  return %a, %b : tensor<128xi32>, tensor<16xi32>
}

// CHECK-LABEL: func.func @splat_scalar_and_pointer(
// CHECK-SAME: %[[X:[^:]+]]: f32, %[[P:[^:]+]]: !tile.ptr<f16>)
// CHECK: tile.splat %[[X]] : f32 -> tensor<64x64xf32>{{$}}
// CHECK: tile.splat %[[P]] : !tile.ptr<f16> -> tensor<128x!tile.ptr<f16>>{{$}}
func.func @splat_scalar_and_pointer(%x: f32, %p: !tile.ptr<f16>) -> (tensor<64x64xf32>, tensor<128x!tile.ptr<f16>>) {
  %a = tile.splat %x : f32 -> tensor<64x64xf32>
  %b = tile.splat %p : !tile.ptr<f16> -> tensor<128x!tile.ptr<f16>>
  return %a, %b : tensor<64x64xf32>, tensor<128x!tile.ptr<f16>>
}

// CHECK-LABEL: func.func @broadcast_unit_dims(
// CHECK-SAME: %[[ROW:[^:]+]]: tensor<1x64xf32>, %[[COL:[^:]+]]: tensor<32x1xi32>)
// CHECK: tile.broadcast %[[ROW]] : tensor<1x64xf32> -> tensor<32x64xf32>{{$}}
// CHECK: tile.broadcast %[[COL]] : tensor<32x1xi32> -> tensor<32x64xi32>{{$}}
func.func @broadcast_unit_dims(%row: tensor<1x64xf32>, %col: tensor<32x1xi32>) -> (tensor<32x64xf32>, tensor<32x64xi32>) {
  %a = tile.broadcast %row : tensor<1x64xf32> -> tensor<32x64xf32>
  %b = tile.broadcast %col : tensor<32x1xi32> -> tensor<32x64xi32>
  return %a, %b : tensor<32x64xf32>, tensor<32x64xi32>
}

// CHECK-LABEL: func.func @expand_dims_front_and_back(
// CHECK-SAME: %[[V:[^:]+]]: tensor<64xf32>)
// CHECK: tile.expand_dims %[[V]] {axis = 0 : i32} : tensor<64xf32> -> tensor<1x64xf32>{{$}}
// CHECK: tile.expand_dims %[[V]] {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>{{$}}
func.func @expand_dims_front_and_back(%v: tensor<64xf32>) -> (tensor<1x64xf32>, tensor<64x1xf32>) {
  %a = tile.expand_dims %v {axis = 0 : i32} : tensor<64xf32> -> tensor<1x64xf32>
  %b = tile.expand_dims %v {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
  return %a, %b : tensor<1x64xf32>, tensor<64x1xf32>
}

// CHECK-LABEL: func.func @reshape_flatten_and_split(
// CHECK-SAME: %[[T:[^:]+]]: tensor<4x16xf32>)
// CHECK: %[[FLAT:.+]] = tile.reshape %[[T]] : tensor<4x16xf32> -> tensor<64xf32>{{$}}
// CHECK: tile.reshape %[[FLAT]] : tensor<64xf32> -> tensor<2x8x4xf32>{{$}}
func.func @reshape_flatten_and_split(%t: tensor<4x16xf32>) -> tensor<2x8x4xf32> {
  %a = tile.reshape %t : tensor<4x16xf32> -> tensor<64xf32>
  %b = tile.reshape %a : tensor<64xf32> -> tensor<2x8x4xf32>
  return %b : tensor<2x8x4xf32>
}

// CHECK-LABEL: func.func @trans_2d_and_3d(
// CHECK-SAME: %[[K:[^:]+]]: tensor<64x128xf16>, %[[U:[^:]+]]: tensor<2x4x8xf32>)
// CHECK: tile.trans %[[K]] {order = array<i32: 1, 0>} : tensor<64x128xf16> -> tensor<128x64xf16>{{$}}
// CHECK: tile.trans %[[U]] {order = array<i32: 2, 0, 1>} : tensor<2x4x8xf32> -> tensor<8x2x4xf32>{{$}}
func.func @trans_2d_and_3d(%k: tensor<64x128xf16>, %u: tensor<2x4x8xf32>) -> (tensor<128x64xf16>, tensor<8x2x4xf32>) {
  %a = tile.trans %k {order = array<i32: 1, 0>} : tensor<64x128xf16> -> tensor<128x64xf16>
  %b = tile.trans %u {order = array<i32: 2, 0, 1>} : tensor<2x4x8xf32> -> tensor<8x2x4xf32>
  return %a, %b : tensor<128x64xf16>, tensor<8x2x4xf32>
}

// CHECK-LABEL: func.func @addptr_scalar(
// CHECK-SAME: %[[P:[^:]+]]: !tile.ptr<f32>, %[[O32:[^:]+]]: i32, %[[O64:[^:]+]]: i64)
// CHECK: %[[Q:.+]] = tile.addptr %[[P]], %[[O32]] : !tile.ptr<f32>, i32{{$}}
// CHECK: tile.addptr %[[Q]], %[[O64]] : !tile.ptr<f32>, i64{{$}}
func.func @addptr_scalar(%p: !tile.ptr<f32>, %o32: i32, %o64: i64) -> !tile.ptr<f32> {
  %q = tile.addptr %p, %o32 : !tile.ptr<f32>, i32
  %r = tile.addptr %q, %o64 : !tile.ptr<f32>, i64
  return %r : !tile.ptr<f32>
}

// CHECK-LABEL: func.func @addptr_tensor(
// CHECK-SAME: %[[P:[^:]+]]: tensor<128x!tile.ptr<f16>>, %[[O:[^:]+]]: tensor<128xi32>)
// CHECK: tile.addptr %[[P]], %[[O]] : tensor<128x!tile.ptr<f16>>, tensor<128xi32>{{$}}
func.func @addptr_tensor(%p: tensor<128x!tile.ptr<f16>>, %o: tensor<128xi32>) -> tensor<128x!tile.ptr<f16>> {
  %q = tile.addptr %p, %o : tensor<128x!tile.ptr<f16>>, tensor<128xi32>
  return %q : tensor<128x!tile.ptr<f16>>
}

// CHECK-LABEL: func.func @load_no_mask(
// CHECK-SAME: %[[P:[^:]+]]: tensor<128x!tile.ptr<f16>>)
// CHECK: tile.load %[[P]] : (tensor<128x!tile.ptr<f16>>) -> tensor<128xf16>{{$}}
func.func @load_no_mask(%p: tensor<128x!tile.ptr<f16>>) -> tensor<128xf16> {
  %x = tile.load %p : (tensor<128x!tile.ptr<f16>>) -> tensor<128xf16>
  return %x : tensor<128xf16>
}

// CHECK-LABEL: func.func @load_mask(
// CHECK-SAME: %[[P:[^:]+]]: tensor<128x!tile.ptr<f16>>, %[[M:[^:]+]]: tensor<128xi1>)
// CHECK: tile.load %[[P]] mask %[[M]] : (tensor<128x!tile.ptr<f16>>, tensor<128xi1>) -> tensor<128xf16>{{$}}
func.func @load_mask(%p: tensor<128x!tile.ptr<f16>>, %m: tensor<128xi1>) -> tensor<128xf16> {
  %x = tile.load %p mask %m : (tensor<128x!tile.ptr<f16>>, tensor<128xi1>) -> tensor<128xf16>
  return %x : tensor<128xf16>
}

// CHECK-LABEL: func.func @load_mask_other(
// CHECK-SAME: %[[P:[^:]+]]: tensor<128x!tile.ptr<f16>>, %[[M:[^:]+]]: tensor<128xi1>, %[[O:[^:]+]]: tensor<128xf16>)
// CHECK: tile.load %[[P]] mask %[[M]] other %[[O]] : (tensor<128x!tile.ptr<f16>>, tensor<128xi1>, tensor<128xf16>) -> tensor<128xf16>{{$}}
func.func @load_mask_other(%p: tensor<128x!tile.ptr<f16>>, %m: tensor<128xi1>, %o: tensor<128xf16>) -> tensor<128xf16> {
  %x = tile.load %p mask %m other %o : (tensor<128x!tile.ptr<f16>>, tensor<128xi1>, tensor<128xf16>) -> tensor<128xf16>
  return %x : tensor<128xf16>
}

// CHECK-LABEL: func.func @load_scalar_pointer(
// CHECK-SAME: %[[P:[^:]+]]: !tile.ptr<f32>, %[[M:[^:]+]]: i1, %[[O:[^:]+]]: f32)
// CHECK: tile.load %[[P]] : (!tile.ptr<f32>) -> f32{{$}}
// CHECK: tile.load %[[P]] mask %[[M]] other %[[O]] : (!tile.ptr<f32>, i1, f32) -> f32{{$}}
func.func @load_scalar_pointer(%p: !tile.ptr<f32>, %m: i1, %o: f32) -> (f32, f32) {
  %x = tile.load %p : (!tile.ptr<f32>) -> f32
  %y = tile.load %p mask %m other %o : (!tile.ptr<f32>, i1, f32) -> f32
  return %x, %y : f32, f32
}

// CHECK-LABEL: func.func @store_no_mask(
// CHECK-SAME: %[[P:[^:]+]]: tensor<64x64x!tile.ptr<f32>>, %[[V:[^:]+]]: tensor<64x64xf32>, %[[S:[^:]+]]: !tile.ptr<i32>, %[[X:[^:]+]]: i32)
// CHECK: tile.store %[[P]], %[[V]] : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> (){{$}}
// CHECK: tile.store %[[S]], %[[X]] : (!tile.ptr<i32>, i32) -> (){{$}}
func.func @store_no_mask(%p: tensor<64x64x!tile.ptr<f32>>, %v: tensor<64x64xf32>, %s: !tile.ptr<i32>, %x: i32) {
  tile.store %p, %v : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  tile.store %s, %x : (!tile.ptr<i32>, i32) -> ()
  return
}

// CHECK-LABEL: func.func @store_mask(
// CHECK-SAME: %[[P:[^:]+]]: tensor<128x!tile.ptr<f16>>, %[[V:[^:]+]]: tensor<128xf16>, %[[M:[^:]+]]: tensor<128xi1>)
// CHECK: tile.store %[[P]], %[[V]] mask %[[M]] : (tensor<128x!tile.ptr<f16>>, tensor<128xf16>, tensor<128xi1>) -> (){{$}}
func.func @store_mask(%p: tensor<128x!tile.ptr<f16>>, %v: tensor<128xf16>, %m: tensor<128xi1>) {
  tile.store %p, %v mask %m : (tensor<128x!tile.ptr<f16>>, tensor<128xf16>, tensor<128xi1>) -> ()
  return
}

// CHECK-LABEL: func.func @atomic_rmw(
// CHECK-SAME: %[[P:[^:]+]]: tensor<64x64x!tile.ptr<f32>>, %[[V:[^:]+]]: tensor<64x64xf32>, %[[M:[^:]+]]: tensor<64x64xi1>, %[[S:[^:]+]]: !tile.ptr<i32>, %[[X:[^:]+]]: i32)
// CHECK: tile.atomic_rmw add %[[P]], %[[V]] mask %[[M]] : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>, tensor<64x64xi1>) -> tensor<64x64xf32>{{$}}
// CHECK: tile.atomic_rmw max %[[P]], %[[V]] : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> tensor<64x64xf32>{{$}}
// CHECK: tile.atomic_rmw min %[[S]], %[[X]] : (!tile.ptr<i32>, i32) -> i32{{$}}
func.func @atomic_rmw(%p: tensor<64x64x!tile.ptr<f32>>, %v: tensor<64x64xf32>, %m: tensor<64x64xi1>, %s: !tile.ptr<i32>, %x: i32) -> i32 {
  %a = tile.atomic_rmw add %p, %v mask %m : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>, tensor<64x64xi1>) -> tensor<64x64xf32>
  %b = tile.atomic_rmw max %p, %v : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> tensor<64x64xf32>
  %c = tile.atomic_rmw min %s, %x : (!tile.ptr<i32>, i32) -> i32
  return %c : i32
}

// CHECK-LABEL: func.func @dot_f16(
// CHECK-SAME: %[[A:[^:]+]]: tensor<64x32xf16>, %[[B:[^:]+]]: tensor<32x16xf16>, %[[C:[^:]+]]: tensor<64x16xf32>)
// CHECK: tile.dot %[[A]], %[[B]], %[[C]] : tensor<64x32xf16>, tensor<32x16xf16> -> tensor<64x16xf32>{{$}}
func.func @dot_f16(%a: tensor<64x32xf16>, %b: tensor<32x16xf16>, %c: tensor<64x16xf32>) -> tensor<64x16xf32> {
  %d = tile.dot %a, %b, %c : tensor<64x32xf16>, tensor<32x16xf16> -> tensor<64x16xf32>
  return %d : tensor<64x16xf32>
}

// CHECK-LABEL: func.func @dot_bf16(
// CHECK-SAME: %[[A:[^:]+]]: tensor<16x64xbf16>, %[[B:[^:]+]]: tensor<64x32xbf16>, %[[C:[^:]+]]: tensor<16x32xf32>)
// CHECK: tile.dot %[[A]], %[[B]], %[[C]] : tensor<16x64xbf16>, tensor<64x32xbf16> -> tensor<16x32xf32>{{$}}
func.func @dot_bf16(%a: tensor<16x64xbf16>, %b: tensor<64x32xbf16>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %d = tile.dot %a, %b, %c : tensor<16x64xbf16>, tensor<64x32xbf16> -> tensor<16x32xf32>
  return %d : tensor<16x32xf32>
}

// CHECK-LABEL: func.func @dot_f32(
// CHECK-SAME: %[[A:[^:]+]]: tensor<32x16xf32>, %[[B:[^:]+]]: tensor<16x64xf32>, %[[C:[^:]+]]: tensor<32x64xf32>)
// CHECK: tile.dot %[[A]], %[[B]], %[[C]] : tensor<32x16xf32>, tensor<16x64xf32> -> tensor<32x64xf32>{{$}}
func.func @dot_f32(%a: tensor<32x16xf32>, %b: tensor<16x64xf32>, %c: tensor<32x64xf32>) -> tensor<32x64xf32> {
  %d = tile.dot %a, %b, %c : tensor<32x16xf32>, tensor<16x64xf32> -> tensor<32x64xf32>
  return %d : tensor<32x64xf32>
}

// CHECK-LABEL: func.func @scan_sum_max(
// CHECK: tile.scan sum %{{.*}} {axis = 1 : i32} : tensor<64x128xf32>{{$}}
// CHECK: tile.scan max %{{.*}} {axis = 0 : i32} : tensor<16x8xi32>{{$}}
func.func @scan_sum_max(%s: tensor<64x128xf32>, %i: tensor<16x8xi32>) -> (tensor<64x128xf32>, tensor<16x8xi32>) {
  %a = tile.scan sum %s {axis = 1 : i32} : tensor<64x128xf32>
  %b = tile.scan max %i {axis = 0 : i32} : tensor<16x8xi32>
  return %a, %b : tensor<64x128xf32>, tensor<16x8xi32>
}

// -----

// CHECK-LABEL: func.func @reduce_sum_max_min_2d_to_1d(
// CHECK-SAME: %[[S:[^:]+]]: tensor<64x128xf32>, %[[I:[^:]+]]: tensor<16x8xi32>)
// CHECK: tile.reduce sum %[[S]] {axis = 0 : i32} : tensor<64x128xf32> -> tensor<128xf32>{{$}}
// CHECK: tile.reduce max %[[S]] {axis = 1 : i32} : tensor<64x128xf32> -> tensor<64xf32>{{$}}
// CHECK: tile.reduce min %[[I]] {axis = 1 : i32} : tensor<16x8xi32> -> tensor<16xi32>{{$}}
func.func @reduce_sum_max_min_2d_to_1d(%s: tensor<64x128xf32>, %i: tensor<16x8xi32>) -> (tensor<128xf32>, tensor<64xf32>, tensor<16xi32>) {
  %a = tile.reduce sum %s {axis = 0 : i32} : tensor<64x128xf32> -> tensor<128xf32>
  %b = tile.reduce max %s {axis = 1 : i32} : tensor<64x128xf32> -> tensor<64xf32>
  %c = tile.reduce min %i {axis = 1 : i32} : tensor<16x8xi32> -> tensor<16xi32>
  return %a, %b, %c : tensor<128xf32>, tensor<64xf32>, tensor<16xi32>
}

// CHECK-LABEL: func.func @reduce_sum_max_min_1d_to_scalar(
// CHECK-SAME: %[[V:[^:]+]]: tensor<128xf16>, %[[I:[^:]+]]: tensor<32xi64>)
// CHECK: tile.reduce sum %[[V]] {axis = 0 : i32} : tensor<128xf16> -> f16{{$}}
// CHECK: tile.reduce max %[[I]] {axis = 0 : i32} : tensor<32xi64> -> i64{{$}}
// CHECK: tile.reduce min %[[V]] {axis = 0 : i32} : tensor<128xf16> -> f16{{$}}
func.func @reduce_sum_max_min_1d_to_scalar(%v: tensor<128xf16>, %i: tensor<32xi64>) -> (f16, i64, f16) {
  %a = tile.reduce sum %v {axis = 0 : i32} : tensor<128xf16> -> f16
  %b = tile.reduce max %i {axis = 0 : i32} : tensor<32xi64> -> i64
  %c = tile.reduce min %v {axis = 0 : i32} : tensor<128xf16> -> f16
  return %a, %b, %c : f16, i64, f16
}

// CHECK-LABEL: func.func @convert_layout_between_blocked_layouts(
// CHECK-SAME: %[[X:[^:]+]]: tensor<64xf32, #tile.blocked<vec = 1, threads = 128>>)
// CHECK: tile.convert_layout %[[X]] : tensor<64xf32, #tile.blocked<vec = 1, threads = 128>> -> tensor<64xf32, #tile.blocked<vec = 2, threads = 32>>{{$}}
func.func @convert_layout_between_blocked_layouts(%x: tensor<64xf32, #tile.blocked<vec = 1, threads = 128>>) -> tensor<64xf32, #tile.blocked<vec = 2, threads = 32>> {
  %y = tile.convert_layout %x : tensor<64xf32, #tile.blocked<vec = 1, threads = 128>> -> tensor<64xf32, #tile.blocked<vec = 2, threads = 32>>
  return %y : tensor<64xf32, #tile.blocked<vec = 2, threads = 32>>
}

// The pointer type takes any pointee, including another pointer.
// CHECK-LABEL: func.func @ptr_type_pointees(
// CHECK-SAME: %{{[^:]+}}: !tile.ptr<f16>, %{{[^:]+}}: !tile.ptr<bf16>, %{{[^:]+}}: !tile.ptr<i8>, %{{[^:]+}}: !tile.ptr<i64>, %{{[^:]+}}: !tile.ptr<!tile.ptr<f32>>)
func.func @ptr_type_pointees(%a: !tile.ptr<f16>, %b: !tile.ptr<bf16>, %c: !tile.ptr<i8>, %d: !tile.ptr<i64>, %e: !tile.ptr<!tile.ptr<f32>>) {
  return
}

// The layout attribute on tensor types of tile ops, through an alias and at
// the extremes of its range; the result of addptr and load keeps it.
#L = #tile.blocked<vec = 4, threads = 128>
// CHECK-LABEL: func.func @blocked_layout_attr_on_tensors(
// CHECK-SAME: %[[P:[^:]+]]: !tile.ptr<f32>)
// CHECK: %[[R:.+]] = tile.arange 0, 512 : tensor<512xi32, #tile.blocked<vec = 4, threads = 128>>{{$}}
// CHECK: %[[PS:.+]] = tile.splat %[[P]] : !tile.ptr<f32> -> tensor<512x!tile.ptr<f32>, #tile.blocked<vec = 4, threads = 128>>{{$}}
// CHECK: %[[PA:.+]] = tile.addptr %[[PS]], %[[R]] : tensor<512x!tile.ptr<f32>, #tile.blocked<vec = 4, threads = 128>>, tensor<512xi32, #tile.blocked<vec = 4, threads = 128>>{{$}}
// CHECK: %[[V:.+]] = tile.load %[[PA]] : (tensor<512x!tile.ptr<f32>, #tile.blocked<vec = 4, threads = 128>>) -> tensor<512xf32, #tile.blocked<vec = 4, threads = 128>>{{$}}
// CHECK: tile.convert_layout %[[V]] : tensor<512xf32, #tile.blocked<vec = 4, threads = 128>> -> tensor<512xf32, #tile.blocked<vec = 1, threads = 32>>{{$}}
// CHECK: tile.convert_layout %[[V]] : tensor<512xf32, #tile.blocked<vec = 4, threads = 128>> -> tensor<512xf32, #tile.blocked<vec = 16, threads = 1024>>{{$}}
func.func @blocked_layout_attr_on_tensors(%p: !tile.ptr<f32>) -> (tensor<512xf32, #tile.blocked<vec = 1, threads = 32>>, tensor<512xf32, #tile.blocked<vec = 16, threads = 1024>>) {
  %r = tile.arange 0, 512 : tensor<512xi32, #L>
  %ps = tile.splat %p : !tile.ptr<f32> -> tensor<512x!tile.ptr<f32>, #L>
  %pa = tile.addptr %ps, %r : tensor<512x!tile.ptr<f32>, #L>, tensor<512xi32, #L>
  %v = tile.load %pa : (tensor<512x!tile.ptr<f32>, #L>) -> tensor<512xf32, #L>
  %a = tile.convert_layout %v : tensor<512xf32, #L> -> tensor<512xf32, #tile.blocked<vec = 1, threads = 32>>
  %b = tile.convert_layout %v : tensor<512xf32, #L> -> tensor<512xf32, #tile.blocked<vec = 16, threads = 1024>>
  return %a, %b : tensor<512xf32, #tile.blocked<vec = 1, threads = 32>>, tensor<512xf32, #tile.blocked<vec = 16, threads = 1024>>
}

// -----

// Negative bounds are signed.
// CHECK-LABEL: func.func @arange_negative_start
// CHECK: tile.arange -4, 4 : tensor<8xi32>{{$}}
func.func @arange_negative_start() {
  %0 = tile.arange -4, 4 : tensor<8xi32>
  return
}

// CHECK-LABEL: func.func @warp_specialized
// CHECK: tile.barrier_init %{{.*}} {count = 8 : i32}
// CHECK: tile.warp_specialize attributes {consumer_regs = 240 : i32, producer_regs = 24 : i32, producer_warps = 4 : i32} {
// CHECK:   tile.barrier_arrive %{{.*}}[%{{.*}}]
// CHECK: } {
// CHECK:   tile.barrier_wait
func.func @warp_specialized(%s: i32, %p: i32) {
  %e = tile.alloc_shared : tensor<2x1x1xi64, #tile.shared<contig = 1, swizzle = 16, offset = 0>>
  tile.barrier_init %e {count = 8 : i32} : tensor<2x1x1xi64, #tile.shared<contig = 1, swizzle = 16, offset = 0>>
  tile.warp_specialize attributes {producer_warps = 4 : i32, producer_regs = 24 : i32, consumer_regs = 240 : i32} {
    tile.barrier_arrive %e[%s] : tensor<2x1x1xi64, #tile.shared<contig = 1, swizzle = 16, offset = 0>>
  } {
    tile.barrier_wait %e[%s], %p : tensor<2x1x1xi64, #tile.shared<contig = 1, swizzle = 16, offset = 0>>
  }
  return
}
