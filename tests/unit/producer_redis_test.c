/*
 * producer_redis_test.c - Redis replies to entities, from redisReply trees
 * built here: strings, hashes, sets, templates, and every malformed or
 * truncated shape (nil, error replies, odd HGETALL arrays, nested and
 * non-string elements, values over the bounds, non-UTF-8 bytes).
 */
#include "testmain.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "redis_source.h"

static redisReply *reply(int type)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = type;
	return r;
}

static redisReply *rstrn(int type, const char *s, size_t len)
{
	redisReply *r = reply(type);
	r->str = malloc(len + 1);
	memcpy(r->str, s, len);
	r->str[len] = '\0';
	r->len = len;
	return r;
}

static redisReply *rstr(const char *s)
{
	return rstrn(REDIS_REPLY_STRING, s, strlen(s));
}

/* An array of n elements taken from elems (ownership moves to the array). */
static redisReply *rarr(size_t n, redisReply **elems)
{
	redisReply *r = reply(REDIS_REPLY_ARRAY);
	r->elements = n;
	r->element = calloc(n ? n : 1, sizeof(*r->element));
	for (size_t i = 0; i < n; i++)
		r->element[i] = elems[i];
	return r;
}

struct fx {
	struct tu_arena a;
	struct tu_redis_observe ob;
	struct tu_entity e;
	char why[512];
};

static struct fx *fx_new(const char *kind)
{
	struct fx *f = calloc(1, sizeof(*f));
	tu_arena_init(&f->a, 4096);
	f->ob.kind = (char *)kind;
	f->ob.scan = "autoscaler:workers:*";
	return f;
}

static void fx_free(struct fx *f)
{
	tu_arena_release(&f->a);
	free(f);
}

static tu_status map(struct fx *f, const char *key, enum tu_redis_read read, redisReply *r)
{
	memset(&f->e, 0, sizeof(f->e));
	f->why[0] = '\0';
	tu_status st = tu__redis_entity(&f->ob, key, strlen(key), read, r, &f->a, &f->e, f->why,
					sizeof(f->why));
	freeReplyObject(r);
	return st;
}

static void redis_string_value(void **state)
{
	(void)state;
	struct fx *f = fx_new("counter");
	f->ob.name = "{key|afterlast::}";
	assert_int_equal(map(f, "autoscaler:workers:next_number", TU_REDIS_READ_STRING,
			     rstr("4")), TU_OK);
	assert_string_equal(f->e.kind, "counter");
	assert_string_equal(f->e.ns, "default");
	assert_string_equal(f->e.name, "next_number");
	assert_int_equal(f->e.n_attrs, 1);
	assert_string_equal(f->e.attrs[0]->key, "value");
	assert_string_equal(f->e.attrs[0]->value, "4");
	fx_free(f);
}

static void redis_hash_fields_sorted(void **state)
{
	(void)state;
	struct fx *f = fx_new("worker");
	f->ob.name = "{key|afterlast::}";
	f->ob.ns = "{field.pool|default:default}";
	redisReply *el[] = { rstr("status"), rstr("initializing"), rstr("image"), rstr("busybox"),
			     rstr("pool"), rstr("gpu") };
	assert_int_equal(map(f, "autoscaler:workers:k3s-worker-3", TU_REDIS_READ_HASH,
			     rarr(6, el)), TU_OK);
	assert_string_equal(f->e.name, "k3s-worker-3");
	assert_string_equal(f->e.ns, "gpu");
	assert_int_equal(f->e.n_attrs, 3);
	assert_string_equal(f->e.attrs[0]->key, "image");
	assert_string_equal(f->e.attrs[1]->key, "pool");
	assert_string_equal(f->e.attrs[2]->key, "status");
	assert_string_equal(f->e.attrs[2]->value, "initializing");
	fx_free(f);
}

static void redis_set_members_sorted_joined(void **state)
{
	(void)state;
	struct fx *f = fx_new("group");
	redisReply *el[] = { rstr("w3"), rstr("w1"), rstr("w10"), rstr("w2") };
	assert_int_equal(map(f, "groups:a", TU_REDIS_READ_SET, rarr(4, el)), TU_OK);
	assert_string_equal(f->e.name, "groups:a");
	assert_int_equal(f->e.n_attrs, 1);
	assert_string_equal(f->e.attrs[0]->key, "members");
	assert_string_equal(f->e.attrs[0]->value, "w1,w10,w2,w3");
	fx_free(f);
}

