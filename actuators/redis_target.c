/*
 * redis_target.c - the Redis target adapter (see redis_target.h).
 *
 * Invariants: `c` is NULL or a connection that is authenticated, has the
 * right database selected and knows the script as `sha`; any I/O error
 * closes it, and the next command connects again. Every command is one
 * EVALSHA round trip (plus SCRIPT LOAD after a reconnect or NOSCRIPT), so
 * nothing about a command is ever half-applied on the Redis side.
 *
 * Workload: one actuator executes commands one at a time; fix commands are
 * rare next to observations (tens per second at most), so one blocking
 * connection with a timeout is enough.
 */
#include "redis_target.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

#define TU_REDIS_MAX_SECRET 1024   /* bytes of a password file */
#define TU_REDIS_CONNECT_MIN_MS 100 /* floor of the connect and command timeout */

struct tu_redis_adapter {
	const struct tu_target_config *cfg; /* borrowed; outlives the target */
	struct tu_redis_url url;           /* parsed cfg->redis.url */
	redisContext *c;                    /* NULL while disconnected */
	char sha[48];                       /* SHA1 of the loaded script, as Redis reported it */
	struct tu_arena arena;              /* strings of one command's call; reset per command */
};


/* ---- classification -------------------------------------------------------------------- */

Trueup__V1__Outcome__Result tu__redis_classify(int conn_err, const char *errstr)
{
	static const char *const retryable[] = {
		"LOADING", "BUSY",	 "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN",
		"READONLY", "OOM",	 "NOREPLICAS", "NOAUTH",   "WRONGPASS",
	};
	if (conn_err != 0)
		return TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE;
	if (errstr == NULL)
		return TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT;
	size_t word = strcspn(errstr, " \r\n");
	for (size_t i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++) {
		if (strlen(retryable[i]) == word && strncmp(errstr, retryable[i], word) == 0)
			return TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE;
	}
	return TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT;
}

/* ---- params -> script arguments ------------------------------------------------------ */

bool tu_redis_verb_known(const char *action)
{
	static const char *const verbs[] = { "del", "set", "hset", "hdel", "sadd", "srem" };
	if (action == NULL)
		return false;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(action, verbs[i]) == 0)
			return true;
	}
	return false;
}

#define FIELD_PREFIX "field."

/* The single non-key param a verb takes ("value", "field", "member"); NULL for del, hset. */
static const char *verb_param(const char *verb)
{
	if (strcmp(verb, "set") == 0)
		return "value";
	if (strcmp(verb, "hdel") == 0)
		return "field";
	if (strcmp(verb, "sadd") == 0 || strcmp(verb, "srem") == 0)
		return "member";
	return NULL;
}

static const char *pre_op_name(Trueup__V1__Precondition__Op op)
{
	switch (op) {
	case TRUEUP__V1__PRECONDITION__OP__OP_EQUALS: return "equals";
	case TRUEUP__V1__PRECONDITION__OP__OP_EXISTS: return "exists";
	case TRUEUP__V1__PRECONDITION__OP__OP_ABSENT: return "absent";
	case TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS: return "field_equals";
	default: return NULL;
	}
}

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

tu_status tu__redis_call_build(const Trueup__V1__FixCommand *cmd, const char *done_prefix,
			       int64_t done_ttl_ms, bool dry_run, struct tu_arena *a,
			       struct tu__redis_call *out, char *err, size_t errlen)
{
	struct tu__redis_call call;
	const char *verb = cmd->action;
	const char *one = verb_param(verb);
	size_t n_fields = 0;

