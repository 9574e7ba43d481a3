/*
 * docker_source.c - the Docker source (see docker_source.h).
 *
 * Invariants: entity memory lives in `arena`, reset after each container;
 * an inspect reply lives in `vars` for the container it belongs to and is
 * freed before the next one; a failed request to the daemon ends the scan,
 * a malformed answer about one container skips that container only.
 */
#include "docker_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "docker.h"
#include "jsonmap.h"
#include "log.h"
#include "xalloc.h"

#define SHOWN_NAME 64       /* bytes of a container name quoted in a reason */
#define SHOWN_ID 12         /* digits of a container id in a reason (Docker's short id) */
#define LIST_PATH_MAX 65536 /* the list request's path with its filters */
#define WHY_SIZE 512        /* one reason */

struct docker_source {
	struct tu_source base;             /* first: the generic handle */
	const struct tu_docker_source *dc; /* &base.cfg->docker */
	tu_docker *d;                      /* the daemon connection */
	struct tu_json_mapping *maps;      /* per observe entry: its mapping, default attrs filled */
	struct tu_arena arena;             /* entity memory of one container */
	struct tu_http_resp resp;          /* the list reply of the running scan */
	struct tu_http_resp iresp;         /* the last inspect reply */
	int inspects;                      /* inspects done by the running scan */
};

/* Attributes of an entry without `attrs:`. */
static struct tu_kv default_attrs[] = {
	{ (char *)"created", (char *)"{.Created}" }, { (char *)"health", (char *)"{health}" },
	{ (char *)"id", (char *)"{.Id}" },           { (char *)"image", (char *)"{.Image}" },
	{ (char *)"state", (char *)"{.State}" },
};

/* ---- the list request ------------------------------------------------------------------ */

/* Appends s quoted as a Go regular expression (regexp.QuoteMeta's set). */
static tu_status quote_regex(const char *s, struct tu_buf *out)
{
	tu_status st = TU_OK;

	for (const char *p = s; *p != '\0' && st == TU_OK; p++) {
		if (strchr("\\.+*?()|[]{}^$", *p) != NULL)
			st = tu_buf_putc(out, '\\');
		if (st == TU_OK)
			st = tu_buf_putc(out, *p);
	}
	return st;
}

tu_status tu__docker_list_path(const struct tu_docker_source *dc, struct tu_buf *out)
{
	json_t *filters = NULL;
	char *text = NULL;
	struct tu_buf re;
	tu_status st = tu_buf_puts(out, "/containers/json?all=1");

	tu_buf_init(&re, TU_MAX_NAME * 2 + 8);
	if (st != TU_OK || (dc->n_name_prefixes == 0 && dc->n_labels == 0))
		goto out;
	filters = json_object();
	if (dc->n_name_prefixes > 0) {
		json_t *names = json_array();
		json_object_set_new(filters, "name", names);
		for (size_t i = 0; i < dc->n_name_prefixes && st == TU_OK; i++) {
			tu_buf_reset(&re);
			/* Docker matches the name with and without its leading '/'. */
			st = tu_buf_puts(&re, "^/?");
			if (st == TU_OK)
				st = quote_regex(dc->name_prefixes[i], &re);
			if (st == TU_OK)
				json_array_append_new(names, json_string(tu_buf_cstr(&re)));
		}
	}
	if (dc->n_labels > 0) {
		json_t *labels = json_array();
		json_object_set_new(filters, "label", labels);
		for (size_t i = 0; i < dc->n_labels; i++)
			json_array_append_new(labels, json_string(dc->labels[i]));
	}
	if (st != TU_OK)
		goto out;
	text = json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		st = TU_EINVAL; /* a prefix or label that is not UTF-8 */
		goto out;
	}
	st = tu_buf_puts(out, "&filters=");
	if (st == TU_OK)
		st = tu_http_escape(text, out);
out:
	free(text);
	json_decref(filters);
	tu_buf_release(&re);
	return st;
}

/* ---- items ----------------------------------------------------------------------------- */

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

