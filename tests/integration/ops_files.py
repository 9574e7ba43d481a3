#!/usr/bin/python3
"""ops_files.py - static checks of the deployment and monitoring files under ops/.

Run by tests/integration/ops_files.sh (which adds promtool and systemd-analyze when they are
installed): every YAML and JSON file parses; the Prometheus rules and the Grafana dashboard
use only the metric names (and labels) docs/metrics.md documents, in PromQL that parses; the
systemd units carry the settings docs/operations.md promises; the Kubernetes manifests match
the Kubernetes API's object schemas (python3-kubernetes models), refer to objects that exist,
mount every file the configuration names where it is read, and grant each ServiceAccount only
the verbs docs/operations.md lists for it and exactly the resources, in exactly the namespaces,
the configuration observes or changes; the example policies (one per case of DESIGN.md) and the
ConfigMap's configuration load with trueup's own loader (`trueup verify --offline`) and have
their case's rules.

usage: ops_files.py SRC_DIR --trueup PATH/TO/trueup
       (prints one line per check group; exit 1 on any failure)
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

SRC = sys.argv[1] if len(sys.argv) > 1 else "."
FAILS = []
NOTES = []


def fail(where, msg):
    FAILS.append(f"{where}: {msg}")


def rel(p):
    return os.path.relpath(p, SRC)


def ops_files(exts):
    out = []
    for root, dirs, files in os.walk(os.path.join(SRC, "ops")):
        dirs[:] = [d for d in dirs if d != "node_modules"]
        for f in files:
            if f.endswith(exts):
                out.append(os.path.join(root, f))
    return sorted(out)


# ---------------------------------------------------------------------------------------
# docs/metrics.md: metric names, types and labels
# ---------------------------------------------------------------------------------------
def load_metrics():
    text = open(os.path.join(SRC, "docs/metrics.md")).read()
    metrics = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`(trueup_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram)\s*\|([^|]*)\|", line)
        if m:
            labels = set(re.findall(r"`([a-z_]+)`", m.group(3)))
            old = metrics.get(m.group(1))
            if old:
                labels |= old[1]
            metrics[m.group(1)] = (m.group(2), labels)
    # "Every component also exports `trueup_build_info{version,component}` = 1 and `trueup_up` = 1."
    for name, labels in re.findall(r"`(trueup_[a-z0-9_]+)(?:\{([a-z_,]*)\})?`\s*=", text):
        metrics.setdefault(name, ("gauge", set(filter(None, labels.split(",")))))
    if len(metrics) < 20:
        fail("docs/metrics.md", f"found only {len(metrics)} metrics in its tables")
    return metrics


METRICS = load_metrics()
TARGET_LABELS = {"job", "instance", "pod", "namespace", "actuator"}  # added by Prometheus / scrape configs


def series_names():
    names = {"up": ("gauge", set())}
    for n, (t, labels) in METRICS.items():
        names[n] = (t, labels)
        if t == "histogram":
            names[n + "_bucket"] = (t, labels | {"le"})
            names[n + "_sum"] = (t, labels)
            names[n + "_count"] = (t, labels)
    return names


SERIES = series_names()

# ---------------------------------------------------------------------------------------
# A PromQL parser (a recursive-descent subset: everything these files use and more)
# ---------------------------------------------------------------------------------------
FUNCS = {
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max",
    "clamp_min", "count_over_time", "day_of_month", "day_of_week", "days_in_month", "delta", "deriv",
    "exp", "floor", "histogram_quantile", "holt_winters", "hour", "idelta", "increase", "irate",
    "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "max_over_time",
    "min_over_time", "minute", "month", "predict_linear", "present_over_time", "quantile_over_time",
    "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev_over_time",
    "stdvar_over_time", "sum_over_time", "time", "timestamp", "vector", "year",
}
RANGE_FUNCS = {
    "absent_over_time", "avg_over_time", "changes", "count_over_time", "delta", "deriv",
    "holt_winters", "idelta", "increase", "irate", "last_over_time", "max_over_time",
    "min_over_time", "predict_linear", "present_over_time", "quantile_over_time", "rate",
    "resets", "stddev_over_time", "stdvar_over_time", "sum_over_time",
}
AGGS = {"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
        "count_values", "group"}
PARAM_AGGS = {"topk", "bottomk", "quantile", "count_values"}
KEYWORD_BINOPS = {"and", "or", "unless"}
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<dur>[0-9]+(?:ms|s|m|h|d|w|y)(?:[0-9]+(?:ms|s|m|h|d|w|y))*(?![A-Za-z0-9_]))
  | (?P<num>(?:[0-9]*\.[0-9]+|[0-9]+)(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|Inf|NaN)
  | (?P<id>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>==|!=|=~|!~|>=|<=|[-+*/%^<>=(){}\[\],:@])
""", re.X)


class PromQLError(Exception):
    pass


def tokenize(s):
    toks, pos = [], 0
    while pos < len(s):
        m = TOKEN.match(s, pos)
        if not m:
            raise PromQLError(f"unexpected character {s[pos]!r} at {pos}")
        pos = m.end()
        if m.lastgroup != "ws":
            toks.append((m.lastgroup, m.group()))
    toks.append(("end", ""))
    return toks


