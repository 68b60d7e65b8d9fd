// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared -convert-tile-to-nvvm | FileCheck %s
// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared "-convert-tile-to-nvvm=exp2-ftz=false" | FileCheck %s --check-prefix=NOFTZ

// A kernel becomes an llvm.func PTX kernel; each thread computes the linear
// index of the elements it owns from its thread id (2 per thread here).
// CHECK-LABEL: llvm.func @vector_copy(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>)
// CHECK-SAME: nvvm.kernel
// CHECK-SAME: nvvm.maxntid = array<i32: 128, 1, 1>
// CHECK: %[[TID:.*]] = nvvm.read.ptx.sreg.tid.x : i32
// CHECK: arith.muli %[[TID]], %{{.*}} : i32
// CHECK-COUNT-2: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK-COUNT-2: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<1>
// CHECK: llvm.return
func.func @vector_copy(%x: !tile.ptr<f32>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 256 : tensor<256xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<256x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<256x!tile.ptr<f32>>, tensor<256xi32>
  %v = tile.load %p : (tensor<256x!tile.ptr<f32>>) -> tensor<256xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<256x!tile.ptr<f32>>
  %q = tile.addptr %py, %r : tensor<256x!tile.ptr<f32>>, tensor<256xi32>
  tile.store %q, %v : (tensor<256x!tile.ptr<f32>>, tensor<256xf32>) -> ()
  return
}

// -----

// `tile.min_blocks` (a kernel's min_blocks parameter) becomes nvvm.minctasm,
// PTX's .minnctapersm: ptxas then caps registers so that many blocks fit.
// CHECK-LABEL: llvm.func @two_blocks_per_sm
// CHECK-SAME: nvvm.maxntid = array<i32: 256, 1, 1>
// CHECK-SAME: nvvm.minctasm = 2 : i32
func.func @two_blocks_per_sm(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 8 : i32, tile.min_blocks = 2 : i32} {
  return
}

// -----

// A masked load branches around the memory access and yields `other`.
// CHECK-LABEL: llvm.func @masked_load
// CHECK: scf.if %{{.*}} -> (f32)
// CHECK:   llvm.load
// CHECK: } else {
// CHECK:   scf.yield %{{.*}} : f32
func.func @masked_load(%x: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 32 : tensor<32xi32>
  %nn = tile.splat %n : i32 -> tensor<32xi32>
  %m = arith.cmpi slt, %r, %nn : tensor<32xi32>
  %o = arith.constant dense<-1.0> : tensor<32xf32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<32x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<32x!tile.ptr<f32>>, tensor<32xi32>
  %v = tile.load %p mask %m other %o : (tensor<32x!tile.ptr<f32>>, tensor<32xi1>, tensor<32xf32>) -> tensor<32xf32>
  tile.store %p, %v mask %m : (tensor<32x!tile.ptr<f32>>, tensor<32xf32>, tensor<32xi1>) -> ()
  return
}

// -----

// A reduction along the last axis folds each thread's chunk, then the lanes
// that share a row with butterfly shuffles; one partial per warp and row goes
// through shared memory, fenced by barriers.  exp2 is ex2.approx.ftz: one
// instruction that flushes results below 2^-126 to 0.
// 32x32 f32 over 128 threads, vec 4: a row is 8 chunks on 8 consecutive
// lanes, 3 butterfly steps (4, 2, 1) for each of a thread's 2 rows.
// Scratch: one f32 partial for each of the 32 rows, in dynamic shared memory.
// CHECK: llvm.mlir.global external @row_max_smem() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK-LABEL: llvm.func @row_max
// CHECK-SAME: tile.dynamic_shared_bytes = 128 : i32
// CHECK: llvm.inline_asm {{.*}}"ex2.approx.ftz.f32 $0, $1;", "=f,f"
// With exp2-ftz=false: the form that keeps denormals (ptxas wraps it in a
// compare and two multiplies).
// NOFTZ: llvm.inline_asm {{.*}}"ex2.approx.f32 $0, $1;", "=f,f"
// CHECK: arith.maximumf
// CHECK-COUNT-2: nvvm.shfl.sync bfly %{{.*}}, %{{.*}}, %c4_i32{{.*}} : f32 -> f32
// CHECK-COUNT-2: nvvm.shfl.sync bfly %{{.*}}, %{{.*}}, %c2_i32{{.*}} : f32 -> f32
// CHECK-COUNT-2: nvvm.shfl.sync bfly %{{.*}}, %{{.*}}, %c1_i32{{.*}} : f32 -> f32
// CHECK-NOT: nvvm.shfl.sync
// CHECK: llvm.store {{.*}} : f32, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: llvm.load {{.*}} : !llvm.ptr<3> -> f32
// CHECK: nvvm.barrier0
func.func @row_max(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<32x32x!tile.ptr<f32>>
  %v = tile.load %px : (tensor<32x32x!tile.ptr<f32>>) -> tensor<32x32xf32>
  %e = math.exp2 %v : tensor<32x32xf32>
  %m = tile.reduce max %e {axis = 1 : i32} : tensor<32x32xf32> -> tensor<32xf32>
  return
}