tu_status tu__docker_filter_match(const struct tu_docker_source *dc, json_t *item, char *why,
				  size_t whylen)
{
	if (dc->n_name_prefixes > 0) {
		json_t *names = json_object_get(item, "Names"), *n = NULL;
		size_t i = 0;
		bool found = false;
		if (!json_is_array(names)) {
			snprintf(why, whylen, "Names: %s, not a list (filters.name_prefixes)",
				 names == NULL ? "missing" : "of another type");
			return TU_EINVAL;
		}
		json_array_foreach(names, i, n)
		{
			const char *s = json_string_value(n);
			if (s == NULL) {
				snprintf(why, whylen, "Names[%zu]: not a string", i);
				return TU_EINVAL;
			}
			if (s[0] == '/')
				s++;
			for (size_t j = 0; j < dc->n_name_prefixes && !found; j++)
				found = has_prefix(s, dc->name_prefixes[j]);
		}
		if (!found)
			return TU_ENOTFOUND;
	}
	if (dc->n_labels > 0) {
		json_t *labels = json_object_get(item, "Labels");
		if (labels != NULL && !json_is_object(labels) && !json_is_null(labels)) {
			snprintf(why, whylen, "Labels: not an object (filters.labels)");
			return TU_EINVAL;
		}
		for (size_t i = 0; i < dc->n_labels; i++) {
			const char *f = dc->labels[i], *eq = strchr(f, '=');
			size_t kl = eq != NULL ? (size_t)(eq - f) : strlen(f);
			json_t *v = json_is_object(labels) ? json_object_getn(labels, f, kl) : NULL;
			if (v == NULL)
				return TU_ENOTFOUND;
			if (eq != NULL &&
			    (!json_is_string(v) || strcmp(json_string_value(v), eq + 1) != 0))
				return TU_ENOTFOUND;
		}
	}
	return TU_OK;
}

const char *tu__docker_health_from_status(const char *status)
{
	static const struct {
		const char *suffix; /* how Docker ends the Status text */
		const char *health; /* what it means */
	} known[] = {
		{ "(healthy)", "healthy" },
		{ "(unhealthy)", "unhealthy" },
		{ "(health: starting)", "starting" },
	};
	size_t n = status != NULL ? strlen(status) : 0;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t k = strlen(known[i].suffix);
		if (n >= k && strcmp(status + n - k, known[i].suffix) == 0)
			return known[i].health;
	}
	return "none";
}

/* Template variables of one container besides its `{.path}`s. */
struct container_vars {
	struct docker_source *ds;
	const struct tu_scan_sink *sink;
	const struct tu_docker_observe *ob; /* the entry being mapped */
	json_t *item;                       /* the list item (borrowed) */
	const char *id;                     /* the item's Id, or NULL */
	json_t *inspect;                    /* owned; the inspect reply once read */
	bool asked;                         /* inspect was tried (whatever came of it) */
	bool used;                          /* the entry being mapped asked for it */
	bool vanished;                      /* inspect said 404: the container is gone */
	tu_status fail;                     /* the daemon failed: the scan ends with this */
	char *err;                          /* ... and this text (the scan's err) */
	size_t errlen;
	char skip[WHY_SIZE];                /* why the inspect is unusable: skip the container */
	struct tu_buf scratch;              /* the last value rendered */
};

