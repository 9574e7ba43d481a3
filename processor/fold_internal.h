/*
 * fold_internal.h - what fold.c, rules.c and drift.c share. Not for other
 * components: they use fold.h.
 */
#ifndef TU_FOLD_INTERNAL_H
#define TU_FOLD_INTERNAL_H

#include <lmdb.h>
#include <stdbool.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "fold.h"
#include "pb.h"
#include "view.h"
#include "view.pb-c.h"

#define TU__KEY_MAX 511 /* LMDB's default maximum key size */

/* A view key under construction: parts joined by NUL bytes. */
struct tu__key {
	unsigned char b[TU__KEY_MAX];
	size_t n; /* bytes used */
	bool over; /* a part did not fit */
};

void tu__key_init(struct tu__key *k);
void tu__key_str(struct tu__key *k, const char *s); /* appends s and, if not first, a NUL before */
void tu__key_raw(struct tu__key *k, const void *p, size_t n);
void tu__key_entity(struct tu__key *k, const char *kind, const char *ns, const char *name);
void tu__key_drift(struct tu__key *k, const char *rule, const Trueup__V1__EntityRef *e);

/* A rule with what the fold precomputes for it. */
struct tu__rule {
	const struct tu_rule_config *cfg;
	const struct tu_action_config **actions; /* every action of the rule; index = ordinal */
	size_t n_actions;
};

/* Timer tags (one byte after the due time in timer keys). */
#define TU__TIMER_FOR 'F'       /* payload: drift key; `for:` elapsed */
#define TU__TIMER_HEARTBEAT 'H' /* payload: entity key; heartbeat TTL elapsed */

/* The reserved source of heartbeat facts and the kind of their entities. */
#define TU__HB_SOURCE "hb"
#define TU__HB_KIND "instance"

/* What a rule concluded about one entity. */
enum tu__verdict_state {
	TU__HOLDS = 0,    /* the rule holds */
	TU__VIOLATED = 1, /* drift */
	TU__UNKNOWN = 2,  /* not enough evidence yet (a source never completed a scan) */
};

/* An action chosen by a verdict, with its stable ordinal in the rule. */
struct tu__action_ref {
	const struct tu_action_config *cfg;
	uint32_t ordinal;
};

#define TU__MAX_VERDICT_ACTIONS 64
#define TU__MAX_DETAILS 64

/* Template variables of one evaluation (lookup order: fixed names, then source.attr). */
struct tu__tctx {
	const char *rule;
	const Trueup__V1__EntityRef *ref;
	const Trueup__View__Entity *ent; /* may be NULL */
	const char *current;             /* counter rules, else NULL */
	const char *desired;
};

struct tu__verdict {
	enum tu__verdict_state state;
	const char *reason;                      /* arena */
	Trueup__V1__Attr *details[TU__MAX_DETAILS]; /* sorted before use */
	size_t n_details;
	struct tu__action_ref actions[TU__MAX_VERDICT_ACTIONS];
	size_t n_actions;
	const char *confirm_sources[16];         /* sources whose fresh scan re-checks a fix */
	size_t n_confirm;
	struct tu__tctx tctx;
};

/* Why the drift state machine runs now. */
enum tu__trigger {
	TU__TRIG_CHANGE = 0,  /* an observation, sweep or expiry changed the entity */
	TU__TRIG_TIMER = 1,   /* the rule's for: elapsed */
	TU__TRIG_CONFIRM = 2, /* a complete scan begun after the fix finished */
};

struct tu_fold {
	const struct tu_config *cfg;
	tu_view *view;
	const struct tu_view_dbs *db;
	struct tu_arena arena;          /* per event */
	struct tu__rule *rules;         /* owned, one per cfg->rules */
	size_t n_rules;
	struct tu_fold_stats stats;

	/* The batch in progress. */
	MDB_txn *txn;                   /* NULL outside a batch */
	uint64_t applied_seq;           /* last folded sequence */
	uint64_t batch_start_seq;       /* applied_seq at tu_fold_begin */
	int64_t now;                    /* fold clock: timestamp of the current event */
	uint64_t seq;                   /* sequence of the current event */
	uint64_t outbox_next;           /* next outbox key (cached meta) */
	struct tu_fold_stats batch;     /* counter deltas of the batch, written by tu_fold_end */
	struct tu_fold_stats saved;     /* stats at tu_fold_begin, restored by tu_fold_abort */
	int8_t *src_complete;           /* per cfg source: -1 unknown, 0 never complete, 1 complete */
	int64_t next_timer;             /* earliest timer due, INT64_MAX if none; -1 unknown */
	struct tu_fold_hooks hooks;     /* observers of derived messages (metrics) */
};

