/*
 * mongo_target.c - the mongodb target adapter (see mongo_target.h).
 *
 * Invariants: `pool` is NULL until the first command, then a pool built
 * with the password read at that moment; an authentication failure drops
 * it so that the next command reads the password file again. A command's
 * write is one statement of one unordered bulk (per database and
 * collection of a batch); reads happen only to decide verdicts the counts
 * leave open, for dry-runs, and for duplicate keys of inserts. Every write
 * is idempotent ($set/$unset, inserts by _id), so a failure anywhere is
 * answered with failed-retryable and the redelivery finds what was done.
 *
 * Workload: fix commands are rare (tens per second at most) and arrive in
 * fetches of up to `batch`; a batch costs one bulk round trip per
 * collection, plus one read per write whose verdict the counts leave open.
 */
#include "mongo_target.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "jsonmap.h"
#include "log.h"
#include "mongoconn.h"
#include "xalloc.h"

#define R_SUCCEEDED TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED
#define R_NOOP TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP
#define R_SKIPPED TRUEUP__V1__OUTCOME__RESULT__RESULT_SKIPPED_PRECONDITION
#define R_DRY_RUN TRUEUP__V1__OUTCOME__RESULT__RESULT_DRY_RUN
#define R_RETRY TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE
#define R_PERMANENT TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT

#define MAX_DATABASE 63    /* bytes of a database name (MongoDB's limit) */
#define MAX_COLLECTION 255 /* bytes of a collection name (MongoDB's namespace limit) */
#define DUP_KEY 11000      /* the server's DuplicateKey code */

struct tu_mongo_adapter {
	const struct tu_target_config *cfg; /* borrowed; outlives the target */
	mongoc_client_pool_t *pool;         /* NULL until the first command, or after an auth failure */
	bool auth_failed;                   /* the current batch saw an authentication error */
	bool unreachable;                   /* the current batch could not reach the server: */
	bson_error_t down;                  /* why; later groups fail at once with it */
	char shown[TU_MONGO_MAX_URI];       /* the URI, redacted, for messages */
};

bool tu_mongo_verb_known(const char *action)
{
	return action != NULL && (strcmp(action, "delete-one") == 0 ||
				  strcmp(action, "update-one") == 0 ||
				  strcmp(action, "insert-one") == 0);
}

static enum tu__mongo_verb verb_of(const char *action)
{
	if (strcmp(action, "delete-one") == 0)
		return TU_MONGO_DELETE_ONE;
	if (strcmp(action, "update-one") == 0)
		return TU_MONGO_UPDATE_ONE;
	return TU_MONGO_INSERT_ONE;
}

static const char *verb_name(enum tu__mongo_verb v)
{
	switch (v) {
	case TU_MONGO_DELETE_ONE: return "delete-one";
	case TU_MONGO_UPDATE_ONE: return "update-one";
	case TU_MONGO_INSERT_ONE: return "insert-one";
	}
	return "?";
}

Trueup__V1__Outcome__Result tu__mongo_classify(const bson_error_t *e)
{
	return tu_mongo_retryable(e) ? R_RETRY : R_PERMANENT;
}

/* ---- params and preconditions -> documents --------------------------------------------- */

/* A field path a filter or update may name: not empty, no '$' first, no empty segment. */
static bool field_valid(const char *f)
{
	size_t n = strlen(f);

	if (n == 0 || n > TU_MAX_ATTR_KEY || f[0] == '$' || f[0] == '.' || f[n - 1] == '.')
		return false;
	return strstr(f, "..") == NULL;
}

static bool database_valid(const char *d)
{
	size_t n = strlen(d);

	return n > 0 && n <= MAX_DATABASE && strpbrk(d, "/\\. \"$*<>:|?") == NULL;
}

static bool collection_valid(const char *c)
{
	size_t n = strlen(c);

	return n > 0 && n <= MAX_COLLECTION && strchr(c, '$') == NULL &&
	       strncmp(c, "system.", 7) != 0;
}

/* The key of element i of an array being built ("0", "1", ...), in buf or static memory. */
static const char *index_key(uint32_t i, char buf[16])
{
	const char *key = NULL;

	bson_uint32_to_string(i, &key, buf, 16);
	return key;
}

/*
 * The values a stored field may hold for a producer to have rendered it as
 * v (docs/sources.md): the string itself; the number whose JSON rendering is
 * exactly v; true/false; null (and a missing field) for "".
 */
static void append_candidates(bson_t *arr, const char *v)
{
	char kb[16];
	json_error_t je;
	json_t *j = NULL;
	struct tu_buf again;
	const char *k1 = index_key(1, kb);

	BSON_APPEND_UTF8(arr, "0", v);
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		BSON_APPEND_BOOL(arr, k1, v[0] == 't');
		return;
	}
	if (*v == '\0') {
		BSON_APPEND_NULL(arr, k1);
		return;
	}
	j = json_loads(v, JSON_DECODE_ANY, &je);
	if (j == NULL || !json_is_number(j)) {
		json_decref(j);
		return;
	}
	tu_buf_init(&again, 64);
	if (tu_json_scalar(j, &again) && strcmp(tu_buf_cstr(&again), v) == 0) {
		if (json_is_integer(j))
			BSON_APPEND_INT64(arr, k1, json_integer_value(j));
		else
			BSON_APPEND_DOUBLE(arr, k1, json_real_value(j));
	}
	tu_buf_release(&again);
	json_decref(j);
}

