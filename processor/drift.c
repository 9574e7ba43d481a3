/*
 * drift.c - the drift state machine and the commands it derives.
 *
 *   (none) --violated--> PENDING --for: elapsed--> OPEN --holds--> (none, RESOLVED)
 *                           |                        |  \--fix did not hold, attempts left--> OPEN (attempt+1)
 *                           +--holds--> (none)       \--fix did not hold, no attempts left--> ESCALATED
 *
 * A fix attempt issues one command per action the verdict chose (mode
 * enforce/dry-run: into the outbox; propose: held until an Approval). The
 * attempt is finished when every command has a final outcome (or was
 * rejected); only once every source the fix touched has completed a scan
 * that *began* after that moment can the fix be shown not to have held, so
 * stale observations never trigger a second attempt.
 *
 * Ids: correlation id = f(rule, entity, sequence that first showed the
 * violation); command id = f(correlation id, action ordinal, verb, attempt);
 * drift event id = f(correlation id, revision). All published bytes are a
 * function of the folded events and the policy.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "contract.h"
#include "fold_internal.h"
#include "ids.h"
#include "log.h"
#include "tmpl.h"
#include "xalloc.h"

static Trueup__V1__Mode pb_mode(enum tu_rule_mode m)
{
	switch (m) {
	case TU_MODE_DETECT: return TRUEUP__V1__MODE__MODE_DETECT;
	case TU_MODE_DRY_RUN: return TRUEUP__V1__MODE__MODE_DRY_RUN;
	case TU_MODE_PROPOSE: return TRUEUP__V1__MODE__MODE_PROPOSE;
	case TU_MODE_ENFORCE: return TRUEUP__V1__MODE__MODE_ENFORCE;
	}
	return TRUEUP__V1__MODE__MODE_UNSPECIFIED;
}

/* ---- the drift keys in memory (fold_internal.h) ----------------------------------- */

struct tu__dkey {
	struct tu__dkey *next; /* in its slot's chain */
	uint64_t hash;
	size_t len;
	unsigned char b[];     /* the key, len bytes */
};

