/*
 * entity_codec.c - Entity records without protobuf-c's generic codec (see
 * entity_codec.h). view.proto: Entity { ref = 1; repeated sources = 2 },
 * SourceState { source = 1; present = 2; repeated attrs = 3; scan_id = 4;
 * first_seq = 5; first_ns = 6; last_seq = 7; last_ns = 8; changed_seq = 9;
 * changed_ns = 10; expires_ns = 11; expired = 12 }; common.proto: EntityRef
 * { kind = 1; namespace = 2; name = 3 }, Attr { key = 1; value = 2 };
 * observe.proto: ObservedState { source = 1; scan_id = 2; entity = 3;
 * deleted = 4; repeated attrs = 5; observed_at_ns = 6; digest = 7 }.
 */
#include "entity_codec.h"

#include <string.h>

#include "trueup/v1/common.pb-c.h"
#include "trueup/v1/observe.pb-c.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* ---- reading ---------------------------------------------------------------------- */

/*
 * The 7-bit groups of the first len (1..8) bytes of w, a little-endian load
 * of a varint, joined into one number (continuation bits dropped).
 */
static inline uint64_t varint_join(uint64_t w, size_t len)
{
	if (len < 8)
		w &= (1ULL << (8 * len)) - 1;
	w = ((w & 0x7f007f007f007f00ULL) >> 1) | (w & 0x007f007f007f007fULL);
	w = ((w & 0x3fff00003fff0000ULL) >> 2) | (w & 0x00003fff00003fffULL);
	return ((w & 0x0fffffff00000000ULL) >> 4) | (w & 0x000000000fffffffULL);
}

/*
 * A varint of at most max bytes at p (n left): its length, 0 if malformed.
 * The view's timestamps take 9 bytes: with 8 bytes to read, one load finds
 * the end and joins the groups, instead of a loop over the bytes.
 */
