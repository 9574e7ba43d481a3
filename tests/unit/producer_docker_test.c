/*
 * producer_docker_test.c - the docker source: container JSON to entities
 * (valid, missing fields, wrong types, truncated, not an array, over
 * max_body), the filters sent and checked, health from the Status text and
 * from inspects, against canned replies of a fake daemon (dockerfake.h).
 * The real daemon is in tests/integration/docker.sh.
 */
#include "testmain.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "config.h"
#include "docker_source.h"
#include "dockerfake.h"
#include "xalloc.h"

#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define ID3 "3333333333333333333333333333333333333333333333333333333333333333"

/* A list item: id, name, state, status, labels JSON. */
static char *item(const char *id, const char *name, const char *state, const char *status,
		  const char *labels)
{
	return tu_xasprintf("{\"Id\":\"%s\",\"Names\":[\"/%s\"],\"Image\":\"trueup-test:1\","
			    "\"Created\":1795321933,\"State\":\"%s\",\"Status\":\"%s\","
			    "\"Labels\":%s}",
			    id, name, state, status, labels);
}

/* What a scan handed to its sink. */
struct rec {
	char ents[16][1024]; /* "kind/ns/name k=v k=v" */
	int n_ents;
	char skips[16][1024];
	int n_skips;
	bool stop;
};

static tu_status rec_entity(void *ctx, const struct tu_entity *e)
{
	struct rec *r = ctx;
	if (r->n_ents >= 16)
		return TU_OK;
	char *p = r->ents[r->n_ents++];
	size_t n = sizeof(r->ents[0]);
	int o = snprintf(p, n, "%s/%s/%s", e->kind, e->ns, e->name);
	for (size_t i = 0; i < e->n_attrs && o > 0 && (size_t)o < n; i++)
		o += snprintf(p + o, n - (size_t)o, " %s=%s", e->attrs[i]->key, e->attrs[i]->value);
	return TU_OK;
}

static void rec_skip(void *ctx, const char *why)
{
	struct rec *r = ctx;
	if (r->n_skips < 16)
		snprintf(r->skips[r->n_skips++], sizeof(r->skips[0]), "%s", why);
}

static bool rec_stopping(void *ctx)
{
	return ((struct rec *)ctx)->stop;
}

/* A source on the fake daemon from the YAML of its other fields. */
struct fx {
	struct dockerfake df;
	struct tu_config *cfg;
	struct tu_source *src;
	struct rec rec;
	struct tu_scan_sink sink;
	char err[1024];
};

static struct fx *fx_new(const char *fields)
{
	struct fx *f = calloc(1, sizeof(*f));
	char yaml[4096], cerr[512];
	df_start(&f->df);
	snprintf(yaml, sizeof(yaml),
		 "sources:\n  - name: docker\n    type: docker\n    socket: %s\n    timeout: 10s\n%s",
		 f->df.sock, fields);
	tu_status st = tu_config_load_string("t.yaml", yaml, strlen(yaml), &f->cfg, cerr,
					     sizeof(cerr));
	if (st != TU_OK)
		print_error("config: %s\n", cerr);
	assert_int_equal(st, TU_OK);
	assert_int_equal(tu_source_create(&f->cfg->sources[0], &f->src, cerr, sizeof(cerr)), TU_OK);
	f->sink = (struct tu_scan_sink){ rec_entity, rec_skip, rec_stopping, &f->rec };
	return f;
}

static void fx_free(struct fx *f)
{
	tu_source_destroy(f->src);
	tu_config_destroy(f->cfg);
	df_stop(&f->df);
	free(f);
}

static tu_status reply(struct fx *f, const char *body)
{
	memset(&f->rec, 0, sizeof(f->rec));
	f->err[0] = '\0';
	return tu__docker_source_reply(f->src, body, strlen(body), &f->sink, f->err,
				       sizeof(f->err));
}

static tu_status scan(struct fx *f)
{
	memset(&f->rec, 0, sizeof(f->rec));
	f->err[0] = '\0';
	return tu_source_scan(f->src, &f->sink, f->err, sizeof(f->err));
}

