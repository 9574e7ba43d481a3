/*
 * http.h - HTTP/1.1 requests over libcurl for the adapters that speak REST:
 * Docker (Engine API over a unix socket), Kubernetes, DigitalOcean and other
 * JSON APIs, webhooks.
 *
 * One tu_http per thread (it wraps one curl easy handle and reuses its
 * connections). TLS is always verified: a CA bundle may be given, never
 * switched off. Response bodies are bounded (opts.max_body); a larger one is
 * TU_ETOOBIG, never truncated silently. Bearer tokens and other secrets are
 * passed per request and never logged.
 */
#ifndef TU_HTTP_H
#define TU_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

typedef struct tu_http tu_http;

struct tu_http_opts {
	const char *unix_socket;     /* connect through this socket (Docker); NULL: TCP */
	const char *ca_file;         /* CA bundle to verify servers with; NULL: the system's */
	const char *cert_file;       /* client certificate (mTLS); NULL: none */
	const char *key_file;        /* its key */
	int64_t timeout_ms;          /* whole request, connect included (> 0) */
	int64_t connect_timeout_ms;  /* connect alone; 0: timeout_ms */
	size_t max_body;             /* largest response body accepted (> 0) */
};

struct tu_http_header {
	const char *name;
	const char *value;
};

struct tu_http_req {
	const char *method;                   /* GET, POST, PUT, PATCH, DELETE */
	const char *url;                      /* full URL (unix sockets: http://localhost/...) */
	const struct tu_http_header *headers; /* n_headers extra headers */
	size_t n_headers;
	const char *bearer_token;             /* Authorization: Bearer …; NULL: none */
	const void *body;                     /* request body; NULL: none */
	size_t body_len;
	const char *content_type;             /* of the body; default application/json */
	int64_t timeout_ms;                   /* this request's whole timeout; 0: opts.timeout_ms */
};

struct tu_http_resp {
	long status;             /* HTTP status; 0 when no response arrived */
	struct tu_buf body;      /* the response body (bounded by opts.max_body) */
	int64_t retry_after_ms;  /* from Retry-After (seconds or HTTP date); -1: none */
	char content_type[128];  /* Content-Type header, "" if none */
	char error[256];         /* why no response arrived (curl's text), "" otherwise */
};

tu_status tu_http_create(const struct tu_http_opts *opts, tu_http **out, char *err,
			 size_t errlen);
void tu_http_destroy(tu_http *h);

/* A response ready for tu_http_do(); release it with tu_http_resp_release(). */
void tu_http_resp_init(struct tu_http_resp *r);
void tu_http_resp_release(struct tu_http_resp *r);

/*
 * Sends req and reads the response into resp (reset first). TU_OK when a
 * response arrived, whatever its status; otherwise TU_ETIMEOUT, TU_EUNAVAIL
 * (connect refused, reset, DNS), TU_EAUTH (TLS verification failed),
 * TU_ETOOBIG (body over the bound) or TU_EINVAL, with resp->error saying why.
 */
tu_status tu_http_do(tu_http *h, const struct tu_http_req *req, struct tu_http_resp *resp);

/*
 * Worth trying again later: timeouts, connection errors, 429 and 5xx.
 * (st is tu_http_do's status, status the response's when st is TU_OK.)
 */
bool tu_http_retryable(tu_status st, long status);

/*
 * Appends s percent-encoded as one URL path segment or query value (only
 * unreserved characters stay as they are): names never reach a URL raw.
 * "." and ".." are refused (TU_EINVAL, nothing appended): as a path segment
 * curl (and servers) resolve them, so /pods/.. would address the namespace.
 */
tu_status tu_http_escape(const char *s, struct tu_buf *out);
/* s is "." or "..", which no escaping keeps inside its path segment. */
bool tu_http_dot_segment(const char *s);

/* ---- URLs (the http source's pages, the http target's requests) ----------- */

#define TU_HTTP_MAX_URL 8192 /* bytes of a URL trueup requests */

/*
 * An absolute http:// or https:// URL that curl parses, with a host, without
 * user or password (credentials belong in files), without whitespace or
 * control characters, at most TU_HTTP_MAX_URL bytes. why says what is wrong.
 */
tu_status tu_http_url_check(const char *url, char *why, size_t whylen);

/*
 * Resolves ref (absolute, or relative like "/v2/apps?page=2" or "?page=2")
 * against base as a browser does (RFC 3986) into *out (malloc'd; the caller
 * frees it); the result passes tu_http_url_check.
 */
tu_status tu_http_url_resolve(const char *base, const char *ref, char **out, char *why,
			      size_t whylen);

/* Same scheme, host and port (ports defaulted by scheme): may share a credential. */
bool tu_http_same_origin(const char *a, const char *b);

/* A method the adapters send: GET, POST, PUT, PATCH or DELETE. */
bool tu_http_method_known(const char *method);

#endif
