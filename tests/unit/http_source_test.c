/*
 * http_source_test.c - the http source's pure parts (producers/http_source.h):
 * mapping pages with `each` and {parent...}, malformed and truncated items
 * (skipped, counted, named), pages without items, next links, the cache's
 * freshness, retry delays and their bounds; and the URL helpers of
 * lib/http.h they rely on. The requests themselves run against the fixture
 * in tests/integration/http.sh.
 */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "http_source.h"
#include "seen_sink.h"

/* A loaded config, its first source's adapter, and what a page gave. */
struct fx {
	struct tu_config *cfg;
	struct tu_source *src;
	struct seen seen;
	char err[512];
};

static struct fx *fx_new(const char *yaml)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[1024];
	tu_status st = tu_config_load_string("t.yaml", yaml, strlen(yaml), &f->cfg, err, sizeof(err));
	if (st != TU_OK)
		print_error("config: %s\n", err);
	assert_int_equal(st, TU_OK);
	assert_int_equal(tu_source_create(&f->cfg->sources[0], &f->src, err, sizeof(err)), TU_OK);
	return f;
}

static void fx_free(struct fx *f)
{
	tu_source_destroy(f->src);
	tu_config_destroy(f->cfg);
	free(f);
}

/* Maps one page given as JSON text. */
static tu_status map(struct fx *f, const char *json, int page_no)
{
	json_error_t jerr;
	json_t *page = json_loads(json, 0, &jerr);
	assert_non_null(page);
	struct tu_scan_sink sink = { on_entity, on_skip, on_stopping, &f->seen };
	memset(&f->seen, 0, sizeof(f->seen));
	f->err[0] = '\0';
	tu_status st = tu__http_map_page(f->src, page, page_no, &sink, f->err, sizeof(f->err));
	json_decref(page);
	return st;
}

#define DO_SOURCE                                                                               \
	"sources:\n"                                                                            \
	"  - name: do\n"                                                                        \
	"    type: http\n"                                                                      \
	"    preset: digitalocean-apps\n"

static const char apps_page[] =
	"{\"apps\": ["
	" {\"id\": \"a1\", \"spec\": {\"name\": \"shop\", \"services\": ["
	"   {\"name\": \"web\", \"instance_count\": 2, \"instance_size_slug\": \"basic-xs\"},"
	"   {\"name\": \"api\", \"instance_count\": 1}]},"
	"  \"region\": {\"slug\": \"nyc\"}, \"active_deployment\": {\"id\": \"d1\", \"phase\": \"ACTIVE\"}},"
	" {\"id\": \"a2\", \"spec\": {\"name\": \"blog\", \"services\": ["
	"   {\"name\": \"web\", \"autoscaling\": {\"min_instance_count\": 1, \"max_instance_count\": 3}}]}},"
	" {\"id\": \"a3\", \"spec\": {\"name\": \"landing\", \"static_sites\": [{\"name\": \"site\"}]}}"
	"], \"links\": {\"pages\": {}}, \"meta\": {\"total\": 3}}";

static void preset_each_and_parent(void **state)
{
	(void)state;
	struct fx *f = fx_new(DO_SOURCE);
	assert_int_equal(map(f, apps_page, 1), TU_OK);
	assert_int_equal(f->seen.n_skips, 0);
	assert_int_equal(f->seen.n, 3);
	assert_string_equal(f->seen.ents[0],
			    "service/shop/web app_id=a1,autoscaling_max=,autoscaling_min=,"
			    "deployment=d1,instance_count=2,instance_size_slug=basic-xs,phase=ACTIVE,"
			    "region=nyc");
	assert_string_equal(f->seen.ents[1],
			    "service/shop/api app_id=a1,autoscaling_max=,autoscaling_min=,"
			    "deployment=d1,instance_count=1,instance_size_slug=,phase=ACTIVE,"
			    "region=nyc");
	assert_string_equal(f->seen.ents[2],
			    "service/blog/web app_id=a2,autoscaling_max=3,autoscaling_min=1,"
			    "deployment=,instance_count=,instance_size_slug=,phase=,region=");
	fx_free(f);
}

