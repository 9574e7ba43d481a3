/*
 * rules.c - what each rule type concludes about an entity, and which rules
 * an entity's change wakes up.
 *
 * presence: an entity of the rule's kind must exist in every listed source.
 *   A source is evidence of absence only after its first complete scan; the
 *   first authority that is evidence decides whether the entity should exist.
 * counter: a counter entity's attribute must equal the largest numeric suffix
 *   among present entities of a kind in a source (same namespace) + offset.
 *   The suffixes live in the cidx database so the maximum is one seek.
 *
 * Everything here reads only the view (through the fold's transaction) and
 * the policy, never a clock.
 */
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "fold_internal.h"
#include "ids.h"
#include "log.h"

bool tu__tctx_lookup(void *ctx, const char *var, size_t var_len, const char **val, size_t *len)
{
	const struct tu__tctx *t = ctx;
	struct {
		const char *name;
		const char *value;
	} fixed[] = {
		{ "name", t->ref->name },   { "namespace", t->ref->namespace_ },
		{ "kind", t->ref->kind },   { "rule", t->rule },
		{ "current", t->current },  { "desired", t->desired },
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (strlen(fixed[i].name) == var_len && memcmp(fixed[i].name, var, var_len) == 0) {
			if (fixed[i].value == NULL)
				return false;
			*val = fixed[i].value;
			*len = strlen(fixed[i].value);
			return true;
		}
	}
	/* <source>.<attr>: what that source last said about the entity */
	const char *dot = memchr(var, '.', var_len);
	if (dot == NULL || t->ent == NULL)
		return false;
	size_t sl = (size_t)(dot - var);
	for (size_t i = 0; i < t->ent->n_sources; i++) {
		const Trueup__View__SourceState *s = t->ent->sources[i];
		if (strlen(s->source) != sl || memcmp(s->source, var, sl) != 0)
			continue;
		size_t al = var_len - sl - 1;
		for (size_t j = 0; j < s->n_attrs; j++) {
			if (strlen(s->attrs[j]->key) == al && memcmp(s->attrs[j]->key, dot + 1, al) == 0) {
				*val = s->attrs[j]->value;
				*len = strlen(s->attrs[j]->value);
				return true;
			}
		}
	}
	return false;
}

static void add_detail(tu_fold *f, struct tu__verdict *v, const char *key, const char *value)
{
	if (v->n_details < TU__MAX_DETAILS)
		v->details[v->n_details++] = tu_pb_attr(&f->arena, key, value);
}

static void add_actions(struct tu__verdict *v, const struct tu_actions *a, uint32_t base)
{
	for (size_t i = 0; i < a->n && v->n_actions < TU__MAX_VERDICT_ACTIONS; i++) {
		v->actions[v->n_actions].cfg = &a->items[i];
		v->actions[v->n_actions].ordinal = base + (uint32_t)i;
		v->n_actions++;
	}
}

/* Ordinal base of source's entry in a when_* list; *found whether it has one. */
static const struct tu_actions *source_actions(const struct tu_source_actions *list, size_t n,
					       const char *source, uint32_t base, uint32_t *ord)
{
	uint32_t o = base;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].source, source) == 0) {
			*ord = o;
			return &list[i].actions;
		}
		o += (uint32_t)list[i].actions.n;
	}
	return NULL;
}

enum presence_state { P_PRESENT, P_ABSENT, P_UNKNOWN };

static const char *pstate_str(enum presence_state s)
{
	return s == P_PRESENT ? "present" : s == P_ABSENT ? "absent" : "unknown";
}

