//===- Error.h - the exception Tessera raises at its API boundary ---------===//
#pragma once

#include <stdexcept>
#include <string>

namespace tessera {

/// Every failure Tessera reports to its caller: a DSL misuse (the message
/// starts with the user's `file:line:`), an invalid kernel, a failed
/// compilation.  Raised only in Tessera's own frames, never through MLIR or
/// LLVM (which are built without exceptions).
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace tessera
