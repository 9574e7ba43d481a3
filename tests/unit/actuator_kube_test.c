/*
 * actuator_kube_test.c - the kubernetes target's pure parts: params and
 * preconditions checked, DeleteOptions and patch bodies (with the
 * resourceVersion pinned), preconditions checked on an object, results
 * classified, changes described. The requests themselves run against the
 * API fixture in tests/integration/kube.sh.
 */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube_target.h"

#define SUCCEEDED TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED
#define NOOP TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP
#define RETRYABLE TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE
#define PERMANENT TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT
#define SKIPPED TRUEUP__V1__OUTCOME__RESULT__RESULT_SKIPPED_PRECONDITION
#define FIELD_EQUALS TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS

/* A command being built, and what parsing it gave. */
struct cmd {
	struct tu_arena a;
	Trueup__V1__FixCommand fc;
	struct tu__kube_cmd c;
	char err[512];
};

static void cmd_init(struct cmd *m, const char *action)
{
	memset(m, 0, sizeof(*m));
	tu_arena_init(&m->a, 4096);
	trueup__v1__fix_command__init(&m->fc);
	m->fc.action = (char *)action;
	m->fc.params = tu_arena_alloc(&m->a, (TU_MAX_PARAMS + 2) * sizeof(*m->fc.params));
	m->fc.preconditions =
		tu_arena_alloc(&m->a, (TU_MAX_PARAMS + 2) * sizeof(*m->fc.preconditions));
}

/* Params must be added in key order (the processor sorts them). */
static void p(struct cmd *m, const char *key, const char *value)
{
	m->fc.params[m->fc.n_params++] = tu_pb_attr(&m->a, key, value);
}

static void pre(struct cmd *m, Trueup__V1__Precondition__Op op, const char *field,
		const char *value)
{
	Trueup__V1__Precondition *x = tu_arena_alloc(&m->a, sizeof(*x));
	trueup__v1__precondition__init(x);
	x->op = op;
	x->field = (char *)field;
	x->value = (char *)value;
	m->fc.preconditions[m->fc.n_preconditions++] = x;
}

static tu_status parse(struct cmd *m, const char *default_ns)
{
	m->err[0] = '\0';
	return tu__kube_cmd_parse(&m->fc, default_ns, &m->c, m->err, sizeof(m->err));
}

static void cmd_release(struct cmd *m)
{
	tu__kube_cmd_release(&m->c);
	tu_arena_release(&m->a);
}

/* parse fails with TU_EINVAL and a message containing phrase */
static void expect_bad(struct cmd *m, const char *default_ns, const char *phrase)
{
	tu_status st = parse(m, default_ns);
	if (st == TU_OK || strstr(m->err, phrase) == NULL)
		print_error("status %s, message: %s; wanted: %s\n", tu_status_str(st), m->err, phrase);
	assert_int_not_equal(st, TU_OK);
	assert_non_null(strstr(m->err, phrase));
}

static void verbs(void **state)
{
	(void)state;
	assert_true(tu_kube_verb_known("delete"));
	assert_true(tu_kube_verb_known("merge-patch"));
	assert_true(tu_kube_verb_known("json-patch"));
	assert_true(tu_kube_verb_known("scale"));
	assert_false(tu_kube_verb_known("del"));
	assert_false(tu_kube_verb_known("patch"));
	assert_false(tu_kube_verb_known(NULL));
}

