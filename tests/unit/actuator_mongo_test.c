/*
 * actuator_mongo_test.c - the mongodb target's pure parts
 * (actuators/mongo_target.c): commands to filters (preconditions joined with
 * $and, values matched as the producer renders them), update and insert
 * checks, bad params, the verdicts a bulk's counts give, and the classes of
 * driver errors.
 */
#include "testmain.h"

#include <stdarg.h>
#include <string.h>

#include "mongo_target.h"

#define OP(x) TRUEUP__V1__PRECONDITION__OP__OP_##x
#define RES(x) TRUEUP__V1__OUTCOME__RESULT__RESULT_##x

/* A command built in static memory: params as "key=value" (sorted by the caller). */
struct cmd {
	Trueup__V1__FixCommand c;
	Trueup__V1__Attr attrs[8];
	Trueup__V1__Attr *params[8];
	Trueup__V1__Precondition pres[8];
	Trueup__V1__Precondition *pre[8];
	char text[8][512];
};

static Trueup__V1__FixCommand *command(const char *action, const char *params[])
{
	static struct cmd m;
	memset(&m, 0, sizeof(m));
	trueup__v1__fix_command__init(&m.c);
	m.c.action = (char *)action;
	m.c.command_id = "c1";
	for (size_t i = 0; params[i] != NULL; i++) {
		snprintf(m.text[i], sizeof(m.text[i]), "%s", params[i]);
		char *eq = strchr(m.text[i], '=');
		*eq = '\0';
		trueup__v1__attr__init(&m.attrs[i]);
		m.attrs[i].key = m.text[i];
		m.attrs[i].value = eq + 1;
		m.params[i] = &m.attrs[i];
		m.c.n_params++;
	}
	m.c.params = m.params;
	m.c.preconditions = m.pre;
	return &m.c;
}

static void add_pre(Trueup__V1__FixCommand *c, Trueup__V1__Precondition__Op op, const char *key,
		    const char *field, const char *value)
{
	struct cmd *m = (struct cmd *)c;
	Trueup__V1__Precondition *p = &m->pres[c->n_preconditions];
	trueup__v1__precondition__init(p);
	p->op = op;
	p->key = (char *)(key ? key : "");
	p->field = (char *)(field ? field : "");
	p->value = (char *)(value ? value : "");
	m->pre[c->n_preconditions++] = p;
}

/* The document as compact canonical JSON (types visible: $numberInt, $numberLong, ...). */
static const char *text(const bson_t *b)
{
	static char out[2048];
	char *s = bson_as_canonical_extended_json(b, NULL);
	size_t o = 0;
	for (const char *p = s; *p != '\0' && o + 1 < sizeof(out); p++) {
		if (*p != ' ')
			out[o++] = *p;
	}
	out[o] = '\0';
	bson_free(s);
	return out;
}

static void build_ok(Trueup__V1__FixCommand *c, struct tu__mongo_op *op)
{
	char err[512] = "";
	tu_status st = tu__mongo_op_build(c, op, err, sizeof(err));
	if (st != TU_OK)
		print_error("%s\n", err);
	assert_int_equal(st, TU_OK);
}

static void build_fails(Trueup__V1__FixCommand *c, const char *phrase)
{
	struct tu__mongo_op op;
	char err[512] = "";
	tu_status st = tu__mongo_op_build(c, &op, err, sizeof(err));
	if (st == TU_OK || strstr(err, phrase) == NULL)
		print_error("status %s, err: %s\nwanted: %s\n", tu_status_str(st), err, phrase);
	assert_int_not_equal(st, TU_OK);
	assert_non_null(strstr(err, phrase));
	assert_null(op.filter);
	assert_null(op.full);
}

