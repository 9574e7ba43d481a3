/*
 * config_http_test.c - the http source and target sections of the config
 * (lib/config.c): every field read back, preset defaults, the verbs of type
 * http and their checks, the redis source's `ttl`, and error messages
 * (exact "file:line:col: path:" prefix and a key phrase each).
 */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static struct tu_config *load_ok(const char *yaml)
{
	struct tu_config *cfg = NULL;
	char err[1024] = "";
	tu_status st = tu_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
	if (st != TU_OK)
		print_error("%s\n", err);
	assert_int_equal(st, TU_OK);
	return cfg;
}

static void expect_error(const char *yaml, const char *prefix, const char *phrase)
{
	struct tu_config *cfg = NULL;
	char err[1024] = "";
	tu_status st = tu_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
	if (st != TU_EINVAL || strncmp(err, prefix, strlen(prefix)) != 0 ||
	    strstr(err, phrase) == NULL)
		print_error("status %s, message: %s\nwanted prefix: %s\nwanted phrase: %s\n",
			    tu_status_str(st), err, prefix, phrase);
	assert_int_equal(st, TU_EINVAL);
	assert_null(cfg);
	assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
	assert_non_null(strstr(err, phrase));
}

static void http_source_full(void **state)
{
	(void)state;
	struct tu_config *cfg = load_ok("sources:\n"
					"  - name: inv\n"
					"    type: http\n"
					"    url: https://api.example.com/v1/nodes?limit=100\n"
					"    auth_header: X-Api-Key\n"
					"    auth_file: /etc/trueup/inv.key\n"
					"    headers: { Accept-Language: en, X-Team: ops }\n"
					"    ca_file: /etc/ssl/inv-ca.pem\n"
					"    max_body: 2MiB\n"
					"    rate: 250/m\n"
					"    burst: 5\n"
					"    items: .data.nodes\n"
					"    total: .data.count\n"
					"    next: .data.next\n"
					"    max_pages: 7\n"
					"    cache_ttl: 20s\n"
					"    retries: 5\n"
					"    backoff: 250ms\n"
					"    backoff_max: 10s\n"
					"    observe:\n"
					"      - kind: node\n"
					"        name: \"{.name}\"\n"
					"        namespace: \"{.pool}\"\n"
					"        match: { .state: up }\n"
					"        name_prefix: k3s-\n"
					"        attrs: { ip: \"{.ip}\" }\n"
					"      - kind: disk\n"
					"        each: .disks\n"
					"        name: \"{parent.name}-{.dev}\"\n");
	const struct tu_http_source *h = &cfg->sources[0].http;
	assert_int_equal(cfg->sources[0].type, TU_SOURCE_HTTP);
	assert_int_equal(h->preset, TU_HTTP_PRESET_NONE);
	assert_null(h->base_url);
	assert_string_equal(h->url, "https://api.example.com/v1/nodes?limit=100");
	assert_string_equal(h->conn.auth_header, "X-Api-Key");
	assert_string_equal(h->conn.auth_file, "/etc/trueup/inv.key");
	assert_int_equal(h->conn.headers.n, 2);
	assert_string_equal(h->conn.headers.items[1].key, "X-Team");
	assert_string_equal(h->conn.headers.items[1].value, "ops");
	assert_string_equal(h->conn.ca_file, "/etc/ssl/inv-ca.pem");
	assert_int_equal(h->conn.max_body, 2 * 1024 * 1024);
	assert_true(h->conn.rate > 4.16 && h->conn.rate < 4.17);
	assert_int_equal(h->conn.burst, 5);
	assert_string_equal(h->items, ".data.nodes");
	assert_string_equal(h->total, ".data.count");
	assert_string_equal(h->next, ".data.next");
	assert_int_equal(h->max_pages, 7);
	assert_int_equal(h->cache_ttl, 20000);
	assert_int_equal(h->retries, 5);
	assert_int_equal(h->backoff, 250);
	assert_int_equal(h->backoff_max, 10000);
	assert_int_equal(h->n_observe, 2);
	assert_string_equal(h->observe[0].map.kind, "node");
	assert_string_equal(h->observe[0].map.ns, "{.pool}");
	assert_string_equal(h->observe[0].map.match.items[0].key, ".state");
	assert_string_equal(h->observe[0].map.name_prefix, "k3s-");
	assert_null(h->observe[0].each);
	assert_string_equal(h->observe[1].each, ".disks");
	assert_string_equal(h->observe[1].map.ns, "default");
	tu_config_destroy(cfg);
}

