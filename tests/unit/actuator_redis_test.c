/*
 * actuator_redis_test.c - the Redis target's pure parts: params and
 * preconditions -> script KEYS/ARGV, classification of Redis errors, URLs.
 * The script itself runs against a real redis-server in
 * tests/integration/actuator_redis.sh.
 */
#include "testmain.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "redis_target.h"

#define ID "0123456789abcdef01234567"
#define MARKER "trueup:done:" ID
#define RETRYABLE TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE
#define PERMANENT TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT

struct fx {
	struct tu_arena a;          /* the command */
	struct tu_arena call_arena; /* what call_build allocates */
	Trueup__V1__FixCommand cmd;
	struct tu__redis_call call;
	char err[256];
};

static void fx_init(struct fx *f, const char *action)
{
	memset(f, 0, sizeof(*f));
	tu_arena_init(&f->a, 4096);
	tu_arena_init(&f->call_arena, 4096);
	trueup__v1__fix_command__init(&f->cmd);
	f->cmd.command_id = ID;
	f->cmd.target = "redis";
	f->cmd.action = (char *)action;
	f->cmd.params = tu_arena_alloc(&f->a, (TU_MAX_PARAMS + 1) * sizeof(*f->cmd.params));
	f->cmd.preconditions =
		tu_arena_alloc(&f->a, (TU_MAX_PARAMS + 1) * sizeof(*f->cmd.preconditions));
}

static void fx_release(struct fx *f)
{
	tu_arena_release(&f->a);
	tu_arena_release(&f->call_arena);
}

/* Adds a param (call in key order, as the processor sorts them). */
static void param(struct fx *f, const char *key, const char *value)
{
	f->cmd.params[f->cmd.n_params++] = tu_pb_attr(&f->a, key, value);
}

static void pre(struct fx *f, Trueup__V1__Precondition__Op op, const char *key, const char *field,
		const char *value)
{
	Trueup__V1__Precondition *p = tu_arena_alloc(&f->a, sizeof(*p));
	trueup__v1__precondition__init(p);
	p->op = op;
	p->key = tu_arena_strdup(&f->a, key);
	p->field = tu_arena_strdup(&f->a, field);
	p->value = tu_arena_strdup(&f->a, value);
	f->cmd.preconditions[f->cmd.n_preconditions++] = p;
}

static tu_status build(struct fx *f, bool dry)
{
	return tu__redis_call_build(&f->cmd, "trueup:done:", 604800000, dry, &f->call_arena,
				    &f->call, f->err, sizeof(f->err));
}

/* Checks the call's KEYS and ARGV against NULL-terminated expectations. */
static void expect_call(const struct fx *f, const char *const *keys, const char *const *argv)
{
	size_t nk = 0, na = 0;
	while (keys[nk] != NULL)
		nk++;
	while (argv[na] != NULL)
		na++;
	assert_int_equal(f->call.n_keys, nk);
	assert_int_equal(f->call.n_argv, na);
	for (size_t i = 0; i < nk; i++)
		assert_string_equal(f->call.keys[i], keys[i]);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(f->call.argv[i], argv[i]);
}

static void expect_bad(struct fx *f, const char *want)
{
	struct tu__redis_call before = f->call;
	assert_int_not_equal(build(f, false), TU_OK);
	if (strstr(f->err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", f->err, want);
	assert_memory_equal(&before, &f->call, sizeof(before)); /* out untouched */
}

static void call_del(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "del");
	param(&f, "key", "autoscaler:workers:k3s-worker-3");
	assert_int_equal(build(&f, false), TU_OK);
	expect_call(&f, (const char *[]){ MARKER, "autoscaler:workers:k3s-worker-3", NULL },
		    (const char *[]){ "exec", "del", "604800000", "0", NULL });
	fx_release(&f);
}

static void call_set(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "set");
	param(&f, "key", "autoscaler:workers:next_number");
	param(&f, "value", "4");
	assert_int_equal(build(&f, false), TU_OK);
	expect_call(&f, (const char *[]){ MARKER, "autoscaler:workers:next_number", NULL },
		    (const char *[]){ "exec", "set", "604800000", "0", "4", NULL });
	fx_release(&f);
}

static void call_set_empty_value(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "set");
	param(&f, "key", "k");
	param(&f, "value", "");
	assert_int_equal(build(&f, false), TU_OK);
	expect_call(&f, (const char *[]){ MARKER, "k", NULL },
		    (const char *[]){ "exec", "set", "604800000", "0", "", NULL });
	fx_release(&f);
}

static void call_hset_fields(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "hset");
	param(&f, "field.host", "10.0.0.3");
	param(&f, "field.status", "ready");
	param(&f, "key", "autoscaler:workers:k3s-worker-3");
	assert_int_equal(build(&f, false), TU_OK);
	expect_call(&f, (const char *[]){ MARKER, "autoscaler:workers:k3s-worker-3", NULL },
		    (const char *[]){ "exec", "hset", "604800000", "0", "host", "10.0.0.3",
				      "status", "ready", NULL });
	fx_release(&f);
}

