#!/usr/bin/env bash
# The spine end to end (issue 2 items 5-8): the ghost-worker case on real
# nats-server and redis-server. trueup must remove k3s-worker-3 from Redis
# (it is not declared), set the counter to 3 with compare-and-set, record
# drift -> commands -> outcomes, resolve both drifts only after observations
# confirm the fixes, and `trueup replay` must derive exactly the same drift
# events and commands (ids and bytes) as the live run.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ghost.sh"
: "${TU_BUILD:?}" "${TU_SRC:?}"
ghost_start enforce

fixed() {
	[ "$(tu_redis EXISTS autoscaler:workers:k3s-worker-3)" = 0 ] &&
		[ "$(tu_redis GET autoscaler:workers:next_number)" = 3 ] &&
		[ "$(ghost_status | jq '.drift | length')" -eq 0 ] &&
		[ "$(ghost_status | jq .drift_resolved)" -ge 2 ]
}
tu_wait_for 60 "worker-3 removed, counter 3, both drifts resolved" fixed

# The systems themselves: only what was wrong changed.
[ "$(tu_redis HGET autoscaler:workers:k3s-worker-1 status)" = ready ] || tu_fail "worker-1 touched"
[ "$(tu_redis HGET autoscaler:workers:k3s-worker-2 ip)" = 10.0.0.12 ] || tu_fail "worker-2 touched"

ghost_quiesce

# The audit trail in the streams.
cmds=$("$TU_BUILD/trueup" streams dump TRUEUP_CMD -o json)
[ "$(echo "$cmds" | jq -s length)" -eq 2 ] || tu_fail "expected 2 commands, got: $cmds"
echo "$cmds" | jq -s -e 'map(select(.message.action == "del") | .message.params[] | select(.key == "key" and .value == "autoscaler:workers:k3s-worker-3")) | length == 1' >/dev/null \
	|| tu_fail "no del of worker-3"
echo "$cmds" | jq -s -e 'map(select(.message.action == "set") | select(.message.preconditions[0].op == "OP_EQUALS" and .message.preconditions[0].value == "7" and (.message.params[] | select(.key == "value") | .value) == "3")) | length == 1' >/dev/null \
	|| tu_fail "set is not a compare-and-set of 7 to 3"
outs=$("$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json)
[ "$(echo "$outs" | jq -s '[.[] | select(.message.result == "RESULT_SUCCEEDED")] | length')" -eq 2 ] \
	|| tu_fail "expected 2 succeeded outcomes, got: $outs"
drift=$("$TU_BUILD/trueup" drift -o json)
for rule in ghost-worker worker-counter; do
	states=$(echo "$drift" | jq -r --arg r "$rule" 'select(.message.rule == $r) | .message.state' | paste -sd,)
	case $states in
	STATE_OPENED,*STATE_UPDATED*,STATE_RESOLVED) ;;
	*) tu_fail "$rule drift went $states" ;;
	esac
	corr=$(echo "$drift" | jq -r --arg r "$rule" 'select(.message.rule == $r) | .correlation_id' | sort -u)
	[ "$(echo "$corr" | wc -l)" -eq 1 ] || tu_fail "$rule has several correlation ids: $corr"
	# one correlation id links drift, command and outcome
	"$TU_BUILD/trueup" audit "$corr" -o json | jq -r .stream | sort -u | paste -sd, \
		| grep -qx 'TRUEUP_CMD,TRUEUP_DRIFT,TRUEUP_EVENTS' || tu_fail "audit of $corr incomplete"
	# it starts with the observation that opened the drift
	# it starts with the fact that opened the drift (an observation or a scan's end)
	"$TU_BUILD/trueup" audit "$corr" -o json | head -1 |
		jq -e '.stream == "TRUEUP_EVENTS" and (.type == "trueup.v1.ObservedState" or .type == "trueup.v1.ScanMarker")' \
		>/dev/null || tu_fail "audit of $corr does not start with the fact that opened it"
done
# inspect: the entity now, its drift, its history
out=$("$TU_BUILD/trueup" inspect worker/default/k3s-worker-2 -o json) || tu_fail "inspect"
echo "$out" | jq -e '.entity.sources | length == 2 and all(.[]; .present)' >/dev/null ||
	tu_fail "inspect: $out"
