//===- main.cpp - tessera-fuzz: never abort, never hang (issue 19) --------===//
//
//   tessera-fuzz [--seed N] [--seconds S] [--target NAME]... [--out DIR]
//                [--timeout S] [--replay FILE|DIR]... [--no-skip] [--list] [-v]
//
// Each target generates text inputs from a seeded generator; each batch of
// inputs runs in a forked child, so a crash (a signal, `LLVM ERROR`, an
// exit), a hang (more than --timeout seconds of CPU time on one input, or
// no answer within four times that on the wall clock: a read that blocks)
// or unbounded memory (over the child's address-space limit) stops only
// the child.  CPU time, not the wall clock, is what tells a hang from a big
// kernel on a busy machine: ctest runs the fuzzer beside other tests, and a
// legitimate 256x256 tensor-core tile took 15 s alone and over 20 s there.
// The parent names the target and the case, writes the input under --out,
// and exits 1 at the end.  A clean refusal (tessera::Error, a diagnostic and a failed
// pass) is an expected outcome; any other exception, a wrong answer, or a
// pass output that does not parse back is a finding too.
//
// CI runs a bounded budget (tests/CMakeLists.txt); a longer search:
//   tessera-fuzz --seconds 3600 --seed $RANDOM --out /tmp/fuzz-findings
//
//===----------------------------------------------------------------------===//
#include "Fuzz.h"

#include "tessera/Pipeline.h"
#include "tessera/Support/Error.h"

#include "mlir/Transforms/Passes.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace tessera::fuzz;
namespace fs = std::filesystem;

namespace tessera::fuzz {

std::map<std::string, std::string> parseSpec(const std::string &text) {
  std::map<std::string, std::string> spec;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      spec["body"] = rest;
      break;
    }
    size_t eq = line.find('=');
    if (eq != std::string::npos)
      spec[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return spec;
}

int64_t specInt(const std::map<std::string, std::string> &spec, const std::string &key,
                int64_t otherwise) {
  auto it = spec.find(key);
  if (it == spec.end())
    return otherwise;
  return std::stoll(it->second);
}

std::string specStr(const std::map<std::string, std::string> &spec, const std::string &key,
                    const std::string &otherwise) {
  auto it = spec.find(key);
  return it == spec.end() ? otherwise : it->second;
}

} // namespace tessera::fuzz

namespace {

/// What a child tells its parent, in memory both share: the case it is on
/// (so a crash names it), how many were accepted or refused, and the
/// message of a finding that was not a crash.
struct Shared {
  volatile int64_t current;
  volatile int64_t accepted;
  volatile int64_t refused;
  volatile int64_t ran; // cases finished (a child stops at the deadline)
  char message[4096];
};

struct Case {
  std::string target;
  std::string input;
  std::string label; // "seed 1 case 17" or the corpus file
};

struct Options {
  uint64_t seed = 1;
  double seconds = 10;
  unsigned timeout = 20;
  std::string outDir;
  std::vector<std::string> targets, replay;
  bool verbose = false;
  bool noSkip = false;
};

constexpr int kFindingExit = 3;
/// The wall-clock limit per input, in multiples of --timeout (CPU seconds).
constexpr unsigned kWallFactor = 4;
/// A child may use this much address space: a pass that allocates without
/// bound fails here (and is reported) instead of swapping the machine.
constexpr rlim_t kChildAddressSpace = rlim_t(8) << 30;

/// Runs one input in the child: true when accepted.
bool runOne(const Target &t, const std::string &input, bool verbose) {
  try {
    return t.run(input);
  } catch (const Finding &) {
    throw;
  } catch (const tessera::Error &e) {
    // A clean refusal (DslError, LaunchError, ...).
    if (verbose)
      std::cerr << "refused: " << e.what() << "\n";
    return false;
  } catch (const std::exception &e) {
    throw Finding(std::string("exception that is not tessera::Error: ") + typeid(e).name() +
                  ": " + e.what());
  }
}

std::string tail(const std::string &path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > n ? "..." + s.substr(s.size() - n) : s;
}

class Runner {
public:
  Runner(const Options &opts, std::map<std::string, Target> targets)
      : opts(opts), targets(std::move(targets)) {
    void *m = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED) {
      perror("mmap");
      std::exit(2);
    }
    shared = static_cast<Shared *>(m);
  }

