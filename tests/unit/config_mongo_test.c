/*
 * config_mongo_test.c - the mongodb source and target in lib/config.c: a
 * full entry read back, the defaults, and errors naming file:line:col and
 * the field (a password in the URI, a filter that is not a JSON object,
 * the verbs and their params).
 */
#include "testmain.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "configtest.h"

static const char full_yaml[] =
	"sources:\n"
	"  - name: mongo\n"
	"    type: mongodb\n"
	"    uri: mongodb://trueup@db1:27017,db2:27017/?replicaSet=rs0\n"
	"    password_file: /etc/trueup/mongo.pass\n"
	"    timeout: 3s\n"
	"    batch_size: 200\n"
	"    rate: 20\n"
	"    max_document: 256KiB\n"
	"    observe:\n"
	"      - kind: database\n"
	"        database: shop\n"
	"        collection: databases\n"
	"        filter: '{\"tier\": \"prod\", \"_id\": {\"$oid\": \"64b000000000000000000001\"}}'\n"
	"        projection: '{\"name\": 1, \"spec\": 1}'\n"
	"        namespace: \"{.tier}\"\n"
	"        name: \"{.name}\"\n"
	"        attrs: { id: '{._id[\"$oid\"]}', storage: \"{.spec.storage}\" }\n"
	"        match: { .kind: db }\n"
	"        name_prefix: db-\n"
	"targets:\n"
	"  - name: mongo\n"
	"    type: mongodb\n"
	"    uri: mongodb://trueup-rw@db1:27017/?authSource=admin\n"
	"    password_file: mongo-rw.pass\n"
	"    batch: 64\n"
	"rules:\n"
	"  - name: r\n"
	"    type: presence\n"
	"    kind: database\n"
	"    sources: [mongo, mongo2]\n"
	"    when_extra:\n"
	"      mongo:\n"
	"        - target: mongo\n"
	"          action: delete-one\n"
	"          database: shop\n"
	"          collection: databases\n"
	"          filter: '{{\"_id\": {{\"$oid\": \"{mongo.id|json}\"}}}}'\n"
	"          if: [{ field_equals: { spec.storage: \"{mongo.storage}\" } }]\n"
	"      mongo2:\n"
	"        - { target: mongo, action: update-one, database: shop, collection: d,"
	" filter: '{{\"name\": \"{name|lower|json}\"}}', update: '{{\"$set\": {{\"x\": 1}}}}' }\n"
	"        - { target: mongo, action: insert-one, database: shop, collection: d,"
	" document: '{{\"_id\": \"{name|json}\"}}', expect_absent: true }\n";

/* A second source, so that the presence rule has two. */
static const char second_source[] =
	"  - name: mongo2\n"
	"    type: mongodb\n"
	"    observe: [{ kind: database, database: a, collection: b, name: \"{.n}\" }]\n";

static char *with_second_source(const char *yaml)
{
	static char buf[8192];
	const char *targets = strstr(yaml, "targets:");

	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(targets - yaml), yaml, second_source, targets);
	return buf;
}

