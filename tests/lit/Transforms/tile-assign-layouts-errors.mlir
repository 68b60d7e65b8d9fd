// RUN: tessera-opt %s -split-input-file -verify-diagnostics -tile-assign-layouts

// expected-error @+1 {{tile.num_warps must be a power of two in [1, 32] (1024 threads per block at most), got 64}}
func.func @too_many_warps() attributes {tile.kernel, tile.num_warps = 64 : i32} {
  return
}

// -----

// expected-error @+1 {{tile.num_warps must be a power of two in [1, 32] (1024 threads per block at most), got 3}}
func.func @warps_not_power_of_two() attributes {tile.kernel, tile.num_warps = 3 : i32} {
  return
}