static void each_nested_and_filters(void **state)
{
	(void)state;
	struct fx *f = fx_new("sources:\n"
			      "  - name: inv\n"
			      "    type: http\n"
			      "    url: https://api.example.com/v1/clusters\n"
			      "    items: .clusters\n"
			      "    observe:\n"
			      "      - kind: cluster\n"
			      "        name: \"{.name}\"\n"
			      "        attrs: { nodes: \"{.size}\", src: \"{source}\" }\n"
			      "      - kind: pool\n"
			      "        each: .spec.pools\n"
			      "        namespace: \"{parent.name}\"\n"
			      "        name: \"{.name}\"\n"
			      "        match: { .kind: gpu }\n"
			      "        attrs: { cluster_size: \"{parent.size}\", "
			      "first_label: \"{parent.labels[0].k}\" }\n"
			      "      - kind: label\n"
			      "        each: .labels\n"
			      "        name: \"{parent.name}-x\"\n"
			      "        name_prefix: c1\n");
	assert_int_equal(map(f, "{\"clusters\": ["
				"{\"name\": \"c1\", \"size\": 3, \"labels\": [{\"k\": \"eu\"}], \"spec\": {\"pools\": ["
				"  {\"name\": \"p1\", \"kind\": \"gpu\"}, {\"name\": \"p2\", \"kind\": \"cpu\"}]}},"
				"{\"name\": \"c2\", \"size\": 1, \"labels\": [], \"spec\": {\"pools\": null}}]}",
			     1),
			 TU_OK);
	assert_int_equal(f->seen.n_skips, 0);
	assert_int_equal(f->seen.n, 4);
	assert_string_equal(f->seen.ents[0], "cluster/default/c1 nodes=3,src=inv");
	assert_string_equal(f->seen.ents[1], "pool/c1/p1 cluster_size=3,first_label=eu");
	assert_string_equal(f->seen.ents[2], "label/default/c1-x");
	assert_string_equal(f->seen.ents[3], "cluster/default/c2 nodes=1,src=inv");
	fx_free(f);
}

static void malformed_items_skipped_and_named(void **state)
{
	(void)state;
	struct fx *f = fx_new(DO_SOURCE);
	/* a service without a name, services not an array, an item that is not an object,
	 * a namespace that is not a scalar; the good service is still seen */
	assert_int_equal(map(f, "{\"apps\": ["
				"{\"id\": \"a1\", \"spec\": {\"name\": \"shop\", \"services\": ["
				"  {\"instance_count\": 2}, {\"name\": \"ok\", \"instance_count\": 1}]}},"
				"{\"id\": \"a2\", \"spec\": {\"name\": \"blog\", \"services\": {\"web\": 1}}},"
				"\"not an app\","
				"{\"id\": \"a4\", \"spec\": {\"name\": [1], \"services\": [{\"name\": \"w\"}]}}"
				"]}",
			     2),
			 TU_OK);
	assert_int_equal(f->seen.n, 1);
	assert_string_equal(f->seen.ents[0],
			    "service/shop/ok app_id=a1,autoscaling_max=,autoscaling_min=,deployment=,"
			    "instance_count=1,instance_size_slug=,phase=,region=");
	assert_int_equal(f->seen.n_skips, 3);
	assert_non_null(strstr(f->seen.skips[0], "page 2, .apps[0].spec.services[0] (kind service): "
						 "name: "));
	assert_non_null(strstr(f->seen.skips[0], ".name"));
	assert_string_equal(f->seen.skips[1],
			    "page 2, .apps[1].spec.services (kind service): each: not an array");
	assert_non_null(strstr(f->seen.skips[2], "page 2, .apps[3].spec.services[0] (kind service): "
						 "namespace: "));
	fx_free(f);
}

