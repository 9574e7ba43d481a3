/*
 * jsonarena.h - jansson values built in an arena.
 *
 * A source reads JSON in bulk: a Kubernetes list page holds thousands of small
 * objects, a MongoDB scan converts every document. jansson makes each string,
 * object, array and hash table entry with its own malloc() and frees them one
 * by one; at 100 000 objects that was half of a producer's CPU, most of it in
 * malloc's bookkeeping (BENCHMARKS.md, Producers). In an arena a page's values
 * cost a few bump allocations, and dropping them costs nothing.
 *
 * tu_json_arena_install() gives jansson, for the whole process, an allocator
 * that takes memory from the calling thread's current arena, or from malloc()
 * when the thread has none; a free that falls in the current arena's blocks is
 * nothing, any other is free(). So values made outside an arena are plain malloc
 * blocks, as jansson documents (json_dumps() text is free()d). Call it once, at
 * the start of main(), before any JSON value exists. Then, in one thread:
 *
 *   tu_json_arena_enter(&ja);           values made from now on come from ja
 *   root = json_loadb(...); ... json_decref(root);   (the decref frees nothing of ja's)
 *   tu_json_arena_leave(&ja);           ja is emptied: its values are gone
 *
 * Values made between enter and leave must be dropped before leave (never keep,
 * incref or hand them on, never free them later), and json_dumps() is not for
 * use in between (its text would be arena memory). Without install(), enter and
 * leave do nothing and jansson uses malloc() as usual, so code using them works
 * in every program.
 * Workload: one enter/leave per page or per document; blocks are kept between
 * uses up to TU_JSON_ARENA_KEEP bytes.
 */
#ifndef TU_JSONARENA_H
#define TU_JSONARENA_H

#include <stdbool.h>
#include <stddef.h>

#define TU_JSON_ARENA_BLOCK (1u << 20)  /* bytes of a block (larger values get their own) */
#define TU_JSON_ARENA_KEEP (16u << 20)  /* bytes of blocks kept by leave for the next use */

struct tu_json_block;

struct tu_json_arena {
	struct tu_json_block *blocks; /* owned list; allocation fills them in order */
	struct tu_json_block *cur;    /* the block allocated from now (NULL: none yet) */
	size_t off;                   /* bytes used in cur */
	bool active;                  /* between enter and leave */
};

/* Replaces jansson's allocator (see above); idempotent. */
void tu_json_arena_install(void);
/* True once install() ran. */
bool tu_json_arena_installed(void);

void tu_json_arena_init(struct tu_json_arena *ja);
/* Frees every block; ja must not be active. */
void tu_json_arena_release(struct tu_json_arena *ja);
/* The calling thread's new JSON values come from ja until leave (not nested). */
void tu_json_arena_enter(struct tu_json_arena *ja);
/* Back to malloc() for this thread; ja's values are gone, its blocks kept for reuse. */
void tu_json_arena_leave(struct tu_json_arena *ja);

#endif
