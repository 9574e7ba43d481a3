# tests/integration/producer_lib.sh - helpers of the producer integration
# tests: read TRUEUP_EVENTS back with `trueup streams dump` and check scans with jq.
# Source it after harness.sh, with TU_BUILD set to the build directory.
#
#   pl_streams_apply        creates the streams of $TU_TMP/trueup.yaml
#   pl_dump                 every message of TRUEUP_EVENTS -> $TU_TMP/events.jsonl
#   pl_ends SOURCE          number of END markers of SOURCE
#   pl_wait_ends SOURCE N   waits (30 s) until SOURCE has N END markers
#   pl_scan SOURCE [K]      the K-th scan of SOURCE (1-based; default: the last)
#                           -> $TU_TMP/scan.json, a JSON array of its messages
#                           in stream order, BEGIN first and END last
#   pl_expect WHAT FILTER   jq -e FILTER on the scan, or fail naming WHAT
#   pl_request SOURCE [BODY] sends trueup.ctl.scan.SOURCE, prints the reply

TOOLS=${TU_BUILD:?TU_BUILD must name the build directory}/tests
PRODUCER=$TU_BUILD/trueup-producer

pl_streams_apply() {
	"$TU_BUILD/trueup" --config "$TU_TMP/trueup.yaml" streams apply >/dev/null ||
		tu_fail "streams apply"
}

pl_dump() {
	"$TU_BUILD/trueup" --config "$TU_TMP/trueup.yaml" streams dump TRUEUP_EVENTS -o json \
		>"$TU_TMP/events.raw.jsonl" || tu_fail "streams dump failed"
	jq -c '{seq, subject, time, headers, type, msg: .message}' "$TU_TMP/events.raw.jsonl" \
		>"$TU_TMP/events.jsonl"
}

pl_ends() {
	pl_dump
	jq -s --arg s "$1" \
		'[.[] | select(.subject == "trueup.obs.\($s)._scan" and .msg.phase == "PHASE_END")]
		 | length' "$TU_TMP/events.jsonl"
}

pl_wait_ends() {
	local source=$1 n=$2 end=$((SECONDS + 30))
	while [ $SECONDS -lt $end ]; do
		[ "$(pl_ends "$source")" -ge "$n" ] && return 0
		sleep 0.2
	done
	tu_fail "timed out waiting for $n scans of $source (have $(pl_ends "$source"))"
}

pl_scan() {
	local source=$1 k=${2:-0}
	pl_dump
	jq -s --arg s "$source" --argjson k "$k" '
		[.[] | select(.subject | startswith("trueup.obs.\($s)."))] as $m
		| [$m[] | select(.msg.phase == "PHASE_BEGIN") | .msg.scan_id] as $ids
		| (if $k == 0 then $ids[-1] else $ids[$k - 1] end) as $id
		| [$m[] | select(.msg.scan_id == $id)]' "$TU_TMP/events.jsonl" >"$TU_TMP/scan.json" ||
		tu_fail "cannot read scan $k of $source"
}

pl_expect() {
	local what=$1 filter=$2
	if ! jq -e "$filter" "$TU_TMP/scan.json" >/dev/null; then
		jq -c '.[] | [.seq, .headers["Nats-Msg-Id"], .msg]' "$TU_TMP/scan.json" >&2
		tu_fail "$what"
	fi
	tu_log "ok: $what"
}

pl_request() {
	"$TOOLS/nats_request" --url "$NATS_URL" --subject "trueup.ctl.scan.$1" --data "${2:-}" ||
		tu_fail "no reply to a scan request for $1"
}

# Checks the framing every scan must have: BEGIN first, END last, observations
# numbered <scan_id>.1..n in between, END counts matching what was published.
pl_expect_framed() {
	pl_expect "scan is framed by BEGIN and END with numbered observations" '
		.[0].msg.scan_id as $id
		| .[0].msg.phase == "PHASE_BEGIN" and .[0].headers["Nats-Msg-Id"] == "\($id).b"
		and .[-1].msg.phase == "PHASE_END" and .[-1].headers["Nats-Msg-Id"] == "\($id).e"
		and ([.[1:-1][] | .type] | all(. == "trueup.v1.ObservedState"))
		and ([.[1:-1][] | .headers["Nats-Msg-Id"]]
		     == [range(1; length - 1) | "\($id).\(.)"])
		and .[-1].msg.published == length - 2
		and .[-1].msg.deleted == ([.[1:-1][] | select(.msg.deleted)] | length)
		and ([.[1:-1][] | .msg.attrs | map(.key) | . == (sort | unique)] | all)'
}
