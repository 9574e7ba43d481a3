/*
 * ids_test.c - derived ids, tokens, durations, sizes, base64 and JSON strings
 * (lib/ids.h, clock.h, pbjson.h, buf.h).
 */
#include <jansson.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "ids.h"
#include "pb.h"
#include "pbjson.h"
#include "testmain.h"

static void ids_are_derived(void **state)
{
	(void)state;
	char a[TU_ID_SIZE], b[TU_ID_SIZE], c[TU_ID_SIZE];
	tu_id_correlation(a, "ghost-worker", "worker", "default", "k3s-worker-3", 42);
	tu_id_correlation(b, "ghost-worker", "worker", "default", "k3s-worker-3", 42);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), TU_ID_LEN);
	assert_true(tu_token_valid(a));
	/* every input matters */
	tu_id_correlation(c, "ghost-worker", "worker", "default", "k3s-worker-3", 43);
	assert_string_not_equal(a, c);
	tu_id_correlation(c, "ghost-worker", "worker", "defaul", "tk3s-worker-3", 42);
	assert_string_not_equal(a, c); /* parts are delimited, not concatenated */
	tu_id_command(b, a, 0, "del", 1);
	tu_id_command(c, a, 0, "del", 2);
	assert_string_not_equal(b, c);
	tu_id_command(c, a, 1, "del", 1);
	assert_string_not_equal(b, c);
	tu_id_drift_event(b, a, 1);
	tu_id_drift_event(c, a, 2);
	assert_string_not_equal(b, c);
}

static void ids_are_stable_across_builds(void **state)
{
	(void)state;
	/* Pinned: a change here changes every id in existing streams. */
	char a[TU_ID_SIZE];
	tu_id_correlation(a, "r", "k", "ns", "n", 1);
	char again[TU_ID_SIZE];
	tu_digest_hex(again, "corr\0r\0k\0ns\0n\0001", 16); /* last NUL: the literal's own */
	assert_string_equal(a, again);
}

static void tokens(void **state)
{
	(void)state;
	assert_true(tu_token_valid("redis"));
	assert_false(tu_token_valid("a.b"));
	assert_false(tu_token_valid("a*"));
	assert_false(tu_token_valid("a>"));
	assert_false(tu_token_valid("a b"));
	assert_false(tu_token_valid(""));
	assert_true(tu_name_valid("ghost-worker"));
	assert_false(tu_name_valid("Ghost"));
	assert_false(tu_name_valid("-x"));
	char out[64];
	assert_true(tu_token_escape("api.v1 *>", out, sizeof(out)));
	assert_string_equal(out, "api%2Ev1%20%2A%3E");
	assert_true(tu_token_valid(out));
	assert_false(tu_token_escape("abc", out, 3));
}

static void durations(void **state)
{
	(void)state;
	int64_t ms = 0;
	assert_int_equal(tu_duration_parse("30s", &ms), TU_OK);
	assert_int_equal(ms, 30000);
	assert_int_equal(tu_duration_parse("1h30m", &ms), TU_OK);
	assert_int_equal(ms, 5400000);
	assert_int_equal(tu_duration_parse("500ms", &ms), TU_OK);
	assert_int_equal(ms, 500);
	assert_int_equal(tu_duration_parse("2d", &ms), TU_OK);
	assert_int_equal(ms, 172800000);
	assert_int_equal(tu_duration_parse("0", &ms), TU_OK);
	assert_int_equal(ms, 0);
	assert_int_equal(tu_duration_parse("soon", &ms), TU_EINVAL);
	assert_int_equal(tu_duration_parse("10", &ms), TU_EINVAL);
	assert_int_equal(tu_duration_parse("-1s", &ms), TU_EINVAL);
	assert_int_equal(tu_duration_parse("", &ms), TU_EINVAL);
	/* int64 milliseconds at most, whatever the parts add up to */
	assert_int_equal(tu_duration_parse("106751991167d", &ms), TU_OK);
	assert_int_equal(tu_duration_parse("106751991167d106751991167d", &ms), TU_EINVAL);
	assert_int_equal(tu_duration_parse("106751991167d999999999ms", &ms), TU_EINVAL);
	char buf[32];
	tu_duration_format(5400000, buf, sizeof(buf));
	assert_string_equal(buf, "1h30m");
	tu_duration_format(250, buf, sizeof(buf));
	assert_string_equal(buf, "250ms");
}