  /// Runs `batch` in one child; returns how many of it ran (a finding ends
  /// the child early: the cases after it are run again by the caller).
  size_t runBatch(const std::vector<Case> &batch,
                  std::chrono::steady_clock::time_point deadline =
                      std::chrono::steady_clock::time_point::max()) {
    shared->current = -1;
    shared->accepted = shared->refused = shared->ran = 0;
    shared->message[0] = 0;
    std::string errPath = (fs::temp_directory_path() /
                           ("tessera-fuzz-" + std::to_string(getpid()) + ".stderr")).string();
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      std::exit(2);
    }
    if (pid == 0)
      child(batch, errPath, deadline);
    int status = 0;
    auto start = std::chrono::steady_clock::now();
    int64_t lastCase = -2;
    auto caseStart = start;
    unsigned wall = 0; // the current case's wall-clock limit, in seconds
    // The child's alarm() catches a hang; this catches a child that blocks
    // SIGALRM or hangs in a signal handler.
    for (;;) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid)
        break;
      auto now = std::chrono::steady_clock::now();
      if (int64_t at = shared->current; at != lastCase) {
        lastCase = at, caseStart = now;
        wall = opts.timeout * kWallFactor *
               allowance(batch[at < 0 ? 0 : std::min(size_t(at), batch.size() - 1)]);
      }
      if (now - caseStart > std::chrono::seconds(wall + 5)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      usleep(2000);
    }
    accepted[batch.front().target] += shared->accepted;
    refused[batch.front().target] += shared->refused;
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (clean) {
      fs::remove(errPath);
      return size_t(shared->ran);
    }
    size_t at = shared->current < 0 ? 0 : size_t(shared->current);
    const Case &c = batch[std::min(at, batch.size() - 1)];
    unsigned limit = opts.timeout * allowance(c);
    std::string what;
    if (WIFSIGNALED(status)) {
      int sig = WTERMSIG(status);
      what = sig == SIGXCPU ? "hang: over " + std::to_string(limit) + " s of CPU time on one input"
             : sig == SIGALRM || sig == SIGKILL
                 ? "hang: no answer within " + std::to_string(limit * kWallFactor) +
                       " s (wall clock)"
                 : std::string("crash: signal ") + strsignal(sig);
    } else if (WEXITSTATUS(status) == kFindingExit) {
      what = shared->message;
    } else {
      what = "exit with status " + std::to_string(WEXITSTATUS(status)) +
             " (an abort through exit(), e.g. LLVM ERROR)";
    }
    report(c, what, tail(errPath, 1500));
    fs::remove(errPath);
    return at + 1;
  }

  void report(const Case &c, const std::string &what, const std::string &stderrTail) {
    ++findings;
    std::cout << "FINDING [" << c.target << "] " << c.label << ": " << what << "\n";
    if (!stderrTail.empty())
      std::cout << "  stderr: " << stderrTail << "\n";
    if (!opts.outDir.empty()) {
      fs::create_directories(opts.outDir);
      std::string name = c.label;
      for (char &ch : name)
        if (!std::isalnum(static_cast<unsigned char>(ch)))
          ch = '-';
      fs::path p = fs::path(opts.outDir) / (c.target + "-" + name + ".txt");
      std::ofstream(p) << "target=" << c.target << "\n" << c.input;
      std::cout << "  input written to " << p.string() << "\n";
    } else {
      std::cout << "  input:\n" << c.input << "\n";
    }
    std::cout.flush();
  }

  unsigned allowance(const Case &c) const {
    const Target &t = targets.at(c.target);
    return t.allowance ? std::max(1u, t.allowance(c.input)) : 1;
  }

  /// SIGXCPU after `seconds` more seconds of this process's CPU time (the
  /// soft limit only: a hard limit, once lowered, could not be raised again
  /// for the next input by a user other than root).
  void limitCpu(unsigned seconds) {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    rlimit lim{};
    getrlimit(RLIMIT_CPU, &lim);
    rlim_t soft = rlim_t(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1 + seconds);
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? soft : std::min(soft, lim.rlim_max);
    setrlimit(RLIMIT_CPU, &lim);
  }

  [[noreturn]] void child(const std::vector<Case> &batch, const std::string &errPath,
                          std::chrono::steady_clock::time_point deadline) {
    int fd = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0 && !opts.verbose) {
      dup2(fd, 2);
      dup2(fd, 1);
    }
    rlimit lim{kChildAddressSpace, kChildAddressSpace};
    setrlimit(RLIMIT_AS, &lim);
    // The first case always runs; the others only before the deadline, so
    // that a slow batch does not stretch the time budget.
    for (size_t i = 0; i < batch.size() && (i == 0 || std::chrono::steady_clock::now() < deadline);
         ++i) {
      shared->current = int64_t(i);
      unsigned limit = opts.timeout * allowance(batch[i]);
      limitCpu(limit);
      alarm(limit * kWallFactor);
      try {
        if (runOne(targets.at(batch[i].target), batch[i].input, opts.verbose))
          shared->accepted = shared->accepted + 1;
        else
          shared->refused = shared->refused + 1;
      } catch (const Finding &f) {
        std::snprintf(shared->message, sizeof(shared->message), "%s", f.what());
        std::fflush(nullptr);
        _exit(kFindingExit);
      }
      alarm(0);
      shared->ran = int64_t(i + 1);
    }
    std::fflush(nullptr);
    _exit(0);
  }

  const Options &opts;
  std::map<std::string, Target> targets;
  Shared *shared;
  std::map<std::string, int64_t> accepted, refused, ran;
  int findings = 0;
};