class Parser:
    """expr := unary (binop [bool] [on|ignoring (labels) [group_left|group_right [(labels)]]] unary)*"""

    PREC = [{"or"}, {"and", "unless"}, {"==", "!=", ">", "<", ">=", "<="}, {"+", "-"},
            {"*", "/", "%"}, {"^"}]

    def __init__(self, text):
        self.t = tokenize(text)
        self.i = 0
        self.selectors = []  # (metric name or None, {label: (op, value)})
        self.grouping = []   # label lists of by/without/on/ignoring
        self.funcs = []

    def peek(self, k=0):
        return self.t[self.i + k]

    def take(self, kind=None, val=None):
        tok = self.t[self.i]
        if kind and tok[0] != kind or val is not None and tok[1] != val:
            raise PromQLError(f"expected {val or kind}, got {tok[1] or 'end'!r}")
        self.i += 1
        return tok

    def parse(self):
        self.expr(0)
        if self.peek()[0] != "end":
            raise PromQLError(f"unexpected {self.peek()[1]!r} after the expression")
        return self

    def binop_here(self, level):
        k, v = self.peek()
        return (k == "op" or k == "id") and v in self.PREC[level]

    def expr(self, level):
        if level == len(self.PREC):
            return self.unary()
        self.expr(level + 1)
        while self.binop_here(level):
            self.take()
            if self.peek() == ("id", "bool"):
                self.take()
            if self.peek()[1] in ("on", "ignoring"):
                self.take()
                self.grouping.append(self.labels())
                if self.peek()[1] in ("group_left", "group_right"):
                    self.take()
                    if self.peek()[1] == "(":
                        self.grouping.append(self.labels())
            self.expr(level + 1)

    def unary(self):
        if self.peek()[1] in ("-", "+"):
            self.take()
        self.postfix()

    def postfix(self):
        self.primary()
        while True:
            v = self.peek()[1]
            if v == "[":
                self.take()
                self.take("dur")
                if self.peek()[1] == ":":
                    self.take()
                    if self.peek()[0] == "dur":
                        self.take()
                self.take("op", "]")
            elif v == "offset":
                self.take()
                if self.peek()[1] == "-":
                    self.take()
                self.take("dur")
            elif v == "@":
                self.take()
                if self.peek()[0] == "num":
                    self.take()
                else:
                    self.take("id")
                    self.take("op", "(")
                    self.take("op", ")")
            else:
                return

    def labels(self):
        self.take("op", "(")
        out = []
        while self.peek()[1] != ")":
            out.append(self.take("id")[1])
            if self.peek()[1] == ",":
                self.take()
            elif self.peek()[1] != ")":
                raise PromQLError(f"expected , or ) in a label list, got {self.peek()[1]!r}")
        self.take("op", ")")
        return out

    def matchers(self):
        self.take("op", "{")
        out = {}
        while self.peek()[1] != "}":
            name = self.take("id")[1]
            op = self.take("op")[1]
            if op not in ("=", "!=", "=~", "!~"):
                raise PromQLError(f"bad matcher operator {op!r}")
            val = self.take("str")[1][1:-1]
            if op in ("=~", "!~"):
                try:
                    re.compile(val.replace("\\\\", "\\"))
                except re.error as e:
                    raise PromQLError(f"bad regex {val!r}: {e}")
            out[name] = (op, val)
            if self.peek()[1] == ",":
                self.take()
            elif self.peek()[1] != "}":
                raise PromQLError(f"expected , or }} in matchers, got {self.peek()[1]!r}")
        self.take("op", "}")
        return out

    def args(self):
        self.take("op", "(")
        n = 0
        while self.peek()[1] != ")":
            self.expr(0)
            n += 1
            if self.peek()[1] == ",":
                self.take()
            elif self.peek()[1] != ")":
                raise PromQLError(f"expected , or ) in arguments, got {self.peek()[1]!r}")
        self.take("op", ")")
        return n

    def primary(self):
        k, v = self.peek()
        if k in ("num", "str"):
            self.take()
        elif v == "(":
            self.take()
            self.expr(0)
            self.take("op", ")")
        elif v == "{":
            self.selectors.append((None, self.matchers()))
        elif k == "id" and v in AGGS:
            self.take()
            if self.peek()[1] in ("by", "without"):
                self.take()
                self.grouping.append(self.labels())
            n = self.args()
            want = 2 if v in PARAM_AGGS else 1
            if n != want:
                raise PromQLError(f"{v} takes {want} argument(s), got {n}")
            if self.peek()[1] in ("by", "without"):
                self.take()
                self.grouping.append(self.labels())
        elif k == "id" and self.peek(1)[1] == "(":
            if v not in FUNCS:
                raise PromQLError(f"unknown function {v}")
            self.take()
            self.funcs.append(v)
            self.args()
        elif k == "id":
            self.take()
            m = self.matchers() if self.peek()[1] == "{" else {}
            self.selectors.append((v, m))
        else:
            raise PromQLError(f"unexpected {v or 'end'!r}")


GRAFANA_BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__range_s": "3600",
                    "__interval_ms": "60000"}


def check_promql(where, expr, variables=None):
    """Parses expr; checks metric names and labels against docs/metrics.md. Returns the parser."""
    text = expr
    if variables is not None:
        def sub(m):
            name = m.group(1) or m.group(2)
            if name in GRAFANA_BUILTINS:
                return GRAFANA_BUILTINS[name]
            if name not in variables:
                fail(where, f"uses undefined dashboard variable ${name}")
            return name  # only inside strings ("$rule") here
        text = re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, expr)
    try:
        p = Parser(text).parse()
    except PromQLError as e:
        fail(where, f"PromQL does not parse: {e}: {expr!r}")
        return None
    known = set(TARGET_LABELS) | {"le"}
    for name, matchers in p.selectors:
        if name is None:
            name = matchers.get("__name__", (None, None))[1]
        if name not in SERIES:
            fail(where, f"metric {name} is not in docs/metrics.md")
            continue
        labels = SERIES[name][1] | TARGET_LABELS
        for label in matchers:
            if label != "__name__" and label not in labels:
                fail(where, f"{name} has no label {label} in docs/metrics.md")
        known |= SERIES[name][1]
    for group in p.grouping:
        for label in group:
            if label not in known:
                fail(where, f"groups by {label}, which none of its metrics has")
    return p


def metric_names(p):
    return {n for n, _ in p.selectors if n}


# ---------------------------------------------------------------------------------------
# 1. Every YAML and JSON file under ops/ parses
# ---------------------------------------------------------------------------------------
def check_parse():
    n = 0
    for path in ops_files((".yml", ".yaml")):
        try:
            list(yaml.safe_load_all(open(path)))
            n += 1
        except yaml.YAMLError as e:
            fail(rel(path), f"YAML does not parse: {e}")
    for path in ops_files((".json",)):
        try:
            json.load(open(path))
            n += 1
        except ValueError as e:
            fail(rel(path), f"JSON does not parse: {e}")
    return f"{n} YAML/JSON files parse"