/* A list of filter clauses, later joined with $and. */
struct clauses {
	bson_t *items[TU_MAX_PARAMS + 2]; /* owned, n in use */
	size_t n;                         /* clauses so far */
};

static void clauses_release(struct clauses *c)
{
	for (size_t i = 0; i < c->n; i++)
		bson_destroy(c->items[i]);
	c->n = 0;
}

static bson_t *clause_push(struct clauses *c)
{
	bson_t *b = bson_new();

	c->items[c->n++] = b;
	return b;
}

/* {$and: [base, clauses...]}, or a copy of base without clauses. */
static bson_t *join_and(const bson_t *base, const struct clauses *c)
{
	bson_t *out = bson_new();
	bson_t arr;
	char kb[16];

	if (c->n == 0) {
		bson_concat(out, base);
		return out;
	}
	BSON_APPEND_ARRAY_BEGIN(out, "$and", &arr);
	BSON_APPEND_DOCUMENT(&arr, "0", base);
	for (size_t i = 0; i < c->n; i++) {
		const char *key = index_key((uint32_t)i + 1, kb);
		BSON_APPEND_DOCUMENT(&arr, key, c->items[i]);
	}
	bson_append_array_end(out, &arr);
	return out;
}

/* Turns precondition i into a clause (or checks that it is implied by the write). */
static tu_status add_precondition(enum tu__mongo_verb verb, const Trueup__V1__Precondition *pre,
				  size_t i, struct clauses *c, char *err, size_t errlen)
{
	const char *field = pre->field != NULL && *pre->field != '\0' ? pre->field
			    : pre->key != NULL ? pre->key : "";
	bson_t *cl, sub, arr;

	switch (pre->op) {
	case TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS:
	case TRUEUP__V1__PRECONDITION__OP__OP_EQUALS:
		if (*field == '\0') {
			snprintf(err, errlen, "precondition %zu: %s needs a field (or key) naming a "
				 "document field", i + 1, pre->op == TRUEUP__V1__PRECONDITION__OP__OP_EQUALS
				 ? "equals" : "field_equals");
			return TU_EINVAL;
		}
		break;
	case TRUEUP__V1__PRECONDITION__OP__OP_EXISTS:
	case TRUEUP__V1__PRECONDITION__OP__OP_ABSENT:
		break;
	default:
		snprintf(err, errlen, "precondition %zu: missing or unknown op", i + 1);
		return TU_EINVAL;
	}
	if (*field != '\0' && !field_valid(field)) {
		snprintf(err, errlen, "precondition %zu: \"%.64s\" is not a field path", i + 1, field);
		return TU_EINVAL;
	}
	if (*field == '\0') {
		/* The document itself: exists is what a delete or update matches anyway,
		 * absent is what an insert (by _id) requires anyway. */
		bool exists = pre->op == TRUEUP__V1__PRECONDITION__OP__OP_EXISTS;
		if (exists == (verb == TU_MONGO_INSERT_ONE)) {
			snprintf(err, errlen, "precondition %zu: %s of the document can never hold "
				 "for %s", i + 1, exists ? "exists" : "absent", verb_name(verb));
			return TU_EINVAL;
		}
		return TU_OK;
	}
	if (verb == TU_MONGO_INSERT_ONE) {
		snprintf(err, errlen, "precondition %zu: insert-one takes no field preconditions "
			 "(its _id is its compare-and-set)", i + 1);
		return TU_EINVAL;
	}
	cl = clause_push(c);
	BSON_APPEND_DOCUMENT_BEGIN(cl, field, &sub);
	if (pre->op == TRUEUP__V1__PRECONDITION__OP__OP_EXISTS ||
	    pre->op == TRUEUP__V1__PRECONDITION__OP__OP_ABSENT) {
		BSON_APPEND_BOOL(&sub, "$exists", pre->op == TRUEUP__V1__PRECONDITION__OP__OP_EXISTS);
	} else {
		BSON_APPEND_ARRAY_BEGIN(&sub, "$in", &arr);
		append_candidates(&arr, pre->value != NULL ? pre->value : "");
		bson_append_array_end(&sub, &arr);
	}
	bson_append_document_end(cl, &sub);
	return TU_OK;
}

