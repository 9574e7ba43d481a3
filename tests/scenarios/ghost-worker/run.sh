#!/usr/bin/env bash
# tests/scenarios/ghost-worker/run.sh MODE - the ghost-worker scenario (issue 4,
# scenario 1) on real servers: nats-server, redis-server, a private dockerd,
# the mongo-wire and kube-apiserver fixtures, and trueup's real binaries.
#
# The broken fleet: Docker runs k3s-worker-1..3; Redis holds the three workers
# (worker-3 stuck `initializing`) and a worker counter that says 7; MongoDB
# and Kubernetes know workers 1 and 2 only. The declared state is the authority.
#
# MODE (see README.md):
#   remove    workers 1..2 declared, rules enforce: worker-3 goes from every system
#   dry-run   workers 1..2 declared, rules dry-run: nothing changes, outcomes say what would
#   register  workers 1..3 declared, rules enforce: worker-3 is registered where trueup can
#
# Every check reads the systems themselves (docker ps, Redis, the fixtures'
# stores) as well as trueup's drift events, commands and outcomes.
# Exit 77 (SKIP) where dockerd cannot run.
MODE=${1:-}
case "$MODE" in
remove | dry-run | register) ;;
*)
	echo "usage: run.sh remove|dry-run|register" >&2
	exit 2
	;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../lib/harness.sh"
. "$HERE/../../lib/docker.sh"
. "$HERE/../../lib/kube.sh"
. "$HERE/../../lib/mongo.sh"
. "$HERE/../../lib/scenario.sh"
: "${TU_BUILD:?TU_BUILD must point at the build directory}"
command -v jq >/dev/null || tu_fail "jq not installed"
T0=$SECONDS

K3=autoscaler:workers:k3s-worker-3
COUNTER=autoscaler:workers:next_number

# ---- the systems, read back ---------------------------------------------------------
# Containers: name, full id, state (sorted by name).
docker_state() { tu_docker ps -a --no-trunc --format '{{.Names}} {{.ID}} {{.State}}' | sort; }
docker_id() { tu_docker inspect -f '{{.Id}}' "$1"; }
# Redis: every key with its type and value, hashes field by field (sorted).
redis_state() {
	local k
	tu_redis --scan --pattern "${1:-*}" | sort | while read -r k; do
		case $(tu_redis TYPE "$k") in
		hash) echo "$k hash $(tu_redis HGETALL "$k" | paste -d= - - | sort | paste -sd' ')" ;;
		string) echo "$k string $(tu_redis GET "$k")" ;;
		*) echo "$k $(tu_redis TYPE "$k")" ;;
		esac
	done
}
mongo_state() { mongo_cmd platform '{"trueupDump": 1}' | jq -S -c '.store'; }
mongo_names() { mongo_docs platform workers | jq -r .name | sort | paste -sd' '; }
kube_state() { kube_store | jq -S -c '[.objects[] | {kind, metadata}] | sort_by(.metadata.name)'; }
kube_nodes() {
	kube_store | jq -r '[.objects[] | select(.kind == "Node") | .metadata.name] | sort | join(" ")'
}

# ---- trueup's own record ----------------------------------------------------------------
commands() { "$TU_BUILD/trueup" streams dump TRUEUP_CMD -o json | jq -c '.message'; }
outcomes() {
	"$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' -o json |
		jq -c '.message | .result |= (ascii_downcase | sub("^result_"; "") | gsub("_"; "-"))'
}
# drift_states RULE NAME: the states of the entity's drift events, comma-separated.
drift_states() {
	scenario_drift | jq -r --arg r "$1" --arg n "$2" \
		'select(.rule == $r and .entity.name == $n) | .state | sub("^STATE_"; "")' | paste -sd,
}
corr_of() {
	scenario_drift | jq -r --arg r "$1" --arg n "$2" \
		'select(.rule == $r and .entity.name == $n) | .correlation_id' | sort -u
}
# check DESCRIPTION cmd...: runs cmd, fails naming DESCRIPTION if it fails.
check() {
	local what=$1
	shift
	"$@" || tu_fail "$what"
	tu_log "ok: $what"
}
# cmds_expect WHAT FILTER / drift_expect WHAT FILTER: jq -s -e FILTER holds on
# every command / drift event so far.
cmds_expect() {
	commands | jq -s -e "$2" >/dev/null || tu_fail "$1: $(commands)"
	tu_log "ok: $1"
}
drift_expect() {
	scenario_drift | jq -s -e "$2" >/dev/null || tu_fail "$1: $(scenario_drift)"
	tu_log "ok: $1"
}
eq() { # eq WHAT GOT WANT
	[ "$2" = "$3" ] || tu_fail "$1: got '$2', want '$3'"
	tu_log "ok: $1"
}

