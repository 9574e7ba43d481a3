#!/bin/bash
# actuator_redis.sh - trueup-actuator against a real nats-server and
# redis-server: every verb, noops, preconditions, dry-run, deadlines, dead
# letters, the same command twice, a crash between effect and outcome, Redis
# going away and coming back, retries running out, and a clean SIGTERM.
#
# Each case publishes FixCommands with tests/tools/actuator_cmd and reads the
# outcomes back from TRUEUP_EVENTS (and dead letters from TRUEUP_DEAD) with
# `trueup streams dump` (see dump_flat). The actuator handles commands in order, so a
# case that must show that something did NOT happen publishes a later
# "barrier" command and waits for its outcome first.

. "$(dirname "$0")/../lib/harness.sh"

: "${TU_BUILD:?TU_BUILD must point at the build directory}"
ACTUATOR=$TU_BUILD/trueup-actuator
CMD=$TU_BUILD/tests/actuator_cmd
command -v jq >/dev/null || tu_fail "jq not installed"

tu_setup
tu_start_nats
tu_start_redis
DOWN_PORT=$(tu_free_port) # nothing listens here: the "redisdown" target
REDIS_DOWN_URL="redis://127.0.0.1:$DOWN_PORT"
# A second Redis that needs an ACL user and password: the "redisauth" target (database 2).
AUTH_PORT=$(tu_free_port)
mkdir -p "$TU_TMP/redisauth"
tu_bg redisauth redis-server --port "$AUTH_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize no --dir "$TU_TMP/redisauth" --user trueup on '>s3cret' '~*' '&*' '+@all' \
	--user default off
tu_wait_port "$AUTH_PORT" 100 || tu_fail "redis with ACL did not start"
REDIS_AUTH_URL="redis://trueup@127.0.0.1:$AUTH_PORT/2"
REDIS_AUTH_PASSFILE=$TU_TMP/redis.password
printf 'wrong\n' >"$REDIS_AUTH_PASSFILE"
auth_redis() { REDISCLI_AUTH=s3cret redis-cli -p "$AUTH_PORT" --user trueup -n 2 "$@"; }

CONFIG=$TU_TMP/trueup.yaml
cat >"$CONFIG" <<EOF
nats:
  url: $NATS_URL
log:
  level: debug
  format: text
targets:
  - name: redis
    type: redis
    url: $REDIS_URL
    fetch_wait: 200ms
    ack_wait: 2s
    max_deliver: 6
    timeout: 1s
  - name: redisdown
    type: redis
    url: $REDIS_DOWN_URL
    fetch_wait: 200ms
    ack_wait: 2s
    max_deliver: 2
    timeout: 1s
  - name: redisauth
    type: redis
    url: $REDIS_AUTH_URL
    password_file: $REDIS_AUTH_PASSFILE
    done_prefix: "td:"
    fetch_wait: 200ms
    max_deliver: 6
    timeout: 1s
EOF

"$TU_BUILD/trueup" --config "$CONFIG" streams apply >"$TU_TMP/streams.log" 2>&1 || {
	cat "$TU_TMP/streams.log" >&2
	tu_fail "cannot apply streams"
}

