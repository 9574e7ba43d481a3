#!/usr/bin/env bash
# security.sh - issue 5 item 6: trueup under ops/nats/nats-server.conf (TLS only, one
# least-privilege user per component, bcrypt password hashes from
# ops/nats/make-passwords.sh) and under Redis ACL users limited to their key prefixes.
#
# 1. The ghost-worker case runs end to end, every component as its own NATS user with its
#    password in a file, over TLS verified against a private CA and the server's name (the
#    URL's host, 127.0.0.1, an IP SAN); the processor also rebuilds its view from the stream
#    (re-creating its durable) and serves trigger and status; operators and a drift reader
#    read what they may; a service heartbeats as `heartbeat`. A ghost worker whose name is
#    hostile to a shell and to subjects is removed like the others and runs nothing; a
#    heartbeat's hostile instance name is escaped into one token; a source name that is no
#    token is refused by `trueup trigger` and POST /reconciliation/trigger. Not one
#    permission violation in the server's log, not one ACL denial in Redis; a plain-text
#    client is told TLS is required.
# 2. What must be refused is: a producer cannot publish a command (trueup.cmd.>), an
#    outcome (trueup.out.>) or another source's observations, nor read TRUEUP_CMD; an
#    actuator cannot publish observations; a drift reader, an operator and a heartbeat
#    cannot publish commands, a heartbeat no observations; a client
#    with another CA, with a wrong tls.hostname, without the CA, with a wrong password, or
#    facing a certificate for another name (default name check) cannot connect.
# 3. The Redis actuator, as an ACL user limited to ~autoscaler:* ~trueup:done:*, executes
#    a command inside its prefixes and gets a failed-permanent outcome carrying NOPERM
#    (not a crash) for a key outside them.
# 4. Processor HA with ops/nats's processor user: two processors on one partition (lease
#    in KV trueup_leases, the standby on its own durable), a takeover on SIGTERM; no
#    permission violation.
# 5. No password appears anywhere under the test directory but in its own file: logs,
#    outputs, the nats-server configuration (hashes only), the JetStream store, the view.
. "$(dirname "$0")/../lib/harness.sh"
: "${TU_BUILD:?}" "${TU_SRC:?}"
for c in jq openssl redis-cli; do
	command -v "$c" >/dev/null || tu_fail "$c not installed (ops/install-deps.sh)"
done
CMD=$TU_BUILD/tests/actuator_cmd

tu_setup
S=$TU_TMP
mkdir -p "$S/tls" "$S/nats-etc" "$S/secrets"

# ---- certificates: a CA, a server certificate for localhost and 127.0.0.1, another CA,
# and a certificate of the right CA for another name only. P-256 keys: quicker than RSA.
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ossl() { openssl "$@" >>"$S/openssl.log" 2>&1 || tu_fail "openssl $1 failed (openssl.log)"; }
ossl req -x509 "${newkey[@]}" -days 2 -subj "/CN=trueup test CA" \
	-keyout "$S/tls/ca-key.pem" -out "$S/tls/ca.pem"
ossl req -x509 "${newkey[@]}" -days 2 -subj "/CN=another CA" \
	-keyout "$S/tls/other-ca-key.pem" -out "$S/tls/other-ca.pem"
# server_cert NAME SAN: NAME.pem and NAME-key.pem signed by the test CA
server_cert() {
	ossl req "${newkey[@]}" -subj "/CN=$1" -keyout "$S/tls/$1-key.pem" -out "$S/tls/$1.csr"
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$2" >"$S/tls/$1.ext"
	ossl x509 -req -days 2 -in "$S/tls/$1.csr" -CA "$S/tls/ca.pem" -CAkey "$S/tls/ca-key.pem" \
		-CAcreateserial -extfile "$S/tls/$1.ext" -out "$S/tls/$1.pem"
}
server_cert server "DNS:localhost,IP:127.0.0.1"
server_cert elsewhere "DNS:nats.elsewhere.example"