# ---- setup: the broken fleet, then trueup ---------------------------------------------
setup() {
	tu_setup
	tu_start_dockerd
	tu_docker_image trueup-test:1
	tu_start_nats
	tu_start_redis
	mongo_start "$HERE/seed/mongo.json"
	kube_certs
	printf 'scenario-token\n' >"$TU_TMP/kube/token"
	kube_start "$HERE/seed/kube.json" scenario-token

	# Docker: the three workers and the control-plane node (not a worker: never observed).
	local n
	for n in k3s-server-1 k3s-worker-1 k3s-worker-2 k3s-worker-3; do
		tu_docker_run "$n" trueup-test:1 /bin/sleep 100000
	done
	# Redis: the autoscaler's view, as in ops/examples/ghost-worker/seed-redis.sh.
	tu_redis HSET autoscaler:workers:k3s-worker-1 status ready ip 10.0.0.11 >/dev/null
	tu_redis HSET autoscaler:workers:k3s-worker-2 status ready ip 10.0.0.12 >/dev/null
	tu_redis HSET "$K3" status initializing ip 10.0.0.13 >/dev/null
	tu_redis SET "$COUNTER" 7 >/dev/null
	# The declared state.
	mkdir -p "$TU_TMP/declared"
	cp "$HERE/seed/declared-1-2.yaml" "$TU_TMP/declared/10-workers.yaml"
	[ "$MODE" = register ] && cp "$HERE/seed/declared-3.yaml" "$TU_TMP/declared/20-worker-3.yaml"

	local rule_mode=enforce
	[ "$MODE" = dry-run ] && rule_mode=dry-run
	scenario_render "$HERE/trueup.yaml.in" "$TU_TMP/trueup.yaml" \
		NATS_URL="$NATS_URL" REDIS_URL="$REDIS_URL" DOCKER_SOCK="$DOCKER_SOCK" \
		MONGO_URI="$MONGO_URI" KUBE_URL="$KUBE_URL" KUBE_CA="$KUBE_CA" \
		KUBE_TOKEN="$TU_TMP/kube/token" DIR="$TU_TMP" MODE="$rule_mode"
	export TRUEUP_CONFIG=$TU_TMP/trueup.yaml

	# The broken state is really there before trueup starts.
	eq "docker runs the server and workers 1..3" \
		"$(docker_state | awk '{print $1, $3}' | paste -sd,)" \
		"k3s-server-1 running,k3s-worker-1 running,k3s-worker-2 running,k3s-worker-3 running"
	eq "redis: worker-3 initializing" "$(tu_redis HGET "$K3" status)" initializing
	eq "redis: the counter says 7" "$(tu_redis GET "$COUNTER")" 7
	eq "mongo knows workers 1..2" "$(mongo_names)" "k3s-worker-1 k3s-worker-2"
	eq "kube knows nodes server-1, workers 1..2" "$(kube_nodes)" \
		"k3s-server-1 k3s-worker-1 k3s-worker-2"
	ID1=$(docker_id k3s-worker-1)
	ID2=$(docker_id k3s-worker-2)
	ID3=$(docker_id k3s-worker-3)
	export ID3
	BEFORE_DOCKER=$(docker_state)
	BEFORE_REDIS=$(redis_state)
	BEFORE_MONGO=$(mongo_state)
	BEFORE_KUBE=$(kube_state)
	tu_log "the broken fleet is seeded ($((SECONDS - T0)) s); starting trueup ($MODE)"
	scenario_trueup docker redis mongo kube
}

