//===- Attention.cpp - attention forward and backward over shapes, checked before launch -===//
#include "tessera/jit/Attention.h"
#include "tessera/Support/Error.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <optional>
#include <string>

namespace tessera::jit {

namespace {

/// Largest power of two (up to 16) dividing every batch, head and sequence
/// stride: the INT_MULTIPLE the kernels may be specialized for, so their
/// accesses vectorize.
unsigned commonPow2(std::initializer_list<AttentionStrides> ss) {
  unsigned m = 16;
  for (const AttentionStrides &s : ss)
    for (int64_t v : {s.batch, s.head, s.seq})
      while (m > 1 && v % m != 0)
        m /= 2;
  return m;
}

/// Whether `s` repeats data: a stride of 0 along an axis of more than one
/// entry (what torch's `expand` makes).
bool broadcasts(AttentionStrides s, int64_t b, int64_t h, int64_t n) {
  return (s.batch == 0 && b > 1) || (s.head == 0 && h > 1) || (s.seq == 0 && n > 1);
}

/// INT_MULTIPLE for tensors read with strides `ss`: commonPow2, except that
/// TMA cannot describe a stride of 0, so inputs that broadcast get kernels
/// that promise less than 16 bytes of stride alignment and load without it.
unsigned intMultiple(std::initializer_list<AttentionStrides> ss, bool broadcastInput) {
  return broadcastInput ? std::min(commonPow2(ss), 4u) : commonPow2(ss);
}

/// The head stride given to K/V expanded over the heads once they run as
/// multi-query attention: with one K/V head it is only ever multiplied by
/// 0, so any positive value keeping INT_MULTIPLE's promise will do (TMA
/// refuses a stride of 0).
constexpr int64_t kSingleHeadStride = 16;

/// An output that broadcasts would have programs write each other's rows.
void checkWritable(const char *name, AttentionStrides s, int64_t b, int64_t h, int64_t n) {
  if (broadcasts(s, b, h, n))
    throw Error(std::string("attention: ") + name + " has a stride of 0 (batch " +
                std::to_string(s.batch) + ", head " + std::to_string(s.head) + ", seq " +
                std::to_string(s.seq) + ") along an axis of more than one entry; an output "
                "needs a place for every row");
}

void checkTensor(const char *name, const rt::Buffer &buf, const std::string &dtype,
                 AttentionStrides s, int64_t b, int64_t h, int64_t n, int64_t d) {
  std::string what = std::string("attention: ") + name;
  if (buf.dtype() != dtype)
    throw Error(what + " is a buffer of " + (buf.dtype().empty() ? "unknown type" : buf.dtype()) +
                ", expected " + dtype);
  if (s.dim != 1)
    throw Error(what + ": the head-dim stride must be 1 (contiguous), got " +
                std::to_string(s.dim));
  for (int64_t x : {s.batch, s.head, s.seq})
    if (x < 0 || x > std::numeric_limits<int32_t>::max())
      throw Error(what + ": strides must be in [0, 2^31), got " + std::to_string(x));
  int64_t last = (b - 1) * s.batch + (h - 1) * s.head + (n - 1) * s.seq + (d - 1);
  // The kernels index in 32 bits; every term is non-negative, so no partial
  // sum wraps while the last element's offset fits (64-bit offsets: issue 19).
  if (last > std::numeric_limits<int32_t>::max())
    throw Error(what + ": shape and strides reach element " + std::to_string(last) +
                "; the kernels address at most 2^31 elements per tensor");
  int64_t elems = int64_t(buf.bytes() / 2);
  if (last >= elems)
    throw Error(what + ": shape and strides reach element " + std::to_string(last) +
                " but the buffer holds " + std::to_string(elems));
}

/// What checkProblem found: the K/V head count and the element type.
struct Checked {
  int kvHeads;
  std::string dtype;
  float scale;
};

/// Checks the problem and the forward's tensors (q/o of `rowsQ`, k/v of
/// `rowsK` rows per batch entry over `batches` entries, and lse).
Checked checkProblem(const AttentionProblem &p, rt::Buffer &q, AttentionStrides sq,
                     rt::Buffer &k, AttentionStrides sk, rt::Buffer &v, AttentionStrides sv,
                     rt::Buffer &o, AttentionStrides so, rt::Buffer &lse, int64_t batches,
                     int64_t rowsQ, int64_t rowsK) {
  int kvHeads = p.kvHeads ? p.kvHeads : p.heads;
  if (p.batch <= 0 || p.heads <= 0 || kvHeads <= 0 || p.seqQ <= 0 || p.seqK <= 0)
    throw Error("attention: batch, heads, kv_heads, seq_q and seq_k must be positive, got " +
                std::to_string(p.batch) + ", " + std::to_string(p.heads) + ", " +
                std::to_string(kvHeads) + ", " + std::to_string(p.seqQ) + ", " +
                std::to_string(p.seqK));
  if (p.heads % kvHeads != 0)
    throw Error("attention: kv_heads (" + std::to_string(kvHeads) + ") must divide heads (" +
                std::to_string(p.heads) + ")");
  // The grid is (row blocks, heads, batch): CUDA's second and third grid
  // dimensions hold 65535 programs each.  The logsumexp is indexed in 32 bits.
  if (int64_t(p.heads) > int64_t(rt::kMaxGridYZ) || int64_t(p.batch) > int64_t(rt::kMaxGridYZ))
    throw Error("attention: heads = " + std::to_string(p.heads) + " and batch = " +
                std::to_string(p.batch) + " must each be at most " + std::to_string(rt::kMaxGridYZ) +
                " (one grid dimension each)");
  if (int64_t(p.batch) * p.heads * p.seqQ > std::numeric_limits<int32_t>::max())
    throw Error("attention: batch * heads * seq_q = " +
                std::to_string(int64_t(p.batch) * p.heads * p.seqQ) +
                " logsumexp values are more than 2^31 - 1");
  bool known = false;
  for (int d : kernels::kAttentionHeadDims)
    known |= d == p.headDim;
  if (!known)
    throw Error("attention: no kernel for head dim " + std::to_string(p.headDim) +
                " (there are kernels for 64, 128 and 256)");
  const std::string &dt = q.dtype();
  if (dt != "f16" && dt != "bf16")
    throw Error("attention: q must be f16 or bf16, got " + (dt.empty() ? "untyped" : dt));
  checkTensor("q", q, dt, sq, batches, p.heads, rowsQ, p.headDim);
  checkTensor("k", k, dt, sk, batches, kvHeads, rowsK, p.headDim);
  checkTensor("v", v, dt, sv, batches, kvHeads, rowsK, p.headDim);
  checkTensor("o", o, dt, so, batches, p.heads, rowsQ, p.headDim);
  if (lse.dtype() != "f32")
    throw Error("attention: lse must be an f32 buffer, got " +
                (lse.dtype().empty() ? "untyped" : lse.dtype()));
  size_t lseBytes = size_t(p.batch) * p.heads * p.seqQ * 4;
  if (lse.bytes() < lseBytes)
    throw Error("attention: lse holds " + std::to_string(lse.bytes() / 4) + " values, needs " +
                std::to_string(lseBytes / 4) + " (batch * heads * seq_q)");

  // The kernel scales row maxima rather than every score, which needs a
  // positive scale (0 picks the default).
  if (!(p.scale >= 0) || std::isinf(p.scale))
    throw Error("attention: the softmax scale must be positive and finite (0: 1/sqrt(head dim)), "
                "got " + std::to_string(p.scale));
  return {kvHeads, dt, p.scale != 0 ? p.scale : 1.0f / std::sqrt(float(p.headDim))};
}

int i32(int64_t x) { return int(x); }

/// Launches an attention kernel over `grid` = (blocks, heads, batch): one
/// program per tile, or with `persistent` about one program per SM slot,
/// each looping over the blocks x (batch, head) tiles (the kernel's last
/// argument, num_bh = heads * batch, is appended to `args`).
void launchTiles(Jit &jit, rt::Kernel &kernel, rt::Grid grid, std::vector<rt::Arg> &args,
                 bool persistent, CUstream stream) {
  if (!persistent) {
    kernel.launch(grid, args, stream);
    return;
  }
  uint64_t pairs = uint64_t(grid.y) * grid.z;
  args.push_back(int(pairs));
  uint64_t slots = uint64_t(std::max(jit.device().smCount, 1)) * kernel.blocksPerSM();
  kernel.launch({unsigned(std::min<uint64_t>(slots, uint64_t(grid.x) * pairs)), 1}, args, stream);
}

/// The three strides of `s` as kernel arguments.
void pushStrides(std::vector<rt::Arg> &args, std::initializer_list<AttentionStrides> ss) {
  for (const AttentionStrides &s : ss)
    args.insert(args.end(), {i32(s.batch), i32(s.head), i32(s.seq)});
}

/// Checks that a problem's mask was made for it, and registers its modifier.
void checkMask(const AttentionProblem &p) {
  if (!p.mask)
    return;
  const BlockMask &m = *p.mask;
  if (m.batch() != p.batch || m.heads() != p.heads || m.seqQ() != p.seqQ ||
      m.seqK() != p.seqK)
    throw Error("attention: the BlockMask of '" + m.mod().name + "' was made for batch " +
                std::to_string(m.batch()) + ", heads " + std::to_string(m.heads()) + ", seq_q " +
                std::to_string(m.seqQ()) + ", seq_k " + std::to_string(m.seqK()) +
                "; the problem has " + std::to_string(p.batch) + ", " + std::to_string(p.heads) +
                ", " + std::to_string(p.seqQ) + ", " + std::to_string(p.seqK));
  kernels::registerMaskMod(m.mod());
}

/// Whether the problem asks for dropout (checked: p in [0, 1)).
bool dropoutOn(const AttentionProblem &p) {
  if (!p.dropout)
    return false;
  float r = p.dropout->p;
  if (!(r >= 0 && r < 1))
    throw Error("attention: the dropout probability must be in [0, 1), got " + std::to_string(r));
  return r > 0;
}

/// A dropout kernel's last arguments (kernels' Dropout::declareArgs).
void pushDropout(std::vector<rt::Arg> &args, const AttentionDropout &d) {
  // Kept when 24 random bits reach p * 2^24; p < 1 keeps the threshold
  // below 2^24.
  int32_t threshold = int32_t(std::lround(double(d.p) * 16777216.0));
  args.insert(args.end(), {rt::Arg(threshold), rt::Arg(float(1.0 / (1.0 - double(d.p)))),
                           rt::Arg(int32_t(uint32_t(d.seed))), rt::Arg(int32_t(uint32_t(d.seed >> 32))),
                           rt::Arg(int32_t(d.offset))});
}

/// Checks the problem and the tensors and launches the forward kernel (its
/// varlen form if asked), appending `tail` to the arguments.
void checkAndLaunch(Jit &jit, const AttentionProblem &p, rt::Buffer &q, AttentionStrides sq,
                    rt::Buffer &k, AttentionStrides sk, rt::Buffer &v, AttentionStrides sv,
                    rt::Buffer &o, AttentionStrides so, rt::Buffer &lse, int64_t batches,
                    int64_t rowsQ, int64_t rowsK, bool varlen, std::vector<rt::Arg> tail,
                    CUstream stream) {
  auto [kvHeads, dt, scale] = checkProblem(p, q, sq, k, sk, v, sv, o, so, lse, batches, rowsQ, rowsK);
  checkWritable("o", so, batches, p.heads, rowsQ);
  // K and V expanded over their heads (head stride 0): every query head
  // reads the same K/V, which is multi-query attention.
  if (sk.head == 0 && sv.head == 0 && kvHeads > 1) {
    kvHeads = 1;
    sk.head = sv.head = kSingleHeadStride;
  }
  kernels::AttentionConfig cfg =
      kernels::attentionConfigFor(jit.device().major, dt, p.headDim, p.causal, p.seqQ, p.seqK);
  cfg.intMultiple = int(intMultiple({sq, sk, sv, so},
                                    broadcasts(sq, batches, p.heads, rowsQ) ||
                                        broadcasts(sk, batches, kvHeads, rowsK) ||
                                        broadcasts(sv, batches, kvHeads, rowsK)));
  cfg.varlen = varlen;
  if (varlen) // sequences of their own lengths: one program per query block
    cfg.persistent = false;
  if (p.scoreMod) {
    kernels::registerScoreMod(*p.scoreMod);
    cfg.scoreMod = p.scoreMod->name;
  }
  checkMask(p);
  cfg.dropout = dropoutOn(p);
  if (p.mask) {
    // The walk over listed blocks replaces the schedules that order the
    // key blocks themselves.
    cfg.maskMod = p.mask->mod().name;
    cfg.persistent = cfg.overlap = false;
  }
  std::shared_ptr<rt::Kernel> kernel;
  for (int attempt = 0;; ++attempt) {
    try {
      kernel = jit.get(kernels::findKernel("attention_fwd"), cfg.params());
      break;
    } catch (const Error &e) {
      // A modifier's own code may need shared memory the library's tiles
      // left no room for (dropout's Philox counters reshape a score tile
      // through 64 KB of scratch next to the persistent 128x128 tiles'
      // 197 KB, measured 2026-12-04): the input is valid, so run it on
      // narrower tiles, then without the producer warpgroup.
      bool modified = p.mask || p.scoreMod || cfg.dropout;
      bool sharedMemory = std::string(e.what()).find("bytes of shared memory") != std::string::npos;
      if (!modified || !sharedMemory || attempt == 2)
        throw;
      if (attempt == 0 && cfg.blockN > 64) {
        cfg.blockN = 64;
      } else {
        cfg.blockM = cfg.blockN = 64;
        cfg.numWarps = 4;
        cfg.warpSpecialize = false;
        attempt = 1; // the last fallback
      }
    }
  }
  std::vector<rt::Arg> args{q, k, v, o, lse, p.seqQ, p.seqK, p.heads, kvHeads, scale};
  pushStrides(args, {sq, sk, sv, so});
  args.insert(args.end(), tail.begin(), tail.end());
  if (p.mask)
    p.mask->pushArgs(args, p.mask->lists(jit, cfg.blockM, cfg.blockN, p.causal, false, stream,
                                         varlen ? &tail : nullptr));
  if (cfg.dropout)
    pushDropout(args, *p.dropout);
  unsigned mBlocks = unsigned((p.seqQ + cfg.blockM - 1) / cfg.blockM);
  launchTiles(jit, *kernel, {mBlocks, unsigned(p.heads), unsigned(p.batch)}, args,
              cfg.persistent, stream);
}

/// The batch + 1 offsets in `cu`, checked: non-decreasing from 0 or more,
/// lengths at most `maxLen`.
std::vector<int32_t> readOffsets(const char *name, const rt::Buffer &cu, int batch, int maxLen,
                                 const char *maxName) {
  std::string what = std::string("attention: ") + name;
  if (cu.dtype() != "i32")
    throw Error(what + " must be an i32 buffer, got " +
                (cu.dtype().empty() ? "untyped" : cu.dtype()));
  if (cu.bytes() < size_t(batch + 1) * 4)
    throw Error(what + " holds " + std::to_string(cu.bytes() / 4) + " offsets, needs batch + 1 = " +
                std::to_string(batch + 1));
  auto off = cu.download<int32_t>(size_t(batch) + 1);
  if (off[0] < 0)
    throw Error(what + "[0] = " + std::to_string(off[0]) + " is negative");
  for (int b = 0; b < batch; ++b) {
    int len = off[b + 1] - off[b];
    if (len < 0 || len > maxLen)
      throw Error(what + ": sequence " + std::to_string(b) + " has length " +
                  std::to_string(len) + ", outside [0, " + maxName + " = " +
                  std::to_string(maxLen) + "]");
  }
  return off;
}

/// The varlen entry points' offsets, read back and checked; returns the
/// packed tensors' row counts (the last offsets).
std::pair<int64_t, int64_t> checkOffsets(const AttentionProblem &p, const rt::Buffer &cuSeqlensQ,
                                         const rt::Buffer &cuSeqlensK) {
  if (p.batch <= 0 || p.seqQ <= 0 || p.seqK <= 0)
    throw Error("attention: batch, seq_q and seq_k must be positive, got " +
                std::to_string(p.batch) + ", " + std::to_string(p.seqQ) + ", " +
                std::to_string(p.seqK));
  auto cq = readOffsets("cu_seqlens_q", cuSeqlensQ, p.batch, p.seqQ, "seq_q");
  auto ck = readOffsets("cu_seqlens_k", cuSeqlensK, p.batch, p.seqK, "seq_k");
  for (int b = 0; b < p.batch; ++b)
    if (cq[b + 1] > cq[b] && ck[b + 1] == ck[b])
      throw Error("attention: sequence " + std::to_string(b) + " has " +
                  std::to_string(cq[b + 1] - cq[b]) + " queries but no keys");
  return {cq[p.batch], ck[p.batch]};
}

} // namespace

BlockMask::BlockMask(kernels::MaskMod mod, int batch, int heads, int seqQ, int seqK,
                     rt::Buffer *data)
    : mod_(std::move(mod)), batch_(batch), heads_(heads), seqQ_(seqQ), seqK_(seqK), data_(data) {
  std::string what = "BlockMask of '" + mod_.name + "'";
  mod_.perBatch |= mod_.usesData; // the data has a row per batch entry: so have the lists
  if (batch <= 0 || heads <= 0 || seqQ <= 0 || seqK <= 0)
    throw Error(what + ": batch, heads, seq_q and seq_k must be positive, got " +
                std::to_string(batch) + ", " + std::to_string(heads) + ", " +
                std::to_string(seqQ) + ", " + std::to_string(seqK));
  if (int64_t(heads) > int64_t(rt::kMaxGridYZ) || int64_t(batch) > int64_t(rt::kMaxGridYZ))
    throw Error(what + ": heads and batch must each be at most " +
                std::to_string(rt::kMaxGridYZ));
  kernels::registerMaskMod(mod_); // checks the name and the function
  if (mod_.usesData && !data)
    throw Error(what + ": the mask reads data (MaskMod::usesData); pass its i32 buffer");
  if (!mod_.usesData && data)
    throw Error(what + ": the mask reads no data (MaskMod::usesData is false), yet a buffer "
                       "was given");
  if (data) {
    if (data->dtype() != "i32")
      throw Error(what + ": the data must be an i32 buffer, got " +
                  (data->dtype().empty() ? "untyped" : data->dtype()));
    int64_t elems = int64_t(data->bytes() / 4);
    if (elems == 0 || elems % batch != 0 || elems > std::numeric_limits<int32_t>::max())
      throw Error(what + ": the data holds " + std::to_string(elems) +
                  " values; it must be [batch = " + std::to_string(batch) +
                  ", n] (a positive multiple of batch, below 2^31)");
    dataStride_ = int(elems / batch);
  }
}

const BlockMask::Lists &BlockMask::lists(Jit &jit, int blockM, int blockN, bool causal,
                                         bool transposed, CUstream stream,
                                         const std::vector<rt::Arg> *offsets) {
  std::lock_guard<std::mutex> lock(mu_);
  bool varlen = offsets != nullptr;
  auto &slot = lists_[{blockM, blockN, causal, transposed, varlen}];
  if (slot && !slot->stale && !varlen)
    return *slot;
  int64_t blocksQ = (seqQ_ + blockM - 1) / blockM, blocksK = (seqK_ + blockN - 1) / blockN;
  int64_t rows = transposed ? blocksK : blocksQ, cols = transposed ? blocksQ : blocksK;
  int64_t batches = mod_.perBatch || varlen ? batch_ : 1, heads = mod_.perHead ? heads_ : 1;
  int64_t lists = batches * heads * rows;
  int64_t entries = lists * 2 * (cols + kernels::kBlockListPad);
  if (entries > std::numeric_limits<int32_t>::max())
    throw Error("BlockMask of '" + mod_.name + "': " + std::to_string(entries) +
                " list entries pass the kernels' 32-bit offsets");
  if (!slot) {
    slot = std::make_unique<Lists>();
    slot->counts = rt::Buffer(size_t(lists) * 2 * 4, "i32");
    slot->indices = rt::Buffer(size_t(entries) * 4, "i32");
    slot->stale = true; // until the kernel below is queued
  }
  Lists *l = slot.get();
  kernels::BlockMaskConfig cfg{mod_.name, blockM, blockN, causal, transposed, varlen};
  auto kernel = jit.get(kernels::findKernel("attention_block_mask"), cfg.params());
  std::vector<rt::Arg> args{l->counts, l->indices};
  if (mod_.usesData)
    args.insert(args.end(), {rt::Arg(*data_), rt::Arg(int32_t(dataStride_))});
  args.insert(args.end(), {rt::Arg(int32_t(seqQ_)), rt::Arg(int32_t(seqK_))});
  if (varlen)
    args.insert(args.end(), offsets->begin(), offsets->end());
  kernel->launch({unsigned(rows), unsigned(heads), unsigned(batches)}, args, stream);
  l->stale = false;
  return *l;
}

void BlockMask::invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto &[key, l] : lists_)
    if (l)
      l->stale = true;
}

