#!/usr/bin/env bash
# tests/bench/producers.sh [N] - entities/s of each source adapter against a raw client
# doing only the same reads (producers_raw), in the same run, on the same data (see
# BENCHMARKS.md, "Producers"):
#
#   redis   N hashes in a real redis-server: SCAN + pipelined HGETALL
#   kube    N custom resources in the kube-apiserver fixture: paginated list (limit 500)
#   mongo   N documents in the mongo-wire fixture: find + getMore (batchSize 500)
#   docker  TU_BENCH_DOCKER_N containers (default 200) of a private dockerd: one list
#           (skipped, and said so, where dockerd cannot run)
#
# One trueup-producer serves all four (interval 1h: it scans only when asked). Per round
# and source: the raw read, then a full scan (every entity published and acknowledged by
# JetStream), then a delta scan (nothing changed: read, digest, publish nothing); the
# producer's time is its own, from BEGIN to END ("in N ms" of its log line), its CPU is
# read from /proc. Ratio = producer entities/s / raw entities/s, median of the rounds.
#
#   TU_BUILD=$PWD/build TU_SRC=$PWD tests/bench/producers.sh 100000
#   TU_BENCH_SHORT=1: N = 2000, 20 containers, 1 round (the bench-short form, ~15 s)
#   TU_BENCH_ROUNDS (default 5), TU_BENCH_SOURCES (default "redis kube mongo docker")
HERE=$(cd "$(dirname "$0")" && pwd)
TU_SRC=${TU_SRC:-$(cd "$HERE/../.." && pwd)}
. "$HERE/../lib/harness.sh"
. "$HERE/../lib/kube.sh"
. "$HERE/../lib/mongo.sh"
. "$HERE/../lib/docker.sh"
. "$HERE/scale_lib.sh"
: "${TU_BUILD:?TU_BUILD must point at the build directory}"

N=${1:-${TU_BENCH_N:-100000}}
ROUNDS=${TU_BENCH_ROUNDS:-5}
DOCKER_N=${TU_BENCH_DOCKER_N:-200}
if bench_short; then
	N=${1:-2000}
	ROUNDS=1
	DOCKER_N=20
fi
SOURCES=${TU_BENCH_SOURCES:-redis kube mongo docker}
PY=/usr/bin/python3

tu_setup
tu_start_nats
tu_start_redis
"$PY" "$HERE/scale_gen.py" "$TU_TMP/data" "$N" --desired kube --actual redis,mongo ||
	tu_fail "scale_gen.py"
T=$SECONDS
bench_seed_redis "$TU_TMP/data/redis.resp"
bench_kube_seed "$TU_TMP/data/kube-seed.json"
MONGO_START_SECS=600 mongo_start "$TU_TMP/data/mongo-seed.json"
tu_log "data: $N entities in redis, the kube fixture and the mongo fixture ($((SECONDS - T)) s)"

# dockerd, if it can run here; the docker case is skipped (and reported) if not.
DOCKER_OK=0
docker_up() {
	local why=""
	command -v dockerd >/dev/null || why="dockerd is not installed"
	[ "$(id -u)" = 0 ] || why="dockerd needs root"
	[ -x /bin/busybox ] || why="no /bin/busybox for the image"
	if [ -n "$why" ]; then
		DOCKER_WHY=$why
		return 1
	fi
	# tu_start_dockerd reports a daemon that does not come up through tu_skip: here that
	# skips only the docker case.
	tu_skip() { DOCKER_WHY="$*"; }
	DOCKER_WHY=
	tu_start_dockerd
	[ -z "$DOCKER_WHY" ]
}
case " $SOURCES " in *" docker "*)
	if docker_up; then
		T=$SECONDS
		tu_docker_image trueup-bench:1
		seq -f 'bench-%04g' 1 "$DOCKER_N" | xargs -P 4 -I{} \
			"$TU_DOCKER_CLI" -H "unix://$DOCKER_SOCK" create --network none --name {} \
			trueup-bench:1 sleep 1d >/dev/null || tu_fail "docker create"
		DOCKER_OK=1
		tu_log "docker: $DOCKER_N containers created ($((SECONDS - T)) s)"
	else
		tu_log "SKIP docker: $DOCKER_WHY"
	fi
	;;
esac

