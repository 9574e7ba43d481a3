#!/usr/bin/python3
"""The yardstick's data: tests/scenarios/kubedb-drift/gen.py with N databases.

    yardstick_gen.py DIR [N]      (default 1000, the scenario's own size)

gen.py writes DIR/kube-seed.json, DIR/mongo-seed.json and DIR/expected.json for its
module constant N; this runs it with another N (up to 10000: names are db-NNNN).
Everything else (drift in 5 % of the databases over three providers, equivalent
quantities written differently, one malformed custom resource) is the scenario's.
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "scenarios", "kubedb-drift", "gen.py")


def main():
    out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    if not 1 <= n <= 10000:
        sys.exit("yardstick_gen.py: N must be 1..10000")
    spec = importlib.util.spec_from_file_location("kubedb_gen", GEN)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.N = n
    os.makedirs(out, exist_ok=True)
    sys.argv = [GEN, out]
    return gen.main()


if __name__ == "__main__":
    sys.exit(main())
