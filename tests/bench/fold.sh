#!/usr/bin/env bash
# tests/bench/fold.sh [EVENTS] - fold rate vs the JetStream ceiling with the five cases' rules
# (see fold_bench.c and BENCHMARKS.md). Starts its own nats-server.
# TU_BENCH_ROUNDS (5), TU_BENCH_ENTITIES (20000), TU_BENCH_BATCH (1024).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fold_env.sh"
: "${TU_BUILD:?}"
EVENTS=${1:-${TU_BENCH_EVENTS:-300000}}
tu_setup
tu_start_nats
fold_policy "$TU_TMP/trueup.yaml"
fold_fill "$EVENTS"
fold_machine
"$TU_BUILD/tests/fold_bench" --config "$TU_TMP/trueup.yaml" --events "$EVENTS" \
	--batch "${TU_BENCH_BATCH:-1024}" --rounds "${TU_BENCH_ROUNDS:-5}"
