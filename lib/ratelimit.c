/* ratelimit.c - token bucket (see ratelimit.h). */
#include "ratelimit.h"

#include "clock.h"

void tu_ratelimit_init(struct tu_ratelimit *rl, double rate, double burst)
{
	pthread_mutex_init(&rl->mu, NULL);
	rl->rate = rate;
	rl->burst = burst >= 1 ? burst : 1;
	rl->tokens = rl->burst;
	rl->last_ns = tu_clock_mono_ns();
}

void tu_ratelimit_release(struct tu_ratelimit *rl)
{
	pthread_mutex_destroy(&rl->mu);
}

static void refill(struct tu_ratelimit *rl)
{
	int64_t now = tu_clock_mono_ns();
	rl->tokens += (double)(now - rl->last_ns) / 1e9 * rl->rate;
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
	rl->last_ns = now;
}

bool tu_ratelimit_try(struct tu_ratelimit *rl)
{
	if (rl->rate <= 0)
		return true;
	pthread_mutex_lock(&rl->mu);
	refill(rl);
	bool ok = rl->tokens >= 1;
	if (ok)
		rl->tokens -= 1;
	pthread_mutex_unlock(&rl->mu);
	return ok;
}

int64_t tu_ratelimit_wait_ms(struct tu_ratelimit *rl)
{
	if (rl->rate <= 0)
		return 0;
	pthread_mutex_lock(&rl->mu);
	refill(rl);
	double missing = 1 - rl->tokens;
	pthread_mutex_unlock(&rl->mu);
	if (missing <= 0)
		return 0;
	int64_t ms = (int64_t)(missing / rl->rate * 1000) + 1;
	return ms;
}

bool tu_ratelimit_take(struct tu_ratelimit *rl, const volatile int *stop)
{
	while (stop == NULL || !*stop) {
		if (tu_ratelimit_try(rl))
			return true;
		int64_t ms = tu_ratelimit_wait_ms(rl);
		tu_clock_sleep_ms(ms > 100 ? 100 : (ms < 1 ? 1 : ms));
	}
	return false;
}
