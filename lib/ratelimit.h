/*
 * ratelimit.h - a token bucket: at most `rate` calls per second on average,
 * bursts of up to `burst`. One per target or provider; thread-safe.
 */
#ifndef TU_RATELIMIT_H
#define TU_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct tu_ratelimit {
	pthread_mutex_t mu;
	double rate;       /* tokens per second; <= 0: unlimited */
	double burst;      /* bucket size */
	double tokens;     /* tokens now */
	int64_t last_ns;   /* monotonic time of the last refill */
};

void tu_ratelimit_init(struct tu_ratelimit *rl, double rate, double burst);
void tu_ratelimit_release(struct tu_ratelimit *rl);
/* Takes a token if one is there; false otherwise (never waits). */
bool tu_ratelimit_try(struct tu_ratelimit *rl);
/* Takes a token, sleeping until one is there or *stop becomes true (then false). */
bool tu_ratelimit_take(struct tu_ratelimit *rl, const volatile int *stop);
/* Milliseconds until the next token (0 if one is there now). */
int64_t tu_ratelimit_wait_ms(struct tu_ratelimit *rl);

#endif
