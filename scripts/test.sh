#!/usr/bin/env bash
# Set up and build, then run every test: Catch2 unit tests, lit + FileCheck,
# and the ptxas check of every library kernel (skipped where ptxas is absent).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${TESSERA_JOBS:-2}"