# ---------------------------------------------------------------------------------------
# 2. Prometheus: alerts and scrape configs
# ---------------------------------------------------------------------------------------
JOBS = {"trueup-processor", "trueup-producer", "trueup-actuator"}
GO_TEMPLATE_VAR = re.compile(r"\$(labels\.[a-z_]+|value|externalLabels\.[a-z_]+|externalURL)\b|\$([a-zA-Z_.]+)")


def check_template(where, text):
    depth = 0
    for m in re.finditer(r"\{\{|\}\}", text):
        depth += 1 if m.group() == "{{" else -1
        if depth not in (0, 1):
            fail(where, f"unbalanced {{{{ }}}} in {text!r}")
            return
    if depth:
        fail(where, f"unbalanced {{{{ }}}} in {text!r}")
    for inner in re.findall(r"\{\{(.*?)\}\}", text, re.S):
        for m in GO_TEMPLATE_VAR.finditer(inner):
            if m.group(2):
                fail(where, f"unknown template variable ${m.group(2)}")


def check_alerts():
    path = os.path.join(SRC, "ops/prometheus/alerts.yml")
    doc = yaml.safe_load(open(path))
    seen, used = set(), set()
    n = 0
    for g in doc.get("groups", []):
        if not g.get("name"):
            fail(rel(path), "a group without a name")
        for r in g.get("rules", []):
            n += 1
            name = r.get("alert")
            where = f"{rel(path)}: {name}"
            if not name or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                fail(rel(path), f"bad alert name {name!r}")
            if name in seen:
                fail(where, "duplicate alert name")
            seen.add(name)
            unknown = set(r) - {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
            if unknown:
                fail(where, f"unknown fields {sorted(unknown)}")
            if not DURATION.match(str(r.get("for", ""))):
                fail(where, f"needs a for: duration, has {r.get('for')!r}")
            labels = r.get("labels") or {}
            if labels.get("severity") not in ("critical", "warning", "info"):
                fail(where, f"severity {labels.get('severity')!r}")
            for k, v in labels.items():
                check_template(where, str(v))
            ann = r.get("annotations") or {}
            for k in ("summary", "description"):
                if not ann.get(k):
                    fail(where, f"no {k}")
                else:
                    check_template(where, ann[k])
            desc = ann.get("description", "")
            if not re.search(r"`(trueup (status|audit|drift|trigger|streams|approve|replay)|systemctl|journalctl|kubectl)", desc):
                fail(where, "the description names no command to run (`trueup status`, `trueup audit`, ...)")
            p = check_promql(where, r.get("expr", ""))
            if p:
                used |= metric_names(p)
                for _, m in p.selectors:
                    job = m.get("job")
                    if job and job[0] == "=" and job[1] not in JOBS:
                        fail(where, f"job {job[1]} is not a job of scrape.yml")
    exprs = " ".join(str(r.get("expr")) for g in doc["groups"] for r in g["rules"])
    for need, what in [("trueup_drift_oldest_open_seconds", "drift open too long"),
                       ('result=~"failed-.*"', "fixes failing"), ("trueup_drift_escalated_total", "escalations"),
                       ("trueup_consumer_lag", "consumer lag"), ('result="incomplete"', "incomplete scans"),
                       ("up{", "component down"), ("absent(trueup_up", "component absent"),
                       ("trueup_outbox_depth", "outbox backing up")]:
        if need not in exprs:
            fail(rel(path), f"no alert on {what} ({need})")
    return f"alerts.yml: {n} alerts parse, documented metrics only ({len(used)} used)"


def check_scrape():
    out = []
    for name in ("scrape.yml", "scrape-kubernetes.yml"):
        path = os.path.join(SRC, "ops/prometheus", name)
        doc = yaml.safe_load(open(path))
        if doc.get("rule_files") != ["alerts.yml"]:
            fail(rel(path), "rule_files should be [alerts.yml]")
        jobs = [j["job_name"] for j in doc.get("scrape_configs", [])]
        if name == "scrape.yml":
            if set(jobs) != JOBS:
                fail(rel(path), f"jobs {jobs}, want {sorted(JOBS)}")
            for j in doc["scrape_configs"]:
                for sc in j.get("static_configs", []):
                    for t in sc.get("targets", []):
                        if not re.match(r"^[A-Za-z0-9.-]+:[0-9]+$", t):
                            fail(rel(path), f"bad target {t}")
                    if {"component", "target"} & set(sc.get("labels", {})):
                        fail(rel(path), "a target label would shadow a metric label")
        out.append(f"{name}: jobs {', '.join(jobs)}")
    return "; ".join(out)


# ---------------------------------------------------------------------------------------
# 3. Grafana dashboard
# ---------------------------------------------------------------------------------------
def check_dashboard():
    path = os.path.join(SRC, "ops/grafana/trueup.json")
    d = json.load(open(path))
    where = rel(path)
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
        fail(where, f"schemaVersion {d.get('schemaVersion')} < 36")
    for k in ("title", "uid", "panels", "templating", "time"):
        if k not in d:
            fail(where, f"no {k}")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    ds = [v for v in variables.values() if v.get("type") == "datasource"]
    if not ds or ds[0].get("query") != "prometheus":
        fail(where, "needs a datasource variable of type prometheus")
    ds_ref = "${%s}" % ds[0]["name"] if ds else None
    for v in variables.values():
        if v.get("type") == "query":
            q = v.get("definition") or v.get("query", {}).get("query", "")
            m = re.match(r"^label_values\((\w+),\s*(\w+)\)$", q)
            if not m or m.group(1) not in SERIES or m.group(2) not in SERIES[m.group(1)][1]:
                fail(where, f"variable {v['name']}: {q!r} is not label_values of a documented metric and label")
            if v.get("datasource", {}).get("uid") != ds_ref:
                fail(where, f"variable {v['name']} does not use {ds_ref}")
    panels = []
    for p in d.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))
    ids, used, boxes = set(), set(), []
    for p in panels:
        pw = f"{where}: panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            fail(pw, "duplicate id")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "hwxy") or g["x"] + g["w"] > 24 or g["w"] < 1:
            fail(pw, f"bad gridPos {g}")
        else:
            for other, og in boxes:
                if g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"] and \
                   g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]:
                    fail(pw, f"overlaps panel {other}")
            boxes.append((p.get("id"), g))
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != ds_ref:
            fail(pw, f"datasource is not {ds_ref}")
        if not p.get("targets"):
            fail(pw, "no queries")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid", ds_ref) != ds_ref:
                fail(pw, f"query datasource is not {ds_ref}")
            q = check_promql(pw, t.get("expr", ""), variables)
            if q:
                used |= metric_names(q)
    for a in d.get("annotations", {}).get("list", []):
        if a.get("expr"):
            q = check_promql(f"{where}: annotation {a.get('name')}", a["expr"], variables)
            if q:
                used |= metric_names(q)
    want = {"trueup_events_folded_total", "trueup_consumer_lag", "trueup_outbox_depth", "trueup_applied_sequence",
            "trueup_drift_open", "trueup_drift_pending", "trueup_drift_opened_total", "trueup_drift_resolved_total",
            "trueup_commands_issued_total", "trueup_outcomes_total", "trueup_issues_fixed_total",
            "trueup_scan_duration_seconds_bucket", "trueup_scan_entities", "trueup_scans_total",
            "trueup_actuator_duration_seconds_bucket", "trueup_breaker_state"}
    if want - used:
        fail(where, f"does not show {sorted(want - used)}")
    return f"trueup.json: schemaVersion {d.get('schemaVersion')}, {len(panels)} panels, {len(used)} documented metrics, PromQL parses"


