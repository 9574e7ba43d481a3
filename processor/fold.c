/*
 * fold.c - decode, validate and fold one fact into the view (see fold.h).
 *
 * Workload: every event of TRUEUP_EVENTS passes here, 10^5/s at best, so the
 * common path (an observation that changed nothing) is one entity get + put
 * and one bysrc put, with no rule evaluation. Rules run only when an entity's
 * presence or attributes changed, when a `for:` timer fires, or when a scan
 * completes (evidence changed).
 *
 * Invariants: the fold clock never goes backwards (now = max(now, ts));
 * timers due at or before an event's time fire before the event is folded;
 * bysrc holds exactly the (source, entity) pairs whose state is present.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "clock.h"
#include "contract.h"
#include "entity_codec.h"
#include "fold_internal.h"
#include "ids.h"
#include "log.h"
#include "text.h"
#include "xalloc.h"

/* ---- keys ------------------------------------------------------------------ */

void tu__key_init(struct tu__key *k)
{
	k->n = 0;
	k->over = false;
}

void tu__key_raw(struct tu__key *k, const void *p, size_t n)
{
	if (k->n + n > TU__KEY_MAX) {
		k->over = true;
		return;
	}
	memcpy(k->b + k->n, p, n);
	k->n += n;
}

void tu__key_str(struct tu__key *k, const char *s)
{
	if (k->n > 0)
		tu__key_raw(k, "", 1);
	tu__key_raw(k, s, strlen(s));
}

void tu__key_entity(struct tu__key *k, const char *kind, const char *ns, const char *name)
{
	tu__key_init(k);
	tu__key_str(k, kind);
	tu__key_str(k, ns);
	tu__key_str(k, name);
}

void tu__key_drift(struct tu__key *k, const char *rule, const Trueup__V1__EntityRef *e)
{
	tu__key_init(k);
	tu__key_str(k, rule);
	tu__key_str(k, e->kind);
	tu__key_str(k, e->namespace_);
	tu__key_str(k, e->name);
}

/* ---- storage helpers --------------------------------------------------------- */

tu_status tu__get_pb(tu_fold *f, MDB_dbi dbi, const struct tu__key *k,
		     const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
	MDB_val key = { k->n, (void *)k->b }, val;
	int rc = mdb_get(f->txn, dbi, &key, &val);
	if (rc != 0)
		return tu_view_status(rc);
	/* Entity records, one per observation, have their own codec (entity_codec.h). */
	ProtobufCMessage *m =
		d == &trueup__view__entity__descriptor
			? (ProtobufCMessage *)tu_entity_decode(&f->arena, val.mv_data, val.mv_size)
			: protobuf_c_message_unpack(d, tu_arena_pb(&f->arena), val.mv_size,
						    val.mv_data);
	if (m == NULL) {
		/* Our own records: undecodable means a bug or a foreign view. */
		tu_error("view record of %s does not decode", d->name);
		return TU_EINTERNAL;
	}
	*out = m;
	return TU_OK;
}

tu_status tu__put_raw(tu_fold *f, MDB_dbi dbi, const struct tu__key *k, const void *p, size_t n)
{
	if (k->over)
		return TU_ETOOBIG;
	MDB_val key = { k->n, (void *)k->b }, val = { n, (void *)p };
	return tu_view_status(mdb_put(f->txn, dbi, &key, &val, 0));
}

tu_status tu__put_pb(tu_fold *f, MDB_dbi dbi, const struct tu__key *k, const ProtobufCMessage *m)
{
	if (k->over)
		return TU_ETOOBIG;
	bool entity = m->descriptor == &trueup__view__entity__descriptor;
	const Trueup__View__Entity *e = (const Trueup__View__Entity *)m;
	size_t n = entity ? tu_entity_size(e) : protobuf_c_message_get_packed_size(m);
	MDB_val key = { k->n, (void *)k->b }, val = { n, NULL };
	/* MDB_RESERVE: pack straight into the page LMDB hands back. */
	int rc = mdb_put(f->txn, dbi, &key, &val, MDB_RESERVE);
	if (rc != 0)
		return tu_view_status(rc);
	if (entity)
		tu_entity_encode(e, val.mv_data);
	else
		protobuf_c_message_pack(m, val.mv_data);
	return TU_OK;
}

tu_status tu__del(tu_fold *f, MDB_dbi dbi, const struct tu__key *k)
{
	MDB_val key = { k->n, (void *)k->b };
	int rc = mdb_del(f->txn, dbi, &key, NULL);
	if (rc == MDB_NOTFOUND)
		return TU_OK;
	return tu_view_status(rc);
}

tu_status tu__outbox_put(tu_fold *f, const char *subject, const char *msg_id, const char *type,
			 const char *corr, const ProtobufCMessage *m)
{
	Trueup__View__OutboxEntry e = TRUEUP__VIEW__OUTBOX_ENTRY__INIT;
	size_t len = 0;
	void *payload = tu_pb_pack(&f->arena, m, &len);
	e.subject = (char *)subject;
	e.msg_id = (char *)msg_id;
	e.type = (char *)type;
	e.correlation_id = (char *)(corr ? corr : "");
	e.payload.data = payload;
	e.payload.len = len;
	e.source_seq = f->seq;
	struct tu__key k;
	tu__key_init(&k);
	unsigned char be[8];
	tu_view_be64(f->outbox_next, be);
	tu__key_raw(&k, be, 8);
	tu_status st = tu__put_pb(f, f->db->outbox, &k, &e.base);
	if (st == TU_OK) {
		f->outbox_next++;
		TU__COUNT(f, outbox_written);
	}
	return st;
}

static void timer_key(struct tu__key *k, int64_t due, char tag, const struct tu__key *payload)
{
	unsigned char be[8];
	tu__key_init(k);
	tu_view_be64((uint64_t)due, be);
	tu__key_raw(k, be, 8);
	tu__key_raw(k, &tag, 1);
	tu__key_raw(k, payload->b, payload->n);
}

