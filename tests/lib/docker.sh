# tests/lib/docker.sh - a private dockerd for trueup's tests (PLATFORM-NOTES):
# its own socket, data root, exec root and pid file under $TU_TMP, no
# iptables, no bridge, vfs storage; images made locally with `docker import`
# from a busybox rootfs (nothing is pulled).
#
# Source it after harness.sh and tu_setup:
#   tu_start_dockerd        sets DOCKER_SOCK DOCKER_HOST_URI; SKIPs (exit 77) if it cannot start
#   tu_docker args...       the docker CLI against that daemon
#   tu_docker_image NAME    imports a busybox image (sleep, sh) as NAME
#   tu_docker_run NAME args... runs a detached container NAME (--network none) and
#                           records it for cleanup
# On exit, before the harness stops anything else: every container the test
# made is removed (`docker rm -f`: a sleep as PID 1 ignores SIGTERM, and
# dockerd would wait ~10 s for each), dockerd is stopped by its pid file's PID,
# and any containerd or shim still running from its exec root is killed by PID.

TU_DOCKER_CONTAINERS=()
DOCKER_DIR=
DOCKER_SOCK=
TU_DOCKER_CLI=

# tu_skip REASON: the test cannot run here; ctest counts exit 77 as skipped.
tu_skip() {
	echo "SKIP: $*"
	tu_log "SKIP: $*"
	exit 77
}

tu_docker() { "$TU_DOCKER_CLI" -H "unix://$DOCKER_SOCK" "$@"; }

tu_docker_ready() {
	curl -sf --max-time 2 --unix-socket "$DOCKER_SOCK" http://localhost/version >/dev/null
}

tu_start_dockerd() {
	command -v dockerd >/dev/null || tu_skip "dockerd is not installed (ops/install-deps.sh: docker.io)"
	command -v curl >/dev/null || tu_skip "curl is not installed"
	[ "$(id -u)" = 0 ] || tu_skip "dockerd needs root (running as uid $(id -u))"
	TU_DOCKER_CLI=/usr/bin/docker
	[ -x "$TU_DOCKER_CLI" ] || TU_DOCKER_CLI=$(command -v docker) ||
		tu_skip "the docker CLI is not installed"
	DOCKER_DIR=$TU_TMP/docker
	DOCKER_SOCK=$DOCKER_DIR/docker.sock
	DOCKER_HOST_URI=unix://$DOCKER_SOCK
	export DOCKER_SOCK DOCKER_HOST_URI
	mkdir -p "$DOCKER_DIR/data" "$DOCKER_DIR/exec"
	trap 'rc=$?; tu_docker_cleanup; (exit $rc); tu_cleanup' EXIT
	tu_bg dockerd dockerd --host "unix://$DOCKER_SOCK" --data-root "$DOCKER_DIR/data" \
		--exec-root "$DOCKER_DIR/exec" --pidfile "$DOCKER_DIR/docker.pid" \
		--storage-driver vfs --iptables=false --ip-masq=false --bridge=none
	local pid i
	pid=$(tu_pid dockerd)
	for ((i = 0; i < 600; i++)); do
		tu_docker_ready && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! tu_docker_ready; then
		local why
		why=$(grep -iE 'level=(fatal|error)|failed' "$TU_TMP/dockerd.log" | tail -n 1)
		if kill -0 "$pid" 2>/dev/null; then
			tu_skip "dockerd did not answer on its socket within 60 s: ${why:-see dockerd.log}"
		fi
		tu_skip "dockerd exited at start: ${why:-see dockerd.log}"
	fi
	tu_log "dockerd ready on $DOCKER_SOCK (pid $pid)"
}

tu_docker_image() {
	local name=$1 root=$TU_TMP/rootfs
	[ -x /bin/busybox ] || tu_skip "no /bin/busybox for the test image (busybox-static)"
	mkdir -p "$root/bin"
	cp /bin/busybox "$root/bin/"
	ln -sf busybox "$root/bin/sleep"
	ln -sf busybox "$root/bin/sh"
	tar -C "$root" -c . | tu_docker import - "$name" >/dev/null ||
		tu_fail "docker import of $name failed"
}

tu_docker_run() {
	local name=$1
	shift
	TU_DOCKER_CONTAINERS+=("$name")
	tu_docker run -d --network none --name "$name" "$@" >/dev/null ||
		tu_fail "docker run $name failed"
}

# Pids of processes whose command line names $DOCKER_DIR (containerd, shims).
# Read with builtins only, so that no helper process of ours matches itself.
tu_docker_leftovers() {
	local p args
	for p in /proc/[0-9]*; do
		mapfile -d '' -t args <"$p/cmdline" 2>/dev/null || continue
		[[ " ${args[*]} " == *"$DOCKER_DIR/"* ]] && echo "${p#/proc/}"
	done
}

tu_docker_cleanup() {
	[ -n "$DOCKER_DIR" ] || return 0
	set +e
	if tu_docker_ready; then
		local ids
		# Every container of this private daemon was made by this test.
		ids=$(tu_docker ps -aq 2>/dev/null)
		[ -z "$ids" ] || tu_docker rm -f $ids >/dev/null 2>&1
	fi
	local pid n
	pid=$(cat "$DOCKER_DIR/docker.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); done
		kill -KILL "$pid" 2>/dev/null
	fi
	for pid in $(tu_docker_leftovers); do
		tu_log "killing leftover pid $pid of the test's dockerd"
		kill -KILL "$pid" 2>/dev/null
	done
	# Mounts dockerd may have left under its roots (netns, shm) would keep rm -rf from working.
	local m
	for m in $(awk -v d="$DOCKER_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	DOCKER_DIR=
}
