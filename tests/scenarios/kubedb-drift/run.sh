#!/usr/bin/env bash
# kubedb-drift (issue 4, scenario 2): 1000 Database custom resources in the kube
# fixture, 1000 provider records in the mongo-wire fixture, 50 of them drifted
# (storage, cpu, memory, replicas) over three providers, 932 others written
# differently but equal (1Gi = 1024Mi, 500m = 0.5), one malformed custom resource,
# provider-c's API failing (503, then replies slower than the target's timeout)
# until the test lets it recover, and one late reply of provider-a (applied, then
# retried: the provider replays it by its Idempotency-Key). See README.md for what
# is checked and why.
#
#   TU_BUILD=$PWD/build TU_SRC=$PWD bash tests/scenarios/kubedb-drift/run.sh
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../lib/harness.sh"
. "$HERE/../../lib/kube.sh"
. "$HERE/../../lib/mongo.sh"
. "$HERE/../../lib/scenario.sh"
. "$HERE/providers.sh"

: "${TU_BUILD:?TU_BUILD must point at the build directory}"
for tool in jq curl openssl; do
	command -v "$tool" >/dev/null || tu_fail "$tool not installed (ops/install-deps.sh)"
done
PY=/usr/bin/python3
PROVIDERS=(provider-a provider-b provider-c)

tu_setup
tu_start_nats
"$PY" "$HERE/gen.py" "$TU_TMP" || tu_fail "gen.py"
EXP=$TU_TMP/expected.json

kube_certs
printf 'kube-token-%s\n' "$RANDOM$RANDOM" >"$TU_TMP/kube.token"
kube_start "$TU_TMP/kube-seed.json" "$(cat "$TU_TMP/kube.token")"
mongo_start "$TU_TMP/mongo-seed.json"

for p in "${PROVIDERS[@]}"; do provider_start "$p"; done

# provider-c fails from the start: two quick 503s, then every request waits 3 s (the
# target times out after 2 s) and gets a 503. Nothing a fault answers reaches MongoDB.
api provider-c POST faults '{"path": "/v1/", "kind": "503", "count": 2}' >/dev/null
api provider-c POST faults '{"path": "/v1/", "kind": "delay", "delay_ms": 3000, "status": 503, "count": 100000}' >/dev/null

# provider-a answers its first PATCH 3 s late, after applying it: trueup's try has timed out,
# and its retry carries the same Idempotency-Key, which the provider replays.
api provider-a POST faults '{"path": "/v1/", "kind": "delay", "delay_ms": 3000, "count": 1}' >/dev/null

export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
scenario_render "$HERE/trueup.yaml.in" "$TRUEUP_CONFIG" "NATS_URL=$NATS_URL" "DIR=$TU_TMP" \
	"KUBE_URL=$KUBE_URL" "KUBE_CA=$KUBE_CA" "MONGO_URI=$MONGO_URI" \
	"PROVIDER_A_URL=$URL_provider_a" "PROVIDER_B_URL=$URL_provider_b" \
	"PROVIDER_C_URL=$URL_provider_c"
T0=$SECONDS
scenario_trueup "${PROVIDERS[@]}"

# ---- helpers over what the systems and trueup say ------------------------------------------
# The drifted databases of provider $1 ("ns/name"), sorted, as a JSON array.
drifted() { jq -c --arg p "$1" '.drifted[$p] | sort' "$EXP"; }
# The last drift state per entity of rule $1: {"ns/name": "STATE_...", ...}.
last_states() {
	scenario_drift | jq -s -c --arg r "$1" '[.[] | select(.rule == $r)]
		| group_by(.entity.namespace + "/" + .entity.name)
		| map({key: (.[0].entity.namespace + "/" + .[0].entity.name), value: .[-1].state})
		| from_entries'
}
# True when every drifted database of provider $1 has a RESOLVED last event.
all_resolved() {
	local want
	want=$(drifted "$1")
	last_states "kubedb-$1" | jq -e --argjson want "$want" \
		'[$want[] as $k | .[$k]] | all(. == "STATE_RESOLVED")' >/dev/null
}
breaker_opened() { grep -c "keeps failing: breaker open" "$TU_TMP/actuator-provider-c.log"; }

