/*
 * mongo_target.h - the mongodb target: executes delete-one, update-one and
 * insert-one commands as compare-and-set writes (mongo-c-driver 1.23, one
 * client pool per target; docs/targets.md).
 *
 * Preconditions become part of the write's filter (field_equals f=v adds
 * {f: {$in: [v as the producer renders it]}}, exists/absent add
 * {f: {$exists: ...}}, all joined to the command's filter with $and), so a
 * write changes a document only if it still is what the rule saw. When a
 * write matches nothing, reads on the bare filter tell skipped-precondition
 * (the document is there but different) from noop (already gone, already
 * as desired). Only idempotent effects are allowed ($set and $unset
 * updates; inserts need an _id), so a redelivery after a lost outcome never
 * applies an effect twice: it finds the work done (noop).
 *
 * Batches: the commands of one fetch (execute_batch) are grouped by
 * database and collection and each group runs as one unordered bulk write;
 * write errors map back by index, and the bulk's counts (plus reads where
 * the counts alone cannot tell) give each command its own verdict.
 */
#ifndef TU_MONGO_TARGET_H
#define TU_MONGO_TARGET_H

#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stddef.h>

#include "adapter.h"
#include "config.h"
#include "pb.h"
#include "status.h"

/* The adapter object (config.h's struct tu_mongo_target is the target's config). */
typedef struct tu_mongo_adapter tu_mongo_adapter;

/*
 * Creates the target from its config (borrowed: cfg must outlive it).
 * Checks the URI; does not connect (the first command does), so an
 * unreachable MongoDB at start becomes failed-retryable outcomes.
 */
tu_status tu_mongo_adapter_create(const struct tu_target_config *cfg, tu_mongo_adapter **out,
				  char *err, size_t errlen);
/* Closes the pool. NULL is a no-op. */
void tu_mongo_adapter_destroy(tu_mongo_adapter *t);

/* The adapter view of t (adapter.h, with execute_batch); valid while t lives. */
void tu_mongo_adapter_view(tu_mongo_adapter *t, struct tu_adapter *out);

/* True for delete-one, update-one and insert-one. */
bool tu_mongo_verb_known(const char *action);

/* ---- internals, exposed for the unit tests -------------------------------------------- */

#define TU_MONGO_SHOWN 400 /* bytes of a filter or document quoted in a detail */

enum tu__mongo_verb {
	TU_MONGO_DELETE_ONE = 1,
	TU_MONGO_UPDATE_ONE = 2,
	TU_MONGO_INSERT_ONE = 3,
};

/* One command as MongoDB documents. */
struct tu__mongo_op {
	enum tu__mongo_verb verb;
	const char *database;   /* borrowed from the command's params */
	const char *collection; /* borrowed from the command's params */
	bson_t *filter;         /* delete/update: the command's filter (owned) */
	bson_t *full;           /* delete/update: filter AND the preconditions (owned) */
	bson_t *update;         /* update: the update document, $set/$unset only (owned) */
	bson_t *desired;        /* update: filter AND the fields as the update leaves them (owned) */
	bson_t *document;       /* insert: the document, with an _id (owned) */
	bson_t *by_id;          /* insert: {_id: <the document's _id>} (owned) */
};

/*
 * Builds op from cmd's params (database, collection, filter, update,
 * document: relaxed extended JSON) and preconditions. Bad params (missing,
 * unknown, not JSON, an empty filter, an update operator other than $set
 * and $unset, an insert without _id, a precondition the verb cannot use)
 * return TU_EINVAL with err naming the param or precondition; op is then
 * released. Release a built op with tu__mongo_op_release().
 */
tu_status tu__mongo_op_build(const Trueup__V1__FixCommand *cmd, struct tu__mongo_op *op,
			     char *err, size_t errlen);
void tu__mongo_op_release(struct tu__mongo_op *op);

/* failed-retryable or failed-permanent for a failed driver call (tu_mongo_retryable). */
Trueup__V1__Outcome__Result tu__mongo_classify(const bson_error_t *e);

/* How the document of a write looks after a bulk (read only when counts do not decide). */
enum tu__mongo_after {
	TU_MONGO_AFTER_GONE = 1, /* no document matches the bare filter */
	TU_MONGO_AFTER_OTHER,    /* one matches the filter, not the desired state */
	TU_MONGO_AFTER_DESIRED,  /* update: one matches the filter and the desired state */
};

/*
 * Whether the counts of a bulk leave the verdicts of its m writes of verb
 * (delete-one or update-one, those without a write error) open, so that
 * tu__mongo_decide() needs after[]. count is nRemoved (deletes) or nMatched
 * (updates), modified is nModified.
 */
bool tu__mongo_needs_after(enum tu__mongo_verb verb, size_t m, int64_t count, int64_t modified);

/*
 * The verdicts of those m writes: res[i] and exact[i] (false: succeeded or
 * noop cannot be told apart from the counts; the result is `succeeded`).
 * after may be NULL when tu__mongo_needs_after() said no.
 */
void tu__mongo_decide(enum tu__mongo_verb verb, size_t m, int64_t count, int64_t modified,
		      const enum tu__mongo_after *after, Trueup__V1__Outcome__Result *res,
		      bool *exact);

#endif
