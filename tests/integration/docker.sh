#!/usr/bin/env bash
# docker.sh - the docker source and target against a real dockerd (its own,
# started here; tests/lib/docker.sh) and nats-server:
#   1. a scan publishes exactly the containers the filters and prefix select,
#      with the mapped attributes (list fields, {health} from the Status text,
#      {inspect.*} with inspect: true);
#   2. a container stopped behind trueup's back shows in the next (delta) scan;
#   3. the actuator's stop, restart and remove do what they say and the daemon
#      shows it; stop of a stopped container and remove of a vanished id are
#      noops; a precondition mismatch is skipped-precondition; a dry-run
#      changes nothing; a running container without force is failed-permanent
#      with Docker's message;
#   4. end to end: the ghost-worker rule with a files source as authority and
#      the docker source removes an undeclared k3s-worker container.
# If dockerd cannot start here the test prints SKIP: <reason> and exits 77.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/producer_lib.sh"
: "${TU_BUILD:?TU_BUILD must point at the build directory}"
command -v jq >/dev/null || tu_fail "jq not installed"
ACTUATOR=$TU_BUILD/trueup-actuator
CMD=$TU_BUILD/tests/actuator_cmd

tu_setup
CONFIG=$TU_TMP/trueup.yaml
tu_start_dockerd
tu_docker_image trueup-test:1
tu_start_nats

worker=(--label com.example.role=worker trueup-test:1 /bin/sleep 100000)
tu_docker_run k3s-worker-1 --health-cmd 'exit 0' --health-interval 1s "${worker[@]}"
tu_docker_run k3s-worker-2 "${worker[@]}"
tu_docker_run k3s-worker-3 "${worker[@]}"
# another prefix and other labels: never observed
tu_docker_run db-1 --label com.example.role=db --label com.example.tier=data \
	trueup-test:1 /bin/sleep 100000
# the right prefix, the wrong label: filtered out by the daemon
tu_docker_run k3s-worker-9 --label com.example.role=spare trueup-test:1 /bin/sleep 100000
id_of() { tu_docker inspect -f '{{.Id}}' "$1"; }
ID1=$(id_of k3s-worker-1)
ID2=$(id_of k3s-worker-2)
ID3=$(id_of k3s-worker-3)
IDDB=$(id_of db-1)
healthy() { [ "$(tu_docker inspect -f '{{.State.Health.Status}}' k3s-worker-1)" = healthy ]; }
tu_wait_for 60 "k3s-worker-1 healthy" healthy

# write_config INTERVAL [SOURCE [SECTIONS]]: the config; SOURCE (YAML) is one more
# source entry, SECTIONS more top-level sections.
write_config() {
	cat >"$CONFIG" <<EOF
nats: { url: "$NATS_URL" }
log: { level: debug, format: text }
http: { processor: "127.0.0.1:0", producer: "127.0.0.1:0", actuator: "127.0.0.1:0" }
sources:
  - name: docker
    type: docker
    socket: $DOCKER_SOCK
    interval: $1
    timeout: 20s            # generous: the machine may be loaded
    rate: 50
    filters:
      name_prefixes: [k3s-worker-]
      labels: ["com.example.role=worker"]
    observe:
      - kind: worker
        name: "{.Names[0]|trimprefix:/}"
        attrs:
          id: "{.Id}"
          state: "{.State}"
          image: "{.Image}"
          role: "{.Labels[\"com.example.role\"]}"
          health: "{health}"
      - kind: container
        name: "{.Names[0]|trimprefix:/}"
        name_prefix: k3s-worker-
        inspect: true
        attrs: { health: "{health}", running: "{inspect.State.Running}" }
${2:-}
targets:
  - name: docker
    type: docker
    socket: $DOCKER_SOCK
    fetch_wait: 200ms
    ack_wait: 60s
    timeout: 20s
${3:-}
EOF
}
write_config 1h # scans come from start and requests only
pl_streams_apply

# --- 1. one full scan: exactly the selected containers, mapped ----------------
"$PRODUCER" --config "$CONFIG" --once 2>"$TU_TMP/once.log" ||
	{ cat "$TU_TMP/once.log" >&2; tu_fail "--once did not exit 0"; }
pl_scan docker
pl_expect_framed
pl_expect "the scan is full, complete and covers both kinds" '
	.[0].msg.full and .[-1].msg.complete and .[-1].msg.skipped == 0
	and .[0].msg.kinds == ["container", "worker"]'
pl_expect "exactly k3s-worker-1..3, once per kind" '
	[.[1:-1][] | "\(.msg.entity.kind)/\(.msg.entity.name)"] | sort
	== ["container/k3s-worker-1", "container/k3s-worker-2", "container/k3s-worker-3",
	    "worker/k3s-worker-1", "worker/k3s-worker-2", "worker/k3s-worker-3"]'