# ---- checks shared by the modes ------------------------------------------------------------
# Exactly the commands listed (target.action entity), sorted.
expect_commands() {
	local got
	got=$(commands | jq -r '"\(.target).\(.action) \(.entity.name)"' | sort | paste -sd,)
	eq "commands: exactly $*" "$got" "$(printf '%s\n' "$@" | sort | paste -sd,)"
}
# Every command has exactly one outcome, with RESULT, and its detail matches the
# regex given for it (target.action=REGEX ...).
expect_outcomes() {
	local result=$1
	shift
	local ids id n o ta want
	ids=$(commands | jq -r '.command_id')
	for id in $ids; do
		n=$(outcomes | jq -s --arg id "$id" '
		map(select(.command_id == $id)) | length')
		[ "$n" = 1 ] || tu_fail "command $id has $n outcomes: $(outcomes | grep "$id")"
		o=$(outcomes | jq -c --arg id "$id" 'select(.command_id == $id)')
		ta=$(jq -r '"\(.target).\(.action)"' <<<"$o")
		[ "$(jq -r .result <<<"$o")" = "$result" ] || tu_fail "$ta $id: want $result, got $o"
		for want in "$@"; do
			[ "${want%%=*}" = "$ta" ] || continue
			jq -r .detail <<<"$o" | grep -Eq -- "${want#*=}" ||
				tu_fail "$ta: detail '$(jq -r .detail <<<"$o")' does not match /${want#*=}/"
		done
		tu_log "ok: $ta: one outcome, $result: $(jq -r .detail <<<"$o")"
	done
}
# The audit trail of a correlation id holds its drift events, every command
# and outcome of it, and starts with the fact that opened it.
expect_audit() {
	local rule=$1 name=$2 corr n
	corr=$(corr_of "$rule" "$name")
	[ "$(wc -l <<<"$corr")" = 1 ] && [ -n "$corr" ] || tu_fail "$rule/$name: correlation ids '$corr'"
	"$TU_BUILD/trueup" audit "$corr" >"$TU_TMP/audit-$rule.txt" || tu_fail "trueup audit $corr"
	"$TU_BUILD/trueup" audit "$corr" -o json >"$TU_TMP/audit-$rule.jsonl" ||
		tu_fail "trueup audit $corr -o json"
	tu_log "trueup audit $corr ($rule/$name):"
	sed 's/^/    /' "$TU_TMP/audit-$rule.txt" >&2
	jq -s -e '.[0].stream == "TRUEUP_EVENTS"
		and (.[0].type == "trueup.v1.ObservedState" or .[0].type == "trueup.v1.ScanMarker")' \
		"$TU_TMP/audit-$rule.jsonl" >/dev/null ||
		tu_fail "audit of $corr does not start with the fact that opened it"
	n=$(commands | jq -r --arg c "$corr" 'select(.correlation_id == $c) | .command_id' | wc -l)
	jq -s -e --argjson n "$n" --arg states "$(drift_states "$rule" "$name")" '
		([.[] | select(.stream == "TRUEUP_CMD")] | length) == $n
		and ([.[] | select(.type == "trueup.v1.Outcome")] | length) == $n
		and ([.[] | select(.stream == "TRUEUP_DRIFT") | .message.state | sub("^STATE_"; "")]
		     | join(",")) == $states' \
		"$TU_TMP/audit-$rule.jsonl" >/dev/null ||
		tu_fail "audit of $corr does not hold its $n commands, their outcomes and its drift events"
	tu_log "ok: trueup audit $corr tells the story of $rule/$name ($n commands)"
}
# No drift about anything but the entities named (rule/name ...).
expect_drift_only() {
	local got
	got=$(scenario_drift | jq -r '"\(.rule)/\(.entity.name)"' | sort -u | paste -sd,)
	eq "drift only about $*" "$got" "$(printf '%s\n' "$@" | sort | paste -sd,)"
}

# ---- the modes --------------------------------------------------------------------------
run_remove() {
	fixed() {
		! tu_docker inspect k3s-worker-3 >/dev/null 2>&1 &&
			[ "$(tu_redis EXISTS "$K3")" = 0 ] && [ "$(tu_redis GET "$COUNTER")" = 3 ] &&
			[ "$(scenario_state ghost-worker k3s-worker-3)" = STATE_RESOLVED ] &&
			[ "$(scenario_state worker-counter workers)" = STATE_RESOLVED ]
	}
	tu_wait_for 90 "worker-3 gone, counter 3, both drifts resolved" fixed
	tu_log "fixed after $((SECONDS - T0)) s"
	scenario_quiesce

	# The systems: only worker-3 and the counter changed.
	eq "docker: worker-3 removed, the rest untouched" "$(docker_state)" \
		"$(grep -v '^k3s-worker-3 ' <<<"$BEFORE_DOCKER")"
	eq "redis: worker-3's key gone, counter 3, workers 1..2 unchanged" \
		"$(redis_state 'autoscaler:*')" \
		"$(grep -v "^$K3 " <<<"$BEFORE_REDIS" | sed "s/^$COUNTER string 7\$/$COUNTER string 3/")"
	eq "redis: one done-marker per executed redis command" \
		"$(tu_redis --scan --pattern 'trueup:done:*' | wc -l)" 2
	eq "mongo: unchanged (worker-3 never was there, nothing else deleted)" \
		"$(mongo_state)" "$BEFORE_MONGO"
	eq "mongo: workers 1..2" "$(mongo_names)" "k3s-worker-1 k3s-worker-2"
	eq "kube: unchanged (worker-3 never was there, nothing else deleted)" \
		"$(kube_state)" "$BEFORE_KUBE"
	check "kube: no write request reached the API server" \
		test "$(kube_requests | jq '[.[] | select(.method != "GET")] | length')" = 0
	check "mongo: no write command reached the server" \
		test "$(mongo_log_count '.cmd == "insert" or .cmd == "update" or .cmd == "delete"')" = 0

	# trueup's record.
	expect_commands "docker.remove k3s-worker-3" "redis.del k3s-worker-3" "redis.set workers"
	cmds_expect "docker remove names worker-3 by its id, forced, if it is still named so" '
		map(select(.action == "remove"))[0]
			| (.params | from_entries) == {force: "true", id: $ENV.ID3}
			  and (.preconditions | map(with_entries(select(.value != "")))) == [{op: "OP_FIELD_EQUALS", field: "name", value: "k3s-worker-3"}]'
	cmds_expect "redis del is conditional on the status trueup saw" '
		map(select(.action == "del"))[0]
			| (.preconditions | map(with_entries(select(.value != "")))) == [{op: "OP_FIELD_EQUALS", field: "status", value: "initializing"}]'
	cmds_expect "the counter is a compare-and-set of 7 to 3" '
		map(select(.action == "set"))[0]
			| (.params | from_entries).value == "3"
			  and (.preconditions | map(with_entries(select(.value != "")))) == [{op: "OP_EQUALS", value: "7"}]'
	expect_outcomes succeeded \
		"docker.remove=^removed container [0-9a-f]{12} \\(k3s-worker-3, was running\\), forced$" \
		"redis.del=autoscaler:workers:k3s-worker-3" \
		"redis.set=autoscaler:workers:next_number"
	expect_drift_only ghost-worker/k3s-worker-3 worker-counter/workers
	local s
	s=$(drift_states ghost-worker k3s-worker-3)
	case $s in OPENED,*UPDATED*,RESOLVED) ;; *) tu_fail "ghost-worker/k3s-worker-3 went $s" ;; esac
	tu_log "ok: ghost-worker/k3s-worker-3: $s"
	drift_expect "the worker-3 drift opened as extra in docker and redis, against the declared state" '
		map(select(.rule == "ghost-worker" and .state == "STATE_OPENED"))[0]
			| (.details | from_entries) as $d
			| $d["source.docker"] == "present" and $d["source.redis"] == "present"
			  and $d["source.mongo"] == "absent" and $d["source.kube"] == "absent"
			  and $d["source.declared"] == "absent" and $d.should_exist == "false"
			  and (.reason | test("is extra in docker, redis"))'
	s=$(drift_states worker-counter workers)
	case $s in OPENED,*RESOLVED) ;; *) tu_fail "worker-counter/workers went $s" ;; esac
	tu_log "ok: worker-counter/workers: $s"
	expect_audit ghost-worker k3s-worker-3
	expect_audit worker-counter workers
}

