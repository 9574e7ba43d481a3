#!/usr/bin/env bash
# kube.sh - the kubernetes source and target against the Kubernetes API
# fixture (tests/fixtures/kube-apiserver) over TLS, with real nats-server and
# the real binaries.
#
# Producer: nodes, pods, deployments and a custom resource across namespaces
# in pages of 2 (limit/continue), selectors, 429 with Retry-After waited out,
# an expired continue token (restart once; twice: incomplete), a reply slower
# than the timeout (incomplete), malformed objects (skipped, counted, parked),
# the rate limit,
# a CA that did not sign the server (refused, nothing read).
# Actuator: delete with a wrong uid (skipped-precondition, object still
# there), delete (gone), delete again (noop), merge-patch, json-patch, a write
# raced by another writer (409: skipped-precondition), scale and scale again
# (noop), dry-runs (nothing changes), 429 and 503 (retryable, then done), bad
# params and a 422 (permanent), a rotated token file picked up (by its mtime
# and size, and after a 401 when only the content changed), in-cluster
# configuration from a service account directory.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/kube.sh"
. "$(dirname "$0")/producer_lib.sh"

ACTUATOR=$TU_BUILD/trueup-actuator
CMD=$TU_BUILD/tests/actuator_cmd
command -v jq >/dev/null || tu_fail "jq not installed"
command -v openssl >/dev/null || tu_fail "openssl not installed"

tu_setup
tu_start_nats
kube_certs
TOKEN=$TU_TMP/kube/token
printf 'tok-1\n' >"$TOKEN"
kube_start "$KUBE_FIXTURE/seed.json" tok-1
# an in-cluster service account directory (the target kubepod)
SA=$TU_TMP/sa
mkdir -p "$SA"
cp "$KUBE_CA" "$SA/ca.crt"
printf 'tok-1' >"$SA/token"
printf 'lab\n' >"$SA/namespace"

CONFIG=$TU_TMP/trueup.yaml
cat >"$CONFIG" <<EOF
nats: { url: "$NATS_URL" }
log: { level: debug, format: text }
sources:
  - name: kube
    type: kubernetes
    server: "$KUBE_URL"
    ca_file: "$KUBE_CA"
    token_file: "$TOKEN"
    page_size: 2
    timeout: 2s
    rate: 50
    retries: 3
    retry_after_max: 5s
    observe:
      - kind: node
        resource: nodes
        name: "{.metadata.name}"
        attrs: { uid: "{.metadata.uid}", pool: '{.metadata.labels["pool"]|default:none}' }
      - kind: pod
        resource: pods
        name: "{.metadata.name}"
        attrs: { phase: "{.status.phase}", app: '{.metadata.labels["app"]}', node: "{.spec.nodeName|default:}" }
      - kind: deployment
        resource: deployments
        name: "{.metadata.name}"
        attrs: { replicas: "{.spec.replicas}", uid: "{.metadata.uid}", rv: "{.metadata.resourceVersion}" }
      - kind: database
        group: example.com
        version: v1
        plural: databases
        namespaces: [shop, lab]
        name: "{.metadata.name}"
        attrs: { storage: "{.spec.storage}", replicas: "{.spec.replicas}", from: "{source}/{resource}" }
      - kind: webpod
        resource: pods
        namespaces: [shop]
        label_selector: "app in (web, api)"
        field_selector: "status.phase=Running"
        name: "{.metadata.name}"
  - name: kubebad
    type: kubernetes
    server: "$KUBE_URL"
    ca_file: "$KUBE_CA"
    token_file: "$TOKEN"
    page_size: 1
    rate: 2
    burst: 1
    observe:
      - kind: database
        group: example.com
        version: v1
        plural: databases
        namespaces: [broken]
        name: "{.metadata.name}"
        attrs: { storage: "{.spec.storage}" }
  - name: kubeca
    type: kubernetes
    server: "$KUBE_URL"
    ca_file: "$TU_TMP/kube/other-ca.pem"
    token_file: "$TOKEN"
    observe:
      - { kind: node, resource: nodes, name: "{.metadata.name}" }
targets:
  - name: kube
    type: kubernetes
    server: "$KUBE_URL"
    ca_file: "$KUBE_CA"
    token_file: "$TOKEN"
    fetch_wait: 200ms
    ack_wait: 5s
    max_deliver: 10
    timeout: 2s
  - name: kubepod
    type: kubernetes
    in_cluster: true
    service_account_dir: "$SA"
    fetch_wait: 200ms
    timeout: 2s
