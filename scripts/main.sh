#!/usr/bin/env bash
# The main job: set up and build, then compile every library kernel (the
# attention forward among them) from its DSL source to PTX for sm_80 and
# sm_90a, and report compile time, PTX size and what `ptxas -v` says
# (registers, shared memory, spills).  Running the kernels on a GPU comes
# with the runtime (see README, "Status").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
exec "$BUILD_DIR/tools/tessera-kernels/tessera-kernels" --target sm_80 --target sm_90a "$@"
