/*
 * arena.c - bump allocator (see arena.h).
 * Invariant: blocks form a list from newest to oldest; only the newest has
 * free space worth using. Reset frees all blocks but the oldest. Under
 * AddressSanitizer (asan.h) every byte not handed out is poisoned, and
 * each piece is followed by a poisoned redzone, so that reading past a
 * piece is reported as it is for malloc.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asan.h"
#include "xalloc.h"

struct tu_arena_block {
	struct tu_arena_block *next; /* older block */
	size_t size;                 /* bytes in mem */
	size_t off;                  /* bytes used in mem */
	_Alignas(max_align_t) unsigned char mem[];
};

static void *pb_alloc(void *ctx, size_t n)
{
	return tu_arena_alloc_raw(ctx, n);
}

static void pb_free(void *ctx, void *p)
{
	(void)ctx;
	(void)p; /* freed with the arena */
}

static struct tu_arena_block *block_new(size_t size)
{
	struct tu_arena_block *b = tu_xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->off = 0;
	tu_asan_poison(b->mem, size);
	return b;
}

static void block_free(struct tu_arena_block *b)
{
	tu_asan_unpoison(b->mem, b->size);
	free(b);
}

void tu_arena_init(struct tu_arena *a, size_t block_size)
{
	a->block_size = block_size < 1024 ? 1024 : block_size;
	a->head = block_new(a->block_size);
	a->used = 0;
	a->pb.alloc = pb_alloc;
	a->pb.free = pb_free;
	a->pb.allocator_data = a;
}

void tu_arena_release(struct tu_arena *a)
{
	struct tu_arena_block *b = a->head;
	while (b != NULL) {
		struct tu_arena_block *next = b->next;
		block_free(b);
		b = next;
	}
	a->head = NULL;
}

void tu_arena_reset(struct tu_arena *a)
{
	struct tu_arena_block *b = a->head;
	while (b->next != NULL) {
		struct tu_arena_block *next = b->next;
		block_free(b);
		b = next;
	}
	b->off = 0;
	tu_asan_poison(b->mem, b->size);
	a->head = b;
	a->used = 0;
}

void *tu_arena_alloc(struct tu_arena *a, size_t n)
{
	void *p = tu_arena_alloc_raw(a, n);
	memset(p, 0, n);
	return p;
}

void *tu_arena_alloc_raw(struct tu_arena *a, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	size_t want = n;
	n = (n + TU_ASAN_REDZONE + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	struct tu_arena_block *b = a->head;
	if (b->size - b->off < n) {
		size_t size = n > a->block_size ? n : a->block_size;
		struct tu_arena_block *nb = block_new(size);
		nb->next = b;
		a->head = nb;
		b = nb;
	}
	void *p = b->mem + b->off;
	b->off += n;
	a->used += n;
	tu_asan_unpoison(p, want);
	return p;
}

char *tu_arena_strndup(struct tu_arena *a, const char *s, size_t n)
{
	char *p = tu_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *tu_arena_strdup(struct tu_arena *a, const char *s)
{
	return tu_arena_strndup(a, s, strlen(s));
}

void *tu_arena_memdup(struct tu_arena *a, const void *p, size_t n)
{
	void *q = tu_arena_alloc(a, n);
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

char *tu_arena_printf(struct tu_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	char *p = tu_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

ProtobufCAllocator *tu_arena_pb(struct tu_arena *a)
{
	return &a->pb;
}

struct tu_arena_mark tu_arena_mark(const struct tu_arena *a)
{
	struct tu_arena_mark m = { a->head, a->head->off, a->used };
	return m;
}

void tu_arena_rewind(struct tu_arena *a, struct tu_arena_mark m)
{
	while (a->head != m.block) {
		struct tu_arena_block *next = a->head->next;
		block_free(a->head);
		a->head = next;
	}
	a->head->off = m.off;
	tu_asan_poison(a->head->mem + m.off, a->head->size - m.off);
	a->used = m.used;
}

void tu_arena_push(struct tu_arena *a, struct tu_arena_vec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		void **items = tu_arena_alloc_raw(a, cap * sizeof(*items));
		if (v->n > 0)
			memcpy(items, v->items, v->n * sizeof(*items));
		v->items = items;
		v->cap = cap;
	}
	v->items[v->n++] = p;
}