static void http_source_defaults_and_preset(void **state)
{
	(void)state;
	struct tu_config *cfg = load_ok("sources:\n"
					"  - { name: s, type: http, url: \"http://127.0.0.1:9/x\",\n"
					"      observe: [{ kind: k, name: \"{.n}\" }] }\n"
					"  - { name: do, type: http, preset: digitalocean-apps }\n"
					"  - { name: do2, type: http, preset: digitalocean-apps,\n"
					"      base_url: \"http://127.0.0.1:8080/\", next: .links.pages.last,\n"
					"      observe: [{ kind: app, name: \"{.spec.name}\" }] }\n");
	const struct tu_http_source *h = &cfg->sources[0].http;
	assert_string_equal(h->items, ".");
	assert_null(h->next);
	assert_null(h->total);
	assert_string_equal(h->conn.auth_header, "Authorization");
	assert_null(h->conn.auth_file);
	assert_int_equal(h->conn.max_body, 8 * 1024 * 1024);
	assert_true(h->conn.rate == 0);
	assert_int_equal(h->conn.burst, 1);
	assert_int_equal(h->max_pages, 100);
	assert_int_equal(h->cache_ttl, 0);
	assert_int_equal(h->retries, 3);
	assert_int_equal(h->backoff, 1000);
	assert_int_equal(h->backoff_max, 30000);

	h = &cfg->sources[1].http;
	assert_int_equal(h->preset, TU_HTTP_PRESET_DO_APPS);
	assert_string_equal(h->base_url, "https://api.digitalocean.com");
	assert_string_equal(h->url, "https://api.digitalocean.com/v2/apps");
	assert_string_equal(h->items, ".apps");
	assert_string_equal(h->total, ".meta.total");
	assert_string_equal(h->next, ".links.pages.next");
	assert_int_equal(h->n_observe, 1);
	assert_string_equal(h->observe[0].map.kind, "service");
	assert_string_equal(h->observe[0].each, ".spec.services");
	assert_string_equal(h->observe[0].map.ns, "{parent.spec.name}");
	assert_string_equal(h->observe[0].map.name, "{.name}");
	assert_string_equal(tu_kvlist_get(&h->observe[0].map.attrs, "app_id"), "{parent.id}");
	assert_non_null(tu_kvlist_get(&h->observe[0].map.attrs, "instance_count"));

	h = &cfg->sources[2].http; /* what the file says wins over the preset */
	assert_string_equal(h->url, "http://127.0.0.1:8080/v2/apps");
	assert_string_equal(h->next, ".links.pages.last");
	assert_string_equal(h->items, ".apps");
	assert_int_equal(h->n_observe, 1);
	assert_string_equal(h->observe[0].map.kind, "app");
	assert_null(h->observe[0].each);
	tu_config_destroy(cfg);
}

