# tests/scenarios/kubedb-drift/providers.sh - the three provider APIs of the kubedb-drift
# scenario (provider.py), for run.sh and the yardstick benchmark (tests/bench/yardstick.sh).
# Source after harness.sh, with MONGO_PORT set (mongo.sh).
#
#   provider_start NAME      provider.py for NAME on a free port, with its own token
#                            ($TU_TMP/NAME.token holds "Bearer <token>"); sets URL_<NAME with _>
#   api NAME METHOD WHAT [JSON]   NAME's fixture control API (/_fixture/WHAT)
#   requests NAME            NAME's request log, one JSON line per request, with
#                            "key": "ns/name" of the database it names

KUBEDB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

provider_start() {
	local name=$1 var="URL_${1//-/_}" token="tok-$1-$RANDOM$RANDOM" try port
	printf 'Bearer %s\n' "$token" >"$TU_TMP/$name.token"
	for try in 1 2 3; do
		port=$(tu_free_port)
		tu_bg "api-$name" /usr/bin/python3 "$KUBEDB_DIR/provider.py" --port "$port" \
			--token "$token" --provider "$name" --mongo-port "$MONGO_PORT"
		if tu_wait_port "$port" 100; then
			printf -v "$var" 'http://127.0.0.1:%s' "$port"
			return 0
		fi
		tu_stop "api-$name" KILL
	done
	tu_fail "$name: the provider API did not start"
}

api() {
	local var="URL_${1//-/_}"
	curl -sS --fail -X "$2" ${4:+-H 'Content-Type: application/json' --data "$4"} \
		"${!var}/_fixture/$3"
}

requests() {
	api "$1" GET requests | jq -c '.[] | . + {key: (.path | capture("^/v1/databases/(?<ns>[^/]+)/(?<n>[^/?]+)")
		| "\(.ns)/\(.n)")}'
}
