/*
 * docker.c - the Docker Engine API client (see docker.h).
 *
 * Invariants: `version` is "" until GET /version succeeded and is cleared
 * whenever the daemon does not answer, so a restarted (maybe upgraded)
 * daemon is asked again; every request goes through the token bucket.
 *
 * Workload: a source lists containers once per scan and inspects some; a
 * target makes two or three requests per command. One connection, reused.
 */
#include "docker.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "ratelimit.h"
#include "xalloc.h"

#define TOKEN_POLL_MS 100 /* longest sleep between two looks at the bucket */
#define URL_MAX 8192      /* http://localhost/v1.41 + a path; paths are short */

struct tu_docker {
	tu_http *http;                       /* owned; one curl handle */
	char *socket;                        /* owned copy of opts.socket */
	int64_t timeout_ms;                  /* per request */
	struct tu_ratelimit rl;              /* opts.rate per second */
	char version[TU_DOCKER_VERSION_SIZE]; /* negotiated, "" until then */
};

tu_status tu_docker_create(const struct tu_docker_daemon *dd, int64_t timeout_ms, tu_docker **out,
			   char *err, size_t errlen)
{
	const char *socket = dd->socket != NULL ? dd->socket : "/var/run/docker.sock";
	struct tu_http_opts ho = {
		.unix_socket = socket,
		.timeout_ms = timeout_ms,
		.max_body = dd->max_body > 0 ? (size_t)dd->max_body : 0,
	};
	tu_http *h = NULL;
	char herr[256];

	if (socket[0] == '\0') {
		snprintf(err, errlen, "docker: no socket path");
		return TU_EINVAL;
	}
	tu_status st = tu_http_create(&ho, &h, herr, sizeof(herr));
	if (st != TU_OK) {
		snprintf(err, errlen, "docker %s: %s", socket, herr);
		return st;
	}
	tu_docker *d = tu_xcalloc(1, sizeof(*d));
	d->http = h;
	d->socket = tu_xstrdup(socket);
	d->timeout_ms = timeout_ms;
	tu_ratelimit_init(&d->rl, dd->rate, dd->rate);
	*out = d;
	return TU_OK;
}

void tu_docker_destroy(tu_docker *d)
{
	if (d == NULL)
		return;
	tu_http_destroy(d->http);
	tu_ratelimit_release(&d->rl);
	free(d->socket);
	free(d);
}

const char *tu_docker_api_version(const tu_docker *d)
{
	return d->version;
}

const char *tu_docker_socket(const tu_docker *d)
{
	return d->socket;
}

/* ---- versions ------------------------------------------------------------------------ */

tu_status tu__docker_version_parse(const char *s, int *major, int *minor)
{
	int v[2] = { 0, 0 };
	const char *p = s;

	for (int i = 0; i < 2; i++) {
		int digits = 0;
		while (isdigit((unsigned char)*p) && digits < 5) {
			v[i] = v[i] * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 4)
			return TU_EINVAL;
		if (i == 0 && *p++ != '.')
			return TU_EINVAL;
	}
	if (*p != '\0')
		return TU_EINVAL;
	*major = v[0];
	*minor = v[1];
	return TU_OK;
}

/* -1, 0, 1 as a is older than, equal to, newer than b. */
static int version_cmp(int amaj, int amin, int bmaj, int bmin)
{
	if (amaj != bmaj)
		return amaj < bmaj ? -1 : 1;
	return amin < bmin ? -1 : amin > bmin;
}

