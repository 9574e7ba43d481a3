/*
 * digests.h - what a producer last published for each entity of its source,
 * so that it publishes changes, not copies (DESIGN.md, Producers).
 *
 * One table per source, keyed by tu_entity_key() (kind/namespace/name), each
 * entry holding the digest of the attrs last published and the scan that last
 * saw the entity. A scan calls tu_digests_begin(), tu_digests_observe() for
 * every entity the source returns, and — only if the whole source was read
 * (a complete scan) — tu_digests_sweep() to learn and forget the entities
 * that disappeared. An incomplete scan never sweeps, so it never infers a
 * deletion and never touches the entries of entities it did not see.
 *
 * Workload: one lookup per entity per scan, up to ~100k entities; ~100 bytes
 * per entity. Not thread-safe: owned by one scanner.
 */
#ifndef TU_DIGESTS_H
#define TU_DIGESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"

typedef struct tu_digests tu_digests;

/* What an observation is compared with the last published state. */
enum tu_change {
	TU_CHANGE_NEW = 1,     /* not in the table: appeared (or first scan) */
	TU_CHANGE_CHANGED = 2, /* digest differs from the one last published */
	TU_CHANGE_SAME = 3,    /* digest equal: nothing to publish in a delta scan */
};

/* A new empty table. Caller destroys it. */
tu_digests *tu_digests_create(void);
/* NULL does nothing. */
void tu_digests_destroy(tu_digests *d);

/* Entities in the table. */
size_t tu_digests_count(const tu_digests *d);

/* Starts a new scan: every entity is unseen until observed again. */
void tu_digests_begin(tu_digests *d);

/*
 * Records that the current scan saw key with digest (hex, < TU_ID_SIZE bytes)
 * and stores digest as the last published one. *repeat (may be NULL) is set
 * when the current scan had already seen key (Redis SCAN may return a key
 * twice); a repeat with an equal digest is TU_CHANGE_SAME.
 */
enum tu_change tu_digests_observe(tu_digests *d, const void *key, size_t len, const char *digest,
				  bool *repeat);

/* The digest stored for key, or NULL. Valid until the entry is swept or destroyed. */
const char *tu_digests_get(const tu_digests *d, const void *key, size_t len);

/*
 * Calls fn with the key of every entity the current scan did not see, then
 * forgets it. Call only after a complete scan. key is valid during the call.
 */
typedef void (*tu_digests_gone_fn)(void *ctx, const void *key, size_t len);
void tu_digests_sweep(tu_digests *d, tu_digests_gone_fn fn, void *ctx);

#endif