static void parse_delete(void **state)
{
	(void)state;
	struct cmd m;
	cmd_init(&m, "delete");
	p(&m, "grace_period_seconds", "30");
	p(&m, "name", "web-1");
	p(&m, "namespace", "shop");
	p(&m, "propagation_policy", "Foreground");
	p(&m, "resource", "pods");
	pre(&m, FIELD_EQUALS, "uid", "u-1");
	pre(&m, FIELD_EQUALS, ".metadata.resourceVersion", "42");
	pre(&m, FIELD_EQUALS, "status.phase", "Running");
	pre(&m, TRUEUP__V1__PRECONDITION__OP__OP_EXISTS, "", "");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_int_equal(m.c.verb, TU_KUBE_DELETE);
	assert_string_equal(m.c.res.plural, "pods");
	assert_string_equal(m.c.ns, "shop");
	assert_string_equal(m.c.name, "web-1");
	assert_int_equal(m.c.grace, 30);
	assert_string_equal(m.c.propagation, "Foreground");
	assert_string_equal(m.c.uid, "u-1");
	assert_string_equal(m.c.rv, "42");
	assert_true(m.c.must_exist);
	assert_int_equal(m.c.n_fields, 1);
	assert_string_equal(m.c.paths[0], ".status.phase");
	assert_int_equal(m.c.pre_index[0], 3);
	assert_true(tu__kube_cmd_has_pre(&m.c));
	cmd_release(&m);

	/* a custom resource by group/version/plural: namespaced when a namespace is given */
	cmd_init(&m, "delete");
	p(&m, "group", "example.com");
	p(&m, "name", "orders");
	p(&m, "namespace", "shop");
	p(&m, "plural", "databases");
	p(&m, "version", "v1");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_string_equal(m.c.res.group, "example.com");
	assert_true(m.c.res.namespaced);
	assert_int_equal(m.c.grace, -1);
	assert_null(m.c.propagation);
	assert_false(tu__kube_cmd_has_pre(&m.c));
	cmd_release(&m);

	/* the service account's namespace stands in for a missing one */
	cmd_init(&m, "delete");
	p(&m, "name", "web-1");
	p(&m, "resource", "pods");
	assert_int_equal(parse(&m, "lab"), TU_OK);
	assert_string_equal(m.c.ns, "lab");
	cmd_release(&m);
}

static void parse_errors(void **state)
{
	(void)state;
	struct cmd m;
	cmd_init(&m, "delete");
	p(&m, "name", "web-1");
	p(&m, "resource", "pods");
	expect_bad(&m, NULL, "param namespace: missing (pods are namespaced)");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "name", "node-1");
	p(&m, "namespace", "shop");
	p(&m, "resource", "nodes");
	expect_bad(&m, NULL, "nodes are cluster-scoped");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "namespace", "shop");
	p(&m, "resource", "pods");
	expect_bad(&m, NULL, "param name: missing");
	cmd_release(&m);
	/* an entity named ".." must not turn DELETE .../pods/.. into DELETE of the namespace */
	cmd_init(&m, "delete");
	p(&m, "name", "..");
	p(&m, "namespace", "shop");
	p(&m, "resource", "pods");
	expect_bad(&m, NULL, "param name: \"..\" is not an object name");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "name", "web-1");
	p(&m, "namespace", ".");
	p(&m, "resource", "pods");
	expect_bad(&m, NULL, "param namespace: \".\" is not a namespace");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "resource", "gizmos");
	expect_bad(&m, NULL, "unknown resource \"gizmos\"");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "group", "example.com");
	p(&m, "name", "x");
	p(&m, "resource", "pods");
	expect_bad(&m, NULL, "not both");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "group", "example.com");
	p(&m, "name", "x");
	expect_bad(&m, NULL, "param resource: missing");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "group", "Example.com");
	p(&m, "name", "x");
	p(&m, "plural", "dbs");
	p(&m, "version", "v1");
	expect_bad(&m, NULL, "not an API group");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "key", "x");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	expect_bad(&m, NULL, "param key: not a param of delete");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "propagation_policy", "Sometimes");
	p(&m, "resource", "nodes");
	expect_bad(&m, NULL, "not one of Foreground, Background, Orphan");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "grace_period_seconds", "-1");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	expect_bad(&m, NULL, "grace_period_seconds");
	cmd_release(&m);
	cmd_init(&m, "scale");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "replicas", "three");
	p(&m, "resource", "deployments");
	expect_bad(&m, NULL, "param replicas: not a count");
	cmd_release(&m);
	cmd_init(&m, "scale");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "resource", "deployments");
	expect_bad(&m, NULL, "param replicas: missing");
	cmd_release(&m);
	cmd_init(&m, "scale"); /* params out of order */
	p(&m, "resource", "deployments");
	p(&m, "name", "web");
	expect_bad(&m, NULL, "not sorted");
	cmd_release(&m);
	cmd_init(&m, "restart");
	expect_bad(&m, NULL, "not a verb");
	cmd_release(&m);
}

