# tests/lib/http_api.sh - start the HTTP API fixture (tests/fixtures/http-api/server.py)
# on a free loopback port. Source after harness.sh, after tu_setup.
#
#   http_api_start [server args...]   sets API_PORT, API_URL, API_TOKEN, API_TOKEN_FILE
#                                     (the file holds "Bearer <token>", as auth_file wants)
#   api_ctl METHOD PATH [JSON]        the fixture's control API (/_fixture/...), prints the reply
#   api_fault JSON                    adds a fault, e.g. '{"path":"/v2/apps","kind":"429","count":2}'
#   api_requests [JQ-FILTER]          the recorded API requests (a JSON array), filtered

HTTP_API_SERVER=${TU_SRC:?TU_SRC must name the source directory}/tests/fixtures/http-api/server.py

http_api_start() {
	local try
	API_TOKEN="dop_v1_fixture$RANDOM$RANDOM"
	API_TOKEN_FILE=$TU_TMP/api.token
	printf 'Bearer %s\n' "$API_TOKEN" >"$API_TOKEN_FILE"
	for try in 1 2 3; do
		API_PORT=$(tu_free_port)
		tu_bg http_api /usr/bin/python3 "$HTTP_API_SERVER" --port "$API_PORT" \
			--token "$API_TOKEN" "$@"
		if tu_wait_port "$API_PORT" 100; then
			API_URL="http://127.0.0.1:$API_PORT"
			export API_PORT API_URL API_TOKEN API_TOKEN_FILE
			return 0
		fi
		tu_stop http_api KILL
	done
	tu_fail "the HTTP API fixture did not start"
}

api_ctl() {
	local method=$1 path=$2
	if [ $# -ge 3 ]; then
		curl -sS -X "$method" -H 'Content-Type: application/json' --data "$3" \
			"$API_URL/_fixture/$path"
	else
		curl -sS -X "$method" "$API_URL/_fixture/$path"
	fi
}

api_fault() { api_ctl POST faults "$1" >/dev/null || tu_fail "cannot add fault $1"; }

api_requests() { api_ctl GET requests | jq -c "${1:-.}"; }