#define WORKERS                                                                    \
	"    observe:\n"                                                          \
	"      - kind: worker\n"                                                  \
	"        name: \"{.Names[0]|trimprefix:/}\"\n"                             \
	"        name_prefix: k3s-worker-\n"                                       \
	"        attrs: { id: \"{.Id}\", state: \"{.State}\", role: "             \
	"\"{.Labels[\\\"com.example.role\\\"]|default:none}\", health: \"{health}\" }\n"

static void maps_valid_items(void **state)
{
	(void)state;
	struct fx *f = fx_new(WORKERS);
	char *a = item(ID1, "k3s-worker-1", "running", "Up 3 minutes (healthy)",
		       "{\"com.example.role\":\"worker\"}");
	char *b = item(ID2, "k3s-worker-2", "exited", "Exited (137) 2 seconds ago", "{}");
	char *c = item(ID3, "db-1", "running", "Up 1 hour", "{}");
	char body[4096];
	snprintf(body, sizeof(body), "[%s,%s,%s]", a, b, c);
	assert_int_equal(reply(f, body), TU_OK);
	assert_int_equal(f->rec.n_skips, 0);
	assert_int_equal(f->rec.n_ents, 2); /* db-1 does not have the prefix: not an error */
	assert_string_equal(f->rec.ents[0], "worker/default/k3s-worker-1 health=healthy id=" ID1
					    " role=worker state=running");
	assert_string_equal(f->rec.ents[1], "worker/default/k3s-worker-2 health=none id=" ID2
					    " role=none state=exited");
	free(a);
	free(b);
	free(c);
	fx_free(f);
}

static void default_attrs(void **state)
{
	(void)state;
	struct fx *f = fx_new("    observe:\n      - { kind: box, name: \"{.Names[0]}\", "
			      "namespace: \"{.Labels.ns|default:default}\" }\n");
	char *a = item(ID1, "web", "running", "Up 2 seconds (health: starting)", "{\"ns\":\"lab\"}");
	char body[2048];
	snprintf(body, sizeof(body), "[%s]", a);
	assert_int_equal(reply(f, body), TU_OK);
	assert_int_equal(f->rec.n_ents, 1);
	assert_string_equal(f->rec.ents[0], "box/lab//web created=1795321933 health=starting id=" ID1
					    " image=trueup-test:1 state=running");
	free(a);
	fx_free(f);
}

static void missing_and_wrong_fields_skip(void **state)
{
	(void)state;
	struct fx *f = fx_new(WORKERS);
	char *ok = item(ID1, "k3s-worker-1", "running", "Up", "{}");
	char body[4096];
	/* no State; Names not a list; a label that is an object; not an object at all */
	snprintf(body, sizeof(body),
		 "[{\"Id\":\"" ID2 "\",\"Names\":[\"/k3s-worker-2\"],\"Status\":\"Up\"},"
		 "{\"Id\":\"" ID3 "\",\"Names\":\"/k3s-worker-3\"},"
		 "{\"Id\":\"" ID3 "\",\"Names\":[\"/k3s-worker-4\"],\"State\":{\"x\":1}},"
		 "42,%s]",
		 ok);
	assert_int_equal(reply(f, body), TU_OK);
	assert_int_equal(f->rec.n_ents, 1);
	assert_int_equal(f->rec.n_skips, 4);
	/* each reason names the container, the entry and the field */
	assert_non_null(strstr(f->rec.skips[0], "container 222222222222 (k3s-worker-2)"));
	assert_non_null(strstr(f->rec.skips[0], "observe[0] (kind worker)"));
	assert_non_null(strstr(f->rec.skips[0], "attrs.state"));
	assert_non_null(strstr(f->rec.skips[0], ".State"));
	assert_non_null(strstr(f->rec.skips[1], "container 333333333333"));
	assert_non_null(strstr(f->rec.skips[1], "name"));
	assert_non_null(strstr(f->rec.skips[2], "k3s-worker-4"));
	assert_non_null(strstr(f->rec.skips[2], "attrs.state"));
	assert_non_null(strstr(f->rec.skips[2], "not a scalar"));
	assert_string_equal(f->rec.skips[3], "containers[3]: not a JSON object");
	free(ok);
	fx_free(f);
}

