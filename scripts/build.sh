#!/usr/bin/env bash
# Configures and builds roentgen into a build folder (default build/; binaries in build/bin/).
#   scripts/build.sh [build-dir] [extra cmake arguments...]
# ROENTGEN_CMAKE_ARGS in the environment adds more cmake arguments (CI uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${ROENTGEN_CMAKE_ARGS:-} "$@"
cmake --build "$build_dir" -j "$(nproc)"