/* Eight bytes at a time, mixed by a multiply and a shift (keys are tens of bytes). */
static uint64_t dkey_hash(const unsigned char *b, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	uint64_t w = 0;
	memcpy(&w, b + i, n - i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

/* The link that points at key (or the chain's end, where it would go). */
static struct tu__dkey **dkey_link(struct tu__dkeys *s, const struct tu__key *k, uint64_t h)
{
	struct tu__dkey **l = &s->slots[h & (s->n_slots - 1)];
	while (*l != NULL && ((*l)->hash != h || (*l)->len != k->n || memcmp((*l)->b, k->b, k->n) != 0))
		l = &(*l)->next;
	return l;
}

static void dkey_add(struct tu__dkeys *s, const struct tu__key *k)
{
	if (s->n >= s->n_slots) {
		size_t n_slots = s->n_slots ? s->n_slots * 2 : 1024;
		struct tu__dkey **slots = tu_xcalloc(n_slots, sizeof(*slots));
		for (size_t i = 0; i < s->n_slots; i++) {
			while (s->slots[i] != NULL) {
				struct tu__dkey *e = s->slots[i];
				s->slots[i] = e->next;
				e->next = slots[e->hash & (n_slots - 1)];
				slots[e->hash & (n_slots - 1)] = e;
			}
		}
		free(s->slots);
		s->slots = slots;
		s->n_slots = n_slots;
	}
	uint64_t h = dkey_hash(k->b, k->n);
	struct tu__dkey **l = dkey_link(s, k, h);
	if (*l != NULL)
		return;
	struct tu__dkey *e = tu_xmalloc(sizeof(*e) + k->n);
	e->next = NULL;
	e->hash = h;
	e->len = k->n;
	memcpy(e->b, k->b, k->n);
	*l = e;
	s->n++;
}

static void dkey_del(struct tu__dkeys *s, const struct tu__key *k)
{
	if (s->n_slots == 0)
		return;
	struct tu__dkey **l = dkey_link(s, k, dkey_hash(k->b, k->n));
	struct tu__dkey *e = *l;
	if (e == NULL)
		return;
	*l = e->next;
	free(e);
	s->n--;
}

/* Whether the drift database holds key k: 1 yes, 0 no, -1 not known (ask the database). */
static int dkey_has(struct tu__dkeys *s, const struct tu__key *k)
{
	if (!s->loaded || k->over)
		return -1;
	if (s->n_slots == 0)
		return 0;
	return *dkey_link(s, k, dkey_hash(k->b, k->n)) != NULL;
}

void tu__drift_keys_clear(struct tu__dkeys *s, bool release)
{
	for (size_t i = 0; i < s->n_slots; i++) {
		while (s->slots[i] != NULL) {
			struct tu__dkey *e = s->slots[i];
			s->slots[i] = e->next;
			free(e);
		}
	}
	s->n = 0;
	s->loaded = false;
	if (release) {
		free(s->slots);
		s->slots = NULL;
		s->n_slots = 0;
	}
}

tu_status tu__drift_keys_load(tu_fold *f)
{
	struct tu__dkeys *s = &f->drift_keys;
	if (s->loaded)
		return TU_OK;
	tu__drift_keys_clear(s, false);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->drift, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	MDB_val k, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		struct tu__key key;
		tu__key_init(&key);
		tu__key_raw(&key, k.mv_data, k.mv_size);
		if (!key.over)
			dkey_add(s, &key);
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND) {
		tu__drift_keys_clear(s, false);
		return tu_view_status(rc);
	}
	s->loaded = true;
	return TU_OK;
}

/* ---- drift records ------------------------------------------------------------------ */

static tu_status put_drift(tu_fold *f, const Trueup__View__Drift *d)
{
	struct tu__key k;
	tu__key_drift(&k, d->rule, d->entity);
	tu_status st = tu__put_pb(f, f->db->drift, &k, &d->base);
	if (st == TU_OK && f->drift_keys.loaded)
		dkey_add(&f->drift_keys, &k);
	return st;
}

static tu_status del_drift(tu_fold *f, const Trueup__View__Drift *d, const struct tu__rule *r)
{
	struct tu__key k;
	tu__key_drift(&k, d->rule, d->entity);
	tu_status st = tu__del(f, f->db->drift, &k);
	if (st == TU_OK && f->drift_keys.loaded)
		dkey_del(&f->drift_keys, &k);
	if (st == TU_OK && d->state == TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING && r != NULL &&
	    r->cfg->for_ms > 0)
		st = tu__timer_del(f, d->since_ns + r->cfg->for_ms * 1000000, TU__TIMER_FOR, &k);
	return st;
}

/* Publishes a DriftEvent for d's current revision. */
static tu_status emit(tu_fold *f, const struct tu__rule *r, const Trueup__View__Drift *d,
		      Trueup__V1__DriftEvent__State state, const char *reason)
{
	char id[TU_ID_SIZE];
	tu_id_drift_event(id, d->correlation_id, d->revision);
	Trueup__V1__DriftEvent ev = TRUEUP__V1__DRIFT_EVENT__INIT;
	ev.event_id = id;
	ev.correlation_id = d->correlation_id;
	ev.rule = d->rule;
	ev.rule_type = (char *)tu_rule_type_str(r->cfg->type);
	ev.entity = d->entity;
	ev.state = state;
	ev.revision = d->revision;
	ev.reason = (char *)reason;
	ev.details = d->details;
	ev.n_details = d->n_details;
	ev.opened_seq = d->since_seq;
	ev.opened_at_ns = d->since_ns;
	ev.seq = f->seq;
	ev.at_ns = f->now;
	ev.mode = pb_mode(r->cfg->mode);
	ev.attempt = d->attempt;
	ev.command_ids = d->command_ids;
	ev.n_command_ids = d->n_command_ids;
	ev.last_outcome = d->last_outcome;
	ev.group = d->group;
	char subject[TU_MAX_SUBJECT];
	snprintf(subject, sizeof(subject), "%s.%s.%s", TU_SUBJ_DRIFT, d->rule, d->entity->kind);
	tu_log(TU_LOG_INFO, d->correlation_id, "drift %s %s: %s", tu_pb_drift_state_str(state),
	       d->rule, reason);
	if (f->hooks.drift != NULL) {
		bool fixed = state == TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED && d->attempt > 0 &&
			     strcmp(d->last_outcome, "succeeded") == 0;
		f->hooks.drift(f->hooks.ctx, d->rule, ev.rule_type, state, fixed);
	}
	return tu__outbox_put(f, subject, id, TU_TYPE_DRIFT, d->correlation_id, &ev.base);
}

static const char *fingerprint(tu_fold *f, const struct tu__verdict *v)
{
	struct tu_buf b;
	tu_buf_init(&b, 1 << 20);
	tu_buf_puts(&b, v->reason ? v->reason : "");
	for (size_t i = 0; i < v->n_details; i++)
		tu_buf_printf(&b, "\n%s=%s", v->details[i]->key, v->details[i]->value);
	char hex[TU_ID_SIZE];
	tu_digest_hex(hex, b.data ? b.data : "", b.len);
	tu_buf_release(&b);
	return tu_arena_strdup(&f->arena, hex);
}

/* Copies the verdict's description into d. */
static void describe(tu_fold *f, Trueup__View__Drift *d, struct tu__verdict *v, const char *fp)
{
	d->reason = (char *)v->reason;
	d->details = tu_arena_memdup(&f->arena, v->details, v->n_details * sizeof(*v->details));
	d->n_details = v->n_details;
	d->fingerprint = (char *)fp;
}

/* Renders one action of the verdict into a FixCommand; NULL and *why on failure. */
static Trueup__V1__FixCommand *build_command(tu_fold *f, const struct tu__rule *r,
					     const Trueup__View__Drift *d,
					     const struct tu__verdict *v,
					     const struct tu__action_ref *a, uint32_t attempt,
					     const char **why)
{
	const struct tu_action_config *ac = a->cfg;
	char err[256];
	struct tu_buf b;
	tu_buf_init(&b, 65536);
	Trueup__V1__FixCommand *c = tu_arena_alloc(&f->arena, sizeof(*c));
	trueup__v1__fix_command__init(c);
	c->params = tu_arena_alloc(&f->arena, (ac->params.n + 1) * sizeof(*c->params));
	for (size_t i = 0; i < ac->params.n; i++) {
		tu_buf_reset(&b);
		if (tu_tmpl_render(ac->params.items[i].value, tu__tctx_lookup, (void *)&v->tctx, &b, err,
				   sizeof(err)) != TU_OK) {
			*why = tu_arena_printf(&f->arena, "action %s.%s param %s: %s", ac->target,
					       ac->action, ac->params.items[i].key, err);
			tu_buf_release(&b);
			return NULL;
		}
		c->params[c->n_params++] = tu_pb_attr(&f->arena, ac->params.items[i].key,
						      tu_buf_cstr(&b));
	}
	tu_pb_attrs_sort(c->params, c->n_params);
	c->preconditions = tu_arena_alloc(&f->arena, (ac->n_pre + 1) * sizeof(*c->preconditions));
	for (size_t i = 0; i < ac->n_pre; i++) {
		const struct tu_precond_config *pc = &ac->pre[i];
		Trueup__V1__Precondition *p = tu_arena_alloc(&f->arena, sizeof(*p));
		trueup__v1__precondition__init(p);
		p->op = (Trueup__V1__Precondition__Op)pc->op;
		p->field = pc->field ? pc->field : "";
		const char *tmpls[2] = { pc->key, pc->value };
		char *outs[2] = { "", "" };
		for (int j = 0; j < 2; j++) {
			if (tmpls[j] == NULL)
				continue;
			tu_buf_reset(&b);
			if (tu_tmpl_render(tmpls[j], tu__tctx_lookup, (void *)&v->tctx, &b, err,
					   sizeof(err)) != TU_OK) {
				*why = tu_arena_printf(&f->arena, "action %s.%s precondition %zu: %s",
						       ac->target, ac->action, i, err);
				tu_buf_release(&b);
				return NULL;
			}
			outs[j] = tu_arena_strdup(&f->arena, tu_buf_cstr(&b));
		}
		p->key = outs[0];
		p->value = outs[1];
		c->preconditions[c->n_preconditions++] = p;
	}
	tu_buf_release(&b);

	char *id = tu_arena_alloc(&f->arena, TU_ID_SIZE);
	tu_id_command(id, d->correlation_id, a->ordinal, ac->action, attempt);
	c->command_id = id;
	c->correlation_id = d->correlation_id;
	c->rule = d->rule;
	c->target = ac->target;
	c->action = ac->action;
	c->entity = d->entity;
	c->mode = r->cfg->mode == TU_MODE_DRY_RUN ? TRUEUP__V1__MODE__MODE_DRY_RUN
						  : TRUEUP__V1__MODE__MODE_ENFORCE;
	c->attempt = attempt;
	c->issued_seq = f->seq;
	c->issued_at_ns = f->now;
	c->deadline_ns = f->now + f->cfg->processor.command_ttl * 1000000;
	c->reason = d->reason;
	return c;
}

static tu_status send_command(tu_fold *f, const Trueup__V1__FixCommand *c)
{
	char subject[TU_MAX_SUBJECT];
	snprintf(subject, sizeof(subject), "%s.%s.%s", TU_SUBJ_CMD, c->target, c->action);
	tu_log(TU_LOG_INFO, c->correlation_id, "command %s %s.%s attempt %u%s", c->command_id,
	       c->target, c->action, c->attempt,
	       c->mode == TRUEUP__V1__MODE__MODE_DRY_RUN ? " (dry-run)" : "");
	return tu__outbox_put(f, subject, c->command_id, TU_TYPE_COMMAND, c->correlation_id,
			      &c->base);
}

/* Commands of an attempt that go out after the drift event announcing them. */
struct outgoing {
	Trueup__V1__FixCommand **cmds; /* arena */
	size_t n;
};

static tu_status send_all(tu_fold *f, const struct outgoing *out)
{
	tu_status st = TU_OK;
	for (size_t i = 0; i < out->n && st == TU_OK; i++)
		st = send_command(f, out->cmds[i]);
	return st;
}

/* Stores command c of drift d (key dk) and lists it in d's current attempt. */
static tu_status record_command(tu_fold *f, Trueup__View__Drift *d, const struct tu__key *dk,
				Trueup__V1__FixCommand *c, bool proposed)
{
	Trueup__View__Command rec = TRUEUP__VIEW__COMMAND__INIT;
	rec.cmd = c;
	rec.state = proposed ? TRUEUP__VIEW__COMMAND__STATE__STATE_PROPOSED
			     : TRUEUP__VIEW__COMMAND__STATE__STATE_ISSUED;
	rec.drift_key.data = (uint8_t *)dk->b;
	rec.drift_key.len = dk->n;
	struct tu__key ck;
	tu__key_init(&ck);
	tu__key_str(&ck, c->command_id);
	d->command_ids[d->n_command_ids++] = c->command_id;
	TU__COUNT(f, commands);
	if (f->hooks.command != NULL)
		f->hooks.command(f->hooks.ctx, d->rule, c->target, c->action);
	return tu__put_pb(f, f->db->cmd, &ck, &rec.base);
}

/*
 * Rules' budgets (blast radius): at most budget_max destructive commands per
 * budget_window of fold time. db budget: rule\0 u64 BE issued ns \0 command_id.
 * Spends one unit for command_id, or sets *held when none is left (the
 * command then waits for an approval).
 */
static tu_status spend_budget(tu_fold *f, const struct tu__rule *r, const char *command_id,
			      bool *held)
{
	struct tu__key prefix, from;
	tu__key_init(&prefix);
	tu__key_str(&prefix, r->cfg->name);
	tu__key_raw(&prefix, "", 1);
	int64_t since = f->now - r->cfg->budget_window * 1000000;
	unsigned char be[8];
	tu_view_be64((uint64_t)(since > 0 ? since : 0), be);
	from = prefix;
	tu__key_raw(&from, be, 8);
	*held = false;
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->budget, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	/* Forget what left the window, count what is in it. */
	MDB_val k = { prefix.n, prefix.b }, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0 &&
	       memcmp((const char *)k.mv_data + prefix.n, be, 8) < 0) {
		rc = mdb_cursor_del(cur, 0);
		k.mv_size = prefix.n;
		k.mv_data = prefix.b;
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	}
	uint64_t n = 0;
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		n++;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	if (n >= (uint64_t)r->cfg->budget_max) {
		*held = true;
		return TU_OK;
	}
	struct tu__key spent = prefix;
	tu_view_be64((uint64_t)f->now, be);
	tu__key_raw(&spent, be, 8);
	tu__key_raw(&spent, "", 1);
	tu__key_raw(&spent, command_id, strlen(command_id));
	return tu__put_raw(f, f->db->budget, &spent, "", 0);
}

