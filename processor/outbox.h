/*
 * outbox.h - drains the view's outbox to JetStream.
 *
 * The fold writes derived messages (drift events, commands, dead letters) to
 * the outbox in the same LMDB transaction as the fold; this publisher sends
 * them in outbox order with Nats-Msg-Id set, asynchronously, and deletes each
 * entry once JetStream has acked it. An entry not acked within
 * processor.outbox_retry, or whose publish failed, is sent again: the
 * stream's duplicate window turns resends into no-ops. After a crash every
 * remaining entry is sent again for the same reason.
 *
 * Threads: one publisher thread; tu_outbox_on_ack() runs on nats.c's thread;
 * tu_outbox_kick() from the fold thread after each commit.
 */
#ifndef TU_OUTBOX_H
#define TU_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include <lmdb.h>

#include "status.h"
#include "view.h"

typedef struct tu_outbox tu_outbox;

/* The view and bus must outlive the outbox. */
tu_outbox *tu_outbox_create(tu_view *view, tu_bus *bus, const struct tu_processor_config *cfg);
/* Stops the thread (if started) and frees. NULL is a no-op. */
void tu_outbox_destroy(tu_outbox *o);
tu_status tu_outbox_start(tu_outbox *o);
/* New entries were committed. */
void tu_outbox_kick(tu_outbox *o);
/* The bus's ack callback (ctx = the outbox). */
void tu_outbox_on_ack(void *ctx, const char *msg_id, tu_status st, uint64_t seq, bool dup);
/*
 * Deletes the entries JetStream has acked inside the caller's write
 * transaction (the fold's, so the publisher needs no write transaction of its
 * own while batches flow). Then call tu_outbox_reclaim_end() with whether the
 * transaction committed; if not, the entries are deleted later.
 */
tu_status tu_outbox_reclaim(tu_outbox *o, MDB_txn *txn);
void tu_outbox_reclaim_end(tu_outbox *o, bool committed);
/*
 * High availability (lease.h): a standby keeps its entries and sends
 * nothing; switching either way makes the next send start at the first
 * entry.
 */
void tu_outbox_set_standby(tu_outbox *o, bool standby);
/*
 * Deletes, inside the caller's write transaction, the leading entries
 * derived from events up to through_seq (a standby: the holder has sent
 * them). *trimmed counts them.
 */
tu_status tu_outbox_trim(tu_outbox *o, MDB_txn *txn, uint64_t through_seq, uint64_t *trimmed);
/*
 * The sequence through which every derived message has been acked by
 * JetStream: applied_seq, or just below the oldest entry still waiting.
 */
tu_status tu_outbox_settled(tu_outbox *o, uint64_t *through_seq);
/* Waits until the outbox is empty or timeout_ms passes; TU_ETIMEOUT if not empty. */
tu_status tu_outbox_drain(tu_outbox *o, int64_t timeout_ms);
/* Entries in the outbox (committed, not yet acked). */
uint64_t tu_outbox_depth(tu_outbox *o);
/* Messages acked by JetStream since start. */
uint64_t tu_outbox_published(tu_outbox *o);

/*
 * Internal, exposed for tests: whether the publisher thread has work now, or
 * sleeps until it is kicked, an ack or failure comes, or its 100 ms tick. Acked
 * entries are its work only while the fold is idle (no reclaim for 200 ms):
 * otherwise the fold deletes them in its next transaction.
 */
bool tu__outbox_has_work(bool stop, bool kicked, bool failed, size_t n_acked,
			 int64_t since_reclaim_ns);

#endif
