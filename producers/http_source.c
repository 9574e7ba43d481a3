/*
 * http_source.c - the http source (see http_source.h).
 *
 * Invariants: `cache` holds the pages of the last scan that read every page
 * (or nothing), taken at `cached_ns`; a failed scan never replaces it. The
 * auth value is read at the start of a scan and wiped at its end
 * (tu_httpconn_forget). Entity memory lives in `arena`, reset per mapped
 * object.
 *
 * Workload: one request per page, a few pages per scan; mapping costs one
 * template rendering per attribute per object.
 */
#include "http_source.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "bounds.h"
#include "clock.h"
#include "httpconn.h"
#include "jsonmap.h"
#include "log.h"
#include "xalloc.h"

#define SLEEP_SLICE_MS 100 /* retry sleeps check for shutdown this often */
#define WHERE_LEN 160      /* "page 2, .apps[3].spec.services[1]" */

struct http_source {
	struct tu_source base;           /* first: the generic handle */
	const struct tu_http_source *hc; /* &base.cfg->http */
	struct tu_httpconn conn;         /* client, token bucket, headers */
	struct tu_arena arena;           /* one mapped object's entity */
	json_t **cache;                  /* owned pages of the last complete read */
	size_t n_cache;                  /* entries of cache */
	int64_t cached_ns;               /* monotonic time of that read; 0: none */
	uint64_t rng;                    /* jitter of retry delays */
};

/* Pages read by one scan, in order. */
struct pages {
	json_t **items; /* owned references, n in use (room for max_pages) */
	size_t n;       /* pages read */
};

static void pages_release(struct pages *p)
{
	for (size_t i = 0; i < p->n; i++)
		json_decref(p->items[i]);
	free(p->items);
	p->items = NULL;
	p->n = 0;
}

/* ---- mapping -------------------------------------------------------------- */

/* Template variables besides `{.path}`: {parent.path} and {source}. */
struct item_vars {
	json_t *parent;      /* the item an `each` element came from; NULL without each */
	const char *source;  /* the source's name */
	struct tu_buf value; /* rendering of the last parent value */
};

static bool lookup_extra(void *ctx, const char *var, size_t len, const char **val, size_t *vlen)
{
	struct item_vars *v = ctx;
	static const char parent[] = "parent";
	const size_t pl = sizeof(parent) - 1;
	if (len == 6 && memcmp(var, "source", 6) == 0) {
		*val = v->source;
		*vlen = strlen(v->source);
		return true;
	}
	if (v->parent == NULL || len <= pl || memcmp(var, parent, pl) != 0 ||
	    (var[pl] != '.' && var[pl] != '['))
		return false;
	json_t *j = tu_json_path(v->parent, var + pl, len - pl);
	tu_buf_reset(&v->value);
	if (j == NULL || !tu_json_scalar(j, &v->value))
		return false;
	*val = tu_buf_cstr(&v->value);
	*vlen = v->value.len;
	return true;
}

/* Maps one object through one observe entry and emits it; TU_OK after a skip. */
static tu_status map_one(struct http_source *hs, const struct tu_http_observe *ob, json_t *obj,
			 struct item_vars *vars, const char *where, const struct tu_scan_sink *sink)
{
	struct tu_json_entity je;
	char why[512];
	tu_status st = tu_json_map(&ob->map, obj, lookup_extra, vars, &hs->arena, &je, why,
				   sizeof(why));
	if (st == TU_ENOTFOUND) {
		st = TU_OK; /* filtered out by match or name_prefix */
	} else if (st != TU_OK) {
		tu_source_skip(&hs->base, sink, "%s (kind %s): %s", where, ob->map.kind, why);
		st = TU_OK;
	} else {
		struct tu_entity e = { je.kind, je.ns, je.name, je.attrs, je.n_attrs };
		st = tu_source_emit(&hs->base, sink, &e, where);
	}
	tu_arena_reset(&hs->arena);
	return st;
}

/* Maps one item through one observe entry (each element of `each`, or the item). */
static tu_status map_item(struct http_source *hs, const struct tu_http_observe *ob, json_t *item,
			  int page_no, size_t index, struct item_vars *vars,
			  const struct tu_scan_sink *sink)
{
	const char *items = hs->hc->items;
	const char *shown = strcmp(items, ".") == 0 ? "" : items;
	char where[WHERE_LEN];
	if (ob->each == NULL) {
		snprintf(where, sizeof(where), "page %d, %s[%zu]", page_no, shown, index);
		vars->parent = NULL;
		return map_one(hs, ob, item, vars, where, sink);
	}
	json_t *arr = tu_json_path(item, ob->each, strlen(ob->each));
	if (arr == NULL || json_is_null(arr))
		return TU_OK; /* nothing to map: an app without services */
	if (!json_is_array(arr)) {
		tu_source_skip(&hs->base, sink, "page %d, %s[%zu]%s (kind %s): each: not an array",
			       page_no, shown, index, ob->each, ob->map.kind);
		return TU_OK;
	}
	vars->parent = item;
	tu_status st = TU_OK;
	for (size_t j = 0; j < json_array_size(arr) && st == TU_OK; j++) {
		snprintf(where, sizeof(where), "page %d, %s[%zu]%s[%zu]", page_no, shown, index,
			 ob->each, j);
		st = map_one(hs, ob, json_array_get(arr, j), vars, where, sink);
	}
	return st;
}

