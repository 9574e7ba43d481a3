/*
 * mongo_source.h - the mongodb source: documents matched by MongoDB queries
 * become entities (mongo-c-driver 1.23, one client pool per source).
 *
 * Each `observe:` entry runs find(filter, projection) on database.collection
 * and reads the result with a cursor in batches of `batch_size` documents
 * (find, then getMore; never one huge reply), at most `rate` requests per
 * second. Each document is converted to relaxed extended JSON
 * (bson_as_relaxed_extended_json), loaded with jansson and mapped with
 * tu_json_map(): `{._id["$oid"]}`, `{.name}`, `{.spec.storage}`,
 * `{.created["$date"]}`, plus `{source}`, `{database}` and `{collection}`.
 * See docs/sources.md.
 *
 * A document that cannot become an entity (over max_document, not valid
 * BSON or UTF-8, a template that cannot render, a field that is not a
 * scalar, over a bound) is skipped and reported with the source, the
 * collection, its _id and the field. A cursor error (network, timeout,
 * server error) ends the scan: incomplete, so nothing is deleted.
 *
 * Workload: up to ~100k documents per scan; memory is one batch of the
 * driver plus one document's JSON at a time.
 */
#ifndef TU_MONGO_SOURCE_H
#define TU_MONGO_SOURCE_H

#include <mongoc/mongoc.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "entity.h"
#include "source.h"
#include "status.h"

/*
 * Creates a mongodb source for cfg (type mongodb; cfg outlives it). Checks
 * the URI, filters and projections; does not connect (the first scan does).
 * TU_EINVAL with err naming the source and field if one cannot be used.
 */
tu_status tu_mongo_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				 char *err, size_t errlen);

/* ---- internals, exposed for tests ------------------------------------- */

/*
 * Maps one document of ob's query into *out (arena memory; attrs sorted).
 * TU_ENOTFOUND: it does not pass the mapping's match/name_prefix (not an
 * error). TU_ETOOBIG: over max_document bytes. TU_EINVAL: not convertible
 * to JSON, a template that cannot render, a value that is not a scalar.
 * why then reads "document <db>.<coll> _id <id>: <field>: <reason>".
 * The entity still has to pass tu_entity_check() (tu_source_emit does).
 */
tu_status tu__mongo_entity(const char *source, const struct tu_mongo_observe *ob,
			   const bson_t *doc, int64_t max_document, struct tu_arena *a,
			   struct tu_entity *out, char *why, size_t whylen);

#endif
