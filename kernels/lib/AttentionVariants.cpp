//===- AttentionVariants.cpp - score and mask modifiers, and the block-mask kernel -===//
//
// Attention variants written as DSL callables (issue 21): score modifiers
// (ScoreMod) traced where the scores are in registers, and mask modifiers
// (MaskMod) that attention_block_mask evaluates over every block of a
// problem once into lists of partial and full blocks, which the attention
// kernels walk instead of every block.  Registries by name (kernels are
// memoized by name and parameters; the disk cache is keyed by the traced
// code, so a re-registered name is never stale on disk), the built-ins, and
// the kernel.
//
//===----------------------------------------------------------------------===//
#include "AttentionVariants.h"
#include "tessera/kernels/Library.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

using namespace tessera::dsl;

namespace tessera::kernels {

namespace {
/// Modifiers of one kind by name.
template <class Mod> class Registry {
public:
  explicit Registry(const char *kind) : kind(kind) {}
  void add(const Mod &mod) {
    bool word = !mod.name.empty() && mod.name != "none";
    for (char c : mod.name)
      word = word && (std::isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-');
    if (!word)
      throw Error(std::string(kind) + " name '" + mod.name +
                  "': use letters, digits, '_', '.' or '-' (and not 'none')");
    if (!mod.fn)
      throw Error(std::string(kind) + " '" + mod.name + "' has no function");
    std::lock_guard<std::mutex> lock(mu);
    mods[mod.name] = mod;
  }
  /// The modifier registered as `name`, else the built-in that `name`
  /// spells (builtIn), so a kernel can be traced by name alone (tools, the
  /// C API, a new process).
  Mod find(const std::string &name, const std::function<std::optional<Mod>(const std::string &)> &builtIn) {
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = mods.find(name);
      if (it != mods.end())
        return it->second;
    }
    if (std::optional<Mod> m = builtIn(name))
      return *m;
    throw Error(std::string("no ") + kind + " named '" + name + "' is registered");
  }

private:
  const char *kind;
  std::mutex mu;
  std::map<std::string, Mod> mods;
};
Registry<ScoreMod> &scoreMods() {
  static Registry<ScoreMod> r("score modifier");
  return r;
}
Registry<MaskMod> &maskMods() {
  static Registry<MaskMod> r("mask modifier");
  return r;
}
} // namespace

namespace {
/// The numbers after `prefix` in `name` ("prefix.a.b"), if it has that form
/// and exactly `count` of them ("inf" reads as -1).
std::optional<std::vector<double>> numbersAfter(const std::string &name, const std::string &prefix,
                                                size_t count) {
  if (name.compare(0, prefix.size() + 1, prefix + ".") != 0)
    return std::nullopt;
  std::vector<double> xs;
  size_t at = prefix.size() + 1;
  while (xs.size() < count) {
    size_t dot = xs.size() + 1 == count ? std::string::npos : name.find('.', at);
    // softcap's cap may hold a '.' itself: the last number takes the rest.
    std::string part = name.substr(at, dot == std::string::npos ? std::string::npos : dot - at);
    if (part == "inf") {
      xs.push_back(-1);
    } else {
      char *end = nullptr;
      double x = std::strtod(part.c_str(), &end);
      if (part.empty() || *end != '\0')
        return std::nullopt;
      xs.push_back(x);
    }
    if (dot == std::string::npos)
      break;
    at = dot + 1;
  }
  if (xs.size() != count)
    return std::nullopt;
  return xs;
}

std::optional<ScoreMod> builtInScoreMod(const std::string &name) {
  if (name.rfind("expr:", 0) == 0)
    return scoremods::expression(name.substr(5));
  if (auto x = numbersAfter(name, "softcap", 1))
    return scoremods::softcap((*x)[0]);
  if (auto x = numbersAfter(name, "softcap_exact", 1))
    return scoremods::softcap((*x)[0], true);
  if (auto x = numbersAfter(name, "alibi", 1))
    return scoremods::alibi(int((*x)[0]));
  return std::nullopt;
}

std::optional<MaskMod> builtInMaskMod(const std::string &name) {
  if (name.rfind("expr:", 0) == 0)
    return maskmods::expression(name.substr(5));
  if (name == "causal")
    return maskmods::causal();
  if (name == "causal_bottom_right")
    return maskmods::causalBottomRight();
  if (name == "document")
    return maskmods::document();
  if (auto x = numbersAfter(name, "sliding_window", 2))
    return maskmods::slidingWindow(int((*x)[0]), int((*x)[1]));
  if (auto x = numbersAfter(name, "prefix_lm", 1))
    return maskmods::prefixLM(int((*x)[0]));
  return std::nullopt;
}
} // namespace

void registerScoreMod(const ScoreMod &mod) { scoreMods().add(mod); }
ScoreMod findScoreMod(const std::string &name) { return scoreMods().find(name, builtInScoreMod); }
void registerMaskMod(const MaskMod &mod) { maskMods().add(mod); }
MaskMod findMaskMod(const std::string &name) { return maskMods().find(name, builtInMaskMod); }

Tile applyScoreMod(const ScoreMod &mod, const Tile &s, const Scalar &batch, const Scalar &head,
                   const Tile &query, const Tile &key) {
  Tile m = mod.fn(s, batch, head, query, key);
  auto shapeText = [](const std::vector<int64_t> &shape) {
    std::string t = "[";
    for (size_t i = 0; i < shape.size(); ++i)
      t += (i ? ", " : "") + std::to_string(shape[i]);
    return t + "]";
  };
  std::vector<int64_t> want = s.shape(), got = m.shape();
  bool broadcasts = got.size() <= want.size();
  for (size_t i = 0; broadcasts && i < got.size(); ++i) {
    int64_t g = got[got.size() - 1 - i], w = want[want.size() - 1 - i];
    broadcasts = g == w || g == 1;
  }
  bool number = !m.isPointer() && (m.dtype() == f32 || m.dtype() == f16 || m.dtype() == bf16);
  if (!broadcasts || !number)
    throw Error("score modifier '" + mod.name + "' returned a " +
                (!number ? "tile of " + m.typeName() + " elements" : shapeText(got) + " tile") +
                "; it must return the scores' block (" + shapeText(want) +
                ", f32) or something that broadcasts to it");
  if (m.dtype() != f32)
    m = m.to(f32);
  return got == want ? m : broadcastTo(m, want);
}

namespace scoremods {
ScoreMod softcap(double cap, bool exact) {
  if (!(cap > 0))
    throw Error("softcap: the cap must be positive, got " + std::to_string(cap));
  char name[64];
  std::snprintf(name, sizeof name, "softcap%s.%.17g", exact ? "_exact" : "", cap);
  ScoreMod mod{name, [cap, exact](const Tile &s, const Scalar &, const Scalar &, const Tile &,
                                  const Tile &) {
                 if (!exact)
                   return tanh(s * (1.0 / cap)) * cap; // one tanh.approx per score
                 // tanh(t) = 1 - 2 / (e^(2t) + 1): exact at both ends (e^(2t) = inf or 0).
                 Tile e = exp(s * (2.0 / cap));
                 return (1.0 - 2.0 / (e + 1.0)) * cap;
               }};
  mod.bound = cap; // |tanh| <= 1, tanh.approx's included
  // The backward derives tanh's derivative, 1 - tanh^2 from the tanh it
  // computed (dsl::derivative; the PTX is the same as that of the formula
  // below).  The exact form's derived derivative would go through its
  // division (4 e / (e + 1)^2); written, it is 1 - (modified / cap)^2.
  if (exact)
    mod.grad = [cap](const Tile &, const Tile &m, const Scalar &, const Scalar &, const Tile &,
                     const Tile &) {
      Tile t = m * (1.0 / cap);
      return 1.0 - t * t;
    };
  return mod;
}

ScoreMod alibi(int heads) {
  if (heads <= 0)
    throw Error("alibi: heads must be positive, got " + std::to_string(heads));
  ScoreMod mod{"alibi." + std::to_string(heads),
               [heads](const Tile &s, const Scalar &, const Scalar &head, const Tile &query,
                       const Tile &key) {
                 Scalar slope = exp2((head + 1).to(f32) * (-8.0 / heads));
                 return s + (key - query).to(f32) * slope;
               }};
  return mod; // d/ds = 1: derived as the constant, so the backward multiplies by nothing
}
} // namespace scoremods

namespace maskmods {
MaskMod causal() {
  return {"causal", [](const Scalar &, const Scalar &, const Tile &q, const Tile &k,
                       const MaskContext &) { return k <= q; }};
}

MaskMod causalBottomRight() {
  return {"causal_bottom_right",
          [](const Scalar &, const Scalar &, const Tile &q, const Tile &k, const MaskContext &c) {
            return k <= q + (c.seqK - c.seqQ);
          }};
}

MaskMod slidingWindow(int left, int right) {
  std::string name = "sliding_window." + (left < 0 ? std::string("inf") : std::to_string(left)) +
                     "." + (right < 0 ? std::string("inf") : std::to_string(right));
  return {name, [left, right](const Scalar &, const Scalar &, const Tile &q, const Tile &k,
                              const MaskContext &c) {
            Tile center = q + (c.seqK - c.seqQ);
            Tile ok = k == k; // all true, shaped like the keys
            if (left >= 0)
              ok = ok & (k >= center - left);
            if (right >= 0)
              ok = ok & (k <= center + right);
            return ok;
          }};
}

MaskMod prefixLM(int prefix) {
  if (prefix < 0)
    throw Error("prefixLM: the prefix length must be at least 0, got " + std::to_string(prefix));
  return {"prefix_lm." + std::to_string(prefix),
          [prefix](const Scalar &, const Scalar &, const Tile &q, const Tile &k,
                   const MaskContext &) { return (k < prefix) | (k <= q); }};
}

MaskMod document() {
  MaskMod mod{"document", [](const Scalar &, const Scalar &, const Tile &q, const Tile &k,
                             const MaskContext &c) {
                Tile qk = q + (c.seqK - c.seqQ); // the query's key position
                Tile qIn = (qk >= 0) & (qk < c.seqK), kIn = k < c.seqK;
                Tile docQ = load(c.data + qk, qIn, -1), docK = load(c.data + k, kIn, -2);
                return docQ == docK;
              }};
  mod.perBatch = true;
  mod.usesData = true;
  return mod;
}
} // namespace maskmods

// --- the kernels' side --------------------------------------------------------------

MaskedBlocks::MaskedBlocks(const Params &p) {
  if (p.s("MASK_MOD") != "none") {
    mod = findMaskMod(p.s("MASK_MOD"));
    // Its data has a row per batch entry, packed sequences have lengths of
    // their own: so have its lists.
    mod->perBatch |= mod->usesData || p.flag("VARLEN");
  }
}

void MaskedBlocks::declareArgs(Kernel &k) {
  counts = k.ptr("bm_counts", i32, 4);
  indices = k.ptr("bm_indices", i32, 4);
  if (mod->usesData) {
    data = k.ptr("mask_data", i32, 4);
    dataStride = k.i32("mask_data_stride_b");
  }
}

Tile MaskedBlocks::allowed(const Scalar &batch, const Scalar &head, const Tile &query,
                           const Tile &key, const Scalar &seqQ, const Scalar &seqK) const {
  MaskContext c{seqQ, seqK, mod->usesData ? data + batch * dataStride : Ptr()};
  return mod->fn(batch, head, query, key, c);
}

void MaskedBlocks::walk(const Scalar &row, const Scalar &rows, const Scalar &cols,
                        const Scalar &batch, const Scalar &head, const Scalar &heads,
                        std::initializer_list<Var> carried,
                        const std::function<void(const Scalar &, bool)> &body) const {
  // The lists' row (BlockMaskConfig): one per (batch, head) only where the
  // mask varies over them.
  Scalar zero = scalar(0, i32);
  Scalar mb = mod->perBatch ? batch : zero, mh = mod->perHead ? head : zero;
  Scalar listHeads = mod->perHead ? heads : scalar(1, i32);
  ListRow l = listRow(mb * listHeads + mh, rows, row, cols);
  // Speculative: a producer warpgroup recomputes the trip counts too.
  Scalar nPartial = loadSpeculative(l.counts), nFull = loadSpeculative(l.counts + 1);
  forRange(0, nPartial, 1, carried,
           [&](Scalar i) { body(loadSpeculative(l.partial + i), true); });
  forRange(0, nFull, 1, carried, [&](Scalar i) { body(loadSpeculative(l.full + i), false); });
}

std::pair<Scalar, Scalar> MaskedBlocks::rowsAndCols(const Scalar &seqQ, const Scalar &seqK,
                                                    int64_t bm, int64_t bn, bool transposed) {
  Scalar blocksQ = (seqQ + (bm - 1)) / bm, blocksK = (seqK + (bn - 1)) / bn;
  return transposed ? std::pair(blocksK, blocksQ) : std::pair(blocksQ, blocksK);
}

MaskedBlocks::ListRow MaskedBlocks::listRow(const Scalar &set, const Scalar &rows,
                                            const Scalar &row, const Scalar &cols) const {
  Scalar r = set * rows + row;
  Scalar stride = cols + kBlockListPad;
  Ptr partial = indices + r * (stride * 2);
  return {partial, partial + stride, counts + r * 2};
}

void Dropout::declareArgs(Kernel &k) {
  threshold = k.i32("dropout_threshold");
  scale = k.f32("dropout_scale");
  seedLo = k.i32("seed_lo");
  seedHi = k.i32("seed_hi");
  offset = k.i32("dropout_offset");
}

Tile Dropout::apply(const Tile &x, const Scalar &bh, const Tile &query, const Tile &key) const {
  std::vector<int64_t> shape{x.dim(0), x.dim(1)};
  std::array<Tile, 4> counter{broadcastTo(key, shape), broadcastTo(query, shape),
                              splat(bh, shape), splat(offset, shape)};
  Tile bits = philox4x32(counter, seedLo, seedHi)[0];
  Tile keep = ((bits >> 8) & 0xffffff) >= threshold;
  return where(keep, x * scale, 0.0);
}

/// The block lists of one row of blocks of one (batch, head) of the mask:
/// for each block along the other axis, whether some element is allowed
/// (and in bounds) and whether every element is (and the whole block lies
/// in bounds), appended to the partial or the full list.  Rows are query
/// blocks (keys along the lists), or TRANSPOSED=1 key blocks.
/// VARLEN=1: batch entry b is packed sequence b, of its own lengths (the
/// rows and columns past them get no entries); seq_q / seq_k are the
/// longest, which shape the lists.
/// Grid: (rows, perHead ? heads : 1, perBatch ? batch : 1).  Lists hold
/// kBlockListPad entries more than there are blocks; those after a list's
/// last are zeroed, so an entry read ahead of a walk is a valid block index.
static void attentionBlockMask(Kernel &k, const Params &p) {
  MaskedBlocks blocks(p);
  int64_t bm = p.i("BLOCK_M"), bn = p.i("BLOCK_N");
  bool causal = p.flag("CAUSAL"), transposed = p.flag("TRANSPOSED");
  if (!blocks)
    throw Error("attention_block_mask: MASK_MOD names no mask");
  blocks.declareArgs(k);
  // Arguments: bm_counts, bm_indices[, mask_data, mask_data_stride_b], seq_q, seq_k
  // [, cu_seqlens_q, cu_seqlens_k].
  Scalar seqQMax = k.i32("seq_q"), seqKMax = k.i32("seq_k");
  Scalar row = programId(0), head = programId(1), batch = programId(2);
  Scalar seqQ = seqQMax, seqK = seqKMax;
  if (p.flag("VARLEN")) {
    Ptr cuQ = k.ptr("cu_seqlens_q", i32, 4), cuK = k.ptr("cu_seqlens_k", i32, 4);
    seqQ = load(cuQ + batch + 1) - load(cuQ + batch);
    seqK = load(cuK + batch + 1) - load(cuK + batch);
  }
  auto [rows, cols] = MaskedBlocks::rowsAndCols(seqQMax, seqKMax, bm, bn, transposed);
  MaskedBlocks::ListRow l = blocks.listRow(batch * numPrograms(1) + head, rows, row, cols);
  Scalar nPartial = scalar(0, i32), nFull = scalar(0, i32);
  forRange(0, cols, 1, {nPartial, nFull}, [&](Scalar c) {
    Scalar qb = transposed ? c : row, kb = transposed ? row : c;
    Tile query = (qb * bm + arange(0, bm)).col(), key = (kb * bn + arange(0, bn)).row();
    Tile ok = blocks.allowed(batch, head, query, key, seqQ, seqK);
    if (causal)
      ok = ok & (key <= query);
    Tile inside = (query < seqQ) & (key < seqK);
    Tile live = (ok & inside).to(i32);
    Scalar any = max(max(live, 1)), all = min(min(live, 1));
    // Unconditional stores at the lists' ends: the next block overwrites an
    // entry that was not kept.
    store(l.partial + nPartial, c);
    store(l.full + nFull, c);
    nPartial = nPartial + (any - all);
    nFull = nFull + all;
  });
  // The entries a walk may read ahead of its last: block 0, a valid index.
  Tile pad = arange(0, kBlockListPad);
  store((l.partial + nPartial) + pad, zeros({kBlockListPad}, i32));
  store((l.full + nFull) + pad, zeros({kBlockListPad}, i32));
  store(l.counts, nPartial);
  store(l.counts + 1, nFull);
}

Params BlockMaskConfig::params() const {
  return {{"MASK_MOD", maskMod},
          {"BLOCK_M", std::to_string(blockM)},
          {"BLOCK_N", std::to_string(blockN)},
          {"CAUSAL", causal ? "1" : "0"},
          {"TRANSPOSED", transposed ? "1" : "0"},
          {"VARLEN", varlen ? "1" : "0"},
          {"num_warps", "4"}};
}

KernelDef attentionBlockMaskKernel() {
  return {"attention_block_mask",
          "attention: a mask modifier's partial/full block lists (block-sparse attention)",
          BlockMaskConfig{"causal"}.params(), attentionBlockMask};
}

} // namespace tessera::kernels
