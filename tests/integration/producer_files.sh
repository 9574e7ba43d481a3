#!/usr/bin/env bash
# producer_files.sh - trueup-producer with a files source against a real
# nats-server: YAML and JSON manifests in TRUEUP_EVENTS, the kinds filter,
# a delta after edits (a removed manifest yields a deleted observation), a
# malformed manifest (scan incomplete, nothing deleted, the file and line
# named), a duplicate manifest, the full scan after an incomplete one, and
# SIGINT.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/producer_lib.sh"

tu_setup
tu_start_nats

M=$TU_TMP/declared
mkdir -p "$M"
cat >"$TU_TMP/trueup.yaml" <<EOF
nats: { url: "$NATS_URL" }
log: { level: info, format: text }
sources:
  - name: declared
    type: files
    path: ./declared        # relative to this file
    kinds: [worker, database]
    namespace: lab
    interval: 1h
    full_every: 10
EOF
pl_streams_apply

cat >"$M/10-workers.yaml" <<'EOF'
- kind: worker
  name: k3s-worker-1
  attrs: { pool: gpu, image: "trueup-test:1" }
- kind: worker
  name: k3s-worker-2
- kind: service
  name: ignored-by-the-kinds-filter
EOF
cat >"$M/20-databases.json" <<'EOF'
{ "items": [
  { "kind": "database", "name": "orders", "namespace": "shop",
    "attrs": { "storage": "10Gi", "replicas": 3, "cpu": 0.5, "backup": true } }
] }
EOF
cat >"$M/30-single.yml" <<'EOF'
kind: worker
name: k3s-worker-3
EOF
echo "not: a manifest" >"$M/notes.txt"

# --- 1. one full scan --------------------------------------------------------
"$PRODUCER" --config "$TU_TMP/trueup.yaml" --once 2>"$TU_TMP/once.log" ||
	{ cat "$TU_TMP/once.log" >&2; tu_fail "--once did not exit 0"; }
pl_scan declared
pl_expect_framed
pl_expect "a complete full scan of every wanted manifest, in file name order" '
	.[-1].msg.full and .[-1].msg.complete and .[-1].msg.seen == 4 and .[-1].msg.published == 4
	and .[0].msg.kinds == ["database", "worker"]
	and [.[1:-1][] | .msg.entity.name]
	    == ["k3s-worker-1", "k3s-worker-2", "orders", "k3s-worker-3"]'
pl_expect "YAML attrs sorted, namespace from the source default" '
	.[1] | .subject == "trueup.obs.declared.worker" and .msg.entity.namespace == "lab"
	and .msg.attrs == [{key: "image", value: "trueup-test:1"}, {key: "pool", value: "gpu"}]'
pl_expect "JSON scalars become text; a namespace given wins" '
	.[3] | .subject == "trueup.obs.declared.database" and .msg.entity.namespace == "shop"
	and .msg.attrs == [{key: "backup", value: "true"}, {key: "cpu", value: "0.5"},
			   {key: "replicas", value: "3"}, {key: "storage", value: "10Gi"}]'

# --- 2. running: edits become a delta ----------------------------------------
tu_bg producer "$PRODUCER" --config "$TU_TMP/trueup.yaml"
pl_wait_ends declared 2
cat >"$M/10-workers.yaml" <<'EOF'
- kind: worker
  name: k3s-worker-1
  attrs: { pool: cpu, image: "trueup-test:1" }
- kind: worker
  name: k3s-worker-2
EOF
rm "$M/30-single.yml"
pl_request declared >/dev/null
pl_wait_ends declared 3
pl_scan declared
pl_expect_framed
pl_expect "a delta: the edited manifest, and the removed one as deleted" '
	(.[-1].msg.full | not) and .[-1].msg.complete and .[-1].msg.seen == 3
	and .[-1].msg.published == 2 and .[-1].msg.deleted == 1
	and .[1].msg.entity.name == "k3s-worker-1" and .[1].msg.attrs[1].value == "cpu"
	and .[2].msg.entity.name == "k3s-worker-3" and .[2].msg.deleted'

# --- 3. a malformed manifest: incomplete, nothing deleted -----------------------
cat >"$M/40-broken.yaml" <<'EOF'
- kind: worker
  name: k3s-worker-4
- kind: worker
  attrs: { pool: gpu }
EOF
cat >"$M/50-dup.json" <<'EOF'
[ { "kind": "worker", "name": "k3s-worker-2" } ]
EOF
rm "$M/20-databases.json"
pl_request declared >/dev/null
pl_wait_ends declared 4
pl_scan declared
pl_expect_framed
pl_expect "skipped manifests make the scan incomplete and infer no deletion" '
	(.[-1].msg.complete | not) and .[-1].msg.skipped == 2 and .[-1].msg.deleted == 0
	and .[-1].msg.published == 1 and .[1].msg.entity.name == "k3s-worker-4"
	and (.[-1].msg.error | test("40-broken.yaml:3: \\[1\\]: name: missing"))'
grep -q "50-dup.json: \[0\]: worker/lab/k3s-worker-2 is declared twice: first in 10-workers.yaml:4" \
	"$TU_TMP/producer.log" || tu_fail "no warning naming both files of a duplicate"

# --- 4. fixed: the scan after an incomplete one is full --------------------------
rm "$M/40-broken.yaml" "$M/50-dup.json"
pl_request declared >/dev/null
pl_wait_ends declared 5
pl_scan declared
pl_expect "after an incomplete scan, a complete full snapshot without deletions" '
	.[-1].msg.full and .[-1].msg.complete and .[-1].msg.published == 2
	and .[-1].msg.deleted == 0'

# --- 5. SIGINT: exit 0 -----------------------------------------------------------
pid=$(tu_pid producer)
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || tu_fail "producer exited $rc after SIGINT"

# --- 6. usage and config errors exit 2 with the config's error line ---------------
"$PRODUCER" --bogus >/dev/null 2>&1
[ $? -eq 2 ] || tu_fail "an unknown option did not exit 2"
"$PRODUCER" --config "$TU_TMP/trueup.yaml" --source nope --once 2>"$TU_TMP/err.log"
[ $? -eq 2 ] && grep -q "no source named 'nope'" "$TU_TMP/err.log" || tu_fail "unknown --source"
printf 'sources:\n  - name: x\n    type: files\n    intervall: 1s\n' >"$TU_TMP/bad.yaml"
"$PRODUCER" --config "$TU_TMP/bad.yaml" 2>"$TU_TMP/err.log"
[ $? -eq 2 ] && grep -q "bad.yaml:4:" "$TU_TMP/err.log" ||
	{ cat "$TU_TMP/err.log" >&2; tu_fail "a config error did not exit 2 with its line"; }

# --- 7. an empty directory is a complete, empty source -----------------------------
mkdir -p "$TU_TMP/empty"
printf 'nats: { url: "%s" }\nsources:\n  - { name: empty, type: files, path: ./empty }\n' \
	"$NATS_URL" >"$TU_TMP/empty.yaml"
"$PRODUCER" --config "$TU_TMP/empty.yaml" --once 2>"$TU_TMP/empty.log" ||
	{ cat "$TU_TMP/empty.log" >&2; tu_fail "--once on an empty directory did not exit 0"; }
pl_scan empty
pl_expect "an empty directory: a complete full scan of nothing" '
	length == 2 and .[-1].msg.complete and .[-1].msg.full and .[-1].msg.seen == 0'

tu_log "producer_files: all checks passed"
