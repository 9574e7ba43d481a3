#!/usr/bin/env bash
# http.sh - the http source and target against the HTTP API fixture
# (tests/fixtures/http-api, DigitalOcean App Platform shapes) and a real
# nats-server:
#   source: the digitalocean-apps preset over two pages (one app -> one entity
#   per service), a generic list with relative next links, 429 with
#   Retry-After and 503 retried then a complete scan, retries exhausted and
#   401 ending incomplete, a truncated and a malformed reply (incomplete,
#   nothing deleted, the next scan whole again), a timeout retried, and the
#   reply cache (a scan within cache_ttl makes no request);
#   target: set-instance-count changes only that instance_count and is a
#   noop the second time, a stale precondition is skipped, dry-run changes
#   nothing, 503 on PUT is retried to success, an unknown app is permanent,
#   `alert` reaches the webhook exactly once per command, `request` sends a
#   templated request.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/http_api.sh"
. "$(dirname "$0")/producer_lib.sh"

command -v jq >/dev/null || tu_fail "jq not installed"
command -v curl >/dev/null || tu_fail "curl not installed"
ACTUATOR=$TU_BUILD/trueup-actuator
CMD=$TU_BUILD/tests/actuator_cmd

tu_setup
tu_start_nats
http_api_start --per-page 2
printf 'Bearer wrong-token\n' >"$TU_TMP/bad.token"
SHOP=6f3b1a2e-0001-4c55-9a1e-111111111111
JOBS=6f3b1a2e-0004-4c55-9a1e-444444444444

CONFIG=$TU_TMP/trueup.yaml
cat >"$CONFIG" <<EOF
nats: { url: "$NATS_URL" }
log: { level: debug, format: text }
sources:
  - name: do
    type: http
    preset: digitalocean-apps
    base_url: "$API_URL"
    auth_file: $API_TOKEN_FILE
    interval: 1h
    timeout: 1s
    retries: 3
    backoff: 100ms
    backoff_max: 2s
  - name: docache
    type: http
    preset: digitalocean-apps
    base_url: "$API_URL"
    auth_file: $API_TOKEN_FILE
    interval: 1h
    cache_ttl: 1h
  - name: dobad
    type: http
    preset: digitalocean-apps
    base_url: "$API_URL"
    auth_file: $TU_TMP/bad.token
    interval: 1h
  - name: items
    type: http
    url: "$API_URL/items"
    auth_file: $API_TOKEN_FILE
    headers: { X-Trueup-Test: "1" }
    items: .data
    next: .paging.next
    rate: 20/s
    interval: 1h
    observe:
      - kind: node
        namespace: "{.labels.pool}"
        name: "{.name}"
        attrs: { id: "{.id}", ready: "{.ready}", source: "{source}" }
targets:
  - name: do
    type: http
    preset: digitalocean-apps
    base_url: "$API_URL"
    auth_file: $API_TOKEN_FILE
    webhook_url: "$API_URL/hooks/alerts"
    fetch_wait: 200ms
    ack_wait: 3s
    max_deliver: 4
    timeout: 2s
EOF
pl_streams_apply

# Requests of the fixture log whose path starts with $1.
count_requests() { api_requests "[.[] | select(.path | startswith(\"$1\"))] | length"; }
once() { # once SOURCE: one --once scan of SOURCE, exit status ignored
	"$PRODUCER" --config "$CONFIG" --source "$1" --once >>"$TU_TMP/once.log" 2>&1 || true
}

# --- source: preset over two pages --------------------------------------------
"$PRODUCER" --config "$CONFIG" --source do --once 2>"$TU_TMP/once.log" ||
	{ cat "$TU_TMP/once.log" >&2; tu_fail "--once did not exit 0"; }
