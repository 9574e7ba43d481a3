/*
 * seen_sink.h - a scan sink (producers/source.h) for the sources' unit
 * tests: it records each entity as "kind/ns/name k=v,k=v" and each skipped
 * entry's reason, and never asks a scan to stop. Include after testmain.h.
 *
 *   struct seen seen = { 0 };
 *   struct tu_scan_sink sink = { on_entity, on_skip, on_stopping, &seen };
 */
#ifndef TU_SEEN_SINK_H
#define TU_SEEN_SINK_H

#include <stdbool.h>
#include <stdio.h>

#include "source.h"

#define MAX_SEEN 32 /* entities and skips one test scan may record */

/* What one scan handed to the sink. */
struct seen {
	char ents[MAX_SEEN][512]; /* "kind/ns/name a=1,b=2" */
	int n;
	char skips[MAX_SEEN][1024];
	int n_skips;
};

static tu_status on_entity(void *ctx, const struct tu_entity *e)
{
	struct seen *s = ctx;
	assert_true(s->n < MAX_SEEN);
	char *p = s->ents[s->n++];
	int off = snprintf(p, 512, "%s/%s/%s", e->kind, e->ns, e->name);
	for (size_t i = 0; i < e->n_attrs; i++)
		off += snprintf(p + off, 512 - (size_t)off, "%s%s=%s", i ? "," : " ",
				e->attrs[i]->key, e->attrs[i]->value);
	return TU_OK;
}

static void on_skip(void *ctx, const char *why)
{
	struct seen *s = ctx;
	assert_true(s->n_skips < MAX_SEEN);
	snprintf(s->skips[s->n_skips++], 1024, "%s", why);
}

static bool on_stopping(void *ctx)
{
	(void)ctx;
	return false;
}

#endif
