/*
 * batch.c - one fetched batch, one LMDB transaction (see batch.h).
 */
#include "batch.h"

#include <stdlib.h>

#include "bus.h"
#include "contract.h"
#include "log.h"

static size_t msg_headers(const void *src, struct tu_arena *a, const char ***keys,
			  const char ***vals)
{
	natsMsg *m = (natsMsg *)src;
	const char **k = NULL;
	int n = 0;
	if (natsMsgHeader_Keys(m, &k, &n) != NATS_OK || n <= 0)
		return 0;
	const char **ks = tu_arena_alloc(a, (size_t)n * sizeof(*ks));
	const char **vs = tu_arena_alloc(a, (size_t)n * sizeof(*vs));
	for (int i = 0; i < n; i++) {
		const char *val = NULL;
		ks[i] = tu_arena_strdup(a, k[i]);
		natsMsgHeader_Get(m, k[i], &val);
		vs[i] = tu_arena_strdup(a, val ? val : "");
	}
	free((void *)k);
	*keys = ks;
	*vals = vs;
	return (size_t)n;
}

/* One attempt at the whole batch; TU_EFULL means grow and try again. */
static tu_status attempt(tu_fold *f, tu_view *v, natsMsg **msgs, int n,
			 const struct tu_batch_opts *opts, struct tu_batch_result *res)
{
	MDB_txn *txn = NULL;
	tu_status st = tu_view_begin(v, true, &txn);
	if (st != TU_OK)
		return st;
	st = tu_fold_begin(f, txn);
	struct tu_batch_result r = { 0 };
	for (int i = 0; i < n && st == TU_OK; i++) {
		struct tu_bus_meta meta;
		if (tu_bus_meta(msgs[i], &meta) != TU_OK) {
			/* Not a JetStream delivery: nothing in TRUEUP_EVENTS can look like this. */
			tu_warn("message on %s without JetStream metadata ignored",
				natsMsg_GetSubject(msgs[i]));
			r.done++;
			continue;
		}
		uint64_t applied = tu_fold_applied_seq(f);
		if (meta.stream_seq <= applied) {
			r.done++; /* redelivered, already folded: acked with the batch */
			continue;
		}
		if ((opts->until_seq > 0 && meta.stream_seq > opts->until_seq) ||
		    (opts->until_ns > 0 && meta.ts_ns > opts->until_ns)) {
			r.reached_until = true;
			break;
		}
		if (meta.stream_seq > applied + 1 && !(i == 0 && opts->accept_gap_first) &&
		    applied > 0) {
			r.gap = true;
			r.gap_from = applied + 1;
			r.gap_to = meta.stream_seq - 1;
			break;
		}
		struct tu_fold_event ev = {
			.seq = meta.stream_seq,
			.ts_ns = meta.ts_ns,
			.subject = natsMsg_GetSubject(msgs[i]),
			.type = NULL, /* from the subject: see fold.h */
			.data = natsMsg_GetData(msgs[i]),
			.len = (size_t)natsMsg_GetDataLength(msgs[i]),
			.headers = msg_headers,
			.header_src = msgs[i],
		};
		st = tu_fold_event(f, &ev);
		if (st == TU_OK) {
			r.done++;
			r.folded++;
		}
	}
	if (st == TU_OK)
		st = tu_fold_end(f);
	if (st == TU_OK && opts->before_commit != NULL)
		st = opts->before_commit(opts->ctx, txn);
	if (st != TU_OK) {
		tu_view_abort(v, txn);
		tu_fold_abort(f);
		if (opts->after != NULL)
			opts->after(opts->ctx, false);
		return st;
	}
	st = tu_view_commit(v, txn);
	if (opts->after != NULL)
		opts->after(opts->ctx, st == TU_OK);
	if (st != TU_OK) {
		tu_fold_abort(f);
		return st;
	}
	r.applied_seq = tu_fold_applied_seq(f);
	*res = r;
	return TU_OK;
}

tu_status tu_batch_fold(tu_fold *f, tu_view *v, natsMsg **msgs, int n,
			const struct tu_batch_opts *opts, struct tu_batch_result *res)
{
	for (int tries = 0;; tries++) {
		tu_status st = attempt(f, v, msgs, n, opts, res);
		if (st != TU_EFULL || tries >= 8)
			return st;
		tu_warn("view map full; growing it and folding the batch again");
		st = tu_view_grow(v);
		if (st != TU_OK)
			return st;
	}
}
