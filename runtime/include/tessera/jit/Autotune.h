//===- Autotune.h - pick the fastest config of a kernel per device --------===//
//
//   jit::Autotuner tuner(jit);
//   tuner.launch(kernels::findKernel("softmax"), {{"INT_MULTIPLE", "16"}},
//                [&](const dsl::Params &) { return rt::Grid{rows}; },
//                {out, in, cols, cols, cols});
//
// The first launch for a key (device name, driver version, kernel and config
// space, the values of the kernel's tuning-key arguments) compiles every
// config of the kernel's space in parallel, records those that do not
// compile or fit as pruned, times the rest (CUDA events, warm-up, median;
// host clock in the interpreter), and stores the result on disk; later
// launches, in this process or another, reuse it.  TESSERA_AUTOTUNE_FORCE=1
// re-tunes.  Progress goes to stderr when it is a terminal.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/jit/Jit.h"

#include <map>
#include <mutex>

namespace tessera::jit {

struct Trial {
  dsl::Params params;
  double ms = -1;      ///< median time of a short burst, -1 if pruned
  double sustainedMs = -1; ///< the finalists' time under benchMillis (else -1)
  std::string pruned;  ///< why it was not timed
};

struct Choice {
  dsl::Params params; ///< the winning config (over the fixed parameters)
  double ms = 0;
  bool fromDisk = false;
  std::vector<Trial> trials; ///< empty when read from disk
};

/// Median run time of `fn` in ms over `reps` runs after `warmup`: CUDA
/// events around each run on a GPU, the host clock in the interpreter.
double medianMillis(const std::function<void()> &fn, int warmup = 2, int reps = 10);

/// How benchMillis times: as triton.testing.do_bench (the anchors'
/// benchmark), so that both sides of a comparison are measured alike.
struct BenchOptions {
  double warmupMs = 50; ///< run this long first (clocks ramp up from idle)
  double repMs = 200;   ///< then time runs for about this long
  int minReps = 10, maxReps = 2000;
  bool flushL2 = true;  ///< overwrite a 256 MB buffer before each timed run (untimed)
};

/// Median run time of `fn` in ms, do_bench style: warm-up and repetitions
/// sized by time from a first estimate, the L2 cache flushed before each
/// timed run so inputs come from HBM, each run between its own CUDA events.
/// In the interpreter: medianMillis.
double benchMillis(const std::function<void()> &fn, const BenchOptions &opt = {});

class Autotuner {
public:
  /// Results live in `dir` (default $TESSERA_AUTOTUNE_DIR, else the cache
  /// folder's autotune/ subfolder).
  explicit Autotuner(Jit &jit, std::string dir = "");

  /// The best config of `def` (its `configs` over `fixed`) for these
  /// arguments; tunes on first use of the key.  `grid` gives the launch grid
  /// of a config.
  const Choice &tune(const dsl::KernelDef &def, const dsl::Params &fixed,
                     const std::function<rt::Grid(const dsl::Params &)> &grid,
                     const std::vector<rt::Arg> &args);
  /// tune(), then launch the winner.
  void launch(const dsl::KernelDef &def, const dsl::Params &fixed,
              const std::function<rt::Grid(const dsl::Params &)> &grid,
              const std::vector<rt::Arg> &args);

  /// The on-disk key of a tuning problem (exposed for tests).
  std::string key(const dsl::KernelDef &def, const dsl::Params &fixed,
                  const std::vector<rt::Arg> &args) const;
  const std::string &dir() const { return dir_; }

private:
  Jit &jit;
  std::string dir_;
  std::mutex mu;
  std::map<std::string, Choice> memo;
};

} // namespace tessera::jit
