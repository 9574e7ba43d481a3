/*
 * mongo_source.c - the mongodb source (see mongo_source.h).
 *
 * Invariants: `pool` is NULL until the first scan, then a pool built with
 * the password read at that moment; an authentication failure drops it so
 * that the next scan reads the password file again. Filters and
 * projections are parsed once, at create. Entity memory lives in `arena`,
 * reset after each document, the document's JSON values in `ja` while it is
 * mapped; the driver's batch is its own.
 */
#include "mongo_source.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "clock.h"
#include "jsonarena.h"
#include "jsonmap.h"
#include "log.h"
#include "mongoconn.h"
#include "ratelimit.h"
#include "xalloc.h"

#define ID_SHOWN 96         /* bytes of an _id quoted in a message */
#define RATE_POLL_MS 100    /* longest sleep between stop checks while rate-limited */

struct mongo_source {
	struct tu_source base;            /* first: the generic handle */
	const struct tu_mongo_source *mc; /* &base.cfg->mongo */
	mongoc_client_pool_t *pool;       /* NULL until the first scan */
	bson_t **filters;                 /* owned; one per observe entry */
	bson_t **projections;             /* owned; one per observe entry, NULL: none */
	struct tu_ratelimit rate;         /* find/getMore requests */
	struct tu_arena arena;            /* one document's entity */
	struct tu_json_arena ja;          /* one document's JSON values, while it is mapped */
	char shown[TU_MONGO_MAX_URI];     /* the URI, redacted, for messages */
};

/* ---- documents to entities ---------------------------------------------------------- */

/* Variables besides {.path}: source, database, collection. */
struct doc_vars {
	const char *source;                /* the source's name */
	const struct tu_mongo_observe *ob; /* database, collection */
};

static bool lookup(void *ctx, const char *var, size_t n, const char **val, size_t *len)
{
	const struct doc_vars *v = ctx;
	const char *s = NULL;

	if (n == 6 && memcmp(var, "source", 6) == 0)
		s = v->source;
	else if (n == 8 && memcmp(var, "database", 8) == 0)
		s = v->ob->database;
	else if (n == 10 && memcmp(var, "collection", 10) == 0)
		s = v->ob->collection;
	if (s == NULL)
		return false;
	*val = s;
	*len = strlen(s);
	return true;
}

tu_status tu__mongo_entity(const char *source, const struct tu_mongo_observe *ob,
			   const bson_t *doc, int64_t max_document, struct tu_arena *a,
			   struct tu_entity *out, char *why, size_t whylen)
{
	struct doc_vars vars = { .source = source, .ob = ob };
	struct tu_json_entity je;
	char id[ID_SHOWN], reason[512];
	json_t *j = NULL;
	tu_status st;

	tu_mongo_id_text(doc, id, sizeof(id));
	if (max_document > 0 && (int64_t)doc->len > max_document) {
		snprintf(why, whylen, "document %s.%s _id %s: %" PRIu32 " bytes, over max_document "
			 "(%" PRId64 ")", ob->database, ob->collection, id, doc->len, max_document);
		return TU_ETOOBIG;
	}
	j = tu_mongo_to_json(doc);
	if (j == NULL) {
		snprintf(why, whylen, "document %s.%s _id %s: not convertible to JSON (invalid "
			 "BSON, text that is not UTF-8, or a NUL in a string)", ob->database,
			 ob->collection, id);
		return TU_EINVAL;
	}
	st = tu_json_map(&ob->map, j, lookup, &vars, a, &je, reason, sizeof(reason));
	json_decref(j);
	if (st == TU_ENOTFOUND)
		return st;
	if (st != TU_OK) {
		snprintf(why, whylen, "document %s.%s _id %s: %s", ob->database, ob->collection, id,
			 reason);
		return st == TU_ETOOBIG ? TU_ETOOBIG : TU_EINVAL;
	}
	out->kind = je.kind;
	out->ns = je.ns;
	out->name = je.name;
	out->attrs = je.attrs;
	out->n_attrs = je.n_attrs;
	return TU_OK;
}

/* ---- scanning ----------------------------------------------------------------------- */

