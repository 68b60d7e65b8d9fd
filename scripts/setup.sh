#!/usr/bin/env bash
# Installs what Tessera builds with (Debian 12 packages) and builds it in
# ./build.  Idempotent: packages already present are not reinstalled, and
# ccache keeps rebuilds short.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(cmake ninja-build g++ ccache llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
          libzstd-dev libfmt-dev catch2 libdlpack-dev python3-numpy)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "== installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# PyTorch (CPU) for the Python package's autograd test; best effort: the
# test is skipped without it.
if ! dpkg -s python3-torch >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-torch > /dev/null 2>&1 ||
    echo "== python3-torch not installed: the python-autograd test will be skipped"
fi

BUILD_DIR=${TESSERA_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir
fi
# Two jobs: a TU with MLIR's conversion headers takes ~2.7 GB of RAM.
cmake --build "$BUILD_DIR" -j "${TESSERA_JOBS:-2}"