static void broken_replies_fail_the_scan(void **state)
{
	(void)state;
	struct fx *f = fx_new(WORKERS);
	char *a = item(ID1, "k3s-worker-1", "running", "Up", "{}");
	char body[2048];
	snprintf(body, sizeof(body), "[%s", a); /* truncated */
	assert_int_equal(reply(f, body), TU_EDECODE);
	assert_non_null(strstr(f->err, "not JSON"));
	assert_non_null(strstr(f->err, "containers/json"));
	assert_int_equal(f->rec.n_ents, 0);
	body[strlen(body) / 2] = '\0'; /* cut mid-item */
	assert_int_equal(reply(f, body), TU_EDECODE);
	assert_int_equal(reply(f, ""), TU_EDECODE);
	assert_int_equal(reply(f, "<html>502 Bad Gateway</html>"), TU_EDECODE);
	assert_int_equal(reply(f, "{\"message\":\"page not found\"}"), TU_EDECODE);
	assert_non_null(strstr(f->err, "an object, not an array"));
	assert_int_equal(reply(f, "null"), TU_EDECODE);
	assert_int_equal(reply(f, "[]"), TU_OK);
	assert_int_equal(f->rec.n_ents + f->rec.n_skips, 0);
	free(a);
	fx_free(f);
}

static void list_path_encodes_filters(void **state)
{
	(void)state;
	struct fx *f = fx_new("    filters:\n"
			      "      name_prefixes: [k3s-worker-, \"db.x+\"]\n"
			      "      labels: [\"com.example.role=worker\", \"team\"]\n" WORKERS);
	struct tu_buf b;
	tu_buf_init(&b, 65536);
	assert_int_equal(tu__docker_list_path(&f->cfg->sources[0].docker, &b), TU_OK);
	/* {"label":["com.example.role=worker","team"],"name":["^/?k3s-worker-","^/?db\\.x\\+"]} */
	assert_string_equal(tu_buf_cstr(&b),
			    "/containers/json?all=1&filters="
			    "%7B%22label%22%3A%5B%22com.example.role%3Dworker%22%2C%22team%22%5D%2C"
			    "%22name%22%3A%5B%22%5E%2F%3Fk3s-worker-%22%2C"
			    "%22%5E%2F%3Fdb%5C%5C.x%5C%5C%2B%22%5D%7D");
	tu_buf_release(&b);
	/* the same request reaches the daemon */
	df_route(&f->df, "GET", "/v1.41/containers/json*", 200, "[]", -1);
	assert_int_equal(scan(f), TU_OK);
	assert_true(df_find(&f->df, 0, "GET /version") == 0);
	assert_true(df_find(&f->df, 1, "GET /v1.41/containers/json?all=1&filters=%7B%22label") == 1);
	fx_free(f);

	f = fx_new(WORKERS);
	tu_buf_init(&b, 1024);
	assert_int_equal(tu__docker_list_path(&f->cfg->sources[0].docker, &b), TU_OK);
	assert_string_equal(tu_buf_cstr(&b), "/containers/json?all=1");
	tu_buf_release(&b);
	fx_free(f);
}

