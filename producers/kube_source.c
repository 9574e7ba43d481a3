/*
 * kube_source.c - the kubernetes source (see kube_source.h).
 *
 * Invariants: one page is in memory at a time (the parsed reply and the
 * entities of its current item); the page's JSON values live in `ja` from its
 * parse to the end of its items, entity memory in `arena`, rewound after each
 * item. A list's continue token is copied before its page is
 * freed, and a token equal to the one just used ends the list with an error
 * (a server that would page forever). Nothing from an object reaches a log
 * line unbounded or with control bytes.
 */
#include "kube_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "jsonarena.h"
#include "jsonmap.h"
#include "log.h"
#include "xalloc.h"

#define SHOWN 120      /* bytes of a namespace or name quoted in a message */
#define WHAT_LEN 400   /* "pods shop/web-1" and the like */

struct kube_source {
	struct tu_source base;           /* first: the generic handle */
	const struct tu_kube_source *kc; /* &base.cfg->kube */
	tu_kube *k;                      /* the API client */
	struct tu_arena arena;           /* entities of the current item */
	struct tu_json_arena ja;         /* the current page's JSON values */
	struct tu_buf path;              /* path and query of the current request */
	struct tu_http_resp resp;        /* the current reply */
};

/* ---- requests and replies -------------------------------------------------------------- */

void tu__kube_observe_resource(const struct tu_kube_observe *ob, struct tu_kube_resource *out)
{
	if (ob->resource != NULL && tu_kube_builtin(ob->resource, out))
		return;
	out->group = ob->group != NULL && strcmp(ob->group, "core") != 0 ? ob->group : "";
	out->version = ob->version != NULL ? ob->version : "v1";
	out->plural = ob->plural != NULL ? ob->plural : (ob->resource ? ob->resource : "");
	out->namespaced = ob->namespaced != 0;
}

tu_status tu__kube_list_path(const struct tu_kube_observe *ob, const char *ns, int page_size,
			     const char *cont, struct tu_buf *out)
{
	struct tu_kube_resource r;
	char limit[32];
	tu__kube_observe_resource(ob, &r);
	snprintf(limit, sizeof(limit), "%d", page_size > 0 ? page_size : 500);
	tu_status st = tu_kube_path(&r, r.namespaced ? ns : NULL, NULL, NULL, out);
	if (st == TU_OK)
		st = tu_kube_query(out, "limit", limit);
	if (st == TU_OK && ob->label_selector != NULL)
		st = tu_kube_query(out, "labelSelector", ob->label_selector);
	if (st == TU_OK && ob->field_selector != NULL)
		st = tu_kube_query(out, "fieldSelector", ob->field_selector);
	if (st == TU_OK && cont != NULL && *cont != '\0')
		st = tu_kube_query(out, "continue", cont);
	return st;
}

tu_status tu__kube_page_parse(const char *body, size_t len, json_t **root, json_t **items,
			      const char **cont, char *why, size_t whylen)
{
	json_error_t je;
	json_t *doc = json_loadb(body, len, 0, &je);
	json_t *it = NULL, *meta = NULL, *c = NULL;

	if (doc == NULL) {
		snprintf(why, whylen, "reply is not JSON: line %d column %d: %s", je.line,
			 je.column, je.text);
		return TU_EDECODE;
	}
	if (!json_is_object(doc)) {
		snprintf(why, whylen, "reply is not a JSON object (a List was expected)");
		goto fail;
	}
	it = json_object_get(doc, "items");
	if (it != NULL && !json_is_array(it) && !json_is_null(it)) {
		snprintf(why, whylen, "reply field items is not an array (a List was expected)");
		goto fail;
	}
	meta = json_object_get(doc, "metadata");
	if (meta != NULL && !json_is_object(meta) && !json_is_null(meta)) {
		snprintf(why, whylen, "reply field metadata is not an object");
		goto fail;
	}
	c = json_is_object(meta) ? json_object_get(meta, "continue") : NULL;
	if (c != NULL && !json_is_string(c) && !json_is_null(c)) {
		snprintf(why, whylen, "reply field metadata.continue is not a string");
		goto fail;
	}
	*root = doc;
	*items = json_is_array(it) ? it : NULL;
	*cont = json_is_string(c) ? json_string_value(c) : "";
	return TU_OK;
fail:
	json_decref(doc);
	return TU_EDECODE;
}

