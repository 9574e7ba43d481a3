#!/usr/bin/env bash
# bus_closed.sh - the bus after NATS went away before any asynchronous publish went
# through (tests/tools/bus_closed.c): a refused async publish, then dropping the
# pending list (the processor's outbox does this on a failure) must not crash.
. "$(dirname "$0")/../lib/harness.sh"
: "${TU_BUILD:?}"
tu_setup
tu_start_nats
"$TU_BUILD/tests/bus_closed" --url "$NATS_URL" --server-pid "$(tu_pid nats)" || tu_fail "bus_closed"
tu_log "PASS"