static void full_entry(void **state)
{
	(void)state;
	struct tu_config *cfg = NULL;
	char err[1024];
	const char *yaml = with_second_source(full_yaml);

	if (load(yaml, &cfg, err, sizeof(err)) != TU_OK)
		print_error("%s\n", err);
	assert_non_null(cfg);
	const struct tu_source_config *s = tu_config_source(cfg, "mongo");
	assert_int_equal(s->type, TU_SOURCE_MONGODB);
	assert_string_equal(s->mongo.uri, "mongodb://trueup@db1:27017,db2:27017/?replicaSet=rs0");
	assert_string_equal(s->mongo.password_file, "/etc/trueup/mongo.pass");
	assert_int_equal(s->timeout, 3000);
	assert_int_equal(s->mongo.batch_size, 200);
	assert_int_equal(s->mongo.rate, 20);
	assert_int_equal(s->mongo.max_document, 256 * 1024);
	assert_int_equal(s->mongo.n_observe, 1);
	const struct tu_mongo_observe *o = &s->mongo.observe[0];
	assert_string_equal(o->map.kind, "database");
	assert_string_equal(o->map.ns, "{.tier}");
	assert_string_equal(o->map.name, "{.name}");
	assert_string_equal(o->map.name_prefix, "db-");
	assert_int_equal(o->map.attrs.n, 2);
	assert_string_equal(tu_kvlist_get(&o->map.attrs, "id"), "{._id[\"$oid\"]}");
	assert_string_equal(tu_kvlist_get(&o->map.match, ".kind"), "db");
	assert_string_equal(o->database, "shop");
	assert_string_equal(o->collection, "databases");
	assert_non_null(strstr(o->filter, "\"$oid\""));
	assert_string_equal(o->projection, "{\"name\": 1, \"spec\": 1}");

	const struct tu_target_config *t = tu_config_target(cfg, "mongo");
	assert_int_equal(t->type, TU_TARGET_MONGODB);
	assert_string_equal(t->mongo.uri, "mongodb://trueup-rw@db1:27017/?authSource=admin");
	assert_non_null(strstr(t->mongo.password_file, "/mongo-rw.pass")); /* made absolute */
	assert_int_equal(t->mongo.password_file[0], '/');
	assert_int_equal(t->batch, 64);
	assert_null(t->redis.url); /* no redis defaults on a mongodb target */

	const struct tu_rule_config *r = tu_config_rule(cfg, "r");
	const struct tu_action_config *a = &r->presence.when_extra[0].actions.items[0];
	assert_string_equal(a->action, "delete-one");
	assert_int_equal(a->params.n, 3);
	assert_string_equal(a->params.items[0].key, "collection"); /* sorted */
	assert_int_equal(a->n_pre, 1);
	assert_string_equal(a->pre[0].field, "spec.storage");
	assert_string_equal(tu_kvlist_get(&a->params, "filter"),
			    "{{\"_id\": {{\"$oid\": \"{mongo.id|json}\"}}}}");
	tu_config_destroy(cfg);
}

static void defaults(void **state)
{
	(void)state;
	struct tu_config *cfg = NULL;
	char err[1024];
	const char *yaml = "sources:\n"
			   "  - { name: m, type: mongodb, observe: [{ kind: k, database: d,"
			   " collection: c, name: \"{.n}\" }] }\n"
			   "targets:\n"
			   "  - { name: m, type: mongodb }\n";

	if (load(yaml, &cfg, err, sizeof(err)) != TU_OK)
		print_error("%s\n", err);
	assert_non_null(cfg);
	const struct tu_mongo_source *m = &cfg->sources[0].mongo;
	assert_string_equal(m->uri, "mongodb://127.0.0.1:27017");
	assert_null(m->password_file);
	assert_int_equal(m->batch_size, 500);
	assert_int_equal(m->rate, 0);
	assert_int_equal(m->max_document, 1024 * 1024);
	assert_string_equal(m->observe[0].filter, "{}");
	assert_null(m->observe[0].projection);
	assert_string_equal(m->observe[0].map.ns, "default");
	assert_int_equal(cfg->sources[0].timeout, 5000);
	assert_string_equal(cfg->targets[0].mongo.uri, "mongodb://127.0.0.1:27017");
	assert_string_equal(cfg->targets[0].consumer, "trueup-actuator-m");
	tu_config_destroy(cfg);
}

#define SRC "sources:\n  - name: m\n    type: mongodb\n"
#define OBS "    observe: [{ kind: k, database: d, collection: c, name: \"{.n}\" }]\n"

static void err_password_in_uri(void **state)
{
	(void)state;
	expect_error(SRC "    uri: mongodb://u:secret@h/\n" OBS, "t.yaml:4:10: sources[0].uri: ",
		     "holds a password");
	expect_error(SRC "    uri: mongodb://h/?tlsCertificateKeyFilePassword=x\n" OBS,
		     "t.yaml:4:10: sources[0].uri: ", "password_file");
	expect_error("targets:\n  - { name: m, type: mongodb, uri: \"mongodb://a:b@h\" }\n",
		     "t.yaml:2:36: targets[0].uri: ", "holds a password");
}

static void err_bad_uri(void **state)
{
	(void)state;
	expect_error(SRC "    uri: http://h/\n" OBS, "t.yaml:4:10: sources[0].uri: ",
		     "invalid URI");
	expect_error(SRC "    uri: mongodb://\n" OBS, "t.yaml:4:10: sources[0].uri: ",
		     "invalid URI");
}

