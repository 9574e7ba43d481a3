#!/usr/bin/env bash
# A consumer in another language (issue 6 item 6): the Node.js example in
# ops/examples/node-consumer, with the npm packages `nats` and `protobufjs` and
# nothing of trueup but schemas/trueup/v1/*.proto, must read from TRUEUP_DRIFT
# exactly the drift events that `trueup drift -o json` shows for the
# ghost-worker case: same ids, states, rules, entities, correlation ids.
#
# Its dependencies are installed with `npm ci` from the committed
# package-lock.json into $TU_BUILD/node-consumer (never into the source tree)
# and reused while the lock file is unchanged. No node/npm, or a registry that
# cannot be reached: SKIP (exit 77), never a silent pass.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/ghost.sh"
: "${TU_BUILD:?}" "${TU_SRC:?}"

skip() {
	echo "SKIP: $*"
	exit 77
}

example=$TU_SRC/ops/examples/node-consumer
deps=$TU_BUILD/node-consumer

command -v node >/dev/null || skip "node is not installed (Debian packages nodejs and npm)"
command -v npm >/dev/null || skip "npm is not installed (Debian package npm)"
node -e 'process.exit(require("util").parseArgs ? 0 : 1)' ||
	skip "node $(node --version) is too old (needs util.parseArgs: node >= 18)"

# npm ci into the build dir, unless the installed tree matches the lock file.
install_deps() {
	if [ -d "$deps/node_modules" ] && cmp -s "$example/package-lock.json" "$deps/package-lock.json" &&
		cmp -s "$example/package.json" "$deps/package.json"; then
		return 0
	fi
	rm -rf "$deps"
	mkdir -p "$deps"
	cp "$example/package.json" "$example/package-lock.json" "$deps/"
	if (cd "$deps" && npm ci --no-audit --no-fund --loglevel=error) >"$deps/npm-ci.log" 2>&1; then
		return 0
	fi
	local log
	log=$(tail -n 30 "$deps/npm-ci.log")
	rm -rf "$deps/node_modules" "$deps/package-lock.json" # never reuse a half install
	if echo "$log" | grep -Eq 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up|getaddrinfo'; then
		skip "npm ci cannot reach the npm registry: $(echo "$log" | grep -Em1 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up|getaddrinfo')"
	fi
	echo "$log" >&2
	echo "FAIL: npm ci failed (not a network error; log above)" >&2
	exit 1
}
install_deps
[ -d "$deps/node_modules/nats" ] && [ -d "$deps/node_modules/protobufjs" ] ||
	{ echo "FAIL: npm ci did not install nats and protobufjs" >&2; exit 1; }

# The consumer runs from the source tree (it finds ../../../schemas itself);
# its require()s find the packages through NODE_PATH.
consumer() {
	NODE_PATH=$deps/node_modules node "$example/drift-consumer.js" --server "$NATS_URL" "$@"
}

ghost_start enforce
fixed() {
	[ "$(tu_redis EXISTS autoscaler:workers:k3s-worker-3)" = 0 ] &&
		[ "$(tu_redis GET autoscaler:workers:next_number)" = 3 ] &&
		[ "$(ghost_status | jq '.drift | length')" -eq 0 ] &&
		[ "$(ghost_status | jq .drift_resolved)" -ge 2 ]
}
tu_wait_for 60 "worker-3 removed, counter 3, both drifts resolved" fixed
ghost_quiesce # every drift event is published; nothing more will come

"$TU_BUILD/trueup" drift -o json >"$TU_TMP/trueup.jsonl" || tu_fail "trueup drift -o json"
n=$(jq -s length "$TU_TMP/trueup.jsonl")
[ "$n" -ge 6 ] || tu_fail "expected at least 6 drift events (2 drifts opened, updated, resolved), got $n"
tu_log "trueup drift shows $n events"

# What both must agree on, one TSV line per event, in stream order.
fields='[.seq, .msg_id, .correlation_id, .message.event_id, .message.correlation_id,
	.message.state, .message.rule, .message.rule_type, .message.entity.kind,
	.message.entity.namespace, .message.entity.name, (.message.revision|tostring),
	(.message.opened_seq|tostring), (.message.command_ids|join(",")), .message.reason] | @tsv'
jq -r "$fields" "$TU_TMP/trueup.jsonl" >"$TU_TMP/want.tsv"