EOF
pl_streams_apply

once() { # once SOURCE: one scan, its messages in $TU_TMP/scan.json
	"$PRODUCER" --config "$CONFIG" --once --source "$1" >"$TU_TMP/once-$1.log" 2>&1
	pl_scan "$1"
}
requests_since() { # requests_since N: the fixture's requests after the first N, as JSON lines
	kube_requests | jq -c --argjson n "$1" '.[$n:][]'
}
nreq() { kube_requests | jq 'length'; }

# === producer ==================================================================
# --- 1. every resource, paginated ----------------------------------------------
R0=$(nreq)
once kube || true
pl_expect_framed
pl_expect "a clean scan is complete and sees every object once" '
	.[-1].msg.complete and .[-1].msg.full and .[-1].msg.skipped == 0 and .[-1].msg.seen == 15
	and .[0].msg.kinds == ["database", "deployment", "node", "pod", "webpod"]'
pl_expect "cluster-scoped objects land in namespace cluster" '
	[.[] | select(.msg.entity.kind == "node") | .msg.entity | "\(.namespace)/\(.name)"]
	== ["cluster/node-1", "cluster/node-2", "cluster/node-3"]'
pl_expect "node attrs: uid and a label with a default" '
	[.[] | select(.msg.entity.kind == "node") | .msg.attrs | from_entries | .pool]
	== ["gpu", "cpu", "none"]
	and ([.[] | select(.msg.entity.kind == "node") | .msg.attrs | from_entries | .uid
	      | test("^[0-9a-f-]{36}$")] | all)'
pl_expect "pods of every namespace, with phase, label and node" '
	[.[] | select(.msg.entity.kind == "pod") | .msg | "\(.entity.namespace)/\(.entity.name)=\(.attrs | from_entries | "\(.phase),\(.app),\(.node)")"]
	== ["lab/job-1=Succeeded,job,", "lab/job-2=Pending,job,", "shop/db-0=Running,db,node-1",
	    "shop/web-1=Running,web,node-1", "shop/web-2=Running,web,node-2"]'
pl_expect "deployments with replicas" '
	[.[] | select(.msg.entity.kind == "deployment") | .msg | "\(.entity.namespace)/\(.entity.name)=\(.attrs | from_entries | .replicas)"]
	== ["lab/api=1", "shop/web=2"]'
pl_expect "the custom resource, per namespace, with {source} and {resource}" '
	[.[] | select(.msg.entity.kind == "database") | .msg | "\(.entity.namespace)/\(.entity.name)=\(.attrs | from_entries | "\(.storage),\(.replicas),\(.from)")"]
	== ["shop/orders=10Gi,3,kube/databases", "lab/analytics=50Gi,2,kube/databases",
	    "lab/scratch=1Gi,1,kube/databases"]'
pl_expect "label and field selectors narrow a list" '
	[.[] | select(.msg.entity.kind == "webpod") | .msg.entity.name] == ["web-1", "web-2"]'
requests_since "$R0" >"$TU_TMP/req.jsonl"
jq -s -e '. as $all | [$all[] | select(.path == "/api/v1/pods")] as $pods
	| ($pods | length) == 3 and $pods[0].query.limit == "2" and ($pods[0].query.continue | not)
	and ([$pods[] | select(.query.continue)] | length) == 2
	and ([$all[] | select(.path == "/api/v1/nodes")] | length) == 2
	and ([$all[] | .path] | index("/apis/apps/v1/deployments")) != null
	and ([$all[] | .path] | index("/apis/example.com/v1/namespaces/shop/databases")) != null
	and ([$all[] | .path] | index("/apis/example.com/v1/namespaces/lab/databases")) != null
	and ([$all[] | select(.path == "/api/v1/namespaces/shop/pods")][0].query
	     | .labelSelector == "app in (web, api)" and .fieldSelector == "status.phase=Running")
	and ($all | all(.status == 200))' "$TU_TMP/req.jsonl" >/dev/null ||
	{ cat "$TU_TMP/req.jsonl" >&2; tu_fail "the lists were not paginated as configured"; }
tu_log "ok: pages of 2 with limit/continue, cluster-wide and per namespace"

