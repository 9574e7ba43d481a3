/*
 * redis_source.c - the Redis source (see redis_source.h).
 *
 * Invariants: `c` is NULL or a connected, authenticated context whose
 * pipeline is empty between batches (every appended command's reply is read
 * before a batch returns, or the context is dropped). Reply memory lives
 * until the batch ends; entity memory lives in `arena`, reset per batch.
 * The password is read from its file at each connect, wiped after AUTH and
 * never logged.
 */
#include "redis_source.h"

#include "redisconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "bounds.h"
#include "log.h"
#include "tmpl.h"
#include "xalloc.h"

#define MAX_CURSOR 32        /* bytes of a SCAN cursor (a 64-bit number) */
#define KEY_SHOWN 200        /* bytes of a key quoted in a warning */

struct redis_source {
	struct tu_source base;          /* first: the generic handle */
	const struct tu_redis_source *rc; /* &base.cfg->redis */
	struct tu_redis_url url;        /* parsed from the config's url */
	redisContext *c;                /* NULL while disconnected */
	struct tu_arena arena;          /* entity memory of one batch */
};

/* A read that is not done for a key (it vanished or could not be typed). */
#define READ_NONE (-1)


/* ---- replies to entities ------------------------------------------------ */

tu_status tu__redis_read_of_type(const redisReply *r, enum tu_redis_read *out, char *why,
				 size_t whylen)
{
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, whylen, "TYPE failed: %.200s", r->str);
		return TU_EINVAL;
	}
	if (r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_STRING) {
		snprintf(why, whylen, "TYPE gave a reply of type %d, not a status", r->type);
		return TU_EINVAL;
	}
	if (strcmp(r->str, "none") == 0)
		return TU_ENOTFOUND;
	if (strcmp(r->str, "string") == 0) {
		*out = TU_REDIS_READ_STRING;
		return TU_OK;
	}
	if (strcmp(r->str, "hash") == 0) {
		*out = TU_REDIS_READ_HASH;
		return TU_OK;
	}
	if (strcmp(r->str, "set") == 0) {
		*out = TU_REDIS_READ_SET;
		return TU_OK;
	}
	snprintf(why, whylen, "type '%.40s' cannot be read (string, hash and set can)", r->str);
	return TU_EINVAL;
}

static const char *read_name(enum tu_redis_read read)
{
	switch (read) {
	case TU_REDIS_READ_STRING: return "string";
	case TU_REDIS_READ_HASH: return "hash";
	case TU_REDIS_READ_SET: return "set";
	case TU_REDIS_READ_AUTO: return "auto";
	}
	return "?";
}

/* Template variables of one key. */
struct key_vars {
	const char *key;         /* the key (UTF-8 checked) */
	size_t key_len;
	const char *value;       /* string read: the value; NULL otherwise */
	size_t value_len;
	const char *members;     /* set read: members joined; NULL otherwise */
	size_t members_len;
	const redisReply *hash;  /* hash read: the HGETALL array; NULL otherwise */
};

static bool lookup(void *ctx, const char *var, size_t n, const char **val, size_t *len)
{
	const struct key_vars *kv = ctx;
	static const char field[] = "field.";
	const size_t fl = sizeof(field) - 1;
	if (n == 3 && memcmp(var, "key", 3) == 0) {
		*val = kv->key;
		*len = kv->key_len;
		return true;
	}
	if (n == 5 && memcmp(var, "value", 5) == 0 && kv->value != NULL) {
		*val = kv->value;
		*len = kv->value_len;
		return true;
	}
	if (n == 7 && memcmp(var, "members", 7) == 0 && kv->members != NULL) {
		*val = kv->members;
		*len = kv->members_len;
		return true;
	}
	if (n > fl && memcmp(var, field, fl) == 0 && kv->hash != NULL) {
		for (size_t i = 0; i + 1 < kv->hash->elements; i += 2) {
			const redisReply *f = kv->hash->element[i];
			if (f->len == n - fl && memcmp(f->str, var + fl, n - fl) == 0) {
				*val = kv->hash->element[i + 1]->str;
				*len = kv->hash->element[i + 1]->len;
				return true;
			}
		}
	}
	return false;
}

