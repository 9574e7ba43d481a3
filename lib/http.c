/*
 * http.c - HTTP over libcurl (see http.h).
 * Invariant: the easy handle is reset before each request, so no option of
 * one request leaks into the next; live connections are kept (keep-alive).
 */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "secret.h"
#include "xalloc.h"

#define KEEP_BODY (4u << 20) /* largest response buffer kept for the next request */

struct tu_http {
	CURL *curl;               /* owned; reused for keep-alive */
	struct tu_http_opts opts; /* strings below owned */
	char *unix_socket, *ca_file, *cert_file, *key_file;
	bool too_big;             /* the body callback refused more data */
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? tu_xstrdup(s) : NULL;
}

tu_status tu_http_create(const struct tu_http_opts *opts, tu_http **out, char *err,
			 size_t errlen)
{
	if (opts->timeout_ms <= 0 || opts->max_body == 0) {
		snprintf(err, errlen, "http: timeout and max_body must be > 0");
		return TU_EINVAL;
	}
	pthread_once(&g_once, global_init);
	CURL *c = curl_easy_init();
	if (c == NULL) {
		snprintf(err, errlen, "http: curl_easy_init failed");
		return TU_EINTERNAL;
	}
	tu_http *h = tu_xcalloc(1, sizeof(*h));
	h->curl = c;
	h->opts = *opts;
	h->unix_socket = dup_or_null(opts->unix_socket);
	h->ca_file = dup_or_null(opts->ca_file);
	h->cert_file = dup_or_null(opts->cert_file);
	h->key_file = dup_or_null(opts->key_file);
	h->opts.unix_socket = h->unix_socket;
	h->opts.ca_file = h->ca_file;
	h->opts.cert_file = h->cert_file;
	h->opts.key_file = h->key_file;
	*out = h;
	return TU_OK;
}

void tu_http_destroy(tu_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h->unix_socket);
	free(h->ca_file);
	free(h->cert_file);
	free(h->key_file);
	free(h);
}

void tu_http_resp_init(struct tu_http_resp *r)
{
	memset(r, 0, sizeof(*r));
	tu_buf_init(&r->body, 0);
	r->retry_after_ms = -1;
}

void tu_http_resp_release(struct tu_http_resp *r)
{
	tu_buf_release(&r->body);
}

struct call {
	tu_http *h;
	struct tu_http_resp *resp;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct call *c = ud;
	size_t len = size * n;
	if (tu_buf_append(&c->resp->body, p, len) != TU_OK) {
		c->h->too_big = true;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	return len;
}

/* Value of header `name` in the raw line, or NULL. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	const char *v = line + nl + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct call *c = ud;
	size_t len = size * n, vlen = 0;
	const char *v = header_value(p, len, "Retry-After", &vlen);
	if (v != NULL && vlen > 0 && vlen < 64) {
		char buf[64];
		memcpy(buf, v, vlen);
		buf[vlen] = '\0';
		char *end = NULL;
		long secs = strtol(buf, &end, 10);
		if (end != buf && *end == '\0' && secs >= 0) {
			c->resp->retry_after_ms = (int64_t)secs * 1000;
		} else {
			time_t t = curl_getdate(buf, NULL);
			time_t now = time(NULL);
			if (t != (time_t)-1)
				c->resp->retry_after_ms = t > now ? (int64_t)(t - now) * 1000 : 0;
		}
	}
	v = header_value(p, len, "Content-Type", &vlen);
	if (v != NULL) {
		size_t m = vlen < sizeof(c->resp->content_type) - 1 ? vlen
								    : sizeof(c->resp->content_type) - 1;
		memcpy(c->resp->content_type, v, m);
		c->resp->content_type[m] = '\0';
	}
	return len;
}

static tu_status curl_status(CURLcode rc, bool too_big)
{
	if (too_big)
		return TU_ETOOBIG;
	switch (rc) {
	case CURLE_OK: return TU_OK;
	case CURLE_OPERATION_TIMEDOUT: return TU_ETIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE: return TU_EUNAVAIL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM: return TU_EAUTH;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL: return TU_EINVAL;
	default: return TU_EIO;
	}
}

tu_status tu_http_do(tu_http *h, const struct tu_http_req *req, struct tu_http_resp *resp)
{
	CURL *c = h->curl;
	struct curl_slist *hdrs = NULL;
	char auth[4200];
	struct call call = { h, resp };
	/*
	 * The body's memory is kept for the next response (a list is read page after
	 * page): freeing a large block each time makes malloc consolidate every chunk
	 * the caller's JSON tree freed, and the next page re-grows the buffer by copies.
	 * Only an unusually large one is given back.
	 */
	if (resp->body.cap > KEEP_BODY)
		tu_buf_release(&resp->body);
	tu_buf_reset(&resp->body);
	resp->body.max = h->opts.max_body;
	resp->status = 0;
	resp->retry_after_ms = -1;
	resp->content_type[0] = '\0';
	resp->error[0] = '\0';
	h->too_big = false;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 (long)(req->timeout_ms > 0 ? req->timeout_ms : h->opts.timeout_ms));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(h->opts.connect_timeout_ms > 0 ? h->opts.connect_timeout_ms
							      : h->opts.timeout_ms));
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->opts.unix_socket != NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->opts.unix_socket);
	if (h->opts.ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->opts.ca_file);
	if (h->opts.cert_file != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->opts.cert_file);
		if (h->opts.key_file != NULL)
			curl_easy_setopt(c, CURLOPT_SSLKEY, h->opts.key_file);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &call);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &call);

	const char *method = req->method != NULL ? req->method : "GET";
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (req->body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		char ct[160];
		snprintf(ct, sizeof(ct), "Content-Type: %s",
			 req->content_type ? req->content_type : "application/json");
		hdrs = curl_slist_append(hdrs, ct);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (size_t i = 0; i < req->n_headers; i++) {
		char line[4200];
		snprintf(line, sizeof(line), "%s: %s", req->headers[i].name, req->headers[i].value);
		hdrs = curl_slist_append(hdrs, line);
		tu_secret_wipe(line, sizeof(line)); /* it may be an auth header */
	}
	if (req->bearer_token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", req->bearer_token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);

	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	memset(auth, 0, sizeof(auth));
	tu_status st = curl_status(rc, h->too_big);
	if (st == TU_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	} else if (h->too_big) {
		snprintf(resp->error, sizeof(resp->error), "response body over %zu bytes",
			 h->opts.max_body);
	} else {
		snprintf(resp->error, sizeof(resp->error), "%s%s%s", curl_easy_strerror(rc),
			 ebuf[0] ? ": " : "", ebuf);
	}
	/* the handle keeps the options, including the error buffer on our stack */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	return st;
}

bool tu_http_retryable(tu_status st, long status)
{
	if (st == TU_ETIMEOUT || st == TU_EUNAVAIL)
		return true;
	return st == TU_OK && (status == 429 || (status >= 500 && status <= 599));
}

bool tu_http_dot_segment(const char *s)
{
	return strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

tu_status tu_http_escape(const char *s, struct tu_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	tu_status st = TU_OK;
	if (tu_http_dot_segment(s))
		return TU_EINVAL;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && st == TU_OK; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			st = tu_buf_putc(out, (char)*p);
		} else {
			char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			st = tu_buf_append(out, enc, 3);
		}
	}
	return st;
}

