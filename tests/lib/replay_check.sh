#!/usr/bin/env bash
# replay_check.sh - compares a live run with an uninterrupted fold of the same
# stream (`trueup replay`, the same fold code without publishing). Source after
# harness.sh; needs BIN (the build dir) and TU_TMP.
#
#   tu_replay_check CONFIG VIEW...
#
# fails the test unless every VIEW (an LMDB dir, the outbox left out) equals the
# replayed view, and TRUEUP_CMD and TRUEUP_DRIFT hold exactly the messages the
# replay derives (same ids, same bytes), none twice, and not none.
#
#   tu_replay_compare CONFIG VIEW...
#
# the same comparison, counted instead of failing (the chaos suite's table):
# TU_REPLAY_LOST = records of the replayed view and messages the replay derives
# that are missing (or differ); TU_REPLAY_DUP = live records the replay lacks,
# and messages stored twice or not derived by the replay. Differences are logged.
#
#   tu_done_folding CONFIG SEQ
#
# true once the processor of CONFIG (`trueup status`) has folded through SEQ
# and emptied its outbox: the moment to compare (use with tu_wait_for).

tu_done_folding() {
	local s
	s=$("$BIN/trueup" status --config "$1" -o json 2>/dev/null) || return 1
	[ "$(echo "$s" | jq -r .applied_seq)" -eq "$2" ] && [ "$(echo "$s" | jq -r .outbox)" -eq 0 ]
}

tu_replay_compare() {
	local cfg=$1 v s n
	shift
	TU_REPLAY_LOST=0
	TU_REPLAY_DUP=0
	rm -rf "$TU_TMP/view-ref"
	"$BIN/trueup" replay --config "$cfg" --view "$TU_TMP/view-ref" -o json \
		>"$TU_TMP/replay.jsonl" 2>"$TU_TMP/replay.log" || tu_fail "replay"
	"$BIN/trueup" view dump --view "$TU_TMP/view-ref" >"$TU_TMP/ref.dump"
	for v in "$@"; do
		"$BIN/trueup" view dump --view "$v" >"$TU_TMP/live.dump"
		if ! cmp -s "$TU_TMP/live.dump" "$TU_TMP/ref.dump"; then
			diff "$TU_TMP/live.dump" "$TU_TMP/ref.dump" | head -20 >&2
			tu_log "view $v differs from the uninterrupted fold"
			n=$(diff "$TU_TMP/live.dump" "$TU_TMP/ref.dump" | grep -c '^>')
			TU_REPLAY_LOST=$((TU_REPLAY_LOST + n))
			n=$(diff "$TU_TMP/live.dump" "$TU_TMP/ref.dump" | grep -c '^<')
			TU_REPLAY_DUP=$((TU_REPLAY_DUP + n))
		fi
	done
	tu_log "views compared with the uninterrupted fold ($*): $(wc -l <"$TU_TMP/ref.dump") records"
	for s in TRUEUP_CMD TRUEUP_DRIFT; do
		"$BIN/trueup" streams dump "$s" --config "$cfg" -o json \
			| jq -r '[.msg_id, .payload] | @tsv' | sort >"$TU_TMP/live.$s"
		jq -r --arg s "$s" 'select(.stream == $s) | [.msg_id, .payload] | @tsv' \
			"$TU_TMP/replay.jsonl" | sort >"$TU_TMP/ref.$s"
		[ -s "$TU_TMP/ref.$s" ] || tu_fail "$s: the fold derives nothing: the test would prove nothing"
		n=$(comm -13 "$TU_TMP/live.$s" "$TU_TMP/ref.$s" | wc -l)
		TU_REPLAY_LOST=$((TU_REPLAY_LOST + n))
		n=$(($(cut -f1 "$TU_TMP/live.$s" | uniq -d | wc -l) +
			$(comm -23 "$TU_TMP/live.$s" "$TU_TMP/ref.$s" | wc -l)))
		TU_REPLAY_DUP=$((TU_REPLAY_DUP + n))
		if cmp -s "$TU_TMP/live.$s" "$TU_TMP/ref.$s"; then
			tu_log "$s: $(wc -l <"$TU_TMP/live.$s") messages, identical ids and bytes, none twice"
		else
			diff <(cut -f1 "$TU_TMP/live.$s") <(cut -f1 "$TU_TMP/ref.$s") | head >&2
			tu_log "$s differs from the uninterrupted fold's output"
		fi
	done
}

tu_replay_check() {
	tu_replay_compare "$@"
	[ "$TU_REPLAY_LOST" -eq 0 ] && [ "$TU_REPLAY_DUP" -eq 0 ] ||
		tu_fail "the live run differs from the uninterrupted fold: $TU_REPLAY_LOST records or" \
			"messages missing, $TU_REPLAY_DUP extra or twice"
}

# tu_eventgen_config [PROCESSOR_LINE...]: writes $TU_TMP/trueup.yaml for one processor
# folding eventgen's stream (info log, no HTTP, view $TU_TMP/view, no ticks, each
# PROCESSOR_LINE added under processor:, then tu_eventgen_policy), sets CFG to it and
# applies the streams.
tu_eventgen_config() {
	CFG=$TU_TMP/trueup.yaml
	{
		printf 'nats: { url: "%s" }\nlog: { level: info, format: text }\n' "$NATS_URL"
		printf 'http: { processor: "" }\nprocessor:\n  view: %s\n  tick: 0\n' "$TU_TMP/view"
		local line
		for line in "$@"; do printf '  %s\n' "$line"; done
		tu_eventgen_policy "$TU_TMP"
	} >"$CFG"
	"$TU_BUILD/trueup" streams apply --config "$CFG" >/dev/null || tu_fail "streams apply"
}

# tu_eventgen_policy DIR: the sources, target and rule that eventgen's stream
# (tests/tools/eventgen.c: sources a and b, kind worker) exercises, as config
# YAML; DIR is the files sources' path (never scanned by these tests).
tu_eventgen_policy() {
	cat <<YAML
sources:
  - { name: a, type: files, path: $1 }
  - { name: b, type: files, path: $1 }
targets:
  - { name: redis, type: redis }
rules:
  - name: presence-ab
    type: presence
    kind: worker
    sources: [a, b]
    authority: a
    mode: enforce
    when_missing:
      b: [ { target: redis, action: hset, key: "w:{name}", fields: { status: "{a.status}" } } ]
    when_extra:
      b: [ { target: redis, action: del, key: "w:{name}" } ]
YAML
}
