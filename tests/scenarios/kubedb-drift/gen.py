#!/usr/bin/python3
"""Generates the kubedb-drift scenario's data into DIR (deterministic, no randomness):

  DIR/kube-seed.json   the kube fixture's seed: the Database custom resource
                       (kubedb.example.com/v1, databases) and 1000 Database objects
  DIR/mongo-seed.json  the mongo-wire fixture's seed: providers.databases, one record per
                       database, what its provider reports
  DIR/expected.json    what the test checks against: the drifted databases per provider
                       and their fields, the malformed one, the desired specs

1000 databases db-0000..db-0999 in namespaces tenant-0..tenant-3 (i / 20 % 4), on provider-a,
provider-b and provider-c (i % 3). The 50 with i % 20 == 7 drift (17 + 17 + 16 over the
providers) in one to four fields; many of the others are written differently in MongoDB
than in their custom resource but are equal as quantities (1Gi = 1024Mi, 500m = 0.5,
100G = 1e11), which must not count as drift. db-0501 (provider-a) is malformed: its
spec.storage is an object; its record differs, so if it were read it would be patched.

    gen.py DIR
"""
import json
import os
import sys

PROVIDERS = ["provider-a", "provider-b", "provider-c"]
N = 1000
MALFORMED = 501

# Desired value -> ways a provider may write the same quantity.
STORAGE = {"1Gi": ["1Gi", "1024Mi", "1073741824"], "10Gi": ["10Gi", "10240Mi"],
           "20Gi": ["20Gi", "20480Mi"], "512Gi": ["512Gi", "0.5Ti"],
           "100G": ["100G", "100000M", "1e11"], "1Ti": ["1Ti", "1024Gi"]}
CPU = {"500m": ["500m", 0.5, "0.5"], "1": ["1", 1, "1000m"], "250m": ["250m", "0.25"],
       "2": ["2", "2000m"], "1500m": ["1500m", 1.5]}
MEMORY = {"256Mi": ["256Mi", "268435456"], "512Mi": ["512Mi", "0.5Gi"],
          "1Gi": ["1Gi", "1024Mi"], "4Gi": ["4Gi", "4096Mi"], "2G": ["2G", "2000M"]}
# Desired value -> a different quantity (decimal and binary suffixes are not equal).
STORAGE_DRIFT = {"1Gi": "1G", "10Gi": "10G", "20Gi": "16Gi", "512Gi": "500Gi",
                 "100G": "100Gi", "1Ti": "1T"}
CPU_DRIFT = {"500m": "250m", "1": "500m", "250m": 0.5, "2": "1", "1500m": 1}
MEMORY_DRIFT = {"256Mi": "128Mi", "512Mi": "512M", "1Gi": "1G", "4Gi": "2Gi", "2G": "2Gi"}
DRIFT_FIELDS = [["storage"], ["cpu"], ["memory"], ["replicas"], ["storage", "memory"],
                ["cpu", "replicas"], ["storage", "cpu", "memory", "replicas"]]


def pick(table, i):
    keys = list(table)
    return keys[i % len(keys)]


def main():
    out = sys.argv[1]
    crs, records = [], []
    drifted = {p: [] for p in PROVIDERS}
    fields, desired = {}, {}
    equivalent = 0
    for i in range(N):
        name, ns, prov = "db-%04d" % i, "tenant-%d" % (i // 20 % 4), PROVIDERS[i % 3]
        key = "%s/%s" % (ns, name)
        spec = {"provider": prov, "storage": pick(STORAGE, i), "cpu": pick(CPU, i // 2),
                "memory": pick(MEMORY, i // 3), "replicas": 1 + i % 5}
        # What the provider reports: the same values, often written another way.
        alt = i // 7
        rec = {"storage": STORAGE[spec["storage"]][alt % len(STORAGE[spec["storage"]])],
               "cpu": CPU[spec["cpu"]][alt % len(CPU[spec["cpu"]])],
               "memory": MEMORY[spec["memory"]][(alt + 1) % len(MEMORY[spec["memory"]])],
               "replicas": spec["replicas"]}
        if i % 20 == 7:
            which = DRIFT_FIELDS[(i // 20) % len(DRIFT_FIELDS)]
            for f in which:
                if f == "storage":
                    rec["storage"] = STORAGE_DRIFT[spec["storage"]]
                elif f == "cpu":
                    rec["cpu"] = CPU_DRIFT[spec["cpu"]]
                elif f == "memory":
                    rec["memory"] = MEMORY_DRIFT[spec["memory"]]
                else:
                    rec["replicas"] = spec["replicas"] % 5 + 1
            drifted[prov].append(key)
            fields[key] = which
        elif any(str(rec[f]) != str(spec[f]) for f in ("storage", "cpu", "memory")):
            equivalent += 1
        if i == MALFORMED:
            assert i % 20 != 7 and prov == "provider-a"
            spec["storage"] = {"size": spec["storage"]}
            rec["storage"] = STORAGE_DRIFT[spec["storage"]["size"]]
        else:
            desired[key] = {k: str(v) for k, v in spec.items() if k != "provider"}
        crs.append({"apiVersion": "kubedb.example.com/v1", "kind": "Database",
                    "metadata": {"name": name, "namespace": ns,
                                 "labels": {"kubedb.example.com/provider": prov}},
                    "spec": spec})
        doc = {"_id": {"$oid": "%024x" % (i + 1)}, "name": name, "namespace": ns,
               "provider": prov}
        doc.update(rec)
        records.append(doc)
    seed = {"customResources": [{"group": "kubedb.example.com", "version": "v1",
                                 "plural": "databases", "kind": "Database",
                                 "namespaced": True}],
            "objects": crs}
    with open(os.path.join(out, "kube-seed.json"), "w") as f:
        json.dump(seed, f)
    with open(os.path.join(out, "mongo-seed.json"), "w") as f:
        json.dump({"providers": {"databases": records}}, f)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"drifted": drifted, "fields": fields, "desired": desired,
                   "malformed": "tenant-%d/db-%04d" % (MALFORMED // 20 % 4, MALFORMED),
                   "equivalent": equivalent}, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
