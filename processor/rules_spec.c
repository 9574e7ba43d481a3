/*
 * rules_spec.c - rules that compare values: spec (an entity's desired fields
 * against its actual ones) and equal (values of several entities that must
 * agree), with the typed comparators they share.
 *
 * A value that does not parse under its comparator is drift with a reason
 * that quotes it: never a crash, never a silent zero.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fold_internal.h"
#include "quantity.h"

static bool parse_i64(const char *s, int64_t *out)
{
	if (s == NULL || *s == '\0')
		return false;
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

int tu__compare(tu_fold *f, enum tu_compare cmp, const char *a, const char *b, const char **why)
{
	const char *bad = NULL;
	char err[160] = "";
	switch (cmp) {
	case TU_CMP_STRING: return strcmp(a, b) != 0;
	case TU_CMP_INT: {
		int64_t x = 0, y = 0;
		if (!parse_i64(a, &x))
			bad = a;
		else if (!parse_i64(b, &y))
			bad = b;
		else
			return x != y;
		*why = tu_arena_printf(&f->arena, "\"%.64s\" is not an integer", bad);
		return -1;
	}
	case TU_CMP_BOOL: {
		bool x = false, y = false;
		if (!parse_bool(a, &x))
			bad = a;
		else if (!parse_bool(b, &y))
			bad = b;
		else
			return x != y;
		*why = tu_arena_printf(&f->arena, "\"%.64s\" is not a boolean", bad);
		return -1;
	}
	case TU_CMP_QUANTITY: {
		struct tu_quantity x, y;
		if (tu_quantity_parse(a, &x, err, sizeof(err)) != TU_OK)
			bad = a;
		else if (tu_quantity_parse(b, &y, err, sizeof(err)) != TU_OK)
			bad = b;
		else
			return !tu_quantity_equal(&x, &y);
		*why = tu_arena_printf(&f->arena, "\"%.64s\" is not a quantity: %s", bad, err);
		return -1;
	}
	}
	return strcmp(a, b) != 0;
}

/* ---- spec ------------------------------------------------------------------------ */

tu_status tu__spec_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig)
{
	const struct tu_spec_rule *sp = &r->cfg->spec;
	struct tu__verdict *v = tu__verdict_new(f, r, ref, ent);
	v->poll = poll;
	const Trueup__View__SourceState *ds = tu__present_in(ent, sp->desired);
	const Trueup__View__SourceState *as = tu__present_in(ent, sp->actual);
	if (ds == NULL || as == NULL) {
		/* Not in both: nothing to compare (presence rules judge existence). */
		if (!tu__drift_exists(f, r->cfg->name, ref))
			return TU_OK; /* holds, nothing to resolve: not worth describing */
		v->state = TU__HOLDS;
		v->reason =
		    tu_arena_printf(&f->arena, "%s %s/%s is no longer in both %s and %s", ref->kind,
				    ref->namespace_, ref->name, sp->desired, sp->actual);
		return tu__drift_apply(f, r, ref, v, trig);
	}
	struct tu_buf why, which;
	tu_buf_init(&why, 1 << 16);
	tu_buf_init(&which, 1 << 16);
	for (size_t i = 0; i < sp->n_fields; i++) {
		const struct tu_spec_field *fd = &sp->fields[i];
		const char *dv = tu__attr(ds, fd->attr);
		if (dv == NULL)
			continue; /* not declared: no desire to check */
		const char *av = tu__attr(as, fd->actual_attr);
		const char *bad = NULL;
		int c = av == NULL ? 1 : tu__compare(f, fd->cmp, dv, av, &bad);
		if (c == 0)
			continue;
		const char *sep = why.len ? "; " : "";
		if (av == NULL)
			tu_buf_printf(&why, "%s%s: desired %s, %s has no %s", sep, fd->attr, dv,
				      sp->actual, fd->actual_attr);
		else if (c < 0)
			tu_buf_printf(&why, "%s%s: cannot compare (%s): %s", sep, fd->attr,
				      tu_compare_str(fd->cmp), bad);
		else
			tu_buf_printf(&why, "%s%s: desired %s, actual %s", sep, fd->attr, dv, av);
		tu_buf_printf(&which, "%s%s", which.len ? "," : "", fd->attr);
		tu__add_detail(f, v, tu_arena_printf(&f->arena, "%s.desired", fd->attr), dv);
		tu__add_detail(f, v, tu_arena_printf(&f->arena, "%s.actual", fd->attr),
			       av ? av : "(missing)");
	}
	if (why.len == 0 && !tu__drift_exists(f, r->cfg->name, ref)) {
		tu_buf_release(&why);
		tu_buf_release(&which);
		return TU_OK; /* holds, nothing to resolve: not worth describing */
	}
	if (why.len == 0) {
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s matches its desired spec in %s",
					    ref->kind, ref->namespace_, ref->name, sp->desired);
	} else {
		v->state = TU__VIOLATED;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s in %s differs from %s: %s",
					    ref->kind, ref->namespace_, ref->name, sp->actual,
					    sp->desired, tu_buf_cstr(&why));
		tu__tctx_set(f, &v->tctx, "mismatch",
			     tu_arena_strdup(&f->arena, tu_buf_cstr(&which)));
		tu__add_actions(v, &sp->fix, 0);
		tu__add_confirm(v, sp->actual);
	}
	tu_buf_release(&why);
	tu_buf_release(&which);
	return tu__drift_apply(f, r, ref, v, trig);
}

