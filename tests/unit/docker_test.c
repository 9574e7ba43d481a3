/*
 * docker_test.c - the Engine API client (lib/docker.h): version parsing and
 * negotiation, the paths it sends, the daemon's error messages, the rate
 * limit, a daemon that is not there, and the param parsers, against a fake
 * daemon (dockerfake.h).
 */
#include "testmain.h"

#include <string.h>

#include "clock.h"
#include "docker.h"
#include "dockerfake.h"

static void version_parse(void **state)
{
	(void)state;
	int a = 0, b = 0;
	assert_int_equal(tu__docker_version_parse("1.41", &a, &b), TU_OK);
	assert_int_equal(a, 1);
	assert_int_equal(b, 41);
	assert_int_equal(tu__docker_version_parse("2.0", &a, &b), TU_OK);
	assert_int_equal(a, 2);
	assert_int_equal(b, 0);
	const char *bad[] = { "", "1", "1.", ".41", "1.41.2", "v1.41", "1.41 ", "1.x", "12345.1",
			      "1.-1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tu__docker_version_parse(bad[i], &a, &b), TU_EINVAL);
}

static tu_status nego(const char *body, char *out, char *err)
{
	out[0] = '\0';
	err[0] = '\0';
	return tu__docker_negotiate(body, strlen(body), out, err, 256);
}

static void negotiation(void **state)
{
	(void)state;
	char v[TU_DOCKER_VERSION_SIZE], err[256];
	assert_int_equal(nego("{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}", v, err), TU_OK);
	assert_string_equal(v, "1.41");
	/* a newer daemon: we speak ours */
	assert_int_equal(nego("{\"ApiVersion\":\"1.47\",\"MinAPIVersion\":\"1.24\"}", v, err), TU_OK);
	assert_string_equal(v, "1.41");
	/* an older one: we speak its */
	assert_int_equal(nego("{\"ApiVersion\":\"1.30\"}", v, err), TU_OK);
	assert_string_equal(v, "1.30");
	assert_int_equal(nego("{\"ApiVersion\":\"1.24\"}", v, err), TU_OK);
	assert_string_equal(v, "1.24");
	/* too old */
	assert_int_equal(nego("{\"ApiVersion\":\"1.23\"}", v, err), TU_EINVAL);
	assert_non_null(strstr(err, "1.23, older than 1.24"));
	assert_string_equal(v, "");
	/* a daemon that no longer speaks 1.41 */
	assert_int_equal(nego("{\"ApiVersion\":\"2.3\",\"MinAPIVersion\":\"1.44\"}", v, err),
			 TU_EINVAL);
	assert_non_null(strstr(err, "needs Engine API 1.44 or newer"));
	/* not the Engine API */
	assert_int_equal(nego("{\"Version\":\"20.10\"}", v, err), TU_EDECODE);
	assert_non_null(strstr(err, "ApiVersion"));
	assert_int_equal(nego("{\"ApiVersion\":141}", v, err), TU_EDECODE);
	assert_int_equal(nego("[\"1.41\"]", v, err), TU_EDECODE);
	assert_int_equal(nego("{\"ApiVersion\":\"1.4", v, err), TU_EDECODE);
	assert_int_equal(nego("OK", v, err), TU_EDECODE);
}

struct fx {
	struct dockerfake df;
	tu_docker *d;
	struct tu_http_resp resp;
	char err[512];
};

static struct fx *fx_new(int rate, size_t max_body)
{
	struct fx *f = calloc(1, sizeof(*f));
	df_start(&f->df);
	struct tu_docker_daemon dd = { .socket = f->df.sock, .max_body = (int64_t)max_body,
				       .rate = rate };
	assert_int_equal(tu_docker_create(&dd, 10000, &f->d, f->err, sizeof(f->err)), TU_OK);
	tu_http_resp_init(&f->resp);
	return f;
}

static void fx_free(struct fx *f)
{
	tu_http_resp_release(&f->resp);
	tu_docker_destroy(f->d);
	df_stop(&f->df);
	free(f);
}

static tu_status get(struct fx *f, const char *path, int64_t max_wait)
{
	struct tu_docker_req req = { .method = "GET", .path = path, .max_wait_ms = max_wait };
	f->err[0] = '\0';
	return tu_docker_do(f->d, &req, &f->resp, f->err, sizeof(f->err));
}

static void requests_are_versioned(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 65536);
	df_route(&f->df, "GET", "/v1.41/_ping", 200, "OK", -1);
	assert_string_equal(tu_docker_api_version(f->d), "");
	assert_int_equal(get(f, "/_ping", 0), TU_OK);
	assert_int_equal(f->resp.status, 200);
	assert_string_equal(tu_docker_api_version(f->d), "1.41");
	assert_int_equal(get(f, "/_ping", 0), TU_OK);
	/* /version once, then the versioned path twice */
	assert_int_equal(df_count(&f->df, "GET /version"), 1);
	assert_int_equal(df_count(&f->df, "GET /v1.41/_ping"), 2);
	/* an HTTP error is an answer: TU_OK, the status and the daemon's message */
	assert_int_equal(get(f, "/containers/abc/json", 0), TU_OK);
	assert_int_equal(f->resp.status, 404);
	char msg[TU_DOCKER_MESSAGE];
	tu_docker_message(&f->resp, msg, sizeof(msg));
	assert_string_equal(msg, "no route");
	fx_free(f);
}

