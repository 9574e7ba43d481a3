/*
 * actuator_decode_test.c - command validation of the actuator loop: every
 * dead-letter reason, and that a good command passes.
 */
#include "testmain.h"

#include <stdio.h>
#include <string.h>

#include "actuator.h"
#include "contract.h"
#include "redis_target.h"

#define SUBJ "trueup.cmd.redis.del"

/* A valid del command for target "redis" in the arena. */
static Trueup__V1__FixCommand *good_cmd(struct tu_arena *a)
{
	Trueup__V1__FixCommand *c = tu_arena_alloc(a, sizeof(*c));
	trueup__v1__fix_command__init(c);
	c->command_id = "0123456789abcdef01234567";
	c->correlation_id = "fedcba9876543210fedcba98";
	c->rule = "ghost-worker";
	c->target = "redis";
	c->action = "del";
	c->entity = tu_pb_entity(a, "worker", "default", "k3s-worker-3");
	c->n_params = 1;
	c->params = tu_arena_alloc(a, sizeof(*c->params));
	c->params[0] = tu_pb_attr(a, "key", "autoscaler:workers:k3s-worker-3");
	c->attempt = 1;
	return c;
}

struct fx {
	struct tu_arena a;     /* messages of the test */
	struct tu_arena dec;   /* what decode allocates */
	char reason[TU_ACTUATOR_MAX_REASON];
	Trueup__V1__FixCommand *out;
};

static tu_status run(struct fx *f, const char *subject, const char *type,
		     const Trueup__V1__FixCommand *c)
{
	size_t len = 0;
	void *data = tu_pb_pack(&f->a, &c->base, &len);
	f->out = NULL;
	f->reason[0] = '\0';
	return tu_actuator_decode("redis", tu_redis_verb_known, subject, type, data, len, &f->dec,
				  &f->out, f->reason, sizeof(f->reason));
}

static void fx_init(struct fx *f)
{
	tu_arena_init(&f->a, 4096);
	tu_arena_init(&f->dec, 4096);
	f->out = NULL;
}

static void fx_release(struct fx *f)
{
	tu_arena_release(&f->a);
	tu_arena_release(&f->dec);
}

/* Expects status st and a reason containing want; *out untouched. */
static void expect_dead(struct fx *f, tu_status got, tu_status st, const char *want)
{
	assert_int_equal(got, st);
	assert_null(f->out);
	if (strstr(f->reason, want) == NULL)
		fail_msg("reason \"%s\" does not contain \"%s\"", f->reason, want);
}

static void decode_ok(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	assert_int_equal(run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_OK);
	assert_non_null(f.out);
	assert_string_equal(f.out->command_id, c->command_id);
	assert_string_equal(f.out->params[0]->value, "autoscaler:workers:k3s-worker-3");
	assert_string_equal(f.out->entity->name, "k3s-worker-3");
	fx_release(&f);
}

static void decode_missing_type(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	expect_dead(&f, run(&f, SUBJ, NULL, good_cmd(&f.a)), TU_EDECODE,
		    "header Trueup-Type: missing");
	fx_release(&f);
}

static void decode_wrong_type(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_OUTCOME, good_cmd(&f.a)), TU_EDECODE,
		    "header Trueup-Type: \"trueup.v1.Outcome\"");
	fx_release(&f);
}

static void decode_garbage_payload(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	static const unsigned char junk[] = { 0xff, 0xff, 0xff, 0x01, 0x02 };
	tu_status st = tu_actuator_decode("redis", tu_redis_verb_known, SUBJ, TU_TYPE_COMMAND,
					  junk, sizeof(junk), &f.dec, &f.out, f.reason,
					  sizeof(f.reason));
	expect_dead(&f, st, TU_EDECODE, "do not decode as trueup.v1.FixCommand");
	fx_release(&f);
}

static void decode_oversize_payload(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	tu_status st = tu_actuator_decode("redis", tu_redis_verb_known, SUBJ, TU_TYPE_COMMAND,
					  "", (size_t)TU_MAX_MSG + 1, &f.dec, &f.out, f.reason,
					  sizeof(f.reason));
	expect_dead(&f, st, TU_ETOOBIG, "over TU_MAX_MSG");
	fx_release(&f);
}

static void decode_missing_command_id(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	c->command_id = "";
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_EINVAL, "field command_id: missing");
	fx_release(&f);
}

