/* redisconn_test.c - Redis URLs (lib/redisconn.h). */
#include <string.h>

#include "redisconn.h"
#include "testmain.h"

static void url_defaults(void **state)
{
	(void)state;
	struct tu_redis_url u;
	char err[256];
	assert_int_equal(tu_redis_url_parse("redis://127.0.0.1", &u, err, sizeof(err)), TU_OK);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_string_equal(u.user, "");
	assert_int_equal(tu_redis_url_parse("redis://h/", &u, err, sizeof(err)), TU_OK);
	assert_string_equal(u.host, "h");
}

static void url_full(void **state)
{
	(void)state;
	struct tu_redis_url u;
	char err[256];
	assert_int_equal(tu_redis_url_parse("redis://trueup@redis.local:6380/3", &u, err,
					     sizeof(err)),
			 TU_OK);
	assert_string_equal(u.host, "redis.local");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 3);
	assert_string_equal(u.user, "trueup");
	assert_int_equal(tu_redis_url_parse("redis://[::1]:7000", &u, err, sizeof(err)), TU_OK);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
}

static void url_refuses_password(void **state)
{
	(void)state;
	struct tu_redis_url u = { .port = 42 };
	char err[256];
	assert_int_equal(tu_redis_url_parse("redis://user:secret@h:1", &u, err, sizeof(err)),
			 TU_EINVAL);
	assert_non_null(strstr(err, "password_file"));
	assert_null(strstr(err, "secret"));
	assert_int_equal(u.port, 42);
}

static void url_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"http://h:1", "redis://", "redis://:6379", "redis://h:0", "redis://h:70000",
		"redis://h:12x", "redis://h:1/x", "redis://h:1/-1", "redis://[::1", "rediss://h",
	};
	struct tu_redis_url u;
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tu_redis_url_parse(bad[i], &u, err, sizeof(err)) != TU_EINVAL)
			fail_msg("\"%s\" should be refused", bad[i]);
	}
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(url_defaults),
	cmocka_unit_test(url_full),
	cmocka_unit_test(url_refuses_password),
	cmocka_unit_test(url_bad),
};
TU_TEST_MAIN(tests)