# --- 2. 429 with Retry-After is waited out ---------------------------------------
R0=$(nreq)
kube_ctl POST faults '{"status429": 2, "retry_after": 1, "match": "/api/v1/pods"}' >/dev/null
once kube || true
pl_expect "two 429s are waited out: the scan is complete" '
	.[-1].msg.complete and .[-1].msg.seen == 15'
requests_since "$R0" | jq -s -e '[.[] | select(.path == "/api/v1/pods")] as $p
	| [$p[].status][0:3] == [429, 429, 200] and ($p[1].t - $p[0].t) >= 0.9
	and ($p[2].t - $p[1].t) >= 0.9' >/dev/null || tu_fail "Retry-After was not honoured"
grep -q "HTTP 429; waiting 1000 ms" "$TU_TMP/once-kube.log" || tu_fail "no warning about the 429"
tu_log "ok: 429 + Retry-After"

# --- 3. an expired continue token restarts the list once --------------------------
R0=$(nreq)
kube_ctl POST faults '{"reset": true, "expire_continue": 1, "match": "/api/v1/pods"}' >/dev/null
once kube || true
pl_expect "one expired continue token: the list restarts, the scan is complete" '
	.[-1].msg.complete and .[-1].msg.seen == 15
	and ([.[] | select(.msg.entity.kind == "pod")] | length) >= 5'
requests_since "$R0" | jq -s -e '[.[] | select(.path == "/api/v1/pods") | .status] | index(410) != null' \
	>/dev/null || tu_fail "no 410 was served"
kube_ctl POST faults '{"reset": true, "expire_continue": 2, "match": "/api/v1/pods"}' >/dev/null
once kube || true
pl_expect "expired again after the restart: incomplete, and says so" '
	(.[-1].msg.complete | not) and .[-1].msg.deleted == 0
	and (.[-1].msg.error | test("list pods \\(all namespaces\\): HTTP 410 Gone \\(Expired\\)")
	     and test("already restarted once"))'
tu_log "ok: expired continue tokens"

# --- 4. a reply slower than the timeout ends the scan incomplete -------------------
kube_ctl POST faults '{"reset": true, "delay_ms": 3000, "delay_count": 1, "match": "/apis/apps/v1/deployments"}' >/dev/null
once kube || true
kube_ctl POST faults '{"reset": true}' >/dev/null
pl_expect "a slow reply times out: the scan is incomplete, names the list and the timeout" '
	(.[-1].msg.complete | not) and .[-1].msg.deleted == 0
	and (.[-1].msg.error | test("list deployments.apps \\(all namespaces\\)") and test("ETIMEOUT")
	     and test("timeout 2000 ms"))'
tu_log "ok: timeout"

# --- 5. malformed objects are skipped, counted and parked; the rate limit holds ------
R0=$(nreq)
once kubebad || true
requests_since "$R0" | jq -s -e '[.[] | select(.path | contains("/namespaces/broken/"))]
	| length == 3 and (.[1].t - .[0].t) >= 0.4 and (.[2].t - .[1].t) >= 0.4' >/dev/null ||
	tu_fail "rate: 2, burst: 1 did not space the requests by 0.5 s: $(requests_since "$R0")"
pl_expect "objects that cannot be mapped are skipped; the rest is published" '
	(.[-1].msg.complete | not) and .[-1].msg.skipped == 2 and .[-1].msg.seen == 1
	and ([.[1:-1][] | .msg.entity.name] == ["good"])
	and (.[-1].msg.error | test("2 entries skipped"))'
"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_DEAD -o json |
	jq -s -e '[.[] | select(.subject == "trueup.dead.producer-kubebad") | .message.reason] as $r
		| ($r | length) == 2
		and ($r | any(test("databases broken/nested: attrs.storage: .*\\.spec\\.storage is not a scalar")))
		and ($r | any(test("databases broken/nostorage: attrs.storage: .*no value at \\.spec\\.storage")))' \
		>/dev/null || tu_fail "the skipped objects are not parked with source, resource, name and field"
grep -q "source kubebad: skipped databases broken/nested: attrs.storage" "$TU_TMP/once-kubebad.log" ||
	tu_fail "no warning naming the skipped object"
tu_log "ok: malformed objects"

# --- 6. a CA that did not sign the server: refused, never skipped -------------------
R0=$(nreq)
once kubeca || true
pl_expect "a server the CA cannot verify is refused: incomplete, with the TLS error" '
	(.[-1].msg.complete | not) and .[-1].msg.seen == 0
	and (.[-1].msg.error | test("EAUTH") and test("[Cc]ertificate|SSL"))'