/* Inspects the container once; false if there is no usable reply. */
static bool inspect(struct container_vars *v)
{
	struct docker_source *ds = v->ds;
	struct tu_buf path;
	char msg[TU_DOCKER_MESSAGE];
	json_error_t jerr;

	v->used = true;
	if (v->asked)
		return v->inspect != NULL;
	v->asked = true;
	if (v->id == NULL || !tu_docker_id_valid(v->id)) {
		snprintf(v->skip, sizeof(v->skip), "inspect: Id missing or not a container id");
		return false;
	}
	if (ds->inspects >= ds->dc->max_inspects) {
		snprintf(v->skip, sizeof(v->skip),
			 "inspect: over max_inspects (%d) in this scan", ds->dc->max_inspects);
		return false;
	}
	ds->inspects++;
	tu_buf_init(&path, 256);
	tu_status st = tu_buf_puts(&path, "/containers/");
	if (st == TU_OK)
		st = tu_http_escape(v->id, &path);
	if (st == TU_OK)
		st = tu_buf_puts(&path, "/json");
	struct tu_docker_req req = {
		.method = "GET",
		.path = tu_buf_cstr(&path),
		.max_wait_ms = -1,
		.stopping = v->sink->stopping,
		.stop_ctx = v->sink->ctx,
	};
	if (st == TU_OK)
		st = tu_docker_do(ds->d, &req, &ds->iresp, v->err, v->errlen);
	tu_buf_release(&path);
	if (st != TU_OK) {
		v->fail = st;
		return false;
	}
	if (ds->iresp.status == 404) {
		v->vanished = true;
		return false;
	}
	if (ds->iresp.status != 200) {
		tu_docker_message(&ds->iresp, msg, sizeof(msg));
		snprintf(v->skip, sizeof(v->skip), "inspect: HTTP %ld: %.400s", ds->iresp.status,
			 msg);
		return false;
	}
	v->inspect = json_loadb(ds->iresp.body.data != NULL ? ds->iresp.body.data : "",
				ds->iresp.body.len, 0, &jerr);
	if (v->inspect == NULL || !json_is_object(v->inspect)) {
		snprintf(v->skip, sizeof(v->skip), "inspect: reply is not a JSON object%s%s",
			 v->inspect == NULL ? ": " : "", v->inspect == NULL ? jerr.text : "");
		json_decref(v->inspect);
		v->inspect = NULL;
		return false;
	}
	return true;
}

static bool vars_lookup(void *ctx, const char *var, size_t len, const char **val, size_t *vlen)
{
	struct container_vars *v = ctx;
	static const char ins[] = "inspect";
	const size_t il = sizeof(ins) - 1;
	json_t *at = NULL;

	tu_buf_reset(&v->scratch);
	if (len == 6 && memcmp(var, "health", 6) == 0) {
		const char *h = NULL;
		if (v->ob->inspect) {
			if (!inspect(v))
				return false;
			h = json_string_value(tu_json_path(v->inspect, ".State.Health.Status", 20));
			h = h != NULL ? h : "none";
		} else {
			h = tu__docker_health_from_status(
				json_string_value(json_object_get(v->item, "Status")));
		}
		*val = h;
		*vlen = strlen(h);
		return true;
	}
	if (len > il && memcmp(var, ins, il) == 0 && (var[il] == '.' || var[il] == '[')) {
		if (!v->ob->inspect || !inspect(v))
			return false;
		at = tu_json_path(v->inspect, var + il, len - il);
		if (at == NULL || !tu_json_scalar(at, &v->scratch))
			return false;
		*val = tu_buf_cstr(&v->scratch);
		*vlen = v->scratch.len;
		return true;
	}
	return false;
}

/* "container 727c47bc2a48 (k3s-worker-1)" or "containers[3]" for reasons. */
static void describe(json_t *item, size_t index, char *out, size_t outlen)
{
	const char *id = json_string_value(json_object_get(item, "Id"));
	const char *name = json_string_value(json_array_get(json_object_get(item, "Names"), 0));
	char shown[SHOWN_NAME + 4];
	size_t o = 0;

	if (name != NULL && name[0] == '/')
		name++;
	for (size_t i = 0; name != NULL && name[i] != '\0' && o < SHOWN_NAME; i++)
		shown[o++] = name[i] > 0x20 && name[i] < 0x7f ? name[i] : '?';
	shown[o] = '\0';
	if (id != NULL && tu_docker_id_valid(id))
		snprintf(out, outlen, "container %.*s%s%s%s", SHOWN_ID, id, o > 0 ? " (" : "",
			 shown, o > 0 ? ")" : "");
	else
		snprintf(out, outlen, "containers[%zu]%s%s%s (no usable Id)", index,
			 o > 0 ? " (" : "", shown, o > 0 ? ")" : "");
}