static void entity_over_bound_skipped(void **state)
{
	(void)state;
	struct fx *f = fx_new(DO_SOURCE);
	char *page = malloc(4096);
	char longname[300];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(page, 4096, "{\"apps\": [{\"id\": \"a\", \"spec\": {\"name\": \"s\", \"services\": "
			     "[{\"name\": \"%s\"}]}}]}", longname);
	assert_int_equal(map(f, page, 1), TU_OK);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(f->seen.n_skips, 1);
	assert_non_null(strstr(f->seen.skips[0], "page 1, .apps[0].spec.services[0]"));
	assert_non_null(strstr(f->seen.skips[0], "253"));
	free(page);
	fx_free(f);
}

static void page_without_items(void **state)
{
	(void)state;
	struct fx *f = fx_new(DO_SOURCE);
	/* DigitalOcean-like: no apps member when there are none, total 0: empty, not an error */
	assert_int_equal(map(f, "{\"links\": {}, \"meta\": {\"total\": 0}}", 1), TU_OK);
	assert_int_equal(f->seen.n, 0);
	/* no items and no total 0: the page cannot be read (never taken for "nothing there") */
	assert_int_equal(map(f, "{\"links\": {}, \"meta\": {\"total\": 4}}", 3), TU_EDECODE);
	assert_string_equal(f->err, "page 3: items: nothing at .apps");
	assert_int_equal(map(f, "{\"apps\": {\"id\": 1}}", 1), TU_EDECODE);
	assert_string_equal(f->err, "page 1: items: .apps is not an array");
	assert_int_equal(map(f, "{\"apps\": null}", 1), TU_EDECODE);
	assert_int_equal(map(f, "{\"apps\": []}", 1), TU_OK);
	fx_free(f);
}

static void items_root_array(void **state)
{
	(void)state;
	struct fx *f = fx_new("sources:\n  - name: s\n    type: http\n"
			      "    url: http://127.0.0.1:9/list\n"
			      "    observe: [{ kind: node, name: \"{.n}\" }]\n");
	assert_string_equal(f->cfg->sources[0].http.items, ".");
	assert_int_equal(map(f, "[{\"n\": \"a\"}, {\"n\": \"b\"}]", 1), TU_OK);
	assert_int_equal(f->seen.n, 2);
	assert_string_equal(f->seen.ents[1], "node/default/b");
	assert_int_equal(map(f, "[{\"x\": 1}]", 1), TU_OK);
	assert_int_equal(f->seen.n_skips, 1);
	assert_non_null(strstr(f->seen.skips[0], "page 1, [0] (kind node): name:"));
	fx_free(f);
}

static void truncated_and_malformed_pages(void **state)
{
	(void)state;
	char err[512];
	json_t *page = NULL;
	const char *good = "{\"apps\": [{\"id\": \"a1\"}], \"links\": {}}";
	const char *url = "http://127.0.0.1:8080/v2/apps?page=2";
	assert_int_equal(tu__http_parse_page(good, strlen(good), 2, url, &page, err, sizeof(err)),
			 TU_OK);
	json_decref(page);
	/* cut in half: where it breaks off is named, with the page and its URL */
	assert_int_equal(tu__http_parse_page(good, strlen(good) / 2, 2, url, &page, err, sizeof(err)),
			 TU_EDECODE);
	assert_non_null(strstr(err, "page 2 (GET http://127.0.0.1:8080/v2/apps?page=2): JSON syntax: "));
	assert_non_null(strstr(err, "at line 1, column"));
	const char *bad = "{\"apps\": [ {\"id\": \"x\", ] oops";
	assert_int_equal(tu__http_parse_page(bad, strlen(bad), 1, url, &page, err, sizeof(err)),
			 TU_EDECODE);
	assert_int_equal(tu__http_parse_page("", 0, 1, url, &page, err, sizeof(err)), TU_EDECODE);
	assert_int_equal(tu__http_parse_page(NULL, 0, 1, url, &page, err, sizeof(err)), TU_EDECODE);
	assert_int_equal(tu__http_parse_page("<html>502</html>", 16, 3, url, &page, err, sizeof(err)),
			 TU_EDECODE);
	assert_non_null(strstr(err, "page 3 "));
}

