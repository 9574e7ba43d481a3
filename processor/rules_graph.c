/*
 * rules_graph.c - rules about relations between entities, and the watch
 * index that re-evaluates them when the other side changes.
 *
 * count: an anchor's attribute says how many entities of a class (a kind in
 *   a namespace, in a source) there should be; bysrc counts them.
 * reference: an anchor must have an owner (by name template with the
 *   captures of `match`, or by selector); an orphan is acted on only while
 *   every guard holds.
 *
 * Watches: an evaluation declares the entities and classes it read besides
 * its anchor (tu__watch_set); a change of one of them re-evaluates the
 * anchor (tu__watch_fire). The deps record of an anchor holds the current
 * set so that a new declaration replaces it exactly.
 */
#include <inttypes.h>
#include <regex.h>
#include <string.h>

#include "buf.h"
#include "fold_internal.h"
#include "xalloc.h"

/* ---- watches --------------------------------------------------------------------- */

struct tu__watchset *tu__watchset_new(tu_fold *f)
{
	/* Not cleared: 8 KiB, and only the first n keys are ever read. */
	struct tu__watchset *w = tu_arena_alloc_raw(&f->arena, sizeof(*w));
	w->n = 0;
	return w;
}

void tu__watch_entity(struct tu__watchset *w, const char *kind, const char *ns, const char *name)
{
	if (w->n >= sizeof(w->keys) / sizeof(w->keys[0]))
		return;
	tu__key_entity(&w->keys[w->n], kind, ns, name);
	w->modes[w->n++] = TU__WATCH_ANY;
}

void tu__watch_class(struct tu__watchset *w, const char *kind, const char *ns, char mode)
{
	if (w->n >= sizeof(w->keys) / sizeof(w->keys[0]))
		return;
	struct tu__key *k = &w->keys[w->n];
	tu__key_init(k);
	tu__key_str(k, kind);
	tu__key_str(k, ns);
	w->modes[w->n++] = mode;
}

/* watch key: u16 BE length of watched, watched, then rule\0kind\0ns\0name of the anchor. */
static void watch_key(struct tu__key *k, const unsigned char *watched, size_t n,
		      const struct tu__key *anchor)
{
	unsigned char len[2] = {(unsigned char)(n >> 8), (unsigned char)n};
	tu__key_init(k);
	tu__key_raw(k, len, 2);
	tu__key_raw(k, watched, n);
	if (anchor != NULL)
		tu__key_raw(k, anchor->b, anchor->n);
}

/* deps value: per watch, mode byte, u16 BE length, bytes. */
static void deps_encode(struct tu_buf *b, const struct tu__watchset *w)
{
	for (size_t i = 0; i < w->n; i++) {
		if (w->keys[i].over)
			continue;
		unsigned char h[3] = {(unsigned char)w->modes[i],
				      (unsigned char)(w->keys[i].n >> 8),
				      (unsigned char)w->keys[i].n};
		tu_buf_append(b, h, 3);
		tu_buf_append(b, w->keys[i].b, w->keys[i].n);
	}
}

/* Applies fn to each watch of a deps value (put or delete of its watch record). */
static tu_status deps_each(tu_fold *f, const unsigned char *p, size_t n,
			   const struct tu__key *anchor, bool put)
{
	size_t i = 0;
	tu_status st = TU_OK;
	while (st == TU_OK && i + 3 <= n) {
		char mode = (char)p[i];
		size_t len = ((size_t)p[i + 1] << 8) | p[i + 2];
		if (i + 3 + len > n)
			break;
		struct tu__key k;
		watch_key(&k, p + i + 3, len, anchor);
		st =
		    put ? tu__put_raw(f, f->db->watch, &k, &mode, 1) : tu__del(f, f->db->watch, &k);
		i += 3 + len;
	}
	return st;
}

