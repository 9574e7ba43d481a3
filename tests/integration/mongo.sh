#!/bin/bash
# mongo.sh - the mongodb source and target (mongo-c-driver) against the
# mongo-wire fixture (tests/fixtures/mongo-wire) and a real nats-server:
#
#  producer: a scan of 2500 documents with batch_size 100 reads them with
#    find + getMore (counted in the fixture's log) and publishes every one
#    with its mapped attrs; a malformed and an oversized document are skipped
#    and parked in TRUEUP_DEAD with the source, collection, _id and field;
#  actuator: delete-one, update-one and insert-one with preconditions met and
#    not met, noops, bad params, all in one fetch, which runs as one unordered
#    bulk per collection; dry-run changes nothing; a dropped connection and a
#    WriteConflict give failed-retryable, then success on the next delivery.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/mongo.sh"
. "$(dirname "$0")/producer_lib.sh"

: "${TU_BUILD:?TU_BUILD must point at the build directory}"
command -v jq >/dev/null || tu_fail "jq not installed"
ACTUATOR=$TU_BUILD/trueup-actuator
CMD=$TU_BUILD/tests/actuator_cmd

tu_setup
tu_start_nats

# --- the seed: 2500 good documents, a malformed one, an oversized one, one filtered out
"$MONGO_PY" - "$TU_TMP/seed.json" <<'EOF'
import json, sys
docs = [{"_id": {"$oid": "%024x" % i}, "name": "db-%04d" % i, "tier": "prod" if i % 2 else "dev",
         "spec": {"storage": "%dGi" % (i % 50 + 1), "replicas": i % 5, "cpu": 0.5},
         "created": {"$date": "2023-11-14T22:13:20Z"}}
        for i in range(1, 2501)]
docs.append({"_id": {"$oid": "%024x" % 9001}, "name": "broken", "tier": "prod", "spec": "flat"})
docs.append({"_id": {"$oid": "%024x" % 9002}, "name": "huge", "tier": "prod",
             "spec": {"storage": "x" * 70000}})
docs.append({"_id": {"$oid": "%024x" % 9003}, "name": "no-tier", "spec": {"storage": "1Gi"}})
json.dump({"shop": {"databases": docs,
                    "users": [{"_id": "u1", "name": "ann", "role": "admin"},
                              {"_id": "u2", "name": "bob", "role": "dev"}]}},
          open(sys.argv[1], "w"))
EOF
mongo_start "$TU_TMP/seed.json"

CONFIG=$TU_TMP/trueup.yaml
cat >"$CONFIG" <<EOF
nats: { url: "$NATS_URL" }
log: { level: debug, format: text }
sources:
  - name: mongo
    type: mongodb
    uri: "$MONGO_URI/?appname=ignored"
    interval: 1h
    timeout: 2s
    batch_size: 100
    rate: 500
    max_document: 64KiB
    observe:
      - kind: database
        database: shop
        collection: databases
        filter: '{"tier": {"\$exists": true}}'
        projection: '{"name": 1, "tier": 1, "spec": 1, "created": 1}'
        namespace: "{.tier}"
        name: "{.name}"
        attrs:
          id: '{._id["\$oid"]}'
          storage: "{.spec.storage}"
          replicas: "{.spec.replicas}"
          cpu: "{.spec.cpu}"
          created: '{.created["\$date"]}'
          from: "{source}:{database}.{collection}"
targets:
  - name: mongo
    type: mongodb
    uri: "$MONGO_URI"
    batch: 32
    fetch_wait: 200ms
    ack_wait: 2s
    max_deliver: 6
    timeout: 2s
EOF
pl_streams_apply

# --- producer: one full scan ------------------------------------------------------------
"$PRODUCER" --config "$CONFIG" --once 2>"$TU_TMP/once.log" ||
	{ cat "$TU_TMP/once.log" >&2; tu_fail "producer --once did not exit 0"; }
pl_scan mongo
pl_expect_framed
pl_expect "every good document is published, the two bad ones skipped, the scan incomplete" '
	.[-1].msg.seen == 2500 and .[-1].msg.published == 2500 and .[-1].msg.skipped == 2
	and (.[-1].msg.complete | not) and .[0].msg.kinds == ["database"]'
pl_expect "a document maps to kind, namespace, name and attrs (ObjectId, date, numbers)" '
	[.[] | select(.msg.entity.name == "db-0007")][0]
	| .subject == "trueup.obs.mongo.database" and .msg.entity.namespace == "prod"
	  and .msg.attrs == [{key: "cpu", value: "0.5"}, {key: "created", value: "2023-11-14T22:13:20Z"},
			     {key: "from", value: "mongo:shop.databases"},
			     {key: "id", value: "000000000000000000000007"},
			     {key: "replicas", value: "2"}, {key: "storage", value: "8Gi"}]'
