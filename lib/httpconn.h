/*
 * httpconn.h - what the http source and the http target share on top of
 * http.h: a client built from a struct tu_http_conn (config), its token
 * bucket, the request headers (configured headers, a User-Agent, and the
 * auth header whose value is read from a file), and the text of an API's
 * error reply.
 *
 * The auth value lives in the struct only between tu_httpconn_headers() and
 * tu_httpconn_forget() (which wipes it), is never logged, and must be one
 * line of printable text (it becomes a header).
 *
 * Threads: one thread at a time, like tu_http.
 */
#ifndef TU_HTTPCONN_H
#define TU_HTTPCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "config.h"
#include "http.h"
#include "ratelimit.h"
#include "secret.h"
#include "status.h"

#define TU_HTTPCONN_MAX_HEADERS (TU_MAX_PARAMS + 2) /* configured, User-Agent, auth */

struct tu_httpconn {
	const struct tu_http_conn *cfg;  /* borrowed; outlives this */
	tu_http *http;                   /* owned */
	struct tu_ratelimit rl;          /* cfg->rate, cfg->burst */
	char auth[TU_MAX_SECRET + 1];    /* the auth value while headers are in use; wiped */
	struct tu_http_header headers[TU_HTTPCONN_MAX_HEADERS]; /* n_headers in use */
	size_t n_headers;                /* 0 outside tu_httpconn_headers..forget */
};

/* A client for cfg with timeout_ms per request. err says why it failed. */
tu_status tu_httpconn_init(struct tu_httpconn *c, const struct tu_http_conn *cfg,
			   int64_t timeout_ms, char *err, size_t errlen);
void tu_httpconn_release(struct tu_httpconn *c);

/*
 * Fills c->headers: the configured headers and a User-Agent, plus
 * cfg->auth_header with the content of auth_file when auth_file is not NULL
 * (one line, no control characters). err names the file, never its content.
 */
tu_status tu_httpconn_headers(struct tu_httpconn *c, const char *auth_file, char *err,
			      size_t errlen);
/* Wipes the auth value and drops the headers. */
void tu_httpconn_forget(struct tu_httpconn *c);

/*
 * Takes a token from the bucket, sleeping in slices of at most 100 ms.
 * Gives up (false) when stopping(ctx) becomes true (stopping may be NULL) or
 * the wait would pass max_wait_ms (< 0: no limit).
 */
bool tu_httpconn_pace(struct tu_httpconn *c, int64_t max_wait_ms, bool (*stopping)(void *ctx),
		      void *ctx);

/*
 * The text of an error reply for a message: the "message" (and "id") of a
 * JSON error body such as DigitalOcean's {"id": "not_found", "message": ...},
 * else the start of the body as printable ASCII; "" for an empty body.
 */
void tu_httpconn_error_text(const struct tu_http_resp *r, char *out, size_t outlen);

#endif
