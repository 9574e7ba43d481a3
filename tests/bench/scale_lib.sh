# tests/bench/scale_lib.sh - what the scale, yardstick and producer benchmarks share.
# Source after harness.sh and tu_setup.
#
#   bench_machine               one line: cores, memory, kernel, nats-server, date
#   bench_median N...           the median of numbers (the lower middle of an even count)
#   bench_max N...              the largest
#   bench_seed_redis FILE       loads RESP commands into $REDIS_PORT (redis-cli --pipe)
#   bench_kube_seed FILE        certificates, a token ($TU_TMP/kube.token) and the kube
#                               fixture loaded with FILE
#   bench_hwm PID               peak resident set of PID in MiB (VmHWM), or "?"
#   bench_rss PID FIELD         VmRSS, RssAnon or RssFile of PID in MiB
#   bench_cpu_ms PID            user + system CPU time PID used so far, in ms
#   bench_scan_wait SRC N SECS  waits until the producer (producer.log) logged N finished
#                               scans of source SRC; prints the last of those lines
#   bench_scan_ms LINE          the scan time ("in N ms") of such a line
#   bench_scan_seen LINE        its "seen N"
#   bench_short                 true when TU_BENCH_SHORT=1 (the CI form)

bench_short() { [ "${TU_BENCH_SHORT:-0}" = 1 ]; }

bench_machine() {
	printf '%s cores, %s, kernel %s, nats-server %s, redis %s, %s\n' "$(nproc)" \
		"$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)" "$(uname -r)" \
		"$(nats-server --version 2>/dev/null | awk '{print $2}')" \
		"$(redis-server --version 2>/dev/null | sed -n 's/.*v=\([^ ]*\).*/\1/p')" \
		"$(date -u +%Y-%m-%d)"
}

bench_median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
bench_max() { printf '%s\n' "$@" | sort -g | tail -n 1; }

bench_seed_redis() {
	local out
	out=$(redis-cli -p "$REDIS_PORT" --pipe <"$1" 2>&1) || tu_fail "redis-cli --pipe: $out"
	echo "$out" | grep -q 'errors: 0' || tu_fail "redis-cli --pipe: $out"
}

bench_kube_seed() {
	kube_certs
	printf 'bench-token-%s\n' "$RANDOM$RANDOM" >"$TU_TMP/kube.token"
	KUBE_START_SECS=${KUBE_START_SECS:-600} kube_start "$1" "$(cat "$TU_TMP/kube.token")"
}

bench_hwm() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024; f = 1} END {if (!f) print "?"}' "/proc/$1/status" 2>/dev/null || echo "?"; }
bench_rss() { awk -v f="$2:" '$1 == f {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null; }

bench_cpu_ms() {
	local hz
	hz=$(getconf CLK_TCK)
	# Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the ")" of comm.
	sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{printf "%.0f", ($12 + $13) * 1000 / hz}'
}

bench_scan_wait() {
	local src=$1 n=$2 secs=$3 end=$((SECONDS + $3)) got
	while [ $SECONDS -lt $end ]; do
		grep -q "source $src: scan .* incomplete: seen" "$TU_TMP/producer.log" &&
			tu_fail "source $src: a scan was incomplete: $(grep "source $src: scan .* incomplete" "$TU_TMP/producer.log" | tail -n 1)"
		got=$(grep -c "source $src: scan .*) complete: seen" "$TU_TMP/producer.log")
		if [ "$got" -ge "$n" ]; then
			grep "source $src: scan .*) complete: seen" "$TU_TMP/producer.log" | sed -n "${n}p"
			return 0
		fi
		sleep 0.05
	done
	tu_fail "source $src: scan $n did not finish within ${secs}s"
}
bench_scan_ms() { echo "$1" | sed -n 's/.* in \([0-9]*\) ms.*/\1/p'; }
bench_scan_seen() { echo "$1" | sed -n 's/.*complete: seen \([0-9]*\),.*/\1/p'; }
