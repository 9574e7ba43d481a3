/*
 * producer_kube_test.c - tests of producers/kube_source.c without a server:
 * list pages (a List, its continue token, truncated JSON, items that are not
 * an array, a List without metadata.continue), items mapped to entities
 * (valid, missing and wrong-typed fields, items that are not objects,
 * match filters, {source} and {resource}), and list paths (selectors,
 * custom resources, namespaces, continue).
 */
#include "testmain.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "kube_source.h"
#include "source.h"

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
	"        attrs:\n"
	"          phase: \"{.status.phase}\"\n"
	"          app: '{.metadata.labels[\"app\"]|default:none}'\n"
	"          replicas: \"{.spec.replicas|default:0}\"\n"
	"          from: \"{source}/{resource}\"\n"
	"      - kind: database\n"
	"        group: example.com\n"
	"        version: v1\n"
	"        plural: databases\n"
	"        namespaces: [shop, lab]\n"
	"        label_selector: \"app=db,tier in (a,b)\"\n"
	"        field_selector: \"metadata.name!=x\"\n"
	"        match: { .spec.engine: postgres }\n"
	"        name: \"{.metadata.name}\"\n"
	"      - kind: node\n"
	"        resource: nodes\n"
	"        name: \"{.metadata.name}\"\n"
	"      - kind: widget\n"
	"        group: core\n"
	"        version: v1\n"
	"        plural: widgets\n"
	"        namespaced: false\n"
	"        namespace: fleet\n"
	"        name: \"{.metadata.name}\"\n";

struct fx {
	struct tu_config *cfg;
	const struct tu_kube_observe *pods, *dbs, *nodes, *widgets;
	struct tu_arena arena;
	char why[1024];
};

static int setup(void **state)
{
	static struct fx f;
	char err[512];
	memset(&f, 0, sizeof(f));
	if (tu_config_load_string("t.yaml", cfg_yaml, strlen(cfg_yaml), &f.cfg, err,
				  sizeof(err)) != TU_OK) {
		print_error("config: %s\n", err);
		return -1;
	}
	const struct tu_kube_source *k = &f.cfg->sources[0].kube;
	f.pods = &k->observe[0];
	f.dbs = &k->observe[1];
	f.nodes = &k->observe[2];
	f.widgets = &k->observe[3];
	tu_arena_init(&f.arena, 4096);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tu_arena_release(&f->arena);
	tu_config_destroy(f->cfg);
	return 0;
}

static json_t *load(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
	assert_non_null(j);
	return j;
}

static const char *attr(const struct tu_entity *e, const char *key)
{
	for (size_t i = 0; i < e->n_attrs; i++) {
		if (strcmp(e->attrs[i]->key, key) == 0)
			return e->attrs[i]->value;
	}
	return NULL;
}

/* ---- pages ---- */

static tu_status page(const char *body, json_t **root, json_t **items, const char **cont,
		      char *why)
{
	*root = NULL;
	return tu__kube_page_parse(body, strlen(body), root, items, cont, why, 256);
}

static void page_list(void **state)
{
	(void)state;
	json_t *root, *items;
	const char *cont;
	char why[256];
	assert_int_equal(page("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":"
			      "{\"resourceVersion\":\"10\",\"continue\":\"abc\",\"remainingItemCount\":3},"
			      "\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}}]}",
			      &root, &items, &cont, why),
			 TU_OK);
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(cont, "abc");
	json_decref(root);
}

static void page_last_without_continue(void **state)
{
	(void)state;
	json_t *root, *items;
	const char *cont;
	char why[256];
	/* the last page: no continue at all, an empty one, a null one, no metadata */
	const char *bodies[] = {
		"{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[{}]}",
		"{\"metadata\":{\"continue\":\"\"},\"items\":[]}",
		"{\"metadata\":{\"continue\":null},\"items\":[]}",
		"{\"items\":[]}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(page(bodies[i], &root, &items, &cont, why), TU_OK);
		assert_string_equal(cont, "");
		json_decref(root);
	}
	/* no items, or null items: an empty page */
	assert_int_equal(page("{\"kind\":\"PodList\",\"metadata\":{}}", &root, &items, &cont, why),
			 TU_OK);
	assert_int_equal(json_array_size(items), 0);
	json_decref(root);
	assert_int_equal(page("{\"items\":null}", &root, &items, &cont, why), TU_OK);
	assert_int_equal(json_array_size(items), 0);
	json_decref(root);
}