static void decode_invalid_command_id(void **state)
{
	(void)state;
	static const char *const bad[] = { "a.b", "a b", "a*", "x>", "tab\there" };
	struct fx f;
	fx_init(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Trueup__V1__FixCommand *c = good_cmd(&f.a);
		c->command_id = (char *)bad[i];
		expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_EINVAL,
			    "is not a valid subject token");
	}
	fx_release(&f);
}

static void decode_missing_target(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	c->target = "";
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_EINVAL, "field target: missing");
	fx_release(&f);
}

static void decode_other_target(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	c->target = "docker";
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_EINVAL,
		    "field target: \"docker\" is not this actuator's target redis");
	fx_release(&f);
}

static void decode_missing_action(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	c->action = "";
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_EINVAL, "field action: missing");
	fx_release(&f);
}

static void decode_unknown_action(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	c->action = "flushall";
	expect_dead(&f, run(&f, "trueup.cmd.redis.flushall", TU_TYPE_COMMAND, c), TU_EINVAL,
		    "field action: unknown action \"flushall\"");
	fx_release(&f);
}

static void decode_too_many_params(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	c->n_params = TU_MAX_PARAMS + 1;
	c->params = tu_arena_alloc(&f.a, c->n_params * sizeof(*c->params));
	for (size_t i = 0; i < c->n_params; i++)
		c->params[i] = tu_pb_attr(&f.a, tu_arena_printf(&f.a, "field.f%03zu", i), "v");
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_ETOOBIG,
		    "field params: 65 entries, over TU_MAX_PARAMS");
	fx_release(&f);
}

static void decode_too_many_preconditions(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	c->n_preconditions = TU_MAX_PARAMS + 1;
	c->preconditions = tu_arena_alloc(&f.a, c->n_preconditions * sizeof(*c->preconditions));
	for (size_t i = 0; i < c->n_preconditions; i++) {
		c->preconditions[i] = tu_arena_alloc(&f.a, sizeof(**c->preconditions));
		trueup__v1__precondition__init(c->preconditions[i]);
		c->preconditions[i]->op = TRUEUP__V1__PRECONDITION__OP__OP_EXISTS;
	}
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_ETOOBIG,
		    "field preconditions: 65 entries, over TU_MAX_PARAMS");
	fx_release(&f);
}

static void decode_subject_mismatch(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	expect_dead(&f, run(&f, "trueup.cmd.redis.set", TU_TYPE_COMMAND, good_cmd(&f.a)),
		    TU_EINVAL, "subject: \"trueup.cmd.redis.set\" does not match");
	fx_release(&f);
}

static void decode_reason_quotes_bytes(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	c->target = "re\x01\"dis";
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_EINVAL, "\"re\\x01\\x22dis\"");
	fx_release(&f);
}

static void decode_reason_cuts_long_values(void **state)
{
	(void)state;
	struct fx f;
	fx_init(&f);
	Trueup__V1__FixCommand *c = good_cmd(&f.a);
	char long_target[4096];
	memset(long_target, 'x', sizeof(long_target) - 1);
	long_target[sizeof(long_target) - 1] = '\0';
	c->target = long_target;
	expect_dead(&f, run(&f, SUBJ, TU_TYPE_COMMAND, c), TU_EINVAL, "...\" is not this");
	assert_true(strlen(f.reason) < 200);
	fx_release(&f);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(decode_ok),
	cmocka_unit_test(decode_missing_type),
	cmocka_unit_test(decode_wrong_type),
	cmocka_unit_test(decode_garbage_payload),
	cmocka_unit_test(decode_oversize_payload),
	cmocka_unit_test(decode_missing_command_id),
	cmocka_unit_test(decode_invalid_command_id),
	cmocka_unit_test(decode_missing_target),
	cmocka_unit_test(decode_other_target),
	cmocka_unit_test(decode_missing_action),
	cmocka_unit_test(decode_unknown_action),
	cmocka_unit_test(decode_too_many_params),
	cmocka_unit_test(decode_too_many_preconditions),
	cmocka_unit_test(decode_subject_mismatch),
	cmocka_unit_test(decode_reason_quotes_bytes),
	cmocka_unit_test(decode_reason_cuts_long_values),
};

TU_TEST_MAIN(tests)
