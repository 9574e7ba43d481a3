/*
 * breaker.h - a circuit breaker for a target that keeps failing.
 *
 *   CLOSED --`failures` retryable failures in a row--> OPEN (for cooldown)
 *   OPEN --cooldown over--> HALF_OPEN: one try
 *   HALF_OPEN --success--> CLOSED (cooldown back to its base)
 *   HALF_OPEN --failure--> OPEN (cooldown doubled, up to max_cooldown)
 *
 * Pure state; the caller passes the time (monotonic ms) and decides what
 * "not allowed" means (the actuator stops taking commands: they wait in
 * JetStream, not in memory). Not thread-safe.
 */
#ifndef TU_BREAKER_H
#define TU_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum tu_breaker_state {
	TU_BREAKER_CLOSED = 0,
	TU_BREAKER_OPEN = 1,
	TU_BREAKER_HALF_OPEN = 2,
};

struct tu_breaker {
	int threshold;            /* failures in a row that open it; 0 = never opens */
	int64_t base_ms, max_ms;  /* cooldowns */
	enum tu_breaker_state state;
	int failures;             /* in a row, while closed */
	int64_t cooldown_ms;      /* of the current or next opening */
	int64_t open_until_ms;    /* OPEN: when a try is allowed */
	uint64_t opened;          /* times it opened */
};

void tu_breaker_init(struct tu_breaker *b, int threshold, int64_t cooldown_ms,
		     int64_t max_cooldown_ms);
/*
 * May a command run now? OPEN turns HALF_OPEN when its cooldown is over;
 * HALF_OPEN allows the one try (the caller runs a single command).
 */
bool tu_breaker_allow(struct tu_breaker *b, int64_t now_ms);
/* How long until a try is allowed (0 if now). */
int64_t tu_breaker_wait_ms(const struct tu_breaker *b, int64_t now_ms);
/* The target answered (whatever it said). */
void tu_breaker_success(struct tu_breaker *b);
/* The target could not answer (timeout, 5xx, 429, connection): true if it opened now. */
bool tu_breaker_failure(struct tu_breaker *b, int64_t now_ms);
const char *tu_breaker_state_str(enum tu_breaker_state s);

#endif