	if (cmd->n_params > TU_MAX_PARAMS || cmd->n_preconditions > TU_MAX_PARAMS) {
		snprintf(err, errlen, "params or preconditions over TU_MAX_PARAMS (%d)",
			 TU_MAX_PARAMS);
		return TU_ETOOBIG;
	}
	if (!tu_pb_attrs_valid(cmd->params, cmd->n_params)) {
		snprintf(err, errlen, "params: not sorted by key, a key twice or a null entry");
		return TU_EINVAL;
	}
	const char *key = tu_pb_attrs_get(cmd->params, cmd->n_params, "key");
	if (key == NULL || *key == '\0') {
		snprintf(err, errlen, "param key: missing or empty (%s needs it)", verb);
		return TU_EINVAL;
	}
	for (size_t i = 0; i < cmd->n_params; i++) {
		const char *k = cmd->params[i]->key;
		bool field = strcmp(verb, "hset") == 0 && strncmp(k, FIELD_PREFIX,
								  strlen(FIELD_PREFIX)) == 0;
		if (field && k[strlen(FIELD_PREFIX)] == '\0') {
			snprintf(err, errlen, "param %s: empty field name", k);
			return TU_EINVAL;
		}
		if (field) {
			n_fields++;
			continue;
		}
		if (strcmp(k, "key") != 0 && (one == NULL || strcmp(k, one) != 0)) {
			snprintf(err, errlen, "param %s: not a param of %s", k, verb);
			return TU_EINVAL;
		}
	}
	const char *arg = one != NULL ? tu_pb_attrs_get(cmd->params, cmd->n_params, one) : NULL;
	if (one != NULL && arg == NULL) {
		snprintf(err, errlen, "param %s: missing (%s needs it)", one, verb);
		return TU_EINVAL;
	}
	if (one != NULL && strcmp(one, "field") == 0 && *arg == '\0') {
		snprintf(err, errlen, "param field: empty");
		return TU_EINVAL;
	}
	if (strcmp(verb, "hset") == 0 && n_fields == 0) {
		snprintf(err, errlen, "param field.<name>: hset needs at least one");
		return TU_EINVAL;
	}

	memset(&call, 0, sizeof(call));
	call.keys[call.n_keys++] = tu_arena_printf(a, "%s%s", done_prefix, cmd->command_id);
	call.keys[call.n_keys++] = key;
	call.argv[call.n_argv++] = dry_run ? "dry" : "exec";
	call.argv[call.n_argv++] = verb;
	call.argv[call.n_argv++] =
		tu_arena_printf(a, "%" PRId64, done_ttl_ms > 0 ? done_ttl_ms : 1);
	call.argv[call.n_argv++] = tu_arena_printf(a, "%zu", cmd->n_preconditions);
	for (size_t i = 0; i < cmd->n_preconditions; i++) {
		const Trueup__V1__Precondition *pre = cmd->preconditions[i];
		const char *op = pre != NULL ? pre_op_name(pre->op) : NULL;
		if (op == NULL) {
			snprintf(err, errlen, "precondition %zu: missing or unknown op", i + 1);
			return TU_EINVAL;
		}
		const char *field = str_or_empty(pre->field);
		if (pre->op == TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS && *field == '\0') {
			snprintf(err, errlen, "precondition %zu: field_equals needs a field",
				 i + 1);
			return TU_EINVAL;
		}
		const char *pkey = str_or_empty(pre->key);
		call.keys[call.n_keys++] = *pkey != '\0' ? pkey : key;
		call.argv[call.n_argv++] = op;
		call.argv[call.n_argv++] = field;
		call.argv[call.n_argv++] = str_or_empty(pre->value);
	}
	if (arg != NULL)
		call.argv[call.n_argv++] = arg;
	for (size_t i = 0; n_fields > 0 && i < cmd->n_params; i++) {
		const char *k = cmd->params[i]->key;
		if (strncmp(k, FIELD_PREFIX, strlen(FIELD_PREFIX)) != 0)
			continue;
		call.argv[call.n_argv++] = k + strlen(FIELD_PREFIX);
		call.argv[call.n_argv++] = cmd->params[i]->value;
	}
	*out = call;
	return TU_OK;
}

/* ---- connection --------------------------------------------------------------------------- */


static void conn_close(tu_redis_adapter *t)
{
	if (t->c != NULL)
		redisFree(t->c);
	t->c = NULL;
	t->sha[0] = '\0';
}

/* Fills out with the failure of the connection's last command and closes it. */
static void conn_failed(tu_redis_adapter *t, const char *what, struct tu_exec *out)
{
	int e = t->c != NULL ? t->c->err : REDIS_ERR_OTHER;
	char text[TU_EXEC_ERROR];
	snprintf(text, sizeof(text), "%s %s:%d: %s", what, t->url.host, t->url.port,
		 t->c != NULL && t->c->err != 0 ? t->c->errstr : "no connection");
	/* After a lost EVALSHA the effect may have happened: the marker decides next time. */
	tu_exec_set(out, tu__redis_classify(e != 0 ? e : REDIS_ERR_OTHER, NULL), text,
		    "redis %s failed", what);
	conn_close(t);
}

