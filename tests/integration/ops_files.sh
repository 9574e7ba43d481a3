#!/usr/bin/env bash
# The deployment and monitoring files under ops/ (issue 6 item 5), checked without a
# Prometheus, Grafana, systemd or Kubernetes to deploy them to:
#   1. ops_files.py: every YAML/JSON parses; PromQL of alerts and dashboard parses and uses only
#      the metrics and labels of docs/metrics.md; systemd settings; Kubernetes objects against
#      the API schemas, their references and mounts, RBAC against docs/operations.md and the
#      config; the example policies and the ConfigMap loaded by trueup's own loader
#      (`trueup verify --offline`), with each case's rules.
#   2. promtool (Debian package prometheus), when installed: check rules, check config, and
#      the alert unit tests of ops/prometheus/alerts_test.yml.
#   3. systemd-analyze, when installed: verify every unit, and their exposure (security).
# A missing tool is reported as such (its part is not run); the test still fails on anything
# the other parts find.
. "$(dirname "$0")/../lib/harness.sh"
: "${TU_SRC:?}"
tu_setup

/usr/bin/python3 -c 'import yaml' 2>/dev/null || tu_fail "python3-yaml is not installed (ops/install-deps.sh)"
# The example policies and the ConfigMap are loaded by trueup's own loader (verify --offline).
[ -x "${TU_BUILD:-}/trueup" ] || tu_fail "no trueup binary in TU_BUILD (${TU_BUILD:-unset}): the policies cannot be loaded"
/usr/bin/python3 "$TU_SRC/tests/integration/ops_files.py" "$TU_SRC" --trueup "$TU_BUILD/trueup" ||
	tu_fail "ops files (details above)"

# --- promtool -----------------------------------------------------------------------
prom=$TU_SRC/ops/prometheus
if command -v promtool >/dev/null; then
	promtool check rules "$prom/alerts.yml" || tu_fail "promtool check rules"
	promtool check config "$prom/scrape.yml" || tu_fail "promtool check config scrape.yml"
	# Debian's Prometheus is built without Kubernetes service discovery.
	if ! out=$(promtool check config "$prom/scrape-kubernetes.yml" 2>&1); then
		if echo "$out" | grep -q 'field kubernetes_sd_configs not found'; then
			tu_log "note: this promtool has no kubernetes_sd_configs; scrape-kubernetes.yml checked by ops_files.py only"
		else
			echo "$out" >&2
			tu_fail "promtool check config scrape-kubernetes.yml"
		fi
	fi
	# The alert unit tests: every expectation against a copy of alerts.yml without annotations
	# (so that the tests need not repeat every description), and the tests that do give
	# annotations against the real file.
	mkdir -p "$TU_TMP/prom/labels" "$TU_TMP/prom/annotations"
	/usr/bin/python3 - "$prom" "$TU_TMP/prom" <<'EOF' || tu_fail "preparing the alert unit tests"
import sys, yaml
src, out = sys.argv[1], sys.argv[2]
rules = yaml.safe_load(open(f"{src}/alerts.yml"))
tests = yaml.safe_load(open(f"{src}/alerts_test.yml"))
yaml.safe_dump(rules, open(f"{out}/annotations/alerts.yml", "w"), sort_keys=False)
for g in rules["groups"]:
    for r in g["rules"]:
        r.pop("annotations", None)
yaml.safe_dump(rules, open(f"{out}/labels/alerts.yml", "w"), sort_keys=False)
for t in tests["tests"]:
    for a in t.get("alert_rule_test", []):
        for e in a.get("exp_alerts") or []:
            e.pop("exp_annotations", None)
yaml.safe_dump(tests, open(f"{out}/labels/alerts_test.yml", "w"), sort_keys=False)
tests_ann = yaml.safe_load(open(f"{src}/alerts_test.yml"))
tests_ann["tests"] = [t for t in tests_ann["tests"]
                      if any("exp_annotations" in e for a in t.get("alert_rule_test", []) for e in a.get("exp_alerts") or [])]
for t in tests_ann["tests"]:
    t["alert_rule_test"] = [a for a in t["alert_rule_test"]
                            if any("exp_annotations" in e for e in a.get("exp_alerts") or [])]
if not tests_ann["tests"]:
    sys.exit("alerts_test.yml checks no annotations")
yaml.safe_dump(tests_ann, open(f"{out}/annotations/alerts_test.yml", "w"), sort_keys=False)
EOF
	(cd "$TU_TMP/prom/labels" && promtool test rules alerts_test.yml) || tu_fail "promtool test rules (labels)"
	(cd "$TU_TMP/prom/annotations" && promtool test rules alerts_test.yml) || tu_fail "promtool test rules (annotations)"
	echo "ok   promtool: rules, configs and alert unit tests"
else
	echo "note promtool not installed (Debian package prometheus): promtool checks and alert unit tests not run"
fi

# --- systemd-analyze ----------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	# Verify copies whose ExecStart points at binaries that exist here (verify checks that the
	# command is executable); prefer the build's, else any executable stands in.
	units=$TU_TMP/units
	mkdir -p "$units"
	cp "$TU_SRC"/ops/systemd/*.service "$TU_SRC"/ops/systemd/*.target "$units/"
	for b in trueup trueup-processor trueup-producer trueup-actuator; do
		bin=${TU_BUILD:-/nonexistent}/$b
		[ -x "$bin" ] || bin=/bin/true
		sed -i "s|/usr/local/bin/$b |$bin |" "$units"/*.service
	done
	cp "$units/trueup-actuator@.service" "$units/trueup-actuator@redis.service"
	rm "$units/trueup-actuator@.service"
	(cd "$units" && systemd-analyze verify --man=no ./trueup.target ./trueup-streams-apply.service \
		./trueup-processor.service ./trueup-producer.service ./trueup-actuator@redis.service) \
		>"$TU_TMP/verify.log" 2>&1 || { cat "$TU_TMP/verify.log" >&2; tu_fail "systemd-analyze verify"; }
	# verify exits 0 on warnings (unknown keys, bad values): any output is a failure here.
	if grep -v '^$' "$TU_TMP/verify.log" | grep -q .; then
		cat "$TU_TMP/verify.log" >&2
		tu_fail "systemd-analyze verify printed warnings"
	fi
	for u in trueup-streams-apply.service trueup-processor.service trueup-producer.service trueup-actuator@redis.service; do
		out=$(cd "$units" && systemd-analyze security --offline=true --threshold=20 "./$u" 2>&1) ||
			{ echo "$out" | grep '✗' >&2; tu_fail "systemd-analyze security: $u is more exposed than 2.0"; }
		echo "ok   $(echo "$out" | tail -n 1 | sed 's/^→ //')"
	done
	echo "ok   systemd-analyze verify: 5 units"
else
	echo "note systemd-analyze not installed: units checked by ops_files.py only"
fi
tu_log "PASS"