/* Renders tmpl into arena memory. */
static tu_status render(struct tu_arena *a, const char *tmpl, struct key_vars *kv,
			const char *what, const char **out, char *why, size_t whylen)
{
	struct tu_buf b;
	char terr[256];
	tu_buf_init(&b, TU_MAX_TEMPLATE_OUT);
	tu_status st = tu_tmpl_render(tmpl, lookup, kv, &b, terr, sizeof(terr));
	if (st != TU_OK) {
		snprintf(why, whylen, "%s template '%s': %s", what, tmpl, terr);
		st = st == TU_ETOOBIG ? TU_ETOOBIG : TU_EINVAL;
	} else {
		*out = tu_arena_strndup(a, tu_buf_cstr(&b), b.len);
	}
	tu_buf_release(&b);
	return st;
}

/* Checks one string element of a reply: a bounded UTF-8 string. */
static tu_status check_elem(const redisReply *e, size_t max, const char *what, const char *bound,
			    char *why, size_t whylen)
{
	if (e->type != REDIS_REPLY_STRING) {
		snprintf(why, whylen, "%s: reply element of type %d, not a string", what, e->type);
		return TU_EINVAL;
	}
	if (e->len > max) {
		snprintf(why, whylen, "%s is %zu bytes, over %s (%zu)", what, e->len, bound, max);
		return TU_ETOOBIG;
	}
	if (!tu_text_valid(e->str, e->len)) {
		snprintf(why, whylen, "%s is not UTF-8 text", what);
		return TU_EINVAL;
	}
	return TU_OK;
}

static int cmp_reply_str(const void *x, const void *y)
{
	const redisReply *a = *(const redisReply *const *)x;
	const redisReply *b = *(const redisReply *const *)y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->str, b->str, n);
	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Joins set members, sorted, comma-separated, into arena memory. */
static tu_status join_members(struct tu_arena *a, const redisReply *r, struct key_vars *kv,
			      char *why, size_t whylen)
{
	const redisReply **m = tu_arena_alloc(a, r->elements * sizeof(*m));
	size_t total = 0;
	for (size_t i = 0; i < r->elements; i++) {
		tu_status st = check_elem(r->element[i], TU_MAX_ATTR_VALUE, "set member",
					  "TU_MAX_ATTR_VALUE", why, whylen);
		if (st != TU_OK)
			return st;
		m[i] = r->element[i];
		total += m[i]->len + 1;
		if (total > TU_MAX_ATTR_VALUE + 1) {
			snprintf(why, whylen, "members joined are over TU_MAX_ATTR_VALUE (%d)",
				 TU_MAX_ATTR_VALUE);
			return TU_ETOOBIG;
		}
	}
	qsort(m, r->elements, sizeof(*m), cmp_reply_str);
	char *s = tu_arena_alloc(a, total + 1);
	size_t off = 0;
	for (size_t i = 0; i < r->elements; i++) {
		if (i > 0)
			s[off++] = ',';
		memcpy(s + off, m[i]->str, m[i]->len);
		off += m[i]->len;
	}
	s[off] = '\0';
	kv->members = s;
	kv->members_len = off;
	return TU_OK;
}

/* Fills kv from the reply of read; TU_ENOTFOUND if the key vanished. */
static tu_status reply_vars(struct tu_arena *a, enum tu_redis_read read, const redisReply *r,
			    struct key_vars *kv, char *why, size_t whylen)
{
	const char *cmd = read == TU_REDIS_READ_STRING ? "GET"
			  : read == TU_REDIS_READ_HASH ? "HGETALL" : "SMEMBERS";
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, whylen, "%s (read %s) failed: %.200s", cmd, read_name(read), r->str);
		return TU_EINVAL;
	}
	if (read == TU_REDIS_READ_STRING) {
		if (r->type == REDIS_REPLY_NIL)
			return TU_ENOTFOUND;
		tu_status st = check_elem(r, TU_MAX_ATTR_VALUE, "value", "TU_MAX_ATTR_VALUE", why,
					  whylen);
		if (st != TU_OK)
			return st;
		kv->value = r->str;
		kv->value_len = r->len;
		return TU_OK;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(why, whylen, "%s gave a reply of type %d, not an array", cmd, r->type);
		return TU_EINVAL;
	}
	if (r->elements == 0)
		return TU_ENOTFOUND;
	if (read == TU_REDIS_READ_SET)
		return join_members(a, r, kv, why, whylen);
	if (r->elements % 2 != 0) {
		snprintf(why, whylen, "HGETALL gave an odd number of elements (%zu)", r->elements);
		return TU_EINVAL;
	}
	if (r->elements / 2 > TU_MAX_ATTRS) {
		snprintf(why, whylen, "hash has %zu fields, over TU_MAX_ATTRS (%d)", r->elements / 2,
			 TU_MAX_ATTRS);
		return TU_ETOOBIG;
	}
	for (size_t i = 0; i < r->elements; i += 2) {
		tu_status st = check_elem(r->element[i], TU_MAX_ATTR_KEY, "field name",
					  "TU_MAX_ATTR_KEY", why, whylen);
		if (st == TU_OK && r->element[i]->len == 0) {
			snprintf(why, whylen, "empty field name");
			st = TU_EINVAL;
		}
		if (st == TU_OK)
			st = check_elem(r->element[i + 1], TU_MAX_ATTR_VALUE, "field value",
					"TU_MAX_ATTR_VALUE", why, whylen);
		if (st != TU_OK)
			return st;
	}
	kv->hash = r;
	return TU_OK;
}

