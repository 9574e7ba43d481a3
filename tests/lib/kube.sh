# tests/lib/kube.sh - the Kubernetes API fixture (tests/fixtures/kube-apiserver)
# for integration tests. Source it after harness.sh, after tu_setup.
#
#   kube_certs                 a CA ($TU_TMP/kube/ca.pem), a server certificate for
#                              127.0.0.1 signed by it, and an unrelated CA
#                              ($TU_TMP/kube/other-ca.pem)
#   kube_start SEED TOKEN...   starts the fixture (tu_bg kubeapi) on a free port;
#                              sets KUBE_PORT, KUBE_URL (https://127.0.0.1:PORT), KUBE_CA;
#                              waits KUBE_START_SECS (default 10) for it to load the seed;
#                              KUBE_ARGS: more arguments for apiserver.py (--latency-ms 50)
#   kube_ctl METHOD WHAT [JSON]  calls https://.../_control/WHAT, prints the reply
#   kube_store                 the whole store as JSON ({objects: [...]})
#   kube_object PLURAL-KIND NS NAME   one object from the store ("null" if gone)
#   kube_requests              the requests the fixture served (JSON array)

KUBE_FIXTURE=${TU_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/fixtures/kube-apiserver
KUBE_PY=/usr/bin/python3

kube_certs() {
	local d=$TU_TMP/kube
	mkdir -p "$d"
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=trueup-test-ca" \
		-keyout "$d/ca.key" -out "$d/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
		tu_fail "openssl: cannot make the test CA"
	openssl req "${ec[@]}" -subj "/CN=kube-apiserver" -keyout "$d/server.key" \
		-out "$d/server.csr" 2>/dev/null || tu_fail "openssl: cannot make the server key"
	printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -out "$d/server.pem" -extfile "$d/server.ext" 2>/dev/null ||
		tu_fail "openssl: cannot sign the server certificate"
	openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=some-other-ca" \
		-keyout "$d/other-ca.key" -out "$d/other-ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" 2>/dev/null ||
		tu_fail "openssl: cannot make the second CA"
	KUBE_CA=$d/ca.pem
	export KUBE_CA
}

kube_start() {
	local seed=$1
	shift
	local args=() t
	for t in "$@"; do args+=(--token "$t"); done
	rm -f "$TU_TMP/kube/port"
	tu_bg kubeapi "$KUBE_PY" "$KUBE_FIXTURE/apiserver.py" --cert "$TU_TMP/kube/server.pem" \
		--key "$TU_TMP/kube/server.key" --seed "$seed" --port 0 \
		--port-file "$TU_TMP/kube/port" "${args[@]}" ${KUBE_ARGS:-}
	local i
	for ((i = 0; i < ${KUBE_START_SECS:-10} * 10; i++)); do
		[ -s "$TU_TMP/kube/port" ] && break
		sleep 0.1
	done
	[ -s "$TU_TMP/kube/port" ] || tu_fail "the kube-apiserver fixture did not start"
	KUBE_PORT=$(cat "$TU_TMP/kube/port")
	KUBE_URL="https://127.0.0.1:$KUBE_PORT"
	export KUBE_PORT KUBE_URL
	tu_wait_port "$KUBE_PORT" 50 || tu_fail "the kube-apiserver fixture does not accept connections"
}

kube_ctl() {
	local method=$1 what=$2 data=${3:-}
	if [ -n "$data" ]; then
		curl -sS --fail --cacert "$KUBE_CA" -X "$method" -H 'Content-Type: application/json' \
			--data "$data" "$KUBE_URL/_control/$what"
	else
		curl -sS --fail --cacert "$KUBE_CA" -X "$method" "$KUBE_URL/_control/$what"
	fi
}

kube_store() { kube_ctl GET store; }

kube_object() {
	kube_store | jq -c --arg k "$1" --arg ns "$2" --arg n "$3" \
		'[.objects[] | select(.kind == $k and (.metadata.namespace // "") == $ns
		  and .metadata.name == $n)][0]'
}

kube_requests() { kube_ctl GET requests | jq -c '.requests'; }
