#!/usr/bin/env bash
# ops/test.sh - the test command: installs what it needs, builds in dev mode
# and runs the whole ctest suite (unit + integration; benchmarks are separate:
# see BENCHMARKS.md). Extra arguments go to ctest, e.g. `ops/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/install-deps.sh
dir=build/test
cmake -S . -B "$dir" -DTRUEUP_DEV=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo | grep -E '^-- trueup:' || true
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure --timeout 900 -LE bench "$@"
