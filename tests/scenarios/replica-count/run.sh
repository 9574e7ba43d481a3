#!/usr/bin/env bash
# tests/scenarios/replica-count/run.sh - the replica-count case (issue 4,
# scenario 3): DigitalOcean says 2 instances of reports/worker, 6 heartbeat,
# then 4 stop. See README.md for what it reproduces and checks.
#
#   cd build && ctest -R scenario.replica-count --output-on-failure
#   TU_BUILD=$PWD/build TU_SRC=$PWD bash tests/scenarios/replica-count/run.sh
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../lib/harness.sh"
. "$HERE/../../lib/http_api.sh"
. "$HERE/../../lib/scenario.sh"

command -v jq >/dev/null || tu_fail "jq not installed"
command -v curl >/dev/null || tu_fail "curl not installed"

RULE=replica-count
STALE=stale-instance
APP_ID=5a4d8c2e-7b1f-4e0a-9c3d-0123456789ab
WORKERS=reports-worker # heartbeat service of DO service reports/worker: "{namespace}-{name}"
HB_INTERVAL=300ms
HB_TTL=2s

tu_setup
tu_start_nats
http_api_start
api_ctl POST apps "$(cat "$HERE/apps.json")" >/dev/null || tu_fail "cannot seed the apps"
SEED_APPS=$(api_ctl GET apps | jq -cS .)
scenario_render "$HERE/trueup.yaml.in" "$TU_TMP/trueup.yaml" NATS_URL="$NATS_URL" \
	TMP="$TU_TMP" API_URL="$API_URL" API_TOKEN_FILE="$API_TOKEN_FILE"
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "trueup streams apply"

# ---- helpers ---------------------------------------------------------------------------------

# hb_start SERVICE INSTANCE [SUFFIX]: one instance heartbeating (process hb-INSTANCE[SUFFIX]).
hb_start() {
	tu_bg "hb-$2${3:-}" "$TU_BUILD/trueup-heartbeat" --config "$TRUEUP_CONFIG" --service "$1" \
		--instance "$2" --interval "$HB_INTERVAL" --ttl "$HB_TTL" --attr "version=1.8.0"
}

# live SERVICE: instances of SERVICE that the view has present in source hb.
live() {
	"$TU_BUILD/trueup" view dump 2>/dev/null | sed -n 's/^entity .* \({"ref":.*\)$/\1/p' |
		jq -s --arg ns "$1" '[.[] | select(.ref.kind == "instance" and .ref.namespace == $ns)
			| select(any(.sources[]; .source == "hb" and .present))] | length'
}
live_is() { [ "$(live "$1")" = "$2" ]; }

# The fixture's polls: GET /v2/apps requests, as [{at}] (fixture clock = this machine's).
gets() { api_requests '[.[] | select(.method == "GET" and (.path | startswith("/v2/apps")))]'; }
gets_after() { gets | jq --argjson t "$1" '[.[] | select(.at > $t)] | length'; }
now() { date +%s.%N; }
# next_poll_at: when the producer's next poll of /v2/apps is due. It polls every
# second, start to start, so the next one is the last one plus whole seconds.
next_poll_at() {
	gets | jq --argjson now "$(now)" 'if length == 0 then error("no poll yet") else
		.[-1].at as $l | $l + (($now - $l) | floor) + 1 end'
}
# sleep_until T: sleeps until the wall clock reads T (seconds since the epoch).
sleep_until() {
	sleep "$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; if (d < 0) d = 0; printf "%.3f", d }')"
}
# wait_polls N: waits until N more polls have happened.
wait_polls() {
	local t
	t=$(now)
	tu_wait_for 30 "$1 polls of /v2/apps" polls_since "$t" "$1"
}
polls_since() { [ "$(gets_after "$1")" -ge "$2" ]; }

webhooks() { api_ctl GET webhooks; }
n_webhooks() { webhooks | jq length; }

# drift events of a rule (decoded DriftEvents, one per line).
drift_of() { scenario_drift | jq -c --arg r "$1" 'select(.rule == $r)'; }

# events: TRUEUP_EVENTS as one JSON array (seq, subject, time, message).
events() { "$TU_BUILD/trueup" streams dump TRUEUP_EVENTS -o json | jq -s -c .; }

