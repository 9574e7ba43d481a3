/* ratelimit_test.c - the token bucket (lib/ratelimit.h). No timing thresholds: counts only. */
#include "clock.h"
#include "ratelimit.h"
#include "testmain.h"

static void burst_then_refuse(void **state)
{
	(void)state;
	struct tu_ratelimit rl;
	tu_ratelimit_init(&rl, 0.001, 5); /* one token per 1000 s: no refill during the test */
	int got = 0;
	for (int i = 0; i < 20; i++)
		got += tu_ratelimit_try(&rl);
	assert_int_equal(got, 5);
	assert_true(tu_ratelimit_wait_ms(&rl) > 0);
	tu_ratelimit_release(&rl);
}

static void unlimited(void **state)
{
	(void)state;
	struct tu_ratelimit rl;
	tu_ratelimit_init(&rl, 0, 1);
	for (int i = 0; i < 1000; i++)
		assert_true(tu_ratelimit_try(&rl));
	assert_int_equal(tu_ratelimit_wait_ms(&rl), 0);
	tu_ratelimit_release(&rl);
}

static void refills(void **state)
{
	(void)state;
	struct tu_ratelimit rl;
	tu_ratelimit_init(&rl, 1000, 1);
	assert_true(tu_ratelimit_try(&rl));
	volatile int stop = 0;
	assert_true(tu_ratelimit_take(&rl, &stop)); /* waits for the refill */
	stop = 1;
	struct tu_ratelimit slow;
	tu_ratelimit_init(&slow, 0.001, 1);
	assert_true(tu_ratelimit_try(&slow));
	assert_false(tu_ratelimit_take(&slow, &stop)); /* stop wins */
	tu_ratelimit_release(&slow);
	tu_ratelimit_release(&rl);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(burst_then_refuse),
	cmocka_unit_test(unlimited),
	cmocka_unit_test(refills),
};
TU_TEST_MAIN(tests)
