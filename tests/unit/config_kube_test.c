/*
 * config_kube_test.c - the kubernetes source and target in lib/config.c: a
 * full entry read back, the defaults, and errors (exact "file:line:col:
 * path:" prefix and a key phrase each), including the kubernetes verbs'
 * params in rule actions.
 */
#include "testmain.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

#define S(n) ((int64_t)(n) * 1000)

/* Loads yaml; on failure the message must start with prefix and contain phrase. */
static struct tu_config *try_load(const char *yaml, const char *prefix, const char *phrase)
{
	struct tu_config *cfg = NULL;
	char err[1024] = "";
	tu_status st = tu_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
	bool want_ok = prefix == NULL;
	bool ok = want_ok ? st == TU_OK
			  : st == TU_EINVAL && strncmp(err, prefix, strlen(prefix)) == 0 &&
				    strstr(err, phrase) != NULL;
	if (!ok)
		print_error("status %s, message: %s\nwanted: %s %s\n", tu_status_str(st), err,
			    prefix ? prefix : "success", phrase ? phrase : "");
	assert_true(ok);
	return cfg;
}

static void source_full(void **state)
{
	(void)state;
	struct tu_config *cfg = try_load(
		"sources:\n"
		"  - name: k8s\n"
		"    type: kubernetes\n"
		"    server: https://10.0.0.1:6443\n"
		"    ca_file: /etc/trueup/ca.pem\n"
		"    token_file: token\n"
		"    cert_file: /c.pem\n"
		"    key_file: /k.pem\n"
		"    rate: 5\n"
		"    burst: 7\n"
		"    max_body: 1MiB\n"
		"    retries: 2\n"
		"    retry_after_max: 3s\n"
		"    page_size: 100\n"
		"    timeout: 9s\n"
		"    observe:\n"
		"      - kind: pod\n"
		"        resource: pods\n"
		"        namespaces: [shop, lab]\n"
		"        label_selector: app=web\n"
		"        field_selector: status.phase=Running\n"
		"        name: \"{.metadata.name}\"\n"
		"        attrs: { phase: \"{.status.phase}\" }\n"
		"      - kind: database\n"
		"        group: example.com\n"
		"        version: v1\n"
		"        plural: databases\n"
		"        namespaced: false\n"
		"        namespace: dbs\n"
		"        name: \"{.metadata.name}\"\n"
		"        match: { .spec.engine: postgres }\n"
		"        name_prefix: prod-\n",
		NULL, NULL);
	const struct tu_source_config *s = &cfg->sources[0];
	const struct tu_kube_source *k = &s->kube;
	assert_int_equal(s->type, TU_SOURCE_KUBE);
	assert_int_equal(s->timeout, S(9));
	assert_string_equal(k->conn.server, "https://10.0.0.1:6443");
	assert_string_equal(k->conn.ca_file, "/etc/trueup/ca.pem");
	/* relative to the config's directory */
	assert_string_equal(k->conn.token_file + strlen(k->conn.token_file) - 6, "/token");
	assert_true(k->conn.token_file[0] == '/');
	assert_string_equal(k->conn.cert_file, "/c.pem");
	assert_false(k->conn.in_cluster);
	assert_int_equal(k->conn.rate, 5);
	assert_int_equal(k->conn.burst, 7);
	assert_int_equal(k->conn.max_body, 1 << 20);
	assert_int_equal(k->conn.retries, 2);
	assert_int_equal(k->conn.retry_after_max, S(3));
	assert_int_equal(k->page_size, 100);
	assert_int_equal(k->n_observe, 2);
	const struct tu_kube_observe *o = &k->observe[0];
	assert_string_equal(o->map.kind, "pod");
	assert_string_equal(o->resource, "pods");
	assert_int_equal(o->n_namespaces, 2);
	assert_string_equal(o->namespaces[1], "lab");
	assert_string_equal(o->label_selector, "app=web");
	assert_string_equal(o->field_selector, "status.phase=Running");
	assert_string_equal(o->map.ns, "{.metadata.namespace|default:cluster}");
	assert_int_equal(o->map.attrs.n, 1);
	assert_int_equal(o->namespaced, -1);
	o = &k->observe[1];
	assert_string_equal(o->group, "example.com");
	assert_string_equal(o->version, "v1");
	assert_string_equal(o->plural, "databases");
	assert_int_equal(o->namespaced, 0);
	assert_string_equal(o->map.ns, "dbs");
	assert_string_equal(o->map.name_prefix, "prod-");
	assert_int_equal(o->map.match.n, 1);
	tu_config_destroy(cfg);
}

