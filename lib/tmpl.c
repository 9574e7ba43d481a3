/*
 * tmpl.c - template rendering (see tmpl.h).
 * Single pass; placeholders are parsed in place, values are written straight
 * to the output buffer through a scratch buffer for filters.
 */
#include "tmpl.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "http.h"

enum filter_kind {
	F_TRIMPREFIX,
	F_TRIMSUFFIX,
	F_AFTERFIRST,
	F_AFTERLAST,
	F_BEFOREFIRST,
	F_BEFORELAST,
	F_LOWER,
	F_UPPER,
	F_DEFAULT,
	F_JSON,
	F_URLESCAPE,
	F_INVALID,
};

static const struct {
	const char *name;
	enum filter_kind kind;
	bool needs_arg;
} filters[] = {
	{ "trimprefix", F_TRIMPREFIX, true },   { "trimsuffix", F_TRIMSUFFIX, true },
	{ "afterfirst", F_AFTERFIRST, true },   { "afterlast", F_AFTERLAST, true },
	{ "beforefirst", F_BEFOREFIRST, true }, { "beforelast", F_BEFORELAST, true },
	{ "lower", F_LOWER, false },            { "upper", F_UPPER, false },
	{ "default", F_DEFAULT, true },         { "json", F_JSON, false },
	{ "urlescape", F_URLESCAPE, false },
};

static enum filter_kind filter_lookup(const char *name, size_t n, bool *needs_arg)
{
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		if (strlen(filters[i].name) == n && memcmp(filters[i].name, name, n) == 0) {
			*needs_arg = filters[i].needs_arg;
			return filters[i].kind;
		}
	}
	return F_INVALID;
}

/* A parsed filter: name and argument as slices of the template. */
struct filter {
	enum filter_kind kind;
	const char *arg; /* NULL if none */
	size_t arg_len;
};

#define MAX_FILTERS 8

/* A parsed placeholder: [start, end) excludes the braces. */
struct placeholder {
	const char *var;
	size_t var_len;
	struct filter f[MAX_FILTERS];
	int nf;
};

static tu_status parse_placeholder(const char *start, const char *end, struct placeholder *ph,
				   char *err, size_t errlen)
{
	const char *p = start;
	const char *bar = memchr(p, '|', (size_t)(end - p));
	const char *var_end = bar ? bar : end;
	ph->var = p;
	ph->var_len = (size_t)(var_end - p);
	ph->nf = 0;
	if (ph->var_len == 0) {
		snprintf(err, errlen, "empty variable in '{%.*s}'", (int)(end - start), start);
		return TU_EINVAL;
	}
	p = var_end;
	while (p < end) {
		p++; /* skip '|' */
		const char *fend = memchr(p, '|', (size_t)(end - p));
		if (fend == NULL)
			fend = end;
		const char *colon = memchr(p, ':', (size_t)(fend - p));
		const char *name_end = colon ? colon : fend;
		bool needs_arg = false;
		enum filter_kind k = filter_lookup(p, (size_t)(name_end - p), &needs_arg);
		if (k == F_INVALID) {
			snprintf(err, errlen, "unknown filter '%.*s' in '{%.*s}'", (int)(name_end - p), p,
				 (int)(end - start), start);
			return TU_EINVAL;
		}
		if (needs_arg && colon == NULL) {
			snprintf(err, errlen, "filter '%.*s' needs an argument (e.g. %.*s:x) in '{%.*s}'",
				 (int)(name_end - p), p, (int)(name_end - p), p, (int)(end - start), start);
			return TU_EINVAL;
		}
		if (!needs_arg && colon != NULL) {
			snprintf(err, errlen, "filter '%.*s' takes no argument in '{%.*s}'",
				 (int)(name_end - p), p, (int)(end - start), start);
			return TU_EINVAL;
		}
		if (ph->nf == MAX_FILTERS) {
			snprintf(err, errlen, "more than %d filters in '{%.*s}'", MAX_FILTERS,
				 (int)(end - start), start);
			return TU_EINVAL;
		}
		if (ph->nf > 0 && ph->f[ph->nf - 1].kind == F_JSON) {
			snprintf(err, errlen, "filter 'json' must be the last in '{%.*s}'",
				 (int)(end - start), start);
			return TU_EINVAL;
		}
		struct filter *f = &ph->f[ph->nf++];
		f->kind = k;
		f->arg = colon ? colon + 1 : NULL;
		f->arg_len = colon ? (size_t)(fend - colon - 1) : 0;
		p = fend;
	}
	return TU_OK;
}

/* Finds the next placeholder or escaped brace; calls back for text runs. */
typedef tu_status (*visit_text)(void *ctx, const char *s, size_t n);
typedef tu_status (*visit_ph)(void *ctx, const struct placeholder *ph);