static void http_source_errors(void **state)
{
	(void)state;
	expect_error("sources:\n  - { name: s, type: http, observe: [{ kind: k, name: x }] }\n",
		     "t.yaml:2:5: sources[0]: ", "missing required field \"url\" (or a preset)");
	expect_error("sources:\n  - { name: s, type: http, url: \"http://h/x\" }\n",
		     "t.yaml:2:5: sources[0]: ", "missing required field \"observe\" (or a preset)");
	expect_error("sources:\n  - { name: s, type: http, base_url: \"http://h\",\n"
		     "      observe: [{ kind: k, name: x }] }\n",
		     "t.yaml:2:5: sources[0]: ", "base_url needs url or a preset");
	expect_error("sources:\n  - { name: s, type: http, url: \"https://u:pw@h/x\" }\n",
		     "t.yaml:2:33: sources[0].url: ", "URL has a user or password");
	expect_error("sources:\n  - { name: s, type: http, url: \"h/x\" }\n",
		     "t.yaml:2:33: sources[0].url: ", "not an absolute URL");
	expect_error("sources:\n  - { name: s, type: http, preset: aws }\n",
		     "t.yaml:2:36: sources[0].preset: ",
		     "invalid value \"aws\" (one of: none, digitalocean-apps)");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps, items: apps }\n",
		     "t.yaml:2:62: sources[0].items: ", "path \"apps\" must start with '.'");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps,\n"
		     "      observe: [{ kind: k, name: x, each: \".a..b\" }] }\n",
		     "t.yaml:3:43: sources[0].observe[0].each: ", "syntax error");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps, rate: fast }\n",
		     "t.yaml:2:61: sources[0].rate: ", "invalid rate \"fast\" (e.g. 5, 5/s, 250/m");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps, rate: 5/d }\n",
		     "t.yaml:2:61: sources[0].rate: ", "invalid rate \"5/d\"");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps,\n"
		     "      headers: { \"Bad Header\": x } }\n",
		     "t.yaml:3:18: sources[0].headers.Bad Header: ", "invalid header name");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps,\n"
		     "      headers: { X-A: \"a\\r\\nInjected: 1\" } }\n",
		     "t.yaml:3:23: sources[0].headers.X-A: ", "a header value must be one line");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps,\n"
		     "      auth_header: \"Auth:\" }\n",
		     "t.yaml:3:20: sources[0].auth_header: ", "invalid header name \"Auth:\"");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps,\n"
		     "      backoff: 10s, backoff_max: 1s }\n",
		     "t.yaml:2:5: sources[0].backoff: ", "must not be longer than backoff_max");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps, max_pages: 0 }\n",
		     "t.yaml:2:66: sources[0].max_pages: ", "must be greater than 0");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps, scan: x }\n",
		     "t.yaml:2:55: sources[0]: ", "unknown field \"scan\"");
	expect_error("sources:\n  - { name: s, type: http, preset: digitalocean-apps, observe: [] }\n",
		     "t.yaml:2:64: sources[0].observe: ", "needs at least one entry");
}

#define HTTP_TARGET                                                                             \
	"targets:\n"                                                                            \
	"  - name: do\n"                                                                        \
	"    type: http\n"                                                                      \
	"    preset: digitalocean-apps\n"                                                       \
	"    auth_file: /etc/trueup/do.token\n"                                                 \
	"    webhook_url: https://hooks.example.com/alerts\n"                                   \
	"    webhook_auth_file: /etc/trueup/hook.token\n"                                       \
	"    rate: 5/s\n"                                                                       \
	"  - name: plain\n"                                                                     \
	"    type: http\n"                                                                      \
	"rules:\n"                                                                              \
	"  - name: r\n"                                                                         \
	"    type: counter\n"                                                                   \
	"    counter: { kind: c, name: n, source: a }\n"                                        \
	"    of: { kind: w, source: a }\n"                                                      \
	"    fix:\n"

#define SOURCE_A "sources:\n  - { name: a, type: files, path: /tmp }\n"

static void http_target_and_verbs(void **state)
{
	(void)state;
	struct tu_config *cfg = load_ok(
		SOURCE_A HTTP_TARGET
		"      - { target: do, action: set-instance-count, app_id: \"{a.app_id}\",\n"
		"          service: \"{name}\", instance_count: \"{desired}\",\n"
		"          if: [{ field_equals: { instance_count: \"{current}\" } }] }\n"
		"      - { target: do, action: alert, severity: page, summary: \"{name}\" }\n"
		"      - { target: do, action: request, method: POST,\n"
		"          path: \"/v2/apps/{a.app_id|urlescape}/deployments\", body: \"{{}}\" }\n"
		"      - { target: plain, action: request, method: \"{a.m}\", url: \"{a.url}\" }\n");
	const struct tu_target_config *t = &cfg->targets[0];
	assert_int_equal(t->type, TU_TARGET_HTTP);
	assert_int_equal(t->http.preset, TU_HTTP_PRESET_DO_APPS);
	assert_string_equal(t->http.base_url, "https://api.digitalocean.com");
	assert_string_equal(t->http.conn.auth_file, "/etc/trueup/do.token");
	assert_string_equal(t->http.webhook_url, "https://hooks.example.com/alerts");
	assert_string_equal(t->http.webhook_auth_file, "/etc/trueup/hook.token");
	assert_true(t->http.conn.rate == 5);
	assert_string_equal(t->consumer, "trueup-actuator-do");
	assert_null(cfg->targets[1].http.base_url);
	assert_null(cfg->targets[1].redis.url); /* no redis defaults on an http target */
	const struct tu_actions *fix = &cfg->rules[0].counter.fix;
	assert_int_equal(fix->n, 4);
	assert_int_equal(fix->items[0].params.n, 3);
	assert_string_equal(fix->items[0].params.items[0].key, "app_id");
	assert_int_equal(fix->items[0].n_pre, 1);
	assert_int_equal(fix->items[0].pre[0].op, TU_PRE_FIELD_EQUALS);
	assert_string_equal(fix->items[0].pre[0].field, "instance_count");
	assert_int_equal(fix->items[1].params.n, 2); /* alert takes any params */
	tu_config_destroy(cfg);
}

