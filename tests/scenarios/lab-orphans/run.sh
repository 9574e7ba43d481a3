#!/usr/bin/env bash
# The lab-orphans scenario (issue 4, scenario 4; README.md next to this file).
#
# Lab sessions in four namespaces, some of which lost their Deployment. trueup's reference
# rule must delete the Service, Ingress, ConfigMap and Redis key of every orphan that no
# longer has a ready endpoint, report and leave the orphans that still do, and touch nothing
# else. Then one kept orphan's endpoints drain (the test plays the endpoints controller) and
# its cascade runs. Checked on the kube-apiserver fixture's store and on Redis themselves,
# and on trueup's drift events, commands and outcomes.
#
# Alone: cd build && ctest -R scenario.lab-orphans --output-on-failure   (TU_KEEP=1 keeps
# the temp dir with every log, the snapshots and the dumped streams)
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/../../lib/kube.sh"
. "$(dirname "$0")/../../lib/scenario.sh"
: "${TU_BUILD:?}" "${TU_SRC:?}"
HERE=$(cd "$(dirname "$0")" && pwd)
TRUEUP=$TU_BUILD/trueup
for c in jq openssl redis-cli; do
	command -v "$c" >/dev/null || tu_fail "$c not installed (ops/install-deps.sh)"
done

RULE=lab-orphans
# What seed.yaml holds (namespace/user); the README says why each is there.
HEALTHY=(lab-a/alice lab-b/dave lab-c/grace lab-c/judy lab-d/olivia)
DELETED=(lab-a/bob lab-b/erin lab-c/heidi lab-d/mallory lab-d/peggy)
KEPT=(lab-a/carol lab-b/frank lab-c/ivan lab-d/niaj)
DRAIN=lab-b/frank
# The ready address that holds each kept orphan back, and which guard sees it.
declare -A HELD_BY=([lab-a/carol]="ready_0 is 10.1.0.13" [lab-b/frank]="ready_1 is 10.2.0.66"
	[lab-c/ivan]="ready_0 is 10.3.0.19" [lab-d/niaj]="ready_0 is 10.4.0.22")

tu_setup
S=$TU_TMP/check
mkdir -p "$S"
tu_start_nats
tu_start_redis
kube_certs
printf 'lab-token\n' >"$TU_TMP/kube/token"
kube_start "$HERE/seed.yaml" lab-token
grep -v '^#' "$HERE/seed-redis.txt" | tu_redis >/dev/null || tu_fail "cannot seed Redis"

# ---- snapshots of the systems themselves ------------------------------------------------
store_snapshot() { # every object of the fixture, sorted, one JSON array
	kube_store | jq -S '.objects | sort_by(.kind, (.metadata.namespace // ""), .metadata.name)'
}
# Every key but trueup's done-markers, sorted: {key, type, value, ttl} one per line. Three
# redis-cli calls in all (types, then values and TTLs pipelined): jq and redis-cli per key
# would take seconds on a loaded machine.
redis_snapshot() {
	local keys types
	keys=$(tu_redis --scan | grep -v '^trueup:done:' | LC_ALL=C sort)
	types=$(sed 's/.*/TYPE "&"/' <<<"$keys" | tu_redis --json)
	paste <(printf '%s\n' "$keys") <(printf '%s\n' "$types") | while IFS=$'\t' read -r k t; do
		case $t in
		'"string"') echo "GET \"$k\"" ;;
		'"hash"') echo "HGETALL \"$k\"" ;;
		'"set"') echo "SMEMBERS \"$k\"" ;;
		*) echo "TYPE \"$k\"" ;; # the seed has no other types: shows up in a diff
		esac
		echo "TTL \"$k\""
	done | tu_redis --json | paste - - |
		paste <(printf '%s\n' "$keys") <(printf '%s\n' "$types") - |
		jq -S -c -R 'split("\t") | {key: .[0], type: (.[1] | fromjson), ttl: (.[3] | fromjson),
			value: (.[2] | fromjson | if type == "array" then sort else . end)}'
}
# session_objects ns/user...: "Kind ns/name" of each session's Service, Ingress, ConfigMap
session_objects() {
	local s
	for s in "$@"; do
		printf '%s\n' "Service ${s%/*}/session-${s#*/}" "Ingress ${s%/*}/session-${s#*/}" \
			"ConfigMap ${s%/*}/session-${s#*/}-config"
	done
}
# expect_store BASE ns/user...: the store is BASE minus those sessions' three objects, exactly
expect_store() {
	local base=$1
	shift
	session_objects "$@" | jq -R . | jq -s . >"$S/gone.json"
	jq -S --slurpfile gone "$S/gone.json" \
		'map(select(("\(.kind) \(.metadata.namespace)/\(.metadata.name)") as $k
			     | any($gone[0][]; . == $k) | not))' "$base" >"$S/store.want"
	store_snapshot >"$S/store.have"
	diff -u "$S/store.want" "$S/store.have" >&2 ||
		tu_fail "the fixture's store is not $(basename "$base") minus the deleted orphans (diff above)"
}
# expect_redis ns/user...: Redis is the seed minus those sessions' keys, exactly
expect_redis() {
	local gone=() s
	for s in "$@"; do gone+=("lab:session:${s#*/}"); done
	jq -c --args 'select(.key as $k | $ARGS.positional | index([$k]) | not)' "${gone[@]}" \
		<"$S/redis.before" >"$S/redis.want"
	redis_snapshot >"$S/redis.have"
	diff -u "$S/redis.want" "$S/redis.have" >&2 ||
		tu_fail "Redis is not the seed minus the deleted session keys (diff above)"
}
store_snapshot >"$S/store.before"
redis_snapshot >"$S/redis.before"
[ "$(jq length "$S/store.before")" -eq 91 ] || tu_fail "seed.yaml: expected 91 objects"
[ "$(wc -l <"$S/redis.before")" -eq 21 ] || tu_fail "seed-redis.txt: expected 21 keys"