N=0
# Publishes a command to target redis with a fresh id in $ID; extra flags pass through.
cmd() {
	N=$((N + 1))
	ID=$(printf 'cmd%021d' "$N")
	"$CMD" --url "$NATS_URL" --target redis --id "$ID" --corr "corr$ID" --rule itest "$@" \
		>/dev/null || tu_fail "cannot publish command $ID"
}
# `trueup streams dump -o json`, flattened into the fields these checks read.
dump_flat() {
	"$TU_BUILD/trueup" --config "$CONFIG" streams dump "$@" -o json | jq -c '
		(.message // {}) as $m
		| {stream, seq, subject, type, msg_id, corr_header: (.correlation_id // null)}
		+ if .type == "trueup.v1.Outcome" then
			$m + {result: ($m.result | ascii_downcase | sub("^result_"; "") | gsub("_"; "-"))}
		  elif .type == "trueup.v1.DeadLetter" then
			($m.payload // "") as $p
			| {origin: $m.origin, from_stream: $m.stream, from_subject: $m.subject,
			   from_seq: $m.stream_seq, reason: $m.reason, at_ns: $m.at_ns,
			   payload_len: (($p | length) / 4 * 3
					 - ($p | if endswith("==") then 2 elif endswith("=") then 1 else 0 end)),
			   headers: ([$m.headers[]? | {(.key): .value}] | add // {})}
		  else $m end'
}
outcomes() { dump_flat TRUEUP_EVENTS --filter 'trueup.out.>'; }
dead() { dump_flat TRUEUP_DEAD; }
outcome_of() { outcomes | jq -c --arg id "$1" 'select(.command_id == $id)'; }
has_outcome() { [ -n "$(outcome_of "$1")" ]; }
# wait_result ID RESULT: waits for an outcome of ID with RESULT, puts it in $O.
wait_result() {
	local id=$1 want=$2
	tu_wait_for 20 "outcome $want for $id" has_result "$id" "$want"
	O=$(outcome_of "$id" | jq -c --arg r "$want" 'select(.result == $r)' | tail -n 1)
}
has_result() { outcome_of "$1" | jq -s -e --arg r "$2" 'any(.[]; .result == $r)' >/dev/null; }
# expect FIELD PATTERN JSON: the field of the JSON matches the pattern (grep -E).
expect() {
	local v
	v=$(jq -r ".$1" <<<"$3")
	grep -Eq -- "$2" <<<"$v" || tu_fail "$1 is \"$v\", expected /$2/ in $3"
}
expect_redis() { # expect_redis WANT redis-cli args...
	local want=$1 got
	shift
	got=$(tu_redis "$@")
	[ "$got" = "$want" ] || tu_fail "redis $*: got \"$got\", want \"$want\""
}
# barrier: a harmless command whose outcome shows that every earlier one was handled.
barrier() {
	cmd --action del --param key=trueup-test:barrier
	wait_result "$ID" noop
}
# is_gone PID: the process has exited (a zombie of ours counts).
is_gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$st" ] || [[ $st == Z* ]]
}
start_actuator() { # start_actuator NAME TARGET [env...]
	local name=$1 target=$2
	shift 2
	tu_bg "$name" env "$@" "$ACTUATOR" --config "$CONFIG" --target "$target" \
		--instance "$name"
}

start_actuator act redis
tu_log "actuator started"

# --- every verb succeeds, and Redis shows it -------------------------------------
tu_redis set w:3 initializing >/dev/null
cmd --action del --param key=w:3 --entity worker/default/k3s-worker-3
wait_result "$ID" succeeded
expect detail '^DEL w:3 \(1 key removed\)$' "$O"
expect correlation_id "^corr$ID\$" "$O"
expect rule '^itest$' "$O"
expect entity.name '^k3s-worker-3$' "$O"
expect actuator '^act$' "$O"
expect delivery '^1$' "$O"
expect msg_id "^out\\.$ID\\.1\\.succeeded\$" "$O"
expect corr_header "^corr$ID\$" "$O"
expect_redis 0 exists w:3

cmd --action set --param key=counter --param value=4
wait_result "$ID" succeeded
expect detail '^SET counter "4" \(was absent\)$' "$O"
expect_redis 4 get counter

cmd --action hset --param key=h --param field.status=ready --param field.host=10.0.0.3
wait_result "$ID" succeeded
expect_redis ready hget h status
expect_redis 10.0.0.3 hget h host

cmd --action hdel --param key=h --param field=host
wait_result "$ID" succeeded
expect_redis 0 hexists h host

cmd --action sadd --param key=s --param member=k3s-worker-3
wait_result "$ID" succeeded
expect_redis 1 sismember s k3s-worker-3

cmd --action srem --param key=s --param member=k3s-worker-3
wait_result "$ID" succeeded
expect_redis 0 sismember s k3s-worker-3
printf '\xff\xfe' | tu_redis -x set bin >/dev/null # not UTF-8: the detail must still be
cmd --action set --param key=bin --param value=text
wait_result "$ID" succeeded
expect detail '^SET bin "text" \(was "\?\?"\)$' "$O"
tu_redis script flush >/dev/null # NOSCRIPT on the next EVALSHA: loaded again
cmd --action set --param key=counter --param value=5
wait_result "$ID" succeeded
expect_redis 5 get counter
ttl=$(tu_redis pttl "trueup:done:$ID")
[ "$ttl" -gt $((7 * 86400000 - 60000)) ] && [ "$ttl" -le $((7 * 86400000)) ] ||
	tu_fail "done-marker ttl $ttl ms, want about done_ttl (7d)"
tu_log "ok: every verb"

# --- noop: already as desired ----------------------------------------------------
cmd --action del --param key=w:3
wait_result "$ID" noop
expect detail 'key absent' "$O"
cmd --action set --param key=counter --param value=5
wait_result "$ID" noop
expect detail 'already holds "5"' "$O"
cmd --action hset --param key=h --param field.status=ready
wait_result "$ID" noop
cmd --action hdel --param key=h --param field=nope
wait_result "$ID" noop
tu_redis sadd s m1 >/dev/null
cmd --action sadd --param key=s --param member=m1
wait_result "$ID" noop
expect detail 'already a member' "$O"
cmd --action srem --param key=s --param member=m2
wait_result "$ID" noop
tu_log "ok: noops"

# --- failed preconditions: skipped, Redis unchanged -----------------------------
tu_redis set counter 7 >/dev/null
cmd --action set --param key=counter --param value=5 --pre equals --pre-value 4
wait_result "$ID" skipped-precondition
expect detail 'precondition 1 \(equals counter "4"\) failed: actual "7"' "$O"
expect_redis 7 get counter
cmd --action set --param key=counter --param value=8 --pre equals --pre-value 7
wait_result "$ID" succeeded
expect_redis 8 get counter

tu_redis hset w:4 status initializing >/dev/null
cmd --action del --param key=w:4 --pre field_equals --pre-field status --pre-value gone
wait_result "$ID" skipped-precondition
expect detail 'actual "initializing"' "$O"
expect_redis 1 exists w:4
cmd --action del --param key=w:4 --pre exists --pre absent --pre-key lock:w:4 \
	--pre field_equals --pre-field status --pre-value initializing
wait_result "$ID" succeeded
expect_redis 0 exists w:4
cmd --action sadd --param key=s --param member=m9 --pre exists --pre-key nothing-here
wait_result "$ID" skipped-precondition
expect detail 'precondition 1 \(exists nothing-here\) failed: actual absent' "$O"
expect_redis 0 sismember s m9
tu_log "ok: preconditions"

# --- failed-permanent: wrong type, bad params ------------------------------------
cmd --action hset --param key=counter --param field.x=1
wait_result "$ID" failed-permanent
expect error '^WRONGTYPE' "$O"
expect_redis 8 get counter
cmd --action set --param key=counter
wait_result "$ID" failed-permanent
expect error 'param value: missing' "$O"
tu_log "ok: failed-permanent"

# --- dry-run: reported, nothing changed ----------------------------------------
tu_redis set w:5 initializing >/dev/null
cmd --action del --param key=w:5 --mode dry-run
wait_result "$ID" dry-run
expect detail '^would DEL w:5' "$O"
expect_redis 1 exists w:5
expect_redis 0 exists "trueup:done:$ID"
cmd --action del --param key=w:5 --mode dry-run --pre equals --pre-value other
wait_result "$ID" dry-run
expect detail '^would skip: precondition 1' "$O"
expect_redis initializing get w:5
tu_log "ok: dry-run"

# --- expired deadline ------------------------------------------------------------
cmd --action del --param key=w:5 --deadline-ms -1000
wait_result "$ID" expired
expect detail 'passed before execution' "$O"
expect_redis 1 exists w:5
tu_log "ok: expired"

# --- the same command twice: one effect -----------------------------------------
tu_redis set w:6 initializing >/dev/null
cmd --action del --param key=w:6
first=$ID
wait_result "$first" succeeded
tu_redis set w:6 recreated >/dev/null # a second effect would delete it again
"$CMD" --url "$NATS_URL" --target redis --id "$first" --msg-id "$first.again" --action del \
	--param key=w:6 >/dev/null
barrier
[ "$(outcome_of "$first" | wc -l)" = 1 ] || tu_fail "command $first has more than one outcome"
expect_redis recreated get w:6
grep -q "command $first (delivery 1) already has a final outcome succeeded" "$TU_TMP/act.log" ||
	tu_fail "the duplicate was not reported as skipped"
tu_log "ok: duplicate delivery skipped by the outcome lookup"

# --- malformed commands: dead letters, and the loop goes on ---------------------
ndead0=$(dead | wc -l)
"$CMD" --url "$NATS_URL" --target redis --action del --id bad1 --garbage >/dev/null
"$CMD" --url "$NATS_URL" --target redis --action del --id bad2 --param key=x \
	--type trueup.v1.Outcome >/dev/null
"$CMD" --url "$NATS_URL" --target redis --action flushall --id bad3 --param key=x >/dev/null
"$CMD" --url "$NATS_URL" --target other --action del --id bad4 --param key=x \
	--subject trueup.cmd.redis.del >/dev/null
"$CMD" --url "$NATS_URL" --target redis --action del --id 'bad 5' --msg-id bad5 \
	--param key=x >/dev/null
"$CMD" --url "$NATS_URL" --target redis --action del --msg-id bad6 --param key=x >/dev/null
barrier
d=$(dead)
[ $(($(wc -l <<<"$d") - ndead0)) = 6 ] || tu_fail "expected 6 new dead letters: $d"
for r in 'do not decode' 'header Trueup-Type: "trueup.v1.Outcome"' \
	'unknown action "flushall"' 'field target: "other"' 'not a valid subject token' \
	'field command_id: missing'; do
	jq -s -e --arg r "$r" 'any(.[]; .reason | contains($r))' <<<"$d" >/dev/null ||
		tu_fail "no dead letter with reason \"$r\": $d"
done
bad1=$(jq -c 'select(.headers["Nats-Msg-Id"] == "bad1")' <<<"$d")
expect origin '^actuator-redis$' "$bad1"
expect subject '^trueup\.dead\.actuator-redis$' "$bad1"
expect from_stream '^TRUEUP_CMD$' "$bad1"
expect from_subject '^trueup\.cmd\.redis\.del$' "$bad1"
expect msg_id '^dead\.cmd\.[0-9]+$' "$bad1"
expect payload_len '^7$' "$bad1"
outcomes | jq -s -e 'any(.[]; .command_id | startswith("bad"))' >/dev/null &&
	tu_fail "a malformed command got an outcome"
tu_log "ok: dead letters"

# --- crash after the effect, before the outcome: the marker stops a second effect -
tu_stop act
start_actuator crash redis TRUEUP_ACTUATOR_FAULT=crash-after-execute
tu_redis set w:7 initializing >/dev/null
cmd --action del --param key=w:7
crashed=$ID
tu_wait_for 20 "the crash hook to fire" is_gone "$(tu_pid crash)"
wait "$(tu_pid crash)" 2>/dev/null # reap it; it died by SIGKILL
grep -q 'test hook: crashing after execute (succeeded)' "$TU_TMP/crash.log" ||
	tu_fail "the crash did not happen after the effect"
expect_redis 0 exists w:7
has_outcome "$crashed" && tu_fail "an outcome was published before the crash"
expect_redis 1 exists "trueup:done:$crashed"
tu_redis set w:7 recreated >/dev/null # a second effect would delete it again
start_actuator act2 redis
wait_result "$crashed" noop
expect detail '^already executed \(marker\): succeeded: DEL w:7' "$O"
expect delivery '^2$' "$O"
expect_redis recreated get w:7
[ "$(outcome_of "$crashed" | wc -l)" = 1 ] || tu_fail "command $crashed has more than one outcome"
tu_log "ok: crash between effect and outcome"

# --- Redis down: failed-retryable, then success once it is back -----------------
tu_stop redis
cmd --action set --param key=after-restart --param value=yes
down=$ID
wait_result "$down" failed-retryable
expect error "127\\.0\\.0\\.1:$REDIS_PORT" "$O"
tu_bg redis2 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
	--daemonize no --dir "$TU_TMP/redis"
tu_wait_port "$REDIS_PORT" 100 || tu_fail "redis did not restart"
wait_result "$down" succeeded
expect delivery '^[2-6]$' "$O"
expect_redis yes get after-restart
tu_log "ok: redis down and back"

# --- retries exhausted: failed-permanent on the last delivery -------------------
start_actuator down redisdown
"$CMD" --url "$NATS_URL" --target redisdown --id exhaust1 --action del --param key=x >/dev/null
wait_result exhaust1 failed-permanent
expect delivery '^2$' "$O"
expect error '^retries exhausted after 2 deliveries; last error: redis 127\.0\.0\.1:[0-9]+: connect: ' "$O"
[ "$(outcome_of exhaust1 | jq -r .result | tr '\n' ' ')" = "failed-retryable failed-permanent " ] ||
	tu_fail "unexpected outcomes for exhaust1: $(outcome_of exhaust1)"
tu_log "ok: retries exhausted"

# --- ACL user, password file, database: a wrong password is retryable ------------
start_actuator auth redisauth
"$CMD" --url "$NATS_URL" --target redisauth --id auth1 --action set --param key=k \
	--param value=v >/dev/null
wait_result auth1 failed-retryable
expect error 'AUTH refused: WRONGPASS' "$O"
printf 's3cret\n' >"$REDIS_AUTH_PASSFILE" # fixed: the next delivery reconnects with it
wait_result auth1 succeeded
[ "$(auth_redis get k)" = v ] || tu_fail "set did not reach database 2 of the ACL redis"
[ "$(auth_redis exists td:auth1)" = 1 ] || tu_fail "no marker with done_prefix td:"
grep -q s3cret "$TU_TMP"/*.log && tu_fail "the password appears in a log"
tu_log "ok: auth"

# --- SIGTERM: exit 0 ---------------------------------------------------------------
for name in act2 down auth; do
	pid=$(tu_pid "$name")
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || tu_fail "$name exited with $rc after SIGTERM"
done
grep -q 'stopping: ' "$TU_TMP/act2.log" || tu_fail "no stop summary in the log"
tu_log "ok: SIGTERM"

# --- usage and config errors: exit 2 ---------------------------------------------
rc=0
"$ACTUATOR" --config "$CONFIG" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || tu_fail "missing --target: exit $rc, want 2"
rc=0
"$ACTUATOR" --config "$CONFIG" --target nosuch >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || tu_fail "unknown target: exit $rc, want 2"
"$ACTUATOR" --help | grep -q -- '--target NAME' || tu_fail "--help"
tu_log "PASS"