/*
 * Starts fix attempt `attempt`: a command for every action of the verdict,
 * recorded in the view; those to send now (not held for approval) are left
 * in *out for the caller to send after the drift event that lists them.
 * Updates d; the caller emits the drift event and stores d.
 */
static tu_status issue(tu_fold *f, const struct tu__rule *r, Trueup__View__Drift *d,
		       const struct tu__verdict *v, uint32_t attempt, struct outgoing *out)
{
	bool propose = r->cfg->mode == TU_MODE_PROPOSE;
	struct tu__key dk;
	tu__key_drift(&dk, d->rule, d->entity);
	d->attempt = attempt;
	d->command_ids = tu_arena_alloc(&f->arena, (v->n_actions + 1) * sizeof(char *));
	d->n_command_ids = 0;
	d->outcomes_pending = 0;
	d->confirm_after_seq = 0;
	d->last_outcome = "";
	d->confirm_sources = tu_arena_memdup(&f->arena, v->confirm_sources,
					     v->n_confirm * sizeof(char *));
	d->n_confirm_sources = v->n_confirm;
	out->cmds = tu_arena_alloc(&f->arena, (v->n_actions + 1) * sizeof(*out->cmds));
	out->n = 0;
	tu_status st = TU_OK;
	for (size_t i = 0; i < v->n_actions && st == TU_OK; i++) {
		const char *why = NULL;
		Trueup__V1__FixCommand *c = build_command(f, r, d, v, &v->actions[i], attempt, &why);
		if (c == NULL) {
			tu_log(TU_LOG_WARN, d->correlation_id, "cannot build command: %s", why);
			/* Part of the record, so that it is as deterministic as the rest. */
			Trueup__V1__Attr **nd = tu_arena_alloc(&f->arena,
							       (d->n_details + 1) * sizeof(*nd));
			if (d->n_details > 0)
				memcpy(nd, d->details, d->n_details * sizeof(*nd));
			nd[d->n_details] = tu_pb_attr(
				&f->arena,
				tu_arena_printf(&f->arena, "error.action%u", v->actions[i].ordinal), why);
			d->details = nd;
			d->n_details++;
			tu_pb_attrs_sort(d->details, d->n_details);
			continue;
		}
		bool held = false;
		if (!propose && r->cfg->mode == TU_MODE_ENFORCE && r->cfg->budget_max > 0 &&
		    tu_action_destructive(f->cfg, v->actions[i].cfg))
			st = spend_budget(f, r, c->command_id, &held);
		if (held)
			tu_log(TU_LOG_WARN, d->correlation_id,
			       "rule %s spent its budget (%d destructive commands per %" PRId64
			       " ms): command %s waits for approval (trueup approve %s)",
			       r->cfg->name, r->cfg->budget_max, r->cfg->budget_window, c->command_id,
			       c->command_id);
		if (st == TU_OK)
			st = record_command(f, d, &dk, c, propose || held);
		if (!propose && !held)
			out->cmds[out->n++] = c;
		d->outcomes_pending++;
	}
	if (d->n_command_ids == 0)
		d->confirm_after_seq = f->seq; /* nothing to wait for: the next scan re-checks */
	return st;
}

