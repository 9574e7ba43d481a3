#!/usr/bin/env bash
# run.sh - the cluster-restoration scenario (README.md next to this file):
# a Deployment rolled to an image tag that does not exist is rolled back to
# the last image it ran while Ready; zombie pods are force-deleted; a port
# that disagrees between a ConfigMap, the containerPort and the probes is
# reported with every value. Real nats-server, the Kubernetes API fixture,
# trueup's own binaries; the checks read the fixture's store and request log
# and trueup's streams.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/../../lib/kube.sh"
. "$(dirname "$0")/../../lib/scenario.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
: "${TU_BUILD:?TU_BUILD must name the build directory}"
command -v jq >/dev/null || tu_fail "jq not installed"
command -v openssl >/dev/null || tu_fail "openssl not installed"
TRUEUP=$TU_BUILD/trueup

GOOD=registry.local/web:1.4.2
BAD=registry.local/web:1.5.0-missing
PULLING=web-7f9c6d4b8-wq5rt # the new ReplicaSet's pod that cannot pull $BAD
ZOMBIES=(worker-7d8c9b6f5-zz9x8 api-5c7d9f6b8-s8d7f)
CONTROLLER_LAG=3 # seconds between the rollback and the "controller" catching up

tu_setup
tu_start_nats
kube_certs
printf 'restore-token\n' >"$TU_TMP/kube/token"
scenario_render "$HERE/seed.yaml.in" "$TU_TMP/seed.yaml" \
	STUCK_SINCE="$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)" \
	TERMINATING_SINCE="$(date -u -d '-10 seconds' +%Y-%m-%dT%H:%M:%SZ)"
kube_start "$TU_TMP/seed.yaml" restore-token
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
scenario_render "$HERE/trueup.yaml.in" "$TRUEUP_CONFIG" NATS_URL="$NATS_URL" \
	KUBE_URL="$KUBE_URL" KUBE_CA="$KUBE_CA" TOKEN="$TU_TMP/kube/token" DIR="$TU_TMP"
kube_store | jq -S '.objects' >"$TU_TMP/store-0.json"

# The Kubernetes API as a controller would use it (the fixture has no controllers).
kube_api() { # kube_api METHOD PATH
	curl -sS --fail --cacert "$KUBE_CA" -H "Authorization: Bearer restore-token" \
		-X "$1" "$KUBE_URL$2" >/dev/null
}
image_of() { kube_object Deployment "$1" "$2" | jq -r '.spec.template.spec.containers[0].image'; }

# --- pre-flight, then trueup ---------------------------------------------------------
"$TRUEUP" streams apply >/dev/null || tu_fail "trueup streams apply"
"$TRUEUP" verify >"$TU_TMP/verify.log" 2>&1 || { cat "$TU_TMP/verify.log" >&2; tu_fail "trueup verify"; }
grep -q '^ok   source kube  *20 entities read' "$TU_TMP/verify.log" ||
	{ cat "$TU_TMP/verify.log" >&2; tu_fail "verify did not read the 20 observed objects"; }
tu_log "pre-flight: $(tail -n 1 "$TU_TMP/verify.log")"
scenario_trueup kube

# trueup has seen prod/web Ready at 1.4.2: the view's history knows the image.
hist_web() { "$TRUEUP" view dump | grep -qxF "hist pods|deployment|prod|web $GOOD"; }
tu_wait_for 30 "prod/web's Ready image in the view's history" hist_web
tu_log "the view recorded $GOOD as prod/web's last Ready image"

# --- the bad rollout: a tag that never built ---------------------------------------------
# What `kubectl set image` and the Deployment controller leave behind: a new spec
# (generation + 1) that the controller has seen, one surge pod of the new ReplicaSet
# stuck pulling, the old pods still serving. One write, so that no scan sees the new
# image with the old rollout's counts.
kube_object Deployment prod web | jq -c --arg img "$BAD" '
	.spec.template.spec.containers[0].image = $img
	| .metadata.generation += 1
	| .status = {observedGeneration: .metadata.generation, replicas: 4, updatedReplicas: 1,
		     readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 1}' >"$TU_TMP/web-rollout.json"