/* ---- objects to entities --------------------------------------------------------------- */

/* Template variables besides {.path}: {source} and {resource}. */
struct item_vars {
	const char *source;   /* the source's name */
	const char *resource; /* the resource's plural */
};

static bool item_lookup(void *ctx, const char *var, size_t len, const char **val, size_t *vlen)
{
	const struct item_vars *v = ctx;
	if (len == 6 && memcmp(var, "source", 6) == 0) {
		*val = v->source;
		*vlen = strlen(v->source);
		return true;
	}
	if (len == 8 && memcmp(var, "resource", 8) == 0) {
		*val = v->resource;
		*vlen = strlen(v->resource);
		return true;
	}
	return false;
}

/* Appends a metadata string of item to out, printable and bounded; false if there is none. */
static bool shown_meta(json_t *item, const char *key, char *out, size_t outlen)
{
	json_t *meta = json_object_get(item, "metadata");
	json_t *v = json_is_object(meta) ? json_object_get(meta, key) : NULL;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), o = strlen(out), i = 0;
	for (; i < n && i < SHOWN && o + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (i < n && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return true;
}

/* "pods shop/web-1", "nodes n1", or "pods item 3" when the object has no name. */
static void item_what(const char *plural, json_t *item, size_t index, char *out, size_t outlen)
{
	char ns[SHOWN + 8] = "", name[SHOWN + 8] = "";
	bool has_ns = json_is_object(item) && shown_meta(item, "namespace", ns, sizeof(ns));
	bool has_name = json_is_object(item) && shown_meta(item, "name", name, sizeof(name));
	if (!has_name)
		snprintf(out, outlen, "%s item %zu", plural, index);
	else
		snprintf(out, outlen, "%s %s%s%s", plural, has_ns ? ns : "", has_ns ? "/" : "",
			 name);
}

tu_status tu__kube_item_entity(const struct tu_kube_observe *ob, const char *source,
			       const char *plural, json_t *item, size_t index, struct tu_arena *a,
			       struct tu_entity *out, char *why, size_t whylen)
{
	struct item_vars vars = { .source = source, .resource = plural };
	struct tu_json_entity je;
	char what[WHAT_LEN], mwhy[512];

	item_what(plural, item, index, what, sizeof(what));
	if (!json_is_object(item)) {
		snprintf(why, whylen, "%s: not a JSON object", what);
		return TU_EINVAL;
	}
	tu_status st = tu_json_map(&ob->map, item, item_lookup, &vars, a, &je, mwhy,
				   sizeof(mwhy));
	if (st == TU_ENOTFOUND)
		return st;
	if (st != TU_OK) {
		snprintf(why, whylen, "%s: %s", what, mwhy);
		return TU_EINVAL;
	}
	out->kind = je.kind;
	out->ns = je.ns;
	out->name = je.name;
	out->attrs = je.attrs;
	out->n_attrs = je.n_attrs;
	return TU_OK;
}

/* ---- scanning -------------------------------------------------------------------------- */

static bool sink_stopping(void *ctx)
{
	const struct tu_scan_sink *sink = ctx;
	return sink->stopping(sink->ctx);
}

/* "pods in namespace shop", "databases.example.com (all namespaces)", "nodes". */
static void list_what(const struct tu_kube_resource *r, const char *ns, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s%s%s%s", r->plural, r->group[0] ? "." : "", r->group,
		 ns != NULL ? " in namespace " : "", ns != NULL ? ns : "",
		 ns == NULL && r->namespaced ? " (all namespaces)" : "");
}