static void parse_preconds(void **state)
{
	(void)state;
	struct cmd m;
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	pre(&m, TRUEUP__V1__PRECONDITION__OP__OP_EQUALS, "", "3");
	expect_bad(&m, NULL, "precondition 1: op equals is not supported");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	pre(&m, TRUEUP__V1__PRECONDITION__OP__OP_ABSENT, "", "");
	expect_bad(&m, NULL, "op absent is not supported");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	pre(&m, FIELD_EQUALS, "", "3");
	expect_bad(&m, NULL, "field_equals needs a field");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	pre(&m, FIELD_EQUALS, "spec..x", "3");
	expect_bad(&m, NULL, "precondition 1: field:");
	cmd_release(&m);
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	pre(&m, FIELD_EQUALS, "uid", "u");
	m.fc.preconditions[0]->key = "some-key";
	expect_bad(&m, NULL, "key is not used");
	cmd_release(&m);
}

static void parse_patches(void **state)
{
	(void)state;
	struct cmd m;
	cmd_init(&m, "merge-patch");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "{\"spec\":{\"replicas\":3}}");
	p(&m, "resource", "deployments");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_true(json_is_object(m.c.patch));
	cmd_release(&m);
	cmd_init(&m, "merge-patch");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "[{\"op\":\"add\"}]");
	p(&m, "resource", "deployments");
	expect_bad(&m, NULL, "a merge patch is a JSON object");
	cmd_release(&m);
	cmd_init(&m, "merge-patch");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "{\"spec\":{\"replicas\":3}");
	p(&m, "resource", "deployments");
	expect_bad(&m, NULL, "param patch: not JSON: line 1");
	cmd_release(&m);
	cmd_init(&m, "json-patch");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "{\"op\":\"add\"}");
	p(&m, "resource", "deployments");
	expect_bad(&m, NULL, "a JSON patch is a non-empty array");
	cmd_release(&m);
	cmd_init(&m, "json-patch");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "[{\"op\":\"add\",\"value\":1}]");
	p(&m, "resource", "deployments");
	expect_bad(&m, NULL, "operation 0 needs op and path");
	cmd_release(&m);
	cmd_init(&m, "json-patch");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "resource", "deployments");
	expect_bad(&m, NULL, "param patch: missing");
	cmd_release(&m);
}

static const char *body_of(struct tu_buf *b)
{
	return tu_buf_cstr(b);
}

static void delete_bodies(void **state)
{
	(void)state;
	struct cmd m;
	struct tu_buf b;
	tu_buf_init(&b, 4096);
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_int_equal(tu__kube_delete_body(&m.c, NULL, NULL, &b), TU_OK);
	assert_string_equal(body_of(&b), "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\"}");
	m.c.grace = 0;
	m.c.propagation = "Orphan";
	assert_int_equal(tu__kube_delete_body(&m.c, "u-\"1", "42", &b), TU_OK);
	assert_string_equal(body_of(&b), "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\","
					 "\"gracePeriodSeconds\":0,\"propagationPolicy\":\"Orphan\","
					 "\"preconditions\":{\"uid\":\"u-\\\"1\","
					 "\"resourceVersion\":\"42\"}}");
	assert_int_equal(tu__kube_delete_body(&m.c, NULL, "7", &b), TU_OK);
	assert_non_null(strstr(body_of(&b), "\"preconditions\":{\"resourceVersion\":\"7\"}"));
	cmd_release(&m);
	tu_buf_release(&b);
}