CFG=$TU_TMP/trueup.yaml
cat >"$CFG" <<YAML
nats: { url: "$NATS_URL" }
log: { level: info }
http: { producer: "127.0.0.1:0" }
streams:
  events: { max_bytes: 512MiB }      # nothing consumes the events here: keep the disk bounded
sources:
  - name: redis
    type: redis
    url: "$REDIS_URL"
    interval: 1h
    full_every: 1000000
    scan_count: 500
    pipeline: 256
    observe:
      - { kind: worker, scan: "w:*", read: hash, name: "{key|afterlast::}" }
  - name: kube
    type: kubernetes
    server: "$KUBE_URL"
    ca_file: "$KUBE_CA"
    token_file: "$TU_TMP/kube.token"
    interval: 1h
    full_every: 1000000
    timeout: 30s
    page_size: 500
    rate: 0                          # the raw client is not rate-limited either
    observe:
      - kind: worker
        group: bench.example.com
        version: v1
        plural: workers
        name: "{.metadata.name}"
        attrs: { pool: "{.spec.pool}", image: "{.spec.image}", replicas: "{.spec.replicas}",
                 zone: "{.spec.zone}" }
  - name: mongo
    type: mongodb
    uri: "$MONGO_URI"
    interval: 1h
    full_every: 1000000
    timeout: 30s
    batch_size: 500
    observe:
      - kind: worker
        database: bench
        collection: workers
        name: "{.name}"
        attrs: { pool: "{.pool}", image: "{.image}", replicas: "{.replicas}", zone: "{.zone}" }
YAML
if [ "$DOCKER_OK" = 1 ]; then
	cat >>"$CFG" <<YAML
  - name: docker
    type: docker
    socket: "$DOCKER_SOCK"
    interval: 1h
    full_every: 1000000
    timeout: 30s
    rate: 0
    filters: { name_prefixes: [bench-] }
    observe:
      - { kind: container, name: "{.Names[0]|trimprefix:/}",
          attrs: { id: "{.Id}", image: "{.Image}", state: "{.State}" } }
YAML
fi
export TRUEUP_CONFIG=$CFG
"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "trueup streams apply"
tu_bg producer "$TU_BUILD/trueup-producer" --config "$CFG"
PRODUCER=$(tu_pid producer)

RAW=$TU_BUILD/tests/producers_raw
raw() {
	case $1 in
	redis) "$RAW" redis --url "$REDIS_URL" --match 'w:*' --count 500 --pipeline 256 ;;
	kube) "$RAW" kube --server "$KUBE_URL" --ca "$KUBE_CA" --token-file "$TU_TMP/kube.token" \
		--path /apis/bench.example.com/v1/workers --limit 500 ;;
	mongo) "$RAW" mongo --uri "$MONGO_URI" --db bench --coll workers --batch 500 ;;
	docker) "$RAW" docker --socket "$DOCKER_SOCK" \
		--path '/v1.41/containers/json?all=1&filters=%7B%22name%22%3A%5B%22%5E%2F%3Fbench-%22%5D%7D' ;;
	esac
}
# The entities source $1 holds (scale_gen.py: about N; 1 % drifted in or out).
want_of() {
	if [ "$1" = docker ]; then echo "$DOCKER_N"; else jq --arg s "$1" '.entities[$s]' "$TU_TMP/data/expected.json"; fi
}

declare -A SCANS
# scan SRC full|delta: asks for such a scan of SRC and waits for it; sets SCAN_MS, SCAN_SEEN
# and SCAN_CPU (the producer's CPU time meanwhile, ms). Not in a subshell: it counts scans.
scan() {
	local src=$1 body='{}' line cpu0
	[ "$2" = full ] && body='{"full": true}'
	SCANS[$src]=$((${SCANS[$src]:-1} + 1))
	cpu0=$(bench_cpu_ms "$PRODUCER")
	"$TU_BUILD/tests/nats_request" --url "$NATS_URL" --subject "trueup.ctl.scan.$src" \
		--data "$body" >/dev/null || tu_fail "scan request to $src"
	line=$(bench_scan_wait "$src" "${SCANS[$src]}" 600) || exit 1
	SCAN_CPU=$(($(bench_cpu_ms "$PRODUCER") - cpu0))
	case "$line" in *"($2, trigger request)"*) ;; *) tu_fail "$src: wanted a $2 scan: $line" ;; esac
	SCAN_MS=$(bench_scan_ms "$line")
	SCAN_SEEN=$(bench_scan_seen "$line")
}