static void filter_from_preconditions(void **state)
{
	(void)state;
	const char *p[] = { "collection=databases", "database=shop",
			    "filter={\"_id\": {\"$oid\": \"64b0000000000000000000aa\"}}", NULL };
	Trueup__V1__FixCommand *c = command("delete-one", p);
	struct tu__mongo_op op;

	/* Without preconditions the write matches the filter as given. */
	build_ok(c, &op);
	assert_int_equal(op.verb, TU_MONGO_DELETE_ONE);
	assert_string_equal(op.database, "shop");
	assert_string_equal(op.collection, "databases");
	assert_string_equal(text(op.full), "{\"_id\":{\"$oid\":\"64b0000000000000000000aa\"}}");
	tu__mongo_op_release(&op);

	add_pre(c, OP(FIELD_EQUALS), NULL, "spec.storage", "10Gi");
	add_pre(c, OP(FIELD_EQUALS), NULL, "spec.replicas", "3");
	add_pre(c, OP(EXISTS), NULL, "created", NULL);
	add_pre(c, OP(ABSENT), "lock", NULL, NULL); /* a key names the field too */
	add_pre(c, OP(EXISTS), NULL, NULL, NULL);   /* the document: implied by the filter */
	add_pre(c, OP(EQUALS), "status", NULL, "ready");
	build_ok(c, &op);
	assert_string_equal(text(op.filter), "{\"_id\":{\"$oid\":\"64b0000000000000000000aa\"}}");
	assert_string_equal(text(op.full),
			    "{\"$and\":[{\"_id\":{\"$oid\":\"64b0000000000000000000aa\"}},"
			    "{\"spec.storage\":{\"$in\":[\"10Gi\"]}},"
			    "{\"spec.replicas\":{\"$in\":[\"3\",{\"$numberLong\":\"3\"}]}},"
			    "{\"created\":{\"$exists\":true}},"
			    "{\"lock\":{\"$exists\":false}},"
			    "{\"status\":{\"$in\":[\"ready\"]}}]}");
	assert_null(op.update);
	tu__mongo_op_release(&op);
}

/* A precondition value matches what the producer would have rendered as that text. */
static void value_candidates(void **state)
{
	(void)state;
	const char *p[] = { "collection=c", "database=d", "filter={\"n\": 1}", NULL };
	struct {
		const char *value;
		const char *in;
	} cases[] = {
		{ "0.5", "[\"0.5\",{\"$numberDouble\":\"0.5\"}]" },
		{ "-7", "[\"-7\",{\"$numberLong\":\"-7\"}]" },
		{ "true", "[\"true\",true]" },
		{ "false", "[\"false\",false]" },
		{ "", "[\"\",null]" },
		{ "03", "[\"03\"]" },     /* no number renders as 03 */
		{ " 3", "[\"3\"]" },      /* (whitespace stripped by text(): the string is " 3") */
		{ "1e3", "[\"1e3\"]" },   /* renders as 1000 */
		{ "null", "[\"null\"]" }, /* null renders as "" */
		{ "{\"$gt\": 1}", "[\"{\\\"$gt\\\":1}\"]" }, /* only ever a string */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Trueup__V1__FixCommand *c = command("delete-one", p);
		struct tu__mongo_op op;
		char want[512];
		add_pre(c, OP(FIELD_EQUALS), NULL, "f", cases[i].value);
		build_ok(c, &op);
		snprintf(want, sizeof(want), "{\"$and\":[{\"n\":{\"$numberInt\":\"1\"}},{\"f\":{\"$in\":%s}}]}",
			 cases[i].in);
		if (strcmp(text(op.full), want) != 0)
			print_error("value \"%s\": %s\n", cases[i].value, text(op.full));
		assert_string_equal(text(op.full), want);
		tu__mongo_op_release(&op);
	}
}