static tu_status walk(const char *tmpl, visit_text on_text, visit_ph on_ph, void *ctx, char *err,
		      size_t errlen)
{
	const char *p = tmpl;
	tu_status st = TU_OK;
	while (*p != '\0' && st == TU_OK) {
		if (p[0] == '{' && p[1] == '{') {
			st = on_text(ctx, "{", 1);
			p += 2;
		} else if (p[0] == '}' && p[1] == '}') {
			st = on_text(ctx, "}", 1);
			p += 2;
		} else if (p[0] == '}') {
			snprintf(err, errlen, "unmatched '}' at offset %zu of '%s'", (size_t)(p - tmpl),
				 tmpl);
			return TU_EINVAL;
		} else if (p[0] == '{') {
			const char *close = strchr(p + 1, '}');
			const char *open = strchr(p + 1, '{');
			if (close == NULL || (open != NULL && open < close)) {
				snprintf(err, errlen, "unclosed '{' at offset %zu of '%s'",
					 (size_t)(p - tmpl), tmpl);
				return TU_EINVAL;
			}
			struct placeholder ph;
			st = parse_placeholder(p + 1, close, &ph, err, errlen);
			if (st == TU_OK)
				st = on_ph(ctx, &ph);
			p = close + 1;
		} else {
			size_t n = strcspn(p, "{}");
			st = on_text(ctx, p, n);
			p += n;
		}
	}
	return st;
}

static tu_status check_text(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	(void)s;
	(void)n;
	return TU_OK;
}

static tu_status check_ph(void *ctx, const struct placeholder *ph)
{
	bool *has = ctx;
	(void)ph;
	if (has != NULL)
		*has = true;
	return TU_OK;
}

tu_status tu_tmpl_check(const char *tmpl, char *err, size_t errlen)
{
	return walk(tmpl, check_text, check_ph, NULL, err, errlen);
}

/* What tu_tmpl_placeholders_end_with() looks for, and the first placeholder without it. */
struct ends_ctx {
	enum filter_kind last; /* the filter every placeholder must end with */
	const char *name;      /* its name */
	char *err;             /* the caller's message buffer */
	size_t errlen;
};

static tu_status ends_ph(void *ctx, const struct placeholder *ph)
{
	struct ends_ctx *ec = ctx;
	if (ph->nf > 0 && ph->f[ph->nf - 1].kind == ec->last)
		return TU_OK;
	snprintf(ec->err, ec->errlen, "placeholder {%.*s} does not end with |%s",
		 (int)(ph->var_len > 64 ? 64 : ph->var_len), ph->var, ec->name);
	return TU_ECONFLICT;
}

tu_status tu_tmpl_placeholders_end_with(const char *tmpl, const char *filter, char *err,
					size_t errlen)
{
	bool needs_arg = false;
	struct ends_ctx ec = { filter_lookup(filter, strlen(filter), &needs_arg), filter, err,
			       errlen };
	if (ec.last == F_INVALID) {
		snprintf(err, errlen, "unknown filter '%s'", filter);
		return TU_EINVAL;
	}
	return walk(tmpl, check_text, ends_ph, &ec, err, errlen);
}

/* Appends s as the inside of a JSON string literal: quotes, backslashes, controls escaped. */
static tu_status append_json(struct tu_buf *out, const char *s, size_t n)
{
	tu_status st = TU_OK;
	char esc[8];
	for (size_t i = 0; i < n && st == TU_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			st = tu_buf_append(out, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			st = tu_buf_append(out, esc, 6);
		} else {
			st = tu_buf_append(out, s + i, 1);
		}
	}
	return st;
}

bool tu_tmpl_is_literal(const char *tmpl)
{
	bool has = false;
	char err[8];
	if (walk(tmpl, check_text, check_ph, &has, err, sizeof(err)) != TU_OK)
		return false;
	return !has;
}

struct render_ctx {
	tu_tmpl_lookup lookup;
	void *lctx;
	struct tu_buf *out;
	char *err;
	size_t errlen;
};

static tu_status render_text(void *ctx, const char *s, size_t n)
{
	struct render_ctx *rc = ctx;
	return tu_buf_append(rc->out, s, n);
}

static const char *find_first(const char *s, size_t n, const char *pat, size_t pn)
{
	if (pn == 0 || pn > n)
		return NULL;
	for (size_t i = 0; i + pn <= n; i++)
		if (memcmp(s + i, pat, pn) == 0)
			return s + i;
	return NULL;
}

static const char *find_last(const char *s, size_t n, const char *pat, size_t pn)
{
	if (pn == 0 || pn > n)
		return NULL;
	for (size_t i = n - pn + 1; i-- > 0;)
		if (memcmp(s + i, pat, pn) == 0)
			return s + i;
	return NULL;
}