# ---- nats-server from ops/nats, with the test's paths and port.
BCRYPT_COST=6 "$TU_SRC/ops/nats/make-passwords.sh" "$S/nats-etc" >/dev/null ||
	tu_fail "ops/nats/make-passwords.sh failed"
mkdir -p "$S/nats-etc/tls"
cp "$S/tls/server.pem" "$S/tls/server-key.pem" "$S/tls/ca.pem" "$S/nats-etc/tls/"
for try in 1 2 3; do
	NATS_PORT=$(tu_free_port)
	sed -e "s|/etc/nats/trueup/|$S/nats-etc/|g" -e "s|/var/lib/nats|$S/js|" \
		-e "s|^listen: .*|listen: 127.0.0.1:$NATS_PORT|" \
		"$TU_SRC/ops/nats/nats-server.conf" >"$S/nats-etc/nats-server.conf"
	tu_bg nats nats-server -c "$S/nats-etc/nats-server.conf"
	tu_wait_port "$NATS_PORT" 100 && break
	tu_stop nats KILL
	[ "$try" -lt 3 ] || tu_fail "nats-server with ops/nats/nats-server.conf did not start"
done
NATS_URL=nats://127.0.0.1:$NATS_PORT
grep -q 'TLS required for client connections' "$S/nats.log" || tu_fail "nats-server does not require TLS"
# what a plain-text client is told before anything else
info=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && head -c 2000 <&3' _ "$NATS_PORT" | head -n 1 || true)
case $info in *'"tls_required":true'*) ;; *) tu_fail "the server's INFO does not require TLS: $info" ;; esac
grep -Fq '$2' "$S/nats-etc/passwords.conf" || tu_fail "passwords.conf holds no bcrypt hashes"

# ---- redis-server with ACL users (hashed passwords in an ACL file); `default` is the
# test's own administrator.
random_pass() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
random_pass >"$S/secrets/redis-rw.pass"
random_pass >"$S/secrets/redis-ro.pass"
sha() { tr -d '\n' <"$1" | sha256sum | cut -d' ' -f1; }
cat >"$S/users.acl" <<ACL
user default on nopass ~* &* +@all
user trueup-rw on #$(sha "$S/secrets/redis-rw.pass") resetkeys ~autoscaler:* ~trueup:done:* resetchannels -@all +evalsha +script|load +get +set +type +del +hget +hset +hdel +hexists +sismember +sadd +srem +ping
user trueup-ro on #$(sha "$S/secrets/redis-ro.pass") resetkeys %R~autoscaler:* resetchannels -@all +scan +type +get +hgetall +smembers +pttl +ping
ACL
tu_start_redis --aclfile "$S/users.acl"

# ---- the ghost-worker configuration, one copy per NATS user.
HTTP_PORT=$(tu_free_port)
"$TU_SRC/ops/examples/ghost-worker/render.sh" "$S" "$NATS_URL" "$REDIS_URL" enforce "127.0.0.1:$HTTP_PORT"
"$TU_SRC/ops/examples/ghost-worker/seed-redis.sh" "$REDIS_PORT"
# A ghost worker whose name is hostile to a shell, a subject and JSON: the pipeline must
# remove it like any other (a Lua KEYS argument, never text), and nothing may run it.
HOSTILE='k3s-worker-9 $(touch '"$S"'/pwned);`touch '"$S"'/pwned` .>* "x"}'"'"
HOSTILE_KEY="autoscaler:workers:$HOSTILE"
tu_redis HSET "$HOSTILE_KEY" status initializing ip 10.0.0.19 >/dev/null
# the redis source reads as trueup-ro, the redis target writes as trueup-rw
awk -v ro="redis://trueup-ro@127.0.0.1:$REDIS_PORT" -v rw="redis://trueup-rw@127.0.0.1:$REDIS_PORT" \
	-v dir="$S/secrets" '
	/^    url: "redis:/ { n++; u = n == 1 ? ro : rw; f = n == 1 ? "redis-ro" : "redis-rw"
		print "    url: \"" u "\""; print "    password_file: " dir "/" f ".pass"; next }
	{ print }' "$S/trueup.yaml" >"$S/base.yaml"
