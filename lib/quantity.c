/* quantity.c - exact Kubernetes quantities (see quantity.h). */
#include "quantity.h"

#include <stdio.h>
#include <string.h>

#define MAX_DIGITS 19 /* significant digits of the number part */
#define MAX_EXP 30    /* |decimal exponent| accepted */

static void normalize(struct tu_quantity *q)
{
	if (q->num == 0) {
		q->exp10 = 0;
		return;
	}
	while (q->num % 10 == 0) {
		q->num /= 10;
		q->exp10++;
	}
}

tu_status tu_quantity_parse(const char *s, struct tu_quantity *out, char *err, size_t errlen)
{
	const char *p = s;
	bool neg = false;
	__int128 num = 0;
	int digits = 0, frac = 0;
	bool any = false, dot = false;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty quantity");
		return TU_EINVAL;
	}
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (dot)
				break;
			dot = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		any = true;
		if (digits == 0 && *p == '0') {
			if (dot)
				frac++;
			continue; /* leading zeros are not significant */
		}
		if (++digits > MAX_DIGITS) {
			snprintf(err, errlen, "\"%s\": more than %d significant digits", s, MAX_DIGITS);
			return TU_EINVAL;
		}
		num = num * 10 + (*p - '0');
		if (dot)
			frac++;
	}
	if (!any) {
		snprintf(err, errlen, "\"%s\": no digits", s);
		return TU_EINVAL;
	}
	int32_t exp10 = -frac;
	int shift2 = 0; /* binary suffix: multiply by 2^shift2 */
	static const struct {
		const char *suffix;
		int exp10, shift2;
	} suffixes[] = {
		{ "Ki", 0, 10 }, { "Mi", 0, 20 }, { "Gi", 0, 30 }, { "Ti", 0, 40 }, { "Pi", 0, 50 },
		{ "Ei", 0, 60 }, { "m", -3, 0 },  { "k", 3, 0 },   { "M", 6, 0 },   { "G", 9, 0 },
		{ "T", 12, 0 },  { "P", 15, 0 },  { "E", 18, 0 },  { "", 0, 0 },
	};
	bool matched = false;
	if ((*p == 'e' || *p == 'E') && p[1] != '\0' && p[1] != 'i') {
		/* decimal exponent, unless it is the E (exa) suffix alone */
		const char *q = p + 1;
		bool eneg = false;
		if (*q == '+' || *q == '-')
			eneg = *q++ == '-';
		int e = 0, ed = 0;
		while (*q >= '0' && *q <= '9' && ed < 4) {
			e = e * 10 + (*q++ - '0');
			ed++;
		}
		if (ed == 0 || *q != '\0') {
			snprintf(err, errlen, "\"%s\": bad exponent \"%s\"", s, p);
			return TU_EINVAL;
		}
		if (e > MAX_EXP) {
			snprintf(err, errlen, "\"%s\": exponent beyond %d", s, MAX_EXP);
			return TU_EINVAL;
		}
		exp10 += eneg ? -e : e;
		matched = true;
	}
	for (size_t i = 0; !matched && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(p, suffixes[i].suffix) == 0) {
			exp10 += suffixes[i].exp10;
			shift2 = suffixes[i].shift2;
			matched = true;
		}
	}
	if (!matched) {
		snprintf(err, errlen, "\"%s\": unknown suffix \"%s\" (Ki Mi Gi Ti Pi Ei, m k M G T P E, "
			 "or an exponent)", s, p);
		return TU_EINVAL;
	}
	num <<= shift2; /* < 10^19 * 2^60 < 2^124: no overflow */
	if (exp10 > MAX_EXP + MAX_DIGITS || exp10 < -(MAX_EXP + MAX_DIGITS)) {
		snprintf(err, errlen, "\"%s\": out of range", s);
		return TU_EINVAL;
	}
	struct tu_quantity q = { neg ? -num : num, exp10 };
	normalize(&q);
	*out = q;
	return TU_OK;
}

bool tu_quantity_equal(const struct tu_quantity *a, const struct tu_quantity *b)
{
	return a->num == b->num && (a->num == 0 || a->exp10 == b->exp10);
}

/* Number of decimal digits of |n| (n != 0). */
static int ndigits(__int128 n)
{
	int d = 0;
	if (n < 0)
		n = -n;
	while (n > 0) {
		n /= 10;
		d++;
	}
	return d;
}

int tu_quantity_cmp(const struct tu_quantity *a, const struct tu_quantity *b)
{
	if (tu_quantity_equal(a, b))
		return 0;
	int sa = (a->num > 0) - (a->num < 0), sb = (b->num > 0) - (b->num < 0);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	/* same sign, both non-zero: compare magnitudes by order, then exactly */
	int ma = ndigits(a->num) + a->exp10, mb = ndigits(b->num) + b->exp10;
	if (ma != mb)
		return (ma < mb ? -1 : 1) * sa;
	__int128 x = a->num, y = b->num;
	int32_t ea = a->exp10, eb = b->exp10;
	while (ea > eb) {
		x *= 10;
		ea--;
	}
	while (eb > ea) {
		y *= 10;
		eb--;
	}
	return x < y ? -1 : (x > y ? 1 : 0);
}

void tu_quantity_format(const struct tu_quantity *q, char *out, size_t outlen)
{
	char digits[64];
	int n = 0;
	__int128 v = q->num < 0 ? -q->num : q->num;
	do {
		digits[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v > 0 && n < 60);
	size_t o = 0;
	char buf[128];
	if (q->num < 0)
		buf[o++] = '-';
	if (q->exp10 >= 0) {
		for (int i = n - 1; i >= 0; i--)
			buf[o++] = digits[i];
		for (int i = 0; i < q->exp10 && o < sizeof(buf) - 2 && q->num != 0; i++)
			buf[o++] = '0';
	} else {
		int point = n + q->exp10; /* digits before the point */
		if (point <= 0) {
			buf[o++] = '0';
			buf[o++] = '.';
			for (int i = 0; i < -point && o < sizeof(buf) - 2; i++)
				buf[o++] = '0';
			for (int i = n - 1; i >= 0 && o < sizeof(buf) - 1; i--)
				buf[o++] = digits[i];
		} else {
			for (int i = n - 1; i >= 0 && o < sizeof(buf) - 2; i--) {
				buf[o++] = digits[i];
				if (i == n - point && i > 0)
					buf[o++] = '.';
			}
		}
	}
	buf[o] = '\0';
	snprintf(out, outlen, "%s", buf);
}
