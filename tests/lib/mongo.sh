# tests/lib/mongo.sh - the mongo-wire fixture (tests/fixtures/mongo-wire) for
# integration tests. Source after harness.sh; needs TU_SRC.
#
#   mongo_start [SEED]        starts the fixture on a free port, seeded from SEED
#                             (relaxed extended JSON {db: {coll: [docs]}}); sets
#                             MONGO_PORT, MONGO_URI and MONGO_LOG (one JSON line per
#                             command the fixture received); waits MONGO_START_SECS
#                             (default 10) for it to load the seed; MONGO_ARGS: more
#                             arguments for server.py (--latency-ms 50)
#   mongo_cmd DB JSON         one command (relaxed extended JSON) through the fixture's
#                             client; prints the reply; fails if ok != 1
#   mongo_docs DB COLL        the collection's documents, one relaxed JSON line each
#   mongo_fault DB JSON       {"trueupFault": CMD, "action": ..., ...}: see server.py
#   mongo_log_count JQ        number of lines of MONGO_LOG that the jq filter selects

MONGO_FIXTURE=${TU_SRC:?TU_SRC must name the source directory}/tests/fixtures/mongo-wire
MONGO_PY=/usr/bin/python3

mongo_start() {
	local seed=${1:-} try args=()
	"$MONGO_PY" -c 'import bson' 2>/dev/null ||
		tu_fail "python3-pymongo (its bson module) not installed (ops/install-deps.sh)"
	[ -n "$seed" ] && args=(--seed "$seed")
	MONGO_LOG=$TU_TMP/mongo-commands.jsonl
	for try in 1 2 3; do
		MONGO_PORT=$(tu_free_port)
		tu_bg mongo "$MONGO_PY" "$MONGO_FIXTURE/server.py" --port "$MONGO_PORT" \
			--log "$MONGO_LOG" "${args[@]}" ${MONGO_ARGS:-}
		if tu_wait_port "$MONGO_PORT" $((${MONGO_START_SECS:-10} * 10)); then
			MONGO_URI="mongodb://127.0.0.1:$MONGO_PORT"
			export MONGO_PORT MONGO_URI MONGO_LOG
			return 0
		fi
		tu_stop mongo KILL
	done
	tu_fail "the mongo-wire fixture did not start"
}

mongo_cmd() { "$MONGO_PY" "$MONGO_FIXTURE/client.py" "$MONGO_PORT" "$1" "$2"; }

mongo_docs() {
	mongo_cmd "$1" '{"trueupDump": 1}' | jq -c --arg db "$1" --arg c "$2" '.store[$db][$c][]?'
}

mongo_fault() { mongo_cmd "$1" "$2" >/dev/null || tu_fail "cannot set fault $2"; }

mongo_log_count() { jq -c "select($1)" "$MONGO_LOG" | wc -l; }
