/*
 * entity_codec_test.c - the view's entity records and the observations
 * (processor/entity_codec.h) against protobuf-c, the codec they replace on
 * the fold's path: the same
 * bytes for random records, the same records decoded, and the same inputs
 * refused (every truncation and random corruptions of valid records, and
 * protobuf-c's own leniencies: a bool of any wire type, unknown fields).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "entity_codec.h"
#include "testmain.h"
#include "trueup/v1/common.pb-c.h"
#include "trueup/v1/observe.pb-c.h"
#include "view.pb-c.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* NULL, "", short and long (a two-byte length prefix) strings, some UTF-8. */
static char *rand_string(struct tu_arena *a)
{
	static const char *fixed[] = { NULL, "", "w-1", "default", "r\xc3\xa9plica", "a-1-12" };
	uint64_t r = next() % 10;
	if (r < 6)
		return (char *)fixed[r];
	size_t n = r == 9 ? 128 + next() % 300 : 1 + next() % 24;
	char *s = tu_arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + next() % 26);
	return s;
}

static uint64_t rand_u64(void)
{
	switch (next() % 5) {
	case 0: return 0;
	case 1: return next() % 128;
	case 2: return next() % 100000;
	case 3: return 1ULL << 63 | next();
	default: return next();
	}
}

static int64_t rand_i64(void)
{
	int64_t v = (int64_t)(rand_u64() >> 1);
	return next() % 4 == 0 ? -v : v;
}

static Trueup__View__Entity *rand_entity(struct tu_arena *a)
{
	Trueup__View__Entity *e = tu_arena_alloc(a, sizeof(*e));
	trueup__view__entity__init(e);
	if (next() % 8 != 0) {
		e->ref = tu_arena_alloc(a, sizeof(*e->ref));
		trueup__v1__entity_ref__init(e->ref);
		e->ref->kind = rand_string(a);
		e->ref->namespace_ = rand_string(a);
		e->ref->name = rand_string(a);
	}
	e->n_sources = next() % 5;
	e->sources = tu_arena_alloc(a, (e->n_sources + 1) * sizeof(*e->sources));
	for (size_t i = 0; i < e->n_sources; i++) {
		Trueup__View__SourceState *s = tu_arena_alloc(a, sizeof(*s));
		trueup__view__source_state__init(s);
		s->source = rand_string(a);
		s->present = next() % 2;
		s->n_attrs = next() % 6;
		s->attrs = tu_arena_alloc(a, (s->n_attrs + 1) * sizeof(*s->attrs));
		for (size_t j = 0; j < s->n_attrs; j++) {
			Trueup__V1__Attr *at = tu_arena_alloc(a, sizeof(*at));
			trueup__v1__attr__init(at);
			at->key = rand_string(a);
			at->value = rand_string(a);
			s->attrs[j] = at;
		}
		s->scan_id = rand_string(a);
		s->first_seq = rand_u64();
		s->first_ns = rand_i64();
		s->last_seq = rand_u64();
		s->last_ns = rand_i64();
		s->changed_seq = rand_u64();
		s->changed_ns = rand_i64();
		s->expires_ns = rand_i64();
		s->expired = next() % 3 == 0;
		e->sources[i] = s;
	}
	return e;
}

/* Our encoding of e into the arena; *n its length. */
static uint8_t *encode(struct tu_arena *a, const Trueup__View__Entity *e, size_t *n)
{
	*n = tu_entity_size(e);
	uint8_t *b = tu_arena_alloc(a, *n + 1);
	tu_entity_encode(e, b);
	return b;
}

static void assert_no_null_strings(const Trueup__View__Entity *e)
{
	if (e->ref != NULL) {
		assert_non_null(e->ref->kind);
		assert_non_null(e->ref->namespace_);
		assert_non_null(e->ref->name);
	}
	for (size_t i = 0; i < e->n_sources; i++) {
		assert_non_null(e->sources[i]->source);
		assert_non_null(e->sources[i]->scan_id);
		for (size_t j = 0; j < e->sources[i]->n_attrs; j++) {
			assert_non_null(e->sources[i]->attrs[j]->key);
			assert_non_null(e->sources[i]->attrs[j]->value);
		}
	}
}

