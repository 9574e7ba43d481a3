/* metrics_test.c - Prometheus exposition (lib/metrics.h) and the endpoint server (lib/httpd.h). */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "httpd.h"
#include "metrics.h"
#include "testmain.h"

static void exposition(void **state)
{
	(void)state;
	tu_metrics *m = tu_metrics_create();
	struct tu_metric *c = tu_metrics_counter(m, "trueup_events_folded_total", "facts folded", NULL);
	struct tu_metric *g = tu_metrics_gauge(m, "trueup_drift_open", "open drift", "rule");
	const double b[] = { 0.1, 1 };
	struct tu_metric *h = tu_metrics_histogram(m, "trueup_x_seconds", "x", "target", b, 2);
	tu_metric_add(c, NULL, 3);
	tu_metric_add(c, NULL, 2);
	const char *r1[] = { "ghost-worker" }, *r2[] = { "a\"b\\c" };
	tu_metric_set(g, r1, 2);
	tu_metric_set(g, r2, 0.5);
	const char *t[] = { "redis" };
	tu_metric_observe(h, t, 0.05);
	tu_metric_observe(h, t, 0.5);
	tu_metric_observe(h, t, 5);
	struct tu_buf out;
	tu_buf_init(&out, 1 << 20);
	assert_int_equal(tu_metrics_render(m, &out), TU_OK);
	const char *s = tu_buf_cstr(&out);
	assert_non_null(strstr(s, "# TYPE trueup_events_folded_total counter\ntrueup_events_folded_total 5\n"));
	assert_non_null(strstr(s, "trueup_drift_open{rule=\"ghost-worker\"} 2\n"));
	assert_non_null(strstr(s, "trueup_drift_open{rule=\"a\\\"b\\\\c\"} 0.5\n"));
	assert_non_null(strstr(s, "trueup_x_seconds_bucket{target=\"redis\",le=\"0.1\"} 1\n"));
	assert_non_null(strstr(s, "trueup_x_seconds_bucket{target=\"redis\",le=\"1\"} 2\n"));
	assert_non_null(strstr(s, "trueup_x_seconds_bucket{target=\"redis\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(s, "trueup_x_seconds_count{target=\"redis\"} 3\n"));
	assert_non_null(strstr(s, "trueup_x_seconds_sum{target=\"redis\"} 5.55\n"));
	tu_metric_clear(g);
	tu_buf_reset(&out);
	tu_metrics_render(m, &out);
	assert_null(strstr(tu_buf_cstr(&out), "trueup_drift_open{"));
	tu_buf_release(&out);
	tu_metrics_destroy(m);
}

static int hello(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
		 const char **ct)
{
	(void)ctx;
	const char *who = tu_httpd_arg(r, "who");
	tu_buf_printf(out, "{\"hello\":\"%s\"}", who ? who : "nobody");
	*ct = "application/json";
	return 200;
}

static void server(void **state)
{
	(void)state;
	char err[256];
	tu_httpd *d = NULL;
	assert_int_equal(tu_httpd_start("127.0.0.1:0", &d, err, sizeof(err)), TU_OK);
	tu_httpd_route(d, "GET", "/hello", hello, NULL);
	int port = tu_httpd_port(d);
	assert_true(port > 0);
	struct tu_http_opts o = { .timeout_ms = 5000, .max_body = 4096 };
	tu_http *h = NULL;
	assert_int_equal(tu_http_create(&o, &h, err, sizeof(err)), TU_OK);
	struct tu_http_resp resp;
	tu_http_resp_init(&resp);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello?who=ops", port);
	struct tu_http_req req = { .method = "GET", .url = url };
	assert_int_equal(tu_http_do(h, &req, &resp), TU_OK);
	assert_int_equal(resp.status, 200);
	assert_string_equal(tu_buf_cstr(&resp.body), "{\"hello\":\"ops\"}");
	assert_string_equal(resp.content_type, "application/json");
	req.method = "POST";
	assert_int_equal(tu_http_do(h, &req, &resp), TU_OK);
	assert_int_equal(resp.status, 405);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/nope", port);
	req.method = "GET";
	assert_int_equal(tu_http_do(h, &req, &resp), TU_OK);
	assert_int_equal(resp.status, 404);
	/* a body larger than the client's bound is refused, not cut */
	tu_http_destroy(h);
	o.max_body = 4;
	assert_int_equal(tu_http_create(&o, &h, err, sizeof(err)), TU_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", port);
	assert_int_equal(tu_http_do(h, &req, &resp), TU_ETOOBIG);
	tu_http_resp_release(&resp);
	tu_http_destroy(h);
	tu_httpd_stop(d);
	/* nothing listens any more */
	tu_http *h2 = NULL;
	o.max_body = 4096;
	o.timeout_ms = 1000;
	assert_int_equal(tu_http_create(&o, &h2, err, sizeof(err)), TU_OK);
	tu_http_resp_init(&resp);
	assert_int_equal(tu_http_do(h2, &req, &resp), TU_EUNAVAIL);
	tu_http_resp_release(&resp);
	tu_http_destroy(h2);
	assert_int_equal(tu_httpd_start("nonsense", &d, err, sizeof(err)), TU_EINVAL);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(exposition),
	cmocka_unit_test(server),
};
TU_TEST_MAIN(tests)
