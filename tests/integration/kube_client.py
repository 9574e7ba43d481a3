#!/usr/bin/python3
"""kube_client.py - the official Kubernetes Python client (Debian python3-kubernetes)
against the kube-apiserver fixture: proves the fixture speaks the protocol real
clients speak (TLS with a CA, bearer token, typed lists with limit/continue,
custom objects, Status errors, DeleteOptions preconditions, /scale).

Usage: kube_client.py KUBECONFIG   (exits 0 when every check holds)
"""

import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException

checks = 0


def check(what, cond, got=None):
    global checks
    if not cond:
        sys.exit("FAIL: %s (got %r)" % (what, got))
    checks += 1
    print("ok: %s" % what)


def status_of(e):
    import json

    return json.loads(e.body)


def main():
    cfg = client.Configuration()
    config.load_kube_config(config_file=sys.argv[1], client_configuration=cfg)
    check("TLS is verified with the kubeconfig's CA", cfg.verify_ssl and cfg.ssl_ca_cert)
    api = client.ApiClient(cfg)
    core = client.CoreV1Api(api)

    # typed list with limit/continue across every namespace
    names, pages, cont = [], 0, None
    while True:
        r = core.list_pod_for_all_namespaces(limit=2, _continue=cont)
        pages += 1
        check("page %d is a V1PodList of at most 2" % pages,
              isinstance(r, client.V1PodList) and len(r.items) <= 2, r)
        names += ["%s/%s" % (p.metadata.namespace, p.metadata.name) for p in r.items]
        cont = r.metadata._continue
        if not cont:
            break
        check("remainingItemCount on a page with a continue token",
              r.metadata.remaining_item_count is not None and r.metadata.remaining_item_count > 0,
              r.metadata)
    check("pods listed in 3 pages", pages == 3, pages)
    check("every pod once, in order",
          names == ["lab/job-1", "lab/job-2", "shop/db-0", "shop/web-1", "shop/web-2"], names)
    first = core.list_pod_for_all_namespaces(limit=5).items[0]
    check("typed fields decode (spec.containers, status.phase, uid, resourceVersion)",
          first.spec.containers[0].image == "trueup-test:1" and first.status.phase
          and len(first.metadata.uid) == 36 and first.metadata.resource_version.isdigit(), first)

    # selectors and a namespaced list
    r = core.list_namespaced_pod("shop", label_selector="app=web",
                                 field_selector="status.phase=Running")
    check("label and field selectors", [p.metadata.name for p in r.items] == ["web-1", "web-2"], r)

    # cluster-scoped
    nodes = core.list_node()
    check("nodes (cluster-scoped)", [n.metadata.name for n in nodes.items] == ["node-1", "node-2", "node-3"])

    # custom resources, paginated, namespaced and cluster-wide
    co = client.CustomObjectsApi(api)
    got, cont = [], None
    while True:
        r = co.list_namespaced_custom_object("example.com", "v1", "lab", "databases", limit=1,
                                             _continue=cont)
        got += [d["metadata"]["name"] for d in r["items"]]
        cont = r["metadata"].get("continue")
        if not cont:
            break
    check("custom resources with limit/continue", got == ["analytics", "scratch"], got)
    r = co.list_cluster_custom_object("example.com", "v1", "databases")
    check("custom resources cluster-wide carry kind and apiVersion",
          len(r["items"]) == 6 and all(d["apiVersion"] == "example.com/v1" and d["kind"] == "Database"
                                       for d in r["items"]), r)
    d = co.get_namespaced_custom_object("example.com", "v1", "shop", "databases", "orders")
    check("a custom object by name", d["spec"]["storage"] == "10Gi", d)

    # errors are Status objects
    try:
        core.read_namespaced_pod("nope", "shop")
        check("reading a missing pod fails", False)
    except ApiException as e:
        s = status_of(e)
        check("404 NotFound Status with details", e.status == 404 and s["kind"] == "Status"
              and s["reason"] == "NotFound" and s["details"]["name"] == "nope", s)

    uid = core.read_namespaced_pod("db-0", "shop").metadata.uid
    try:
        core.delete_namespaced_pod("db-0", "shop", body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="not-" + uid)))
        check("a delete with a wrong uid precondition fails", False)
    except ApiException as e:
        s = status_of(e)
        check("409 Conflict on a failed precondition", e.status == 409 and s["reason"] == "Conflict"
              and "Precondition failed" in s["message"], s)
    core.delete_namespaced_pod("db-0", "shop", body=client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=uid), propagation_policy="Background"))
    try:
        core.read_namespaced_pod("db-0", "shop")
        check("a deleted pod is gone", False)
    except ApiException as e:
        check("a deleted pod is gone", e.status == 404, e.status)

    # /scale subresource (this client version sends patches as application/json-patch+json)
    apps = client.AppsV1Api(api)
    s = apps.read_namespaced_deployment_scale("web", "shop")
    check("V1Scale read", isinstance(s, client.V1Scale) and s.spec.replicas == 2, s)
    s = apps.patch_namespaced_deployment_scale(
        "web", "shop", [{"op": "replace", "path": "/spec/replicas", "value": 3}])
    check("scale patched", s.spec.replicas == 3, s)
    dep = apps.read_namespaced_deployment("web", "shop")
    check("the deployment follows its scale, generation bumped",
          dep.spec.replicas == 3 and dep.metadata.generation == 2, dep.metadata)

    # a wrong token
    bad = client.Configuration()
    config.load_kube_config(config_file=sys.argv[1], client_configuration=bad)
    bad.api_key = {"authorization": "Bearer wrong"}
    try:
        client.CoreV1Api(client.ApiClient(bad)).list_node()
        check("a wrong token is refused", False)
    except ApiException as e:
        check("401 Unauthorized for a wrong token", e.status == 401, e.status)
    print("PASS: %d checks" % checks)


if __name__ == "__main__":
    main()
