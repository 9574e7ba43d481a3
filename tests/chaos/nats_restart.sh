#!/usr/bin/env bash
# Chaos: restart nats-server while a producer publishes (RELIABILITY.md).
#
# A redis producer scans WORKERS hashes every 200 ms (every 5th scan full) while a
# writer changes, deletes and re-creates them; the processor folds the stream. The
# nats-server is stopped RESTARTS times and started again on the same port with
# the same store after 1 s down, alternately with SIGTERM and SIGKILL
# (TU_CHAOS_NATS_SIGNALS, default "TERM KILL"). Then the writer stops, a few more
# scans run, and everything is folded.
#
# Checked in TRUEUP_EVENTS: every observation's Nats-Msg-Id once, and no entity twice
# in one scan (duplicated); every scan with an END holds as many observations as
# its END says it published, less those its END reports unacknowledged after every
# re-send (the scan is then incomplete, infers no absence, and the next scan is
# full); lost = any other shortfall; a scan whose END says `complete` was fully stored. Scans that lost their END to the outage are counted
# (they were abandoned, and the next scan is full). End to end: the processor's
# view holds exactly the hashes Redis holds, with their values (lost: missing or
# stale; duplicated: present in the view but gone from Redis).
#
# Sizes: TU_CHAOS_WORKERS (default 2000; 20000 with TU_CHAOS_LONG=1),
# TU_CHAOS_RESTARTS (2; 6), TU_CHAOS_RUN_S (seconds between restarts: 2; 5).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/chaos.sh"
: "${TU_BUILD:?}"
WORKERS=${TU_CHAOS_WORKERS:-$(chaos_size 2000 20000)}
RESTARTS=${TU_CHAOS_RESTARTS:-$(chaos_size 2 6)}
RUN_S=${TU_CHAOS_RUN_S:-$(chaos_size 2 5)}
read -r -a SIGNALS <<<"${TU_CHAOS_NATS_SIGNALS:-TERM KILL}"
tu_setup
tu_start_nats
tu_start_redis
cat >"$TU_TMP/trueup.yaml" <<YAML
nats: { url: "$NATS_URL", reconnect_wait: 200ms }
log: { level: info, format: text }
http: { processor: "", producer: "" }
processor:
  view: $TU_TMP/view
  tick: 0
sources:
  - name: redis
    type: redis
    url: "$REDIS_URL"
    interval: 200ms
    full_every: 5
    observe:
      - kind: worker
        scan: "chaos:w:*"
        name: "{key|afterlast::}"
rules: []
YAML
export TRUEUP_CONFIG=$TU_TMP/trueup.yaml
"$TU_BUILD/trueup" streams apply >/dev/null || tu_fail "streams apply"
for i in $(seq 1 "$WORKERS"); do echo "HSET chaos:w:$i v 0"; done | tu_redis >/dev/null

tu_bg processor "$TU_BUILD/trueup-processor" --config "$TRUEUP_CONFIG" --instance p1
tu_bg producer "$TU_BUILD/trueup-producer" --config "$TRUEUP_CONFIG"
# The writer: about 50 changes a second, one in five a deletion (the key comes back
# later). One redis-cli per change, so that stopping the loop stops the writes.
tu_bg writer bash -c 'n=0; while :; do n=$((n + 1)); k=$((RANDOM % '"$WORKERS"' + 1));
	if [ $((n % 5)) = 0 ]; then set -- DEL "chaos:w:$k"; else set -- HSET "chaos:w:$k" v "$n"; fi
	redis-cli -p '"$REDIS_PORT"' "$@" >/dev/null; sleep 0.02; done'

