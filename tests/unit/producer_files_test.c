/*
 * producer_files_test.c - the files source over a temp directory: YAML and
 * JSON manifests (one, a list, {items: [...]}, several YAML documents), the
 * kinds filter, and every malformed shape with the location its warning
 * must name.
 */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "files_source.h"
#include "seen_sink.h"

struct fx {
	char dir[64];
	struct tu_source_config cfg;
	struct tu_source *src;
	struct seen seen;
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	snprintf(f->dir, sizeof(f->dir), "/tmp/trueup-files-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->cfg.name = "desired";
	f->cfg.type = TU_SOURCE_FILES;
	f->cfg.files.path = f->dir;
	f->cfg.files.default_ns = "prod";
	assert_int_equal(tu_files_source_create(&f->cfg, &f->src, err, sizeof(err)), TU_OK);
	return f;
}

static void fx_free(struct fx *f)
{
	char cmd[128];
	tu_source_destroy(f->src);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static void put(struct fx *f, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static tu_status run(struct fx *f)
{
	char err[256];
	struct tu_scan_sink sink = { on_entity, on_skip, on_stopping, &f->seen };
	memset(&f->seen, 0, sizeof(f->seen));
	return tu_source_scan(f->src, &sink, err, sizeof(err));
}

static void files_yaml_single_and_list(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "b.yaml", "kind: database\nname: orders\nnamespace: shop\n"
			 "attrs:\n  storage: 10Gi\n  replicas: 3\n  cpu: \"500m\"\n");
	put(f, "a.yml", "- kind: worker\n  name: k3s-worker-1\n"
			"- {kind: worker, name: k3s-worker-2, attrs: {enabled: true, note: ~}}\n");
	put(f, "c.txt", "kind: ignored\nname: x\n");
	put(f, ".hidden.yaml", "kind: ignored\nname: x\n");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n_skips, 0);
	assert_int_equal(f->seen.n, 3);
	/* sorted by file name: a.yml first */
	assert_string_equal(f->seen.ents[0], "worker/prod/k3s-worker-1");
	assert_string_equal(f->seen.ents[1], "worker/prod/k3s-worker-2 enabled=true,note=");
	assert_string_equal(f->seen.ents[2],
			    "database/shop/orders cpu=500m,replicas=3,storage=10Gi");
	fx_free(f);
}

static void files_json_and_items(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "db.json", "{\"items\": [{\"kind\": \"database\", \"name\": \"a\", \"attrs\": "
			  "{\"replicas\": 2, \"ratio\": 0.1, \"on\": false, \"gone\": null, "
			  "\"big\": 12345678901}}, {\"kind\": \"database\", \"name\": \"b\"}]}");
	put(f, "one.json", "{\"kind\": \"cache\", \"name\": \"c\", \"namespace\": \"edge\"}");
	put(f, "list.json", "[{\"kind\": \"cache\", \"name\": \"d\"}]");
	put(f, "items.yaml", "items:\n  - kind: cache\n    name: e\n");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n_skips, 0);
	assert_int_equal(f->seen.n, 5);
	assert_string_equal(f->seen.ents[0],
			    "database/prod/a big=12345678901,gone=,on=false,ratio=0.1,replicas=2");
	assert_string_equal(f->seen.ents[1], "database/prod/b");
	assert_string_equal(f->seen.ents[2], "cache/prod/e");
	assert_string_equal(f->seen.ents[3], "cache/prod/d");
	assert_string_equal(f->seen.ents[4], "cache/edge/c");
	fx_free(f);
}

static void files_yaml_documents(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "m.yaml", "kind: worker\nname: w1\n---\nkind: worker\nname: w2\n---\n");
	put(f, "empty.yaml", "");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n_skips, 0);
	assert_int_equal(f->seen.n, 2);
	fx_free(f);
}

static void files_kinds_filter(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char *kinds[] = { "worker" };
	f->cfg.files.kinds = kinds;
	f->cfg.files.n_kinds = 1;
	put(f, "m.yaml", "- {kind: worker, name: w1}\n- {kind: database, name: d1}\n"
			 "- {kind: Deployment, name: x}\n");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 1);
	assert_string_equal(f->seen.ents[0], "worker/prod/w1");
	assert_int_equal(f->seen.n_skips, 0);
	fx_free(f);
}