tu_status tu__timer_put(tu_fold *f, int64_t due, char tag, const struct tu__key *payload)
{
	struct tu__key k;
	timer_key(&k, due, tag, payload);
	if (f->next_timer >= 0 && due < f->next_timer)
		f->next_timer = due;
	return tu__put_raw(f, f->db->timer, &k, "", 0);
}

tu_status tu__timer_del(tu_fold *f, int64_t due, char tag, const struct tu__key *payload)
{
	struct tu__key k;
	timer_key(&k, due, tag, payload);
	return tu__del(f, f->db->timer, &k);
}

int tu__source_index(const tu_fold *f, const char *source)
{
	for (size_t i = 0; i < f->cfg->n_sources; i++)
		if (strcmp(f->cfg->sources[i].name, source) == 0)
			return (int)i;
	return -1;
}

tu_status tu__load_scan(tu_fold *f, const char *source, Trueup__View__Scan **out)
{
	struct tu__key k;
	tu__key_init(&k);
	tu__key_str(&k, source);
	return tu__get_pb(f, f->db->scan, &k, &trueup__view__scan__descriptor,
			  (ProtobufCMessage **)out);
}

bool tu__source_complete(tu_fold *f, const char *source)
{
	int i = tu__source_index(f, source);
	if (i >= 0 && f->src_complete[i] >= 0)
		return f->src_complete[i] == 1;
	Trueup__View__Scan *s = NULL;
	bool complete = tu__load_scan(f, source, &s) == TU_OK && s->complete_scans > 0;
	if (i >= 0)
		f->src_complete[i] = complete ? 1 : 0;
	return complete;
}

tu_status tu__source_rescanned(tu_fold *f, const char *source, uint64_t after_seq, bool *out)
{
	Trueup__View__Scan *s = NULL;
	tu_status st = tu__load_scan(f, source, &s);
	if (st == TU_ENOTFOUND) {
		*out = false;
		return TU_OK;
	}
	if (st != TU_OK)
		return st;
	*out = s->complete_scans > 0 && s->last_complete_begin_seq > after_seq;
	return TU_OK;
}

Trueup__View__SourceState *tu__entity_source(const Trueup__View__Entity *e, const char *source)
{
	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < e->n_sources; i++)
		if (strcmp(e->sources[i]->source, source) == 0)
			return e->sources[i];
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------------- */

tu_status tu_fold_create(const struct tu_config *cfg, tu_view *view, tu_fold **out, char *err,
			 size_t errlen)
{
	(void)err;
	(void)errlen;
	tu_fold *f = tu_xcalloc(1, sizeof(*f));
	f->cfg = cfg;
	f->view = view;
	f->db = tu_view_dbs(view);
	tu_arena_init(&f->arena, 64 * 1024);
	f->n_rules = cfg->n_rules;
	f->rules = tu_xcalloc(cfg->n_rules ? cfg->n_rules : 1, sizeof(*f->rules));
	f->src_complete = tu_xcalloc(cfg->n_sources ? cfg->n_sources : 1, 1);
	f->suspect_cfg.name = (char *)TU_RULE_SOURCE_SUSPECT_NAME;
	f->suspect_cfg.type = TU_RULE_SOURCE_SUSPECT;
	f->suspect_cfg.mode = cfg->processor.on_suspect.n > 0 ? TU_MODE_ENFORCE : TU_MODE_DETECT;
	f->suspect_cfg.max_attempts = 1;
	f->suspect_rule.cfg = &f->suspect_cfg;
	f->suspect_rule.confirm = 1;
	for (size_t i = 0; i < cfg->n_rules; i++) {
		struct tu__rule *r = &f->rules[i];
		const struct tu_rule_config *rc = &cfg->rules[i];
		r->cfg = rc;
		r->confirm = rc->type == TU_RULE_COUNT ? rc->count.confirm : 1;
		if (r->confirm > 1)
			f->any_poll = true;
		if (rc->type == TU_RULE_COUNT || rc->type == TU_RULE_REFERENCE ||
		    rc->type == TU_RULE_EQUAL)
			f->any_watch = true;
		if ((rc->type == TU_RULE_COUNTER && rc->counter.suffix_compiled) ||
		    (rc->type == TU_RULE_REFERENCE && rc->reference.match_compiled))
			r->re_memo = tu_xcalloc(1, sizeof(*r->re_memo));
	}
	f->n_watched_kinds = tu__watch_kinds(cfg, &f->watched_kinds);
	*out = f;
	return TU_OK;
}

void tu_fold_destroy(tu_fold *f)
{
	if (f == NULL)
		return;
	tu__drift_keys_clear(&f->drift_keys, true);
	for (size_t i = 0; i < f->n_rules; i++)
		free(f->rules[i].re_memo);
	free(f->rules);
	free(f->watched_kinds);
	free(f->src_complete);
	tu_arena_release(&f->arena);
	free(f);
}

void tu_fold_set_hooks(tu_fold *f, const struct tu_fold_hooks *hooks)
{
	f->hooks = *hooks;
}

const struct tu__rule *tu__rule_by_name(const tu_fold *f, const char *name)
{
	if (strcmp(name, TU_RULE_SOURCE_SUSPECT_NAME) == 0)
		return &f->suspect_rule;
	for (size_t i = 0; i < f->n_rules; i++)
		if (strcmp(f->rules[i].cfg->name, name) == 0)
			return &f->rules[i];
	return NULL;
}

tu_status tu_fold_begin(tu_fold *f, MDB_txn *txn)
{
	const tu_view *v = f->view;
	uint64_t ns = 0;
	f->txn = txn;
	memset(&f->batch, 0, sizeof(f->batch));
	f->saved = f->stats;
	memset(f->src_complete, 0xff, f->cfg->n_sources ? f->cfg->n_sources : 1);
	tu_status st = tu_view_meta_get(txn, v, TU_META_APPLIED_SEQ, &f->applied_seq);
	if (st == TU_OK)
		st = tu_view_meta_get(txn, v, TU_META_APPLIED_NS, &ns);
	if (st == TU_OK)
		st = tu_view_meta_get(txn, v, TU_META_OUTBOX_NEXT, &f->outbox_next);
	if (f->outbox_next == 0)
		f->outbox_next = 1;
	f->now = (int64_t)ns;
	f->batch_start_seq = f->applied_seq;
	f->next_timer = -1;
	MDB_stat ms;
	f->any_staged = mdb_stat(txn, f->db->staged, &ms) == 0 && ms.ms_entries > 0;
	if (st == TU_OK)
		st = tu__drift_keys_load(f);
	return st;
}