/* The default attrs of a read: value, members or every field. */
static void default_attrs(struct tu_arena *a, const struct key_vars *kv, struct tu_entity *e)
{
	if (kv->hash != NULL) {
		size_t n = kv->hash->elements / 2;
		e->attrs = tu_arena_alloc(a, (n ? n : 1) * sizeof(*e->attrs));
		for (size_t i = 0; i < n; i++) {
			const redisReply *f = kv->hash->element[2 * i];
			const redisReply *v = kv->hash->element[2 * i + 1];
			Trueup__V1__Attr *at = tu_arena_alloc(a, sizeof(*at));
			trueup__v1__attr__init(at);
			at->key = tu_arena_strndup(a, f->str, f->len);
			at->value = tu_arena_strndup(a, v->str, v->len);
			e->attrs[i] = at;
		}
		e->n_attrs = n;
		return;
	}
	e->attrs = tu_arena_alloc(a, sizeof(*e->attrs));
	if (kv->value != NULL)
		e->attrs[0] = tu_pb_attr(a, "value", tu_arena_strndup(a, kv->value, kv->value_len));
	else
		e->attrs[0] = tu_pb_attr(a, "members", kv->members);
	e->n_attrs = 1;
}

tu_status tu__redis_entity(const struct tu_redis_observe *ob, const char *key, size_t key_len,
			   enum tu_redis_read read, const redisReply *r, struct tu_arena *a,
			   struct tu_entity *out, char *why, size_t whylen)
{
	struct key_vars kv = { .key = key, .key_len = key_len };
	struct tu_entity e = { .kind = ob->kind };
	tu_status st;

	if (!tu_text_valid(key, key_len)) {
		snprintf(why, whylen, "key is not UTF-8 text");
		return TU_EINVAL;
	}
	if (read != TU_REDIS_READ_STRING && read != TU_REDIS_READ_HASH &&
	    read != TU_REDIS_READ_SET) {
		snprintf(why, whylen, "read %s is not a read command", read_name(read));
		return TU_EINVAL;
	}
	st = reply_vars(a, read, r, &kv, why, whylen);
	if (st != TU_OK)
		return st;
	st = render(a, ob->name ? ob->name : "{key}", &kv, "name", &e.name, why, whylen);
	if (st == TU_OK)
		st = render(a, ob->ns ? ob->ns : "default", &kv, "namespace", &e.ns, why, whylen);
	if (st != TU_OK)
		return st;
	if (ob->attrs.n == 0) {
		default_attrs(a, &kv, &e);
	} else {
		if (ob->attrs.n > TU_MAX_ATTRS) {
			snprintf(why, whylen, "%zu attrs configured, over TU_MAX_ATTRS (%d)",
				 ob->attrs.n, TU_MAX_ATTRS);
			return TU_ETOOBIG;
		}
		e.attrs = tu_arena_alloc(a, ob->attrs.n * sizeof(*e.attrs));
		for (size_t i = 0; i < ob->attrs.n; i++) {
			const struct tu_kv *t = &ob->attrs.items[i];
			const char *v = NULL;
			char what[TU_MAX_ATTR_KEY + 16];
			snprintf(what, sizeof(what), "attr '%s'", t->key);
			st = render(a, t->value, &kv, what, &v, why, whylen);
			if (st != TU_OK)
				return st;
			e.attrs[i] = tu_pb_attr(a, t->key, v);
		}
		e.n_attrs = ob->attrs.n;
	}
	st = tu_entity_sort_attrs(e.attrs, e.n_attrs, why, whylen);
	if (st != TU_OK)
		return st;
	*out = e;
	return TU_OK;
}