void BlockMask::pushArgs(std::vector<rt::Arg> &args, const Lists &l) const {
  args.insert(args.end(), {rt::Arg(l.counts), rt::Arg(l.indices)});
  if (mod_.usesData)
    args.insert(args.end(), {rt::Arg(*data_), rt::Arg(int32_t(dataStride_))});
}

void attentionForward(Jit &jit, const AttentionProblem &p, rt::Buffer &q, AttentionStrides sq,
                      rt::Buffer &k, AttentionStrides sk, rt::Buffer &v, AttentionStrides sv,
                      rt::Buffer &o, AttentionStrides so, rt::Buffer &lse, CUstream stream) {
  checkAndLaunch(jit, p, q, sq, k, sk, v, sv, o, so, lse, p.batch, p.seqQ, p.seqK, false, {},
                 stream);
}

void attentionForwardVarlen(Jit &jit, const AttentionProblem &p, rt::Buffer &q,
                            AttentionStrides sq, rt::Buffer &k, AttentionStrides sk,
                            rt::Buffer &v, AttentionStrides sv, rt::Buffer &o,
                            AttentionStrides so, rt::Buffer &lse, rt::Buffer &cuSeqlensQ,
                            rt::Buffer &cuSeqlensK, CUstream stream) {
  auto [rowsQ, rowsK] = checkOffsets(p, cuSeqlensQ, cuSeqlensK);
  // Packed: one "batch" of total rows; the batch strides are unused.
  for (AttentionStrides *s : {&sq, &sk, &sv, &so})
    s->batch = 0;
  checkAndLaunch(jit, p, q, sq, k, sk, v, sv, o, so, lse, 1, rowsQ, rowsK, true,
                 {rt::Arg(cuSeqlensQ), rt::Arg(cuSeqlensK)}, stream);
}