/* next link of a page given as JSON text; returns the status, *out the URL or NULL. */
static tu_status next_of(const struct tu_http_source *hc, const char *json, const char *from,
			 char **out, char *why)
{
	json_error_t jerr;
	json_t *page = json_loads(json, 0, &jerr);
	assert_non_null(page);
	tu_status st = tu__http_next_link(hc, page, from, out, why, 256);
	json_decref(page);
	return st;
}

static void next_links(void **state)
{
	(void)state;
	struct fx *f = fx_new(DO_SOURCE "    base_url: http://127.0.0.1:8080/\n");
	const struct tu_http_source *hc = &f->cfg->sources[0].http;
	const char *first = "http://127.0.0.1:8080/v2/apps";
	char why[256], *next = NULL;
	assert_string_equal(hc->url, first);
	assert_int_equal(next_of(hc, "{\"links\": {\"pages\": {\"next\": "
				     "\"http://127.0.0.1:8080/v2/apps?page=2&per_page=2\"}}}",
				 first, &next, why),
			 TU_OK);
	assert_string_equal(next, "http://127.0.0.1:8080/v2/apps?page=2&per_page=2");
	free(next);
	/* relative links resolve against the page they came from */
	assert_int_equal(next_of(hc, "{\"links\": {\"pages\": {\"next\": \"?page=3\"}}}",
				 "http://127.0.0.1:8080/v2/apps?page=2", &next, why),
			 TU_OK);
	assert_string_equal(next, "http://127.0.0.1:8080/v2/apps?page=3");
	free(next);
	assert_int_equal(next_of(hc, "{\"links\": {\"pages\": {\"next\": \"/v2/apps?page=4\"}}}",
				 first, &next, why),
			 TU_OK);
	assert_string_equal(next, "http://127.0.0.1:8080/v2/apps?page=4");
	free(next);
	/* the last page: no next, null or "" */
	const char *ends[] = { "{\"links\": {\"pages\": {}}}", "{}",
			       "{\"links\": {\"pages\": {\"next\": null}}}",
			       "{\"links\": {\"pages\": {\"next\": \"\"}}}" };
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		next = (char *)1;
		assert_int_equal(next_of(hc, ends[i], first, &next, why), TU_OK);
		assert_null(next);
	}
	/* another origin would receive the auth header: refused */
	assert_int_equal(next_of(hc, "{\"links\": {\"pages\": {\"next\": "
				     "\"https://evil.example.com/v2/apps?page=2\"}}}",
				 first, &next, why),
			 TU_EINVAL);
	assert_non_null(strstr(why, "leaves the origin"));
	assert_int_equal(next_of(hc, "{\"links\": {\"pages\": {\"next\": "
				     "\"http://127.0.0.1:8081/v2/apps?page=2\"}}}",
				 first, &next, why),
			 TU_EINVAL);
	assert_int_equal(next_of(hc, "{\"links\": {\"pages\": {\"next\": 2}}}", first, &next, why),
			 TU_EINVAL);
	assert_string_equal(why, "next: .links.pages.next is not a string");
	assert_int_equal(next_of(hc, "{\"links\": {\"pages\": {\"next\": \"ftp://x/y\"}}}", first,
				 &next, why),
			 TU_EINVAL);
	assert_int_equal(next_of(hc, "{\"links\": {\"pages\": {\"next\": \"/a b\"}}}", first,
				 &next, why),
			 TU_EINVAL);
	fx_free(f);
}

