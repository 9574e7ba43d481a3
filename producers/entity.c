/*
 * entity.c - checks, keys and digests of observed entities (see entity.h).
 * Workload: once per entity per scan; the digest touches every attribute
 * byte once.
 */
#include "entity.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"

tu_status tu_entity_sort_attrs(Trueup__V1__Attr **attrs, size_t n, char *why, size_t whylen)
{
	tu_pb_attrs_sort(attrs, n);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(attrs[i - 1]->key, attrs[i]->key) == 0) {
			snprintf(why, whylen, "attribute '%.*s' given twice", TU_MAX_KIND * 2,
				 attrs[i]->key);
			return TU_EINVAL;
		}
	}
	return TU_OK;
}

/* Checks one identity field: present, bounded, text. */
static tu_status check_ident(const char *field, const char *v, char *why, size_t whylen)
{
	if (v == NULL || *v == '\0') {
		snprintf(why, whylen, "%s is empty", field);
		return TU_EINVAL;
	}
	size_t len = strlen(v);
	if (len > TU_MAX_NAME) {
		snprintf(why, whylen, "%s is %zu bytes, over TU_MAX_NAME (%d)", field, len,
			 TU_MAX_NAME);
		return TU_ETOOBIG;
	}
	if (!tu_text_valid(v, len)) {
		snprintf(why, whylen, "%s is not valid UTF-8", field);
		return TU_EINVAL;
	}
	return TU_OK;
}

tu_status tu_entity_check(const struct tu_entity *e, char *why, size_t whylen)
{
	tu_status st;
	if (!tu_name_valid(e->kind)) {
		snprintf(why, whylen, "kind '%.*s' is not a valid name ([a-z0-9][a-z0-9_-]*, at "
			 "most %d bytes)", TU_MAX_KIND * 2, e->kind ? e->kind : "", TU_MAX_KIND);
		return TU_EINVAL;
	}
	st = check_ident("namespace", e->ns, why, whylen);
	if (st == TU_OK)
		st = check_ident("name", e->name, why, whylen);
	if (st != TU_OK)
		return st;
	if (e->n_attrs > TU_MAX_ATTRS) {
		snprintf(why, whylen, "%zu attributes, over TU_MAX_ATTRS (%d)", e->n_attrs,
			 TU_MAX_ATTRS);
		return TU_ETOOBIG;
	}
	for (size_t i = 0; i < e->n_attrs; i++) {
		const Trueup__V1__Attr *at = e->attrs[i];
		size_t klen = strlen(at->key);
		size_t vlen = strlen(at->value);
		if (klen == 0) {
			snprintf(why, whylen, "attribute with an empty key");
			return TU_EINVAL;
		}
		if (klen > TU_MAX_ATTR_KEY) {
			snprintf(why, whylen, "attribute key '%.64s...' is %zu bytes, over "
				 "TU_MAX_ATTR_KEY (%d)", at->key, klen, TU_MAX_ATTR_KEY);
			return TU_ETOOBIG;
		}
		if (vlen > TU_MAX_ATTR_VALUE) {
			snprintf(why, whylen, "attribute '%s' value is %zu bytes, over "
				 "TU_MAX_ATTR_VALUE (%d)", at->key, vlen, TU_MAX_ATTR_VALUE);
			return TU_ETOOBIG;
		}
		if (!tu_text_valid(at->key, klen) || !tu_text_valid(at->value, vlen)) {
			snprintf(why, whylen, "attribute '%s' is not valid UTF-8", at->key);
			return TU_EINVAL;
		}
		if (i > 0 && strcmp(e->attrs[i - 1]->key, at->key) >= 0) {
			snprintf(why, whylen, "attributes not sorted or '%s' given twice", at->key);
			return TU_EINVAL;
		}
	}
	return TU_OK;
}

char *tu_entity_key(struct tu_arena *a, const char *kind, const char *ns, const char *name,
		    size_t *len)
{
	size_t lk = strlen(kind), ln = strlen(ns), lm = strlen(name);
	char *k = tu_arena_alloc(a, lk + ln + lm + 3);
	memcpy(k, kind, lk);
	memcpy(k + lk + 1, ns, ln);
	memcpy(k + lk + ln + 2, name, lm);
	*len = lk + ln + lm + 2;
	return k;
}

bool tu_entity_key_split(struct tu_arena *a, const char *key, size_t len, const char **kind,
			 const char **ns, const char **name)
{
	const char *z1 = memchr(key, '\0', len);
	if (z1 == NULL)
		return false;
	const char *z2 = memchr(z1 + 1, '\0', len - (size_t)(z1 + 1 - key));
	if (z2 == NULL)
		return false;
	*kind = tu_arena_strndup(a, key, (size_t)(z1 - key));
	*ns = tu_arena_strndup(a, z1 + 1, (size_t)(z2 - z1 - 1));
	*name = tu_arena_strndup(a, z2 + 1, len - (size_t)(z2 + 1 - key));
	return true;
}

void tu_entity_digest(struct tu_arena *a, Trueup__V1__Attr *const *attrs, size_t n,
		      char out[TU_ID_SIZE])
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += strlen(attrs[i]->key) + strlen(attrs[i]->value) + 2;
	char *buf = tu_arena_alloc(a, total + 1);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t lk = strlen(attrs[i]->key), lv = strlen(attrs[i]->value);
		memcpy(buf + off, attrs[i]->key, lk + 1);
		off += lk + 1;
		memcpy(buf + off, attrs[i]->value, lv + 1);
		off += lv + 1;
	}
	tu_digest_hex(out, buf, off);
}
