/*
 * breaker.c - see breaker.h.
 */
#include "breaker.h"

void tu_breaker_init(struct tu_breaker *b, int threshold, int64_t cooldown_ms,
		     int64_t max_cooldown_ms)
{
	b->threshold = threshold;
	b->base_ms = cooldown_ms > 0 ? cooldown_ms : 1;
	b->max_ms = max_cooldown_ms >= b->base_ms ? max_cooldown_ms : b->base_ms;
	b->state = TU_BREAKER_CLOSED;
	b->failures = 0;
	b->cooldown_ms = b->base_ms;
	b->open_until_ms = 0;
	b->opened = 0;
}

bool tu_breaker_allow(struct tu_breaker *b, int64_t now_ms)
{
	if (b->state == TU_BREAKER_OPEN && now_ms >= b->open_until_ms)
		b->state = TU_BREAKER_HALF_OPEN;
	return b->state != TU_BREAKER_OPEN;
}

int64_t tu_breaker_wait_ms(const struct tu_breaker *b, int64_t now_ms)
{
	if (b->state != TU_BREAKER_OPEN || now_ms >= b->open_until_ms)
		return 0;
	return b->open_until_ms - now_ms;
}

void tu_breaker_success(struct tu_breaker *b)
{
	b->state = TU_BREAKER_CLOSED;
	b->failures = 0;
	b->cooldown_ms = b->base_ms;
}

static void open_now(struct tu_breaker *b, int64_t now_ms)
{
	b->state = TU_BREAKER_OPEN;
	b->open_until_ms = now_ms + b->cooldown_ms;
	b->opened++;
}

bool tu_breaker_failure(struct tu_breaker *b, int64_t now_ms)
{
	if (b->threshold <= 0)
		return false;
	if (b->state == TU_BREAKER_HALF_OPEN) {
		/* The try failed: wait longer this time. */
		b->cooldown_ms = b->cooldown_ms > b->max_ms / 2 ? b->max_ms : b->cooldown_ms * 2;
		open_now(b, now_ms);
		return true;
	}
	if (b->state == TU_BREAKER_OPEN)
		return false;
	if (++b->failures < b->threshold)
		return false;
	b->failures = 0;
	open_now(b, now_ms);
	return true;
}

const char *tu_breaker_state_str(enum tu_breaker_state s)
{
	switch (s) {
	case TU_BREAKER_CLOSED: return "closed";
	case TU_BREAKER_OPEN: return "open";
	case TU_BREAKER_HALF_OPEN: return "half-open";
	}
	return "?";
}