/* Fills out from an error reply of `what` (connection stays). */
static void reply_failed(const char *what, const redisReply *r, struct tu_exec *out)
{
	char text[TU_EXEC_ERROR];
	snprintf(text, sizeof(text), "%.*s", r->len > INT32_MAX ? INT32_MAX : (int)r->len,
		 r->str != NULL ? r->str : "");
	tu_exec_set(out, tu__redis_classify(0, text), text, "redis %s refused", what);
}


/*
 * Runs one command on the open connection; NULL with the connection closed
 * and out filled on I/O failure, NULL with out filled on an error reply.
 * The caller frees a non-NULL reply.
 */
static redisReply *conn_cmd(tu_redis_adapter *t, const char *what, int argc, const char **argv,
			    struct tu_exec *out)
{
	size_t lens[TU_REDIS_MAX_KEYS + TU_REDIS_MAX_ARGV + 3];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisReply *r = redisCommandArgv(t->c, argc, argv, lens);
	if (r == NULL) {
		conn_failed(t, what, out);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		reply_failed(what, r, out);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static bool script_load(tu_redis_adapter *t, struct tu_exec *out)
{
	const char *argv[] = { "SCRIPT", "LOAD", tu__redis_script };
	redisReply *r = conn_cmd(t, "SCRIPT LOAD", 3, argv, out);
	if (r == NULL)
		return false;
	bool ok = r->type == REDIS_REPLY_STRING && r->len < sizeof(t->sha);
	if (ok)
		memcpy(t->sha, r->str, r->len + 1);
	else
		tu_exec_set(out, TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE,
			    "unexpected reply to SCRIPT LOAD", "redis SCRIPT LOAD failed");
	freeReplyObject(r);
	return ok;
}

/* Connects, authenticates, selects the database and loads the script. */
static bool conn_open(tu_redis_adapter *t, struct tu_exec *out)
{
	const struct tu_redis_target *rc = &t->cfg->redis;
	char err[512];
	tu_status st = tu_redis_open(&t->url, rc->username, rc->password_file, t->cfg->timeout,
				     &t->c, err, sizeof(err));
	if (st != TU_OK) {
		/* Unreachable, refused or an unreadable password file that may be fixed
		 * while we wait: a target problem, retryable. */
		t->c = NULL;
		tu_exec_set(out, TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE, err,
			    "redis connection failed");
		return false;
	}
	if (!script_load(t, out)) {
		conn_close(t);
		return false;
	}
	tu_info("redis target %s: connected to %s:%d db %d", t->cfg->name, t->url.host,
		t->url.port, t->url.db);
	return true;
}

/* ---- execute ------------------------------------------------------------------------------ */

/* Maps the script's {code, detail} reply to a verdict. */
static void script_verdict(const redisReply *r, struct tu_exec *out)
{
	static const struct {
		const char *code;
		Trueup__V1__Outcome__Result result;
	} codes[] = {
		{ "succeeded", TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED },
		{ "noop", TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP },
		{ "skipped", TRUEUP__V1__OUTCOME__RESULT__RESULT_SKIPPED_PRECONDITION },
		{ "dry-run", TRUEUP__V1__OUTCOME__RESULT__RESULT_DRY_RUN },
	};
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING) {
		tu_exec_set(out, TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT,
			    "unexpected reply shape from the trueup script",
			    "the effect may or may not have been applied; see the marker");
		return;
	}
	const char *code = r->element[0]->str;
	const char *detail = r->element[1]->str;
	int dlen = r->element[1]->len > INT32_MAX ? INT32_MAX : (int)r->element[1]->len;
	if (strcmp(code, "done") == 0) {
		tu_exec_set(out, TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP, NULL,
			    "already executed (marker): %.*s", dlen, detail);
		return;
	}
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (strcmp(code, codes[i].code) == 0) {
			tu_exec_set(out, codes[i].result, NULL, "%.*s", dlen, detail);
			return;
		}
	}
	tu_exec_set(out, TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT,
		    "unexpected result code from the trueup script", "code %s", code);
}

