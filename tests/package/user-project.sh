#!/usr/bin/env bash
# Issue 20: Tessera used from a project outside its tree.
#  1. `cmake --install` this build into a fresh prefix;
#  2. configure examples/user-project against the *installed* tree
#     (find_package(Tessera COMPONENTS Jit)), build it: its own DSL kernel
#     JIT-compiled (user_jit, links Tessera::Jit) and AOT-compiled through
#     tessera_add_kernels ... PLUGIN (user_aot, links Tessera::Runtime only);
#  3. run user_jit in the interpreter (checked against float64) and user_aot
#     (on a GPU; exit 77 without one), and check that no LLVM/MLIR library
#     reaches user_aot's link line;
#  4. configure a parent project that adds the source tree with
#     add_subdirectory() and links Tessera::Jit: the LLVM/MLIR include paths
#     must reach its compile command (configure only: building it would build
#     Tessera again).
# Usage: user-project.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
SRC=$1 BUILD=$2 WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
cmake -G Ninja -S "$SRC/examples/user-project" -B "$WORK/user" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" > "$WORK/user-configure.log"
inside="($SRC|$BUILD)/(compiler|dsl|kernels|runtime|tools|cmake)/"
if grep -qE "$inside" "$WORK/user/build.ninja"; then
  echo "FAIL: the user project reaches into Tessera's source or build tree:"
  grep -oE "[^ ]*$inside[^ ]*" "$WORK/user/build.ninja" | sort -u | head -5
  exit 1
fi
cmake --build "$WORK/user" > "$WORK/user-build.log"
TESSERA_INTERPRET=1 TESSERA_CACHE_DIR="$WORK/cache" "$WORK/user/user_jit"
rc=0
"$WORK/user/user_aot" || rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || { echo "FAIL: user_aot exit $rc"; exit 1; }
if grep -A2 "^build user_aot:" "$WORK/user/build.ninja" | grep -qE "LLVM|MLIR|llvm-22"; then
  echo "FAIL: LLVM/MLIR on user_aot's link line"; exit 1
fi
echo "user_aot: links Tessera::Runtime only (no LLVM/MLIR)"
# The installed Python package finds the installed libtessera.so by itself.
if /usr/bin/python3 -c "import numpy" 2> /dev/null; then
  TESSERA_INTERPRET=1 PYTHONPATH="$WORK/prefix/lib/python" /usr/bin/python3 - "$WORK/prefix" <<'PY'
import sys
import numpy as np
import tessera
assert tessera.__file__.startswith(sys.argv[1]), tessera.__file__
q = np.random.default_rng(1).standard_normal((1, 8, 1, 64)).astype(np.float16)
o, lse = np.empty_like(q), np.empty((1, 1, 8), np.float32)
tessera.attention_forward(q, q, q, o, lse, causal=True)
assert np.abs(o[0, 0, 0].astype(np.float32) - q[0, 0, 0]).max() < 1e-3  # row 0 sees key 0 only
print("installed python package: ok (" + tessera.__file__ + ")")
PY
fi

mkdir -p "$WORK/parent"
cat > "$WORK/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(parent LANGUAGES C CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
add_subdirectory("$SRC" tessera)
add_executable(user_jit "$SRC/examples/user-project/main.cpp" "$SRC/examples/user-project/kernels.cpp")
target_link_libraries(user_jit PRIVATE Tessera::Jit)
CMAKE
cmake -G Ninja -S "$WORK/parent" -B "$WORK/parent/build" -DMLIR_DIR="${MLIR_DIR:-/usr/lib/llvm-22/lib/cmake/mlir}" \
  > "$WORK/parent-configure.log"
python3 - "$WORK/parent/build/compile_commands.json" "$SRC" <<'PY'
import json, re, sys
path, src = sys.argv[1], sys.argv[2]
cmds = [c for c in json.load(open(path)) if c["file"].endswith("user-project/main.cpp")]
assert cmds, "no compile command for the parent's main.cpp"
cmd = cmds[0]["command"]
for need in (src + "/compiler/include", src + "/runtime/include", src + "/kernels/include"):
    if need not in cmd:
        sys.exit(f"FAIL: {need} missing from the parent's compile command: {cmd}")
if not re.search(r"-isystem \S*llvm\S*/include", cmd):
    sys.exit(f"FAIL: no LLVM/MLIR include path in the parent's compile command: {cmd}")
print("add_subdirectory: Tessera::Jit carries Tessera's and LLVM/MLIR's include paths")
PY
if [ -d "$WORK/parent/build/tessera/tests" ]; then
  echo "FAIL: add_subdirectory built Tessera's tests"; exit 1
fi
echo "user project: ok"
