/*
 * producer_digests_test.c - the digest table and entity helpers: new,
 * changed, unchanged, repeats within a scan, sweeping what was not seen,
 * and the canonical digest of attrs.
 */
#include "testmain.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "digests.h"
#include "entity.h"
#include "keymap.h"

struct gone {
	char keys[8][64]; /* swept keys, NULs turned into '/' */
	int n;
};

static void collect_gone(void *ctx, const void *key, size_t len)
{
	struct gone *g = ctx;
	char *k = g->keys[g->n++];
	memcpy(k, key, len);
	for (size_t i = 0; i < len; i++)
		if (k[i] == '\0')
			k[i] = '/';
	k[len] = '\0';
}

static void observe_key(tu_digests *d, const char *kind, const char *name, const char *digest,
			enum tu_change want, bool want_repeat)
{
	struct tu_arena a;
	size_t len;
	bool repeat = !want_repeat;
	tu_arena_init(&a, 1024);
	char *k = tu_entity_key(&a, kind, "default", name, &len);
	assert_int_equal(tu_digests_observe(d, k, len, digest, &repeat), want);
	assert_int_equal(repeat, want_repeat);
	tu_arena_release(&a);
}

static void digests_new_changed_same(void **state)
{
	(void)state;
	tu_digests *d = tu_digests_create();
	tu_digests_begin(d);
	observe_key(d, "worker", "w1", "aaa", TU_CHANGE_NEW, false);
	observe_key(d, "worker", "w2", "bbb", TU_CHANGE_NEW, false);
	tu_digests_begin(d);
	observe_key(d, "worker", "w1", "aaa", TU_CHANGE_SAME, false);
	observe_key(d, "worker", "w2", "ccc", TU_CHANGE_CHANGED, false);
	assert_int_equal(tu_digests_count(d), 2);
	tu_digests_destroy(d);
}

static void digests_repeat_in_one_scan(void **state)
{
	(void)state;
	tu_digests *d = tu_digests_create();
	tu_digests_begin(d);
	observe_key(d, "worker", "w1", "aaa", TU_CHANGE_NEW, false);
	observe_key(d, "worker", "w1", "aaa", TU_CHANGE_SAME, true);
	observe_key(d, "worker", "w1", "bbb", TU_CHANGE_CHANGED, true);
	tu_digests_destroy(d);
}

static void digests_sweep_unseen(void **state)
{
	(void)state;
	struct gone g = { 0 };
	tu_digests *d = tu_digests_create();
	tu_digests_begin(d);
	observe_key(d, "worker", "w1", "aaa", TU_CHANGE_NEW, false);
	observe_key(d, "worker", "w2", "bbb", TU_CHANGE_NEW, false);
	observe_key(d, "counter", "w2", "bbb", TU_CHANGE_NEW, false);
	tu_digests_begin(d);
	observe_key(d, "worker", "w1", "aaa", TU_CHANGE_SAME, false);
	tu_digests_sweep(d, collect_gone, &g);
	assert_int_equal(g.n, 2);
	assert_true((strcmp(g.keys[0], "worker/default/w2") == 0 &&
		     strcmp(g.keys[1], "counter/default/w2") == 0) ||
		    (strcmp(g.keys[1], "worker/default/w2") == 0 &&
		     strcmp(g.keys[0], "counter/default/w2") == 0));
	assert_int_equal(tu_digests_count(d), 1);
	/* Gone entities are forgotten: seen again, they are new. */
	tu_digests_begin(d);
	observe_key(d, "worker", "w2", "bbb", TU_CHANGE_NEW, false);
	tu_digests_destroy(d);
}

static void digests_unswept_scan_keeps_entries(void **state)
{
	(void)state;
	struct tu_arena a;
	size_t len;
	tu_arena_init(&a, 1024);
	tu_digests *d = tu_digests_create();
	tu_digests_begin(d);
	observe_key(d, "worker", "w1", "aaa", TU_CHANGE_NEW, false);
	observe_key(d, "worker", "w2", "bbb", TU_CHANGE_NEW, false);
	/* An incomplete scan sees w1 only and does not sweep: w2 keeps its digest. */
	tu_digests_begin(d);
	observe_key(d, "worker", "w1", "aaa", TU_CHANGE_SAME, false);
	char *k = tu_entity_key(&a, "worker", "default", "w2", &len);
	assert_string_equal(tu_digests_get(d, k, len), "bbb");
	tu_digests_begin(d);
	observe_key(d, "worker", "w2", "bbb", TU_CHANGE_SAME, false);
	tu_digests_destroy(d);
	tu_arena_release(&a);
}

static void entity_digest_canonical(void **state)
{
	(void)state;
	struct tu_arena a;
	char d1[TU_ID_SIZE], d2[TU_ID_SIZE], d3[TU_ID_SIZE], d4[TU_ID_SIZE];
	char why[256];
	tu_arena_init(&a, 1024);
	Trueup__V1__Attr *x[] = { tu_pb_attr(&a, "b", "2"), tu_pb_attr(&a, "a", "1") };
	Trueup__V1__Attr *y[] = { tu_pb_attr(&a, "a", "1"), tu_pb_attr(&a, "b", "2") };
	Trueup__V1__Attr *z[] = { tu_pb_attr(&a, "a", "1b"), tu_pb_attr(&a, "", "2") };
	assert_int_equal(tu_entity_sort_attrs(x, 2, why, sizeof(why)), TU_OK);
	assert_string_equal(x[0]->key, "a");
	tu_entity_digest(&a, x, 2, d1);
	tu_entity_digest(&a, y, 2, d2);
	tu_entity_digest(&a, z, 2, d3);
	tu_entity_digest(&a, NULL, 0, d4);
	assert_string_equal(d1, d2);
	assert_string_not_equal(d1, d3); /* "a=1,b=2" vs "a=1b,=2": NULs separate */
	assert_int_equal(strlen(d4), TU_ID_LEN);
	tu_arena_release(&a);
}