static inline size_t rd_varint(const uint8_t *p, size_t n, size_t max, uint64_t *v)
{
	if (n > 0 && p[0] < 0x80) {
		*v = p[0];
		return 1;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (max == 10 && n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		uint64_t ends = ~w & 0x8080808080808080ULL;
		if (ends != 0) {
			size_t len = (size_t)(__builtin_ctzll(ends) >> 3) + 1;
			*v = varint_join(w, len);
			return len;
		}
		if (n > 8 && p[8] < 0x80) {
			*v = varint_join(w, 8) | (uint64_t)p[8] << 56;
			return 9;
		}
		if (n > 9 && p[8] >= 0x80 && p[9] < 0x80) { /* bits past 64 dropped, as protobuf-c does */
			*v = varint_join(w, 8) | (uint64_t)(p[8] & 0x7f) << 56 | (uint64_t)p[9] << 63;
			return 10;
		}
		return 0;
	}
#endif
	size_t lim = n < max ? n : max;
	uint64_t x = 0;
	for (size_t i = 0; i < lim; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (p[i] < 0x80) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/* The length of the varint at p (n left), at most max bytes; 0 if malformed. */
static inline size_t skip_varint(const uint8_t *p, size_t n, size_t max)
{
	size_t lim = n < max ? n : max;
	for (size_t i = 0; i < lim; i++)
		if (p[i] < 0x80)
			return i + 1;
	return 0;
}

/*
 * Reads the field at *p as protobuf-c does (tags and length prefixes are
 * 32-bit, 5 bytes) and moves *p past it; false if malformed. Varint values
 * are decoded only if values (counting fields needs their ends only).
 */
static inline bool wire_field(const uint8_t **p, const uint8_t *end, struct tu_wire_field *f,
			      bool values)
{
	uint64_t tag = 0, v = 0;
	if (*p >= end || (**p & 0xf8) == 0)
		return false;
	size_t k = rd_varint(*p, (size_t)(end - *p), 5, &tag);
	if (k == 0)
		return false;
	*p += k;
	size_t left = (size_t)(end - *p);
	f->num = (uint32_t)(tag >> 3);
	f->type = (uint32_t)(tag & 7);
	f->raw = *p;
	switch (f->type) {
	case WT_VARINT:
		k = values ? rd_varint(*p, left, 10, &f->value) : skip_varint(*p, left, 10);
		break;
	case WT_I64: k = left < 8 ? 0 : 8; break;
	case WT_I32: k = left < 4 ? 0 : 4; break;
	case WT_LEN:
		k = rd_varint(*p, left, 5, &v);
		if (k == 0 || v > left - k)
			return false;
		f->data = *p + k;
		f->len = (size_t)v;
		k += (size_t)v;
		break;
	default: return false;
	}
	if (k == 0)
		return false;
	f->raw_len = k;
	*p += k;
	return true;
}

bool tu_wire_next(const uint8_t **p, const uint8_t *end, struct tu_wire_field *f)
{
	return wire_field(p, end, f, true);
}

/* How many fields numbered num the message holds; -1 if it is malformed. */
static long count_fields(const uint8_t *buf, size_t len, uint32_t num)
{
	const uint8_t *p = buf, *end = buf + len;
	struct tu_wire_field f;
	long n = 0;
	while (p < end) {
		if (!wire_field(&p, end, &f, false))
			return -1;
		n += f.num == num;
	}
	return n;
}

static bool rd_string(struct tu_arena *a, const struct tu_wire_field *f, char **out)
{
	if (f->type != WT_LEN)
		return false;
	char *s = tu_arena_alloc_raw(a, f->len + 1);
	memcpy(s, f->data, f->len);
	s[f->len] = '\0';
	*out = s;
	return true;
}

static bool rd_u64(const struct tu_wire_field *f, uint64_t *out)
{
	if (f->type != WT_VARINT)
		return false;
	*out = f->value;
	return true;
}

static bool rd_i64(const struct tu_wire_field *f, int64_t *out)
{
	if (f->type != WT_VARINT)
		return false;
	*out = (int64_t)f->value;
	return true;
}

/* protobuf-c takes a bool of any wire type: true if any byte after the tag has a value bit. */
static bool rd_bool(const struct tu_wire_field *f, protobuf_c_boolean *out)
{
	*out = false;
	for (size_t i = 0; i < f->raw_len; i++)
		if (f->raw[i] & 0x7f)
			*out = true;
	return true;
}

/*
 * A message of string fields numbered 1..n (EntityRef, Attr) into slots[0..n-1];
 * other fields are skipped. Fields already set stay unless the bytes set them
 * again: a second EntityRef field merges into the first, as protobuf-c does.
 */
static bool rd_strings(struct tu_arena *a, const uint8_t *buf, size_t len, char **slots[],
		       uint32_t n)
{
	const uint8_t *p = buf, *end = buf + len;
	struct tu_wire_field f;
	while (p < end) {
		if (!wire_field(&p, end, &f, true))
			return false;
		if (f.num >= 1 && f.num <= n && !rd_string(a, &f, slots[f.num - 1]))
			return false;
	}
	return true;
}

static bool rd_ref(struct tu_arena *a, const uint8_t *buf, size_t len, Trueup__V1__EntityRef *r)
{
	char **slots[] = { &r->kind, &r->namespace_, &r->name };
	return rd_strings(a, buf, len, slots, 3);
}

static Trueup__V1__Attr *rd_attr(struct tu_arena *a, const uint8_t *buf, size_t len)
{
	Trueup__V1__Attr *at = tu_arena_alloc_raw(a, sizeof(*at));
	trueup__v1__attr__init(at);
	char **slots[] = { &at->key, &at->value };
	return rd_strings(a, buf, len, slots, 2) ? at : NULL;
}

/* EntityRef as field of a message: merged into *r (allocated on first sight). */
static bool rd_ref_field(struct tu_arena *a, const struct tu_wire_field *f,
			 Trueup__V1__EntityRef **r)
{
	if (f->type != WT_LEN)
		return false;
	if (*r == NULL) {
		*r = tu_arena_alloc_raw(a, sizeof(**r));
		trueup__v1__entity_ref__init(*r);
	}
	return rd_ref(a, f->data, f->len, *r);
}

static bool rd_attr_field(struct tu_arena *a, const struct tu_wire_field *f,
			  Trueup__V1__Attr **attrs, size_t *n)
{
	if (f->type != WT_LEN)
		return false;
	Trueup__V1__Attr *at = rd_attr(a, f->data, f->len);
	if (at == NULL)
		return false;
	attrs[(*n)++] = at;
	return true;
}

/* Hands each field of a message (valid: count_fields read it) to fn; false if fn refuses one. */
typedef bool field_fn(struct tu_arena *a, const struct tu_wire_field *f, void *msg);

static bool rd_fields(struct tu_arena *a, const uint8_t *buf, size_t len, field_fn *fn, void *msg)
{
	const uint8_t *p = buf, *end = buf + len;
	struct tu_wire_field f;
	while (p < end) {
		if (!wire_field(&p, end, &f, true) || !fn(a, &f, msg))
			return false;
	}
	return true;
}

static bool rd_source_field(struct tu_arena *a, const struct tu_wire_field *f, void *msg)
{
	Trueup__View__SourceState *s = msg;
	switch (f->num) {
	case 1: return rd_string(a, f, &s->source);
	case 2: return rd_bool(f, &s->present);
	case 3: return rd_attr_field(a, f, s->attrs, &s->n_attrs);
	case 4: return rd_string(a, f, &s->scan_id);
	case 5: return rd_u64(f, &s->first_seq);
	case 6: return rd_i64(f, &s->first_ns);
	case 7: return rd_u64(f, &s->last_seq);
	case 8: return rd_i64(f, &s->last_ns);
	case 9: return rd_u64(f, &s->changed_seq);
	case 10: return rd_i64(f, &s->changed_ns);
	case 11: return rd_i64(f, &s->expires_ns);
	case 12: return rd_bool(f, &s->expired);
	default: return true; /* unknown: skipped */
	}
}

static Trueup__View__SourceState *rd_source(struct tu_arena *a, const uint8_t *buf, size_t len)
{
	long n = count_fields(buf, len, 3);
	if (n < 0)
		return NULL;
	Trueup__View__SourceState *s = tu_arena_alloc_raw(a, sizeof(*s));
	trueup__view__source_state__init(s);
	if (n > 0)
		s->attrs = tu_arena_alloc_raw(a, (size_t)n * sizeof(*s->attrs));
	return rd_fields(a, buf, len, rd_source_field, s) ? s : NULL;
}

static bool rd_entity_field(struct tu_arena *a, const struct tu_wire_field *f, void *msg)
{
	Trueup__View__Entity *e = msg;
	if (f->num == 1)
		return rd_ref_field(a, f, &e->ref);
	if (f->num != 2)
		return true; /* unknown: skipped */
	if (f->type != WT_LEN)
		return false;
	Trueup__View__SourceState *s = rd_source(a, f->data, f->len);
	if (s == NULL)
		return false;
	e->sources[e->n_sources++] = s;
	return true;
}

/* What an empty message decodes from: an empty body may come as NULL (no offset on NULL). */
static const uint8_t no_bytes[1];

Trueup__View__Entity *tu_entity_decode(struct tu_arena *a, const uint8_t *buf, size_t len)
{
	if (len == 0)
		buf = no_bytes;
	long n = count_fields(buf, len, 2);
	if (n < 0)
		return NULL;
	Trueup__View__Entity *e = tu_arena_alloc_raw(a, sizeof(*e));
	trueup__view__entity__init(e);
	if (n > 0)
		e->sources = tu_arena_alloc_raw(a, (size_t)n * sizeof(*e->sources));
	return rd_fields(a, buf, len, rd_entity_field, e) ? e : NULL;
}

static bool rd_observed_field(struct tu_arena *a, const struct tu_wire_field *f, void *msg)
{
	Trueup__V1__ObservedState *o = msg;
	switch (f->num) {
	case 1: return rd_string(a, f, &o->source);
	case 2: return rd_string(a, f, &o->scan_id);
	case 3: return rd_ref_field(a, f, &o->entity);
	case 4: return rd_bool(f, &o->deleted);
	case 5: return rd_attr_field(a, f, o->attrs, &o->n_attrs);
	case 6: return rd_i64(f, &o->observed_at_ns);
	case 7: return rd_string(a, f, &o->digest);
	default: return true; /* unknown: skipped */
	}
}

Trueup__V1__ObservedState *tu_observed_decode(struct tu_arena *a, const uint8_t *buf, size_t len)
{
	if (len == 0)
		buf = no_bytes;
	long n = count_fields(buf, len, 5);
	if (n < 0)
		return NULL;
	Trueup__V1__ObservedState *o = tu_arena_alloc_raw(a, sizeof(*o));
	trueup__v1__observed_state__init(o);
	if (n > 0)
		o->attrs = tu_arena_alloc_raw(a, (size_t)n * sizeof(*o->attrs));
	return rd_fields(a, buf, len, rd_observed_field, o) ? o : NULL;
}

/* ---- writing ------------------------------------------------------------------------ */

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *wr_varint(uint8_t *o, uint64_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}

/* proto3: empty strings, zero numbers and false are left out. Field numbers < 16. */
static size_t string_size(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	size_t n = strlen(s);
	return 1 + varint_size(n) + n;
}

static uint8_t *wr_string(uint8_t *o, unsigned num, const char *s)
{
	if (s == NULL || *s == '\0')
		return o;
	size_t n = strlen(s);
	*o++ = (uint8_t)(num << 3 | WT_LEN);
	o = wr_varint(o, n);
	memcpy(o, s, n);
	return o + n;
}

static size_t u64_size(uint64_t v)
{
	return v == 0 ? 0 : 1 + varint_size(v);
}

static uint8_t *wr_u64(uint8_t *o, unsigned num, uint64_t v)
{
	if (v == 0)
		return o;
	*o++ = (uint8_t)(num << 3 | WT_VARINT);
	return wr_varint(o, v);
}

static uint8_t *wr_bool(uint8_t *o, unsigned num, protobuf_c_boolean v)
{
	if (!v)
		return o;
	*o++ = (uint8_t)(num << 3 | WT_VARINT);
	*o++ = 1;
	return o;
}

/* A message field of length n: tag and length prefix. */
static size_t nested_size(size_t n)
{
	return 1 + varint_size(n) + n;
}

static uint8_t *wr_nested(uint8_t *o, unsigned num, size_t n)
{
	*o++ = (uint8_t)(num << 3 | WT_LEN);
	return wr_varint(o, n);
}

static size_t ref_size(const Trueup__V1__EntityRef *r)
{
	return string_size(r->kind) + string_size(r->namespace_) + string_size(r->name);
}

static size_t attr_size(const Trueup__V1__Attr *at)
{
	return string_size(at->key) + string_size(at->value);
}

static size_t source_size(const Trueup__View__SourceState *s)
{
	size_t n = string_size(s->source) + (s->present ? 2 : 0) + string_size(s->scan_id);
	for (size_t i = 0; i < s->n_attrs; i++)
		n += nested_size(attr_size(s->attrs[i]));
	n += u64_size(s->first_seq) + u64_size((uint64_t)s->first_ns);
	n += u64_size(s->last_seq) + u64_size((uint64_t)s->last_ns);
	n += u64_size(s->changed_seq) + u64_size((uint64_t)s->changed_ns);
	n += u64_size((uint64_t)s->expires_ns) + (s->expired ? 2 : 0);
	return n;
}

size_t tu_entity_size(const Trueup__View__Entity *e)
{
	size_t n = e->ref != NULL ? nested_size(ref_size(e->ref)) : 0;
	for (size_t i = 0; i < e->n_sources; i++)
		n += nested_size(source_size(e->sources[i]));
	return n;
}

static uint8_t *wr_source(uint8_t *o, const Trueup__View__SourceState *s)
{
	o = wr_string(o, 1, s->source);
	o = wr_bool(o, 2, s->present);
	for (size_t i = 0; i < s->n_attrs; i++) {
		const Trueup__V1__Attr *at = s->attrs[i];
		o = wr_nested(o, 3, attr_size(at));
		o = wr_string(o, 1, at->key);
		o = wr_string(o, 2, at->value);
	}
	o = wr_string(o, 4, s->scan_id);
	o = wr_u64(o, 5, s->first_seq);
	o = wr_u64(o, 6, (uint64_t)s->first_ns);
	o = wr_u64(o, 7, s->last_seq);
	o = wr_u64(o, 8, (uint64_t)s->last_ns);
	o = wr_u64(o, 9, s->changed_seq);
	o = wr_u64(o, 10, (uint64_t)s->changed_ns);
	o = wr_u64(o, 11, (uint64_t)s->expires_ns);
	return wr_bool(o, 12, s->expired);
}

void tu_entity_encode(const Trueup__View__Entity *e, uint8_t *out)
{
	uint8_t *o = out;
	if (e->ref != NULL) {
		o = wr_nested(o, 1, ref_size(e->ref));
		o = wr_string(o, 1, e->ref->kind);
		o = wr_string(o, 2, e->ref->namespace_);
		o = wr_string(o, 3, e->ref->name);
	}
	for (size_t i = 0; i < e->n_sources; i++) {
		o = wr_nested(o, 2, source_size(e->sources[i]));
		o = wr_source(o, e->sources[i]);
	}
}
