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

#include "bounds.h"
#include "fold_internal.h"
#include "ids.h"
#include "log.h"
#include "tmpl.h"

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
	for (size_t i = t->nx; i-- > 0;) {
		if (strlen(t->xk[i]) == var_len && memcmp(t->xk[i], var, var_len) == 0) {
			*val = t->xv[i];
			*len = strlen(t->xv[i]);
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

void tu__tctx_set(tu_fold *f, struct tu__tctx *t, const char *key, const char *value)
{
	const char **xk = tu_arena_alloc(&f->arena, (t->nx + 1) * sizeof(*xk));
	const char **xv = tu_arena_alloc(&f->arena, (t->nx + 1) * sizeof(*xv));
	if (t->nx > 0) {
		memcpy(xk, t->xk, t->nx * sizeof(*xk));
		memcpy(xv, t->xv, t->nx * sizeof(*xv));
	}
	xk[t->nx] = key;
	xv[t->nx] = value;
	t->xk = xk;
	t->xv = xv;
	t->nx++;
}

const char *tu__render(tu_fold *f, const char *tmpl, const struct tu__tctx *t, const char **why)
{
	/*
	 * The commonest entity templates are plain text and one bare variable
	 * ("{namespace}", "{name}"): rendered without the template walk. A bare
	 * variable renders as its value (tmpl.h); a missing one takes the full
	 * path, which says why.
	 */
	size_t n = strlen(tmpl);
	if (strpbrk(tmpl, "{}") == NULL)
		return tu_arena_strndup(&f->arena, tmpl, n);
	const char *val = NULL;
	size_t len = 0;
	if (n > 2 && tmpl[0] == '{' && tmpl[n - 1] == '}' && strcspn(tmpl + 1, "{}|") == n - 2 &&
	    tu__tctx_lookup((void *)t, tmpl + 1, n - 2, &val, &len) && len <= TU_MAX_TEMPLATE_OUT)
		return tu_arena_strndup(&f->arena, val, len);
	char err[256];
	struct tu_buf b;
	tu_buf_init(&b, 65536);
	const char *out = NULL;
	if (tu_tmpl_render(tmpl, tu__tctx_lookup, (void *)t, &b, err, sizeof(err)) == TU_OK)
		out = tu_arena_strdup(&f->arena, tu_buf_cstr(&b));
	else if (why != NULL)
		*why = tu_arena_printf(&f->arena, "template \"%s\": %s", tmpl, err);
	tu_buf_release(&b);
	return out;
}

const Trueup__View__SourceState *tu__present_in(const Trueup__View__Entity *e, const char *source)
{
	const Trueup__View__SourceState *s = tu__entity_source(e, source);
	return s != NULL && s->present ? s : NULL;
}

tu_status tu__load_entity(tu_fold *f, const char *kind, const char *ns, const char *name,
			  Trueup__View__Entity **out)
{
	struct tu__key ek;
	tu__key_entity(&ek, kind, ns, name);
	*out = NULL;
	if (f->cur_key != NULL && !ek.over && ek.n == f->cur_key->n &&
	    memcmp(ek.b, f->cur_key->b, ek.n) == 0) {
		/* The entity whose change is being evaluated: its record, as stored. */
		*out = (Trueup__View__Entity *)f->cur_ent;
		return TU_OK;
	}
	tu_status st = tu__get_pb(f, f->db->entity, &ek, &trueup__view__entity__descriptor,
				  (ProtobufCMessage **)out);
	if (st == TU_ENOTFOUND || ek.over) {
		*out = NULL;
		return TU_OK;
	}
	return st;
}

bool tu__evidence(tu_fold *f, const char *source)
{
	return strcmp(source, TU__HB_SOURCE) == 0 || tu__source_complete(f, source);
}

const char *tu__attr(const Trueup__View__SourceState *s, const char *key)
{
	return s != NULL ? tu_pb_attrs_get(s->attrs, s->n_attrs, key) : NULL;
}

void tu__verdict_clear(struct tu__verdict *v, const struct tu__rule *r,
		       const Trueup__V1__EntityRef *ref, const Trueup__View__Entity *ent)
{
	/* Not memset: the arrays (2 KiB) are only read up to their counts. */
	v->state = TU__HOLDS;
	v->reason = NULL;
	v->n_details = 0;
	v->n_actions = 0;
	v->n_confirm = 0;
	v->poll = false;
	v->tctx = (struct tu__tctx){ .rule = r->cfg->name, .ref = ref, .ent = ent };
}

struct tu__verdict *tu__verdict_new(tu_fold *f, const struct tu__rule *r,
				    const Trueup__V1__EntityRef *ref, const Trueup__View__Entity *ent)
{
	struct tu__verdict *v = tu_arena_alloc_raw(&f->arena, sizeof(*v));
	tu__verdict_clear(v, r, ref, ent);
	return v;
}

void tu__add_detail(tu_fold *f, struct tu__verdict *v, const char *key, const char *value)
{
	if (v->n_details < TU__MAX_DETAILS)
		v->details[v->n_details++] = tu_pb_attr(&f->arena, key, value);
}

void tu__add_actions(struct tu__verdict *v, const struct tu_actions *a, uint32_t base)
{
	for (size_t i = 0; i < a->n && v->n_actions < TU__MAX_VERDICT_ACTIONS; i++) {
		v->actions[v->n_actions].cfg = &a->items[i];
		v->actions[v->n_actions].ordinal = base + (uint32_t)i;
		v->n_actions++;
	}
}

void tu__add_confirm(struct tu__verdict *v, const char *source)
{
	for (size_t i = 0; i < v->n_confirm; i++)
		if (strcmp(v->confirm_sources[i], source) == 0)
			return;
	if (v->n_confirm < sizeof(v->confirm_sources) / sizeof(v->confirm_sources[0]))
		v->confirm_sources[v->n_confirm++] = source;
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
	tu__verdict_clear(v, r, ref, ent);

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
			tu__add_detail(f, v, tu_arena_printf(&f->arena, "source.%s", p->sources[i]),
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
		tu__add_detail(f, v, "authority", p->sources[decider]);
		tu__add_detail(f, v, "should_exist", should ? "true" : "false");
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
			tu__add_actions(v, acts, ord);
		tu__add_confirm(v, p->sources[i]);
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

bool tu__re_match(struct tu__re_memo *memo, const regex_t *re, const char *name, size_t nmatch,
		  regmatch_t *m)
{
	size_t n = strlen(name);
	if (memo == NULL || n == 0 || n >= TU__RE_NAME || nmatch > TU__RE_GROUPS)
		return regexec(re, name, nmatch, m, 0) == 0;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ULL;
	struct tu__re_slot *s = &memo->slot[h % TU__RE_SLOTS];
	if (strcmp(s->name, name) != 0) {
		s->match = regexec(re, name, TU__RE_GROUPS, s->m, 0) == 0;
		memcpy(s->name, name, n + 1);
	}
	memcpy(m, s->m, nmatch * sizeof(*m));
	return s->match;
}

/* Numeric suffix of name per the rule's regex; false if none. */
static bool name_suffix(const struct tu__rule *r, const char *name, uint64_t *out)
{
	const struct tu_counter_rule *c = &r->cfg->counter;
	regmatch_t m[2];
	if (!c->suffix_compiled || !tu__re_match(r->re_memo, &c->suffix_re, name, 2, m) ||
	    m[1].rm_so < 0)
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
		if (!name_suffix(&f->rules[i], ref->name, &suffix))
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
	tu__verdict_clear(v, r, NULL, NULL);
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
	tu__add_detail(f, v, "current", current ? current : "(missing)");
	tu__add_detail(f, v, "desired", desired_s);
	tu__add_detail(f, v, "max_suffix", any ? tu_arena_printf(&f->arena, "%" PRIu64, max) : "(none)");
	tu__add_detail(f, v, "offset", tu_arena_printf(&f->arena, "%" PRId64, c->offset));
	tu__add_detail(f, v, "of", tu_arena_printf(&f->arena, "%s/%s", c->of_source, c->of_kind));

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
	tu__add_actions(v, &c->fix, 0);
	tu__add_confirm(v, c->source);
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
	/* tu__counter_eval clears it */
	struct tu__verdict *v = tu_arena_alloc_raw(&f->arena, sizeof(*v));
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
	/* tu__presence_eval clears it */
	struct tu__verdict *v = tu_arena_alloc_raw(&f->arena, sizeof(*v));
	tu__presence_eval(f, r, ref, ent, v, false);
	if (v->state == TU__UNKNOWN)
		return TU_OK;
	if (v->state == TU__HOLDS && !tu__drift_exists(f, r->cfg->name, ref))
		return TU_OK;
	tu__presence_eval(f, r, ref, ent, v, true);
	return tu__drift_apply(f, r, ref, v, trig);
}

static bool is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

/* The anchor kinds of a rule (the entities its drift records are about). */
static size_t anchor_kinds(const struct tu_rule_config *rc, const char *kinds[2])
{
	switch (rc->type) {
	case TU_RULE_PRESENCE: kinds[0] = rc->presence.kind; return 1;
	case TU_RULE_COUNTER: kinds[0] = rc->counter.kind; return 1;
	case TU_RULE_SPEC: kinds[0] = rc->spec.kind; return 1;
	case TU_RULE_COUNT: kinds[0] = rc->count.kind; return 1;
	case TU_RULE_REFERENCE: kinds[0] = rc->reference.kind; return 1;
	case TU_RULE_EQUAL: kinds[0] = rc->equal.kind; return 1;
	case TU_RULE_POD_STATUS:
		kinds[0] = rc->pod_status.kind;
		kinds[1] = rc->pod_status.owner.kind;
		return kinds[1] != NULL ? 2 : 1;
	case TU_RULE_HEARTBEAT: kinds[0] = TU__HB_KIND; return 1;
	case TU_RULE_SOURCE_SUSPECT: return 0;
	}
	return 0;
}

/* Is (kind, source) an anchor of rule rc that its own changes evaluate? */
static bool anchors(const struct tu_rule_config *rc, const Trueup__V1__EntityRef *ref,
		    const char *source)
{
	const char *k = ref->kind;
	switch (rc->type) {
	case TU_RULE_PRESENCE:
	case TU_RULE_COUNTER:
		return false; /* dispatched by their own conditions */
	case TU_RULE_SPEC:
		return is(rc->spec.kind, k) && (is(rc->spec.desired, source) ||
						 is(rc->spec.actual, source));
	case TU_RULE_COUNT: return is(rc->count.kind, k) && is(rc->count.source, source);
	case TU_RULE_REFERENCE:
		return is(rc->reference.kind, k) && is(rc->reference.source, source);
	case TU_RULE_EQUAL: return is(rc->equal.kind, k) && is(rc->equal.source, source);
	case TU_RULE_POD_STATUS: {
		const struct tu_pod_status_rule *p = &rc->pod_status;
		return (is(p->kind, k) && is(p->source, source)) ||
		       (is(p->owner.kind, k) && is(p->owner.source, source));
	}
	case TU_RULE_HEARTBEAT:
		return is(TU__HB_KIND, k) && is(TU__HB_SOURCE, source) &&
		       (rc->heartbeat.service == NULL || is(rc->heartbeat.service, ref->namespace_));
	case TU_RULE_SOURCE_SUSPECT: return false;
	}
	return false;
}

/* Evaluates a rule of the types that take an anchor and its record. */
static tu_status eval_anchor(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			     const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig)
{
	switch (r->cfg->type) {
	case TU_RULE_PRESENCE: return presence_apply(f, r, ref, ent, trig);
	case TU_RULE_COUNTER: return eval_counter(f, r, ref->namespace_, trig);
	case TU_RULE_SPEC: return tu__spec_eval(f, r, ref, ent, poll, trig);
	case TU_RULE_COUNT: return tu__count_eval(f, r, ref, ent, poll, trig);
	case TU_RULE_REFERENCE: return tu__reference_eval(f, r, ref, ent, poll, trig);
	case TU_RULE_EQUAL: return tu__equal_eval(f, r, ref, ent, poll, trig);
	case TU_RULE_POD_STATUS: return tu__pod_eval(f, r, ref, ent, poll, trig);
	case TU_RULE_HEARTBEAT: return tu__heartbeat_eval(f, r, ref, ent, poll, trig);
	case TU_RULE_SOURCE_SUSPECT: return tu__suspect_eval(f, r, ref, trig);
	}
	return TU_OK;
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
			if (of || self)
				st = eval_counter(f, r, c->ns, trig);
		} else if (anchors(rc, ref, source)) {
			struct tu_arena_mark m = tu_arena_mark(&f->arena);
			st = eval_anchor(f, r, ref, ent, trig == TU__TRIG_CHANGE && f->polled, trig);
			tu_arena_rewind(&f->arena, m);
		}
	}
	if (st == TU_OK && f->any_watch)
		st = tu__watch_fire(f, ref, presence_changed);
	return st;
}

tu_status tu__rules_on_poll(tu_fold *f, const Trueup__V1__EntityRef *ref, const char *source,
			    const Trueup__View__Entity *ent)
{
	tu_status st = TU_OK;
	for (size_t i = 0; i < f->n_rules && st == TU_OK; i++) {
		const struct tu__rule *r = &f->rules[i];
		if (r->confirm > 1 && anchors(r->cfg, ref, source))
			st = eval_anchor(f, r, ref, ent, true, TU__TRIG_CHANGE);
	}
	return st;
}

/* The anchors of rule r with a pending drift, as refs in the arena. */
static tu_status pending_anchors(tu_fold *f, const struct tu__rule *r, struct tu_arena_vec *out)
{
	struct tu__key prefix;
	tu__key_init(&prefix);
	tu__key_str(&prefix, r->cfg->name);
	tu__key_raw(&prefix, "", 1);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->drift, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	struct tu_arena_vec refs = { 0 };
	MDB_val k = { prefix.n, prefix.b }, val;
	rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		Trueup__View__Drift *d = (Trueup__View__Drift *)protobuf_c_message_unpack(
			&trueup__view__drift__descriptor, tu_arena_pb(&f->arena), val.mv_size,
			val.mv_data);
		if (d != NULL && d->state == TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING)
			tu_arena_push(&f->arena, &refs, d->entity);
		rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	*out = refs;
	return TU_OK;
}

tu_status tu__rules_on_delta_scan(tu_fold *f, const char *source, const char *scan_id,
				  char *const *kinds, size_t n_kinds)
{
	tu_status st = TU_OK;
	for (size_t i = 0; i < f->n_rules && st == TU_OK; i++) {
		const struct tu__rule *r = &f->rules[i];
		if (r->confirm <= 1 || r->cfg->type != TU_RULE_COUNT ||
		    !is(r->cfg->count.source, source) ||
		    (n_kinds > 0 && !in_list(kinds, n_kinds, r->cfg->count.kind)))
			continue;
		struct tu_arena_vec refs = { 0 };
		st = pending_anchors(f, r, &refs);
		for (size_t j = 0; j < refs.n && st == TU_OK; j++) {
			const Trueup__V1__EntityRef *ref = refs.items[j];
			struct tu_arena_mark m = tu_arena_mark(&f->arena);
			Trueup__View__Entity *ent = NULL;
			st = tu__load_entity(f, ref->kind, ref->namespace_, ref->name, &ent);
			const Trueup__View__SourceState *s = st == TU_OK ? tu__present_in(ent, source)
									 : NULL;
			/* Observed by this very scan: that observation was the poll. */
			if (s != NULL && (s->scan_id == NULL || strcmp(s->scan_id, scan_id) != 0))
				st = eval_anchor(f, r, ref, ent, true, TU__TRIG_CHANGE);
			tu_arena_rewind(&f->arena, m);
		}
	}
	return st;
}

bool tu__rules_poll(const tu_fold *f)
{
	return f->any_poll;
}

bool tu__rules_watch(const tu_fold *f)
{
	return f->any_watch;
}

tu_status tu__rule_reeval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			  enum tu__trigger trig)
{
	if (r->cfg->type == TU_RULE_COUNTER)
		return eval_counter(f, r, ref->namespace_, trig);
	Trueup__View__Entity *ent = NULL;
	tu_status st = tu__load_entity(f, ref->kind, ref->namespace_, ref->name, &ent);
	if (st != TU_OK)
		return st;
	return eval_anchor(f, r, ref, ent, false, trig);
}

/* The ref of an entity key's "ns\0name" part (after the kind), in the arena. */
static void push_ref(tu_fold *f, struct tu_arena_vec *refs, const char *kind, const char *p,
		     const char *end)
{
	const char *name = p + strnlen(p, (size_t)(end - p)) + 1;
	if (name < end)
		tu_arena_push(&f->arena, refs,
			      tu_pb_entity(&f->arena, kind, p,
					   tu_arena_strndup(&f->arena, name, (size_t)(end - name))));
}

/* True if cursor key k starts with prefix and has more after it. */
static bool under(const MDB_val *k, const struct tu__key *prefix)
{
	return k->mv_size > prefix->n && memcmp(k->mv_data, prefix->b, prefix->n) == 0;
}

/* Bytewise order of two keys' parts after their prefixes (LMDB's default order). */
static int cmp_tail(const MDB_val *a, size_t an, const MDB_val *b, size_t bn)
{
	size_t la = a->mv_size - an, lb = b->mv_size - bn;
	int c = memcmp((const char *)a->mv_data + an, (const char *)b->mv_data + bn,
		       la < lb ? la : lb);
	return c != 0 ? c : (la > lb) - (la < lb);
}

/*
 * Every entity of kind in the view, as refs (Trueup__V1__EntityRef *) in the
 * arena; with absent_from, only those that source does not have present (a
 * walk of the entity keys against the source's bysrc keys, both in key order:
 * no record is read).
 */
static tu_status entities_of_kind(tu_fold *f, const char *kind, const char *absent_from,
				  struct tu_arena_vec *out)
{
	struct tu__key prefix, bprefix;
	tu__key_init(&prefix);
	tu__key_str(&prefix, kind);
	tu__key_raw(&prefix, "", 1);
	tu__key_init(&bprefix);
	if (absent_from != NULL) {
		tu__key_str(&bprefix, absent_from);
		tu__key_str(&bprefix, kind);
		tu__key_raw(&bprefix, "", 1);
	}
	MDB_cursor *cur = NULL, *bcur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->entity, &cur);
	if (rc == 0 && absent_from != NULL)
		rc = mdb_cursor_open(f->txn, f->db->bysrc, &bcur);
	if (rc != 0) {
		if (cur != NULL)
			mdb_cursor_close(cur);
		return tu_view_status(rc);
	}
	struct tu_arena_vec refs = { 0 };
	MDB_val k = { prefix.n, prefix.b }, d, bk = { bprefix.n, bprefix.b }, bd;
	int brc = bcur != NULL ? mdb_cursor_get(bcur, &bk, &bd, MDB_SET_RANGE) : MDB_NOTFOUND;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && under(&k, &prefix)) {
		int c = 1;
		while (brc == 0 && under(&bk, &bprefix) &&
		       (c = cmp_tail(&bk, bprefix.n, &k, prefix.n)) < 0)
			brc = mdb_cursor_get(bcur, &bk, &bd, MDB_NEXT);
		if (brc != 0 || !under(&bk, &bprefix) || c != 0)
			push_ref(f, &refs, kind, (const char *)k.mv_data + prefix.n,
				 (const char *)k.mv_data + k.mv_size);
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	if (bcur != NULL)
		mdb_cursor_close(bcur);
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	if (brc != 0 && brc != MDB_NOTFOUND)
		return tu_view_status(brc);
	*out = refs;
	return TU_OK;
}

