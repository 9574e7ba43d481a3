/*
 * actuator_backoff_test.c - delays between deliveries of a retryable command:
 * exponential from 1 s, capped at 60 s, jittered within the upper half.
 */
#include "testmain.h"

#include <stdint.h>

#include "actuator.h"

#define TU_ACTUATOR_BACKOFF_BASE_MS 1000 /* the defaults: retry_backoff */
#define TU_ACTUATOR_BACKOFF_CAP_MS 60000 /* retry_backoff_max */

static int64_t bo(uint64_t delivery, uint64_t rnd)
{
	struct tu_target_config t = { .retry_backoff = TU_ACTUATOR_BACKOFF_BASE_MS,
				      .retry_backoff_max = TU_ACTUATOR_BACKOFF_CAP_MS };
	return tu_actuator_backoff_ms(&t, delivery, rnd);
}

/* Window of a delivery: BASE * 2^(d-1), capped. */
static int64_t window(uint64_t d)
{
	int64_t w = TU_ACTUATOR_BACKOFF_BASE_MS;
	for (uint64_t i = 1; i < d && w < TU_ACTUATOR_BACKOFF_CAP_MS; i++)
		w *= 2;
	return w < TU_ACTUATOR_BACKOFF_CAP_MS ? w : TU_ACTUATOR_BACKOFF_CAP_MS;
}

static void backoff_first_delivery(void **state)
{
	(void)state;
	assert_int_equal(bo(1, 0), 500);
	assert_int_equal(bo(1, 500), 1000);
	assert_int_equal(bo(1, 501), 500);
}

static void backoff_within_bounds(void **state)
{
	(void)state;
	uint64_t r = 88172645463325252u;
	for (uint64_t d = 1; d <= 40; d++) {
		int64_t w = window(d);
		for (int i = 0; i < 1000; i++) {
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			int64_t ms = bo(d, r);
			assert_true(ms >= w / 2);
			assert_true(ms <= w);
		}
	}
}

static void backoff_doubles_then_caps(void **state)
{
	(void)state;
	assert_int_equal(bo(2, UINT64_MAX - (UINT64_MAX % 1001)), 1000);
	assert_int_equal(bo(3, 2000), 4000);
	assert_int_equal(bo(6, 16000), 32000);
	assert_int_equal(bo(7, 30000), TU_ACTUATOR_BACKOFF_CAP_MS);
	assert_int_equal(bo(100, 30000), TU_ACTUATOR_BACKOFF_CAP_MS);
	assert_int_equal(bo(100, 0), TU_ACTUATOR_BACKOFF_CAP_MS / 2);
}

static void backoff_extreme_deliveries(void **state)
{
	(void)state;
	/* delivery 0 (never sent by JetStream) behaves like the first */
	assert_int_equal(bo(0, 0), 500);
	int64_t ms = bo(UINT64_MAX, UINT64_MAX);
	assert_true(ms >= TU_ACTUATOR_BACKOFF_CAP_MS / 2 && ms <= TU_ACTUATOR_BACKOFF_CAP_MS);
}

static void backoff_jitter_spreads(void **state)
{
	(void)state;
	/* Different random inputs give different delays: retries do not march in step. */
	int64_t seen_low = 0, seen_high = 0;
	for (uint64_t r = 0; r < 30000; r += 7) {
		int64_t ms = bo(7, r);
		if (ms < 40000)
			seen_low++;
		if (ms > 50000)
			seen_high++;
	}
	assert_true(seen_low > 0);
	assert_true(seen_high > 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(backoff_first_delivery),
	cmocka_unit_test(backoff_within_bounds),
	cmocka_unit_test(backoff_doubles_then_caps),
	cmocka_unit_test(backoff_extreme_deliveries),
	cmocka_unit_test(backoff_jitter_spreads),
};

TU_TEST_MAIN(tests)
