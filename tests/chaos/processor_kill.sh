#!/usr/bin/env bash
# Chaos: SIGKILL the processor again and again during a fold (RELIABILITY.md).
#
# eventgen feeds TRUEUP_EVENTS with EVENTS observations: two sources scan EVENTS/10
# workers about five times each, 2 % of the workers drift (some flapping), and a
# presence rule in enforce mode derives drift events and commands; the processor is started and killed with SIGKILL
# after a random 30..229 ms, KILLS times while events are still being folded,
# then one last run folds the rest. Checked against `trueup replay` (the same
# fold, uninterrupted): the view record by record, TRUEUP_CMD and TRUEUP_DRIFT
# id by id and byte by byte. lost = derived records or messages missing;
# duplicated = messages stored twice or never derived by the uninterrupted fold.
#
# Sizes: TU_CHAOS_EVENTS (default 20000; 200000 with TU_CHAOS_LONG=1),
# TU_CHAOS_KILLS (5; 20).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/chaos.sh"
: "${TU_BUILD:?}"
EVENTS=${TU_CHAOS_EVENTS:-$(chaos_size 20000 200000)}
KILLS=${TU_CHAOS_KILLS:-$(chaos_size 5 20)}
tu_setup
tu_start_nats
chaos_fold_config
# Half the stream at once, the rest over KILLS/2 + 2 seconds: at least as long as
# the kills take, so they land during the fold however fast it is.
chaos_feed "$EVENTS" $((EVENTS / 10)) $((KILLS / 2 + 2))
chaos_kill_processor "$EVENTS" "$KILLS" 30 200
chaos_fed
chaos_fold_rest "$EVENTS"
tu_replay_compare "$TRUEUP_CONFIG" "$TU_TMP/view-live"
cmds=$(wc -l <"$TU_TMP/live.TRUEUP_CMD")
chaos_row "processor SIGKILL during a fold" \
	"$CHAOS_KILLS SIGKILLs ($CHAOS_DURING mid-fold) over $EVENTS events" \
	"$TU_REPLAY_LOST" "$TU_REPLAY_DUP of $cmds commands + $(wc -l <"$TU_TMP/live.TRUEUP_DRIFT") drift events" \
	"n/a (no actuator)"
chaos_verdict "$TU_REPLAY_LOST" "$TU_REPLAY_DUP"