/// Checks the harness itself (by name only, not in the default order; the
/// `fuzz-harness-*` ctests): `spin` burns CPU forever and must be reported
/// as a hang by its CPU time, `block` waits forever without CPU and must be
/// reported by the wall clock.
Target harnessTarget() {
  Target t;
  t.name = "harness";
  t.summary = "checks of the harness: spin (a CPU hang), block (a hang that sleeps)";
  t.generate = [](Rng &) { return std::string("spin"); };
  t.run = [](const std::string &input) {
    if (input.rfind("block", 0) == 0)
      for (;;)
        pause();
    if (input.rfind("spin", 0) == 0)
      for (volatile uint64_t i = 0;; i = i + 1) {
      }
    return true;
  };
  return t;
}

/// A case's own seed: the run's seed, the target and the case number.
uint64_t caseSeed(uint64_t seed, const std::string &target, uint64_t n) {
  uint64_t h = 1469598103934665603ull;
  for (char c : target)
    h = (h ^ uint8_t(c)) * 1099511628211ull;
  Rng r(seed ^ h ^ (n * 0x9e3779b97f4a7c15ull));
  r.next();
  return r.next();
}

/// Cases per child: enough to spread the fork's cost, few enough that a
/// crash loses little.  The runtime targets keep their JIT's traced kernels
/// within a child.
size_t batchSize(const std::string &target) {
  return target == "opt" ? 16 : target == "dsl" ? 8 : 6;
}

