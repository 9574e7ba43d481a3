#!/usr/bin/env bash
# ctest entry scenario.ghost-worker.dry-run: run.sh with mode dry-run.
exec bash "$(dirname "$0")/run.sh" dry-run
