// RUN: tessera-opt %s -tile-assign-layouts -tile-promote-shared -convert-tile-to-nvvm | FileCheck %s --check-prefix=HOPPER
// RUN: tessera-opt %s -tile-assign-layouts -tile-promote-shared=target=sm_80 -convert-tile-to-nvvm=target=sm_80 | FileCheck %s --check-prefix=AMPERE

// One warpgroup, a 64x64x64 f16 dot with operands loaded straight into
// 128-byte-swizzled shared memory.  Shared memory: 1024 bytes of alignment
// slack and two 8 KB operand tiles; no scratch: the result is stored from
// the mma layout, its pointers recomputed there.
//
// On sm_90a: each thread stores 16-byte vectors at swizzled offsets (an
// XOR of the 16-byte unit), fences the async proxy, and after a barrier the
// warpgroup issues four wgmma.m64n64k16 (K = 64 in steps of 16) with
// shared-memory descriptors, then commits and waits.  A is K-major
// (trans-a 0), B is N-major (trans-b 1).
// HOPPER-LABEL: llvm.func @tensor_core_dot
// HOPPER-SAME: tile.dynamic_shared_bytes = 17408 : i32
// HOPPER: arith.xori
// HOPPER: llvm.store {{.*}} : vector<8xf16>, !llvm.ptr<3>
// HOPPER: "fence.proxy.async.shared::cta;"
// HOPPER: nvvm.barrier0
// HOPPER: "wgmma.fence.sync.aligned;"
// HOPPER-COUNT-4: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {{.*}}p, 1, 1, 0, 1;
// HOPPER: "wgmma.commit_group.sync.aligned;"
// HOPPER: "wgmma.wait_group.sync.aligned 0;"
// HOPPER-NOT: mma.sync
//
// On sm_80 (must not use wgmma): mma.sync.m16n8k16, 4 K steps x 8 pieces
// of 16x8 per warp, no async-proxy fence.
// AMPERE-LABEL: llvm.func @tensor_core_dot
// AMPERE-NOT: fence.proxy.async
// AMPERE-NOT: wgmma.mma_async
// AMPERE-COUNT-32: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// AMPERE-NOT: wgmma.mma_async
func.func @tensor_core_dot(%x: !tile.ptr<f16> {tile.alignment = 16 : i32}, %y: !tile.ptr<f16> {tile.alignment = 16 : i32}, %o: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.arange 0, 64 : tensor<64xi32>
  %rc = tile.expand_dims %r {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %c64 = arith.constant dense<64> : tensor<64x1xi32>
  %rows = arith.muli %rc, %c64 : tensor<64x1xi32>
  %rr = tile.expand_dims %r {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %rb = tile.broadcast %rows : tensor<64x1xi32> -> tensor<64x64xi32>
  %cb = tile.broadcast %rr : tensor<1x64xi32> -> tensor<64x64xi32>
  %off = arith.addi %rb, %cb : tensor<64x64xi32>
  %px = tile.splat %x : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %py = tile.splat %y : !tile.ptr<f16> -> tensor<64x64x!tile.ptr<f16>>
  %pa = tile.addptr %px, %off : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
  %pb = tile.addptr %py, %off : tensor<64x64x!tile.ptr<f16>>, tensor<64x64xi32>
  %a = tile.load %pa : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %b = tile.load %pb : (tensor<64x64x!tile.ptr<f16>>) -> tensor<64x64xf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %d = tile.dot %a, %b, %z : tensor<64x64xf16>, tensor<64x64xf16> -> tensor<64x64xf32>
  %po = tile.splat %o : !tile.ptr<f32> -> tensor<64x64x!tile.ptr<f32>>
  %pd = tile.addptr %po, %off : tensor<64x64x!tile.ptr<f32>>, tensor<64x64xi32>
  tile.store %pd, %d : (tensor<64x64x!tile.ptr<f32>>, tensor<64x64xf32>) -> ()
  return
}
