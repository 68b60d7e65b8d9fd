#!/usr/bin/env bash
# Configures and builds examples/aot-softmax as a separate project and checks
# that no LLVM/MLIR path reaches its compile or link commands.  (ctest's
# example-aot-softmax-run then runs it: exit 77 without a GPU.)
set -eu
SRC=$1 AOT=$2 WORK=$3
rm -rf "$WORK"
cmake -G Ninja -S "$SRC/examples/aot-softmax" -B "$WORK" -DTESSERA_SOURCE_DIR="$SRC" \
  -DTESSERA_AOT_EXECUTABLE="$AOT" > "$WORK.configure.log"
cmake --build "$WORK" > "$WORK.build.log"
# Include paths, libraries and link lines only (build.ninja also names CMake's
# own modules such as IntelLLVM-DetermineCompiler.cmake).
if grep -qE "/usr/lib/llvm|/usr/include/llvm|libLLVM|libMLIR|-lLLVM|-lMLIR|include/mlir" \
     "$WORK/compile_commands.json" "$WORK/build.ninja"; then
  echo "FAIL: LLVM/MLIR appears on the example's include or link path"; exit 1
fi
echo "examples/aot-softmax built without LLVM/MLIR"
