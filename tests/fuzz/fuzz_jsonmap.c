/*
 * fuzz_jsonmap.c - the JSON-to-entity mapping every JSON source shares
 * (lib/jsonmap.h): paths, scalars and tu_json_map over an arbitrary JSON
 * text, with a fixed mapping (a Docker-like one) and with a mapping whose
 * templates and match path come from the input.
 *
 * Input: fields separated by NUL bytes:
 *   path \0 name template \0 attr template \0 match path \0 match value \0 JSON text
 * The fuzzed mapping is used only when its templates and path pass
 * tu_tmpl_check / tu_json_path_check, as the config loader requires.
 *
 * Checks: a mapped entity has a kind, a non-empty name and namespace and
 * sorted attrs; a value found at a checked path renders as a scalar or is
 * refused, never anything else.
 */
#include "bounds.h"
#include "fuzz.h"
#include "jsonmap.h"
#include "pb.h"

static bool extra(void *ctx, const char *var, size_t len, const char **val, size_t *vlen)
{
	(void)ctx;
	if (len == 6 && memcmp(var, "source", 6) == 0) {
		*val = "docker";
		*vlen = 6;
		return true;
	}
	return false;
}

static void map(const struct tu_json_mapping *m, json_t *root)
{
	struct tu_arena a;
	struct tu_json_entity e;
	char why[512];

	tu_arena_init(&a, 4096);
	tu_status st = tu_json_map(m, root, extra, NULL, &a, &e, why, sizeof(why));
	FZ_CHECK(st == TU_OK || st == TU_ENOTFOUND || st == TU_EINVAL, "tu_json_map: %s",
		 tu_status_str(st));
	if (st == TU_OK) {
		FZ_CHECK(e.kind != NULL && e.name != NULL && e.ns != NULL, "a field missing");
		FZ_CHECK(*e.name != '\0' && *e.ns != '\0', "an empty name or namespace");
		FZ_CHECK(e.n_attrs == m->attrs.n, "%zu attrs for %zu templates", e.n_attrs,
			 m->attrs.n);
		FZ_CHECK(tu_pb_attrs_valid(e.attrs, e.n_attrs), "attrs not sorted or unique");
	} else {
		FZ_CHECK(st == TU_ENOTFOUND || why[0] != '\0', "a failure without a reason");
	}
	tu_arena_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	char *path = fz_cstr(&in), *name = fz_cstr(&in), *attr = fz_cstr(&in);
	char *mpath = fz_cstr(&in), *mval = fz_cstr(&in);
	size_t len = 0;
	const uint8_t *p = fz_bytes(&in, in.n, &len);
	char *text = len > 0 ? malloc(len) : NULL;
	char err[512];
	json_error_t je;

	if (len > 0)
		memcpy(text, p, len);
	json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &je);
	if (root == NULL)
		goto out;

	if (tu_json_path_check(path, err, sizeof(err)) == TU_OK) {
		json_t *v = tu_json_path(root, path, strlen(path));
		struct tu_buf b;
		tu_buf_init(&b, TU_MAX_ATTR_VALUE);
		if (v != NULL && !tu_json_scalar(v, &b))
			FZ_CHECK(json_is_object(v) || json_is_array(v) || b.len == 0,
				 "a scalar refused");
		tu_buf_release(&b);
	}

	struct tu_kv fixed_attrs[] = { { "state", "{.State}" },
				       { "id", "{.Id|default:none}" },
				       { "from", "{source}" },
				       { "labels", "{.Labels.pool|upper}" } };
	struct tu_kv fixed_match[] = { { ".Labels.pool", "gpu" } };
	struct tu_json_mapping fixed = {
		.kind = "worker",
		.ns = "{.Labels[\"app.kubernetes.io/name\"]|default:default}",
		.name = "{.Names[0]|trimprefix:/}",
		.attrs = { fixed_attrs, 4 },
		.match = { fixed_match, 1 },
		.name_prefix = "k3s-worker-",
	};
	map(&fixed, root);
	fixed.match.n = 0;
	fixed.name_prefix = NULL;
	map(&fixed, root);

	if (tu_tmpl_check(name, err, sizeof(err)) == TU_OK &&
	    tu_tmpl_check(attr, err, sizeof(err)) == TU_OK &&
	    tu_tmpl_check(mval, err, sizeof(err)) == TU_OK) {
		struct tu_kv attrs[] = { { "a", attr }, { "b", name } };
		struct tu_kv match[] = { { mpath, mval } };
		struct tu_json_mapping m = {
			.kind = "thing",
			.ns = attr,
			.name = name,
			.attrs = { attrs, 2 },
			.match = { match, tu_json_path_check(mpath, err, sizeof(err)) == TU_OK },
		};
		map(&m, root);
	}
	json_decref(root);
out:
	free(text);
	free(path);
	free(name);
	free(attr);
	free(mpath);
	free(mval);
	return 0;
}
