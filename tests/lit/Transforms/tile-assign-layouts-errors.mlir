// RUN: tessera-opt %s -split-input-file -verify-diagnostics -tile-assign-layouts

// Layouts split tiles by powers of two; another shape is refused where it
// is made.  (A tile.num_warps out of range never reaches the pass: the
// dialect's attribute verifier refuses it, see Dialect/Tile/invalid.mlir.)
func.func @odd_shape(%x: tensor<3xf32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  // expected-error @+1 {{'arith.addf' op tile shape 'tensor<3xf32>' is not made of powers of two}}
  %y = arith.addf %x, %x : tensor<3xf32>
  return
}
