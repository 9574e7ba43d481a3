/*
 * text.c - UTF-8 checks and repairs (see text.h). Moved here from
 * producers/entity.c so that the processor shares them.
 */
#include "text.h"

#include <stdint.h>
#include <string.h>

size_t tu_text_seq(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;
	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len - 1 < n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

bool tu_text_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = tu_text_seq(s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void tu_text_repair(char *s)
{
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		size_t n = tu_text_seq(s + i, len - i);
		if (n == 0) {
			s[i] = '?';
			n = 1;
		}
		i += n;
	}
}