static void page_malformed(void **state)
{
	(void)state;
	json_t *root, *items;
	const char *cont;
	char why[256];
	/* truncated JSON: where it broke */
	assert_int_equal(page("{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"a\"", &root,
			      &items, &cont, why),
			 TU_EDECODE);
	assert_non_null(strstr(why, "not JSON"));
	assert_non_null(strstr(why, "line 1 column"));
	assert_null(root);
	assert_int_equal(page("", &root, &items, &cont, why), TU_EDECODE);
	assert_int_equal(page("[1,2]", &root, &items, &cont, why), TU_EDECODE);
	assert_non_null(strstr(why, "not a JSON object"));
	assert_int_equal(page("{\"items\":{\"a\":1}}", &root, &items, &cont, why), TU_EDECODE);
	assert_non_null(strstr(why, "items is not an array"));
	assert_int_equal(page("{\"items\":\"pods\"}", &root, &items, &cont, why), TU_EDECODE);
	assert_int_equal(page("{\"metadata\":[],\"items\":[]}", &root, &items, &cont, why),
			 TU_EDECODE);
	assert_non_null(strstr(why, "metadata is not an object"));
	assert_int_equal(page("{\"metadata\":{\"continue\":5},\"items\":[]}", &root, &items, &cont,
			      why),
			 TU_EDECODE);
	assert_non_null(strstr(why, "metadata.continue is not a string"));
	/* a byte sequence that is not UTF-8 */
	assert_int_equal(page("{\"items\":[\"\xff\"]}", &root, &items, &cont, why), TU_EDECODE);
}

/* ---- items ---- */

static tu_status item(struct fx *f, const struct tu_kube_observe *ob, const char *plural,
		      const char *text, size_t index, struct tu_entity *e)
{
	json_t *j = load(text);
	tu_arena_reset(&f->arena);
	f->why[0] = '\0';
	tu_status st = tu__kube_item_entity(ob, "kube", plural, j, index, &f->arena, e, f->why,
					    sizeof(f->why));
	json_decref(j);
	return st;
}

static void item_valid(void **state)
{
	struct fx *f = *state;
	struct tu_entity e;
	assert_int_equal(item(f, f->pods, "pods",
			      "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"shop\",\"labels\":"
			      "{\"app\":\"web\"}},\"status\":{\"phase\":\"Running\"},"
			      "\"spec\":{\"replicas\":3}}",
			      0, &e),
			 TU_OK);
	assert_string_equal(e.kind, "pod");
	assert_string_equal(e.ns, "shop");
	assert_string_equal(e.name, "web-1");
	assert_int_equal(e.n_attrs, 4);
	assert_string_equal(e.attrs[0]->key, "app"); /* sorted */
	assert_string_equal(attr(&e, "app"), "web");
	assert_string_equal(attr(&e, "phase"), "Running");
	assert_string_equal(attr(&e, "replicas"), "3");
	assert_string_equal(attr(&e, "from"), "kube/pods");
	/* defaults: a label that is not there, and no namespace: "cluster" */
	assert_int_equal(item(f, f->pods, "pods",
			      "{\"metadata\":{\"name\":\"p\"},\"status\":{\"phase\":\"Pending\"}}", 0,
			      &e),
			 TU_OK);
	assert_string_equal(e.ns, "cluster");
	assert_string_equal(attr(&e, "app"), "none");
	assert_string_equal(attr(&e, "replicas"), "0");
	assert_int_equal(item(f, f->nodes, "nodes", "{\"metadata\":{\"name\":\"node-1\"}}", 0, &e),
			 TU_OK);
	assert_string_equal(e.ns, "cluster");
	assert_int_equal(e.n_attrs, 0);
	/* a fixed namespace */
	assert_int_equal(item(f, f->widgets, "widgets", "{\"metadata\":{\"name\":\"w\"}}", 0, &e),
			 TU_OK);
	assert_string_equal(e.ns, "fleet");
}

static void item_missing_field(void **state)
{
	struct fx *f = *state;
	struct tu_entity e;
	/* no status.phase and no default: skipped, naming resource, object and field */
	assert_int_equal(item(f, f->pods, "pods",
			      "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"shop\"}}", 4, &e),
			 TU_EINVAL);
	assert_non_null(strstr(f->why, "pods shop/web-1: attrs.phase"));
	assert_non_null(strstr(f->why, "no value at .status.phase"));
	/* no name at all: the item's index stands in */
	assert_int_equal(item(f, f->pods, "pods", "{\"status\":{\"phase\":\"Running\"}}", 7, &e),
			 TU_EINVAL);
	assert_non_null(strstr(f->why, "pods item 7: name"));
}

