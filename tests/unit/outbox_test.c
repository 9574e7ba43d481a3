/* outbox_test.c - processor/outbox.c: when the publisher thread has work. */
#include "testmain.h"

#include "clock.h"
#include "outbox.h"

static void publisher_sleeps_while_the_fold_reclaims(void **state)
{
	(void)state;
	const int64_t busy = 10 * TU_NS_PER_MS, idle = 300 * TU_NS_PER_MS;
	/* Nothing to do: sleep. */
	assert_false(tu__outbox_has_work(false, false, false, 0, idle));
	/* Acked entries while the fold reclaims them itself: sleep, do not spin. */
	assert_false(tu__outbox_has_work(false, false, false, 5, busy));
	/* Acked entries and an idle fold: delete them. */
	assert_true(tu__outbox_has_work(false, false, false, 5, idle));
	/* New entries, a failure or a stop: always. */
	assert_true(tu__outbox_has_work(false, true, false, 5, busy));
	assert_true(tu__outbox_has_work(false, false, true, 0, busy));
	assert_true(tu__outbox_has_work(true, false, false, 0, busy));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(publisher_sleeps_while_the_fold_reclaims),
};

TU_TEST_MAIN(tests)
