#!/usr/bin/env bash
# tests/bench/yardstick.sh [N] - the seed's own yardstick (BENCHMARKS.md): N database spec
# reconciles (default 1000) against a Kubernetes API with 50 ms latency per call and one
# provider failing; the seed's improved design promises ~100 s, the goal is <= 3 s, with
# every rate limit respected (the fixtures' observed request rates are reported).
#
# The data and the policy are the kubedb-drift scenario's (tests/scenarios/kubedb-drift:
# N Database custom resources in the kube fixture, the providers' records in the mongo
# fixture, 5 % drifted over provider-a, -b and -c, quantities written differently but
# equal, one malformed resource; tests/bench/yardstick.yaml.in), with every fixture
# taking TU_BENCH_LATENCY_MS (50) per call: the kube API, MongoDB (the producer's finds
# and the providers' own writes) and the three provider APIs. provider-c fails all along
# (every request held 3 s, then 503: the target times out after 2 s). Each round starts
# from fresh servers, data and streams; the clock starts when trueup's parts are started
# and stops at the JetStream time of the last RESOLVED drift event of provider-a's and
# provider-b's databases: every fix applied and confirmed by a MongoDB scan that began
# after it. Checked each round: exactly one applied PATCH per drifted database of a and
# b (nothing else patched), none on c. Reported: the time (median), its parts, how often
# c's breaker opened meanwhile (c's first timeouts take 2 s each, so with one actuator the
# round may end before the third), and per fixture the peak requests in any one second
# against its limit (a fixture logs a request when it answers it: c's held requests are
# not counted until they end).
#
#   TU_BUILD=$PWD/build TU_SRC=$PWD tests/bench/yardstick.sh [N]
#   TU_BENCH_SHORT=1: one round (the bench-short form, ~20 s); TU_BENCH_ROUNDS (default 3)
#   TU_BENCH_ACTUATORS=K: K actuators per provider sharing its 20/s (20/K each; default 1)
HERE=$(cd "$(dirname "$0")" && pwd)
TU_SRC=${TU_SRC:-$(cd "$HERE/../.." && pwd)}
. "$HERE/../lib/harness.sh"
. "$HERE/../lib/kube.sh"
. "$HERE/../lib/mongo.sh"
. "$HERE/../lib/scenario.sh"
. "$HERE/../scenarios/kubedb-drift/providers.sh"
. "$HERE/scale_lib.sh"
: "${TU_BUILD:?TU_BUILD must point at the build directory}"

N=${1:-${TU_BENCH_N:-1000}}
ROUNDS=${TU_BENCH_ROUNDS:-3}
bench_short && ROUNDS=1
LAT=${TU_BENCH_LATENCY_MS:-50}
ACT=${TU_BENCH_ACTUATORS:-1}
RATE_TOTAL=20 BURST_TOTAL=5 # each provider's limit, shared by its actuators
RATE=$((RATE_TOTAL / ACT)) BURST=$(((BURST_TOTAL + ACT - 1) / ACT)) BATCH=$((16 / ACT))
[ "$RATE" -ge 1 ] || tu_fail "TU_BENCH_ACTUATORS=$ACT: more actuators than requests per second"
PY=/usr/bin/python3
PROVIDERS=(provider-a provider-b provider-c)

tu_setup
"$PY" "$HERE/yardstick_gen.py" "$TU_TMP/data" "$N" || tu_fail "yardstick_gen.py"
EXP=$TU_TMP/data/expected.json
kube_certs
printf 'kube-token-%s\n' "$RANDOM$RANDOM" >"$TU_TMP/kube.token"
# The custom resources are only read: one kube fixture serves every round.
KUBE_ARGS="--latency-ms $LAT" kube_start "$TU_TMP/data/kube-seed.json" "$(cat "$TU_TMP/kube.token")"

# JetStream times (ISO, ns digits) -> ms since the epoch, in jq.
JQ_MS='def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:29] | tonumber / 1000000);'
drift_events() { "$TU_BUILD/trueup" drift -o json 2>/dev/null | jq -c "$JQ_MS"'{t: (.time | ms), m: .message}'; }
all_fixed() {
	drift_events | jq -s -e --slurpfile exp "$EXP" '
		[$exp[0].drifted["provider-a", "provider-b"][]] as $want
		| map(select(.m.rule == "kubedb-provider-a" or .m.rule == "kubedb-provider-b"))
		| group_by(.m.entity.namespace + "/" + .m.entity.name)
		| map(select(.[-1].m.state == "STATE_RESOLVED") | .[0].m.entity.namespace + "/" + .[0].m.entity.name)
		| sort == ($want | sort)' >/dev/null
}
# peak_rate: seconds (one per line) -> "count peak-in-any-1s"
peak_rate() {
	sort -g | awk '{t[NR] = $1} END {j = 1; p = 0; for (i = 1; i <= NR; i++) {
		while (t[i] - t[j] >= 1) j++; if (i - j + 1 > p) p = i - j + 1 }
		printf "%d %d", NR, p}'
}