static void files_malformed_yaml_names_line(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "bad.yaml", "kind: worker\nname: w1\nattrs:\n  a: [1, 2\n  b: 3\n");
	put(f, "good.yaml", "kind: worker\nname: w2\n");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 1);
	assert_int_equal(f->seen.n_skips, 1);
	assert_non_null(strstr(f->seen.skips[0], "bad.yaml:5:"));
	assert_non_null(strstr(f->seen.skips[0], "YAML syntax"));
	fx_free(f);
}

static void files_malformed_json_names_line_column(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "bad.json", "{\n  \"kind\": \"worker\",\n  \"name\": \"w1\",,\n}\n");
	put(f, "dup.json", "{\"kind\": \"worker\", \"kind\": \"x\", \"name\": \"w\"}");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(f->seen.n_skips, 2);
	assert_non_null(strstr(f->seen.skips[0], "bad.json:3:"));
	assert_non_null(strstr(f->seen.skips[0], "JSON syntax"));
	assert_non_null(strstr(f->seen.skips[1], "dup.json:1:"));
	assert_non_null(strstr(f->seen.skips[1], "duplicate"));
	fx_free(f);
}

static void files_non_scalar_attr(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "m.yaml", "- kind: worker\n  name: w1\n  attrs:\n    ok: 1\n    spec:\n"
			 "      cpu: 2\n- kind: worker\n  name: w2\n");
	put(f, "m.json", "[{\"kind\": \"worker\", \"name\": \"w3\", \"attrs\": {\"l\": [1]}}]");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 1);
	assert_string_equal(f->seen.ents[0], "worker/prod/w2");
	assert_int_equal(f->seen.n_skips, 2);
	/* JSON first (m.json < m.yaml) */
	assert_non_null(strstr(f->seen.skips[0], "m.json: [0]: attrs.l: value is a list"));
	assert_non_null(strstr(f->seen.skips[1], "m.yaml:6: [0]: attrs.spec: value is a map"));
	fx_free(f);
}

static void files_missing_fields_and_unknown(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "m.yaml", "items:\n"
			 "  - name: no-kind\n"              /* line 2 */
			 "  - kind: worker\n"               /* line 3: no name */
			 "  - kind: worker\n    name: w\n    namesapce: typo\n" /* line 6 */
			 "  - kind: worker\n    name: [a]\n" /* line 8 */
			 "  - kind: worker\n    name: ok\n    attrs: [1]\n" /* line 11 */
			 "  - just a string\n"               /* line 12 */
			 "  - kind: worker\n    name: ~\n"   /* line 14 */
			 "  - kind: Not_Valid\n    name: x\n" /* line 15 */
			 "  - kind: worker\n    name: y\n    attrs: {a: 1, a: 2}\n"); /* line 19 */
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(f->seen.n_skips, 9);
	assert_non_null(strstr(f->seen.skips[0], "m.yaml:2: items[0]: kind: missing"));
	assert_non_null(strstr(f->seen.skips[1], "m.yaml:3: items[1]: name: missing"));
	assert_non_null(strstr(f->seen.skips[2], "m.yaml:6: items[2]: unknown field 'namesapce'"));
	assert_non_null(strstr(f->seen.skips[3], "m.yaml:8: items[3]: name: must be a string"));
	assert_non_null(strstr(f->seen.skips[4], "m.yaml:11: items[4]: attrs: must be a map"));
	assert_non_null(strstr(f->seen.skips[5], "m.yaml:12: items[5]: manifest is a scalar"));
	assert_non_null(strstr(f->seen.skips[6], "m.yaml:14: items[6]: name: must be a string, "
					       "not null"));
	assert_non_null(strstr(f->seen.skips[7], "m.yaml:15: items[7]: kind 'Not_Valid'"));
	assert_non_null(strstr(f->seen.skips[8], "m.yaml:19: items[8]: attrs: attribute 'a' "
					       "given twice"));
	fx_free(f);
}