tu_status tu_fold_end(tu_fold *f)
{
	const tu_view *v = f->view;
	MDB_txn *txn = f->txn;
	tu_status st = TU_OK;
	if (f->applied_seq != f->batch_start_seq) {
		st = tu_view_meta_put(txn, v, TU_META_APPLIED_SEQ, f->applied_seq);
		if (st == TU_OK)
			st = tu_view_meta_put(txn, v, TU_META_APPLIED_NS, (uint64_t)f->now);
	}
	if (st == TU_OK && f->batch.outbox_written > 0)
		st = tu_view_meta_put(txn, v, TU_META_OUTBOX_NEXT, f->outbox_next);
	struct {
		const char *key;
		uint64_t delta;
	} counters[] = {
		{ TU_META_FOLDED, f->batch.folded },
		{ TU_META_DEAD, f->batch.dead },
		{ TU_META_DRIFT_OPENED, f->batch.drift_opened },
		{ TU_META_DRIFT_RESOLVED, f->batch.drift_resolved },
		{ TU_META_COMMANDS, f->batch.commands },
		{ TU_META_OUTCOMES, f->batch.outcomes },
	};
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]) && st == TU_OK; i++)
		if (counters[i].delta > 0)
			st = tu_view_meta_add(txn, v, counters[i].key, counters[i].delta);
	f->txn = NULL;
	return st;
}

void tu_fold_abort(tu_fold *f)
{
	tu__drift_keys_clear(&f->drift_keys, false); /* the batch's puts and deletes are undone */
	f->txn = NULL;
	f->stats = f->saved;
	f->applied_seq = f->batch_start_seq;
	tu_arena_reset(&f->arena);
}

uint64_t tu_fold_applied_seq(const tu_fold *f)
{
	return f->applied_seq;
}

const struct tu_fold_stats *tu_fold_stats(const tu_fold *f)
{
	return &f->stats;
}

/* ---- dead letters ------------------------------------------------------------ */

static tu_status park(tu_fold *f, const struct tu_fold_event *ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static tu_status park(tu_fold *f, const struct tu_fold_event *ev, const char *fmt, ...)
{
	char reason[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);

	/* What is quoted from the input may not be UTF-8, or be cut mid-character. */
	char *subject = tu_arena_strdup(&f->arena, ev->subject ? ev->subject : "");
	tu_text_repair(subject);
	tu_text_repair(reason);
	Trueup__V1__DeadLetter dl = TRUEUP__V1__DEAD_LETTER__INIT;
	dl.origin = "processor";
	dl.stream = TU_STREAM_EVENTS;
	dl.subject = subject;
	dl.stream_seq = ev->seq;
	dl.reason = reason;
	dl.payload.data = (uint8_t *)ev->data;
	dl.payload.len = ev->len;
	dl.at_ns = ev->ts_ns;
	const char **keys = NULL, **vals = NULL;
	size_t nh = ev->headers != NULL ? ev->headers(ev->header_src, &f->arena, &keys, &vals) : 0;
	if (nh > 0) {
		dl.headers = tu_arena_alloc(&f->arena, nh * sizeof(*dl.headers));
		for (size_t i = 0; i < nh; i++) {
			dl.headers[i] = tu_pb_attr(&f->arena, keys[i], vals[i]);
			tu_text_repair(dl.headers[i]->key);
			tu_text_repair(dl.headers[i]->value);
		}
		dl.n_headers = nh;
		tu_pb_attrs_sort(dl.headers, dl.n_headers);
	}
	char msg_id[64];
	snprintf(msg_id, sizeof(msg_id), "dead.events.%" PRIu64, ev->seq);
	tu_warn("event %" PRIu64 " on %s parked as dead letter: %s", ev->seq,
		ev->subject ? ev->subject : "?", reason);
	TU__COUNT(f, dead);
	return tu__outbox_put(f, TU_SUBJ_DEAD ".processor", msg_id, TU_TYPE_DEAD, NULL, &dl.base);
}

/* ---- validation ---------------------------------------------------------------- */

static bool valid_ns(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= TU_MAX_NAMESPACE;
}

static bool valid_entity_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= TU_MAX_NAME;
}

/* Checks an entity ref; writes why to why. */
static bool check_entity(const Trueup__V1__EntityRef *e, char *why, size_t whylen)
{
	if (e == NULL) {
		snprintf(why, whylen, "entity: missing");
		return false;
	}
	if (!tu_name_valid(e->kind)) {
		snprintf(why, whylen, "entity.kind: \"%.64s\" is not a valid name ([a-z0-9][a-z0-9_-]*, "
			 "at most %d bytes)", e->kind ? e->kind : "", TU_MAX_KIND);
		return false;
	}
	if (!valid_ns(e->namespace_)) {
		snprintf(why, whylen, "entity.namespace: must be 1..%d bytes", TU_MAX_NAMESPACE);
		return false;
	}
	if (!valid_entity_name(e->name)) {
		snprintf(why, whylen, "entity.name: must be 1..%d bytes", TU_MAX_NAME);
		return false;
	}
	return true;
}

static bool check_attrs(Trueup__V1__Attr *const *attrs, size_t n, char *why, size_t whylen)
{
	if (n > TU_MAX_ATTRS) {
		snprintf(why, whylen, "attrs: %zu attributes, more than %d", n, TU_MAX_ATTRS);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		size_t kl = attrs[i]->key ? strlen(attrs[i]->key) : 0;
		if (kl == 0 || kl > TU_MAX_ATTR_KEY) {
			snprintf(why, whylen, "attrs[%zu].key: must be 1..%d bytes", i, TU_MAX_ATTR_KEY);
			return false;
		}
		if (attrs[i]->value != NULL && strlen(attrs[i]->value) > TU_MAX_ATTR_VALUE) {
			snprintf(why, whylen, "attrs[%zu].value: longer than %d bytes", i,
				 TU_MAX_ATTR_VALUE);
			return false;
		}
	}
	if (!tu_pb_attrs_valid(attrs, n)) {
		snprintf(why, whylen, "attrs: not sorted by key with unique keys");
		return false;
	}
	return true;
}