# ---- 1. the healthy providers are fixed while provider-c fails -------------------------------
tu_wait_for 60 "the drifts of provider-a and provider-b to resolve" \
	eval 'all_resolved provider-a && all_resolved provider-b'
tu_log "provider-a and provider-b: every drift resolved after $((SECONDS - T0))s"
tu_wait_for 30 "provider-c's breaker to open twice (the half-open try failing too)" \
	eval '[ "$(breaker_opened)" -ge 2 ]'
tu_log "provider-c: breaker opened $(breaker_opened) times"

# While provider-c is down: none of its requests succeeded, none of its records changed,
# its drifts are open on attempt 1, and the outcomes folded so far are retryable failures.
requests provider-c >"$TU_TMP/c-down.jsonl"
jq -s -e 'length > 0 and all(.status == 503)' "$TU_TMP/c-down.jsonl" >/dev/null ||
	tu_fail "provider-c answered something but 503 while failing: $(cat "$TU_TMP/c-down.jsonl")"
mongo_docs providers databases | jq -s -c '[.[] | select(.provider == "provider-c")]' \
	>"$TU_TMP/c-records-down.json"
jq -e -n --slurpfile now "$TU_TMP/c-records-down.json" --slurpfile seed "$TU_TMP/mongo-seed.json" \
	'($seed[0].providers.databases | map(select(.provider == "provider-c")) | map(del(._id)))
	 == ($now[0] | map(del(._id)))' >/dev/null ||
	tu_fail "provider-c's records changed while its API was failing"
last_states kubedb-provider-c >"$TU_TMP/c-states-down.json"
jq -e --argjson want "$(drifted provider-c)" '(keys == $want) and ([.[]] | all(. == "STATE_OPENED"
	or . == "STATE_UPDATED"))' "$TU_TMP/c-states-down.json" >/dev/null ||
	tu_fail "provider-c's drifts are not all open: $(cat "$TU_TMP/c-states-down.json")"
tu_log "ok: provider-c down: $(jq -s length "$TU_TMP/c-down.jsonl") requests, all 503; no record changed; 16 drifts open"

PROC_PORT=$(sed -n 's/.*endpoints on port \([0-9]*\) .*/\1/p' "$TU_TMP/processor.log" | head -n 1)
[ -n "$PROC_PORT" ] || tu_fail "the processor did not say where its endpoints are"
metrics_down() {
	curl -sS "http://127.0.0.1:$PROC_PORT/metrics" >"$TU_TMP/metrics-down.txt" &&
		grep -Eq '^trueup_outcomes_total\{target="provider-c",result="failed-retryable"\} [1-9]' \
			"$TU_TMP/metrics-down.txt" &&
		grep -Eq '^trueup_drift_open\{rule="kubedb-provider-c"\} 16$' "$TU_TMP/metrics-down.txt"
}
tu_wait_for 10 "the processor's metrics to show provider-c's retryable failures and 16 open drifts" \
	metrics_down

# ---- 2. provider-c recovers; its commands, waiting in TRUEUP_CMD, go through -----------------
api provider-c DELETE faults >/dev/null
T1=$SECONDS
tu_log "provider-c recovers ($((T1 - T0))s into the run)"
tu_wait_for 60 "the drifts of provider-c to resolve" all_resolved provider-c
tu_log "provider-c: every drift resolved $((SECONDS - T1))s after it recovered"
sleep 4 # a straggler (a delayed 503 still in the fixture, a second PATCH) would show now
scenario_quiesce

