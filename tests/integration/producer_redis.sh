#!/usr/bin/env bash
# producer_redis.sh - trueup-producer against a real redis-server and
# nats-server: what lands in TRUEUP_EVENTS for hashes, strings and sets, a
# wrong-typed key (skipped, scan incomplete), a delta scan after changes (only
# the changes, a deleted observation for a deleted key), scan requests on
# trueup.ctl.scan.redis, Redis going away, and SIGTERM.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/producer_lib.sh"

tu_setup
tu_start_nats
tu_start_redis

cat >"$TU_TMP/trueup.yaml" <<EOF
nats: { url: "$NATS_URL" }
log: { level: debug, format: text }
sources:
  - name: redis
    type: redis
    url: "$REDIS_URL"
    interval: 1h            # scans come from start and requests only
    timeout: 2s
    full_every: 10
    publish_timeout: 5s
    scan_count: 3           # several SCAN pages ...
    pipeline: 2             # ... and several pipelined batches per page
    observe:
      - kind: worker
        scan: "autoscaler:workers:k3s-worker-*"
        name: "{key|afterlast::}"
      - kind: counter
        get: "autoscaler:workers:next_number"
        name: workers
      - kind: group
        scan: "groups:*"
        read: set
        name: "{key|afterlast::}"
        namespace: lab
      - kind: flag
        scan: "flags:*"
        read: string
        name: "{key|afterlast::}"
        attrs: { on: "{value|lower}", key: "{key}" }
EOF
pl_streams_apply

for i in 1 2 3 4 5; do
	tu_redis hset "autoscaler:workers:k3s-worker-$i" status running image "busybox:$i" >/dev/null
done
tu_redis set autoscaler:workers:next_number 6 >/dev/null
tu_redis sadd groups:lab1 w3 w1 w2 >/dev/null
tu_redis set flags:maintenance TRUE >/dev/null
tu_redis hset flags:broken a b >/dev/null # a hash where a string is configured

# --- 1. one full scan: every key, the wrong-typed one skipped ---------------
"$PRODUCER" --config "$TU_TMP/trueup.yaml" --once 2>"$TU_TMP/once.log" ||
	{ cat "$TU_TMP/once.log" >&2; tu_fail "--once did not exit 0"; }
pl_scan redis
pl_expect_framed
pl_expect "first scan is full, triggered by start, covers the configured kinds" '
	.[0].msg.full and .[0].msg.trigger == "start"
	and .[0].msg.kinds == ["counter", "flag", "group", "worker"]'
pl_expect "a skipped key makes the scan incomplete, named in the error" '
	.[-1].msg.complete == false and .[-1].msg.skipped == 1
	and (.[-1].msg.error | test("flags:broken") and test("WRONGTYPE"))'
pl_expect "seen and published count every other key once" '
	.[-1].msg.seen == 8 and .[-1].msg.published == 8 and .[-1].msg.deleted == 0'
pl_expect "a hash becomes one attribute per field, sorted" '
	[.[] | select(.msg.entity.name == "k3s-worker-3")][0]
	| .subject == "trueup.obs.redis.worker" and .msg.entity.namespace == "default"
	  and .msg.attrs == [{key: "image", value: "busybox:3"}, {key: "status", value: "running"}]
	  and (.msg.digest | length) == 24 and .msg.deleted == false'
pl_expect "a string read by get: becomes attr value" '
	[.[] | select(.msg.entity.kind == "counter")][0].msg
	| .entity.name == "workers" and .attrs == [{key: "value", value: "6"}]'
pl_expect "a set becomes attr members, sorted and comma-separated" '
	[.[] | select(.msg.entity.kind == "group")][0].msg
	| .entity.namespace == "lab" and .entity.name == "lab1"
	  and .attrs == [{key: "members", value: "w1,w2,w3"}]'
pl_expect "attrs templates replace the default attrs" '
	[.[] | select(.msg.entity.kind == "flag")][0].msg.attrs
	== [{key: "key", value: "flags:maintenance"}, {key: "on", value: "true"}]'
grep -q "skipped key 'flags:broken'" "$TU_TMP/once.log" ||
	tu_fail "no warning naming the skipped key"
"$TU_BUILD/trueup" --config "$TU_TMP/trueup.yaml" streams dump TRUEUP_DEAD -o json |
	jq -s -e 'length == 1 and .[0].subject == "trueup.dead.producer-redis"
		  and .[0].message.origin == "producer-redis"
		  and (.[0].message.reason | test("flags:broken") and test("WRONGTYPE"))' >/dev/null ||
	tu_fail "the skipped key is not parked in TRUEUP_DEAD with its reason"

# --- 2. the running producer: start scan, then a delta on request ------------
tu_redis del flags:broken >/dev/null
tu_bg producer "$PRODUCER" --config "$TU_TMP/trueup.yaml"
pl_wait_ends redis 2
pl_scan redis
pl_expect_framed
pl_expect "start scan is full and complete" '
	.[-1].msg.full and .[-1].msg.complete and .[-1].msg.seen == 8 and .[-1].msg.published == 8'