/* Does the subject equal prefix.tok1[.tok2]? */
static bool subject_is(const char *subject, const char *prefix, const char *tok1, const char *tok2)
{
	size_t n = strlen(prefix);
	if (strncmp(subject, prefix, n) != 0 || subject[n] != '.')
		return false;
	const char *p = subject + n + 1;
	size_t l1 = strlen(tok1);
	if (strncmp(p, tok1, l1) != 0)
		return false;
	p += l1;
	if (tok2 == NULL)
		return *p == '\0';
	return *p == '.' && strcmp(p + 1, tok2) == 0;
}

/* ---- entities ------------------------------------------------------------------- */

static bool attrs_equal(Trueup__V1__Attr *const *a, size_t na, Trueup__V1__Attr *const *b,
			size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i]->key, b[i]->key) != 0 || strcmp(a[i]->value, b[i]->value) != 0)
			return false;
	return true;
}

static tu_status load_entity(tu_fold *f, const struct tu__key *k, Trueup__View__Entity **out)
{
	return tu__get_pb(f, f->db->entity, k, &trueup__view__entity__descriptor,
			  (ProtobufCMessage **)out);
}

/* Finds or inserts (sorted) the state of source in e. */
static Trueup__View__SourceState *entity_source_upsert(tu_fold *f, Trueup__View__Entity *e,
						       const char *source)
{
	size_t pos = 0;
	while (pos < e->n_sources) {
		int c = strcmp(e->sources[pos]->source, source);
		if (c == 0)
			return e->sources[pos];
		if (c > 0)
			break;
		pos++;
	}
	Trueup__View__SourceState **ns =
		tu_arena_alloc(&f->arena, (e->n_sources + 1) * sizeof(*ns));
	if (pos > 0)
		memcpy(ns, e->sources, pos * sizeof(*ns));
	if (e->n_sources > pos)
		memcpy(ns + pos + 1, e->sources + pos, (e->n_sources - pos) * sizeof(*ns));
	Trueup__View__SourceState *s = tu_arena_alloc(&f->arena, sizeof(*s));
	trueup__view__source_state__init(s);
	s->source = tu_arena_strdup(&f->arena, source);
	ns[pos] = s;
	e->sources = ns;
	e->n_sources++;
	return s;
}

static bool entity_any_present(const Trueup__View__Entity *e)
{
	for (size_t i = 0; i < e->n_sources; i++)
		if (e->sources[i]->present)
			return true;
	return false;
}

/* How one source's state of an entity changes. */
struct update {
	bool present;
	Trueup__V1__Attr **attrs;  /* NULL keeps the previous attributes (absence, expiry) */
	size_t n_attrs;
	const char *scan_id;       /* NULL keeps it */
	int64_t expires_ns;        /* heartbeats: TTL end; 0 never */
	bool observed;             /* the source said so now (not a sweep or an expiry) */
	bool expired;              /* heartbeats: absent because the TTL elapsed */
};

/*
 * Applies one source's new state to an entity and everything that depends on
 * it: the record, bysrc, counter indexes and rules (if it changed). The
 * record is stored before rules run, so that what they load is current.
 */
static tu_status entity_update(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source,
			       const struct update *u)
{
	struct tu__key ek;
	tu__key_entity(&ek, ref->kind, ref->namespace_, ref->name);
	Trueup__View__Entity *e = NULL;
	tu_status st = load_entity(f, &ek, &e);
	bool present = u->present;
	if (st == TU_ENOTFOUND) {
		if (!present)
			return TU_OK; /* absent from a source we never saw it in: nothing to do */
		e = tu_arena_alloc(&f->arena, sizeof(*e));
		trueup__view__entity__init(e);
		e->ref = tu_pb_entity(&f->arena, ref->kind, ref->namespace_, ref->name);
		st = TU_OK;
	}
	if (st != TU_OK)
		return st;
	Trueup__View__SourceState *s = entity_source_upsert(f, e, source);
	bool was_present = s->present;
	bool changed = was_present != present;
	if (present && u->attrs != NULL && !attrs_equal(s->attrs, s->n_attrs, u->attrs, u->n_attrs))
		changed = true;
	if (s->first_seq == 0) {
		s->first_seq = f->seq;
		s->first_ns = f->now;
	}
	if (u->observed) {
		s->last_seq = f->seq;
		s->last_ns = f->now;
	}
	if (u->scan_id != NULL)
		s->scan_id = (char *)u->scan_id;
	s->expires_ns = u->expires_ns;
	s->expired = u->expired;
	s->present = present;
	if (u->attrs != NULL && present) {
		s->attrs = u->attrs;
		s->n_attrs = u->n_attrs;
	}
	if (changed) {
		s->changed_seq = f->seq;
		s->changed_ns = f->now;
	}

	/* bysrc: membership only, so it changes only with presence. */
	if (present != was_present) {
		struct tu__key bk;
		tu__key_init(&bk);
		tu__key_str(&bk, source);
		tu__key_str(&bk, ref->kind);
		tu__key_str(&bk, ref->namespace_);
		tu__key_str(&bk, ref->name);
		st = present ? tu__put_raw(f, f->db->bysrc, &bk, "", 0) : tu__del(f, f->db->bysrc, &bk);
	}
	if (st == TU_OK && was_present != present)
		st = tu__counter_index(f, ref, source, present);
	/* Gone from every source: the record has nothing left to say. */
	if (st == TU_OK)
		st = entity_any_present(e) ? tu__put_pb(f, f->db->entity, &ek, &e->base)
					   : tu__del(f, f->db->entity, &ek);
	f->polled = u->observed;
	/* Rules that read this entity again get the record as just stored (no decode). */
	const struct tu__key *outer_key = f->cur_key;
	const Trueup__View__Entity *outer_ent = f->cur_ent;
	f->cur_key = &ek;
	f->cur_ent = entity_any_present(e) ? e : NULL;
	if (st == TU_OK && changed)
		st = tu__rules_on_change(f, ref, source, e, was_present != present, TU__TRIG_CHANGE);
	else if (st == TU_OK && u->observed && f->any_poll)
		st = tu__rules_on_poll(f, ref, source, e);
	f->cur_key = outer_key;
	f->cur_ent = outer_ent;
	f->polled = false;
	return st;
}

