/*
 * fuzz_quantity.c - Kubernetes quantities (lib/quantity.h): parse two
 * texts, compare them, format them.
 *
 * Input: text a, '\n', text b. Checks (quantity.h's promises): the plain
 * decimal text of a parsed value parses back to an equal value (when it
 * has at most the 19 significant digits a number may have); cmp is
 * antisymmetric and 0 exactly when the values are equal; a failed parse
 * says why.
 */
#include "fuzz.h"
#include "quantity.h"

/* Digits of a plain decimal text from the first non-zero one on (what parse counts). */
static int significant_digits(const char *s)
{
	int n = 0;
	for (; *s != '\0'; s++)
		if ((*s >= '1' && *s <= '9') || (*s == '0' && n > 0))
			n++;
	return n;
}

static bool parse(struct fz *in, struct tu_quantity *q)
{
	char *s = NULL, err[256] = "", text[256];
	size_t len = 0;
	const uint8_t *p = fz_until(in, '\n', &len);
	s = fz_strndup(p, len);
	tu_status st = tu_quantity_parse(s, q, err, sizeof(err));
	if (st != TU_OK) {
		FZ_CHECK(err[0] != '\0', "a refusal without a reason");
		free(s);
		return false;
	}
	tu_quantity_format(q, text, sizeof(text));
	if (significant_digits(text) > 19)
		goto out; /* "60Ei", "1e30": exact, but past what a plain number may spell */
	struct tu_quantity back;
	FZ_CHECK(tu_quantity_parse(text, &back, err, sizeof(err)) == TU_OK,
		 "\"%s\" formats as \"%s\", which does not parse: %s", s, text, err);
	FZ_CHECK(tu_quantity_equal(q, &back), "\"%s\" formats as \"%s\", another value", s, text);
	FZ_CHECK(tu_quantity_cmp(q, &back) == 0, "\"%s\" and its text \"%s\" compare unequal", s,
		 text);
out:
	free(s);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	struct tu_quantity a, b;
	bool ok_a = parse(&in, &a);
	bool ok_b = parse(&in, &b);

	if (ok_a && ok_b) {
		int ab = tu_quantity_cmp(&a, &b), ba = tu_quantity_cmp(&b, &a);
		FZ_CHECK(ab == -ba, "cmp(a, b) = %d, cmp(b, a) = %d", ab, ba);
		FZ_CHECK((ab == 0) == tu_quantity_equal(&a, &b), "cmp %d, equal %d", ab,
			 (int)tu_quantity_equal(&a, &b));
	}
	return 0;
}
