/*
 * httpd.h - a small HTTP server (libmicrohttpd) for each component's
 * operational endpoints: /metrics, /healthz, /readyz and, on the processor,
 * the /reconciliation endpoints. Requests are served from libmicrohttpd's own thread;
 * handlers must be quick and thread-safe.
 */
#ifndef TU_HTTPD_H
#define TU_HTTPD_H

#include "buf.h"
#include "status.h"

typedef struct tu_httpd tu_httpd;

/* One request as a handler sees it. */
struct tu_httpd_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* without the query string */
	void *conn;         /* for tu_httpd_arg() */
};

/* A query argument's value, or NULL. */
const char *tu_httpd_arg(const struct tu_httpd_request *r, const char *name);

/*
 * Writes the response body to out, may set *content_type (default
 * text/plain; charset=utf-8), returns the HTTP status.
 */
typedef int (*tu_httpd_handler)(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
				const char **content_type);

/*
 * Starts serving on listen ("host:port"; port 0 picks a free one). Routes
 * are added before or after start. err says why it failed (address in use).
 */
tu_status tu_httpd_start(const char *listen, tu_httpd **out, char *err, size_t errlen);
/* Routes method + exact path to h (first match wins; unknown paths get 404). */
void tu_httpd_route(tu_httpd *d, const char *method, const char *path, tu_httpd_handler h,
		    void *ctx);
/* The port actually bound. */
int tu_httpd_port(const tu_httpd *d);
/* Stops serving and frees. NULL is a no-op. */
void tu_httpd_stop(tu_httpd *d);

#endif