static void encodes_as_protobuf_c(void **state)
{
	(void)state;
	struct tu_arena a;
	tu_arena_init(&a, 64 * 1024);
	for (int i = 0; i < 5000; i++) {
		tu_arena_reset(&a);
		Trueup__View__Entity *e = rand_entity(&a);
		size_t n = 0;
		uint8_t *ours = encode(&a, e, &n);
		assert_int_equal(n, protobuf_c_message_get_packed_size(&e->base));
		uint8_t *theirs = tu_arena_alloc(&a, n + 1);
		assert_int_equal(protobuf_c_message_pack(&e->base, theirs), n);
		assert_memory_equal(ours, theirs, n);

		/* Decoded by us, packed by protobuf-c: the same bytes again. */
		Trueup__View__Entity *d = tu_entity_decode(&a, ours, n);
		assert_non_null(d);
		assert_no_null_strings(d);
		assert_int_equal(protobuf_c_message_get_packed_size(&d->base), n);
		uint8_t *again = tu_arena_alloc(&a, n + 1);
		protobuf_c_message_pack(&d->base, again);
		assert_memory_equal(again, ours, n);
	}
	tu_arena_release(&a);
}

static void decode_both(struct tu_arena *a, const uint8_t *buf, size_t n, int *accepted);

/* Varints of every length (1..10 bytes, the edges of each) come back as they were. */
static void varints_of_every_length(void **state)
{
	(void)state;
	struct tu_arena a;
	tu_arena_init(&a, 4096);
	for (int bits = 0; bits <= 64; bits++) {
		uint64_t edge = bits == 64 ? UINT64_MAX : (1ULL << bits);
		for (int d = -1; d <= 1; d++) {
			tu_arena_reset(&a);
			uint64_t v = edge + (uint64_t)(int64_t)d;
			Trueup__View__SourceState s = TRUEUP__VIEW__SOURCE_STATE__INIT, *sp = &s;
			Trueup__View__Entity e = TRUEUP__VIEW__ENTITY__INIT;
			s.source = "a";
			s.first_seq = v;
			s.last_ns = (int64_t)v;
			s.changed_seq = 1; /* a 1-byte varint after it */
			e.sources = &sp;
			e.n_sources = 1;
			size_t n = 0;
			uint8_t *b = encode(&a, &e, &n);
			Trueup__View__Entity *d2 = tu_entity_decode(&a, b, n);
			assert_non_null(d2);
			assert_int_equal(d2->sources[0]->first_seq, v);
			assert_int_equal(d2->sources[0]->last_ns, (int64_t)v);
			assert_int_equal(d2->sources[0]->changed_seq, 1);
			int accepted = 0;
			for (size_t cut = 0; cut <= n; cut++)
				decode_both(&a, b, cut, &accepted);
		}
	}
	tu_arena_release(&a);
}