static void err_filter_not_object(void **state)
{
	(void)state;
	expect_error(SRC "    observe:\n"
			 "      - { kind: k, database: d, collection: c, name: n, filter: '[1]' }\n",
		     "t.yaml:5:65: sources[0].observe[0].filter: ", "expected a JSON object");
	expect_error(SRC "    observe:\n"
			 "      - { kind: k, database: d, collection: c, name: n,"
			 " projection: '{\"a\": 1' }\n",
		     "t.yaml:5:69: sources[0].observe[0].projection: ", "invalid JSON");
}

static void err_observe_fields(void **state)
{
	(void)state;
	expect_error(SRC "    observe: [{ kind: k, collection: c, name: n }]\n",
		     "t.yaml:4:15: sources[0].observe[0]: ", "missing required field \"database\"");
	expect_error(SRC "    observe: [{ kind: k, database: d, collection: c, name: n, scan: x }]\n",
		     "t.yaml:4:63: sources[0].observe[0]: ", "unknown field \"scan\"");
	expect_error(SRC "    observe: []\n", "t.yaml:4:14: sources[0].observe: ",
		     "at least one entry");
	expect_error(SRC "    batch_size: 0\n" OBS, "t.yaml:4:17: sources[0].batch_size: ",
		     "greater than 0");
	expect_error(SRC "    max_document: 32MiB\n" OBS, "t.yaml:4:19: sources[0].max_document: ",
		     "too large");
	expect_error(SRC "    url: redis://x\n" OBS, "t.yaml:4:5: sources[0]: ",
		     "unknown field \"url\"");
}

#define TGT "targets:\n  - { name: m, type: mongodb }\n"
#define RULE(action) \
	"rules:\n  - name: r\n    type: counter\n" \
	"    counter: { kind: c, name: n, source: s }\n" \
	"    of: { kind: w, source: s }\n" \
	"    fix: [" action "]\n"
#define SRC_FILES "sources:\n  - { name: s, type: files, path: /tmp }\n"

static void err_verbs(void **state)
{
	(void)state;
	expect_error(SRC_FILES TGT RULE("{ target: m, action: del, key: k }"),
		     "t.yaml:10:32: rules[0].fix[0].action: ",
		     "unknown action \"del\" for target \"m\" of type mongodb (known: delete-one, "
		     "update-one, insert-one)");
	expect_error(SRC_FILES TGT
		     RULE("{ target: m, action: delete-one, database: d, collection: c }"),
		     "t.yaml:10:11: rules[0].fix[0]: ", "action delete-one needs param \"filter\"");
	expect_error(SRC_FILES TGT
		     RULE("{ target: m, action: update-one, database: d, collection: c,"
			  " filter: x }"),
		     "t.yaml:10:11: rules[0].fix[0]: ", "needs param \"update\"");
	expect_error(SRC_FILES TGT
		     RULE("{ target: m, action: insert-one, database: d, collection: c,"
			  " document: x, filter: y }"),
		     "t.yaml:10:85: rules[0].fix[0].filter: ",
		     "action insert-one takes no param \"filter\"");
	/* A value that is not JSON-escaped could add a query operator. */
	expect_error(SRC_FILES TGT
		     RULE("{ target: m, action: delete-one, database: d, collection: c,"
			  " filter: '{{\"name\": \"{name}\"}}' }"),
		     "t.yaml:10:72: rules[0].fix[0].filter: ",
		     "placeholder {name} does not end with |json");
	expect_error(SRC_FILES TGT
		     RULE("{ target: m, action: update-one, database: d, collection: c,"
			  " filter: '{{}}', update: '{{\"$set\": {{\"s\": \"{x|json|lower}\"}}}}' }"),
		     "t.yaml:10:96: rules[0].fix[0].update: ", "filter 'json' must be the last");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(full_entry),
	cmocka_unit_test(defaults),
	cmocka_unit_test(err_password_in_uri),
	cmocka_unit_test(err_bad_uri),
	cmocka_unit_test(err_filter_not_object),
	cmocka_unit_test(err_observe_fields),
	cmocka_unit_test(err_verbs),
};

TU_TEST_MAIN(tests)
