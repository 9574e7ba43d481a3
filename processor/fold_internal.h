/*
 * fold_internal.h - what fold.c, rules.c and drift.c share. Not for other
 * components: they use fold.h.
 */
#ifndef TU_FOLD_INTERNAL_H
#define TU_FOLD_INTERNAL_H

#include <lmdb.h>
#include <regex.h>
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

/*
 * The last results of a rule's regular expression (a reference rule's match,
 * a counter rule's suffix): POSIX regexec with subexpressions is slow (some
 * 10^4 instructions for a short name) and the same names come back at every
 * evaluation. Direct-mapped by name; a result is a pure function of (regex,
 * name), so a hit is exact.
 */
#define TU__RE_SLOTS 1024
#define TU__RE_NAME 64   /* longer names are not memoized */
#define TU__RE_GROUPS 10 /* captures kept: \0..\9 */
struct tu__re_slot {
	char name[TU__RE_NAME];       /* "" = empty slot */
	bool match;                   /* regexec's verdict on name */
	regmatch_t m[TU__RE_GROUPS];  /* and its captures, if it matched */
};
struct tu__re_memo {
	struct tu__re_slot slot[TU__RE_SLOTS];
};
/* regexec(re, name, nmatch <= TU__RE_GROUPS, m, 0) == 0, through memo (may be NULL). */
bool tu__re_match(struct tu__re_memo *memo, const regex_t *re, const char *name, size_t nmatch,
		  regmatch_t *m);

/* A rule with what the fold precomputes for it. */
struct tu__rule {
	const struct tu_rule_config *cfg;
	int confirm; /* violated polls before the drift opens (count rules), else 1 */
	struct tu__re_memo *re_memo; /* owned; rules with a regular expression, else NULL */
};

/* Ordinal base of on_escalate actions (command ids stay distinct from the fix's). */
#define TU__ESCALATE_ORDINAL 10000u

/* Timer tags (one byte after the due time in timer keys). */
#define TU__TIMER_FOR 'F'       /* payload: drift key; `for:` elapsed */
#define TU__TIMER_HEARTBEAT 'H' /* payload: entity key; heartbeat TTL elapsed */
#define TU__TIMER_REEVAL 'R'    /* payload: drift-key form rule\0kind\0ns\0name; re-evaluate */

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

/*
 * Template variables of one evaluation (lookup order: fixed names, the rule's
 * extra variables, then <source>.<attr> of ent).
 */
struct tu__tctx {
	const char *rule;
	const Trueup__V1__EntityRef *ref;
	const Trueup__View__Entity *ent; /* may be NULL */
	const char *current;             /* counter rules, else NULL */
	const char *desired;
	const char **xk;                 /* extra variables (arena), nx of them */
	const char **xv;
	size_t nx;
};

/* Adds (or replaces) an extra template variable; key and value must outlive the tctx. */
void tu__tctx_set(tu_fold *f, struct tu__tctx *t, const char *key, const char *value);
/* Renders tmpl over t into the arena; NULL with *why (arena) if a variable is missing. */
const char *tu__render(tu_fold *f, const char *tmpl, const struct tu__tctx *t, const char **why);

struct tu__verdict {
	enum tu__verdict_state state;
	const char *reason;                      /* arena */
	Trueup__V1__Attr *details[TU__MAX_DETAILS]; /* sorted before use */
	size_t n_details;
	struct tu__action_ref actions[TU__MAX_VERDICT_ACTIONS];
	size_t n_actions;
	const char *confirm_sources[16];         /* sources whose fresh scan re-checks a fix */
	size_t n_confirm;
	bool poll;                               /* counts toward the rule's confirm: */
	struct tu__tctx tctx;
};

/* Why the drift state machine runs now. */
enum tu__trigger {
	TU__TRIG_CHANGE = 0,  /* an observation, sweep or expiry changed the entity */
	TU__TRIG_TIMER = 1,   /* the rule's for: elapsed */
	TU__TRIG_CONFIRM = 2, /* a complete scan begun after the fix finished */
};

/*
 * The drift database's keys, in memory (drift.c): most evaluations find that
 * their rule holds and must only know whether a drift record exists, which
 * in LMDB is a B-tree search. Loaded at the first batch, kept in step by the
 * drift machine (the only writer of the drift database), and dropped when a
 * batch is aborted (its puts and deletes are undone), to be loaded again.
 */
