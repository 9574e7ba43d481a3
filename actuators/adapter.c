/*
 * adapter.c - helpers shared by target adapters (see adapter.h).
 *
 * Verdict texts quote what the target holds (Redis values are bytes, and a
 * long one is cut mid-character), but Outcome.detail and .error are proto3
 * strings, which must be UTF-8 or consumers in other languages reject the
 * whole message: tu_exec_set() replaces every byte that is not part of a
 * valid UTF-8 sequence with '?'.
 */
#include "adapter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

/* Length of the valid UTF-8 sequence at p (RFC 3629), or 0 if there is none. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* over U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

void tu_exec_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p != '\0') {
		size_t n = utf8_seq(p);
		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

void tu_exec_set(struct tu_exec *e, Trueup__V1__Outcome__Result result, const char *error,
		 const char *fmt, ...)
{
	va_list ap;
	e->result = result;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	snprintf(e->error, sizeof(e->error), "%s", error != NULL ? error : "");
	tu_exec_sanitize(e->detail);
	tu_exec_sanitize(e->error);
}

void tu_adapter_run(const struct tu_adapter *ad, const Trueup__V1__FixCommand *const *cmds,
		    const bool *dry_run, size_t n, struct tu_exec *outs)
{
	tu_status st = TU_OK;

	memset(outs, 0, n * sizeof(*outs));
	if (ad->ops->execute_batch != NULL && n > 0) {
		st = ad->ops->execute_batch(ad->impl, cmds, dry_run, n, outs);
	} else {
		for (size_t i = 0; i < n; i++) {
			tu_status s = ad->ops->execute(ad->impl, cmds[i], dry_run[i], &outs[i]);
			if (s != TU_OK) {
				tu_exec_set(&outs[i],
					    TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT,
					    tu_status_str(s), "the %s adapter failed unexpectedly",
					    ad->ops->type);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (outs[i].result == TRUEUP__V1__OUTCOME__RESULT__RESULT_UNSPECIFIED)
			tu_exec_set(&outs[i], TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT,
				    tu_status_str(st != TU_OK ? st : TU_EINTERNAL),
				    "the %s adapter failed unexpectedly", ad->ops->type);
	}
}
