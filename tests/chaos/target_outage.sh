#!/usr/bin/env bash
# Chaos: a target that answers 429 and then 503 for OUTAGE_S seconds (RELIABILITY.md).
#
# The HTTP API fixture (tests/fixtures/http-api) answers every /echo/ request with
# 429 (Retry-After: 2) for the first half of the outage and 503 for the second
# (faults with for_ms). COMMANDS `request` commands (POST /echo/chaos/<i>) are
# published when it begins; one actuator for target `api` (rate 10/s, burst 2;
# breaker: 3 failures, cooldown 1s doubling up to 4s (8s long); max_deliver 30)
# works through the outage and after it.
#
# Checked, from the fixture's request log and TRUEUP_EVENTS: every command ends with
# one `succeeded` outcome (lost: none, or a failed-permanent one; duplicated: more
# than one final outcome) and exactly one 2xx request, after the outage (effects
# per command); the breaker opened; a command's attempts are at least the backoff
# apart (equal jitter: half of 1 s, 2 s, 4 s, ...) and at least Retry-After after a
# 429; no 1 s window holds more requests than the rate limit allows (10 + burst 2).
#
# Sizes: TU_CHAOS_COMMANDS (default 40; 200 with TU_CHAOS_LONG=1), TU_CHAOS_OUTAGE_S (8; 60).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/http_api.sh"
. "$(dirname "$0")/../lib/chaos.sh"
: "${TU_BUILD:?}"
COMMANDS=${TU_CHAOS_COMMANDS:-$(chaos_size 40 200)}
OUTAGE_S=${TU_CHAOS_OUTAGE_S:-$(chaos_size 8 60)}
MAX_COOLDOWN=$(chaos_size 4s 8s)
RATE=10
BURST=2
RETRY_AFTER=2
tu_setup
tu_start_nats
http_api_start
cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL" }
log: { level: info, format: text }
http: { actuator: "" }
targets:
  - name: api
    type: http
    base_url: "$API_URL"
    auth_file: $API_TOKEN_FILE
    rate: $RATE/s
    burst: $BURST
    timeout: 2s
    fetch_wait: 200ms
    max_deliver: 30          # a command given back while the breaker is open uses a delivery too
    breaker: { failures: 3, cooldown: 1s, max_cooldown: $MAX_COOLDOWN }
YAML
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "streams apply"

half=$((OUTAGE_S * 500))
api_fault "{\"path\": \"/echo/\", \"kind\": \"429\", \"retry_after\": $RETRY_AFTER, \"for_ms\": $half}"
until=$(api_ctl POST faults "{\"path\": \"/echo/\", \"kind\": \"503\", \"for_ms\": $((OUTAGE_S * 1000))}" |
	jq -r .until)
[ -n "$until" ] && [ "$until" != null ] || tu_fail "the fixture did not take the 503 fault"
tu_bg actuator "$TU_BUILD/trueup-actuator" --config "$TRUEUP_CONFIG" --target api --instance a1
cid() { printf 'chaos%019d' "$1"; }
for i in $(seq 1 "$COMMANDS"); do
	"$TU_BUILD/tests/actuator_cmd" --url "$NATS_URL" --target api --action request \
		--id "$(cid "$i")" --corr "corr$(cid "$i")" --rule chaos --param method=POST \
		--param "path=/echo/chaos/$i" --param "body={\"i\": $i}" >/dev/null ||
		tu_fail "publish command $i"
done
tu_log "$COMMANDS commands published; the target answers 429 then 503 for $OUTAGE_S s"

outcomes() {
	"$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json |
		jq -c '.message | {command_id, result, delivery}'
}
final_count() {
	outcomes | jq -s '[.[] | select(.result != "RESULT_FAILED_RETRYABLE") | .command_id]
		| unique | length'
}
tu_wait_for $((OUTAGE_S + 120)) "a final outcome for each of the $COMMANDS commands" \
	eval '[ "$(final_count)" -eq "$COMMANDS" ]'
