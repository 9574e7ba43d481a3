#!/usr/bin/env bash
# ops/quickstart.sh - the main job, end to end on one machine:
#   installs what it needs, builds, starts nats-server (JetStream) and
#   redis-server on free loopback ports in a temp dir, seeds the ghost-worker
#   case, runs the pipeline (producers -> processor -> actuator), prints the
#   drift found, the commands, their outcomes and the final consistent state,
#   and stops everything it started.
# MODE=dry-run ops/quickstart.sh shows what would be done without doing it.
# TU_KEEP=1 keeps the temp dir (logs, view) for a look afterwards.
# TU_BUILD=DIR uses the binaries already built in DIR (no install, no build):
# the test suite runs the quickstart that way.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
MODE=${MODE:-enforce}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ -n "${TU_BUILD:-}" ]; then
	BIN=$TU_BUILD
else
	say "installing and building"
	ops/install-deps.sh
	ops/build.sh build >/dev/null
	BIN=$root/build
fi

. tests/lib/harness.sh
set +u
tu_setup
set -u
tu_start_nats
tu_start_redis
ops/examples/ghost-worker/render.sh "$TU_TMP" "$NATS_URL" "$REDIS_URL" "$MODE"
ops/examples/ghost-worker/seed-redis.sh "$REDIS_PORT"
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
echo "nats-server $NATS_URL, redis-server $REDIS_URL, work dir $TU_TMP (mode: $MODE)"

show_redis() {
	local k
	for k in $(redis-cli -p "$REDIS_PORT" --scan --pattern 'autoscaler:*' | sort); do
		case $(redis-cli -p "$REDIS_PORT" TYPE "$k") in
		hash) echo "  $k  $(redis-cli -p "$REDIS_PORT" HGETALL "$k" | paste -sd' ')" ;;
		*) echo "  $k  $(redis-cli -p "$REDIS_PORT" GET "$k")" ;;
		esac
	done
}

say "before: what Redis believes"
show_redis
say "before: what is declared ($TU_TMP/declared)"
ls "$TU_TMP/declared" | sed 's/^/  /'

say "streams"
"$BIN/trueup" streams apply | sed 's/^/  /'

say "running: processor, producers (declared, redis), actuator (redis)"
tu_bg processor "$BIN/trueup-processor" --config "$TRUEUP_CONFIG" --instance quickstart
tu_bg actuator "$BIN/trueup-actuator" --config "$TRUEUP_CONFIG" --target redis --instance quickstart
tu_bg producer "$BIN/trueup-producer" --config "$TRUEUP_CONFIG"

settled() {
	local s
	s=$("$BIN/trueup" status -o json 2>/dev/null) || return 1
	if [ "$MODE" = enforce ]; then
		[ "$(echo "$s" | jq '.drift | length')" -eq 0 ] && [ "$(echo "$s" | jq .drift_resolved)" -ge 2 ]
	else
		[ "$(echo "$s" | jq .outcomes)" -ge 2 ]
	fi
}
end=$((SECONDS + 90))
until settled; do
	[ $SECONDS -lt $end ] || { echo "quickstart: pipeline did not settle in 90s; logs in $TU_TMP" >&2; TU_KEEP=1; exit 1; }
	sleep 1
done

say "drift found (trueup drift)"
"$BIN/trueup" drift
say "audit trail: drift -> commands -> outcomes (trueup audit)"
"$BIN/trueup" audit
say "after: what Redis holds now"
show_redis
say "status (trueup status)"
"$BIN/trueup" status
say "done; stopping everything this script started"