void tu__presence_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
		       const Trueup__View__Entity *ent, struct tu__verdict *v, bool describe)
{
	const struct tu_presence_rule *p = &r->cfg->presence;
	memset(v, 0, sizeof(*v));
	v->tctx.rule = r->cfg->name;
	v->tctx.ref = ref;
	v->tctx.ent = ent;

	enum presence_state st[64];
	size_t n = p->n_sources < 64 ? p->n_sources : 64;
	for (size_t i = 0; i < n; i++) {
		const Trueup__View__SourceState *s = tu__entity_source(ent, p->sources[i]);
		if (s != NULL && s->present)
			st[i] = P_PRESENT;
		else if (tu__source_complete(f, p->sources[i]))
			st[i] = P_ABSENT;
		else
			st[i] = P_UNKNOWN;
		if (describe)
			add_detail(f, v, tu_arena_printf(&f->arena, "source.%s", p->sources[i]),
				   pstate_str(st[i]));
	}
	int decider = -1;
	for (size_t a = 0; a < p->n_authority && decider < 0; a++)
		for (size_t i = 0; i < n; i++)
			if (strcmp(p->authority[a], p->sources[i]) == 0 && st[i] != P_UNKNOWN)
				decider = (int)i;
	if (decider < 0) {
		v->state = TU__UNKNOWN;
		return;
	}
	bool should = st[decider] == P_PRESENT;
	if (describe) {
		add_detail(f, v, "authority", p->sources[decider]);
		add_detail(f, v, "should_exist", should ? "true" : "false");
	}

	uint32_t extra_total = 0;
	for (size_t j = 0; j < p->n_extra; j++)
		extra_total += (uint32_t)p->when_extra[j].actions.n;
	struct tu_buf extra, missing;
	tu_buf_init(&extra, 4096);
	tu_buf_init(&missing, 4096);
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if ((int)i == decider || st[i] == P_UNKNOWN)
			continue;
		const struct tu_actions *acts = NULL;
		uint32_t ord = 0;
		if (should && st[i] == P_ABSENT) {
			if (describe)
				tu_buf_printf(&missing, "%s%s", missing.len ? ", " : "", p->sources[i]);
			acts = source_actions(p->when_missing, p->n_missing, p->sources[i],
					      extra_total, &ord);
		} else if (!should && st[i] == P_PRESENT) {
			if (describe)
				tu_buf_printf(&extra, "%s%s", extra.len ? ", " : "", p->sources[i]);
			acts = source_actions(p->when_extra, p->n_extra, p->sources[i], 0, &ord);
		} else {
			continue;
		}
		any = true;
		if (acts != NULL)
			add_actions(v, acts, ord);
		if (v->n_confirm < sizeof(v->confirm_sources) / sizeof(v->confirm_sources[0]))
			v->confirm_sources[v->n_confirm++] = p->sources[i];
	}
	if (!any) {
		v->state = TU__HOLDS;
		if (describe)
			v->reason = tu_arena_printf(&f->arena, "%s %s/%s agrees with authority %s",
						    ref->kind, ref->namespace_, ref->name,
						    p->sources[decider]);
	} else {
		v->state = TU__VIOLATED;
		if (describe)
			v->reason = tu_arena_printf(
			&f->arena, "%s %s/%s %s%s%s%s%s (authority %s says it should %sexist)",
			ref->kind, ref->namespace_, ref->name, extra.len ? "is extra in " : "",
			tu_buf_cstr(&extra), extra.len && missing.len ? "; " : "",
			missing.len ? "is missing in " : "", tu_buf_cstr(&missing),
			p->sources[decider], should ? "" : "not ");
	}
	tu_buf_release(&extra);
	tu_buf_release(&missing);
}

/* ---- counter ------------------------------------------------------------------ */

