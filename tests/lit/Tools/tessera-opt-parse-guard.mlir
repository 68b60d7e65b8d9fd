// tessera-opt refuses, before parsing, a result reference `%name#N` whose N
// no operation declares (N >= 65536): MLIR's parser would first reserve
// N + 1 entries (2^31 here: `LLVM ERROR: out of memory`, an abort).  Found by
// tessera-fuzz (tests/fuzz/corpus/opt/mlir-parser-huge-result-number.txt).
// RUN: not tessera-opt %s 2>&1 | FileCheck %s
// CHECK: tessera-opt-parse-guard.mlir:[[@LINE+9]]:10: error: %res#2147483648 refers to result 2147483648, but no operation declares that many results (the most is %res:2)
// CHECK-NOT: LLVM ERROR

// Small numbers stay MLIR's own diagnostic.
// RUN: sed 's/2147483648/2/' %s | not tessera-opt 2>&1 | FileCheck %s --check-prefix=SMALL
// SMALL: <stdin>:[[@LINE+4]]:10: error: reference to invalid result number

func.func @f(%x: i32) -> i32 {
  %res:2 = arith.addui_extended %x, %x : i32, i1
  return %res#2147483648 : i32
}

// Must not fire: `%name#N` inside a string or a comment is not a reference
// (%res#2147483648 in this comment is skipped too).
// RUN: sed 's/%res#2147483648/%res#0/' %s | tessera-opt --allow-unregistered-dialect | FileCheck %s --check-prefix=VALID
// VALID: arith.addui_extended
// VALID: "test.op"() {s = "%v#4294967296"}
func.func @g() {
  "test.op"() {s = "%v#4294967296"} : () -> ()
  return
}