# polls_in EVENTS FROM TO: polls of service reports/worker by source do folded in
# (FROM, TO]: scans of `do` that observed the entity, or ended complete without it
# (a delta scan: unchanged), each scan once.
polls_in() {
	echo "$1" | jq --argjson a "$2" --argjson b "$3" '
		[.[] | select(.seq > $a and .seq <= $b)
		 | select((.subject == "trueup.obs.do.service" and .message.entity.namespace == "reports"
			   and .message.entity.name == "worker")
			  or (.subject == "trueup.obs.do._scan" and .message.phase == "PHASE_END"
			      and .message.complete))
		 | .message.scan_id] | unique | length'
}

# ---- start: 2 workers and 1 api instance heartbeat, then trueup -------------------------------
hb_start "$WORKERS" w-1
hb_start "$WORKERS" w-2
hb_start reports-api a-1
hb_stored() {
	[ "$("$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.hb.>' -o json |
		jq -s '[.[].message.instance] | unique | length')" -eq 3 ]
}
tu_wait_for 20 "the first heartbeats in TRUEUP_EVENTS" hb_stored
scenario_trueup do
tu_wait_for 20 "2 live workers in the view" live_is "$WORKERS" 2
tu_wait_for 20 "1 live api instance in the view" live_is reports-api 1
wait_polls 3
[ -z "$(drift_of "$RULE")" ] || tu_fail "drift while the count is right: $(drift_of "$RULE")"
tu_log "ok: steady state: 2 workers live, 2 desired, polled every second, no drift"

# ---- phase 1: a flap within one poll interval opens nothing -----------------------------------
# w-2 leaves 0.25 s before a poll and is back 0.25 s after it: that poll sees 1 live.
t=$(next_poll_at)
t=$(jq -n "$t + 1") # a whole interval ahead, whatever the load on this machine
sleep_until "$(jq -n "$t - 0.25")"
tu_stop hb-w-2 # SIGTERM: the goodbye makes w-2 absent at once (1 live, 2 desired)
sleep_until "$(jq -n "$t + 0.25")"
hb_start "$WORKERS" w-2 b # the same instance again, as a new process (hb-w-2b)
tu_wait_for 20 "w-2 back" live_is "$WORKERS" 2
wait_polls 4
ev=$(events)
w2() { echo "$ev" | jq -c "[.[] | select(.subject == \"trueup.hb.reports-worker.w-2\") | $1]"; }
stop_seq=$(w2 'select(.message.stopping) | .seq' | jq '.[0]')
back_seq=$(w2 ".seq | select(. > $stop_seq)" | jq '.[0]')
dip=$(w2 "select(.seq == $stop_seq or .seq == $back_seq) | .message.sent_at_ns" |
	jq '(.[1] - .[0]) / 1e9')
# The flap's premise is in polls, not seconds: fewer polls see the dip than confirm (3) needs.
# (A loaded machine may take over a second to start hb-w-2b; the assertions below still hold
# as long as fewer than 3 polls fall within the dip, which is checked.)
dip_polls=$(polls_in "$ev" "$stop_seq" "$back_seq")
[ "$dip_polls" -lt 3 ] ||
	tu_fail "polls during the dip: $dip_polls, wanted fewer than 3 (seqs $stop_seq..$back_seq; the dip lasted ${dip}s)"
tu_log "the dip lasted ${dip}s; $dip_polls poll(s) saw it"
[ -z "$(drift_of "$RULE")" ] || tu_fail "the flap opened a drift: $(drift_of "$RULE")"
[ "$(n_webhooks)" -eq 0 ] || tu_fail "the flap sent an alert: $(webhooks)"
tu_log "ok: w-2 flapped away and back in ${dip}s (under one poll interval; $dip_polls poll(s) of do saw 1 live):" \
	"no drift, no alert (confirm: 3 guards against flapping)"

# ---- phase 2: 6 heartbeat where 2 are desired: one alert after 3 polls ------------------------
sleep_until "$(jq -n "$(next_poll_at) + 0.5")" # between two polls: none is in flight
v_at=$(now)
for i in 3 4 5 6; do hb_start "$WORKERS" "w-$i"; done
tu_wait_for 20 "6 live workers" live_is "$WORKERS" 6
got_alert() { [ "$(n_webhooks)" -ge 1 ]; }
tu_wait_for 30 "the alert at the webhook" got_alert
hooks=$(webhooks)
echo "$hooks" | jq -e 'length == 1' >/dev/null || tu_fail "not exactly one alert: $hooks"
alert_at=$(echo "$hooks" | jq '.[0].at')
hook=$(echo "$hooks" | jq -c '.[0]')
echo "$hook" | jq -e --arg app "$APP_ID" '.hook == "oncall" and .auth == false
	and .body.rule == "replica-count" and .body.action == "alert" and .body.target == "do"
	and .body.entity == {kind: "service", namespace: "reports", name: "worker"}
	and .body.params.desired == "2" and .body.params.actual == "6"
	and .body.params.app_id == $app and .body.params.severity == "page"
	and .body.params.summary == "reports/worker: 6 live instances, 2 desired"
	and (.body.reason | test("desired 2 .*actual 6"))
	and .body.attempt == 1 and .idempotency_key == .body.command_id' >/dev/null ||
	tu_fail "unexpected alert: $hook"