static void redis_attrs_templates_replace_defaults(void **state)
{
	(void)state;
	struct fx *f = fx_new("worker");
	struct tu_kv kv[] = { { "state", "{field.status|upper}" }, { "id", "{key}" } };
	f->ob.attrs.items = kv;
	f->ob.attrs.n = 2;
	redisReply *el[] = { rstr("status"), rstr("running"), rstr("image"), rstr("x") };
	assert_int_equal(map(f, "w:1", TU_REDIS_READ_HASH, rarr(4, el)), TU_OK);
	assert_int_equal(f->e.n_attrs, 2);
	assert_string_equal(f->e.attrs[0]->key, "id");
	assert_string_equal(f->e.attrs[0]->value, "w:1");
	assert_string_equal(f->e.attrs[1]->key, "state");
	assert_string_equal(f->e.attrs[1]->value, "RUNNING");

	/* a variable without a value: the key is skipped, naming the template */
	struct tu_kv missing[] = { { "state", "{field.nope}" } };
	f->ob.attrs.items = missing;
	f->ob.attrs.n = 1;
	redisReply *el2[] = { rstr("status"), rstr("running") };
	assert_int_equal(map(f, "w:1", TU_REDIS_READ_HASH, rarr(2, el2)), TU_EINVAL);
	assert_non_null(strstr(f->why, "attr 'state'"));
	assert_non_null(strstr(f->why, "field.nope"));

	/* {value} of a string, {members} of a set */
	struct tu_kv v[] = { { "v", "{value}" } };
	f->ob.attrs.items = v;
	assert_int_equal(map(f, "k", TU_REDIS_READ_STRING, rstr("42")), TU_OK);
	assert_string_equal(f->e.attrs[0]->value, "42");
	struct tu_kv m[] = { { "m", "{members}" } };
	f->ob.attrs.items = m;
	redisReply *el3[] = { rstr("b"), rstr("a") };
	assert_int_equal(map(f, "k", TU_REDIS_READ_SET, rarr(2, el3)), TU_OK);
	assert_string_equal(f->e.attrs[0]->value, "a,b");
	/* {value} of a hash does not exist */
	f->ob.attrs.items = v;
	redisReply *el4[] = { rstr("a"), rstr("b") };
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rarr(2, el4)), TU_EINVAL);
	fx_free(f);
}

static void redis_nil_and_empty_mean_vanished(void **state)
{
	(void)state;
	struct fx *f = fx_new("worker");
	assert_int_equal(map(f, "k", TU_REDIS_READ_STRING, reply(REDIS_REPLY_NIL)), TU_ENOTFOUND);
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rarr(0, NULL)), TU_ENOTFOUND);
	assert_int_equal(map(f, "k", TU_REDIS_READ_SET, rarr(0, NULL)), TU_ENOTFOUND);
	fx_free(f);
}

static void redis_wrongtype_error_reply(void **state)
{
	(void)state;
	struct fx *f = fx_new("worker");
	redisReply *e = rstrn(REDIS_REPLY_ERROR, "WRONGTYPE Operation against a key holding the "
			      "wrong kind of value", 64);
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, e), TU_EINVAL);
	assert_non_null(strstr(f->why, "HGETALL"));
	assert_non_null(strstr(f->why, "WRONGTYPE"));
	fx_free(f);
}

static void redis_hgetall_odd_length(void **state)
{
	(void)state;
	struct fx *f = fx_new("worker");
	redisReply *el[] = { rstr("a"), rstr("1"), rstr("b") };
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rarr(3, el)), TU_EINVAL);
	assert_non_null(strstr(f->why, "odd"));
	fx_free(f);
}

static void redis_malformed_elements(void **state)
{
	(void)state;
	struct fx *f = fx_new("worker");
	redisReply *i = reply(REDIS_REPLY_INTEGER);
	redisReply *el[] = { rstr("a"), i };
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rarr(2, el)), TU_EINVAL);
	assert_non_null(strstr(f->why, "not a string"));
	redisReply *inner[] = { rstr("x") };
	redisReply *el2[] = { rstr("a"), rarr(1, inner) };
	assert_int_equal(map(f, "k", TU_REDIS_READ_SET, rarr(2, el2)), TU_EINVAL);
	redisReply *el3[] = { reply(REDIS_REPLY_NIL), rstr("1") };
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rarr(2, el3)), TU_EINVAL);
	/* GET answering with an array or an integer */
	assert_int_equal(map(f, "k", TU_REDIS_READ_STRING, reply(REDIS_REPLY_INTEGER)), TU_EINVAL);
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rstr("flat")), TU_EINVAL);
	/* an empty field name */
	redisReply *el4[] = { rstr(""), rstr("1") };
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rarr(2, el4)), TU_EINVAL);
	/* read auto is not a read command */
	assert_int_equal(map(f, "k", TU_REDIS_READ_AUTO, rstr("x")), TU_EINVAL);
	fx_free(f);
}