/* LMDB helpers on the current transaction; records decode into the arena. */
tu_status tu__get_pb(tu_fold *f, MDB_dbi dbi, const struct tu__key *k,
		     const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);
tu_status tu__put_pb(tu_fold *f, MDB_dbi dbi, const struct tu__key *k, const ProtobufCMessage *m);
tu_status tu__put_raw(tu_fold *f, MDB_dbi dbi, const struct tu__key *k, const void *p, size_t n);
tu_status tu__del(tu_fold *f, MDB_dbi dbi, const struct tu__key *k);

/* Appends a message to the outbox. */
tu_status tu__outbox_put(tu_fold *f, const char *subject, const char *msg_id, const char *type,
			 const char *corr, const ProtobufCMessage *m);
/* Schedules a timer at due (fold time) with tag and payload. */
tu_status tu__timer_put(tu_fold *f, int64_t due, char tag, const struct tu__key *payload);
tu_status tu__timer_del(tu_fold *f, int64_t due, char tag, const struct tu__key *payload);

/* Scan state of a configured source: whether it ever completed a scan. */
bool tu__source_complete(tu_fold *f, const char *source);
/* Index of a configured source, -1 if none. */
int tu__source_index(const tu_fold *f, const char *source);

/* A source's state in an entity record, or NULL. */
Trueup__View__SourceState *tu__entity_source(const Trueup__View__Entity *e, const char *source);

/*
 * rules.c: evaluations. ent may be NULL (no record). With describe=false only
 * the state, actions and confirm sources are computed (no reason, no
 * details): the common case of an entity that agrees with its rule costs no
 * string formatting.
 */
void tu__presence_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
		       const Trueup__View__Entity *ent, struct tu__verdict *v, bool describe);
tu_status tu__counter_eval(tu_fold *f, const struct tu__rule *r, const char *ns,
			   struct tu__verdict *v, Trueup__V1__EntityRef **ref_out);
/* Keeps counter rules' suffix index up to date after an entity's presence in source changed. */
tu_status tu__counter_index(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source,
			    bool present);
/*
 * Runs every rule that depends on (ref, source) and feeds the drift machine.
 * presence_changed: the entity appeared or disappeared in source (not only
 * its attributes changed), which is all counter rules care about.
 */
tu_status tu__rules_on_change(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source,
			      const Trueup__View__Entity *ent, bool presence_changed,
			      enum tu__trigger trig);
/* Is there a drift record for (rule, ref)? */
bool tu__drift_exists(tu_fold *f, const char *rule, const Trueup__V1__EntityRef *ref);
/* Evaluates one rule for one entity (loading what it needs) and feeds the drift machine. */
tu_status tu__rule_reeval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			  enum tu__trigger trig);
/* After the first complete scan of source: evaluates every entity its rules watch. */
tu_status tu__rules_on_first_complete(tu_fold *f, const char *source);
const struct tu__rule *tu__rule_by_name(const tu_fold *f, const char *name);
/* Template lookup over a tu__tctx. */
bool tu__tctx_lookup(void *ctx, const char *var, size_t var_len, const char **val, size_t *len);

/* drift.c: the drift state machine and the facts about commands. */
tu_status tu__drift_apply(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			  struct tu__verdict *v, enum tu__trigger trig);
tu_status tu__drift_on_outcome(tu_fold *f, const Trueup__V1__Outcome *o);
tu_status tu__drift_on_approval(tu_fold *f, const Trueup__V1__Approval *a);
/* After a complete scan of source begun at begin_seq: re-checks finished fixes. */
tu_status tu__drift_on_scan(tu_fold *f, const char *source, uint64_t begin_seq);

/* Counts a batch counter. */
#define TU__COUNT(f, field) ((f)->batch.field++, (f)->stats.field++)

#endif