static void no_next_path_means_one_page(void **state)
{
	(void)state;
	struct fx *f = fx_new("sources:\n  - name: s\n    type: http\n"
			      "    url: http://127.0.0.1:9/list\n"
			      "    observe: [{ kind: node, name: \"{.n}\" }]\n");
	char why[256], *next = (char *)1;
	assert_int_equal(next_of(&f->cfg->sources[0].http, "{\"next\": \"/list?page=2\"}",
				 "http://127.0.0.1:9/list", &next, why),
			 TU_OK);
	assert_null(next);
	fx_free(f);
}

static void cache_decisions(void **state)
{
	(void)state;
	int64_t s = TU_NS_PER_S;
	assert_false(tu__http_cache_fresh(100 * s, 0, 60000));        /* nothing cached */
	assert_false(tu__http_cache_fresh(100 * s, 90 * s, 0));       /* no cache_ttl */
	assert_true(tu__http_cache_fresh(100 * s, 90 * s, 60000));    /* 10 s old, ttl 60 s */
	assert_true(tu__http_cache_fresh(100 * s, 100 * s, 1));       /* just taken */
	assert_false(tu__http_cache_fresh(100 * s, 40 * s, 60000));   /* exactly the ttl: stale */
	assert_false(tu__http_cache_fresh(100 * s, 30 * s, 60000));   /* older */
	assert_false(tu__http_cache_fresh(100 * s, 110 * s, 60000));  /* clock oddity: refetch */
}

static void retry_delays(void **state)
{
	(void)state;
	struct tu_http_source hc = { .retries = 3, .backoff = 100, .backoff_max = 2000 };
	/* what is retried: 429, 5xx, timeouts, connection errors; nothing else */
	assert_true(tu__http_retry_delay(&hc, 1, TU_OK, 429, -1, 0) >= 50);
	assert_true(tu__http_retry_delay(&hc, 1, TU_OK, 503, -1, 0) >= 50);
	assert_true(tu__http_retry_delay(&hc, 1, TU_OK, 500, -1, 0) >= 50);
	assert_true(tu__http_retry_delay(&hc, 1, TU_ETIMEOUT, 0, -1, 0) >= 50);
	assert_true(tu__http_retry_delay(&hc, 1, TU_EUNAVAIL, 0, -1, 0) >= 50);
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_OK, 404, -1, 0), -1);
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_OK, 401, -1, 0), -1);
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_OK, 400, -1, 0), -1);
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_ETOOBIG, 0, -1, 0), -1);
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_EAUTH, 0, -1, 0), -1);
	/* bounded by retries */
	assert_true(tu__http_retry_delay(&hc, 3, TU_OK, 503, -1, 0) > 0);
	assert_int_equal(tu__http_retry_delay(&hc, 4, TU_OK, 503, -1, 0), -1);
	hc.retries = 0;
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_OK, 503, -1, 0), -1);
	hc.retries = 3;
	/* Retry-After is honoured as the least delay, and refused over backoff_max */
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_OK, 429, 1000, 0), 1000);
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_OK, 429, 2000, 0), 2000);
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_OK, 429, 2001, 0), -1);
	assert_int_equal(tu__http_retry_delay(&hc, 1, TU_OK, 429, 0, 0), 50);
	/* jittered within [window/2, window], the window doubling up to backoff_max */
	uint64_t rng = 88172645463325252u;
	for (int attempt = 1; attempt <= 3; attempt++) {
		int64_t window = 100 << (attempt - 1);
		for (int i = 0; i < 1000; i++) {
			int64_t d = tu__http_retry_delay(&hc, attempt, TU_OK, 503, -1,
							 tu_backoff_rand(&rng));
			assert_true(d >= window / 2 && d <= window);
		}
	}
	hc.retries = 100;
	for (int i = 0; i < 1000; i++) {
		int64_t d = tu__http_retry_delay(&hc, 60, TU_OK, 503, -1, tu_backoff_rand(&rng));
		assert_true(d >= 1000 && d <= 2000);
	}
}

