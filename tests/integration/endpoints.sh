#!/usr/bin/env bash
# The processor's HTTP endpoints (docs/metrics.md) on the ghost-worker case:
# /healthz, /readyz, /metrics with the drift, command, outcome and fix counts
# the run produced, GET /reconciliation/status, POST /reconciliation/trigger.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ghost.sh"
: "${TU_BUILD:?}" "${TU_SRC:?}"
PORT=$(tu_free_port)
ghost_start enforce "127.0.0.1:$PORT"
B="http://127.0.0.1:$PORT"
tu_wait_for 20 "processor endpoints" curl -sf "$B/healthz"
tu_wait_for 20 "readiness" curl -sf "$B/readyz"
settled() { [ "$(ghost_status | jq '.drift | length')" -eq 0 ] && [ "$(ghost_status | jq .drift_resolved)" -ge 2 ]; }
tu_wait_for 60 "both drifts resolved" settled
m=$(curl -sf "$B/metrics") || tu_fail "no /metrics"
want() { echo "$m" | grep -qx -- "$1" || { echo "$m" | grep -F "${1%% *}" >&2; tu_fail "metrics lack: $1"; }; }
want 'trueup_drift_opened_total{rule="ghost-worker"} 1'
want 'trueup_drift_resolved_total{rule="worker-counter"} 1'
want 'trueup_drift_open{rule="ghost-worker"} 0'
want 'trueup_commands_issued_total{rule="ghost-worker",target="redis",action="del"} 1'
want 'trueup_commands_issued_total{rule="worker-counter",target="redis",action="set"} 1'
want 'trueup_outcomes_total{target="redis",result="succeeded"} 2'
want 'trueup_issues_fixed_total{rule="ghost-worker",rule_type="presence"} 1'
want 'trueup_issues_fixed_total{rule="worker-counter",rule_type="counter"} 1'
want 'trueup_outbox_depth 0'
want 'trueup_up 1'
echo "$m" | grep -q '^trueup_events_folded_total [1-9]' || tu_fail "nothing folded per /metrics"
echo "$m" | grep -q '^trueup_fold_batch_duration_seconds_count [1-9]' || tu_fail "no batch durations"
echo "$m" | grep -q '^trueup_consumer_lag [0-9]' || tu_fail "no consumer lag"
s=$(curl -sf "$B/reconciliation/status") || tu_fail "no status"
[ "$(echo "$s" | jq .applied_seq)" -gt 0 ] || tu_fail "status: $s"
t=$(curl -sf -X POST "$B/reconciliation/trigger") || tu_fail "trigger failed: $t"
[ "$(echo "$t" | jq '[.sources[] | select(.reply)] | length')" -eq 2 ] || tu_fail "trigger: $t"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$B/reconciliation/trigger?source=nope")" = 404 ] ||
	tu_fail "unknown source not refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X GET "$B/reconciliation/trigger")" = 405 ] ||
	tu_fail "GET trigger not refused"
tu_log "PASS"