namespace {
/// D's values, then (16-byte aligned) the dQ accumulator's.
int64_t deltaValues(const AttentionProblem &p) {
  return int64_t(std::max(p.batch, 0)) * std::max(p.heads, 0) * std::max(p.seqQ, 0);
}
int64_t accumulatorOffset(const AttentionProblem &p) { return (deltaValues(p) + 3) / 4 * 4; }
/// Whether dQ is summed atomically: asked for, and its accumulator within
/// the kernels' 32-bit element offsets.
bool atomicDq(const AttentionProblem &p, const AttentionBackwardOptions &options) {
  int64_t values = deltaValues(p) * std::max(p.headDim, 0);
  return !options.deterministic && accumulatorOffset(p) + values < (int64_t(1) << 31);
}
} // namespace

size_t attentionBackwardWorkspaceBytes(const AttentionProblem &p,
                                       const AttentionBackwardOptions &options) {
  if (!atomicDq(p, options))
    return size_t(deltaValues(p)) * 4;
  return size_t(accumulatorOffset(p) + deltaValues(p) * std::max(p.headDim, 0)) * 4;
}

namespace {
/// Checks the backward's problem and tensors (as checkProblem, over
/// `batches` entries of `rowsQ` / `rowsK` rows) and launches its three
/// kernels (their varlen forms if asked), appending `tail` to the arguments
/// of each.
void backwardCheckAndLaunch(Jit &jit, const AttentionProblem &p, rt::Buffer &q,
                            AttentionStrides sq, rt::Buffer &k, AttentionStrides sk,
                            rt::Buffer &v, AttentionStrides sv, rt::Buffer &o,
                            AttentionStrides so, rt::Buffer &dO, AttentionStrides sdo,
                            rt::Buffer &lse, rt::Buffer &dq, AttentionStrides sdq, rt::Buffer &dk,
                            AttentionStrides sdk, rt::Buffer &dv, AttentionStrides sdv,
                            rt::Buffer &workspace, int64_t batches, int64_t rowsQ, int64_t rowsK,
                            bool varlen, const std::vector<rt::Arg> &tail, CUstream stream,
                            const AttentionBackwardOptions &options = {}) {
  if (p.scoreMod)
    kernels::registerScoreMod(*p.scoreMod);
  checkMask(p);
  auto [kvHeads, dt, scale] =
      checkProblem(p, q, sq, k, sk, v, sv, o, so, lse, batches, rowsQ, rowsK);
  checkTensor("dO", dO, dt, sdo, batches, p.heads, rowsQ, p.headDim);
  checkTensor("dq", dq, dt, sdq, batches, p.heads, rowsQ, p.headDim);
  checkTensor("dk", dk, dt, sdk, batches, kvHeads, rowsK, p.headDim);
  checkTensor("dv", dv, dt, sdv, batches, kvHeads, rowsK, p.headDim);
  // K, V and their gradients expanded over the heads (head stride 0, as
  // torch's `expand` and its gradient): multi-query attention, whose dK and
  // dV sum over every query head.
  if (sk.head == 0 && sv.head == 0 && sdk.head == 0 && sdv.head == 0 && kvHeads > 1) {
    kvHeads = 1;
    sk.head = sv.head = sdk.head = sdv.head = kSingleHeadStride;
  }
  checkWritable("dq", sdq, batches, p.heads, rowsQ);
  checkWritable("dk", sdk, batches, kvHeads, rowsK);
  checkWritable("dv", sdv, batches, kvHeads, rowsK);
  if (workspace.dtype() != "f32")
    throw Error("attention backward: the workspace must be an f32 buffer, got " +
                (workspace.dtype().empty() ? "untyped" : workspace.dtype()));
  size_t needed = attentionBackwardWorkspaceBytes(p, options);
  if (workspace.bytes() < needed)
    throw Error("attention backward: the workspace holds " + std::to_string(workspace.bytes()) +
                " bytes, needs " + std::to_string(needed) +
                " (attentionBackwardWorkspaceBytes with the same options)");
  // Outputs written while inputs are read: no output may be an input or
  // another output (each buffer is its own allocation, so aliasing is the
  // same device pointer).  The first four are the outputs.
  const std::pair<const char *, rt::Buffer *> buffers[] = {
      {"dq", &dq}, {"dk", &dk},   {"dv", &dv}, {"the workspace", &workspace}, {"q", &q},
      {"k", &k},   {"v", &v},     {"o", &o},   {"dO", &dO},                   {"lse", &lse}};
  for (size_t out = 0; out < 4; ++out)
    for (size_t other = 0; other < std::size(buffers); ++other)
      if (other != out && buffers[other].second->ptr() == buffers[out].second->ptr())
        throw Error(std::string("attention backward: ") + buffers[out].first + " and " +
                    buffers[other].first +
                    " are the same buffer; the gradients need buffers of their own");

  // The length-dependent schedules were measured on plain problems only:
  // masks walk lists per program, packed sequences have lengths of their
  // own, modifiers and dropout add code the tiles were not sized for.
  bool plain = !p.mask && !varlen && !p.scoreMod && !dropoutOn(p);
  kernels::AttentionBackwardConfig cfg = kernels::attentionBackwardConfigFor(
      jit.device().major, dt, p.headDim, p.causal, plain ? rowsK : 0);
  cfg.intMultiple = int(intMultiple({sq, sk, sv, so, sdo, sdq, sdk, sdv},
                                    broadcasts(sq, batches, p.heads, rowsQ) ||
                                        broadcasts(sk, batches, kvHeads, rowsK) ||
                                        broadcasts(sv, batches, kvHeads, rowsK) ||
                                        broadcasts(so, batches, p.heads, rowsQ) ||
                                        broadcasts(sdo, batches, p.heads, rowsQ)));
  cfg.varlen = varlen;
  if (p.scoreMod)
    cfg.scoreMod = p.scoreMod->name;
  cfg.dkdv = options.dkdv.value_or(cfg.dkdv);
  cfg.dq = options.dq.value_or(cfg.dq);
  if (p.mask) {
    cfg.maskMod = p.mask->mod().name;
    cfg.dkdv.warpSpecialize = cfg.dq.warpSpecialize = false; // the walk needs no producer
  }
  if (p.mask || varlen) // walks and sequences of their own: one program per block
    cfg.dkdv.persistent = cfg.dq.persistent = false;
  cfg.dropout = dropoutOn(p);
  cfg.deterministic = !atomicDq(p, options);
  unsigned heads = unsigned(p.heads), batch = unsigned(p.batch);
  unsigned rowBlocks = unsigned((p.seqQ + cfg.preprocessBlockM - 1) / cfg.preprocessBlockM);
  rt::DevicePtr accumulator{workspace.ptr() + CUdeviceptr(accumulatorOffset(p)) * 4, "f32"};

  auto pre = jit.get(kernels::findKernel("attention_bwd_preprocess"), cfg.preprocessParams());
  std::vector<rt::Arg> preArgs{o, dO, workspace};
  if (!cfg.deterministic)
    preArgs.push_back(accumulator);
  preArgs.insert(preArgs.end(), {p.seqQ, p.heads});
  pushStrides(preArgs, {so, sdo});
  if (varlen)
    preArgs.push_back(tail.front()); // cu_seqlens_q
  pre->launch({rowBlocks, heads, batch}, preArgs, stream);

  auto dkdv = jit.get(kernels::findKernel("attention_bwd_dkdv"), cfg.dkdvParams());
  std::vector<rt::Arg> dkdvArgs{q, k, v, dO, lse, workspace, dk, dv};
  if (!cfg.deterministic)
    dkdvArgs.push_back(accumulator);
  dkdvArgs.insert(dkdvArgs.end(), {p.seqQ, p.seqK, p.heads, kvHeads, scale});
  pushStrides(dkdvArgs, {sq, sk, sv, sdo, sdk, sdv});
  dkdvArgs.insert(dkdvArgs.end(), tail.begin(), tail.end());
  if (p.mask)
    p.mask->pushArgs(dkdvArgs, p.mask->lists(jit, cfg.dkdv.blockM, cfg.dkdv.blockN, p.causal,
                                             /*transposed=*/true, stream,
                                             varlen ? &tail : nullptr));
  if (cfg.dropout)
    pushDropout(dkdvArgs, *p.dropout);
  rt::Grid dkdvGrid{unsigned((p.seqK + cfg.dkdv.blockN - 1) / cfg.dkdv.blockN),
                    unsigned(kvHeads), batch};

  if (!cfg.deterministic) {
    launchTiles(jit, *dkdv, dkdvGrid, dkdvArgs, cfg.dkdv.persistent, stream);
    auto convert = jit.get(kernels::findKernel("attention_bwd_dq_convert"), cfg.dqConvertParams());
    std::vector<rt::Arg> convertArgs{accumulator, dq, p.seqQ, p.heads, scale};
    pushStrides(convertArgs, {sdq});
    if (varlen)
      convertArgs.push_back(tail.front()); // cu_seqlens_q
    convert->launch({rowBlocks, heads, batch}, convertArgs, stream);
    return;
  }
  auto dqKernel = jit.get(kernels::findKernel("attention_bwd_dq"), cfg.dqParams());
  std::vector<rt::Arg> dqArgs{q, k, v, dO, lse, workspace, dq, p.seqQ, p.seqK, p.heads,
                              kvHeads, scale};
  pushStrides(dqArgs, {sq, sk, sv, sdo, sdq});
  dqArgs.insert(dqArgs.end(), tail.begin(), tail.end());
  // Its block lists (made on `stream` when not cached) before the fork.
  if (p.mask)
    p.mask->pushArgs(dqArgs, p.mask->lists(jit, cfg.dq.blockM, cfg.dq.blockN, p.causal,
                                           /*transposed=*/false, stream,
                                           varlen ? &tail : nullptr));
  if (cfg.dropout)
    pushDropout(dqArgs, *p.dropout);
  rt::Grid dqGrid{unsigned((p.seqQ + cfg.dq.blockM - 1) / cfg.dq.blockM), heads, batch};
  if (!options.concurrentDq || rt::interpretMode()) {
    launchTiles(jit, *dkdv, dkdvGrid, dkdvArgs, cfg.dkdv.persistent, stream);
    launchTiles(jit, *dqKernel, dqGrid, dqArgs, cfg.dq.persistent, stream);
    return;
  }
  // Fork: the side stream waits for everything on `stream` so far (the
  // preprocess, block lists); join: `stream` waits for the dQ kernel.
  // Events of this call only, so that concurrent calls cannot wait on each
  // other's; destroying them after the waits are enqueued is allowed.
  const rt::Driver &d = rt::driver();
  struct Event {
    CUevent e = nullptr;
    explicit Event(const rt::Driver &d) : d(d) {
      rt::check(d.eventCreate(&e, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
    }
    ~Event() { d.eventDestroy(e); }
    const rt::Driver &d;
  } forked(d), joined(d);
  // Under CUDA graph capture the fork becomes two branches of the graph.
  // The Jit's side stream would be pulled into this capture until the join,
  // so another thread's eager backward queued on it meanwhile would be
  // recorded into this graph instead of running: a stream of this call's own.
  std::optional<rt::Stream> captureSide;
  if (rt::isCapturing(stream))
    captureSide.emplace();
  CUstream side = captureSide ? captureSide->get() : jit.sideStream();
  rt::check(d.eventRecord(forked.e, stream), "cuEventRecord");
  rt::check(d.streamWaitEvent(side, forked.e, 0), "cuStreamWaitEvent");
  launchTiles(jit, *dqKernel, dqGrid, dqArgs, cfg.dq.persistent, side);
  auto join = [&] {
    rt::check(d.eventRecord(joined.e, side), "cuEventRecord");
    rt::check(d.streamWaitEvent(stream, joined.e, 0), "cuStreamWaitEvent");
  };
  try {
    launchTiles(jit, *dkdv, dkdvGrid, dkdvArgs, cfg.dkdv.persistent, stream);
  } catch (...) {
    // The dQ kernel is queued: the caller's stream still waits for it, so
    // that freeing the buffers after the error is ordered after its reads.
    try {
      join();
    } catch (...) {
    }
    throw;
  }
  join();
}
} // namespace

void attentionBackward(Jit &jit, const AttentionProblem &p, rt::Buffer &q, AttentionStrides sq,
                       rt::Buffer &k, AttentionStrides sk, rt::Buffer &v, AttentionStrides sv,
                       rt::Buffer &o, AttentionStrides so, rt::Buffer &dO, AttentionStrides sdo,
                       rt::Buffer &lse, rt::Buffer &dq, AttentionStrides sdq, rt::Buffer &dk,
                       AttentionStrides sdk, rt::Buffer &dv, AttentionStrides sdv,
                       rt::Buffer &workspace, CUstream stream,
                       const AttentionBackwardOptions &options) {
  backwardCheckAndLaunch(jit, p, q, sq, k, sk, v, sv, o, so, dO, sdo, lse, dq, sdq, dk, sdk, dv,
                         sdv, workspace, p.batch, p.seqQ, p.seqK, false, {}, stream, options);
}

void attentionBackwardVarlen(Jit &jit, const AttentionProblem &p, rt::Buffer &q,
                             AttentionStrides sq, rt::Buffer &k, AttentionStrides sk,
                             rt::Buffer &v, AttentionStrides sv, rt::Buffer &o,
                             AttentionStrides so, rt::Buffer &dO, AttentionStrides sdo,
                             rt::Buffer &lse, rt::Buffer &dq, AttentionStrides sdq,
                             rt::Buffer &dk, AttentionStrides sdk, rt::Buffer &dv,
                             AttentionStrides sdv, rt::Buffer &cuSeqlensQ, rt::Buffer &cuSeqlensK,
                             rt::Buffer &workspace, CUstream stream,
                             const AttentionBackwardOptions &options) {
  auto [rowsQ, rowsK] = checkOffsets(p, cuSeqlensQ, cuSeqlensK);
  for (AttentionStrides *s : {&sq, &sk, &sv, &so, &sdo, &sdq, &sdk, &sdv})
    s->batch = 0;
  backwardCheckAndLaunch(jit, p, q, sq, k, sk, v, sv, o, so, dO, sdo, lse, dq, sdq, dk, sdk, dv,
                         sdv, workspace, 1, rowsQ, rowsK, true,
                         {rt::Arg(cuSeqlensQ), rt::Arg(cuSeqlensK)}, stream, options);
}

} // namespace tessera::jit