tu_status tu__watch_set(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *anchor,
			const struct tu__watchset *w)
{
	struct tu__key ak;
	tu__key_drift(&ak, r->cfg->name, anchor);
	if (ak.over)
		return TU_OK;
	struct tu_buf now;
	tu_buf_init(&now, 1 << 16);
	deps_encode(&now, w);
	MDB_val key = {ak.n, ak.b}, old = {0, NULL};
	int rc = mdb_get(f->txn, f->db->deps, &key, &old);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		tu_buf_release(&now);
		return tu_view_status(rc);
	}
	if (rc == MDB_NOTFOUND)
		old.mv_size = 0;
	tu_status st = TU_OK;
	if (old.mv_size == now.len &&
	    (now.len == 0 || memcmp(old.mv_data, now.data, now.len) == 0)) {
		tu_buf_release(&now);
		return TU_OK; /* the common case: the same watches as last time */
	}
	/* Copy: the old value lives in a page the deletes below may change. */
	unsigned char *prev = tu_arena_memdup(&f->arena, old.mv_data, old.mv_size);
	st = deps_each(f, prev, old.mv_size, &ak, false);
	if (st == TU_OK)
		st = deps_each(f, (const unsigned char *)now.data, now.len, &ak, true);
	if (st == TU_OK)
		st = now.len > 0 ? tu__put_raw(f, f->db->deps, &ak, now.data, now.len)
				 : tu__del(f, f->db->deps, &ak);
	tu_buf_release(&now);
	return st;
}

struct watcher {
	const struct tu__rule *rule;
	Trueup__V1__EntityRef *anchor;
	char mode;
};

/* Watchers of one watched key, collected (re-evaluation changes the index). */
static tu_status watchers(tu_fold *f, const struct tu__key *watched, struct tu_arena_vec *out)
{
	struct tu__key prefix;
	watch_key(&prefix, watched->b, watched->n, NULL);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->watch, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	MDB_val k = {prefix.n, prefix.b}, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		const char *rule = NULL;
		const unsigned char *p = (const unsigned char *)k.mv_data + prefix.n;
		size_t n = k.mv_size - prefix.n;
		const char *parts[4];
		size_t np = 0, start = 0;
		for (size_t i = 0; i <= n && np < 4; i++) {
			if (i == n || p[i] == 0) {
				parts[np++] =
				    tu_arena_strndup(&f->arena, (const char *)p + start, i - start);
				start = i + 1;
			}
		}
		rule = np == 4 ? parts[0] : NULL;
		const struct tu__rule *r = rule ? tu__rule_by_name(f, rule) : NULL;
		if (r != NULL) {
			struct watcher *w = tu_arena_alloc(&f->arena, sizeof(*w));
			w->rule = r;
			w->anchor = tu_pb_entity(&f->arena, parts[1], parts[2], parts[3]);
			w->mode = d.mv_size > 0 ? *(const char *)d.mv_data : TU__WATCH_ANY;
			tu_arena_push(&f->arena, out, w);
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	return TU_OK;
}

static void add_kind(const char **kinds, size_t *n, const char *kind)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(kinds[i], kind) == 0)
			return;
	kinds[(*n)++] = kind;
}

size_t tu__watch_kinds(const struct tu_config *cfg, const char ***out)
{
	size_t cap = 1, n = 0;
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct tu_rule_config *rc = &cfg->rules[i];
		cap += 1 + (rc->type == TU_RULE_REFERENCE ? rc->reference.n_guards : 0) +
		       (rc->type == TU_RULE_EQUAL ? rc->equal.n_values : 0);
	}
	const char **kinds = tu_xcalloc(cap, sizeof(*kinds));
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct tu_rule_config *rc = &cfg->rules[i];
		if (rc->type == TU_RULE_COUNT) {
			add_kind(kinds, &n, rc->count.of_kind);
		} else if (rc->type == TU_RULE_REFERENCE) {
			add_kind(kinds, &n, rc->reference.owner.kind);
			for (size_t j = 0; j < rc->reference.n_guards; j++)
				add_kind(kinds, &n, rc->reference.guards[j].entity.kind);
		} else if (rc->type == TU_RULE_EQUAL) {
			for (size_t j = 0; j < rc->equal.n_values; j++)
				add_kind(kinds, &n, rc->equal.values[j].entity.kind);
		}
	}
	*out = kinds;
	return n;
}

tu_status tu__watch_fire(tu_fold *f, const Trueup__V1__EntityRef *ref, bool presence_changed)
{
	bool watched = false;
	for (size_t i = 0; i < f->n_watched_kinds && !watched; i++)
		watched = strcmp(f->watched_kinds[i], ref->kind) == 0;
	if (!watched)
		return TU_OK; /* no rule watches this kind: no watchers to look up */
	struct tu__key keys[2];
	tu__key_entity(&keys[0], ref->kind, ref->namespace_, ref->name);
	tu__key_init(&keys[1]);
	tu__key_str(&keys[1], ref->kind);
	tu__key_str(&keys[1], ref->namespace_);
	struct tu_arena_vec ws = {0};
	tu_status st = TU_OK;
	for (size_t i = 0; i < 2 && st == TU_OK; i++)
		st = watchers(f, &keys[i], &ws);
	for (size_t i = 0; i < ws.n && st == TU_OK; i++) {
		const struct watcher *w = ws.items[i];
		if (w->mode == TU__WATCH_PRESENCE && !presence_changed)
			continue;
		struct tu_arena_mark m = tu_arena_mark(&f->arena);
		st = tu__rule_reeval(f, w->rule, w->anchor, TU__TRIG_CHANGE);
		tu_arena_rewind(&f->arena, m);
	}
	return st;
}

