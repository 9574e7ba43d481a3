#!/usr/bin/python3
"""A database provider's API for the kubedb-drift scenario.

It is the HTTP API fixture (tests/fixtures/http-api/server.py: bearer auth, fault
injection, the request log and the rest of /_fixture/) plus one route:

    PATCH /v1/databases/<namespace>/<name>   {"storage", "cpu", "memory", "replicas"}

which sets those fields of the provider's record of the database in MongoDB (the
mongo-wire fixture, collection providers.databases, the record whose provider, namespace
and name match) *before* it answers 200, as a provider's API commits to its own store
before it replies. So the next scan of MongoDB after trueup's outcome sees the change:
the test never has to play the provider's part itself, and a fix is never re-sent because
the provider had not caught up. A record that does not exist is 404; a body that is not
an object of those four fields (replicas an integer, as a number or a string) is 422; a
MongoDB that fails is 500. Faults (503, delays) come from the fixture and apply first,
so a faulted request changes nothing.

Like the payment and cloud APIs that take one, it honours `Idempotency-Key`: a request
whose key already succeeded gets that first reply again and changes nothing (logged with
`"replayed": true`). trueup sends its command id as the key, so a PATCH that was applied
but whose reply came after the target's timeout is retried without a second effect.
PATCHes of one database are applied one at a time, so a retry waits for the first try to
finish; different databases' PATCHes run in parallel, as a provider's API would run them.

    provider.py --port P --token T --provider provider-a --mongo-port M [--db providers]
"""
import argparse
import importlib.util
import json
import os
import re
import sys
import threading
from urllib.parse import unquote

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures")


def load(name, path):
    """A fixture's module by its path (both fixtures have a server.py)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(FIXTURES, path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


server = load("http_api_server", "http-api/server.py")   # the HTTP API fixture
client = load("mongo_wire_client", "mongo-wire/client.py")  # one OP_MSG command

ROUTE = re.compile(r"^/v1/databases/([^/]+)/([^/]+)$")
FIELDS = ("storage", "cpu", "memory", "replicas")
OPTS = None
LOCKS = {}                # (namespace, name) -> its lock: check the key, apply, remember the key
LOCKS_MU = threading.Lock()
DONE = {}                 # Idempotency-Key -> the reply body of its successful PATCH


def parse_patch(raw):
    """The $set of a PATCH body, or (None, why)."""
    try:
        req = json.loads(raw)
    except ValueError as e:
        return None, "invalid JSON: %s" % e
    if not isinstance(req, dict) or not req:
        return None, "the body must be a non-empty JSON object"
    out = {}
    for k, v in req.items():
        if k not in FIELDS:
            return None, "unknown field %r (known: %s)" % (k, ", ".join(FIELDS))
        if k == "replicas":
            try:
                v = int(v) if isinstance(v, (int, str)) and not isinstance(v, bool) else None
            except ValueError:
                v = None
            if v is None or v < 0:
                return None, "replicas must be a non-negative integer"
        elif not isinstance(v, str) or not v:
            return None, "%s must be a non-empty string" % k
        out[k] = v
    return out, None


class Provider(server.Handler):
    def extra_route(self, url):
        m = ROUTE.match(url.path)
        if m is None or self.command != "PATCH":
            return False
        ns, name = unquote(m.group(1)), unquote(m.group(2))
        with LOCKS_MU:
            lock = LOCKS.setdefault((ns, name), threading.Lock())
        with lock:
            self.patch(ns, name)
        return True

    def patch(self, ns, name):
        key = self.headers.get("Idempotency-Key")
        if key and key in DONE:
            self.record(200, replayed=True)
            self.send_json(200, DONE[key])
            return
        fields, why = parse_patch(self.body())
        if fields is None:
            self.record(422)
            self.error(422, "unprocessable_entity", why)
            return
        cmd = {"update": "databases",
               "updates": [{"q": {"provider": OPTS.provider, "namespace": ns, "name": name},
                            "u": {"$set": fields}}]}
        try:
            reply = client.command(OPTS.mongo_port, OPTS.db, cmd)
        except (OSError, ConnectionError) as e:
            reply = {"ok": 0, "errmsg": str(e)}
        if reply.get("ok") != 1 or reply.get("writeErrors"):
            self.record(500)
            self.error(500, "internal_error", "store: %s" % (reply.get("errmsg") or
                                                             reply.get("writeErrors")))
            return
        if reply.get("n", 0) == 0:
            self.record(404)
            self.error(404, "not_found", "database %s/%s is not on %s" % (ns, name,
                                                                          OPTS.provider))
            return
        db = {"provider": OPTS.provider, "namespace": ns, "name": name}
        db.update(fields)
        if key:
            DONE[key] = {"database": db}
        self.record(200, replayed=False)
        self.send_json(200, {"database": db})


def main():
    global OPTS
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token", required=True, help="the bearer token the API accepts")
    p.add_argument("--provider", required=True, help="whose records this API changes")
    p.add_argument("--mongo-port", type=int, required=True)
    p.add_argument("--db", default="providers")
    OPTS = p.parse_args()
    server.serve(server.State(OPTS.token, 20, ""), OPTS.port, Provider, OPTS.provider)


if __name__ == "__main__":
    sys.exit(main())