/* Waits for a request token; TU_ESTOP if the scan is asked to stop meanwhile. */
static tu_status take_token(struct mongo_source *ms, const struct tu_scan_sink *sink)
{
	while (!tu_ratelimit_try(&ms->rate)) {
		if (sink->stopping(sink->ctx))
			return TU_ESTOP;
		int64_t ms_wait = tu_ratelimit_wait_ms(&ms->rate);
		tu_clock_sleep_ms(ms_wait > RATE_POLL_MS ? RATE_POLL_MS : ms_wait < 1 ? 1 : ms_wait);
	}
	return sink->stopping(sink->ctx) ? TU_ESTOP : TU_OK;
}

static tu_status open_pool(struct mongo_source *ms, char *err, size_t errlen)
{
	const struct tu_source_config *cfg = ms->base.cfg;
	char appname[TU_MAX_KIND + 32];
	char why[512];

	snprintf(appname, sizeof(appname), "trueup-producer-%s", cfg->name);
	tu_status st = tu_mongo_pool_create(ms->mc->uri, ms->mc->password_file, cfg->timeout,
					    appname, &ms->pool, why, sizeof(why));
	if (st != TU_OK)
		snprintf(err, errlen, "mongodb %s: %s", ms->shown, why);
	else
		tu_info("source %s: mongodb %s (timeout %" PRId64 " ms, batch_size %d)", cfg->name,
			ms->shown, cfg->timeout, ms->mc->batch_size);
	return st;
}

/* Reads every document of observe entry i and hands its entities to the sink. */
static tu_status scan_entry(struct mongo_source *ms, mongoc_client_t *client, size_t i,
			    const struct tu_scan_sink *sink, char *err, size_t errlen)
{
	const struct tu_mongo_observe *ob = &ms->mc->observe[i];
	int batch = ms->mc->batch_size > 0 ? ms->mc->batch_size : 1;
	mongoc_collection_t *coll = mongoc_client_get_collection(client, ob->database,
								 ob->collection);
	bson_t opts = BSON_INITIALIZER;
	mongoc_cursor_t *cursor = NULL;
	const bson_t *doc = NULL;
	bson_error_t be;
	uint64_t n = 0;
	char why[1024];
	tu_status st = TU_OK;

	BSON_APPEND_INT32(&opts, "batchSize", batch);
	if (ms->projections[i] != NULL)
		BSON_APPEND_DOCUMENT(&opts, "projection", ms->projections[i]);
	cursor = mongoc_collection_find_with_opts(coll, ms->filters[i], &opts, NULL);
	for (;;) {
		/* The next call sends find (n == 0) or, past a full batch, getMore. */
		if (n % (uint64_t)batch == 0) {
			st = take_token(ms, sink);
			if (st != TU_OK)
				break;
		}
		if (!mongoc_cursor_next(cursor, &doc))
			break;
		n++;
		struct tu_entity e;
		tu_json_arena_enter(&ms->ja);
		tu_status es = tu__mongo_entity(ms->base.cfg->name, ob, doc, ms->mc->max_document,
						&ms->arena, &e, why, sizeof(why));
		tu_json_arena_leave(&ms->ja);
		if (es == TU_OK) {
			char id[ID_SHOWN], what[ID_SHOWN + 2 * 256];
			tu_mongo_id_text(doc, id, sizeof(id));
			snprintf(what, sizeof(what), "document %s.%s _id %s", ob->database,
				 ob->collection, id);
			st = tu_source_emit(&ms->base, sink, &e, what);
		} else if (es != TU_ENOTFOUND) {
			tu_source_skip(&ms->base, sink, "%s", why);
		}
		tu_arena_reset(&ms->arena);
		if (st != TU_OK)
			break;
	}
	if (st == TU_OK && mongoc_cursor_error(cursor, &be)) {
		snprintf(err, errlen, "mongodb %s: find on %s.%s failed after %" PRIu64
			 " documents: %s (domain %" PRIu32 ", code %" PRIu32 ", timeout %" PRId64
			 " ms)", ms->shown, ob->database, ob->collection, n, be.message, be.domain,
			 be.code, ms->base.cfg->timeout);
		st = tu_mongo_status(&be);
		if (st == TU_OK)
			st = TU_EIO;
	}
	tu_debug("source %s: %s.%s: %" PRIu64 " documents read", ms->base.cfg->name, ob->database,
		 ob->collection, n);
	mongoc_cursor_destroy(cursor);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	return st;
}