# ---- 3. the systems ----------------------------------------------------------------------------
for p in "${PROVIDERS[@]}"; do requests "$p"; done >"$TU_TMP/requests.jsonl"
# A PATCH applied by the provider has status 200 and "replayed": false; a retry of it (same
# Idempotency-Key, after a reply that came too late for the target's timeout) is replayed.
for p in "${PROVIDERS[@]}"; do
	requests "$p" | jq -s -e --argjson want "$(drifted "$p")" --argjson desired "$(jq .desired "$EXP")" '
		[.[] | select(.status == 200 and .replayed == false)] as $applied
		| ($applied | map({key: .key, value: .idempotency_key}) | from_entries) as $keyof
		| ($applied | map(.key) | sort) == $want
		and ($applied | all(.method == "PATCH" and .auth and (.idempotency_key | length) > 0
			and (.body | fromjson) == $desired[.key]))
		and ([.[] | select(.replayed == true)] | all(.idempotency_key == $keyof[.key]))
		and (map(.key) | unique) == $want' >/dev/null ||
		tu_fail "$p: want exactly one applied PATCH with the desired spec per drifted database and no other database touched; got $(requests "$p" | jq -s -c 'map([.method, .key, .status, .replayed])')"
done
for p in provider-a provider-b; do
	[ "$(requests "$p" | jq -s 'map(select(.status != 200)) | length')" = 0 ] ||
		tu_fail "$p: a request to a healthy provider failed"
done
requests provider-a | jq -s -e '[.[] | select(.replayed == true)] | length == 1' >/dev/null ||
	tu_fail "provider-a: the PATCH that answered late was not retried exactly once with its key"
jq -s -e '[.[] | select(.status != 200)] | length > 0 and all(.key | test("^tenant-[0-3]/db-[0-9]{4}$"))' \
	"$TU_TMP/requests.jsonl" >/dev/null || tu_fail "provider-c's failures are missing from its log"
tu_log "ok: one applied PATCH (with the desired spec) per drifted database, on each provider ($(jq -s '[.[] | select(.replayed == true)] | length' "$TU_TMP/requests.jsonl") retries replayed by Idempotency-Key); nothing else requested"

# MongoDB: every drifted record now says what its custom resource says; every other record,
# the malformed one's included, is exactly as seeded.
mongo_docs providers databases >"$TU_TMP/records.jsonl"
jq -s -e --slurpfile exp "$EXP" --slurpfile seed "$TU_TMP/mongo-seed.json" '
	($exp[0].fields | keys) as $drifted
	| ($seed[0].providers.databases | map({key: "\(.namespace)/\(.name)", value: del(._id)})
	   | from_entries) as $before
	| map({key: "\(.namespace)/\(.name)", value: del(._id)}) | from_entries
	| (keys == ($before | keys))
	  and ([to_entries[] | select(.key as $k | $drifted | index($k) | not)
	        | .value == $before[.key]] | all)
	  and ([$drifted[] as $k | .[$k] | {storage, cpu, memory, replicas: (.replicas | tostring)}
	        == ($exp[0].desired[$k] | {storage, cpu, memory, replicas})] | all)' \
	"$TU_TMP/records.jsonl" >/dev/null ||
	tu_fail "MongoDB: drifted records not set to the desired spec, or another record changed"
tu_log "ok: MongoDB: 50 records now match their custom resources; the other 950 are untouched"

# The custom resources are only read (they are the desired state).
kube_requests | jq -e 'length > 0 and all(.method == "GET")' >/dev/null ||
	tu_fail "something other than a GET reached the kube fixture"

# ---- 4. trueup's audit trail -----------------------------------------------------------------
scenario_drift >"$TU_TMP/drift.jsonl"
for p in "${PROVIDERS[@]}"; do
	jq -s -e --arg r "kubedb-$p" --argjson want "$(drifted "$p")" '
		map(select(.rule == $r)) | group_by(.entity.namespace + "/" + .entity.name)
		| (map(.[0].entity.namespace + "/" + .[0].entity.name) | sort) == $want
		and all(.[0].state == "STATE_OPENED" and .[-1].state == "STATE_RESOLVED"
			and (map(.state) | index("STATE_ESCALATED") | not)
			and (map(.attempt) | max) == 1)' "$TU_TMP/drift.jsonl" >/dev/null ||
		tu_fail "kubedb-$p: want drift opened (attempt 1 only) and resolved for exactly the drifted databases"
