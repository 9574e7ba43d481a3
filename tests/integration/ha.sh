#!/usr/bin/env bash
# Processor high availability (issue 5, item 3; processor/lease.h).
#
# Two processors, a and b, each with its own view, share partition 0 with a
# lease in JetStream KV (ttl 2s, renew 500ms) while eventgen feeds the stream
# in steps. Checks:
#   1. a holds the lease and folds; b stands by (/readyz 503 "standby"),
#      follows the stream into its own view and publishes nothing;
#   2. a is paused (SIGSTOP): b takes the lease within ttl + renew of a's
#      last renew; a, resumed, finds its lease gone and stands by (fenced);
#   3. b is killed (SIGKILL) while folding: a takes over within ttl + renew;
#   4. a stops gracefully (SIGTERM): it releases the lease and a restarted b
#      takes it at once (well under the ttl);
#   5. both views equal an uninterrupted fold (`trueup replay`), and
#      TRUEUP_CMD / TRUEUP_DRIFT hold exactly the uninterrupted fold's
#      messages, none twice: no event's consequences were produced twice.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/replay_check.sh"
: "${TU_BUILD:?}"
BIN=$TU_BUILD
STEP=${TU_HA_STEP:-15000}
STEPS=${TU_HA_STEPS:-8}
TTL=2000
RENEW=500
SLACK=250 # ms of scheduling and KV round trips allowed on a busy machine
tu_setup
tu_start_nats

config() { # config NAME PORT
	cat >"$TU_TMP/$1.yaml" <<YAML
nats: { url: "$NATS_URL" }
log: { level: info, format: json }
http: { processor: "127.0.0.1:$2" }
processor:
  view: $TU_TMP/view-$1
  tick: 0
  batch: 256
  max_ack_pending: 1024
  lease: { enabled: true, ttl: ${TTL}ms, renew: ${RENEW}ms }
YAML
	tu_eventgen_policy "$TU_TMP" >>"$TU_TMP/$1.yaml"
}
PORT_A=$(tu_free_port)
PORT_B=$(tu_free_port)
config a "$PORT_A"
config b "$PORT_B"

"$BIN/trueup" streams apply --config "$TU_TMP/a.yaml" >"$TU_TMP/apply.out" \
	|| tu_fail "streams apply"
grep -q 'lease bucket trueup_leases: created' "$TU_TMP/apply.out" \
	|| tu_fail "streams apply did not create the lease bucket: $(cat "$TU_TMP/apply.out")"

# The stream's last sequence: what "folded everything" means.
last_seq() {
	"$BIN/tests/nats_request" --url "$NATS_URL" --subject '$JS.API.STREAM.INFO.TRUEUP_EVENTS' \
		| jq -r .state.last_seq
}
FED=0
feed() { # feed STEP_NUMBER: publishes messages of step k (1-based); FED counts them
	"$BIN/tests/eventgen" --url "$NATS_URL" --events $(($1 * STEP)) --from $((($1 - 1) * STEP)) \
		--entities 5000 --drift-pct 4 2>"$TU_TMP/eventgen.err" || tu_fail "eventgen step $1"
	local n
	n=$(sed -n 's/^eventgen: published \([0-9]*\) events.*/\1/p' "$TU_TMP/eventgen.err")
	FED=$((FED + n))
}
status() { "$BIN/trueup" status --config "$TU_TMP/$1.yaml" -o json 2>/dev/null; }
applied() { status "$1" | jq -r '.applied_seq // 0'; }
holder() { status "$1" | jq -r '.lease.holder // ""'; }
ready() { # ready NAME -> prints the /readyz status code
	curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(port "$1")/readyz"
}
port() { if [ "$1" = a ]; then echo "$PORT_A"; else echo "$PORT_B"; fi; }
metric() { # metric NAME METRIC
	curl -s "http://127.0.0.1:$(port "$1")/metrics" | awk -v m="$2" '$1 == m { print $2 }'
}
start() { tu_bg "proc-$1-$2" "$BIN/trueup-processor" --config "$TU_TMP/$1.yaml" --instance "ha-$1"; }
ms() { date +%s%3N; }
# taken_ms NAME LOG: wall time (ms) at which NAME's log says it took the lease, last time.
taken_ms() {
	local ts
	ts=$(jq -r 'select(.msg | test("^lease .* taken")) | .ts' "$TU_TMP/$1.log" | tail -1)
	[ -n "$ts" ] || return 1
	date -d "$ts" +%s%3N
}

