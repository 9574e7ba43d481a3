/*
 * ophttp.c - see ophttp.h.
 */
#include "ophttp.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "clock.h"
#include "httpd.h"
#include "log.h"
#include "xalloc.h"

struct tu_ophttp {
	tu_metrics *reg;
	tu_httpd *httpd;
	int64_t stall_ns;
	_Atomic int64_t alive_ns; /* monotonic time the main loop last turned */
};

static int h_metrics(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
		     const char **ct)
{
	(void)r;
	tu_ophttp *o = ctx;
	*ct = "text/plain; version=0.0.4; charset=utf-8";
	tu_metrics_render(o->reg, out);
	return 200;
}

static int h_healthz(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
		     const char **ct)
{
	(void)r;
	(void)ct;
	tu_ophttp *o = ctx;
	int64_t idle = tu_clock_mono_ns() - atomic_load(&o->alive_ns);
	if (idle > o->stall_ns) {
		tu_buf_printf(out, "main loop has not turned for %" PRId64 " s\n",
			      idle / TU_NS_PER_S);
		return 503;
	}
	tu_buf_puts(out, "ok\n");
	return 200;
}

tu_status tu_ophttp_start(const char *listen, const char *component, int64_t stall_s,
			  tu_ophttp **out, char *err, size_t errlen)
{
	tu_ophttp *o = tu_xcalloc(1, sizeof(*o));
	o->reg = tu_metrics_create();
	o->stall_ns = (stall_s > 0 ? stall_s : 30) * TU_NS_PER_S;
	atomic_store(&o->alive_ns, tu_clock_mono_ns());
	const char *v[] = { TRUEUP_VERSION, component };
	tu_metric_set(tu_metrics_gauge(o->reg, "trueup_build_info", "Build.", "version,component"),
		      v, 1);
	tu_metric_set(tu_metrics_gauge(o->reg, "trueup_up", "1 while the component runs.", NULL),
		      NULL, 1);
	if (listen != NULL && *listen != '\0') {
		tu_status st = tu_httpd_start(listen, &o->httpd, err, errlen);
		if (st != TU_OK) {
			tu_metrics_destroy(o->reg);
			free(o);
			return st;
		}
		tu_httpd_route(o->httpd, "GET", "/metrics", h_metrics, o);
		tu_httpd_route(o->httpd, "GET", "/healthz", h_healthz, o);
		tu_info("%s: metrics and health on http://%s (port %d)", component, listen,
			tu_httpd_port(o->httpd));
	}
	*out = o;
	return TU_OK;
}

tu_metrics *tu_ophttp_metrics(tu_ophttp *o)
{
	return o->reg;
}

void tu_ophttp_alive(tu_ophttp *o)
{
	if (o != NULL)
		atomic_store(&o->alive_ns, tu_clock_mono_ns());
}

int tu_ophttp_port(const tu_ophttp *o)
{
	return o != NULL && o->httpd != NULL ? tu_httpd_port(o->httpd) : 0;
}

void tu_ophttp_stop(tu_ophttp *o)
{
	if (o == NULL)
		return;
	tu_httpd_stop(o->httpd);
	tu_metrics_destroy(o->reg);
	free(o);
}
