// convert-scf-to-cf-bottom-up: MLIR's scf-to-cf rewrites applied from the end
// of each block (linear in the block's size; upstream's dialect conversion
// moves the rest of the block at every scf.if).  The output is the same as
// upstream's, block for block.
// RUN: tessera-opt %s --split-input-file --convert-scf-to-cf-bottom-up | FileCheck %s
// RUN: tessera-opt %s --split-input-file --convert-scf-to-cf-bottom-up > %t.ours
// RUN: tessera-opt %s --split-input-file --convert-scf-to-cf > %t.upstream
// RUN: diff %t.upstream %t.ours

// Two ifs in a loop body (a masked load's shape): the loop's header, then
// each if's then/else blocks before its continuation, in program order.
// CHECK-LABEL: func.func @ifs_in_loop
// CHECK: cf.br ^bb1
// CHECK: ^bb1(%{{.*}}: i32, %{{.*}}: f32):
// CHECK: cf.cond_br %{{.*}}, ^bb2, ^bb11
// CHECK: ^bb2:
// CHECK: cf.cond_br %{{.*}}, ^bb3, ^bb4
// CHECK: ^bb3:
// CHECK-NEXT: llvm.load
// CHECK: ^bb5(%{{.*}}: f32):
// CHECK: ^bb6:
// CHECK: cf.cond_br %{{.*}}, ^bb7, ^bb8
// CHECK: ^bb7:
// CHECK-NEXT: llvm.load
// CHECK: ^bb9(%{{.*}}: f32):
// CHECK: ^bb10:
// CHECK: cf.br ^bb1
// CHECK: ^bb11:
// CHECK: return
// CHECK-NOT: scf.
func.func @ifs_in_loop(%p: !llvm.ptr<1>, %n: i32, %m: i32) -> f32 {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %z = arith.constant 0.0 : f32
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (f32) : i32 {
    %in = arith.cmpi slt, %i, %m : i32
    %a = scf.if %in -> (f32) {
      %v = llvm.load %p : !llvm.ptr<1> -> f32
      scf.yield %v : f32
    } else {
      scf.yield %z : f32
    }
    %s = arith.addf %acc, %a : f32
    %b = scf.if %in -> (f32) {
      %v = llvm.load %p : !llvm.ptr<1> -> f32
      scf.yield %v : f32
    } else {
      scf.yield %s : f32
    }
    scf.yield %b : f32
  }
  return %r : f32
}

// -----

// Nested ifs and a while loop.
// CHECK-LABEL: func.func @nested
// CHECK-NOT: scf.
func.func @nested(%c: i1, %d: i1, %x: i32) -> i32 {
  %r = scf.if %c -> (i32) {
    %s = scf.if %d -> (i32) {
      %y = arith.addi %x, %x : i32
      scf.yield %y : i32
    } else {
      scf.yield %x : i32
    }
    scf.yield %s : i32
  } else {
    %w = scf.while (%a = %x) : (i32) -> i32 {
      %lt = arith.cmpi slt, %a, %x : i32
      scf.condition(%lt) %a : i32
    } do {
    ^bb0(%a: i32):
      %a1 = arith.addi %a, %a : i32
      scf.yield %a1 : i32
    }
    scf.yield %w : i32
  }
  return %r : i32
}
