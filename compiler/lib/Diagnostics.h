//===- Diagnostics.h - MLIR diagnostics to tessera::Error; stage dumps ----===//
//
// Private to compiler/lib.  MLIR and LLVM are built without exceptions:
// diagnostics raised inside them are collected by a handler and turned into
// tessera::Error only after the MLIR/LLVM call has returned.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tessera/Dialect/Tile/Transforms/Transforms.h"
#include "tessera/Support/Error.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace tessera {

/// Collects error diagnostics, with their user locations, while MLIR runs.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext *ctx)
      : handler(ctx, [this](mlir::Diagnostic &d) {
          if (d.getSeverity() == mlir::DiagnosticSeverity::Error) {
            if (!text.empty())
              text += "\n";
            text += tile::formatFileLine(d.getLocation()) + d.str();
          }
          return mlir::success();
        }) {}
  /// Throws the collected diagnostics (or `fallback`) as a tessera::Error.
  [[noreturn]] void raise(const std::string &fallback) {
    throw Error(text.empty() ? fallback : text);
  }

private:
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

/// Writes `text` to `dir`/`name` (a stage dump); nothing when `dir` is empty.
void writeDumpFile(const std::string &dir, const std::string &name, llvm::StringRef text);

} // namespace tessera
