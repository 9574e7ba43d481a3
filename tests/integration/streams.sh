#!/usr/bin/env bash
# `trueup streams apply` (issue 2 item 2): creates the four streams and the
# durable consumers; a second run changes nothing; a changed limit is updated
# in place; a stream that conflicts (storage, subjects) is an error naming the
# field, with exit status 3.
. "$(dirname "$0")/../lib/harness.sh"
: "${TU_BUILD:?}"
tu_setup
tu_start_nats
cfg() {
	cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL" }
processor: { view: $TU_TMP/view }
streams: { events: { max_age: $1 } }
targets:
  - { name: redis, type: redis }
  - { name: docker-b, type: redis }
YAML
}
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
cfg 720h
out=$("$TU_BUILD/trueup" streams apply) || tu_fail "first apply: $out"
echo "$out"
[ "$(echo "$out" | grep -c ': created$')" -eq 7 ] || tu_fail "expected 4 streams + 3 consumers created"
out=$("$TU_BUILD/trueup" streams apply) || tu_fail "second apply"
[ "$(echo "$out" | grep -c ': unchanged$')" -eq 7 ] || tu_fail "second apply changed something: $out"

cfg 24h
out=$("$TU_BUILD/trueup" streams apply) || tu_fail "apply with new max_age"
echo "$out" | grep -q '^stream TRUEUP_EVENTS: updated: max_age_ns 2592000000000000 -> 86400000000000$' \
	|| tu_fail "max_age not updated: $out"
out=$("$TU_BUILD/trueup" streams apply)
[ "$(echo "$out" | grep -c ': unchanged$')" -eq 7 ] || tu_fail "not idempotent after update"

"$TU_BUILD/tests/mkstream" --url "$NATS_URL" --name TRUEUP_DEAD --delete --subjects 'trueup.dead.>' --memory
err=$("$TU_BUILD/trueup" streams apply 2>&1 >/dev/null); rc=$?
[ $rc -eq 3 ] || tu_fail "conflict should exit 3, got $rc"
echo "$err" | grep -q 'TRUEUP_DEAD: field storage is memory' || tu_fail "conflict not named: $err"

"$TU_BUILD/tests/mkstream" --url "$NATS_URL" --name TRUEUP_DEAD --delete --subjects 'trueup.dead.x,other.>'
err=$("$TU_BUILD/trueup" streams apply 2>&1 >/dev/null); rc=$?
[ $rc -eq 3 ] || tu_fail "subject conflict should exit 3, got $rc"
echo "$err" | grep -q 'TRUEUP_DEAD: field subjects' || tu_fail "subject conflict not named: $err"
tu_log "PASS"
