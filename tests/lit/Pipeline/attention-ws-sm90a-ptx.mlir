// The library attention kernel on sm_90a with a producer warpgroup
// (warp_specialize=1; d=128, 128x64, 8 consumer warps): the block has 12
// warps; the producer warpgroup gives up registers (setmaxnreg.dec 24) and
// the consumers take them (setmaxnreg.inc 240: 168 at launch x 384 threads
// = 24 x 128 + 240 x 256), so ptxas fits the consumers without spills.
// Only the producer issues TMA copies: Q first (two 64-column boxes, one
// mbarrier armed for its 32 KB; the consumers' first wait), then the K/V
// rings; consumers release a ring slot with a per-warp mbarrier.arrive.
// RUN: rm -rf %t && mkdir -p %t
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel attention_fwd -D HEAD_DIM=128 -D BLOCK_M=128 -D BLOCK_N=64 -D num_warps=8 -D MASK_SPLIT=1 -D warp_specialize=1 -D INT_MULTIPLE=16 --out %t --json %t/report.json
// RUN: FileCheck %s --input-file=%t/attention_fwd.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/report.json
// With the OVERLAP schedule (Q·K^T of block j and P·V of block j-1 issued
// back to back) the two consumer warpgroups take turns issuing them
// (ping-pong): warpgroup 0 starts with the turn (bar.arrive 2), each waits
// for its turn (bar.sync 2 + g) and hands it on after the second dot; the
// first block's Q·K^T before the loop and the last P·V after it take turns
// too, so the warpgroups stay half a step apart through the whole tile.
// The tiles this schedule reads outside its loops -- Q, the first block's
// K, the last block's V -- come from the producer too (each in a one-slot
// buffer, issued before the rings): the consumers never load a tile
// themselves, so they never meet at named barrier 1.
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel attention_fwd -D HEAD_DIM=128 -D BLOCK_M=128 -D BLOCK_N=64 -D num_warps=8 -D OVERLAP=1 -D warp_specialize=1 -D INT_MULTIPLE=16 --out %t/pp --json %t/pp.json
// RUN: FileCheck %s --check-prefix=PINGPONG --input-file=%t/pp/attention_fwd.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/pp.json
// d=256 with OVERLAP: the one-slot buffers for Q (64 KB), the first K and
// the last V do not fit beside the rings, so tile-pipeline keeps the
// consumers' own loads (without reporting the trial's overflow): they meet
// at named barrier 1 outside their turns, and the producer issues only the
// 32 KB ring copies.
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel attention_fwd -D HEAD_DIM=256 -D BLOCK_M=128 -D BLOCK_N=64 -D num_warps=8 -D OVERLAP=1 -D MASK_SPLIT=1 -D warp_specialize=1 -D INT_MULTIPLE=16 --out %t/d256 --json %t/d256.json 2>&1 | FileCheck %s --check-prefix=QUIET
// RUN: FileCheck %s --check-prefix=FALLBACK --input-file=%t/d256/attention_fwd.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/d256.json

// CHECK: .maxntid 384, 1, 1
// CHECK-NEXT: .minnctapersm 1
// CHECK: mbarrier.init.shared::cta.b64 [%r{{[0-9]+}}], 8;
// CHECK: bar.sync 0;
// CHECK: setmaxnreg.inc.sync.aligned.u32 240;
// CHECK-NOT: cp.async.bulk.tensor
// CHECK: mbarrier.try_wait.parity.shared::cta.b64 done, [%[[QFULL:r[0-9]+]]]
// CHECK-NOT: cp.async.bulk.tensor
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// CHECK-NOT: cp.async.bulk.tensor
// CHECK: mbarrier.arrive.shared::cta.b64 _, [%r{{[0-9]+}}];
// CHECK-NOT: cp.async.bulk.tensor
// CHECK: setmaxnreg.dec.sync.aligned.u32 24;
// CHECK-NOT: mbarrier.try_wait
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%[[QFULL]]], 32768;
// CHECK: cp.async.bulk.tensor.4d
// CHECK: cp.async.bulk.tensor.4d
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 16384;
// CHECK: cp.async.bulk.tensor.4d

// PINGPONG: setmaxnreg.inc.sync.aligned.u32 240;
// PINGPONG: bar.arrive 2, 256;
// PINGPONG-NOT: bar.sync 1, 256;
// PINGPONG: bar.sync %r{{[0-9]+}}, 256;
// PINGPONG: wgmma.commit_group.sync.aligned;
// PINGPONG-NEXT: // end inline asm
// PINGPONG-NEXT: // begin inline asm
// PINGPONG-NEXT: wgmma.wait_group.sync.aligned 0;
// PINGPONG: bar.arrive %r{{[0-9]+}}, 256;
// PINGPONG: bar.sync %r{{[0-9]+}}, 256;
// PINGPONG: wgmma.commit_group.sync.aligned;
// PINGPONG-NOT: wgmma.wait_group
// PINGPONG: wgmma.commit_group.sync.aligned;
// PINGPONG-NOT: wgmma.wait_group
// PINGPONG: bar.arrive %r{{[0-9]+}}, 256;
// PINGPONG: wgmma.wait_group.sync.aligned 1;
// The last block's P·V, after the loops, takes its turn as well.
// PINGPONG: bar.sync %r{{[0-9]+}}, 256;
// PINGPONG: wgmma.commit_group.sync.aligned;
// PINGPONG-NOT: bar.sync
// PINGPONG: wgmma.wait_group.sync.aligned 0;
// PINGPONG: bar.arrive %r{{[0-9]+}}, 256;
// PINGPONG-NOT: bar.sync 1, 256;
// PINGPONG: setmaxnreg.dec.sync.aligned.u32 24;
// PINGPONG-NOT: mbarrier.try_wait
// PINGPONG: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 32768;
// PINGPONG-NOT: mbarrier.try_wait
// PINGPONG: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 16384;
// PINGPONG-NOT: mbarrier.try_wait
// PINGPONG: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 16384;
// PINGPONG: mbarrier.try_wait

// PTXAS: "registers": 168
// PTXAS-SAME: "spill_bytes": 0
// PTXAS-SAME: "wgmma_fixups": 0
// PTXAS-SAME: "assembled": true

// QUIET-NOT: error
// QUIET-NOT: shared memory
// QUIET: attention_fwd  sm_90a

// FALLBACK: setmaxnreg.inc.sync.aligned.u32 240;
// FALLBACK: bar.arrive 2, 256;
// FALLBACK: bar.sync 1, 256;
// FALLBACK-NOT: bar.arrive %r
// FALLBACK: bar.sync %r{{[0-9]+}}, 256;
// FALLBACK: setmaxnreg.dec.sync.aligned.u32 24;
// FALLBACK-NOT: expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 65536;
// FALLBACK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 32768;
// FALLBACK-NOT: expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 65536;