// -----

// A whole 1-D tile of 1024 over 4 warps: a full-warp butterfly (5 steps),
// then the 4 warp partials through shared memory.
// CHECK-LABEL: llvm.func @sum_to_scalar
// CHECK-COUNT-5: nvvm.shfl.sync bfly
// CHECK-NOT: nvvm.shfl.sync
// CHECK: nvvm.barrier0
// CHECK-COUNT-4: llvm.load {{.*}} : !llvm.ptr<3> -> f32
func.func @sum_to_scalar(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<1024x!tile.ptr<f32>>
  %v = tile.load %px : (tensor<1024x!tile.ptr<f32>>) -> tensor<1024xf32>
  %s = tile.reduce sum %v {axis = 0 : i32} : tensor<1024xf32> -> f32
  return
}

// -----

// Must not use shuffles: along a leading axis, elements of one column are
// on threads far apart; scratch, then a loop over the axis.
// CHECK-LABEL: llvm.func @column_sum
// CHECK-NOT: nvvm.shfl.sync
// CHECK: nvvm.barrier0
// CHECK: scf.for
// CHECK: arith.addf
func.func @column_sum(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<32x32x!tile.ptr<f32>>
  %v = tile.load %px : (tensor<32x32x!tile.ptr<f32>>) -> tensor<32x32xf32>
  %m = tile.reduce sum %v {axis = 0 : i32} : tensor<32x32xf32> -> tensor<32xf32>
  return
}

// -----

// A scan along rows of 4x256 on 128 threads: 32 pieces per row.  Scratch,
// a barrier, each thread scans its piece in place (a loop over the piece),
// a barrier, one thread per row carries the pieces' totals, a barrier,
// then every element reads back and adds the previous piece's total
// unless it ends its piece; a last barrier before scratch is reused.
// CHECK-LABEL: llvm.func @scan_rows_in_pieces
// CHECK-NOT: nvvm.shfl.sync
// CHECK: nvvm.barrier0
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.addf
// CHECK: nvvm.barrier0
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.addf
// CHECK: nvvm.barrier0
// CHECK: arith.select
// CHECK: nvvm.barrier0
// CHECK: llvm.return
func.func @scan_rows_in_pieces(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<4x256x!tile.ptr<f32>>
  %v = tile.load %px : (tensor<4x256x!tile.ptr<f32>>) -> tensor<4x256xf32>
  %c = tile.scan sum %v {axis = 1 : i32} : tensor<4x256xf32>
  tile.store %px, %c : (tensor<4x256x!tile.ptr<f32>>, tensor<4x256xf32>) -> ()
  return
}

// -----

// An f16 dot on one warp runs on mma.sync (wgmma needs a warpgroup): the
// tile that feeds both operands is loaded into swizzled shared memory once
// (both uses want the same layout), a barrier, then per K step of 16 (one
// here) an mma.sync.m16n8k16 for each of the two 16x8 pieces; the
// accumulator stays in registers (no scratch round trip).
// CHECK-LABEL: llvm.func @dot_f16
// CHECK: nvvm.barrier0
// CHECK: llvm.store {{.*}} : f16, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK-COUNT-2: llvm.inline_asm {{.*}}"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK-NOT: mma.sync
// CHECK: llvm.return
func.func @dot_f16(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<16x16x!tile.ptr<f16>>
  %a = tile.load %px : (tensor<16x16x!tile.ptr<f16>>) -> tensor<16x16xf16>
  %z = arith.constant dense<0.0> : tensor<16x16xf32>
  %c = tile.dot %a, %a, %z : tensor<16x16xf16>, tensor<16x16xf16> -> tensor<16x16xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<16x16x!tile.ptr<f32>>
  tile.store %py, %c : (tensor<16x16x!tile.ptr<f32>>, tensor<16x16xf32>) -> ()
  return
}

