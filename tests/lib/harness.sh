# tests/lib/harness.sh - start the real servers trueup's tests need, on free
# loopback ports in a private temp dir, and stop exactly what was started.
#
# Source it from an integration test:
#   . "$(dirname "$0")/../lib/harness.sh"
#   tu_setup                # temp dir in $TU_TMP, trap that cleans up
#   tu_start_nats           # sets NATS_PORT NATS_URL
#   tu_start_redis          # sets REDIS_PORT REDIS_URL
#   tu_bg NAME cmd args...  # background process, logged to $TU_TMP/NAME.log
#   tu_stop NAME            # SIGTERM, then SIGKILL after 5 s
# Every process started here is recorded by PID and stopped on exit.
# Set TU_KEEP=1 to keep the temp dir for inspection.

set -u

TU_PIDS=()
TU_NAMES=()

tu_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
tu_fail() { tu_log "FAIL: $*"; exit 1; }

tu_setup() {
	TU_TMP=$(mktemp -d "${TMPDIR:-/tmp}/trueup-test.XXXXXX")
	export TU_TMP
	trap tu_cleanup EXIT
	trap 'exit 130' INT TERM
}

tu_cleanup() {
	local rc=$?
	set +e
	local i
	for ((i = ${#TU_PIDS[@]} - 1; i >= 0; i--)); do
		local pid=${TU_PIDS[$i]}
		[ -n "$pid" ] || continue
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			local n=0
			while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	if [ $rc -ne 0 ] && [ -n "${TU_TMP:-}" ]; then
		for f in "$TU_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "----- $(basename "$f") (last 40 lines) -----" >&2
			tail -n 40 "$f" >&2
		done
	fi
	if [ -n "${TU_TMP:-}" ] && [ "${TU_KEEP:-0}" != 1 ]; then
		rm -rf "$TU_TMP"
	fi
	exit $rc
}

# Prints a TCP port on 127.0.0.1 that nothing listens on now.
tu_free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Waits until 127.0.0.1:$1 accepts connections (up to $2 tenths of a second).
tu_wait_port() {
	local port=$1 tries=${2:-100} i
	for ((i = 0; i < tries; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

# tu_bg NAME cmd args... : runs in the background, records the PID.
tu_bg() {
	local name=$1
	shift
	"$@" >"$TU_TMP/$name.log" 2>&1 &
	local pid=$!
	TU_PIDS+=("$pid")
	TU_NAMES+=("$name")
	eval "TU_PID_${name//[^A-Za-z0-9_]/_}=$pid"
}

tu_pid() {
	local v="TU_PID_${1//[^A-Za-z0-9_]/_}"
	echo "${!v:-}"
}

# tu_stop NAME [SIGNAL]: stops a process started with tu_bg and waits for it.
tu_stop() {
	local pid
	pid=$(tu_pid "$1")
	[ -n "$pid" ] || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	local n=0
	while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

tu_start_nats() {
	command -v nats-server >/dev/null || tu_fail "nats-server not installed (ops/install-deps.sh)"
	local try
	for try in 1 2 3; do
		NATS_PORT=$(tu_free_port)
		mkdir -p "$TU_TMP/nats"
		tu_bg nats nats-server -js -sd "$TU_TMP/nats" -a 127.0.0.1 -p "$NATS_PORT"
		if tu_wait_port "$NATS_PORT" 100; then
			NATS_URL="nats://127.0.0.1:$NATS_PORT"
			export NATS_PORT NATS_URL
			return 0
		fi
		tu_stop nats KILL
	done
	tu_fail "nats-server did not start"
}

tu_start_redis() {
	command -v redis-server >/dev/null || tu_fail "redis-server not installed (ops/install-deps.sh)"
	local try
	for try in 1 2 3; do
		REDIS_PORT=$(tu_free_port)
		mkdir -p "$TU_TMP/redis"
		tu_bg redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
			--appendonly no --daemonize no --dir "$TU_TMP/redis" "$@"
		if tu_wait_port "$REDIS_PORT" 100; then
			REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
			export REDIS_PORT REDIS_URL
			return 0
		fi
		tu_stop redis KILL
	done
	tu_fail "redis-server did not start"
}

tu_redis() { redis-cli -p "$REDIS_PORT" "$@"; }

# tu_wait_for SECONDS DESCRIPTION cmd args... : polls until cmd succeeds.
# TU_WAIT_SCALE (default 1) multiplies every wait: a loaded or sanitized run is
# slower, and a longer wait only delays a failure, never a pass.
tu_wait_for() {
	local secs=$(($1 * ${TU_WAIT_SCALE:-1})) what=$2
	shift 2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	tu_fail "timed out after ${secs}s waiting for: $what"
}