static void item_wrong_type(void **state)
{
	struct fx *f = *state;
	struct tu_entity e;
	/* an object where a scalar is mapped */
	assert_int_equal(item(f, f->pods, "pods",
			      "{\"metadata\":{\"name\":\"w\",\"namespace\":\"s\"},\"status\":"
			      "{\"phase\":{\"x\":1}}}",
			      0, &e),
			 TU_EINVAL);
	assert_non_null(strstr(f->why, "pods s/w: attrs.phase"));
	assert_non_null(strstr(f->why, "not a scalar"));
	/* metadata that is not an object: no name */
	assert_int_equal(item(f, f->pods, "pods", "{\"metadata\":\"web\"}", 2, &e), TU_EINVAL);
	assert_non_null(strstr(f->why, "pods item 2: name"));
	/* a name that is a number is rendered as text: fine */
	assert_int_equal(item(f, f->nodes, "nodes", "{\"metadata\":{\"name\":42}}", 0, &e), TU_OK);
	assert_string_equal(e.name, "42");
	/* items that are not objects */
	assert_int_equal(item(f, f->pods, "pods", "[1]", 3, &e), TU_EINVAL);
	assert_string_equal(f->why, "pods item 3: not a JSON object");
	assert_int_equal(item(f, f->pods, "pods", "\"web\"", 0, &e), TU_EINVAL);
	/* control bytes and long names in messages are cleaned and bounded */
	char big[600];
	snprintf(big, sizeof(big), "{\"metadata\":{\"name\":\"a\\nb%0300d\",\"namespace\":\"s\"}}", 0);
	assert_int_equal(item(f, f->pods, "pods", big, 0, &e), TU_EINVAL);
	assert_null(strchr(f->why, '\n'));
	assert_non_null(strstr(f->why, "pods s/a?b0000"));
	assert_non_null(strstr(f->why, "...: name: longer than 253 bytes"));
}

static void item_match(void **state)
{
	struct fx *f = *state;
	struct tu_entity e;
	assert_int_equal(item(f, f->dbs, "databases",
			      "{\"metadata\":{\"name\":\"orders\",\"namespace\":\"shop\"},\"spec\":"
			      "{\"engine\":\"postgres\"}}",
			      0, &e),
			 TU_OK);
	assert_string_equal(e.name, "orders");
	assert_int_equal(item(f, f->dbs, "databases",
			      "{\"metadata\":{\"name\":\"cache\",\"namespace\":\"shop\"},\"spec\":"
			      "{\"engine\":\"redis\"}}",
			      0, &e),
			 TU_ENOTFOUND);
	assert_int_equal(item(f, f->dbs, "databases", "{\"metadata\":{\"name\":\"x\"}}", 0, &e),
			 TU_ENOTFOUND);
}

/* ---- list paths ---- */

static const char *list_path(const struct tu_kube_observe *ob, const char *ns, int size,
			     const char *cont, struct tu_buf *b)
{
	tu_buf_reset(b);
	assert_int_equal(tu__kube_list_path(ob, ns, size, cont, b), TU_OK);
	return tu_buf_cstr(b);
}

static void list_paths(void **state)
{
	struct fx *f = *state;
	struct tu_buf b;
	struct tu_kube_resource r;
	tu_buf_init(&b, 8192);
	assert_string_equal(list_path(f->pods, NULL, 2, NULL, &b), "/api/v1/pods?limit=2");
	assert_string_equal(list_path(f->pods, NULL, 2, "", &b), "/api/v1/pods?limit=2");
	assert_string_equal(list_path(f->pods, "shop", 500, "tok/+=", &b),
			    "/api/v1/namespaces/shop/pods?limit=500&continue=tok%2F%2B%3D");
	assert_string_equal(list_path(f->dbs, "lab", 2, NULL, &b),
			    "/apis/example.com/v1/namespaces/lab/databases?limit=2"
			    "&labelSelector=app%3Ddb%2Ctier%20in%20%28a%2Cb%29"
			    "&fieldSelector=metadata.name%21%3Dx");
	/* a cluster-scoped resource never gets a namespace */
	assert_string_equal(list_path(f->nodes, "shop", 2, NULL, &b), "/api/v1/nodes?limit=2");
	/* group core means /api/v1; namespaced: false is honoured */
	assert_string_equal(list_path(f->widgets, "x", 2, NULL, &b), "/api/v1/widgets?limit=2");
	tu__kube_observe_resource(f->dbs, &r);
	assert_true(r.namespaced); /* custom resources default to namespaced */
	tu__kube_observe_resource(f->widgets, &r);
	assert_false(r.namespaced);
	assert_string_equal(r.group, "");
	tu_buf_release(&b);
}

static void create(void **state)
{
	struct fx *f = *state;
	struct tu_source *src = NULL;
	char err[512];
	assert_int_equal(tu_source_create(&f->cfg->sources[0], &src, err, sizeof(err)), TU_OK);
	assert_int_equal(src->n_kinds, 4);
	assert_string_equal(src->kinds[0], "database");
	assert_string_equal(src->kinds[3], "widget");
	tu_source_destroy(src);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(page_list),
	cmocka_unit_test(page_last_without_continue),
	cmocka_unit_test(page_malformed),
	cmocka_unit_test_setup_teardown(item_valid, setup, teardown),
	cmocka_unit_test_setup_teardown(item_missing_field, setup, teardown),
	cmocka_unit_test_setup_teardown(item_wrong_type, setup, teardown),
	cmocka_unit_test_setup_teardown(item_match, setup, teardown),
	cmocka_unit_test_setup_teardown(list_paths, setup, teardown),
	cmocka_unit_test_setup_teardown(create, setup, teardown),
};
TU_TEST_MAIN(tests)
