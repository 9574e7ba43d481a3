/*
 * buf.h - a growable byte buffer with an upper bound.
 *
 * The contents are always NUL-terminated (data[len] == 0) so a buffer of text
 * can be used as a C string. Appending past `max` fails with TU_ETOOBIG and
 * leaves the buffer as it was (curl's dynbuf "toobig").
 */
#ifndef TU_BUF_H
#define TU_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "status.h"

struct tu_buf {
	char *data;  /* owned; NULL until the first append */
	size_t len;  /* bytes used, excluding the terminating NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* bound on len */
};

void tu_buf_init(struct tu_buf *b, size_t max);
void tu_buf_release(struct tu_buf *b);
/* Empties the buffer, keeping its memory. */
void tu_buf_reset(struct tu_buf *b);
tu_status tu_buf_append(struct tu_buf *b, const void *data, size_t n);
tu_status tu_buf_puts(struct tu_buf *b, const char *s);
tu_status tu_buf_putc(struct tu_buf *b, char c);
tu_status tu_buf_printf(struct tu_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
tu_status tu_buf_vprintf(struct tu_buf *b, const char *fmt, va_list ap);
/*
 * Appends s as a JSON string literal, quotes included; bytes of s that are
 * not UTF-8 are written as U+FFFD, so that the literal stays valid JSON.
 */
tu_status tu_buf_json_str(struct tu_buf *b, const char *s, size_t n);
/* The contents as a C string; "" for an empty buffer. Lives until the next change. */
const char *tu_buf_cstr(const struct tu_buf *b);
/* Hands the allocation to the caller (free() it) and empties the buffer. */
char *tu_buf_steal(struct tu_buf *b);

#endif