# 1. Ordered consumer from the start, JSON lines, exit after n events.
consumer --json --count "$n" --timeout 60 >"$TU_TMP/node.jsonl" 2>"$TU_TMP/node.err" ||
	tu_fail "node consumer (ordered) failed: $(cat "$TU_TMP/node.err")"
jq -r "$fields" "$TU_TMP/node.jsonl" >"$TU_TMP/got.tsv" || tu_fail "node consumer printed no JSON: $(head -3 "$TU_TMP/node.jsonl")"
if ! cmp -s "$TU_TMP/want.tsv" "$TU_TMP/got.tsv"; then
	diff "$TU_TMP/want.tsv" "$TU_TMP/got.tsv" >&2
	tu_fail "the node consumer decoded other drift events than trueup drift shows"
fi
for r in ghost-worker worker-counter; do
	states=$(jq -r --arg r "$r" 'select(.message.rule == $r) | .message.state' "$TU_TMP/node.jsonl" | paste -sd,)
	case $states in
	STATE_OPENED,*STATE_UPDATED*,STATE_RESOLVED) ;;
	*) tu_fail "node consumer: $r went $states" ;;
	esac
done
[ ! -s "$TU_TMP/node.err" ] || tu_fail "node consumer warned: $(cat "$TU_TMP/node.err")"
tu_log "ordered consumer: $n events, same as trueup drift"

# 2. The text line: one per event, state, rule, entity, correlation id, reason.
consumer --count "$n" --timeout 60 >"$TU_TMP/node.txt" 2>"$TU_TMP/node.err" ||
	tu_fail "node consumer (text) failed: $(cat "$TU_TMP/node.err")"
[ "$(wc -l <"$TU_TMP/node.txt")" -eq "$n" ] || tu_fail "expected $n lines, got: $(cat "$TU_TMP/node.txt")"
jq -r '"D\(.seq) \(.message.state | sub("^STATE_"; "") | ascii_downcase) \(.message.rule) \(.message.entity.kind)/\(.message.entity.namespace)/\(.message.entity.name) corr=\(.message.correlation_id): \(.message.reason)"' \
	"$TU_TMP/trueup.jsonl" >"$TU_TMP/want.txt"
# drop the time column (the node line has it at millisecond precision) and the padding
sed -E 's/^(D[0-9]+) [^ ]+ ([a-z]+) +/\1 \2 /' "$TU_TMP/node.txt" >"$TU_TMP/got.txt"
if ! cmp -s "$TU_TMP/want.txt" "$TU_TMP/got.txt"; then
	diff "$TU_TMP/want.txt" "$TU_TMP/got.txt" >&2
	tu_fail "the node consumer's text lines differ"
fi

# 3. A filter: one rule's drift only.
consumer --json --filter 'trueup.drift.ghost-worker.>' --count 1 --timeout 30 >"$TU_TMP/one.jsonl" 2>"$TU_TMP/node.err" ||
	tu_fail "node consumer --filter failed: $(cat "$TU_TMP/node.err")"
[ "$(jq -r .message.rule "$TU_TMP/one.jsonl")" = ghost-worker ] || tu_fail "--filter read $(cat "$TU_TMP/one.jsonl")"

# 4. A durable consumer: reads everything once, acks it; a second run has nothing new.
consumer --json --durable node-example --count "$n" --timeout 60 >"$TU_TMP/durable.jsonl" 2>"$TU_TMP/node.err" ||
	tu_fail "node consumer (durable) failed: $(cat "$TU_TMP/node.err")"
jq -r "$fields" "$TU_TMP/durable.jsonl" | cmp -s "$TU_TMP/want.tsv" - ||
	tu_fail "the durable consumer read other events: $(cat "$TU_TMP/durable.jsonl")"
rc=0
consumer --json --durable node-example --count 1 --timeout 3 >"$TU_TMP/again.jsonl" 2>"$TU_TMP/node.err" || rc=$?
[ "$rc" -eq 2 ] && [ ! -s "$TU_TMP/again.jsonl" ] ||
	tu_fail "a second durable run should time out with nothing (exit 2), got exit $rc: $(cat "$TU_TMP/again.jsonl" "$TU_TMP/node.err")"