static void backoff_bounds(void **state)
{
	(void)state;
	assert_int_equal(tu_backoff_ms(1, 100, 2000, 0), 50);
	assert_int_equal(tu_backoff_ms(1, 100, 2000, 50), 100);
	assert_int_equal(tu_backoff_ms(2, 100, 2000, 100), 200);
	assert_int_equal(tu_backoff_ms(5, 100, 2000, 0), 800);
	assert_int_equal(tu_backoff_ms(6, 100, 2000, 0), 1000); /* 1600 -> cap window 2000 */
	assert_int_equal(tu_backoff_ms(UINT64_MAX, 100, 2000, 1000), 2000);
	assert_int_equal(tu_backoff_ms(3, 0, 0, 0), 0);          /* nonsense in, 0..1 out */
	uint64_t s = 1, a = tu_backoff_rand(&s), b = tu_backoff_rand(&s);
	assert_true(a != b && s == b);
}

static void url_helpers(void **state)
{
	(void)state;
	char why[256], *out = NULL;
	assert_int_equal(tu_http_url_check("https://api.digitalocean.com/v2/apps", why, sizeof(why)),
			 TU_OK);
	assert_int_equal(tu_http_url_check("http://127.0.0.1:8080", why, sizeof(why)), TU_OK);
	assert_int_equal(tu_http_url_check("https://user:pw@example.com/", why, sizeof(why)),
			 TU_EINVAL);
	assert_non_null(strstr(why, "auth_file"));
	assert_int_equal(tu_http_url_check("ftp://example.com/", why, sizeof(why)), TU_EINVAL);
	assert_int_equal(tu_http_url_check("example.com/x", why, sizeof(why)), TU_EINVAL);
	assert_int_equal(tu_http_url_check("http://exa mple.com/", why, sizeof(why)), TU_EINVAL);
	assert_int_equal(tu_http_url_check("http://x/\r\n", why, sizeof(why)), TU_EINVAL);
	assert_int_equal(tu_http_url_check("", why, sizeof(why)), TU_EINVAL);
	assert_int_equal(tu_http_url_resolve("http://h:1/a/b?x=1", "c?y=2", &out, why, sizeof(why)),
			 TU_OK);
	assert_string_equal(out, "http://h:1/a/c?y=2");
	free(out);
	assert_int_equal(tu_http_url_resolve("http://h:1/a/b", "https://o/z", &out, why, sizeof(why)),
			 TU_OK);
	assert_string_equal(out, "https://o/z");
	free(out);
	assert_true(tu_http_same_origin("https://API.example.com/a", "https://api.example.com:443/b"));
	assert_false(tu_http_same_origin("https://api.example.com/a", "http://api.example.com/a"));
	assert_false(tu_http_same_origin("https://api.example.com/", "https://api.example.com.evil/"));
	assert_false(tu_http_same_origin("nonsense", "https://api.example.com/"));
	assert_true(tu_http_method_known("PATCH"));
	assert_false(tu_http_method_known("patch"));
	assert_false(tu_http_method_known("TRACE"));
	assert_false(tu_http_method_known(NULL));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(preset_each_and_parent),
	cmocka_unit_test(each_nested_and_filters),
	cmocka_unit_test(malformed_items_skipped_and_named),
	cmocka_unit_test(entity_over_bound_skipped),
	cmocka_unit_test(page_without_items),
	cmocka_unit_test(items_root_array),
	cmocka_unit_test(truncated_and_malformed_pages),
	cmocka_unit_test(next_links),
	cmocka_unit_test(no_next_path_means_one_page),
	cmocka_unit_test(cache_decisions),
	cmocka_unit_test(retry_delays),
	cmocka_unit_test(backoff_bounds),
	cmocka_unit_test(url_helpers),
};

TU_TEST_MAIN(tests)