/* ---- facts ------------------------------------------------------------------------ */

static tu_status fold_observed(tu_fold *f, const struct tu_fold_event *ev)
{
	const char *field = NULL;
	char why[256];
	Trueup__V1__ObservedState *o = tu_observed_decode(&f->arena, ev->data, ev->len);
	if (o == NULL)
		return park(f, ev, "body does not decode as %s", TU_TYPE_OBSERVED);
	if (!tu_pb_text_valid(&o->base, &field))
		return park(f, ev, "%s: not UTF-8", field);
	if (!tu_name_valid(o->source))
		return park(f, ev, "source: \"%.64s\" is not a valid name", o->source);
	if (strcmp(o->source, TU__HB_SOURCE) == 0)
		return park(f, ev, "source: \"%s\" is reserved for heartbeats", TU__HB_SOURCE);
	if (!check_entity(o->entity, why, sizeof(why)))
		return park(f, ev, "%s", why);
	if (!subject_is(ev->subject, TU_SUBJ_OBS, o->source, o->entity->kind))
		return park(f, ev, "subject does not match source \"%s\" and entity.kind \"%s\"",
			    o->source, o->entity->kind);
	if (!check_attrs(o->attrs, o->n_attrs, why, sizeof(why)))
		return park(f, ev, "%s", why);
	if (o->deleted) {
		/* Held until the scan's END decides (blast.c). */
		bool staged = false;
		tu_status st = tu__blast_stage(f, o->source, o->entity, o->scan_id, &staged);
		if (st != TU_OK || staged)
			return st;
	} else if (f->any_staged) {
		tu_status st = tu__blast_unstage(f, o->source, o->entity);
		if (st != TU_OK)
			return st;
	}
	struct update u = { .present = !o->deleted, .attrs = o->attrs, .n_attrs = o->n_attrs,
			    .scan_id = o->scan_id, .observed = true };
	return entity_update(f, o->entity, o->source, &u);
}

/*
 * Whether an encoded Entity record says source has the entity present with
 * this scan id, read straight from the wire format: a full scan's sweep
 * looks at every entity of the source, and decoding each one would cost more
 * than the rest of the sweep (view.proto: Entity.sources = 2;
 * SourceState.source = 1, present = 2, scan_id = 4). tu_entity_encode writes
 * fields in number order, so the walk of a state stops at its first field
 * past scan_id, or once its source is another.
 */
static bool entity_seen_in_scan(const uint8_t *buf, size_t len, const char *source,
				const char *scan_id)
{
	const uint8_t *p = buf, *end = buf + len;
	size_t sl = strlen(source), il = strlen(scan_id);
	struct tu_wire_field f;
	while (p < end && tu_wire_next(&p, end, &f)) {
		if (f.num != 2 || f.type != 2)
			continue;
		const uint8_t *q = f.data, *qend = f.data + f.len;
		struct tu_wire_field g;
		bool mine = false, present = false, same = false;
		while (q < qend && tu_wire_next(&q, qend, &g) && g.num <= 4) {
			if (g.num == 1 && g.type == 2) {
				mine = g.len == sl && memcmp(g.data, source, sl) == 0;
				if (!mine)
					break;
			} else if (g.num == 2 && g.type == 0)
				present = g.value != 0;
			else if (g.num == 4 && g.type == 2)
				same = g.len == il && memcmp(g.data, scan_id, il) == 0;
		}
		if (mine)
			return present && same;
	}
	return false;
}

/*
 * Moves cursor cur (on the entity database) to the first record whose key is
 * at or after key; *rc is the cursor's state (0: on a record), and k, d that
 * record. Sweeps ask for keys in ascending order, which mostly lie a few
 * records ahead: a few steps forward cost less than a search from the root.
 */
static void entity_seek(tu_fold *f, MDB_cursor *cur, const MDB_val *key, int *rc, MDB_val *k,
			MDB_val *d)
{
	for (int steps = 0; *rc == 0 && steps < 8; steps++) {
		if (mdb_cmp(f->txn, f->db->entity, k, key) >= 0)
			return;
		*rc = mdb_cursor_get(cur, k, d, MDB_NEXT);
	}
	if (*rc == 0 && mdb_cmp(f->txn, f->db->entity, k, key) >= 0)
		return;
	*k = *key;
	*rc = mdb_cursor_get(cur, k, d, MDB_SET_RANGE);
}

/*
 * Collects (refs in the arena) every entity the source has present that this
 * full scan did not see: those whose state in the source still names another
 * scan. bysrc's keys of a source are its entity keys behind a common prefix,
 * so they come in the entity database's order: one cursor walks both.
 */
tu_status tu__sweep_collect(tu_fold *f, const char *source, const char *scan_id,
			    struct tu_arena_vec *gone)
{
	struct tu__key prefix;
	tu__key_init(&prefix);
	tu__key_str(&prefix, source);
	tu__key_raw(&prefix, "", 1);
	MDB_cursor *cur = NULL, *ecur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->bysrc, &cur);
	if (rc == 0)
		rc = mdb_cursor_open(f->txn, f->db->entity, &ecur);
	if (rc != 0) {
		mdb_cursor_close(cur);
		return tu_view_status(rc);
	}
	MDB_val k = { prefix.n, prefix.b }, d;
	MDB_val ek = { 0, NULL }, ed = { 0, NULL };
	int erc = MDB_NOTFOUND; /* the entity cursor is on no record yet */
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		const char *key = (const char *)k.mv_data + prefix.n;
		size_t keyn = k.mv_size - prefix.n;
		MDB_val want = { keyn, (void *)key };
		entity_seek(f, ecur, &want, &erc, &ek, &ed);
		bool found = erc == 0 && mdb_cmp(f->txn, f->db->entity, &ek, &want) == 0;
		if (!found || !entity_seen_in_scan(ed.mv_data, ed.mv_size, source, scan_id)) {
			const char *end = key + keyn;
			const char *ns = key + strnlen(key, keyn) + 1;
			const char *name = ns < end ? ns + strnlen(ns, (size_t)(end - ns)) + 1 : end;
			if (name < end)
				tu_arena_push(&f->arena, gone,
					      tu_pb_entity(&f->arena, key, ns,
							   tu_arena_strndup(&f->arena, name,
									    (size_t)(end - name))));
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(ecur);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	if (erc != 0 && erc != MDB_NOTFOUND)
		return tu_view_status(erc);
	return TU_OK;
}

