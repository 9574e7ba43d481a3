#!/usr/bin/env bash
# tests/bench/fold.sh [EVENTS] - fold rate vs the JetStream ceiling (see
# fold_bench.c and BENCHMARKS.md). Starts its own nats-server.
. "$(dirname "$0")/../lib/harness.sh"
: "${TU_BUILD:?}"
EVENTS=${1:-${TU_BENCH_EVENTS:-300000}}
BATCH=${TU_BENCH_BATCH:-1024}
tu_setup
tu_start_nats
cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL" }
log: { level: warn }
processor: { view: $TU_TMP/view, tick: 0, batch: $BATCH, max_ack_pending: $((BATCH * 8)) }
sources:
  - { name: a, type: files, path: $TU_TMP }
  - { name: b, type: files, path: $TU_TMP }
targets:
  - { name: redis, type: redis }
rules:
  - name: presence-ab
    type: presence
    kind: worker
    sources: [a, b]
    authority: a
    mode: enforce
    when_missing:
      b: [ { target: redis, action: hset, key: "w:{name}", fields: { status: "{a.status}" } } ]
    when_extra:
      b: [ { target: redis, action: del, key: "w:{name}" } ]
  - name: worker-counter
    type: counter
    counter: { kind: counter, name: workers, source: b }
    of: { kind: worker, source: a, suffix: "-([0-9]+)$" }
    mode: enforce
    fix: [ { target: redis, action: set, key: "w:next", value: "{desired}", expect: "{current}" } ]
YAML
"$TU_BUILD/trueup" -c "$TU_TMP/trueup.yaml" streams apply >/dev/null || tu_fail "streams apply"
"$TU_BUILD/tests/eventgen" --url "$NATS_URL" --events "$EVENTS" --entities 50000 --drift-pct 1 || tu_fail eventgen
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); nats-server $(nats-server --version | awk '{print $2}')"
"$TU_BUILD/tests/fold_bench" --config "$TU_TMP/trueup.yaml" --events "$EVENTS" --batch "$BATCH" --rounds "${TU_BENCH_ROUNDS:-5}"
