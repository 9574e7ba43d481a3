#!/usr/bin/env bash
# blast.sh - blast radius on real servers: a Redis source emptied by FLUSHALL
# and a Kubernetes list answering 200 with zero items are held as suspect
# scans: 0 deletions (no entity goes absent in the view, no command derives
# from it), the source-suspect drift opens with its alert, and the hold ends
# when the source recovers (Redis) or an operator approves (Kubernetes).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/kube.sh"
. "$(dirname "$0")/../lib/scenario.sh"
: "${TU_BUILD:?}" "${TU_SRC:?}"
N=12

tu_setup
tu_start_nats
tu_start_redis
kube_certs
printf 'tok-1\n' >"$TU_TMP/kube/token"
# N nodes, the authority on which workers should exist
{
	printf '{"objects": ['
	for i in $(seq 1 $N); do
		[ "$i" -gt 1 ] && printf ','
		printf '{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "w%02d"}}' "$i"
	done
	printf ']}\n'
} >"$TU_TMP/seed.json"
kube_start "$TU_TMP/seed.json" tok-1
for i in $(seq 1 $N); do tu_redis hset "autoscaler:workers:w$(printf %02d "$i")" status ready >/dev/null; done

export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
cat >"$TRUEUP_CONFIG" <<YAML
nats: { url: "$NATS_URL" }
log: { level: info, format: text }
http: { processor: "", producer: "", actuator: "" }
processor:
  view: "$TU_TMP/view"
  tick: 1s
  on_suspect:
    - { target: redis, action: set, key: "trueup:alert:{source}", value: "{held} of {present} held (scan {scan_id})" }
sources:
  - name: kube
    type: kubernetes
    server: "$KUBE_URL"
    ca_file: "$KUBE_CA"
    token_file: "$TU_TMP/kube/token"
    interval: 1s
    full_every: 1
    observe:
      - { kind: worker, resource: nodes, name: "{.metadata.name}", namespace: default }
  - name: redis
    type: redis
    url: "$REDIS_URL"
    interval: 1s
    full_every: 3
    observe:
      - { kind: worker, scan: "autoscaler:workers:*", read: hash, name: "{key|afterlast::}" }
targets:
  - { name: redis, type: redis, url: "$REDIS_URL" }
rules:
  - name: ghost-worker
    type: presence
    kind: worker
    sources: [kube, redis]
    authority: kube
    mode: enforce
    when_extra:
      redis: [{ target: redis, action: del, key: "autoscaler:workers:{name}" }]
YAML
scenario_trueup redis

status() { "$TU_BUILD/trueup" status -o json; }
scans_of() { status | jq --arg s "$1" '[.scans[] | select(.source == $s) | .complete_scans] | first // 0'; }
cmds() { "$TU_BUILD/trueup" streams dump TRUEUP_CMD -o json | jq -c .message; }
ready() { [ "$(scans_of kube)" -ge 2 ] && [ "$(scans_of redis)" -ge 2 ]; }
tu_wait_for 60 "both sources scanned" ready
[ "$(cmds | wc -l)" -eq 0 ] || tu_fail "commands before any fault: $(cmds)"

# --- 1. FLUSHALL: Redis is emptied; its scans are held, nothing goes absent --------
tu_redis flushall >/dev/null
tu_wait_for 30 "redis held as suspect" bash -c "[ \"\$($TU_BUILD/trueup status -o json | jq -r '.drift[] | select(.rule == \"source-suspect\") | .entity')\" = source/trueup/redis ]"
n0=$(scans_of redis)
tu_wait_for 30 "two more redis scans" bash -c "[ \$($TU_BUILD/trueup status -o json | jq '[.scans[] | select(.source == \"redis\") | .complete_scans] | first') -ge $((n0 + 2)) ]"
"$TU_BUILD/trueup" inspect worker/default/w05 -o json | jq -e '.entity.sources[] | select(.source == "redis") | .present' >/dev/null ||
	tu_fail "w05 went absent in redis's view despite the hold"
[ "$(cmds | jq -r .action | sort | uniq -c | tr -s ' ')" = " 1 set" ] || tu_fail "commands during the hold: $(cmds)"
alert=$(tu_redis get trueup:alert:redis)
case "$alert" in "$N of $N held (scan redis-"*) ;; *) tu_fail "alert: '$alert'" ;; esac
tu_log "ok: FLUSHALL held ($alert)"

# the keys come back (restored from a backup): the hold ends, nothing was deleted
for i in $(seq 1 $N); do tu_redis hset "autoscaler:workers:w$(printf %02d "$i")" status ready >/dev/null; done
scenario_wait_state 30 source-suspect redis STATE_RESOLVED
[ "$(cmds | jq -r 'select(.action == "del")' | wc -l)" -eq 0 ] || tu_fail "deletions after recovery"
tu_log "ok: recovered, 0 deletions"

# --- 2. the Kubernetes list answers 200 with zero items -------------------------------
# (the producer is paused while the nodes go, so that its next list is empty at once)
tu_stop producer
for i in $(seq 1 $N); do
	curl -sf --cacert "$KUBE_CA" -H 'Authorization: Bearer tok-1' -X DELETE \
		"$KUBE_URL/api/v1/nodes/w$(printf %02d "$i")" >/dev/null || tu_fail "delete node $i"
done
curl -sf --cacert "$KUBE_CA" -H 'Authorization: Bearer tok-1' "$KUBE_URL/api/v1/nodes" |
	jq -e '.items | length == 0' >/dev/null || tu_fail "the node list is not empty"
tu_bg producer2 "$TU_BUILD/trueup-producer" --config "$TRUEUP_CONFIG"
scenario_wait_state 30 source-suspect kube STATE_OPENED STATE_UPDATED
n0=$(scans_of kube)
tu_wait_for 30 "two more kube scans" bash -c "[ \$($TU_BUILD/trueup status -o json | jq '[.scans[] | select(.source == \"kube\") | .complete_scans] | first') -ge $((n0 + 2)) ]"
[ "$(tu_redis keys 'autoscaler:workers:*' | wc -l)" -eq $N ] || tu_fail "redis workers deleted"
[ "$(cmds | jq -r 'select(.action == "del")' | wc -l)" -eq 0 ] || tu_fail "deletions during the kube hold: $(cmds)"
tu_log "ok: empty Kubernetes list held, 0 deletions"

# an operator who knows the cluster really is gone approves the suspect scan
scan_id=$(scenario_drift | jq -r 'select(.rule == "source-suspect" and .entity.name == "kube") | .details[] | select(.key == "scan_id") | .value' | tail -1)
"$TU_BUILD/trueup" approve "$scan_id" >/dev/null || tu_fail "approve $scan_id"
scenario_wait_state 30 source-suspect kube STATE_RESOLVED
tu_wait_for 30 "the ghosts removed" bash -c "[ \$(redis-cli -p $REDIS_PORT --raw keys 'autoscaler:workers:*' | grep -c .) -eq 0 ]"
tu_log "ok: approved, the deletions applied"
tu_log "PASS"