echo "$out" | jq -e '.history | length >= 2' >/dev/null || tu_fail "inspect history: $out"
out=$("$TU_BUILD/trueup" inspect worker/default/k3s-worker-3 -o json) || tu_fail "inspect gone"
echo "$out" | jq -e '.entity == null and (.history | map(.deleted) | any)' >/dev/null ||
	tu_fail "inspect of the removed worker: $out"
for _ in 1; do :
done

# Replay: the same drift events and commands, byte for byte.
"$TU_BUILD/trueup" replay --view "$TU_TMP/replayed" -o json >"$TU_TMP/replay.jsonl" || tu_fail replay
for s in TRUEUP_DRIFT TRUEUP_CMD; do
	stream_pairs "$s" >"$TU_TMP/live.$s"
	jq -r --arg s "$s" 'select(.stream == $s) | [.msg_id, .payload] | @tsv' "$TU_TMP/replay.jsonl" | sort >"$TU_TMP/replay.$s"
	cmp -s "$TU_TMP/live.$s" "$TU_TMP/replay.$s" || {
		diff "$TU_TMP/live.$s" "$TU_TMP/replay.$s" >&2
		tu_fail "replay derives different $s messages"
	}
done
# --until: a prefix of the stream derives a prefix of the output
first_cmd_seq=$(jq -r 'select(.stream == "TRUEUP_CMD") | .seq' "$TU_TMP/replay.jsonl" | head -1)
"$TU_BUILD/trueup" replay --view "$TU_TMP/replayed-early" --until "$((first_cmd_seq - 1))" -o json \
	>"$TU_TMP/early.jsonl" || tu_fail "replay --until"
[ "$(jq -s '[.[] | select(.stream == "TRUEUP_CMD")] | length' "$TU_TMP/early.jsonl")" -eq 0 ] \
	|| tu_fail "replay --until $((first_cmd_seq - 1)) derived a command"
# --until TIME: stop at the timestamp of the event just before the first command's cause
t=$("$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --from "$((first_cmd_seq - 1))" -o json | head -1 | jq -r .time)
"$TU_BUILD/trueup" replay --view "$TU_TMP/replayed-time" --until "$t" -o json \
	>"$TU_TMP/early-time.jsonl" 2>"$TU_TMP/early-time.log" || tu_fail "replay --until $t"
grep -q "up to sequence $((first_cmd_seq - 1)) " "$TU_TMP/early-time.log" ||
	tu_fail "replay --until $t did not stop at sequence $((first_cmd_seq - 1)): $(cat "$TU_TMP/early-time.log")"
# --from: only what later events derive
"$TU_BUILD/trueup" replay --view "$TU_TMP/replayed-from" --from "$first_cmd_seq" -o json \
	>"$TU_TMP/from.jsonl" || tu_fail "replay --from"
jq -e --argjson s "$first_cmd_seq" 'select(.seq < $s)' "$TU_TMP/from.jsonl" >/dev/null &&
	tu_fail "replay --from printed messages derived before $first_cmd_seq"
[ "$(wc -l <"$TU_TMP/from.jsonl")" -gt 0 ] || tu_fail "replay --from printed nothing"
# --policy --diff: what if ghost-worker had only detected? Its command goes, nothing comes.
sed 's/^    mode: enforce$/    mode: detect/' "$TRUEUP_CONFIG" >"$TU_TMP/detect.yaml"
grep -q 'mode: detect' "$TU_TMP/detect.yaml" || tu_fail "what-if policy not made"
"$TU_BUILD/trueup" replay --view "$TU_TMP/whatif" --policy "$TU_TMP/detect.yaml" --diff -o json \
	>"$TU_TMP/diff.jsonl" || tu_fail "replay --diff"
[ "$(jq -s '[.[] | select(.diff == "-" and .stream == "TRUEUP_CMD")] | length' "$TU_TMP/diff.jsonl")" -eq 2 ] ||
	tu_fail "the diff should drop both commands: $(cat "$TU_TMP/diff.jsonl")"
[ "$(jq -s '[.[] | select(.diff == "+" and .stream == "TRUEUP_CMD")] | length' "$TU_TMP/diff.jsonl")" -eq 0 ] ||
	tu_fail "a detect-only policy derived commands"
[ "$(jq -s '[.[] | select(.diff == "+" and .stream == "TRUEUP_DRIFT")] | length' "$TU_TMP/diff.jsonl")" -gt 0 ] ||
	tu_fail "the what-if's own drift events are missing from the diff"
tu_log "PASS"
