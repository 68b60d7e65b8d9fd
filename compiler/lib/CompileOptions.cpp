//===- CompileOptions.cpp - the compile options the environment asks for --===//
#include "tessera/CompileOptions.h"

#include <cstdlib>

namespace tessera {

CompileOptions CompileOptions::fromEnvironment() {
  CompileOptions opts;
  if (const char *dir = std::getenv("TESSERA_DUMP_DIR"))
    opts.dumpDir = dir;
  if (const char *ftz = std::getenv("TESSERA_EXP2_FTZ"))
    opts.exp2Ftz = std::string(ftz) != "0";
  return opts;
}

} // namespace tessera