/* Checks an update document ($set and $unset only) and adds the state it leads to as clauses. */
static tu_status check_update(const bson_t *u, struct clauses *c, char *err, size_t errlen)
{
	bson_iter_t it, f;
	size_t n_ops = 0;

	if (!bson_iter_init(&it, u))
		goto bad;
	while (bson_iter_next(&it)) {
		const char *op = bson_iter_key(&it);
		bool set = strcmp(op, "$set") == 0;
		size_t n_fields = 0;

		if (!set && strcmp(op, "$unset") != 0) {
			snprintf(err, errlen, "param update: operator \"%.32s\" is not allowed (only "
				 "$set and $unset, whose effect a redelivery cannot repeat)", op);
			return TU_EINVAL;
		}
		if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !bson_iter_recurse(&it, &f))
			goto bad;
		while (bson_iter_next(&f)) {
			const char *path = bson_iter_key(&f);
			bson_t *cl, sub;
			if (!field_valid(path) || strcmp(path, "_id") == 0 ||
			    strncmp(path, "_id.", 4) == 0) {
				snprintf(err, errlen, "param update: %s of \"%.64s\": not a field path "
					 "this target updates", op, path);
				return TU_EINVAL;
			}
			if (c->n >= sizeof(c->items) / sizeof(c->items[0]) - 1) {
				snprintf(err, errlen, "param update: more than %d fields",
					 TU_MAX_PARAMS);
				return TU_ETOOBIG;
			}
			cl = clause_push(c);
			BSON_APPEND_DOCUMENT_BEGIN(cl, path, &sub);
			if (set)
				bson_append_iter(&sub, "$eq", 3, &f);
			else
				BSON_APPEND_BOOL(&sub, "$exists", false);
			bson_append_document_end(cl, &sub);
			n_fields++;
		}
		if (n_fields == 0) {
			snprintf(err, errlen, "param update: %s names no field", op);
			return TU_EINVAL;
		}
		n_ops++;
	}
	if (n_ops > 0)
		return TU_OK;
bad:
	snprintf(err, errlen, "param update: needs {\"$set\": {...}} and/or {\"$unset\": {...}}");
	return TU_EINVAL;
}

void tu__mongo_op_release(struct tu__mongo_op *op)
{
	bson_t **docs[] = { &op->filter, &op->full, &op->update, &op->desired, &op->document,
			    &op->by_id };

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		if (*docs[i] != NULL)
			bson_destroy(*docs[i]);
		*docs[i] = NULL;
	}
}

/* Parses the JSON param `name` into *out. */
static tu_status json_param(const Trueup__V1__FixCommand *cmd, const char *name, bson_t **out,
			    char *err, size_t errlen)
{
	char why[256];
	const char *v = tu_pb_attrs_get(cmd->params, cmd->n_params, name);

	if (v == NULL) {
		snprintf(err, errlen, "param %s: missing (%s needs it)", name, cmd->action);
		return TU_EINVAL;
	}
	if (tu_mongo_bson_from_json(v, out, why, sizeof(why)) != TU_OK) {
		snprintf(err, errlen, "param %s: %s", name, why);
		return TU_EINVAL;
	}
	return TU_OK;
}

/* Checks that cmd's params are exactly those its verb takes, and names database and collection. */
static tu_status check_params(const Trueup__V1__FixCommand *cmd, struct tu__mongo_op *op,
			      char *err, size_t errlen)
{
	const char *json_param_name = op->verb == TU_MONGO_INSERT_ONE ? "document" : "filter";

	if (!tu_pb_attrs_valid(cmd->params, cmd->n_params)) {
		snprintf(err, errlen, "params: not sorted by key, a key twice or a null entry");
		return TU_EINVAL;
	}
	for (size_t i = 0; i < cmd->n_params; i++) {
		const char *k = cmd->params[i]->key;
		if (strcmp(k, "database") != 0 && strcmp(k, "collection") != 0 &&
		    strcmp(k, json_param_name) != 0 &&
		    (op->verb != TU_MONGO_UPDATE_ONE || strcmp(k, "update") != 0)) {
			snprintf(err, errlen, "param %.64s: not a param of %s", k, cmd->action);
			return TU_EINVAL;
		}
	}
	op->database = tu_pb_attrs_get(cmd->params, cmd->n_params, "database");
	op->collection = tu_pb_attrs_get(cmd->params, cmd->n_params, "collection");
	if (op->database == NULL || !database_valid(op->database)) {
		snprintf(err, errlen, "param database: %s", op->database == NULL
			 ? "missing" : "not a database name");
		return TU_EINVAL;
	}
	if (op->collection == NULL || !collection_valid(op->collection)) {
		snprintf(err, errlen, "param collection: %s", op->collection == NULL
			 ? "missing" : "not a collection name");
		return TU_EINVAL;
	}
	return TU_OK;
}