sleep 1 # a second execution would show now
tu_stop actuator
outcomes >"$TU_TMP/outcomes.jsonl"
api_requests '[.[] | select(.path | startswith("/echo/chaos/"))
	| {key: .idempotency_key, status, at}] | sort_by(.at) | .[]' >"$TU_TMP/requests.jsonl"

# Outcomes: one final outcome per command, and it is `succeeded`.
jq -s -c 'group_by(.command_id)[] | {id: .[0].command_id,
	final: [.[] | select(.result != "RESULT_FAILED_RETRYABLE") | .result],
	deliveries: (map(.delivery) | max)}' "$TU_TMP/outcomes.jsonl" >"$TU_TMP/per_command.jsonl"
lost=$((COMMANDS - $(jq -s '[.[] | select(.final | index("RESULT_SUCCEEDED"))] | length' \
	"$TU_TMP/per_command.jsonl")))
dup=$(jq -s '[.[] | (.final | length) - 1 | select(. > 0)] | add // 0' "$TU_TMP/per_command.jsonl")
max_deliveries=$(jq -s 'map(.deliveries) | max' "$TU_TMP/per_command.jsonl")
# Effects: 2xx requests per command, and when.
effects=$(jq -s '[.[] | select(.status < 300)] | group_by(.key) | map(length)' "$TU_TMP/requests.jsonl")
max_effects=$(echo "$effects" | jq 'max // 0')
with_effect=$(echo "$effects" | jq length)
early=$(jq -s --argjson until "$until" '[.[] | select(.status < 300 and .at < $until)] | length' \
	"$TU_TMP/requests.jsonl")
during=$(jq -s --argjson until "$until" '[.[] | select(.at < $until)] | length' "$TU_TMP/requests.jsonl")
total=$(wc -l <"$TU_TMP/requests.jsonl")
# Backoff: consecutive attempts of one command; Retry-After after a 429.
too_soon=$(jq -s --argjson ra "$RETRY_AFTER" '
	group_by(.key) | map(. as $r | range(1; length) | {gap: ($r[.].at - $r[. - 1].at),
		want: (if $r[. - 1].status == 429 then $ra else 0.5 end)})
	| map(select(.gap < .want - 0.1)) | length' "$TU_TMP/requests.jsonl")
# Rate: the most requests in any 1 s window.
busiest=$(jq -s '[.[].at] as $t | [range(0; $t | length) as $i
	| [$t[$i:][] | select(. < $t[$i] + 1)] | length] | max // 0' "$TU_TMP/requests.jsonl")
opened=$(grep -o 'breaker opened [0-9]* times' "$TU_TMP/actuator.log" | awk '{print $3}' | tail -1)
tu_log "requests: $total ($during during the outage), busiest second $busiest, breaker opened ${opened:-?} times, max $max_deliveries deliveries of a command"

ok=yes
[ "$max_effects" -le 1 ] || ok=no
chaos_row "target answers 429/503 for $OUTAGE_S s" \
	"$COMMANDS commands; 429 (Retry-After $RETRY_AFTER s) then 503; $during requests during the outage" \
	"$lost" "$dup" \
	"max $max_effects 2xx per command, $early before recovery; breaker opened ${opened:-?} times; busiest second $busiest requests (limit $((RATE + BURST)))"
chaos_verdict "$lost" "$dup" "$ok"
[ "$with_effect" -eq "$COMMANDS" ] || tu_fail "$with_effect of $COMMANDS commands reached the target"
[ "$early" -eq 0 ] || tu_fail "$early requests succeeded during the outage"
[ "${opened:-0}" -ge 1 ] || tu_fail "the breaker never opened"
[ "$too_soon" -eq 0 ] || tu_fail "$too_soon retries came sooner than their backoff or Retry-After"
[ "$busiest" -le $((RATE + BURST)) ] || tu_fail "$busiest requests in one second (rate $RATE/s, burst $BURST)"
