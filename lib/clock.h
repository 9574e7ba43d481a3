/*
 * clock.h - wall and monotonic clocks, and the textual durations and sizes
 * that config files use.
 *
 * The processor's fold never calls these clocks: it reads time from the
 * JetStream timestamp of the event it folds (DESIGN.md, Determinism).
 */
#ifndef TU_CLOCK_H
#define TU_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define TU_NS_PER_MS INT64_C(1000000)
#define TU_NS_PER_S INT64_C(1000000000)

int64_t tu_clock_wall_ns(void);
int64_t tu_clock_mono_ns(void);
/* Sleeps ms milliseconds (restarts after signals). */
void tu_clock_sleep_ms(int64_t ms);

/*
 * Parses a duration: a sequence of <number><unit> with unit ms, s, m, h or d
 * ("500ms", "30s", "1h30m"), or "0". Writes milliseconds to *ms on success;
 * TU_EINVAL also when the sum does not fit int64 milliseconds (the config
 * bounds its durations far lower: TU_MAX_DURATION_MS).
 */
tu_status tu_duration_parse(const char *s, int64_t *ms);
/* Formats ms compactly ("1h30m", "500ms", "0s") into out. */
void tu_duration_format(int64_t ms, char *out, size_t outlen);
/*
 * Parses a byte size: an integer with an optional unit B, KiB, MiB, GiB, TiB
 * (powers of 1024) or KB, MB, GB, TB (powers of 1000); "-1" means unlimited.
 */
tu_status tu_size_parse(const char *s, int64_t *bytes);
/* RFC 3339 UTC with milliseconds, e.g. 2026-11-22T03:00:00.123Z; out >= 32. */
void tu_time_format(int64_t ns, char *out, size_t outlen);
/* The same with nanoseconds (2026-11-22T03:00:00.123456789Z): exact, for scripts. */
void tu_time_format_ns(int64_t ns, char *out, size_t outlen);
/* Parses RFC 3339 UTC ("...Z" or "+00:00", optional fraction) to ns. */
tu_status tu_time_parse(const char *s, int64_t *ns);

#endif