[ "$(grep -c 'password_file' "$S/base.yaml")" -eq 2 ] || tu_fail "could not give the redis source and target their users"
# role_config USER [TLS-MAPPING [URL]]: $S/USER.yaml, nats as USER with the password file
role_config() {
	local user=$1 tls=${2:-"{ ca: $S/tls/ca.pem }"} url=${3:-$NATS_URL} out=$S/$1.yaml
	[ $# -ge 4 ] && out=$4
	awk -v url="$url" -v user="$user" -v pass="$S/nats-etc/$user.pass" -v tls="$tls" '
		/^  url: "nats:/ { print "  url: \"" url "\""; print "  user: " user
			print "  password_file: " pass; print "  tls: " tls; print "  max_reconnect: 0"
			print "  connect_timeout: 2s"; next }
		{ print }' "$S/base.yaml" >"$out"
}
for u in processor producer-declared producer-redis actuator-redis heartbeat operator admin drift-reader; do
	role_config "$u"
	# for publishes that must be refused: nats.c waits request_timeout for the ack
	sed 's/^  max_reconnect: 0$/&\n  request_timeout: 500ms/' "$S/$u.yaml" >"$S/$u-neg.yaml"
done
as() { local u=$1; shift; "$TU_BUILD/trueup" --config "$S/$u.yaml" "$@"; }
status() { as operator status -o json; }

# ---- 1. the pipeline, each component as its own user
as admin streams apply >"$S/streams-apply.out" 2>&1 || tu_fail "streams apply as admin: $(cat "$S/streams-apply.out")"
tu_bg processor "$TU_BUILD/trueup-processor" --config "$S/processor.yaml" --instance p1
tu_bg actuator "$TU_BUILD/trueup-actuator" --config "$S/actuator-redis.yaml" --target redis --instance a1
tu_bg producer-declared "$TU_BUILD/trueup-producer" --config "$S/producer-declared.yaml" --source declared
tu_bg producer-redis "$TU_BUILD/trueup-producer" --config "$S/producer-redis.yaml" --source redis
fixed() {
	local s
	s=$(status) || return 1
	[ "$(tu_redis EXISTS autoscaler:workers:k3s-worker-3)" = 0 ] &&
		[ "$(tu_redis EXISTS "$HOSTILE_KEY")" = 0 ] &&
		[ "$(tu_redis GET autoscaler:workers:next_number)" = 3 ] &&
		[ "$(echo "$s" | jq '.drift | length')" -eq 0 ] &&
		[ "$(echo "$s" | jq .drift_resolved)" -ge 2 ]
}
tu_wait_for 90 "worker-3 and the hostile worker removed, counter 3, drifts resolved (TLS, users, ACLs)" fixed
[ ! -e "$S/pwned" ] || tu_fail "an entity name ran in a shell"
[ "$(tu_redis EXISTS autoscaler:workers:k3s-worker-1)" = 1 ] || tu_fail "worker-1 is gone"
tu_log "ghost-worker fixed over TLS with one NATS user per component and Redis ACL users"

# A service heartbeats as the heartbeat user; its hostile instance name is escaped into
# one subject token.
"$TU_BUILD/trueup-heartbeat" --config "$S/heartbeat.yaml" --service web --instance 'i-1.>* $(x)' \
	--once >"$S/heartbeat.out" 2>&1 || tu_fail "trueup-heartbeat as heartbeat: $(cat "$S/heartbeat.out")"
as operator streams dump TRUEUP_EVENTS --filter 'trueup.hb.>' -o json >"$S/hb.jsonl" ||
	tu_fail "streams dump trueup.hb.> as operator"
[ "$(wc -l <"$S/hb.jsonl")" -eq 1 ] || tu_fail "expected one heartbeat: $(cat "$S/hb.jsonl")"
hb_subject=$(jq -r .subject "$S/hb.jsonl")
[ "$(echo "$hb_subject" | tr . '\n' | wc -l)" -eq 4 ] && case $hb_subject in *'*'* | *'>'* | *' '*) false ;; esac ||
	tu_fail "the heartbeat subject is not four plain tokens: $hb_subject"