tu_status tu__entity_gone(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source)
{
	struct update u = { .present = false };
	return entity_update(f, ref, source, &u);
}

static tu_status fold_scan(tu_fold *f, const struct tu_fold_event *ev)
{
	const char *field = NULL;
	Trueup__V1__ScanMarker *m =
		trueup__v1__scan_marker__unpack(tu_arena_pb(&f->arena), ev->len, ev->data);
	if (m == NULL)
		return park(f, ev, "body does not decode as %s", TU_TYPE_SCAN);
	if (!tu_pb_text_valid(&m->base, &field))
		return park(f, ev, "%s: not UTF-8", field);
	if (!tu_name_valid(m->source))
		return park(f, ev, "source: \"%.64s\" is not a valid name", m->source);
	if (!subject_is(ev->subject, TU_SUBJ_OBS, m->source, TU_SCAN_TOKEN))
		return park(f, ev, "subject does not match source \"%s\"", m->source);
	if (m->scan_id == NULL || *m->scan_id == '\0' || strlen(m->scan_id) > TU_MAX_NAME)
		return park(f, ev, "scan_id: must be 1..%d bytes", TU_MAX_NAME);
	if (m->phase != TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_BEGIN &&
	    m->phase != TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_END)
		return park(f, ev, "phase: must be PHASE_BEGIN or PHASE_END");

	struct tu__key k;
	tu__key_init(&k);
	tu__key_str(&k, m->source);
	Trueup__View__Scan *s = NULL;
	tu_status st = tu__load_scan(f, m->source, &s);
	if (st == TU_ENOTFOUND) {
		s = tu_arena_alloc(&f->arena, sizeof(*s));
		trueup__view__scan__init(s);
		s->source = m->source;
		st = TU_OK;
	}
	if (st != TU_OK)
		return st;

	if (m->phase == TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_BEGIN) {
		s->scan_id = m->scan_id;
		s->full = m->full;
		s->kinds = m->kinds;
		s->n_kinds = m->n_kinds;
		s->begin_seq = f->seq;
		s->begin_ns = f->now;
		s->end_seq = 0;
		s->end_ns = 0;
		s->complete = false;
		s->seen = s->published = s->deleted = s->skipped = s->swept = 0;
		s->error = "";
		return tu__put_pb(f, f->db->scan, &k, &s->base);
	}

	/* END */
	bool matches = s->scan_id != NULL && strcmp(s->scan_id, m->scan_id) == 0 && s->end_seq == 0;
	s->end_seq = f->seq;
	s->end_ns = f->now;
	s->seen = m->seen;
	s->published = m->published;
	s->deleted = m->deleted;
	s->skipped = m->skipped;
	s->swept = 0;
	s->complete = matches && m->complete;
	s->error = m->error ? m->error : "";
	if (!matches) {
		s->error = tu_arena_printf(&f->arena, "END of scan %s without its BEGIN", m->scan_id);
		tu_warn("source %s: %s", m->source, s->error);
	}
	bool first = false;
	if (s->complete) {
		/*
		 * Only a complete scan proves absence, and only if it does not shrink
		 * the source too much (blast.c): its deletions are applied, or held.
		 */
		st = tu__blast_end(f, s);
		first = s->complete_scans == 0;
		s->complete_scans++;
		s->last_complete_seq = f->seq;
		s->last_complete_ns = f->now;
		s->last_complete_begin_seq = s->begin_seq;
		int i = tu__source_index(f, m->source);
		if (i >= 0)
			f->src_complete[i] = 1;
	}
	if (st == TU_OK)
		st = tu__put_pb(f, f->db->scan, &k, &s->base);
	if (st == TU_OK && s->complete)
		st = tu__blast_verdict(f, m->source);
	if (st == TU_OK && first)
		st = tu__rules_on_first_complete(f, m->source);
	if (st == TU_OK && s->complete && !s->full && tu__rules_poll(f))
		st = tu__rules_on_delta_scan(f, m->source, m->scan_id, s->kinds, s->n_kinds);
	if (st == TU_OK && s->complete)
		st = tu__drift_on_scan(f, m->source);
	return st;
}