static void entity_check_bounds(void **state)
{
	(void)state;
	struct tu_arena a;
	char why[512];
	tu_arena_init(&a, 1024);
	Trueup__V1__Attr *ok[] = { tu_pb_attr(&a, "a", "1") };
	struct tu_entity e = { "worker", "default", "w1", ok, 1 };
	assert_int_equal(tu_entity_check(&e, why, sizeof(why)), TU_OK);

	e.kind = "Bad.Kind";
	assert_int_equal(tu_entity_check(&e, why, sizeof(why)), TU_EINVAL);
	assert_non_null(strstr(why, "kind"));
	e.kind = "worker";

	char *big = tu_arena_alloc(&a, 70000);
	memset(big, 'x', 69999);
	Trueup__V1__Attr *huge[] = { tu_pb_attr(&a, "spec", big) };
	e.attrs = huge;
	assert_int_equal(tu_entity_check(&e, why, sizeof(why)), TU_ETOOBIG);
	assert_non_null(strstr(why, "TU_MAX_ATTR_VALUE"));
	assert_non_null(strstr(why, "spec"));

	e.attrs = ok;
	e.name = big;
	assert_int_equal(tu_entity_check(&e, why, sizeof(why)), TU_ETOOBIG);
	assert_non_null(strstr(why, "TU_MAX_NAME"));
	e.name = "\xff\xfe";
	assert_int_equal(tu_entity_check(&e, why, sizeof(why)), TU_EINVAL);
	e.name = "";
	assert_int_equal(tu_entity_check(&e, why, sizeof(why)), TU_EINVAL);

	Trueup__V1__Attr *dup[] = { tu_pb_attr(&a, "a", "1"), tu_pb_attr(&a, "a", "2") };
	assert_int_equal(tu_entity_sort_attrs(dup, 2, why, sizeof(why)), TU_EINVAL);
	assert_non_null(strstr(why, "'a' given twice"));
	tu_arena_release(&a);
}

static void entity_text_valid(void **state)
{
	(void)state;
	assert_true(tu_text_valid("plain", 5));
	assert_true(tu_text_valid("gr\xc3\xbc\xc3\x9f", 6));
	assert_true(tu_text_valid("\xf0\x9f\x98\x80", 4));
	assert_false(tu_text_valid("a\0b", 3));
	assert_false(tu_text_valid("\xc0\xaf", 2));         /* overlong */
	assert_false(tu_text_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(tu_text_valid("\xe2\x82", 2));         /* truncated */
	char bad[] = "file-\xff\xfe.yaml: caf\xc3\xa9 \xe2\x82";
	tu_text_repair(bad);
	assert_string_equal(bad, "file-??.yaml: caf\xc3\xa9 ??");
}

static void entity_key_roundtrip(void **state)
{
	(void)state;
	struct tu_arena a;
	size_t len;
	const char *k, *n, *m;
	tu_arena_init(&a, 1024);
	char *key = tu_entity_key(&a, "worker", "ns-1", "k3s worker:3", &len);
	assert_true(tu_entity_key_split(&a, key, len, &k, &n, &m));
	assert_string_equal(k, "worker");
	assert_string_equal(n, "ns-1");
	assert_string_equal(m, "k3s worker:3");
	assert_false(tu_entity_key_split(&a, "nonul", 5, &k, &n, &m));
	tu_arena_release(&a);
}

static void keymap_grow_and_remove(void **state)
{
	(void)state;
	tu_keymap *m = tu_keymap_create(sizeof(int));
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		int *v = tu_keymap_put(m, key, strlen(key), NULL);
		*v = i;
	}
	assert_int_equal(tu_keymap_count(m), 5000);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "key-%d", i);
		assert_true(tu_keymap_remove(m, key, strlen(key)));
	}
	assert_int_equal(tu_keymap_count(m), 2500);
	snprintf(key, sizeof(key), "key-%d", 4999);
	int *v = tu_keymap_get(m, key, strlen(key));
	assert_non_null(v);
	assert_int_equal(*v, 4999);
	assert_null(tu_keymap_get(m, "key-0", 5));
	tu_keymap_destroy(m);
}


static const struct CMUnitTest tests[] = {
	cmocka_unit_test(digests_new_changed_same),
	cmocka_unit_test(digests_repeat_in_one_scan),
	cmocka_unit_test(digests_sweep_unseen),
	cmocka_unit_test(digests_unswept_scan_keeps_entries),
	cmocka_unit_test(entity_digest_canonical),
	cmocka_unit_test(entity_check_bounds),
	cmocka_unit_test(entity_text_valid),
	cmocka_unit_test(entity_key_roundtrip),
	cmocka_unit_test(keymap_grow_and_remove),
};

TU_TEST_MAIN(tests)