static void patch_bodies(void **state)
{
	(void)state;
	struct cmd m;
	struct tu_buf b;
	char err[256];
	tu_buf_init(&b, 4096);
	cmd_init(&m, "merge-patch");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"replicas\":3}}");
	p(&m, "resource", "deployments");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_int_equal(tu__kube_patch_body(&m.c, NULL, &b, err, sizeof(err)), TU_OK);
	assert_string_equal(body_of(&b),
			    "{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"replicas\":3}}");
	assert_int_equal(tu__kube_patch_body(&m.c, "42", &b, err, sizeof(err)), TU_OK);
	assert_string_equal(body_of(&b), "{\"metadata\":{\"labels\":{\"a\":\"b\"},"
					 "\"resourceVersion\":\"42\"},\"spec\":{\"replicas\":3}}");
	/* the parsed patch is not changed by pinning: the next body starts from it again */
	assert_int_equal(tu__kube_patch_body(&m.c, NULL, &b, err, sizeof(err)), TU_OK);
	assert_null(strstr(body_of(&b), "resourceVersion"));
	cmd_release(&m);

	cmd_init(&m, "merge-patch"); /* no metadata yet */
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "{\"spec\":{\"paused\":true}}");
	p(&m, "resource", "deployments");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_int_equal(tu__kube_patch_body(&m.c, "9", &b, err, sizeof(err)), TU_OK);
	assert_string_equal(body_of(&b),
			    "{\"spec\":{\"paused\":true},\"metadata\":{\"resourceVersion\":\"9\"}}");
	cmd_release(&m);

	cmd_init(&m, "merge-patch"); /* metadata that cannot take it */
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "{\"metadata\":\"x\"}");
	p(&m, "resource", "deployments");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_int_equal(tu__kube_patch_body(&m.c, "9", &b, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "metadata is not an object"));
	cmd_release(&m);

	cmd_init(&m, "json-patch");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "patch", "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":3}]");
	p(&m, "resource", "deployments");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_int_equal(tu__kube_patch_body(&m.c, "42", &b, err, sizeof(err)), TU_OK);
	assert_string_equal(body_of(&b),
			    "[{\"op\":\"replace\",\"path\":\"/metadata/resourceVersion\","
			    "\"value\":\"42\"},{\"op\":\"replace\",\"path\":\"/spec/replicas\","
			    "\"value\":3}]");
	cmd_release(&m);

	cmd_init(&m, "scale");
	p(&m, "name", "web");
	p(&m, "namespace", "shop");
	p(&m, "replicas", "4");
	p(&m, "resource", "deployments");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_int_equal(m.c.replicas, 4);
	assert_int_equal(tu__kube_patch_body(&m.c, NULL, &b, err, sizeof(err)), TU_OK);
	assert_string_equal(body_of(&b), "{\"spec\":{\"replicas\":4}}");
	assert_int_equal(tu__kube_patch_body(&m.c, "5", &b, err, sizeof(err)), TU_OK);
	assert_string_equal(body_of(&b),
			    "{\"spec\":{\"replicas\":4},\"metadata\":{\"resourceVersion\":\"5\"}}");
	cmd_release(&m);
	tu_buf_release(&b);
}

static void precondition_checks(void **state)
{
	(void)state;
	struct cmd m;
	char why[512];
	json_error_t je;
	json_t *obj = json_loads("{\"metadata\":{\"uid\":\"u-1\",\"resourceVersion\":\"42\","
				 "\"labels\":{\"app.kubernetes.io/name\":\"web\"}},"
				 "\"spec\":{\"replicas\":3,\"template\":{}}}",
				 0, &je);
	assert_non_null(obj);
	cmd_init(&m, "delete");
	p(&m, "name", "x");
	p(&m, "resource", "nodes");
	pre(&m, FIELD_EQUALS, "metadata.uid", "u-1");
	pre(&m, FIELD_EQUALS, "resourceVersion", "42");
	pre(&m, FIELD_EQUALS, "spec.replicas", "3");
	pre(&m, FIELD_EQUALS, ".metadata.labels[\"app.kubernetes.io/name\"]", "web");
	assert_int_equal(parse(&m, NULL), TU_OK);
	assert_int_equal(tu__kube_pre_check(&m.c, obj, why, sizeof(why)), TU_OK);
	m.c.uid = "u-2";
	assert_int_equal(tu__kube_pre_check(&m.c, obj, why, sizeof(why)), TU_ECONFLICT);
	assert_string_equal(why, "precondition 1 (field_equals uid \"u-2\") failed: actual \"u-1\"");
	m.c.uid = "u-1";
	m.c.rv = "41";
	assert_int_equal(tu__kube_pre_check(&m.c, obj, why, sizeof(why)), TU_ECONFLICT);
	assert_non_null(strstr(why, "precondition 2 (field_equals resourceVersion \"41\")"));
	m.c.rv = "42";
	m.c.values[0] = "4";
	assert_int_equal(tu__kube_pre_check(&m.c, obj, why, sizeof(why)), TU_ECONFLICT);
	assert_string_equal(why, "precondition 3 (field_equals .spec.replicas \"4\") failed: "
				 "actual \"3\"");
	m.c.values[0] = "3";
	free(m.c.paths[0]);
	m.c.paths[0] = strdup(".spec.missing");
	assert_int_equal(tu__kube_pre_check(&m.c, obj, why, sizeof(why)), TU_ECONFLICT);
	assert_non_null(strstr(why, "failed: no value there"));
	free(m.c.paths[0]);
	m.c.paths[0] = strdup(".spec.template");
	m.c.values[0] = "{}";
	assert_int_equal(tu__kube_pre_check(&m.c, obj, why, sizeof(why)), TU_ECONFLICT);
	assert_non_null(strstr(why, "actual \"{...}\""));
	cmd_release(&m);
	json_decref(obj);
}

