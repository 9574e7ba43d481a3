/*
 * view.h - the processor's materialized view in LMDB.
 *
 * One environment, named databases (records are trueup.view protobufs,
 * processor/view.proto):
 *   meta    string key -> u64 (big-endian)   applied_seq, outbox_next, counters
 *   entity  kind\0ns\0name -> Entity           per-source observations
 *   bysrc   source\0kind\0ns\0name -> ""       entities a source has present (sweeps)
 *   scan    source -> Scan                     latest scan of each source
 *   drift   rule\0kind\0ns\0name -> Drift      pending/open/escalated drift
 *   cmd     command_id -> Command              commands and their fate
 *   outbox  u64 BE -> OutboxEntry              derived messages not yet acked by JetStream
 *   timer   u64 BE due_ns, tag, payload -> ""  fold-time timers (for:, heartbeat expiry)
 *   cidx    rule\0ns\0u64 BE suffix\0name -> "" counter rules' suffix index
 *   watch   u16 BE len, watched, rule\0kind\0ns\0name -> mode
 *                                              anchors re-evaluated when a watched entity
 *                                              (kind\0ns\0name) or class (kind\0ns) changes
 *   deps    rule\0kind\0ns\0name -> watches     what an anchor watches (to replace them)
 *   member  rule\0kind\0ns\0name\0ns\0name -> "" pod-status: failing pods of an owner
 *   hist    rule\0kind\0ns\0name -> image       pod-status: an owner's last Ready image
 *   staged  source\0kind\0ns\0name -> scan_id    deletions held until their scan's END (and
 *                                              while the source is suspect)
 *   budget  rule\0u64 BE ns\0command_id -> ""    destructive commands issued (rules' budgets)
 *
 * Invariants: everything but the outbox is a pure function of the folded
 * prefix of TRUEUP_EVENTS and the policy; the outbox only loses entries
 * (acked ones). meta.applied_seq is the last folded stream sequence and is
 * written in the same transaction as the fold. Keys stay below LMDB's 511
 * byte limit because names are bounded (bounds.h).
 *
 * Sync: the stream is the source of truth, so the default MDB_NOSYNC may lose
 * the last commits on an OS crash (never on a process crash); the processor
 * then refolds them from the stream with the same ids (DESIGN.md Durability).
 */
#ifndef TU_VIEW_H
#define TU_VIEW_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "status.h"

typedef struct tu_view tu_view;

/* Database handles, valid while the view is open. */
struct tu_view_dbs {
	MDB_dbi meta;
	MDB_dbi entity;
	MDB_dbi bysrc;
	MDB_dbi scan;
	MDB_dbi drift;
	MDB_dbi cmd;
	MDB_dbi outbox;
	MDB_dbi timer;
	MDB_dbi cidx;
	MDB_dbi watch;
	MDB_dbi deps;
	MDB_dbi member;
	MDB_dbi hist;
	MDB_dbi staged;
	MDB_dbi budget;
};

/* Meta keys. */
#define TU_META_APPLIED_SEQ "applied_seq"   /* last folded TRUEUP_EVENTS sequence */
#define TU_META_APPLIED_NS "applied_ns"     /* its JetStream timestamp: the fold clock */
#define TU_META_OUTBOX_NEXT "outbox_next"   /* next outbox key */
#define TU_META_FOLDED "folded"             /* events folded */
#define TU_META_DEAD "dead"                 /* events parked as dead letters */
#define TU_META_DRIFT_OPENED "drift_opened" /* drift events OPENED */
#define TU_META_DRIFT_RESOLVED "drift_resolved"
#define TU_META_COMMANDS "commands"         /* commands issued (sent or proposed) */
#define TU_META_OUTCOMES "outcomes"         /* outcomes folded */

/*
 * Opens (creating with create=true) the view in directory dir. map_size in
 * bytes; sync per config. Clears stale reader slots. err says why on failure.
 */
tu_status tu_view_open(const char *dir, int64_t map_size, enum tu_sync_mode sync, bool create,
		       tu_view **out, char *err, size_t errlen);
/* Syncs and closes. NULL is a no-op. */
void tu_view_close(tu_view *v);

MDB_env *tu_view_env(tu_view *v);
const struct tu_view_dbs *tu_view_dbs(const tu_view *v);

/*
 * Begins a transaction (write or read-only). Every transaction begun here ends
 * with tu_view_commit() or tu_view_abort(): they hold the view's resize lock
 * (shared), so that tu_view_grow() never runs under an open transaction.
 */
tu_status tu_view_begin(tu_view *v, bool write, MDB_txn **out);
/* Commits; TU_EFULL on MDB_MAP_FULL (the transaction is gone either way). */
tu_status tu_view_commit(tu_view *v, MDB_txn *txn);
void tu_view_abort(tu_view *v, MDB_txn *txn);
/*
 * Doubles the map size. Waits until no transaction of this process is open;
 * the caller must not hold one.
 */
tu_status tu_view_grow(tu_view *v);
/* Forces a sync to disk (periodically in NOSYNC mode, from any thread; waits for a resize). */
tu_status tu_view_sync(tu_view *v);
/* Clears reader slots of dead processes; returns how many. */
int tu_view_reader_check(tu_view *v);

/* Maps an LMDB return code to tu_status. */
tu_status tu_view_status(int rc);

/* meta u64: missing keys read as 0. */
tu_status tu_view_meta_get(MDB_txn *txn, const tu_view *v, const char *key, uint64_t *out);
tu_status tu_view_meta_put(MDB_txn *txn, const tu_view *v, const char *key, uint64_t val);
tu_status tu_view_meta_add(MDB_txn *txn, const tu_view *v, const char *key, uint64_t delta);

/*
 * Writes every database in key order, one line per record, records decoded
 * to text. With volatile_too=false the outbox is left out: the rest must be
 * equal between any two folds of the same stream prefix and policy.
 */
tu_status tu_view_dump(tu_view *v, FILE *out, bool volatile_too);

/* Big-endian u64 encoding used in keys. */
void tu_view_be64(uint64_t v, unsigned char out[8]);
uint64_t tu_view_get_be64(const unsigned char in[8]);

#endif