tu_status tu__mongo_op_build(const Trueup__V1__FixCommand *cmd, struct tu__mongo_op *op,
			     char *err, size_t errlen)
{
	struct clauses pre = { .n = 0 }, want = { .n = 0 };
	bson_iter_t it;
	tu_status st;

	memset(op, 0, sizeof(*op));
	if (!tu_mongo_verb_known(cmd->action)) {
		snprintf(err, errlen, "action %.64s: not a verb of the mongodb target",
			 cmd->action != NULL ? cmd->action : "");
		return TU_EINVAL;
	}
	op->verb = verb_of(cmd->action);
	if (cmd->n_params > TU_MAX_PARAMS || cmd->n_preconditions > TU_MAX_PARAMS) {
		snprintf(err, errlen, "params or preconditions over TU_MAX_PARAMS (%d)",
			 TU_MAX_PARAMS);
		return TU_ETOOBIG;
	}
	st = check_params(cmd, op, err, errlen);
	if (st != TU_OK)
		goto out;
	for (size_t i = 0; i < cmd->n_preconditions && st == TU_OK; i++) {
		if (cmd->preconditions[i] == NULL) {
			snprintf(err, errlen, "precondition %zu: missing", i + 1);
			st = TU_EINVAL;
		} else {
			st = add_precondition(op->verb, cmd->preconditions[i], i, &pre, err, errlen);
		}
	}
	if (st != TU_OK)
		goto out;
	if (op->verb == TU_MONGO_INSERT_ONE) {
		st = json_param(cmd, "document", &op->document, err, errlen);
		if (st != TU_OK)
			goto out;
		if (!bson_iter_init_find(&it, op->document, "_id")) {
			snprintf(err, errlen, "param document: needs an _id (so that a redelivery "
				 "finds it instead of inserting a second document)");
			st = TU_EINVAL;
			goto out;
		}
		op->by_id = bson_new();
		bson_append_iter(op->by_id, "_id", 3, &it);
		goto out;
	}
	st = json_param(cmd, "filter", &op->filter, err, errlen);
	if (st == TU_OK && bson_count_keys(op->filter) == 0) {
		snprintf(err, errlen, "param filter: empty; it would pick any document");
		st = TU_EINVAL;
	}
	if (st == TU_OK && op->verb == TU_MONGO_UPDATE_ONE) {
		st = json_param(cmd, "update", &op->update, err, errlen);
		if (st == TU_OK)
			st = check_update(op->update, &want, err, errlen);
		if (st == TU_OK)
			op->desired = join_and(op->filter, &want);
	}
	if (st == TU_OK)
		op->full = join_and(op->filter, &pre);
out:
	clauses_release(&pre);
	clauses_release(&want);
	if (st != TU_OK)
		tu__mongo_op_release(op);
	return st;
}

/* ---- verdicts from counts -------------------------------------------------------------- */

bool tu__mongo_needs_after(enum tu__mongo_verb verb, size_t m, int64_t count, int64_t modified)
{
	(void)modified;
	if (verb == TU_MONGO_INSERT_ONE || m == 0)
		return false;
	return count != (int64_t)m; /* every write matched: the counts decide */
}

void tu__mongo_decide(enum tu__mongo_verb verb, size_t m, int64_t count, int64_t modified,
		      const enum tu__mongo_after *after, Trueup__V1__Outcome__Result *res,
		      bool *exact)
{
	size_t hit = 0; /* writes whose document is gone (delete) or as desired (update) now */
	enum tu__mongo_after want = verb == TU_MONGO_DELETE_ONE ? TU_MONGO_AFTER_GONE
								 : TU_MONGO_AFTER_DESIRED;
	int64_t did = verb == TU_MONGO_DELETE_ONE ? count : modified;

	if (!tu__mongo_needs_after(verb, m, count, modified)) {
		/* Every write matched. Deletes removed; updates modified, or found it done. */
		for (size_t i = 0; i < m; i++) {
			res[i] = verb == TU_MONGO_UPDATE_ONE && modified == 0 ? R_NOOP : R_SUCCEEDED;
			exact[i] = verb == TU_MONGO_DELETE_ONE || modified == 0 ||
				   modified == (int64_t)m;
		}
		return;
	}
	for (size_t i = 0; i < m; i++) {
		if (after != NULL && after[i] == want)
			hit++;
	}
	for (size_t i = 0; i < m; i++) {
		if (after == NULL || after[i] != want) {
			/* Still there and different (or gone, for an update): not ours. */
			res[i] = R_SKIPPED;
			exact[i] = true;
		} else if (did == 0) {
			res[i] = R_NOOP;
			exact[i] = true;
		} else {
			res[i] = R_SUCCEEDED;
			exact[i] = did == (int64_t)hit;
		}
	}
}

/* ---- reads ----------------------------------------------------------------------------- */

/*
 * Looks for one document matching filter: true with *found (and a copy in
 * doc, if not NULL: the whole document), false with be on a failed read.
 */
static bool find_one(mongoc_collection_t *coll, const bson_t *filter, bson_t *doc, bool *found,
		     bson_error_t *be)
{
	bson_t opts = BSON_INITIALIZER, proj;
	const bson_t *d = NULL;
	mongoc_cursor_t *cur;
	bool ok;

	BSON_APPEND_INT64(&opts, "limit", 1);
	BSON_APPEND_BOOL(&opts, "singleBatch", true);
	if (doc == NULL) {
		BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
		BSON_APPEND_INT32(&proj, "_id", 1);
		bson_append_document_end(&opts, &proj);
	}
	cur = mongoc_collection_find_with_opts(coll, filter, &opts, NULL);
	*found = mongoc_cursor_next(cur, &d);
	if (*found && doc != NULL)
		bson_copy_to(d, doc);
	ok = !mongoc_cursor_error(cur, be);
	if (!ok && *found && doc != NULL)
		bson_destroy(doc);
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	return ok;
}

