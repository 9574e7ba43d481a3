# tests/bench/fold_env.sh - sourced by the benchmarks (fold.sh, replay.sh, latency.sh) after
# tests/lib/harness.sh: the bench policy and the stream they share.

# fold_policy OUT [TICK] [PROBE_FOR]: renders tests/bench/fold.yaml.in (the five cases' rules)
# for $NATS_URL and $TU_TMP; batch from TU_BENCH_BATCH (1024).
fold_policy() {
	local batch=${TU_BENCH_BATCH:-1024}
	sed -e "s|@NATS_URL@|$NATS_URL|g" -e "s|@DIR@|$TU_TMP|g" -e "s|@BATCH@|$batch|g" \
		-e "s|@MAX_ACK_PENDING@|$((batch * 8))|g" -e "s|@TICK@|${2:-0}|g" \
		-e "s|@PROBE_FOR@|${3:-1s}|g" "$(dirname "${BASH_SOURCE[0]}")/fold.yaml.in" >"$1" ||
		tu_fail "cannot render the bench policy"
	"$TU_BUILD/trueup" -c "$1" streams apply >/dev/null || tu_fail "streams apply"
}

# fold_fill EVENTS: eventgen --cases into TRUEUP_EVENTS (TU_BENCH_ENTITIES units, 2 % drifting),
# paced at 30 000 events/s: the fold's clock is the stream's timestamps, so the pace decides
# how many `for:` waits elapse within the stream; a fixed one keeps runs comparable.
fold_fill() {
	"$TU_BUILD/tests/eventgen" --url "$NATS_URL" --cases --events "$1" --rate 30000 \
		--entities "${TU_BENCH_ENTITIES:-20000}" --drift-pct 2 || tu_fail "eventgen --cases"
}

# The machine line every benchmark prints with its figures.
fold_machine() {
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
		"kernel $(uname -r), nats-server $(nats-server --version | awk '{print $2}'); $(date -u +%F)"
}
