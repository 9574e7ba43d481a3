/*
 * http_source.h - the http source: entities from a JSON API (GET, libcurl),
 * with pagination, a reply cache, retries and a rate limit; preset
 * digitalocean-apps reads the DigitalOcean App Platform API.
 *
 * A scan GETs `url`; the array at the JSON path `items` of the reply holds
 * the items. With `next`, the string at that path is the URL of the next
 * page (absolute or relative; it must stay on the origin of `url`, since the
 * auth header goes with it); pages are followed up to `max_pages`. Each item
 * goes through every `observe` entry (a struct tu_json_mapping): `{.path}`
 * reads the item. With `each: .path`, the elements of the array at that path
 * of the item are mapped instead, and `{parent.path}` reads the item (so one
 * app with three services yields three entities). `{source}` is the source's
 * name.
 *
 * The header `auth_header` carries the content of `auth_file` (read at each
 * scan; never logged). 429, 5xx, timeouts and connection errors are retried
 * up to `retries` times per request after a delay that doubles from
 * `backoff` up to `backoff_max`, with jitter, and at least the reply's
 * Retry-After (a Retry-After over backoff_max is not waited for). Requests
 * are paced by a token bucket (`rate`, `burst`). With `cache_ttl`, the pages
 * of the last scan that read every page are kept, and a scan within the TTL
 * maps them again without any request.
 *
 * A page that cannot be read (retries exhausted, another 4xx, a body over
 * max_body, JSON that does not parse, no items array, a bad next link, more
 * than max_pages pages) ends the scan incomplete with an error naming the
 * source, page and URL: nothing is deleted. An item that cannot become an
 * entity (a template without a value, `each` not an array, over a bound) is
 * skipped, counted and reported; the scan goes on and ends incomplete.
 *
 * Workload: a few pages of up to a few hundred items per scan; one scanner
 * thread per source owns its connection.
 */
#ifndef TU_HTTP_SOURCE_H
#define TU_HTTP_SOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "source.h"
#include "status.h"

/* Creates an http source for cfg (type http; cfg outlives it). Does not connect. */
tu_status tu_http_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				char *err, size_t errlen);

/* ---- internals, exposed for tests --------------------------------------- */

/*
 * Maps the items of one parsed page (page_no, 1-based, for messages)
 * through every observe entry of src into sink. Returns TU_OK (items may
 * have been skipped, each reported), TU_EDECODE with err when the page has
 * no items array (a page without one whose `total` is 0 is empty), or the
 * sink's failure (TU_ESTOP included).
 */
tu_status tu__http_map_page(struct tu_source *src, json_t *page, int page_no,
			    const struct tu_scan_sink *sink, char *err, size_t errlen);

/*
 * Parses a page's body (len bytes) into *out (a new reference). TU_EDECODE
 * with err naming the page, the URL and where the JSON breaks off (a
 * truncated or malformed body).
 */
tu_status tu__http_parse_page(const char *body, size_t len, int page_no, const char *url,
			      json_t **out, char *err, size_t errlen);

/*
 * The next page's URL after page (fetched from page_url): *next (malloc'd)
 * or NULL when there is none (no `next` path, or null/"" there). TU_EINVAL
 * with why when the link is not a string, not a URL, or leaves page_url's
 * origin.
 */
tu_status tu__http_next_link(const struct tu_http_source *hc, json_t *page, const char *page_url,
			     char **next, char *why, size_t whylen);

/* A reply cached at cached_ns (monotonic; 0: none) may serve a scan at now_ns. */
bool tu__http_cache_fresh(int64_t now_ns, int64_t cached_ns, int64_t ttl_ms);

/*
 * The delay before retry `attempt` (1-based) of a request that ended with st
 * (tu_http_do) and HTTP status, whose reply said Retry-After retry_after_ms
 * (-1: none): backoff with jitter from rnd, at least Retry-After. -1 when it
 * must not be retried: not retryable, retries used up, or a Retry-After
 * longer than backoff_max.
 */
int64_t tu__http_retry_delay(const struct tu_http_source *hc, int attempt, tu_status st,
			     long status, int64_t retry_after_ms, uint64_t rnd);

#endif
