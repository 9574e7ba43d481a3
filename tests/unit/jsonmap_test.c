/* jsonmap_test.c - JSON paths and the JSON-to-entity mapping (lib/jsonmap.h), http helpers. */
#include <string.h>

#include "http.h"
#include "jsonmap.h"
#include "testmain.h"

static const char *doc =
	"{\"Id\":\"abc123\",\"Names\":[\"/k3s-worker-3\"],\"State\":\"running\",\"Created\":1700000000,"
	"\"Labels\":{\"app.kubernetes.io/name\":\"worker\",\"pool\":\"gpu\"},"
	"\"ok\":true,\"ratio\":0.5,\"nothing\":null,\"spec\":{\"replicas\":3}}";

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	assert_non_null(j);
	return j;
}

static const char *scalar_at(json_t *j, const char *path, struct tu_buf *b)
{
	tu_buf_reset(b);
	json_t *v = tu_json_path(j, path, strlen(path));
	if (v == NULL || !tu_json_scalar(v, b))
		return NULL;
	return tu_buf_cstr(b);
}

static void paths(void **state)
{
	(void)state;
	json_t *j = load(doc);
	struct tu_buf b;
	tu_buf_init(&b, 4096);
	assert_string_equal(scalar_at(j, ".Id", &b), "abc123");
	assert_string_equal(scalar_at(j, ".Names[0]", &b), "/k3s-worker-3");
	assert_string_equal(scalar_at(j, ".Labels[\"app.kubernetes.io/name\"]", &b), "worker");
	assert_string_equal(scalar_at(j, ".Labels.pool", &b), "gpu");
	assert_string_equal(scalar_at(j, ".spec.replicas", &b), "3");
	assert_string_equal(scalar_at(j, ".Created", &b), "1700000000");
	assert_string_equal(scalar_at(j, ".ok", &b), "true");
	assert_string_equal(scalar_at(j, ".ratio", &b), "0.5");
	assert_string_equal(scalar_at(j, ".nothing", &b), "");
	assert_null(scalar_at(j, ".Names", &b)); /* an array is not a scalar */
	assert_null(scalar_at(j, ".Names[1]", &b));
	assert_null(scalar_at(j, ".missing.deeper", &b));
	assert_null(scalar_at(j, ".Id[0]", &b));
	assert_ptr_equal(tu_json_path(j, ".", 1), j);
	char err[128];
	assert_int_equal(tu_json_path_check(".a.b[0][\"x.y\"]", err, sizeof(err)), TU_OK);
	assert_int_equal(tu_json_path_check("a.b", err, sizeof(err)), TU_EINVAL);
	assert_int_equal(tu_json_path_check(".a..b", err, sizeof(err)), TU_EINVAL);
	assert_int_equal(tu_json_path_check(".a[x]", err, sizeof(err)), TU_EINVAL);
	assert_int_equal(tu_json_path_check(".a[\"x]", err, sizeof(err)), TU_EINVAL);
	tu_buf_release(&b);
	json_decref(j);
}

static bool extra(void *ctx, const char *var, size_t len, const char **val, size_t *vlen)
{
	(void)ctx;
	if (len == 6 && memcmp(var, "source", 6) == 0) {
		*val = "docker";
		*vlen = 6;
		return true;
	}
	return false;
}

static struct tu_kv kv(const char *k, const char *v)
{
	struct tu_kv x = { (char *)k, (char *)v };
	return x;
}