requests_since "$R0" | jq -s -e 'all(.path != "/api/v1/nodes")' >/dev/null ||
	tu_fail "a request got through with an unverified server certificate"
tu_log "ok: TLS verification"

# === actuator ===================================================================
N=0
cmd() { # cmd TARGET ACTION args...: publishes a command with a fresh id in $ID
	local target=$1 action=$2
	shift 2
	N=$((N + 1))
	ID=$(printf 'kcmd%020d' "$N")
	"$CMD" --url "$NATS_URL" --target "$target" --action "$action" --id "$ID" \
		--corr "corr$ID" --rule itest "$@" >/dev/null || tu_fail "cannot publish command $ID"
}
outcome_lines() { # the outcomes of command $1, as JSON lines
	"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json |
		jq -c --arg id "$1" 'select(.message.command_id == $id) | .message
			| .result |= (ascii_downcase | sub("^result_"; "") | gsub("_"; "-"))'
}
has_result() { outcome_lines "$1" | jq -s -e --arg r "$2" 'any(.[]; .result == $r)' >/dev/null; }
wait_result() { # wait_result RESULT: the outcome of $ID with RESULT, into $O
	tu_wait_for 30 "outcome $1 of $ID" has_result "$ID" "$1"
	O=$(outcome_lines "$ID" | jq -c --arg r "$1" 'select(.result == $r)' | tail -n 1)
	tu_log "$ID: $(jq -r '"\(.result): \(.detail)"' <<<"$O")"
}
expect() { # expect FIELD REGEX: on $O
	local v
	v=$(jq -r ".$1" <<<"$O")
	grep -Eq -- "$2" <<<"$v" || tu_fail "$1 is \"$v\", expected /$2/"
}
obj() { kube_object "$@"; }
web() { # web VERB args...: a command on deployment shop/web
	local verb=$1
	shift
	cmd kube "$verb" --param resource=deployments --param namespace=shop --param name=web "$@"
}
field() { obj "$1" "$2" "$3" | jq -r "$4"; }

tu_bg act "$ACTUATOR" --config "$CONFIG" --target kube --instance act
POD_UID=$(field Pod shop web-1 .metadata.uid)

# --- 7. delete with a wrong uid: the API server refuses (409) ----------------------
cmd kube delete --param resource=pods --param namespace=shop --param name=web-1 \
	--pre field_equals --pre-field uid --pre-value 00000000-wrong
wait_result skipped-precondition
expect detail 'DELETE pods shop/web-1: HTTP 409 Conflict: .*Precondition failed: UID in precondition: 00000000-wrong'
[ "$(field Pod shop web-1 .metadata.name)" = web-1 ] || tu_fail "web-1 was deleted despite the uid"

# --- 8. delete with the right uid, options sent; then noop ---------------------------
R0=$(nreq)
cmd kube delete --param resource=pods --param namespace=shop --param name=web-1 \
	--param propagation_policy=Background --param grace_period_seconds=0 \
	--pre field_equals --pre-field metadata.uid --pre-value "$POD_UID"
wait_result succeeded
expect detail "^DELETE pods shop/web-1 \\(uid $POD_UID, propagationPolicy Background\\): HTTP 200"
[ "$(obj Pod shop web-1)" = null ] || tu_fail "web-1 is still in the store"
requests_since "$R0" | jq -s -e --arg u "$POD_UID" '[.[] | select(.method == "DELETE")] | length == 1
	and .[0].body == {apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0,
			  propagationPolicy: "Background", preconditions: {uid: $u}}' >/dev/null ||
	tu_fail "DeleteOptions not as expected: $(requests_since "$R0")"
cmd kube delete --param resource=pods --param namespace=shop --param name=web-1
wait_result noop
expect detail 'pods shop/web-1 is already gone'

# --- 9. a custom resource by group/version/plural, resourceVersion precondition ------
RV=$(field Database lab scratch .metadata.resourceVersion)
cmd kube delete --param group=example.com --param version=v1 --param plural=databases \
	--param namespace=lab --param name=scratch \
	--pre field_equals --pre-field resourceVersion --pre-value "$RV"
wait_result succeeded
[ "$(obj Database lab scratch)" = null ] || tu_fail "lab/scratch is still in the store"