static void call_hdel(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "hdel");
	param(&f, "field", "status");
	param(&f, "key", "h");
	assert_int_equal(build(&f, false), TU_OK);
	expect_call(&f, (const char *[]){ MARKER, "h", NULL },
		    (const char *[]){ "exec", "hdel", "604800000", "0", "status", NULL });
	fx_release(&f);
}

static void call_sadd_srem(void **state)
{
	(void)state;
	static const char *const verbs[] = { "sadd", "srem" };
	for (size_t i = 0; i < 2; i++) {
		struct fx f;
		fx_init(&f, verbs[i]);
		param(&f, "key", "s");
		param(&f, "member", "k3s-worker-3");
		assert_int_equal(build(&f, false), TU_OK);
		expect_call(&f, (const char *[]){ MARKER, "s", NULL },
			    (const char *[]){ "exec", verbs[i], "604800000", "0", "k3s-worker-3",
					      NULL });
		fx_release(&f);
	}
}

static void call_preconditions(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "set");
	param(&f, "key", "counter");
	param(&f, "value", "4");
	pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_EQUALS, "", "", "3");
	pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_EXISTS, "other", "", "");
	pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_ABSENT, "lock", "", "");
	pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS, "w:3", "status", "initializing");
	assert_int_equal(build(&f, false), TU_OK);
	expect_call(&f,
		    (const char *[]){ MARKER, "counter", "counter", "other", "lock", "w:3", NULL },
		    (const char *[]){ "exec", "set", "604800000", "4",
				      "equals", "", "3",
				      "exists", "", "",
				      "absent", "", "",
				      "field_equals", "status", "initializing",
				      "4", NULL });
	fx_release(&f);
}

static void call_dry_run(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "del");
	param(&f, "key", "k");
	assert_int_equal(build(&f, true), TU_OK);
	assert_string_equal(f.call.argv[0], "dry");
	fx_release(&f);
}

static void call_at_bounds(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "hset");
	for (int i = 0; i < TU_MAX_PARAMS - 1; i++)
		param(&f, tu_arena_printf(&f.a, "field.f%02d", i), "v");
	param(&f, "key", "h");
	for (int i = 0; i < TU_MAX_PARAMS; i++)
		pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS, "", "f", "v");
	assert_int_equal(build(&f, false), TU_OK);
	assert_int_equal(f.call.n_keys, 2 + TU_MAX_PARAMS);
	assert_int_equal(f.call.n_argv, 4 + 3 * TU_MAX_PARAMS + 2 * (TU_MAX_PARAMS - 1));
	assert_true(f.call.n_argv <= TU_REDIS_MAX_ARGV);
	fx_release(&f);
}

static void call_over_bounds(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "hset");
	param(&f, "key", "h");
	for (int i = 0; i <= TU_MAX_PARAMS; i++)
		pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_EXISTS, "", "", "");
	expect_bad(&f, "TU_MAX_PARAMS");
	fx_release(&f);
}

static void call_missing_key(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "del");
	expect_bad(&f, "param key: missing");
	param(&f, "key", "");
	expect_bad(&f, "param key: missing or empty");
	fx_release(&f);
}

static void call_unknown_param(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "del");
	param(&f, "key", "k");
	param(&f, "value", "x");
	expect_bad(&f, "param value: not a param of del");
	fx_release(&f);
}

static void call_field_param_only_for_hset(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "set");
	param(&f, "field.x", "1");
	param(&f, "key", "k");
	param(&f, "value", "v");
	expect_bad(&f, "param field.x: not a param of set");
	fx_release(&f);
}

static void call_missing_verb_param(void **state)
{
	(void)state;
	static const char *const verbs[] = { "set", "hdel", "sadd", "srem" };
	static const char *const names[] = { "value", "field", "member", "member" };
	for (size_t i = 0; i < 4; i++) {
		struct fx f;
		fx_init(&f, verbs[i]);
		param(&f, "key", "k");
		char want[64];
		snprintf(want, sizeof(want), "param %s: missing", names[i]);
		expect_bad(&f, want);
		fx_release(&f);
	}
}

static void call_hset_needs_fields(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "hset");
	param(&f, "key", "h");
	expect_bad(&f, "hset needs at least one");
	fx_release(&f);
	fx_init(&f, "hset");
	param(&f, "field.", "v");
	param(&f, "key", "h");
	expect_bad(&f, "param field.: empty field name");
	fx_release(&f);
}

static void call_hdel_empty_field(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "hdel");
	param(&f, "field", "");
	param(&f, "key", "h");
	expect_bad(&f, "param field: empty");
	fx_release(&f);
}

