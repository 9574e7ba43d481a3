/*
 * mongoconn_test.c - lib/mongoconn.c: URI redaction, URI checks and the
 * password inserted from its file, error classes, JSON <-> BSON (the direct
 * BSON-to-jansson path against libbson's text).
 */
#include "testmain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mongoconn.h"

static const char *redacted(const char *uri)
{
	static char out[TU_MONGO_MAX_URI];
	tu_mongo_redact(uri, out, sizeof(out));
	return out;
}

static void redaction(void **state)
{
	(void)state;
	assert_string_equal(redacted("mongodb://127.0.0.1:27017"), "mongodb://127.0.0.1:27017");
	assert_string_equal(redacted("mongodb://user@h/db"), "mongodb://user@h/db");
	assert_string_equal(redacted("mongodb://user:s3cret@h1,h2:27018/db?replicaSet=rs"),
			    "mongodb://user:***@h1,h2:27018/db?replicaSet=rs");
	assert_string_equal(redacted("mongodb+srv://u:p%40ss@cluster.example.com/"),
			    "mongodb+srv://u:***@cluster.example.com/");
	assert_string_equal(redacted("mongodb://h/?tls=true&tlsCertificateKeyFilePassword=x&w=1"),
			    "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=***&w=1");
	assert_string_equal(redacted("mongodb://a:b@c@h/"), "mongodb://a:***@h/");
	/* A cut redaction never shows more than the whole one. */
	char small[20];
	tu_mongo_redact("mongodb://user:s3cret@host/", small, sizeof(small));
	assert_string_equal(small, "mongodb://user:***@");
	assert_null(strstr(redacted("mongodb://u:s3cret@h/?authMechanismProperties=x"), "s3cret"));
}

static void uri_checks(void **state)
{
	(void)state;
	mongoc_uri_t *u = NULL;
	char err[512];

	assert_int_equal(tu_mongo_uri_parse("mongodb://127.0.0.1:1/?appname=x", false, 1500, "me",
					    &u, err, sizeof(err)),
			 TU_OK);
	assert_int_equal(mongoc_uri_get_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0),
			 1500);
	assert_int_equal(mongoc_uri_get_option_as_int32(u, MONGOC_URI_SOCKETTIMEOUTMS, 0), 1500);
	assert_int_equal(mongoc_uri_get_option_as_int32(u, MONGOC_URI_CONNECTTIMEOUTMS, 0), 1500);
	assert_string_equal(mongoc_uri_get_appname(u), "me");
	mongoc_uri_destroy(u);

	assert_int_equal(tu_mongo_uri_parse("mongodb://u:hunter2@h/", false, 1000, NULL, &u, err,
					    sizeof(err)),
			 TU_EINVAL);
	assert_non_null(strstr(err, "holds a password"));
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(tu_mongo_uri_parse("mongodb://h/", true, 1000, NULL, &u, err, sizeof(err)),
			 TU_EINVAL);
	assert_non_null(strstr(err, "password_file needs a user"));
	assert_int_equal(tu_mongo_uri_parse("http://h/", false, 1000, NULL, &u, err, sizeof(err)),
			 TU_EINVAL);
	assert_non_null(strstr(err, "uri http://h/: "));
}

/* The password comes from its file into the pool's URI, never from the config. */
static void pool_password_from_file(void **state)
{
	(void)state;
	char path[] = "/tmp/tu-mongo-pass-XXXXXX";
	int fd = mkstemp(path);
	mongoc_client_pool_t *pool = NULL;
	char err[512];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\n", 7), 7);
	close(fd);
	assert_int_equal(tu_mongo_pool_create("mongodb://trueup@127.0.0.1:1/?authSource=admin", path,
					      200, "t", &pool, err, sizeof(err)),
			 TU_OK);
	mongoc_client_t *c = mongoc_client_pool_pop(pool);
	const mongoc_uri_t *u = mongoc_client_get_uri(c);
	assert_string_equal(mongoc_uri_get_username(u), "trueup");
	assert_string_equal(mongoc_uri_get_password(u), "s3cret");
	mongoc_client_pool_push(pool, c);
	mongoc_client_pool_destroy(pool);

	pool = NULL;
	unlink(path);
	assert_int_equal(tu_mongo_pool_create("mongodb://trueup@127.0.0.1:1/", path, 200, "t", &pool,
					      err, sizeof(err)),
			 TU_EIO);
	assert_null(pool);
	assert_non_null(strstr(err, path));
}

static bson_error_t error_of(uint32_t domain, uint32_t code)
{
	bson_error_t e;
	memset(&e, 0, sizeof(e));
	e.domain = domain;
	e.code = code;
	return e;
}