check_worker() { # check_worker NAME ID HEALTH
	pl_expect "$1 has its id, state, image, role and health" "
		[.[] | select(.msg.entity.kind == \"worker\" and .msg.entity.name == \"$1\")][0].msg
		| .entity.namespace == \"default\" and .attrs == [
		  {key: \"health\", value: \"$3\"}, {key: \"id\", value: \"$2\"},
		  {key: \"image\", value: \"trueup-test:1\"}, {key: \"role\", value: \"worker\"},
		  {key: \"state\", value: \"running\"}]"
}
check_worker k3s-worker-1 "$ID1" healthy
check_worker k3s-worker-2 "$ID2" none
check_worker k3s-worker-3 "$ID3" none
pl_expect "an inspecting entry reads the inspect reply" '
	[.[] | select(.msg.entity.kind == "container" and .msg.entity.name == "k3s-worker-1")][0]
	| .subject == "trueup.obs.docker.container"
	  and .msg.attrs == [{key: "health", value: "healthy"}, {key: "running", value: "true"}]'

# --- 2. a container stopped behind trueup's back: the next scan shows it ------
tu_bg producer "$PRODUCER" --config "$CONFIG"
pl_wait_ends docker 2
tu_docker stop -t 1 k3s-worker-2 >/dev/null
reply=$(pl_request docker)
echo "$reply" | jq -e '.accepted' >/dev/null || tu_fail "scan request refused: $reply"
pl_wait_ends docker 3
pl_scan docker
pl_expect_framed
pl_expect "the requested delta scan publishes only k3s-worker-2, now exited" '
	(.[-1].msg.full | not) and .[-1].msg.complete and .[-1].msg.published == 2
	and ([.[1:-1][] | .msg.entity.name] | unique) == ["k3s-worker-2"]
	and ([.[] | select(.msg.entity.kind == "worker")][0].msg.attrs
	     | map(select(.key == "state"))[0].value) == "exited"
	and ([.[] | select(.msg.entity.kind == "container")][0].msg.attrs
	     | map(select(.key == "running"))[0].value) == "false"'

# --- 3. the actuator ------------------------------------------------------------
tu_bg actuator "$ACTUATOR" --config "$CONFIG" --target docker --instance act
N=0
cmd() { # cmd ACTION [actuator_cmd flags]: a command with a fresh id in $ID
	N=$((N + 1))
	ID=$(printf 'dkr%021d' "$N")
	"$CMD" --url "$NATS_URL" --target docker --id "$ID" --corr "corr$ID" --rule itest \
		--action "$@" >/dev/null || tu_fail "cannot publish command $ID"
}
outcome_of() {
	"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_EVENTS \
		--filter "trueup.out.docker.$1" -o json |
		jq -c '.message | .result |= (ascii_downcase | sub("^result_"; "") | gsub("_"; "-"))'
}
has_outcome() { [ -n "$(outcome_of "$1")" ]; }
# wait_result RESULT: the outcome of $ID, which must be RESULT; in $O.
wait_result() {
	tu_wait_for 60 "an outcome of $ID" has_outcome "$ID"
	O=$(outcome_of "$ID" | tail -n 1)
	[ "$(jq -r .result <<<"$O")" = "$1" ] || tu_fail "command $ID: want $1, got $O"
}
expect() { # expect FIELD PATTERN: a field of $O matches (grep -E)
	local v
	v=$(jq -r ".$1" <<<"$O")
	grep -Eq -- "$2" <<<"$v" || tu_fail "$1 is \"$v\", expected /$2/ in $O"
}
running() { tu_docker inspect -f '{{.State.Running}}' "$1"; }
exists() { tu_docker inspect "$1" >/dev/null 2>&1; }

cmd stop --param "id=$ID1" --param timeout=1
wait_result succeeded
expect detail '^stopped container [0-9a-f]{12} \(k3s-worker-1, was running; grace 1 s\)$'
[ "$(running k3s-worker-1)" = false ] || tu_fail "k3s-worker-1 still runs after stop"

cmd stop --param "id=${ID1:0:12}" --param timeout=1
wait_result noop
expect detail 'already stopped \(state exited\)'

cmd restart --param "id=$ID2" --param timeout=1
wait_result succeeded
expect detail '^restarted container'
[ "$(running k3s-worker-2)" = true ] || tu_fail "k3s-worker-2 does not run after restart"

cmd remove --param "id=$ID2" --param force=true --pre field_equals --pre-field name \
	--pre-value k3s-worker-9
wait_result skipped-precondition
expect detail 'precondition 1 \(field_equals name "k3s-worker-9"\) failed: actual "k3s-worker-2"'
exists k3s-worker-2 || tu_fail "a skipped remove removed k3s-worker-2"

cmd remove --param "id=$ID2" --param force=true --mode dry-run
wait_result dry-run
expect detail '^would remove container [0-9a-f]{12} \(k3s-worker-2, running\), forced$'
exists k3s-worker-2 || tu_fail "a dry-run removed k3s-worker-2"
[ "$(running k3s-worker-2)" = true ] || tu_fail "a dry-run stopped k3s-worker-2"

cmd remove --param "id=$IDDB"
wait_result failed-permanent
expect error 'You cannot remove a running container'
exists db-1 || tu_fail "db-1 was removed without force"

cmd remove --param "id=$ID3" --param force=true --pre field_equals --pre-field state \
	--pre-value running
wait_result succeeded
expect detail '^removed container [0-9a-f]{12} \(k3s-worker-3, was running\), forced$'
exists k3s-worker-3 && tu_fail "k3s-worker-3 still exists after remove"

cmd remove --param "id=$ID3" --param force=true
wait_result noop
expect detail "^container $ID3 is already gone$"

cmd remove --param id=k3s-worker-2
wait_result failed-permanent
expect error 'is not a container id'
exists k3s-worker-2 || tu_fail "a remove by name removed k3s-worker-2"

# the next scan sees what the actuator did
pl_request docker >/dev/null
pl_wait_ends docker 4
pl_scan docker
pl_expect "the scan after the commands: worker-3 deleted, worker-1 exited, worker-2 restarted" '
	.[-1].msg.complete and .[-1].msg.deleted == 2
	and ([.[] | select(.msg.entity.name == "k3s-worker-3")] | length == 2 and all(.msg.deleted))
	and ([.[] | select(.msg.entity.kind == "worker" and .msg.entity.name == "k3s-worker-1")][0]
	     .msg.attrs | map(select(.key == "state"))[0].value) == "exited"
	and ([.[] | select(.msg.entity.kind == "worker" and .msg.entity.name == "k3s-worker-2")][0]
	     .msg.attrs | map(select(.key == "state"))[0].value) == "running"'
tu_stop producer
tu_stop actuator

# --- 4. end to end: an undeclared worker container is removed --------------------
tu_docker_run k3s-worker-4 "${worker[@]}"
tu_stop nats
rm -rf "$TU_TMP/nats"
tu_start_nats
mkdir -p "$TU_TMP/declared"
cat >"$TU_TMP/declared/workers.yaml" <<EOF
- { kind: worker, name: k3s-worker-1 }
- { kind: worker, name: k3s-worker-2 }
EOF
write_config 1s "  - { name: declared, type: files, path: $TU_TMP/declared, interval: 1s }" "
processor: { view: $TU_TMP/view, tick: 1s }
rules:
  - name: ghost-worker
    type: presence
    kind: worker
    sources: [declared, docker]
    authority: declared
    for: 1s
    mode: enforce
    when_extra:               # running, not declared: remove it if it is still the one seen
      docker:
        - target: docker
          action: remove
          id: \"{docker.id}\"
          force: \"true\"
          if: [ { field_equals: { name: \"{name}\" } } ]"
pl_streams_apply
export TRUEUP_CONFIG=$CONFIG
tu_bg e2e-processor "$TU_BUILD/trueup-processor" --config "$CONFIG" --instance p1
tu_bg e2e-actuator "$ACTUATOR" --config "$CONFIG" --target docker --instance a1
tu_bg e2e-producer "$PRODUCER" --config "$CONFIG"
gone4() { ! exists k3s-worker-4; }
tu_wait_for 90 "trueup to remove the undeclared k3s-worker-4" gone4
exists k3s-worker-1 && exists k3s-worker-2 || tu_fail "a declared worker was removed"
resolved() {
	"$TU_BUILD/trueup" --config "$CONFIG" drift -o json |
		jq -s -e 'map(select(.message.rule == "ghost-worker" and .message.entity.name == "k3s-worker-4"))
			  | map(.message.state) | index("STATE_RESOLVED") != null' >/dev/null
}
tu_wait_for 90 "the ghost-worker drift of k3s-worker-4 to resolve" resolved
"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_EVENTS --filter 'trueup.out.docker.>' \
	-o json | jq -s -e 'map(select(.message.result == "RESULT_SUCCEEDED"
				      and (.message.detail | test("k3s-worker-4")))) | length == 1' \
	>/dev/null || tu_fail "no single succeeded outcome for the removal of k3s-worker-4"
tu_log "PASS"