# --- 10. merge-patch: stale precondition, applied, again (noop), raced ----------------
web merge-patch --param 'patch={"metadata":{"labels":{"fixed":"yes"}}}' \
	--pre field_equals --pre-field resourceVersion --pre-value 1
wait_result skipped-precondition
expect detail 'precondition 1 \(field_equals resourceVersion "1"\) failed: actual "[0-9]+"'
[ "$(field Deployment shop web '.metadata.labels.fixed // "none"')" = none ] ||
	tu_fail "a stale merge-patch was applied"
RV=$(field Deployment shop web .metadata.resourceVersion)
R0=$(nreq)
web merge-patch --param 'patch={"metadata":{"labels":{"fixed":"yes"}}}' \
	--pre field_equals --pre-field resourceVersion --pre-value "$RV"
wait_result succeeded
expect detail "^merge-patch deployments.apps shop/web: metadata.labels.fixed: \\(none\\) -> \"yes\" \\(resourceVersion $RV -> [0-9]+\\)"
[ "$(field Deployment shop web .metadata.labels.fixed)" = yes ] || tu_fail "merge-patch not applied"
requests_since "$R0" | jq -s -e --arg rv "$RV" '[.[] | select(.method == "PATCH")][0]
	| .content_type == "application/merge-patch+json"
	and .body == {metadata: {labels: {fixed: "yes"}, resourceVersion: $rv}}' >/dev/null ||
	tu_fail "the merge patch did not pin the resourceVersion"
web merge-patch --param 'patch={"metadata":{"labels":{"fixed":"yes"}}}'
wait_result noop
expect detail 'changed nothing'
kube_ctl POST faults '{"reset": true, "concurrent_write": 1}' >/dev/null
web merge-patch --param 'patch={"metadata":{"labels":{"raced":"yes"}}}' \
	--pre field_equals --pre-field '.metadata.labels["app"]' --pre-value web
wait_result skipped-precondition
expect detail 'merge-patch deployments.apps shop/web: HTTP 409 Conflict: .*the object has been modified'
[ "$(field Deployment shop web '.metadata.labels.raced // "none"')" = none ] ||
	tu_fail "a raced merge-patch was applied"

# --- 11. json-patch with a uid precondition (pinned by a replace op) ----------------
DB_UID=$(field Database shop orders .metadata.uid)
R0=$(nreq)
cmd kube json-patch --param group=example.com --param version=v1 --param plural=databases \
	--param namespace=shop --param name=orders \
	--param 'patch=[{"op":"replace","path":"/spec/storage","value":"20Gi"}]' \
	--pre field_equals --pre-field uid --pre-value "$DB_UID"
wait_result succeeded
expect detail 'json-patch databases.example.com shop/orders: spec.storage: "10Gi" -> "20Gi"'
[ "$(field Database shop orders .spec.storage)" = 20Gi ] || tu_fail "json-patch not applied"
requests_since "$R0" | jq -s -e '[.[] | select(.method == "PATCH")][0]
	| .content_type == "application/json-patch+json" and (.body | length) == 2
	and .body[0].op == "replace" and .body[0].path == "/metadata/resourceVersion"' >/dev/null ||
	tu_fail "the JSON patch did not pin the resourceVersion"
cmd kube json-patch --param group=example.com --param version=v1 --param plural=databases \
	--param namespace=shop --param name=orders \
	--param 'patch=[{"op":"remove","path":"/spec/nothing"}]'
wait_result failed-permanent
expect detail 'HTTP 422 Unprocessable Entity: remove operation does not apply'

# --- 12. scale, scale again (noop) ---------------------------------------------------
web scale --param replicas=4
wait_result succeeded
expect detail '^scaled deployments.apps shop/web from 2 to 4 replicas$'
[ "$(field Deployment shop web .spec.replicas)" = 4 ] || tu_fail "scale not applied"
web scale --param replicas=4
wait_result noop
expect detail 'already has 4 replicas'