/* Replaces tmp's value [off, off+n) by its percent-encoding (tu_http_escape). */
static tu_status url_escape(struct tu_buf *tmp, size_t *off, size_t *n)
{
	struct tu_buf raw, esc;
	tu_buf_init(&raw, TU_MAX_TEMPLATE_OUT);
	tu_buf_init(&esc, TU_MAX_TEMPLATE_OUT);
	tu_status st = tu_buf_append(&raw, tmp->data ? tmp->data + *off : "", *n);
	if (st == TU_OK && strlen(tu_buf_cstr(&raw)) != raw.len)
		st = TU_EINVAL; /* a NUL byte: no URL can carry it as text */
	if (st == TU_OK)
		st = tu_http_escape(tu_buf_cstr(&raw), &esc);
	if (st == TU_OK) {
		tu_buf_reset(tmp);
		st = tu_buf_append(tmp, esc.data ? esc.data : "", esc.len);
		*off = 0;
		*n = tmp->len;
	}
	tu_buf_release(&raw);
	tu_buf_release(&esc);
	return st;
}

static tu_status render_ph(void *ctx, const struct placeholder *ph)
{
	struct render_ctx *rc = ctx;
	const char *val = NULL;
	size_t len = 0;
	bool found = rc->lookup(rc->lctx, ph->var, ph->var_len, &val, &len);
	if (!found) {
		val = NULL;
		len = 0;
	}
	/* Work on a private copy: filters only shrink or case-map the value. */
	struct tu_buf tmp;
	tu_buf_init(&tmp, TU_MAX_TEMPLATE_OUT);
	tu_status st = TU_OK;
	if (val != NULL)
		st = tu_buf_append(&tmp, val, len);
	size_t off = 0; /* start of the current value within tmp */
	size_t n = tmp.len;
	bool json = false; /* escape the result for a JSON string (the last filter) */
	for (int i = 0; st == TU_OK && i < ph->nf; i++) {
		const struct filter *f = &ph->f[i];
		const char *s = tmp.data ? tmp.data + off : "";
		const char *hit;
		switch (f->kind) {
		case F_DEFAULT:
			if (!found || n == 0) {
				tu_buf_reset(&tmp);
				st = tu_buf_append(&tmp, f->arg, f->arg_len);
				off = 0;
				n = tmp.len;
				found = true;
			}
			break;
		case F_TRIMPREFIX:
			if (n >= f->arg_len && memcmp(s, f->arg, f->arg_len) == 0) {
				off += f->arg_len;
				n -= f->arg_len;
			}
			break;
		case F_TRIMSUFFIX:
			if (n >= f->arg_len && memcmp(s + n - f->arg_len, f->arg, f->arg_len) == 0)
				n -= f->arg_len;
			break;
		case F_AFTERFIRST:
		case F_AFTERLAST:
			hit = f->kind == F_AFTERFIRST ? find_first(s, n, f->arg, f->arg_len)
						      : find_last(s, n, f->arg, f->arg_len);
			if (hit != NULL) {
				size_t skip = (size_t)(hit - s) + f->arg_len;
				off += skip;
				n -= skip;
			}
			break;
		case F_BEFOREFIRST:
		case F_BEFORELAST:
			hit = f->kind == F_BEFOREFIRST ? find_first(s, n, f->arg, f->arg_len)
						       : find_last(s, n, f->arg, f->arg_len);
			if (hit != NULL)
				n = (size_t)(hit - s);
			break;
		case F_LOWER:
		case F_UPPER:
			for (size_t j = 0; j < n; j++) {
				char *c = tmp.data + off + j;
				*c = (char)(f->kind == F_LOWER ? tolower((unsigned char)*c)
							       : toupper((unsigned char)*c));
			}
			break;
		case F_URLESCAPE:
			st = url_escape(&tmp, &off, &n);
			if (st == TU_EINVAL)
				snprintf(rc->err, rc->errlen,
					 "'{%.*s}' cannot be one URL segment (a NUL byte, or . or ..)",
					 (int)ph->var_len, ph->var);
			break;
		case F_JSON:
			json = true;
			break;
		case F_INVALID:
			st = TU_EINVAL;
			break;
		}
	}
	if (st == TU_OK && !found) {
		snprintf(rc->err, rc->errlen, "no value for '%.*s'", (int)ph->var_len, ph->var);
		st = TU_ENOTFOUND;
	}
	if (st == TU_OK && n > 0)
		st = json ? append_json(rc->out, tmp.data + off, n)
			  : tu_buf_append(rc->out, tmp.data + off, n);
	if (st == TU_ETOOBIG)
		snprintf(rc->err, rc->errlen, "rendering of '{%.*s}' exceeds %d bytes",
			 (int)ph->var_len, ph->var, TU_MAX_TEMPLATE_OUT);
	tu_buf_release(&tmp);
	return st;
}

tu_status tu_tmpl_render(const char *tmpl, tu_tmpl_lookup lookup, void *ctx, struct tu_buf *out,
			 char *err, size_t errlen)
{
	struct render_ctx rc = { lookup, ctx, out, err, errlen };
	return walk(tmpl, render_text, render_ph, &rc, err, errlen);
}