tu_status tu__docker_negotiate(const char *body, size_t len, char *out, char *err,
			       size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);
	int maj = 0, min = 0, lo_maj = 0, lo_min = 0;
	tu_status st = TU_OK;

	if (root == NULL || !json_is_object(root)) {
		snprintf(err, errlen, "GET /version: reply is not a JSON object%s%s",
			 root == NULL ? ": " : "", root == NULL ? jerr.text : "");
		st = TU_EDECODE;
		goto out;
	}
	const char *have = json_string_value(json_object_get(root, "ApiVersion"));
	if (have == NULL || tu__docker_version_parse(have, &maj, &min) != TU_OK) {
		snprintf(err, errlen, "GET /version: no usable ApiVersion in the reply");
		st = TU_EDECODE;
		goto out;
	}
	if (version_cmp(maj, min, TU_DOCKER_API_MAJOR, TU_DOCKER_API_MIN_MINOR) < 0) {
		snprintf(err, errlen,
			 "the daemon speaks Engine API %d.%d, older than %d.%d, the oldest trueup "
			 "supports (upgrade Docker)",
			 maj, min, TU_DOCKER_API_MAJOR, TU_DOCKER_API_MIN_MINOR);
		st = TU_EINVAL;
		goto out;
	}
	const char *low = json_string_value(json_object_get(root, "MinAPIVersion"));
	if (low != NULL && tu__docker_version_parse(low, &lo_maj, &lo_min) == TU_OK &&
	    version_cmp(lo_maj, lo_min, TU_DOCKER_API_MAJOR, TU_DOCKER_API_MINOR) > 0) {
		snprintf(err, errlen,
			 "the daemon needs Engine API %d.%d or newer; trueup speaks up to %d.%d",
			 lo_maj, lo_min, TU_DOCKER_API_MAJOR, TU_DOCKER_API_MINOR);
		st = TU_EINVAL;
		goto out;
	}
	if (version_cmp(maj, min, TU_DOCKER_API_MAJOR, TU_DOCKER_API_MINOR) > 0) {
		maj = TU_DOCKER_API_MAJOR;
		min = TU_DOCKER_API_MINOR;
	}
	snprintf(out, TU_DOCKER_VERSION_SIZE, "%d.%d", maj, min);
out:
	json_decref(root);
	return st;
}

/* ---- requests ------------------------------------------------------------------------ */

/* Takes a token, waiting at most req->max_wait_ms (< 0: until stopping). */
static tu_status take_token(tu_docker *d, const struct tu_docker_req *req)
{
	int64_t waited = 0;

	while (!tu_ratelimit_try(&d->rl)) {
		if (req->stopping != NULL && req->stopping(req->stop_ctx))
			return TU_ESTOP;
		if (req->max_wait_ms >= 0 && waited >= req->max_wait_ms)
			return TU_ETIMEOUT;
		int64_t ms = tu_ratelimit_wait_ms(&d->rl);
		ms = ms < 1 ? 1 : ms > TOKEN_POLL_MS ? TOKEN_POLL_MS : ms;
		tu_clock_sleep_ms(ms);
		waited += ms;
	}
	return TU_OK;
}

/* One HTTP exchange at path (already versioned or not); err names it. */
static tu_status exchange(tu_docker *d, const struct tu_docker_req *req, const char *path,
			  struct tu_http_resp *resp, char *err, size_t errlen)
{
	char url[URL_MAX];
	tu_status st = take_token(d, req);

	if (st == TU_ETIMEOUT) {
		snprintf(err, errlen,
			 "docker %s: %s %s: no rate-limit token within %lld ms (rate limit)",
			 d->socket, req->method, path, (long long)req->max_wait_ms);
		return st;
	}
	if (st != TU_OK)
		return st;
	if ((size_t)snprintf(url, sizeof(url), "http://localhost%s", path) >= sizeof(url)) {
		snprintf(err, errlen, "docker %s: %s: path longer than %d bytes", d->socket,
			 req->method, URL_MAX);
		return TU_EINVAL;
	}
	struct tu_http_req hr = {
		.method = req->method,
		.url = url,
		.timeout_ms = d->timeout_ms + (req->extra_timeout_ms > 0 ? req->extra_timeout_ms : 0),
	};
	st = tu_http_do(d->http, &hr, resp);
	if (st != TU_OK) {
		snprintf(err, errlen, "docker %s: %s %s: %s", d->socket, req->method, path,
			 resp->error);
		d->version[0] = '\0'; /* the daemon may come back as another version */
	}
	return st;
}