# ---------------------------------------------------------------------------------------
# 4. systemd units (settings; systemd-analyze runs from the shell script)
# ---------------------------------------------------------------------------------------
def unit_settings(path):
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        out.setdefault((section, k), []).append(v)
    return out


def check_systemd():
    d = os.path.join(SRC, "ops/systemd")
    units = ["trueup-streams-apply.service", "trueup-processor.service", "trueup-producer.service",
             "trueup-actuator@.service"]
    for u in units + ["trueup.target"]:
        if not os.path.exists(os.path.join(d, u)):
            fail(f"ops/systemd/{u}", "missing")
    for u in units:
        s = unit_settings(os.path.join(d, u))
        w = f"ops/systemd/{u}"
        get = lambda k, sec="Service": s.get((sec, k), [])
        for k, want in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                        ("PrivateTmp", "yes"), ("Restart", "on-failure"),
                        ("EnvironmentFile", "-/etc/default/trueup")]:
            if want not in get(k):
                fail(w, f"needs {k}={want}")
        if "yes" not in get("DynamicUser") and "trueup" not in get("User"):
            fail(w, "needs DynamicUser=yes or User=trueup")
        if not any("/etc/trueup/trueup.yaml" in v for v in get("Environment") + get("ExecStart")):
            fail(w, "config is not /etc/trueup/trueup.yaml")
        if "trueup.target" not in get("WantedBy", "Install") or "trueup.target" not in get("PartOf", "Unit"):
            fail(w, "needs PartOf= and WantedBy=trueup.target")
        if u != "trueup-streams-apply.service":
            if "SIGTERM" not in get("KillSignal") or not get("TimeoutStopSec"):
                fail(w, "needs KillSignal=SIGTERM and TimeoutStopSec=")
            for k in ("Requires", "After"):
                if not any("trueup-streams-apply.service" in v for v in s.get(("Unit", k), [])):
                    fail(w, f"needs {k}=trueup-streams-apply.service")
        else:
            if "oneshot" not in get("Type"):
                fail(w, "needs Type=oneshot")
    p = unit_settings(os.path.join(d, "trueup-processor.service"))
    if "trueup" not in p.get(("Service", "StateDirectory"), []):
        fail("ops/systemd/trueup-processor.service", "needs StateDirectory=trueup (the view)")
    a = unit_settings(os.path.join(d, "trueup-actuator@.service"))
    if not any("--target %i" in v for v in a.get(("Service", "ExecStart"), [])):
        fail("ops/systemd/trueup-actuator@.service", "ExecStart needs --target %i")
    return f"systemd: {len(units)} services and trueup.target carry the documented settings"


# ---------------------------------------------------------------------------------------
# 5. Kubernetes manifests
# ---------------------------------------------------------------------------------------
def k8s_schema_check(where, obj):
    """Checks obj against the Kubernetes API's object schema (python3-kubernetes models)."""
    import kubernetes.client as kc

    api, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    version = api.split("/")[-1]
    cls_name = version.capitalize() + kind
    cls = getattr(kc, cls_name, None)
    if cls is None:
        fail(where, f"no Kubernetes model {cls_name} for {api} {kind}")
        return

    def walk(data, typ, path):
        if data is None:
            return
        if typ.startswith("list["):
            if not isinstance(data, list):
                fail(where, f"{path}: a list is expected")
                return
            for i, x in enumerate(data):
                walk(x, typ[5:-1], f"{path}[{i}]")
        elif typ.startswith("dict("):
            if not isinstance(data, dict):
                fail(where, f"{path}: a mapping is expected")
                return
            inner = typ[5:-1].split(",", 1)[1].strip()
            for k, v in data.items():
                walk(v, inner, f"{path}.{k}")
        elif typ == "str":
            if not isinstance(data, str):
                fail(where, f"{path}: a string is expected, got {data!r}")
        elif typ == "int":
            if not isinstance(data, int) or isinstance(data, bool):
                fail(where, f"{path}: an integer is expected, got {data!r}")
        elif typ == "bool":
            if not isinstance(data, bool):
                fail(where, f"{path}: true or false is expected, got {data!r}")
        elif typ in ("object", "datetime", "float"):
            pass
        else:
            model = getattr(kc, typ)
            if not isinstance(data, dict):
                fail(where, f"{path}: a {typ} mapping is expected")
                return
            by_json = {j: py for py, j in model.attribute_map.items()}
            kwargs = {}
            for k, v in data.items():
                if k not in by_json:
                    fail(where, f"{path}.{k}: unknown field of {typ}")
                    continue
                walk(v, model.openapi_types[by_json[k]], f"{path}.{k}")
                kwargs[by_json[k]] = v
            try:
                model(**kwargs)  # required fields and enum values
            except (ValueError, TypeError) as e:
                fail(where, f"{path}: {e}")

    walk(obj, cls_name, kind)