static void refuses_old_daemon(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 65536);
	df_route(&f->df, "GET", "/version", 200, "{\"ApiVersion\":\"1.19\"}", -1);
	assert_int_equal(get(f, "/_ping", 0), TU_EINVAL);
	assert_non_null(strstr(f->err, f->df.sock));
	assert_non_null(strstr(f->err, "1.19, older than 1.24"));
	assert_int_equal(df_count(&f->df, "GET /v1."), 0); /* nothing else was sent */
	df_route(&f->df, "GET", "/version", 500, "{\"message\":\"starting\"}", -1);
	assert_int_equal(get(f, "/_ping", 0), TU_EUNAVAIL);
	assert_non_null(strstr(f->err, "HTTP 500: starting"));
	fx_free(f);
}

static void daemon_not_there(void **state)
{
	(void)state;
	struct tu_docker_daemon o = { .socket = "/nonexistent/docker.sock", .max_body = 1024 };
	tu_docker *d = NULL;
	struct tu_http_resp r;
	char err[512];
	assert_int_equal(tu_docker_create(&o, 500, &d, err, sizeof(err)), TU_OK);
	tu_http_resp_init(&r);
	struct tu_docker_req req = { .method = "GET", .path = "/_ping" };
	assert_int_equal(tu_docker_do(d, &req, &r, err, sizeof(err)), TU_EUNAVAIL);
	assert_non_null(strstr(err, "/nonexistent/docker.sock"));
	assert_non_null(strstr(err, "GET /version"));
	tu_http_resp_release(&r);
	tu_docker_destroy(d);
	o.socket = (char *)"";
	assert_int_equal(tu_docker_create(&o, 500, &d, err, sizeof(err)), TU_EINVAL);
}