/* The same document for trueup: equal as relaxed extended JSON (field order aside). */
static bool same_document(const bson_t *a, const bson_t *b)
{
	json_t *ja = tu_mongo_to_json(a), *jb = tu_mongo_to_json(b);
	bool same = ja != NULL && jb != NULL && json_equal(ja, jb);

	json_decref(ja);
	json_decref(jb);
	return same;
}

/* ---- execution ------------------------------------------------------------------------- */

/* One command of a batch. */
struct job {
	struct tu__mongo_op op; /* built from the command */
	bool ready;             /* op built and no verdict yet */
	bool dry;               /* evaluate read-only */
	int32_t werr;           /* the bulk's write error for it; 0: none */
	char werr_msg[TU_EXEC_ERROR]; /* its errmsg */
	struct tu_exec *out;    /* its verdict (the caller's) */
	char what[TU_MONGO_SHOWN + 160]; /* "delete-one db.coll {filter}" for details */
};

static void describe(struct job *j)
{
	const bson_t *shown = j->op.verb == TU_MONGO_INSERT_ONE ? j->op.by_id : j->op.full;
	char *s = bson_as_relaxed_extended_json(shown, NULL);

	snprintf(j->what, sizeof(j->what), "%s %s.%s %.*s%s", verb_name(j->op.verb),
		 j->op.database, j->op.collection, TU_MONGO_SHOWN, s != NULL ? s : "?",
		 s != NULL && strlen(s) > TU_MONGO_SHOWN ? "..." : "");
	bson_free(s);
}

/* Fills j's verdict from a failed driver call. */
static void failed(tu_mongo_adapter *t, struct job *j, const bson_error_t *be, const char *what)
{
	char text[TU_EXEC_ERROR];

	if (tu_mongo_status(be) == TU_EAUTH)
		t->auth_failed = true;
	if (!t->unreachable &&
	    (be->domain == MONGOC_ERROR_STREAM || be->domain == MONGOC_ERROR_SERVER_SELECTION)) {
		t->unreachable = true;
		t->down = *be;
	}
	snprintf(text, sizeof(text), "mongodb %.160s: %.300s (domain %" PRIu32 ", code %" PRIu32 ")",
		 t->shown, be->message, be->domain, be->code);
	tu_exec_set(j->out, tu__mongo_classify(be), text, "%s: %s", j->what, what);
	j->ready = false;
}

/* Read-only evaluation of one command. */
static void evaluate_dry(tu_mongo_adapter *t, mongoc_client_t *client, struct job *j)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(client, j->op.database,
								 j->op.collection);
	const struct tu__mongo_op *op = &j->op;
	bson_error_t be;
	bson_t have;
	bool found = false, desired = false, exists = false;

	if (op->verb == TU_MONGO_INSERT_ONE) {
		if (!find_one(coll, op->by_id, &have, &found, &be)) {
			failed(t, j, &be, "dry-run read failed");
		} else if (!found) {
			tu_exec_set(j->out, R_DRY_RUN, NULL, "would insert: %s", j->what);
		} else {
			bool same = same_document(&have, op->document);
			bson_destroy(&have);
			tu_exec_set(j->out, R_DRY_RUN, NULL, same
				    ? "would do nothing: an identical document exists: %s"
				    : "would skip: a different document with this _id exists: %s",
				    j->what);
		}
		goto out;
	}
	if (!find_one(coll, op->full, NULL, &found, &be) ||
	    (op->desired != NULL && !find_one(coll, op->desired, NULL, &desired, &be)) ||
	    (!found && !find_one(coll, op->filter, NULL, &exists, &be))) {
		failed(t, j, &be, "dry-run read failed");
		goto out;
	}
	if (op->verb == TU_MONGO_DELETE_ONE && found)
		tu_exec_set(j->out, R_DRY_RUN, NULL, "would delete one document: %s", j->what);
	else if (op->verb == TU_MONGO_DELETE_ONE && !exists)
		tu_exec_set(j->out, R_DRY_RUN, NULL, "would do nothing: no document matches the "
			    "filter (already gone): %s", j->what);
	else if (desired)
		tu_exec_set(j->out, R_DRY_RUN, NULL, "would do nothing: already as desired: %s",
			    j->what);
	else if (found)
		tu_exec_set(j->out, R_DRY_RUN, NULL, "would update one document: %s", j->what);
	else if (exists)
		tu_exec_set(j->out, R_DRY_RUN, NULL, "would skip: a document matches the filter "
			    "but not the preconditions: %s", j->what);
	else
		tu_exec_set(j->out, R_DRY_RUN, NULL, "would skip: no document matches the filter: "
			    "%s", j->what);
out:
	j->ready = false;
	mongoc_collection_destroy(coll);
}