/* The page says it has no items at all (its `total` is 0). */
static bool page_empty(const struct tu_http_source *hc, json_t *page)
{
	json_t *t = hc->total != NULL ? tu_json_path(page, hc->total, strlen(hc->total)) : NULL;
	return json_is_integer(t) && json_integer_value(t) == 0;
}

tu_status tu__http_map_page(struct tu_source *src, json_t *page, int page_no,
			    const struct tu_scan_sink *sink, char *err, size_t errlen)
{
	struct http_source *hs = (struct http_source *)src;
	const struct tu_http_source *hc = hs->hc;
	json_t *items = tu_json_path(page, hc->items, strlen(hc->items));
	if ((items == NULL || json_is_null(items)) && page_empty(hc, page))
		return TU_OK;
	if (items == NULL || json_is_null(items)) {
		snprintf(err, errlen, "page %d: items: nothing at %s", page_no, hc->items);
		return TU_EDECODE;
	}
	if (!json_is_array(items)) {
		snprintf(err, errlen, "page %d: items: %s is not an array", page_no, hc->items);
		return TU_EDECODE;
	}
	struct item_vars vars = { .source = src->cfg->name };
	tu_buf_init(&vars.value, TU_MAX_ATTR_VALUE);
	tu_status st = TU_OK;
	for (size_t i = 0; i < json_array_size(items) && st == TU_OK; i++) {
		if (sink->stopping(sink->ctx)) {
			st = TU_ESTOP;
			break;
		}
		for (size_t k = 0; k < hc->n_observe && st == TU_OK; k++)
			st = map_item(hs, &hc->observe[k], json_array_get(items, i), page_no, i,
				      &vars, sink);
	}
	tu_buf_release(&vars.value);
	return st;
}

/* ---- pages -------------------------------------------------------------- */

tu_status tu__http_next_link(const struct tu_http_source *hc, json_t *page, const char *page_url,
			     char **next, char *why, size_t whylen)
{
	*next = NULL;
	if (hc->next == NULL)
		return TU_OK;
	json_t *j = tu_json_path(page, hc->next, strlen(hc->next));
	if (j == NULL || json_is_null(j) || (json_is_string(j) && json_string_length(j) == 0))
		return TU_OK;
	if (!json_is_string(j)) {
		snprintf(why, whylen, "next: %s is not a string", hc->next);
		return TU_EINVAL;
	}
	if (strlen(json_string_value(j)) != json_string_length(j)) {
		snprintf(why, whylen, "next: %s holds a NUL byte", hc->next);
		return TU_EINVAL;
	}
	char *url = NULL;
	char uwhy[256];
	if (tu_http_url_resolve(page_url, json_string_value(j), &url, uwhy, sizeof(uwhy)) !=
	    TU_OK) {
		snprintf(why, whylen, "next: %s: %s", hc->next, uwhy);
		return TU_EINVAL;
	}
	if (!tu_http_same_origin(page_url, url)) {
		snprintf(why, whylen, "next: %s leaves the origin of the first page (the auth "
				      "header is not sent elsewhere)", hc->next);
		free(url);
		return TU_EINVAL;
	}
	*next = url;
	return TU_OK;
}

bool tu__http_cache_fresh(int64_t now_ns, int64_t cached_ns, int64_t ttl_ms)
{
	return cached_ns > 0 && ttl_ms > 0 && now_ns >= cached_ns &&
	       now_ns - cached_ns < ttl_ms * TU_NS_PER_MS;
}

int64_t tu__http_retry_delay(const struct tu_http_source *hc, int attempt, tu_status st,
			     long status, int64_t retry_after_ms, uint64_t rnd)
{
	if (!tu_http_retryable(st, status) || attempt < 1 || attempt > hc->retries)
		return -1;
	if (retry_after_ms > hc->backoff_max)
		return -1;
	int64_t d = tu_backoff_ms((uint64_t)attempt, hc->backoff, hc->backoff_max, rnd);
	return retry_after_ms > d ? retry_after_ms : d;
}

static bool sink_stopping(void *ctx)
{
	const struct tu_scan_sink *sink = ctx;
	return sink->stopping(sink->ctx);
}