/* Maps and emits the items of one page; the sink's failure is returned. */
static tu_status emit_page(struct kube_source *ks, const struct tu_kube_observe *ob,
			   const char *plural, json_t *items, size_t *index,
			   const struct tu_scan_sink *sink)
{
	tu_status st = TU_OK;
	char why[1024], what[WHAT_LEN];
	for (size_t i = 0; i < json_array_size(items) && st == TU_OK; i++, (*index)++) {
		json_t *item = json_array_get(items, i);
		struct tu_entity e;
		tu_status es = tu__kube_item_entity(ob, ks->base.cfg->name, plural, item, *index,
						    &ks->arena, &e, why, sizeof(why));
		if (es == TU_EINVAL) {
			tu_source_skip(&ks->base, sink, "%s", why);
		} else if (es == TU_OK) {
			item_what(plural, item, *index, what, sizeof(what));
			st = tu_source_emit(&ks->base, sink, &e, what);
		}
		tu_arena_reset(&ks->arena);
	}
	return st;
}

/* Lists one resource in one namespace (or all), page by page. */
static tu_status list_one(struct kube_source *ks, const struct tu_kube_observe *ob,
			  const char *ns, const struct tu_scan_sink *sink, char *err,
			  size_t errlen)
{
	struct tu_kube_resource r;
	char what[WHAT_LEN], text[512];
	char *cont = NULL;
	bool restarted = false;
	size_t index = 0;
	tu_status st = TU_OK;

	tu__kube_observe_resource(ob, &r);
	list_what(&r, ns, what, sizeof(what));
	for (;;) {
		json_t *root = NULL, *items = NULL;
		const char *next = NULL;
		if (sink->stopping(sink->ctx)) {
			st = TU_ESTOP;
			break;
		}
		tu_buf_reset(&ks->path);
		st = tu__kube_list_path(ob, ns, ks->kc->page_size, cont, &ks->path);
		if (st != TU_OK) {
			snprintf(err, errlen, "list %s: request path over %d bytes", what,
				 TU_KUBE_MAX_URL);
			break;
		}
		struct tu_kube_req req = {
			.method = "GET",
			.path = tu_buf_cstr(&ks->path),
			.retries = ks->kc->conn.retries,
			.stop = sink_stopping,
			.stop_ctx = (void *)sink,
		};
		st = tu_kube_do(ks->k, &req, &ks->resp);
		if (st == TU_ESTOP)
			break;
		if (st != TU_OK) {
			snprintf(err, errlen, "%s: list %s: %s (%s; timeout %lld ms)",
				 tu_kube_server(ks->k), what, ks->resp.error, tu_status_str(st),
				 (long long)ks->base.cfg->timeout);
			break;
		}
		if (ks->resp.status == 410 && cont != NULL && !restarted) {
			tu_warn("source %s: list %s: continue token expired (410 Gone); listing "
				"again from the start", ks->base.cfg->name, what);
			restarted = true;
			free(cont);
			cont = NULL;
			index = 0;
			continue;
		}
		if (ks->resp.status != 200) {
			tu_kube_status_text(&ks->resp, text, sizeof(text));
			snprintf(err, errlen, "%s: list %s: %s%s", tu_kube_server(ks->k), what, text,
				 ks->resp.status == 410 && restarted
					 ? " (the list was already restarted once)"
					 : "");
			st = ks->resp.status == 401 || ks->resp.status == 403 ? TU_EAUTH
									      : TU_EUNAVAIL;
			break;
		}
		tu_json_arena_enter(&ks->ja);
		st = tu__kube_page_parse(ks->resp.body.data, ks->resp.body.len, &root, &items,
					 &next, text, sizeof(text));
		if (st != TU_OK) {
			tu_json_arena_leave(&ks->ja);
			snprintf(err, errlen, "%s: list %s: %s", tu_kube_server(ks->k), what, text);
			break;
		}
		st = emit_page(ks, ob, r.plural, items, &index, sink);
		if (st == TU_OK && *next != '\0' && cont != NULL && strcmp(next, cont) == 0) {
			snprintf(err, errlen, "%s: list %s: the server returned the continue token "
					      "it was given (the list would never end)",
				 tu_kube_server(ks->k), what);
			st = TU_EDECODE;
		}
		free(cont);
		cont = *next != '\0' ? tu_xstrdup(next) : NULL;
		json_decref(root);
		tu_json_arena_leave(&ks->ja);
		if (st != TU_OK || cont == NULL)
			break;
	}
	free(cont);
	return st;
}

