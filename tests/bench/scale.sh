#!/usr/bin/env bash
# tests/bench/scale.sh [N] - a full reconcile at scale (BENCHMARKS.md, "Full reconcile at
# scale"): N entities in each of three sources, 1 % drifted; from the trigger of the scans
# (the producer's start) to the last fix command in TRUEUP_CMD, and the processor's peak
# resident set.
#
#   desired  the kube-apiserver fixture: N Worker custom resources, paginated list
#            (TU_BENCH_DESIRED=files: a directory of manifests instead)
#   actual   a real redis-server (N hashes) and the mongo-wire fixture (N documents)
#            (TU_BENCH_ACTUAL: a comma-separated subset, e.g. "redis")
#   rules    a presence rule over all three (the desired source is the authority; when
#            missing or extra in an actual source: one command there) and a spec rule per
#            actual source (replicas differ: one command); every drift gets exactly one
#            command, N/100 in all (tests/bench/scale_gen.py)
#
# Each round starts from nothing: a new nats-server, the streams, the processor on an
# empty view; then the producer starts and scans every source once (its start scan;
# interval 1h). The round ends when TRUEUP_CMD holds the N/100 commands and nothing more
# comes for 3 s; the time is that of the last command's JetStream timestamp minus the
# wall clock just before the producer started. Checked each round: every scan complete
# and of the expected size, the commands per target and action exactly as generated.
# Side by side, the raw read rate of each source (tests/bench/producers_raw).
#
#   TU_BUILD=$PWD/build TU_SRC=$PWD tests/bench/scale.sh 100000
#   TU_BENCH_SHORT=1: N = 3000, one round (the bench-short form, ~20 s)
#   TU_BENCH_ROUNDS (default 3); TU_BENCH_DESIRED=files TU_BENCH_ACTUAL=redis for 1M
HERE=$(cd "$(dirname "$0")" && pwd)
TU_SRC=${TU_SRC:-$(cd "$HERE/../.." && pwd)}
. "$HERE/../lib/harness.sh"
. "$HERE/../lib/kube.sh"
. "$HERE/../lib/mongo.sh"
. "$HERE/scale_lib.sh"
: "${TU_BUILD:?TU_BUILD must point at the build directory}"

N=${1:-${TU_BENCH_N:-100000}}
ROUNDS=${TU_BENCH_ROUNDS:-3}
if bench_short; then
	N=${1:-3000}
	ROUNDS=1
fi
DESIRED=${TU_BENCH_DESIRED:-kube}
ACTUAL=${TU_BENCH_ACTUAL:-redis,mongo}
PY=/usr/bin/python3
has() { case ",$ACTUAL," in *",$1,"*) return 0 ;; esac; return 1; }

tu_setup
T=$SECONDS
"$PY" "$HERE/scale_gen.py" "$TU_TMP/data" "$N" --desired "$DESIRED" --actual "$ACTUAL" ||
	tu_fail "scale_gen.py"
EXP=$TU_TMP/data/expected.json
WANT=$(jq .commands "$EXP")
if has redis; then
	tu_start_redis
	bench_seed_redis "$TU_TMP/data/redis.resp"
fi
[ "$DESIRED" = kube ] && bench_kube_seed "$TU_TMP/data/kube-seed.json"
has mongo && MONGO_START_SECS=900 mongo_start "$TU_TMP/data/mongo-seed.json"
tu_log "data: $N entities per source, $WANT drifted ($((SECONDS - T)) s)"

