// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared -tile-pipeline=num-stages=3 -tile-warp-specialize | FileCheck %s
// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared "-tile-pipeline=num-stages=3 target=sm_80" "-tile-warp-specialize=target=sm_80" | FileCheck %s --check-prefix=AMPERE
// RUN: tessera-opt %s -split-input-file -tile-assign-layouts -tile-promote-shared -tile-pipeline=num-stages=3 | FileCheck %s --check-prefix=PIPE

// tile-warp-specialize takes what tile-pipeline leaves in a kernel marked
// tile.warp_specialize (sm_90a, TMA loads refilled early): the pipelined
// loops wait on their "full" rings and release slots on "empty" ones, and
// before each a loop marked tile.producer_loop issues the copies.  Each
// case runs both passes; PIPE checks the hand-over itself.

// tile-pipeline.mlir's @tma_early_refill loop in a kernel that asks for
// warp specialization: shared buffers and barrier rings move to the top (every warp sees them
// initialized), with an "empty" ring per load counting one arrival per
// consumer warp.  The consumer region keeps the loop without prologue or
// refills: each warp arrives on the empty ring once the dot that read the
// slot has retired (no `sync`, so no block barrier).  The producer region
// recomputes the loop bound's inputs and runs the same iterations: wait
// until the slot is free (parity (i / 3 & 1) ^ 1), then arm and issue, K's
// ring before V's.  Budgets: 256 threads start with 248 registers each;
// the producer warpgroup gives up all but 24 and the consumers take 256.
// CHECK-LABEL: func.func @tma_warp_specialize
// CHECK: %[[K:.*]] = tile.alloc_shared : tensor<3x64x64xf16
// CHECK: %[[V:.*]] = tile.alloc_shared : tensor<3x64x64xf16
// CHECK: %[[KB:.*]] = tile.alloc_shared : tensor<3x1x1xi64
// CHECK: %[[VB:.*]] = tile.alloc_shared : tensor<3x1x1xi64
// CHECK: %[[KE:.*]] = tile.alloc_shared : tensor<3x1x1xi64
// CHECK: %[[VE:.*]] = tile.alloc_shared : tensor<3x1x1xi64
// CHECK: tile.barrier_init %[[KB]] {count = 1 : i32}
// CHECK: tile.barrier_init %[[VB]] {count = 1 : i32}
// CHECK: tile.barrier_init %[[KE]] {count = 4 : i32}
// CHECK: tile.barrier_init %[[VE]] {count = 4 : i32}
// CHECK: tile.warp_specialize attributes {consumer_regs = 256 : i32, producer_regs = 24 : i32, producer_warps = 4 : i32} {
// CHECK-NOT: tile.tma_load
// CHECK:   scf.for
// CHECK:     %[[SLOT:.*]] = arith.remsi %{{.*}}, %c3
// CHECK:     tile.barrier_wait %[[KB]][%[[SLOT]]]
// CHECK:     %[[S:.*]] = tile.dot {{.*}} {tile.async}
// CHECK:     tile.dot_wait %[[S]] {pending = 0 : i32}
// CHECK-NEXT: tile.barrier_arrive %[[KE]][%[[SLOT]]]
// CHECK:     math.exp2
// CHECK:     tile.barrier_wait %[[VB]][%[[SLOT]]]
// CHECK:     %[[O:.*]] = tile.dot {{.*}} {tile.async}
// CHECK:     tile.dot_wait %[[O]] {pending = 0 : i32}
// CHECK-NEXT: tile.barrier_arrive %[[VE]][%[[SLOT]]]
// CHECK-NOT: tile.tma_load
// CHECK:   tile.store
// CHECK: } {
// CHECK:   scf.for %[[PIV:[^ ]*]] = %{{.*}} to %{{.*}} step
// CHECK:     %[[PSLOT:.*]] = arith.remsi %{{.*}}, %c3
// CHECK:     %[[FREE:.*]] = arith.xori
// CHECK:     tile.barrier_wait %[[KE]][%[[PSLOT]]], %[[FREE]]
// CHECK:     tile.barrier_expect %[[KB]][%[[PSLOT]]] {bytes = 8192 : i32}
// CHECK:     tile.tma_load %{{.*}} into %[[K]][%[[PSLOT]]], %[[KB]]
// CHECK:     tile.barrier_wait %[[VE]][%[[PSLOT]]], %[[FREE]]
// CHECK:     tile.barrier_expect %[[VB]][%[[PSLOT]]] {bytes = 8192 : i32}
// CHECK:     tile.tma_load %{{.*}} into %[[V]][%[[PSLOT]]], %[[VB]]
// CHECK-NOT: tile.store
// CHECK: return
// Between the passes: no prologue and no refills in the pipelined loop,
// whose warps release each slot on its empty ring, and before it the
// producer loop, marked, issuing into the same rings.
// PIPE-LABEL: func.func @tma_warp_specialize
// PIPE-NOT: tile.warp_specialize attributes
// PIPE: scf.for
// PIPE:   tile.barrier_wait
// PIPE:   tile.tma_load
// PIPE: } {tile.producer_loop}
// PIPE-NOT: tile.tma_load
// PIPE: scf.for
// PIPE:   tile.barrier_arrive
// PIPE-NOT: tile.tma_load
// PIPE: return
// On sm_80 (no TMA) the request is ignored: cp.async, no producer.
// AMPERE-LABEL: func.func @tma_warp_specialize
// AMPERE-NOT: tile.warp_specialize attributes
func.func @tma_warp_specialize(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32, tile.warp_specialize} {
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

// Two pipelined loops in a warp-specialized kernel (attention's MASK_SPLIT):
// every ring stays allocated for the whole kernel, so the second loop
// reuses the first one's (same load types) and continues its slot and
// phase count after the first loop's trip count: 6 shared allocations for
// the rings, not 12, in both the consumer and the producer loops.  The Q
// tile loaded before the loops goes through the producer too: a one-slot
// buffer and a "full" barrier (used once: no "empty" one), issued before
// the producer's loops; the consumers wait for it (parity 0) and read it
// in both loops.
// CHECK-LABEL: func.func @tma_warp_specialize_two_loops
// CHECK: %[[Q:[0-9]+]] = tile.alloc_shared : tensor<1x64x64xf16
// CHECK: %[[QFULL:[0-9]+]] = tile.alloc_shared : tensor<1x1x1xi64
// CHECK-COUNT-6: tile.alloc_shared
// CHECK-NOT: tile.alloc_shared
// CHECK: tile.barrier_init %[[QFULL]] {count = 1 : i32}
// CHECK: tile.warp_specialize
// CHECK:   tile.barrier_wait %[[QFULL]][%[[Z:.*]]], %[[Z]] :
// CHECK:   %[[QV:.*]] = tile.shared_slot %[[Q]][%[[Z]]]
// CHECK:   %[[TRIPS:.*]] = arith.maxsi
// CHECK:   %[[BEFORE:.*]] = arith.addi %{{.*}}, %[[TRIPS]]
// CHECK:   scf.for
// CHECK:     tile.barrier_wait %[[KB:[0-9]+]][
// CHECK:   scf.for
// CHECK:     %[[I:.*]] = arith.divsi
// CHECK:     %[[IDX:.*]] = arith.addi %[[I]], %[[BEFORE]]
// CHECK:     %[[SLOT:.*]] = arith.remsi %[[IDX]], %c3
// CHECK:     tile.barrier_wait %[[KB]][%[[SLOT]]]
// CHECK:     tile.dot %[[QV]],
// CHECK: } {
// CHECK:   tile.barrier_expect %[[QFULL]][{{.*}}] {bytes = 8192 : i32}
// CHECK:   tile.tma_load %{{.*}} into %[[Q]][
// CHECK:   scf.for
// CHECK:     tile.tma_load %{{.*}} into %[[K:[0-9]+]][
// CHECK:   scf.for
// CHECK:     tile.tma_load %{{.*}} into %[[K]][
// CHECK: return
func.func @tma_warp_specialize_two_loops(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32, tile.warp_specialize} {
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
  %res2 = scf.for %k = %n to %m step %c64 iter_args(%acc = %res) -> (tensor<64x64xf32>) : i32 {
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
  tile.store %py, %res2 : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}

// -----

// A persistent kernel (warp-specialized): the key-block loop sits in a loop
// over tiles at the top of the kernel.  The rings and their barriers are
// made once, before the tile loop; the tile loop carries the ring count
// (iterations issued for earlier tiles, from 0), which the inner loop's slot
// and phase start from and which advances by the inner loop's trip count.
// The producer runs a tile loop of its own over the same tiles with the
// same count, recomputing the tile body's scalars it needs (the inner
// loop's bound, which depends on the tile).
// CHECK-LABEL: func.func @tma_warp_specialize_persistent
// CHECK-COUNT-6: tile.alloc_shared
// CHECK: tile.warp_specialize
// CHECK:   scf.for %[[T:[^ ]*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[RC:[^ ]*]] = %c0_i32{{.*}}) -> (i32)
// CHECK:     %[[BOUND:.*]] = arith.addi %{{.*}}, %[[T]]
// CHECK:     %[[TRIPS:.*]] = arith.maxsi
// CHECK:     %[[NEXT:.*]] = arith.addi %[[RC]], %[[TRIPS]]
// CHECK:     scf.for %{{.*}} = %c0{{.*}} to %[[BOUND]]
// CHECK:       %[[I:.*]] = arith.divsi
// CHECK:       %[[IDX:.*]] = arith.addi %[[I]], %[[RC]]
// CHECK:       arith.remsi %[[IDX]], %c3
// CHECK:     tile.store
// CHECK:     scf.yield %[[NEXT]] : i32
// CHECK:   } {tile.ring_count}
// CHECK: } {
// CHECK:   scf.for %[[PT:[^ ]*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[PRC:[^ ]*]] = %c0_i32{{.*}}) -> (i32)
// CHECK:     %[[PBOUND:.*]] = arith.addi %{{.*}}, %[[PT]]
// CHECK:     %[[PNEXT:.*]] = arith.addi %[[PRC]]
// CHECK:     scf.for %{{.*}} = %c0{{.*}} to %[[PBOUND]]
// CHECK:       arith.addi %{{.*}}, %[[PRC]]
// CHECK:       tile.tma_load
// CHECK-NOT:   tile.store
// CHECK:     scf.yield %[[PNEXT]] : i32
// CHECK: return
func.func @tma_warp_specialize_persistent(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}, %tiles: i32) attributes {tile.kernel, tile.num_warps = 4 : i32, tile.warp_specialize} {
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
  %pid = tile.program_id 0
  %np = tile.num_programs 0
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  scf.for %t = %pid to %tiles step %np : i32 {
    %bound = arith.addi %n, %t : i32
    %res = scf.for %k = %c0 to %bound step %c64 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
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
    tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  }
  return
}

// -----

// The tile's own load (attention's Q) in a persistent warp-specialized
// kernel: the producer issues it through TMA into a one-slot buffer at the
// start of each tile, after the consumers released the previous tile's copy
// (empty barrier, parity (tile & 1) ^ 1), before the tile's K/V; the
// consumers wait on the full barrier (parity tile & 1), read the buffer and
// release it after the last loop that reads it.
// CHECK-LABEL: func.func @tma_warp_specialize_persistent_q
// CHECK: %[[QB:.*]] = tile.alloc_shared : tensor<1x64x64xf16
// CHECK: %[[QF:.*]] = tile.alloc_shared : tensor<1x1x1xi64
// CHECK: %[[QE:.*]] = tile.alloc_shared : tensor<1x1x1xi64
// CHECK: tile.barrier_init %[[QF]] {count = 1 : i32}
// CHECK: tile.barrier_init %[[QE]] {count = 4 : i32}
// CHECK: tile.warp_specialize
// CHECK:   scf.for
// CHECK:     tile.barrier_wait %[[QF]][%{{.*}}], %{{.*}}
// CHECK:     %[[Q:.*]] = tile.shared_slot %[[QB]]
// CHECK:     scf.for
// CHECK:       tile.dot %[[Q]]
// CHECK:       scf.yield %{{.*}} : tensor
// CHECK-NEXT: }
// CHECK-NEXT: tile.barrier_arrive %[[QE]]
// CHECK: } {
// CHECK:   scf.for
// CHECK:     %[[FREE:.*]] = arith.xori
// CHECK:     tile.barrier_wait %[[QE]][%{{.*}}], %[[FREE]]
// CHECK:     tile.barrier_expect %[[QF]][%{{.*}}] {bytes = 8192 : i32}
// CHECK:     tile.tma_load %{{.*}} into %[[QB]][%{{.*}}], %[[QF]]
// CHECK:     scf.for
// CHECK:       tile.tma_load
// CHECK: return
func.func @tma_warp_specialize_persistent_q(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}, %tiles: i32) attributes {tile.kernel, tile.num_warps = 4 : i32, tile.warp_specialize} {
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
  %msp = tile.splat %m : i32 -> tensor<64x1xi32>
  %rowok = arith.cmpi slt, %rows, %msp : tensor<64x1xi32>
  %rowokb = tile.broadcast %rowok : tensor<64x1xi1> -> tensor<64x64xi1>
  %pid = tile.program_id 0
  %np = tile.num_programs 0
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  scf.for %t = %pid to %tiles step %np : i32 {
    %bound = arith.addi %n, %t : i32
    %q = tile.load %pq : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %res = scf.for %k = %c0 to %bound step %c64 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
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
    tile.store %py, %res : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  }
  return
}