static void mapping(void **state)
{
	(void)state;
	json_t *j = load(doc);
	struct tu_kv attrs[] = { kv("state", "{.State}"), kv("id", "{.Id}"),
				 kv("from", "{source}") };
	struct tu_kv match[] = { kv(".Labels.pool", "gpu") };
	struct tu_json_mapping m = {
		.kind = "worker", .ns = "{.Labels[\"app.kubernetes.io/name\"]}",
		.name = "{.Names[0]|trimprefix:/}", .attrs = { attrs, 3 }, .match = { match, 1 },
		.name_prefix = "k3s-worker-",
	};
	struct tu_arena a;
	tu_arena_init(&a, 4096);
	struct tu_json_entity e;
	char why[256];
	assert_int_equal(tu_json_map(&m, j, extra, NULL, &a, &e, why, sizeof(why)), TU_OK);
	assert_string_equal(e.name, "k3s-worker-3");
	assert_string_equal(e.ns, "worker");
	assert_int_equal(e.n_attrs, 3);
	assert_string_equal(e.attrs[0]->key, "from"); /* sorted */
	assert_string_equal(e.attrs[0]->value, "docker");
	assert_string_equal(e.attrs[1]->key, "id");
	assert_string_equal(e.attrs[2]->value, "running");
	/* filtered out: not an error */
	struct tu_kv other[] = { kv(".Labels.pool", "cpu") };
	m.match = (struct tu_kvlist){ other, 1 };
	assert_int_equal(tu_json_map(&m, j, extra, NULL, &a, &e, why, sizeof(why)), TU_ENOTFOUND);
	m.match = (struct tu_kvlist){ NULL, 0 };
	m.name_prefix = "db-";
	assert_int_equal(tu_json_map(&m, j, extra, NULL, &a, &e, why, sizeof(why)), TU_ENOTFOUND);
	/* malformed: the reason names the template and the path */
	m.name_prefix = NULL;
	struct tu_kv bad[] = { kv("replicas", "{.spec.missing}") };
	m.attrs = (struct tu_kvlist){ bad, 1 };
	assert_int_equal(tu_json_map(&m, j, extra, NULL, &a, &e, why, sizeof(why)), TU_EINVAL);
	assert_non_null(strstr(why, "attrs.replicas"));
	assert_non_null(strstr(why, ".spec.missing"));
	struct tu_kv obj[] = { kv("labels", "{.Labels}") };
	m.attrs = (struct tu_kvlist){ obj, 1 };
	assert_int_equal(tu_json_map(&m, j, extra, NULL, &a, &e, why, sizeof(why)), TU_EINVAL);
	assert_non_null(strstr(why, "not a scalar"));
	m.attrs = (struct tu_kvlist){ NULL, 0 };
	m.name = "{.nothing}";
	assert_int_equal(tu_json_map(&m, j, extra, NULL, &a, &e, why, sizeof(why)), TU_EINVAL);
	assert_non_null(strstr(why, "empty"));
	json_t *arr = load("[1,2]");
	assert_int_equal(tu_json_map(&m, arr, NULL, NULL, &a, &e, why, sizeof(why)), TU_EINVAL);
	json_decref(arr);
	tu_arena_release(&a);
	json_decref(j);
}

static void http_helpers(void **state)
{
	(void)state;
	struct tu_buf b;
	tu_buf_init(&b, 1024);
	assert_int_equal(tu_http_escape("k3s worker/3?x=1&y", &b), TU_OK);
	assert_string_equal(tu_buf_cstr(&b), "k3s%20worker%2F3%3Fx%3D1%26y");
	/* a whole "." or ".." would be resolved by curl: refused, nothing appended */
	tu_buf_reset(&b);
	assert_int_equal(tu_http_escape("..", &b), TU_EINVAL);
	assert_int_equal(tu_http_escape(".", &b), TU_EINVAL);
	assert_int_equal(b.len, 0);
	assert_int_equal(tu_http_escape("..x", &b), TU_OK);
	assert_string_equal(tu_buf_cstr(&b), "..x");
	tu_buf_release(&b);
	assert_true(tu_http_retryable(TU_ETIMEOUT, 0));
	assert_true(tu_http_retryable(TU_EUNAVAIL, 0));
	assert_true(tu_http_retryable(TU_OK, 429));
	assert_true(tu_http_retryable(TU_OK, 503));
	assert_false(tu_http_retryable(TU_OK, 404));
	assert_false(tu_http_retryable(TU_OK, 409));
	assert_false(tu_http_retryable(TU_EAUTH, 0));
}

int main(int argc, char **argv);
/* Reals render in their shortest form that reads back the same (libbson writes %.20g). */
static void shortest_numbers(void **state)
{
	(void)state;
	json_t *j = load("{\"a\":1.1000000000000000888,\"b\":0.1,\"c\":1.0,\"d\":1e300,"
			 "\"e\":-2.5e-7,\"f\":0.30000000000000004,\"g\":9007199254740993}");
	struct tu_buf b;
	tu_buf_init(&b, 4096);
	assert_string_equal(scalar_at(j, ".a", &b), "1.1");
	assert_string_equal(scalar_at(j, ".b", &b), "0.1");
	assert_string_equal(scalar_at(j, ".c", &b), "1");
	assert_string_equal(scalar_at(j, ".d", &b), "1e+300");
	assert_string_equal(scalar_at(j, ".e", &b), "-2.5e-07");
	assert_string_equal(scalar_at(j, ".f", &b), "0.30000000000000004");
	assert_string_equal(scalar_at(j, ".g", &b), "9007199254740993"); /* an integer stays exact */
	tu_buf_release(&b);
	json_decref(j);
}

/* A failed mapping names the template and the path, in balanced parentheses. */
static void mapping_error_text(void **state)
{
	(void)state;
	struct tu_json_mapping m = { .kind = "k", .name = "{.missing}" };
	struct tu_arena a;
	struct tu_json_entity e;
	char why[256];
	json_t *j = load("{\"x\":1}");
	tu_arena_init(&a, 4096);
	assert_int_equal(tu_json_map(&m, j, NULL, NULL, &a, &e, why, sizeof(why)), TU_EINVAL);
	assert_string_equal(why, "name: no value for '.missing' (no value at .missing)");
	tu_arena_release(&a);
	json_decref(j);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(shortest_numbers),
	cmocka_unit_test(mapping_error_text),
	cmocka_unit_test(paths),
	cmocka_unit_test(mapping),
	cmocka_unit_test(http_helpers),
};
TU_TEST_MAIN(tests)