static tu_status fold_heartbeat(tu_fold *f, const struct tu_fold_event *ev)
{
	const char *field = NULL;
	char why[256];
	Trueup__V1__Heartbeat *h =
		trueup__v1__heartbeat__unpack(tu_arena_pb(&f->arena), ev->len, ev->data);
	if (h == NULL)
		return park(f, ev, "body does not decode as %s", TU_TYPE_HEARTBEAT);
	if (!tu_pb_text_valid(&h->base, &field))
		return park(f, ev, "%s: not UTF-8", field);
	if (!valid_ns(h->service))
		return park(f, ev, "service: must be 1..%d bytes", TU_MAX_NAMESPACE);
	if (!valid_entity_name(h->instance))
		return park(f, ev, "instance: must be 1..%d bytes", TU_MAX_NAME);
	if (h->ttl_ms <= 0 || h->ttl_ms > 7LL * 24 * 3600 * 1000)
		return park(f, ev, "ttl_ms: %" PRId64 " is not in 1..7d", h->ttl_ms);
	char stok[TU_MAX_SUBJECT], itok[TU_MAX_SUBJECT];
	if (!tu_token_escape(h->service, stok, sizeof(stok)) ||
	    !tu_token_escape(h->instance, itok, sizeof(itok)) ||
	    !subject_is(ev->subject, TU_SUBJ_HB, stok, itok))
		return park(f, ev, "subject does not match service and instance (escaped)");
	if (!check_attrs(h->attrs, h->n_attrs, why, sizeof(why)))
		return park(f, ev, "%s", why);
	Trueup__V1__EntityRef ref = TRUEUP__V1__ENTITY_REF__INIT;
	ref.kind = TU__HB_KIND;
	ref.namespace_ = h->service;
	ref.name = h->instance;
	int64_t expires = f->now + h->ttl_ms * TU_NS_PER_MS;
	struct update u = { .present = !h->stopping, .attrs = h->attrs, .n_attrs = h->n_attrs,
			    .expires_ns = h->stopping ? 0 : expires, .observed = true };
	tu_status st = entity_update(f, &ref, TU__HB_SOURCE, &u);
	if (st == TU_OK && !h->stopping) {
		struct tu__key ek;
		tu__key_entity(&ek, ref.kind, ref.namespace_, ref.name);
		st = tu__timer_put(f, expires, TU__TIMER_HEARTBEAT, &ek);
	}
	return st;
}

static tu_status fold_outcome(tu_fold *f, const struct tu_fold_event *ev)
{
	const char *field = NULL;
	Trueup__V1__Outcome *o =
		trueup__v1__outcome__unpack(tu_arena_pb(&f->arena), ev->len, ev->data);
	if (o == NULL)
		return park(f, ev, "body does not decode as %s", TU_TYPE_OUTCOME);
	if (!tu_pb_text_valid(&o->base, &field))
		return park(f, ev, "%s: not UTF-8", field);
	if (!tu_name_valid(o->target))
		return park(f, ev, "target: \"%.64s\" is not a valid name", o->target);
	if (!tu_token_valid(o->command_id) || strlen(o->command_id) > 64)
		return park(f, ev, "command_id: not a valid token");
	if (!subject_is(ev->subject, TU_SUBJ_OUT, o->target, o->command_id))
		return park(f, ev, "subject does not match target and command_id");
	if (o->result == TRUEUP__V1__OUTCOME__RESULT__RESULT_UNSPECIFIED ||
	    o->result > TRUEUP__V1__OUTCOME__RESULT__RESULT_EXPIRED)
		return park(f, ev, "result: %d is not a known result", (int)o->result);
	TU__COUNT(f, outcomes);
	if (f->hooks.outcome != NULL)
		f->hooks.outcome(f->hooks.ctx, o->target, o->result);
	return tu__drift_on_outcome(f, o);
}

static tu_status fold_approval(tu_fold *f, const struct tu_fold_event *ev)
{
	const char *field = NULL;
	Trueup__V1__Approval *a =
		trueup__v1__approval__unpack(tu_arena_pb(&f->arena), ev->len, ev->data);
	if (a == NULL)
		return park(f, ev, "body does not decode as %s", TU_TYPE_APPROVAL);
	if (!tu_pb_text_valid(&a->base, &field))
		return park(f, ev, "%s: not UTF-8", field);
	if (!tu_token_valid(a->command_id) || strlen(a->command_id) > 64)
		return park(f, ev, "command_id: not a valid token");
	char want[TU_MAX_SUBJECT];
	snprintf(want, sizeof(want), "%s.%s", TU_SUBJ_APPROVE, a->command_id);
	if (strcmp(ev->subject, want) != 0)
		return park(f, ev, "subject does not match command_id");
	return tu__drift_on_approval(f, a);
}

static tu_status fold_tick(tu_fold *f, const struct tu_fold_event *ev)
{
	const char *field = NULL;
	Trueup__V1__Tick *t = trueup__v1__tick__unpack(tu_arena_pb(&f->arena), ev->len, ev->data);
	if (t == NULL)
		return park(f, ev, "body does not decode as %s", TU_TYPE_TICK);
	if (!tu_pb_text_valid(&t->base, &field))
		return park(f, ev, "%s: not UTF-8", field);
	if (strcmp(ev->subject, TU_SUBJ_TICK) != 0)
		return park(f, ev, "subject is not %s", TU_SUBJ_TICK);
	return TU_OK; /* its timestamp already moved the clock */
}

/* ---- timers ------------------------------------------------------------------------ */

static tu_status fire_heartbeat(tu_fold *f, const unsigned char *p, size_t n)
{
	struct tu__key ek;
	tu__key_init(&ek);
	tu__key_raw(&ek, p, n);
	Trueup__View__Entity *e = NULL;
	tu_status st = load_entity(f, &ek, &e);
	if (st == TU_ENOTFOUND)
		return TU_OK;
	if (st != TU_OK)
		return st;
	Trueup__View__SourceState *s = tu__entity_source(e, TU__HB_SOURCE);
	if (s == NULL || !s->present || s->expires_ns == 0 || s->expires_ns > f->now)
		return TU_OK; /* renewed since */
	struct update u = { .present = false, .expires_ns = s->expires_ns, .expired = true };
	return entity_update(f, e->ref, TU__HB_SOURCE, &u);
}

/* Splits a drift-form key rule\0kind\0ns\0name; false if it has not four parts. */
static bool split_drift_key(tu_fold *f, const unsigned char *p, size_t n, const char **rule,
			    Trueup__V1__EntityRef **ref)
{
	const char *parts[4];
	size_t np = 0, start = 0;
	for (size_t i = 0; i <= n && np < 4; i++) {
		if (i == n || p[i] == 0) {
			parts[np++] = tu_arena_strndup(&f->arena, (const char *)p + start, i - start);
			start = i + 1;
		}
	}
	if (np != 4 || start != n + 1)
		return false;
	*rule = parts[0];
	*ref = tu_pb_entity(&f->arena, parts[1], parts[2], parts[3]);
	return true;
}

