/*
 * backoff.h - delays between retries: exponential growth with "equal
 * jitter" (half the window fixed, half random), so that many clients that
 * failed together do not retry together, and a delay is never shorter than
 * half its window. Used by the command loop (NakWithDelay) and the http
 * source (429, 5xx, timeouts).
 */
#ifndef TU_BACKOFF_H
#define TU_BACKOFF_H

#include <stdint.h>

/*
 * Delay before retry number `attempt` (1-based): a window of
 * base_ms * 2^(attempt-1), capped at cap_ms, and a point in its upper half
 * chosen by rnd, so the delay lies in [window/2, window]. base_ms and cap_ms
 * must be > 0.
 */
int64_t tu_backoff_ms(uint64_t attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd);

/* Next value of a xorshift64 generator (*state must not be 0); not for secrets. */
uint64_t tu_backoff_rand(uint64_t *state);

#endif
