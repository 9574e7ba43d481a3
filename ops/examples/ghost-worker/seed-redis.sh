#!/usr/bin/env bash
# Seeds Redis (port $1) with the ghost-worker case: workers 1-3, worker 3
# stuck initializing, and a counter that says 7 where 3 is right.
set -euo pipefail
r() { redis-cli -p "$1" "${@:2}" >/dev/null; }
r "$1" HSET autoscaler:workers:k3s-worker-1 status ready ip 10.0.0.11
r "$1" HSET autoscaler:workers:k3s-worker-2 status ready ip 10.0.0.12
r "$1" HSET autoscaler:workers:k3s-worker-3 status initializing ip 10.0.0.13
r "$1" SET autoscaler:workers:next_number 7
