#!/usr/bin/env bash
# Crash test (issue: the spine, item 10). Folds >= 100k events while the
# processor is killed with SIGKILL at >= 10 random points and restarted, then
# checks that
#   - the final view equals an uninterrupted fold of the same stream (an LMDB
#     dump, the outbox left out), the uninterrupted fold being `trueup replay`,
#     which runs the same fold code without publishing;
#   - TRUEUP_CMD and TRUEUP_DRIFT hold exactly the messages the uninterrupted
#     fold derives (same ids, same bytes), none twice.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/replay_check.sh"
: "${TU_BUILD:?}"
EVENTS=${TU_CRASH_EVENTS:-200000}
KILLS=${TU_CRASH_KILLS:-12}
BIN=$TU_BUILD
tu_setup
tu_start_nats

cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL" }
log: { level: warn, format: text }
http: { processor: "" }
processor:
  view: $TU_TMP/view-live
  tick: 0            # no ticks: the stream ends where eventgen stops
  batch: 512
  max_ack_pending: 4096
streams:
  events: { duplicates: 30m }
  drift: { duplicates: 30m }
  cmd: { duplicates: 30m }
YAML
tu_eventgen_policy "$TU_TMP" >>"$TU_TMP/trueup.yaml"
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
"$BIN/trueup" streams apply >/dev/null || tu_fail "streams apply"
"$BIN/tests/eventgen" --url "$NATS_URL" --events "$EVENTS" --entities 20000 --drift-pct 2 \
	|| tu_fail "eventgen"

applied() {
	"$BIN/trueup" status -o json 2>/dev/null | jq -r '.applied_seq // 0'
}

kills=0
during=0
a=0
# Kill after a random 50..249 ms of each run (start-up included), until
# KILLS kills have landed while events were still being folded.
while [ "$during" -lt "$KILLS" ] && [ "$a" -lt "$EVENTS" ]; do
	i=$((kills + 1))
	tu_bg "processor-$i" "$BIN/trueup-processor" --config "$TRUEUP_CONFIG" --instance "crash-$i"
	pid=$(tu_pid "processor-$i")
	sleep "0.$(printf '%03d' $((RANDOM % 200 + 50)))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	kills=$i
	a=$(applied)
	if [ "$a" -lt "$EVENTS" ]; then during=$((during + 1)); fi
	tu_log "kill $kills: SIGKILL at applied sequence $a of $EVENTS"
done
[ "$during" -ge "$KILLS" ] || tu_fail "only $during kills landed while folding (wanted $KILLS)"

tu_bg processor-final "$BIN/trueup-processor" --config "$TRUEUP_CONFIG" --instance crash-final
done_folding() {
	local s
	s=$("$BIN/trueup" status -o json 2>/dev/null) || return 1
	[ "$(echo "$s" | jq -r .applied_seq)" -eq "$EVENTS" ] && [ "$(echo "$s" | jq -r .outbox)" -eq 0 ]
}
tu_wait_for 300 "processor to fold all $EVENTS events and drain its outbox" done_folding
tu_stop processor-final

tu_replay_check "$TRUEUP_CONFIG" "$TU_TMP/view-live"
tu_log "PASS: $EVENTS events, $kills SIGKILLs ($during while folding)"