run_dry_run() {
	all_answered() {
		local n m
		n=$(commands | wc -l)
		m=$(outcomes | wc -l)
		[ "$n" -ge 3 ] && [ "$m" -ge "$n" ]
	}
	tu_wait_for 90 "the three dry-run commands and their outcomes" all_answered
	tu_log "every command answered after $((SECONDS - T0)) s; watching 5 s more"
	sleep 5 # more scans and evaluations: nothing may change in the meantime either
	scenario_quiesce

	eq "docker: nothing changed (docker ps -a)" "$(docker_state)" "$BEFORE_DOCKER"
	eq "redis: nothing changed (every key and value, no done-marker)" "$(redis_state)" \
		"$BEFORE_REDIS"
	eq "mongo: nothing changed (the whole store)" "$(mongo_state)" "$BEFORE_MONGO"
	eq "kube: nothing changed (the whole store)" "$(kube_state)" "$BEFORE_KUBE"
	check "kube: no write request reached the API server" \
		test "$(kube_requests | jq '[.[] | select(.method != "GET")] | length')" = 0
	check "mongo: no write command reached the server" \
		test "$(mongo_log_count '.cmd == "insert" or .cmd == "update" or .cmd == "delete"')" = 0
	check "docker: worker-3 is the container it was" test "$(docker_id k3s-worker-3)" = "$ID3"

	expect_commands "docker.remove k3s-worker-3" "redis.del k3s-worker-3" "redis.set workers"
	cmds_expect "every command is a dry-run command" 'all(.mode == "MODE_DRY_RUN")'
	expect_outcomes dry-run \
		"docker.remove=^would remove container [0-9a-f]{12} \\(k3s-worker-3, running\\), forced$" \
		"redis.del=^would DEL autoscaler:workers:k3s-worker-3" \
		"redis.set=^would SET autoscaler:workers:next_number"
	expect_drift_only ghost-worker/k3s-worker-3 worker-counter/workers
	local r s
	for r in ghost-worker/k3s-worker-3 worker-counter/workers; do
		s=$(drift_states "${r%/*}" "${r#*/}")
		case $s in OPENED | OPENED,UPDATED*) ;; *) tu_fail "$r went $s in dry-run" ;; esac
		case ,$s, in *RESOLVED* | *ESCALATED*) tu_fail "$r went $s in dry-run" ;; esac
		tu_log "ok: $r stays open: $s"
	done
	expect_audit ghost-worker k3s-worker-3
}