pl_expect "the filter leaves out a document without tier" '
	[.[] | select(.msg.entity.name == "no-tier")] == []'
finds=$(mongo_log_count '.cmd == "find" and .coll == "databases" and .batchSize == 100')
getmores=$(mongo_log_count '.cmd == "getMore" and .coll == "databases" and .batchSize == 100')
[ "$finds" = 1 ] || tu_fail "expected one find with batchSize 100, got $finds"
[ "$getmores" -ge 24 ] || tu_fail "expected at least 24 getMore calls of 100, got $getmores"
big=$(jq -s 'map(select(.cmd == "find" or .cmd == "getMore") | .n) | max' "$MONGO_LOG")
[ "$big" -le 100 ] || tu_fail "a reply carried $big documents, over batch_size"
tu_log "ok: $finds find + $getmores getMore calls, at most $big documents each"
grep -q "skipped document shop.databases _id 000000000000000000002329: attrs.storage" \
	"$TU_TMP/once.log" || tu_fail "no warning naming collection, _id and field of the malformed document"
"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_DEAD -o json >"$TU_TMP/dead.jsonl"
jq -s -e 'length == 2 and all(.[]; .subject == "trueup.dead.producer-mongo")
	and any(.[]; .message.reason | test("shop.databases _id 0+2329: attrs.storage"))
	and any(.[]; .message.reason | test("_id 0+232a: [0-9]+ bytes, over max_document \\(65536\\)"))' \
	"$TU_TMP/dead.jsonl" >/dev/null || tu_fail "skipped documents not parked: $(cat "$TU_TMP/dead.jsonl")"
tu_log "ok: malformed and oversized documents skipped and parked"

# --- actuator helpers ---------------------------------------------------------------------
N=0
# mcmd ACTION [flags...]: a command to target mongo with a fresh id in $ID.
mcmd() {
	N=$((N + 1))
	ID=$(printf 'mcmd%020d' "$N")
	local action=$1
	shift
	"$CMD" --url "$NATS_URL" --target mongo --id "$ID" --corr "corr$ID" --rule itest \
		--action "$action" "$@" >/dev/null || tu_fail "cannot publish command $ID"
}
DB=(--param database=shop --param collection=databases)
outcomes() {
	"$TU_BUILD/trueup" --config "$CONFIG" streams dump TRUEUP_EVENTS --filter 'trueup.out.>' \
		-o json | jq -c '.message | .result |= (ascii_downcase | sub("^result_"; "") | gsub("_"; "-"))'
}
has_result() { outcomes | jq -s -e --arg id "$1" --arg r "$2" \
	'any(.[]; .command_id == $id and .result == $r)' >/dev/null; }
# expect_result ID RESULT [DETAIL-REGEX]: waits for that outcome of ID, checks its detail.
expect_result() {
	tu_wait_for 30 "outcome $2 for $1" has_result "$1" "$2"
	O=$(outcomes | jq -c --arg id "$1" --arg r "$2" 'select(.command_id == $id and .result == $r)' |
		tail -n 1)
	if [ -n "${3:-}" ]; then
		jq -r '.detail, .error' <<<"$O" | grep -Eq -- "$3" ||
			tu_fail "$1: detail/error of $O does not match /$3/"
	fi
}
doc() { mongo_docs shop "${2:-databases}" | jq -c --arg n "$1" 'select(.name == $n)'; }

# --- actuator: one fetch of many commands, run as bulks -----------------------------------
# Published before the actuator starts, so that its first fetch holds all of them. The
# counts of these bulks decide every verdict (see docs/targets.md, "Batches").
mcmd delete-one "${DB[@]}" --param 'filter={"name": "db-0001"}' \
	--pre field_equals --pre-field spec.replicas --pre-value 1
del_ok=$ID
mcmd delete-one "${DB[@]}" --param 'filter={"name": "db-0002"}' \
	--pre field_equals --pre-field spec.storage --pre-value 99Gi
del_skip=$ID
mcmd delete-one "${DB[@]}" --param 'filter={"name": "db-0004"}' --pre absent --pre-field lock
del_absent=$ID
mcmd update-one "${DB[@]}" --param 'filter={"name": "db-0010"}' \
	--param 'update={"$set": {"spec.storage": "20Gi"}, "$unset": {"created": ""}}' \
	--pre field_equals --pre-field spec.storage --pre-value 11Gi --pre exists --pre-field created
