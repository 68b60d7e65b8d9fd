//===- Cache.cpp - the on-disk kernel cache -------------------------------===//
#include "tessera/rt/Cache.h"
#include "tessera/Support/Sha256.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace tessera::rt {

static constexpr const char *kMagic = "TESSERA-CACHE 2\n";

CacheOptions CacheOptions::fromEnvironment() {
  CacheOptions o;
  if (const char *d = std::getenv("TESSERA_CACHE_DIR"); d && *d)
    o.dir = d;
  else if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
    o.dir = std::string(x) + "/tessera";
  else if (const char *h = std::getenv("HOME"); h && *h)
    o.dir = std::string(h) + "/.cache/tessera";
  else
    o.dir = "/tmp/tessera-cache";
  if (const char *off = std::getenv("TESSERA_CACHE_DISABLE"))
    o.enabled = std::string(off).empty() || std::string(off) == "0";
  return o;
}

DiskCache::DiskCache(CacheOptions opts) : opts(std::move(opts)) {}

std::string DiskCache::pathOf(const std::string &key) const { return opts.dir + "/" + key + ".tkc"; }

namespace {
void putField(std::string &out, const std::string &s) {
  out += std::to_string(s.size());
  out += '\n';
  out += s;
  out += '\n';
}

/// Reads a field written by putField at `pos`; false if malformed.
bool getField(const std::string &in, size_t &pos, std::string &out) {
  size_t nl = in.find('\n', pos);
  if (nl == std::string::npos || nl == pos || nl - pos > 19)
    return false;
  uint64_t n = 0;
  for (size_t i = pos; i < nl; ++i) {
    if (in[i] < '0' || in[i] > '9')
      return false;
    n = n * 10 + uint64_t(in[i] - '0');
  }
  if (nl + 1 + n + 1 > in.size() || in[nl + 1 + n] != '\n')
    return false;
  out.assign(in, nl + 1, n);
  pos = nl + 1 + n + 1;
  return true;
}

std::string encodeInfo(const KernelInfo &k) {
  std::ostringstream os;
  os << k.name << '\n' << k.threadsPerBlock << ' ' << k.staticSharedBytes << ' '
     << k.dynamicSharedBytes << ' ' << k.params.size() << '\n';
  for (const auto &p : k.params)
    os << p.name << ' ' << p.type << ' ' << p.alignment << ' ' << p.multipleOf << ' ' << p.unit
       << '\n';
  os << k.tensorMaps.size() << '\n';
  for (const auto &m : k.tensorMaps)
  {
    os << m.base << ' ' << m.rank << ' ' << m.swizzle;
    for (unsigned i = 0; i < m.rank; ++i)
      os << ' ' << m.dims[i] << ' ' << m.box[i] << ' ' << (i ? m.strides[i - 1] : -1);
    os << '\n';
  }
  return os.str();
}

bool decodeInfo(const std::string &s, KernelInfo &k) {
  std::istringstream is(s);
  size_t n = 0;
  if (!std::getline(is, k.name) || !(is >> k.threadsPerBlock >> k.staticSharedBytes >>
                                     k.dynamicSharedBytes >> n) || n > 4096)
    return false;
  k.params.resize(n);
  for (auto &p : k.params)
    if (!(is >> p.name >> p.type >> p.alignment >> p.multipleOf >> p.unit))
      return false;
  if (!(is >> n) || n > 64)
    return false;
  k.tensorMaps.resize(n);
  for (auto &m : k.tensorMaps) {
    if (!(is >> m.base >> m.rank >> m.swizzle) || m.base >= k.params.size() || m.rank < 2 ||
        m.rank > TensorMapSpec::kMaxRank)
      return false;
    for (unsigned i = 0; i < m.rank; ++i) {
      int stride = -1;
      if (!(is >> m.dims[i] >> m.box[i] >> stride))
        return false;
      if (i)
        m.strides[i - 1] = stride;
    }
  }
  return true;
}
} // namespace

std::string DiskCache::encode(const CacheEntry &e) {
  std::string payload;
  putField(payload, e.target);
  putField(payload, encodeInfo(e.info));
  putField(payload, e.ptx);
  putField(payload, e.cubin);
  return std::string(kMagic) + std::to_string(payload.size()) + " " + sha256Hex(payload) + "\n" +
         payload;
}

std::optional<CacheEntry> DiskCache::decode(const std::string &file) {
  size_t magicLen = std::char_traits<char>::length(kMagic);
  if (file.compare(0, magicLen, kMagic) != 0)
    return std::nullopt;
  size_t nl = file.find('\n', magicLen);
  if (nl == std::string::npos)
    return std::nullopt;
  std::istringstream header(file.substr(magicLen, nl - magicLen));
  uint64_t length = 0;
  std::string sum;
  if (!(header >> length >> sum) || file.size() - (nl + 1) != length)
    return std::nullopt; // truncated or padded
  std::string payload = file.substr(nl + 1);
  if (sha256Hex(payload) != sum)
    return std::nullopt; // corrupt
  CacheEntry e;
  std::string info;
  size_t pos = 0;
  if (!getField(payload, pos, e.target) || !getField(payload, pos, info) ||
      !getField(payload, pos, e.ptx) || !getField(payload, pos, e.cubin) ||
      pos != payload.size() || !decodeInfo(info, e.info))
    return std::nullopt;
  return e;
}

std::optional<CacheEntry> DiskCache::load(const std::string &key) const {
  if (!opts.enabled)
    return std::nullopt;
  std::ifstream in(pathOf(key), std::ios::binary);
  if (!in)
    return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return decode(ss.str());
}

bool DiskCache::store(const std::string &key, const CacheEntry &entry) const {
  if (!opts.enabled)
    return false;
  std::error_code ec;
  std::filesystem::create_directories(opts.dir, ec);
  // A name no other thread or process uses: pid, thread, a random number.
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  std::string tmp = pathOf(key) + ".tmp." + std::to_string(getpid()) + "." +
                    std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())) +
                    "." + std::to_string(counter++) + "." + std::to_string(rd());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return false;
    std::string data = encode(entry);
    out.write(data.data(), std::streamsize(data.size()));
    out.flush();
    if (!out) {
      out.close();
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::filesystem::rename(tmp, pathOf(key), ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

} // namespace tessera::rt
