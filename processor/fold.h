/*
 * fold.h - the processor's deterministic fold: one fact of TRUEUP_EVENTS at
 * a time into the LMDB view, evaluating rules on what changed and writing the
 * derived drift events, commands and dead letters to the outbox, all in the
 * caller's write transaction.
 *
 * Determinism (DESIGN.md): the result depends only on the sequence of events
 * (their bytes, stream sequence and JetStream timestamp) and the policy. The
 * fold never reads a clock, never looks at batch boundaries, and derives every
 * id from its inputs. A batch is bracketed by tu_fold_begin()/tu_fold_end();
 * if the transaction is aborted, call tu_fold_abort() and fold the same
 * events again.
 *
 * Bad input (undecodable, missing Trueup-Type, fields that break the schema's
 * rules or bounds) is parked as a DeadLetter on trueup.dead.processor through
 * the outbox, counted, and skipped: it never stops the fold.
 */
#ifndef TU_FOLD_H
#define TU_FOLD_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "pb.h"
#include "status.h"
#include "view.h"

typedef struct tu_fold tu_fold;

/* One fact as it came from TRUEUP_EVENTS; pointers live for the call. */
struct tu_fold_event {
	uint64_t seq;           /* stream sequence */
	int64_t ts_ns;          /* JetStream timestamp: the fold's clock */
	const char *subject;
	/*
	 * Trueup-Type if the caller has it, else NULL: the fold takes the type
	 * from the subject (the contract gives each subject of TRUEUP_EVENTS one
	 * type) and parks an event whose given type disagrees. The processor
	 * passes NULL: reading headers costs nats.c a hash table per message.
	 */
	const char *type;
	const void *data;
	size_t len;
	/*
	 * All headers, asked for only when the event is parked as a dead letter:
	 * fills arrays (allocated with tu_arena_alloc from a) and returns the
	 * count. NULL: no headers.
	 */
	size_t (*headers)(const void *src, struct tu_arena *a, const char ***keys,
			  const char ***vals);
	const void *header_src;
};

/* Counters since create (not part of the view). */
struct tu_fold_stats {
	uint64_t folded;          /* events folded */
	uint64_t dead;            /* parked as dead letters */
	uint64_t drift_opened;
	uint64_t drift_resolved;
	uint64_t drift_escalated;
	uint64_t commands;        /* issued or proposed */
	uint64_t outcomes;
	uint64_t outbox_written;  /* messages written to the outbox */
};

/*
 * Called while a fact is folded, inside the batch's transaction: a caller
 * that counts (metrics) must buffer and apply the counts only once the
 * transaction commits, since an aborted batch is folded again. Any may be NULL.
 */
struct tu_fold_hooks {
	/* A drift event was derived; fixed: a RESOLVED after a successful fix. */
	void (*drift)(void *ctx, const char *rule, const char *rule_type,
		      Trueup__V1__DriftEvent__State state, bool fixed);
	/* A command was issued (sent or proposed). */
	void (*command)(void *ctx, const char *rule, const char *target, const char *action);
	/* An outcome was folded. */
	void (*outcome)(void *ctx, const char *target, Trueup__V1__Outcome__Result result);
	void *ctx;
};

/* The policy (cfg) must outlive the fold. */
tu_status tu_fold_create(const struct tu_config *cfg, tu_view *view, tu_fold **out, char *err,
			 size_t errlen);
void tu_fold_destroy(tu_fold *f);
void tu_fold_set_hooks(tu_fold *f, const struct tu_fold_hooks *hooks);

/* Starts a batch in write transaction txn (reads meta it caches). */
tu_status tu_fold_begin(tu_fold *f, MDB_txn *txn);
/*
 * Folds one event. TU_OK when folded or parked; any other status is a
 * storage failure (e.g. TU_EFULL): abort the transaction and redo the batch.
 */
tu_status tu_fold_event(tu_fold *f, const struct tu_fold_event *ev);
/* Writes cached meta (applied_seq = last folded seq, counters). Call before commit. */
tu_status tu_fold_end(tu_fold *f);
/* Forgets the batch after the transaction was aborted. */
void tu_fold_abort(tu_fold *f);

/* The message type the contract gives subject in TRUEUP_EVENTS, or NULL. */
const char *tu_fold_subject_type(const char *subject);

/* Last folded sequence as of the last tu_fold_begin/tu_fold_event. */
uint64_t tu_fold_applied_seq(const tu_fold *f);
const struct tu_fold_stats *tu_fold_stats(const tu_fold *f);

#endif
