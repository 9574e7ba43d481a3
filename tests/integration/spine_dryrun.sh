#!/usr/bin/env bash
# The ghost-worker case with `mode: dry-run`: the same drift and commands are
# derived, the actuator reports `dry-run` outcomes saying what it would do, and
# Redis is left exactly as it was.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ghost.sh"
: "${TU_BUILD:?}" "${TU_SRC:?}"
ghost_start dry-run
before=$(tu_redis --scan --pattern 'autoscaler:*' | sort | while read -r k; do echo "$k $(tu_redis DUMP "$k" | od -An -tx1 | tr -d ' \n')"; done)

outcomes() {
	"$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json
}
two_dry_runs() { [ "$(outcomes | jq -s '[.[] | select(.message.result == "RESULT_DRY_RUN")] | length')" -ge 2 ]; }
tu_wait_for 60 "two dry-run outcomes" two_dry_runs
sleep 3 # a few more scans: nothing may change in the meantime either
after=$(tu_redis --scan --pattern 'autoscaler:*' | sort | while read -r k; do echo "$k $(tu_redis DUMP "$k" | od -An -tx1 | tr -d ' \n')"; done)
[ "$before" = "$after" ] || tu_fail "dry-run changed Redis"
outcomes | jq -r '.message.detail' | grep -q 'k3s-worker-3' || tu_fail "dry-run outcome does not say what it would do"
[ "$(outcomes | jq -s '[.[] | select(.message.result != "RESULT_DRY_RUN")] | length')" -eq 0 ] \
	|| tu_fail "a non-dry-run outcome in dry-run mode"
[ "$(ghost_status | jq '.drift | length')" -eq 2 ] || tu_fail "the two drifts should stay open"
tu_log "PASS"