echo "machine: $(bench_machine)"
echo "N = $N databases ($(jq '[.drifted[]] | add | length' "$EXP") drifted), latency $LAT ms per call, $ACT actuator(s) per provider ($RATE/s, burst $BURST each), $ROUNDS rounds"
TIMES=()
for ((r = 1; r <= ROUNDS; r++)); do
	rm -rf "$TU_TMP/nats" "$TU_TMP/view" "$TU_TMP/mongo-commands.jsonl"
	tu_start_nats
	MONGO_ARGS="--latency-ms $LAT" mongo_start "$TU_TMP/data/mongo-seed.json"
	for p in "${PROVIDERS[@]}"; do
		provider_start "$p"
		api "$p" POST latency "{\"ms\": $LAT}" >/dev/null
	done
	api provider-c POST faults '{"path": "/v1/", "kind": "delay", "delay_ms": 3000, "status": 503, "count": 1000000}' >/dev/null
	kube_ctl DELETE requests >/dev/null
	export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
	scenario_render "$HERE/yardstick.yaml.in" "$TRUEUP_CONFIG" "NATS_URL=$NATS_URL" "DIR=$TU_TMP" \
		"KUBE_URL=$KUBE_URL" "KUBE_CA=$KUBE_CA" "MONGO_URI=$MONGO_URI" \
		"PROVIDER_A_URL=$URL_provider_a" "PROVIDER_B_URL=$URL_provider_b" \
		"PROVIDER_C_URL=$URL_provider_c" "RATE=$RATE" "BURST=$BURST" "ACTUATORS=$ACT" "BATCH=$BATCH"

	T0=$(($(date +%s%N) / 1000000))
	"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "trueup streams apply"
	tu_bg processor "$TU_BUILD/trueup-processor" --config "$TRUEUP_CONFIG" --instance p1
	for p in "${PROVIDERS[@]}"; do
		for ((i = 1; i <= ACT; i++)); do
			tu_bg "actuator-$p-$i" "$TU_BUILD/trueup-actuator" --config "$TRUEUP_CONFIG" \
				--target "$p" --instance "a-$p-$i"
		done
	done
	tu_bg producer "$TU_BUILD/trueup-producer" --config "$TRUEUP_CONFIG"
	tu_wait_for 120 "every drift of provider-a and provider-b to resolve" all_fixed
	drift_events >"$TU_TMP/drift-$r.jsonl"

	# The time and its parts, from JetStream's timestamps and the providers' logs.
	END=$(jq -s '[.[] | select((.m.rule == "kubedb-provider-a" or .m.rule == "kubedb-provider-b")
		and .m.state == "STATE_RESOLVED") | .t] | max | round' "$TU_TMP/drift-$r.jsonl")
	OPENED=$(jq -s '[.[] | select(.m.state == "STATE_OPENED") | .t] | min | round' "$TU_TMP/drift-$r.jsonl")
	for p in "${PROVIDERS[@]}"; do requests "$p" | jq -c --arg p "$p" '. + {p: $p}'; done >"$TU_TMP/req-$r.jsonl"
	read -r FIRST_PATCH LAST_PATCH < <(jq -s -r '[.[] | select(.p != "provider-c" and .status == 200
		and .replayed == false) | .at * 1000] | "\(min | round) \(max | round)"' "$TU_TMP/req-$r.jsonl")
	MS=$((END - T0))
	TIMES+=("$MS")

	# Exactly one applied PATCH per drifted database of a and b, nothing else; none on c.
	for p in "${PROVIDERS[@]}"; do
		jq -s -e --arg p "$p" --slurpfile exp "$EXP" '
			[.[] | select(.p == $p and .status == 200 and .replayed == false) | .key] | sort
			== (if $p == "provider-c" then [] else ($exp[0].drifted[$p] | sort) end)' \
			"$TU_TMP/req-$r.jsonl" >/dev/null ||
			tu_fail "round $r: $p: want one applied PATCH per drifted database (none on provider-c): $(jq -c --arg p "$p" 'select(.p == $p) | [.key, .status, .replayed]' "$TU_TMP/req-$r.jsonl" | head -40)"
	done

	# Observed request rates, from start to the end of the round, against the limits.
	since=$(awk -v t="$T0" 'BEGIN {printf "%.3f", t / 1000}')
	kube=$(kube_requests | jq -r --argjson s "$since" '.[] | select(.t >= $s) | .t' | peak_rate)
	mongo=$(jq -r --argjson s "$since" 'select(.t >= $s and (.cmd == "find" or .cmd == "getMore")) | .t' \
		"$MONGO_LOG" | peak_rate)
	rates="kube API $kube (limit 20/s, burst 40); MongoDB finds $mongo (limit 20/s)"
	for p in "${PROVIDERS[@]}"; do
		rates="$rates; $p $(jq -r --arg p "$p" 'select(.p == $p) | .at' "$TU_TMP/req-$r.jsonl" |
			peak_rate) (limit 20/s, burst 5)"
	done
	scenario_quiesce
	C_REQ=$(jq -s '[.[] | select(.p == "provider-c")] | length' "$TU_TMP/req-$r.jsonl")
	C_BRK=$(sed -n 's/.*breaker opened \([0-9]*\) times.*/\1/p' "$TU_TMP"/actuator-provider-c-*.log |
		awk '{s += $1} END {print s + 0}')
	echo "round $r: start -> every fix of provider-a and -b confirmed: $MS ms (first drift opened at $((OPENED - T0)) ms, applied PATCHes $((FIRST_PATCH - T0))..$((LAST_PATCH - T0)) ms, last confirmed $MS ms); provider-c meanwhile: $C_REQ requests (each 3 s, then 503), none applied, breaker opened $C_BRK times"
	echo "round $r: requests (total, peak in any 1 s): $rates"
	for p in "${PROVIDERS[@]}"; do tu_stop "api-$p"; done
	tu_stop mongo
	tu_stop nats
done
echo "--- $N databases, $LAT ms per call, one provider failing: median of $ROUNDS rounds ---"
echo "start -> every fix confirmed: $(bench_median "${TIMES[@]}") ms (goal <= 3000 ms; the seed's improved design: ~100 s)"