static void redis_over_bounds(void **state)
{
	(void)state;
	struct fx *f = fx_new("worker");
	size_t n = TU_MAX_ATTR_VALUE + 1;
	char *big = malloc(n);
	memset(big, 'v', n);
	assert_int_equal(map(f, "k", TU_REDIS_READ_STRING, rstrn(REDIS_REPLY_STRING, big, n)),
			 TU_ETOOBIG);
	assert_non_null(strstr(f->why, "TU_MAX_ATTR_VALUE"));

	/* too many fields */
	size_t nf = TU_MAX_ATTRS + 1;
	redisReply **el = calloc(2 * nf, sizeof(*el));
	for (size_t i = 0; i < nf; i++) {
		char k[16];
		snprintf(k, sizeof(k), "f%zu", i);
		el[2 * i] = rstr(k);
		el[2 * i + 1] = rstr("v");
	}
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rarr(2 * nf, el)), TU_ETOOBIG);
	assert_non_null(strstr(f->why, "TU_MAX_ATTRS"));
	free(el);

	/* a field name over TU_MAX_ATTR_KEY */
	redisReply *el2[] = { rstrn(REDIS_REPLY_STRING, big, TU_MAX_ATTR_KEY + 1), rstr("1") };
	assert_int_equal(map(f, "k", TU_REDIS_READ_HASH, rarr(2, el2)), TU_ETOOBIG);
	assert_non_null(strstr(f->why, "TU_MAX_ATTR_KEY"));

	/* members that join to more than TU_MAX_ATTR_VALUE */
	redisReply *el3[] = { rstrn(REDIS_REPLY_STRING, big, 40000),
			      rstrn(REDIS_REPLY_STRING, big, 40000) };
	assert_int_equal(map(f, "k", TU_REDIS_READ_SET, rarr(2, el3)), TU_ETOOBIG);

	/* a name over TU_MAX_NAME is caught by the entity check */
	char key[TU_MAX_NAME + 10];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(map(f, key, TU_REDIS_READ_STRING, rstr("1")), TU_OK);
	assert_int_equal(tu_entity_check(&f->e, f->why, sizeof(f->why)), TU_ETOOBIG);
	assert_non_null(strstr(f->why, "TU_MAX_NAME"));
	free(big);
	fx_free(f);
}

static void redis_not_utf8(void **state)
{
	(void)state;
	struct fx *f = fx_new("worker");
	assert_int_equal(map(f, "k", TU_REDIS_READ_STRING, rstrn(REDIS_REPLY_STRING, "a\0b", 3)),
			 TU_EINVAL);
	assert_int_equal(map(f, "k", TU_REDIS_READ_STRING, rstr("\xff")), TU_EINVAL);
	tu_status st = tu__redis_entity(&f->ob, "k\xfe", 2, TU_REDIS_READ_STRING, NULL, &f->a,
					&f->e, f->why, sizeof(f->why));
	assert_int_equal(st, TU_EINVAL);
	assert_non_null(strstr(f->why, "key"));
	fx_free(f);
}

static void redis_type_reply(void **state)
{
	(void)state;
	char why[256];
	enum tu_redis_read rd = TU_REDIS_READ_AUTO;
	redisReply *r = rstrn(REDIS_REPLY_STATUS, "hash", 4);
	assert_int_equal(tu__redis_read_of_type(r, &rd, why, sizeof(why)), TU_OK);
	assert_int_equal(rd, TU_REDIS_READ_HASH);
	freeReplyObject(r);
	r = rstrn(REDIS_REPLY_STATUS, "string", 6);
	assert_int_equal(tu__redis_read_of_type(r, &rd, why, sizeof(why)), TU_OK);
	assert_int_equal(rd, TU_REDIS_READ_STRING);
	freeReplyObject(r);
	r = rstrn(REDIS_REPLY_STATUS, "set", 3);
	assert_int_equal(tu__redis_read_of_type(r, &rd, why, sizeof(why)), TU_OK);
	assert_int_equal(rd, TU_REDIS_READ_SET);
	freeReplyObject(r);
	r = rstrn(REDIS_REPLY_STATUS, "none", 4);
	assert_int_equal(tu__redis_read_of_type(r, &rd, why, sizeof(why)), TU_ENOTFOUND);
	freeReplyObject(r);
	r = rstrn(REDIS_REPLY_STATUS, "zset", 4);
	assert_int_equal(tu__redis_read_of_type(r, &rd, why, sizeof(why)), TU_EINVAL);
	assert_non_null(strstr(why, "zset"));
	freeReplyObject(r);
	r = rstrn(REDIS_REPLY_ERROR, "NOPERM", 6);
	assert_int_equal(tu__redis_read_of_type(r, &rd, why, sizeof(why)), TU_EINVAL);
	freeReplyObject(r);
	r = reply(REDIS_REPLY_INTEGER);
	assert_int_equal(tu__redis_read_of_type(r, &rd, why, sizeof(why)), TU_EINVAL);
	freeReplyObject(r);
}


