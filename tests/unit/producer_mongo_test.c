/*
 * producer_mongo_test.c - documents to entities in the mongodb source
 * (producers/mongo_source.c): ObjectIds, dates and numbers as relaxed
 * extended JSON, template variables, and malformed documents (a missing
 * field, an object where a scalar belongs, over max_document, not UTF-8)
 * skipped with the collection, _id and field named.
 */
#include "testmain.h"

#include <string.h>

#include "mongo_source.h"
#include "mongoconn.h"

static const char doc_json[] =
	"{\"_id\": {\"$oid\": \"64b0000000000000000000aa\"}, \"name\": \"orders\", \"tier\": \"prod\","
	" \"spec\": {\"storage\": \"10Gi\", \"replicas\": {\"$numberInt\": \"3\"},"
	" \"shards\": {\"$numberLong\": \"12\"}, \"cpu\": {\"$numberDouble\": \"0.5\"},"
	" \"ratio\": {\"$numberDouble\": \"1.1\"}},"
	" \"created\": {\"$date\": {\"$numberLong\": \"1700000000123\"}},"
	" \"labels\": {\"app.kubernetes.io/name\": \"db\"}, \"ok\": true, \"none\": null}";

struct fixture {
	struct tu_mongo_observe ob;
	struct tu_kv attrs[12];
	struct tu_kv match[1];
	struct tu_arena arena;
	bson_t *doc;
};

static struct fixture *setup(void)
{
	static struct fixture f;
	char err[256];

	memset(&f, 0, sizeof(f));
	f.ob.database = "shop";
	f.ob.collection = "databases";
	f.ob.map.kind = "database";
	f.ob.map.ns = "{.tier}";
	f.ob.map.name = "{.name}";
	f.attrs[0] = (struct tu_kv){ "id", "{._id[\"$oid\"]}" };
	f.attrs[1] = (struct tu_kv){ "storage", "{.spec.storage}" };
	f.attrs[2] = (struct tu_kv){ "replicas", "{.spec.replicas}" };
	f.attrs[3] = (struct tu_kv){ "shards", "{.spec.shards}" };
	f.attrs[4] = (struct tu_kv){ "cpu", "{.spec.cpu}" };
	f.attrs[5] = (struct tu_kv){ "ratio", "{.spec.ratio}" };
	f.attrs[6] = (struct tu_kv){ "created", "{.created[\"$date\"]}" };
	f.attrs[7] = (struct tu_kv){ "app", "{.labels[\"app.kubernetes.io/name\"]}" };
	f.attrs[8] = (struct tu_kv){ "ok", "{.ok}" };
	f.attrs[9] = (struct tu_kv){ "none", "{.none}" };
	f.attrs[10] = (struct tu_kv){ "from", "{source}:{database}.{collection}" };
	f.ob.map.attrs = (struct tu_kvlist){ f.attrs, 11 };
	tu_arena_init(&f.arena, 4096);
	assert_int_equal(tu_mongo_bson_from_json(doc_json, &f.doc, err, sizeof(err)), TU_OK);
	return &f;
}

static void teardown(struct fixture *f)
{
	bson_destroy(f->doc);
	tu_arena_release(&f->arena);
}

static const char *attr(const struct tu_entity *e, const char *key)
{
	for (size_t i = 0; i < e->n_attrs; i++) {
		if (strcmp(e->attrs[i]->key, key) == 0)
			return e->attrs[i]->value;
	}
	return NULL;
}

static void maps_document(void **state)
{
	(void)state;
	struct fixture *f = setup();
	struct tu_entity e;
	char why[512];

	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_OK);
	assert_string_equal(e.kind, "database");
	assert_string_equal(e.ns, "prod");
	assert_string_equal(e.name, "orders");
	assert_int_equal(e.n_attrs, 11);
	assert_string_equal(attr(&e, "id"), "64b0000000000000000000aa");
	assert_string_equal(attr(&e, "storage"), "10Gi");
	assert_string_equal(attr(&e, "replicas"), "3");
	assert_string_equal(attr(&e, "shards"), "12");
	assert_string_equal(attr(&e, "cpu"), "0.5");
	assert_string_equal(attr(&e, "ratio"), "1.1");
	assert_string_equal(attr(&e, "created"), "2023-11-14T22:13:20.123Z");
	assert_string_equal(attr(&e, "app"), "db");
	assert_string_equal(attr(&e, "ok"), "true");
	assert_string_equal(attr(&e, "none"), "");
	assert_string_equal(attr(&e, "from"), "mongo:shop.databases");
	for (size_t i = 1; i < e.n_attrs; i++) /* sorted for tu_entity_check */
		assert_true(strcmp(e.attrs[i - 1]->key, e.attrs[i]->key) < 0);
	char check[256];
	assert_int_equal(tu_entity_check(&e, check, sizeof(check)), TU_OK);
	teardown(f);
}

static void missing_field(void **state)
{
	(void)state;
	struct fixture *f = setup();
	struct tu_entity e;
	char why[512];

	f->attrs[1].value = "{.spec.disk}";
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_EINVAL);
	assert_string_equal(why, "document shop.databases _id 64b0000000000000000000aa: "
				 "attrs.storage: no value for '.spec.disk' (no value at .spec.disk)");
	/* With a default the document maps. */
	f->attrs[1].value = "{.spec.disk|default:none}";
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_OK);
	assert_string_equal(attr(&e, "storage"), "none");
	/* A name that does not render: skipped, naming the name. */
	f->ob.map.name = "{.title}";
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_EINVAL);
	assert_non_null(strstr(why, "_id 64b0000000000000000000aa: name: no value for '.title'"));
	teardown(f);
}