/* Maps one list item by every observe entry; a failed inspect request ends the scan. */
static tu_status map_container(struct docker_source *ds, const struct tu_scan_sink *sink,
			       json_t *item, size_t index, char *err, size_t errlen)
{
	const struct tu_docker_source *dc = ds->dc;
	struct container_vars v = { .ds = ds, .sink = sink, .item = item, .err = err,
				    .errlen = errlen, .fail = TU_OK };
	char who[SHOWN_NAME + 64], why[WHY_SIZE];
	tu_status st = TU_OK, ms;

	tu_buf_init(&v.scratch, TU_MAX_ATTR_VALUE);
	if (!json_is_object(item)) {
		tu_source_skip(&ds->base, sink, "containers[%zu]: not a JSON object", index);
		goto out;
	}
	describe(item, index, who, sizeof(who));
	v.id = json_string_value(json_object_get(item, "Id"));
	ms = tu__docker_filter_match(dc, item, why, sizeof(why));
	if (ms == TU_EINVAL)
		tu_source_skip(&ds->base, sink, "%s: %s", who, why);
	if (ms != TU_OK)
		goto out;
	for (size_t i = 0; i < dc->n_observe && st == TU_OK; i++) {
		struct tu_json_entity je;
		v.ob = &dc->observe[i];
		v.used = false;
		ms = tu_json_map(&ds->maps[i], item, vars_lookup, &v, &ds->arena, &je, why,
				 sizeof(why));
		if (v.fail != TU_OK) {
			st = v.fail; /* err was written by the request */
			break;
		}
		if (v.vanished) {
			tu_debug("source %s: %s vanished before its inspect", ds->base.cfg->name,
				 who);
			break;
		}
		/* Even where a default stood in for it: the entry needed the inspect. */
		if (v.used && v.skip[0] != '\0') {
			tu_source_skip(&ds->base, sink, "%s: observe[%zu] (kind %s): %s", who, i,
				       v.ob->map.kind, v.skip);
			continue;
		}
		if (ms == TU_ENOTFOUND)
			continue;
		if (ms != TU_OK) {
			tu_source_skip(&ds->base, sink, "%s: observe[%zu] (kind %s): %s", who, i,
				       v.ob->map.kind, why);
			continue;
		}
		struct tu_entity e = { .kind = je.kind, .ns = je.ns, .name = je.name,
				       .attrs = je.attrs, .n_attrs = je.n_attrs };
		char what[SHOWN_NAME + 96];
		snprintf(what, sizeof(what), "%s: observe[%zu]", who, i);
		st = tu_source_emit(&ds->base, sink, &e, what);
	}
out:
	json_decref(v.inspect);
	tu_buf_release(&v.scratch);
	tu_arena_reset(&ds->arena);
	return st;
}

static const char *json_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

tu_status tu__docker_source_reply(struct tu_source *src, const char *body, size_t len,
				  const struct tu_scan_sink *sink, char *err, size_t errlen)
{
	struct docker_source *ds = (struct docker_source *)src;
	json_error_t jerr;
	json_t *root = json_loadb(body != NULL ? body : "", len, 0, &jerr), *item = NULL;
	size_t i = 0;
	tu_status st = TU_OK;

	ds->inspects = 0;
	if (root == NULL) {
		snprintf(err, errlen,
			 "docker %s: GET /containers/json: reply is not JSON (%zu bytes; line %d, "
			 "column %d: %s)",
			 tu_docker_socket(ds->d), len, jerr.line, jerr.column, jerr.text);
		return TU_EDECODE;
	}
	if (!json_is_array(root)) {
		snprintf(err, errlen,
			 "docker %s: GET /containers/json: reply is %s, not an array of containers",
			 tu_docker_socket(ds->d), json_type_name(root));
		json_decref(root);
		return TU_EDECODE;
	}
	json_array_foreach(root, i, item)
	{
		if (sink->stopping(sink->ctx)) {
			st = TU_ESTOP;
			break;
		}
		st = map_container(ds, sink, item, i, err, errlen);
		if (st != TU_OK)
			break;
	}
	json_decref(root);
	return st;
}

/* ---- the scan ---------------------------------------------------------------------------- */