polls_before=$(gets | jq --argjson a "$v_at" --argjson b "$alert_at" \
	'[.[] | select(.at > $a and .at < $b)] | length')
[ "$polls_before" -ge 3 ] || tu_fail "the alert came after $polls_before polls of /v2/apps, not 3"
tu_log "ok: one alert, $(jq -n "$alert_at - $v_at" | cut -c1-4)s after the surplus appeared," \
	"after $polls_before polls of /v2/apps: $(echo "$hook" | jq -c '.body | {entity, reason, params}')"

# The audit trail: the drift opened on the 3rd poll after the violation, with one command.
ev=$(events)
opened=$(drift_of "$RULE" | jq -c 'select(.state == "STATE_OPENED")')
[ "$(echo "$opened" | wc -l)" -eq 1 ] || tu_fail "not one OPENED drift: $opened"
echo "$opened" | jq -e '.entity == {kind: "service", namespace: "reports", name: "worker"}
	and ([.details[] | {(.key): .value}] | add | .desired == "2" and .actual == "6"
	     and .of == "instance reports-worker in hb")
	and .mode == "MODE_ENFORCE" and (.command_ids | length) == 1' >/dev/null ||
	tu_fail "unexpected OPENED drift: $opened"
o_since=$(echo "$opened" | jq .opened_seq)
o_seq=$(echo "$opened" | jq .seq)
echo "$ev" | jq -e --argjson s "$o_since" '.[] | select(.seq == $s)
	| .subject | test("^trueup\\.hb\\.reports-worker\\.w-[3-6]$")' >/dev/null ||
	tu_fail "the violation did not start with a new worker's heartbeat (seq $o_since)"
n=$(polls_in "$ev" "$o_since" "$o_seq")
[ "$n" -eq 3 ] || tu_fail "the drift opened after $n polls of do, not 3 (seqs $o_since..$o_seq)"
echo "$ev" | jq -e --argjson s "$o_seq" '.[] | select(.seq == $s)
	| .subject | startswith("trueup.obs.do.")' >/dev/null ||
	tu_fail "the drift did not open on a poll of do (seq $o_seq)"
cmds=$("$TU_BUILD/trueup" streams dump TRUEUP_CMD -o json | jq -s -c .)
echo "$cmds" | jq -e --arg id "$(echo "$opened" | jq -r '.command_ids[0]')" \
	--argjson o "$o_seq" 'length == 1 and .[0].subject == "trueup.cmd.do.alert"
	and .[0].message.command_id == $id and .[0].message.issued_seq == $o' \
	>/dev/null || tu_fail "commands are not the one alert, issued at seq $o_seq: $cmds"
tu_log "ok: OPENED at seq $o_seq, the 3rd poll of do after the violation began (seq $o_since);" \
	"one command, do.alert"

# ---- phase 3: 4 stop: 2 say goodbye, 2 are killed (absent after the TTL) ----------------------
k_at=$(now)
tu_stop hb-w-5 KILL
tu_stop hb-w-6 KILL
tu_stop hb-w-3
tu_stop hb-w-4
scenario_wait_state 20 "$RULE" worker STATE_RESOLVED
ev=$(events)
episode=$(drift_of "$RULE" | jq -s -c --argjson o "$o_seq" '[.[] | select(.seq > $o)
	| {state, seq, at_ns, reason, d: ([.details[] | {(.key): .value}] | add)}]')
cause() { echo "$ev" | jq -r --argjson s "$1" '.[] | select(.seq == $s) | .subject'; }
# The goodbyes: UPDATED at 5 then 4 live, each caused by a `stopping` heartbeat of w-3 or w-4.
for n in 5 4; do
	s=$(echo "$episode" | jq --arg n "$n" '[.[] | select(.state == "STATE_UPDATED" and .d.actual == $n)][0].seq')
	[ "$s" != null ] || tu_fail "no UPDATED drift at $n live: $episode"
	echo "$ev" | jq -e --argjson s "$s" '.[] | select(.seq == $s) | .message.stopping
		and (.subject | test("^trueup\\.hb\\.reports-worker\\.w-[34]$"))' >/dev/null ||
		tu_fail "UPDATED at $n live was caused by $(cause "$s"), not a goodbye"
