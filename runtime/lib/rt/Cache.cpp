//===- Cache.cpp - the on-disk kernel cache -------------------------------===//
#include "tessera/rt/Cache.h"
#include "tessera/Support/Sha256.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace tessera::rt {

static constexpr const char *kMagic = "TESSERA-CACHE 2\n";
/// No entry is larger (a cubin is a few MB): anything bigger is not ours.
static constexpr off_t kMaxEntryBytes = off_t(1) << 30;

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
  // Only a regular file of bounded size is read: a FIFO would block, a link
  // to a device would never end.  O_NONBLOCK makes opening a FIFO return at
  // once; fstat then tells what was opened.
  int fd = ::open(pathOf(key).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  struct stat st;
  std::string data;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxEntryBytes;
  if (ok) {
    data.resize(size_t(st.st_size));
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = ::read(fd, data.data() + got, data.size() - got);
      if (n <= 0)
        break;
      got += size_t(n);
    }
    data.resize(got); // shorter than stat said: decode rejects it
  }
  ::close(fd);
  if (!ok)
    return std::nullopt;
  return decode(data);
}

/// One warning per process when the cache cannot be written: every kernel
/// then compiles again in every process, which the user should know.
static void warnUnwritable(const std::string &dir, const std::string &why) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::fprintf(stderr,
                 "tessera: warning: cannot write the kernel cache in %s (%s); kernels will be "
                 "compiled again in every process (set TESSERA_CACHE_DIR to a writable folder, "
                 "or TESSERA_CACHE_DISABLE=1)\n",
                 dir.c_str(), why.c_str());
  });
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
    if (!out) {
      warnUnwritable(opts.dir, ec ? ec.message() : std::strerror(errno));
      return false;
    }
    std::string data = encode(entry);
    out.write(data.data(), std::streamsize(data.size()));
    out.flush();
    if (!out) {
      out.close();
      std::filesystem::remove(tmp, ec);
      warnUnwritable(opts.dir, "write failed (disk full?)");
      return false;
    }
  }
  std::filesystem::rename(tmp, pathOf(key), ec);
  if (ec) {
    warnUnwritable(opts.dir, ec.message());
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

} // namespace tessera::rt