/* ---- URLs ------------------------------------------------------------------ */

static bool url_chars_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

/* A part of u, curl-allocated, or NULL if u has none. */
static char *url_part(CURLU *u, CURLUPart part, unsigned flags)
{
	char *s = NULL;
	if (curl_url_get(u, part, &s, flags) != CURLUE_OK)
		return NULL;
	return s;
}

/* Parses url into a new handle; NULL with why if curl refuses it. */
static CURLU *url_parse(const char *url, char *why, size_t whylen)
{
	pthread_once(&g_once, global_init);
	CURLU *u = curl_url();
	if (u == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		snprintf(why, whylen, "not an absolute URL (%s)", curl_url_strerror(rc));
		curl_url_cleanup(u);
		return NULL;
	}
	return u;
}

tu_status tu_http_url_check(const char *url, char *why, size_t whylen)
{
	size_t n = strlen(url);
	if (n == 0 || n > TU_HTTP_MAX_URL) {
		snprintf(why, whylen, "URL must be 1..%d bytes", TU_HTTP_MAX_URL);
		return TU_EINVAL;
	}
	if (!url_chars_ok(url)) {
		snprintf(why, whylen, "URL contains whitespace or control characters");
		return TU_EINVAL;
	}
	CURLU *u = url_parse(url, why, whylen);
	if (u == NULL)
		return TU_EINVAL;
	tu_status st = TU_OK;
	char *scheme = url_part(u, CURLUPART_SCHEME, 0);
	char *host = url_part(u, CURLUPART_HOST, 0);
	char *user = url_part(u, CURLUPART_USER, 0);
	char *password = url_part(u, CURLUPART_PASSWORD, 0);
	if (scheme == NULL || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
		snprintf(why, whylen, "URL scheme must be http or https");
		st = TU_EINVAL;
	} else if (host == NULL || *host == '\0') {
		snprintf(why, whylen, "URL has no host");
		st = TU_EINVAL;
	} else if (user != NULL || password != NULL) {
		snprintf(why, whylen, "URL has a user or password; put credentials in a file "
				      "(auth_file)");
		st = TU_EINVAL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return st;
}

tu_status tu_http_url_resolve(const char *base, const char *ref, char **out, char *why,
			      size_t whylen)
{
	if (!url_chars_ok(ref) || strlen(ref) > TU_HTTP_MAX_URL) {
		snprintf(why, whylen, "link has whitespace or control characters or is over %d "
				      "bytes", TU_HTTP_MAX_URL);
		return TU_EINVAL;
	}
	CURLU *u = url_parse(base, why, whylen);
	if (u == NULL)
		return TU_EINVAL;
	tu_status st = TU_OK;
	char *s = NULL;
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, ref, 0);
	if (rc != CURLUE_OK) {
		snprintf(why, whylen, "link is not a URL (%s)", curl_url_strerror(rc));
		st = TU_EINVAL;
	} else {
		s = url_part(u, CURLUPART_URL, 0);
		st = s != NULL ? tu_http_url_check(s, why, whylen) : TU_EINVAL;
		if (s == NULL)
			snprintf(why, whylen, "link cannot be resolved");
	}
	if (st == TU_OK)
		*out = tu_xstrdup(s);
	curl_free(s);
	curl_url_cleanup(u);
	return st;
}

bool tu_http_same_origin(const char *a, const char *b)
{
	char why[160];
	CURLU *ua = url_parse(a, why, sizeof(why));
	CURLU *ub = ua != NULL ? url_parse(b, why, sizeof(why)) : NULL;
	bool same = ub != NULL;
	static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT };
	for (size_t i = 0; same && i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *x = url_part(ua, parts[i], CURLU_DEFAULT_PORT);
		char *y = url_part(ub, parts[i], CURLU_DEFAULT_PORT);
		same = x != NULL && y != NULL && strcasecmp(x, y) == 0;
		curl_free(x);
		curl_free(y);
	}
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

bool tu_http_method_known(const char *method)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };
	for (size_t i = 0; method != NULL && i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(method, methods[i]) == 0)
			return true;
	}
	return false;
}