/* ---- equal ------------------------------------------------------------------------ */

tu_status tu__equal_eval(tu_fold *f, const struct tu__rule *r, const Trueup__V1__EntityRef *ref,
			 const Trueup__View__Entity *ent, bool poll, enum tu__trigger trig)
{
	const struct tu_equal_rule *eq = &r->cfg->equal;
	struct tu__verdict *v = tu__verdict_new(f, r, ref, ent);
	v->poll = poll;
	struct tu__watchset *w = tu__watchset_new(f);
	tu_status st = TU_OK;
	if (tu__present_in(ent, eq->source) == NULL) {
		st = tu__watch_set(f, r, ref, w);
		if (st != TU_OK || !tu__drift_exists(f, r->cfg->name, ref))
			return st; /* holds, nothing to resolve: not worth describing */
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s is gone from %s", ref->kind,
					    ref->namespace_, ref->name, eq->source);
		return tu__drift_apply(f, r, ref, v, trig);
	}
	/* The values first; they are described only if they disagree or a drift exists. */
	struct value {
		const char *ns, *name; /* name NULL: err says why */
		const char *err;
		const char *val;       /* NULL: missing */
	} *vals = tu_arena_alloc(&f->arena, eq->n_values * sizeof(*vals));
	const char *first = NULL, *first_label = NULL;
	bool differ = false;
	const char *bad = NULL;
	for (size_t i = 0; i < eq->n_values && st == TU_OK; i++) {
		const struct tu_equal_value *ev = &eq->values[i];
		struct value *x = &vals[i];
		x->ns = tu__render(f, ev->entity.ns, &v->tctx, &x->err);
		x->name = x->ns ? tu__render(f, ev->entity.name, &v->tctx, &x->err) : NULL;
		if (x->name != NULL) {
			const Trueup__View__Entity *ve = ent;
			Trueup__View__Entity *loaded = NULL;
			bool self = strcmp(ev->entity.kind, ref->kind) == 0 &&
				    strcmp(x->ns, ref->namespace_) == 0 &&
				    strcmp(x->name, ref->name) == 0;
			if (!self) {
				tu__watch_entity(w, ev->entity.kind, x->ns, x->name);
				st = tu__load_entity(f, ev->entity.kind, x->ns, x->name, &loaded);
				ve = loaded;
			}
			x->val = tu__attr(tu__present_in(ve, ev->entity.source), ev->attr);
		}
		/*
		 * Nothing to compare: a missing value is not a disagreement, and
		 * neither is an empty one, which is how a source's mapping renders
		 * a path the object does not have (`|default:`).
		 */
		if (x->val == NULL || *x->val == '\0')
			continue;
		if (first == NULL) {
			first = x->val;
			first_label = ev->label;
			continue;
		}
		const char *perr = NULL;
		int c = tu__compare(f, eq->cmp, first, x->val, &perr);
		if (c != 0)
			differ = true;
		if (c < 0 && bad == NULL)
			bad = tu_arena_printf(&f->arena, "%s or %s: %s", first_label, ev->label,
					      perr);
	}
	if (st == TU_OK)
		st = tu__watch_set(f, r, ref, w);
	if (st != TU_OK)
		return st;
	if (!differ && !tu__drift_exists(f, r->cfg->name, ref))
		return TU_OK; /* holds, nothing to resolve: not worth describing */
	struct tu_buf why;
	tu_buf_init(&why, 1 << 16);
	for (size_t i = 0; i < eq->n_values; i++) {
		const struct tu_equal_value *ev = &eq->values[i];
		const struct value *x = &vals[i];
		const char *where = x->name == NULL
					    ? x->err
					    : tu_arena_printf(&f->arena, "%s %s/%s %s in %s",
							      ev->entity.kind, x->ns, x->name, ev->attr,
							      ev->entity.source);
		const char *key = tu_arena_printf(&f->arena, "value.%s", ev->label);
		tu__add_detail(f, v, key,
			       tu_arena_printf(&f->arena, "%s (%s)",
					       x->val == NULL    ? "(missing)"
					       : *x->val == '\0' ? "(empty)"
								 : x->val,
					       where));
		if (x->val != NULL)
			tu__tctx_set(f, &v->tctx, key, x->val);
		if (x->val == NULL || *x->val == '\0')
			continue;
		tu_buf_printf(&why, "%s%s=%s (%s)", why.len ? ", " : "", ev->label, x->val, where);
	}
	if (!differ) {
		v->state = TU__HOLDS;
		v->reason = tu_arena_printf(&f->arena, "%s %s/%s: values agree: %s", ref->kind,
					    ref->namespace_, ref->name, tu_buf_cstr(&why));
	} else {
		v->state = TU__VIOLATED;
		v->reason =
		    tu_arena_printf(&f->arena, "%s %s/%s: values disagree%s%s%s: %s", ref->kind,
				    ref->namespace_, ref->name, bad ? " (cannot compare " : "",
				    bad ? bad : "", bad ? ")" : "", tu_buf_cstr(&why));
		tu__add_actions(v, &eq->fix, 0);
		tu__add_confirm(v, eq->source);
	}
	tu_buf_release(&why);
	return tu__drift_apply(f, r, ref, v, trig);
}