done
resolved=$(echo "$episode" | jq -c '.[-1]')
echo "$resolved" | jq -e '.state == "STATE_RESOLVED" and .d.desired == "2" and .d.actual == "2"
	and (.reason | test("2 instance in hb/reports-worker, as desired"))' >/dev/null ||
	tu_fail "unexpected end of the episode: $episode"
r_after=$(echo "$resolved" | jq --argjson k "$k_at" '.at_ns / 1e9 - $k')
jq -n -e --argjson d "$r_after" '$d >= 1.2' >/dev/null ||
	tu_fail "resolved ${r_after}s after the kill, before the TTL ($HB_TTL) could end"
tu_log "ok: the goodbyes made it 5, then 4 live (still open); RESOLVED at 2 live" \
	"$(echo "$r_after" | cut -c1-4)s after the kill, once the killed instances' TTL ($HB_TTL) ended" \
	"(on $(cause "$(echo "$resolved" | jq .seq)"))"
tu_wait_for 10 "2 live workers" live_is "$WORKERS" 2
stale=$(drift_of "$STALE" | jq -c '{state, name: .entity.name}' | sort | jq -s -c .)
[ "$stale" = '[{"state":"STATE_OPENED","name":"w-5"},{"state":"STATE_OPENED","name":"w-6"}]' ] ||
	tu_fail "stale instances are not exactly the killed w-5 and w-6: $stale"
tu_log "ok: stale-instance (detect) reports exactly the killed w-5 and w-6"

# ---- phase 4: more polls: nothing more happens ----------------------------------------------
n_events=$(drift_of "$RULE" | wc -l)
wait_polls 4
[ "$(drift_of "$RULE" | wc -l)" -eq "$n_events" ] ||
	tu_fail "drift events after RESOLVED: $(drift_of "$RULE" | tail -n +$((n_events + 1)))"
[ "$(n_webhooks)" -eq 1 ] || tu_fail "a second alert: $(webhooks)"
[ "$("$TU_BUILD/trueup" streams dump TRUEUP_CMD -o json | jq -s length)" -eq 1 ] ||
	tu_fail "more than one command"
drifted=$(scenario_drift | jq -c '[.rule, .entity.kind, .entity.namespace, .entity.name]' | LC_ALL=C sort -u |
	jq -s -c .)
[ "$drifted" = '[["replica-count","service","reports","worker"],["stale-instance","instance","reports-worker","w-5"],["stale-instance","instance","reports-worker","w-6"]]' ] ||
	tu_fail "drift for other entities than worker, w-5 and w-6: $drifted"
"$TU_BUILD/trueup" audit "$(echo "$opened" | jq -r .correlation_id)" >"$TU_TMP/audit.txt" ||
	tu_fail "trueup audit found nothing for the episode"
drift_of "$RULE" | jq -r '[.state, .reason] | @tsv' >"$TU_TMP/episode.txt"
tu_log "ok: $(wc -l <"$TU_TMP/episode.txt") drift events for the episode, still one alert after 4 more polls:"
sed 's/^/    /' "$TU_TMP/episode.txt" >&2

# The systems themselves: DigitalOcean untouched, the webhook got one POST.
scenario_quiesce
[ "$(api_ctl GET apps | jq -cS .)" = "$SEED_APPS" ] || tu_fail "the apps changed: $(api_ctl GET apps)"
[ "$(api_ctl GET puts | jq length)" -eq 0 ] || tu_fail "PUTs reached the API: $(api_ctl GET puts)"
kinds=$(api_requests '[.[] | "\(.method) \(.path | sub("\\?.*"; "")) \(.status) \(.auth)"]
	| group_by(.) | map({(.[0]): length}) | add')
echo "$kinds" | jq -e 'keys == ["GET /v2/apps 200 true", "POST /hooks/oncall 204 false"]
	and .["POST /hooks/oncall 204 false"] == 1' >/dev/null ||
	tu_fail "unexpected requests at the API: $kinds"
outcome=$("$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.out.do.>' -o json | jq -s -c .)
echo "$outcome" | jq -e 'length == 1 and .[0].message.result == "RESULT_SUCCEEDED"' >/dev/null ||
	tu_fail "the alert's outcome: $outcome"
tu_log "ok: the API saw only authenticated GETs ($(echo "$kinds" | jq '.["GET /v2/apps 200 true"]')) and" \
	"one webhook POST (without the API token); instance_count still 2; outcome succeeded"
tu_log "PASS"
