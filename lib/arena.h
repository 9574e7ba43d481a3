/*
 * arena.h - bump allocator for short-lived message graphs.
 *
 * One fold step (one event) or one command builds and decodes protobuf
 * messages whose pieces all die together: they come from an arena that is
 * reset after the step. tu_arena_pb() adapts the arena to protobuf-c, so
 * `__unpack(tu_arena_pb(a), ...)` allocates from it too; such messages must
 * not be passed to `__free_unpacked` (reset the arena instead).
 * Allocation aborts on exhaustion like xalloc.h.
 */
#ifndef TU_ARENA_H
#define TU_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct tu_arena_block;

struct tu_arena {
	struct tu_arena_block *head;  /* newest block, the one allocated from */
	size_t block_size;            /* default size of a new block */
	size_t used;                  /* bytes handed out since the last reset */
	ProtobufCAllocator pb;        /* protobuf-c view of this arena */
};

void tu_arena_init(struct tu_arena *a, size_t block_size);
void tu_arena_release(struct tu_arena *a);
/* Frees everything allocated since init; keeps the first block. */
void tu_arena_reset(struct tu_arena *a);
/* Memory aligned for any type; zeroed. */
void *tu_arena_alloc(struct tu_arena *a, size_t n);
/* The same, not zeroed (protobuf-c initializes what it unpacks). */
void *tu_arena_alloc_raw(struct tu_arena *a, size_t n);
char *tu_arena_strdup(struct tu_arena *a, const char *s);
char *tu_arena_strndup(struct tu_arena *a, const char *s, size_t n);
char *tu_arena_printf(struct tu_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void *tu_arena_memdup(struct tu_arena *a, const void *p, size_t n);
ProtobufCAllocator *tu_arena_pb(struct tu_arena *a);

/*
 * A growing array of pointers in the arena: push appends p, doubling the
 * storage as needed (the old storage stays in the arena until reset).
 */
struct tu_arena_vec {
	void **items; /* n entries */
	size_t n;
	size_t cap;
};
void tu_arena_push(struct tu_arena *a, struct tu_arena_vec *v, void *p);

/* A point to rewind to: everything allocated after it can be freed at once. */
struct tu_arena_mark {
	struct tu_arena_block *block; /* newest block at the mark */
	size_t off;                   /* its offset at the mark */
	size_t used;                  /* a->used at the mark */
};

struct tu_arena_mark tu_arena_mark(const struct tu_arena *a);
/* Frees what was allocated since m (loops that allocate per item use this). */
void tu_arena_rewind(struct tu_arena *a, struct tu_arena_mark m);

#endif
