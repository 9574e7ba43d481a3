#!/usr/bin/env bash
# ctest entry scenario.ghost-worker.register: run.sh with mode register.
exec bash "$(dirname "$0")/run.sh" register
