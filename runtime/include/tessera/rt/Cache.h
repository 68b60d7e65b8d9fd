//===- Cache.h - the on-disk kernel cache ---------------------------------===//
//
// One file per compiled kernel, named by its key (the SHA-256 of everything
// that determines the code: see jit/Jit.cpp):
//
//   TESSERA-CACHE 1\n
//   <payload length> <payload sha256>\n
//   <payload>
//
// The payload holds the target, the kernel metadata, the PTX and (once a GPU
// has assembled it) the cubin.  Writers write a temporary file in the same
// folder and rename it over the entry, so readers never see a partial file;
// a reader that finds a short, corrupt or foreign entry treats it as a miss
// and the entry is rebuilt.  No LLVM: a program that only loads cached
// kernels links this and the driver layer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Support/KernelInfo.h"

#include <optional>
#include <string>

namespace tessera::rt {

struct CacheEntry {
  std::string target;
  KernelInfo info;
  std::string ptx;
  std::string cubin; ///< empty until assembled for `target`
};

/// Where and whether to cache.
struct CacheOptions {
  /// $TESSERA_CACHE_DIR, else $XDG_CACHE_HOME/tessera, else ~/.cache/tessera.
  std::string dir;
  /// false with TESSERA_CACHE_DISABLE=1: nothing is read or written on disk.
  bool enabled = true;
  static CacheOptions fromEnvironment();
};

class DiskCache {
public:
  explicit DiskCache(CacheOptions opts = CacheOptions::fromEnvironment());
  bool enabled() const { return opts.enabled; }
  const std::string &dir() const { return opts.dir; }
  /// The entry for `key`, or nullopt if absent, unreadable, corrupt, not a
  /// regular file (a FIFO, a device) or larger than any entry can be.
  std::optional<CacheEntry> load(const std::string &key) const;
  /// Writes the entry atomically.  Failures (read-only folder, full disk)
  /// are not errors: the kernel simply stays uncached, and the first one in
  /// a process prints one warning to stderr.
  bool store(const std::string &key, const CacheEntry &entry) const;
  std::string pathOf(const std::string &key) const;

  /// Serialized entry and its inverse (exposed for tests).
  static std::string encode(const CacheEntry &entry);
  static std::optional<CacheEntry> decode(const std::string &file);

private:
  CacheOptions opts;
};

} // namespace tessera::rt
