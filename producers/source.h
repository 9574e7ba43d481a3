/*
 * source.h - what every source adapter (Redis, files, ...) offers the scan
 * loop, and what the scan loop offers it back.
 *
 * A scan asks the adapter to read its whole source once. The adapter hands
 * each entity it finds to sink->entity() (after tu_source_emit() checked it),
 * reports each entry it had to skip through tu_source_skip(), and checks
 * sink->stopping() between round trips. Its return value says whether the
 * source was read to the end: only then may the scan loop infer deletions
 * (and only if nothing was skipped).
 *
 * Threads: a source is used by one scanner thread at a time.
 */
#ifndef TU_SOURCE_H
#define TU_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "entity.h"
#include "status.h"

/* The scan loop's side of a scan. */
struct tu_scan_sink {
	/*
	 * One entity seen; e and its strings are valid during the call only.
	 * Returns TU_OK to go on, TU_ESTOP when the scan must stop (shutdown), or
	 * the failure that ends the scan (publishing failed).
	 */
	tu_status (*entity)(void *ctx, const struct tu_entity *e);
	/* One source entry skipped as malformed; why is valid during the call only. */
	void (*skip)(void *ctx, const char *why);
	/* True once the scan should stop early (checked between round trips). */
	bool (*stopping)(void *ctx);
	void *ctx;
};

struct tu_source;

/* An adapter's functions. */
struct tu_source_ops {
	const char *type; /* "redis", "files" */
	/* Reads the whole source once; see tu_source_scan(). */
	tu_status (*scan)(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			  size_t errlen);
	/* Frees the adapter (the struct embedding struct tu_source). */
	void (*destroy)(struct tu_source *src);
};

/* Embedded as the first member of each adapter's own struct. */
struct tu_source {
	const struct tu_source_ops *ops;    /* the adapter */
	const struct tu_source_config *cfg; /* not owned; must outlive the source */
	char **kinds;                       /* owned; kinds a scan covers, sorted, unique */
	size_t n_kinds;                     /* 0: every kind the source has (no filter) */
};

/*
 * Creates the adapter for cfg->type. cfg must outlive the source. Errors in
 * cfg that the config loader cannot see (a URL the adapter cannot use)
 * return TU_EINVAL with err naming the source and field.
 */
tu_status tu_source_create(const struct tu_source_config *cfg, struct tu_source **out, char *err,
			   size_t errlen);
/* NULL does nothing. */
void tu_source_destroy(struct tu_source *src);

/*
 * Reads the whole source once. TU_OK: every entry was read (some may have
 * been skipped, each reported); TU_ESTOP: the sink asked to stop; anything
 * else: the source could not be read to the end (connection lost, timeout,
 * directory missing), err says why. The sink's own failure is returned as is.
 */
tu_status tu_source_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			 size_t errlen);

/*
 * Checks e (tu_entity_check) and hands it to the sink; a malformed entity is
 * skipped instead, with `what` (the source key or file:line of the entry)
 * in the warning. Returns the sink's status, TU_OK after a skip.
 */
tu_status tu_source_emit(struct tu_source *src, const struct tu_scan_sink *sink,
			 const struct tu_entity *e, const char *what);

/*
 * Reports one skipped entry: logs a warning naming the source and the reason
 * (callers name the key or file and line in fmt; never a secret) and tells
 * the sink.
 */
void tu_source_skip(const struct tu_source *src, const struct tu_scan_sink *sink, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

/* Sets src->kinds to a sorted, de-duplicated copy of kinds[0..n). */
void tu__source_set_kinds(struct tu_source *src, const char *const *kinds, size_t n);

#endif