done
jq -s -e --slurpfile exp "$EXP" '[.[] | .entity.namespace + "/" + .entity.name]
	| index($exp[0].malformed) | not' "$TU_TMP/drift.jsonl" >/dev/null ||
	tu_fail "the malformed custom resource was judged"
tu_log "ok: drift opened and resolved for exactly the 50 drifted databases, each on attempt 1"

"$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json |
	jq -c '.message' >"$TU_TMP/outcomes.jsonl"
# Per provider: one command per drifted database (attempt 1), whose outcomes are retryable
# failures (only if the provider failed or answered late) and then one success.
for p in "${PROVIDERS[@]}"; do
	jq -s -e --arg t "$p" --argjson want "$(drifted "$p")" 'map(select(.target == $t))
		| group_by(.command_id)
		| (map(.[0].entity.namespace + "/" + .[0].entity.name) | sort) == $want
		and all(.[-1].result == "RESULT_SUCCEEDED"
			and (.[:-1] | all(.result == "RESULT_FAILED_RETRYABLE"))
			and all(.attempt == 1))' "$TU_TMP/outcomes.jsonl" >/dev/null ||
		tu_fail "$p: want per drifted database one command, retried until one success: $(jq -c --arg t "$p" 'select(.target == $t) | [.entity.name, .command_id, .result, .delivery, .error]' "$TU_TMP/outcomes.jsonl")"
done
jq -s -e 'map(select(.target == "provider-c" and .result == "RESULT_FAILED_RETRYABLE"))
	| (map(.detail | select(test("HTTP 503"))) | length) > 0
	and (map(.error | select(test("Timeout was reached"))) | length) > 0' \
	"$TU_TMP/outcomes.jsonl" >/dev/null ||
	tu_fail "provider-c: want retryable failures from 503s and from timeouts"
tu_log "ok: provider-c: $(jq -s '[.[] | select(.target == "provider-c" and .result == "RESULT_FAILED_RETRYABLE")] | length' "$TU_TMP/outcomes.jsonl") retryable failures (503, timeouts), then one success per command, same command ids; provider-a and provider-b: $(jq -s '[.[] | select(.target != "provider-c" and .result == "RESULT_FAILED_RETRYABLE")] | length' "$TU_TMP/outcomes.jsonl") retries"

# The breaker: provider-c's opened and closed again, the others' never opened. (How many
# commands it gave back unexecuted depends on how the first fetches split them: logged only.)
grep -q "target provider-c answers again: breaker closed" "$TU_TMP/actuator-provider-c.log" ||
	tu_fail "provider-c's breaker never closed"
grep -Eq "breaker opened ([2-9]|[1-9][0-9]+) times" "$TU_TMP/actuator-provider-c.log" ||
	tu_fail "provider-c's actuator did not report its breaker opening"
for p in provider-a provider-b; do
	grep -q "breaker opened 0 times" "$TU_TMP/actuator-$p.log" ||
		tu_fail "$p's breaker opened"
done
tu_log "ok: $(grep -o 'breaker opened [0-9]* times, [0-9]* deferred' "$TU_TMP/actuator-provider-c.log")"

# The malformed custom resource: parked by the kube source, named, and never patched.
MAL=$(jq -r .malformed "$EXP")
"$TU_BUILD/trueup" streams dump TRUEUP_DEAD --filter 'trueup.dead.producer-kube' -o json |
	jq -c '.message' >"$TU_TMP/dead.jsonl"
jq -s -e --arg m "$MAL" 'length > 0 and all(.origin == "producer-kube"
	and (.reason | contains($m) and contains(".spec.storage")))' "$TU_TMP/dead.jsonl" >/dev/null ||
	tu_fail "no dead letter naming $MAL: $(head -c 600 "$TU_TMP/dead.jsonl")"
jq -s -e --arg m "$MAL" 'map(select(.key == $m)) | length == 0' "$TU_TMP/requests.jsonl" >/dev/null ||
	tu_fail "the malformed $MAL was patched"
tu_log "ok: $MAL parked on trueup.dead.producer-kube: $(jq -r .reason "$TU_TMP/dead.jsonl" | head -n 1)"
tu_log "PASS kubedb-drift in $((SECONDS - T0))s"