int usage() {
  std::cerr << "usage: tessera-fuzz [--seed N] [--seconds S] [--target NAME]... [--out DIR]\n"
               "                    [--timeout S] [--replay FILE|DIR]... [--no-skip] [--list] [-v]\n";
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  Options opts;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(usage());
      }
      return argv[++i];
    };
    if (a == "--seed")
      opts.seed = std::stoull(value());
    else if (a == "--seconds")
      opts.seconds = std::stod(value());
    else if (a == "--timeout")
      opts.timeout = unsigned(std::stoul(value()));
    else if (a == "--target")
      opts.targets.push_back(value());
    else if (a == "--out")
      opts.outDir = value();
    else if (a == "--replay")
      opts.replay.push_back(value());
    else if (a == "--list")
      list = true;
    else if (a == "--no-skip")
      opts.noSkip = true;
    else if (a == "-v")
      opts.verbose = true;
    else
      return usage();
  }
  // Registered once, in the parent, before any fork: the registries are
  // process-wide and hold no threads.
  mlir::registerTransformsPasses();
  tessera::registerAllPasses();

  std::vector<Target> all = {optTarget(TESSERA_FUZZ_LIT_DIR), dslTarget(), scoreExprTarget()};
#ifdef TESSERA_FUZZ_RUNTIME
  all.push_back(launchTarget());
  all.push_back(attentionTarget());
#endif
  std::map<std::string, Target> byName{{"harness", harnessTarget()}};
  std::vector<std::string> order;
  for (auto &t : all) {
    if (list)
      std::cout << t.name << ": " << t.summary << "\n";
    order.push_back(t.name);
    byName[t.name] = t;
  }
  if (list)
    return 0;
  if (opts.targets.empty())
    opts.targets = order;
  for (auto &n : opts.targets)
    if (!byName.count(n)) {
      std::cerr << "unknown target '" << n << "'\n";
      return 2;
    }

  Runner runner(opts, byName);
  // Saved reproducers first: every finding fixed stays fixed.
  std::vector<Case> replayed;
  for (auto &r : opts.replay) {
    std::vector<fs::path> files;
    if (fs::is_directory(r)) {
      for (auto &e : fs::recursive_directory_iterator(r))
        if (e.is_regular_file() && e.path().extension() == ".txt")
          files.push_back(e.path());
    } else {
      files.push_back(r);
    }
    std::sort(files.begin(), files.end());
    for (auto &f : files) {
      std::ifstream in(f);
      std::string first;
      std::getline(in, first);
      std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (first.rfind("target=", 0) != 0 || !byName.count(first.substr(7))) {
        std::cerr << f.string() << ": the first line must be target=<a target>\n";
        return 2;
      }
      runner.runBatch({{first.substr(7), rest, f.string()}});
      replayed.push_back({});
    }
  }
  if (!opts.replay.empty())
    std::cout << "replayed " << replayed.size() << " saved inputs\n";

  // Then the generators, each for an equal share of the time.
  double share = opts.seconds / double(opts.targets.size());
  std::map<std::string, uint64_t> ran, skipped;
  for (auto &name : opts.targets) {
    const Target &t = byName.at(name);
    auto end = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(share));
    uint64_t next = 0, n = 0; // the next case number; cases run
    while (std::chrono::steady_clock::now() < end) {
      std::vector<Case> batch;
      std::vector<uint64_t> numbers;
      while (batch.size() < batchSize(name)) {
        uint64_t number = next++;
        Rng rng(caseSeed(opts.seed, name, number));
        std::string input = t.generate(rng);
        if (!opts.noSkip && t.knownIssue && t.knownIssue(input)) {
          ++skipped[name];
          continue;
        }
        numbers.push_back(number);
        batch.push_back({name, input,
                         "seed " + std::to_string(opts.seed) + " case " + std::to_string(number)});
      }
      size_t done = runner.runBatch(batch, end);
      n += done;
      // A finding ends its child: the cases after it run in the next one.
      if (done < batch.size())
        next = numbers[done];
    }
    ran[name] = n;
  }
  for (auto &name : opts.targets)
    std::cout << name << ": " << ran[name] << " generated inputs (" << runner.accepted[name]
              << " accepted, " << runner.refused[name] << " refused cleanly, " << skipped[name]
              << " skipped as known issues)\n";
  std::cout << runner.findings << " findings (seed " << opts.seed << ")\n";
  return runner.findings ? 1 : 0;
}
