#!/usr/bin/env bash
# `trueup verify`, the pre-flight check: it fails on what is missing (streams
# not applied, a server down, a wrong password) and passes when everything is
# reachable, publishing nothing.
. "$(dirname "$0")/../lib/harness.sh"
: "${TU_BUILD:?}" "${TU_SRC:?}"
tu_setup
tu_start_nats
tu_start_redis
"$TU_SRC/ops/examples/ghost-worker/render.sh" "$TU_TMP" "$NATS_URL" "$REDIS_URL" enforce
"$TU_SRC/ops/examples/ghost-worker/seed-redis.sh" "$REDIS_PORT"
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
V="$TU_BUILD/trueup"

out=$("$V" verify) && tu_fail "verify passed without streams: $out"
echo "$out" | grep -q '^FAIL stream TRUEUP_EVENTS' || tu_fail "missing stream not reported: $out"
echo "$out" | grep -q '^ok   source redis .*4 entities read' || tu_fail "redis source not read: $out"
echo "$out" | grep -q '^ok   source declared .*2 entities' || tu_fail "files source not read: $out"
echo "$out" | grep -q '^ok   target redis .*reachable' || tu_fail "redis target not checked: $out"

"$V" streams apply >/dev/null || tu_fail "streams apply"
out=$("$V" verify -o json) || tu_fail "verify failed with everything in place: $out"
echo "$out" | jq -e 'all(.[]; .ok) and length >= 10' >/dev/null || tu_fail "json: $out"
[ "$("$V" streams dump TRUEUP_EVENTS -o json | wc -l)" -eq 0 ] || tu_fail "verify published something"

tu_stop redis
out=$("$V" verify) && tu_fail "verify passed with redis down"
echo "$out" | grep -q '^FAIL source redis' || tu_fail "source redis not failed: $out"
echo "$out" | grep -q '^FAIL target redis' || tu_fail "target redis not failed: $out"
echo "$out" | grep -q '^ok   source declared' || tu_fail "declared should still pass: $out"
tu_log "PASS"
