// The library matmul on sm_90a, in its default configuration and in the one
// jit::matmul picks for large problems (128x256x64, 4 stages): A and B tiles
// arrive by TMA (tensor maps as 64-byte-aligned grid-constant parameters,
// an mbarrier per stage), the products run on wgmma, no cp.async is left,
// and ptxas assembles the kernel without spilling.
// RUN: rm -rf %t && mkdir -p %t
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel matmul -D INT_MULTIPLE=16 --out %t/default --json %t/default.json
// RUN: FileCheck %s --input-file=%t/default/matmul.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/default.json
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel matmul -D INT_MULTIPLE=16 -D BLOCK_N=256 -D num_stages=4 --out %t/large --json %t/large.json
// RUN: FileCheck %s --check-prefix=LARGE --input-file=%t/large/matmul.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/large.json

// CHECK: .param .align 64 .b8 matmul_param_12[128]
// CHECK: .param .align 64 .b8 matmul_param_13[128]
// CHECK-NOT: cp.async.{{ca|cg}}
// CHECK: mbarrier.init.shared::cta.b64
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 32768;
// CHECK: cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// CHECK-NOT: cp.async.{{ca|cg}}

// LARGE: mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r{{[0-9]+}}], 49152;
// LARGE: cp.async.bulk.tensor.2d
// LARGE: wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16

// PTXAS: "spill_bytes": 0, "wgmma_fixups": 0, "assembled": true