/* ---- count ------------------------------------------------------------------------ */

/* Entities of (kind, ns) that source has present: a count of bysrc keys. */
static tu_status count_present(tu_fold *f, const char *source, const char *kind, const char *ns,
			       uint64_t *out)
{
	struct tu__key prefix;
	tu__key_init(&prefix);
	tu__key_str(&prefix, source);
	tu__key_str(&prefix, kind);
	tu__key_str(&prefix, ns);
	tu__key_raw(&prefix, "", 1);
	*out = 0;
	if (prefix.over)
		return TU_OK;
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->bysrc, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	MDB_val k = {prefix.n, prefix.b}, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		(*out)++;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? TU_OK : tu_view_status(rc);
}

static bool parse_count(const char *s, int64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	return true;
}

tu_status tu__count_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			 const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig)
{
	const struct tu_count_rule *c = &r->cfg->count;
	struct tu__verdict *v = tu__verdict_new(f, r, ref, ent);
	v->poll = poll;
	struct tu__watchset *w = tu__watchset_new(f);
	const Trueup__View__SourceState *s = tu__present_in(ent, c->source);
	if (s == NULL) {
		tu_status st = tu__watch_set(f, r, ref, w);
		if (st != TU_OK || !tu__drift_exists(f, r->cfg->name, ref))
			return st; /* holds, nothing to resolve: not worth describing */
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s is gone from %s", ref->kind,
					    ref->namespace_, ref->name, c->source);
		return tu__drift_apply(f, r, ref, v, trig);
	}
	const char *why = NULL;
	const char *ns = tu__render(f, c->of_ns, &v->tctx, &why);
	if (ns != NULL)
		tu__watch_class(w, c->of_kind, ns, TU__WATCH_PRESENCE);
	tu_status st = tu__watch_set(f, r, ref, w);
	if (st != TU_OK)
		return st;
	if (ns != NULL && !tu__evidence(f, c->of_source))
		return TU_OK; /* unknown until the counted source completed a scan */
	const char *want = tu__attr(s, c->attr);
	uint64_t actual = 0;
	if (ns != NULL)
		st = count_present(f, c->of_source, c->of_kind, ns, &actual);
	if (st != TU_OK)
		return st;
	int64_t desired = 0;
	if (ns != NULL && want != NULL && parse_count(want, &desired) &&
	    (uint64_t)desired == actual && !tu__drift_exists(f, r->cfg->name, ref))
		return TU_OK; /* holds, nothing to resolve: not worth describing */
	const char *actual_s = tu_arena_printf(&f->arena, "%" PRIu64, actual);
	v->state = TU__VIOLATED;
	if (ns == NULL) {
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s: cannot name what to count: %s",
					    ref->kind, ref->namespace_, ref->name, why);
	} else if (want == NULL) {
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s has no %s in %s", ref->kind,
					    ref->namespace_, ref->name, c->attr, c->source);
	} else if (!parse_count(want, &desired)) {
		v->reason = tu_arena_printf(
		    &f->arena, "%s %s/%s: %s \"%.64s\" in %s is not a count", ref->kind,
		    ref->namespace_, ref->name, c->attr, want, c->source);
	} else if ((uint64_t)desired == actual) {
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s: %s %s in %s/%s, as desired",
					    ref->kind, ref->namespace_, ref->name, actual_s,
					    c->of_kind, c->of_source, ns);
	} else {
		v->reason = tu_arena_printf(
		    &f->arena, "%s %s/%s: desired %" PRId64 " %s in %s/%s, actual %s", ref->kind,
		    ref->namespace_, ref->name, desired, c->of_kind, c->of_source, ns, actual_s);
	}
	if (ns != NULL) {
		tu__add_detail(f, v, "desired", want ? want : "(missing)");
		tu__add_detail(f, v, "actual", actual_s);
		tu__add_detail(
		    f, v, "of",
		    tu_arena_printf(&f->arena, "%s %s in %s", c->of_kind, ns, c->of_source));
	}
	if (v->state == TU__VIOLATED) {
		v->tctx.desired = want ? want : "";
		tu__tctx_set(f, &v->tctx, "actual", actual_s);
		tu__add_actions(v, &c->fix, 0);
		/* Heartbeats have no scans: a fix is re-checked only through a scanned source. */
		if (strcmp(c->of_source, TU__HB_SOURCE) != 0)
			tu__add_confirm(v, c->of_source);
	}
	return tu__drift_apply(f, r, ref, v, trig);
}