static tu_status kube_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			   size_t errlen)
{
	struct kube_source *ks = (struct kube_source *)src;
	tu_status st = TU_OK;

	for (size_t i = 0; i < ks->kc->n_observe && st == TU_OK; i++) {
		const struct tu_kube_observe *ob = &ks->kc->observe[i];
		struct tu_kube_resource r;
		tu__kube_observe_resource(ob, &r);
		if (!r.namespaced || ob->n_namespaces == 0) {
			st = list_one(ks, ob, NULL, sink, err, errlen);
			continue;
		}
		for (size_t j = 0; j < ob->n_namespaces && st == TU_OK; j++)
			st = list_one(ks, ob, ob->namespaces[j], sink, err, errlen);
	}
	return st;
}

static void kube_destroy(struct tu_source *src)
{
	struct kube_source *ks = (struct kube_source *)src;
	tu_kube_destroy(ks->k);
	tu_arena_release(&ks->arena);
	tu_json_arena_release(&ks->ja);
	tu_buf_release(&ks->path);
	tu_http_resp_release(&ks->resp);
	free(ks);
}

static const struct tu_source_ops kube_ops = {
	.type = "kubernetes",
	.scan = kube_scan,
	.destroy = kube_destroy,
};

tu_status tu_kube_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				char *err, size_t errlen)
{
	const struct tu_kube_source *kc = &cfg->kube;
	char who[TU_MAX_KIND + 16], why[512];
	tu_kube *k = NULL;

	for (size_t i = 0; i < kc->n_observe; i++) {
		const struct tu_kube_observe *ob = &kc->observe[i];
		struct tu_kube_resource r;
		bool ok = ob->resource != NULL
				  ? tu_kube_builtin(ob->resource, &r)
				  : ob->group != NULL && ob->version != NULL && ob->plural != NULL &&
					    tu_kube_version_valid(ob->version) &&
					    tu_kube_plural_valid(ob->plural) &&
					    tu_kube_group_valid(ob->group);
		if (!ok || ob->map.kind == NULL || ob->map.name == NULL) {
			snprintf(err, errlen, "source %s (line %d): observe[%zu]: needs a kind, a name "
					      "and a known resource or group/version/plural",
				 cfg->name, cfg->line, i);
			return TU_EINVAL;
		}
	}
	snprintf(who, sizeof(who), "source %s", cfg->name);
	tu_status st = tu_kube_create(&kc->conn, cfg->timeout, who, &k, why, sizeof(why));
	if (st != TU_OK) {
		snprintf(err, errlen, "source %s (line %d): %s", cfg->name, cfg->line, why);
		return st;
	}
	struct kube_source *ks = tu_xcalloc(1, sizeof(*ks));
	ks->base.ops = &kube_ops;
	ks->base.cfg = cfg;
	ks->kc = kc;
	ks->k = k;
	tu_arena_init(&ks->arena, 64 * 1024);
	tu_json_arena_init(&ks->ja);
	tu_buf_init(&ks->path, TU_KUBE_MAX_URL);
	tu_http_resp_init(&ks->resp);
	const char **kinds = tu_xcalloc(kc->n_observe ? kc->n_observe : 1, sizeof(*kinds));
	for (size_t i = 0; i < kc->n_observe; i++)
		kinds[i] = kc->observe[i].map.kind;
	tu__source_set_kinds(&ks->base, kinds, kc->n_observe);
	free(kinds);
	*out = &ks->base;
	return TU_OK;
}
