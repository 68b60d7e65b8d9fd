//===- Common.h - helpers shared by the unit tests ------------------------===//
#pragma once

#include "tessera/Compile.h"
#include "tessera/Pipeline.h"
#include "tessera/Target/PTXEmitter.h"
#include "tessera/dsl/DSL.h"

#include "mlir/IR/MLIRContext.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace tessera::test {

/// Sets TESSERA_INTERPRET=1 (JIT launches run in the CPU interpreter) for
/// one test.
struct InterpretMode {
  InterpretMode() { setenv("TESSERA_INTERPRET", "1", 1); }
  ~InterpretMode() { unsetenv("TESSERA_INTERPRET"); }
};

/// A context with every dialect and translation Tessera uses.
inline std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  return std::make_unique<mlir::MLIRContext>(registry);
}

/// The message of the tessera::Error that `fn` throws ("" if none).
template <class F> std::string errorOf(F &&fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

/// Relative L2 error of `out` against the float64 reference `ref`
/// (element `i` of `out` is `at(i)`).
template <class At> double relativeL2(const std::vector<double> &ref, At &&at) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double d = at(i) - ref[i];
    err += d * d;
    norm += ref[i] * ref[i];
  }
  return std::sqrt(err / norm);
}

/// "<this file's name>:<line>: " as DslError prints it.
inline std::string at(const char *file, int line) {
  return std::string(file) + ":" + std::to_string(line) + ": ";
}

} // namespace tessera::test