# The operator's verbs, and the processor's endpoints (scan requests, actuator states).
as operator trigger >"$S/trigger.out" 2>&1 || tu_fail "trueup trigger as operator: $(cat "$S/trigger.out")"
[ "$(grep -c '"accepted":true' "$S/trigger.out")" -eq 2 ] || tu_fail "trigger: $(cat "$S/trigger.out")"
curl -sf -X POST "http://127.0.0.1:$HTTP_PORT/reconciliation/trigger" >"$S/http-trigger.out" ||
	tu_fail "POST /reconciliation/trigger: $(cat "$S/http-trigger.out")"
# a source name that is not a subject token never becomes one
rc=0
as operator trigger 'redis.>' >"$S/trigger-bad.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q 'not a valid source name' "$S/trigger-bad.out" ||
	tu_fail "trigger 'redis.>': exit $rc: $(cat "$S/trigger-bad.out")"
code=$(curl -s -o "$S/http-trigger-bad.out" -w '%{http_code}' -X POST \
	"http://127.0.0.1:$HTTP_PORT/reconciliation/trigger?source=redis.%3E")
[ "$code" = 404 ] || tu_fail "POST /reconciliation/trigger?source=redis.>: $code $(cat "$S/http-trigger-bad.out")"
curl -sf "http://127.0.0.1:$HTTP_PORT/reconciliation/status" >"$S/http-status.out" ||
	tu_fail "GET /reconciliation/status"
jq -e '.actuators | map(select(.target == "redis")) | length == 1' "$S/http-status.out" >/dev/null ||
	tu_fail "the processor got no state from the redis actuator: $(head -c 400 "$S/http-status.out")"
as operator drift -o json >"$S/drift-operator.jsonl" || tu_fail "trueup drift as operator"
for st in TRUEUP_EVENTS TRUEUP_DRIFT TRUEUP_CMD TRUEUP_DEAD; do
	as operator streams dump "$st" -o json >"$S/dump-$st.jsonl" || tu_fail "streams dump $st as operator"
done
corr=$(jq -r 'select(.message.rule == "ghost-worker") | .correlation_id' "$S/drift-operator.jsonl" | head -n 1)
as operator audit "$corr" >"$S/audit.out" || tu_fail "trueup audit as operator"
grep -q 'succeeded' "$S/audit.out" || tu_fail "audit shows no succeeded outcome: $(cat "$S/audit.out")"
as operator verify >"$S/verify.out" 2>&1 || tu_fail "trueup verify as operator: $(cat "$S/verify.out")"
as operator replay --view "$S/replay-view" >"$S/replay.out" 2>&1 || tu_fail "trueup replay as operator: $(tail -3 "$S/replay.out")"
as drift-reader drift -o json >"$S/drift-reader.jsonl" || tu_fail "trueup drift as drift-reader"
cmp -s "$S/drift-operator.jsonl" "$S/drift-reader.jsonl" || tu_fail "the drift reader read other drift events"
[ "$(wc -l <"$S/drift-reader.jsonl")" -ge 6 ] || tu_fail "expected at least 6 drift events"

# The processor rebuilds its view: re-creates its durable at sequence 1 and re-folds.
applied=$(status | jq .applied_seq)
tu_stop processor
rm -rf "$S/view"
tu_bg processor2 "$TU_BUILD/trueup-processor" --config "$S/processor.yaml" --instance p2
rebuilt() {
	local s
	s=$(status) || return 1
	[ "$(echo "$s" | jq .applied_seq)" -ge "$applied" ] && [ "$(echo "$s" | jq .lag)" -eq 0 ] &&
		[ "$(echo "$s" | jq '.drift | length')" -eq 0 ]
}
tu_wait_for 60 "the processor to rebuild its view as its own user" rebuilt

