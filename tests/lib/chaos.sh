# tests/lib/chaos.sh - what the chaos suite (tests/chaos, RELIABILITY.md) and the
# crash test (tests/integration/crash.sh) share. Source after harness.sh; it
# sources replay_check.sh (and sets BIN to TU_BUILD for it).
#
# Sizes and the table:
#   chaos_size SHORT LONG        prints SHORT, or LONG when TU_CHAOS_LONG=1 (the issue's
#                                full sizes); an explicit env knob of the test wins over both
#   chaos_row SCENARIO INJECTED LOST DUPLICATED EFFECTS
#                                prints the scenario's table row on stdout and the log, and
#                                appends it to $TU_CHAOS_TABLE when that names a file
#   chaos_verdict LOST DUP [EFFECTS_OK]
#                                fails the test unless LOST and DUP are 0 (and EFFECTS_OK
#                                is "yes" when given)
#
# More nats-servers:
#   chaos_nats NAME PORT         starts (tu_bg NAME) a nats-server with JetStream on PORT,
#                                its store in $TU_TMP/NAME, and waits for the port;
#                                `chaos_nats nats "$NATS_PORT"` after `tu_stop nats` restarts
#                                the harness's server with the same store and port
#
# A fold killed again and again (eventgen fills TRUEUP_EVENTS; a presence rule in
# enforce mode derives drift and commands; no actuator):
#   chaos_fold_config [LISTEN]   writes $TU_TMP/trueup.yaml (view $TU_TMP/view-live; the
#                                processor's metrics on LISTEN, default none), exports
#                                TRUEUP_CONFIG, runs `trueup streams apply`
#   chaos_feed EVENTS ENTITIES SECS
#                                eventgen's stream of EVENTS observations over ENTITIES
#                                workers (2 % drift): the first half at once (a backlog),
#                                the rest paced over SECS seconds (in the background), so
#                                kills land while events are still arriving however fast
#                                the fold is; chaos_fed waits for it and fails if it failed
#   chaos_applied                the view's applied sequence (0 if none)
#   chaos_kill_processor EVENTS KILLS [MIN_MS SPAN_MS]
#                                starts the processor and SIGKILLs it after MIN_MS +
#                                random(SPAN_MS) ms, until KILLS kills landed while events
#                                were still being folded (chaos_feed keeps them coming);
#                                sets CHAOS_KILLS (all kills) and CHAOS_DURING; fails if
#                                folding ended first
#   chaos_folded SEQ             true once the view applied SEQ and its outbox is empty
#   chaos_fold_rest EVENTS       one more processor: folds the rest and drains its outbox
# then `tu_replay_compare "$TRUEUP_CONFIG" "$TU_TMP/view-live"` (replay_check.sh) counts
# what the killed fold lost or duplicated against an uninterrupted one.

. "$(dirname "${BASH_SOURCE[0]}")/replay_check.sh"
BIN=${BIN:-${TU_BUILD:-}}

chaos_size() {
	if [ "${TU_CHAOS_LONG:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi
}

chaos_row() {
	local row
	row=$(printf '| %s | %s | %s | %s | %s |' "$@")
	echo "$row"
	tu_log "chaos: $row"
	if [ -n "${TU_CHAOS_TABLE:-}" ]; then echo "$row" >>"$TU_CHAOS_TABLE"; fi
}

chaos_verdict() {
	[ "$1" -eq 0 ] || tu_fail "$1 lost"
	[ "$2" -eq 0 ] || tu_fail "$2 duplicated"
	[ "${3:-yes}" = yes ] || tu_fail "more than one effect for some command"
}

chaos_nats() {
	local name=$1 port=$2
	mkdir -p "$TU_TMP/$name"
	tu_bg "$name" nats-server -js -sd "$TU_TMP/$name" -a 127.0.0.1 -p "$port"
	tu_wait_port "$port" 100 || tu_fail "nats-server $name did not start on port $port"
}

chaos_fold_config() {
	cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL" }
log: { level: warn, format: text }
http: { processor: "${1:-}" }
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
	"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "streams apply"
}

chaos_feed() {
	local events=$1 entities=$2 secs=$3
	tu_bg eventgen "$TU_BUILD/tests/eventgen" --url "$NATS_URL" --events "$events" \
		--entities "$entities" --drift-pct 2 --burst $((events / 2)) \
		--rate $(((events - events / 2) / secs + 1))
}

chaos_fed() {
	wait "$(tu_pid eventgen)" || tu_fail "eventgen (paced) failed: $(tail -3 "$TU_TMP/eventgen.log")"
}

chaos_applied() {
	local a
	a=$("$TU_BUILD/trueup" status -o json 2>/dev/null | jq -r '.applied_seq // 0')
	echo "${a:-0}" # no view yet: killed before it was created
}

chaos_kill_processor() {
	local events=$1 kills=$2 min_ms=${3:-50} span_ms=${4:-200}
	local a=0 i pid ms
	CHAOS_KILLS=0
	CHAOS_DURING=0
	while [ "$CHAOS_DURING" -lt "$kills" ] && [ "$a" -lt "$events" ]; do
		i=$((CHAOS_KILLS + 1))
		tu_bg "processor-$i" "$TU_BUILD/trueup-processor" --config "$TRUEUP_CONFIG" \
			--instance "crash-$i"
		pid=$(tu_pid "processor-$i")
		ms=$((min_ms + RANDOM % span_ms))
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		CHAOS_KILLS=$i
		a=$(chaos_applied)
		if [ "$a" -lt "$events" ]; then CHAOS_DURING=$((CHAOS_DURING + 1)); fi
		tu_log "kill $CHAOS_KILLS: SIGKILL after $ms ms at applied sequence $a of $events"
	done
	[ "$CHAOS_DURING" -ge "$kills" ] ||
		tu_fail "only $CHAOS_DURING kills landed while folding (wanted $kills)"
}

chaos_fold_rest() {
	local events=$1
	tu_bg processor-final "$TU_BUILD/trueup-processor" --config "$TRUEUP_CONFIG" \
		--instance crash-final
	tu_wait_for 300 "processor to fold all $events events and drain its outbox" \
		chaos_folded "$events"
	tu_stop processor-final
}

chaos_folded() {
	local s
	s=$("$TU_BUILD/trueup" status -o json 2>/dev/null) || return 1
	[ "$(echo "$s" | jq -r .applied_seq)" -eq "$1" ] && [ "$(echo "$s" | jq -r .outbox)" -eq 0 ]
}
