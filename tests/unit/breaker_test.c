/*
 * breaker_test.c - lib/breaker.c: opening after N failures in a row, the
 * half-open try, doubling cooldowns up to the cap, and a disabled breaker.
 */
#include "testmain.h"

#include "breaker.h"

static void opens_after_failures_in_a_row(void **state)
{
	(void)state;
	struct tu_breaker b;
	tu_breaker_init(&b, 3, 1000, 8000);
	assert_true(tu_breaker_allow(&b, 0));
	assert_false(tu_breaker_failure(&b, 0));
	assert_false(tu_breaker_failure(&b, 0));
	tu_breaker_success(&b); /* not in a row any more */
	assert_false(tu_breaker_failure(&b, 10));
	assert_false(tu_breaker_failure(&b, 10));
	assert_true(tu_breaker_failure(&b, 10));
	assert_int_equal(b.state, TU_BREAKER_OPEN);
	assert_int_equal(b.opened, 1);
	assert_false(tu_breaker_allow(&b, 500));
	assert_int_equal(tu_breaker_wait_ms(&b, 500), 510);
	assert_string_equal(tu_breaker_state_str(b.state), "open");
	/* failures while open (commands already running) change nothing */
	assert_false(tu_breaker_failure(&b, 600));
	assert_int_equal(tu_breaker_wait_ms(&b, 600), 410);
}

static void half_open_try_doubles_or_closes(void **state)
{
	(void)state;
	struct tu_breaker b;
	tu_breaker_init(&b, 1, 1000, 3000);
	assert_true(tu_breaker_failure(&b, 0));
	assert_true(tu_breaker_allow(&b, 1000));
	assert_int_equal(b.state, TU_BREAKER_HALF_OPEN);
	assert_true(tu_breaker_failure(&b, 1000)); /* the try failed: 2 s */
	assert_int_equal(tu_breaker_wait_ms(&b, 1000), 2000);
	assert_true(tu_breaker_allow(&b, 3000));
	assert_true(tu_breaker_failure(&b, 3000)); /* 4 s capped at 3 s */
	assert_int_equal(tu_breaker_wait_ms(&b, 3000), 3000);
	assert_true(tu_breaker_allow(&b, 6000));
	tu_breaker_success(&b);
	assert_int_equal(b.state, TU_BREAKER_CLOSED);
	assert_true(tu_breaker_failure(&b, 7000)); /* back to the base cooldown */
	assert_int_equal(tu_breaker_wait_ms(&b, 7000), 1000);
	assert_int_equal(b.opened, 4);
}

static void zero_threshold_never_opens(void **state)
{
	(void)state;
	struct tu_breaker b;
	tu_breaker_init(&b, 0, 1000, 1000);
	for (int i = 0; i < 100; i++)
		assert_false(tu_breaker_failure(&b, i));
	assert_true(tu_breaker_allow(&b, 100));
	assert_int_equal(tu_breaker_wait_ms(&b, 100), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(opens_after_failures_in_a_row),
	cmocka_unit_test(half_open_try_doubles_or_closes),
	cmocka_unit_test(zero_threshold_never_opens),
};
TU_TEST_MAIN(tests)