violations() { grep -c 'Violation' "$S/nats.log" || true; }
[ "$(violations)" -eq 0 ] || tu_fail "permission violations in a normal run: $(grep Violation "$S/nats.log" | head -5)"
acl_denials() { tu_redis ACL LOG | grep -c '^username$' || true; }
[ "$(acl_denials)" -eq 0 ] || tu_fail "redis ACL denials in a normal run: $(tu_redis ACL LOG | head -30)"
tu_log "normal run: no NATS permission violation, no Redis ACL denial"

# ---- 2. what each user must not do
N=0
new_id() { N=$((N + 1)); ID=$(printf 'sec%021d' "$N"); }
cmd_count() { as operator streams dump TRUEUP_CMD -o json | wc -l; }
# refused USER SUBJECT-PATTERN args...: actuator_cmd with USER's credentials fails, and
# the server logs a publish violation for it
refused() {
	local user=$1 subj=$2 rc=0
	shift 2
	new_id
	"$CMD" --config "$S/$user-neg.yaml" --id "$ID" --corr "corr$ID" "$@" >"$S/refused.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || tu_fail "$user could publish on $subj: $(cat "$S/refused.out")"
	tu_wait_for 10 "a publish violation of $user on $subj in the server log" \
		grep -q "Publish Violation.*$user.*$subj\|Publish Violation.*$subj.*$user" "$S/nats.log"
}
before=$(cmd_count)
refused producer-redis 'trueup.cmd.redis.del' --target redis --action del \
	--param key=autoscaler:workers:k3s-worker-1
[ "$(cmd_count)" -eq "$before" ] || tu_fail "TRUEUP_CMD changed after a producer's publish"
[ "$(tu_redis EXISTS autoscaler:workers:k3s-worker-1)" = 1 ] || tu_fail "worker-1 is gone"
refused producer-redis 'trueup.out.redis' --target redis --action del --subject "trueup.out.redis.forged1" \
	--param key=x --type trueup.v1.Outcome
refused producer-redis 'trueup.obs.declared' --target redis --action del --subject "trueup.obs.declared.worker" \
	--param key=x --type trueup.v1.ObservedState
refused actuator-redis 'trueup.obs.redis' --target redis --action del --subject "trueup.obs.redis.worker" \
	--param key=x --type trueup.v1.ObservedState
refused drift-reader 'trueup.cmd.redis.del' --target redis --action del --param key=x
refused operator 'trueup.cmd.redis.del' --target redis --action del --param key=x
refused heartbeat 'trueup.cmd.redis.del' --target redis --action del --param key=x
refused heartbeat 'trueup.obs.redis' --target redis --action del --subject "trueup.obs.redis.worker" \
	--param key=x --type trueup.v1.ObservedState
[ "$(as operator streams dump TRUEUP_EVENTS --filter 'trueup.out.redis.forged1' -o json | wc -l)" -eq 0 ] ||
	tu_fail "a forged outcome reached TRUEUP_EVENTS"
[ "$(cmd_count)" -eq "$before" ] || tu_fail "TRUEUP_CMD changed"
rc=0
as producer-redis-neg streams dump TRUEUP_CMD >"$S/producer-read.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || tu_fail "a producer could read TRUEUP_CMD"
tu_log "refused: producer -> trueup.cmd/out and another source's obs, actuator -> obs, drift reader, operator, heartbeat -> cmd, heartbeat -> obs, producer reading TRUEUP_CMD"

