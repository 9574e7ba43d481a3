/*
 * rules_pod.c - rules about workloads' health: pod-status and heartbeat.
 *
 * pod-status has two anchors. A pod is a zombie (a zombie reason, or
 *   terminating past the grace: a re-evaluation timer fires at the end of
 *   the grace) and gets when_zombie. A pod that cannot pull its image makes
 *   its owner (e.g. a Deployment) the anchor of an image-pull drift: the
 *   member index lists the owner's failing pods (with each pod's image), and
 *   when_image_pull rolls the owner back to the last image it ran while
 *   ready, which the hist database records every time the owner is observed
 *   ready. A failing pod whose image is no longer its owner's is left over
 *   from the rollout being undone: the owner's controller replaces it, so it
 *   is not evidence that the rollback did not hold.
 * heartbeat: an instance whose TTL elapsed without a goodbye is stale until
 *   it heartbeats again or `forget` after its TTL ended (a timer).
 */
#include <inttypes.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "fold_internal.h"

static bool in_strs(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Schedules a re-evaluation of (rule, ref) at due. */
static tu_status reeval_at(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			   int64_t due)
{
	struct tu__key k;
	tu__key_drift(&k, r->cfg->name, ref);
	return k.over ? TU_OK : tu__timer_put(f, due, TU__TIMER_REEVAL, &k);
}

/* member key: rule\0owner kind\0owner ns\0owner name\0 [pod ns\0pod name] -> the pod's image. */
static void member_key(struct tu__key *k, const char *rule, const Trueup__V1__EntityRef *owner,
		       const Trueup__V1__EntityRef *pod)
{
	tu__key_drift(k, rule, owner);
	tu__key_raw(k, "", 1);
	if (pod != NULL) {
		tu__key_raw(k, pod->namespace_, strlen(pod->namespace_));
		tu__key_raw(k, "", 1);
		tu__key_raw(k, pod->name, strlen(pod->name));
	}
}

/*
 * The owner's failing pods ("ns/name", the first 10 listed): *n counts those
 * that fail on the owner's image (or on an image not known), *left those that
 * fail on another one, left over from an earlier rollout. owner_image NULL
 * (not known): every failing pod counts in *n.
 */
static tu_status members(tu_fold *f, const char *rule, const Trueup__V1__EntityRef *owner,
			 const char *owner_image, struct tu_buf *list, size_t *n, size_t *left)
{
	struct tu__key prefix;
	member_key(&prefix, rule, owner, NULL);
	*n = 0;
	*left = 0;
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->member, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	MDB_val k = {prefix.n, prefix.b}, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		const char *p = (const char *)k.mv_data + prefix.n;
		size_t pn = k.mv_size - prefix.n;
		if (owner_image != NULL && d.mv_size > 0 &&
		    (d.mv_size != strlen(owner_image) ||
		     memcmp(d.mv_data, owner_image, d.mv_size) != 0)) {
			(*left)++;
			rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
			continue;
		}
		if (*n < 10) {
			size_t nsl = strnlen(p, pn);
			tu_buf_printf(list, "%s%.*s/%.*s", list->len ? ", " : "", (int)nsl, p,
				      (int)(nsl < pn ? pn - nsl - 1 : 0),
				      nsl < pn ? p + nsl + 1 : "");
		}
		(*n)++;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? TU_OK : tu_view_status(rc);
}

/* The image-pull verdict of an owner; records its image in hist while it is ready. */
static tu_status owner_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			    const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig)
{
	const struct tu_pod_status_rule *ps = &r->cfg->pod_status;
	struct tu__verdict *v = tu__verdict_new(f, r, ref, ent);
	v->poll = poll;
	struct tu__key hk;
	tu__key_drift(&hk, r->cfg->name, ref);
	const Trueup__View__SourceState *os = tu__present_in(ent, ps->owner.source);
	const char *image = tu__attr(os, ps->image_attr);
	tu_status st = TU_OK;
	MDB_val key = {hk.n, hk.b}, val;
	const char *last = NULL;
	if (!hk.over && mdb_get(f->txn, f->db->hist, &key, &val) == 0)
		last = tu_arena_strndup(&f->arena, val.mv_data, val.mv_size);
	if (image != NULL) {
		bool ready = true;
		for (size_t i = 0; i < ps->n_ready && ready; i++) {
			const struct tu_attr_cond *c = &ps->ready[i];
			const char *have = tu__attr(os, c->attr);
			const char *want = c->equals_attr
					       ? tu__attr(os, c->equals_attr)
					       : tu__render(f, c->equals, &v->tctx, NULL);
			ready = have != NULL && want != NULL && strcmp(have, want) == 0;
		}
		if (ready && (last == NULL || strcmp(last, image) != 0)) {
			st = tu__put_raw(f, f->db->hist, &hk, image, strlen(image));
			last = image;
		}
	}
	struct tu_buf pods;
	tu_buf_init(&pods, 1 << 16);
	size_t n = 0, left = 0;
	if (st == TU_OK)
		st = members(f, r->cfg->name, ref, image, &pods, &n, &left);
	if (st == TU_OK && n == 0 && left > 0) {
		/* Only pods of another image fail: a rollout being undone; wait for them to go. */
		tu_buf_release(&pods);
		return TU_OK;
	}
	if (st != TU_OK || n == 0) {
		tu_buf_release(&pods);
		if (st != TU_OK || !tu__drift_exists(f, r->cfg->name, ref))
			return st; /* holds, nothing to resolve: not worth describing */
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "every pod of %s %s/%s pulls its image",
					    ref->kind, ref->namespace_, ref->name);
		return tu__drift_apply(f, r, ref, v, trig);
	}
	v->state = TU__VIOLATED;
	const char *head = tu_arena_printf(
	    &f->arena, "%zu pod%s of %s %s/%s cannot pull %s (%s)", n, n == 1 ? "" : "s", ref->kind,
	    ref->namespace_, ref->name, image ? image : "its image", tu_buf_cstr(&pods));
	tu__add_detail(f, v, "pods", tu_buf_cstr(&pods));
	tu__add_detail(f, v, "image", image ? image : "(unknown)");
	tu__add_detail(f, v, "last_ready_image", last ? last : "(none)");
	if (last == NULL) {
		v->reason = tu_arena_printf(&f->arena,
					    "%s; no Ready image in the view's history "
					    "to roll back to",
					    head);
	} else if (image != NULL && strcmp(last, image) == 0) {
		v->reason = tu_arena_printf(&f->arena,
					    "%s; its image is already the last Ready "
					    "one, nothing to roll back to",
					    head);
	} else {
		v->reason = tu_arena_printf(&f->arena, "%s; roll back to %s, the last Ready image",
					    head, last);
		tu__tctx_set(f, &v->tctx, "owner", ref->name);
		tu__tctx_set(f, &v->tctx, "image", image ? image : "");
		tu__tctx_set(f, &v->tctx, "last_ready_image", last);
		tu__add_actions(v, &ps->when_image_pull, 0);
		tu__add_confirm(v, ps->source);
	}
	tu_buf_release(&pods);
	return tu__drift_apply(f, r, ref, v, trig);
}