static void sizes(void **state)
{
	(void)state;
	int64_t b = 0;
	assert_int_equal(tu_size_parse("1GiB", &b), TU_OK);
	assert_int_equal(b, 1LL << 30);
	assert_int_equal(tu_size_parse("10MB", &b), TU_OK);
	assert_int_equal(b, 10000000);
	assert_int_equal(tu_size_parse("-1", &b), TU_OK);
	assert_int_equal(b, -1);
	assert_int_equal(tu_size_parse("12", &b), TU_OK);
	assert_int_equal(b, 12);
	assert_int_equal(tu_size_parse("1 GiB", &b), TU_EINVAL);
	assert_int_equal(tu_size_parse("1XB", &b), TU_EINVAL);
}

static void times(void **state)
{
	(void)state;
	int64_t ns = 0;
	assert_int_equal(tu_time_parse("2026-11-22T03:00:00.5Z", &ns), TU_OK);
	char out[40];
	tu_time_format(ns, out, sizeof(out));
	assert_string_equal(out, "2026-11-22T03:00:00.500Z");
	assert_int_equal(tu_time_parse("yesterday", &ns), TU_EINVAL);
	int64_t exact = INT64_C(1795319000123456789), back = 0;
	tu_time_format_ns(exact, out, sizeof(out));
	assert_string_equal(out, "2026-11-22T03:43:20.123456789Z");
	assert_int_equal(tu_time_parse(out, &back), TU_OK);
	assert_int_equal(back, exact);
	/* Found by fuzz_fold: past 2262 the nanoseconds overflowed int64 and wrapped. */
	assert_int_equal(tu_time_parse("2262-04-11T23:47:16.854775807Z", &back), TU_OK);
	assert_int_equal(back, INT64_MAX);
	back = 7;
	assert_int_equal(tu_time_parse("2262-04-11T23:47:16.854775808Z", &back), TU_EINVAL);
	assert_int_equal(tu_time_parse("4050-01-01T00:00:00Z", &back), TU_EINVAL);
	assert_int_equal(back, 7);
}

static void base64(void **state)
{
	(void)state;
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *want[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (int i = 0; i < 7; i++) {
		struct tu_buf b, back;
		tu_buf_init(&b, 1024);
		tu_buf_init(&back, 1024);
		assert_int_equal(tu_base64_write(in[i], strlen(in[i]), &b), TU_OK);
		assert_string_equal(tu_buf_cstr(&b), want[i]);
		assert_int_equal(tu_base64_read(b.data ? b.data : "", b.len, &back), TU_OK);
		assert_string_equal(tu_buf_cstr(&back), in[i]);
		tu_buf_release(&b);
		tu_buf_release(&back);
	}
	struct tu_buf x;
	tu_buf_init(&x, 64);
	assert_int_equal(tu_base64_read("Zm9", 3, &x), TU_EINVAL);
	assert_int_equal(tu_base64_read("Z!9v", 4, &x), TU_EINVAL);
	tu_buf_release(&x);
}

int main(int argc, char **argv);
/*
 * Found by fuzz_pb: strings that were not UTF-8 (a message's field, a
 * subject quoted in a log line) went into JSON as they were, and JSON that
 * is not UTF-8 does not parse.
 */
static void json_strings_are_utf8(void **state)
{
	(void)state;
	struct tu_buf b;
	json_error_t je;
	tu_buf_init(&b, 1024);
	const char s[] = "a\xff\xc3(\xe2\x82\xac\xed\xa0\x80\xf0\x9f\x98\x80\xe2\x82";
	assert_int_equal(tu_buf_json_str(&b, s, sizeof(s) - 1), TU_OK);
	assert_string_equal(tu_buf_cstr(&b), "\"a\\ufffd\\ufffd(\xe2\x82\xac\\ufffd\\ufffd\\ufffd"
					      "\xf0\x9f\x98\x80\\ufffd\\ufffd\"");
	json_t *j = json_loadb(tu_buf_cstr(&b), b.len, JSON_DECODE_ANY, &je);
	assert_non_null(j);
	json_decref(j);

	Trueup__V1__Approval a = TRUEUP__V1__APPROVAL__INIT;
	a.command_id = "01\x1f\xff\xca\xc9";
	tu_buf_reset(&b);
	assert_int_equal(tu_pbjson_write(&a.base, &b), TU_OK);
	j = json_loadb(tu_buf_cstr(&b), b.len, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "command_id")),
			    "01\x1f\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
	tu_buf_release(&b);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(ids_are_derived),
	cmocka_unit_test(ids_are_stable_across_builds),
	cmocka_unit_test(tokens),
	cmocka_unit_test(durations),
	cmocka_unit_test(sizes),
	cmocka_unit_test(times),
	cmocka_unit_test(base64),
	cmocka_unit_test(json_strings_are_utf8),
};
TU_TEST_MAIN(tests)