echo "machine: $(bench_machine)"
echo "N = $N entities per source (docker: $DOCKER_N containers), $ROUNDS rounds"
declare -A RF RD
# Every source's start scan (full) first, so that rounds run alone.
for src in redis kube mongo docker; do
	[ "$src" = docker ] && [ "$DOCKER_OK" != 1 ] && continue
	bench_scan_wait "$src" 1 600 >/dev/null
done
for src in $SOURCES; do
	[ "$src" = docker ] && [ "$DOCKER_OK" != 1 ] && continue
	want=$(want_of "$src")
	for ((r = 1; r <= ROUNDS; r++)); do
		rj=$(raw "$src") || tu_fail "producers_raw $src"
		rn=$(echo "$rj" | jq .entities)
		[ "$rn" = "$want" ] || tu_fail "$src: the raw client read $rn entities, want $want"
		rs=$(echo "$rj" | jq .seconds)
		rcpu=$(echo "$rj" | jq '.cpu_seconds * 1000 | round')
		scan "$src" full
		fms=$SCAN_MS fseen=$SCAN_SEEN fcpu=$SCAN_CPU
		scan "$src" delta
		dms=$SCAN_MS dseen=$SCAN_SEEN dcpu=$SCAN_CPU
		[ "$fseen" = "$want" ] && [ "$dseen" = "$want" ] ||
			tu_fail "$src: the producer saw $fseen (full), $dseen (delta) entities, want $want"
		raw_rate=$(awk -v n="$rn" -v s="$rs" 'BEGIN {printf "%.0f", n / s}')
		f_rate=$(awk -v n="$fseen" -v ms="$fms" 'BEGIN {printf "%.0f", n * 1000 / (ms > 0 ? ms : 0.5)}')
		d_rate=$(awk -v n="$dseen" -v ms="$dms" 'BEGIN {printf "%.0f", n * 1000 / (ms > 0 ? ms : 0.5)}')
		rf=$(awk -v a="$f_rate" -v b="$raw_rate" 'BEGIN {printf "%.2f", a / b}')
		rd=$(awk -v a="$d_rate" -v b="$raw_rate" 'BEGIN {printf "%.2f", a / b}')
		RF[$src]="${RF[$src]:-} $rf"
		RD[$src]="${RD[$src]:-} $rd"
		printf '%-6s round %d: raw %s/s (%.0f ms, CPU %s ms = %.1f us/entity, %s requests); producer full %s/s (%s ms, CPU %s ms = %.1f us/entity) ratio %s; delta %s/s (%s ms, CPU %s ms = %.1f us/entity) ratio %s\n' \
			"$src" "$r" "$raw_rate" "$(awk -v s="$rs" 'BEGIN {print s * 1000}')" \
			"$rcpu" "$(awk -v c="$rcpu" -v n="$rn" 'BEGIN {print c * 1000 / n}')" \
			"$(echo "$rj" | jq .requests)" "$f_rate" "$fms" "$fcpu" \
			"$(awk -v c="$fcpu" -v n="$fseen" 'BEGIN {print c * 1000 / n}')" "$rf" \
			"$d_rate" "$dms" "$dcpu" "$(awk -v c="$dcpu" -v n="$dseen" 'BEGIN {print c * 1000 / n}')" "$rd"
	done
done
echo "--- medians of $ROUNDS rounds (producer entities/s / raw client entities/s) ---"
POOR=""
for src in $SOURCES; do
	[ -n "${RF[$src]:-}" ] || continue
	f=$(bench_median ${RF[$src]})
	d=$(bench_median ${RD[$src]})
	printf '%-6s full scan %s   delta scan %s\n' "$src" "$f" "$d"
	awk -v f="$f" 'BEGIN {exit !(f < 0.5)}' && POOR="$POOR $src"
done
case " $SOURCES " in
*" docker "*) [ "$DOCKER_OK" = 1 ] || echo "docker skipped: $DOCKER_WHY" ;;
esac
[ -z "$POOR" ] || echo "ratio under 0.5 (full scan):$POOR"
echo "producer peak RSS: $(bench_hwm "$PRODUCER") MiB"
tu_stop producer
