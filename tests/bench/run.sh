#!/usr/bin/env bash
# tests/bench/run.sh [--short] [NAME...] - runs the benchmarks (BENCHMARKS.md), in order:
#   fold       fold rate vs the JetStream ceiling, the five cases' rules (fold.sh)
#   latency    detection latency at a steady 1k events/s (latency.sh)
#   replay     trueup replay rate vs the live fold rate (replay.sh)
#   scale      a full reconcile at scale (scale.sh): 100k per source, then 1M (RSS)
#   yardstick  the seed's yardstick: 1000 database reconciles at 50 ms per call (yardstick.sh),
#              with one and with four actuators per provider
#   producers  source adapters vs raw clients (producers.sh)
# Long form by default (the figures in BENCHMARKS.md; all six). --short: small streams and few
# rounds of fold, latency and replay (about 40 s), for CI: ctest runs it as bench.short (label
# bench-short, dev pass of ops/test.sh), which prints the figures and asserts nothing; each
# benchmark's output is also written to $TU_BUILD/bench-short/<name>.txt, which ops/test.sh
# prints after the pass. (scale, yardstick and producers have short forms of their own,
# TU_BENCH_SHORT=1: the ctest entries bench-short.<name>; `run.sh --short scale` runs it too.)
# A benchmark that cannot run here (exit 77: no dockerd, ...) is reported and skipped.
# Needs TU_BUILD (a build directory); each benchmark starts and stops its own servers.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${TU_BUILD:?TU_BUILD must name a build directory (e.g. TU_BUILD=\$PWD/build)}"
short=0
if [ "${1:-}" = --short ]; then
	short=1
	shift
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	names=(fold latency replay)
	[ $short = 1 ] || names+=(scale yardstick producers)
fi

run() {
	local name=$1 st
	shift
	if [ $short = 1 ]; then
		mkdir -p "$TU_BUILD/bench-short"
		{
			echo "== bench $name (short)"
			env "$@" bash "$here/$name.sh" 2>&1
		} | tee "$TU_BUILD/bench-short/$name.txt"
		st=${PIPESTATUS[0]}
	else
		echo "== bench $name"
		env "$@" bash "$here/$name.sh"
		st=$?
	fi
	if [ "$st" = 77 ]; then
		echo "== bench $name: skipped (cannot run here)"
		st=0
	fi
	return "$st"
}

rc=0
for name in "${names[@]}"; do
	case $name in
	fold)
		if [ $short = 1 ]; then
			run fold TU_BENCH_EVENTS=40000 TU_BENCH_ENTITIES=2000 TU_BENCH_ROUNDS=3 || rc=1
		else
			run fold TU_BENCH_EVENTS=300000 TU_BENCH_ROUNDS=5 || rc=1
		fi
		;;
	latency)
		if [ $short = 1 ]; then
			run latency TU_BENCH_SECONDS=10 || rc=1
		else
			run latency TU_BENCH_SECONDS=30 || rc=1
		fi
		;;
	replay)
		if [ $short = 1 ]; then
			run replay TU_BENCH_EVENTS=40000 TU_BENCH_ENTITIES=2000 TU_BENCH_ROUNDS=2 || rc=1
		else
			run replay TU_BENCH_EVENTS=300000 TU_BENCH_ROUNDS=3 || rc=1
		fi
		;;
	scale)
		if [ $short = 1 ]; then
			run scale TU_BENCH_SHORT=1 || rc=1
		else
			run scale || rc=1 # 100k per source, 3 rounds
			# 1M: the memory bound (files as the desired source, redis as the actual one)
			run scale TU_BENCH_N=1000000 TU_BENCH_ROUNDS=1 TU_BENCH_DESIRED=files \
				TU_BENCH_ACTUAL=redis || rc=1
		fi
		;;
	yardstick)
		if [ $short = 1 ]; then
			run yardstick TU_BENCH_SHORT=1 || rc=1
		else
			run yardstick || rc=1                      # one actuator per provider
			run yardstick TU_BENCH_ACTUATORS=4 || rc=1 # four sharing each provider's limit
		fi
		;;
	producers)
		if [ $short = 1 ]; then
			run producers TU_BENCH_SHORT=1 || rc=1
		else
			run producers || rc=1
		fi
		;;
	*)
		echo "run.sh: no benchmark $name (fold, latency, replay, scale, yardstick, producers)" >&2
		rc=2
		;;
	esac
done
exit $rc