/* An insert refused with a duplicate key: identical (noop) or not (skipped). */
static void insert_duplicate(tu_mongo_adapter *t, mongoc_collection_t *coll, struct job *j)
{
	bson_error_t be;
	bson_t have;
	bool found = false;

	if (!find_one(coll, j->op.by_id, &have, &found, &be)) {
		failed(t, j, &be, "duplicate key, and reading the existing document failed");
		return;
	}
	if (!found) {
		tu_exec_set(j->out, R_SKIPPED, j->werr_msg, "%s: skipped: a document with the same "
			    "key in another unique index exists", j->what);
	} else {
		bool same = same_document(&have, j->op.document);
		bson_destroy(&have);
		if (same)
			tu_exec_set(j->out, R_NOOP, NULL, "%s: an identical document exists",
				    j->what);
		else
			tu_exec_set(j->out, R_SKIPPED, j->werr_msg, "%s: skipped: a different "
				    "document with this _id exists", j->what);
	}
	j->ready = false;
}

/* The writeErrors of a bulk reply, onto the jobs by bulk index. */
static void take_write_errors(const bson_t *reply, struct job **in_bulk, size_t nb)
{
	bson_iter_t it, arr, e;

	if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return;
	while (bson_iter_next(&arr)) {
		int64_t index = -1;
		int32_t code = 0;
		const char *msg = "";
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr) || !bson_iter_recurse(&arr, &e))
			continue;
		while (bson_iter_next(&e)) {
			const char *k = bson_iter_key(&e);
			if (strcmp(k, "index") == 0 && BSON_ITER_HOLDS_NUMBER(&e))
				index = bson_iter_as_int64(&e);
			else if (strcmp(k, "code") == 0 && BSON_ITER_HOLDS_NUMBER(&e))
				code = (int32_t)bson_iter_as_int64(&e);
			else if (strcmp(k, "errmsg") == 0 && BSON_ITER_HOLDS_UTF8(&e))
				msg = bson_iter_utf8(&e, NULL);
		}
		if (index < 0 || (size_t)index >= nb || code == 0)
			continue;
		in_bulk[index]->werr = code;
		snprintf(in_bulk[index]->werr_msg, sizeof(in_bulk[index]->werr_msg),
			 "%s (code %" PRId32 ")", msg, code);
	}
}

static int64_t reply_count(const bson_t *reply, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it))
		return bson_iter_as_int64(&it);
	return 0;
}

/* True if reply has a non-empty array under key. */
static bool reply_has(const bson_t *reply, const char *key)
{
	bson_iter_t it, arr;

	return bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_ARRAY(&it) &&
	       bson_iter_recurse(&it, &arr) && bson_iter_next(&arr);
}

/*
 * Verdicts of the jobs of one verb without write errors, from the bulk's
 * counts and, where those leave it open, reads of each document.
 */
static void decide_verb(tu_mongo_adapter *t, mongoc_collection_t *coll, struct job **in_bulk,
			size_t nb, enum tu__mongo_verb verb, const bson_t *reply)
{
	struct job **js = tu_xcalloc(nb, sizeof(*js));
	enum tu__mongo_after *after = NULL;
	Trueup__V1__Outcome__Result *res = NULL;
	bool *exact = NULL;
	size_t m = 0;
	int64_t count = reply_count(reply, verb == TU_MONGO_DELETE_ONE ? "nRemoved" : "nMatched");
	int64_t modified = reply_count(reply, "nModified");
	bson_error_t be;

	for (size_t i = 0; i < nb; i++) {
		if (in_bulk[i]->ready && in_bulk[i]->op.verb == verb)
			js[m++] = in_bulk[i];
	}
	if (m == 0)
		goto out;
	res = tu_xcalloc(m, sizeof(*res));
	exact = tu_xcalloc(m, sizeof(*exact));
	if (tu__mongo_needs_after(verb, m, count, modified)) {
		after = tu_xcalloc(m, sizeof(*after));
		for (size_t i = 0; i < m; i++) {
			const struct tu__mongo_op *op = &js[i]->op;
			bool desired = false, exists = false;
			if ((op->desired != NULL && !find_one(coll, op->desired, NULL, &desired, &be)) ||
			    (!desired && !find_one(coll, op->filter, NULL, &exists, &be))) {
				/* Without every read the counts cannot be shared out: retry them all. */
				for (size_t k = 0; k < m; k++)
					failed(t, js[k], &be, "written in a bulk, but reading back "
					       "which writes applied failed");
				goto out;
			}
			after[i] = desired ? TU_MONGO_AFTER_DESIRED
				   : exists ? TU_MONGO_AFTER_OTHER : TU_MONGO_AFTER_GONE;
		}
	}
	tu__mongo_decide(verb, m, count, modified, after, res, exact);
	for (size_t i = 0; i < m; i++) {
		struct job *j = js[i];
		bool gone = after != NULL && after[i] == TU_MONGO_AFTER_GONE;
		if (res[i] == R_SKIPPED && verb == TU_MONGO_UPDATE_ONE && gone)
			tu_exec_set(j->out, res[i], NULL, "%s: skipped: no document matches the "
				    "filter", j->what);
		else if (res[i] == R_SKIPPED)
			tu_exec_set(j->out, res[i], NULL, "%s: skipped: a document matches the "
				    "filter but not the preconditions", j->what);
		else if (res[i] == R_NOOP && verb == TU_MONGO_DELETE_ONE)
			tu_exec_set(j->out, res[i], NULL, "%s: no document matches the filter "
				    "(already gone)", j->what);
		else if (res[i] == R_NOOP)
			tu_exec_set(j->out, res[i], NULL, "%s: already as desired", j->what);
		else if (!exact[i])
			tu_exec_set(j->out, res[i], NULL, "%s: %s (by this bulk of %zu, which %s "
				    "%" PRId64 ", or already before it)", j->what,
				    verb == TU_MONGO_DELETE_ONE ? "gone" : "as desired", m,
				    verb == TU_MONGO_DELETE_ONE ? "removed" : "modified",
				    verb == TU_MONGO_DELETE_ONE ? count : modified);
		else
			tu_exec_set(j->out, res[i], NULL, "%s: %s", j->what,
				    verb == TU_MONGO_DELETE_ONE ? "removed 1 document"
								: "modified 1 document");
		j->ready = false;
	}
out:
	free(js);
	free(after);
	free(res);
	free(exact);
}

