#!/usr/bin/env bash
# heartbeat.sh - heartbeats end to end, with a real nats-server, the
# processor and redis-server:
#   trueup-heartbeat (the CLI) and heartbeat_demo (a tiny C program linking
#   lib/heartbeat.h over its own connection) publish; the processor folds the
#   entity instance/<service>/<instance> (source hb) present, with the
#   attributes; a process that stops without `stopping` makes the instance
#   absent once the TTL of fold time passes (ticks move the fold's clock); with
#   `stopping` (--stop, SIGTERM, tu_heartbeat_stop(h, true)) it is absent at
#   once; names that need escaping fold; --once publishes one heartbeat;
#   and the redis source's `ttl: true` reads instance keys registered with
#   EXPIRE (attr ttl_ms; an expired key is gone from the next scan).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/producer_lib.sh"

command -v jq >/dev/null || tu_fail "jq not installed"
HB=$TU_BUILD/trueup-heartbeat
DEMO=$TU_BUILD/tests/heartbeat_demo

tu_setup
tu_start_nats
tu_start_redis
CONFIG=$TU_TMP/trueup.yaml
cat >"$CONFIG" <<EOF
nats: { url: "$NATS_URL" }
log: { level: debug, format: text }
processor:
  view: $TU_TMP/view
  tick: 200ms
  fetch_wait: 100ms
sources:
  - name: registry
    type: redis
    url: "$REDIS_URL"
    interval: 1h
    observe:
      - kind: instance
        scan: "registry:checkout:*"
        read: hash
        ttl: true
        namespace: checkout
        name: "{key|afterlast::}"
EOF
pl_streams_apply
tu_bg processor "$TU_BUILD/trueup-processor" --config "$CONFIG" --instance p1

# state KIND NS NAME SOURCE: what SOURCE says about the entity in the view, as JSON ("" if nothing).
state() {
	"$TU_BUILD/trueup" --config "$CONFIG" view dump 2>/dev/null |
		sed -n 's/^entity .* \({"ref":.*\)$/\1/p' |
		jq -c --arg k "$1" --arg n "$2" --arg i "$3" --arg src "$4" '
			select(.ref.kind == $k and .ref.namespace == $n and .ref.name == $i)
			| .sources[] | select(.source == $src)' 2>/dev/null || true
}
hb_state() { state instance "$1" "$2" hb; }
# Present: the source says so. Absent: it says not, or (as the fold drops an entity
# no source has) there is no record; each check of absence follows one of presence.
present() { [ "$(state "$@" | jq -r '.present // false')" = true ]; }
hb_present() { present instance "$1" "$2" hb; }
hb_absent() { ! hb_present "$1" "$2"; }

# --- 1. the CLI: present with its attributes; SIGTERM publishes stopping -----------
tu_bg hb1 "$HB" --config "$CONFIG" --service checkout --instance web-1 --interval 300ms \
	--ttl 3s --attr version=1.4.2 --attr port=50054
tu_wait_for 20 "checkout/web-1 present" hb_present checkout web-1
hb_state checkout web-1 | jq -e '
	(.attrs | from_entries) == {port: "50054", version: "1.4.2"} and .expires_ns > 0' >/dev/null ||
	tu_fail "unexpected hb state: $(hb_state checkout web-1)"
tu_log "ok: trueup-heartbeat folds into instance/checkout/web-1 with its attributes"
sleep 1
"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_EVENTS --filter 'trueup.hb.checkout.web-1' \
	-o json >"$TU_TMP/hb.jsonl"
jq -s -e 'length >= 3
	and all(.[]; .type == "trueup.v1.Heartbeat"
		and (.msg_id | test("^checkout\\.web-1\\.[0-9]+$"))
		and .message.ttl_ms == 3000 and .message.service == "checkout")
	and ([.[] | .message.sequence | tonumber] | . == (sort | unique))' "$TU_TMP/hb.jsonl" \
	>/dev/null || { cat "$TU_TMP/hb.jsonl" >&2; tu_fail "heartbeats on the wire are not as expected"; }
tu_log "ok: Nats-Msg-Id <service>.<instance>.<sequence>, sequences increasing"
start=$SECONDS
kill -TERM "$(tu_pid hb1)"
wait "$(tu_pid hb1)" || tu_fail "trueup-heartbeat did not exit 0 on SIGTERM"
wait_absent() { tu_wait_for "$1" "$2/$3 absent" hb_absent "$2" "$3"; }
wait_absent 5 checkout web-1
[ $((SECONDS - start)) -lt 3 ] || tu_fail "SIGTERM's stopping heartbeat did not make web-1 absent at once"
grep -q "SIGTERM: publishing \`stopping\` and exiting" "$TU_TMP/hb1.log" ||
	tu_fail "trueup-heartbeat did not say it published stopping"
tu_log "ok: SIGTERM publishes stopping: absent at once, exit 0"

