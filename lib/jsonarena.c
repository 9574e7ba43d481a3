/*
 * jsonarena.c - jansson values built in an arena (see jsonarena.h).
 *
 * Invariants: an arena's blocks are used in list order and `cur`/`off` say
 * how far; memory handed to jansson while a thread has a current arena comes
 * from its blocks, any other from malloc(); a thread has at most one current
 * arena.
 */
#include "jsonarena.h"

#include <assert.h>
#include <jansson.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "xalloc.h"

#define ALIGN alignof(max_align_t)

struct tu_json_block {
	struct tu_json_block *next; /* the block used after this one */
	size_t size;                /* bytes in mem */
	alignas(max_align_t) unsigned char mem[];
};

static _Thread_local struct tu_json_arena *g_current; /* this thread's arena, if any */
static bool g_installed;

static void *arena_take(struct tu_json_arena *ja, size_t n)
{
	n = (n + ALIGN - 1) & ~(ALIGN - 1);
	while (ja->cur != NULL && ja->cur->size - ja->off < n && ja->cur->next != NULL) {
		ja->cur = ja->cur->next;
		ja->off = 0;
	}
	if (ja->cur == NULL || ja->cur->size - ja->off < n) {
		size_t size = n > TU_JSON_ARENA_BLOCK ? n : TU_JSON_ARENA_BLOCK;
		struct tu_json_block *b = tu_xmalloc(sizeof(*b) + size);
		b->next = NULL;
		b->size = size;
		if (ja->cur == NULL)
			ja->blocks = b;
		else
			ja->cur->next = b;
		ja->cur = b;
		ja->off = 0;
	}
	void *p = ja->cur->mem + ja->off;
	ja->off += n;
	return p;
}

/* Is p in one of ja's blocks? (A few blocks of a megabyte: a short walk.) */
static bool in_arena(const struct tu_json_arena *ja, const void *p)
{
	const unsigned char *q = p;
	for (const struct tu_json_block *b = ja->blocks; b != NULL; b = b->next)
		if (q >= b->mem && q < b->mem + b->size)
			return true;
	return false;
}

static void *json_alloc(size_t n)
{
	return g_current != NULL ? arena_take(g_current, n) : malloc(n);
}

static void json_release(void *p)
{
	if (p != NULL && (g_current == NULL || !in_arena(g_current, p)))
		free(p);
}

void tu_json_arena_install(void)
{
	if (g_installed)
		return;
	json_set_alloc_funcs(json_alloc, json_release);
	g_installed = true;
}

bool tu_json_arena_installed(void)
{
	return g_installed;
}

void tu_json_arena_init(struct tu_json_arena *ja)
{
	ja->blocks = NULL;
	ja->cur = NULL;
	ja->off = 0;
	ja->active = false;
}

void tu_json_arena_release(struct tu_json_arena *ja)
{
	assert(!ja->active);
	struct tu_json_block *b = ja->blocks;
	while (b != NULL) {
		struct tu_json_block *next = b->next;
		free(b);
		b = next;
	}
	tu_json_arena_init(ja);
}

void tu_json_arena_enter(struct tu_json_arena *ja)
{
	assert(!ja->active && g_current == NULL);
	ja->active = true;
	if (g_installed)
		g_current = ja;
}

void tu_json_arena_leave(struct tu_json_arena *ja)
{
	assert(ja->active);
	ja->active = false;
	if (g_current == ja)
		g_current = NULL;
	/* Keep the first blocks, up to TU_JSON_ARENA_KEEP bytes, for the next use. */
	size_t kept = 0;
	struct tu_json_block **link = &ja->blocks;
	while (*link != NULL && kept + (*link)->size <= TU_JSON_ARENA_KEEP) {
		kept += (*link)->size;
		link = &(*link)->next;
	}
	struct tu_json_block *b = *link;
	*link = NULL;
	while (b != NULL) {
		struct tu_json_block *next = b->next;
		free(b);
		b = next;
	}
	ja->cur = ja->blocks;
	ja->off = 0;
}