# ---- trueup ---------------------------------------------------------------------------------
scenario_render "$HERE/trueup.yaml.in" "$TU_TMP/trueup.yaml" NATS_URL="$NATS_URL" \
	REDIS_URL="$REDIS_URL" KUBE_URL="$KUBE_URL" KUBE_CA="$KUBE_CA" \
	KUBE_TOKEN="$TU_TMP/kube/token" DIR="$TU_TMP"
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
"$TRUEUP" streams apply >/dev/null || tu_fail "trueup streams apply"
"$TRUEUP" verify >"$S/verify.txt" 2>&1 || { cat "$S/verify.txt" >&2; tu_fail "trueup verify"; }
scenario_trueup kube redis
tu_log "trueup started; waiting for the orphans' cascades"

kube_scans() { "$TRUEUP" status -o json | jq '.scans[] | select(.source == "kube") | .complete_scans'; }
scans_past() { [ "$(kube_scans)" -ge "$1" ]; }
for s in "${DELETED[@]}"; do
	scenario_wait_state 60 "$RULE" "session-${s#*/}" STATE_RESOLVED
done
for s in "${KEPT[@]}"; do
	scenario_wait_state 10 "$RULE" "session-${s#*/}" STATE_OPENED
done
# three more complete scans: the kept orphans stay as they are
N=$(kube_scans)
tu_wait_for 30 "three more scans of kube" scans_past $((N + 3))
tu_log "deleted orphans resolved; kept orphans open"