# --- 2. the C library: silent stop -> absent after the TTL of fold time -------------
"$DEMO" --url "$NATS_URL" --service checkout --instance web-2 --interval-ms 200 --ttl-ms 2000 \
	--run-ms 1200 --attr zone=a --set build=42 >"$TU_TMP/demo.log" 2>&1 ||
	{ cat "$TU_TMP/demo.log" >&2; tu_fail "heartbeat_demo failed"; }
stopped=$SECONDS
hb_present checkout web-2 || tu_fail "the library's heartbeats did not fold: $(hb_state checkout web-2)"
hb_state checkout web-2 | jq -e '(.attrs | from_entries) == {build: "42", zone: "a"}' >/dev/null ||
	tu_fail "set_attr did not reach the view: $(hb_state checkout web-2)"
tu_log "ok: heartbeat_demo (tu_heartbeat_start_nc) folds, with an attribute set while running"
wait_absent 15 checkout web-2
[ $((SECONDS - stopped)) -ge 1 ] || tu_fail "web-2 went absent before its TTL"
tu_log "ok: silent for longer than the TTL: absent (ticks moved the fold's clock)"

# --- 3. the library leaving, and names that need escaping ---------------------------
"$DEMO" --url "$NATS_URL" --service lab.sessions --instance "pod 1.*" --interval-ms 200 \
	--ttl-ms 60000 --run-ms 600 >"$TU_TMP/demo2.log" 2>&1 &
demo_pid=$!
tu_wait_for 20 "lab.sessions/pod 1.* present" hb_present lab.sessions "pod 1.*"
wait "$demo_pid" || tu_fail "heartbeat_demo failed"
"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_EVENTS \
	--filter 'trueup.hb.lab%2Esessions.pod%201%2E%2A' -o json | jq -s -e 'length >= 1' >/dev/null ||
	tu_fail "escaped subject not used"
"$DEMO" --url "$NATS_URL" --service lab.sessions --instance "pod 1.*" --ttl-ms 60000 --run-ms 100 \
	--leave >>"$TU_TMP/demo2.log" 2>&1 || tu_fail "heartbeat_demo --leave failed"
wait_absent 5 lab.sessions "pod 1.*"
tu_log "ok: escaped names fold; tu_heartbeat_stop(h, true) makes the instance absent at once"

# --- 4. --once, then --stop -------------------------------------------------------------
"$HB" --config "$CONFIG" --service checkout --instance cron-1 --ttl 1h --once ||
	tu_fail "--once failed"
tu_wait_for 20 "checkout/cron-1 present" hb_present checkout cron-1
"$HB" --config "$CONFIG" --service checkout --instance cron-1 --stop || tu_fail "--stop failed"
wait_absent 5 checkout cron-1
tu_log "ok: --once makes it present, --stop absent at once"
"$HB" --config "$CONFIG" --service "" --instance x --once 2>"$TU_TMP/bad.log"
[ $? -eq 2 ] || tu_fail "an empty service is not a usage error"
grep -q "service must be 1..63 bytes" "$TU_TMP/bad.log" || tu_fail "no clear error for an empty service"

# --- 5. the redis source: instance keys with EXPIRE, ttl: true -------------------------
tu_redis hset registry:checkout:web-7 addr 10.0.0.7:50054 >/dev/null
tu_redis pexpire registry:checkout:web-7 1500 >/dev/null
tu_redis hset registry:checkout:web-8 addr 10.0.0.8:50054 >/dev/null
"$PRODUCER" --config "$CONFIG" --once 2>>"$TU_TMP/once.log" || tu_fail "producer --once failed"
pl_scan registry
pl_expect "ttl: true adds ttl_ms from PTTL (-1 without an expiry)" '
	.[-1].msg.complete and .[-1].msg.seen == 2
	and ([.[] | select(.msg.entity.name == "web-7")][0].msg.attrs | from_entries
	     | .addr == "10.0.0.7:50054" and (.ttl_ms | tonumber) > 0 and (.ttl_ms | tonumber) <= 1500)
	and ([.[] | select(.msg.entity.name == "web-8")][0].msg.attrs | from_entries | .ttl_ms == "-1")'
sleep 2
"$PRODUCER" --config "$CONFIG" --once 2>>"$TU_TMP/once.log" || tu_fail "producer --once failed"
pl_scan registry
pl_expect "an expired instance key is gone from the next scan" '
	.[-1].msg.complete and .[-1].msg.seen == 1
	and [.[1:-1][] | .msg.entity.name] == ["web-8"]'
registry_swept() {
	! present instance checkout web-7 registry && present instance checkout web-8 registry
}
tu_wait_for 20 "the processor to sweep the expired key" registry_swept
tu_log "ok: the processor marks the expired instance absent after the complete scan"
tu_stop processor
tu_log "PASS"