static void update_documents(void **state)
{
	(void)state;
	const char *p[] = { "collection=c", "database=d", "filter={\"name\": \"orders\"}",
			    "update={\"$set\": {\"spec.storage\": \"20Gi\", \"replicas\": 2},"
			    " \"$unset\": {\"old\": \"\"}}",
			    NULL };
	Trueup__V1__FixCommand *c = command("update-one", p);
	struct tu__mongo_op op;

	add_pre(c, OP(FIELD_EQUALS), NULL, "spec.storage", "10Gi");
	build_ok(c, &op);
	assert_int_equal(op.verb, TU_MONGO_UPDATE_ONE);
	assert_string_equal(text(op.full), "{\"$and\":[{\"name\":\"orders\"},"
					   "{\"spec.storage\":{\"$in\":[\"10Gi\"]}}]}");
	/* What "already as desired" looks like: the filter and the fields as the update leaves them. */
	assert_string_equal(text(op.desired), "{\"$and\":[{\"name\":\"orders\"},"
					      "{\"spec.storage\":{\"$eq\":\"20Gi\"}},"
					      "{\"replicas\":{\"$eq\":{\"$numberInt\":\"2\"}}},"
					      "{\"old\":{\"$exists\":false}}]}");
	tu__mongo_op_release(&op);

	const char *inc[] = { "collection=c", "database=d", "filter={\"a\": 1}",
			      "update={\"$inc\": {\"n\": 1}}", NULL };
	build_fails(command("update-one", inc), "operator \"$inc\" is not allowed");
	const char *repl[] = { "collection=c", "database=d", "filter={\"a\": 1}",
			       "update={\"n\": 1}", NULL };
	build_fails(command("update-one", repl), "operator \"n\" is not allowed");
	const char *id[] = { "collection=c", "database=d", "filter={\"a\": 1}",
			     "update={\"$set\": {\"_id\": 1}}", NULL };
	build_fails(command("update-one", id), "$set of \"_id\": not a field path");
	const char *empty[] = { "collection=c", "database=d", "filter={\"a\": 1}",
				"update={\"$set\": {}}", NULL };
	build_fails(command("update-one", empty), "$set names no field");
	const char *none[] = { "collection=c", "database=d", "filter={\"a\": 1}", "update={}",
			       NULL };
	build_fails(command("update-one", none), "needs {\"$set\"");
	const char *missing[] = { "collection=c", "database=d", "filter={\"a\": 1}", NULL };
	build_fails(command("update-one", missing), "param update: missing");
}

static void insert_documents(void **state)
{
	(void)state;
	const char *p[] = { "collection=c", "database=d",
			    "document={\"_id\": {\"$oid\": \"64b0000000000000000000bb\"}, \"n\": 1}",
			    NULL };
	Trueup__V1__FixCommand *c = command("insert-one", p);
	struct tu__mongo_op op;

	add_pre(c, OP(ABSENT), NULL, NULL, NULL); /* the document: what an insert needs anyway */
	build_ok(c, &op);
	assert_int_equal(op.verb, TU_MONGO_INSERT_ONE);
	assert_string_equal(text(op.by_id), "{\"_id\":{\"$oid\":\"64b0000000000000000000bb\"}}");
	assert_null(op.full);
	tu__mongo_op_release(&op);

	c = command("insert-one", p);
	add_pre(c, OP(EXISTS), NULL, NULL, NULL);
	build_fails(c, "precondition 1: exists of the document can never hold for insert-one");
	c = command("insert-one", p);
	add_pre(c, OP(FIELD_EQUALS), NULL, "n", "1");
	build_fails(c, "insert-one takes no field preconditions");
	const char *noid[] = { "collection=c", "database=d", "document={\"n\": 1}", NULL };
	build_fails(command("insert-one", noid), "param document: needs an _id");
}