/* Updates the pod's membership in its owner's failing pods; re-evaluates the owner if it changed.
 */
static tu_status pod_membership(tu_fold *f, const struct tu__rule *r,
				const Trueup__V1__EntityRef *ref,
				const Trueup__View__SourceState *s, const struct tu__tctx *t)
{
	const struct tu_pod_status_rule *ps = &r->cfg->pod_status;
	if (ps->owner.kind == NULL)
		return TU_OK;
	const char *ons = tu__render(f, ps->owner.ns, t, NULL);
	const char *oname = ons ? tu__render(f, ps->owner.name, t, NULL) : NULL;
	if (oname == NULL || *oname == '\0' || *ons == '\0')
		return TU_OK; /* no owner to name: the zombie half still applies */
	Trueup__V1__EntityRef *owner = tu_pb_entity(&f->arena, ps->owner.kind, ons, oname);
	struct tu__key mk;
	member_key(&mk, r->cfg->name, owner, ref);
	if (mk.over)
		return TU_OK;
	bool failing = s != NULL &&
		       in_strs(ps->pull_reasons, ps->n_pull_reasons, tu__attr(s, ps->reason_attr));
	const char *image = s != NULL ? tu__attr(s, ps->pod_image_attr) : NULL;
	size_t in = image != NULL ? strlen(image) : 0;
	MDB_val key = {mk.n, mk.b}, val;
	bool was = mdb_get(f->txn, f->db->member, &key, &val) == 0;
	if (was == failing &&
	    (!failing || (val.mv_size == in && (in == 0 || memcmp(val.mv_data, image, in) == 0))))
		return TU_OK;
	tu_status st = failing ? tu__put_raw(f, f->db->member, &mk, image ? image : "", in)
			       : tu__del(f, f->db->member, &mk);
	if (st == TU_OK)
		st = tu__rule_reeval(f, r, owner, TU__TRIG_CHANGE);
	return st;
}

