/* clock.c - clocks, durations and sizes (see clock.h). */
#define _GNU_SOURCE
#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t tu_clock_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * TU_NS_PER_S + ts.tv_nsec;
}

int64_t tu_clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * TU_NS_PER_S + ts.tv_nsec;
}

void tu_clock_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * TU_NS_PER_MS };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

tu_status tu_duration_parse(const char *s, int64_t *ms)
{
	if (s == NULL || *s == '\0')
		return TU_EINVAL;
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return TU_OK;
	}
	int64_t total = 0;
	const char *p = s;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return TU_EINVAL;
		char *end = NULL;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		if (errno != 0 || v > INT64_MAX / (24LL * 3600 * 1000))
			return TU_EINVAL;
		int64_t mult;
		if (strncmp(end, "ms", 2) == 0) {
			mult = 1;
			end += 2;
		} else if (*end == 's') {
			mult = 1000;
			end++;
		} else if (*end == 'm') {
			mult = 60 * 1000;
			end++;
		} else if (*end == 'h') {
			mult = 3600 * 1000;
			end++;
		} else if (*end == 'd') {
			mult = 24LL * 3600 * 1000;
			end++;
		} else {
			return TU_EINVAL;
		}
		int64_t part;
		if (__builtin_mul_overflow((int64_t)v, mult, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return TU_EINVAL;
		p = end;
	}
	*ms = total;
	return TU_OK;
}

void tu_duration_format(int64_t ms, char *out, size_t outlen)
{
	if (ms <= 0) {
		snprintf(out, outlen, "0s");
		return;
	}
	if (ms % 1000 != 0 || ms < 1000) {
		snprintf(out, outlen, "%lldms", (long long)ms);
		return;
	}
	int64_t s = ms / 1000;
	int64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
	size_t n = 0;
	out[0] = '\0';
	if (h > 0)
		n += (size_t)snprintf(out + n, outlen - n, "%lldh", (long long)h);
	if (m > 0 && n < outlen)
		n += (size_t)snprintf(out + n, outlen - n, "%lldm", (long long)m);
	if (sec > 0 && n < outlen)
		snprintf(out + n, outlen - n, "%llds", (long long)sec);
}

tu_status tu_size_parse(const char *s, int64_t *bytes)
{
	if (s == NULL || *s == '\0')
		return TU_EINVAL;
	if (strcmp(s, "-1") == 0) {
		*bytes = -1;
		return TU_OK;
	}
	if (!isdigit((unsigned char)*s))
		return TU_EINVAL;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0)
		return TU_EINVAL;
	static const struct {
		const char *unit;
		unsigned long long mult;
	} units[] = {
		{ "", 1ULL }, { "B", 1ULL },
		{ "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 }, { "GiB", 1ULL << 30 }, { "TiB", 1ULL << 40 },
		{ "KB", 1000ULL }, { "MB", 1000000ULL }, { "GB", 1000000000ULL }, { "TB", 1000000000000ULL },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			if (v > (unsigned long long)INT64_MAX / units[i].mult)
				return TU_EINVAL;
			*bytes = (int64_t)(v * units[i].mult);
			return TU_OK;
		}
	}
	return TU_EINVAL;
}

void tu_time_format(int64_t ns, char *out, size_t outlen)
{
	time_t secs = (time_t)(ns / TU_NS_PER_S);
	long msec = (long)((ns % TU_NS_PER_S) / TU_NS_PER_MS);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03ldZ", base, msec);
}

void tu_time_format_ns(int64_t ns, char *out, size_t outlen)
{
	time_t secs = (time_t)(ns / TU_NS_PER_S);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%09lldZ", base, (long long)(ns % TU_NS_PER_S));
}

tu_status tu_time_parse(const char *s, int64_t *ns)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return TU_EINVAL;
	int64_t frac = 0;
	if (*p == '.') {
		p++;
		int digits = 0;
		while (isdigit((unsigned char)*p)) {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 9)
			frac *= 10;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return TU_EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return TU_EINVAL;
	/* int64 nanoseconds end in 2262: a later time is input we cannot hold, not a wrap. */
	int64_t whole, sum;
	if (__builtin_mul_overflow((int64_t)t, TU_NS_PER_S, &whole) ||
	    __builtin_add_overflow(whole, frac, &sum))
		return TU_EINVAL;
	*ns = sum;
	return TU_OK;
}
