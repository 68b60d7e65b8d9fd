//===- ParseGuard.cpp - what MLIR's parser must not be given --------------===//
#include "tessera/Support/ParseGuard.h"

#include <map>
#include <vector>

namespace tessera {
namespace {

bool isIdChar(char c) {
  // MLIR's suffix-id: letters, digits and $ . _ -
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '$' || c == '.' || c == '_' || c == '-';
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

/// The decimal number at text[i...] (saturating), advancing i.
unsigned long long number(std::string_view text, size_t &i) {
  unsigned long long n = 0;
  for (; i < text.size() && isDigit(text[i]); ++i)
    n = n > (~0ull - 9) / 10 ? ~0ull : n * 10 + unsigned(text[i] - '0');
  return n;
}

} // namespace

std::optional<std::string> checkParserInput(std::string_view text) {
  struct Use {
    std::string name;
    unsigned long long index;
    size_t offset;
  };
  std::map<std::string, unsigned long long, std::less<>> declared; // %name:K, the largest K
  std::vector<Use> uses;                                           // %name#N, N large
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') { // a comment
      while (i < text.size() && text[i] != '\n')
        ++i;
    } else if (c == '"') { // a string: `%` inside is not a value
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\')
          ++i;
      ++i;
    } else if (c == '%') {
      size_t start = i++;
      while (i < text.size() && isIdChar(text[i]))
        ++i;
      std::string_view name = text.substr(start + 1, i - start - 1);
      if (i + 1 < text.size() && (text[i] == ':' || text[i] == '#') && isDigit(text[i + 1])) {
        bool isUse = text[i] == '#';
        ++i;
        unsigned long long n = number(text, i);
        if (!isUse) {
          auto &k = declared[std::string(name)];
          k = std::max(k, n);
        } else if (n >= kMaxUncheckedResultNumber) {
          uses.push_back({std::string(name), n, start});
        }
      }
    } else {
      ++i;
    }
  }
  for (const Use &u : uses) {
    auto it = declared.find(u.name);
    unsigned long long have = it == declared.end() ? 0 : it->second;
    if (u.index < have)
      continue;
    size_t line = 1, col = 1;
    for (size_t j = 0; j < u.offset; ++j, ++col)
      if (text[j] == '\n')
        ++line, col = 0;
    return std::to_string(line) + ":" + std::to_string(col) + ": error: %" + u.name + "#" +
           std::to_string(u.index) + " refers to result " + std::to_string(u.index) +
           ", but no operation declares that many results (" +
           (have ? "the most is %" + u.name + ":" + std::to_string(have)
                 : "nothing declares %" + u.name + ":N") +
           "); not parsed, since MLIR's parser would first reserve memory for " +
           std::to_string(u.index) + " results";
  }
  return std::nullopt;
}

} // namespace tessera