def k8s_key(o):
    """RoleBindings of one name exist in several namespaces; other objects are unique by name."""
    md = o["metadata"]
    return f"{md.get('namespace')}/{md['name']}" if o["kind"] == "RoleBinding" else md["name"]


def check_kubernetes():
    d = os.path.join(SRC, "ops/kubernetes")
    objs = []
    for f in sorted(os.listdir(d)):
        if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml":
            for o in yaml.safe_load_all(open(os.path.join(d, f))):
                if o:
                    objs.append((f, o))
    kust = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
    listed = set(kust.get("resources", []))
    files = {f for f, _ in objs}
    if listed != files:
        fail("ops/kubernetes/kustomization.yaml", f"lists {sorted(listed)}, files are {sorted(files)}")
    try:
        import kubernetes.client  # noqa: F401
        schema = True
    except ImportError:
        schema = False
        NOTES.append("python3-kubernetes not installed: Kubernetes object schemas not checked")
    by_kind = {}
    for f, o in objs:
        where = f"ops/kubernetes/{f}: {o.get('kind')} {o.get('metadata', {}).get('name')}"
        if schema:
            k8s_schema_check(where, o)
        key = k8s_key(o)
        if key in by_kind.get(o["kind"], {}):
            fail(where, "defined twice")
        by_kind.setdefault(o["kind"], {})[key] = (f, o)

    cm = by_kind.get("ConfigMap", {}).get("trueup-config")
    if not cm:
        fail("ops/kubernetes", "no ConfigMap trueup-config")
        return "kubernetes: incomplete"
    cfg = yaml.safe_load(cm[1]["data"]["trueup.yaml"])
    observed, changed = kube_needs(cfg)
    # Everything lives in namespace trueup, except the RoleBindings that grant trueup access to
    # the namespaces it observes and changes.
    rbac_namespaces = {ns for *_, ns in observed | changed} - {"*"}
    for f, o in objs:
        where = f"ops/kubernetes/{f}: {o['kind']} {o['metadata'].get('name')}"
        ns = o["metadata"].get("namespace")
        if o["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            continue
        if o["kind"] == "RoleBinding" and ns != "trueup":
            if ns not in rbac_namespaces:
                fail(where, f"in namespace {ns}, which the configuration neither observes nor changes")
        elif ns != "trueup":
            fail(where, f"namespace {ns}, want trueup")
    secret = by_kind.get("Secret", {}).get("trueup-credentials", (None, {}))[1]
    secret_keys = set((secret.get("stringData") or {}) | (secret.get("data") or {}))
    sas = set(by_kind.get("ServiceAccount", {}))

    # Deployments: references, probes, security, one per target, sources covered once, and
    # every file the configuration names for a component mounted in its pod
    deploys = by_kind.get("Deployment", {})
    sources_run, targets_run = [], []
    mounted_files = 0
    for name, (f, o) in deploys.items():
        where = f"ops/kubernetes/{f}: Deployment {name}"
        spec = o["spec"]["template"]["spec"]
        if spec.get("serviceAccountName") not in sas:
            fail(where, f"ServiceAccount {spec.get('serviceAccountName')} not defined")
        if not spec.get("securityContext", {}).get("runAsNonRoot"):
            fail(where, "pod must run as non-root")
        for vol in spec.get("volumes", []):
            if "secret" in vol:
                for it in vol["secret"].get("items", []):
                    if it["key"] not in secret_keys:
                        fail(where, f"Secret key {it['key']} does not exist")
            if "configMap" in vol and not vol["configMap"].get("optional"):
                if vol["configMap"]["name"] not in by_kind.get("ConfigMap", {}):
                    fail(where, f"ConfigMap {vol['configMap']['name']} does not exist")
            if "persistentVolumeClaim" in vol:
                if vol["persistentVolumeClaim"]["claimName"] not in by_kind.get("PersistentVolumeClaim", {}):
                    fail(where, "PVC does not exist")
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False or not sc.get("readOnlyRootFilesystem") or \
               sc.get("capabilities", {}).get("drop") != ["ALL"]:
                fail(where, f"container {c['name']}: needs allowPrivilegeEscalation false, readOnlyRootFilesystem, drop ALL")
        c = spec["containers"][0]
        args = c.get("args", [])
        comp = o["metadata"]["labels"].get("app.kubernetes.io/component")
        parts = [cfg.get("nats") or {}]
        if comp == "processor":
            if o["spec"].get("replicas") != 1 or o["spec"].get("strategy", {}).get("type") != "Recreate":
                fail(where, "one replica, strategy Recreate")
            if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz" or \
               c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                fail(where, "probes on /healthz and /readyz")
            if not any(m["mountPath"] == "/var/lib/trueup" for m in c.get("volumeMounts", [])):
                fail(where, "the view's volume is not at /var/lib/trueup")
        elif comp == "producer":
            mine = [args[i + 1] for i, a in enumerate(args) if a == "--source"]
            sources_run += mine
            parts += [s for s in cfg.get("sources", []) if s["name"] in mine]
        elif comp == "actuator":
            mine = [args[i + 1] for i, a in enumerate(args) if a == "--target"]
            targets_run += mine
            parts += [t for t in cfg.get("targets", []) if t["name"] in mine]
        if not c.get("livenessProbe"):
            fail(where, "no liveness probe")
        for cont in spec.get("initContainers", []) + [c]:
            for p in sorted(set().union(*(config_files(x) for x in parts))):
                mounted_files += 1
                why = unmounted(cont, spec, by_kind, secret_keys, p)
                if why:
                    fail(f"{where}: container {cont['name']}", f"{p} (named by the configuration) {why}")
    cfg_sources = [s["name"] for s in cfg.get("sources", [])]
    cfg_targets = [t["name"] for t in cfg.get("targets", [])]
    if sorted(sources_run) != sorted(cfg_sources):
        fail("ops/kubernetes/producers.yaml", f"runs sources {sorted(sources_run)}, config has {sorted(cfg_sources)}")
    if sorted(targets_run) != sorted(cfg_targets):
        fail("ops/kubernetes/actuators.yaml", f"runs targets {sorted(targets_run)}, config has {sorted(cfg_targets)}")

    # Services: scrape annotations, selectors that select, one per component
    for name, (f, o) in by_kind.get("Service", {}).items():
        where = f"ops/kubernetes/{f}: Service {name}"
        ann = o["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics":
            fail(where, "needs prometheus.io/scrape and prometheus.io/path annotations")
        if name not in JOBS:
            fail(where, f"name is not a job name of alerts.yml ({sorted(JOBS)})")
        sel = o["spec"]["selector"]
        hit = [dn for dn, (_, do) in deploys.items()
               if all(do["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items())]
        if not hit:
            fail(where, "selects no Deployment's pods")
        for dn in hit:
            ports = {p["containerPort"] for p in deploys[dn][1]["spec"]["template"]["spec"]["containers"][0]["ports"]}
            if int(ann.get("prometheus.io/port", 0)) not in ports:
                fail(where, f"prometheus.io/port is not a port of {dn}")
    if set(by_kind.get("Service", {})) != JOBS:
        fail("ops/kubernetes", f"Services {sorted(by_kind.get('Service', {}))}, want {sorted(JOBS)}")

    # RBAC: verbs as documented per ServiceAccount; resources and namespaces exactly what the
    # config needs, in both directions
    doc_verbs = documented_rbac()
    grants = {}  # sa -> set of (group, resource, verb, namespace or "*")
    roles = {**{("ClusterRole", n): o for n, (_, o) in by_kind.get("ClusterRole", {}).items()},
             **{("Role", n): o for n, (_, o) in by_kind.get("Role", {}).items()}}
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for name, (f, o) in by_kind.get(kind, {}).items():
            scope = o["metadata"].get("namespace") if kind == "RoleBinding" else "*"
            role = roles.get((o["roleRef"]["kind"], o["roleRef"]["name"]))
            if role is None:
                fail(f"ops/kubernetes/{f}: {kind} {name}", "refers to a role that does not exist")
                continue
            for s in o.get("subjects", []):
                if s["kind"] != "ServiceAccount" or s["name"] not in sas or s.get("namespace") != "trueup":
                    fail(f"ops/kubernetes/{f}: {kind} {name}", f"subject {s} is not one of trueup's ServiceAccounts")
                    continue
                for rule in role.get("rules", []):
                    for g in rule.get("apiGroups", []):
                        for r in rule.get("resources", []):
                            for v in rule.get("verbs", []):
                                if "*" in (g, r, v):
                                    fail(f"ops/kubernetes: {role['metadata']['name']}", "wildcards are not minimal")
                                grants.setdefault(s["name"], set()).add((g, r, v, scope))
    for sa in sas:
        if sa not in doc_verbs:
            fail("docs/operations.md", f"the RBAC table does not list ServiceAccount {sa}")
            continue
        verbs = {v for _, _, v, _ in grants.get(sa, set())}
        if verbs - doc_verbs[sa]:
            fail(f"ops/kubernetes/rbac.yaml: {sa}", f"verbs {sorted(verbs - doc_verbs[sa])} are not documented for it")
        token = by_kind["ServiceAccount"][sa][1].get("automountServiceAccountToken")
        if not grants.get(sa) and token is not False:
            fail(f"ops/kubernetes/rbac.yaml: {sa}", "has no RBAC: automountServiceAccountToken must be false")
    reads = {(g, r, v, ns) for g, r, ns in observed for v in ("get", "list")}
    prod = grants.get("trueup-producer-kubernetes", set())
    if prod != reads:
        fail("ops/kubernetes/rbac.yaml: trueup-producer-kubernetes",
             f"grants {sorted(prod - reads)} that the kubernetes source does not read, "
             f"lacks {sorted(reads - prod)} (group, resource, verb, namespace; * = cluster-wide)")
    act = grants.get("trueup-actuator-kubernetes", set())
    if act != changed:
        fail("ops/kubernetes/rbac.yaml: trueup-actuator-kubernetes",
             f"grants {sorted(act - changed)} that no action needs, lacks {sorted(changed - act)} "
             "(group, resource, verb, namespace; * = cluster-wide)")
    for sa, g in grants.items():
        if sa not in ("trueup-producer-kubernetes", "trueup-actuator-kubernetes"):
            fail(f"ops/kubernetes/rbac.yaml: {sa}", f"should have no RBAC, has {sorted(g)}")
    return (f"kubernetes: {len(objs)} objects{' match the API schemas' if schema else ''}; "
            f"{mounted_files} configured files mounted where they are read; RBAC: producer get/list on "
            f"{len(observed)} (resource, namespace) pairs, actuator {len(changed)} grants, others none")


# Fields of the configuration that name files a component reads (docs/configuration.md).
FILE_FIELDS = {"creds", "password_file", "auth_file", "token_file", "ca_file", "cert_file", "key_file",
               "webhook_auth_file", "ca", "cert", "key"}


def config_files(part):
    """Absolute paths a part of the configuration (a source, a target, nats) names, TLS CA
    files in MongoDB URIs included."""
    out = set()
    if isinstance(part, dict):
        for k, v in part.items():
            if k in FILE_FIELDS and isinstance(v, str):
                out.add(v)
            elif k == "uri" and isinstance(v, str):
                out |= set(re.findall(r"[?&]tls(?:CAFile|CertificateKeyFile)=([^&]+)", v))
            elif k not in ("observe",):
                out |= config_files(v)
    return out


def unmounted(container, spec, by_kind, secret_keys, path):
    """Why path would not be there in the container (None if it would)."""
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    best = None
    for m in container.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best["mountPath"].rstrip("/")):
                best = m
    if best is None:
        return "is under no volume mount"
    rest = path[len(best["mountPath"].rstrip("/")) + 1:]
    vol = vols.get(best["name"], {})
    if "secret" in vol:
        items = vol["secret"].get("items")
        names = {it["path"] for it in items} if items is not None else secret_keys
        return None if rest in names else f"is not in the mounted Secret (has {sorted(names)})"
    if "configMap" in vol:
        cm = by_kind.get("ConfigMap", {}).get(vol["configMap"]["name"])
        if cm is None:
            return None if vol["configMap"].get("optional") else "is in a ConfigMap that does not exist"
        return None if rest in (cm[1].get("data") or {}) or best.get("subPath") else "is not a key of its ConfigMap"
    return None


def documented_rbac():
    """The RBAC table of docs/operations.md: | `ServiceAccount` | ... | verbs (backticked) |."""
    text = open(os.path.join(SRC, "docs/operations.md")).read()
    m = re.search(r"<!-- rbac-table -->(.*?)<!-- /rbac-table -->", text, re.S)
    if not m:
        fail("docs/operations.md", "no RBAC table (<!-- rbac-table --> ... <!-- /rbac-table -->)")
        return {}
    out = {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`trueup-"):
            out[cells[0].strip("`")] = set(re.findall(r"`([a-z]+)`", cells[-1]))
    return out


KUBE_VERB = {"delete": "delete", "merge-patch": "patch", "json-patch": "patch", "scale": "patch"}
# The built-in resources of the kubernetes adapter (docs/configuration.md) and their API groups.
BUILTIN_GROUP = {"nodes": "", "namespaces": "", "pods": "", "services": "", "endpoints": "", "configmaps": "",
                 "persistentvolumeclaims": "", "deployments": "apps", "replicasets": "apps",
                 "statefulsets": "apps", "daemonsets": "apps", "ingresses": "networking.k8s.io"}
CLUSTER_SCOPED = {"nodes", "namespaces"}


def kube_resource(x):
    """(group, plural) of an observe entry or an action: a built-in `resource`, or group/plural."""
    if "resource" in x:
        return BUILTIN_GROUP.get(x["resource"], "?"), x["resource"]
    g = x.get("group", "")
    return ("" if g == "core" else g), x.get("plural", "?")


def kube_needs(cfg):
    """What the kubernetes sources read: {(group, resource, namespace or "*")}; what the rules'
    kubernetes actions change: {(group, resource, verb, namespace or "*")}. An action's
    namespace "{namespace}" is the namespaces its rule's entities are observed in."""
    kube_sources = [s for s in cfg.get("sources", []) if s.get("type") == "kubernetes"]
    kube_targets = {t["name"] for t in cfg.get("targets", []) if t.get("type") == "kubernetes"}
    observed, kind_ns = set(), {}
    for s in kube_sources:
        for o in s.get("observe", []):
            g, r = kube_resource(o)
            nss = ["*"] if r in CLUSTER_SCOPED or not o.get("namespaces") else o["namespaces"]
            observed |= {(g, r, ns) for ns in nss}
            # entities in the objects' own namespaces, unless the entry renames them
            own = "namespace" not in o or o["namespace"] == "{.metadata.namespace}"
            kind_ns.setdefault(o["kind"], set()).update(nss if own and r not in CLUSTER_SCOPED else ["*"])
    changed = set()
    for rule, a in all_actions(cfg):
        if a.get("target") not in kube_targets:
            continue
        g, r = kube_resource(a)
        r += "/scale" if a["action"] == "scale" else ""
        ns = a.get("namespace")
        if ns is None or r in CLUSTER_SCOPED:
            nss = ["*"]
        elif ns == "{namespace}" and rule is not None:
            nss = sorted(kind_ns.get(rule.get("kind"), {"*"}))
        elif "{" not in ns:
            nss = [ns]
        else:
            nss = ["*"]
        changed |= {(g, r, KUBE_VERB[a["action"]], n) for n in nss}
    return observed, changed


ACTION_LISTS = ("fix", "when_orphan", "when_zombie", "when_image_pull", "when_stale", "on_escalate")


def all_actions(cfg):
    """(rule or None, action) for every action of the configuration."""
    for a in (cfg.get("processor") or {}).get("on_suspect") or []:
        yield None, a
    for r in cfg.get("rules", []) or []:
        for key in ("when_extra", "when_missing"):
            for acts in (r.get(key) or {}).values():
                for a in acts:
                    yield r, a
        for key in ACTION_LISTS:
            for a in r.get(key) or []:
                yield r, a


# ---------------------------------------------------------------------------------------
# 6. Example policies: loaded by trueup's own loader, one per case, with the case's rules
# ---------------------------------------------------------------------------------------
# The rules each case's policy must have (name -> type), as the loader reports them.
CASES = {
    "ghost-worker": {"ghost-worker": "presence", "worker-status": "spec", "worker-counter": "counter"},
    "kubedb-drift": {"kubedb-provider-a": "spec", "kubedb-provider-b": "spec", "kubedb-provider-c": "spec"},
    "replica-count": {"replica-count": "count", "replica-reset": "count", "stale-instance": "heartbeat"},
    "lab-orphans": {"lab-orphans": "reference"},
    "cluster-restoration": {"pods": "pod-status", "ports": "equal"},
}


def load_with_trueup(trueup, path):
    """Runs `trueup verify --offline -o json`: (exit status, the parsed checks or None, stderr)."""
    p = subprocess.run([trueup, "-o", "json", "verify", "--offline", "--config", path],
                       capture_output=True, text=True, timeout=60)
    try:
        checks = json.loads(p.stdout) if p.returncode == 0 else None
    except ValueError:
        checks = None
    return p.returncode, checks, p.stderr.strip()


def loaded_rules(checks):
    """{rule name: type} from verify's checks ("rule NAME": "TYPE, mode M, for D")."""
    return {c["check"][5:]: c["detail"].split(",")[0] for c in checks if c["check"].startswith("rule ")}


def rule_mismatch(want, got):
    """What differs between the wanted and the loaded rules ({name: type} each), or None."""
    out = []
    for n, t in sorted(want.items()):
        if n not in got:
            out.append(f"no rule {n} ({t})")
        elif got[n] != t:
            out.append(f"rule {n} is {got[n]}, want {t}")
    out += [f"unexpected rule {n} ({got[n]})" for n in sorted(set(got) - set(want))]
    return "; ".join(out) or None


def check_policies(trueup):
    d = os.path.join(SRC, "ops/examples/policies")
    if trueup is None or not os.access(trueup, os.X_OK):
        fail("ops/examples/policies", f"trueup's loader is needed to check the policies (--trueup; got {trueup})")
        return "policies: not loaded"
    readme = open(os.path.join(d, "README.md")).read() if os.path.exists(os.path.join(d, "README.md")) else ""
    if not readme:
        fail("ops/examples/policies", "no README.md")
    present = sorted(f[:-5] for f in os.listdir(d) if f.endswith(".yaml"))
    if present != sorted(CASES):
        fail("ops/examples/policies", f"files {present}, want one per case: {sorted(CASES)}")
    policy_rules = {}  # rule name -> (file, the rule as written)
    for case, want in CASES.items():
        path = os.path.join(d, case + ".yaml")
        if not os.path.exists(path):
            fail(rel(path), "missing")
            continue
        if f"({case}.yaml)" not in readme:
            fail("ops/examples/policies/README.md", f"does not link {case}.yaml")
        rc, checks, err = load_with_trueup(trueup, path)
        if rc != 0 or checks is None:
            fail(rel(path), f"trueup's loader refuses it (exit {rc}): {err}")
            continue
        why = rule_mismatch(want, loaded_rules(checks))
        if why:
            fail(rel(path), why)
        for r in yaml.safe_load(open(path)).get("rules", []):
            policy_rules[r["name"]] = (case, r)

    # The Kubernetes ConfigMap: loads, and its rules are the policies' rules as written.
    with tempfile.TemporaryDirectory() as tmp:
        cm = yaml.safe_load(open(os.path.join(SRC, "ops/kubernetes/config.yaml")))
        cm_path = os.path.join(tmp, "trueup.yaml")
        open(cm_path, "w").write(cm["data"]["trueup.yaml"])
        rc, checks, err = load_with_trueup(trueup, cm_path)
        if rc != 0 or checks is None:
            fail("ops/kubernetes/config.yaml", f"trueup's loader refuses its trueup.yaml (exit {rc}): {err}")
        cm_rules = yaml.safe_load(cm["data"]["trueup.yaml"]).get("rules", [])
        for r in cm_rules:
            if r["name"] not in policy_rules:
                fail("ops/kubernetes/config.yaml", f"rule {r['name']} is in no policy of ops/examples/policies")
            elif policy_rules[r["name"]][1] != r:
                fail("ops/kubernetes/config.yaml", f"rule {r['name']} differs from {policy_rules[r['name']][0]}.yaml's")

        # The check has teeth: a misspelt authority is refused, with its file and line ...
        bad = os.path.join(tmp, "ghost-worker.yaml")
        text = open(os.path.join(d, "ghost-worker.yaml")).read()
        open(bad, "w").write(text.replace("authority: declared", "authority: declard", 1))
        rc, _, err = load_with_trueup(trueup, bad)
        if rc != 2 or not re.search(r"ghost-worker\.yaml:\d+:\d+: rules\[0\]\.authority", err):
            fail("check_policies", f"a broken policy was not refused as expected (exit {rc}): {err}")
    # ... and a policy without its case's rules is reported.
    if not rule_mismatch(CASES["lab-orphans"], {"ghost-worker": "presence"}):
        fail("check_policies", "rule_mismatch accepts a policy without its case's rules")

    # Per-rule alert thresholds name rules that exist.
    alerts = open(os.path.join(SRC, "ops/prometheus/alerts.yml")).read()
    for group in set(re.findall(r'rule[!=]~"([^"]+)"', alerts)):
        for name in group.split("|"):
            if name not in policy_rules:
                fail("ops/prometheus/alerts.yml", f"per-rule threshold for {name}, a rule of no example policy")
    return (f"policies: {len(CASES)} cases and the Kubernetes ConfigMap load with trueup's loader, "
            f"{len(policy_rules)} rules as expected, {len(cm_rules)} ConfigMap rules as in the policies")


# ---------------------------------------------------------------------------------------
# 7. The Node.js consumer's package
# ---------------------------------------------------------------------------------------
def check_node_example():
    d = os.path.join(SRC, "ops/examples/node-consumer")
    pkg = json.load(open(os.path.join(d, "package.json")))
    lock = json.load(open(os.path.join(d, "package-lock.json")))
    deps = pkg.get("dependencies", {})
    if set(deps) != {"nats", "protobufjs"}:
        fail("ops/examples/node-consumer/package.json", f"dependencies {sorted(deps)}")
    for n, v in deps.items():
        if not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", v):
            fail("ops/examples/node-consumer/package.json", f"{n} is not pinned: {v}")
        locked = lock.get("packages", {}).get(f"node_modules/{n}", {}).get("version")
        if locked != v:
            fail("ops/examples/node-consumer/package-lock.json", f"{n} locked at {locked}, package.json says {v}")
    if not deps.get("nats", "").startswith("2."):
        fail("ops/examples/node-consumer/package.json", "nats must be v2")
    src = open(os.path.join(d, "drift-consumer.js")).read()
    if "schemas" not in src or "loadSync" not in src:
        fail("ops/examples/node-consumer/drift-consumer.js", "does not load schemas/trueup/v1/*.proto at run time")
    return f"node consumer: nats {deps.get('nats')}, protobufjs {deps.get('protobufjs')}, lock file agrees"




def main():
    args = sys.argv[2:]
    trueup = args[args.index("--trueup") + 1] if "--trueup" in args and args.index("--trueup") + 1 < len(args) else None
    results = []
    for check in (check_parse, check_alerts, check_scrape, check_dashboard, check_systemd, check_kubernetes,
                  lambda: check_policies(trueup), check_node_example):
        before = len(FAILS)
        try:
            line = check()
        except Exception as e:  # a file shaped so badly that a check could not run
            fail(getattr(check, "__name__", "check"), f"{type(e).__name__}: {e}")
            line = getattr(check, "__name__", "check")
        results.append(("ok  " if len(FAILS) == before else "FAIL") + " " + line)
    for r in results:
        print(r)
    for n in NOTES:
        print("note " + n)
    for f in FAILS:
        print("FAIL " + f, file=sys.stderr)
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