static void error_classes(void **state)
{
	(void)state;
	struct {
		uint32_t domain, code;
		bool retry;
		tu_status st;
	} cases[] = {
		{ MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET, true, TU_EUNAVAIL },
		{ MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT, true, TU_EUNAVAIL },
		{ MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE, true,
		  TU_EUNAVAIL },
		{ MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_AUTHENTICATE, true, TU_EAUTH },
		{ MONGOC_ERROR_WRITE_CONCERN, 64, true, TU_EIO },
		{ MONGOC_ERROR_SERVER, 112, true, TU_EUNAVAIL },   /* WriteConflict */
		{ MONGOC_ERROR_SERVER, 10107, true, TU_EUNAVAIL }, /* NotWritablePrimary */
		{ MONGOC_ERROR_SERVER, 91, true, TU_EUNAVAIL },    /* ShutdownInProgress */
		{ MONGOC_ERROR_SERVER, 18, true, TU_EAUTH },       /* AuthenticationFailed */
		{ MONGOC_ERROR_SERVER, 13, false, TU_EAUTH },      /* Unauthorized */
		{ MONGOC_ERROR_SERVER, 2, false, TU_EINVAL },      /* BadValue */
		{ MONGOC_ERROR_SERVER, 121, false, TU_EINVAL },    /* DocumentValidationFailure */
		{ MONGOC_ERROR_SERVER, 11000, false, TU_EINVAL },  /* DuplicateKey */
		{ MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID, false, TU_EINVAL },
		{ MONGOC_ERROR_COMMAND, MONGOC_ERROR_COMMAND_INVALID_ARG, false, TU_EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bson_error_t e = error_of(cases[i].domain, cases[i].code);
		if (tu_mongo_retryable(&e) != cases[i].retry || tu_mongo_status(&e) != cases[i].st)
			print_error("case %zu: domain %u code %u\n", i, cases[i].domain,
				    cases[i].code);
		assert_int_equal(tu_mongo_retryable(&e), cases[i].retry);
		assert_int_equal(tu_mongo_status(&e), cases[i].st);
	}
}

static void json_conversions(void **state)
{
	(void)state;
	bson_t *b = NULL;
	char err[256];
	char id[64];

	assert_int_equal(tu_mongo_bson_from_json("{\"_id\": {\"$oid\": \"64b000000000000000000001\"},"
						 " \"n\": {\"$numberLong\": \"5\"}, \"d\": {\"$date\":"
						 " \"2023-11-14T22:13:20Z\"}, \"x\": 1.5}",
						 &b, err, sizeof(err)),
			 TU_OK);
	tu_mongo_id_text(b, id, sizeof(id));
	assert_string_equal(id, "64b000000000000000000001");
	json_t *j = tu_mongo_to_json(b);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "_id"), "$oid")),
			    "64b000000000000000000001");
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 5);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "d"), "$date")),
			    "2023-11-14T22:13:20Z");
	json_decref(j);
	bson_destroy(b);

	assert_int_equal(tu_mongo_bson_from_json("[1]", &b, err, sizeof(err)), TU_EINVAL);
	assert_string_equal(err, "not a JSON object");
	assert_int_equal(tu_mongo_bson_from_json("{\"a\": ", &b, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "invalid extended JSON"));

	/* _id as text: a string as is (non-printable bytes as '?'), others as JSON, or none. */
	bson_t d = BSON_INITIALIZER;
	BSON_APPEND_UTF8(&d, "_id", "ab\ncd");
	tu_mongo_id_text(&d, id, sizeof(id));
	assert_string_equal(id, "ab?cd");
	bson_reinit(&d);
	BSON_APPEND_INT32(&d, "_id", 42);
	tu_mongo_id_text(&d, id, sizeof(id));
	assert_string_equal(id, "{ \"_id\" : 42 }");
	bson_reinit(&d);
	tu_mongo_id_text(&d, id, sizeof(id));
	assert_string_equal(id, "(no _id)");
	bson_destroy(&d);
}


/* libbson's relaxed extended JSON of doc, loaded: what the direct conversion must equal. */
static json_t *via_text(const bson_t *doc)
{
	size_t len = 0;
	char *s = bson_as_relaxed_extended_json(doc, &len);
	json_t *j = s != NULL ? json_loadb(s, len, 0, NULL) : NULL;
	bson_free(s);
	return j;
}

