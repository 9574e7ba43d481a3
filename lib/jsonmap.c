/* jsonmap.c - JSON paths and JSON-to-entity mapping (see jsonmap.h). */
#include "jsonmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"

/*
 * One step of a path. On success advances *p and sets the member name (for
 * objects) or the index (for arrays); returns false on a syntax error.
 */
struct step {
	bool is_index;
	size_t index;
	const char *key; /* not NUL-terminated: key_len bytes */
	size_t key_len;
};

static bool next_step(const char **p, const char *end, struct step *s)
{
	const char *q = *p;
	if (q < end && *q == '.') {
		q++;
		const char *k = q;
		while (q < end && *q != '.' && *q != '[')
			q++;
		if (q == k)
			return false; /* ".." or a trailing '.' after something */
		s->is_index = false;
		s->key = k;
		s->key_len = (size_t)(q - k);
		*p = q;
		return true;
	}
	if (q < end && *q == '[') {
		q++;
		if (q < end && *q == '"') {
			const char *k = ++q;
			while (q < end && *q != '"')
				q++;
			if (q + 1 >= end || q[1] != ']')
				return false;
			s->is_index = false;
			s->key = k;
			s->key_len = (size_t)(q - k);
			*p = q + 2;
			return true;
		}
		size_t v = 0;
		const char *d = q;
		while (q < end && *q >= '0' && *q <= '9' && q - d < 9)
			v = v * 10 + (size_t)(*q++ - '0');
		if (q == d || q >= end || *q != ']')
			return false;
		s->is_index = true;
		s->index = v;
		*p = q + 1;
		return true;
	}
	return false;
}

tu_status tu_json_path_check(const char *path, char *err, size_t errlen)
{
	size_t n = strlen(path);
	const char *p = path, *end = path + n;
	if (n == 0 || (path[0] != '.' && path[0] != '[')) {
		snprintf(err, errlen, "path \"%s\" must start with '.' or '['", path);
		return TU_EINVAL;
	}
	if (n == 1 && path[0] == '.')
		return TU_OK;
	while (p < end) {
		struct step s;
		if (!next_step(&p, end, &s)) {
			snprintf(err, errlen, "path \"%s\": syntax error at offset %zu", path,
				 (size_t)(p - path));
			return TU_EINVAL;
		}
	}
	return TU_OK;
}

json_t *tu_json_path(json_t *root, const char *path, size_t path_len)
{
	const char *p = path, *end = path + path_len;
	if (path_len == 1 && path[0] == '.')
		return root;
	json_t *cur = root;
	while (cur != NULL && p < end) {
		struct step s;
		if (!next_step(&p, end, &s))
			return NULL;
		if (s.is_index)
			cur = json_is_array(cur) ? json_array_get(cur, s.index) : NULL;
		else
			cur = json_is_object(cur) ? json_object_getn(cur, s.key, s.key_len) : NULL;
	}
	return cur;
}

bool tu_json_scalar(const json_t *v, struct tu_buf *out)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		return tu_buf_append(out, json_string_value(v), json_string_length(v)) == TU_OK;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tu_buf_puts(out, num) == TU_OK;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return tu_buf_puts(out, num) == TU_OK;
	case JSON_TRUE: return tu_buf_puts(out, "true") == TU_OK;
	case JSON_FALSE: return tu_buf_puts(out, "false") == TU_OK;
	case JSON_NULL: return true;
	default: return false;
	}
}

bool tu_json_lookup(void *ctx, const char *var, size_t len, const char **val, size_t *vlen)
{
	struct tu_json_tctx *t = ctx;
	if (len > 0 && (var[0] == '.' || var[0] == '[')) {
		json_t *v = tu_json_path(t->root, var, len);
		if (v == NULL) {
			snprintf(t->why, sizeof(t->why), "no value at %.*s", (int)len, var);
			return false;
		}
		tu_buf_reset(&t->scratch);
		if (!tu_json_scalar(v, &t->scratch)) {
			snprintf(t->why, sizeof(t->why), "%.*s is not a scalar", (int)len, var);
			return false;
		}
		*val = tu_buf_cstr(&t->scratch);
		*vlen = t->scratch.len;
		return true;
	}
	return t->extra != NULL && t->extra(t->extra_ctx, var, len, val, vlen);
}