tu_redis hset autoscaler:workers:k3s-worker-1 status stopped >/dev/null # changed
tu_redis del autoscaler:workers:k3s-worker-2 >/dev/null                # deleted
tu_redis hset autoscaler:workers:k3s-worker-7 status running >/dev/null # new
reply=$(pl_request redis)
echo "$reply" | jq -e '.source == "redis" and .accepted and (.queued | not)' >/dev/null ||
	tu_fail "unexpected reply to a scan request: $reply"
pl_wait_ends redis 3
pl_scan redis
pl_expect_framed
pl_expect "requested scan is a complete delta" '
	.[0].msg.trigger == "request" and (.[-1].msg.full | not) and .[-1].msg.complete
	and .[-1].msg.seen == 8'
pl_expect "a delta publishes only the changed, the new and the deleted" '
	.[-1].msg.published == 3 and .[-1].msg.deleted == 1
	and ([.[1:-1][] | .msg.entity.name] | sort) == ["k3s-worker-1", "k3s-worker-2", "k3s-worker-7"]'
pl_expect "the changed entity carries its new attrs" '
	[.[] | select(.msg.entity.name == "k3s-worker-1")][0].msg.attrs
	== [{key: "image", value: "busybox:1"}, {key: "status", value: "stopped"}]'
pl_expect "the deleted key yields a deleted observation without attrs" '
	[.[] | select(.msg.entity.name == "k3s-worker-2")][0]
	| .subject == "trueup.obs.redis.worker" and .msg.deleted and .msg.attrs == []'

# nothing changed: a delta publishes nothing; {"full": true} asks for a snapshot
pl_request redis >/dev/null
pl_wait_ends redis 4
pl_scan redis
pl_expect "an unchanged source publishes nothing in a delta" '
	(.[-1].msg.full | not) and .[-1].msg.complete and .[-1].msg.published == 0
	and length == 2'
pl_request redis '{"full": true}' >/dev/null
pl_wait_ends redis 5
pl_scan redis
pl_expect "a request for a full scan gets one" '
	.[-1].msg.full and .[-1].msg.complete and .[-1].msg.published == 8
	and .[-1].msg.deleted == 0'
reply=$("$TOOLS/nats_request" --url "$NATS_URL" --subject trueup.ctl.scan.redis --data 'nope')
echo "$reply" | jq -e '(.accepted | not) and (.error | test("JSON"))' >/dev/null ||
	tu_fail "a malformed request was not refused: $reply"

# --- 3. Redis goes away: scans end incomplete with the error, delete nothing --
tu_stop redis
pl_request redis >/dev/null
pl_wait_ends redis 6
pl_scan redis
pl_expect "a scan that loses Redis is incomplete, says why, deletes nothing" '
	(.[-1].msg.complete | not) and .[-1].msg.deleted == 0 and .[-1].msg.published == 0
	and (.[-1].msg.error | test("redis 127.0.0.1:[0-9]+: "))'
pl_request redis >/dev/null
pl_wait_ends redis 7
pl_scan redis
pl_expect "the next scan tries to reconnect, full, and says so" '
	.[-1].msg.full and (.[-1].msg.complete | not) and .[-1].msg.deleted == 0
	and (.[-1].msg.error | test("redis 127.0.0.1:[0-9]+: connect"))'

# --- 4. SIGTERM: exit 0 --------------------------------------------------------
pid=$(tu_pid producer)
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || tu_fail "producer exited $rc after SIGTERM"
grep -q "SIGTERM: stopping" "$TU_TMP/producer.log" || tu_fail "no shutdown log line"

# --- 5. ACL user and password file; a wrong password is an error, never logged -
tu_start_redis --user trueup on '>s3cret-pw' '~*' '+@all' --user default off
redis-cli -p "$REDIS_PORT" --user trueup --pass s3cret-pw --no-auth-warning \
	hset autoscaler:workers:k3s-worker-9 status running >/dev/null
printf 's3cret-pw\n' >"$TU_TMP/redis.pass"
printf 'wrong-pw\n' >"$TU_TMP/wrong.pass"
for pass in redis.pass wrong.pass; do
	cat >"$TU_TMP/acl.yaml" <<EOF
nats: { url: "$NATS_URL" }
log: { format: text }
sources:
  - name: acl
    type: redis
    url: "$REDIS_URL"
    username: trueup
    password_file: $pass
    observe:
      - { kind: worker, scan: "autoscaler:workers:*", name: "{key|afterlast::}" }
EOF
	"$PRODUCER" --config "$TU_TMP/acl.yaml" --once 2>"$TU_TMP/acl.log"
	echo "rc=$?" >>"$TU_TMP/acl.log"
	pl_scan acl
	if [ "$pass" = redis.pass ]; then
		pl_expect "AUTH with username and password file" '
			.[-1].msg.complete and .[-1].msg.seen == 1
			and .[1].msg.entity.name == "k3s-worker-9"'
		grep -qx "rc=0" "$TU_TMP/acl.log" || tu_fail "--once did not exit 0"
	else
		pl_expect "a wrong password ends the scan incomplete, naming the refusal" '
			(.[-1].msg.complete | not) and (.[-1].msg.error | test("AUTH refused: WRONGPASS"))'
		grep -qx "rc=1" "$TU_TMP/acl.log" || tu_fail "--once with a refused AUTH did not exit 1"
	fi
	! grep -q "s3cret-pw\|wrong-pw" "$TU_TMP/acl.log" || tu_fail "a password was logged"
done

tu_log "producer_redis: all checks passed"