# connect_refused NAME PATTERN: a processor with config $S/NAME.yaml (and a view of its
# own) exits non-zero with PATTERN in its log
connect_refused() {
	local name=$1 pattern=$2 rc=0
	sed -i "s|^  view: .*|  view: \"$S/view-$name\"|" "$S/$name.yaml"
	timeout 30 "$TU_BUILD/trueup-processor" --config "$S/$name.yaml" --instance "$name" \
		--listen "" >"$S/$name.log" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || tu_fail "$name: processor exit $rc, expected a refusal: $(tail -3 "$S/$name.log")"
	grep -Eq "$pattern" "$S/$name.log" || tu_fail "$name: no /$pattern/ in: $(tail -3 "$S/$name.log")"
}
role_config processor "{ ca: $S/tls/other-ca.pem }" "" "$S/wrong-ca.yaml"
connect_refused wrong-ca 'cannot connect.*SSL.*(unable to get local issuer|certificate verify failed)'
role_config processor "{ ca: $S/tls/ca.pem, hostname: nats.wrong.example }" "" "$S/wrong-hostname.yaml"
connect_refused wrong-hostname 'cannot connect.*SSL.*hostname mismatch'
sed -e '/^  tls: /d' "$S/processor.yaml" >"$S/no-ca.yaml"
connect_refused no-ca 'cannot connect.*SSL'
cp "$S/processor.yaml" "$S/wrong-password.yaml"
echo not-the-password >"$S/wrong.pass"
sed -i "s|password_file: .*processor.pass|password_file: $S/wrong.pass|" "$S/wrong-password.yaml"
connect_refused wrong-password 'cannot connect.*([Aa]uthorization|[Aa]uthentication)'
# The default name check: a server whose certificate (from the right CA) names another host.
# (Debian's nats.c is built with NATS_FORCE_HOST_VERIFICATION and refuses it on its own too;
# lib/bus.c passes the URL's host so that builds without the flag refuse it as well.)
OTHER_PORT=$(tu_free_port)
tu_bg nats-elsewhere nats-server -a 127.0.0.1 -p "$OTHER_PORT" --tls --tlscert "$S/tls/elsewhere.pem" \
	--tlskey "$S/tls/elsewhere-key.pem"
tu_wait_port "$OTHER_PORT" 100 || tu_fail "the second nats-server did not start"
role_config processor "{ ca: $S/tls/ca.pem }" "nats://127.0.0.1:$OTHER_PORT" "$S/other-name.yaml"
connect_refused other-name 'cannot connect.*SSL.*(IP address mismatch|hostname mismatch)'
tu_stop nats-elsewhere
tu_log "refused: another CA, a wrong tls.hostname, no CA, a wrong password, a certificate for another name"

# ---- 3. the redis actuator as an ACL user: inside its prefixes, and outside
outcome_of() {
	as operator streams dump TRUEUP_EVENTS --filter "trueup.out.redis.$1" -o json |
		jq -c '.message' | tail -n 1
}
has_outcome() { [ -n "$(outcome_of "$1")" ]; }
# command_outcome ARGS...: the test plays the processor (only its user may publish
# commands): a command with a new id, then its outcome in $o
command_outcome() {
	new_id
	"$CMD" --config "$S/processor.yaml" --target redis --corr "corr$ID" --rule acl --id "$ID" \
		"$@" >/dev/null || tu_fail "cannot publish a command as the processor"
	tu_wait_for 30 "the outcome of $ID" has_outcome "$ID"
	o=$(outcome_of "$ID")
}
command_outcome --action set --param key=autoscaler:acl-test --param value=inside
[ "$(echo "$o" | jq -r .result)" = RESULT_SUCCEEDED ] || tu_fail "set inside the prefixes: $o"
[ "$(tu_redis GET autoscaler:acl-test)" = inside ] || tu_fail "autoscaler:acl-test was not set"
command_outcome --action set --param key=elsewhere:acl-test --param value=outside
[ "$(echo "$o" | jq -r .result)" = RESULT_FAILED_PERMANENT ] || tu_fail "set outside the prefixes: $o"
echo "$o" | jq -r '.error + " " + .detail' | grep -q NOPERM || tu_fail "no NOPERM in the outcome: $o"
[ "$(tu_redis EXISTS elsewhere:acl-test)" = 0 ] || tu_fail "elsewhere:acl-test was written"
tu_redis ACL LOG | grep -q trueup-rw || tu_fail "redis logged no denial for trueup-rw"
kill -0 "$(tu_pid actuator)" 2>/dev/null || tu_fail "the actuator died on NOPERM"
command_outcome --action del --param key=autoscaler:acl-test
[ "$(echo "$o" | jq -r .result)" = RESULT_SUCCEEDED ] || tu_fail "del after NOPERM: $o"
rc=0
REDISCLI_AUTH=$(cat "$S/secrets/redis-ro.pass") redis-cli -p "$REDIS_PORT" --user trueup-ro \
	SET autoscaler:workers:next_number 99 >"$S/ro-write.out" 2>&1 || rc=$?