/*
 * Does rule rc read source's evidence of absence, so that the source's first
 * complete scan can change its verdicts? Spec, equal and pod-status rules
 * read only what sources have present: a completed scan changes none of
 * their verdicts (its observations and sweeps already evaluated them).
 */
static bool involves(const struct tu_rule_config *rc, const char *source)
{
	switch (rc->type) {
	case TU_RULE_PRESENCE:
		return in_list(rc->presence.sources, rc->presence.n_sources, source);
	case TU_RULE_COUNTER:
		return is(rc->counter.source, source) || is(rc->counter.of_source, source);
	case TU_RULE_COUNT: return is(rc->count.source, source) || is(rc->count.of_source, source);
	case TU_RULE_REFERENCE: {
		const struct tu_reference_rule *p = &rc->reference;
		bool any = is(p->source, source) || is(p->owner.source, source);
		for (size_t i = 0; i < p->n_guards && !any; i++)
			any = is(p->guards[i].entity.source, source);
		return any;
	}
	case TU_RULE_SPEC:
	case TU_RULE_EQUAL:
	case TU_RULE_POD_STATUS:
	case TU_RULE_HEARTBEAT:
	case TU_RULE_SOURCE_SUSPECT: return false;
	}
	return false;
}

/*
 * Does rule rc's verdict read whether a source completed a scan (presence,
 * counter, count and reference rules do: absence is evidence only then)? The
 * others (spec, equal, pod-status, heartbeat) judge what sources said, and a
 * first complete scan changes none of their verdicts.
 */