// -----

// Must not use tensor cores: f32 operands (and shapes that are not
// multiples of the MMA tile) take the CUDA-core FMA loop over K.
// CHECK-LABEL: llvm.func @dot_f32_fma_loop
// CHECK-NOT: mma.sync
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: llvm.intr.fma
func.func @dot_f32_fma_loop(%x: !tile.ptr<f32>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<16x16x!tile.ptr<f32>>
  %a = tile.load %px : (tensor<16x16x!tile.ptr<f32>>) -> tensor<16x16xf32>
  %z = arith.constant dense<0.0> : tensor<16x16xf32>
  %c = tile.dot %a, %a, %z : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<16x16x!tile.ptr<f32>>
  tile.store %py, %c : (tensor<16x16x!tile.ptr<f32>>, tensor<16x16xf32>) -> ()
  return
}

// -----

// Must not fire: functions that are not kernels stay func.func.
// CHECK-LABEL: func.func @helper
// CHECK-NOT: llvm.func
func.func @helper(%a: i32) -> i32 {
  return %a : i32
}

// -----

// A contiguous run from a 16-byte-aligned pointer moves 4 f32 at a time.
// CHECK-LABEL: llvm.func @vectorized_copy
// CHECK-COUNT-2: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK-NOT: llvm.load
// CHECK-COUNT-2: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
func.func @vectorized_copy(%x: !tile.ptr<f32> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32> {tile.alignment = 16 : i32}) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 256 : tensor<256xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<256x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<256x!tile.ptr<f32>>, tensor<256xi32>
  %v = tile.load %p : (tensor<256x!tile.ptr<f32>>) -> tensor<256xf32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<256x!tile.ptr<f32>>
  %q = tile.addptr %py, %r : tensor<256x!tile.ptr<f32>>, tensor<256xi32>
  tile.store %q, %v : (tensor<256x!tile.ptr<f32>>, tensor<256xf32>) -> ()
  return
}

// -----

// Must not vectorize: the pointer is only known 4-byte aligned.
// CHECK-LABEL: llvm.func @unaligned_stays_scalar
// CHECK-COUNT-8: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK-NOT: vector<
func.func @unaligned_stays_scalar(%x: !tile.ptr<f32> {tile.alignment = 4 : i32}) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 256 : tensor<256xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<256x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<256x!tile.ptr<f32>>, tensor<256xi32>
  %v = tile.load %p : (tensor<256x!tile.ptr<f32>>) -> tensor<256xf32>
  return
}

// -----

// `offs < n` with n a multiple of 16 is constant over each aligned run of 4:
// one predicate per vector.  Without the promise it is per element.
// CHECK-LABEL: llvm.func @masked_vector_with_multiple_of
// CHECK: scf.if %{{.*}} -> (f32, f32, f32, f32)
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK-LABEL: llvm.func @masked_scalar_without_promise
// CHECK-NOT: vector<
// CHECK: scf.if %{{.*}} -> (f32)
func.func @masked_vector_with_multiple_of(%x: !tile.ptr<f32> {tile.alignment = 16 : i32}, %n: i32 {tile.divisibility = 16 : i32}) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 128 : tensor<128xi32>
  %nn = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %r, %nn : tensor<128xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<128x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<128x!tile.ptr<f32>>, tensor<128xi32>
  %v = tile.load %p mask %m : (tensor<128x!tile.ptr<f32>>, tensor<128xi1>) -> tensor<128xf32>
  return
}
func.func @masked_scalar_without_promise(%x: !tile.ptr<f32> {tile.alignment = 16 : i32}, %n: i32) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 128 : tensor<128xi32>
  %nn = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %r, %nn : tensor<128xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<128x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<128x!tile.ptr<f32>>, tensor<128xi32>
  %v = tile.load %p mask %m : (tensor<128x!tile.ptr<f32>>, tensor<128xi1>) -> tensor<128xf32>
  return
}

// -----

