/* backoff.c - retry delays (see backoff.h). */
#include "backoff.h"

int64_t tu_backoff_ms(uint64_t attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd)
{
	int64_t window = base_ms > 0 ? base_ms : 1;
	if (cap_ms < window)
		cap_ms = window;
	for (uint64_t i = 1; i < attempt && window < cap_ms; i++)
		window = window > cap_ms / 2 ? cap_ms : window * 2;
	int64_t half = window / 2;
	return half + (int64_t)(rnd % (uint64_t)(window - half + 1));
}

uint64_t tu_backoff_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}
