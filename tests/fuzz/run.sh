#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - builds the libFuzzer targets (clang,
# -fsanitize=fuzzer,address,undefined; -DTRUEUP_FUZZ=ON) in their own build
# directory and runs each for SECONDS (default 4), one at a time, starting
# from its committed seeds (tests/fuzz/corpus/<target>) and the corpus the
# earlier runs grew (<build>/run/corpus/<target>). Prints one line of
# figures per target. Exit 0: no target failed; 1: a crash, a sanitizer
# report, a leak, a timeout or a broken check (the log, the input and the
# command that reproduces it are printed); 77: SKIP, clang or libFuzzer is
# not available (the reason is printed).
#
# ctest runs it as fuzz.short (label fuzz) with the default: 12 targets x
# 4 s, about a minute plus the build. RELIABILITY.md's figures come from
# `tests/fuzz/run.sh 140` (about 30 minutes). The config target also starts
# from the configs the repository ships (ops/examples, tests/scenarios).
#
# Environment: TU_FUZZ_BUILD (default <repo>/build/fuzz), TU_FUZZ_TARGETS
# (space-separated names, e.g. "fold tmpl"; default all), TU_FUZZ_JOBS
# (build parallelism; default nproc).
set -euo pipefail

secs=${1:-4}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${TU_FUZZ_BUILD:-$src/build/fuzz}
out=$build/run

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

command -v clang >/dev/null || skip "clang is not installed (Debian: apt-get install clang; ops/install-deps.sh installs it)"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err"; then
	skip "clang cannot link libFuzzer with ASan and UBSan ($(head -c 300 "$probe/err" | tr '\n' ' '))"
fi

echo "== fuzz: building the targets in $build" >&2
CC=clang cmake -S "$src" -B "$build" -DTRUEUP_DEV=ON -DTRUEUP_FUZZ=ON -DTRUEUP_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo | grep -E '^-- trueup:' >&2 || true
cmake --build "$build" --target fuzz -j"${TU_FUZZ_JOBS:-$(nproc)}" >"$build/fuzz-build.log" 2>&1 || {
	tail -n 40 "$build/fuzz-build.log" >&2
	echo "FAIL: the fuzz targets do not build (log: $build/fuzz-build.log)" >&2
	exit 1
}

targets=${TU_FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
	targets=$(cd "$src/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//' | tr '\n' ' ')
fi
mkdir -p "$out/log" "$out/crash"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=0
printf '%-10s %6s %10s %9s %7s %7s %11s\n' target secs execs exec/s cov ft corpus >&2
for t in $targets; do
	bin=$build/tests/fuzz/fuzz_$t
	seeds=$src/tests/fuzz/corpus/$t
	work=$out/corpus/$t
	log=$out/log/$t.log
	extra=$out/seeds/$t
	rm -rf "$extra"
	mkdir -p "$work" "$seeds" "$extra"
	if [ "$t" = config ]; then
		# the configs the repository ships and tests with are seeds too
		for f in "$src"/ops/examples/policies/*.yaml "$src"/ops/examples/*/trueup.yaml.in \
			"$src"/tests/scenarios/*/trueup.yaml.in; do
			[ -f "$f" ] && cp "$f" "$extra/$(sed 's|/|_|g' <<<"${f#"$src"/}")"
		done
	fi
	# a dictionary of the words the parser knows: the short string literals of its sources
	dict=()
	case $t in
	config) words=(lib/config.c) ;;
	tmpl | jsonmap) words=(lib/tmpl.c lib/jsonmap.c) ;;
	files) words=(producers/files_source.c) ;;
	*) words=() ;;
	esac
	if [ ${#words[@]} -gt 0 ]; then
		(cd "$src" && grep -h -o '"[a-z][a-z0-9_.-]*"' "${words[@]}") | sort -u >"$out/$t.dict"
		dict=(-dict="$out/$t.dict")
	fi
	rc=0
	timeout --signal=KILL $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=20 \
		-print_final_stats=1 -artifact_prefix="$out/crash/$t-" "${dict[@]}" \
		"$work" "$seeds" "$extra" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -a -E '^#[0-9]+' "$log" | tail -n 1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
	printf '%-10s %6s %10s %9s %7s %7s %11s\n' "$t" "$secs" "${execs:--}" "${rate:--}" \
		"${cov:--}" "${ft:--}" "${corp:--}" >&2
	if [ "$rc" -ne 0 ]; then
		failed=1
		echo "FAIL: fuzz_$t exited with $rc; the end of its log ($log):" >&2
		grep -a -v -E '^#[0-9]+|^INFO:|^stat::' "$log" | tail -n 60 >&2
		find "$out/crash" -name "$t-*" -newer "$probe/p.c" | while read -r a; do
			echo "input: $a; reproduce: $bin $a" >&2
		done
	fi
done
exit "$failed"