struct tu__dkey;
struct tu__dkeys {
	struct tu__dkey **slots; /* chained hash table, n_slots (a power of two) */
	size_t n_slots;
	size_t n;                /* keys held */
	bool loaded;             /* false: unknown, ask the database */
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
	bool any_watch;                 /* some rule uses watches */
	const char **watched_kinds;     /* owned array (strings: the config's): kinds rules watch */
	size_t n_watched_kinds;
	bool any_poll;                  /* some rule counts polls */
	bool polled;                    /* the change being evaluated is an observation */
	const struct tu__key *cur_key;  /* while rules run on an entity's change: its key */
	const Trueup__View__Entity *cur_ent; /* and its record as stored (NULL: deleted) */
	bool any_staged;                /* db staged may hold entries (a cheap test per event) */
	struct tu__dkeys drift_keys;    /* the drift database's keys (drift.c) */
	struct tu_rule_config suspect_cfg; /* the blast-radius drift's rule (source-suspect) */
	struct tu__rule suspect_rule;
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
/* *out: source has completed a scan that began after after_seq. */
tu_status tu__source_rescanned(tu_fold *f, const char *source, uint64_t after_seq, bool *out);
/* Index of a configured source, -1 if none. */
int tu__source_index(const tu_fold *f, const char *source);

/* The scan record of a source (decoded into the arena). */
tu_status tu__load_scan(tu_fold *f, const char *source, Trueup__View__Scan **out);
/* Every entity source has present that full scan scan_id did not see (refs, arena). */
tu_status tu__sweep_collect(tu_fold *f, const char *source, const char *scan_id,
			    struct tu_arena_vec *gone);
/* Makes the entity absent in source (and runs what depends on it). */
tu_status tu__entity_gone(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source);

/*
 * blast.c: a scan's deletions are staged until its END; a complete scan that
 * would make too many of the source's entities absent holds them (the
 * source-suspect drift) until an operator or later scans confirm.
 */
tu_status tu__blast_stage(tu_fold *f, const char *source, const Trueup__V1__EntityRef *e,
			  const char *scan_id, bool *staged);
tu_status tu__blast_unstage(tu_fold *f, const char *source, const Trueup__V1__EntityRef *e);
/* At the END of complete scan s: stages the sweep, then applies or holds (updates s). */
tu_status tu__blast_end(tu_fold *f, Trueup__View__Scan *s);
/* After s is stored: the source-suspect drift follows the scan record. */
tu_status tu__blast_verdict(tu_fold *f, const char *source);
/* An approval of a suspect scan (its scan id); *handled false if no source holds one. */
tu_status tu__blast_approval(tu_fold *f, const Trueup__V1__Approval *a, bool *handled);
/* The source-suspect rule's evaluation of ref (kind source, ns trueup, name = source). */
tu_status tu__suspect_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			   enum tu__trigger trig);

/* A source's state in an entity record, or NULL. */
Trueup__View__SourceState *tu__entity_source(const Trueup__View__Entity *e, const char *source);
/* The state of source in e if present there, else NULL. */
const Trueup__View__SourceState *tu__present_in(const Trueup__View__Entity *e, const char *source);
/* Loads an entity record; *out NULL if there is none. */
tu_status tu__load_entity(tu_fold *f, const char *kind, const char *ns, const char *name,
			  Trueup__View__Entity **out);
/* Can an absence in source be believed? Heartbeats always; a source after a complete scan. */
bool tu__evidence(tu_fold *f, const char *source);
/* An attribute of a source state, or NULL. */
const char *tu__attr(const Trueup__View__SourceState *s, const char *key);

/* Verdict helpers. */
/* Clears v (state holds, no reason, details, actions, confirm sources) for (r, ref, ent). */
void tu__verdict_clear(struct tu__verdict *v, const struct tu__rule *r,
		       const Trueup__V1__EntityRef *ref, const Trueup__View__Entity *ent);
/* A cleared verdict in the arena. */
struct tu__verdict *tu__verdict_new(tu_fold *f, const struct tu__rule *r,
				    const Trueup__V1__EntityRef *ref, const Trueup__View__Entity *ent);
void tu__add_detail(tu_fold *f, struct tu__verdict *v, const char *key, const char *value);
void tu__add_actions(struct tu__verdict *v, const struct tu_actions *a, uint32_t base);
void tu__add_confirm(struct tu__verdict *v, const char *source);

/* Typed comparison of two attribute values: 0 equal, 1 different, -1 *why says what does not parse. */
int tu__compare(tu_fold *f, enum tu_compare cmp, const char *a, const char *b, const char **why);

/*
 * Watches (rules_graph.c). An evaluation of (rule, anchor) declares what it
 * read besides the anchor: entities (kind, ns, name) and classes (every
 * entity of a kind in a namespace). When one of them changes, the anchor is
 * re-evaluated. Declaring replaces the previous set.
 */