/* Renders tmpl over t into the arena; NULL with why on failure. */
static const char *render(struct tu_json_tctx *t, const char *tmpl, const char *what,
			  struct tu_arena *a, size_t max, char *why, size_t whylen)
{
	struct tu_buf b;
	char err[256];
	tu_buf_init(&b, max);
	t->why[0] = '\0';
	tu_status st = tu_tmpl_render(tmpl, tu_json_lookup, t, &b, err, sizeof(err));
	const char *out = NULL;
	if (st == TU_ETOOBIG)
		snprintf(why, whylen, "%s: longer than %zu bytes", what, max);
	else if (st != TU_OK)
		snprintf(why, whylen, "%s: %s%s%s%s", what, err, t->why[0] ? " (" : "",
			 t->why, t->why[0] ? ")" : "");
	else
		out = tu_arena_strndup(a, tu_buf_cstr(&b), b.len);
	if (t->why[0] != '\0' && st == TU_OK)
		t->why[0] = '\0';
	tu_buf_release(&b);
	return out;
}

tu_status tu_json_map(const struct tu_json_mapping *m, json_t *obj, tu_tmpl_lookup extra,
		      void *extra_ctx, struct tu_arena *a, struct tu_json_entity *out, char *why,
		      size_t whylen)
{
	struct tu_json_tctx t = { .root = obj, .extra = extra, .extra_ctx = extra_ctx };
	tu_buf_init(&t.scratch, TU_MAX_ATTR_VALUE);
	tu_status st = TU_OK;
	struct tu_json_entity e = { .kind = m->kind };

	if (!json_is_object(obj)) {
		snprintf(why, whylen, "not a JSON object");
		st = TU_EINVAL;
		goto out;
	}
	for (size_t i = 0; i < m->match.n; i++) {
		const struct tu_kv *kv = &m->match.items[i];
		json_t *v = tu_json_path(obj, kv->key, strlen(kv->key));
		struct tu_buf have;
		tu_buf_init(&have, TU_MAX_ATTR_VALUE);
		bool ok = v != NULL && tu_json_scalar(v, &have);
		const char *want = ok ? render(&t, kv->value, "match", a, TU_MAX_ATTR_VALUE, why,
					       whylen)
				      : NULL;
		ok = ok && want != NULL && strcmp(tu_buf_cstr(&have), want) == 0;
		tu_buf_release(&have);
		if (!ok) {
			st = TU_ENOTFOUND;
			goto out;
		}
	}
	e.name = render(&t, m->name, "name", a, TU_MAX_NAME, why, whylen);
	if (e.name == NULL || *e.name == '\0') {
		if (e.name != NULL)
			snprintf(why, whylen, "name: renders empty");
		st = TU_EINVAL;
		goto out;
	}
	if (m->name_prefix != NULL && strncmp(e.name, m->name_prefix, strlen(m->name_prefix)) != 0) {
		st = TU_ENOTFOUND;
		goto out;
	}
	e.ns = render(&t, m->ns != NULL ? m->ns : "default", "namespace", a, TU_MAX_NAMESPACE,
		      why, whylen);
	if (e.ns == NULL || *e.ns == '\0') {
		if (e.ns != NULL)
			snprintf(why, whylen, "namespace: renders empty");
		st = TU_EINVAL;
		goto out;
	}
	if (m->attrs.n > TU_MAX_ATTRS) {
		snprintf(why, whylen, "attrs: more than %d", TU_MAX_ATTRS);
		st = TU_EINVAL;
		goto out;
	}
	e.attrs = tu_arena_alloc(a, (m->attrs.n + 1) * sizeof(*e.attrs));
	for (size_t i = 0; i < m->attrs.n; i++) {
		char what[TU_MAX_ATTR_KEY + 16];
		snprintf(what, sizeof(what), "attrs.%s", m->attrs.items[i].key);
		const char *v = render(&t, m->attrs.items[i].value, what, a, TU_MAX_ATTR_VALUE, why,
				       whylen);
		if (v == NULL) {
			st = TU_EINVAL;
			goto out;
		}
		e.attrs[e.n_attrs++] = tu_pb_attr(a, m->attrs.items[i].key, v);
	}
	tu_pb_attrs_sort(e.attrs, e.n_attrs);
	*out = e;
out:
	tu_buf_release(&t.scratch);
	return st;
}
