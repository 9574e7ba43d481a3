/*
 * blast.c - blast radius: a reconciler that goes wrong can delete a fleet.
 *
 * Deletions a scan implies (deleted observations of a delta scan, the
 * entities a complete full scan did not see) are staged in db "staged" and
 * decided at the scan's END. A complete scan that would make more than
 * `max_shrink` percent of the source's present entities absent (when it has
 * at least `min_entities`; deletions trueup's own fixes explain do not
 * count) is suspect: its deletions stay held, the
 * source-suspect drift opens (with the processor's on_suspect actions,
 * typically an alert), and nothing downstream sees the entities go. The hold
 * ends when an operator approves the suspect scan id (trueup approve), when
 * `confirm_scans` more complete scans agree, or when the source recovers
 * (re-observed entities leave the stage; a scan that no longer shrinks too
 * much applies what is left). An incomplete scan never applies anything.
 */
#include <inttypes.h>
#include <string.h>

#include "fold_internal.h"
#include "log.h"

#define SUSPECT_KIND "source"
#define SUSPECT_NS "trueup"

static void staged_prefix(struct tu__key *k, const char *source)
{
	tu__key_init(k);
	tu__key_str(k, source);
	tu__key_raw(k, "", 1);
}

static void staged_key(struct tu__key *k, const char *source, const Trueup__V1__EntityRef *e)
{
	tu__key_init(k);
	tu__key_str(k, source);
	tu__key_str(k, e->kind);
	tu__key_str(k, e->namespace_);
	tu__key_str(k, e->name);
}

tu_status tu__blast_stage(tu_fold *f, const char *source, const Trueup__V1__EntityRef *e,
			  const char *scan_id, bool *staged)
{
	*staged = false;
	Trueup__View__Scan *s = NULL;
	tu_status st = tu__load_scan(f, source, &s);
	if (st == TU_ENOTFOUND)
		return TU_OK; /* no scan: a deletion outside any scan applies at once */
	if (st != TU_OK)
		return st;
	bool in_scan = s->end_seq == 0 && s->scan_id != NULL && scan_id != NULL &&
		       strcmp(s->scan_id, scan_id) == 0;
	if (!in_scan && !s->suspect)
		return TU_OK;
	struct tu__key k;
	staged_key(&k, source, e);
	if (k.over)
		return TU_OK;
	*staged = true;
	f->any_staged = true;
	const char *id = scan_id != NULL ? scan_id : "";
	return tu__put_raw(f, f->db->staged, &k, id, strlen(id));
}

tu_status tu__blast_unstage(tu_fold *f, const char *source, const Trueup__V1__EntityRef *e)
{
	struct tu__key k;
	staged_key(&k, source, e);
	return k.over ? TU_OK : tu__del(f, f->db->staged, &k);
}