// `<=` can flip inside a run even with the promise: per element.
// CHECK-LABEL: llvm.func @less_equal_mask_stays_scalar
// CHECK-NOT: vector<
// CHECK: scf.if %{{.*}} -> (f32)
func.func @less_equal_mask_stays_scalar(%x: !tile.ptr<f32> {tile.alignment = 16 : i32}, %n: i32 {tile.divisibility = 16 : i32}) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 128 : tensor<128xi32>
  %nn = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi sle, %r, %nn : tensor<128xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<128x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<128x!tile.ptr<f32>>, tensor<128xi32>
  %v = tile.load %p mask %m : (tensor<128x!tile.ptr<f32>>, tensor<128xi1>) -> tensor<128xf32>
  return
}

// -----

// A large row reduction needs only one partial per row and warp in shared
// memory: 128 rows x 1 warp x 4 bytes.
// CHECK: llvm.mlir.global external @wide_rows_smem() {{.*}} : !llvm.array<0 x i8>
// CHECK: llvm.func @wide_rows
// CHECK-SAME: tile.dynamic_shared_bytes = 512 : i32
func.func @wide_rows(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<128x128x!tile.ptr<f32>>
  %v = tile.load %px : (tensor<128x128x!tile.ptr<f32>>) -> tensor<128x128xf32>
  %m = tile.reduce max %v {axis = 1 : i32} : tensor<128x128xf32> -> tensor<128xf32>
  return
}

// -----

// Truncation breaks runs of consecutive offsets: no vector load.
// CHECK-LABEL: llvm.func @truncated_offsets_stay_scalar
// CHECK-NOT: vector<
func.func @truncated_offsets_stay_scalar(%x: !tile.ptr<f32> {tile.alignment = 16 : i32}) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 128 : tensor<128xi32>
  %t = arith.trunci %r : tensor<128xi32> to tensor<128xi1>
  %o = arith.extui %t : tensor<128xi1> to tensor<128xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<128x!tile.ptr<f32>>
  %p = tile.addptr %px, %o : tensor<128x!tile.ptr<f32>>, tensor<128xi32>
  %v = tile.load %p : (tensor<128x!tile.ptr<f32>>) -> tensor<128xf32>
  return
}

// -----

// tile.atomic_rmw: one relaxed device-scope atomicrmw per element under its
// mask, never vectorized (the 4 elements a thread owns here are 4 atomics);
// the old values are the result, zero where masked off.
// CHECK-LABEL: llvm.func @atomic_add_masked
// CHECK-COUNT-4: llvm.atomicrmw fadd %{{.*}}, %{{.*}} syncscope("device") monotonic {alignment = 4 : i64} : !llvm.ptr<1>, f32
// CHECK-NOT: llvm.atomicrmw
// CHECK-NOT: llvm.store
// CHECK: llvm.return
func.func @atomic_add_masked(%x: !tile.ptr<f32> {tile.alignment = 16 : i32}, %n: i32) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 128 : tensor<128xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<128x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<128x!tile.ptr<f32>>, tensor<128xi32>
  %ns = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %r, %ns : tensor<128xi32>
  %one = arith.constant dense<1.0> : tensor<128xf32>
  %old = tile.atomic_rmw add %p, %one mask %m : (tensor<128x!tile.ptr<f32>>, tensor<128xf32>, tensor<128xi1>) -> tensor<128xf32>
  return
}

// -----

// f32 max is an integer atomic on the bits chosen by the value's sign:
// umin for a negative value, signed max otherwise.
// CHECK-LABEL: llvm.func @atomic_max_f32
// CHECK: arith.cmpi slt
// CHECK: scf.if %{{.*}} -> (i32)
// CHECK: llvm.atomicrmw umin
// CHECK: else
// CHECK: llvm.atomicrmw max
func.func @atomic_max_f32(%x: !tile.ptr<f32>, %y: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 32 : tensor<32xi32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<32x!tile.ptr<f32>>
  %q = tile.addptr %py, %r : tensor<32x!tile.ptr<f32>>, tensor<32xi32>
  %v = tile.load %q : (tensor<32x!tile.ptr<f32>>) -> tensor<32xf32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<32x!tile.ptr<f32>>
  %old = tile.atomic_rmw max %px, %v : (tensor<32x!tile.ptr<f32>>, tensor<32xf32>) -> tensor<32xf32>
  return
}

// -----

