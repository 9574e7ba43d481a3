/*
 * batch.h - folds a fetched batch of TRUEUP_EVENTS messages in one LMDB write
 * transaction: used by the live processor and by `trueup replay`, so both run
 * exactly the same code on the same messages.
 *
 * Handles MDB_MAP_FULL (abort, grow the map, fold the batch again: nothing is
 * lost and, the fold being deterministic, nothing changes) and stops at a
 * sequence gap so the caller can check it against the stream.
 */
#ifndef TU_BATCH_H
#define TU_BATCH_H

#include <lmdb.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "fold.h"
#include "status.h"
#include "view.h"

struct tu_batch_opts {
	bool accept_gap_first; /* the first message may follow applied_seq with a gap */
	uint64_t until_seq;    /* stop before a message with a greater sequence (0 = none) */
	int64_t until_ns;      /* stop before a message with a later timestamp (0 = none) */
	/* Called inside the transaction after the fold, before commit (may be NULL). */
	tu_status (*before_commit)(void *ctx, MDB_txn *txn);
	/* Called once the transaction is committed or aborted (may be NULL). */
	void (*after)(void *ctx, bool committed);
	void *ctx;
};

struct tu_batch_result {
	int done;              /* messages handled (folded or skipped as already folded) */
	int folded;            /* of those, folded now */
	bool gap;              /* stopped at msgs[done]: it skips sequences */
	uint64_t gap_from;     /* first missing sequence */
	uint64_t gap_to;       /* last missing sequence */
	bool reached_until;    /* stopped at msgs[done]: past until_seq/until_ns */
	uint64_t applied_seq;  /* after the batch */
};

tu_status tu_batch_fold(tu_fold *f, tu_view *v, natsMsg **msgs, int n,
			const struct tu_batch_opts *opts, struct tu_batch_result *res);

#endif