static bool reads_completeness(const struct tu_rule_config *rc)
{
	return rc->type == TU_RULE_PRESENCE || rc->type == TU_RULE_COUNTER ||
	       rc->type == TU_RULE_COUNT || rc->type == TU_RULE_REFERENCE;
}

tu_status tu__rules_on_first_complete(tu_fold *f, const char *source)
{
	tu_status st = TU_OK;
	for (size_t i = 0; i < f->n_rules && st == TU_OK; i++) {
		const struct tu__rule *r = &f->rules[i];
		const struct tu_rule_config *rc = r->cfg;
		if (!involves(rc, source) || !reads_completeness(rc))
			continue;
		if (rc->type == TU_RULE_COUNTER) {
			st = eval_counter(f, r, rc->counter.ns, TU__TRIG_CHANGE);
			continue;
		}
		/*
		 * A presence verdict changes only where the source is now evidence of
		 * absence: entities it has present were judged when it observed them.
		 * At 100 000 entities that is the difference between reading every
		 * record at each source's first complete scan and reading a few.
		 */
		const char *absent_from = rc->type == TU_RULE_PRESENCE ? source : NULL;
		const char *kinds[2];
		size_t nk = anchor_kinds(rc, kinds);
		for (size_t k = 0; k < nk && st == TU_OK; k++) {
			struct tu_arena_vec refs = { 0 };
			st = entities_of_kind(f, kinds[k], absent_from, &refs);
			for (size_t j = 0; j < refs.n && st == TU_OK; j++) {
				struct tu_arena_mark m = tu_arena_mark(&f->arena);
				st = tu__rule_reeval(f, r, refs.items[j], TU__TRIG_CHANGE);
				tu_arena_rewind(&f->arena, m);
			}
		}
	}
	return st;
}
