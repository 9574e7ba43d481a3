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

/* ---- tu_adapter_run: one batch call, or one execute per command ---------------------- */

#define PERMANENT TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT
#define DRY_RUN TRUEUP__V1__OUTCOME__RESULT__RESULT_DRY_RUN

/* What the fake adapters saw. */
static struct {
	int executes;      /* execute() calls */
	int batches;       /* execute_batch() calls */
	size_t batch_n;    /* n of the last batch */
} seen;

static bool any_verb(const char *action)
{
	(void)action;
	return true;
}

/* Succeeds, except for action "fail" (status EIO) and "blank" (no verdict). */
static tu_status fake_execute(void *impl, const Trueup__V1__FixCommand *cmd, bool dry_run,
			      struct tu_exec *out)
{
	(void)impl;
	seen.executes++;
	if (strcmp(cmd->action, "fail") == 0)
		return TU_EIO;
	if (strcmp(cmd->action, "blank") == 0)
		return TU_OK;
	tu_exec_set(out, dry_run ? DRY_RUN : SUCCEEDED, NULL, "%s %s", cmd->action,
		    cmd->command_id);
	return TU_OK;
}

/* Gives a verdict to every command but the last (a batch that forgets one). */
static tu_status fake_batch(void *impl, const Trueup__V1__FixCommand *const *cmds,
			    const bool *dry_run, size_t n, struct tu_exec *outs)
{
	(void)impl;
	seen.batches++;
	seen.batch_n = n;
	for (size_t i = 0; i + 1 < n; i++)
		tu_exec_set(&outs[i], dry_run[i] ? DRY_RUN : SUCCEEDED, NULL, "batch %s",
			    cmds[i]->command_id);
	return TU_OK;
}

static void run_commands(const struct tu_adapter_ops *ops, struct tu_exec *outs)
{
	static Trueup__V1__FixCommand c[3];
	const Trueup__V1__FixCommand *cmds[3] = { &c[0], &c[1], &c[2] };
	const bool dry[3] = { false, true, false };
	static const char *const actions[3] = { "del", "blank", "fail" };
	static const char *const ids[3] = { "a", "b", "c" };
	struct tu_adapter ad = { ops, NULL };

	for (int i = 0; i < 3; i++) {
		trueup__v1__fix_command__init(&c[i]);
		c[i].action = (char *)actions[i];
		c[i].command_id = (char *)ids[i];
	}
	memset(&seen, 0, sizeof(seen));
	tu_adapter_run(&ad, cmds, dry, 3, outs);
}

static void run_one_by_one(void **state)
{
	(void)state;
	static const struct tu_adapter_ops ops = { "fake", any_verb, fake_execute, NULL, NULL };
	struct tu_exec outs[3];

	run_commands(&ops, outs);
	assert_int_equal(seen.executes, 3);
	assert_int_equal(seen.batches, 0);
	assert_int_equal(outs[0].result, SUCCEEDED);
	assert_string_equal(outs[0].detail, "del a");
	/* No verdict, or a failed call: failed-permanent naming the adapter. */
	assert_int_equal(outs[1].result, PERMANENT);
	assert_string_equal(outs[1].detail, "the fake adapter failed unexpectedly");
	assert_int_equal(outs[2].result, PERMANENT);
	assert_string_equal(outs[2].error, "EIO");
}

static void run_as_batch(void **state)
{
	(void)state;
	static const struct tu_adapter_ops ops = { "fake", any_verb, fake_execute, NULL, fake_batch };
	struct tu_exec outs[3];

	run_commands(&ops, outs);
	assert_int_equal(seen.batches, 1);
	assert_int_equal(seen.batch_n, 3);
	assert_int_equal(seen.executes, 0);
	assert_int_equal(outs[0].result, SUCCEEDED);
	assert_string_equal(outs[0].detail, "batch a");
	assert_int_equal(outs[1].result, DRY_RUN); /* dry_run reaches the batch per command */
	assert_int_equal(outs[2].result, PERMANENT); /* forgotten by the batch */
	assert_string_equal(outs[2].detail, "the fake adapter failed unexpectedly");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(run_one_by_one),
	cmocka_unit_test(run_as_batch),
	cmocka_unit_test(exec_set_formats),
	cmocka_unit_test(exec_set_cuts_long_text),
	cmocka_unit_test(utf8_valid_kept),
	cmocka_unit_test(utf8_invalid_replaced),
	cmocka_unit_test(exec_set_sanitizes),
};

TU_TEST_MAIN(tests)