upd_ok=$ID
mcmd update-one "${DB[@]}" --param 'filter={"name": "db-0011"}' \
	--param 'update={"$set": {"spec.storage": "20Gi"}}' \
	--pre field_equals --pre-field spec.storage --pre-value 1Gi
upd_skip=$ID
mcmd update-one "${DB[@]}" --param 'filter={"name": "db-0013"}' \
	--param 'update={"$inc": {"spec.replicas": 1}}'
upd_bad=$ID
mcmd update-one "${DB[@]}" --param 'filter={"name": "db-0014"}' \
	--param 'update={"$set": {"spec.replicas": 9}}' --pre field_equals --pre-field spec.replicas \
	--pre-value 4
upd_num=$ID
mcmd insert-one "${DB[@]}" --param 'document={"_id": "new-1", "name": "new-1", "tier": "dev"}'
ins_ok=$ID
mcmd insert-one --param database=shop --param collection=users \
	--param 'document={"_id": "u1", "name": "ann", "role": "admin"}' --pre absent
ins_same=$ID
mcmd insert-one --param database=shop --param collection=users \
	--param 'document={"_id": "u2", "name": "bob", "role": "admin"}'
ins_diff=$ID
mcmd delete-one --param database=shop --param collection=users --param 'filter={"name": "ann"}' \
	--pre field_equals --pre-field role --pre-value admin --mode dry-run
dry_del=$ID
mcmd update-one --param database=shop --param collection=users --param 'filter={"_id": "u2"}' \
	--param 'update={"$set": {"role": "admin"}}' --mode dry-run
dry_upd=$ID

tu_bg act "$ACTUATOR" --config "$CONFIG" --target mongo --instance act
expect_result "$del_ok" succeeded 'delete-one shop.databases .*"spec.replicas".*: removed 1 document$'
expect_result "$del_skip" skipped-precondition 'matches the filter but not the preconditions'
expect_result "$del_absent" succeeded '"lock" : \{ "\$exists" : false \}.*removed 1 document$'
expect_result "$upd_ok" succeeded 'modified 1 document$'
expect_result "$upd_skip" skipped-precondition 'not the preconditions'
expect_result "$upd_bad" failed-permanent 'operator "\$inc" is not allowed'
expect_result "$upd_num" succeeded 'modified 1 document$'
expect_result "$ins_ok" succeeded 'inserted'
expect_result "$ins_same" noop 'an identical document exists'
expect_result "$ins_diff" skipped-precondition 'a different document with this _id exists$'
grep -q 'E11000 duplicate key' <<<"$O" || tu_fail "no E11000 error in $O"
expect_result "$dry_del" dry-run '^would delete one document: delete-one shop.users'
expect_result "$dry_upd" dry-run '^would update one document'
[ -z "$(doc db-0001)" ] || tu_fail "db-0001 was not deleted"
[ -n "$(doc db-0002)" ] || tu_fail "db-0002 was deleted despite its precondition"
[ -z "$(doc db-0004)" ] || tu_fail "db-0004 was not deleted"
doc db-0010 | jq -e '.spec.storage == "20Gi" and (has("created") | not)' >/dev/null ||
	tu_fail "db-0010 not updated: $(doc db-0010)"
doc db-0011 | jq -e '.spec.storage == "12Gi"' >/dev/null || tu_fail "db-0011 changed: $(doc db-0011)"
doc db-0013 | jq -e '.spec.replicas == 3' >/dev/null || tu_fail "db-0013 changed: $(doc db-0013)"
doc db-0014 | jq -e '.spec.replicas == 9' >/dev/null || tu_fail "db-0014 (number precondition) not updated"
[ -n "$(doc new-1)" ] || tu_fail "new-1 was not inserted"
doc ann users | jq -e '.role == "admin"' >/dev/null || tu_fail "dry-run deleted ann"
doc bob users | jq -e '.role == "dev"' >/dev/null || tu_fail "users.bob changed: $(doc bob users)"
tu_log "ok: verbs, preconditions, bad params, dry-run"

# One fetch, one bulk per collection: a single delete and a single update command
# with every statement, and one insert per collection.
bulk_delete=$(jq -sc 'map(select(.cmd == "delete" and .coll == "databases")) | map(.n)' "$MONGO_LOG")
bulk_update=$(jq -sc 'map(select(.cmd == "update" and .coll == "databases")) | map(.n)' "$MONGO_LOG")
[ "$bulk_delete" = "[3]" ] || tu_fail "deletes not one bulk: $bulk_delete"
[ "$bulk_update" = "[3]" ] || tu_fail "updates not one bulk: $bulk_update"
[ "$(mongo_log_count '.cmd == "insert" and .coll == "users" and .n == 2')" = 1 ] ||
	tu_fail "the users inserts were not one bulk"
