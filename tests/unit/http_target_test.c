/*
 * http_target_test.c - the http target's pure parts (actuators/http_target.h):
 * request templating (the processor's rendering with urlescape, then the
 * adapter's checks), the alert body, the DigitalOcean spec update (only
 * instance_count changes) and preconditions against the live spec, and the
 * error text of API replies. Requests run against the fixture in
 * tests/integration/http.sh.
 */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_target.h"
#include "httpconn.h"
#include "tmpl.h"

#define FIELD_EQUALS TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS
#define EXISTS TRUEUP__V1__PRECONDITION__OP__OP_EXISTS
#define ABSENT TRUEUP__V1__PRECONDITION__OP__OP_ABSENT
#define EQUALS TRUEUP__V1__PRECONDITION__OP__OP_EQUALS

struct fx {
	struct tu_arena a;
	Trueup__V1__FixCommand cmd;
	struct tu_http_target h;
	struct tu__http_request rq;
	char err[512];
};

static void fx_init(struct fx *f, const char *action)
{
	memset(f, 0, sizeof(*f));
	tu_arena_init(&f->a, 4096);
	trueup__v1__fix_command__init(&f->cmd);
	f->cmd.command_id = "0123456789abcdef01234567";
	f->cmd.target = "do";
	f->cmd.action = (char *)action;
	f->cmd.params = tu_arena_alloc(&f->a, 16 * sizeof(*f->cmd.params));
	f->cmd.preconditions = tu_arena_alloc(&f->a, 16 * sizeof(*f->cmd.preconditions));
	f->h.base_url = "https://api.example.com/api/";
}

/* A fresh command for action, after releasing the last one. */
static void fx_reset(struct fx *f, const char *action)
{
	tu_arena_release(&f->a);
	fx_init(f, action);
}

/* Adds a param; call in key order, as the processor sorts them. */
static void param(struct fx *f, const char *key, const char *value)
{
	f->cmd.params[f->cmd.n_params++] = tu_pb_attr(&f->a, key, value);
}

static void pre(struct fx *f, Trueup__V1__Precondition__Op op, const char *key, const char *field,
		const char *value)
{
	Trueup__V1__Precondition *p = tu_arena_alloc(&f->a, sizeof(*p));
	trueup__v1__precondition__init(p);
	p->op = op;
	p->key = (char *)key;
	p->field = (char *)field;
	p->value = (char *)value;
	f->cmd.preconditions[f->cmd.n_preconditions++] = p;
}

static tu_status build(struct fx *f)
{
	f->err[0] = '\0';
	return tu__http_request_build(&f->h, &f->cmd, &f->a, &f->rq, f->err, sizeof(f->err));
}

/* What the processor does with a param template: {name} is the entity's name. */
static bool name_lookup(void *ctx, const char *var, size_t len, const char **val, size_t *vlen)
{
	if (len == 4 && memcmp(var, "name", 4) == 0) {
		*val = ctx;
		*vlen = strlen(ctx);
		return true;
	}
	return false;
}

static const char *render(const char *tmpl, const char *name, struct tu_buf *b)
{
	char err[128];
	tu_buf_reset(b);
	assert_int_equal(tu_tmpl_render(tmpl, name_lookup, (void *)name, b, err, sizeof(err)), TU_OK);
	return tu_buf_cstr(b);
}

static void request_templating(void **state)
{
	(void)state;
	struct fx f;
	struct tu_buf b;
	tu_buf_init(&b, 4096);
	fx_init(&f, "request");
	/* a name with '/', '?' and a space stays one path segment */
	param(&f, "body", "{\"replicas\": 3}");
	param(&f, "method", "PATCH");
	param(&f, "path", render("/v1/workers/{name|urlescape}/scale", "k3s worker/3?x", &b));
	assert_int_equal(build(&f), TU_OK);
	assert_string_equal(f.rq.method, "PATCH");
	assert_string_equal(f.rq.url, "https://api.example.com/api/v1/workers/k3s%20worker%2F3%3Fx/scale");
	assert_string_equal(f.rq.body, "{\"replicas\": 3}");
	assert_int_equal(f.rq.body_len, 15);
	assert_true(f.rq.with_auth);

	/* an absolute url elsewhere: sent without the auth header */
	fx_reset(&f, "request");
	param(&f, "method", "GET");
	param(&f, "url", "https://hooks.example.net/x?a=1");
	assert_int_equal(build(&f), TU_OK);
	assert_false(f.rq.with_auth);
	assert_null(f.rq.body);
	fx_reset(&f, "request");
	param(&f, "method", "DELETE");
	param(&f, "url", "https://api.example.com/api/v1/x");
	assert_int_equal(build(&f), TU_OK);
	assert_true(f.rq.with_auth);
	tu_buf_release(&b);
	tu_arena_release(&f.a);
}