tu_status tu__redis_add_ttl(const redisReply *r, struct tu_arena *a, struct tu_entity *e,
			    char *why, size_t whylen)
{
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, whylen, "PTTL failed: %.200s", r->str);
		return TU_EINVAL;
	}
	if (r->type != REDIS_REPLY_INTEGER) {
		snprintf(why, whylen, "PTTL gave a reply of type %d, not an integer", r->type);
		return TU_EINVAL;
	}
	if (r->integer == -2)
		return TU_ENOTFOUND;
	Trueup__V1__Attr **attrs = tu_arena_alloc(a, (e->n_attrs + 1) * sizeof(*attrs));
	memcpy(attrs, e->attrs, e->n_attrs * sizeof(*attrs));
	attrs[e->n_attrs] = tu_pb_attr(a, "ttl_ms", tu_arena_printf(a, "%lld", r->integer));
	tu_status st = tu_entity_sort_attrs(attrs, e->n_attrs + 1, why, whylen);
	if (st != TU_OK)
		return st;
	e->attrs = attrs;
	e->n_attrs++;
	return TU_OK;
}

/* ---- connection --------------------------------------------------------- */


static void disconnect(struct redis_source *rs)
{
	if (rs->c != NULL)
		redisFree(rs->c);
	rs->c = NULL;
}

/* Describes a failed call on the context and drops it; returns the status. */
static tu_status conn_failed(struct redis_source *rs, const char *what, char *err, size_t errlen)
{
	const char *detail = rs->c != NULL && rs->c->errstr[0] ? rs->c->errstr : "no reply";
	snprintf(err, errlen, "redis %s:%d: %s: %s (timeout %lld ms)", rs->url.host, rs->url.port, what,
		 detail, (long long)rs->base.cfg->timeout);
	disconnect(rs);
	return TU_EUNAVAIL;
}



static tu_status connect_redis(struct redis_source *rs, char *err, size_t errlen)
{
	const struct tu_redis_source *rc = rs->rc;
	tu_status st = tu_redis_open(&rs->url, rc->username, rc->password_file,
				     rs->base.cfg->timeout, &rs->c, err, errlen);
	if (st == TU_OK)
		tu_info("source %s: connected to redis %s:%d db %d", rs->base.cfg->name,
			rs->url.host, rs->url.port, rs->url.db);
	return st;
}

/* ---- scanning ----------------------------------------------------------- */

/* A key quoted for a warning: printable ASCII, others as '?', bounded. */
static const char *shown(struct tu_arena *a, const char *key, size_t len)
{
	size_t n = len > KEY_SHOWN ? KEY_SHOWN : len;
	char *s = tu_arena_alloc(a, n + 4);
	for (size_t i = 0; i < n; i++)
		s[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
	if (n < len)
		memcpy(s + n, "...", 3);
	return s;
}

static const char *read_command(enum tu_redis_read read)
{
	switch (read) {
	case TU_REDIS_READ_HASH: return "HGETALL %b";
	case TU_REDIS_READ_SET: return "SMEMBERS %b";
	default: return "GET %b";
	}
}

/* Sends `fmt key` for each key whose reads[i] is not READ_NONE, then reads the replies. */
static tu_status pipeline(struct redis_source *rs, const char *const *keys, const size_t *lens,
			  size_t n, const int *reads, const char *fixed_fmt, redisReply **replies,
			  char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (reads != NULL && reads[i] == READ_NONE)
			continue;
		const char *fmt = fixed_fmt ? fixed_fmt : read_command((enum tu_redis_read)reads[i]);
		if (redisAppendCommand(rs->c, fmt, keys[i], lens[i]) != REDIS_OK)
			return conn_failed(rs, "pipeline", err, errlen);
	}
	for (size_t i = 0; i < n; i++) {
		if (reads != NULL && reads[i] == READ_NONE)
			continue;
		void *r = NULL;
		if (redisGetReply(rs->c, &r) != REDIS_OK || r == NULL)
			return conn_failed(rs, "read reply", err, errlen);
		replies[i] = r;
	}
	return TU_OK;
}

