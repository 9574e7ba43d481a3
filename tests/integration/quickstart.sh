#!/usr/bin/env bash
# The main job itself: ops/quickstart.sh (with this build's binaries) must end
# with the fleet consistent and say so: worker 3 gone from Redis, the counter
# at 3, drift found, commands and outcomes audited, nothing left open.
: "${TU_BUILD:?}" "${TU_SRC:?}"
out=$(TU_BUILD=$TU_BUILD bash "$TU_SRC/ops/quickstart.sh" 2>&1) || {
	echo "$out" >&2
	echo "FAIL: quickstart exited non-zero" >&2
	exit 1
}
after=$(echo "$out" | sed -n '/== after: what Redis holds now/,/== status/p')
fail() { echo "$out" >&2; echo "FAIL: $*" >&2; exit 1; }
echo "$after" | grep -q 'autoscaler:workers:next_number  3$' || fail "counter not 3 after the run"
echo "$after" | grep -q 'k3s-worker-3' && fail "worker 3 still in Redis"
echo "$after" | grep -q 'k3s-worker-1  status ready' || fail "worker 1 touched"
echo "$out" | grep -q 'drift   opened    ghost-worker' || fail "no ghost-worker drift shown"
echo "$out" | grep -q 'outcome redis.del .* succeeded' || fail "no del outcome in the audit"
echo "$out" | grep -q 'outcome redis.set .* succeeded' || fail "no set outcome in the audit"
echo "$out" | grep -A1 '^drift:' | grep -q '(none)' || fail "drift left open"
echo "PASS"