/* Numeric suffix of name per the rule's regex; false if none. */
static bool name_suffix(const struct tu_counter_rule *c, const char *name, uint64_t *out)
{
	regmatch_t m[2];
	if (!c->suffix_compiled || regexec(&c->suffix_re, name, 2, m, 0) != 0 || m[1].rm_so < 0)
		return false;
	uint64_t v = 0;
	regoff_t len = m[1].rm_eo - m[1].rm_so;
	if (len <= 0 || len > 18)
		return false;
	for (regoff_t i = m[1].rm_so; i < m[1].rm_eo; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*out = v;
	return true;
}

static void cidx_prefix(struct tu__key *k, const char *rule, const char *ns)
{
	tu__key_init(k);
	tu__key_str(k, rule);
	tu__key_str(k, ns);
	tu__key_raw(k, "", 1);
}

tu_status tu__counter_index(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source,
			    bool present)
{
	for (size_t i = 0; i < f->n_rules; i++) {
		const struct tu_rule_config *rc = f->rules[i].cfg;
		if (rc->type != TU_RULE_COUNTER)
			continue;
		const struct tu_counter_rule *c = &rc->counter;
		if (strcmp(c->of_kind, ref->kind) != 0 || strcmp(c->of_source, source) != 0 ||
		    strcmp(c->ns, ref->namespace_) != 0)
			continue;
		uint64_t suffix = 0;
		if (!name_suffix(c, ref->name, &suffix))
			continue;
		struct tu__key k;
		cidx_prefix(&k, rc->name, ref->namespace_);
		unsigned char be[8];
		tu_view_be64(suffix, be);
		tu__key_raw(&k, be, 8);
		tu__key_raw(&k, "", 1);
		tu__key_raw(&k, ref->name, strlen(ref->name));
		tu_status st = present ? tu__put_raw(f, f->db->cidx, &k, "", 0)
				       : tu__del(f, f->db->cidx, &k);
		if (st != TU_OK)
			return st;
	}
	return TU_OK;
}

/* Largest suffix indexed for (rule, ns); false if none. */
static tu_status counter_max(tu_fold *f, const char *rule, const char *ns, bool *any,
			     uint64_t *max)
{
	struct tu__key prefix, seek;
	cidx_prefix(&prefix, rule, ns);
	seek = prefix;
	unsigned char ff[9];
	memset(ff, 0xff, sizeof(ff));
	tu__key_raw(&seek, ff, sizeof(ff));
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->cidx, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	MDB_val k = { seek.n, seek.b }, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &d, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
	*any = false;
	if (rc == 0 && k.mv_size >= prefix.n + 8 && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		*any = true;
		*max = tu_view_get_be64((const unsigned char *)k.mv_data + prefix.n);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	return TU_OK;
}

static bool parse_int(const char *s, int64_t *out)
{
	if (s == NULL || *s == '\0')
		return false;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return false;
	*out = v;
	return true;
}

tu_status tu__counter_eval(tu_fold *f, const struct tu__rule *r, const char *ns,
			   struct tu__verdict *v, Trueup__V1__EntityRef **ref_out)
{
	const struct tu_counter_rule *c = &r->cfg->counter;
	memset(v, 0, sizeof(*v));
	Trueup__V1__EntityRef *ref = tu_pb_entity(&f->arena, c->kind, ns, c->name);
	*ref_out = ref;
	struct tu__key ek;
	tu__key_entity(&ek, c->kind, ns, c->name);
	Trueup__View__Entity *ent = NULL;
	tu_status st = tu__get_pb(f, f->db->entity, &ek, &trueup__view__entity__descriptor,
				  (ProtobufCMessage **)&ent);
	if (st == TU_ENOTFOUND) {
		ent = NULL;
		st = TU_OK;
	}
	if (st != TU_OK)
		return st;
	v->tctx.rule = r->cfg->name;
	v->tctx.ref = ref;
	v->tctx.ent = ent;

	if (!tu__source_complete(f, c->of_source)) {
		v->state = TU__UNKNOWN;
		return TU_OK;
	}
	const Trueup__View__SourceState *s = tu__entity_source(ent, c->source);
	const char *current = NULL;
	if (s != NULL && s->present) {
		current = tu_pb_attrs_get(s->attrs, s->n_attrs, c->attr);
	} else if (!tu__source_complete(f, c->source)) {
		v->state = TU__UNKNOWN;
		return TU_OK;
	}
	bool any = false;
	uint64_t max = 0;
	st = counter_max(f, r->cfg->name, ns, &any, &max);
	if (st != TU_OK)
		return st;
	int64_t desired = (int64_t)max + c->offset;
	char *desired_s = tu_arena_printf(&f->arena, "%" PRId64, desired);
	v->tctx.current = current ? current : "";
	v->tctx.desired = desired_s;
	add_detail(f, v, "current", current ? current : "(missing)");
	add_detail(f, v, "desired", desired_s);
	add_detail(f, v, "max_suffix", any ? tu_arena_printf(&f->arena, "%" PRIu64, max) : "(none)");
	add_detail(f, v, "offset", tu_arena_printf(&f->arena, "%" PRId64, c->offset));
	add_detail(f, v, "of", tu_arena_printf(&f->arena, "%s/%s", c->of_source, c->of_kind));

	int64_t cur_v = 0;
	if (current == NULL) {
		v->state = TU__VIOLATED;
		v->reason = tu_arena_printf(&f->arena, "counter %s/%s is missing in %s; it should be %s",
					    ns, c->name, c->source, desired_s);
	} else if (!parse_int(current, &cur_v)) {
		v->state = TU__VIOLATED;
		v->reason = tu_arena_printf(&f->arena,
					    "counter %s/%s holds \"%.64s\", not an integer; it should "
					    "be %s",
					    ns, c->name, current, desired_s);
	} else if (cur_v != desired) {
		v->state = TU__VIOLATED;
		v->reason = tu_arena_printf(&f->arena,
					    "counter %s/%s is %" PRId64 " but should be %s (largest "
					    "%s suffix in %s is %s, offset %" PRId64 ")",
					    ns, c->name, cur_v, desired_s, c->of_kind, c->of_source,
					    any ? tu_arena_printf(&f->arena, "%" PRIu64, max) : "none",
					    c->offset);
	} else {
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "counter %s/%s is %s as it should be", ns,
					    c->name, desired_s);
		return TU_OK;
	}
	add_actions(v, &c->fix, 0);
	v->confirm_sources[v->n_confirm++] = c->source;
	return TU_OK;
}

static bool in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static tu_status eval_counter(tu_fold *f, const struct tu__rule *r, const char *ns,
			      enum tu__trigger trig)
{
	struct tu__verdict *v = tu_arena_alloc(&f->arena, sizeof(*v));
	Trueup__V1__EntityRef *ref = NULL;
	tu_status st = tu__counter_eval(f, r, ns, v, &ref);
	if (st == TU_OK)
		st = tu__drift_apply(f, r, ref, v, trig);
	return st;
}

/* Presence verdict for one entity; describes it only when the drift machine will use it. */
static tu_status presence_apply(tu_fold *f, const struct tu__rule *r,
				const Trueup__V1__EntityRef *ref, const Trueup__View__Entity *ent,
				enum tu__trigger trig)
{
	struct tu__verdict *v = tu_arena_alloc(&f->arena, sizeof(*v));
	tu__presence_eval(f, r, ref, ent, v, false);
	if (v->state == TU__UNKNOWN)
		return TU_OK;
	if (v->state == TU__HOLDS && !tu__drift_exists(f, r->cfg->name, ref))
		return TU_OK;
	tu__presence_eval(f, r, ref, ent, v, true);
	return tu__drift_apply(f, r, ref, v, trig);
}

tu_status tu__rules_on_change(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source,
			      const Trueup__View__Entity *ent, bool presence_changed,
			      enum tu__trigger trig)
{
	tu_status st = TU_OK;
	for (size_t i = 0; i < f->n_rules && st == TU_OK; i++) {
		const struct tu__rule *r = &f->rules[i];
		const struct tu_rule_config *rc = r->cfg;
		if (rc->type == TU_RULE_PRESENCE) {
			const struct tu_presence_rule *p = &rc->presence;
			if (strcmp(p->kind, ref->kind) != 0 ||
			    !in_list(p->sources, p->n_sources, source))
				continue;
			st = presence_apply(f, r, ref, ent, trig);
		} else if (rc->type == TU_RULE_COUNTER) {
			const struct tu_counter_rule *c = &rc->counter;
			bool of = presence_changed && strcmp(c->of_kind, ref->kind) == 0 &&
				  strcmp(c->of_source, source) == 0 &&
				  strcmp(c->ns, ref->namespace_) == 0;
			bool self = strcmp(c->kind, ref->kind) == 0 &&
				    strcmp(c->name, ref->name) == 0 &&
				    strcmp(c->ns, ref->namespace_) == 0 &&
				    strcmp(c->source, source) == 0;
			if (!of && !self)
				continue;
			if (self) {
				/* The record in hand is newer than the view's: store it first. */
				struct tu__key ek;
				tu__key_entity(&ek, ref->kind, ref->namespace_, ref->name);
				st = tu__put_pb(f, f->db->entity, &ek, &ent->base);
				if (st != TU_OK)
					break;
			}
			st = eval_counter(f, r, c->ns, trig);
		}
	}
	return st;
}

tu_status tu__rule_reeval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			  enum tu__trigger trig)
{
	if (r->cfg->type == TU_RULE_COUNTER)
		return eval_counter(f, r, ref->namespace_, trig);
	struct tu__key ek;
	tu__key_entity(&ek, ref->kind, ref->namespace_, ref->name);
	Trueup__View__Entity *ent = NULL;
	tu_status st = tu__get_pb(f, f->db->entity, &ek, &trueup__view__entity__descriptor,
				  (ProtobufCMessage **)&ent);
	if (st == TU_ENOTFOUND) {
		ent = NULL;
		st = TU_OK;
	}
	if (st != TU_OK)
		return st;
	return presence_apply(f, r, ref, ent, trig);
}

