/*
 * keymap.c - chained hash map with inline values (see keymap.h).
 *
 * An entry is one allocation: header, value (val_size bytes, aligned for any
 * type), then the key bytes. FNV-1a over the key; the full hash is kept in
 * the entry so that growing never rehashes keys and lookups compare lengths
 * and hashes before bytes.
 */
#include "keymap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define MIN_BUCKETS 64

struct entry {
	struct entry *next; /* next entry of the same bucket */
	uint64_t hash;      /* FNV-1a of the key */
	size_t len;         /* key bytes */
	_Alignas(max_align_t) unsigned char mem[]; /* value (val_size, padded), then key */
};

struct tu_keymap {
	struct entry **buckets; /* owned, nb heads */
	size_t nb;              /* buckets; a power of two */
	size_t n;               /* entries */
	size_t val_size;        /* bytes of each value */
	size_t val_pad;         /* val_size rounded up so the key starts aligned */
};

static uint64_t fnv1a(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = UINT64_C(14695981039346656037);
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static unsigned char *entry_key(const tu_keymap *m, struct entry *e)
{
	return e->mem + m->val_pad;
}

tu_keymap *tu_keymap_create(size_t val_size)
{
	tu_keymap *m = tu_xcalloc(1, sizeof(*m));
	m->nb = MIN_BUCKETS;
	m->buckets = tu_xcalloc(m->nb, sizeof(*m->buckets));
	m->val_size = val_size;
	m->val_pad = (val_size + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
	return m;
}

void tu_keymap_destroy(tu_keymap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nb; i++) {
		struct entry *e = m->buckets[i];
		while (e != NULL) {
			struct entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(m->buckets);
	free(m);
}

size_t tu_keymap_count(const tu_keymap *m)
{
	return m->n;
}

static struct entry **find(const tu_keymap *m, const void *key, size_t len, uint64_t h)
{
	struct entry **pp = &m->buckets[h & (m->nb - 1)];
	while (*pp != NULL) {
		struct entry *e = *pp;
		if (e->hash == h && e->len == len && memcmp(entry_key(m, e), key, len) == 0)
			return pp;
		pp = &e->next;
	}
	return pp;
}

static void grow(tu_keymap *m)
{
	size_t nb = m->nb * 2;
	struct entry **b = tu_xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < m->nb; i++) {
		struct entry *e = m->buckets[i];
		while (e != NULL) {
			struct entry *next = e->next;
			struct entry **head = &b[e->hash & (nb - 1)];
			e->next = *head;
			*head = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nb = nb;
}

void *tu_keymap_get(const tu_keymap *m, const void *key, size_t len)
{
	struct entry **pp = find(m, key, len, fnv1a(key, len));
	return *pp != NULL ? (*pp)->mem : NULL;
}

void *tu_keymap_put(tu_keymap *m, const void *key, size_t len, bool *created)
{
	uint64_t h = fnv1a(key, len);
	struct entry **pp = find(m, key, len, h);
	if (*pp != NULL) {
		if (created != NULL)
			*created = false;
		return (*pp)->mem;
	}
	struct entry *e = tu_xcalloc(1, sizeof(*e) + m->val_pad + len);
	e->hash = h;
	e->len = len;
	if (len > 0)
		memcpy(entry_key(m, e), key, len);
	*pp = e;
	m->n++;
	if (m->n > 2 * m->nb)
		grow(m);
	if (created != NULL)
		*created = true;
	return e->mem;
}

bool tu_keymap_remove(tu_keymap *m, const void *key, size_t len)
{
	struct entry **pp = find(m, key, len, fnv1a(key, len));
	struct entry *e = *pp;
	if (e == NULL)
		return false;
	*pp = e->next;
	free(e);
	m->n--;
	return true;
}

void tu_keymap_each(tu_keymap *m, tu_keymap_fn fn, void *ctx)
{
	for (size_t i = 0; i < m->nb; i++) {
		struct entry **pp = &m->buckets[i];
		while (*pp != NULL) {
			struct entry *e = *pp;
			if (fn(ctx, entry_key(m, e), e->len, e->mem)) {
				*pp = e->next;
				free(e);
				m->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}