/* Sleeps ms, in slices; false if the scan must stop. */
static bool sleep_unless_stopping(const struct tu_scan_sink *sink, int64_t ms)
{
	int64_t end = tu_clock_mono_ns() + ms * TU_NS_PER_MS;
	for (;;) {
		if (sink->stopping(sink->ctx))
			return false;
		int64_t left = (end - tu_clock_mono_ns()) / TU_NS_PER_MS;
		if (left <= 0)
			return true;
		tu_clock_sleep_ms(left < SLEEP_SLICE_MS ? left : SLEEP_SLICE_MS);
	}
}

/* Why a request failed, for the scan's error. */
static void request_failed(const struct tu_http_resp *r, tu_status st, char *out, size_t outlen)
{
	char text[320];
	if (st != TU_OK) {
		snprintf(out, outlen, "%s", r->error[0] ? r->error : tu_status_str(st));
		return;
	}
	tu_httpconn_error_text(r, text, sizeof(text));
	snprintf(out, outlen, "HTTP %ld%s%s", r->status, text[0] ? ": " : "", text);
}

/* The status of a request that will not be retried. */
static tu_status failed_status(tu_status st, long status)
{
	if (st != TU_OK)
		return st;
	if (status == 401 || status == 403)
		return TU_EAUTH;
	if (status == 404)
		return TU_ENOTFOUND;
	return tu_http_retryable(st, status) ? TU_EUNAVAIL : TU_EINVAL;
}

/* GETs url (retrying as configured) and parses the body into *out. */
static tu_status fetch_page(struct http_source *hs, const char *url, int page_no,
			    const struct tu_scan_sink *sink, json_t **out, char *err,
			    size_t errlen)
{
	const struct tu_http_source *hc = hs->hc;
	struct tu_http_req req = {
		.method = "GET",
		.url = url,
		.headers = hs->conn.headers,
		.n_headers = hs->conn.n_headers,
	};
	struct tu_http_resp resp;
	char why[512];
	tu_status st = TU_OK;
	tu_http_resp_init(&resp);
	for (int attempt = 1;; attempt++) {
		if (!tu_httpconn_pace(&hs->conn, -1, sink_stopping, (void *)sink)) {
			st = TU_ESTOP;
			goto out;
		}
		st = tu_http_do(hs->conn.http, &req, &resp);
		if (st == TU_OK && resp.status >= 200 && resp.status <= 299)
			break;
		request_failed(&resp, st, why, sizeof(why));
		int64_t delay = tu__http_retry_delay(hc, attempt, st, resp.status,
						     resp.retry_after_ms,
						     tu_backoff_rand(&hs->rng));
		if (delay < 0) {
			bool retryable = tu_http_retryable(st, resp.status);
			snprintf(err, errlen, "page %d (GET %s): %s%s", page_no, url, why,
				 !retryable ? ""
				 : resp.retry_after_ms > hc->backoff_max
					 ? " (Retry-After is longer than backoff_max)"
					 : " (retries exhausted)");
			st = failed_status(st, resp.status);
			goto out;
		}
		tu_warn("source %s: page %d (GET %s): %s; retry %d of %d in %" PRId64 " ms",
			hs->base.cfg->name, page_no, url, why, attempt, hc->retries, delay);
		if (!sleep_unless_stopping(sink, delay)) {
			st = TU_ESTOP;
			goto out;
		}
	}
	st = tu__http_parse_page(resp.body.data, resp.body.len, page_no, url, out, err, errlen);
out:
	tu_http_resp_release(&resp);
	return st;
}

tu_status tu__http_parse_page(const char *body, size_t len, int page_no, const char *url,
			      json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body != NULL ? body : "", len, 0, &jerr);
	if (doc == NULL) {
		snprintf(err, errlen, "page %d (GET %s): JSON syntax: %s at line %d, column %d",
			 page_no, url, jerr.text, jerr.line, jerr.column);
		return TU_EDECODE;
	}
	*out = doc;
	return TU_OK;
}

/* True if url is one of the n urls. */
static bool visited(char *const *urls, size_t n, const char *url)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(urls[i], url) == 0)
			return true;
	}
	return false;
}

