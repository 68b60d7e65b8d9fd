// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared -tile-pipeline=num-stages=3 | FileCheck %s
// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared "-tile-pipeline=num-stages=3 target=sm_80" | FileCheck %s --check-prefix=AMPERE

// A K loop loading both dot operands into shared memory, 3 stages: two
// 3-slot buffers, the loads of iterations 0 and 1 issued before the loop
// (masked by `iv < ub`), and in the body: wait until only the 2 copies of
// the newest iteration are in flight, views of slot (i mod 3), the dot (on
// sm_90a asynchronous: marked tile.async, one wgmma group left in flight by
// a synchronizing tile.dot_wait before the slot it read is refilled), then
// the copies for iteration i + 2.  After the loop: drain both.  Before the
// prologue every warp waits for its dots and meets the others (dot_wait
// sync): the buffers may take memory that other warps' dots before the
// loop still read (on every target: ldmatrix reads are per warp too).
// CHECK-LABEL: func.func @k_loop
// CHECK-SAME: tile.shared_bytes = 49152
// CHECK: %[[A:.*]] = tile.alloc_shared : tensor<3x64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 0>>
// CHECK: %[[B:.*]] = tile.alloc_shared : tensor<3x64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 24576>>
// CHECK-NEXT: tile.dot_wait {pending = 0 : i32, sync}
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
// AMPERE: tile.dot_wait {pending = 0 : i32, sync}
// AMPERE: tile.async_load
// AMPERE: scf.for
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

// -----

