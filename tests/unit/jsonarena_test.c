/*
 * jsonarena_test.c - lib/jsonarena.c: jansson values made in an arena, and
 * values made outside one, side by side in one process (ASan checks that every
 * block goes back to where it came from).
 */
#include "testmain.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonarena.h"

/* A list page like the kube source reads: n objects with a few fields each. */
static char *page(int n)
{
	size_t cap = (size_t)n * 200 + 64, len = 0;
	char *s = malloc(cap);
	len += (size_t)snprintf(s + len, cap - len, "{\"items\": [");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
					"%s{\"metadata\": {\"name\": \"w-%d\"}, \"spec\": {\"replicas\": %d,"
					" \"tags\": [\"a\", \"b\"]}}",
					i ? ", " : "", i, i % 5);
	snprintf(s + len, cap - len, "]}");
	return s;
}

/* Runs first (cmocka keeps the order): before install, enter/leave change nothing. */
static void without_install_values_use_malloc(void **state)
{
	(void)state;
	struct tu_json_arena ja;
	tu_json_arena_init(&ja);
	tu_json_arena_enter(&ja);
	json_t *v = json_pack("{s:s}", "a", "b");
	tu_json_arena_leave(&ja);
	assert_null(ja.blocks); /* nothing was taken from the arena */
	assert_string_equal(json_string_value(json_object_get(v, "a")), "b");
	json_decref(v); /* a malloc'ed value, freed normally after leave */
	tu_json_arena_release(&ja);
}

static void values_come_from_the_arena_and_go_with_it(void **state)
{
	(void)state;
	tu_json_arena_install();
	tu_json_arena_install(); /* idempotent */
	assert_true(tu_json_arena_installed());
	json_t *outside = json_pack("{s:i}", "kept", 7); /* made before: malloc */

	struct tu_json_arena ja;
	tu_json_arena_init(&ja);
	char *text = page(5000); /* ~1 MB of JSON: more than one block of values */
	for (int round = 0; round < 3; round++) {
		tu_json_arena_enter(&ja);
		json_t *root = json_loads(text, 0, NULL);
		assert_non_null(root);
		json_t *items = json_object_get(root, "items");
		assert_int_equal(json_array_size(items), 5000);
		json_t *last = json_array_get(items, 4999);
		assert_string_equal(json_string_value(json_object_get(json_object_get(last, "metadata"),
								       "name")),
				    "w-4999");
		assert_int_equal(json_integer_value(json_object_get(json_object_get(last, "spec"),
								    "replicas")),
				 4);
		assert_non_null(ja.blocks);
		json_decref(root); /* frees nothing of the arena's */
		tu_json_arena_leave(&ja);
		/* The blocks are kept for the next page, and reused from the start. */
		assert_non_null(ja.blocks);
		assert_ptr_equal(ja.cur, ja.blocks);
		assert_int_equal(ja.off, 0);
	}
	free(text);

	/* A value larger than a block gets a block of its own. */
	char *big = malloc(TU_JSON_ARENA_BLOCK + 100);
	memset(big, 'x', TU_JSON_ARENA_BLOCK + 99);
	big[TU_JSON_ARENA_BLOCK + 99] = '\0';
	tu_json_arena_enter(&ja);
	json_t *s = json_string(big);
	assert_int_equal(json_string_length(s), TU_JSON_ARENA_BLOCK + 99);
	tu_json_arena_leave(&ja);
	free(big);

	/* Outside an arena: malloc again; the value made before still works. */
	json_t *after = json_pack("{s:s}", "x", "y");
	json_object_set_new(outside, "after", after);
	assert_int_equal(json_integer_value(json_object_get(outside, "kept")), 7);
	char *dump = json_dumps(outside, JSON_SORT_KEYS);
	assert_string_equal(dump, "{\"after\": {\"x\": \"y\"}, \"kept\": 7}");
	free(dump);
	json_decref(outside);
	tu_json_arena_release(&ja);
	assert_null(ja.blocks);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(without_install_values_use_malloc),
	cmocka_unit_test(values_come_from_the_arena_and_go_with_it),
};

TU_TEST_MAIN(tests)
