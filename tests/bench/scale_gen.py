#!/usr/bin/python3
"""Data of the scale and producer benchmarks (tests/bench/scale.sh, producers.sh).

    scale_gen.py DIR N [--desired kube|files] [--actual redis,mongo]

N workers w-0000000 .. (namespace default), each with the attributes pool, image,
replicas and zone. The desired source declares them: the Kubernetes fixture's custom
resources `workers.bench.example.com/v1` (kube), or a directory of manifests (files).
Each actual source holds them too: Redis hashes `w:<name>` (redis), MongoDB documents
in bench.workers (mongo). 1 % drifted: N/100 drifts, spread evenly over three kinds per
actual source S, each needing exactly one command:

  missing from S       (declared, not in S)           -> S's when_missing action
  extra in S           (x-<S>-<k>: in S only)         -> S's when_extra action
  replicas differ in S (declared 3, S says 4)         -> the spec rule's fix for S

so each source still holds about N entities. Writes what the chosen sources need:
DIR/redis.resp (RESP for `redis-cli --pipe`), DIR/kube-seed.json, DIR/mongo-seed.json
(the fixtures' seeds), DIR/declared/NNNN.json (manifests, 20000 per file) and
DIR/expected.json: {"n", "drifted", "commands", "by": {"<target>.<action>": n},
"entities": {source: n}}. Deterministic: the same arguments give the same files.
"""
import argparse
import json
import os

PER_FILE = 20000  # manifests per file: ~2.4 MB, under TU_MAX_MANIFEST (4 MiB)
ACTIONS = {  # (source, drift kind) -> the command's subject tokens <target>.<action>
    ("redis", "missing"): "redis.hset", ("redis", "extra"): "redis.del",
    ("redis", "spec"): "redis.hset",
    ("mongo", "missing"): "mongo.insert-one", ("mongo", "extra"): "mongo.delete-one",
    ("mongo", "spec"): "mongo.update-one",
}


def attrs(i):
    return {"pool": "pool-%d" % (i % 16), "image": "registry.local/worker:%d" % (1 + i % 7),
            "replicas": str(1 + i % 5), "zone": "zone-%s" % "abc"[i % 3]}


def resp(words):
    out = ["*%d\r\n" % len(words)]
    for w in words:
        out.append("$%d\r\n%s\r\n" % (len(w.encode()), w))
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("--desired", choices=("kube", "files"), default="kube")
    ap.add_argument("--actual", default="redis,mongo")
    a = ap.parse_args()
    actual = [s for s in a.actual.split(",") if s]
    n = a.n
    width = max(7, len(str(n)))
    name = lambda i: "w-%0*d" % (width, i)
    os.makedirs(a.dir, exist_ok=True)

    # The drifts: j-th drift of D goes to category j % len(cats); drifts of declared
    # entities take entities spread evenly over 0..N-1.
    cats = [(s, k) for s in actual for k in ("missing", "extra", "spec")]
    drifts = n // 100
    missing = {s: set() for s in actual}
    spec = {s: set() for s in actual}
    extra = {s: [] for s in actual}
    by = {}
    step = max(1, n // max(1, drifts))
    for j in range(drifts):
        s, k = cats[j % len(cats)]
        if k == "extra":
            extra[s].append("x-%s-%0*d" % (s, width, j))
        else:
            (missing if k == "missing" else spec)[s].add(min(n - 1, j * step + step // 2))
        by[ACTIONS[(s, k)]] = by.get(ACTIONS[(s, k)], 0) + 1

    if a.desired == "kube":
        objs = [{"apiVersion": "bench.example.com/v1", "kind": "Worker",
                 "metadata": {"name": name(i), "namespace": "default",
                              "labels": {"app": "worker"}},
                 "spec": attrs(i)} for i in range(n)]
        seed = {"customResources": [{"group": "bench.example.com", "version": "v1",
                                     "plural": "workers", "kind": "Worker",
                                     "namespaced": True}],
                "objects": objs}
        with open(os.path.join(a.dir, "kube-seed.json"), "w") as f:
            json.dump(seed, f, separators=(",", ":"))
        del objs, seed
    else:
        d = os.path.join(a.dir, "declared")
        os.makedirs(d, exist_ok=True)
        for lo in range(0, n, PER_FILE):
            items = [{"kind": "worker", "name": name(i), "attrs": attrs(i)}
                     for i in range(lo, min(n, lo + PER_FILE))]
            with open(os.path.join(d, "%04d.json" % (lo // PER_FILE)), "w") as f:
                json.dump({"items": items}, f, separators=(",", ":"))

    # What an actual source holds: every declared entity it does not miss (replicas + 1
    # where its spec drifted), then its extras.
    def held(s):
        for i in range(n):
            if i in missing[s]:
                continue
            at = attrs(i)
            if i in spec[s]:
                at["replicas"] = str(int(at["replicas"]) + 1)
            yield name(i), at
        for x in extra[s]:
            yield x, attrs(0)

    counts = {"kube" if a.desired == "kube" else "declared": n}
    if "redis" in actual:
        with open(os.path.join(a.dir, "redis.resp"), "w") as f:
            for nm, at in held("redis"):
                words = ["HSET", "w:" + nm]
                for k, v in at.items():
                    words += [k, v]
                f.write(resp(words))
        counts["redis"] = n - len(missing["redis"]) + len(extra["redis"])
    if "mongo" in actual:
        docs = []
        for nm, at in held("mongo"):
            d = {"name": nm}
            d.update(at)
            d["replicas"] = int(d["replicas"])  # a number in MongoDB, a string elsewhere
            docs.append(d)
        with open(os.path.join(a.dir, "mongo-seed.json"), "w") as f:
            json.dump({"bench": {"workers": docs}}, f, separators=(",", ":"))
        counts["mongo"] = len(docs)

    with open(os.path.join(a.dir, "expected.json"), "w") as f:
        json.dump({"n": n, "drifted": drifts, "commands": sum(by.values()), "by": by,
                   "entities": counts, "desired": a.desired, "actual": actual}, f, indent=1)


if __name__ == "__main__":
    main()
