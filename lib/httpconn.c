/* httpconn.c - an http client from config (see httpconn.h). */
#include "httpconn.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"

#define USER_AGENT "trueup/1"
#define ERROR_SHOWN 200 /* bytes of a non-JSON error body quoted */

tu_status tu_httpconn_init(struct tu_httpconn *c, const struct tu_http_conn *cfg,
			   int64_t timeout_ms, char *err, size_t errlen)
{
	struct tu_http_opts o = {
		.ca_file = cfg->ca_file,
		.timeout_ms = timeout_ms,
		.max_body = (size_t)cfg->max_body,
	};
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	tu_status st = tu_http_create(&o, &c->http, err, errlen);
	if (st != TU_OK)
		return st;
	tu_ratelimit_init(&c->rl, cfg->rate, cfg->burst);
	return TU_OK;
}

void tu_httpconn_release(struct tu_httpconn *c)
{
	tu_httpconn_forget(c);
	tu_http_destroy(c->http);
	c->http = NULL;
	tu_ratelimit_release(&c->rl);
}

tu_status tu_httpconn_headers(struct tu_httpconn *c, const char *auth_file, char *err,
			      size_t errlen)
{
	const struct tu_kvlist *h = &c->cfg->headers;
	size_t n = 0;
	tu_httpconn_forget(c);
	for (size_t i = 0; i < h->n && n < TU_HTTPCONN_MAX_HEADERS - 2; i++)
		c->headers[n++] = (struct tu_http_header){ h->items[i].key, h->items[i].value };
	c->headers[n++] = (struct tu_http_header){ "User-Agent", USER_AGENT };
	if (auth_file != NULL) {
		tu_status st = tu_secret_read(auth_file, c->auth, sizeof(c->auth), err, errlen);
		if (st != TU_OK)
			return st;
		for (const unsigned char *p = (const unsigned char *)c->auth; *p != '\0'; p++) {
			if (*p < 0x20 || *p == 0x7f) {
				tu_httpconn_forget(c);
				snprintf(err, errlen, "auth file %s: the value must be one line of "
						      "printable text", auth_file);
				return TU_EINVAL;
			}
		}
		c->headers[n++] = (struct tu_http_header){ c->cfg->auth_header, c->auth };
	}
	c->n_headers = n;
	return TU_OK;
}

void tu_httpconn_forget(struct tu_httpconn *c)
{
	tu_secret_wipe(c->auth, sizeof(c->auth));
	c->n_headers = 0;
}

bool tu_httpconn_pace(struct tu_httpconn *c, int64_t max_wait_ms, bool (*stopping)(void *ctx),
		      void *ctx)
{
	int64_t start = tu_clock_mono_ns();
	for (;;) {
		if (tu_ratelimit_try(&c->rl))
			return true;
		if (stopping != NULL && stopping(ctx))
			return false;
		int64_t ms = tu_ratelimit_wait_ms(&c->rl);
		int64_t waited = (tu_clock_mono_ns() - start) / TU_NS_PER_MS;
		if (max_wait_ms >= 0 && waited + ms > max_wait_ms)
			return false;
		tu_clock_sleep_ms(ms > 100 ? 100 : (ms < 1 ? 1 : ms));
	}
}

/* Appends s as printable ASCII ('?' for the rest) to out, at most max bytes of s. */
static void printable(const char *s, size_t len, size_t max, char *out, size_t outlen)
{
	size_t o = strlen(out);
	for (size_t i = 0; i < len && i < max && o + 1 < outlen; i++)
		out[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[o < outlen ? o : outlen - 1] = '\0';
}

void tu_httpconn_error_text(const struct tu_http_resp *r, char *out, size_t outlen)
{
	json_error_t jerr;
	out[0] = '\0';
	if (r->body.len == 0)
		return;
	json_t *j = json_loadb(r->body.data, r->body.len, 0, &jerr);
	json_t *msg = json_is_object(j) ? json_object_get(j, "message") : NULL;
	json_t *id = json_is_object(j) ? json_object_get(j, "id") : NULL;
	if (json_is_string(msg)) {
		if (json_is_string(id)) {
			printable(json_string_value(id), json_string_length(id), 64, out, outlen);
			printable(": ", 2, 2, out, outlen);
		}
		printable(json_string_value(msg), json_string_length(msg), outlen, out, outlen);
	} else {
		printable(r->body.data, r->body.len, ERROR_SHOWN, out, outlen);
	}
	json_decref(j);
}
