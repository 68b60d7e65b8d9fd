// The attention backward's dK/dV kernel on sm_90a at d = 64 (64x64 tiles,
// one warpgroup), as jit::attentionBackward builds it for strides that are
// multiples of 16.  Three accumulators live across the query-block loop
// (dK, dV and the scores' dS^T / P^T in flight) and ptxas assembles it
// without spilling; the four products per iteration are wgmma (P^T dO and
// dS^T Q take their A operand from registers).  With ATOMIC_DQ=1 (the
// non-deterministic schedule) a fifth wgmma computes dQ's share, which is
// added to the f32 accumulator with vector `red`s (two columns per
// instruction) and no scalar atomics, still without spills.
// RUN: rm -rf %t && mkdir -p %t
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel attention_bwd_dkdv -D INT_MULTIPLE=16 --out %t/det --json %t/det.json
// RUN: FileCheck %s --check-prefix=DET --input-file=%t/det/attention_bwd_dkdv.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/det.json
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel attention_bwd_dkdv -D INT_MULTIPLE=16 -D ATOMIC_DQ=1 --out %t/atomic --json %t/atomic.json
// RUN: FileCheck %s --check-prefix=ATOMIC --input-file=%t/atomic/attention_bwd_dkdv.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/atomic.json

// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel attention_bwd_dkdv -D INT_MULTIPLE=16 -D warp_specialize=1 --out %t/ws --json %t/ws.json
// RUN: FileCheck %s --check-prefix=WS --input-file=%t/ws/attention_bwd_dkdv.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/ws.json
// RUN: tessera-kernels --require-ptxas --target sm_90a --kernel attention_bwd_dq -D INT_MULTIPLE=16 -D warp_specialize=1 --out %t/wsdq --json %t/wsdq.json
// RUN: FileCheck %s --check-prefix=WS --input-file=%t/wsdq/attention_bwd_dq.sm_90a.ptx
// RUN: FileCheck %s --check-prefix=PTXAS --input-file=%t/wsdq.json

// Warp-specialized (warp_specialize=1): a producer warpgroup on top of the
// consumer warps; the consumers raise their register budget, the producer
// lowers its own and issues the loop's copies (Q and dO, or K and V) by TMA,
// waiting on the consumers' "empty" barriers.  (The dK/dV kernel's loop over
// query heads and query blocks is one loop so that the producer can own it.)
// WS: .maxntid 256, 1, 1
// WS-NEXT: .minnctapersm 1
// WS: setmaxnreg.inc.sync.aligned.u32
// WS: setmaxnreg.dec.sync.aligned.u32 24
// WS: mbarrier.try_wait.parity
// WS: cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes
// WS: cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes

// DET-NOT: red.relaxed
// DET-NOT: atom.global
// DET-COUNT-16: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// DET-NOT: wgmma.mma_async
// DET-NOT: red.relaxed
// DET-NOT: atom.global

// ATOMIC-COUNT-20: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// ATOMIC: red.relaxed.gpu.global.add.v2.f32
// ATOMIC-NOT: atom.global

// PTXAS: "spill_bytes": 0, "wgmma_fixups": 0, "assembled": true