// exch is an atomicrmw xchg; cas a cmpxchg on the bits (f32 through i32)
// whose old value is the result.
// CHECK-LABEL: llvm.func @atomic_exch_cas
// CHECK: llvm.atomicrmw xchg %{{.*}}, %{{.*}} syncscope("device") monotonic {alignment = 4 : i64} : !llvm.ptr<1>, i32
// CHECK: llvm.bitcast %{{.*}} : f32 to i32
// CHECK: llvm.cmpxchg %{{.*}}, %{{.*}}, %{{.*}} syncscope("device") monotonic monotonic {alignment = 4 : i64} : !llvm.ptr<1>, i32
// CHECK: llvm.extractvalue %{{.*}}[0] : !llvm.struct<(i32, i1)>
// CHECK: llvm.bitcast %{{.*}} : i32 to f32
func.func @atomic_exch_cas(%x: !tile.ptr<i32> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32> {tile.alignment = 16 : i32}) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 32 : tensor<32xi32>
  %px = tile.splat %x : !tile.ptr<i32> -> tensor<32x!tile.ptr<i32>>
  %p = tile.addptr %px, %r : tensor<32x!tile.ptr<i32>>, tensor<32xi32>
  %old = tile.atomic_rmw exch %p, %r : (tensor<32x!tile.ptr<i32>>, tensor<32xi32>) -> tensor<32xi32>
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<32x!tile.ptr<f32>>
  %q = tile.addptr %py, %r : tensor<32x!tile.ptr<f32>>, tensor<32xi32>
  %zero = arith.constant dense<0.0> : tensor<32xf32>
  %one = arith.constant dense<1.0> : tensor<32xf32>
  %seen = tile.atomic_rmw cas %q, %one compare %zero : (tensor<32x!tile.ptr<f32>>, tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
  tile.store %q, %seen : (tensor<32x!tile.ptr<f32>>, tensor<32xf32>) -> ()
  return
}

// -----

// 16 elements over 32 threads: replicated, so only threads 0-15 update
// memory, and since the old values are used they publish them in shared
// memory for the replicas (between two barriers).
// CHECK-LABEL: llvm.func @atomic_min_replicated_result
// CHECK: arith.cmpi ult, %{{.*}}, %{{.*}} : i32
// CHECK: scf.if %{{.*}} -> (i32)
// CHECK: llvm.atomicrmw min
// CHECK: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> i32
// CHECK: nvvm.barrier0
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>
func.func @atomic_min_replicated_result(%x: !tile.ptr<i32>, %y: !tile.ptr<i32>) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 16 : tensor<16xi32>
  %px = tile.splat %x : !tile.ptr<i32> -> tensor<16x!tile.ptr<i32>>
  %p = tile.addptr %px, %r : tensor<16x!tile.ptr<i32>>, tensor<16xi32>
  %old = tile.atomic_rmw min %p, %r : (tensor<16x!tile.ptr<i32>>, tensor<16xi32>) -> tensor<16xi32>
  %py = tile.splat %y : !tile.ptr<i32> -> tensor<16x!tile.ptr<i32>>
  %q = tile.addptr %py, %r : tensor<16x!tile.ptr<i32>>, tensor<16xi32>
  tile.store %q, %old : (tensor<16x!tile.ptr<i32>>, tensor<16xi32>) -> ()
  return
}

// -----

// On sm_90 an f32 sum whose old values are unused adds four contiguous,
// 16-byte-aligned elements under one mask value with one vector `red`
// (the same kernel's scalar form is @atomic_add_masked above).
// CHECK-LABEL: llvm.func @atomic_add_vector_red
// CHECK: scf.if
// CHECK: llvm.inline_asm has_side_effects {{.*}}"red.relaxed.gpu.global.add.v4.f32 [$0], {$1, $2, $3, $4};", "l,f,f,f,f"
// CHECK-NOT: llvm.atomicrmw
// CHECK: llvm.return
func.func @atomic_add_vector_red(%x: !tile.ptr<f32> {tile.alignment = 16 : i32}, %n: i32 {tile.divisibility = 16 : i32}) attributes {tile.kernel, tile.num_warps = 1 : i32} {
  %r = tile.arange 0, 128 : tensor<128xi32>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<128x!tile.ptr<f32>>
  %p = tile.addptr %px, %r : tensor<128x!tile.ptr<f32>>, tensor<128xi32>
  %ns = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %r, %ns : tensor<128xi32>
  %one = arith.constant dense<1.0> : tensor<128xf32>
  %old = tile.atomic_rmw add %p, %one mask %m : (tensor<128x!tile.ptr<f32>>, tensor<128xf32>, tensor<128xi1>) -> tensor<128xf32>
  return
}