/* Entries under prefix in dbi. */
static tu_status count_prefix(tu_fold *f, MDB_dbi dbi, const struct tu__key *prefix, uint64_t *n)
{
	MDB_cursor *cur = NULL;
	*n = 0;
	int rc = mdb_cursor_open(f->txn, dbi, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	MDB_val k = { prefix->n, (void *)prefix->b }, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= prefix->n && memcmp(k.mv_data, prefix->b, prefix->n) == 0) {
		(*n)++;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? TU_OK : tu_view_status(rc);
}

/* The staged deletions of source, as refs in the arena, in key order. */
static tu_status staged_refs(tu_fold *f, const char *source, struct tu_arena_vec *out)
{
	struct tu__key prefix;
	staged_prefix(&prefix, source);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(f->txn, f->db->staged, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	MDB_val k = { prefix.n, prefix.b }, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > prefix.n && memcmp(k.mv_data, prefix.b, prefix.n) == 0) {
		const char *p = (const char *)k.mv_data + prefix.n;
		const char *end = (const char *)k.mv_data + k.mv_size;
		const char *ns = p + strnlen(p, (size_t)(end - p)) + 1;
		const char *name = ns < end ? ns + strnlen(ns, (size_t)(end - ns)) + 1 : end;
		if (name < end)
			tu_arena_push(&f->arena, out,
				      tu_pb_entity(&f->arena,
						   tu_arena_strndup(&f->arena, p, (size_t)(ns - 1 - p)),
						   tu_arena_strndup(&f->arena, ns, (size_t)(name - 1 - ns)),
						   tu_arena_strndup(&f->arena, name, (size_t)(end - name))));
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? TU_OK : tu_view_status(rc);
}

/* Applies (and clears) every staged deletion of source, in key order; *n of them. */
static tu_status apply_staged(tu_fold *f, const char *source, uint64_t *n)
{
	struct tu_arena_vec gone = { 0 };
	*n = 0;
	tu_status st = staged_refs(f, source, &gone);
	for (size_t i = 0; i < gone.n && st == TU_OK; i++) {
		struct tu_arena_mark m = tu_arena_mark(&f->arena);
		st = tu__blast_unstage(f, source, gone.items[i]);
		if (st == TU_OK)
			st = tu__entity_gone(f, gone.items[i], source);
		tu_arena_rewind(&f->arena, m);
	}
	*n = gone.n;
	return st;
}

/*
 * Held deletions trueup itself caused: the entity has a drift whose fix
 * finished with a succeeded outcome (a del, a delete, a remove). Those are
 * expected, so they never make a scan suspect.
 */
static tu_status count_expected(tu_fold *f, const char *source, uint64_t *n)
{
	struct tu_arena_vec held = { 0 };
	*n = 0;
	tu_status st = staged_refs(f, source, &held);
	for (size_t i = 0; i < held.n && st == TU_OK; i++) {
		bool expected = false;
		for (size_t r = 0; r < f->n_rules && st == TU_OK && !expected; r++) {
			struct tu_arena_mark m = tu_arena_mark(&f->arena);
			Trueup__View__Drift *dr = NULL;
			st = tu__drift_load(f, f->rules[r].cfg->name, held.items[i], &dr);
			expected = dr != NULL && dr->attempt > 0 && dr->outcomes_pending == 0 &&
				   strcmp(dr->last_outcome, "succeeded") == 0;
			tu_arena_rewind(&f->arena, m);
		}
		*n += expected;
	}
	return st;
}

tu_status tu__blast_end(tu_fold *f, Trueup__View__Scan *s)
{
	const struct tu_source_config *sc = tu_config_source(f->cfg, s->source);
	int max_shrink = sc != NULL ? sc->max_shrink : 50;
	int min_entities = sc != NULL ? sc->min_entities : 10;
	int confirm_scans = sc != NULL ? sc->confirm_scans : 0;
	tu_status st = TU_OK;
	if (s->full) {
		struct tu_arena_vec gone = { 0 };
		st = tu__sweep_collect(f, s->source, s->scan_id, &gone);
		for (size_t i = 0; i < gone.n && st == TU_OK; i++) {
			bool staged = false;
			st = tu__blast_stage(f, s->source, gone.items[i], s->scan_id, &staged);
		}
	}
	struct tu__key prefix;
	uint64_t present = 0, held = 0;
	staged_prefix(&prefix, s->source);
	if (st == TU_OK)
		st = count_prefix(f, f->db->bysrc, &prefix, &present);
	if (st == TU_OK)
		st = count_prefix(f, f->db->staged, &prefix, &held);
	if (st != TU_OK)
		return st;
	s->present = present;
	s->held = held;
	bool suspect = present >= (uint64_t)min_entities && held * 100 > (uint64_t)max_shrink * present;
	if (suspect) {
		uint64_t expected = 0;
		st = count_expected(f, s->source, &expected);
		if (st != TU_OK)
			return st;
		suspect = (held - expected) * 100 > (uint64_t)max_shrink * present;
	}
	if (suspect) {
		s->suspect_scans++;
		if (!s->suspect) {
			s->suspect = true;
			s->suspect_scan_id = s->scan_id;
			tu_warn("source %s: scan %s would make %" PRIu64 " of %" PRIu64 " entities absent "
				"(over max_shrink %d%%): held as suspect", s->source, s->scan_id, held,
				present, max_shrink);
		}
		if (confirm_scans <= 0 || s->suspect_scans <= (uint32_t)confirm_scans)
			return TU_OK;
		s->suspect_end = tu_arena_printf(&f->arena, "deletions of suspect scan %s confirmed by %u "
					   "more complete scans", s->suspect_scan_id,
					   s->suspect_scans - 1);
	} else if (s->suspect) {
		s->suspect_end = tu_arena_printf(&f->arena, "scan %s no longer shrinks the source too much "
					   "(%" PRIu64 " of %" PRIu64 " entities absent): held "
					   "deletions applied", s->scan_id, held, present);
	}
	s->suspect = false;
	s->suspect_scans = 0;
	return apply_staged(f, s->source, &s->swept);
}

tu_status tu__blast_verdict(tu_fold *f, const char *source)
{
	Trueup__V1__EntityRef *ref = tu_pb_entity(&f->arena, SUSPECT_KIND, SUSPECT_NS, source);
	return tu__suspect_eval(f, &f->suspect_rule, ref, TU__TRIG_CHANGE);
}

tu_status tu__suspect_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			   enum tu__trigger trig)
{
	Trueup__View__Scan *s = NULL;
	tu_status st = tu__load_scan(f, ref->name, &s);
	if (st == TU_ENOTFOUND)
		return TU_OK;
	if (st != TU_OK)
		return st;
	struct tu__verdict *v = tu__verdict_new(f, r, ref, NULL);
	if (!s->suspect) {
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "source %s: %s", s->source,
					    s->suspect_end && *s->suspect_end ? s->suspect_end
									  : "no scan held");
		return tu__drift_apply(f, r, ref, v, trig);
	}
	v->state = TU__VIOLATED;
	v->reason = tu_arena_printf(&f->arena,
				    "source %s: complete scan %s would make %" PRIu64 " of %" PRIu64
				    " present entities absent; its deletions are held until an "
				    "operator confirms (trueup approve %s) or the source recovers",
				    s->source, s->suspect_scan_id, s->held, s->present,
				    s->suspect_scan_id);
	tu__add_detail(f, v, "scan_id", s->suspect_scan_id);
	tu__add_detail(f, v, "held", tu_arena_printf(&f->arena, "%" PRIu64, s->held));
	tu__add_detail(f, v, "present", tu_arena_printf(&f->arena, "%" PRIu64, s->present));
	tu__tctx_set(f, &v->tctx, "source", s->source);
	tu__tctx_set(f, &v->tctx, "scan_id", s->suspect_scan_id);
	tu__tctx_set(f, &v->tctx, "held", tu_arena_printf(&f->arena, "%" PRIu64, s->held));
	tu__tctx_set(f, &v->tctx, "present", tu_arena_printf(&f->arena, "%" PRIu64, s->present));
	tu__add_actions(v, &f->cfg->processor.on_suspect, 0);
	return tu__drift_apply(f, r, ref, v, trig);
}