/* ---- reference ---------------------------------------------------------------------- */

/* Does s satisfy cond (equals rendered over t, or equals another attribute of s)? */
static bool cond_holds(tu_fold *f, const struct tu_attr_cond *cond,
		       const Trueup__View__SourceState *s, const struct tu__tctx *t,
		       const char **have)
{
	const char *v = tu__attr(s, cond->attr);
	*have = v;
	if (v == NULL)
		return false;
	const char *want = cond->equals_attr ? tu__attr(s, cond->equals_attr)
					     : tu__render(f, cond->equals, t, NULL);
	return want != NULL && strcmp(v, want) == 0;
}

/* Finds the owner by selector: the first entity of kind in ns, present in source, matching all. */
static tu_status owner_by_selector(tu_fold *f, const struct tu_entity_tmpl *o, const char *ns,
				   const struct tu__tctx *t, const char **found)
{
	struct tu__key prefix;
	tu__key_init(&prefix);
	tu__key_str(&prefix, o->source);
	tu__key_str(&prefix, o->kind);
	tu__key_str(&prefix, ns);
	tu__key_raw(&prefix, "", 1);
	*found = NULL;
	if (prefix.over)
		return TU_OK;
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->bysrc, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	struct tu_arena_vec names = {0};
	MDB_val k = {prefix.n, prefix.b}, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		tu_arena_push(&f->arena, &names,
			      tu_arena_strndup(&f->arena, (const char *)k.mv_data + prefix.n,
					       k.mv_size - prefix.n));
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return tu_view_status(rc);
	for (size_t i = 0; i < names.n && *found == NULL; i++) {
		Trueup__View__Entity *e = NULL;
		tu_status st = tu__load_entity(f, o->kind, ns, names.items[i], &e);
		if (st != TU_OK)
			return st;
		const Trueup__View__SourceState *s = tu__present_in(e, o->source);
		bool all = s != NULL;
		for (size_t j = 0; j < o->n_selector && all; j++) {
			const char *have = NULL;
			all = cond_holds(f, &o->selector[j], s, t, &have);
		}
		if (all)
			*found = names.items[i];
	}
	return TU_OK;
}