/* Reads one batch of keys of ob and emits their entities. */
static tu_status read_batch(struct redis_source *rs, const struct tu_redis_observe *ob,
			    const char *const *keys, const size_t *lens, size_t n,
			    const struct tu_scan_sink *sink, char *err, size_t errlen)
{
	struct tu_arena *a = &rs->arena;
	redisReply **types = tu_xcalloc(n, sizeof(*types));
	redisReply **replies = tu_xcalloc(n, sizeof(*replies));
	redisReply **ttls = tu_xcalloc(n, sizeof(*ttls));
	int *reads = tu_xcalloc(n, sizeof(*reads));
	char why[512];
	tu_status st = TU_OK;

	for (size_t i = 0; i < n; i++)
		reads[i] = (int)ob->read;
	if (ob->read == TU_REDIS_READ_AUTO) {
		st = pipeline(rs, keys, lens, n, NULL, "TYPE %b", types, err, errlen);
		if (st != TU_OK)
			goto out;
		for (size_t i = 0; i < n; i++) {
			enum tu_redis_read rd = TU_REDIS_READ_AUTO;
			tu_status ts = tu__redis_read_of_type(types[i], &rd, why, sizeof(why));
			reads[i] = ts == TU_OK ? (int)rd : READ_NONE;
			if (ts == TU_EINVAL)
				tu_source_skip(&rs->base, sink, "key '%s': %s",
					       shown(a, keys[i], lens[i]), why);
		}
	}
	st = pipeline(rs, keys, lens, n, reads, NULL, replies, err, errlen);
	if (st == TU_OK && ob->ttl)
		st = pipeline(rs, keys, lens, n, reads, "PTTL %b", ttls, err, errlen);
	if (st != TU_OK)
		goto out;
	for (size_t i = 0; i < n && st == TU_OK; i++) {
		struct tu_entity e;
		tu_status es;
		if (reads[i] == READ_NONE)
			continue;
		es = tu__redis_entity(ob, keys[i], lens[i], (enum tu_redis_read)reads[i],
				      replies[i], a, &e, why, sizeof(why));
		if (es == TU_OK && ob->ttl)
			es = tu__redis_add_ttl(ttls[i], a, &e, why, sizeof(why));
		if (es == TU_ENOTFOUND) {
			tu_debug("source %s: key '%s' vanished before it was read",
				 rs->base.cfg->name, shown(a, keys[i], lens[i]));
		} else if (es != TU_OK) {
			tu_source_skip(&rs->base, sink, "key '%s': %s", shown(a, keys[i], lens[i]),
				       why);
		} else {
			char what[KEY_SHOWN + 16];
			snprintf(what, sizeof(what), "key '%s'", shown(a, keys[i], lens[i]));
			st = tu_source_emit(&rs->base, sink, &e, what);
		}
	}
out:
	for (size_t i = 0; i < n; i++) {
		if (types[i] != NULL)
			freeReplyObject(types[i]);
		if (replies[i] != NULL)
			freeReplyObject(replies[i]);
		if (ttls[i] != NULL)
			freeReplyObject(ttls[i]);
	}
	free(types);
	free(replies);
	free(ttls);
	free(reads);
	tu_arena_reset(a);
	return st;
}

/* Validates a SCAN reply: [cursor, [key...]]. */
static bool scan_reply_valid(const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return false;
	const redisReply *cur = r->element[0], *keys = r->element[1];
	if (cur->type != REDIS_REPLY_STRING || cur->len == 0 || cur->len >= MAX_CURSOR ||
	    strspn(cur->str, "0123456789") != cur->len)
		return false;
	if (keys->type != REDIS_REPLY_ARRAY)
		return false;
	for (size_t i = 0; i < keys->elements; i++)
		if (keys->element[i]->type != REDIS_REPLY_STRING)
			return false;
	return true;
}

