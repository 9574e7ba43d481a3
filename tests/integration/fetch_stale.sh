#!/usr/bin/env bash
# fetch_stale.sh - tu_bus_fetch() when earlier pull requests left messages in the
# subscription (what a nats-server restart leaves behind): every fetch returns
# at most its batch, and every message arrives (tests/tools/stale_fetch.c; nats.c
# before 3.9 overruns its array there, nats.c #749, and the processor crashed).
. "$(dirname "$0")/../lib/harness.sh"
: "${TU_BUILD:?}"
tu_setup
tu_start_nats
"$TU_BUILD/tests/stale_fetch" --url "$NATS_URL" || tu_fail "stale_fetch"
