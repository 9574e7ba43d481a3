#!/usr/bin/env bash
# tests/bench/latency.sh [SECONDS] - detection latency under a steady background load (see
# latency_bench.c and BENCHMARKS.md): a real trueup-processor with the bench policy (the five
# cases' rules; the measured rule kubedb-provider-a with `for: 0`), eventgen --cases at
# TU_BENCH_RATE (1000) events/s in the background, one probe every 100 ms for SECONDS (30).
# Starts its own nats-server.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fold_env.sh"
: "${TU_BUILD:?}"
SECONDS_=${1:-${TU_BENCH_SECONDS:-30}}
RATE=${TU_BENCH_RATE:-1000}
INTERVAL_MS=100
tu_setup
tu_start_nats
fold_policy "$TU_TMP/trueup.yaml" 1s 0s
tu_bg processor "$TU_BUILD/trueup-processor" --config "$TU_TMP/trueup.yaml"
# Background: enough events for a warm-up, the probe window and the wait for the last commands.
tu_bg load "$TU_BUILD/tests/eventgen" --url "$NATS_URL" --cases --rate "$RATE" \
	--entities 2000 --drift-pct 2 --events $((RATE * (SECONDS_ + 40)))
sleep 5 # warm-up: the first full scans of both sources are folded
fold_machine
"$TU_BUILD/tests/latency_bench" --config "$TU_TMP/trueup.yaml" --rate "$RATE" \
	--interval-ms "$INTERVAL_MS" --probes $((SECONDS_ * 1000 / INTERVAL_MS)) ||
	tu_fail "latency_bench"
kill -0 "$(tu_pid processor)" 2>/dev/null || tu_fail "the processor exited"