/* Runs jobs (same database and collection, not dry) as one unordered bulk write. */
static void run_bulk(tu_mongo_adapter *t, mongoc_client_t *client, struct job **group,
		     size_t n)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(client, group[0]->op.database,
								 group[0]->op.collection);
	bson_t opts = BSON_INITIALIZER, reply;
	struct job **in_bulk = tu_xcalloc(n, sizeof(*in_bulk));
	mongoc_bulk_operation_t *bulk = NULL;
	bson_error_t be;
	size_t nb = 0;
	bool ok, explained;

	BSON_APPEND_BOOL(&opts, "ordered", false);
	bulk = mongoc_collection_create_bulk_operation_with_opts(coll, &opts);
	for (size_t i = 0; i < n; i++) {
		struct job *j = group[i];
		const struct tu__mongo_op *op = &j->op;
		bool added = op->verb == TU_MONGO_DELETE_ONE
				     ? mongoc_bulk_operation_remove_one_with_opts(bulk, op->full, NULL,
										  &be)
			     : op->verb == TU_MONGO_UPDATE_ONE
				     ? mongoc_bulk_operation_update_one_with_opts(bulk, op->full,
										  op->update, NULL, &be)
				     : mongoc_bulk_operation_insert_with_opts(bulk, op->document, NULL,
									      &be);
		if (added)
			in_bulk[nb++] = j;
		else
			failed(t, j, &be, "refused by the driver");
	}
	if (nb == 0) {
		bson_init(&reply);
		goto out;
	}
	ok = mongoc_bulk_operation_execute(bulk, &reply, &be) != 0;
	take_write_errors(&reply, in_bulk, nb);
	/*
	 * A failure that is only its write errors (the driver reports the first one)
	 * leaves the other writes' counts good; a network or command error in any run
	 * of the bulk leaves them unknown.
	 */
	explained = ok;
	for (size_t i = 0; !ok && i < nb; i++) {
		if (be.domain == MONGOC_ERROR_SERVER && in_bulk[i]->werr == (int32_t)be.code &&
		    !reply_has(&reply, "writeConcernErrors"))
			explained = true;
	}
	for (size_t i = 0; i < nb; i++) {
		struct job *j = in_bulk[i];
		if (j->werr == DUP_KEY && j->op.verb == TU_MONGO_INSERT_ONE) {
			insert_duplicate(t, coll, j);
		} else if (j->werr != 0) {
			tu_exec_set(j->out, tu_mongo_code_retryable(j->werr) ? R_RETRY : R_PERMANENT,
				    j->werr_msg, "%s: write refused", j->what);
			j->ready = false;
		} else if (!explained) {
			failed(t, j, &be, "bulk write failed; whether it was applied is found out on "
			       "the next delivery");
		}
	}
	if (!explained)
		goto out;
	decide_verb(t, coll, in_bulk, nb, TU_MONGO_DELETE_ONE, &reply);
	decide_verb(t, coll, in_bulk, nb, TU_MONGO_UPDATE_ONE, &reply);
	for (size_t i = 0; i < nb; i++) {
		if (in_bulk[i]->ready && in_bulk[i]->op.verb == TU_MONGO_INSERT_ONE) {
			tu_exec_set(in_bulk[i]->out, R_SUCCEEDED, NULL, "%s: inserted",
				    in_bulk[i]->what);
			in_bulk[i]->ready = false;
		}
	}
out:
	tu_debug("mongodb target %s: bulk of %zu on %s.%s", t->cfg->name, nb, group[0]->op.database,
		 group[0]->op.collection);
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(&opts);
	free(in_bulk);
	mongoc_collection_destroy(coll);
}