# ---- the systems: exactly the deleted orphans' objects and keys are gone -------------------
store_names() { # "Kind ns/name" of every object in the store, into $S/store.names
	store_snapshot | jq -r '.[] | "\(.kind) \(.metadata.namespace // "")/\(.metadata.name)"' \
		>"$S/store.names"
}
# check_session ns/user gone|there: its Service, Ingress, ConfigMap (in $S/store.names) and
# its Redis key
check_session() {
	local ns=${1%/*} u=${1#*/} want=$2 o n
	for o in "Service $ns/session-$u" "Ingress $ns/session-$u" "ConfigMap $ns/session-$u-config"; do
		n=$(grep -cxF "$o" "$S/store.names")
		case $want/$n in
		gone/0 | there/1) ;;
		there/0) tu_fail "$o was deleted" ;;
		*) tu_fail "$o is still there" ;;
		esac
	done
	case $want/$(tu_redis EXISTS "lab:session:$u") in
	gone/0 | there/1) ;;
	*) tu_fail "lab:session:$u: expected $want" ;;
	esac
}
store_names
for s in "${DELETED[@]}"; do check_session "$s" gone; done
for s in "${KEPT[@]}" "${HEALTHY[@]}"; do check_session "$s" there; done
expect_store "$S/store.before" "${DELETED[@]}"
cp "$S/store.have" "$S/store.phase1"
expect_redis "${DELETED[@]}"
# check_writes ns/user...: the only writes the API server saw are one DELETE per object of
# those sessions (peggy had no Ingress: the actuator's read found nothing, no DELETE)
check_writes() {
	local s ns u
	kube_requests | jq -r '.[] | select(.method != "GET") | "\(.method) \(.path) \(.status)"' |
		LC_ALL=C sort >"$S/writes.have"
	for s in "$@"; do
		ns=${s%/*} u=${s#*/}
		echo "DELETE /api/v1/namespaces/$ns/services/session-$u 200"
		echo "DELETE /api/v1/namespaces/$ns/configmaps/session-$u-config 200"
		[ "$u" = peggy ] ||
			echo "DELETE /apis/networking.k8s.io/v1/namespaces/$ns/ingresses/session-$u 200"
	done | LC_ALL=C sort >"$S/writes.want"
	diff -u "$S/writes.want" "$S/writes.have" >&2 || tu_fail "the API server saw other writes (diff above)"
}
check_writes "${DELETED[@]}"
tu_log "ok: store and Redis are the seed minus the deleted orphans, exactly"

