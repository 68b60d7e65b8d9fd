//===- Sha256.h - SHA-256 (FIPS 180-4), no dependencies -------------------===//
//
// Cache keys and entry checksums.  Self-contained so that the cache reader and
// AOT launchers link against nothing but libc.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera {

class Sha256 {
public:
  Sha256();
  Sha256 &update(const void *data, size_t n);
  Sha256 &update(std::string_view s) { return update(s.data(), s.size()); }
  /// Appends a length-prefixed field, so ("ab","c") and ("a","bc") differ.
  Sha256 &field(std::string_view s);
  std::array<uint8_t, 32> digest();
  /// Lower-case hex of the digest.
  std::string hex();

private:
  void block(const uint8_t *p);
  uint32_t h[8];
  uint8_t buf[64];
  size_t bufLen = 0;
  uint64_t total = 0;
};

/// Hex SHA-256 of `s`.
std::string sha256Hex(std::string_view s);

} // namespace tessera
