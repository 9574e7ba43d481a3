/*
 * log.h - one line per record on stderr: a JSON object (default) or text.
 *
 * Records carry the component, a level, the message and, where one exists, the
 * correlation id, so that a drift can be followed across components:
 *   {"ts":"2026-11-22T03:00:00.123Z","level":"info","comp":"processor","corr":"…","msg":"…"}
 * Never log credentials: callers pass file paths, not secrets.
 * Thread-safe: each record is written with one write(2).
 */
#ifndef TU_LOG_H
#define TU_LOG_H

#include <stdbool.h>

#include "status.h"

enum tu_log_level {
	TU_LOG_DEBUG = 0,
	TU_LOG_INFO = 1,
	TU_LOG_WARN = 2,
	TU_LOG_ERROR = 3,
};

enum tu_log_format {
	TU_LOG_JSON = 0,
	TU_LOG_TEXT = 1,
};

/* Sets the component name (copied) and the threshold. Call once at start. */
void tu_log_init(const char *component, enum tu_log_level level, enum tu_log_format format);
void tu_log_set_level(enum tu_log_level level);
bool tu_log_enabled(enum tu_log_level level);
/* Parses "debug", "info", "warn", "error". */
tu_status tu_log_level_parse(const char *s, enum tu_log_level *out);
tu_status tu_log_format_parse(const char *s, enum tu_log_format *out);

/* corr may be NULL. */
void tu_log(enum tu_log_level level, const char *corr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define tu_debug(...) tu_log(TU_LOG_DEBUG, NULL, __VA_ARGS__)
#define tu_info(...) tu_log(TU_LOG_INFO, NULL, __VA_ARGS__)
#define tu_warn(...) tu_log(TU_LOG_WARN, NULL, __VA_ARGS__)
#define tu_error(...) tu_log(TU_LOG_ERROR, NULL, __VA_ARGS__)

#endif
