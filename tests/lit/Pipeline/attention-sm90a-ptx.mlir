// The library attention kernel on sm_90a in the configuration
// jit::attentionConfig picks for d=128 on the H100 (128x64, 8 warps, unmasked
// blocks split off, two blocks per SM): K and V each arrive by TMA on their
// own mbarrier ring (16 KB per copy), `min_blocks=2` reaches PTX as
// .minnctapersm, and with FMA contraction on, the softmax's `s * scale - m`
// is one fma with no separately rounded mul/sub left.
// RUN: rm -rf %t && mkdir -p %t
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel attention_fwd -D HEAD_DIM=128 -D BLOCK_M=128 -D BLOCK_N=64 -D num_warps=8 -D MASK_SPLIT=1 -D min_blocks=2 -D INT_MULTIPLE=16 --out %t --json %t/report.json
// RUN: FileCheck %s --input-file=%t/attention_fwd.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=NOROUND --input-file=%t/attention_fwd.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/report.json

// CHECK: .minnctapersm 2
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 16384;
// CHECK: cp.async.bulk.tensor.4d
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 16384;
// CHECK: cp.async.bulk.tensor.4d
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// CHECK: fma.rn.f32
// CHECK: ex2.approx.ftz.f32

// NOROUND-NOT: mul.rn.f32
// NOROUND-NOT: sub.rn.f32

// PTXAS: "registers": 128
// PTXAS-SAME: "assembled": true