// A block-sparse loop: iteration i reads block index idx[i] and loads that
// block.  The index load is marked speculative (the list is padded), so the
// refills read idx[i + 2] ahead and the block loads are pipelined.
// CHECK-LABEL: func.func @block_sparse_speculative
// CHECK: tile.alloc_shared
// CHECK-COUNT-2: tile.async_load
// CHECK: scf.for
// CHECK:   tile.load %{{.*}} {speculative}
// CHECK:   tile.async_load
// AMPERE-LABEL: func.func @block_sparse_speculative
// AMPERE: tile.async_load
func.func @block_sparse_speculative(%x: !tile.ptr<f16>, %idx: !tile.ptr<i32>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %res = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %pi = tile.addptr %idx, %i : !tile.ptr<i32>, i32
    %blk = tile.load %pi {speculative} : (!tile.ptr<i32>) -> i32
    %k = arith.muli %blk, %c64 : i32
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %kr = tile.expand_dims %kk {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %kb = tile.broadcast %kr : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %px, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %a, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not fire: the same loop with an ordinary index load, which may not
// run for iterations past the loop's end.
// CHECK-LABEL: func.func @block_sparse_plain_index
// CHECK-NOT: tile.async_load
// CHECK: tile.load
// AMPERE-LABEL: func.func @block_sparse_plain_index
// AMPERE-NOT: tile.async_load
func.func @block_sparse_plain_index(%x: !tile.ptr<f16>, %idx: !tile.ptr<i32>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %res = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %pi = tile.addptr %idx, %i : !tile.ptr<i32>, i32
    %blk = tile.load %pi : (!tile.ptr<i32>) -> i32
    %k = arith.muli %blk, %c64 : i32
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %kr = tile.expand_dims %kk {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %kb = tile.broadcast %kr : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %px, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %a, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Two loops flattened into one (attention backward's loop over (query head,
// query block) pairs): the address divides the induction variable by a trip
// count clamped to at least 1, so the division may run for an iteration
// past the end and the load is pipelined.
// CHECK-LABEL: func.func @flattened_clamped_divisor
// CHECK: tile.alloc_shared
// CHECK: tile.async_load
// CHECK: scf.for
// CHECK:   arith.divsi
// CHECK:   arith.remsi
// CHECK:   tile.async_load
// AMPERE-LABEL: func.func @flattened_clamped_divisor
// AMPERE: tile.async_load
func.func @flattened_clamped_divisor(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %n: i32, %inner: i32, %ld: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %div = arith.maxsi %inner, %c1 : i32
  %res = scf.for %t = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %outer = arith.divsi %t, %div : i32
    %blk = arith.remsi %t, %div : i32
    %row0 = arith.muli %blk, %c64 : i32
    %head = arith.muli %outer, %ld : i32
    %base = tile.addptr %x, %head : !tile.ptr<f16>, i32
    %px = tile.splat %base : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
    %rs = tile.splat %row0 : i32 -> tensor<64xi32>
    %rr = arith.addi %rs, %r : tensor<64xi32>
    %re = tile.expand_dims %rr {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %rb = tile.broadcast %re : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %px, %rb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %a, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not fire: the divisor is an argument that may be 0, and a refill
// computes the address of an iteration the loop may never reach.
// CHECK-LABEL: func.func @unclamped_divisor
// CHECK-NOT: tile.async_load
// CHECK: tile.load
// AMPERE-LABEL: func.func @unclamped_divisor
// AMPERE-NOT: tile.async_load
func.func @unclamped_divisor(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %n: i32, %inner: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %res = scf.for %t = %c0 to %n step %c1 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %blk = arith.divsi %t, %inner : i32
    %row0 = arith.muli %blk, %c64 : i32
    %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
    %rs = tile.splat %row0 : i32 -> tensor<64xi32>
    %rr = arith.addi %rs, %r : tensor<64xi32>
    %re = tile.expand_dims %rr {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %rb = tile.broadcast %re : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %px, %rb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %a, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// On sm_90a a load whose pointers are a 2-D window of a strided tensor the
// host can describe (base: an aligned pointer argument; row stride: an
// argument promised to be a multiple of 8 elements; column stride 1; masks
// comparing the address's index vectors with i32 arguments) goes through
// TMA: a tensor-map argument per load, named by what the launcher builds it
// from (base #0, extents #3 (K, innermost) and #2 (M), stride #4, a box of
// 64x64 elements, 128-byte swizzle); a ring of 3 mbarriers; the prologue
// and the body arm the slot's barrier and issue the copies from one
// thread, only for iterations before the end; the body waits on the
// slot's barrier (phase = (i / 3) mod 2), before the slots' first read,
// instead of cp.async groups, and nothing is drained after the loop.  The
// accumulating dot is still in flight at the end of an iteration, so the
// refill there is of the slot the previous iteration read (one ring for
// both loads).  On sm_80: cp.async as before.
// CHECK-LABEL: func.func @tma_window
// CHECK-SAME: %{{.*}}: !tile.tensor_map {tile.tensor_map = {base = 0 : i64, box = array<i64: 64, 64>, dims = array<i64: 3, 2>, strides = array<i64: 4>, swizzle = 128 : i64}}
// CHECK: %[[A:.*]] = tile.alloc_shared : tensor<3x64x64xf16
// CHECK: tile.alloc_shared : tensor<3x64x64xf16
// CHECK: %[[BARS:.*]] = tile.alloc_shared : tensor<3x1x1xi64
// CHECK: tile.barrier_init %[[BARS]] {count = 1 : i32}
// CHECK: scf.if
// CHECK-NEXT: tile.barrier_expect %[[BARS]][%{{.*}}] {bytes = 16384 : i32}
// CHECK: tile.tma_load %{{.*}}[%{{.*}}, %{{.*}}] into %[[A]][%{{.*}}], %[[BARS]]
// CHECK: tile.tma_load
// CHECK: scf.for
// CHECK:   tile.shared_slot %[[A]]
// CHECK:   tile.barrier_wait %[[BARS]]
// CHECK:   tile.dot {{.*}} {tile.async}
// CHECK:   tile.dot_wait {pending = 1 : i32, sync}
// CHECK:   scf.if
// CHECK:     tile.barrier_expect
// CHECK:     tile.tma_load
// CHECK-NOT: tile.async_load
// CHECK-NOT: tile.async_wait
// CHECK: tile.dot_wait %{{.*}} {pending = 0 : i32}
// AMPERE-LABEL: func.func @tma_window
// AMPERE-NOT: tile.tensor_map
// AMPERE-NOT: tile.tma_load
// AMPERE: tile.async_load
func.func @tma_window(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c64 = arith.constant 64 : i32
  %pid = tile.program_id 0
  %m0 = arith.muli %pid, %c64 : i32
  %ms = tile.splat %m0 : i32 -> tensor<64xi32>
  %rm = arith.addi %ms, %r : tensor<64xi32>
  %rows = tile.expand_dims %rm {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %lds = tile.splat %ld : i32 -> tensor<64x1xi32>
  %roff = arith.muli %rows, %lds : tensor<64x1xi32>
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x1x!tile.ptr<f16>>
  %prow = tile.addptr %px, %roff : tensor<64x1x!tile.ptr<f16>>, tensor<64x1xi32>
  %prowb = tile.broadcast %prow : tensor<64x1x!tile.ptr<f16>> -> tensor<64x64x!tile.ptr<f16>>
  %msp = tile.splat %m : i32 -> tensor<64x1xi32>
  %rowok = arith.cmpi slt, %rows, %msp : tensor<64x1xi32>
  %rowokb = tile.broadcast %rowok : tensor<64x1xi1> -> tensor<64x64xi1>
  %res = scf.for %k = %c0 to %n step %c64 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %kr = tile.expand_dims %kk {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %kb = tile.broadcast %kr : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %prowb, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %nsp = tile.splat %n : i32 -> tensor<1x64xi32>
    %colok = arith.cmpi slt, %kr, %nsp : tensor<1x64xi32>
    %colokb = tile.broadcast %colok : tensor<1x64xi1> -> tensor<64x64xi1>
    %mask = arith.andi %rowokb, %colokb : tensor<64x64xi1>
    %a = tile.load %p mask %mask : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi1>) -> tensor<64x64xf16>
    %b = tile.load %p mask %mask : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi1>) -> tensor<64x64xf16>
    %d = tile.dot %a, %b, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not fire (TMA): the row stride may not be a multiple of 16 bytes,
// which a tensor map cannot describe; and the column mask compares with a
// computed bound, which the host does not know.  Both stay on cp.async.
// CHECK-LABEL: func.func @no_tma
// CHECK-NOT: tile.tensor_map
// CHECK-NOT: tile.tma_load
// CHECK: tile.async_load
// AMPERE-LABEL: func.func @no_tma
func.func @no_tma(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %n: i32, %ld: i32 {tile.divisibility = 4 : i32}, %ld2: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %rows = tile.expand_dims %r {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %lds = tile.splat %ld : i32 -> tensor<64x1xi32>
  %roff = arith.muli %rows, %lds : tensor<64x1xi32>
  %lds2 = tile.splat %ld2 : i32 -> tensor<64x1xi32>
  %roff2 = arith.muli %rows, %lds2 : tensor<64x1xi32>
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x1x!tile.ptr<f16>>
  %prow = tile.addptr %px, %roff : tensor<64x1x!tile.ptr<f16>>, tensor<64x1xi32>
  %prowb = tile.broadcast %prow : tensor<64x1x!tile.ptr<f16>> -> tensor<64x64x!tile.ptr<f16>>
  %prow2 = tile.addptr %px, %roff2 : tensor<64x1x!tile.ptr<f16>>, tensor<64x1xi32>
  %prowb2 = tile.broadcast %prow2 : tensor<64x1x!tile.ptr<f16>> -> tensor<64x64x!tile.ptr<f16>>
  %n1 = arith.addi %n, %c1 : i32
  %res = scf.for %k = %c0 to %n step %c64 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %kr = tile.expand_dims %kk {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %kb = tile.broadcast %kr : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %prowb, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %p2 = tile.addptr %prowb2, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %nsp = tile.splat %n1 : i32 -> tensor<1x64xi32>
    %colok = arith.cmpi slt, %kr, %nsp : tensor<1x64xi32>
    %colokb = tile.broadcast %colok : tensor<1x64xi1> -> tensor<64x64xi1>
    %b = tile.load %p2 mask %colokb : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi1>) -> tensor<64x64xf16>
    %d = tile.dot %a, %b, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// A base pointer advanced by scalar `x * stride` terms (attention's batch
// and head offsets) gives the map one more dimension per term, unbounded,
// box extent 1, coordinate x; here rank 3: columns (unbounded: no column
// mask), rows (extent #3), and the head (stride #5, coordinate %h).
// CHECK-LABEL: func.func @tma_batched
// CHECK-SAME: !tile.tensor_map {tile.tensor_map = {base = 0 : i64, box = array<i64: 64, 64, 1>, dims = array<i64: -1, 3, -1>, strides = array<i64: 4, 5>, swizzle = 128 : i64}}
// CHECK: %[[H:.*]] = tile.program_id 1
// CHECK: tile.tma_load %{{.*}}[%{{.*}}, %{{.*}}, %[[H]]]
// AMPERE-LABEL: func.func @tma_batched
// AMPERE-NOT: tile.tma_load
func.func @tma_batched(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %unused: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}, %sh: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c64 = arith.constant 64 : i32
  %h = tile.program_id 1
  %hoff = arith.muli %h, %sh : i32
  %xh = tile.addptr %x, %hoff : !tile.ptr<f16>, i32
  %cols = tile.expand_dims %r {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %colsb = tile.broadcast %cols : tensor<1x64xi32> -> tensor<64x64xi32>
  %res = scf.for %k = %c0 to %n step %c64 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %rows = tile.expand_dims %kk {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
    %lds = tile.splat %ld : i32 -> tensor<64x1xi32>
    %roff = arith.muli %rows, %lds : tensor<64x1xi32>
    %px = tile.splat %xh : !tile.ptr<f16> -> tensor<64x1x!tile.ptr<f16>>
    %prow = tile.addptr %px, %roff : tensor<64x1x!tile.ptr<f16>>, tensor<64x1xi32>
    %prowb = tile.broadcast %prow : tensor<64x1x!tile.ptr<f16>> -> tensor<64x64x!tile.ptr<f16>>
    %p = tile.addptr %prowb, %colsb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %nsp = tile.splat %n : i32 -> tensor<64x1xi32>
    %ok = arith.cmpi slt, %rows, %nsp : tensor<64x1xi32>
    %okb = tile.broadcast %ok : tensor<64x1xi1> -> tensor<64x64xi1>
    %a = tile.load %p mask %okb : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi1>) -> tensor<64x64xf16>
    %b = tile.load %p mask %okb : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi1>) -> tensor<64x64xf16>
    %d = tile.dot %a, %b, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %d : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Two dots in an iteration, the second issued before the first's result is
// used (attention's Q·K^T_j, then P_{j-1}·V_{j-1}, then the softmax of S_j):
// on sm_90a both run asynchronously; the first is waited for at its first
// use leaving the second in flight (pending 1), the second at its first
// use (pending 0).  On sm_80: no async dots.
// CHECK-LABEL: func.func @overlap_dots
// CHECK: scf.for
// CHECK:   %[[S:.*]] = tile.dot {{.*}} {tile.async}
// CHECK:   %[[O:.*]] = tile.dot {{.*}} {tile.async}
// CHECK:   %[[SW:.*]] = tile.dot_wait %[[S]] {pending = 1 : i32}
// CHECK:   math.exp2 %[[SW]]
// CHECK:   %[[OW:.*]] = tile.dot_wait %[[O]] {pending = 0 : i32}
// CHECK:   arith.mulf %[[OW]]
// AMPERE-LABEL: func.func @overlap_dots
// AMPERE: scf.for
// AMPERE-NOT: tile.async}
// AMPERE-NOT: tile.dot_wait
func.func @overlap_dots(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
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
    %s = tile.dot %a, %b, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %o = tile.dot %a, %b, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %e = math.exp2 %s : tensor<64x64xf32>
    %next = arith.mulf %o, %e : tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Early refill (TMA, no accumulate-only dot: attention's Q·K^T, softmax,
// P·V): each load gets its own ring of mbarriers, the prologue issues
// iterations 0..2 (all 3 slots), each slot is waited for just before its
// first read, and refilled with iteration i + 3 as soon as the dot reading
// it has been waited for in every warp (`sync`): K's slot while the
// softmax still has to run, V's at the end of the iteration.
// CHECK-LABEL: func.func @tma_early_refill
// CHECK: %[[K:.*]] = tile.alloc_shared : tensor<3x64x64xf16
// CHECK: %[[V:.*]] = tile.alloc_shared : tensor<3x64x64xf16
// CHECK: %[[KB:.*]] = tile.alloc_shared : tensor<3x1x1xi64
// CHECK: tile.barrier_init %[[KB]]
// CHECK: %[[VB:.*]] = tile.alloc_shared : tensor<3x1x1xi64
// CHECK: tile.barrier_init %[[VB]]
// CHECK: tile.barrier_expect %[[KB]][%{{.*}}] {bytes = 8192 : i32}
// CHECK: tile.tma_load %{{.*}} into %[[K]][%{{.*}}], %[[KB]]
// CHECK: tile.barrier_expect %[[VB]][%{{.*}}] {bytes = 8192 : i32}
// CHECK: tile.tma_load %{{.*}} into %[[V]][%{{.*}}], %[[VB]]
// CHECK: tile.tma_load %{{.*}} into %[[K]]
// CHECK: tile.tma_load %{{.*}} into %[[V]]
// CHECK: tile.tma_load %{{.*}} into %[[K]]
// CHECK: tile.tma_load %{{.*}} into %[[V]]
// CHECK: scf.for %[[IV:[^ ]*]] =
// CHECK:   %[[SLOT:.*]] = arith.remsi %{{.*}}, %c3
// CHECK:   tile.barrier_wait %[[KB]][%[[SLOT]]]
// CHECK:   %[[S:.*]] = tile.dot {{.*}} {tile.async}
// CHECK:   tile.dot_wait %[[S]] {pending = 0 : i32, sync}
// CHECK:   %[[AHEAD:.*]] = arith.addi %[[IV]],
// CHECK:   scf.if
// CHECK:     tile.barrier_expect %[[KB]][%[[SLOT]]]
// CHECK:     tile.tma_load %{{.*}} into %[[K]][%[[SLOT]]], %[[KB]]
// CHECK:   math.exp2
// CHECK:   tile.barrier_wait %[[VB]][%[[SLOT]]]
// CHECK:   %[[O:.*]] = tile.dot {{.*}} {tile.async}
// CHECK:   tile.dot_wait %[[O]] {pending = 0 : i32, sync}
// CHECK:   scf.if
// CHECK:     tile.barrier_expect %[[VB]][%[[SLOT]]]
// CHECK:     tile.tma_load %{{.*}} into %[[V]][%[[SLOT]]], %[[VB]]
// CHECK:   scf.yield
// AMPERE-LABEL: func.func @tma_early_refill
// AMPERE-NOT: tile.tma_load
func.func @tma_early_refill(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
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

// -----

// A dot whose B is computed in the body goes through a shared tile of its
// own; both dots run asynchronously and are waited for before the yield.
// The first one's tile must stay allocated until that wait (wgmma reads it
// until it retires), so the second computed B gets other bytes, not the
// first one's (their live ranges would end and start between the dots).
// CHECK-LABEL: func.func @computed_b
// CHECK: scf.for
// CHECK:   tile.convert_layout %{{.*}} -> tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 49152>>
// CHECK:   tile.dot {{.*}} {tile.async}
// CHECK:   tile.convert_layout %{{.*}} -> tensor<64x64xf16, #tile.shared<contig = 1, swizzle = 128, offset = 57344>>
// CHECK:   tile.dot {{.*}} {tile.async}
// CHECK:   tile.dot_wait %{{.*}}, %{{.*}} {pending = 0 : i32}
// AMPERE-LABEL: func.func @computed_b
func.func @computed_b(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c64 = arith.constant 64 : i32
  %res:2 = scf.for %k = %c0 to %n step %c64 iter_args(%acc1 = %z, %acc2 = %z) -> (tensor<64x64xf32>, tensor<64x64xf32>) : i32 {
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %kr = tile.expand_dims %kk {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %kb = tile.broadcast %kr : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %px, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %b = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %c = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %e = math.exp2 %c : tensor<64x64xf16>
    %o1 = tile.dot %a, %e, %acc1 : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %e2 = math.exp2 %e : tensor<64x64xf16>
    %o2 = tile.dot %b, %e2, %acc2 : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %o1, %o2 : tensor<64x64xf32>, tensor<64x64xf32>
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res#0 : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  tile.store %py, %res#1 : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// Must not stay in flight across iterations (the accumulate-only schedule,
// `dot_wait {pending = 1, sync}` at the end): the dot's B is loaded by the
// body itself (its address is carried by the loop, so it is not
// pipelined), and the next iteration rewrites that tile while the dot
// could still be reading it.  It is waited for within its iteration.
// A (a slot of the ring) is pipelined.
// CHECK-LABEL: func.func @b_loaded_in_body
// CHECK: tile.async_load
// CHECK: scf.for
// CHECK:   tile.dot {{.*}} {tile.async}
// CHECK:   tile.dot_wait %{{.*}} {pending = 0 : i32}
// CHECK-NOT: pending = 1
// CHECK:   scf.yield
// AMPERE-LABEL: func.func @b_loaded_in_body
func.func @b_loaded_in_body(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %c0 = arith.constant 0 : i32
  %c64 = arith.constant 64 : i32
  %res:2 = scf.for %k = %c0 to %n step %c64 iter_args(%acc = %z, %off = %c0) -> (tensor<64x64xf32>, i32) : i32 {
    %ks = tile.splat %k : i32 -> tensor<64xi32>
    %kk = arith.addi %ks, %r : tensor<64xi32>
    %kr = tile.expand_dims %kk {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %kb = tile.broadcast %kr : tensor<1x64xi32> -> tensor<64x64xi32>
    %p = tile.addptr %px, %kb : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %os = tile.splat %off : i32 -> tensor<64x64xi32>
    %q = tile.addptr %p, %os : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
    %a = tile.load %p : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %b = tile.load %q : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %d = tile.dot %a, %b, %acc : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    %o2 = arith.addi %off, %c64 : i32
    scf.yield %d, %o2 : tensor<64x64xf32>, i32
  }
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  tile.store %py, %res#0 : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}
