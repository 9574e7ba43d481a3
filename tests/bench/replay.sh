#!/usr/bin/env bash
# tests/bench/replay.sh [EVENTS] - replay rate vs the live fold rate (BENCHMARKS.md): the same
# stream as fold.sh (eventgen --cases, the bench policy), then TU_BENCH_ROUNDS (3) rounds of the
# live fold (fold_bench --fold-only: the processor from a fresh view) and `trueup replay` into a
# fresh view (its output to /dev/null), each timed by itself. Starts its own nats-server.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fold_env.sh"
: "${TU_BUILD:?}"
EVENTS=${1:-${TU_BENCH_EVENTS:-300000}}
ROUNDS=${TU_BENCH_ROUNDS:-3}
tu_setup
tu_start_nats
fold_policy "$TU_TMP/trueup.yaml"
fold_fill "$EVENTS"
fold_machine
ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
	fold=$("$TU_BUILD/tests/fold_bench" --config "$TU_TMP/trueup.yaml" --events "$EVENTS" \
		--rounds 1 --fold-only | sed -n 's/^round 1: fold .* \([0-9]*\) events\/s$/\1/p')
	[ -n "$fold" ] || tu_fail "fold_bench printed no rate"
	rm -rf "$TU_TMP/replay"
	line=$("$TU_BUILD/trueup" -c "$TU_TMP/trueup.yaml" replay --view "$TU_TMP/replay" \
		2>&1 >/dev/null | grep '^replay: folded') || tu_fail "trueup replay"
	replay=$(sed -n 's/.*s (\([0-9]*\)\/s).*/\1/p' <<<"$line")
	ratio=$(awk -v a="$replay" -v b="$fold" 'BEGIN { printf "%.2f", a / b }')
	ratios+=("$ratio")
	echo "round $r: live fold (processor, fetch thread, publishes) $fold events/s;" \
		"trueup replay (one thread, prints) $replay events/s; replay/fold $ratio"
	echo "  $line"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "ratio replay/live fold: $median (median of $ROUNDS rounds)"