static void call_params_unsorted(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "set");
	param(&f, "value", "v");
	param(&f, "key", "k");
	expect_bad(&f, "not sorted by key");
	fx_release(&f);
	fx_init(&f, "set");
	param(&f, "key", "k");
	param(&f, "key", "k2");
	expect_bad(&f, "a key twice");
	fx_release(&f);
}

static void call_precondition_without_op(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "del");
	param(&f, "key", "k");
	pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_EXISTS, "", "", "");
	pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_UNSPECIFIED, "", "", "");
	expect_bad(&f, "precondition 2: missing or unknown op");
	fx_release(&f);
}

static void call_field_equals_needs_field(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f, "del");
	param(&f, "key", "k");
	pre(&f, TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS, "", "", "x");
	expect_bad(&f, "precondition 1: field_equals needs a field");
	fx_release(&f);
}

static void verbs_known(void **state)
{
	(void)state;
	static const char *const yes[] = { "del", "set", "hset", "hdel", "sadd", "srem" };
	static const char *const no[] = { "", "DEL", "flushall", "eval", "hsetnx", "del " };
	for (size_t i = 0; i < 6; i++) {
		assert_true(tu_redis_verb_known(yes[i]));
		assert_false(tu_redis_verb_known(no[i]));
	}
	assert_false(tu_redis_verb_known(NULL));
}

static void classify_connection_errors(void **state)
{
	(void)state;
	assert_int_equal(tu__redis_classify(REDIS_ERR_IO, "Connection refused"), RETRYABLE);
	assert_int_equal(tu__redis_classify(REDIS_ERR_EOF, "Server closed the connection"),
			 RETRYABLE);
	assert_int_equal(tu__redis_classify(REDIS_ERR_IO, "Resource temporarily unavailable"),
			 RETRYABLE);
	assert_int_equal(tu__redis_classify(REDIS_ERR_PROTOCOL, "Protocol error"), RETRYABLE);
	assert_int_equal(tu__redis_classify(REDIS_ERR_OTHER, NULL), RETRYABLE);
}

static void classify_retryable_replies(void **state)
{
	(void)state;
	static const char *const errs[] = {
		"LOADING Redis is loading the dataset in memory",
		"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
		"NOSAVE.",
		"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
		"TRYAGAIN Multiple keys request during rehashing of slot",
		"CLUSTERDOWN The cluster is down",
		"READONLY You can't write against a read only replica.",
		"OOM command not allowed when used memory > 'maxmemory'.",
		"NOREPLICAS Not enough good replicas to write.",
		"NOAUTH Authentication required.",
		"WRONGPASS invalid username-password pair or user is disabled.",
		"BUSY",
	};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		if (tu__redis_classify(0, errs[i]) != RETRYABLE)
			fail_msg("\"%s\" should be retryable", errs[i]);
	}
}

static void classify_permanent_replies(void **state)
{
	(void)state;
	static const char *const errs[] = {
		"WRONGTYPE Operation against a key holding the wrong kind of value",
		"WRONGTYPE trueup: hset needs a hash but k holds a string",
		"NOPERM this user has no permissions to access one of the keys used as arguments",
		"ERR wrong number of arguments for 'evalsha' command",
		"ERR Error running script (call to f_0123): @user_script:1: bad",
		"NOSCRIPT No matching script. Please use EVAL.",
		"",
		"BUSYKEY Target key name already exists.",
		"LOADINGX not a real code",
		"busy lower case is not a code",
	};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		if (tu__redis_classify(0, errs[i]) != PERMANENT)
			fail_msg("\"%s\" should be permanent", errs[i]);
	}
	assert_int_equal(tu__redis_classify(0, NULL), PERMANENT);
}





static const struct CMUnitTest tests[] = {
	cmocka_unit_test(call_del),
	cmocka_unit_test(call_set),
	cmocka_unit_test(call_set_empty_value),
	cmocka_unit_test(call_hset_fields),
	cmocka_unit_test(call_hdel),
	cmocka_unit_test(call_sadd_srem),
	cmocka_unit_test(call_preconditions),
	cmocka_unit_test(call_dry_run),
	cmocka_unit_test(call_at_bounds),
	cmocka_unit_test(call_over_bounds),
	cmocka_unit_test(call_missing_key),
	cmocka_unit_test(call_unknown_param),
	cmocka_unit_test(call_field_param_only_for_hset),
	cmocka_unit_test(call_missing_verb_param),
	cmocka_unit_test(call_hset_needs_fields),
	cmocka_unit_test(call_hdel_empty_field),
	cmocka_unit_test(call_params_unsorted),
	cmocka_unit_test(call_precondition_without_op),
	cmocka_unit_test(call_field_equals_needs_field),
	cmocka_unit_test(verbs_known),
	cmocka_unit_test(classify_connection_errors),
	cmocka_unit_test(classify_retryable_replies),
	cmocka_unit_test(classify_permanent_replies),
};

TU_TEST_MAIN(tests)