tu_status tu__blast_approval(tu_fold *f, const Trueup__V1__Approval *a, bool *handled)
{
	*handled = false;
	for (size_t i = 0; i < f->cfg->n_sources; i++) {
		const char *source = f->cfg->sources[i].name;
		Trueup__View__Scan *s = NULL;
		tu_status st = tu__load_scan(f, source, &s);
		if (st == TU_ENOTFOUND)
			continue;
		if (st != TU_OK)
			return st;
		if (!s->suspect || s->suspect_scan_id == NULL ||
		    strcmp(s->suspect_scan_id, a->command_id) != 0)
			continue;
		*handled = true;
		const char *who = (a->approver && *a->approver) ? a->approver : "an operator";
		if (!a->approved) {
			tu_info("source %s: %s rejected the deletions of suspect scan %s: still held",
				source, who, a->command_id);
			return TU_OK;
		}
		s->suspect = false;
		s->suspect_scans = 0;
		s->suspect_end = tu_arena_printf(&f->arena, "deletions of suspect scan %s confirmed by %s%s%s",
					   a->command_id, who, (a->reason && *a->reason) ? ": " : "",
					   (a->reason && *a->reason) ? a->reason : "");
		st = apply_staged(f, source, &s->swept);
		struct tu__key k;
		tu__key_init(&k);
		tu__key_str(&k, source);
		if (st == TU_OK)
			st = tu__put_pb(f, f->db->scan, &k, &s->base);
		if (st == TU_OK)
			st = tu__blast_verdict(f, source);
		return st;
	}
	return TU_OK;
}
