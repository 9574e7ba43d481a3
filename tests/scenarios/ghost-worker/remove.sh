#!/usr/bin/env bash
# ctest entry scenario.ghost-worker.remove: run.sh with mode remove.
exec bash "$(dirname "$0")/run.sh" remove