static tu_status negotiate(tu_docker *d, const struct tu_docker_req *req,
			   struct tu_http_resp *resp, char *err, size_t errlen)
{
	struct tu_docker_req vr = *req;
	char why[256], msg[TU_DOCKER_MESSAGE];

	vr.method = "GET";
	vr.extra_timeout_ms = 0;
	tu_status st = exchange(d, &vr, "/version", resp, err, errlen);
	if (st != TU_OK)
		return st;
	if (resp->status != 200) {
		tu_docker_message(resp, msg, sizeof(msg));
		snprintf(err, errlen, "docker %s: GET /version: HTTP %ld: %s", d->socket,
			 resp->status, msg);
		return resp->status >= 500 ? TU_EUNAVAIL : TU_EDECODE;
	}
	st = tu__docker_negotiate(resp->body.data != NULL ? resp->body.data : "", resp->body.len,
				  d->version, why, sizeof(why));
	if (st != TU_OK) {
		d->version[0] = '\0';
		snprintf(err, errlen, "docker %s: %s", d->socket, why);
	}
	return st;
}

tu_status tu_docker_do(tu_docker *d, const struct tu_docker_req *req, struct tu_http_resp *resp,
		       char *err, size_t errlen)
{
	char path[URL_MAX];

	if (d->version[0] == '\0') {
		tu_status st = negotiate(d, req, resp, err, errlen);
		if (st != TU_OK)
			return st;
	}
	if ((size_t)snprintf(path, sizeof(path), "/v%s%s", d->version, req->path) >=
	    sizeof(path)) {
		snprintf(err, errlen, "docker %s: %s: path longer than %d bytes", d->socket,
			 req->method, URL_MAX);
		return TU_EINVAL;
	}
	return exchange(d, req, path, resp, err, errlen);
}

/* ---- helpers ------------------------------------------------------------------------- */

/* Copies n bytes of s into out (outlen > 0), control bytes as spaces, cut to fit. */
static void printable(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

void tu_docker_message(const struct tu_http_resp *r, char *out, size_t outlen)
{
	const char *body = r->body.data != NULL ? r->body.data : "";
	json_t *root = json_loadb(body, r->body.len, 0, NULL);
	const char *msg = json_string_value(json_object_get(root, "message"));

	if (outlen == 0)
		goto out;
	if (msg != NULL)
		printable(msg, strlen(msg), out, outlen);
	else
		printable(body, r->body.len, out, outlen);
	if (out[0] == '\0')
		snprintf(out, outlen, "HTTP %ld", r->status);
out:
	json_decref(root);
}

bool tu_docker_id_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		if (!isdigit((unsigned char)s[n]) && !(s[n] >= 'a' && s[n] <= 'f'))
			return false;
		if (n >= TU_DOCKER_ID_MAX)
			return false;
	}
	return n >= TU_DOCKER_ID_MIN;
}

tu_status tu_docker_param_bool(const char *s, bool *out)
{
	if (s != NULL && strcmp(s, "true") == 0) {
		*out = true;
		return TU_OK;
	}
	if (s != NULL && strcmp(s, "false") == 0) {
		*out = false;
		return TU_OK;
	}
	return TU_EINVAL;
}

tu_status tu_docker_param_seconds(const char *s, int *out)
{
	int v = 0;
	size_t n = 0;

	if (s == NULL)
		return TU_EINVAL;
	for (; s[n] != '\0'; n++) {
		if (!isdigit((unsigned char)s[n]) || n >= 5)
			return TU_EINVAL;
		v = v * 10 + (s[n] - '0');
	}
	if (n == 0 || v > TU_DOCKER_MAX_STOP_S)
		return TU_EINVAL;
	*out = v;
	return TU_OK;
}
