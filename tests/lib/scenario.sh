# tests/lib/scenario.sh - what the scenario tests (tests/scenarios/*) share:
# rendering a config, starting trueup's components, and reading its drift
# feed. Source after harness.sh (and after tu_setup, tu_start_nats).
#
#   scenario_render IN OUT NAME=VALUE...  copies IN to OUT replacing each @NAME@;
#                                         fails if a @...@ is left
#   scenario_trueup TARGET...             streams apply, then the processor, the
#                                         producer and one actuator per target
#                                         (logs: processor.log, producer.log,
#                                         actuator-<target>.log); needs TRUEUP_CONFIG
#   scenario_drift                        every drift event so far (the decoded
#                                         DriftEvent), one JSON per line
#   scenario_state RULE NAME              the state of the last drift event of
#                                         (RULE, entity NAME): STATE_OPENED, ...
#   scenario_wait_state SECS RULE NAME STATE...   until the last event is one of them
#   scenario_quiesce                      stops producer and actuators, lets the
#                                         processor fold what is left, stops it

scenario_render() {
	local in=$1 out=$2
	shift 2
	cp "$in" "$out"
	local kv
	for kv in "$@"; do
		local k=${kv%%=*} v=${kv#*=}
		v=${v//\\/\\\\}
		v=${v//&/\\&}
		v=${v//|/\\|}
		sed -i "s|@$k@|$v|g" "$out"
	done
	if grep -n '@[A-Z_]*@' "$out" >&2; then
		tu_fail "$out: placeholders left"
	fi
}

scenario_trueup() {
	: "${TRUEUP_CONFIG:?TRUEUP_CONFIG must name the config}"
	"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "trueup streams apply"
	tu_bg processor "$TU_BUILD/trueup-processor" --config "$TRUEUP_CONFIG" --instance p1
	local t
	for t in "$@"; do
		tu_bg "actuator-$t" "$TU_BUILD/trueup-actuator" --config "$TRUEUP_CONFIG" \
			--target "$t" --instance "a-$t"
	done
	tu_bg producer "$TU_BUILD/trueup-producer" --config "$TRUEUP_CONFIG"
}

scenario_drift() {
	"$TU_BUILD/trueup" drift -o json 2>/dev/null | jq -c '.message'
}

scenario_state() {
	scenario_drift | jq -r --arg r "$1" --arg n "$2" \
		'select(.rule == $r and .entity.name == $n) | .state' | tail -n 1
}

scenario_wait_state() {
	local secs=$1 rule=$2 name=$3
	shift 3
	local want=" $* " end=$((SECONDS + secs)) s=""
	while [ $SECONDS -lt $end ]; do
		s=$(scenario_state "$rule" "$name")
		case "$want" in *" $s "*) [ -n "$s" ] && return 0 ;; esac
		sleep 0.5
	done
	tu_fail "drift $rule/$name: last state '${s:-none}', wanted one of:$want(after ${secs}s)"
}

scenario_quiesce() {
	local n
	tu_stop producer
	for n in "${TU_NAMES[@]}"; do
		case "$n" in actuator-*) tu_stop "$n" ;; esac
	done
	caught_up() {
		local s
		s=$("$TU_BUILD/trueup" status -o json) || return 1
		[ "$(echo "$s" | jq .lag)" -eq 0 ] && [ "$(echo "$s" | jq .outbox)" -eq 0 ]
	}
	tu_wait_for 60 "processor to catch up" caught_up
	tu_stop processor
}