struct tu__watchset {
	struct tu__key keys[16];
	char modes[16]; /* TU__WATCH_ANY or TU__WATCH_PRESENCE (classes only) */
	size_t n;
};
#define TU__WATCH_ANY 'A'      /* any change of the watched entity */
#define TU__WATCH_PRESENCE 'P' /* an entity of the class appeared or disappeared */
/* An empty watchset in the arena. */
struct tu__watchset *tu__watchset_new(tu_fold *f);
void tu__watch_entity(struct tu__watchset *w, const char *kind, const char *ns, const char *name);
void tu__watch_class(struct tu__watchset *w, const char *kind, const char *ns, char mode);
tu_status tu__watch_set(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *anchor,
			const struct tu__watchset *w);
/* Re-evaluates the anchors watching ref (or its class). */
tu_status tu__watch_fire(tu_fold *f, const Trueup__V1__EntityRef *ref, bool presence_changed);
/* Whether any configured rule uses watches (set at create). */
bool tu__rules_watch(const tu_fold *f);
/*
 * The kinds the rules of cfg can watch (entity templates of count, reference
 * and equal rules), into *out (malloc'd, free it); returns how many. A change
 * of an entity of another kind has no watchers: tu__watch_fire skips the
 * index lookups.
 */
size_t tu__watch_kinds(const struct tu_config *cfg, const char ***out);

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
/* An observation that changed nothing: rules that count polls (confirm:) still evaluate. */
tu_status tu__rules_on_poll(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source,
			    const Trueup__View__Entity *ent);
/*
 * After a complete delta scan of source (scan_id, covering kinds; none: all):
 * the entities it did not republish were polled and found unchanged, so the
 * pending drifts of rules that count polls on source count one.
 */
tu_status tu__rules_on_delta_scan(tu_fold *f, const char *source, const char *scan_id,
				  char *const *kinds, size_t n_kinds);
/* Whether any rule counts polls (set at create). */
bool tu__rules_poll(const tu_fold *f);
/*
 * The rule types of rules_spec.c, rules_graph.c and rules_pod.c: evaluate
 * (rule, anchor) with the anchor's record ent (NULL if none) and feed the
 * drift machine. poll: the anchor was just observed by its source.
 */
tu_status tu__spec_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig);
tu_status tu__equal_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			 const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig);
tu_status tu__count_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			 const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig);
tu_status tu__reference_eval(tu_fold *f, const struct tu__rule *r,
			     const Trueup__V1__EntityRef *ref, const Trueup__View__Entity *ent,
			     bool poll, enum tu__trigger trig);
tu_status tu__pod_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
		       const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig);
tu_status tu__heartbeat_eval(tu_fold *f, const struct tu__rule *r,
			     const Trueup__V1__EntityRef *ref, const Trueup__View__Entity *ent,
			     bool poll, enum tu__trigger trig);
/* Loads the drift record of (rule, ref); *out NULL if none. */
tu_status tu__drift_load(tu_fold *f, const char *rule, const Trueup__V1__EntityRef *ref,
			 Trueup__View__Drift **out);

/* Is there a drift record for (rule, ref)? */
bool tu__drift_exists(tu_fold *f, const char *rule, const Trueup__V1__EntityRef *ref);
/* Loads the drift keys from the batch's transaction unless they are loaded (tu_fold_begin). */
tu_status tu__drift_keys_load(tu_fold *f);
/* Forgets the drift keys (an aborted batch); with release, frees the table too. */
void tu__drift_keys_clear(struct tu__dkeys *s, bool release);
/* Evaluates one rule for one entity (loading what it needs) and feeds the drift machine. */
tu_status tu__rule_reeval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			  enum tu__trigger trig);
/* After the first complete scan of source: evaluates the anchors of the rules that read its
 * evidence of absence (presence, counter, count, reference). */
tu_status tu__rules_on_first_complete(tu_fold *f, const char *source);
const struct tu__rule *tu__rule_by_name(const tu_fold *f, const char *name);
/* Template lookup over a tu__tctx. */
bool tu__tctx_lookup(void *ctx, const char *var, size_t var_len, const char **val, size_t *len);

/* drift.c: the drift state machine and the facts about commands. */
tu_status tu__drift_apply(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			  struct tu__verdict *v, enum tu__trigger trig);
tu_status tu__drift_on_outcome(tu_fold *f, const Trueup__V1__Outcome *o);
tu_status tu__drift_on_approval(tu_fold *f, const Trueup__V1__Approval *a);
/*
 * After a complete scan of source: re-checks the finished fixes that name
 * source, once every one of their confirmation sources has completed a scan
 * that began after the fix finished.
 */
tu_status tu__drift_on_scan(tu_fold *f, const char *source);

/* Counts a batch counter. */
#define TU__COUNT(f, field) ((f)->batch.field++, (f)->stats.field++)

#endif
