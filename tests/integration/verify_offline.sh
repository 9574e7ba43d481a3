#!/usr/bin/env bash
# `trueup verify --offline`: the whole config is loaded and validated by the real loader and
# listed (sources, targets, rules with their types), and nothing is contacted: no NATS, no
# source or target, no credential file, no view directory. A config the loader refuses exits 2
# with file:line:col. The example policies rely on it (integration.ops_files). About 1 s.
. "$(dirname "$0")/../lib/harness.sh"
: "${TU_BUILD:?}"
tu_setup
V="$TU_BUILD/trueup"
port=$(tu_free_port) || tu_fail "no free port"

# Everything it names is missing or unreachable: NATS and Redis on a port nothing listens
# on, a password file and a token file that do not exist, a view directory not yet created.
cat >"$TU_TMP/ok.yaml" <<EOF
nats: { url: "nats://127.0.0.1:$port", creds: secrets/nats.creds, connect_timeout: 2s }
processor: { view: view }
sources:
  - name: redis
    type: redis
    url: redis://127.0.0.1:$port
    password_file: secrets/redis.pass
    interval: 90s
    observe: [ { kind: worker, scan: "w:*", name: "{key|afterlast::}" } ]
  - name: kube
    type: kubernetes
    server: https://127.0.0.1:$port
    token_file: secrets/kube.token
    interval: 2m
    observe: [ { kind: pod, resource: pods, name: "{.metadata.name}" } ]
targets:
  - { name: redis, type: redis, url: "redis://127.0.0.1:$port" }
rules:
  - name: ghost
    type: presence
    kind: worker
    sources: [redis, kube]
    for: 5m
    mode: dry-run
    when_extra:
      redis: [ { target: redis, action: del, key: "w:{name}" } ]
  - { name: zombies, type: pod-status, kind: pod, source: kube, mode: detect }
EOF

start=$(date +%s%N)
out=$("$V" verify --offline --config "$TU_TMP/ok.yaml") || tu_fail "a valid config failed offline: $out"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 1500 ] || tu_fail "offline verify took $ms ms: did it try to connect?"
for want in '^ok   config .*valid, 2 sources, 1 targets, 2 rules$' \
	'^ok   source redis  *redis, every 90s$' '^ok   source kube  *kubernetes, every 2m$' \
	'^ok   target redis  *redis$' '^ok   rule ghost  *presence, mode dry-run, for 5m$' \
	'^ok   rule zombies  *pod-status, mode detect, for 0$' \
	'^ok: 0 of 6 checks failed \(offline: nothing contacted\)$'; do
	echo "$out" | grep -Eq "$want" || tu_fail "no line /$want/ in: $out"
done
[ ! -e "$TU_TMP/view" ] || tu_fail "offline verify created the view directory"

json=$("$V" -o json verify --offline --config "$TU_TMP/ok.yaml") || tu_fail "json: $json"
echo "$json" | jq -e '[.[] | select(.check | startswith("rule ")) | [.check, .detail]] ==
	[["rule ghost", "presence, mode dry-run, for 5m"], ["rule zombies", "pod-status, mode detect, for 0"]]
	and all(.[]; .ok)' >/dev/null || tu_fail "json output: $json"

# Without --offline the same file fails: NATS, Redis and the API server are not there.
rc=0
"$V" verify --config "$TU_TMP/ok.yaml" >"$TU_TMP/online.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || tu_fail "online verify exited $rc: $(cat "$TU_TMP/online.out")"
grep -q '^FAIL nats' "$TU_TMP/online.out" || tu_fail "online verify did not try NATS"

# A config the loader refuses: exit 2, the file, line, column and field on stderr, nothing listed.
sed 's/kind: worker, scan/kind: worker, scna/' "$TU_TMP/ok.yaml" >"$TU_TMP/bad.yaml"
rc=0
"$V" verify --offline --config "$TU_TMP/bad.yaml" >"$TU_TMP/bad.out" 2>"$TU_TMP/bad.err" || rc=$?
[ "$rc" -eq 2 ] || tu_fail "a broken config exited $rc"
grep -q "bad.yaml:9:[0-9]*: sources\[0\].observe\[0\]: unknown field \"scna\"" "$TU_TMP/bad.err" ||
	tu_fail "error not located: $(cat "$TU_TMP/bad.err")"
[ ! -s "$TU_TMP/bad.out" ] || tu_fail "a broken config listed something: $(cat "$TU_TMP/bad.out")"
rc=0
"$V" verify --offline --config "$TU_TMP/missing.yaml" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || tu_fail "a missing config exited $rc"
tu_log "PASS"
