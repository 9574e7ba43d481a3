/* log.c - line-per-record logging (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"

static char g_component[64] = "trueup";
static enum tu_log_level g_level = TU_LOG_INFO;
static enum tu_log_format g_format = TU_LOG_JSON;

static const char *level_name(enum tu_log_level l)
{
	switch (l) {
	case TU_LOG_DEBUG: return "debug";
	case TU_LOG_INFO: return "info";
	case TU_LOG_WARN: return "warn";
	case TU_LOG_ERROR: return "error";
	}
	return "info";
}

void tu_log_init(const char *component, enum tu_log_level level, enum tu_log_format format)
{
	snprintf(g_component, sizeof(g_component), "%s", component);
	g_level = level;
	g_format = format;
}

void tu_log_set_level(enum tu_log_level level)
{
	g_level = level;
}

bool tu_log_enabled(enum tu_log_level level)
{
	return level >= g_level;
}

tu_status tu_log_level_parse(const char *s, enum tu_log_level *out)
{
	for (int l = TU_LOG_DEBUG; l <= TU_LOG_ERROR; l++) {
		if (strcmp(s, level_name((enum tu_log_level)l)) == 0) {
			*out = (enum tu_log_level)l;
			return TU_OK;
		}
	}
	return TU_EINVAL;
}

tu_status tu_log_format_parse(const char *s, enum tu_log_format *out)
{
	if (strcmp(s, "json") == 0) {
		*out = TU_LOG_JSON;
		return TU_OK;
	}
	if (strcmp(s, "text") == 0) {
		*out = TU_LOG_TEXT;
		return TU_OK;
	}
	return TU_EINVAL;
}

void tu_log(enum tu_log_level level, const char *corr, const char *fmt, ...)
{
	if (level < g_level)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char ts[40];
	tu_time_format(tu_clock_wall_ns(), ts, sizeof(ts));

	struct tu_buf b;
	tu_buf_init(&b, 8192);
	if (g_format == TU_LOG_JSON) {
		tu_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"comp\":", ts, level_name(level));
		tu_buf_json_str(&b, g_component, strlen(g_component));
		if (corr != NULL && *corr != '\0') {
			tu_buf_puts(&b, ",\"corr\":");
			tu_buf_json_str(&b, corr, strlen(corr));
		}
		tu_buf_puts(&b, ",\"msg\":");
		tu_buf_json_str(&b, msg, strlen(msg));
		tu_buf_puts(&b, "}\n");
	} else {
		bool has_corr = corr != NULL && *corr != '\0';
		tu_buf_printf(&b, "%s %-5s %s: %s%s%s\n", ts, level_name(level), g_component, msg,
			      has_corr ? " corr=" : "", has_corr ? corr : "");
	}
	ssize_t w = write(STDERR_FILENO, b.data, b.len);
	(void)w;
	tu_buf_release(&b);
}