run_register() {
	registered() {
		[ "$(tu_redis HGET "$K3" status)" = ready ] &&
			[ "$(tu_redis GET "$COUNTER")" = 4 ] &&
			[ "$(mongo_names)" = "k3s-worker-1 k3s-worker-2 k3s-worker-3" ] &&
			[ "$(scenario_state worker-status k3s-worker-3)" = STATE_RESOLVED ] &&
			[ "$(scenario_state worker-counter workers)" = STATE_RESOLVED ]
	}
	tu_wait_for 90 "worker-3 ready in redis, its mongo document, counter 4" registered
	tu_log "registered after $((SECONDS - T0)) s; watching 6 s more"
	sleep 6 # more scans: the kube side stays missing, and nothing is retried for it
	scenario_quiesce

	eq "docker: every container runs, the same ones" "$(docker_state)" "$BEFORE_DOCKER"
	eq "redis: worker-3 ready (its ip kept), counter 4, workers 1..2 unchanged" \
		"$(redis_state 'autoscaler:*')" \
		"$(sed -e "s/^$K3 hash ip=10.0.0.13 status=initializing\$/$K3 hash ip=10.0.0.13 status=ready/" \
			-e "s/^$COUNTER string 7\$/$COUNTER string 4/" <<<"$BEFORE_REDIS")"
	eq "mongo: worker-3's document inserted, nothing else changed" "$(mongo_state)" \
		"$(jq -S -c '.platform.workers += [{_id: "k3s-worker-3", name: "k3s-worker-3", status: "ready"}]' \
			<<<"$BEFORE_MONGO")"
	eq "kube: unchanged (trueup creates no Node)" "$(kube_state)" "$BEFORE_KUBE"
	check "kube: no write request reached the API server" \
		test "$(kube_requests | jq '[.[] | select(.method != "GET")] | length')" = 0

	expect_commands "mongo.insert-one k3s-worker-3" "redis.hset k3s-worker-3" "redis.set workers"
	cmds_expect "the status fix is conditional on the status trueup saw" '
		map(select(.action == "hset"))[0]
			| (.params | from_entries) == {key: "autoscaler:workers:k3s-worker-3", "field.status": "ready"}
			  and (.preconditions | map(with_entries(select(.value != "")))) == [{op: "OP_FIELD_EQUALS", field: "status", value: "initializing"}]'
	expect_outcomes succeeded \
		"mongo.insert-one=^insert-one platform.workers .*k3s-worker-3.*: inserted$" \
		"redis.hset=autoscaler:workers:k3s-worker-3" \
		"redis.set=autoscaler:workers:next_number"
	expect_drift_only ghost-worker/k3s-worker-3 worker-status/k3s-worker-3 worker-counter/workers
	local s
	s=$(drift_states worker-status k3s-worker-3)
	case $s in OPENED,*RESOLVED) ;; *) tu_fail "worker-status/k3s-worker-3 went $s" ;; esac
	s=$(drift_states worker-counter workers)
	case $s in OPENED,*RESOLVED) ;; *) tu_fail "worker-counter/workers went $s" ;; esac
	# The presence drift: missing in mongo and kube; mongo fixed; kube stays
	# missing, with no action, and the drift stays open (not escalated).
	s=$(drift_states ghost-worker k3s-worker-3)
	tu_log "ghost-worker/k3s-worker-3: $s"
	case ,$s, in *RESOLVED* | *ESCALATED*) tu_fail "ghost-worker/k3s-worker-3 went $s" ;; esac
	drift_expect "the worker-3 drift opened as missing in mongo and kube" '
		map(select(.rule == "ghost-worker" and .state == "STATE_OPENED"))[0]
			| (.details | from_entries) as $d
			| $d["source.mongo"] == "absent" and $d["source.kube"] == "absent"
			  and $d["source.docker"] == "present" and $d["source.redis"] == "present"
			  and $d.should_exist == "true"
			  and (.reason | test("is missing in mongo, kube"))'
	drift_expect "it now reports worker-3 missing in kube only, still on attempt 1" '
		map(select(.rule == "ghost-worker"))[-1]
			| (.details | from_entries) as $d
			| $d["source.mongo"] == "present" and $d["source.kube"] == "absent"
			  and (.reason | test("is missing in kube \\(authority declared says it should exist\\)"))
			  and .state == "STATE_UPDATED" and .attempt == 1'
	expect_audit ghost-worker k3s-worker-3
	expect_audit worker-status k3s-worker-3
}

setup
case "$MODE" in
remove) run_remove ;;
dry-run) run_dry_run ;;
register) run_register ;;
esac
tu_log "PASS ($MODE, $((SECONDS - T0)) s)"