static void request_bad_params(void **state)
{
	(void)state;
	static const struct {
		const char *method, *url, *path, *body, *extra, *want;
	} cases[] = {
		{ "GET", NULL, "/../admin", NULL, NULL, "param path: \"/../admin\" must start with '/'" },
		{ "GET", NULL, "/a/./b", NULL, NULL, "no '.' or '..' segment" },
		{ "GET", NULL, "/a/%2E%2e/b", NULL, NULL, "no '.' or '..' segment" },
		{ "GET", NULL, "/a/..", NULL, NULL, "no '.' or '..' segment" },
		{ "GET", NULL, "v1/x", NULL, NULL, "must start with '/'" },
		{ "GET", NULL, "/a b", NULL, NULL, "param path: URL contains whitespace" },
		{ "GET", "http://u:p@h/x", NULL, NULL, NULL, "param url: URL has a user or password" },
		{ "GET", "/relative", NULL, NULL, NULL, "param url: not an absolute URL" },
		{ "GET", "https://h/x", "/y", NULL, NULL, "exactly one is needed" },
		{ "GET", NULL, NULL, NULL, NULL, "exactly one is needed" },
		{ "TRACE", "https://h/x", NULL, NULL, NULL, "param method: \"TRACE\" is not one of" },
		{ NULL, "https://h/x", NULL, NULL, NULL, "param method: \"\" is not one of" },
		{ "POST", "https://h/x", NULL, "{\"a\": ", NULL, "param body: not JSON" },
		{ "POST", "https://h/x", NULL, NULL, "zz", "param zz: not a param of request" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		fx_init(&f, "request");
		if (cases[i].body)
			param(&f, "body", cases[i].body);
		if (cases[i].method)
			param(&f, "method", cases[i].method);
		if (cases[i].path)
			param(&f, "path", cases[i].path);
		if (cases[i].url)
			param(&f, "url", cases[i].url);
		if (cases[i].extra)
			param(&f, cases[i].extra, "1");
		tu_status st = build(&f);
		if (st != TU_EINVAL || strstr(f.err, cases[i].want) == NULL)
			print_error("case %zu: status %d, err \"%s\", want \"%s\"\n", i, st, f.err,
				    cases[i].want);
		assert_int_equal(st, TU_EINVAL);
		assert_non_null(strstr(f.err, cases[i].want));
		tu_arena_release(&f.a);
	}
	/* no base_url: no path; preconditions are refused */
	struct fx f;
	fx_init(&f, "request");
	f.h.base_url = NULL;
	param(&f, "method", "GET");
	param(&f, "path", "/x");
	assert_int_equal(build(&f), TU_EINVAL);
	assert_string_equal(f.err, "param path: the target has no base_url");
	fx_reset(&f, "request");
	param(&f, "method", "GET");
	param(&f, "path", "/x");
	pre(&f, EXISTS, "k", "", "");
	assert_int_equal(build(&f), TU_EINVAL);
	assert_string_equal(f.err, "preconditions: request takes none (1 given)");
	tu_arena_release(&f.a);
}

static void alert_body(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "alert");
	f.cmd.rule = "replicas";
	f.cmd.correlation_id = "c0ffee";
	f.cmd.reason = "6 live, 2 desired";
	f.cmd.attempt = 2;
	f.cmd.issued_at_ns = 1700000000123000000LL;
	f.cmd.entity = tu_pb_entity(&f.a, "service", "shop", "web");
	param(&f, "severity", "page");
	param(&f, "summary", "too many \"replicas\"");
	char *body = tu__http_alert_body(&f.cmd);
	assert_non_null(body);
	json_error_t jerr;
	json_t *got = json_loads(body, 0, &jerr);
	json_t *want = json_loads(
		"{\"command_id\": \"0123456789abcdef01234567\", \"correlation_id\": \"c0ffee\","
		" \"rule\": \"replicas\", \"target\": \"do\", \"action\": \"alert\","
		" \"entity\": {\"kind\": \"service\", \"namespace\": \"shop\", \"name\": \"web\"},"
		" \"reason\": \"6 live, 2 desired\","
		" \"params\": {\"severity\": \"page\", \"summary\": \"too many \\\"replicas\\\"\"},"
		" \"attempt\": 2, \"issued_at\": \"2023-11-14T22:13:20.123Z\"}",
		0, &jerr);
	assert_non_null(got);
	assert_non_null(want);
	if (!json_equal(got, want))
		print_error("got %s\n", body);
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	free(body);
	/* not UTF-8: no body (failed-permanent), never invalid JSON */
	param(&f, "zz", "\xff\xfe");
	assert_null(tu__http_alert_body(&f.cmd));
	tu_arena_release(&f.a);
}

