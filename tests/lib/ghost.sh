# tests/lib/ghost.sh - the ghost-worker case on real servers, shared by the
# spine tests. Source after harness.sh; needs TU_BUILD and TU_SRC.
# ghost_start MODE [HTTP]: servers, config, seed, streams, and the three
# components; HTTP is the processor's endpoint address (default: any port).
# ghost_settled: the pipeline has nothing left to do.

ghost_start() {
	local mode=$1 http=${2:-127.0.0.1:0}
	tu_setup
	tu_start_nats
	tu_start_redis
	"$TU_SRC/ops/examples/ghost-worker/render.sh" "$TU_TMP" "$NATS_URL" "$REDIS_URL" "$mode" "$http"
	"$TU_SRC/ops/examples/ghost-worker/seed-redis.sh" "$REDIS_PORT"
	export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
	"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "streams apply"
	tu_bg processor "$TU_BUILD/trueup-processor" --config "$TRUEUP_CONFIG" --instance p1
	tu_bg actuator "$TU_BUILD/trueup-actuator" --config "$TRUEUP_CONFIG" --target redis --instance a1
	tu_bg producer "$TU_BUILD/trueup-producer" --config "$TRUEUP_CONFIG"
}

ghost_status() { "$TU_BUILD/trueup" status -o json; }

# Stops producers and actuator, lets the processor fold what is left, stops it.
ghost_quiesce() {
	tu_stop producer
	tu_stop actuator
	caught_up() {
		local s
		s=$(ghost_status) || return 1
		[ "$(echo "$s" | jq .lag)" -eq 0 ] && [ "$(echo "$s" | jq .outbox)" -eq 0 ]
	}
	tu_wait_for 30 "processor to catch up" caught_up
	tu_stop processor
}

# (msg_id, payload) of every message in a stream, sorted.
stream_pairs() {
	"$TU_BUILD/trueup" streams dump "$1" -o json | jq -r '[.msg_id, .payload] | @tsv' | sort
}