static void filters_checked_on_items(void **state)
{
	(void)state;
	struct fx *f = fx_new("    filters:\n"
			      "      name_prefixes: [k3s-worker-]\n"
			      "      labels: [\"role=worker\", \"team\"]\n" WORKERS);
	const struct tu_docker_source *dc = &f->cfg->sources[0].docker;
	char why[256];
	json_t *j = json_loads("{\"Names\":[\"/k3s-worker-1\"],\"Labels\":{\"role\":\"worker\","
			       "\"team\":\"a\"}}", 0, NULL);
	assert_int_equal(tu__docker_filter_match(dc, j, why, sizeof(why)), TU_OK);
	json_object_set_new(json_object_get(j, "Labels"), "role", json_string("db"));
	assert_int_equal(tu__docker_filter_match(dc, j, why, sizeof(why)), TU_ENOTFOUND);
	json_object_set_new(json_object_get(j, "Labels"), "role", json_string("worker"));
	json_object_del(json_object_get(j, "Labels"), "team");
	assert_int_equal(tu__docker_filter_match(dc, j, why, sizeof(why)), TU_ENOTFOUND);
	json_object_set_new(j, "Labels", json_null());
	assert_int_equal(tu__docker_filter_match(dc, j, why, sizeof(why)), TU_ENOTFOUND);
	json_object_set_new(j, "Labels", json_string("role=worker"));
	assert_int_equal(tu__docker_filter_match(dc, j, why, sizeof(why)), TU_EINVAL);
	assert_non_null(strstr(why, "Labels"));
	json_object_set_new(j, "Names", json_pack("[s]", "/other"));
	assert_int_equal(tu__docker_filter_match(dc, j, why, sizeof(why)), TU_ENOTFOUND);
	json_object_set_new(j, "Names", json_pack("[i]", 3));
	assert_int_equal(tu__docker_filter_match(dc, j, why, sizeof(why)), TU_EINVAL);
	assert_non_null(strstr(why, "Names[0]"));
	json_object_del(j, "Names");
	assert_int_equal(tu__docker_filter_match(dc, j, why, sizeof(why)), TU_EINVAL);
	json_decref(j);
	fx_free(f);
}

static void health_from_status(void **state)
{
	(void)state;
	assert_string_equal(tu__docker_health_from_status("Up 5 minutes (healthy)"), "healthy");
	assert_string_equal(tu__docker_health_from_status("Up 5 minutes (unhealthy)"), "unhealthy");
	assert_string_equal(tu__docker_health_from_status("Up 1 second (health: starting)"),
			    "starting");
	assert_string_equal(tu__docker_health_from_status("Up 5 minutes"), "none");
	assert_string_equal(tu__docker_health_from_status("Up 2 minutes (Paused)"), "none");
	assert_string_equal(tu__docker_health_from_status("Exited (0) 3 seconds ago"), "none");
	assert_string_equal(tu__docker_health_from_status(""), "none");
	assert_string_equal(tu__docker_health_from_status(NULL), "none");
}

static void inspect_on_demand(void **state)
{
	(void)state;
	struct fx *f = fx_new("    max_inspects: 2\n"
			      "    observe:\n"
			      "      - kind: worker\n"
			      "        name: \"{.Names[0]|trimprefix:/}\"\n"
			      "        name_prefix: k3s-\n"
			      "        inspect: true\n"
			      "        attrs: { health: \"{health}\", pid: \"{inspect.State.Pid|default:0}\" "
			      "}\n");
	char *a = item(ID1, "k3s-1", "running", "Up", "{}");
	char *b = item(ID2, "k3s-2", "running", "Up", "{}");
	char *c = item(ID3, "k3s-3", "running", "Up", "{}");
	char *d = item(ID3, "other", "running", "Up", "{}");
	char body[4096];
	snprintf(body, sizeof(body), "[%s,%s,%s,%s]", a, b, d, c);
	df_route(&f->df, "GET", "/v1.41/containers/" ID1 "/json", 200,
		 "{\"Id\":\"" ID1 "\",\"State\":{\"Pid\":42,\"Health\":{\"Status\":\"unhealthy\"}}}",
		 -1);
	df_route(&f->df, "GET", "/v1.41/containers/" ID2 "/json", 404,
		 "{\"message\":\"No such container\"}", -1);
	df_route(&f->df, "GET", "/v1.41/containers/json?all=1", 200, body, -1);
	assert_int_equal(scan(f), TU_OK);
	/* 1: inspected; 2: vanished (not seen, not skipped); other: not inspected (prefix);
	 * 3: over max_inspects (skipped) */
	assert_int_equal(f->rec.n_ents, 1);
	assert_string_equal(f->rec.ents[0], "worker/default/k3s-1 health=unhealthy pid=42");
	assert_int_equal(f->rec.n_skips, 1);
	assert_non_null(strstr(f->rec.skips[0], "container 333333333333 (k3s-3)"));
	assert_non_null(strstr(f->rec.skips[0], "max_inspects (2)"));
	assert_int_equal(df_count(&f->df, "GET /v1.41/containers/" ID3), 0);
	/* an inspect that fails with 500 skips that container (the default does not hide it);
	 * the scan goes on */
	df_route(&f->df, "GET", "/v1.41/containers/" ID2 "/json", 500,
		 "{\"message\":\"boom\"}", -1);
	assert_int_equal(scan(f), TU_OK);
	assert_int_equal(f->rec.n_ents, 1);
	assert_int_equal(f->rec.n_skips, 2); /* and ID3 is over max_inspects again */
	assert_non_null(strstr(f->rec.skips[0], "container 222222222222 (k3s-2)"));
	assert_non_null(strstr(f->rec.skips[0], "inspect: HTTP 500: boom"));
	free(a);
	free(b);
	free(c);
	free(d);
	fx_free(f);
}

