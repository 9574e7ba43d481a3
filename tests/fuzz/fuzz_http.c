/*
 * fuzz_http.c - the http source on an arbitrary reply page
 * (producers/http_source.h): the body is parsed, its items are mapped by
 * every observe entry (with `each` and {parent...}), and the next page's
 * link is resolved against the page's URL.
 *
 * Input: u8 (bit 0: which source: the DigitalOcean apps preset or a generic
 * API with `items`, `next`, `total` and `each`) | the body. Checks: mapping
 * a parsed page ends with TU_OK or TU_EDECODE; every emitted entity passed
 * tu_entity_check; a next link is on the page's origin.
 */
#include "fuzz.h"
#include "http.h"
#include "http_source.h"

static const char cfg_yaml[] =
	"sources:\n"
	"  - name: do\n"
	"    type: http\n"
	"    preset: digitalocean-apps\n"
	"  - name: inv\n"
	"    type: http\n"
	"    url: https://api.example.com/v1/clusters?page=1\n"
	"    items: .clusters\n"
	"    total: .meta.total\n"
	"    next: .links.next\n"
	"    observe:\n"
	"      - kind: cluster\n"
	"        name: \"{.name}\"\n"
	"        attrs: { nodes: \"{.size}\", src: \"{source}\", region: \"{.region.slug|default:}\" }\n"
	"      - kind: pool\n"
	"        each: .spec.pools\n"
	"        namespace: \"{parent.name}\"\n"
	"        name: \"{.name}\"\n"
	"        match: { .kind: gpu }\n"
	"        attrs: { cluster_size: \"{parent.size}\", "
	"first_label: \"{parent.labels[0].k|default:none}\" }\n"
	"      - kind: label\n"
	"        each: .labels\n"
	"        name: \"{parent.name}-{.k|urlescape}\"\n"
	"        name_prefix: c1\n";

static struct tu_config *g_cfg;
static struct tu_source *g_src[2];

static void cleanup(void)
{
	tu_source_destroy(g_src[0]);
	tu_source_destroy(g_src[1]);
	tu_config_destroy(g_cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_log();
	g_cfg = fz_config(cfg_yaml);
	g_src[0] = fz_source(g_cfg, 0);
	g_src[1] = fz_source(g_cfg, 1);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	int which = fz_u8(&in) & 1;
	const struct tu_http_source *hc = &g_cfg->sources[which].http;
	struct tu_scan_sink sink = fz_sink(NULL);
	size_t len = 0;
	const uint8_t *p = fz_bytes(&in, in.n, &len);
	char *body = len > 0 ? malloc(len) : NULL;
	char err[1024];
	json_t *page = NULL;

	if (len > 0)
		memcpy(body, p, len);
	if (tu__http_parse_page(body, len, 1, hc->url, &page, err, sizeof(err)) == TU_OK) {
		tu_status st = tu__http_map_page(g_src[which], page, 1, &sink, err, sizeof(err));
		FZ_CHECK(st == TU_OK || st == TU_EDECODE, "map page: %s", tu_status_str(st));
		char *next = NULL;
		if (tu__http_next_link(hc, page, hc->url, &next, err, sizeof(err)) == TU_OK &&
		    next != NULL)
			FZ_CHECK(tu_http_same_origin(hc->url, next), "next \"%s\"", next);
		free(next);
		json_decref(page);
	}
	free(body);
	return 0;
}
