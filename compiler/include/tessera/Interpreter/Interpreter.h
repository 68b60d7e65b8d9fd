//===- Interpreter.h - run `tile` kernels on the CPU ----------------------===//
//
// Executes a traced kernel (tile IR before layout assignment) over host
// buffers, one program instance after another, with the GPU's semantics:
// masked loads yield `other` and masked stores write nothing, f16/bf16
// results are rounded to nearest even after every operation, `dot`
// accumulates in f32, i32 arithmetic wraps.  Every memory access is checked:
// an address outside every buffer passed in, or misaligned, stops the run
// with the DSL line, the program id and the offending element.
//
//   interp::run(*module, {grid}, {interp::Buffer{out.data(), bytes, "f16"}, n});
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Support/Error.h"

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace tessera::interp {

/// An out-of-bounds or misaligned access, a NaN found by the NaN check, or
/// an unsupported construct; the message starts with the DSL's `file:line:`.
class InterpError : public Error {
public:
  using Error::Error;
};

/// Host memory standing in for a device pointer argument.
struct Buffer {
  void *data;
  size_t bytes;
  std::string dtype; ///< element type, "" to skip the check
};

using Arg = std::variant<Buffer, int32_t, int64_t, float>;

struct Grid {
  unsigned x = 1, y = 1, z = 1;
};

struct Options {
  /// Stop at the first operation that produces a NaN or an infinity (from
  /// finite inputs) and name it.
  bool checkNonFinite = false;
};

/// Runs the module's one `tile.kernel` on every program of `grid`.
void run(mlir::ModuleOp module, Grid grid, const std::vector<Arg> &args, Options opts = {});

} // namespace tessera::interp
