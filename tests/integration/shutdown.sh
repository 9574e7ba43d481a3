#!/usr/bin/env bash
# Graceful shutdown of the processor (issue 5, item 2). SIGTERM and SIGINT while
# it folds a large backlog: it stops fetching, gives back the events it fetched
# but did not fold (nak, so they come again at once rather than after ack_wait),
# drains its outbox and exits 0 within processor.shutdown_grace; with NATS gone
# the drain is cut at the grace and it still exits 0. A restarted processor then
# folds the rest: the view and the output streams equal an uninterrupted fold.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/replay_check.sh"
: "${TU_BUILD:?}"
BIN=$TU_BUILD
EVENTS=${TU_SHUTDOWN_EVENTS:-120000}
GRACE=3000
tu_setup
tu_start_nats

cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL", max_reconnect: 0 }
log: { level: info, format: text }
http: { processor: "" }
processor:
  view: $TU_TMP/view
  tick: 0
  batch: 256
  max_ack_pending: 2048
  ack_wait: 60s
  shutdown_grace: ${GRACE}ms
YAML
tu_eventgen_policy "$TU_TMP" >>"$TU_TMP/trueup.yaml"
CFG=$TU_TMP/trueup.yaml
"$BIN/trueup" streams apply --config "$CFG" >/dev/null || tu_fail "streams apply"
"$BIN/tests/eventgen" --url "$NATS_URL" --events "$EVENTS" --entities 10000 --drift-pct 3 \
	2>/dev/null || tu_fail "eventgen"
applied() { # the view's applied sequence; 0 before the view exists
	local a
	a=$("$BIN/trueup" status --config "$CFG" -o json 2>/dev/null | jq -r '.applied_seq // 0')
	echo "${a:-0}"
}

# stop_during_fold N SIGNAL: starts run N, signals it mid-fold, checks the exit.
stop_during_fold() {
	local n=$1 sig=$2 pid t0 t1 rc=0 start
	start=$(applied) # before the start: a fast machine folds the whole stream in a second
	tu_bg "proc-$n" "$BIN/trueup-processor" --config "$CFG" --instance "sd-$n"
	pid=$(tu_pid "proc-$n")
	tu_wait_for 30 "run $n to fold" bash -c "[ \$($BIN/trueup status --config $CFG -o json | jq .applied_seq) -gt $start ]"
	t0=$(date +%s%3N)
	kill -"$sig" "$pid"
	wait "$pid" || rc=$?
	t1=$(date +%s%3N)
	[ "$rc" = 0 ] || tu_fail "run $n exited $rc after SIG$sig"
	[ $((t1 - t0)) -le $((GRACE + 2000)) ] \
		|| tu_fail "run $n took $((t1 - t0)) ms to stop (grace $GRACE ms)"
	grep -q 'stopping: [0-9]* fetched events given back' "$TU_TMP/proc-$n.log" \
		|| tu_fail "run $n: no stop summary"
	tu_log "run $n: SIG$sig at applied $(applied) of $EVENTS; exit 0 after $((t1 - t0)) ms; $(grep -o 'stopping: [0-9]* fetched events given back' "$TU_TMP/proc-$n.log")"
}

stop_during_fold 1 TERM
outbox=$("$BIN/trueup" status --config "$CFG" -o json | jq .outbox)
[ "$outbox" = 0 ] || tu_fail "the outbox holds $outbox messages after a graceful stop"
stop_during_fold 2 INT
outbox=$("$BIN/trueup" status --config "$CFG" -o json | jq .outbox)
[ "$outbox" = 0 ] || tu_fail "the outbox holds $outbox messages after SIGINT"

# NATS gone: the drain cannot finish; the processor still exits 0 within the grace.
start=$(applied)
tu_bg proc-3 "$BIN/trueup-processor" --config "$CFG" --instance sd-3
tu_wait_for 30 "run 3 to fold" bash -c "[ \$($BIN/trueup status --config $CFG -o json | jq .applied_seq) -gt $start ]"
tu_stop nats TERM
t0=$(date +%s%3N)
kill -TERM "$(tu_pid proc-3)"
rc=0
wait "$(tu_pid proc-3)" || rc=$?
t1=$(date +%s%3N)
[ "$rc" = 0 ] || tu_fail "run 3 (NATS gone) exited $rc"
[ $((t1 - t0)) -le $((GRACE + 3000)) ] || tu_fail "run 3 took $((t1 - t0)) ms to stop without NATS"
tu_log "run 3: NATS stopped, then SIGTERM: exit 0 after $((t1 - t0)) ms"

# The rest is folded by a new run; nothing lost, nothing twice.
mkdir -p "$TU_TMP/nats"
tu_bg nats2 nats-server -js -sd "$TU_TMP/nats" -a 127.0.0.1 -p "$NATS_PORT"
tu_wait_port "$NATS_PORT" 100 || tu_fail "nats-server did not restart"
tu_bg proc-4 "$BIN/trueup-processor" --config "$CFG" --instance sd-4
tu_wait_for 120 "run 4 to fold all $EVENTS events" tu_done_folding "$CFG" "$EVENTS"
tu_stop proc-4 TERM
tu_replay_check "$CFG" "$TU_TMP/view"
tu_log "PASS: SIGTERM, SIGINT and SIGTERM without NATS: exit 0 within the grace; nothing lost or doubled"
