// RUN: tessera-opt %s -split-input-file -verify-diagnostics -tile-expand-fp8

// Arithmetic on FP8 values has no lowering: an error at the op.
func.func @add_fp8(%a: f8E4M3FN) -> f8E4M3FN attributes {tile.kernel} {
  // expected-error @+1 {{'arith.addf' op computes on FP8; convert to f32 first}}
  %s = arith.addf %a, %a : f8E4M3FN
  return %s : f8E4M3FN
}

// -----

// FP8 converts to and from f32 only (the DSL goes through f32).
func.func @fp8_to_f16(%a: f8E4M3FN) -> f16 attributes {tile.kernel} {
  // expected-error @+1 {{'arith.extf' op converts FP8 only to and from f32 (the DSL goes through f32)}}
  %s = arith.extf %a : f8E4M3FN to f16
  return %s : f16
}
