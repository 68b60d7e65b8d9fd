//===- ParseGuard.h - what MLIR's parser must not be given ----------------===//
//
// MLIR's textual parser (LLVM 22) has inputs it cannot refuse cleanly: for a
// result reference `%r#N` to a value not yet defined it sizes its table of
// forward references to N + 1 entries before it checks N, so `%r#2147483648`
// asks for tens of GB and ends in `LLVM ERROR: out of memory` (an abort;
// mlir-opt does the same).  Tools that hand user text to the parser
// (tessera-opt) run this check first.  No LLVM here: it is a scan of the text.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tessera {

/// A reason the text must not reach MLIR's parser, as "LINE:COL: error: message";
/// nullopt when it may.  Refuses a result reference `%name#N` only where N
/// is at least kMaxUncheckedResultNumber and no `%name:K` with K > N
/// declares that many results anywhere in the text: such a reference is
/// invalid whatever the parser would say, so no valid input is refused.
std::optional<std::string> checkParserInput(std::string_view text);

/// Below this, an invalid result number is left to MLIR's own diagnostic
/// (its table costs at most a few MB).
inline constexpr unsigned long long kMaxUncheckedResultNumber = 1u << 16;

} // namespace tessera