static void defaults(void **state)
{
	(void)state;
	struct tu_config *cfg = try_load(
		"sources:\n"
		"  - { name: k, type: kubernetes, in_cluster: true,\n"
		"      observe: [{ kind: node, resource: nodes, name: \"{.metadata.name}\" }] }\n"
		"targets:\n"
		"  - { name: kt, type: kubernetes, server: \"https://k:6443\" }\n",
		NULL, NULL);
	const struct tu_kube_source *k = &cfg->sources[0].kube;
	assert_true(k->conn.in_cluster);
	assert_null(k->conn.server);
	assert_null(k->conn.ca_file);
	assert_null(k->conn.token_file);
	assert_string_equal(k->conn.service_account_dir,
			    "/var/run/secrets/kubernetes.io/serviceaccount");
	assert_int_equal(k->conn.rate, 20);
	assert_int_equal(k->conn.burst, 0); /* 2 * rate */
	assert_int_equal(k->conn.max_body, 32 << 20);
	assert_int_equal(k->conn.retries, 3);
	assert_int_equal(k->conn.retry_after_max, S(10));
	assert_int_equal(k->page_size, 500);
	const struct tu_target_config *t = &cfg->targets[0];
	assert_int_equal(t->type, TU_TARGET_KUBE);
	assert_string_equal(t->kube.conn.server, "https://k:6443");
	assert_int_equal(t->kube.conn.rate, 20);
	assert_string_equal(t->consumer, "trueup-actuator-kt");
	assert_null(t->redis.url); /* the redis part stays empty */
	tu_config_destroy(cfg);
}

#define KSRC "sources:\n  - name: k\n    type: kubernetes\n    server: https://k\n    observe:\n"

static void source_errors(void **state)
{
	(void)state;
	try_load("sources:\n  - name: k\n    type: kubernetes\n    server: http://k:8080\n"
		 "    observe: [{ kind: n, resource: nodes, name: x }]\n",
		 "t.yaml:4:13: sources[0].server: ", "invalid URL \"http://k:8080\"");
	try_load("sources:\n  - name: k\n    type: kubernetes\n"
		 "    observe: [{ kind: n, resource: nodes, name: x }]\n",
		 "t.yaml:2:5: sources[0]: ", "needs server");
	try_load("sources:\n  - name: k\n    type: kubernetes\n    server: https://k\n"
		 "    cert_file: /c.pem\n    observe: [{ kind: n, resource: nodes, name: x }]\n",
		 "t.yaml:2:5: sources[0]: ", "cert_file and key_file go together");
	try_load("sources:\n  - name: k\n    type: kubernetes\n    server: https://k\n"
		 "    in_cluster: yes\n    observe: [{ kind: n, resource: nodes, name: x }]\n",
		 "t.yaml:5:17: sources[0].in_cluster: ", "invalid boolean");
	try_load("sources:\n  - name: k\n    type: kubernetes\n    server: https://k\n"
		 "    observe: []\n",
		 "t.yaml:5:14: sources[0].observe: ", "needs at least one entry");
	try_load(KSRC "      - { kind: n, resource: gizmos, name: x }\n",
		 "t.yaml:6:30: sources[0].observe[0].resource: ", "unknown resource \"gizmos\"");
	try_load(KSRC "      - { kind: n, name: x }\n",
		 "t.yaml:6:9: sources[0].observe[0]: ", "needs resource");
	try_load(KSRC "      - { kind: n, resource: pods, group: apps, name: x }\n",
		 "t.yaml:6:9: sources[0].observe[0]: ", "not both");
	try_load(KSRC "      - { kind: n, group: example.com, plural: dbs, name: x }\n",
		 "t.yaml:6:9: sources[0].observe[0]: ", "needs all of group, version and plural");
	try_load(KSRC "      - { kind: n, group: Example.com, version: v1, plural: dbs, name: x }\n",
		 "t.yaml:6:27: sources[0].observe[0].group: ", "not an API group");
	try_load(KSRC "      - { kind: n, group: e.com, version: v1, plural: db/s, name: x }\n",
		 "t.yaml:6:55: sources[0].observe[0].plural: ", "not a resource name");
	try_load(KSRC "      - { kind: n, resource: nodes, namespaces: [a], name: x }\n",
		 "t.yaml:6:49: sources[0].observe[0].namespaces: ", "cluster-scoped");
	try_load(KSRC "      - { kind: n, group: e.com, version: v1, plural: dbs, namespaced: false,\n"
		      "          namespaces: [a], name: x }\n",
		 "t.yaml:7:23: sources[0].observe[0].namespaces: ", "cluster-scoped");
	try_load(KSRC "      - { kind: n, resource: pods, namespaced: true, name: x }\n",
		 "t.yaml:6:48: sources[0].observe[0].namespaced: ", "known for a built-in");
	try_load(KSRC "      - { kind: n, resource: pods }\n",
		 "t.yaml:6:9: sources[0].observe[0]: ", "missing required field \"name\"");
	try_load(KSRC "      - { kind: n, resource: pods, name: x, scan: \"a*\" }\n",
		 "t.yaml:6:45: sources[0].observe[0]: ", "unknown field \"scan\"");
	try_load(KSRC "      - { kind: n, resource: pods, name: x, namespaces: [Shop] }\n",
		 "t.yaml:6:58: sources[0].observe[0].namespaces[0]: ", "");
	try_load(KSRC "      - { kind: n, resource: pods, name: \"{.a\" }\n",
		 "t.yaml:6:42: sources[0].observe[0].name: ", "");
	try_load("sources:\n  - name: k\n    type: kubernetes\n    server: https://k\n"
		 "    page_size: 0\n    observe: [{ kind: n, resource: nodes, name: x }]\n",
		 "t.yaml:5:16: sources[0].page_size: ", "");
	/* a redis field on a kubernetes source */
	try_load("sources:\n  - name: k\n    type: kubernetes\n    server: https://k\n"
		 "    scan_count: 3\n    observe: [{ kind: n, resource: nodes, name: x }]\n",
		 "t.yaml:5:5: sources[0]: ", "unknown field \"scan_count\"");
}

