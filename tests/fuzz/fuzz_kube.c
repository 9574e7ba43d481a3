/*
 * fuzz_kube.c - the kubernetes source on an arbitrary list reply
 * (producers/kube_source.h): the page is parsed as a List, every item is
 * mapped by every observe entry of a fixed source (built-in and custom
 * resources, match filters, labels with dots, defaults, {source} and
 * {resource}), and the next request's path is built with the reply's
 * continue token.
 *
 * Input: the reply body. Checks: an item mapped without error passes
 * tu_entity_check (the mapping bounds every field), and the next request's
 * path is one URL path and query: printable ASCII without spaces, '#' or a
 * second '?' (the continue token comes from the server and must be escaped).
 */
#include "entity.h"
#include "fuzz.h"
#include "kube_source.h"

static const char cfg_yaml[] =
	"sources:\n"
	"  - name: kube\n"
	"    type: kubernetes\n"
	"    server: https://127.0.0.1:6443\n"
	"    page_size: 2\n"
	"    observe:\n"
	"      - kind: pod\n"
	"        resource: pods\n"
	"        name: \"{.metadata.name}\"\n"
	"        namespace: \"{.metadata.namespace|default:default}\"\n"
	"        attrs:\n"
	"          phase: \"{.status.phase}\"\n"
	"          app: '{.metadata.labels[\"app.kubernetes.io/name\"]|default:none}'\n"
	"          replicas: \"{.spec.replicas|default:0}\"\n"
	"          image: \"{.spec.containers[0].image|default:}\"\n"
	"          reason: \"{.status.containerStatuses[0].state.waiting.reason|default:}\"\n"
	"          from: \"{source}/{resource}\"\n"
	"      - kind: database\n"
	"        group: example.com\n"
	"        version: v1\n"
	"        plural: databases\n"
	"        namespaces: [shop, lab]\n"
	"        label_selector: \"app=db,tier in (a,b)\"\n"
	"        match: { .spec.engine: postgres }\n"
	"        name: \"{.metadata.name|lower}\"\n"
	"        attrs: { storage: \"{.spec.storage}\", uid: \"{.metadata.uid|default:x}\" }\n"
	"      - kind: node\n"
	"        resource: nodes\n"
	"        name: \"{.metadata.name}\"\n"
	"        name_prefix: k3s-\n";

static struct tu_config *g_cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_log();
	g_cfg = fz_config(cfg_yaml);
	return 0;
}

/* One URL path with a query: printable ASCII, no space, '#', or second '?'. */
static bool path_valid(const char *s)
{
	int q = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '#')
			return false;
		if (*p == '?')
			q++;
	}
	return q <= 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tu_kube_source *k = &g_cfg->sources[0].kube;
	char *body = size > 0 ? malloc(size) : NULL;
	json_t *root = NULL, *items = NULL;
	const char *cont = NULL;
	char why[1024];
	struct tu_arena a;

	if (size > 0)
		memcpy(body, data, size);
	if (tu__kube_page_parse(body, size, &root, &items, &cont, why, sizeof(why)) != TU_OK) {
		free(body);
		return 0;
	}
	tu_arena_init(&a, 4096);
	for (size_t i = 0; items != NULL && i < json_array_size(items); i++) {
		for (size_t j = 0; j < k->n_observe; j++) {
			const struct tu_kube_observe *ob = &k->observe[j];
			struct tu_kube_resource r;
			struct tu_entity e;
			tu__kube_observe_resource(ob, &r);
			tu_status st = tu__kube_item_entity(ob, "kube", r.plural,
							    json_array_get(items, i), i, &a, &e,
							    why, sizeof(why));
			if (st == TU_OK)
				FZ_CHECK(tu_entity_check(&e, why, sizeof(why)) == TU_OK,
					 "item %zu mapped to a bad entity: %s", i, why);
			tu_arena_reset(&a);
		}
	}
	struct tu_buf path;
	tu_buf_init(&path, 1 << 20);
	for (size_t j = 0; j < k->n_observe; j++) {
		tu_buf_reset(&path);
		if (tu__kube_list_path(&k->observe[j], "shop", k->page_size, cont, &path) == TU_OK)
			FZ_CHECK(path_valid(tu_buf_cstr(&path)), "list path \"%s\"",
				 tu_buf_cstr(&path));
	}
	tu_buf_release(&path);
	tu_arena_release(&a);
	json_decref(root);
	free(body);
	return 0;
}
