/*
 * redis_source.h - the Redis source: turns keys into entities (hiredis,
 * synchronous API, one connection per source).
 *
 * Each `observe:` entry names keys with `scan:` (SCAN cursor MATCH pattern
 * COUNT scan_count; never KEYS) or `get:` (one key). Keys are read in
 * pipelined batches of up to `pipeline` (with read: auto, a pipelined TYPE
 * batch first): GET -> attr `value`, HGETALL -> one attr per field,
 * SMEMBERS -> attr `members` (sorted, comma-separated). Name, namespace and
 * (if given) attrs are templates over the variables key, value, field.<f>
 * and members. With `ttl: true` a pipelined PTTL batch follows and each
 * entity gets attr ttl_ms (keys that services register with EXPIRE: a key
 * that expired is simply not seen by the next scan). See docs/sources.md.
 *
 * A key that vanished between SCAN and the read is not seen. A key whose
 * reply cannot become an entity (wrong type, a template without a value,
 * over a bound, not UTF-8) is skipped and reported. A connection error ends
 * the scan with the error; the next scan reconnects.
 *
 * Workload: up to ~100k keys per scan, two round trips per batch at most.
 */
#ifndef TU_REDIS_SOURCE_H
#define TU_REDIS_SOURCE_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "entity.h"
#include "source.h"
#include "status.h"

/*
 * Creates a Redis source for cfg (type redis; cfg outlives it). Does not
 * connect: the first scan does. TU_EINVAL if the URL cannot be used.
 */
tu_status tu_redis_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				 char *err, size_t errlen);

/* ---- internals, exposed for tests ------------------------------------- */

/*
 * The read a TYPE reply calls for: TU_OK with *out, TU_ENOTFOUND for "none"
 * (the key vanished), TU_EINVAL for a type the source cannot read (list,
 * zset, stream) or a malformed reply, with why.
 */
tu_status tu__redis_read_of_type(const redisReply *r, enum tu_redis_read *out, char *why,
				 size_t whylen);

/*
 * Maps the reply to the read command for key (read is string, hash or set)
 * into *out (arena memory; attrs sorted). TU_ENOTFOUND: the key vanished (nil,
 * empty array). TU_EINVAL: error reply (WRONGTYPE), malformed reply (odd
 * HGETALL array, nested or non-string elements), text that is not UTF-8, a
 * template that cannot render. TU_ETOOBIG: over TU_MAX_ATTRS, TU_MAX_ATTR_KEY,
 * TU_MAX_ATTR_VALUE or TU_MAX_NAME. why says which, without the value.
 * The entity still has to pass tu_entity_check() (tu_source_emit does that).
 */
tu_status tu__redis_entity(const struct tu_redis_observe *ob, const char *key, size_t key_len,
			   enum tu_redis_read read, const redisReply *r, struct tu_arena *a,
			   struct tu_entity *out, char *why, size_t whylen);

/*
 * Adds attribute ttl_ms (the key's PTTL: milliseconds left, -1 without an
 * expiry) from a PTTL reply to *e (arena memory; attrs sorted again).
 * TU_ENOTFOUND: the key vanished (-2). TU_EINVAL: an error or malformed
 * reply, or ttl_ms is already an attribute; why says which.
 */
tu_status tu__redis_add_ttl(const redisReply *r, struct tu_arena *a, struct tu_entity *e,
			    char *why, size_t whylen);

#endif