static tu_status docker_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			     size_t errlen)
{
	struct docker_source *ds = (struct docker_source *)src;
	struct tu_buf path;
	char msg[TU_DOCKER_MESSAGE];
	tu_status st;

	tu_buf_init(&path, LIST_PATH_MAX);
	st = tu__docker_list_path(ds->dc, &path);
	if (st != TU_OK) {
		snprintf(err, errlen, "source %s: filters: cannot be encoded (%s)",
			 ds->base.cfg->name, tu_status_str(st));
		goto out;
	}
	struct tu_docker_req req = {
		.method = "GET",
		.path = tu_buf_cstr(&path),
		.max_wait_ms = -1,
		.stopping = sink->stopping,
		.stop_ctx = sink->ctx,
	};
	st = tu_docker_do(ds->d, &req, &ds->resp, err, errlen);
	if (st != TU_OK)
		goto out;
	if (ds->resp.status != 200) {
		tu_docker_message(&ds->resp, msg, sizeof(msg));
		snprintf(err, errlen, "docker %s: GET /v%s/containers/json: HTTP %ld: %s",
			 tu_docker_socket(ds->d), tu_docker_api_version(ds->d), ds->resp.status,
			 msg);
		st = ds->resp.status >= 500 ? TU_EUNAVAIL : TU_EINVAL;
		goto out;
	}
	st = tu__docker_source_reply(src, ds->resp.body.data, ds->resp.body.len, sink, err,
				     errlen);
out:
	tu_buf_release(&path);
	/* A large list is not kept between scans. */
	tu_http_resp_release(&ds->resp);
	tu_http_resp_init(&ds->resp);
	return st;
}

static void docker_destroy(struct tu_source *src)
{
	struct docker_source *ds = (struct docker_source *)src;
	tu_docker_destroy(ds->d);
	tu_http_resp_release(&ds->resp);
	tu_http_resp_release(&ds->iresp);
	tu_arena_release(&ds->arena);
	free(ds->maps);
	free(ds);
}

static const struct tu_source_ops docker_ops = {
	.type = "docker",
	.scan = docker_scan,
	.destroy = docker_destroy,
};

tu_status tu_docker_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				  char *err, size_t errlen)
{
	const struct tu_docker_source *dc = &cfg->docker;
	char why[256];
	tu_docker *d = NULL;

	if (cfg->type != TU_SOURCE_DOCKER || dc->n_observe == 0) {
		snprintf(err, errlen, "source %s (line %d): not a docker source with observe entries",
			 cfg->name, cfg->line);
		return TU_EINVAL;
	}
	for (size_t i = 0; i < dc->n_observe; i++) {
		const struct tu_json_mapping *m = &dc->observe[i].map;
		if (m->kind == NULL || !tu_name_valid(m->kind) || m->name == NULL) {
			snprintf(err, errlen,
				 "source %s (line %d): observe[%zu]: needs a valid kind and a name",
				 cfg->name, cfg->line, i);
			return TU_EINVAL;
		}
	}
	tu_status st = tu_docker_create(&dc->daemon, cfg->timeout, &d, why, sizeof(why));
	if (st != TU_OK) {
		snprintf(err, errlen, "source %s (line %d): %s", cfg->name, cfg->line, why);
		return st;
	}
	struct docker_source *ds = tu_xcalloc(1, sizeof(*ds));
	ds->base.ops = &docker_ops;
	ds->base.cfg = cfg;
	ds->dc = dc;
	ds->d = d;
	ds->maps = tu_xcalloc(dc->n_observe, sizeof(*ds->maps));
	const char **kinds = tu_xcalloc(dc->n_observe, sizeof(*kinds));
	for (size_t i = 0; i < dc->n_observe; i++) {
		ds->maps[i] = dc->observe[i].map;
		if (ds->maps[i].attrs.n == 0)
			ds->maps[i].attrs = (struct tu_kvlist){
				default_attrs, sizeof(default_attrs) / sizeof(default_attrs[0])
			};
		kinds[i] = dc->observe[i].map.kind;
	}
	tu__source_set_kinds(&ds->base, kinds, dc->n_observe);
	free(kinds);
	tu_arena_init(&ds->arena, 64 * 1024);
	tu_http_resp_init(&ds->resp);
	tu_http_resp_init(&ds->iresp);
	*out = &ds->base;
	return TU_OK;
}
