//===- Fuzz.h - tessera-fuzz's targets and their text inputs --------------===//
//
// Every fuzz case is one text input: the generator writes it in the parent
// process (no MLIR there, so forking stays safe), a forked child runs it.  The
// same text, saved under tests/fuzz/corpus/<target>/, replays a finding
// without the generator, so a reproducer stays valid when the generator
// changes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::fuzz {

/// splitmix64: small, seedable, the same on every platform (std::
/// distributions are not, and a case must regenerate from its seed).
class Rng {
public:
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n); 0 when n is 0.
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <class T> const T &pick(const std::vector<T> &v) { return v[below(v.size())]; }
  double uniform() { return double(next() >> 11) / double(1ull << 53); }

private:
  uint64_t s;
};

/// What a case found that is not a crash: a wrong answer, a pass output that
/// does not parse back, an exception that is not tessera::Error.
struct Finding : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Target {
  std::string name;
  std::string summary;
  /// Writes case `rng`'s input; called in the parent.
  std::function<std::string(Rng &)> generate;
  /// Runs one input in the child: returns normally when it was accepted,
  /// throws tessera::Error (or returns false) for a clean refusal, throws
  /// Finding for anything wrong.  Crashes and hangs are caught by the parent.
  std::function<bool(const std::string &)> run;
  /// The skip list: the name of a known, unfixed finding this input would
  /// hit (generated cases so named are skipped unless --no-skip), or null.
  std::function<const char *(const std::string &)> knownIssue;
  /// How many times --timeout this input may take (1 when unset or 0):
  /// inputs that are slow by nature, not hung, such as a tensor-core kernel
  /// on one warp (a whole block's tiles per thread, over a megabyte of
  /// straight-line PTX).
  std::function<unsigned(const std::string &)> allowance;
};

/// `key=value` lines of an input (the text after the first blank line, if
/// any, under the key "body").
std::map<std::string, std::string> parseSpec(const std::string &text);
int64_t specInt(const std::map<std::string, std::string> &spec, const std::string &key,
                int64_t otherwise = 0);
std::string specStr(const std::map<std::string, std::string> &spec, const std::string &key,
                    const std::string &otherwise = "");

/// The targets, in the order they run.  `litDir` holds the lit inputs the
/// `opt` target mutates.
Target optTarget(const std::string &litDir);
Target dslTarget();
Target scoreExprTarget();
#ifdef TESSERA_FUZZ_RUNTIME
Target launchTarget();
Target attentionTarget();
#endif

} // namespace tessera::fuzz
