#!/usr/bin/env bash
# LMDB limits (issue 5, item 4): a view whose map is far too small for the
# stream. Each MDB_MAP_FULL aborts the batch's transaction, doubles the map and
# folds the batch again; nothing is lost: the view and the output streams
# equal an uninterrupted fold (replayed into a view of the default size).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/replay_check.sh"
: "${TU_BUILD:?}"
BIN=$TU_BUILD
EVENTS=${TU_MAPFULL_EVENTS:-30000}
tu_setup
tu_start_nats
tu_eventgen_config "map_size: 256KiB"
"$BIN/tests/eventgen" --url "$NATS_URL" --events "$EVENTS" --entities 8000 --drift-pct 3 \
	2>/dev/null || tu_fail "eventgen"
tu_bg proc "$BIN/trueup-processor" --config "$CFG" --instance mapfull
tu_wait_for 120 "the processor to fold all $EVENTS events" tu_done_folding "$CFG" "$EVENTS"
tu_stop proc TERM
grows=$(grep -c 'view map full; growing it' "$TU_TMP/proc.log" || true)
[ "$grows" -ge 3 ] || tu_fail "the map grew $grows times from 256KiB (expected several)"
size=$(du -k "$TU_TMP/view/data.mdb" | cut -f1)
tu_log "the map grew $grows times from 256 KiB; data.mdb holds ${size} KiB"
tu_replay_check "$CFG" "$TU_TMP/view"
tu_log "PASS: MDB_MAP_FULL $grows times, nothing lost"