# --- 13. dry-runs change nothing -------------------------------------------------------
BEFORE=$(kube_store | jq -c '.objects')
R0=$(nreq)
cmd kube delete --mode dry-run --param resource=pods --param namespace=shop --param name=web-2
wait_result dry-run
expect detail '^would DELETE pods shop/web-2 \(uid [0-9a-f-]+, resourceVersion [0-9]+\)$'
web scale --mode dry-run --param replicas=1
wait_result dry-run
expect detail '^would scale deployments.apps shop/web from 4 to 1 replicas$'
web merge-patch --mode dry-run --param 'patch={"spec":{"replicas":9}}'
wait_result dry-run
expect detail '^would merge-patch deployments.apps shop/web: spec.replicas: 4 -> 9$'
cmd kube delete --mode dry-run --param resource=pods --param namespace=shop --param name=web-2 \
	--pre field_equals --pre-field uid --pre-value nope
wait_result dry-run
expect detail '^would skip: pods shop/web-2: precondition 1 \(field_equals uid "nope"\) failed'
[ "$(kube_store | jq -c '.objects')" = "$BEFORE" ] || tu_fail "a dry-run changed the store"
requests_since "$R0" | jq -s -e 'all(.method == "GET" or (.method == "PATCH" and .query.dryRun == "All"))' \
	>/dev/null || tu_fail "a dry-run sent a write"

# --- 14. 429 and 503: retryable, then done ------------------------------------------------
kube_ctl POST faults '{"reset": true, "status429": 1, "retry_after": 3}' >/dev/null
cmd kube scale --param resource=deployments --param namespace=lab --param name=api --param replicas=2
wait_result failed-retryable
expect detail 'HTTP 429 Too Many Requests.*; Retry-After 3 s'
wait_result succeeded
kube_ctl POST faults '{"reset": true, "status503": 1}' >/dev/null
cmd kube scale --param resource=deployments --param namespace=lab --param name=api --param replicas=3
wait_result failed-retryable
expect detail 'HTTP 503 Service Unavailable'
wait_result succeeded
[ "$(field Deployment lab api .spec.replicas)" = 3 ] || tu_fail "lab/api not scaled to 3"

# --- 15. bad params and unknown objects: permanent ------------------------------------------
cmd kube delete --param resource=pods --param namespace=shop
wait_result failed-permanent
expect detail '^bad params: param name: missing'
cmd kube delete --param resource=gizmos --param namespace=shop --param name=x
wait_result failed-permanent
expect detail 'unknown resource "gizmos"'
cmd kube scale --param resource=deployments --param namespace=shop --param name=nope --param replicas=1
wait_result failed-permanent
expect detail 'deployments.apps shop/nope: not found'

# --- 16. token rotation: by mtime/size, and in place after a 401 -------------------------------
printf 'tok-22\n' >"$TOKEN"
kube_ctl POST tokens '{"tokens": ["tok-22"]}' >/dev/null
R0=$(nreq)
cmd kube scale --param resource=deployments --param namespace=lab --param name=api --param replicas=4
wait_result succeeded
requests_since "$R0" | jq -s -e 'all(.status != 401)' >/dev/null ||
	tu_fail "a changed token file was not read before the request"
touch -r "$TOKEN" "$TU_TMP/token.ref"
printf 'tok-33\n' >"$TOKEN" # same size, same inode ...
touch -r "$TU_TMP/token.ref" "$TOKEN" # ... and the same mtime: only a 401 can tell
kube_ctl POST tokens '{"tokens": ["tok-33"]}' >/dev/null
R0=$(nreq)
cmd kube scale --param resource=deployments --param namespace=lab --param name=api --param replicas=5
wait_result succeeded
requests_since "$R0" | jq -s -e '[.[] | .status] | .[0] == 401 and .[1] == 200' >/dev/null ||
	tu_fail "after a 401 the token was not read again and the request retried: $(requests_since "$R0")"
grep -q "401 Unauthorized; read token file" "$TU_TMP/act.log" || tu_fail "no warning about the 401"
if grep -q 'tok-33\|tok-22' "$TU_TMP/act.log"; then tu_fail "a token was logged"; fi

# --- 17. in-cluster: service account directory and its namespace ----------------------------------
kube_ctl POST tokens '{"tokens": ["tok-33", "tok-1"]}' >/dev/null
tu_bg actpod env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$KUBE_PORT" \
	"$ACTUATOR" --config "$CONFIG" --target kubepod --instance actpod
cmd kubepod delete --param resource=pods --param name=job-1
wait_result succeeded
expect detail '^DELETE pods lab/job-1: HTTP 200$'
[ "$(obj Pod lab job-1)" = null ] || tu_fail "lab/job-1 (namespace from the service account) not deleted"

tu_stop actpod
tu_stop act
tu_log "PASS"