static bool has_source(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static tu_status open_drift(tu_fold *f, const struct tu__rule *r, Trueup__View__Drift *d,
			    const struct tu__verdict *v)
{
	d->state = TRUEUP__VIEW__DRIFT__STATE__STATE_OPEN;
	d->opened_seq = f->seq;
	d->revision = 1;
	tu_status st = TU_OK;
	struct outgoing out = { 0 };
	bool acts = r->cfg->mode != TU_MODE_DETECT && v->n_actions > 0;
	if (acts)
		st = issue(f, r, d, v, 1, &out);
	TU__COUNT(f, drift_opened);
	if (st == TU_OK)
		st = emit(f, r, d, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_OPENED, d->reason);
	if (st == TU_OK)
		st = send_all(f, &out);
	return st;
}

tu_status tu__drift_load(tu_fold *f, const char *rule, const Trueup__V1__EntityRef *ref,
			 Trueup__View__Drift **out)
{
	struct tu__key k;
	tu__key_drift(&k, rule, ref);
	*out = NULL;
	if (dkey_has(&f->drift_keys, &k) == 0)
		return TU_OK;
	tu_status st = tu__get_pb(f, f->db->drift, &k, &trueup__view__drift__descriptor,
				  (ProtobufCMessage **)out);
	if (st == TU_ENOTFOUND || k.over) {
		*out = NULL;
		return TU_OK;
	}
	return st;
}

/* Enough consecutive violated polls for the rule's confirm:? */
static bool confirmed(const struct tu__rule *r, const Trueup__View__Drift *d)
{
	return r->confirm <= 1 || d->evals >= (uint32_t)r->confirm;
}

/*
 * Escalation: the on_escalate actions (an alert, typically) as commands of
 * the last attempt with their own ordinals; nothing waits for their outcomes.
 */
static tu_status escalate(tu_fold *f, const struct tu__rule *r, Trueup__View__Drift *d,
			  struct tu__verdict *v, struct outgoing *out)
{
	const struct tu_actions *a = &r->cfg->on_escalate;
	out->cmds = tu_arena_alloc(&f->arena, (a->n + 1) * sizeof(*out->cmds));
	out->n = 0;
	if (a->n == 0 || r->cfg->mode == TU_MODE_DETECT)
		return TU_OK;
	struct tu__key dk;
	tu__key_drift(&dk, d->rule, d->entity);
	char **ids = tu_arena_alloc(&f->arena, (d->n_command_ids + a->n) * sizeof(char *));
	if (d->n_command_ids > 0)
		memcpy(ids, d->command_ids, d->n_command_ids * sizeof(char *));
	d->command_ids = ids;
	tu_status st = TU_OK;
	for (size_t i = 0; i < a->n && st == TU_OK; i++) {
		struct tu__action_ref ar = { &a->items[i], TU__ESCALATE_ORDINAL + (uint32_t)i };
		const char *why = NULL;
		Trueup__V1__FixCommand *c = build_command(f, r, d, v, &ar, d->attempt, &why);
		if (c == NULL) {
			tu_log(TU_LOG_WARN, d->correlation_id, "cannot build escalation command: %s",
			       why);
			continue;
		}
		st = record_command(f, d, &dk, c, false);
		out->cmds[out->n++] = c;
	}
	return st;
}

tu_status tu__drift_apply(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			  struct tu__verdict *v, enum tu__trigger trig)
{
	struct tu__key k;
	tu__key_drift(&k, r->cfg->name, ref);
	Trueup__View__Drift *d = NULL;
	tu_status st = tu__drift_load(f, r->cfg->name, ref, &d);
	if (st != TU_OK || v->state == TU__UNKNOWN)
		return st;

	if (v->state == TU__HOLDS) {
		if (d == NULL)
			return TU_OK;
		if (d->state != TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING) {
			d->revision++;
			TU__COUNT(f, drift_resolved);
			/* The event says why the rule holds: its details with its reason. */
			tu_pb_attrs_sort(v->details, v->n_details);
			describe(f, d, v, fingerprint(f, v));
			st = emit(f, r, d, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED, v->reason);
		}
		if (st == TU_OK)
			st = del_drift(f, d, r);
		return st;
	}

	/* violated */
	tu_pb_attrs_sort(v->details, v->n_details);
	const char *fp = fingerprint(f, v);
	if (d == NULL) {
		d = tu_arena_alloc(&f->arena, sizeof(*d));
		trueup__view__drift__init(d);
		d->rule = r->cfg->name;
		d->entity = tu_pb_entity(&f->arena, ref->kind, ref->namespace_, ref->name);
		d->state = TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING;
		char *corr = tu_arena_alloc(&f->arena, TU_ID_SIZE);
		tu_id_correlation(corr, r->cfg->name, ref->kind, ref->namespace_, ref->name, f->seq);
		d->correlation_id = corr;
		d->since_seq = f->seq;
		d->since_ns = f->now;
		d->group = d->entity->namespace_;
		d->evals = v->poll ? 1 : 0;
		describe(f, d, v, fp);
		if (r->cfg->for_ms > 0 || !confirmed(r, d)) {
			if (r->cfg->for_ms <= 0)
				return put_drift(f, d);
			st = tu__timer_put(f, d->since_ns + r->cfg->for_ms * 1000000, TU__TIMER_FOR, &k);
			if (st == TU_OK)
				st = put_drift(f, d);
			return st;
		}
		st = open_drift(f, r, d, v);
		if (st == TU_OK)
			st = put_drift(f, d);
		return st;
	}

	if (d->state == TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING) {
		describe(f, d, v, fp);
		if (v->poll)
			d->evals++;
		if (f->now - d->since_ns >= r->cfg->for_ms * 1000000 && confirmed(r, d)) {
			if (trig != TU__TRIG_TIMER)
				st = tu__timer_del(f, d->since_ns + r->cfg->for_ms * 1000000,
						   TU__TIMER_FOR, &k);
			if (st == TU_OK)
				st = open_drift(f, r, d, v);
		}
		if (st == TU_OK)
			st = put_drift(f, d);
		return st;
	}

	bool changed = strcmp(d->fingerprint, fp) != 0;
	if (changed)
		describe(f, d, v, fp);
	if (d->state == TRUEUP__VIEW__DRIFT__STATE__STATE_ESCALATED)
		return changed ? put_drift(f, d) : TU_OK;

	/* OPEN */
	bool retry_mode = r->cfg->mode == TU_MODE_ENFORCE || r->cfg->mode == TU_MODE_PROPOSE;
	bool finished = d->attempt > 0 && d->outcomes_pending == 0 && d->confirm_after_seq > 0;
	/*
	 * What is still wrong after a finished attempt is retried only if the rule
	 * has an action for it. Otherwise (a presence rule with no when_missing for
	 * that source) the fix held where it acted, and the rest is reported and
	 * left open, as for a drift that opened without actions: it neither starts
	 * an empty attempt nor escalates.
	 */
	if (trig == TU__TRIG_CONFIRM && finished && retry_mode && v->n_actions > 0) {
		d->revision++;
		if (d->attempt < (uint32_t)r->cfg->max_attempts) {
			struct outgoing out = { 0 };
			st = issue(f, r, d, v, d->attempt + 1, &out);
			if (st == TU_OK)
				st = emit(f, r, d, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_UPDATED,
					  tu_arena_printf(&f->arena,
							  "fix did not hold; attempt %u of %d: %s",
							  d->attempt, r->cfg->max_attempts, d->reason));
			if (st == TU_OK)
				st = send_all(f, &out);
		} else {
			d->state = TRUEUP__VIEW__DRIFT__STATE__STATE_ESCALATED;
			TU__COUNT(f, drift_escalated);
			struct outgoing out = { 0 };
			st = escalate(f, r, d, v, &out);
			if (st == TU_OK)
				st = emit(f, r, d, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_ESCALATED,
					  tu_arena_printf(&f->arena,
							  "fix did not hold after %u attempt%s; needs "
							  "a human: %s",
							  d->attempt, d->attempt == 1 ? "" : "s",
							  d->reason));
			if (st == TU_OK)
				st = send_all(f, &out);
		}
	} else if (d->attempt == 0 && r->cfg->mode != TU_MODE_DETECT && v->n_actions > 0) {
		/* Opened without a fix (a guard held it back, nothing to roll back to): act now. */
		d->revision++;
		struct outgoing out = { 0 };
		st = issue(f, r, d, v, 1, &out);
		if (st == TU_OK)
			st = emit(f, r, d, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_UPDATED,
				  tu_arena_printf(&f->arena, "a fix is possible now: %s", d->reason));
		if (st == TU_OK)
			st = send_all(f, &out);
	} else if (changed) {
		d->revision++;
		st = emit(f, r, d, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_UPDATED, d->reason);
	} else {
		return TU_OK;
	}
	if (st == TU_OK)
		st = put_drift(f, d);
	return st;
}

bool tu__drift_exists(tu_fold *f, const char *rule, const Trueup__V1__EntityRef *ref)
{
	struct tu__key k;
	tu__key_drift(&k, rule, ref);
	int has = dkey_has(&f->drift_keys, &k);
	if (has >= 0)
		return has == 1;
	MDB_val key = { k.n, k.b }, val;
	return mdb_get(f->txn, f->db->drift, &key, &val) == 0;
}

static tu_status load_command(tu_fold *f, const char *id, Trueup__View__Command **out,
			      struct tu__key *ck)
{
	tu__key_init(ck);
	tu__key_str(ck, id);
	return tu__get_pb(f, f->db->cmd, ck, &trueup__view__command__descriptor,
			  (ProtobufCMessage **)out);
}

static tu_status load_drift_of(tu_fold *f, const Trueup__View__Command *c,
			       Trueup__View__Drift **out)
{
	struct tu__key dk;
	tu__key_init(&dk);
	tu__key_raw(&dk, c->drift_key.data, c->drift_key.len);
	return tu__get_pb(f, f->db->drift, &dk, &trueup__view__drift__descriptor,
			  (ProtobufCMessage **)out);
}

/* Marks one command of d's current attempt as finished. */
static void finish_one(tu_fold *f, Trueup__View__Drift *d, const char *command_id)
{
	if (!has_source(d->command_ids, d->n_command_ids, command_id) || d->outcomes_pending == 0)
		return;
	d->outcomes_pending--;
	if (d->outcomes_pending == 0)
		d->confirm_after_seq = f->seq;
}

tu_status tu__drift_on_outcome(tu_fold *f, const Trueup__V1__Outcome *o)
{
	struct tu__key ck;
	Trueup__View__Command *c = NULL;
	tu_status st = load_command(f, o->command_id, &c, &ck);
	if (st == TU_ENOTFOUND) {
		tu_log(TU_LOG_INFO, o->correlation_id, "outcome for unknown command %s (%s)",
		       o->command_id, tu_pb_result_str(o->result));
		return TU_OK;
	}
	if (st != TU_OK)
		return st;
	if (c->state == TRUEUP__VIEW__COMMAND__STATE__STATE_DONE)
		return TU_OK; /* a later copy of a final outcome changes nothing */
	bool final = tu_pb_result_final(o->result);
	c->result = o->result;
	c->outcome_seq = f->seq;
	if (final)
		c->state = TRUEUP__VIEW__COMMAND__STATE__STATE_DONE;
	st = tu__put_pb(f, f->db->cmd, &ck, &c->base);
	if (st != TU_OK)
		return st;

	Trueup__View__Drift *d = NULL;
	st = load_drift_of(f, c, &d);
	if (st == TU_ENOTFOUND)
		return TU_OK; /* resolved meanwhile */
	if (st != TU_OK)
		return st;
	const struct tu__rule *r = tu__rule_by_name(f, d->rule);
	if (r == NULL || !has_source(d->command_ids, d->n_command_ids, o->command_id))
		return TU_OK;
	d->last_outcome = (char *)tu_pb_result_str(o->result);
	if (final)
		finish_one(f, d, o->command_id);
	d->revision++;
	bool has_detail = o->detail != NULL && *o->detail != '\0';
	bool has_error = o->error != NULL && *o->error != '\0';
	const char *why = tu_arena_printf(&f->arena, "%s.%s %s: %s%s%s%s%s%s", o->target, o->action,
					  o->command_id, tu_pb_result_str(o->result),
					  has_detail ? ": " : "", has_detail ? o->detail : "",
					  has_error ? " (error: " : "", has_error ? o->error : "",
					  has_error ? ")" : "");
	st = emit(f, r, d, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_UPDATED, why);
	if (st == TU_OK)
		st = put_drift(f, d);
	return st;
}

tu_status tu__drift_on_approval(tu_fold *f, const Trueup__V1__Approval *a)
{
	struct tu__key ck;
	Trueup__View__Command *c = NULL;
	tu_status st = load_command(f, a->command_id, &c, &ck);
	if (st == TU_ENOTFOUND) {
		bool handled = false;
		st = tu__blast_approval(f, a, &handled);
		if (st == TU_OK && !handled)
			tu_info("approval for unknown command %s ignored", a->command_id);
		return st;
	}
	if (st != TU_OK)
		return st;
	if (c->state != TRUEUP__VIEW__COMMAND__STATE__STATE_PROPOSED) {
		tu_log(TU_LOG_INFO, c->cmd->correlation_id,
		       "approval for command %s ignored: it is not waiting for one", a->command_id);
		return TU_OK;
	}
	Trueup__View__Drift *d = NULL;
	st = load_drift_of(f, c, &d);
	if (st != TU_OK && st != TU_ENOTFOUND)
		return st;
	const char *who = (a->approver && *a->approver) ? a->approver : "an operator";
	if (a->approved) {
		c->state = TRUEUP__VIEW__COMMAND__STATE__STATE_ISSUED;
		c->cmd->issued_seq = f->seq;
		c->cmd->issued_at_ns = f->now;
		c->cmd->deadline_ns = f->now + f->cfg->processor.command_ttl * 1000000;
		st = send_command(f, c->cmd);
	} else {
		c->state = TRUEUP__VIEW__COMMAND__STATE__STATE_REJECTED;
		if (d != NULL) {
			finish_one(f, d, a->command_id);
			/* A rejection is a decision: do not propose again on the next scan. */
			d->confirm_after_seq = 0;
		}
	}
	if (st == TU_OK)
		st = tu__put_pb(f, f->db->cmd, &ck, &c->base);
	if (st != TU_OK || d == NULL)
		return st;
	const struct tu__rule *r = tu__rule_by_name(f, d->rule);
	if (r == NULL)
		return TU_OK;
	d->revision++;
	st = emit(f, r, d, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_UPDATED,
		  tu_arena_printf(&f->arena, "command %s %s by %s%s%s", a->command_id,
				  a->approved ? "approved" : "rejected", who,
				  (a->reason && *a->reason) ? ": " : "",
				  (a->reason && *a->reason) ? a->reason : ""));
	if (st == TU_OK)
		st = put_drift(f, d);
	return st;
}

/*
 * Has every confirmation source of d's attempt completed a scan that began
 * after the attempt finished? Until then the view still holds, for some of
 * them, what they said before the fix: a verdict on it would call a fix
 * that worked one that did not hold.
 */
static tu_status all_rescanned(tu_fold *f, const Trueup__View__Drift *d, bool *out)
{
	*out = true;
	for (size_t i = 0; i < d->n_confirm_sources && *out; i++) {
		tu_status st =
		    tu__source_rescanned(f, d->confirm_sources[i], d->confirm_after_seq, out);
		if (st != TU_OK)
			return st;
	}
	return TU_OK;
}

tu_status tu__drift_on_scan(tu_fold *f, const char *source)
{
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->drift, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	struct tu_arena_vec due = { 0 };
	MDB_val k, val;
	rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST);
	while (rc == 0) {
		Trueup__View__Drift *d = (Trueup__View__Drift *)protobuf_c_message_unpack(
			&trueup__view__drift__descriptor, tu_arena_pb(&f->arena), val.mv_size,
			val.mv_data);
		if (d != NULL && d->state == TRUEUP__VIEW__DRIFT__STATE__STATE_OPEN &&
		    d->attempt > 0 && d->outcomes_pending == 0 && d->confirm_after_seq > 0 &&
		    has_source(d->confirm_sources, d->n_confirm_sources, source))
			tu_arena_push(&f->arena, &due, d);
		rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	tu_status st = TU_OK;
	for (size_t i = 0; i < due.n && st == TU_OK; i++) {
		const Trueup__View__Drift *d = due.items[i];
		const struct tu__rule *r = tu__rule_by_name(f, d->rule);
		bool ready = false;
		st = all_rescanned(f, d, &ready);
		if (st != TU_OK || r == NULL || !ready)
			continue;
		struct tu_arena_mark m = tu_arena_mark(&f->arena);
		st = tu__rule_reeval(f, r, d->entity, TU__TRIG_CONFIRM);
		tu_arena_rewind(&f->arena, m);
	}
	return st;
}