feed 1
start a 1
tu_wait_for 30 "a to hold the lease" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT_A/readyz)\" = 200 ]"
start b 1
tu_wait_for 30 "b to serve its endpoints" bash -c "curl -s http://127.0.0.1:$PORT_B/readyz | grep -q standby"
[ "$(holder a)" = ha-a ] || tu_fail "the lease names $(holder a), not ha-a"
feed 2
tu_wait_for 60 "b, standing by, to follow the stream" bash -c "[ \"\$($BIN/trueup status --config $TU_TMP/b.yaml -o json | jq .applied_seq)\" -ge $(last_seq) ]"
pub_b=$(metric b trueup_outbox_published_total)
[ "${pub_b:-x}" = 0 ] || tu_fail "b published $pub_b messages while standing by"
[ "$(metric b trueup_lease_held)" = 0 ] || tu_fail "b's trueup_lease_held is not 0"
[ "$(ready b)" = 503 ] || tu_fail "b's /readyz is not 503 while standing by"
tu_log "1. a holds the lease and folds; b follows to $(applied b) and published nothing"

# 2. Pause the holder: its lease lapses, b takes it, a (resumed) stands by.
feed 3
pid_a=$(tu_pid proc-a-1)
last_renew=$(status a | jq -r .lease.renewed_ms)
kill -STOP "$pid_a"
stopped=$(ms)
feed 4
tu_wait_for 30 "b to take the lease from the paused a" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT_B/readyz)\" = 200 ]"
t=$(taken_ms proc-b-1) || tu_fail "b's log does not say it took the lease"
# a's last renew may be later than the one read above, never earlier.
take1=$((t - last_renew))
tu_log "2. a paused at $stopped (last renew read $last_renew); b took the lease after $((t - stopped)) ms, $take1 ms after that renew (ttl $TTL + renew $RENEW)"
[ "$take1" -le $((TTL + 2 * RENEW + SLACK)) ] || tu_fail "takeover took $take1 ms from a's renew"
[ "$take1" -ge "$TTL" ] || tu_fail "b took the lease $take1 ms after a's renew, before it lapsed"
kill -CONT "$pid_a"
tu_wait_for 30 "a, resumed, to stand by" bash -c "curl -s http://127.0.0.1:$PORT_A/readyz | grep -q standby"
grep -q 'lease .* lost' "$TU_TMP/proc-a-1.log" || tu_fail "a does not log that it lost the lease"
[ "$(holder b)" = ha-b ] || tu_fail "the lease names $(holder b), not ha-b"

# 3. Kill the new holder while it folds: a takes over.
feed 5
before=$(applied b)
kill -KILL "$(tu_pid proc-b-1)"
killed=$(ms)
wait "$(tu_pid proc-b-1)" 2>/dev/null
feed 6
tu_wait_for 30 "a to take the lease from the killed b" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT_A/readyz)\" = 200 ]"
t=$(taken_ms proc-a-1) || tu_fail "a's log does not say it took the lease"
take2=$((t - killed))
tu_log "3. b killed at applied $before; a took the lease $take2 ms later (ttl $TTL + renew $RENEW)"
[ "$take2" -le $((TTL + RENEW + SLACK)) ] || tu_fail "takeover took $take2 ms after the kill"
feed 7
feed 8
for ((k = 9; k <= STEPS; k++)); do feed "$k"; done
done_folding() {
	local s
	s=$(status "$1") || return 1
	[ "$(echo "$s" | jq -r .applied_seq)" -eq "$LAST" ] && [ "$(echo "$s" | jq -r .outbox)" -eq 0 ]
}
LAST=$(last_seq)
tu_wait_for 120 "a to fold all $LAST events and drain its outbox" done_folding a

# 4. A graceful stop releases the lease: a restarted b takes it at once.
start b 2
tu_wait_for 30 "b (restarted) to stand by" bash -c "curl -s http://127.0.0.1:$PORT_B/readyz | grep -q standby"
tu_stop proc-a-1 TERM
stopped=$(ms)
tu_wait_for 30 "b to take the released lease" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT_B/readyz)\" = 200 ]"
t=$(taken_ms proc-b-2) || tu_fail "b's log does not say it took the lease"
take3=$((t - stopped))
grep -q 'lease .* released' "$TU_TMP/proc-a-1.log" || tu_fail "a did not release its lease"
tu_log "4. a stopped with SIGTERM and released its lease; b took it $take3 ms later"
[ "$take3" -lt "$TTL" ] || tu_fail "a released lease was taken only after $take3 ms"
tu_wait_for 120 "b to fold all $LAST events" done_folding b
tu_stop proc-b-2 TERM

# 5. Views and outputs equal an uninterrupted fold.
tu_replay_check "$TU_TMP/a.yaml" "$TU_TMP/view-a" "$TU_TMP/view-b"
tu_log "PASS: $LAST events, 3 lease changes (pause, kill, release): takeovers $take1 / $take2 / $take3 ms"