static void bad_params(void **state)
{
	(void)state;
	const char *nofilter[] = { "collection=c", "database=d", NULL };
	build_fails(command("delete-one", nofilter), "param filter: missing");
	const char *empty[] = { "collection=c", "database=d", "filter={}", NULL };
	build_fails(command("delete-one", empty), "param filter: empty");
	const char *notjson[] = { "collection=c", "database=d", "filter={\"a\": ", NULL };
	build_fails(command("delete-one", notjson), "param filter: invalid extended JSON");
	const char *array[] = { "collection=c", "database=d", "filter=[1]", NULL };
	build_fails(command("delete-one", array), "param filter: not a JSON object");
	const char *extra[] = { "collection=c", "database=d", "filter={\"a\": 1}", "key=x", NULL };
	build_fails(command("delete-one", extra), "param key: not a param of delete-one");
	const char *doc[] = { "collection=c", "database=d", "document={\"_id\": 1}",
			      "filter={\"a\": 1}", NULL };
	build_fails(command("delete-one", doc), "param document: not a param of delete-one");
	const char *nodb[] = { "collection=c", "filter={\"a\": 1}", NULL };
	build_fails(command("delete-one", nodb), "param database: missing");
	const char *baddb[] = { "collection=c", "database=a.b", "filter={\"a\": 1}", NULL };
	build_fails(command("delete-one", baddb), "param database: not a database name");
	const char *badcoll[] = { "collection=system.users", "database=d", "filter={\"a\": 1}",
				  NULL };
	build_fails(command("delete-one", badcoll), "param collection: not a collection name");
	const char *unsorted[] = { "database=d", "collection=c", "filter={\"a\": 1}", NULL };
	build_fails(command("delete-one", unsorted), "params: not sorted");
	const char *ok[] = { "collection=c", "database=d", "filter={\"a\": 1}", NULL };
	Trueup__V1__FixCommand *c = command("delete-one", ok);
	add_pre(c, OP(ABSENT), NULL, NULL, NULL);
	build_fails(c, "absent of the document can never hold for delete-one");
	c = command("delete-one", ok);
	add_pre(c, OP(FIELD_EQUALS), NULL, NULL, "x");
	build_fails(c, "precondition 1: field_equals needs a field");
	c = command("delete-one", ok);
	add_pre(c, OP(FIELD_EQUALS), NULL, "$where", "x");
	build_fails(c, "precondition 1: \"$where\" is not a field path");
	c = command("delete-one", ok);
	add_pre(c, OP(UNSPECIFIED), NULL, "f", "x");
	build_fails(c, "precondition 1: missing or unknown op");
	build_fails(command("drop", ok), "not a verb of the mongodb target");
	assert_true(tu_mongo_verb_known("update-one"));
	assert_false(tu_mongo_verb_known("del"));
	assert_false(tu_mongo_verb_known(NULL));
}