kube_ctl POST objects "$(cat "$TU_TMP/web-rollout.json")" >/dev/null
kube_ctl POST objects "$(jq -nc --arg name "$PULLING" --arg img "$BAD" '{
	apiVersion: "v1", kind: "Pod",
	metadata: {name: $name, namespace: "prod", labels: {app: "web", "pod-template-hash": "7f9c6d4b8"},
		   ownerReferences: [{apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7f9c6d4b8", controller: true}]},
	spec: {nodeName: "node-1", containers: [{name: "web", image: $img}]},
	status: {phase: "Pending", containerStatuses: [{name: "web", image: $img, ready: false,
		 state: {waiting: {reason: "ImagePullBackOff", message: ("Back-off pulling image \"" + $img + "\"")}}}]}}')" >/dev/null
tu_log "rolled prod/web to $BAD; $PULLING is in ImagePullBackOff"

rolled_back() { [ "$(image_of prod web)" = "$GOOD" ]; }
tu_wait_for 30 "prod/web rolled back to $GOOD in the fixture's store" rolled_back
tu_log "trueup rolled prod/web back to $GOOD"

# --- the Deployment controller, played by the test ------------------------------------------
# A real controller scales the new ReplicaSet down (its pod goes) and reports the
# rollout complete. It is not instantaneous: scans in between see the rollback
# with the failing pod still there, which must not count as a rollback that did
# not hold.
sleep "$CONTROLLER_LAG"
kube_api DELETE "/api/v1/namespaces/prod/pods/$PULLING"
kube_object Deployment prod web | jq -c '.status = {observedGeneration: .metadata.generation,
	replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}' >"$TU_TMP/web-ready.json"
kube_ctl POST objects "$(cat "$TU_TMP/web-ready.json")" >/dev/null
tu_log "the controller (the test) removed $PULLING and reported prod/web complete"

scenario_wait_state 30 pods web STATE_RESOLVED
for z in "${ZOMBIES[@]}"; do scenario_wait_state 30 pods "$z" STATE_RESOLVED; done
scenario_wait_state 30 ports grpc STATE_OPENED
sleep 2 # two more scans: nothing else may happen
scenario_quiesce

# === checks: the cluster ========================================================================
kube_store | jq -S '.objects' >"$TU_TMP/store-1.json"
key='"\(.kind) \(.metadata.namespace // "") \(.metadata.name)"'
jq -e --arg img "$GOOD" --slurpfile s0 "$TU_TMP/store-0.json" '
	[.[] | select(.kind == "Deployment" and .metadata.namespace == "prod" and .metadata.name == "web")][0] as $w
	| [$s0[0][] | select(.kind == "Deployment" and .metadata.namespace == "prod" and .metadata.name == "web")][0] as $w0
	| $w.spec.template.spec.containers[0].image == $img and $w.spec == $w0.spec
	  and $w.metadata.uid == $w0.metadata.uid and $w.metadata.generation == $w0.metadata.generation + 2' \
	"$TU_TMP/store-1.json" >/dev/null ||
	tu_fail "prod/web is not back at $GOOD with its spec otherwise intact (ports, probes): $(kube_object Deployment prod web)"
tu_log "ok: prod/web runs $GOOD again, its container's ports and probes intact"

jq -n -e --slurpfile s0 "$TU_TMP/store-0.json" --slurpfile s1 "$TU_TMP/store-1.json" \
	--argjson gone "$(printf '"Pod prod %s"\n' "${ZOMBIES[@]}" | jq -s .)" "
	(\$s0[0] | map({key: $key, value: .}) | from_entries) as \$a
	| (\$s1[0] | map({key: $key, value: .}) | from_entries) as \$b
	| (\$a | keys) - \$gone == (\$b | keys)
	  and all(\$b | keys[] | select(. != \"Deployment prod web\"); \$a[.] == \$b[.])" >/dev/null ||
	tu_fail "the store is not the seed minus the zombies (plus prod/web's rollback): $(jq -c 'map('"$key"')' "$TU_TMP/store-1.json")"
tu_log "ok: the zombies are gone; every other object is exactly as seeded (uid, resourceVersion)"

kube_requests | jq -c '.[] | select(.method != "GET")' >"$TU_TMP/writes.jsonl"
uid0() { jq -r --arg n "$1" '.[] | select(.kind == "Pod" and .metadata.name == $n) | .metadata.uid' "$TU_TMP/store-0.json"; }
for z in "${ZOMBIES[@]}"; do
	jq -s -e --arg p "/api/v1/namespaces/prod/pods/$z" --arg u "$(uid0 "$z")" '
		[.[] | select(.path == $p)] | length == 1 and .[0].method == "DELETE" and .[0].status == 200
		and .[0].body == {apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0,
				  preconditions: {uid: $u}}' "$TU_TMP/writes.jsonl" >/dev/null ||
		tu_fail "not exactly one force delete (gracePeriodSeconds 0, uid precondition) of $z: $(cat "$TU_TMP/writes.jsonl")"
done
jq -s -e --arg img "$GOOD" '
	[.[] | select(.path == "/apis/apps/v1/namespaces/prod/deployments/web")] | length == 1
	and .[0].method == "PATCH" and .[0].status == 200
	and .[0].content_type == "application/json-patch+json"
	and (.[0].body | length) == 2
	and .[0].body[0].op == "replace" and .[0].body[0].path == "/metadata/resourceVersion"
	and .[0].body[1] == {op: "replace", path: "/spec/template/spec/containers/0/image", value: $img}' \
	"$TU_TMP/writes.jsonl" >/dev/null ||
	tu_fail "not exactly one JSON patch of prod/web's image, pinned to a resourceVersion: $(cat "$TU_TMP/writes.jsonl")"
jq -s -e --arg p "/api/v1/namespaces/prod/pods/$PULLING" \
	'[.[] | "\(.method) \(.path)"] | sort == ([
		"DELETE /api/v1/namespaces/prod/pods/worker-7d8c9b6f5-zz9x8",
		"DELETE /api/v1/namespaces/prod/pods/api-5c7d9f6b8-s8d7f",
		"PATCH /apis/apps/v1/namespaces/prod/deployments/web",
		"DELETE \($p)"] | sort)' "$TU_TMP/writes.jsonl" >/dev/null ||
	tu_fail "writes other than the two force deletes, the rollback and the controller's delete: $(cat "$TU_TMP/writes.jsonl")"
tu_log "ok: the API server saw exactly two force deletes and one JSON patch from trueup"

# === checks: trueup's drift, commands and outcomes =================================================
scenario_drift >"$TU_TMP/drift.jsonl"
jq -s -e '[.[] | "\(.rule) \(.entity.kind)/\(.entity.namespace)/\(.entity.name)"] | unique == [
	"pods deployment/prod/web", "pods pod/prod/api-5c7d9f6b8-s8d7f",
	"pods pod/prod/worker-7d8c9b6f5-zz9x8", "ports deployment/prod/grpc"]' "$TU_TMP/drift.jsonl" >/dev/null ||
	tu_fail "drift about other entities: $(jq -c '[.rule, .entity.name, .state, .reason]' "$TU_TMP/drift.jsonl")"