#define KRULE                                                                   \
	"sources:\n  - { name: s, type: files, path: /d }\n"                     \
	"  - { name: s2, type: files, path: /e }\n"                              \
	"targets:\n  - { name: kt, type: kubernetes, server: \"https://k\" }\n"   \
	"  - { name: r, type: redis }\n"                                          \
	"rules:\n  - name: p\n    type: presence\n    kind: k\n    sources: [s, s2]\n" \
	"    when_extra:\n      s:\n"

static void actions(void **state)
{
	(void)state;
	struct tu_config *cfg = try_load(
		KRULE
		"        - { target: kt, action: delete, resource: pods, namespace: \"{namespace}\",\n"
		"            name: \"{name}\", propagation_policy: Background,\n"
		"            grace_period_seconds: \"0\",\n"
		"            if: [{ field_equals: { uid: \"{s.uid}\" } }] }\n"
		"        - { target: kt, action: merge-patch, group: example.com, version: v1,\n"
		"            plural: databases, namespace: shop, name: \"{name}\",\n"
		"            patch: '{{\"spec\":{{\"storage\":\"{s.storage}\"}}}}' }\n"
		"        - { target: kt, action: json-patch, resource: configmaps, name: x,\n"
		"            patch: '[]' }\n"
		"        - { target: kt, action: scale, resource: deployments, name: x,\n"
		"            replicas: \"3\" }\n",
		NULL, NULL);
	const struct tu_actions *acts = &cfg->rules[0].presence.when_extra[0].actions;
	assert_int_equal(acts->n, 4);
	assert_string_equal(acts->items[0].action, "delete");
	assert_int_equal(acts->items[0].n_pre, 1);
	assert_string_equal(acts->items[0].pre[0].field, "uid");
	assert_string_equal(acts->items[0].params.items[0].key, "grace_period_seconds"); /* sorted */
	tu_config_destroy(cfg);
}

static void action_errors(void **state)
{
	(void)state;
	try_load(KRULE "        - { target: kt, action: del, name: x, resource: pods }\n",
		 "t.yaml:14:33: rules[0].when_extra.s[0].action: ",
		 "unknown action \"del\" for target \"kt\" of type kubernetes (known: delete, "
		 "merge-patch, json-patch, scale)");
	try_load(KRULE "        - { target: kt, action: delete, resource: pods }\n",
		 "t.yaml:14:11: rules[0].when_extra.s[0]: ", "action delete needs param \"name\"");
	try_load(KRULE "        - { target: kt, action: scale, name: x, resource: deployments }\n",
		 "t.yaml:14:11: rules[0].when_extra.s[0]: ", "action scale needs param \"replicas\"");
	try_load(KRULE "        - { target: kt, action: delete, name: x }\n",
		 "t.yaml:14:11: rules[0].when_extra.s[0]: ",
		 "action delete needs param \"resource\"");
	try_load(KRULE "        - { target: kt, action: delete, name: x, group: g.io, version: v1 }\n",
		 "t.yaml:14:11: rules[0].when_extra.s[0]: ", "all of \"group\", \"version\"");
	try_load(KRULE "        - { target: kt, action: delete, name: x, resource: pods, plural: p }\n",
		 "t.yaml:14:50: rules[0].when_extra.s[0].resource: ", "not both");
	try_load(KRULE "        - { target: kt, action: scale, name: x, resource: deployments,\n"
		       "            replicas: \"1\", patch: x }\n",
		 "t.yaml:15:28: rules[0].when_extra.s[0].patch: ",
		 "action scale takes no param \"patch\"");
	try_load(KRULE "        - { target: kt, action: delete, name: x, resource: pods, key: k }\n",
		 "t.yaml:14:66: rules[0].when_extra.s[0].key: ", "takes no param \"key\"");
	/* the redis verbs are unchanged next to a kubernetes target */
	try_load(KRULE "        - { target: r, action: delete, key: x }\n",
		 "t.yaml:14:32: rules[0].when_extra.s[0].action: ",
		 "unknown action \"delete\" for target \"r\" of type redis");
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(source_full),
	cmocka_unit_test(defaults),
	cmocka_unit_test(source_errors),
	cmocka_unit_test(actions),
	cmocka_unit_test(action_errors),
};
TU_TEST_MAIN(tests)