static void classify(void **state)
{
	(void)state;
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_OK, 200), SUCCEEDED);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_OK, 202), SUCCEEDED);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_OK, 404), NOOP);
	assert_int_equal(tu__kube_classify(TU_KUBE_MERGE_PATCH, TU_OK, 404), PERMANENT);
	assert_int_equal(tu__kube_classify(TU_KUBE_SCALE, TU_OK, 404), PERMANENT);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_OK, 409), SKIPPED);
	assert_int_equal(tu__kube_classify(TU_KUBE_JSON_PATCH, TU_OK, 409), SKIPPED);
	assert_int_equal(tu__kube_classify(TU_KUBE_SCALE, TU_OK, 429), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_SCALE, TU_OK, 500), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_SCALE, TU_OK, 503), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_SCALE, TU_OK, 504), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_SCALE, TU_OK, 401), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_SCALE, TU_OK, 403), PERMANENT);
	assert_int_equal(tu__kube_classify(TU_KUBE_SCALE, TU_OK, 400), PERMANENT);
	assert_int_equal(tu__kube_classify(TU_KUBE_MERGE_PATCH, TU_OK, 422), PERMANENT);
	assert_int_equal(tu__kube_classify(TU_KUBE_MERGE_PATCH, TU_OK, 415), PERMANENT);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_ETIMEOUT, 0), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_EUNAVAIL, 0), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_EAUTH, 0), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_EIO, 0), RETRYABLE);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_ETOOBIG, 0), PERMANENT);
	assert_int_equal(tu__kube_classify(TU_KUBE_DELETE, TU_EINVAL, 0), PERMANENT);
}

static void diffs(void **state)
{
	(void)state;
	json_error_t je;
	char out[512];
	json_t *a = json_loads("{\"metadata\":{\"resourceVersion\":\"1\",\"generation\":1,"
			       "\"labels\":{\"app\":\"web\",\"x.y/z\":\"1\"}},"
			       "\"spec\":{\"replicas\":2,\"paused\":false,\"ports\":[1],"
			       "\"containers\":[{\"name\":\"a\",\"image\":\"a:1\"},{\"name\":\"b\"}]},"
			       "\"status\":{\"ready\":2}}",
			       0, &je);
	json_t *b = json_loads("{\"metadata\":{\"resourceVersion\":\"2\",\"generation\":2,"
			       "\"labels\":{\"app\":\"web\",\"fixed\":\"yes\"}},"
			       "\"spec\":{\"replicas\":3,\"paused\":false,\"ports\":[1,2],"
			       "\"containers\":[{\"name\":\"a\",\"image\":\"a:0\"},{\"name\":\"b\"}]},"
			       "\"status\":{\"ready\":3}}",
			       0, &je);
	assert_non_null(a);
	assert_non_null(b);
	tu__kube_diff(a, b, out, sizeof(out));
	assert_string_equal(out, "metadata.labels[\"x.y/z\"]: \"1\" -> (none), "
				 "metadata.labels.fixed: (none) -> \"yes\", spec.replicas: 2 -> 3, "
				 "spec.ports: [1] -> [1,2], spec.containers[0].image: \"a:1\" -> \"a:0\"");
	tu__kube_diff(a, a, out, sizeof(out));
	assert_string_equal(out, "");
	json_decref(b);
	/* many changes: named up to the bound, then counted */
	b = json_object();
	for (int i = 0; i < TU_KUBE_MAX_DIFF + 3; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%02d", i);
		json_object_set_new(b, k, json_integer(i));
	}
	json_t *empty = json_object();
	tu__kube_diff(empty, b, out, sizeof(out));
	assert_non_null(strstr(out, " and 3 more"));
	json_decref(empty);
	tu__kube_diff(a, b, out, 40); /* bounded by the buffer */
	assert_true(strlen(out) < 40);
	json_decref(a);
	json_decref(b);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(verbs),
	cmocka_unit_test(parse_delete),
	cmocka_unit_test(parse_errors),
	cmocka_unit_test(parse_preconds),
	cmocka_unit_test(parse_patches),
	cmocka_unit_test(delete_bodies),
	cmocka_unit_test(patch_bodies),
	cmocka_unit_test(precondition_checks),
	cmocka_unit_test(classify),
	cmocka_unit_test(diffs),
};
TU_TEST_MAIN(tests)