drift_of() { jq -c --arg r "$1" --arg n "$2" 'select(.rule == $r and .entity.name == $n)' "$TU_TMP/drift.jsonl"; }
drift_of pods web | jq -s -e --arg good "$GOOD" --arg bad "$BAD" '
	[.[].state] == ["STATE_OPENED", "STATE_UPDATED", "STATE_RESOLVED"]
	and all(.[]; .attempt == 1)
	and (.[0].reason | contains("1 pod of deployment prod/web cannot pull \($bad) (prod/web-7f9c6d4b8-wq5rt)")
	     and contains("roll back to \($good), the last Ready image"))
	and (.[0].details | from_entries | .last_ready_image == $good and .image == $bad)
	and (.[0].command_ids | length) == 1
	and (.[1].reason | test("^kube.json-patch [0-9a-f]+: succeeded: json-patch deployments.apps prod/web: ")
	     and contains("spec.template.spec.containers[0].image: \"\($bad)\" -> \"\($good)\" (resourceVersion "))' \
	>/dev/null || tu_fail "prod/web's image-pull drift is not opened, fixed once and resolved: $(drift_of pods web)"
for z in "${ZOMBIES[@]}"; do
	drift_of pods "$z" | jq -s -e '[.[].state] == ["STATE_OPENED", "STATE_UPDATED", "STATE_RESOLVED"]
		and (.[0].reason | test("is a zombie: (ContainerStatusUnknown|terminating since .*, past the grace)$"))
		and (.[0].command_ids | length) == 1
		and (.[1].reason | test("^kube.delete [0-9a-f]+: succeeded: DELETE pods prod/"))' >/dev/null ||
		tu_fail "the zombie drift of $z is not opened, fixed once and resolved: $(drift_of pods "$z")"