/* Both decoders on buf: both refuse it, or both decode the same record. */
static void decode_both(struct tu_arena *a, const uint8_t *buf, size_t n, int *accepted)
{
	Trueup__View__Entity *ours = tu_entity_decode(a, buf, n);
	Trueup__View__Entity *theirs = trueup__view__entity__unpack(NULL, n, buf);
	if ((ours == NULL) != (theirs == NULL)) {
		fprintf(stderr, "entity_codec: %s, protobuf-c %s, %zu bytes:", ours ? "accepted" : "refused",
			theirs ? "accepted" : "refused", n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %02x", buf[i]);
		fprintf(stderr, "\n");
		fail();
	}
	if (ours != NULL) {
		/* Compared through our encoder, which leaves out the unknown fields protobuf-c keeps. */
		size_t on = 0, tn = 0;
		uint8_t *ob = encode(a, ours, &on), *tb = encode(a, theirs, &tn);
		assert_int_equal(on, tn);
		assert_memory_equal(ob, tb, on);
		assert_no_null_strings(ours);
		(*accepted)++;
	}
	if (theirs != NULL)
		trueup__view__entity__free_unpacked(theirs, NULL);
}

static void decodes_like_protobuf_c(void **state)
{
	(void)state;
	struct tu_arena a;
	tu_arena_init(&a, 64 * 1024);
	int accepted = 0, inputs = 0;
	for (int i = 0; i < 300; i++) {
		tu_arena_reset(&a);
		size_t n = 0;
		uint8_t *valid = encode(&a, rand_entity(&a), &n);
		for (size_t cut = 0; cut <= n; cut++, inputs++)
			decode_both(&a, valid, cut, &accepted);
		uint8_t *m = tu_arena_alloc(&a, n + 1);
		for (int j = 0; j < 200 && n > 0; j++, inputs++) {
			memcpy(m, valid, n);
			size_t at = next() % n;
			switch (next() % 3) {
			case 0: m[at] ^= (uint8_t)(1u << next() % 8); break;
			case 1: m[at] = (uint8_t)next(); break;
			default: m[at] = (uint8_t)(next() % 2 ? 0x80 : 0x00); break;
			}
			decode_both(&a, m, n, &accepted);
		}
	}
	printf("entity_codec: %d inputs, %d accepted by both, the rest refused by both\n", inputs,
	       accepted);
	assert_true(accepted > 0 && accepted < inputs);
	tu_arena_release(&a);
}

static void refuses_malformed(void **state)
{
	(void)state;
	struct tu_arena a;
	tu_arena_init(&a, 4096);
	static const struct {
		const char *what;
		const char *bytes;
		size_t n;
	} bad[] = {
		{ "field number 0", "\x02\x00", 2 },
		{ "sources as a varint", "\x10\x01", 2 },
		{ "ref as a varint", "\x08\x01", 2 },
		{ "a length past the end", "\x12\x05\x0a\x01", 4 },
		{ "a group", "\x1b", 1 },
		{ "a varint that does not end", "\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12 },
		{ "SourceState.source as a varint", "\x12\x02\x08\x01", 4 },
		{ "Attr.key as a fixed32", "\x12\x07\x1a\x05\x0d\x01\x02\x03\x04", 9 },
	};
	int accepted = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const uint8_t *b = (const uint8_t *)bad[i].bytes;
		if (tu_entity_decode(&a, b, bad[i].n) != NULL)
			fail_msg("accepted %s", bad[i].what);
		decode_both(&a, b, bad[i].n, &accepted); /* and protobuf-c refuses it too */
	}
	/* Empty is an empty record, also as NULL (found by fuzz_fold: an empty event body);
	 * unknown fields of every wire type are skipped. */
	Trueup__View__Entity *e = tu_entity_decode(&a, (const uint8_t *)"", 0);
	assert_non_null(e);
	assert_null(e->ref);
	assert_int_equal(e->n_sources, 0);
	assert_non_null(tu_entity_decode(&a, NULL, 0));
	Trueup__V1__ObservedState *o = tu_observed_decode(&a, NULL, 0);
	assert_non_null(o);
	assert_string_equal(o->source, "");
	const uint8_t unknown[] = { 0x18, 0x07, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2a, 0x01, 'x',
				    0x35, 1, 2, 3, 4, 0x12, 0x03, 0x0a, 0x01, 'a' };
	e = tu_entity_decode(&a, unknown, sizeof(unknown));
	assert_non_null(e);
	assert_int_equal(e->n_sources, 1);
	assert_string_equal(e->sources[0]->source, "a");
	decode_both(&a, unknown, sizeof(unknown), &accepted);
	/* protobuf-c takes a bool of any wire type (true if any value bit is set): so do we. */
	e = tu_entity_decode(&a, (const uint8_t *)"\x12\x03\x12\x01\x01", 5);
	assert_non_null(e);
	assert_true(e->sources[0]->present);
	decode_both(&a, (const uint8_t *)"\x12\x03\x12\x01\x01", 5, &accepted);
	tu_arena_release(&a);
}

static Trueup__V1__ObservedState *rand_observed(struct tu_arena *a)
{
	Trueup__V1__ObservedState *o = tu_arena_alloc(a, sizeof(*o));
	trueup__v1__observed_state__init(o);
	o->source = rand_string(a);
	o->scan_id = rand_string(a);
	/* An entity and attributes: those of a random record. */
	Trueup__View__Entity *e = rand_entity(a);
	o->entity = e->ref;
	if (e->n_sources > 0) {
		o->attrs = e->sources[0]->attrs;
		o->n_attrs = e->sources[0]->n_attrs;
	}
	o->deleted = next() % 4 == 0;
	o->observed_at_ns = rand_i64();
	o->digest = rand_string(a);
	return o;
}

static bool str_eq(const char *x, const char *y)
{
	assert_non_null(x); /* absent strings decode as "" */
	assert_non_null(y);
	return strcmp(x, y) == 0;
}

static bool observed_equal(const Trueup__V1__ObservedState *x, const Trueup__V1__ObservedState *y)
{
	if (!str_eq(x->source, y->source) || !str_eq(x->scan_id, y->scan_id) ||
	    !str_eq(x->digest, y->digest) || x->deleted != y->deleted ||
	    x->observed_at_ns != y->observed_at_ns || x->n_attrs != y->n_attrs ||
	    (x->entity == NULL) != (y->entity == NULL))
		return false;
	if (x->entity != NULL &&
	    (!str_eq(x->entity->kind, y->entity->kind) ||
	     !str_eq(x->entity->namespace_, y->entity->namespace_) ||
	     !str_eq(x->entity->name, y->entity->name)))
		return false;
	for (size_t i = 0; i < x->n_attrs; i++)
		if (!str_eq(x->attrs[i]->key, y->attrs[i]->key) ||
		    !str_eq(x->attrs[i]->value, y->attrs[i]->value))
			return false;
	return true;
}

/* Both decoders on an observation: both refuse it, or both read the same. */
static void observed_both(struct tu_arena *a, const uint8_t *buf, size_t n, int *accepted)
{
	Trueup__V1__ObservedState *ours = tu_observed_decode(a, buf, n);
	Trueup__V1__ObservedState *theirs = trueup__v1__observed_state__unpack(NULL, n, buf);
	if ((ours == NULL) != (theirs == NULL))
		fail_msg("observation of %zu bytes: %s, protobuf-c %s", n,
			 ours ? "accepted" : "refused", theirs ? "accepted" : "refused");
	if (ours != NULL) {
		assert_true(observed_equal(ours, theirs));
		(*accepted)++;
	}
	if (theirs != NULL)
		trueup__v1__observed_state__free_unpacked(theirs, NULL);
}

static void observations_decode_like_protobuf_c(void **state)
{
	(void)state;
	struct tu_arena a;
	tu_arena_init(&a, 64 * 1024);
	int accepted = 0, inputs = 0;
	for (int i = 0; i < 1000; i++) {
		tu_arena_reset(&a);
		Trueup__V1__ObservedState *o = rand_observed(&a);
		size_t n = protobuf_c_message_get_packed_size(&o->base);
		uint8_t *valid = tu_arena_alloc(&a, n + 1);
		protobuf_c_message_pack(&o->base, valid);
		Trueup__V1__ObservedState *d = tu_observed_decode(&a, valid, n);
		assert_non_null(d);
		/* What protobuf-c packed comes back as it was (NULL strings as ""). */
		size_t again = protobuf_c_message_get_packed_size(&d->base);
		assert_int_equal(again, n);
		uint8_t *b = tu_arena_alloc(&a, n + 1);
		protobuf_c_message_pack(&d->base, b);
		assert_memory_equal(b, valid, n);
		for (size_t cut = 0; cut <= n; cut += 1 + n / 64, inputs++)
			observed_both(&a, valid, cut, &accepted);
		uint8_t *m = tu_arena_alloc(&a, n + 1);
		for (int j = 0; j < 100 && n > 0; j++, inputs++) {
			memcpy(m, valid, n);
			m[next() % n] ^= (uint8_t)(1u << next() % 8);
			observed_both(&a, m, n, &accepted);
		}
	}
	printf("observations: %d inputs, %d accepted by both, the rest refused by both\n", inputs,
	       accepted);
	assert_true(accepted > 0 && accepted < inputs);
	tu_arena_release(&a);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(encodes_as_protobuf_c),
	cmocka_unit_test(decodes_like_protobuf_c),
	cmocka_unit_test(varints_of_every_length),
	cmocka_unit_test(refuses_malformed),
	cmocka_unit_test(observations_decode_like_protobuf_c),
};
TU_TEST_MAIN(tests)