static void body_bound(void **state)
{
	(void)state;
	struct fx *f = fx_new(0, 64);
	char big[200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	df_route(&f->df, "GET", "/v1.41/big", 200, big, -1);
	assert_int_equal(get(f, "/big", 0), TU_ETOOBIG);
	assert_non_null(strstr(f->err, "over 64 bytes"));
	fx_free(f);
}

static void rate_limit(void **state)
{
	(void)state;
	struct fx *f = fx_new(2, 65536); /* 2 per second, bursts of 2 */
	df_route(&f->df, "GET", "/v1.41/_ping", 200, "OK", -1);
	assert_int_equal(get(f, "/_ping", 0), TU_OK); /* /version and /_ping: the burst */
	assert_int_equal(get(f, "/_ping", 0), TU_ETIMEOUT);
	assert_non_null(strstr(f->err, "rate limit"));
	int64_t t0 = tu_clock_mono_ns();
	assert_int_equal(get(f, "/_ping", 2000), TU_OK); /* waits for the next token */
	int64_t ms = (tu_clock_mono_ns() - t0) / 1000000;
	assert_true(ms >= 200 && ms < 5000); /* ~500 ms; a loaded machine sleeps longer */
	fx_free(f);
}

static void messages(void **state)
{
	(void)state;
	struct tu_http_resp r;
	char msg[32];
	tu_http_resp_init(&r);
	r.status = 409;
	tu_buf_init(&r.body, 1024);
	tu_buf_puts(&r.body, "{\"message\":\"You cannot remove a running container abc\"}");
	tu_docker_message(&r, msg, sizeof(msg));
	assert_string_equal(msg, "You cannot remove a running con"); /* cut */
	tu_buf_reset(&r.body);
	tu_buf_puts(&r.body, "page\r\nnot found\n");
	tu_docker_message(&r, msg, sizeof(msg));
	assert_string_equal(msg, "page  not found");
	tu_buf_reset(&r.body);
	tu_docker_message(&r, msg, sizeof(msg));
	assert_string_equal(msg, "HTTP 409");
	tu_http_resp_release(&r);
}

static void ids_and_params(void **state)
{
	(void)state;
	assert_true(tu_docker_id_valid("727c47bc2a48"));
	assert_true(tu_docker_id_valid(
		"727c47bc2a48ffc8c7f96950fb19e4a9aed1bfdb702593271363106408c1020e"));
	assert_false(tu_docker_id_valid("727c47bc2a4"));  /* 11 */
	assert_false(tu_docker_id_valid("727C47BC2A48")); /* upper case */
	assert_false(tu_docker_id_valid("k3s-worker-1"));
	assert_false(tu_docker_id_valid("727c47bc2a48/../x"));
	assert_false(tu_docker_id_valid(
		"727c47bc2a48ffc8c7f96950fb19e4a9aed1bfdb702593271363106408c1020e0"));
	assert_false(tu_docker_id_valid(""));
	assert_false(tu_docker_id_valid(NULL));
	bool b = false;
	int s = -1;
	assert_int_equal(tu_docker_param_bool("true", &b), TU_OK);
	assert_true(b);
	assert_int_equal(tu_docker_param_bool("false", &b), TU_OK);
	assert_false(b);
	assert_int_equal(tu_docker_param_bool("yes", &b), TU_EINVAL);
	assert_int_equal(tu_docker_param_bool("", &b), TU_EINVAL);
	assert_int_equal(tu_docker_param_seconds("0", &s), TU_OK);
	assert_int_equal(s, 0);
	assert_int_equal(tu_docker_param_seconds("3600", &s), TU_OK);
	assert_int_equal(s, 3600);
	assert_int_equal(tu_docker_param_seconds("3601", &s), TU_EINVAL);
	assert_int_equal(tu_docker_param_seconds("-1", &s), TU_EINVAL);
	assert_int_equal(tu_docker_param_seconds("10s", &s), TU_EINVAL);
	assert_int_equal(tu_docker_param_seconds("", &s), TU_EINVAL);
	assert_int_equal(tu_docker_param_seconds("99999999999", &s), TU_EINVAL);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(version_parse),
	cmocka_unit_test(negotiation),
	cmocka_unit_test(requests_are_versioned),
	cmocka_unit_test(refuses_old_daemon),
	cmocka_unit_test(daemon_not_there),
	cmocka_unit_test(body_bound),
	cmocka_unit_test(rate_limit),
	cmocka_unit_test(messages),
	cmocka_unit_test(ids_and_params),
};
TU_TEST_MAIN(tests)