# 5. Errors are reported, not swallowed.
rc=0
consumer --count 1 --proto-dir "$TU_TMP/nowhere" >/dev/null 2>"$TU_TMP/node.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'schemas' "$TU_TMP/node.err" || tu_fail "missing schemas: exit $rc, $(cat "$TU_TMP/node.err")"
rc=0
consumer --count nope >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || tu_fail "bad --count: exit $rc, want 64"

# 6. Least privilege: restart nats-server on the same store with users, and read the drift
# as a user holding only the permissions docs/operations.md lists for a drift subscriber.
# It must get the same events (ordered and durable), and must not be able to publish a command.
tu_stop nats
cat >"$TU_TMP/nats-auth.conf" <<CONF
listen: 127.0.0.1:$NATS_PORT
jetstream { store_dir: "$TU_TMP/nats" }
authorization {
  users = [
    { user: admin, password: admin-pw }
    { user: drift, password: drift-pw, permissions: {
        publish: { allow: [
          "\$JS.API.STREAM.INFO.TRUEUP_DRIFT",
          "\$JS.API.CONSUMER.CREATE.TRUEUP_DRIFT.>",
          "\$JS.API.CONSUMER.INFO.TRUEUP_DRIFT.>",
          "\$JS.API.CONSUMER.DELETE.TRUEUP_DRIFT.>",
          "\$JS.API.CONSUMER.MSG.NEXT.TRUEUP_DRIFT.>",
          "\$JS.ACK.TRUEUP_DRIFT.>" ] }
        subscribe: { allow: [ "_INBOX.>" ] } } }
  ]
}
CONF
tu_bg nats-auth nats-server -c "$TU_TMP/nats-auth.conf"
tu_wait_port "$NATS_PORT" 100 || tu_fail "nats-server with users did not start"
printf 'drift-pw\n' >"$TU_TMP/drift.pass"
tu_wait_for 30 "JetStream back with TRUEUP_DRIFT" \
	consumer --user drift --password-file "$TU_TMP/drift.pass" --count 1 --timeout 5
consumer --user drift --password-file "$TU_TMP/drift.pass" --json --count "$n" --timeout 60 \
	>"$TU_TMP/limited.jsonl" 2>"$TU_TMP/node.err" || tu_fail "drift subscriber user (ordered): $(cat "$TU_TMP/node.err")"
jq -r "$fields" "$TU_TMP/limited.jsonl" | cmp -s "$TU_TMP/want.tsv" - ||
	tu_fail "the drift subscriber user read other events: $(cat "$TU_TMP/limited.jsonl")"
consumer --user drift --password-file "$TU_TMP/drift.pass" --json --durable limited --count "$n" --timeout 60 \
	>"$TU_TMP/limited-durable.jsonl" 2>"$TU_TMP/node.err" || tu_fail "drift subscriber user (durable): $(cat "$TU_TMP/node.err")"
jq -r "$fields" "$TU_TMP/limited-durable.jsonl" | cmp -s "$TU_TMP/want.tsv" - ||
	tu_fail "the drift subscriber user's durable consumer read other events"
# A command published with these credentials is refused, and none lands in TRUEUP_CMD.
NODE_PATH=$deps/node_modules node -e '
const { connect } = require("nats");
(async () => {
  const url = process.argv[1];
  const nc = await connect({ servers: url, user: "drift", pass: "drift-pw" });
  let denied = false;
  try { await nc.jetstream().publish("trueup.cmd.redis.del", new Uint8Array([1]), { timeout: 3000 }); }
  catch (e) { denied = true; }
  await nc.close();
  const admin = await connect({ servers: url, user: "admin", pass: "admin-pw" });
  const si = await (await admin.jetstreamManager()).streams.info("TRUEUP_CMD");
  await admin.close();
  console.log(JSON.stringify({ denied, cmds: si.state.messages }));
})().catch((e) => { console.error(e.message); process.exit(1); });
' "$NATS_URL" >"$TU_TMP/publish.json" 2>"$TU_TMP/node.err" || tu_fail "publish check: $(cat "$TU_TMP/node.err")"
jq -e '.denied == true and .cmds == 2' "$TU_TMP/publish.json" >/dev/null ||
	tu_fail "a drift subscriber could publish a command: $(cat "$TU_TMP/publish.json")"
tu_log "drift subscriber permissions of docs/operations.md: enough to read, not to command"
tu_log "PASS"
