/* tmpl_test.c - the template language of mappings and actions (lib/tmpl.h). */
#include <string.h>

#include "testmain.h"
#include "tmpl.h"

/* Variables: name=k3s-worker-3, key=autoscaler:workers:k3s-worker-3, empty="", path=/a/b/C */
static bool lookup(void *ctx, const char *var, size_t n, const char **val, size_t *len)
{
	(void)ctx;
	static const char *vars[][2] = {
		{ "name", "k3s-worker-3" },
		{ "key", "autoscaler:workers:k3s-worker-3" },
		{ "empty", "" },
		{ "path", "/a/b/C" },
		{ "redis.status", "initializing" },
		{ "evil", "x\", \"$where\": \"1\\\n" },
		{ "dotdot", ".." },
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (strlen(vars[i][0]) == n && memcmp(vars[i][0], var, n) == 0) {
			*val = vars[i][1];
			*len = strlen(vars[i][1]);
			return true;
		}
	}
	return false;
}

static void expect(const char *tmpl, const char *want)
{
	struct tu_buf b;
	char err[256] = "";
	tu_buf_init(&b, 4096);
	tu_status st = tu_tmpl_render(tmpl, lookup, NULL, &b, err, sizeof(err));
	if (st != TU_OK)
		fail_msg("render of '%s' failed: %s", tmpl, err);
	assert_string_equal(tu_buf_cstr(&b), want);
	tu_buf_release(&b);
}

static void expect_error(const char *tmpl, tu_status want, const char *phrase)
{
	struct tu_buf b;
	char err[256] = "";
	tu_buf_init(&b, 4096);
	tu_status st = tu_tmpl_render(tmpl, lookup, NULL, &b, err, sizeof(err));
	assert_int_equal(st, want);
	if (strstr(err, phrase) == NULL)
		fail_msg("error '%s' lacks '%s'", err, phrase);
	tu_buf_release(&b);
}

static void literal_and_variables(void **state)
{
	(void)state;
	expect("autoscaler:workers:{name}", "autoscaler:workers:k3s-worker-3");
	expect("plain", "plain");
	expect("", "");
	expect("{name}-{name}", "k3s-worker-3-k3s-worker-3");
	expect("{redis.status}", "initializing");
	expect("{{literal}} {name}", "{literal} k3s-worker-3");
}

static void filters(void **state)
{
	(void)state;
	expect("{key|afterlast::}", "k3s-worker-3");
	expect("{key|afterfirst::}", "workers:k3s-worker-3");
	expect("{key|beforefirst::}", "autoscaler");
	expect("{key|beforelast::}", "autoscaler:workers");
	expect("{path|trimprefix:/}", "a/b/C");
	expect("{path|trimsuffix:/C|upper}", "/A/B");
	expect("{path|lower}", "/a/b/c");
	expect("{name|trimprefix:nothing}", "k3s-worker-3");
	expect("{name|afterlast:zz}", "k3s-worker-3");
}

static void defaults(void **state)
{
	(void)state;
	expect("{missing|default:none}", "none");
	expect("{empty|default:x}", "x");
	expect("{name|default:x}", "k3s-worker-3");
}

static void errors(void **state)
{
	(void)state;
	expect_error("{missing}", TU_ENOTFOUND, "no value for 'missing'");
	expect_error("{name|nosuch}", TU_EINVAL, "unknown filter 'nosuch'");
	expect_error("{name|trimprefix}", TU_EINVAL, "needs an argument");
	expect_error("{name|lower:x}", TU_EINVAL, "takes no argument");
	expect_error("{name", TU_EINVAL, "unclosed '{'");
	expect_error("name}", TU_EINVAL, "unmatched '}'");
	expect_error("{}", TU_EINVAL, "empty variable");
	/* an entity named ".." cannot climb out of /v1/workers/{name|urlescape} */
	expect_error("/v1/workers/{dotdot|urlescape}", TU_EINVAL, "cannot be one URL segment");
	expect("/v1/workers/{path|urlescape}", "/v1/workers/%2Fa%2Fb%2FC");
}

static void check_and_literal(void **state)
{
	(void)state;
	char err[128];
	assert_int_equal(tu_tmpl_check("a{b|lower}c", err, sizeof(err)), TU_OK);
	assert_int_equal(tu_tmpl_check("a{b|bad}c", err, sizeof(err)), TU_EINVAL);
	assert_true(tu_tmpl_is_literal("workers"));
	assert_true(tu_tmpl_is_literal("{{x}}"));
	assert_false(tu_tmpl_is_literal("{x}"));
}

static void output_is_bounded(void **state)
{
	(void)state;
	struct tu_buf b;
	char err[256];
	tu_buf_init(&b, 8);
	assert_int_equal(tu_tmpl_render("{key}", lookup, NULL, &b, err, sizeof(err)), TU_ETOOBIG);
	tu_buf_release(&b);
}

int main(int argc, char **argv);
/* json escapes a value for a JSON string, so that it cannot change the document. */
static void json_filter(void **state)
{
	(void)state;
	char err[256];
	expect("{{\"name\": \"{name|json}\"}}", "{\"name\": \"k3s-worker-3\"}");
	expect("{{\"q\": \"{evil|json}\"}}", "{\"q\": \"x\\\", \\\"$where\\\": \\\"1\\\\\\u000a\"}");
	expect("{missing|default:a\"b|json}", "a\\\"b");
	expect("{name|upper|json}", "K3S-WORKER-3");
	expect_error("{name|json|upper}", TU_EINVAL, "filter 'json' must be the last");
	expect_error("{name|json:x}", TU_EINVAL, "takes no argument");
	assert_int_equal(tu_tmpl_placeholders_end_with("{{\"a\": \"{name|json}\", \"b\": \"{key|lower|json}\"}}",
						       "json", err, sizeof(err)),
			 TU_OK);
	assert_int_equal(tu_tmpl_placeholders_end_with("literal {{}}", "json", err, sizeof(err)),
			 TU_OK);
	assert_int_equal(tu_tmpl_placeholders_end_with("{name|json}-{key}", "json", err, sizeof(err)),
			 TU_ECONFLICT);
	assert_string_equal(err, "placeholder {key} does not end with |json");
	assert_int_equal(tu_tmpl_placeholders_end_with("{name", "json", err, sizeof(err)), TU_EINVAL);
	assert_int_equal(tu_tmpl_placeholders_end_with("{name}", "nope", err, sizeof(err)), TU_EINVAL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(json_filter),
	cmocka_unit_test(literal_and_variables),
	cmocka_unit_test(filters),
	cmocka_unit_test(defaults),
	cmocka_unit_test(errors),
	cmocka_unit_test(check_and_literal),
	cmocka_unit_test(output_is_bounded),
};
TU_TEST_MAIN(tests)