# ---- the config -------------------------------------------------------------------------
if [ "$DESIRED" = kube ]; then
	DES=kube
	DES_SOURCE="  - name: kube
    type: kubernetes
    server: \"$KUBE_URL\"
    ca_file: \"$KUBE_CA\"
    token_file: \"$TU_TMP/kube.token\"
    interval: 1h
    timeout: 30s
    page_size: 2000                    # 50 pages for 100k: within the default rate's burst
    observe:
      - kind: worker
        group: bench.example.com
        version: v1
        plural: workers
        name: \"{.metadata.name}\"
        attrs: { pool: \"{.spec.pool}\", image: \"{.spec.image}\", replicas: \"{.spec.replicas}\",
                 zone: \"{.spec.zone}\" }"
else
	DES=declared
	DES_SOURCE="  - { name: declared, type: files, path: \"$TU_TMP/data/declared\", interval: 1h }"
fi
SOURCES=$DES
FIX_MISSING="" FIX_EXTRA="" SPEC_RULES="" TARGETS=""
if has redis; then
	SOURCES="$SOURCES, redis"
	TARGETS="$TARGETS
  - { name: redis, type: redis, url: \"$REDIS_URL\" }"
	FIX_MISSING="$FIX_MISSING
      redis: [ { target: redis, action: hset, key: \"w:{name}\",
                 fields: { pool: \"{$DES.pool}\", image: \"{$DES.image}\",
                           replicas: \"{$DES.replicas}\", zone: \"{$DES.zone}\" } } ]"
	FIX_EXTRA="$FIX_EXTRA
      redis: [ { target: redis, action: del, key: \"w:{name}\" } ]"
	SPEC_RULES="$SPEC_RULES
  - name: workers-spec-redis
    type: spec
    kind: worker
    desired: $DES
    actual: redis
    mode: enforce
    fields: [ { attr: replicas, compare: int }, { attr: image }, { attr: pool }, { attr: zone } ]
    fix: [ { target: redis, action: hset, key: \"w:{name}\", fields: { replicas: \"{$DES.replicas}\" } } ]"
fi
if has mongo; then
	SOURCES="$SOURCES, mongo"
	TARGETS="$TARGETS
  - { name: mongo, type: mongodb, uri: \"$MONGO_URI\" }"
	FIX_MISSING="$FIX_MISSING
      mongo: [ { target: mongo, action: insert-one, database: bench, collection: workers,
                 document: '{{\"_id\": \"{name|json}\", \"name\": \"{name|json}\", \"pool\": \"{$DES.pool|json}\", \"image\": \"{$DES.image|json}\", \"replicas\": \"{$DES.replicas|json}\", \"zone\": \"{$DES.zone|json}\"}}' } ]"
	FIX_EXTRA="$FIX_EXTRA
      mongo: [ { target: mongo, action: delete-one, database: bench, collection: workers,
                 filter: '{{\"name\": \"{name|json}\"}}' } ]"
	SPEC_RULES="$SPEC_RULES
  - name: workers-spec-mongo
    type: spec
    kind: worker
    desired: $DES
    actual: mongo
    mode: enforce
    fields: [ { attr: replicas, compare: int }, { attr: image }, { attr: pool }, { attr: zone } ]
    fix: [ { target: mongo, action: update-one, database: bench, collection: workers,
             filter: '{{\"name\": \"{name|json}\"}}',
             update: '{{\"\$set\": {{\"replicas\": \"{$DES.replicas|json}\"}}}}' } ]"
fi
MAP_SIZE=$(((N / 100000 + 1) * 1024))MiB

# render_config ROUND: the config of a round (its own view directory, this round's nats).
render_config() {
	cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL" }
log: { level: info }
http: { processor: "127.0.0.1:0", producer: "127.0.0.1:0" }
processor: { view: "$TU_TMP/view-$1", map_size: $MAP_SIZE }
sources:
$DES_SOURCE
$(has redis && echo "  - { name: redis, type: redis, url: \"$REDIS_URL\", interval: 1h,
      observe: [ { kind: worker, scan: \"w:*\", read: hash, name: \"{key|afterlast::}\" } ] }")
$(has mongo && echo "  - name: mongo
    type: mongodb
    uri: \"$MONGO_URI\"
    interval: 1h
    timeout: 30s
    batch_size: 2000
    observe:
      - { kind: worker, database: bench, collection: workers, name: \"{.name}\",
          attrs: { pool: \"{.pool}\", image: \"{.image}\", replicas: \"{.replicas}\", zone: \"{.zone}\" } }")
targets:$TARGETS
rules:
  - name: workers-present
    type: presence
    kind: worker
    sources: [ $SOURCES ]
    authority: $DES
    mode: enforce
    budget: { max: 0 }                 # 1 % of 100k deletions: more than the default 50/10m
    when_missing:$FIX_MISSING
    when_extra:$FIX_EXTRA
$SPEC_RULES
YAML
}

# ---- the raw read rate of each source, side by side ----------------------------------------
RAW=$TU_BUILD/tests/producers_raw
raw_rate() {
	local j
	case $1 in
	redis) j=$("$RAW" redis --url "$REDIS_URL" --match 'w:*' --count 500 --pipeline 256) ;;
	kube) j=$("$RAW" kube --server "$KUBE_URL" --ca "$KUBE_CA" --token-file "$TU_TMP/kube.token" \
		--path /apis/bench.example.com/v1/workers --limit 2000) ;;
	mongo) j=$("$RAW" mongo --uri "$MONGO_URI" --db bench --coll workers --batch 2000) ;;
	*) echo "-"; return ;;
	esac
	echo "$j" | jq -r '"\(.entities / .seconds | round)/s (\(.seconds * 1000 | round) ms)"'
}

echo "machine: $(bench_machine)"
echo "N = $N per source ($DES + $ACTUAL), $WANT drifted (1 %), $ROUNDS rounds"
declare -A RAWR
for s in $DES ${ACTUAL//,/ }; do
	RAWR[$s]=$(raw_rate "$s") || tu_fail "producers_raw $s"
done

# ---- rounds -------------------------------------------------------------------------------------
TIMES=() PHWM=() QHWM=()
declare -A SCAN_MS
for ((r = 1; r <= ROUNDS; r++)); do
	rm -rf "$TU_TMP/nats" "$TU_TMP/view-$((r - 1))"
	tu_start_nats
	render_config "$r"
	export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
	"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "trueup streams apply"
	: >"$TU_TMP/processor.log"
	tu_bg processor "$TU_BUILD/trueup-processor" --config "$TRUEUP_CONFIG" --instance p1
	tu_wait_for 30 "the processor to start folding" grep -q "folding TRUEUP_EVENTS" "$TU_TMP/processor.log"
	PROC=$(tu_pid processor)

	# CPU time of every process taking part, from here to the last command.
	declare -A CPU0
	for c in nats redis kubeapi mongo; do
		pid=$(tu_pid "$c")
		[ -n "$pid" ] && CPU0[$c]=$(bench_cpu_ms "$pid")
	done
	T0=$(date +%s%N)
	tu_bg producer "$TU_BUILD/trueup-producer" --config "$TRUEUP_CONFIG"
	PROD=$(tu_pid producer)
	# Until every command is there (and nothing more comes for 3 s); a processor that died
	# (see RELIABILITY.md: nats.c 3.4.1's fetch overrun) fails the round at once.
	deadline=$((SECONDS + 900))
	until probe=$("$TU_BUILD/tests/scale_probe" --url "$NATS_URL" --stream TRUEUP_CMD \
		--want "$WANT" --timeout 5 --quiet 3000); do
		kill -0 "$PROC" 2>/dev/null ||
			tu_fail "round $r: the processor died: $(grep -v '^{' "$TU_TMP/processor.log" | tail -n 3)"
		[ $SECONDS -lt $deadline ] ||
			tu_fail "round $r: TRUEUP_CMD holds $(echo "$probe" | jq .msgs) commands, want $WANT"
	done
	LAST=$(echo "$probe" | jq .last_ns)
	[ "$(echo "$probe" | jq .msgs)" = "$WANT" ] ||
		tu_fail "round $r: TRUEUP_CMD holds $(echo "$probe" | jq .msgs) commands, want exactly $WANT"
	HWM=$(bench_hwm "$PROC") ANON=$(bench_rss "$PROC" RssAnon) FILE=$(bench_rss "$PROC" RssFile)
	cpu="processor $(bench_cpu_ms "$PROC"), producer $(bench_cpu_ms "$PROD")"
	for c in nats redis kubeapi mongo; do
		pid=$(tu_pid "$c")
		[ -n "$pid" ] && cpu="$cpu, $c $(($(bench_cpu_ms "$pid") - ${CPU0[$c]:-0}))"
	done
	PHWM_PROD=$(bench_hwm "$PROD")

	# Every scan complete and of the expected size; the commands as generated.
	for s in $DES ${ACTUAL//,/ }; do
		line=$(bench_scan_wait "$s" 1 60)
		[ "$(bench_scan_seen "$line")" = "$(jq --arg s "$s" '.entities[$s]' "$EXP")" ] ||
			tu_fail "round $r: source $s saw $(bench_scan_seen "$line"), want $(jq --arg s "$s" '.entities[$s]' "$EXP")"
		SCAN_MS[$s]=$(bench_scan_ms "$line")
	done
	"$TU_BUILD/trueup" streams dump TRUEUP_CMD -o json |
		jq -s -c 'map(.subject | sub("^trueup\\.cmd\\."; "")) | group_by(.)
			| map({key: .[0], value: length}) | from_entries' >"$TU_TMP/by.json"
	jq -e --slurpfile got "$TU_TMP/by.json" '.by == $got[0]' "$EXP" >/dev/null ||
		tu_fail "round $r: commands by target.action $(cat "$TU_TMP/by.json"), want $(jq -c .by "$EXP")"
	EVENTS=$("$TU_BUILD/tests/scale_probe" --url "$NATS_URL" --stream TRUEUP_EVENTS | jq .msgs)
	MS=$(((LAST - T0) / 1000000))
	TIMES+=("$MS")
	PHWM+=("$HWM")
	QHWM+=("$PHWM_PROD")
	scans=""
	for s in $DES ${ACTUAL//,/ }; do scans="$scans $s ${SCAN_MS[$s]} ms,"; done
	echo "round $r: trigger -> last of $WANT commands: $MS ms; scans:${scans%,}; $EVENTS events; processor peak RSS $HWM MiB (now anon $ANON + file $FILE MiB); producer peak RSS $PHWM_PROD MiB; CPU ms: $cpu"
	tu_stop producer
	tu_stop processor
	tu_stop nats
done
echo "--- $N entities per source, $WANT drifted: median of $ROUNDS rounds ---"
echo "trigger -> last command: $(bench_median "${TIMES[@]}") ms (goal <= 10000 ms at 100k)"
echo "processor peak RSS: $(bench_max "${PHWM[@]}") MiB (goal <= 150 MiB at 100k); producer peak RSS: $(bench_max "${QHWM[@]}") MiB"
for s in $DES ${ACTUAL//,/ }; do echo "raw read of $s alone: ${RAWR[$s]}"; done