tu_status tu__reference_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			     const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig)
{
	const struct tu_reference_rule *rf = &r->cfg->reference;
	struct tu__verdict *v = tu__verdict_new(f, r, ref, ent);
	v->poll = poll;
	struct tu__watchset *w = tu__watchset_new(f);
	regmatch_t m[10];
	bool applies = tu__present_in(ent, rf->source) != NULL &&
		       (!rf->match_compiled || tu__re_match(r->re_memo, &rf->match_re, ref->name, 10, m));
	if (!applies) {
		tu_status st = tu__watch_set(f, r, ref, w);
		if (st != TU_OK || !tu__drift_exists(f, r->cfg->name, ref))
			return st; /* holds, nothing to resolve: not worth describing */
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s is gone from %s", ref->kind,
					    ref->namespace_, ref->name, rf->source);
		return tu__drift_apply(f, r, ref, v, trig);
	}
	if (rf->match_compiled) {
		static const char *const digits[] = {"0", "1", "2", "3", "4",
						     "5", "6", "7", "8", "9"};
		for (int i = 1; i < 10 && m[i].rm_so >= 0; i++)
			tu__tctx_set(f, &v->tctx, digits[i],
				     tu_arena_strndup(&f->arena, ref->name + m[i].rm_so,
						      (size_t)(m[i].rm_eo - m[i].rm_so)));
	}
	const struct tu_entity_tmpl *o = &rf->owner;
	const char *why = NULL;
	const char *ons = tu__render(f, o->ns, &v->tctx, &why);
	const char *oname = NULL, *found = NULL;
	tu_status st = TU_OK;
	if (ons != NULL && o->name != NULL) {
		oname = tu__render(f, o->name, &v->tctx, &why);
		if (oname != NULL) {
			tu__watch_entity(w, o->kind, ons, oname);
			Trueup__View__Entity *oe = NULL;
			st = tu__load_entity(f, o->kind, ons, oname, &oe);
			if (tu__present_in(oe, o->source) != NULL)
				found = oname;
		}
	} else if (ons != NULL) {
		tu__watch_class(w, o->kind, ons, TU__WATCH_ANY);
		st = owner_by_selector(f, o, ons, &v->tctx, &found);
		oname = "(selector)";
	}
	if (st == TU_OK && found != NULL) {
		st = tu__watch_set(f, r, ref, w);
		if (st != TU_OK || !tu__drift_exists(f, r->cfg->name, ref))
			return st; /* holds, nothing to resolve: not worth describing */
	}
	const char *owner_s = tu_arena_printf(&f->arena, "%s %s/%s in %s", o->kind, ons ? ons : "?",
					      found   ? found
					      : oname ? oname
						      : "?",
					      o->source);
	if (st == TU_OK && found != NULL) {
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s has its owner %s", ref->kind,
					    ref->namespace_, ref->name, owner_s);
		return tu__drift_apply(f, r, ref, v, trig);
	}
	if (st == TU_OK && oname == NULL) {
		st = tu__watch_set(f, r, ref, w);
		v->state = TU__VIOLATED;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s: cannot name its owner: %s",
					    ref->kind, ref->namespace_, ref->name, why);
		return st == TU_OK ? tu__drift_apply(f, r, ref, v, trig) : st;
	}
	/* Orphan, if the owner's source is evidence; then the guards decide. */
	struct tu_buf held;
	tu_buf_init(&held, 1 << 16);
	for (size_t i = 0; i < rf->n_guards && st == TU_OK; i++) {
		const struct tu_guard *g = &rf->guards[i];
		const char *gerr = NULL;
		const char *gns = tu__render(f, g->entity.ns, &v->tctx, &gerr);
		const char *gname = gns ? tu__render(f, g->entity.name, &v->tctx, &gerr) : NULL;
		if (gname == NULL) {
			tu_buf_printf(&held, "%s%s", held.len ? "; " : "", gerr);
			continue;
		}
		tu__watch_entity(w, g->entity.kind, gns, gname);
		Trueup__View__Entity *ge = NULL;
		st = tu__load_entity(f, g->entity.kind, gns, gname, &ge);
		const Trueup__View__SourceState *gs = tu__present_in(ge, g->entity.source);
		const char *have = NULL;
		bool ok = gs == NULL ? g->missing_ok : cond_holds(f, &g->cond, gs, &v->tctx, &have);
		const char *gwhere = tu_arena_printf(&f->arena, "%s %s/%s %s", g->entity.kind, gns,
						     gname, g->cond.attr);
		tu__add_detail(f, v, tu_arena_printf(&f->arena, "guard.%zu", i),
			       tu_arena_printf(&f->arena, "%s is %s: %s", gwhere,
					       gs == NULL ? "(missing)"
					       : have	  ? have
							  : "(unset)",
					       ok ? "holds" : "does not hold"));
		if (!ok)
			tu_buf_printf(&held, "%s%s is %s", held.len ? "; " : "", gwhere,
				      gs == NULL ? "missing"
				      : have	 ? have
						 : "unset");
	}
	if (st == TU_OK)
		st = tu__watch_set(f, r, ref, w);
	if (st == TU_OK && !tu__evidence(f, o->source)) {
		tu_buf_release(&held);
		return TU_OK; /* an owner not seen yet may still be there */
	}
	v->state = TU__VIOLATED;
	tu__add_detail(f, v, "owner", owner_s);
	tu__tctx_set(f, &v->tctx, "owner", found ? found : oname);
	if (held.len > 0) {
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s has no owner %s; left alone: %s",
					    ref->kind, ref->namespace_, ref->name, owner_s,
					    tu_buf_cstr(&held));
	} else {
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s has no owner %s", ref->kind,
					    ref->namespace_, ref->name, owner_s);
		tu__add_actions(v, &rf->when_orphan, 0);
		tu__add_confirm(v, rf->source);
	}
	tu_buf_release(&held);
	return st == TU_OK ? tu__drift_apply(f, r, ref, v, trig) : st;
}