static void files_duplicate_entity_names_both_files(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "a.yaml", "kind: worker\nname: w1\nattrs: {v: a}\n");
	put(f, "b.yaml", "\n\nkind: worker\nname: w1\nattrs: {v: b}\n");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 1);
	assert_string_equal(f->seen.ents[0], "worker/prod/w1 v=a");
	assert_int_equal(f->seen.n_skips, 1);
	assert_non_null(strstr(f->seen.skips[0], "b.yaml:3"));
	assert_non_null(strstr(f->seen.skips[0], "declared twice: first in a.yaml:1"));
	/* a new scan forgets the declarations of the last one */
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 1);
	fx_free(f);
}

static void files_over_bounds(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	/* a file over TU_MAX_MANIFEST */
	char path[256];
	snprintf(path, sizeof(path), "%s/huge.yaml", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("kind: worker\nname: w\nattrs:\n  pad: \"", fp);
	for (int i = 0; i < TU_MAX_MANIFEST / 1000 + 1; i++)
		fprintf(fp, "%01000d", 0);
	fputs("\"\n", fp);
	fclose(fp);
	/* a value over TU_MAX_ATTR_VALUE */
	snprintf(path, sizeof(path), "%s/value.yaml", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("kind: worker\nname: w2\nattrs:\n  spec: \"", fp);
	for (int i = 0; i < TU_MAX_ATTR_VALUE / 1000 + 1; i++)
		fprintf(fp, "%01000d", 0);
	fputs("\"\n", fp);
	fclose(fp);
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(f->seen.n_skips, 2);
	assert_non_null(strstr(f->seen.skips[0], "huge.yaml: file is over TU_MAX_MANIFEST"));
	assert_non_null(strstr(f->seen.skips[1], "value.yaml:1: attribute 'spec' value is"));
	assert_non_null(strstr(f->seen.skips[1], "TU_MAX_ATTR_VALUE"));
	fx_free(f);
}

static void files_top_level_shapes(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	put(f, "a.yaml", "just text\n");
	put(f, "b.yaml", "items: {kind: worker}\n");
	put(f, "c.yaml", "items: []\nextra: 1\n");
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 0);
	assert_int_equal(f->seen.n_skips, 3);
	assert_non_null(strstr(f->seen.skips[0], "a.yaml:1: expected a manifest"));
	assert_non_null(strstr(f->seen.skips[1], "b.yaml:1: items: must be a list"));
	assert_non_null(strstr(f->seen.skips[2], "c.yaml:1: a map with items"));
	fx_free(f);
}

static void files_missing_directory_is_an_error(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char err[256];
	struct tu_scan_sink sink = { on_entity, on_skip, on_stopping, &f->seen };
	struct tu_source_config cfg = f->cfg;
	struct tu_source *src = NULL;
	cfg.files.path = "/nonexistent/trueup-manifests";
	assert_int_equal(tu_files_source_create(&cfg, &src, err, sizeof(err)), TU_OK);
	assert_int_equal(tu_source_scan(src, &sink, err, sizeof(err)), TU_ENOTFOUND);
	assert_non_null(strstr(err, "/nonexistent/trueup-manifests"));
	tu_source_destroy(src);
	/* an empty directory is a complete, empty source */
	assert_int_equal(run(f), TU_OK);
	assert_int_equal(f->seen.n, 0);
	fx_free(f);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(files_yaml_single_and_list),
	cmocka_unit_test(files_json_and_items),
	cmocka_unit_test(files_yaml_documents),
	cmocka_unit_test(files_kinds_filter),
	cmocka_unit_test(files_malformed_yaml_names_line),
	cmocka_unit_test(files_malformed_json_names_line_column),
	cmocka_unit_test(files_non_scalar_attr),
	cmocka_unit_test(files_missing_fields_and_unknown),
	cmocka_unit_test(files_duplicate_entity_names_both_files),
	cmocka_unit_test(files_over_bounds),
	cmocka_unit_test(files_top_level_shapes),
	cmocka_unit_test(files_missing_directory_is_an_error),
};

TU_TEST_MAIN(tests)