done
drift_of ports grpc | jq -s -e '
	[.[].state] == ["STATE_OPENED"] and .[0].mode == "MODE_DETECT" and .[0].command_ids == []
	and (.[0].details | from_entries) == {
		"value.configmap": "50053 (configmap prod/grpc-config port in kube)",
		"value.container": "50054 (deployment prod/grpc container_port in kube)",
		"value.readiness": "50054 (deployment prod/grpc readiness_port in kube)",
		"value.liveness": "50054 (deployment prod/grpc liveness_port in kube)"}
	and (.[0].reason | startswith("deployment prod/grpc: values disagree: configmap=50053 (configmap prod/grpc-config port in kube), container=50054"))' \
	>/dev/null || tu_fail "the ports drift does not list the three places and their values: $(drift_of ports grpc)"
tu_log "ok: $(drift_of ports grpc | jq -r .reason)"

"$TRUEUP" streams dump TRUEUP_CMD -o json | jq -c '.message' >"$TU_TMP/cmds.jsonl"
jq -s -e '[.[] | "\(.rule) \(.action) \(.entity.name)"] | sort == [
	"pods delete api-5c7d9f6b8-s8d7f", "pods delete worker-7d8c9b6f5-zz9x8", "pods json-patch web"]' \
	"$TU_TMP/cmds.jsonl" >/dev/null || tu_fail "commands other than the three fixes: $(cat "$TU_TMP/cmds.jsonl")"

# The audit trail of each fix: the drift opened, its command, the outcome, resolved.
for e in deployment/prod/web "pod/prod/${ZOMBIES[0]}" "pod/prod/${ZOMBIES[1]}"; do
	"$TRUEUP" audit "$e" -o json >"$TU_TMP/audit.jsonl" || tu_fail "no audit trail for $e"
	jq -s -e '[.[] | if .type == "trueup.v1.DriftEvent" then "drift:" + .message.state
		      elif .type == "trueup.v1.FixCommand" then "command:" + .message.action
		      elif .type == "trueup.v1.Outcome" then "outcome:" + .message.result
		      else empty end] as $t
		| ($t | index("drift:STATE_OPENED")) as $o
		| ($t | map(startswith("command:")) | index(true)) as $c
		| ($t | index("outcome:RESULT_SUCCEEDED")) as $r
		| ($t | index("drift:STATE_RESOLVED")) as $z
		| $o != null and $c != null and $r != null and $z != null and $o < $c and $c < $r and $r < $z
		  and ($t | map(select(startswith("command:"))) | length) == 1' "$TU_TMP/audit.jsonl" >/dev/null ||
		tu_fail "the audit trail of $e is not drift -> command -> outcome -> resolved: $(jq -c '[.type, .message.state // .message.result // .message.action]' "$TU_TMP/audit.jsonl")"
	tu_log "ok: audit $e: $(jq -r 'select(.type != "trueup.v1.ObservedState") | (.message.state // .message.result // .message.action)' "$TU_TMP/audit.jsonl" | paste -sd' ')"
done
"$TRUEUP" audit deployment/prod/web >&2
tu_log "PASS"
