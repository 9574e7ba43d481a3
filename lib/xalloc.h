/*
 * xalloc.h - allocation that cannot fail.
 *
 * trueup treats running out of memory like redis and git do: it is not an
 * input error a caller can handle, so these log and abort() instead of
 * returning NULL. Everything sized by input is bounded before it is allocated
 * (bounds.h), so reaching this is a resource problem, not bad input.
 */
#ifndef TU_XALLOC_H
#define TU_XALLOC_H

#include <stddef.h>

void *tu_xmalloc(size_t n);
void *tu_xcalloc(size_t n, size_t size);
void *tu_xrealloc(void *p, size_t n);
char *tu_xstrdup(const char *s);
char *tu_xstrndup(const char *s, size_t n);
/* printf into a new string; caller frees. */
char *tu_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