static tu_status scan_pattern(struct redis_source *rs, const struct tu_redis_observe *ob,
			      const struct tu_scan_sink *sink, char *err, size_t errlen)
{
	char cursor[MAX_CURSOR] = "0";
	size_t per = rs->rc->pipeline > 0 ? (size_t)rs->rc->pipeline : 1;
	int count = rs->rc->scan_count > 0 ? rs->rc->scan_count : 1;
	const char **keys = tu_xcalloc(per, sizeof(*keys));
	size_t *lens = tu_xcalloc(per, sizeof(*lens));
	tu_status st = TU_OK;

	do {
		if (sink->stopping(sink->ctx)) {
			st = TU_ESTOP;
			break;
		}
		redisReply *r = redisCommand(rs->c, "SCAN %s MATCH %s COUNT %d", cursor, ob->scan,
					     count);
		if (r == NULL) {
			st = conn_failed(rs, "SCAN", err, errlen);
			break;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "redis %s:%d: SCAN MATCH %s refused: %.200s", rs->url.host,
				 rs->url.port, ob->scan, r->str);
			freeReplyObject(r);
			st = TU_EUNAVAIL;
			break;
		}
		if (!scan_reply_valid(r)) {
			snprintf(err, errlen, "redis %s:%d: SCAN MATCH %s: malformed reply",
				 rs->url.host, rs->url.port, ob->scan);
			freeReplyObject(r);
			disconnect(rs);
			st = TU_EDECODE;
			break;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len + 1);
		const redisReply *found = r->element[1];
		for (size_t off = 0; off < found->elements && st == TU_OK; off += per) {
			size_t n = found->elements - off < per ? found->elements - off : per;
			for (size_t i = 0; i < n; i++) {
				keys[i] = found->element[off + i]->str;
				lens[i] = found->element[off + i]->len;
			}
			st = read_batch(rs, ob, keys, lens, n, sink, err, errlen);
		}
		freeReplyObject(r);
	} while (st == TU_OK && strcmp(cursor, "0") != 0);
	free(keys);
	free(lens);
	return st;
}

static tu_status redis_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			    size_t errlen)
{
	struct redis_source *rs = (struct redis_source *)src;
	tu_status st = TU_OK;

	if (rs->c == NULL) {
		st = connect_redis(rs, err, errlen);
		if (st != TU_OK)
			return st;
	}
	for (size_t i = 0; i < rs->rc->n_observe && st == TU_OK; i++) {
		const struct tu_redis_observe *ob = &rs->rc->observe[i];
		if (ob->scan != NULL) {
			st = scan_pattern(rs, ob, sink, err, errlen);
		} else if (ob->get != NULL) {
			const char *key = ob->get;
			size_t len = strlen(key);
			st = sink->stopping(sink->ctx)
				     ? TU_ESTOP
				     : read_batch(rs, ob, &key, &len, 1, sink, err, errlen);
		}
	}
	return st;
}

static void redis_destroy(struct tu_source *src)
{
	struct redis_source *rs = (struct redis_source *)src;
	disconnect(rs);
	tu_arena_release(&rs->arena);
	free(rs);
}

static const struct tu_source_ops redis_ops = {
	.type = "redis",
	.scan = redis_scan,
	.destroy = redis_destroy,
};

tu_status tu_redis_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				 char *err, size_t errlen)
{
	const struct tu_redis_source *rc = &cfg->redis;
	char why[256];
	struct redis_source *rs = tu_xcalloc(1, sizeof(*rs));
	tu_status st = tu_redis_url_parse(rc->url ? rc->url : "redis://127.0.0.1:6379", &rs->url,
					  why, sizeof(why));
	if (st != TU_OK) {
		snprintf(err, errlen, "source %s (line %d): url: %s", cfg->name, cfg->line, why);
		free(rs);
		return st;
	}
	for (size_t i = 0; i < rc->n_observe; i++) {
		const struct tu_redis_observe *ob = &rc->observe[i];
		if ((ob->scan == NULL) == (ob->get == NULL) || !tu_name_valid(ob->kind)) {
			snprintf(err, errlen, "source %s (line %d): observe[%zu]: needs a valid kind "
				 "and exactly one of scan or get", cfg->name, cfg->line, i);
			free(rs);
			return TU_EINVAL;
		}
	}
	rs->base.ops = &redis_ops;
	rs->base.cfg = cfg;
	rs->rc = rc;
	/* One batch of entities fits in the first block, which resets keep. */
	tu_arena_init(&rs->arena, 256 * 1024);
	const char **kinds = tu_xcalloc(rc->n_observe ? rc->n_observe : 1, sizeof(*kinds));
	for (size_t i = 0; i < rc->n_observe; i++)
		kinds[i] = rc->observe[i].kind;
	tu__source_set_kinds(&rs->base, kinds, rc->n_observe);
	free(kinds);
	*out = &rs->base;
	return TU_OK;
}