pl_scan do
pl_expect_framed
pl_expect "the preset maps every service of every app, across both pages" '
	.[-1].msg.complete and .[-1].msg.full and .[-1].msg.seen == 5
	and .[0].msg.kinds == ["service"]
	and ([.[1:-1][] | "\(.msg.entity.namespace)/\(.msg.entity.name)"] | sort)
	    == ["blog/web", "jobs/cron-runner", "jobs/queue", "shop/api", "shop/web"]'
pl_expect "attributes come from the service and its app (parent)" '
	[.[] | select(.msg.entity.namespace == "shop" and .msg.entity.name == "web")][0]
	| .subject == "trueup.obs.do.service"
	  and (.msg.attrs | from_entries) == {app_id: "'$SHOP'", instance_count: "2",
	       instance_size_slug: "apps-s-1vcpu-0.5gb", autoscaling_min: "", autoscaling_max: "",
	       region: "nyc", deployment: (.msg.attrs | from_entries | .deployment), phase: "ACTIVE"}'
pl_expect "an autoscaled service has no instance_count but its bounds" '
	[.[] | select(.msg.entity.namespace == "blog")][0].msg.attrs | from_entries
	| .instance_count == "" and .autoscaling_min == "1" and .autoscaling_max == "3"'
[ "$(api_requests '[.[] | select(.path | startswith("/v2/apps"))
	| [.method, .path, .status, .auth, .user_agent]]')" = \
  '[["GET","/v2/apps",200,true,"trueup/1"],["GET","/v2/apps?page=2&per_page=2",200,true,"trueup/1"]]' ] ||
	tu_fail "pagination did not follow links.pages.next once: $(api_requests)"
tu_log "ok: two pages, links.pages.next followed, auth and User-Agent on each"

# --- source: a generic list with relative next links ----------------------------
once items
pl_scan items
pl_expect "relative next links are followed; templates see {.path} and {source}" '
	.[-1].msg.complete and .[-1].msg.seen == 5
	and ([.[1:-1][] | "\(.msg.entity.namespace)/\(.msg.entity.name)"] | sort)
	    == ["cpu/node-2", "cpu/node-4", "gpu/node-1", "gpu/node-3", "gpu/node-5"]
	and ([.[] | select(.msg.entity.name == "node-3")][0].msg.attrs | from_entries)
	    == {id: "item-3", ready: "false", source: "items"}'
[ "$(count_requests /items)" = 3 ] || tu_fail "items: want 3 page requests: $(api_requests)"

# --- source: 429 with Retry-After, 503, a timeout: retried, then complete --------
api_ctl POST reset-log >/dev/null
api_fault '{"path": "/v2/apps", "kind": "429", "count": 2, "retry_after": 1}'
api_fault '{"path": "/v2/apps?page=2", "kind": "503", "count": 2}'
api_fault '{"path": "/v2/apps?page=2", "kind": "delay", "delay_ms": 1500, "count": 1}'
start=$SECONDS
once do
pl_scan do
pl_expect "429 (Retry-After), 503 and a timeout are retried and the scan completes" '
	.[-1].msg.complete and .[-1].msg.seen == 5 and .[-1].msg.skipped == 0'
# The timed-out request is logged when the fixture's delay ends, which may be after the
# scan: wait for it, then read the log once.
sleep 1
seq=$(api_requests '[.[] | .status]')
[ "$seq" = '[429,429,200,503,503,200,200]' ] ||
	tu_fail "unexpected request sequence: $seq ($(api_requests '[.[] | [.path, .status]]'))"
[ $((SECONDS - start)) -ge 2 ] || tu_fail "Retry-After: 1 was not honoured (two 429s in < 2 s)"
grep -q "HTTP 429: too_many_requests: API Rate limit exceeded.; retry 1 of 3" "$TU_TMP/once.log" ||
	tu_fail "no warning naming the 429 and the retry"
tu_log "ok: 429 x2 (Retry-After honoured), 503 x2 and a timeout retried"

