/*
 * heartbeat_test.c - heartbeat messages (lib/heartbeat.h): what goes on the
 * wire (subject and Nats-Msg-Id with escaped tokens, the decoded Heartbeat,
 * attrs sorted), the bounds the processor's fold applies (checked here
 * first, so a heartbeat that would be parked is never sent), and sequences
 * that keep increasing across restarts. Publishing and folding run in
 * tests/integration/heartbeat.sh.
 */
#include "testmain.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "heartbeat.h"
#include "pb.h"

struct fx {
	struct tu_arena a;
	struct tu__hb_msg m;
	char err[256];
};

static tu_status build(struct fx *f, const char *service, const char *instance, int64_t ttl,
		       const struct tu_heartbeat_attr *attrs, size_t n, uint64_t seq, bool stopping)
{
	f->err[0] = '\0';
	return tu__heartbeat_build(service, instance, ttl, attrs, n, seq, stopping, 1234, &f->a,
				   &f->m, f->err, sizeof(f->err));
}

static void message_fields(void **state)
{
	(void)state;
	struct fx f;
	tu_arena_init(&f.a, 4096);
	const struct tu_heartbeat_attr attrs[] = {
		{ "version", "1.4.2" }, { "region", "nyc" }, { "port", "50054" },
	};
	assert_int_equal(build(&f, "checkout", "web-7f9c", 15000, attrs, 3, 42, false), TU_OK);
	assert_string_equal(f.m.subject, "trueup.hb.checkout.web-7f9c");
	assert_string_equal(f.m.msg_id, "checkout.web-7f9c.42");
	Trueup__V1__Heartbeat *h =
		trueup__v1__heartbeat__unpack(tu_arena_pb(&f.a), f.m.len, f.m.data);
	assert_non_null(h);
	assert_string_equal(h->service, "checkout");
	assert_string_equal(h->instance, "web-7f9c");
	assert_int_equal(h->ttl_ms, 15000);
	assert_int_equal(h->sequence, 42);
	assert_false(h->stopping);
	assert_int_equal(h->sent_at_ns, 1234);
	assert_int_equal(h->n_attrs, 3);
	assert_true(tu_pb_attrs_valid(h->attrs, h->n_attrs)); /* sorted, unique */
	assert_string_equal(h->attrs[0]->key, "port");
	assert_string_equal(h->attrs[1]->key, "region");
	assert_string_equal(h->attrs[2]->value, "1.4.2");

	assert_int_equal(build(&f, "checkout", "web-7f9c", 15000, NULL, 0, 43, true), TU_OK);
	h = trueup__v1__heartbeat__unpack(tu_arena_pb(&f.a), f.m.len, f.m.data);
	assert_true(h->stopping);
	assert_int_equal(h->n_attrs, 0);
	tu_arena_release(&f.a);
}

static void subject_escaping(void **state)
{
	(void)state;
	struct fx f;
	tu_arena_init(&f.a, 4096);
	/* dots, wildcards and spaces would change the subject: escaped as %XX */
	assert_int_equal(build(&f, "lab.sessions", "pod 1.*>", 5000, NULL, 0, 7, false), TU_OK);
	assert_string_equal(f.m.subject, "trueup.hb.lab%2Esessions.pod%201%2E%2A%3E");
	assert_string_equal(f.m.msg_id, "lab%2Esessions.pod%201%2E%2A%3E.7");
	Trueup__V1__Heartbeat *h =
		trueup__v1__heartbeat__unpack(tu_arena_pb(&f.a), f.m.len, f.m.data);
	assert_string_equal(h->service, "lab.sessions"); /* the body keeps the real names */
	assert_string_equal(h->instance, "pod 1.*>");
	/* UTF-8 names are escaped byte by byte */
	assert_int_equal(build(&f, "caf\xc3\xa9", "n\xc3\xb8", 5000, NULL, 0, 1, false), TU_OK);
	assert_string_equal(f.m.subject, "trueup.hb.caf%C3%A9.n%C3%B8");
	tu_arena_release(&f.a);
}

static void bounds_refused(void **state)
{
	(void)state;
	struct fx f;
	tu_arena_init(&f.a, 4096);
	char longer[TU_MAX_NAME + 2];
	memset(longer, 'i', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	char ns[TU_MAX_NAMESPACE + 2];
	memset(ns, 's', sizeof(ns) - 1);
	ns[sizeof(ns) - 1] = '\0';
	assert_int_equal(build(&f, "", "i", 1000, NULL, 0, 1, false), TU_EINVAL);
	assert_non_null(strstr(f.err, "service must be 1..63 bytes"));
	assert_int_equal(build(&f, ns, "i", 1000, NULL, 0, 1, false), TU_EINVAL);
	assert_int_equal(build(&f, "s", "", 1000, NULL, 0, 1, false), TU_EINVAL);
	assert_int_equal(build(&f, "s", longer, 1000, NULL, 0, 1, false), TU_EINVAL);
	assert_non_null(strstr(f.err, "instance must be 1..253 bytes"));
	assert_int_equal(build(&f, "s", "\xff", 1000, NULL, 0, 1, false), TU_EINVAL);
	assert_int_equal(build(&f, "s", "i", 0, NULL, 0, 1, false), TU_EINVAL);
	assert_int_equal(build(&f, "s", "i", TU_HEARTBEAT_MAX_TTL_MS + 1, NULL, 0, 1, false),
			 TU_EINVAL);
	assert_string_equal(f.err, "ttl must be 1 ms..7d");
	/* an instance of 253 bytes that escapes to three times that: over the subject bound */
	memset(longer, '.', TU_MAX_NAME);
	longer[TU_MAX_NAME] = '\0';
	assert_int_equal(build(&f, "s", longer, 1000, NULL, 0, 1, false), TU_ETOOBIG);
	assert_non_null(strstr(f.err, "subject over 512 bytes"));
	const struct tu_heartbeat_attr dup[] = { { "a", "1" }, { "a", "2" } };
	assert_int_equal(build(&f, "s", "i", 1000, dup, 2, 1, false), TU_EINVAL);
	assert_string_equal(f.err, "attribute a given twice");
	const struct tu_heartbeat_attr empty[] = { { "", "1" } };
	assert_int_equal(build(&f, "s", "i", 1000, empty, 1, 1, false), TU_EINVAL);
	const struct tu_heartbeat_attr bad[] = { { "k", "\xc3" } };
	assert_int_equal(build(&f, "s", "i", 1000, bad, 1, 1, false), TU_EINVAL);
	assert_string_equal(f.err, "attribute k: value is not UTF-8");
	tu_arena_release(&f.a);
}

static void sequences_increase(void **state)
{
	(void)state;
	/* the wall clock in µs, or one more than the last when the clock has not moved */
	assert_int_equal(tu__heartbeat_next_seq(0, 5000000000LL), 5000000);
	assert_int_equal(tu__heartbeat_next_seq(5000000, 5000000000LL), 5000001);
	assert_int_equal(tu__heartbeat_next_seq(9000000, 5000000000LL), 9000001); /* clock went back */
	assert_int_equal(tu__heartbeat_next_seq(7, 0), 8);
	/* a restart a second later starts above anything the old process sent in between */
	uint64_t before = tu__heartbeat_next_seq(0, 1700000000000000000LL);
	assert_true(tu__heartbeat_next_seq(0, 1700000001000000000LL) > before + 1000);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(message_fields),
	cmocka_unit_test(subject_escaping),
	cmocka_unit_test(bounds_refused),
	cmocka_unit_test(sequences_increase),
};

TU_TEST_MAIN(tests)