static const char app_spec[] =
	"{\"name\": \"shop\", \"region\": \"nyc\", \"services\": ["
	" {\"name\": \"web\", \"instance_count\": 2, \"instance_size_slug\": \"basic-xs\","
	"  \"envs\": [{\"key\": \"A\", \"value\": \"1\"}], \"routes\": [{\"path\": \"/\"}]},"
	" {\"name\": \"api\", \"instance_size_slug\": \"basic-s\", \"ratio\": 0.25}],"
	" \"static_sites\": [{\"name\": \"assets\"}], \"domains\": [{\"domain\": \"x.example\"}]}";

static json_t *load(const char *s)
{
	json_error_t jerr;
	json_t *j = json_loads(s, 0, &jerr);
	assert_non_null(j);
	return j;
}

static void do_spec_update(void **state)
{
	(void)state;
	json_t *spec = load(app_spec);
	json_t *before = json_deep_copy(spec);
	char *body = NULL, old[64];
	assert_int_equal(tu__do_scale(spec, "web", 3, &body, old, sizeof(old)), TU_OK);
	assert_string_equal(old, "2");
	assert_true(json_equal(spec, before)); /* the live spec is not touched */
	json_t *put = load(body);
	/* exactly one member, spec; the service's instance_count is the only change */
	assert_int_equal(json_object_size(put), 1);
	json_t *sent = json_object_get(put, "spec");
	json_t *web = json_array_get(json_object_get(sent, "services"), 0);
	assert_int_equal(json_integer_value(json_object_get(web, "instance_count")), 3);
	json_object_set_new(web, "instance_count", json_integer(2));
	assert_true(json_equal(sent, before));
	/* member order is kept (a human diffing the spec sees one line change) */
	assert_non_null(strstr(body, "{\"spec\":{\"name\":\"shop\",\"region\":\"nyc\",\"services\":"));
	json_decref(put);
	free(body);

	/* a service without instance_count gets one; "" is the old value */
	body = NULL;
	assert_int_equal(tu__do_scale(spec, "api", 2, &body, old, sizeof(old)), TU_OK);
	assert_string_equal(old, "");
	put = load(body);
	json_t *api = json_array_get(json_object_get(json_object_get(put, "spec"), "services"), 1);
	assert_int_equal(json_integer_value(json_object_get(api, "instance_count")), 2);
	json_object_del(api, "instance_count");
	assert_true(json_equal(json_object_get(put, "spec"), before));
	json_decref(put);
	free(body);

	/* already there: noop, no body; unknown service */
	body = NULL;
	assert_int_equal(tu__do_scale(spec, "web", 2, &body, old, sizeof(old)), TU_EEXIST);
	assert_null(body);
	assert_int_equal(tu__do_scale(spec, "worker", 2, &body, old, sizeof(old)), TU_ENOTFOUND);
	assert_null(body);
	json_t *empty = load("{\"name\": \"landing\"}");
	assert_int_equal(tu__do_scale(empty, "web", 1, &body, old, sizeof(old)), TU_ENOTFOUND);
	json_decref(empty);
	json_decref(spec);
	json_decref(before);
}