/* Every entity of kind in the view, as refs (Trueup__V1__EntityRef *) in the arena. */
static tu_status entities_of_kind(tu_fold *f, const char *kind, struct tu_arena_vec *out)
{
	struct tu__key prefix;
	tu__key_init(&prefix);
	tu__key_str(&prefix, kind);
	tu__key_raw(&prefix, "", 1);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->entity, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	struct tu_arena_vec refs = { 0 };
	MDB_val k = { prefix.n, prefix.b }, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		const char *p = (const char *)k.mv_data + prefix.n;
		const char *end = (const char *)k.mv_data + k.mv_size;
		const char *name = p + strnlen(p, (size_t)(end - p)) + 1;
		if (name < end)
			tu_arena_push(&f->arena, &refs,
				      tu_pb_entity(&f->arena, kind, p,
						   tu_arena_strndup(&f->arena, name,
								    (size_t)(end - name))));
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	*out = refs;
	return TU_OK;
}

tu_status tu__rules_on_first_complete(tu_fold *f, const char *source)
{
	tu_status st = TU_OK;
	for (size_t i = 0; i < f->n_rules && st == TU_OK; i++) {
		const struct tu__rule *r = &f->rules[i];
		const struct tu_rule_config *rc = r->cfg;
		if (rc->type == TU_RULE_PRESENCE) {
			if (!in_list(rc->presence.sources, rc->presence.n_sources, source))
				continue;
			struct tu_arena_vec refs = { 0 };
			st = entities_of_kind(f, rc->presence.kind, &refs);
			for (size_t j = 0; j < refs.n && st == TU_OK; j++) {
				struct tu_arena_mark m = tu_arena_mark(&f->arena);
				st = tu__rule_reeval(f, r, refs.items[j], TU__TRIG_CHANGE);
				tu_arena_rewind(&f->arena, m);
			}
		} else if (rc->type == TU_RULE_COUNTER) {
			if (strcmp(rc->counter.source, source) == 0 ||
			    strcmp(rc->counter.of_source, source) == 0)
				st = eval_counter(f, r, rc->counter.ns, TU__TRIG_CHANGE);
		}
	}
	return st;
}