static tu_status fire_reeval(tu_fold *f, const unsigned char *p, size_t n)
{
	const char *rule = NULL;
	Trueup__V1__EntityRef *ref = NULL;
	if (!split_drift_key(f, p, n, &rule, &ref))
		return TU_OK;
	const struct tu__rule *r = tu__rule_by_name(f, rule);
	if (r == NULL)
		return TU_OK; /* the policy no longer has this rule */
	return tu__rule_reeval(f, r, ref, TU__TRIG_CHANGE);
}

static tu_status fire_for(tu_fold *f, const unsigned char *p, size_t n)
{
	struct tu__key dk;
	tu__key_init(&dk);
	tu__key_raw(&dk, p, n);
	Trueup__View__Drift *d = NULL;
	tu_status st = tu__get_pb(f, f->db->drift, &dk, &trueup__view__drift__descriptor,
				  (ProtobufCMessage **)&d);
	if (st == TU_ENOTFOUND)
		return TU_OK;
	if (st != TU_OK)
		return st;
	if (d->state != TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING)
		return TU_OK;
	const struct tu__rule *r = tu__rule_by_name(f, d->rule);
	if (r == NULL)
		return TU_OK; /* the policy no longer has this rule */
	return tu__rule_reeval(f, r, d->entity, TU__TRIG_TIMER);
}

/*
 * Fires, in key order, every timer due at or before now. The earliest due
 * time is cached for the batch (timers only get added through
 * tu__timer_put, which keeps the cache), so most events cost no cursor.
 */
static tu_status fire_timers(tu_fold *f)
{
	if (f->next_timer >= 0 && f->next_timer > f->now)
		return TU_OK;
	for (;;) {
		MDB_cursor *cur = NULL;
		int rc = mdb_cursor_open(f->txn, f->db->timer, &cur);
		if (rc != 0)
			return tu_view_status(rc);
		MDB_val k, d;
		rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
		if (rc == MDB_NOTFOUND || (rc == 0 && k.mv_size < 9)) {
			mdb_cursor_close(cur);
			f->next_timer = INT64_MAX;
			return TU_OK;
		}
		if (rc != 0) {
			mdb_cursor_close(cur);
			return tu_view_status(rc);
		}
		int64_t due = (int64_t)tu_view_get_be64(k.mv_data);
		if (due > f->now) {
			mdb_cursor_close(cur);
			f->next_timer = due;
			return TU_OK;
		}
		/* Copy the key out: deleting invalidates it. */
		unsigned char kb[TU__KEY_MAX];
		size_t kn = k.mv_size;
		memcpy(kb, k.mv_data, kn);
		rc = mdb_cursor_del(cur, 0);
		mdb_cursor_close(cur);
		if (rc != 0)
			return tu_view_status(rc);
		tu_status st = TU_OK;
		if (kb[8] == TU__TIMER_HEARTBEAT)
			st = fire_heartbeat(f, kb + 9, kn - 9);
		else if (kb[8] == TU__TIMER_FOR)
			st = fire_for(f, kb + 9, kn - 9);
		else if (kb[8] == TU__TIMER_REEVAL)
			st = fire_reeval(f, kb + 9, kn - 9);
		if (st != TU_OK)
			return st;
	}
}

/* ---- the fold ------------------------------------------------------------------------- */

const char *tu_fold_subject_type(const char *subject)
{
	static const struct {
		const char *prefix;
		const char *type;
	} map[] = {
		{ TU_SUBJ_OBS ".", TU_TYPE_OBSERVED }, /* or a scan marker, below */
		{ TU_SUBJ_HB ".", TU_TYPE_HEARTBEAT },
		{ TU_SUBJ_OUT ".", TU_TYPE_OUTCOME },
		{ TU_SUBJ_APPROVE ".", TU_TYPE_APPROVAL },
	};
	if (subject == NULL)
		return NULL;
	if (strcmp(subject, TU_SUBJ_TICK) == 0)
		return TU_TYPE_TICK;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strncmp(subject, map[i].prefix, strlen(map[i].prefix)) != 0)
			continue;
		if (i == 0) {
			const char *last = strrchr(subject, '.');
			if (strcmp(last + 1, TU_SCAN_TOKEN) == 0)
				return TU_TYPE_SCAN;
		}
		return map[i].type;
	}
	return NULL;
}

tu_status tu_fold_event(tu_fold *f, const struct tu_fold_event *ev)
{
	if (ev->seq <= f->applied_seq)
		return TU_OK; /* redelivered: already folded */
	tu_arena_reset(&f->arena);
	f->seq = ev->seq;
	if (ev->ts_ns > f->now)
		f->now = ev->ts_ns;

	tu_status st = fire_timers(f);
	if (st != TU_OK)
		return st;
	const char *subject = ev->subject ? ev->subject : "";
	const char *type = tu_fold_subject_type(subject);
	if (ev->len > TU_MAX_MSG)
		st = park(f, ev, "body of %zu bytes is over the %d byte bound", ev->len, TU_MAX_MSG);
	else if (type == NULL)
		st = park(f, ev, "subject %s is not one of TRUEUP_EVENTS' subjects", subject);
	else if (ev->type != NULL && strcmp(ev->type, type) != 0)
		st = park(f, ev, "header %s: \"%.80s\" does not match subject %s (%s)", TU_HDR_TYPE,
			  ev->type, subject, type);
	else if (strcmp(type, TU_TYPE_OBSERVED) == 0)
		st = fold_observed(f, ev);
	else if (strcmp(type, TU_TYPE_SCAN) == 0)
		st = fold_scan(f, ev);
	else if (strcmp(type, TU_TYPE_HEARTBEAT) == 0)
		st = fold_heartbeat(f, ev);
	else if (strcmp(type, TU_TYPE_OUTCOME) == 0)
		st = fold_outcome(f, ev);
	else if (strcmp(type, TU_TYPE_APPROVAL) == 0)
		st = fold_approval(f, ev);
	else if (strcmp(type, TU_TYPE_TICK) == 0)
		st = fold_tick(f, ev);
	else
		st = park(f, ev, "subject %s: no fold for type %s", subject, type);
	if (st == TU_OK) {
		f->applied_seq = ev->seq;
		TU__COUNT(f, folded);
	}
	return st;
}