api_fault '{"path": "/v2/apps", "kind": "503", "count": 10}'
once do
pl_scan do
pl_expect "retries exhausted: incomplete, says why, deletes nothing" '
	(.[-1].msg.complete | not) and .[-1].msg.deleted == 0 and .[-1].msg.published == 0
	and (.[-1].msg.error | test("page 1 \\(GET http://127.0.0.1:[0-9]+/v2/apps\\): HTTP 503: service_unavailable: Service temporarily unavailable. \\(retries exhausted\\)"))'
api_ctl DELETE faults >/dev/null

once dobad
pl_scan dobad
pl_expect "401 ends the scan incomplete with the API message, no retry" '
	(.[-1].msg.complete | not) and .[-1].msg.published == 0
	and (.[-1].msg.error | test("HTTP 401: unauthorized: Unable to authenticate you."))'
grep -q "wrong-token" "$TU_TMP/once.log" "$TU_TMP"/*.log && tu_fail "the auth value reached a log"
grep -q "$API_TOKEN" "$TU_TMP/once.log" && tu_fail "the token reached a log"

# --- source: truncated and malformed replies: incomplete, nothing lost -----------
tu_bg producer "$PRODUCER" --config "$CONFIG" --source do
pl_wait_ends do 4
pl_scan do
pl_expect "the running producer's first scan is full and complete" '
	.[-1].msg.full and .[-1].msg.complete and .[-1].msg.published == 5'
api_fault '{"path": "/v2/apps?page=2", "kind": "truncate", "count": 1}'
pl_request do >/dev/null
pl_wait_ends do 5
pl_scan do
pl_expect "a truncated page: incomplete with the JSON error, nothing deleted" '
	(.[-1].msg.full | not) and (.[-1].msg.complete | not) and .[-1].msg.deleted == 0
	and (.[-1].msg.error | test("page 2 \\(GET .*page=2.*\\): JSON syntax: .* at line 1"))'
pl_request do >/dev/null
pl_wait_ends do 6
pl_scan do
pl_expect "the scan after it is full and whole again" '
	.[-1].msg.full and .[-1].msg.complete and .[-1].msg.published == 5 and .[-1].msg.deleted == 0'
api_fault '{"path": "/v2/apps", "kind": "malformed", "count": 1}'
pl_request do >/dev/null
pl_wait_ends do 7
pl_scan do
pl_expect "a malformed page: incomplete, nothing deleted" '
	(.[-1].msg.complete | not) and .[-1].msg.deleted == 0 and .[-1].msg.published == 0
	and (.[-1].msg.error | test("page 1 .*JSON syntax"))'
tu_stop producer

# --- source: the cache -----------------------------------------------------------
tu_bg producercache "$PRODUCER" --config "$CONFIG" --source docache
pl_wait_ends docache 1
before=$(count_requests /v2/apps)
pl_request docache >/dev/null
pl_wait_ends docache 2
pl_request docache '{"full": true}' >/dev/null
pl_wait_ends docache 3
pl_scan docache
pl_expect "scans within cache_ttl map the cached reply: complete, every entity" '
	.[-1].msg.full and .[-1].msg.complete and .[-1].msg.published == 5'
[ "$(count_requests /v2/apps)" = "$before" ] ||
	tu_fail "a scan within cache_ttl made requests ($before before, $(count_requests /v2/apps) after)"
tu_log "ok: two scans within cache_ttl made no request"
tu_stop producercache

# --- target -------------------------------------------------------------------------
N=0
cmd() { # cmd ACTION [actuator_cmd flags]: publishes a command with a fresh id in $ID
	local action=$1
	shift
	N=$((N + 1))
	ID=$(printf 'httpcmd%017d' "$N")
	"$CMD" --url "$NATS_URL" --target do --action "$action" --id "$ID" --corr "corr$ID" \
		--rule itest "$@" >/dev/null || tu_fail "cannot publish command $ID"
}
outcomes() {
	"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json |
		jq -c '.message | .result |= (ascii_downcase | sub("^result_"; "") | gsub("_"; "-"))'
}
has_result() { outcomes | jq -s -e --arg id "$1" --arg r "$2" \
	'any(.[]; .command_id == $id and .result == $r)' >/dev/null; }
wait_result() { # wait_result ID RESULT: the outcome in $O
	tu_wait_for 30 "outcome $2 for $1" has_result "$1" "$2"
	O=$(outcomes | jq -c --arg id "$1" --arg r "$2" 'select(.command_id == $id and .result == $r)' |
		tail -n 1)
}
expect() { # expect JQ-FILTER WHAT: on $O
	jq -e "$1" <<<"$O" >/dev/null || tu_fail "$2: $O"
	tu_log "ok: $2"
}
spec_of() { api_ctl GET apps | jq -c --arg id "$1" '.[] | select(.id == $id) | .spec'; }
count_of() { spec_of "$1" | jq -r --arg s "$2" '.services[] | select(.name == $s) | .instance_count'; }

tu_bg actuator "$ACTUATOR" --config "$CONFIG" --target do --instance a1
shop_before=$(spec_of $SHOP)

cmd set-instance-count --param app_id=$SHOP --param service=web --param instance_count=3 \
	--pre field_equals --pre-field instance_count --pre-value 2 --entity service/shop/web
wait_result "$ID" succeeded
expect '.detail | test("set instance_count of service web of app shop \\('$SHOP'\\) from 2 to 3: HTTP 200")' \
	"set-instance-count succeeded and says what it did"
[ "$(count_of $SHOP web)" = 3 ] || tu_fail "the fixture's web count is $(count_of $SHOP web)"
api_ctl GET puts | jq -e --argjson before "$shop_before" '
	length == 1 and .[0].app_id == "'$SHOP'" and (.[0].body | keys) == ["spec"]
	and (.[0].body.spec | del(.services[0].instance_count)) == ($before | del(.services[0].instance_count))
	and .[0].body.spec.services[0].instance_count == 3' >/dev/null ||
	tu_fail "the PUT changed more than instance_count: $(api_ctl GET puts)"
[ "$(api_requests '[.[] | select(.method == "PUT")][0] | [.auth, .idempotency_key]')" = "[true,\"$ID\"]" ] ||
	tu_fail "the PUT lacks auth or Idempotency-Key: $(api_requests)"
tu_log "ok: the PUT carries the whole spec, only web's instance_count changed"

cmd set-instance-count --param app_id=$SHOP --param service=web --param instance_count=3 \
	--pre field_equals --pre-field instance_count --pre-value 2
wait_result "$ID" noop
expect '.detail | test("already has instance_count 3")' "the same change again is a noop"
[ "$(api_ctl GET puts | jq length)" = 1 ] || tu_fail "a noop sent a PUT"

api_ctl POST scale '{"app_id": "'$SHOP'", "service": "api", "instance_count": 4}' >/dev/null
cmd set-instance-count --param app_id=$SHOP --param service=api --param instance_count=2 \
	--pre field_equals --pre-field instance_count --pre-value 1
wait_result "$ID" skipped-precondition
expect '.detail | test("precondition 1 \\(field_equals api.instance_count \"1\"\\) failed: actual \"4\"")' \
	"a stale precondition is skipped, naming the live value"
[ "$(count_of $SHOP api)" = 4 ] && [ "$(api_ctl GET puts | jq length)" = 1 ] ||
	tu_fail "a skipped command changed the app"

cmd set-instance-count --param app_id=$JOBS --param service=queue --param instance_count=5 \
	--mode dry-run
wait_result "$ID" dry-run
expect '.detail | test("would set instance_count of service queue of app jobs .* from 3 to 5")' \
	"dry-run says what it would do"
[ "$(count_of $JOBS queue)" = 3 ] && [ "$(api_ctl GET puts | jq length)" = 1 ] ||
	tu_fail "dry-run changed the app"

api_fault '{"path": "/v2/apps/'$JOBS'", "method": "PUT", "kind": "503", "count": 1}'
cmd set-instance-count --param app_id=$JOBS --param service=queue --param instance_count=4
wait_result "$ID" failed-retryable
expect '.error | test("Service temporarily unavailable")' "503 on PUT is failed-retryable"
wait_result "$ID" succeeded
expect '.result == "succeeded"' "the redelivery succeeds"
# Both attempts are in the audit trail, each its own outcome. (Not `.delivery == 2`: nats-server
# 2.9.10 sometimes delivers a naked command with delivery count 1 again; RELIABILITY.md.)
attempts=$(outcomes | jq -s -c --arg id "$ID" '[.[] | select(.command_id == $id) | .result]')
[ "$attempts" = '["failed-retryable","succeeded"]' ] ||
	tu_fail "the outcomes of $ID in TRUEUP_EVENTS: $attempts, want the retryable failure then the success"
tu_log "ok: both attempts are in the audit trail"
[ "$(count_of $JOBS queue)" = 4 ] || tu_fail "queue count is $(count_of $JOBS queue)"

cmd set-instance-count --param app_id=no-such-app --param service=web --param instance_count=2
wait_result "$ID" failed-permanent
expect '.error | test("not_found: The resource you were accessing could not be found.")' \
	"an unknown app is failed-permanent with the API's message"
cmd set-instance-count --param app_id=$SHOP --param service=web --param instance_count=999
wait_result "$ID" failed-permanent
expect '.error | test("instance_count must be 1..250")' "a 422 is failed-permanent with the message"

cmd alert --param severity=page --param summary="shop/web has 6 of 2" --entity service/shop/web \
	--reason "6 live instances, 2 desired"
alert_id=$ID
wait_result "$ID" succeeded
"$CMD" --url "$NATS_URL" --target do --action alert --id "$alert_id" --corr "corr$alert_id" \
	--rule itest --msg-id "again-$alert_id" --param severity=page >/dev/null
cmd alert --param severity=info --mode dry-run
wait_result "$ID" dry-run
api_ctl GET webhooks | jq -e --arg id "$alert_id" '
	length == 1 and .[0].hook == "alerts" and .[0].idempotency_key == $id and (.[0].auth | not)
	and .[0].body.command_id == $id and .[0].body.rule == "itest" and .[0].body.action == "alert"
	and .[0].body.entity == {kind: "service", namespace: "shop", name: "web"}
	and .[0].body.reason == "6 live instances, 2 desired"
	and .[0].body.params == {severity: "page", summary: "shop/web has 6 of 2"}' >/dev/null ||
	tu_fail "the webhook did not get exactly one alert: $(api_ctl GET webhooks)"
tu_log "ok: alert reached the webhook once (the same command again and a dry-run sent nothing)"

cmd request --param method=POST --param path=/echo/a%20b --param body='{"replicas": 2}'
wait_result "$ID" succeeded
expect '.detail == "POST '"$API_URL"'/echo/a%20b: HTTP 200"' "request POSTs the rendered path"
[ "$(api_requests '[.[] | select(.path == "/echo/a%20b")][0] | [.method, .auth]')" = '["POST",true]' ] ||
	tu_fail "request did not reach the API with auth"
cmd request --param method=GET --param url=http://127.0.0.1:1/elsewhere --mode dry-run
wait_result "$ID" dry-run
expect '.detail == "would GET http://127.0.0.1:1/elsewhere (0 bytes of body)"' \
	"a URL off base_url would go without the auth header"
cmd request --param method=POST --param path=/echo/x --param body='{"oops"'
wait_result "$ID" failed-permanent
expect '.error | test("param body: not JSON")' "a body that is not JSON is refused"

tu_stop actuator
grep -q "$API_TOKEN" "$TU_TMP"/*.log && tu_fail "the token reached a log"
tu_log "PASS"