static void wrong_type(void **state)
{
	(void)state;
	struct fixture *f = setup();
	struct tu_entity e;
	char why[512];

	f->attrs[1].value = "{.spec}"; /* an object where a scalar belongs */
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_EINVAL);
	assert_string_equal(why, "document shop.databases _id 64b0000000000000000000aa: "
				 "attrs.storage: no value for '.spec' (.spec is not a scalar)");
	teardown(f);
}

static void over_size(void **state)
{
	(void)state;
	struct fixture *f = setup();
	struct tu_entity e;
	char why[512], want[256];

	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 100, &f->arena, &e, why,
					  sizeof(why)),
			 TU_ETOOBIG);
	snprintf(want, sizeof(want), "document shop.databases _id 64b0000000000000000000aa: %u "
		 "bytes, over max_document (100)", (unsigned)f->doc->len);
	assert_string_equal(why, want);
	/* An attribute over TU_MAX_ATTR_VALUE is refused by the mapping (a bound, EINVAL there). */
	bson_t big = BSON_INITIALIZER;
	static char huge[70000];
	memset(huge, 'x', sizeof(huge) - 1);
	BSON_APPEND_UTF8(&big, "_id", "big");
	BSON_APPEND_UTF8(&big, "name", "big");
	BSON_APPEND_UTF8(&big, "tier", "prod");
	BSON_APPEND_UTF8(&big, "blob", huge);
	f->attrs[0].value = "{.blob}";
	f->ob.map.attrs.n = 1;
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, &big, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_EINVAL);
	assert_non_null(strstr(why, "_id big: attrs.id: no value for '.blob' (.blob is over 65536 "
				    "bytes (TU_MAX_ATTR_VALUE))"));
	bson_destroy(&big);
	teardown(f);
}

static void not_convertible(void **state)
{
	(void)state;
	struct fixture *f = setup();
	struct tu_entity e;
	char why[512];
	bson_t bad = BSON_INITIALIZER;

	BSON_APPEND_INT32(&bad, "_id", 7);
	bson_append_utf8(&bad, "name", 4, "\xff\xfe", 2); /* not UTF-8 */
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, &bad, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_EINVAL);
	assert_string_equal(why, "document shop.databases _id { \"_id\" : 7 }: not convertible to "
				 "JSON (invalid BSON, text that is not UTF-8, or a NUL in a string)");
	bson_destroy(&bad);
	teardown(f);
}

static void not_matching(void **state)
{
	(void)state;
	struct fixture *f = setup();
	struct tu_entity e;
	char why[512];

	f->match[0] = (struct tu_kv){ ".tier", "dev" };
	f->ob.map.match = (struct tu_kvlist){ f->match, 1 };
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_ENOTFOUND);
	f->match[0].value = "prod";
	f->ob.map.name_prefix = "db-";
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_ENOTFOUND);
	f->ob.map.name_prefix = "ord";
	assert_int_equal(tu__mongo_entity("mongo", &f->ob, f->doc, 1 << 20, &f->arena, &e, why,
					  sizeof(why)),
			 TU_OK);
	teardown(f);
}

/* A source whose URI, filter or projection cannot be used is refused at create. */
static void create_errors(void **state)
{
	(void)state;
	struct tu_mongo_observe ob = { .map = { .kind = "database", .name = "{.name}" },
				       .database = "shop", .collection = "c",
				       .filter = "{\"a\": ", .projection = NULL };
	struct tu_source_config cfg = { .name = "m", .type = TU_SOURCE_MONGODB, .timeout = 1000,
					.line = 3 };
	struct tu_source *src = NULL;
	char err[512];

	cfg.mongo.uri = "mongodb://127.0.0.1:1";
	cfg.mongo.batch_size = 10;
	cfg.mongo.observe = &ob;
	cfg.mongo.n_observe = 1;
	assert_int_equal(tu_mongo_source_create(&cfg, &src, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "source m (line 3): observe[0].filter: invalid extended JSON"));
	ob.filter = "{}";
	ob.projection = "[]";
	assert_int_equal(tu_mongo_source_create(&cfg, &src, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "observe[0].projection: not a JSON object"));
	ob.projection = NULL;
	cfg.mongo.uri = "mongodb://u:pw@h/";
	assert_int_equal(tu_mongo_source_create(&cfg, &src, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "source m (line 3): uri mongodb://u:***@h/: holds a password"));
	cfg.mongo.uri = "mongodb://127.0.0.1:1";
	assert_int_equal(tu_mongo_source_create(&cfg, &src, err, sizeof(err)), TU_OK);
	assert_int_equal(src->n_kinds, 1);
	assert_string_equal(src->kinds[0], "database");
	tu_source_destroy(src);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(maps_document),
	cmocka_unit_test(missing_field),
	cmocka_unit_test(wrong_type),
	cmocka_unit_test(over_size),
	cmocka_unit_test(not_convertible),
	cmocka_unit_test(not_matching),
	cmocka_unit_test(create_errors),
};

TU_TEST_MAIN(tests)