grep -q NOPERM "$S/ro-write.out" || tu_fail "the producer's Redis user could write: $(cat "$S/ro-write.out")"
tu_log "redis actuator as trueup-rw: succeeded inside ~autoscaler:* ~trueup:done:*, failed-permanent NOPERM outside"

# ---- 4. processor HA under the processor role: the lease in KV trueup_leases and the
# standby's own durable are within ops/nats's permissions (instances trueup-processor-0
# and -1, as the configuration names them).
tu_stop processor2
v_before=$(violations) # the refusals of part 2 are in the log already
# ha_config USER N: $S/USER-ha-N.yaml, USER's configuration with the lease and view N
ha_config() {
	awk -v view="$S/view-ha-$2" '
		/^processor:/ { print; print "  lease: { enabled: true, ttl: 2s, renew: 500ms }"; next }
		/^  view: / { print "  view: \"" view "\""; next }
		{ print }' "$S/$1.yaml" >"$S/$1-ha-$2.yaml"
	grep -q 'lease: { enabled: true' "$S/$1-ha-$2.yaml" || tu_fail "no lease in $1-ha-$2.yaml"
}
ha_config processor 0
ha_config processor 1
ha_config admin 0
as admin-ha-0 streams apply >"$S/streams-apply-ha.out" 2>&1 ||
	tu_fail "streams apply (lease bucket) as admin: $(cat "$S/streams-apply-ha.out")"
HA0=$(tu_free_port) HA1=$(tu_free_port)
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz"; }
tu_bg ha0 "$TU_BUILD/trueup-processor" --config "$S/processor-ha-0.yaml" --instance trueup-processor-0 --listen "127.0.0.1:$HA0"
tu_wait_for 30 "trueup-processor-0 to hold the lease" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$HA0/readyz)\" = 200 ]"
tu_bg ha1 "$TU_BUILD/trueup-processor" --config "$S/processor-ha-1.yaml" --instance trueup-processor-1 --listen "127.0.0.1:$HA1"
tu_wait_for 30 "trueup-processor-1 to stand by" bash -c "curl -s http://127.0.0.1:$HA1/readyz | grep -q standby"
folded() { # folded PORT: the view behind PORT has folded what the first processor had
	[ "$(curl -s "http://127.0.0.1:$1/reconciliation/status" | jq -r '.applied_seq // 0')" -ge "$applied" ]
}
tu_wait_for 60 "the standby to fold the stream through its own durable" folded "$HA1"
tu_stop ha0 TERM
tu_wait_for 30 "trueup-processor-1 to take the released lease" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$HA1/readyz)\" = 200 ]"
[ "$(violations)" -eq "$v_before" ] ||
	tu_fail "permission violations with the lease: $(grep Violation "$S/nats.log" | tail -n +$((v_before + 1)) | head -5)"
grep -qi 'permission\|not authorized' "$S/ha0.log" "$S/ha1.log" &&
	tu_fail "a processor was refused something: $(grep -hi 'permission\|not authorized' "$S/ha0.log" "$S/ha1.log" | head -3)"
tu_log "HA as the processor user: a holder, a standby on its own durable, a takeover; no violation"

# ---- 5. no password anywhere but in its own file
tu_stop producer-declared
tu_stop producer-redis
tu_stop actuator
tu_stop ha1
for f in "$S"/nats-etc/*.pass "$S"/secrets/*.pass; do
	pw=$(tr -d '\n' <"$f")
	[ ${#pw} -ge 32 ] || tu_fail "$f holds no generated password"
	hits=$(grep -rlaF -- "$pw" "$S" | grep -v '\.pass$' || true)
	[ -z "$hits" ] || tu_fail "the password of $(basename "$f") appears in: $hits"
done
tu_log "no password in any log, output, configuration, stream store or view"
tu_log "PASS"