static void do_preconditions(void **state)
{
	(void)state;
	json_t *spec = load(app_spec);
	char why[512];
	struct fx f;
	fx_init(&f, "set-instance-count");
	/* field_equals on the command's service (empty key), on another, absent field = "" */
	pre(&f, FIELD_EQUALS, "", "instance_count", "2");
	pre(&f, FIELD_EQUALS, "api", "instance_size_slug", "basic-s");
	pre(&f, FIELD_EQUALS, "api", "instance_count", "");
	pre(&f, FIELD_EQUALS, "api", "ratio", "0.25");
	pre(&f, EXISTS, "api", "", "");
	pre(&f, ABSENT, "worker", "", "");
	assert_int_equal(tu__do_preconditions(spec, "web", f.cmd.preconditions,
					      f.cmd.n_preconditions, why, sizeof(why)),
			 TU_OK);

	fx_reset(&f, "set-instance-count");
	pre(&f, FIELD_EQUALS, "", "instance_count", "2");
	pre(&f, FIELD_EQUALS, "", "instance_count", "1");
	assert_int_equal(tu__do_preconditions(spec, "web", f.cmd.preconditions,
					      f.cmd.n_preconditions, why, sizeof(why)),
			 TU_ECONFLICT);
	assert_string_equal(why, "precondition 2 (field_equals web.instance_count \"1\") failed: "
				 "actual \"2\"");
	fx_reset(&f, "set-instance-count");
	pre(&f, FIELD_EQUALS, "worker", "instance_count", "1");
	assert_int_equal(tu__do_preconditions(spec, "web", f.cmd.preconditions, 1, why, sizeof(why)),
			 TU_ECONFLICT);
	assert_string_equal(why, "precondition 1 (field_equals worker.instance_count \"1\") failed: "
				 "no such service");
	fx_reset(&f, "set-instance-count");
	pre(&f, ABSENT, "", "", "");
	assert_int_equal(tu__do_preconditions(spec, "web", f.cmd.preconditions, 1, why, sizeof(why)),
			 TU_ECONFLICT);
	assert_string_equal(why, "precondition 1 (absent web) failed: the service exists");
	fx_reset(&f, "set-instance-count");
	pre(&f, EQUALS, "", "", "2");
	assert_int_equal(tu__do_preconditions(spec, "web", f.cmd.preconditions, 1, why, sizeof(why)),
			 TU_EINVAL);
	assert_non_null(strstr(why, "op equals is not supported by set-instance-count"));
	fx_reset(&f, "set-instance-count");
	pre(&f, FIELD_EQUALS, "", "", "2");
	assert_int_equal(tu__do_preconditions(spec, "web", f.cmd.preconditions, 1, why, sizeof(why)),
			 TU_EINVAL);
	tu_arena_release(&f.a);
	json_decref(spec);
}

static void error_texts(void **state)
{
	(void)state;
	struct tu_http_resp r;
	char out[128];
	tu_http_resp_init(&r);
	tu_httpconn_error_text(&r, out, sizeof(out));
	assert_string_equal(out, "");
	tu_buf_init(&r.body, 4096); /* what tu_http_do does with max_body */
	tu_buf_puts(&r.body, "{\"id\": \"not_found\", \"message\": \"The resource you were "
			     "accessing could not be found.\", \"request_id\": \"x\"}");
	tu_httpconn_error_text(&r, out, sizeof(out));
	assert_string_equal(out, "not_found: The resource you were accessing could not be found.");
	tu_buf_reset(&r.body);
	tu_buf_puts(&r.body, "<html>\n<h1>502 Bad Gateway</h1>\x01</html>");
	tu_httpconn_error_text(&r, out, sizeof(out));
	assert_string_equal(out, "<html>?<h1>502 Bad Gateway</h1>?</html>");
	tu_buf_reset(&r.body);
	tu_buf_puts(&r.body, "{\"message\": \"only a message\"}");
	tu_httpconn_error_text(&r, out, 10);
	assert_string_equal(out, "only a me");
	tu_http_resp_release(&r);
	assert_true(tu_http_verb_known("set-instance-count"));
	assert_true(tu_http_verb_known("alert"));
	assert_false(tu_http_verb_known("del"));
	assert_false(tu_http_verb_known(NULL));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(request_templating),
	cmocka_unit_test(request_bad_params),
	cmocka_unit_test(alert_body),
	cmocka_unit_test(do_spec_update),
	cmocka_unit_test(do_preconditions),
	cmocka_unit_test(error_texts),
};

TU_TEST_MAIN(tests)
