#!/usr/bin/env bash
# The HTTP endpoints (docs/metrics.md) on the ghost-worker case: the
# processor's /healthz, /readyz, /metrics with the drift, command, outcome and
# fix counts the run produced, GET /reconciliation/status, POST
# /reconciliation/trigger; the producer's and the actuator's /healthz and
# /metrics; `trueup status` showing the actuator's breaker.
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
# The producer's and the actuator's endpoints (http.producer, http.actuator: port 0 in
# this config, so the bound port comes from their logs).
port_of() { grep -o 'metrics and health on [^ ]* (port [0-9]*' "$TU_TMP/$1.log" | grep -o '[0-9]*$' | head -1; }
PP=$(port_of producer)
AP=$(port_of actuator)
[ -n "$PP" ] && [ -n "$AP" ] || tu_fail "producer ($PP) or actuator ($AP) endpoint not logged"
curl -sf "http://127.0.0.1:$PP/healthz" >/dev/null || tu_fail "producer /healthz"
curl -sf "http://127.0.0.1:$AP/healthz" >/dev/null || tu_fail "actuator /healthz"
m=$(curl -sf "http://127.0.0.1:$PP/metrics") || tu_fail "producer /metrics"
echo "$m" | grep -q '^trueup_scans_total{source="redis",result="complete"} [1-9]' || tu_fail "producer: no complete redis scans: $m"
echo "$m" | grep -q '^trueup_scan_entities{source="declared"} 2$' || tu_fail "producer: declared entities: $m"
echo "$m" | grep -q '^trueup_scan_duration_seconds_count{source="redis"} [1-9]' || tu_fail "producer: scan durations"
echo "$m" | grep -q '^trueup_build_info{version="[^"]*",component="producer"} 1$' || tu_fail "producer build info"
m=$(curl -sf "http://127.0.0.1:$AP/metrics") || tu_fail "actuator /metrics"
want 'trueup_commands_executed_total{target="redis",action="del",result="succeeded"} 1'
want 'trueup_commands_executed_total{target="redis",action="set",result="succeeded"} 1'
want 'trueup_breaker_state{target="redis",provider="redis"} 0'
echo "$m" | grep -q '^trueup_actuator_duration_seconds_count{target="redis",action="del"} 1$' || tu_fail "actuator durations: $m"
# trueup status asks the actuators for their breakers
st=$("$TU_BUILD/trueup" status -o json) || tu_fail "status"
echo "$st" | jq -e '.actuators | length == 1 and .[0].target == "redis" and .[0].breaker == "closed" and .[0].outcomes == 2' >/dev/null ||
	tu_fail "status actuators: $(echo "$st" | jq -c .actuators)"
"$TU_BUILD/trueup" status | grep -q 'redis .* breaker closed' || tu_fail "status text lacks the breaker"
tu_stop actuator
st=$("$TU_BUILD/trueup" status -o json)
echo "$st" | jq -e '.actuators[0].error == "no actuator answered"' >/dev/null || tu_fail "status without actuator: $(echo "$st" | jq -c .actuators)"
tu_log "PASS"