tu_status tu__pod_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
		       const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig)
{
	const struct tu_pod_status_rule *ps = &r->cfg->pod_status;
	if (strcmp(ref->kind, ps->kind) != 0)
		return ps->owner.kind != NULL && strcmp(ref->kind, ps->owner.kind) == 0
			   ? owner_eval(f, r, ref, ent, poll, trig)
			   : TU_OK;
	struct tu__verdict *v = tu__verdict_new(f, r, ref, ent);
	v->poll = poll;
	const Trueup__View__SourceState *s = tu__present_in(ent, ps->source);
	tu_status st = pod_membership(f, r, ref, s, &v->tctx);
	if (st != TU_OK)
		return st;
	const char *reason = tu__attr(s, ps->reason_attr);
	const char *term = tu__attr(s, ps->terminating_attr);
	v->state = TU__HOLDS;
	if (s == NULL) {
		/* holds (described below) */
	} else if (in_strs(ps->zombie_reasons, ps->n_zombie_reasons, reason)) {
		v->state = TU__VIOLATED;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s is a zombie: %s", ref->kind,
					    ref->namespace_, ref->name, reason);
		tu__add_detail(f, v, ps->reason_attr, reason);
	} else if (term != NULL && *term != '\0') {
		int64_t at = 0;
		if (tu_time_parse(term, &at) != TU_OK) {
			v->state = TU__VIOLATED;
			v->reason = tu_arena_printf(
			    &f->arena, "%s %s/%s: %s \"%.64s\" is not an RFC 3339 time", ref->kind,
			    ref->namespace_, ref->name, ps->terminating_attr, term);
			return tu__drift_apply(f, r, ref, v, trig); /* reported, never acted on */
		}
		int64_t due = at + ps->terminating_grace * TU_NS_PER_MS;
		if (f->now >= due) {
			v->state = TU__VIOLATED;
			char since[40];
			tu_time_format(at, since, sizeof(since));
			v->reason = tu_arena_printf(&f->arena,
						    "%s %s/%s is a zombie: terminating since %s, "
						    "past the grace",
						    ref->kind, ref->namespace_, ref->name, since);
			tu__add_detail(f, v, ps->terminating_attr, term);
		} else {
			st = reeval_at(f, r, ref, due);
		}
	}
	if (v->state == TU__VIOLATED) {
		tu__add_actions(v, &ps->when_zombie, 0);
		tu__add_confirm(v, ps->source);
	} else {
		if (st != TU_OK || !tu__drift_exists(f, r->cfg->name, ref))
			return st; /* holds, nothing to resolve: not worth describing */
		v->reason = s == NULL ? tu_arena_printf(&f->arena, "%s %s/%s is gone from %s",
							ref->kind, ref->namespace_, ref->name,
							ps->source)
				      : tu_arena_printf(&f->arena, "%s %s/%s is not a zombie",
							ref->kind, ref->namespace_, ref->name);
	}
	return st == TU_OK ? tu__drift_apply(f, r, ref, v, trig) : st;
}

/* ---- heartbeat ---------------------------------------------------------------------- */

tu_status tu__heartbeat_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			     const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig)
{
	const struct tu_heartbeat_rule *hb = &r->cfg->heartbeat;
	struct tu__verdict *v = tu__verdict_new(f, r, ref, ent);
	v->poll = poll;
	const Trueup__View__SourceState *s = tu__entity_source(ent, TU__HB_SOURCE);
	int64_t silent = 0; /* when its TTL ended */
	v->state = TU__HOLDS;
	if (s != NULL && (s->present || !s->expired) && !tu__drift_exists(f, r->cfg->name, ref)) {
		return TU_OK; /* holds, nothing to resolve: not worth describing */
	} else if (s != NULL && s->present) {
		v->reason = tu_arena_printf(&f->arena, "instance %s/%s heartbeats", ref->namespace_,
					    ref->name);
	} else if (s != NULL && !s->expired) {
		v->reason = tu_arena_printf(&f->arena, "instance %s/%s said goodbye",
					    ref->namespace_, ref->name);
	} else if (s != NULL) {
		silent = s->expires_ns;
	} else {
		/* The record went with its last source; the drift remembers since when. */
		Trueup__View__Drift *d = NULL;
		tu_status st = tu__drift_load(f, r->cfg->name, ref, &d);
		if (st != TU_OK || d == NULL)
			return st;
		const char *since = tu_pb_attrs_get(d->details, d->n_details, "silent_since");
		if (since == NULL || tu_time_parse(since, &silent) != TU_OK)
			silent = d->since_ns;
	}
	if (silent > 0) {
		int64_t forget_at = silent + hb->forget * TU_NS_PER_MS;
		char since[40];
		tu_time_format(silent, since, sizeof(since));
		if (f->now >= forget_at) {
			v->reason =
			    tu_arena_printf(&f->arena, "instance %s/%s forgotten: silent since %s",
					    ref->namespace_, ref->name, since);
		} else {
			tu_status st = reeval_at(f, r, ref, forget_at);
			if (st != TU_OK)
				return st;
			v->state = TU__VIOLATED;
			v->reason =
			    tu_arena_printf(&f->arena,
					    "instance %s/%s is stale: no heartbeat since its "
					    "TTL ended at %s",
					    ref->namespace_, ref->name, since);
			tu__add_detail(f, v, "silent_since", since);
			tu__add_actions(v, &hb->when_stale, 0);
		}
	}
	return tu__drift_apply(f, r, ref, v, trig);
}