tu_log "ok: one unordered bulk per collection for one fetch"

# --- one at a time: already gone, already as desired ---------------------------------
mcmd delete-one "${DB[@]}" --param 'filter={"name": "never-there"}'
expect_result "$ID" noop 'no document matches the filter \(already gone\)$'
mcmd update-one "${DB[@]}" --param 'filter={"name": "db-0012"}' \
	--param 'update={"$set": {"spec.storage": "13Gi"}}'
expect_result "$ID" noop 'already as desired$'
mcmd update-one "${DB[@]}" --param 'filter={"name": "nobody"}' \
	--param 'update={"$set": {"spec.storage": "13Gi"}}'
expect_result "$ID" skipped-precondition 'no document matches the filter$'
mcmd delete-one "${DB[@]}" --param 'filter={"name": "db-0015"}' --mode dry-run
expect_result "$ID" dry-run '^would delete one document'
[ -n "$(doc db-0015)" ] || tu_fail "a dry-run deleted db-0015"
tu_log "ok: noops and dry-run one at a time"

# --- a bulk whose counts cannot tell succeeded from noop ------------------------------
# Two deletes, one document removed, both gone now: each is reported succeeded, saying so.
tu_stop act
mcmd delete-one "${DB[@]}" --param 'filter={"name": "db-0040"}'
amb1=$ID
mcmd delete-one "${DB[@]}" --param 'filter={"name": "gone-before"}'
amb2=$ID
tu_bg act "$ACTUATOR" --config "$CONFIG" --target mongo --instance act
for id in "$amb1" "$amb2"; do
	expect_result "$id" succeeded 'gone \(by this bulk of 2, which removed 1, or already before it\)'
done
tu_log "ok: an ambiguous bulk is reported as such"

# --- a dropped connection: failed-retryable, then success on the next delivery ----------
mongo_fault shop '{"trueupFault": "delete", "action": "drop", "times": 1}'
mcmd delete-one "${DB[@]}" --param 'filter={"name": "db-0020"}'
drop=$ID
expect_result "$drop" failed-retryable 'mongodb mongodb://127.0.0.1:[0-9]+'
expect_result "$drop" succeeded 'removed 1 document'
jq -e '.delivery >= 2' <<<"$O" >/dev/null || tu_fail "success came on delivery $(jq .delivery <<<"$O")"
[ -z "$(doc db-0020)" ] || tu_fail "db-0020 was not deleted after the retry"
tu_log "ok: connection drop -> failed-retryable -> succeeded"

# --- WriteConflict (a write error) and NotWritablePrimary (a command error): retryable ---
mongo_fault shop '{"trueupFault": "update", "action": "writeError", "code": 112, "times": 1}'
mongo_fault shop '{"trueupFault": "update", "action": "error", "code": 10107, "codeName": "NotWritablePrimary", "errmsg": "not primary", "times": 1}'
mcmd update-one "${DB[@]}" --param 'filter={"name": "db-0030"}' \
	--param 'update={"$set": {"spec.replicas": 7}}'
conflict=$ID
expect_result "$conflict" succeeded 'modified 1 document'
outcomes | jq -s -e --arg id "$conflict" 'map(select(.command_id == $id))
	| map(.result) == ["failed-retryable", "failed-retryable", "succeeded"]
	  and (.[0].error | test("code 112")) and (.[1].error | test("not primary.*code 10107"))' \
	>/dev/null || tu_fail "unexpected outcomes of $conflict: $(outcomes | grep "$conflict")"
doc db-0030 | jq -e '.spec.replicas == 7' >/dev/null || tu_fail "db-0030 not updated"
tu_log "ok: server errors classified retryable"

# --- the same command twice: the second delivery finds the outcome --------------------
"$CMD" --url "$NATS_URL" --target mongo --id "$del_ok" --msg-id "$del_ok.again" \
	--action delete-one "${DB[@]}" --param 'filter={"name": "db-0001"}' >/dev/null
mcmd delete-one "${DB[@]}" --param 'filter={"name": "never-there"}'
expect_result "$ID" noop
[ "$(outcomes | jq -s --arg id "$del_ok" 'map(select(.command_id == $id)) | length')" = 1 ] ||
	tu_fail "$del_ok has more than one outcome"
tu_log "ok: duplicate command id skipped"

grep -q "password" "$TU_TMP/act.log" && tu_fail "a password appears in the actuator log"
tu_stop act
tu_log "PASS"