static tu_status mongo_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			    size_t errlen)
{
	struct mongo_source *ms = (struct mongo_source *)src;
	mongoc_client_t *client = NULL;
	tu_status st = TU_OK;

	if (ms->pool == NULL) {
		st = open_pool(ms, err, errlen);
		if (st != TU_OK)
			return st;
	}
	client = mongoc_client_pool_pop(ms->pool);
	for (size_t i = 0; i < ms->mc->n_observe && st == TU_OK; i++)
		st = scan_entry(ms, client, i, sink, err, errlen);
	mongoc_client_pool_push(ms->pool, client);
	if (st == TU_EAUTH) {
		/* The password file may be fixed before the next scan: read it again then. */
		mongoc_client_pool_destroy(ms->pool);
		ms->pool = NULL;
	}
	return st;
}

static void mongo_destroy(struct tu_source *src)
{
	struct mongo_source *ms = (struct mongo_source *)src;

	if (ms->pool != NULL)
		mongoc_client_pool_destroy(ms->pool);
	for (size_t i = 0; i < ms->mc->n_observe; i++) {
		if (ms->filters[i] != NULL)
			bson_destroy(ms->filters[i]);
		if (ms->projections[i] != NULL)
			bson_destroy(ms->projections[i]);
	}
	free(ms->filters);
	free(ms->projections);
	tu_ratelimit_release(&ms->rate);
	tu_arena_release(&ms->arena);
	tu_json_arena_release(&ms->ja);
	free(ms);
}

static const struct tu_source_ops mongo_ops = {
	.type = "mongodb",
	.scan = mongo_scan,
	.destroy = mongo_destroy,
};

tu_status tu_mongo_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				 char *err, size_t errlen)
{
	const struct tu_mongo_source *mc = &cfg->mongo;
	struct mongo_source *ms = tu_xcalloc(1, sizeof(*ms));
	mongoc_uri_t *uri = NULL;
	const char **kinds = NULL;
	char why[512];
	tu_status st;

	ms->base.ops = &mongo_ops;
	ms->base.cfg = cfg;
	ms->mc = mc;
	ms->filters = tu_xcalloc(mc->n_observe ? mc->n_observe : 1, sizeof(*ms->filters));
	ms->projections = tu_xcalloc(mc->n_observe ? mc->n_observe : 1, sizeof(*ms->projections));
	tu_ratelimit_init(&ms->rate, mc->rate, 1);
	tu_arena_init(&ms->arena, 64 * 1024);
	tu_json_arena_init(&ms->ja);
	tu_mongo_redact(mc->uri != NULL ? mc->uri : "", ms->shown, sizeof(ms->shown));
	st = tu_mongo_uri_parse(mc->uri != NULL ? mc->uri : "", mc->password_file != NULL,
				cfg->timeout, NULL, &uri, why, sizeof(why));
	if (st != TU_OK) {
		snprintf(err, errlen, "source %s (line %d): %s", cfg->name, cfg->line, why);
		goto fail;
	}
	mongoc_uri_destroy(uri);
	for (size_t i = 0; i < mc->n_observe; i++) {
		const struct tu_mongo_observe *ob = &mc->observe[i];
		if (!tu_name_valid(ob->map.kind) || ob->map.name == NULL || ob->database == NULL ||
		    ob->collection == NULL) {
			snprintf(err, errlen, "source %s (line %d): observe[%zu]: needs a valid kind, "
				 "name, database and collection", cfg->name, cfg->line, i);
			st = TU_EINVAL;
			goto fail;
		}
		st = tu_mongo_bson_from_json(ob->filter != NULL ? ob->filter : "{}",
					     &ms->filters[i], why, sizeof(why));
		if (st == TU_OK && ob->projection != NULL)
			st = tu_mongo_bson_from_json(ob->projection, &ms->projections[i], why,
						     sizeof(why));
		if (st != TU_OK) {
			snprintf(err, errlen, "source %s (line %d): observe[%zu].%s: %s", cfg->name,
				 cfg->line, i, ms->filters[i] == NULL ? "filter" : "projection", why);
			goto fail;
		}
	}
	kinds = tu_xcalloc(mc->n_observe ? mc->n_observe : 1, sizeof(*kinds));
	for (size_t i = 0; i < mc->n_observe; i++)
		kinds[i] = mc->observe[i].map.kind;
	tu__source_set_kinds(&ms->base, kinds, mc->n_observe);
	free(kinds);
	*out = &ms->base;
	return TU_OK;
fail:
	mongo_destroy(&ms->base);
	return st;
}
