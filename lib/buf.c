/* buf.c - bounded growable buffer (see buf.h). */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "xalloc.h"

void tu_buf_init(struct tu_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void tu_buf_release(struct tu_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void tu_buf_reset(struct tu_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static tu_status reserve(struct tu_buf *b, size_t n)
{
	if (n > b->max || b->len + n > b->max)
		return TU_ETOOBIG;
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return TU_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = tu_xrealloc(b->data, cap);
	b->cap = cap;
	return TU_OK;
}

tu_status tu_buf_append(struct tu_buf *b, const void *data, size_t n)
{
	tu_status st = reserve(b, n);
	if (st != TU_OK)
		return st;
	if (n > 0)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return TU_OK;
}

tu_status tu_buf_puts(struct tu_buf *b, const char *s)
{
	return tu_buf_append(b, s, strlen(s));
}

tu_status tu_buf_putc(struct tu_buf *b, char c)
{
	return tu_buf_append(b, &c, 1);
}

tu_status tu_buf_vprintf(struct tu_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return TU_EINVAL;
	tu_status st = reserve(b, (size_t)n);
	if (st != TU_OK)
		return st;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return TU_OK;
}

tu_status tu_buf_printf(struct tu_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tu_status st = tu_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return st;
}

tu_status tu_buf_json_str(struct tu_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	tu_status st = tu_buf_putc(b, '"');
	for (size_t i = 0; st == TU_OK && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		switch (c) {
		case '"': st = tu_buf_append(b, "\\\"", 2); break;
		case '\\': st = tu_buf_append(b, "\\\\", 2); break;
		case '\n': st = tu_buf_append(b, "\\n", 2); break;
		case '\r': st = tu_buf_append(b, "\\r", 2); break;
		case '\t': st = tu_buf_append(b, "\\t", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				st = tu_buf_append(b, esc, 6);
			} else if (c < 0x80) {
				st = tu_buf_putc(b, (char)c);
			} else {
				/* JSON is UTF-8: a byte that starts no valid sequence is U+FFFD. */
				size_t k = tu_text_seq(s + i, n - i);
				if (k == 0) {
					st = tu_buf_append(b, "\\ufffd", 6);
				} else {
					st = tu_buf_append(b, s + i, k);
					i += k - 1;
				}
			}
		}
	}
	if (st == TU_OK)
		st = tu_buf_putc(b, '"');
	return st;
}

const char *tu_buf_cstr(const struct tu_buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *tu_buf_steal(struct tu_buf *b)
{
	char *p = b->data != NULL ? b->data : tu_xstrdup("");
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
