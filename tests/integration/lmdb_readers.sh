#!/usr/bin/env bash
# LMDB limits (issue 5, item 4): stale reader slots. A reader of the view that
# dies inside its read transaction (SIGKILL) keeps its slot in the lock file;
# enough of them exhaust the 126 slots and pin old pages. While the processor
# runs, its syncer clears such slots at every sync_interval (mdb_reader_check):
# the slot is listed by `mdb_stat -r` after the kill, the processor logs that it
# cleared it, and then it is gone. Nothing else opens the view meanwhile (the
# CLI's open would clear it too).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/replay_check.sh"
: "${TU_BUILD:?}"
BIN=$TU_BUILD
tu_setup
tu_start_nats
tu_eventgen_config "sync_interval: 300ms"
"$BIN/tests/eventgen" --url "$NATS_URL" --events 2000 --entities 200 2>/dev/null \
	|| tu_fail "eventgen"
tu_bg proc "$BIN/trueup-processor" --config "$CFG" --instance readers
tu_wait_for 60 "the processor to fold all 2000 events" tu_done_folding "$CFG" 2000

# readers_of PID: how many slots of the view's reader table hold PID.
readers_of() { mdb_stat -r "$TU_TMP/view" | awk -v p="$1" '$1 == p' | wc -l; }

for round in 1 2 3; do
	tu_bg "reader-$round" "$BIN/tests/view_reader" "$TU_TMP/view"
	pid=$(tu_pid "reader-$round")
	tu_wait_for 20 "reader $round to begin its transaction" grep -q '^reading' "$TU_TMP/reader-$round.log"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	n=$(readers_of "$pid")
	[ "$n" = 1 ] || tu_fail "round $round: the killed reader $pid holds $n slots, expected 1 (mdb_stat -r: $(mdb_stat -r "$TU_TMP/view"))"
	tu_wait_for 30 "the processor to clear the stale slot of reader $pid" \
		bash -c "[ \$(grep -c 'cleared 1 stale LMDB reader slots' '$TU_TMP/proc.log') -ge $round ]"
	n=$(readers_of "$pid")
	[ "$n" = 0 ] || tu_fail "round $round: the dead reader $pid still holds $n slots after the processor's check"
	tu_log "round $round: reader $pid SIGKILLed in its transaction; its slot was stale, then cleared"
done
kill -0 "$(tu_pid proc)" || tu_fail "the processor died"
tu_stop proc TERM
tu_log "PASS: 3 stale reader slots cleared while the processor ran"