static void daemon_errors(void **state)
{
	(void)state;
	struct fx *f = fx_new("    max_body: 1KiB\n" WORKERS);
	char big[4096];
	memset(big, ' ', sizeof(big));
	big[0] = '[';
	big[sizeof(big) - 2] = ']';
	big[sizeof(big) - 1] = '\0';
	df_route(&f->df, "GET", "/v1.41/containers/json?all=1", 200, big, -1);
	assert_int_equal(scan(f), TU_ETOOBIG);
	assert_non_null(strstr(f->err, "over 1024 bytes"));
	df_route(&f->df, "GET", "/v1.41/containers/json?all=1", 500,
		 "{\"message\":\"daemon is shutting down\"}", -1);
	assert_int_equal(scan(f), TU_EUNAVAIL);
	assert_non_null(strstr(f->err, "HTTP 500: daemon is shutting down"));
	/* an older daemon: the version in the paths follows it */
	df_route(&f->df, "GET", "/version", 200, "{\"ApiVersion\":\"1.30\"}", -1);
	df_route(&f->df, "GET", "/v1.30/containers/json?all=1", 200, "[]", -1);
	fx_free(f);

	f = fx_new(WORKERS);
	df_route(&f->df, "GET", "/version", 200, "{\"ApiVersion\":\"1.30\"}", -1);
	df_route(&f->df, "GET", "/v1.30/containers/json?all=1", 200, "[]", -1);
	assert_int_equal(scan(f), TU_OK);
	/* too old: refused, saying why */
	df_route(&f->df, "GET", "/version", 200, "{\"ApiVersion\":\"1.23\"}", -1);
	fx_free(f);
	f = fx_new(WORKERS);
	df_route(&f->df, "GET", "/version", 200, "{\"ApiVersion\":\"1.23\"}", -1);
	assert_int_equal(scan(f), TU_EINVAL);
	assert_non_null(strstr(f->err, "1.23, older than 1.24"));
	fx_free(f);
}

static void stops_between_items(void **state)
{
	(void)state;
	struct fx *f = fx_new(WORKERS);
	char *a = item(ID1, "k3s-worker-1", "running", "Up", "{}");
	char body[2048];
	snprintf(body, sizeof(body), "[%s,%s]", a, a);
	memset(&f->rec, 0, sizeof(f->rec));
	f->rec.stop = true;
	assert_int_equal(tu__docker_source_reply(f->src, body, strlen(body), &f->sink, f->err,
						 sizeof(f->err)),
			 TU_ESTOP);
	assert_int_equal(f->rec.n_ents, 0);
	free(a);
	fx_free(f);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(maps_valid_items),
	cmocka_unit_test(default_attrs),
	cmocka_unit_test(missing_and_wrong_fields_skip),
	cmocka_unit_test(broken_replies_fail_the_scan),
	cmocka_unit_test(list_path_encodes_filters),
	cmocka_unit_test(filters_checked_on_items),
	cmocka_unit_test(health_from_status),
	cmocka_unit_test(inspect_on_demand),
	cmocka_unit_test(daemon_errors),
	cmocka_unit_test(stops_between_items),
};
TU_TEST_MAIN(tests)