# ---- the audit trail --------------------------------------------------------------------------
dump_trail() {
	scenario_drift >"$S/drift.jsonl"
	"$TRUEUP" streams dump TRUEUP_CMD -o json | jq -c .message >"$S/cmd.jsonl"
	"$TRUEUP" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json | jq -c .message \
		>"$S/out.jsonl"
}
# One line per command: entity target action params preconditions (normalised).
cmd_lines() {
	jq -r '"\(.entity.namespace)/\(.entity.name) \(.target) \(.action) "
		+ ([.params[] | "\(.key)=\(.value)"] | join(","))
		+ " if " + ([.preconditions[]? | "\(.op) \(.field // "")=\(.value // "")"] | join(","))' \
		"$S/cmd.jsonl" | LC_ALL=C sort
}
want_cmds() { # want_cmds BASE ns/user...: the four commands of each session
	local base=$1 s ns u uid
	shift
	for s in "$@"; do
		ns=${s%/*} u=${s#*/}
		uid=$(jq -r --arg ns "$ns" --arg n "session-$u" '.[] | select(.kind == "Service"
			and .metadata.namespace == $ns and .metadata.name == $n) | .metadata.uid' "$base")
		local lbl='.metadata.labels["lab.example/session"]'
		echo "$ns/session-$u kube delete name=session-$u,namespace=$ns,resource=services if OP_FIELD_EQUALS uid=$uid"
		echo "$ns/session-$u kube delete name=session-$u,namespace=$ns,resource=ingresses if OP_FIELD_EQUALS $lbl=$u"
		echo "$ns/session-$u kube delete name=session-$u-config,namespace=$ns,resource=configmaps if OP_FIELD_EQUALS $lbl=$u"
		echo "$ns/session-$u redis del key=lab:session:$u if OP_FIELD_EQUALS namespace=$ns"
	done | LC_ALL=C sort
}
# check_trail BASE ns/user...: the commands are exactly those sessions' four each, every
# one with exactly one final outcome (all succeeded, but peggy's Ingress: a noop), and the
# redis target left exactly one done-marker per redis command.
check_trail() {
	local base=$1
	shift
	dump_trail
	cmd_lines >"$S/cmd.have"
	want_cmds "$base" "$@" >"$S/cmd.want"
	diff -u "$S/cmd.want" "$S/cmd.have" >&2 || tu_fail "the commands are not the cascades (diff above)"
	jq -e -s 'all(.[]; .rule == "lab-orphans" and .mode == "MODE_ENFORCE" and .attempt == 1
		and .entity.kind == "service")' "$S/cmd.jsonl" >/dev/null ||
		tu_fail "commands with another rule, mode, attempt or entity kind"
	jq -e -s --slurpfile cmds "$S/cmd.jsonl" '
		($cmds | map(.command_id)) as $ids
		| (map(select(.result != "RESULT_FAILED_RETRYABLE")) | group_by(.command_id)
		   | map({id: .[0].command_id, n: length, result: .[0].result, detail: .[0].detail})) as $final
		| ($final | map(.id) | sort) == ($ids | sort)
		and all($final[]; .n == 1)
		and all(.[]; .command_id as $c | $ids | index([$c]))
		and ([$final[] | select(.result != "RESULT_SUCCEEDED")]
		     | length == 1 and .[0].result == "RESULT_NOOP"
		     and (.[0].detail | test("ingresses.networking.k8s.io lab-d/session-peggy is already gone")))' \
		"$S/out.jsonl" >/dev/null ||
		{ cat "$S/out.jsonl" >&2; tu_fail "not exactly one final outcome per command, or unexpected results"; }
	jq -r 'select(.target == "redis") | "trueup:done:\(.command_id)"' "$S/cmd.jsonl" |
		LC_ALL=C sort >"$S/markers.want"
	tu_redis --scan --pattern 'trueup:done:*' | LC_ALL=C sort >"$S/markers.have"
	diff -u "$S/markers.want" "$S/markers.have" >&2 ||
		tu_fail "the done-markers are not one per redis command (diff above)"
}
# check_deleted ns/user [possible-now]: its drift: OPENED (with its four commands, or without
# any and then UPDATED "a fix is possible now" with them), outcome UPDATEs, RESOLVED: one
# correlation id, the commands of its one attempt.
check_deleted() {
	local s=$1 late=${2:-}
	jq -e -s --arg ns "${s%/*}" --arg n "session-${s#*/}" --arg late "$late" '
		map(select(.entity.namespace == $ns and .entity.name == $n)) as $e
		| ($e | map(.correlation_id) | unique | length == 1)
		and $e[0].state == "STATE_OPENED" and $e[-1].state == "STATE_RESOLVED"
		and ($e[-1].reason == "service \($ns)/\($n) is gone from kube")
		and all($e[1:-1][]; .state == "STATE_UPDATED")
		and (if $late == "" then ($e[0].command_ids | length) == 4 and $e[0].attempt == 1
		     else ($e[0].command_ids | length) == 0 and $e[0].attempt == 0
			  and $e[1].attempt == 1 and ($e[1].command_ids | length) == 4
			  and ($e[1].reason | startswith("a fix is possible now: service \($ns)/\($n) has no owner"))
		     end)
		and ($e[-1].command_ids | length) == 4
		and ([$e[] | .revision] | . == (sort | unique))' "$S/drift.jsonl" >/dev/null ||
		{ jq -c --arg n "session-${s#*/}" 'select(.entity.name == $n)
			| {state, attempt, revision, reason, command_ids}' "$S/drift.jsonl" >&2
		  tu_fail "drift of $s did not go opened -> updated -> resolved as expected"; }
	# its commands are those its drift announced
	jq -e -s --slurpfile d "$S/drift.jsonl" --arg ns "${s%/*}" --arg n "session-${s#*/}" '
		(map(select(.entity.namespace == $ns and .entity.name == $n) | .command_id) | sort)
		== ([$d[] | select(.entity.namespace == $ns and .entity.name == $n)][-1].command_ids | sort)' \
		"$S/cmd.jsonl" >/dev/null || tu_fail "the commands of $s are not those its drift announced"
}
check_kept() { # check_kept ns/user: one OPENED event, no commands, reason naming the guard
	local s=$1 ns=${1%/*} n=session-${1#*/}
	local reason="service $ns/$n has no owner deployment $ns/$n in kube; left alone: endpoints $ns/$n ${HELD_BY[$s]}"
	jq -e -s --arg ns "$ns" --arg n "$n" --arg r "$reason" '
		map(select(.entity.namespace == $ns and .entity.name == $n))
		| length == 1 and .[0].state == "STATE_OPENED" and .[0].reason == $r
		and .[0].attempt == 0 and (.[0].command_ids | length) == 0
		and (.[0].details | from_entries | .owner == "deployment \($ns)/\($n) in kube"
		     and (.["guard.0"] + .["guard.1"] | test("does not hold")))' "$S/drift.jsonl" >/dev/null ||
		{ jq -c --arg n "$n" 'select(.entity.name == $n)' "$S/drift.jsonl" >&2
		  tu_fail "drift of $s is not one OPENED event naming the guard, without commands"; }
}
check_trail "$S/store.before" "${DELETED[@]}"
for s in "${DELETED[@]}"; do check_deleted "$s"; done
for s in "${KEPT[@]}"; do check_kept "$s"; done
# drift only for orphans: none for healthy sessions or the Services outside ^session-(.+)$
jq -r '"\(.entity.kind) \(.entity.namespace)/\(.entity.name)"' "$S/drift.jsonl" | LC_ALL=C sort -u \
	>"$S/drifted.have"
