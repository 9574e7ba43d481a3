/*
 * actuator_adapter_test.c - verdicts of target adapters: formatting, bounds,
 * and valid UTF-8 in what becomes Outcome.detail and .error.
 */
#include "testmain.h"

#include <string.h>

#include "adapter.h"

#define SUCCEEDED TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED

static void exec_set_formats(void **state)
{
	(void)state;
	struct tu_exec e;
	tu_exec_set(&e, SUCCEEDED, NULL, "DEL %s (%d key removed)", "w:3", 1);
	assert_int_equal(e.result, SUCCEEDED);
	assert_string_equal(e.detail, "DEL w:3 (1 key removed)");
	assert_string_equal(e.error, "");
	tu_exec_set(&e, TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT, "WRONGTYPE x", "no");
	assert_string_equal(e.error, "WRONGTYPE x");
}

static void exec_set_cuts_long_text(void **state)
{
	(void)state;
	static char big[3 * TU_EXEC_DETAIL];
	memset(big, 'a', sizeof(big) - 1);
	struct tu_exec e;
	tu_exec_set(&e, SUCCEEDED, big, "%s", big);
	assert_int_equal(strlen(e.detail), TU_EXEC_DETAIL - 1);
	assert_int_equal(strlen(e.error), TU_EXEC_ERROR - 1);
}

static void utf8_valid_kept(void **state)
{
	(void)state;
	char s[] = "ascii \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf";
	char want[sizeof(s)];
	memcpy(want, s, sizeof(s));
	tu_exec_sanitize(s);
	assert_string_equal(s, want);
}

static void utf8_invalid_replaced(void **state)
{
	(void)state;
	char s1[] = "a\xff" "b";          /* never valid */
	char s2[] = "a\xc3";              /* cut after the lead byte */
	char s3[] = "\xe2\x82";           /* cut in the middle */
	char s4[] = "\xc0\xaf";           /* overlong '/' */
	char s5[] = "\xed\xa0\x80";       /* UTF-16 surrogate */
	char s6[] = "\xf4\x90\x80\x80";   /* over U+10FFFF */
	char s7[] = "\x80x";              /* stray continuation byte */
	tu_exec_sanitize(s1);
	tu_exec_sanitize(s2);
	tu_exec_sanitize(s3);
	tu_exec_sanitize(s4);
	tu_exec_sanitize(s5);
	tu_exec_sanitize(s6);
	tu_exec_sanitize(s7);
	assert_string_equal(s1, "a?b");
	assert_string_equal(s2, "a?");
	assert_string_equal(s3, "??");
	assert_string_equal(s4, "??");
	assert_string_equal(s5, "???");
	assert_string_equal(s6, "????");
	assert_string_equal(s7, "?x");
}

static void exec_set_sanitizes(void **state)
{
	(void)state;
	struct tu_exec e;
	tu_exec_set(&e, SUCCEEDED, "bad \xfe", "SET k \"%s\" (was \"%s\")", "\xe2\x82\xac",
		    "\xe2\x82");
	assert_string_equal(e.detail, "SET k \"\xe2\x82\xac\" (was \"??\")");
	assert_string_equal(e.error, "bad ?");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(exec_set_formats),
	cmocka_unit_test(exec_set_cuts_long_text),
	cmocka_unit_test(utf8_valid_kept),
	cmocka_unit_test(utf8_invalid_replaced),
	cmocka_unit_test(exec_set_sanitizes),
};

TU_TEST_MAIN(tests)
