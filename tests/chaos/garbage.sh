#!/usr/bin/env bash
# Chaos: malformed messages between valid ones on the processor's input (RELIABILITY.md).
#
# eventgen publishes EVENTS valid observations (as in processor_kill.sh) and
# GARBAGE malformed messages spread evenly between them on trueup.obs.> and
# trueup.hb.> (eight kinds: bytes that are not protobuf, a source or instance that
# disagrees with the subject, an invalid kind, ttl_ms 0, unsorted attributes, a scan
# marker without a phase; tests/tools/eventgen.c). One processor folds everything.
#
# Checked: every malformed message is parked once on trueup.dead.processor with a
# reason and its original stream sequence (lost: garbage not parked); no valid event
# is parked (duplicated: dead letters that are not garbage, or twice);
# trueup_dead_letters_total{origin="processor"} on /metrics counts them; and the
# valid events were all folded: the view's entities (presence, attributes, scan),
# scans and the number of drift records, commands and held deletions equal those of
# the same valid events folded without garbage (a second nats-server, `trueup replay`),
# sequences and timestamps left out.
#
# Sizes: TU_CHAOS_EVENTS (default 20000; 200000 with TU_CHAOS_LONG=1), TU_CHAOS_GARBAGE (1000).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/chaos.sh"
: "${TU_BUILD:?}"
EVENTS=${TU_CHAOS_EVENTS:-$(chaos_size 20000 200000)}
GARBAGE=${TU_CHAOS_GARBAGE:-1000}
TOTAL=$((EVENTS + GARBAGE))
tu_setup
tu_start_nats
MPORT=$(tu_free_port)
chaos_fold_config "127.0.0.1:$MPORT"
gen() { "$TU_BUILD/tests/eventgen" --events "$EVENTS" --entities $((EVENTS / 10)) --drift-pct 2 "$@"; }
gen --url "$NATS_URL" --garbage "$GARBAGE" || tu_fail "eventgen"

tu_bg processor "$TU_BUILD/trueup-processor" --config "$TRUEUP_CONFIG" --instance garbage
tu_wait_for 300 "the processor to fold all $TOTAL messages" chaos_folded "$TOTAL"
metric=$(curl -sS "http://127.0.0.1:$MPORT/metrics" |
	awk '$1 == "trueup_dead_letters_total{origin=\"processor\"}" {print $2}')
tu_stop processor

# Garbage sequences, and the dead letters' original sequences.
"$TU_BUILD/trueup" streams dump TRUEUP_EVENTS -o json |
	jq -r 'select(.msg_id | startswith("garbage.")) | .seq' | sort -n >"$TU_TMP/garbage.seq"
[ "$(wc -l <"$TU_TMP/garbage.seq")" -eq "$GARBAGE" ] || tu_fail "the stream holds $(wc -l <"$TU_TMP/garbage.seq") garbage messages"
"$TU_BUILD/trueup" streams dump TRUEUP_DEAD -o json | jq -c 'select(.subject == "trueup.dead.processor")
	| .message | {seq: .stream_seq, stream, reason, subject}' >"$TU_TMP/dead.jsonl"
jq -r .seq "$TU_TMP/dead.jsonl" | sort -n >"$TU_TMP/dead.seq"
bad=$(jq -c 'select(.stream != "TRUEUP_EVENTS" or (.reason | length) == 0 or (.seq | tonumber) == 0)' \
	"$TU_TMP/dead.jsonl" | wc -l)
[ "$bad" -eq 0 ] || tu_fail "$bad dead letters without reason, origin stream or sequence"
jq -r '.reason | sub("\"[^\"]*\""; "\"...\"")' "$TU_TMP/dead.jsonl" | sort |
	uniq -c | sort -rn | while read -r line; do tu_log "dead letters: $line"; done
lost=$(comm -23 "$TU_TMP/garbage.seq" "$TU_TMP/dead.seq" | wc -l)
dup=$(($(uniq -d "$TU_TMP/dead.seq" | wc -l) + $(comm -13 "$TU_TMP/garbage.seq" "$TU_TMP/dead.seq" | wc -l)))
[ "${metric:-0}" = "$GARBAGE" ] || tu_log "trueup_dead_letters_total{origin=\"processor\"} is ${metric:-absent}, want $GARBAGE"

# The same valid events without garbage, on another nats-server, folded by replay.
CLEAN_PORT=$(tu_free_port)
chaos_nats nats-clean "$CLEAN_PORT"
sed "s|$NATS_URL|nats://127.0.0.1:$CLEAN_PORT|" "$TRUEUP_CONFIG" >"$TU_TMP/clean.yaml"
"$TU_BUILD/trueup" -c "$TU_TMP/clean.yaml" streams apply >/dev/null || tu_fail "streams apply (clean)"
gen --url "nats://127.0.0.1:$CLEAN_PORT" || tu_fail "eventgen (clean)"
"$TU_BUILD/trueup" -c "$TU_TMP/clean.yaml" replay --view "$TU_TMP/view-clean" >/dev/null ||
	tu_fail "replay (clean)"
# What folding valid events leaves, without sequences and timestamps (they differ).
state() {
	"$TU_BUILD/trueup" view dump --view "$1" | awk '
		$1 == "entity" || $1 == "scan" { print; next }
		$1 == "drift" || $1 == "cmd" || $1 == "staged" || $1 == "bysrc" { n[$1]++ }
		END { for (k in n) print "count", k, n[k] }' |
		sed -E 's/"[a-z_]*(seq|_ns)":[0-9]+,?//g; s/,}/}/g' | sort
}
state "$TU_TMP/view-live" >"$TU_TMP/live.state"
state "$TU_TMP/view-clean" >"$TU_TMP/clean.state"
missing=$(comm -13 "$TU_TMP/live.state" "$TU_TMP/clean.state" | wc -l)
if [ "$missing" -ne 0 ]; then
	diff "$TU_TMP/live.state" "$TU_TMP/clean.state" | head -10 >&2
	tu_log "$missing records of the clean fold differ in the fold with garbage"
fi
[ "$(grep -c '^entity ' "$TU_TMP/clean.state")" -gt 0 ] || tu_fail "the clean fold has no entities"
tu_log "valid events: $(grep -c '^entity ' "$TU_TMP/live.state") entities, $(grep '^count' "$TU_TMP/live.state" | paste -sd' ')"

chaos_row "garbage on trueup.obs.> and trueup.hb.>" \
	"$GARBAGE malformed messages (8 kinds) among $EVENTS valid events" \
	"$lost garbage not parked, $missing view records short" "$dup valid events parked" \
	"n/a; dead letters counted in metrics: ${metric:-absent}"
chaos_verdict $((lost + missing)) "$dup"
[ "${metric:-0}" = "$GARBAGE" ] || tu_fail "dead letters metric ${metric:-absent}, want $GARBAGE"