/* Reads every page from the API, mapping each as it arrives, into *pages. */
static tu_status read_pages(struct http_source *hs, const struct tu_scan_sink *sink,
			    struct pages *pages, char *err, size_t errlen)
{
	const struct tu_http_source *hc = hs->hc;
	char **urls = tu_xcalloc((size_t)hc->max_pages, sizeof(*urls));
	size_t n_urls = 0;
	char *url = tu_xstrdup(hc->url);
	char why[512];
	tu_status st = TU_OK;
	pages->items = tu_xcalloc((size_t)hc->max_pages, sizeof(*pages->items));
	for (int page_no = 1;; page_no++) {
		json_t *doc = NULL;
		urls[n_urls++] = url;
		st = fetch_page(hs, url, page_no, sink, &doc, err, errlen);
		if (st != TU_OK)
			break;
		pages->items[pages->n++] = doc;
		st = tu__http_map_page(&hs->base, doc, page_no, sink, err, errlen);
		if (st != TU_OK)
			break;
		char *next = NULL;
		if (tu__http_next_link(hc, doc, url, &next, why, sizeof(why)) != TU_OK) {
			snprintf(err, errlen, "page %d (GET %s): %s", page_no, url, why);
			st = TU_EDECODE;
			break;
		}
		if (next == NULL)
			break;
		if (visited(urls, n_urls, next)) {
			snprintf(err, errlen, "page %d (GET %s): next: links back to %s (a loop)",
				 page_no, url, next);
			free(next);
			st = TU_EDECODE;
			break;
		}
		if (page_no >= hc->max_pages) {
			snprintf(err, errlen, "more than max_pages (%d) pages: page %d links to %s",
				 hc->max_pages, page_no, next);
			free(next);
			st = TU_ETOOBIG;
			break;
		}
		url = next;
	}
	for (size_t i = 0; i < n_urls; i++)
		free(urls[i]);
	free(urls);
	return st;
}

/* Drops the cached pages. */
static void cache_clear(struct http_source *hs)
{
	struct pages old = { hs->cache, hs->n_cache };
	pages_release(&old);
	hs->cache = NULL;
	hs->n_cache = 0;
	hs->cached_ns = 0;
}

static tu_status http_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			   size_t errlen)
{
	struct http_source *hs = (struct http_source *)src;
	const struct tu_http_source *hc = hs->hc;
	int64_t now = tu_clock_mono_ns();
	tu_status st = TU_OK;

	if (tu__http_cache_fresh(now, hs->cached_ns, hc->cache_ttl)) {
		tu_debug("source %s: %zu cached page%s from %" PRId64 " ms ago (cache_ttl)",
			 src->cfg->name, hs->n_cache, hs->n_cache == 1 ? "" : "s",
			 (now - hs->cached_ns) / TU_NS_PER_MS);
		for (size_t i = 0; i < hs->n_cache && st == TU_OK; i++)
			st = tu__http_map_page(src, hs->cache[i], (int)i + 1, sink, err, errlen);
		return st;
	}
	struct pages pages = { 0 };
	st = tu_httpconn_headers(&hs->conn, hc->conn.auth_file, err, errlen);
	if (st == TU_OK)
		st = read_pages(hs, sink, &pages, err, errlen);
	tu_httpconn_forget(&hs->conn);
	if (st == TU_OK && hc->cache_ttl > 0) {
		cache_clear(hs);
		hs->cache = pages.items;
		hs->n_cache = pages.n;
		hs->cached_ns = now;
	} else {
		pages_release(&pages);
	}
	return st;
}

static void http_destroy(struct tu_source *src)
{
	struct http_source *hs = (struct http_source *)src;
	cache_clear(hs);
	tu_httpconn_release(&hs->conn);
	tu_arena_release(&hs->arena);
	free(hs);
}

static const struct tu_source_ops http_ops = {
	.type = "http",
	.scan = http_scan,
	.destroy = http_destroy,
};

tu_status tu_http_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				char *err, size_t errlen)
{
	const struct tu_http_source *hc = &cfg->http;
	char why[256];
	if (cfg->type != TU_SOURCE_HTTP || hc->url == NULL || hc->items == NULL ||
	    hc->n_observe == 0 || hc->max_pages < 1) {
		snprintf(err, errlen, "source %s (line %d): an http source needs url, items, "
				      "observe and max_pages", cfg->name, cfg->line);
		return TU_EINVAL;
	}
	if (tu_http_url_check(hc->url, why, sizeof(why)) != TU_OK) {
		snprintf(err, errlen, "source %s (line %d): url: %s", cfg->name, cfg->line, why);
		return TU_EINVAL;
	}
	struct http_source *hs = tu_xcalloc(1, sizeof(*hs));
	tu_status st = tu_httpconn_init(&hs->conn, &hc->conn, cfg->timeout, why, sizeof(why));
	if (st != TU_OK) {
		snprintf(err, errlen, "source %s (line %d): %s", cfg->name, cfg->line, why);
		free(hs);
		return st;
	}
	hs->base.ops = &http_ops;
	hs->base.cfg = cfg;
	hs->hc = hc;
	hs->rng = (uint64_t)tu_clock_mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
	tu_arena_init(&hs->arena, 16 * 1024);
	const char **kinds = tu_xcalloc(hc->n_observe, sizeof(*kinds));
	for (size_t i = 0; i < hc->n_observe; i++)
		kinds[i] = hc->observe[i].map.kind;
	tu__source_set_kinds(&hs->base, kinds, hc->n_observe);
	free(kinds);
	*out = &hs->base;
	return TU_OK;
}
