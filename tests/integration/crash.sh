#!/usr/bin/env bash
# Crash test (issue: the spine, item 10). Folds >= 100k events while the
# processor is killed with SIGKILL at >= 10 random points and restarted, then
# checks that
#   - the final view equals an uninterrupted fold of the same stream (an LMDB
#     dump, the outbox left out), the uninterrupted fold being `trueup replay`,
#     which runs the same fold code without publishing;
#   - TRUEUP_CMD and TRUEUP_DRIFT hold exactly the messages the uninterrupted
#     fold derives (same ids, same bytes), none twice.
# The chaos suite's tests/chaos/processor_kill.sh runs the same with other sizes.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/chaos.sh"
: "${TU_BUILD:?}"
EVENTS=${TU_CRASH_EVENTS:-200000}
KILLS=${TU_CRASH_KILLS:-12}
tu_setup
tu_start_nats
chaos_fold_config
# Half the stream at once, the rest over KILLS/2 + 2 seconds (chaos_feed). Kill
# after a random 50..249 ms of each run (start-up included), until KILLS kills
# have landed while events were still being folded.
chaos_feed "$EVENTS" 20000 $((KILLS / 2 + 2))
chaos_kill_processor "$EVENTS" "$KILLS" 50 200
chaos_fed
chaos_fold_rest "$EVENTS"
tu_replay_check "$TRUEUP_CONFIG" "$TU_TMP/view-live"
tu_log "PASS: $EVENTS events, $CHAOS_KILLS SIGKILLs ($CHAOS_DURING while folding)"