// -----

// A persistent tile's load after its loop (attention OVERLAP's last V) goes
// through the producer as Q does, with barriers of its own: the producer
// issues it after its ring loop (waiting only for the previous tile's
// release, so it never holds back the rings); the consumers wait for it
// before the dot after the loop and release both buffers after that dot
// (Q's last reader now).
// CHECK-LABEL: func.func @tma_warp_specialize_persistent_tail
// CHECK: %[[QB:.*]] = tile.alloc_shared : tensor<1x64x64xf16
// CHECK: %[[QF:.*]] = tile.alloc_shared : tensor<1x1x1xi64
// CHECK: %[[QE:.*]] = tile.alloc_shared : tensor<1x1x1xi64
// CHECK: %[[VB:.*]] = tile.alloc_shared : tensor<1x64x64xf16
// CHECK: %[[VF:.*]] = tile.alloc_shared : tensor<1x1x1xi64
// CHECK: %[[VE:.*]] = tile.alloc_shared : tensor<1x1x1xi64
// CHECK: tile.warp_specialize
// CHECK:   scf.for
// CHECK:     tile.barrier_wait %[[QF]]
// CHECK:     scf.for
// CHECK:       scf.yield %{{.*}} : tensor
// CHECK-NEXT: }
// CHECK:     tile.barrier_wait %[[VF]]
// CHECK:     %[[V:.*]] = tile.shared_slot %[[VB]]
// CHECK:     tile.dot %{{.*}}, %[[V]],
// CHECK-DAG: tile.barrier_arrive %[[VE]]
// CHECK-DAG: tile.barrier_arrive %[[QE]]
// CHECK:     tile.store
// CHECK: } {
// CHECK:   scf.for
// CHECK:     tile.barrier_wait %[[QE]]
// CHECK:     tile.tma_load %{{.*}} into %[[QB]]
// CHECK:     scf.for
// CHECK:       tile.tma_load
// CHECK:     }
// CHECK:     tile.barrier_wait %[[VE]]
// CHECK:     tile.barrier_expect %[[VF]][%{{.*}}] {bytes = 8192 : i32}
// CHECK:     tile.tma_load %{{.*}} into %[[VB]][%{{.*}}], %[[VF]]
// CHECK: return
func.func @tma_warp_specialize_persistent_tail(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}, %tiles: i32) attributes {tile.kernel, tile.num_warps = 4 : i32, tile.warp_specialize} {
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
  %msp = tile.splat %m : i32 -> tensor<64x1xi32>
  %rowok = arith.cmpi slt, %rows, %msp : tensor<64x1xi32>
  %rowokb = tile.broadcast %rowok : tensor<64x1xi1> -> tensor<64x64xi1>
  %pid = tile.program_id 0
  %np = tile.num_programs 0
  %py = tile.splat %y : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  scf.for %t = %pid to %tiles step %np : i32 {
    %bound = arith.addi %n, %t : i32
    %q = tile.load %pq : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
    %res = scf.for %k = %c0 to %bound step %c64 iter_args(%acc = %z) -> (tensor<64x64xf32>) : i32 {
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
    %vt = tile.load %pq mask %rowokb : (tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi1>) -> tensor<64x64xf16>
    %fin = tile.dot %q, %vt, %res : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
    tile.store %py, %fin : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  }
  return
}

// -----

// Must not fire: the loads are no TMA window (the base pointer promises no
// 16-byte alignment), so the loop keeps cp.async and the consumers refill
// it themselves; tile-pipeline marks no producer loop.
// CHECK-LABEL: func.func @ws_no_tma
// CHECK-NOT: tile.warp_specialize attributes
// CHECK: tile.async_load
// CHECK-NOT: tile.tma_load
// CHECK: return
func.func @ws_no_tma(%x: !tile.ptr<f16>, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32, tile.warp_specialize} {
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

// Must not fire: with a producer warpgroup, 32 consumer warps would make
// more threads than a block may have (1024); TMA with early refill as
// without the request, no empty rings.
// CHECK-LABEL: func.func @ws_too_many_warps
// CHECK-NOT: tile.warp_specialize attributes
// CHECK: tile.tma_load
// CHECK-NOT: tile.barrier_arrive
// CHECK: return
func.func @ws_too_many_warps(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 32 : i32, tile.warp_specialize} {
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

// Must not fire: 2 warps are no whole warpgroup (setmaxnreg and wgmma act
// per warpgroup).
// CHECK-LABEL: func.func @ws_partial_warpgroup
// CHECK-NOT: tile.warp_specialize attributes
// CHECK: tile.tma_load
// CHECK-NOT: tile.barrier_arrive
// CHECK: return
func.func @ws_partial_warpgroup(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f32>, %m: i32, %n: i32, %ld: i32 {tile.divisibility = 8 : i32}) attributes {tile.kernel, tile.num_warps = 2 : i32, tile.warp_specialize} {
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