static void json_direct_matches_text(void **state)
{
	(void)state;
	bson_t d = BSON_INITIALIZER, sub, arr;
	bson_oid_t oid;
	bson_oid_init_from_string(&oid, "64b0000000000000000000ff");
	BSON_APPEND_OID(&d, "_id", &oid);
	BSON_APPEND_UTF8(&d, "name", "db-0001");
	BSON_APPEND_UTF8(&d, "unicode", "gr\u00fc\u00dfe \u20ac");
	BSON_APPEND_UTF8(&d, "empty", "");
	BSON_APPEND_UTF8(&d, "quote", "a\"b\\c\n");
	BSON_APPEND_INT32(&d, "i32", -2147483647 - 1);
	BSON_APPEND_INT64(&d, "i64", INT64_MAX);
	const double doubles[] = { 0.5, 1.0, -0.0, 0.1, 1e300, 123456789.123456789, -2.5e-310 };
	for (size_t i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++) {
		char k[16];
		snprintf(k, sizeof(k), "d%zu", i);
		BSON_APPEND_DOUBLE(&d, k, doubles[i]);
	}
	BSON_APPEND_BOOL(&d, "t", true);
	BSON_APPEND_BOOL(&d, "f", false);
	BSON_APPEND_NULL(&d, "nil");
	const int64_t dates[] = { 0, 1700000000123LL, 1700000000000LL, 253402300799999LL,
				  951782400000LL /* 2000-02-29 */ };
	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		char k[16];
		snprintf(k, sizeof(k), "t%zu", i);
		BSON_APPEND_DATE_TIME(&d, k, dates[i]);
	}
	BSON_APPEND_DOCUMENT_BEGIN(&d, "spec", &sub);
	BSON_APPEND_UTF8(&sub, "storage", "10Gi");
	BSON_APPEND_ARRAY_BEGIN(&sub, "tags", &arr);
	BSON_APPEND_UTF8(&arr, "0", "a");
	BSON_APPEND_INT32(&arr, "1", 7);
	bson_append_array_end(&sub, &arr);
	bson_append_document_end(&d, &sub);
	BSON_APPEND_UTF8(&d, "name", "duplicate: the last one counts, as in a parse");

	json_t *direct = tu__mongo_to_json_direct(&d);
	json_t *text = via_text(&d);
	assert_non_null(direct); /* every type above takes the direct path */
	assert_non_null(text);
	const char *k;
	json_t *v;
	json_object_foreach(text, k, v) {
		if (!json_equal(v, json_object_get(direct, k))) {
			char *a = json_dumps(json_object_get(direct, k), JSON_ENCODE_ANY);
			char *b = json_dumps(v, JSON_ENCODE_ANY);
			print_error("%s: direct %s, text %s\n", k, a ? a : "(none)", b);
			free(a);
			free(b);
		}
	}
	assert_true(json_equal(direct, text));
	json_t *full = tu_mongo_to_json(&d);
	assert_true(json_equal(full, text));
	json_decref(full);
	json_decref(direct);
	json_decref(text);

	/* Types it leaves to libbson: the text path, with the same result as before. */
	bson_t *odd[6];
	for (size_t i = 0; i < 6; i++) {
		odd[i] = bson_new();
		BSON_APPEND_UTF8(odd[i], "name", "x");
	}
	const uint8_t bin[] = { 1, 2, 3 };
	BSON_APPEND_BINARY(odd[0], "b", BSON_SUBTYPE_BINARY, bin, sizeof(bin));
	bson_decimal128_t dec;
	bson_decimal128_from_string("1.50", &dec);
	BSON_APPEND_DECIMAL128(odd[1], "dec", &dec);
	BSON_APPEND_DOUBLE(odd[2], "nan", NAN);
	BSON_APPEND_TIMESTAMP(odd[3], "ts", 5, 6);
	BSON_APPEND_DATE_TIME(odd[4], "before-1970", -1);
	BSON_APPEND_DATE_TIME(odd[5], "after-9999", 253402300800000LL);
	for (size_t i = 0; i < 6; i++) {
		assert_null(tu__mongo_to_json_direct(odd[i]));
		json_t *a = tu_mongo_to_json(odd[i]), *b = via_text(odd[i]);
		assert_non_null(a);
		assert_true(json_equal(a, b));
		json_decref(a);
		json_decref(b);
		bson_destroy(odd[i]);
	}

	/* Text that is not UTF-8: not convertible either way. */
	bson_reinit(&d);
	bson_append_utf8(&d, "bad", -1, "\xff\xfe", 2);
	assert_null(tu__mongo_to_json_direct(&d));
	assert_null(tu_mongo_to_json(&d));
	bson_destroy(&d);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(redaction),
	cmocka_unit_test(uri_checks),
	cmocka_unit_test(pool_password_from_file),
	cmocka_unit_test(error_classes),
	cmocka_unit_test(json_conversions),
	cmocka_unit_test(json_direct_matches_text),
};

TU_TEST_MAIN(tests)