/* What the counts of a bulk say, and where they need the documents read back. */
static void bulk_verdicts(void **state)
{
	(void)state;
	Trueup__V1__Outcome__Result res[4];
	bool exact[4];
	enum tu__mongo_after after[4];

	/* Every delete removed one: exact, no reads. */
	assert_false(tu__mongo_needs_after(TU_MONGO_DELETE_ONE, 3, 3, 0));
	tu__mongo_decide(TU_MONGO_DELETE_ONE, 3, 3, 0, NULL, res, exact);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i], RES(SUCCEEDED));
		assert_true(exact[i]);
	}
	/* One delete of three matched nothing: the documents tell which. */
	assert_true(tu__mongo_needs_after(TU_MONGO_DELETE_ONE, 3, 2, 0));
	after[0] = TU_MONGO_AFTER_GONE;
	after[1] = TU_MONGO_AFTER_OTHER;
	after[2] = TU_MONGO_AFTER_GONE;
	tu__mongo_decide(TU_MONGO_DELETE_ONE, 3, 2, 0, after, res, exact);
	assert_int_equal(res[0], RES(SUCCEEDED));
	assert_int_equal(res[1], RES(SKIPPED_PRECONDITION));
	assert_int_equal(res[2], RES(SUCCEEDED));
	assert_true(exact[0] && exact[1] && exact[2]);
	/* Nothing removed, one already gone: noop, one skipped. */
	after[0] = TU_MONGO_AFTER_GONE;
	after[1] = TU_MONGO_AFTER_OTHER;
	tu__mongo_decide(TU_MONGO_DELETE_ONE, 2, 0, 0, after, res, exact);
	assert_int_equal(res[0], RES(NOOP));
	assert_int_equal(res[1], RES(SKIPPED_PRECONDITION));
	assert_true(exact[0] && exact[1]);
	/* One removed, two gone: which one was gone before cannot be told. */
	after[0] = TU_MONGO_AFTER_GONE;
	after[1] = TU_MONGO_AFTER_GONE;
	tu__mongo_decide(TU_MONGO_DELETE_ONE, 2, 1, 0, after, res, exact);
	assert_int_equal(res[0], RES(SUCCEEDED));
	assert_int_equal(res[1], RES(SUCCEEDED));
	assert_false(exact[0] || exact[1]);

	/* Updates: all matched and modified; all matched, none modified (noop). */
	assert_false(tu__mongo_needs_after(TU_MONGO_UPDATE_ONE, 2, 2, 1));
	tu__mongo_decide(TU_MONGO_UPDATE_ONE, 2, 2, 2, NULL, res, exact);
	assert_int_equal(res[0], RES(SUCCEEDED));
	assert_true(exact[0] && exact[1]);
	tu__mongo_decide(TU_MONGO_UPDATE_ONE, 2, 2, 0, NULL, res, exact);
	assert_int_equal(res[1], RES(NOOP));
	assert_true(exact[1]);
	tu__mongo_decide(TU_MONGO_UPDATE_ONE, 2, 2, 1, NULL, res, exact);
	assert_int_equal(res[0], RES(SUCCEEDED));
	assert_false(exact[0]);
	/* One of three matched: as desired now (ours), different, gone. */
	after[0] = TU_MONGO_AFTER_DESIRED;
	after[1] = TU_MONGO_AFTER_OTHER;
	after[2] = TU_MONGO_AFTER_GONE;
	tu__mongo_decide(TU_MONGO_UPDATE_ONE, 3, 1, 1, after, res, exact);
	assert_int_equal(res[0], RES(SUCCEEDED));
	assert_int_equal(res[1], RES(SKIPPED_PRECONDITION));
	assert_int_equal(res[2], RES(SKIPPED_PRECONDITION));
	assert_true(exact[0] && exact[1] && exact[2]);
	/* None matched, but one is as desired already: noop. */
	tu__mongo_decide(TU_MONGO_UPDATE_ONE, 3, 0, 0, after, res, exact);
	assert_int_equal(res[0], RES(NOOP));
	assert_true(exact[0]);
	/* Inserts never need reads: write errors say it all. */
	assert_false(tu__mongo_needs_after(TU_MONGO_INSERT_ONE, 3, 0, 0));
}

static void error_classes(void **state)
{
	(void)state;
	bson_error_t e;
	memset(&e, 0, sizeof(e));
	e.domain = MONGOC_ERROR_STREAM;
	e.code = MONGOC_ERROR_STREAM_SOCKET;
	assert_int_equal(tu__mongo_classify(&e), RES(FAILED_RETRYABLE));
	e.domain = MONGOC_ERROR_SERVER_SELECTION;
	e.code = MONGOC_ERROR_SERVER_SELECTION_FAILURE;
	assert_int_equal(tu__mongo_classify(&e), RES(FAILED_RETRYABLE));
	e.domain = MONGOC_ERROR_SERVER;
	e.code = 112; /* WriteConflict */
	assert_int_equal(tu__mongo_classify(&e), RES(FAILED_RETRYABLE));
	e.code = 10107; /* NotWritablePrimary */
	assert_int_equal(tu__mongo_classify(&e), RES(FAILED_RETRYABLE));
	e.code = 121; /* DocumentValidationFailure */
	assert_int_equal(tu__mongo_classify(&e), RES(FAILED_PERMANENT));
	e.code = 2; /* BadValue */
	assert_int_equal(tu__mongo_classify(&e), RES(FAILED_PERMANENT));
	e.domain = MONGOC_ERROR_COMMAND;
	e.code = MONGOC_ERROR_COMMAND_INVALID_ARG;
	assert_int_equal(tu__mongo_classify(&e), RES(FAILED_PERMANENT));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(filter_from_preconditions),
	cmocka_unit_test(value_candidates),
	cmocka_unit_test(update_documents),
	cmocka_unit_test(insert_documents),
	cmocka_unit_test(bad_params),
	cmocka_unit_test(bulk_verdicts),
	cmocka_unit_test(error_classes),
};

TU_TEST_MAIN(tests)