injected=()
for r in $(seq 1 "$RESTARTS"); do
	sleep "$RUN_S"
	sig=${SIGNALS[$(((r - 1) % ${#SIGNALS[@]}))]}
	tu_stop nats "$sig"
	sleep 1
	chaos_nats nats "$NATS_PORT"
	injected+=("$sig")
	tu_log "restart $r: nats-server stopped with SIG$sig, started again after 1 s"
done
sleep "$RUN_S"
tu_stop writer
# Scans after the last change: the view must end equal to Redis.
last_end() {
	"$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.obs.redis._scan' -o json |
		jq -s -r '[.[] | select(.message.phase == "PHASE_END")] | last | .message
			| "\(.complete) \(.full) \(.started_at_ns)"'
}
stopped_ns=$(date +%s%N)
full_after_stop() {
	local c f t
	read -r c f t <<<"$(last_end)"
	[ "$c" = true ] && [ "$f" = true ] && [ "$t" -gt "$stopped_ns" ]
}
tu_wait_for 60 "a complete full scan begun after the writer stopped" full_after_stop
tu_stop producer
folded() {
	local s
	s=$("$TU_BUILD/trueup" status -o json 2>/dev/null) || return 1
	[ "$(echo "$s" | jq -r .lag)" -eq 0 ] && [ "$(echo "$s" | jq -r .outbox)" -eq 0 ]
}
tu_wait_for 120 "the processor to fold everything" folded
tu_stop processor

# The stream: ids once, each scan's observations against its END.
"$TU_BUILD/trueup" streams dump TRUEUP_EVENTS --filter 'trueup.obs.redis.>' -o json |
	jq -c '{id: .msg_id, m: .message}' >"$TU_TMP/obs.jsonl"
dup_ids=$(jq -r .id "$TU_TMP/obs.jsonl" | sort | uniq -d | wc -l)
jq -s -c '
	group_by(.m.scan_id) | map(
		(map(select(.m.phase == "PHASE_END")) | first | .m) as $e
		| (map(select(.m.entity != null))) as $obs
		| {scan: .[0].m.scan_id, begin: any(.[]; .m.phase == "PHASE_BEGIN"), end: ($e != null),
		   complete: ($e.complete // false), published: ($e.published // 0),
		   reported: ((($e.error // "") | capture("(?<n>[0-9]+) of [0-9]+ observations not acknowledged")
			       | .n | tonumber) // 0),
		   stored: ($obs | length),
		   twice: ($obs | map(.m.entity.name) | length - (unique | length))})
	| .[]' "$TU_TMP/obs.jsonl" >"$TU_TMP/scans.jsonl"
scans=$(wc -l <"$TU_TMP/scans.jsonl")
ended=$(jq -s '[.[] | select(.end)] | length' "$TU_TMP/scans.jsonl")
incomplete=$(jq -s '[.[] | select(.end and (.complete | not))] | length' "$TU_TMP/scans.jsonl")
# Not stored but said so by the END (unacknowledged after every re-send: the scan is
# incomplete and the next one full), and not stored silently (lost).
unstored=$(jq -s '[.[] | select(.end and .stored < .published) | .published - .stored] | add // 0' \
	"$TU_TMP/scans.jsonl")
short=$(jq -s '[.[] | select(.end and .stored + .reported < .published)
	| .published - .stored - .reported] | add // 0' "$TU_TMP/scans.jsonl")
short_complete=$(jq -s '[.[] | select(.complete and .stored != .published)] | length' \
	"$TU_TMP/scans.jsonl")
twice=$(jq -s '[.[].twice] | add // 0' "$TU_TMP/scans.jsonl")
jq -c 'select(.end and .stored != .published)' "$TU_TMP/scans.jsonl" | head -5 >&2
tu_log "$scans scans, $ended with an END ($incomplete incomplete), $((scans - ended)) abandoned"

# End to end: the view against Redis.
tu_redis --scan --pattern 'chaos:w:*' | sed 's/^chaos:w://' | sort >"$TU_TMP/redis.keys"
sed 's/^/HGET chaos:w:/; s/$/ v/' "$TU_TMP/redis.keys" | tu_redis |
	paste -d' ' "$TU_TMP/redis.keys" - | sort >"$TU_TMP/redis.state"
"$TU_BUILD/trueup" view dump --view "$TU_TMP/view" | awk '$1 == "entity" {$1 = $2 = ""; print}' |
	jq -r '.ref.name as $n | .sources[] | select(.source == "redis" and .present)
		| "\($n) \(.attrs[] | select(.key == "v") | .value)"' | sort >"$TU_TMP/view.state"
[ -s "$TU_TMP/redis.state" ] || tu_fail "Redis holds no workers: the test would prove nothing"
stale=$(comm -13 "$TU_TMP/view.state" "$TU_TMP/redis.state" | wc -l)
extra=$(comm -23 "$TU_TMP/view.state" "$TU_TMP/redis.state" | wc -l)
if [ "$stale" -ne 0 ] || [ "$extra" -ne 0 ]; then
	diff "$TU_TMP/view.state" "$TU_TMP/redis.state" | head >&2
fi
tu_log "view: $(wc -l <"$TU_TMP/view.state") workers, Redis: $(wc -l <"$TU_TMP/redis.state")"

lost=$((short + short_complete + stale))
dup=$((dup_ids + twice + extra))
chaos_row "nats-server restart while producing" \
	"$RESTARTS restarts (SIG${injected[*]}), 1 s down each; $scans scans of $WORKERS keys" \
	"$short observations short of END counts; $stale keys stale in the view" \
	"$dup_ids ids twice, $twice entities twice in a scan, $extra gone keys in the view" \
	"n/a; $((scans - ended)) scans abandoned, $incomplete incomplete ($unstored observations unacknowledged, said so by their END), healed by the next full scan"
chaos_verdict "$lost" "$dup"