static bool open_pool(tu_mongo_adapter *t, char *err, size_t errlen)
{
	char appname[TU_MAX_KIND + 32];

	if (t->pool != NULL)
		return true;
	snprintf(appname, sizeof(appname), "trueup-actuator-%s", t->cfg->name);
	if (tu_mongo_pool_create(t->cfg->mongo.uri, t->cfg->mongo.password_file, t->cfg->timeout,
				 appname, &t->pool, err, errlen) != TU_OK)
		return false;
	tu_info("mongodb target %s: %s (timeout %" PRId64 " ms)", t->cfg->name, t->shown,
		t->cfg->timeout);
	return true;
}

static tu_status mongo_execute_batch(void *impl, const Trueup__V1__FixCommand *const *cmds,
				     const bool *dry_run, size_t n, struct tu_exec *outs)
{
	tu_mongo_adapter *t = impl;
	struct job *jobs = tu_xcalloc(n, sizeof(*jobs));
	struct job **group = tu_xcalloc(n, sizeof(*group));
	mongoc_client_t *client = NULL;
	char err[TU_EXEC_ERROR];
	size_t ready = 0;

	t->auth_failed = false;
	t->unreachable = false;
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		j->out = &outs[i];
		j->dry = dry_run[i];
		if (tu__mongo_op_build(cmds[i], &j->op, err, sizeof(err)) != TU_OK) {
			tu_exec_set(j->out, R_PERMANENT, err, "bad params: nothing done");
			continue;
		}
		describe(j);
		j->ready = true;
		ready++;
	}
	if (ready == 0)
		goto out;
	if (!open_pool(t, err, sizeof(err))) {
		/* Unreadable password file or the like: the target's problem, retryable. */
		for (size_t i = 0; i < n; i++) {
			if (jobs[i].ready)
				tu_exec_set(jobs[i].out, R_RETRY, err, "mongodb connection failed");
		}
		goto out;
	}
	client = mongoc_client_pool_pop(t->pool);
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].ready && jobs[i].dry && t->unreachable)
			failed(t, &jobs[i], &t->down, "not tried: the server was unreachable");
		else if (jobs[i].ready && jobs[i].dry)
			evaluate_dry(t, client, &jobs[i]);
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		if (jobs[i].ready && t->unreachable) {
			/* Each group would wait out server selection again: fail them at once. */
			failed(t, &jobs[i], &t->down, "not tried: the server was unreachable");
			continue;
		}
		if (!jobs[i].ready)
			continue;
		for (size_t j = i; j < n; j++) {
			if (jobs[j].ready && strcmp(jobs[j].op.database, jobs[i].op.database) == 0 &&
			    strcmp(jobs[j].op.collection, jobs[i].op.collection) == 0)
				group[k++] = &jobs[j];
		}
		run_bulk(t, client, group, k);
		for (size_t j = 0; j < k; j++)
			group[j]->ready = false; /* every job of the group has its verdict now */
	}
	mongoc_client_pool_push(t->pool, client);
	if (t->auth_failed) {
		/* The password file may be fixed before the next delivery: read it again then. */
		mongoc_client_pool_destroy(t->pool);
		t->pool = NULL;
	}
out:
	for (size_t i = 0; i < n; i++)
		tu__mongo_op_release(&jobs[i].op);
	free(group);
	free(jobs);
	return TU_OK;
}

static tu_status mongo_execute(void *impl, const Trueup__V1__FixCommand *cmd, bool dry_run,
			       struct tu_exec *out)
{
	return mongo_execute_batch(impl, &cmd, &dry_run, 1, out);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

tu_status tu_mongo_adapter_create(const struct tu_target_config *cfg, tu_mongo_adapter **out,
				  char *err, size_t errlen)
{
	mongoc_uri_t *uri = NULL;
	char why[512];
	const char *u = cfg->mongo.uri != NULL ? cfg->mongo.uri : "";

	if (cfg->type != TU_TARGET_MONGODB) {
		snprintf(err, errlen, "target %s: not a mongodb target", cfg->name);
		return TU_EINVAL;
	}
	if (tu_mongo_uri_parse(u, cfg->mongo.password_file != NULL, cfg->timeout, NULL, &uri, why,
			       sizeof(why)) != TU_OK) {
		snprintf(err, errlen, "target %s: %s", cfg->name, why);
		return TU_EINVAL;
	}
	mongoc_uri_destroy(uri);
	tu_mongo_adapter *t = tu_xcalloc(1, sizeof(*t));
	t->cfg = cfg;
	tu_mongo_redact(u, t->shown, sizeof(t->shown));
	*out = t;
	return TU_OK;
}

void tu_mongo_adapter_destroy(tu_mongo_adapter *t)
{
	if (t == NULL)
		return;
	if (t->pool != NULL)
		mongoc_client_pool_destroy(t->pool);
	free(t);
}

static const struct tu_adapter_ops mongo_ops = {
	.type = "mongodb",
	.verb_known = tu_mongo_verb_known,
	.execute = mongo_execute,
	.execute_batch = mongo_execute_batch,
};

void tu_mongo_adapter_view(tu_mongo_adapter *t, struct tu_adapter *out)
{
	out->ops = &mongo_ops;
	out->impl = t;
}
