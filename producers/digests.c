/*
 * digests.c - the per-source digest table (see digests.h).
 * Invariant: an entry's `seen` equals the table's `scan` exactly when the
 * current scan observed the entity.
 */
#include "digests.h"

#include <stdlib.h>
#include <string.h>

#include "keymap.h"
#include "xalloc.h"

struct digest_entry {
	char digest[TU_ID_SIZE]; /* hex digest of the attrs last published */
	uint64_t seen;           /* number of the last scan that saw the entity */
};

struct tu_digests {
	tu_keymap *map; /* owned: entity key -> struct digest_entry */
	uint64_t scan;  /* number of the current scan; 0 before the first */
};

tu_digests *tu_digests_create(void)
{
	tu_digests *d = tu_xcalloc(1, sizeof(*d));
	d->map = tu_keymap_create(sizeof(struct digest_entry));
	return d;
}

void tu_digests_destroy(tu_digests *d)
{
	if (d == NULL)
		return;
	tu_keymap_destroy(d->map);
	free(d);
}

size_t tu_digests_count(const tu_digests *d)
{
	return tu_keymap_count(d->map);
}

void tu_digests_begin(tu_digests *d)
{
	d->scan++;
}

enum tu_change tu_digests_observe(tu_digests *d, const void *key, size_t len, const char *digest,
				  bool *repeat)
{
	bool created = false;
	struct digest_entry *e = tu_keymap_put(d->map, key, len, &created);
	enum tu_change c = TU_CHANGE_NEW;
	if (!created)
		c = strcmp(e->digest, digest) == 0 ? TU_CHANGE_SAME : TU_CHANGE_CHANGED;
	if (repeat != NULL)
		*repeat = !created && e->seen == d->scan;
	strncpy(e->digest, digest, TU_ID_SIZE - 1);
	e->digest[TU_ID_SIZE - 1] = '\0';
	e->seen = d->scan;
	return c;
}

const char *tu_digests_get(const tu_digests *d, const void *key, size_t len)
{
	const struct digest_entry *e = tu_keymap_get(d->map, key, len);
	return e != NULL ? e->digest : NULL;
}

struct sweep_ctx {
	uint64_t scan;         /* the current scan */
	tu_digests_gone_fn fn; /* told about each unseen entity */
	void *ctx;
};

static bool sweep_one(void *ctx, const void *key, size_t len, void *val)
{
	struct sweep_ctx *sc = ctx;
	const struct digest_entry *e = val;
	if (e->seen == sc->scan)
		return false;
	sc->fn(sc->ctx, key, len);
	return true;
}

void tu_digests_sweep(tu_digests *d, tu_digests_gone_fn fn, void *ctx)
{
	struct sweep_ctx sc = { d->scan, fn, ctx };
	tu_keymap_each(d->map, sweep_one, &sc);
}
