/*
 * entity.h - one entity as a source sees it, before it becomes an
 * ObservedState: identity (kind/namespace/name), attributes, and the checks
 * and digest every source shares.
 *
 * Invariant of an entity handed to the scan loop: tu_entity_check() passed,
 * so kind is a valid name (it becomes a subject token), name and namespace
 * are 1..TU_MAX_NAME bytes of UTF-8 without NUL, attrs are sorted by key,
 * unique and within TU_MAX_ATTRS / TU_MAX_ATTR_KEY / TU_MAX_ATTR_VALUE.
 * Strings are the source's (usually arena) memory, valid for one callback.
 */
#ifndef TU_ENTITY_H
#define TU_ENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "ids.h"
#include "pb.h"
#include "status.h"
#include "text.h"

struct tu_entity {
	const char *kind;         /* entity kind; a valid name */
	const char *ns;           /* namespace */
	const char *name;         /* name within kind and namespace */
	Trueup__V1__Attr **attrs; /* sorted by key, unique */
	size_t n_attrs;           /* entries of attrs */
};

/*
 * Sorts attrs by key and checks that no key repeats. On a repeat returns
 * TU_EINVAL and writes "attribute 'k' given twice" to why.
 */
tu_status tu_entity_sort_attrs(Trueup__V1__Attr **attrs, size_t n, char *why, size_t whylen);

/*
 * Checks e against the invariant above (attrs must already be sorted).
 * Returns TU_EINVAL (malformed) or TU_ETOOBIG (over a bound) with a reason in
 * why that names the field and, for bounds, the bound, e.g.
 * "attribute 'spec' value is 70000 bytes, over TU_MAX_ATTR_VALUE (65536)".
 */
tu_status tu_entity_check(const struct tu_entity *e, char *why, size_t whylen);

/*
 * The map key of an entity: kind NUL namespace NUL name, in arena memory.
 * *len gets its length.
 */
char *tu_entity_key(struct tu_arena *a, const char *kind, const char *ns, const char *name,
		    size_t *len);

/*
 * Splits a key made by tu_entity_key() into arena copies of its three parts.
 * Returns false if key does not have that shape (a bug: keys are only made
 * by tu_entity_key()).
 */
bool tu_entity_key_split(struct tu_arena *a, const char *key, size_t len, const char **kind,
			 const char **ns, const char **name);

/*
 * Digest of the canonical form of sorted attrs: each key and value followed
 * by a NUL, hashed with tu_digest_hex(). Equal attrs give equal digests;
 * the digest of no attrs is the digest of no bytes.
 */
void tu_entity_digest(struct tu_arena *a, Trueup__V1__Attr *const *attrs, size_t n,
		      char out[TU_ID_SIZE]);

#endif
