#!/usr/bin/env bash
# ops/build.sh [BUILD_DIR] [cmake args...] - configures and builds trueup.
# Default build dir: build/ (dev mode: -Wall -Wextra -Werror).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DTRUEUP_DEV=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