for s in "${DELETED[@]}" "${KEPT[@]}"; do echo "service ${s%/*}/session-${s#*/}"; done |
	LC_ALL=C sort >"$S/drifted.want"
diff -u "$S/drifted.want" "$S/drifted.have" >&2 || tu_fail "drift for other entities (diff above)"
check_open() { # check_open ns/user...: the open drift in the view is exactly theirs
	local s
	"$TRUEUP" status -o json | jq -r '.drift[] | .entity' | LC_ALL=C sort >"$S/open.have"
	for s in "$@"; do echo "service/${s%/*}/session-${s#*/}"; done | LC_ALL=C sort >"$S/open.want"
	diff -u "$S/open.want" "$S/open.have" >&2 || tu_fail "open drift is not the kept orphans (diff above)"
}
check_open "${KEPT[@]}"
tu_log "ok: 20 commands, one final outcome each; deleted orphans resolved; kept ones open, naming the guard"

# ---- the endpoints of one kept orphan drain: its cascade runs --------------------------------
# No endpoints controller in the fixture: the test moves the ready address to
# notReadyAddresses, as the controller does when the pod's readiness probe fails.
ns=${DRAIN%/*} u=${DRAIN#*/}
ep=$(kube_object Endpoints "$ns" "session-$u")
drained=$(jq -c '.subsets |= map(.notReadyAddresses = ((.notReadyAddresses // []) + (.addresses // []))
	| del(.addresses))' <<<"$ep")
reply=$(kube_ctl POST objects "$drained") || tu_fail "cannot update Endpoints $ns/session-$u"
[ "$(jq -r .metadata.uid <<<"$reply")" = "$(jq -r .metadata.uid <<<"$ep")" ] ||
	tu_fail "the drained Endpoints is not the same object"
# The store now: as checked above, with this one Endpoints replaced (the producer may see it,
# and trueup act on it, before a snapshot taken now could be read).
jq -S --argjson ep "$reply" 'map(if .kind == $ep.kind and .metadata.namespace == $ep.metadata.namespace
	and .metadata.name == $ep.metadata.name then $ep else . end)' "$S/store.phase1" >"$S/store.drained"
[ "$(jq --argjson ep "$reply" '[.[] | select(. == $ep)] | length' "$S/store.drained")" = 1 ] ||
	tu_fail "Endpoints $ns/session-$u not found in the store"
tu_log "drained Endpoints $ns/session-$u"
scenario_wait_state 60 "$RULE" "session-$u" STATE_RESOLVED
store_names
check_session "$DRAIN" gone

N=$(kube_scans)
tu_wait_for 30 "three more scans of kube" scans_past $((N + 3))
scenario_quiesce

# ---- the final state: everything again, with the drained orphan gone too ----------------------
GONE=("${DELETED[@]}" "$DRAIN")
STILL=()
for s in "${KEPT[@]}"; do [ "$s" = "$DRAIN" ] || STILL+=("$s"); done
expect_store "$S/store.drained" "$DRAIN"
expect_redis "${GONE[@]}"
check_writes "${GONE[@]}"
check_trail "$S/store.before" "${GONE[@]}"
for s in "${DELETED[@]}"; do check_deleted "$s"; done
check_deleted "$DRAIN" late
for s in "${STILL[@]}"; do check_kept "$s"; done
check_open "${STILL[@]}"
corr=$(jq -r --arg n "session-$u" 'select(.entity.name == $n) | .correlation_id' "$S/drift.jsonl" | sort -u)
"$TRUEUP" audit "$corr" -o json | jq -r .stream | LC_ALL=C sort -u | paste -sd, |
	grep -qx 'TRUEUP_CMD,TRUEUP_DRIFT,TRUEUP_EVENTS' || tu_fail "audit of $DRAIN ($corr) incomplete"
tu_log "ok: $DRAIN drained, its cascade ran and its drift resolved; nothing else changed"
tu_log "PASS"
