// RUN: tessera-opt %s -split-input-file -verify-diagnostics -convert-tile-to-nvvm

// Tiles must have been laid out first.
func.func @no_layout(%x: !tile.ptr<f32>) attributes {tile.kernel} {
  // expected-error @+1 {{result has no #tile.blocked layout; run tile-assign-layouts first}}
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>>
  return
}

// -----

#L = #tile.blocked<vec = 4, threads = 128>
// The scratch a CUDA-core dot needs must fit what one block may use
// (227 KB on sm_90a).
func.func @scratch_too_large(%x: !tile.ptr<f32>) attributes {tile.kernel} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<256x256x!tile.ptr<f32>, #L>
  %a = tile.load %px : (tensor<256x256x!tile.ptr<f32>, #L>) -> tensor<256x256xf32, #L>
  %z = arith.constant dense<0.0> : tensor<256x256xf32, #L>
  // expected-error @+1 {{needs 524288 bytes of shared memory (0 for tiles, 524288 of scratch), more than the 232448 bytes one block may use on sm_90a}}
  %c = tile.dot %a, %a, %z : tensor<256x256xf32, #L>, tensor<256x256xf32, #L> -> tensor<256x256xf32, #L>
  return
}

// -----

// Math without a GPU lowering is a diagnostic, not an instruction-selection abort.
func.func @unsupported_math(%x: !tile.ptr<f32>) attributes {tile.kernel} {
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<128x!tile.ptr<f32>, #tile.blocked<vec = 1, threads = 128>>
  %a = tile.load %px : (tensor<128x!tile.ptr<f32>, #tile.blocked<vec = 1, threads = 128>>) -> tensor<128xf32, #tile.blocked<vec = 1, threads = 128>>
  // expected-error @+1 {{has no GPU lowering in Tessera yet}}
  %s = math.atan %a : tensor<128xf32, #tile.blocked<vec = 1, threads = 128>>
  return
}

// -----

// A layout made for another block size is rejected.
func.func @layout_for_other_block(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  // expected-error @+1 {{result layout #tile.blocked<vec = 1, threads = 64> does not fit}}
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<64x!tile.ptr<f32>, #tile.blocked<vec = 1, threads = 64>>
  return
}

// -----

#A = #tile.blocked<vec = 1, threads = 128>
#B = #tile.blocked<vec = 2, threads = 128>
// Tiles of different layouts cannot meet in an element-wise op.
func.func @mixed_layouts(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 256 : tensor<256xi32, #B>
  %c = tile.convert_layout %r : tensor<256xi32, #B> -> tensor<256xi32, #A>
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<256x!tile.ptr<f32>, #B>
  // expected-error @+1 {{mixes tiles of layouts}}
  %p = tile.addptr %px, %c : tensor<256x!tile.ptr<f32>, #B>, tensor<256xi32, #A>
  return
}

// -----

#B = #tile.blocked<vec = 4, threads = 128>
// A tile of 2^40 elements is refused by its register count (counted in 64
// bits: a 32-bit count wraps to 0 and would lower nothing).
func.func @huge_tile(%x: !tile.ptr<f32>, %s: f32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  // expected-error @+1 {{'tile.splat' op result 'tensor<1099511627776x!tile.ptr<f32>, #tile.blocked<vec = 4, threads = 128>>' would need 8589934592 registers per thread (at most 1024); use smaller tiles or more warps}}
  %px = tile.splat %x : !tile.ptr<f32> -> tensor<1099511627776x!tile.ptr<f32>, #B>
  %v = tile.splat %s : f32 -> tensor<1099511627776xf32, #B>
  tile.store %px, %v : (tensor<1099511627776x!tile.ptr<f32>, #B>, tensor<1099511627776xf32, #B>) -> ()
  return
}