/* PTTL replies (observe `ttl: true`) add attr ttl_ms to an entity already mapped. */
static void redis_ttl_attr(void **state)
{
	(void)state;
	struct fx *f = fx_new("instance");
	redisReply *h[] = { rstr("status"), rstr("up"), rstr("zeta"), rstr("z") };
	assert_int_equal(map(f, "svc:web:i-1", TU_REDIS_READ_HASH, rarr(4, h)), TU_OK);
	redisReply *ttl = reply(REDIS_REPLY_INTEGER);
	ttl->integer = 14250;
	assert_int_equal(tu__redis_add_ttl(ttl, &f->a, &f->e, f->why, sizeof(f->why)), TU_OK);
	assert_int_equal(f->e.n_attrs, 3);
	assert_string_equal(f->e.attrs[0]->key, "status");
	assert_string_equal(f->e.attrs[1]->key, "ttl_ms"); /* sorted in */
	assert_string_equal(f->e.attrs[1]->value, "14250");
	assert_string_equal(f->e.attrs[2]->key, "zeta");
	ttl->integer = -1; /* no expiry */
	assert_int_equal(map(f, "k", TU_REDIS_READ_STRING, rstr("v")), TU_OK);
	assert_int_equal(tu__redis_add_ttl(ttl, &f->a, &f->e, f->why, sizeof(f->why)), TU_OK);
	assert_string_equal(f->e.attrs[0]->key, "ttl_ms");
	assert_string_equal(f->e.attrs[0]->value, "-1");
	ttl->integer = -2; /* expired between the read and PTTL: not seen */
	assert_int_equal(tu__redis_add_ttl(ttl, &f->a, &f->e, f->why, sizeof(f->why)),
			 TU_ENOTFOUND);
	freeReplyObject(ttl);
	redisReply *e = rstrn(REDIS_REPLY_ERROR, "NOPERM no pttl", 14);
	assert_int_equal(tu__redis_add_ttl(e, &f->a, &f->e, f->why, sizeof(f->why)), TU_EINVAL);
	assert_string_equal(f->why, "PTTL failed: NOPERM no pttl");
	freeReplyObject(e);
	e = rstr("12");
	assert_int_equal(tu__redis_add_ttl(e, &f->a, &f->e, f->why, sizeof(f->why)), TU_EINVAL);
	freeReplyObject(e);
	/* a hash that has a field ttl_ms already: refused, not overwritten */
	redisReply *h2[] = { rstr("ttl_ms"), rstr("mine") };
	assert_int_equal(map(f, "k2", TU_REDIS_READ_HASH, rarr(2, h2)), TU_OK);
	ttl = reply(REDIS_REPLY_INTEGER);
	ttl->integer = 5;
	assert_int_equal(tu__redis_add_ttl(ttl, &f->a, &f->e, f->why, sizeof(f->why)), TU_EINVAL);
	assert_non_null(strstr(f->why, "ttl_ms"));
	freeReplyObject(ttl);
	fx_free(f);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(redis_string_value),
	cmocka_unit_test(redis_hash_fields_sorted),
	cmocka_unit_test(redis_set_members_sorted_joined),
	cmocka_unit_test(redis_attrs_templates_replace_defaults),
	cmocka_unit_test(redis_nil_and_empty_mean_vanished),
	cmocka_unit_test(redis_wrongtype_error_reply),
	cmocka_unit_test(redis_hgetall_odd_length),
	cmocka_unit_test(redis_malformed_elements),
	cmocka_unit_test(redis_over_bounds),
	cmocka_unit_test(redis_not_utf8),
	cmocka_unit_test(redis_type_reply),
	cmocka_unit_test(redis_ttl_attr),
};

TU_TEST_MAIN(tests)
