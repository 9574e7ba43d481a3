#!/usr/bin/env bash
# Chaos: SIGKILL the redis actuator between a side effect and its outcome (RELIABILITY.md).
#
# COMMANDS `set` commands (key chaos:k:<i>, value v<i>) wait in TRUEUP_CMD. The
# actuator runs with the test hook TRUEUP_ACTUATOR_FAULT=crash-after-execute:N
# (actuators/main.c): it SIGKILLs itself right after its N-th side effect (N
# random), before that command's outcome is published or acked. After each kill
# the test checks that the killed command's effect is in Redis and has no
# outcome, then changes its key behind trueup's back ("changed-after-kill"): a
# second execution would write v<i> again. KILLS kills, then one actuator runs to
# the end. Redis MONITOR records every write the actuator's scripts make.
#
# Checked: every command has exactly one outcome (lost: none; duplicated: more
# than one); MONITOR shows at most one SET of each command's key from a script
# (effects per command); the changed keys still hold "changed-after-kill"; each
# killed command's outcome is `noop`, "already executed (marker)".
#
# Sizes: TU_CHAOS_COMMANDS (default 40; 200 with TU_CHAOS_LONG=1), TU_CHAOS_KILLS (5; 20).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/chaos.sh"
: "${TU_BUILD:?}"
COMMANDS=${TU_CHAOS_COMMANDS:-$(chaos_size 40 200)}
KILLS=${TU_CHAOS_KILLS:-$(chaos_size 5 20)}
tu_setup
tu_start_nats
tu_start_redis
cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL" }
log: { level: info, format: text }
http: { actuator: "" }
targets:
  - name: redis
    type: redis
    url: "$REDIS_URL"
    batch: 4
    fetch_wait: 200ms
    ack_wait: 1s       # the killed command comes back after this
    timeout: 2s
YAML
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "streams apply"
tu_bg monitor redis-cli -p "$REDIS_PORT" monitor
tu_wait_for 10 "redis MONITOR" grep -q OK "$TU_TMP/monitor.log"

cid() { printf 'chaos%019d' "$1"; }
for i in $(seq 1 "$COMMANDS"); do
	"$TU_BUILD/tests/actuator_cmd" --url "$NATS_URL" --target redis --action set \
		--id "$(cid "$i")" --corr "corr$(cid "$i")" --rule chaos \
		--param "key=chaos:k:$i" --param "value=v$i" >/dev/null || tu_fail "publish command $i"
done

outcomes() {
	"$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json |
		jq -c '.message | {command_id, result, detail}'
}
is_gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$st" ] || [[ $st == Z* ]]
}

killed=()
max_n=$((COMMANDS / KILLS / 2 + 1))
for k in $(seq 1 "$KILLS"); do
	n=$((1 + RANDOM % max_n))
	tu_bg "actuator-$k" env TRUEUP_ACTUATOR_FAULT="crash-after-execute:$n" \
		"$TU_BUILD/trueup-actuator" --config "$TRUEUP_CONFIG" --target redis --instance "a$k"
	tu_wait_for 30 "actuator $k to kill itself after side effect $n" is_gone "$(tu_pid "actuator-$k")"
	wait "$(tu_pid "actuator-$k")" 2>/dev/null
	id=$(grep -o 'test hook: crashing after execute (succeeded) of command [a-z0-9]*' \
		"$TU_TMP/actuator-$k.log" | awk '{print $NF}')
	[ -n "$id" ] || tu_fail "actuator $k did not die right after a side effect"
	i=$((10#${id#chaos}))
	[ "$(tu_redis get "chaos:k:$i")" = "v$i" ] || tu_fail "kill $k: command $i has no effect"
	[ -z "$(outcomes | jq -c --arg id "$id" 'select(.command_id == $id)')" ] ||
		tu_fail "kill $k: command $i already has an outcome"
	tu_redis set "chaos:k:$i" changed-after-kill >/dev/null
	killed+=("$i")
	tu_log "kill $k: SIGKILL right after side effect $n (command $i)"
done

tu_bg actuator-final "$TU_BUILD/trueup-actuator" --config "$TRUEUP_CONFIG" --target redis \
	--instance final
all_out() { [ "$(outcomes | jq -r .command_id | sort -u | wc -l)" -eq "$COMMANDS" ]; }
tu_wait_for 60 "an outcome for each of the $COMMANDS commands" all_out
sleep 1 # a duplicate outcome would come now
tu_stop actuator-final
tu_stop monitor

outcomes >"$TU_TMP/outcomes.jsonl"
# outcomes per command id, and script SETs of each command's key ("n key" lines)
jq -r .command_id "$TU_TMP/outcomes.jsonl" | sort | uniq -c >"$TU_TMP/outcomes.count"
grep -o '\[0 lua\] "SET" "chaos:k:[0-9]*" ' "$TU_TMP/monitor.log" | awk '{print $4}' | sort |
	uniq -c >"$TU_TMP/effects.count"
lost=$((COMMANDS - $(wc -l <"$TU_TMP/outcomes.count")))
dup=$(awk '{d += $1 - 1} END {print d + 0}' "$TU_TMP/outcomes.count")
max_effects=$(awk '$1 > m {m = $1} END {print m + 0}' "$TU_TMP/effects.count")
awk '$1 > 1 {print "command key " $2 ": " $1 " effects"}' "$TU_TMP/effects.count" >&2
[ "$(wc -l <"$TU_TMP/effects.count")" -eq "$COMMANDS" ] || tu_fail "a command left no effect in MONITOR"
# The killed commands: their key still holds what was written after the kill (no second
# effect), and their one outcome is the marker's noop.
again=0
for i in "${killed[@]}"; do
	if [ "$(tu_redis get "chaos:k:$i")" != changed-after-kill ]; then
		tu_log "command $i, killed after its effect, was applied again"
		again=$((again + 1))
	fi
	jq -s -e --arg id "$(cid "$i")" 'map(select(.command_id == $id)) | length == 1
		and .[0].result == "RESULT_NOOP" and (.[0].detail | startswith("already executed (marker)"))' \
		"$TU_TMP/outcomes.jsonl" >/dev/null ||
		tu_log "command $i, killed after its effect: its outcome is not the marker's noop"
done
ok=yes
[ "$max_effects" -le 1 ] && [ "$again" -eq 0 ] || ok=no
chaos_row "actuator SIGKILL between effect and outcome" \
	"$KILLS SIGKILLs, each right after a side effect, $COMMANDS commands" \
	"$lost" "$dup outcomes" "max $max_effects (MONITOR); $again of $KILLS killed ones applied again"
chaos_verdict "$lost" "$dup" "$ok"
noops=$(jq -s '[.[] | select(.result == "RESULT_NOOP" and (.detail | startswith("already executed (marker)")))]
	| length' "$TU_TMP/outcomes.jsonl")
[ "$noops" -eq "$KILLS" ] || tu_fail "$noops marker noops, want one per kill ($KILLS)"
