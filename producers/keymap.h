/*
 * keymap.h - a hash map from byte-string keys to small fixed-size values.
 *
 * The producers keep one entry per entity a source holds (the digest table,
 * up to ~100k entries) and one per manifest a files scan has declared. Keys
 * are copied into the entry; each value is val_size bytes stored inline in
 * the entry, zeroed when the entry is created, so one allocation serves a key
 * and its value.
 *
 * Invariants: separate chaining, buckets a power of two, the table doubles
 * when it holds more than two entries per bucket. Removing during
 * tu_keymap_each() is allowed for the entry being visited only.
 * Not thread-safe: one owner at a time.
 */
#ifndef TU_KEYMAP_H
#define TU_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tu_keymap tu_keymap;

/* A new empty map whose values are val_size bytes. Caller destroys it. */
tu_keymap *tu_keymap_create(size_t val_size);
/* Frees every entry and the map. NULL does nothing. */
void tu_keymap_destroy(tu_keymap *m);

/* Entries held. */
size_t tu_keymap_count(const tu_keymap *m);

/*
 * The value stored for key, or NULL. The pointer is valid until the entry is
 * removed or the map destroyed (entries never move).
 */
void *tu_keymap_get(const tu_keymap *m, const void *key, size_t len);

/*
 * The value for key, creating a zeroed one if there is none; *created (may
 * be NULL) says which. Same lifetime as tu_keymap_get().
 */
void *tu_keymap_put(tu_keymap *m, const void *key, size_t len, bool *created);

/* Removes key; returns whether it was there. */
bool tu_keymap_remove(tu_keymap *m, const void *key, size_t len);

/*
 * Calls fn for each entry in no particular order. fn returns true to remove
 * the entry it was given (after the call); key and val are valid during the
 * call only.
 */
typedef bool (*tu_keymap_fn)(void *ctx, const void *key, size_t len, void *val);
void tu_keymap_each(tu_keymap *m, tu_keymap_fn fn, void *ctx);

#endif