static void http_verb_errors(void **state)
{
	(void)state;
	expect_error(SOURCE_A HTTP_TARGET "      - { target: do, action: del, key: x }\n",
		     "t.yaml:19:31: rules[0].fix[0].action: ",
		     "unknown action \"del\" for target \"do\" of type http (known: request, "
		     "set-instance-count, alert)");
	expect_error(SOURCE_A HTTP_TARGET
		     "      - { target: do, action: set-instance-count, app_id: a, service: b }\n",
		     "t.yaml:19:9: rules[0].fix[0]: ",
		     "action set-instance-count needs param \"instance_count\"");
	expect_error(SOURCE_A HTTP_TARGET
		     "      - { target: do, action: set-instance-count, app_id: a, service: b,\n"
		     "          instance_count: \"2\", replicas: \"3\" }\n",
		     "t.yaml:20:32: rules[0].fix[0].replicas: ",
		     "action set-instance-count takes no param \"replicas\" (takes: app_id, service, "
		     "instance_count)");
	expect_error(SOURCE_A HTTP_TARGET "      - { target: do, action: request, method: GET }\n",
		     "t.yaml:19:9: rules[0].fix[0]: ",
		     "action request needs exactly one of url and path");
	expect_error(SOURCE_A HTTP_TARGET
		     "      - { target: do, action: request, method: GET, url: x, path: /y }\n",
		     "t.yaml:19:9: rules[0].fix[0]: ",
		     "action request needs exactly one of url and path");
	expect_error(SOURCE_A HTTP_TARGET
		     "      - { target: plain, action: request, method: GET, path: /y }\n",
		     "t.yaml:19:9: rules[0].fix[0]: ",
		     "action request with path needs base_url on target \"plain\"");
	expect_error(SOURCE_A HTTP_TARGET
		     "      - { target: do, action: request, method: TRACE, path: /y }\n",
		     "t.yaml:19:40: rules[0].fix[0].method: ",
		     "method is not one of GET, POST, PUT, PATCH, DELETE");
	expect_error(SOURCE_A HTTP_TARGET "      - { target: plain, action: alert, x: y }\n",
		     "t.yaml:19:9: rules[0].fix[0]: ",
		     "action alert needs webhook_url on target \"plain\"");
	expect_error(SOURCE_A HTTP_TARGET
		     "      - { target: plain, action: set-instance-count, app_id: a, service: b,\n"
		     "          instance_count: \"2\" }\n",
		     "t.yaml:19:9: rules[0].fix[0]: ",
		     "action set-instance-count needs base_url (or preset: digitalocean-apps)");
	expect_error("targets:\n  - { name: t, type: http, done_prefix: x }\n",
		     "t.yaml:2:28: targets[0]: ", "unknown field \"done_prefix\"");
	expect_error("targets:\n  - { name: t, type: http, webhook_url: \"file:///etc/passwd\" }\n",
		     "t.yaml:2:41: targets[0].webhook_url: ", "URL scheme must be http or https");
}

static void redis_ttl_option(void **state)
{
	(void)state;
	struct tu_config *cfg = load_ok("sources:\n"
					"  - name: r\n"
					"    type: redis\n"
					"    observe:\n"
					"      - { kind: instance, scan: \"svc:*:instances:*\", ttl: true }\n"
					"      - { kind: counter, get: n }\n");
	assert_true(cfg->sources[0].redis.observe[0].ttl);
	assert_false(cfg->sources[0].redis.observe[1].ttl);
	tu_config_destroy(cfg);
	expect_error("sources:\n  - { name: r, type: redis, observe: [{ kind: k, get: n, ttl: yes }] }\n",
		     "t.yaml:2:63: sources[0].observe[0].ttl: ", "invalid boolean \"yes\"");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(http_source_full),
	cmocka_unit_test(http_source_defaults_and_preset),
	cmocka_unit_test(http_source_errors),
	cmocka_unit_test(http_target_and_verbs),
	cmocka_unit_test(http_verb_errors),
	cmocka_unit_test(redis_ttl_option),
};

TU_TEST_MAIN(tests)