tu_status tu_redis_adapter_execute(tu_redis_adapter *t, const Trueup__V1__FixCommand *cmd,
				   bool dry_run, struct tu_exec *out)
{
	struct tu__redis_call call;
	const char *argv[3 + TU_REDIS_MAX_KEYS + TU_REDIS_MAX_ARGV];
	char nkeys[16];
	char err[256];
	redisReply *r = NULL;

	tu_arena_reset(&t->arena);
	tu_status st = tu__redis_call_build(cmd, t->cfg->redis.done_prefix, t->cfg->redis.done_ttl,
					    dry_run, &t->arena, &call, err, sizeof(err));
	if (st != TU_OK) {
		tu_exec_set(out, TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT, err,
			    "bad params: nothing done");
		return TU_OK;
	}
	if (t->c == NULL && !conn_open(t, out))
		return TU_OK;

	snprintf(nkeys, sizeof(nkeys), "%zu", call.n_keys);
	int argc = 0;
	argv[argc++] = "EVALSHA";
	argv[argc++] = t->sha;
	argv[argc++] = nkeys;
	for (size_t i = 0; i < call.n_keys; i++)
		argv[argc++] = call.keys[i];
	for (size_t i = 0; i < call.n_argv; i++)
		argv[argc++] = call.argv[i];

	for (int round = 0; round < 2; round++) {
		r = conn_cmd(t, "EVALSHA", argc, argv, out);
		if (r != NULL)
			break;
		/* The script cache was flushed (or Redis restarted under us): load it again. */
		bool noscript = t->c != NULL && strncmp(out->error, "NOSCRIPT", 8) == 0;
		if (!noscript || round > 0 || !script_load(t, out))
			return TU_OK;
		argv[1] = t->sha;
	}
	script_verdict(r, out);
	freeReplyObject(r);
	return TU_OK;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

tu_status tu_redis_adapter_create(const struct tu_target_config *cfg, tu_redis_adapter **out,
				  char *err, size_t errlen)
{
	struct tu_redis_url url;
	if (cfg->type != TU_TARGET_REDIS) {
		snprintf(err, errlen, "target %s: not a redis target", cfg->name);
		return TU_EINVAL;
	}
	const char *u = cfg->redis.url != NULL ? cfg->redis.url : "redis://127.0.0.1:6379";
	tu_status st = tu_redis_url_parse(u, &url, err, errlen);
	if (st != TU_OK)
		return st;
	if (cfg->redis.done_prefix == NULL || cfg->redis.done_prefix[0] == '\0') {
		snprintf(err, errlen, "target %s: done_prefix must not be empty", cfg->name);
		return TU_EINVAL;
	}
	tu_redis_adapter *t = tu_xcalloc(1, sizeof(*t));
	t->cfg = cfg;
	t->url = url;
	tu_arena_init(&t->arena, 8192);
	*out = t;
	return TU_OK;
}

void tu_redis_adapter_destroy(tu_redis_adapter *t)
{
	if (t == NULL)
		return;
	conn_close(t);
	tu_arena_release(&t->arena);
	free(t);
}

static tu_status redis_execute(void *impl, const Trueup__V1__FixCommand *cmd, bool dry_run,
			       struct tu_exec *out)
{
	return tu_redis_adapter_execute(impl, cmd, dry_run, out);
}

/* Connects, authenticates and loads the script: everything but a command. */
static tu_status redis_probe(void *impl, char *err, size_t errlen)
{
	tu_redis_adapter *t = impl;
	struct tu_exec ex;
	if (t->c == NULL && !conn_open(t, &ex)) {
		snprintf(err, errlen, "%s", ex.error[0] ? ex.error : ex.detail);
		return TU_EUNAVAIL;
	}
	return TU_OK;
}

static const struct tu_adapter_ops redis_ops = {
	.type = "redis",
	.verb_known = tu_redis_verb_known,
	.execute = redis_execute,
	.probe = redis_probe,
};

void tu_redis_adapter_view(tu_redis_adapter *t, struct tu_adapter *out)
{
	out->ops = &redis_ops;
	out->impl = t;
}
