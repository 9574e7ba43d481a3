/* quantity_test.c - Kubernetes quantities (lib/quantity.h). */
#include <string.h>

#include "quantity.h"
#include "testmain.h"

static struct tu_quantity q(const char *s)
{
	struct tu_quantity v;
	char err[128];
	if (tu_quantity_parse(s, &v, err, sizeof(err)) != TU_OK)
		fail_msg("%s: %s", s, err);
	return v;
}

static void expect_text(const char *s, const char *want)
{
	struct tu_quantity v = q(s);
	char out[128];
	tu_quantity_format(&v, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("%s formats as %s, want %s", s, out, want);
}

static void equal_forms(void **state)
{
	(void)state;
	const char *pairs[][2] = {
		{ "10Gi", "10737418240" }, { "1Ki", "1024" },     { "0.5", "500m" },
		{ "1e3", "1k" },           { "1E3", "1000" },     { "1.5Gi", "1536Mi" },
		{ "2G", "2000000000" },    { "100m", "0.1" },     { "+3", "3" },
		{ "0", "0m" },             { "0.0", "0Gi" },      { "1Ei", "1152921504606846976" },
		{ ".5", "0.50" },          { "5.", "5" },         { "1e-3", "1m" },
		{ "1E", "1000000000000000000" }, { "007", "7" },  { "-1.5k", "-1500" },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct tu_quantity a = q(pairs[i][0]), b = q(pairs[i][1]);
		if (!tu_quantity_equal(&a, &b))
			fail_msg("%s != %s", pairs[i][0], pairs[i][1]);
		assert_int_equal(tu_quantity_cmp(&a, &b), 0);
	}
}

static void different(void **state)
{
	(void)state;
	struct tu_quantity a = q("10Gi"), b = q("10G");
	assert_false(tu_quantity_equal(&a, &b));
	assert_int_equal(tu_quantity_cmp(&a, &b), 1); /* 10Gi > 10G */
	struct tu_quantity c = q("999m"), d = q("1");
	assert_int_equal(tu_quantity_cmp(&c, &d), -1);
	struct tu_quantity e = q("-1"), f = q("1m");
	assert_int_equal(tu_quantity_cmp(&e, &f), -1);
	struct tu_quantity g = q("1e30"), h = q("1e-30");
	assert_int_equal(tu_quantity_cmp(&g, &h), 1);
	assert_int_equal(tu_quantity_cmp(&h, &g), -1);
}

static void formats(void **state)
{
	(void)state;
	expect_text("10Gi", "10737418240");
	expect_text("500m", "0.5");
	expect_text("2.25", "2.25");
	expect_text("-1.5k", "-1500");
	expect_text("1e-3", "0.001");
	expect_text("0", "0");
	expect_text("120", "120");
}

static void errors(void **state)
{
	(void)state;
	const char *bad[][2] = {
		{ "", "empty" },          { "abc", "no digits" },        { "10GB", "unknown suffix" },
		{ "10gi", "unknown suffix" }, { "1..5", "unknown suffix" }, { "1e", "unknown suffix" },
		{ "1e99", "exponent beyond" }, { "1e3x", "bad exponent" }, { "12345678901234567890", "significant digits" },
		{ "-", "no digits" },     { "Gi", "no digits" },         { " 1", "no digits" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tu_quantity v;
		char err[128] = "";
		if (tu_quantity_parse(bad[i][0], &v, err, sizeof(err)) == TU_OK)
			fail_msg("\"%s\" parsed", bad[i][0]);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("\"%s\": \"%s\" lacks \"%s\"", bad[i][0], err, bad[i][1]);
	}
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(equal_forms),
	cmocka_unit_test(different),
	cmocka_unit_test(formats),
	cmocka_unit_test(errors),
};
TU_TEST_MAIN(tests)
