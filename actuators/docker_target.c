/*
 * docker_target.c - the Docker target adapter (see docker_target.h).
 *
 * Invariants: nothing is sent to the daemon for a command whose params or
 * preconditions are malformed; the verb's request names the container by
 * the full id the inspect returned (64 hex digits), never by what the
 * command said, so a name or a prefix can never reach another container;
 * a dry-run sends nothing but the inspect.
 *
 * Workload: commands are rare (tens per second at most); each is two
 * requests (three with version negotiation after a reconnect), through the
 * target's token bucket.
 */
#include "docker_target.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "clock.h"
#include "docker.h"
#include "jsonmap.h"
#include "log.h"
#include "xalloc.h"

#define DEFAULT_STOP_S 10 /* Docker's own default grace period */
#define VALUE_SHOWN 128   /* bytes of a value quoted in a detail */
#define PATH_SIZE 256     /* /containers/<64 hex>/restart?t=3600 and more */

#define R_SUCCEEDED TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED
#define R_NOOP TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP
#define R_RETRYABLE TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE
#define R_PERMANENT TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT
#define R_SKIPPED TRUEUP__V1__OUTCOME__RESULT__RESULT_SKIPPED_PRECONDITION
#define R_DRY_RUN TRUEUP__V1__OUTCOME__RESULT__RESULT_DRY_RUN

struct tu_docker_adapter {
	const struct tu_target_config *cfg; /* borrowed; outlives the target */
	tu_docker *d;                       /* the daemon connection */
	struct tu_http_resp resp;           /* the last reply */
};

static const char *const verb_names[] = { NULL, "remove", "stop", "restart" };

bool tu_docker_verb_known(const char *action)
{
	for (size_t i = 1; action != NULL && i < sizeof(verb_names) / sizeof(verb_names[0]); i++) {
		if (strcmp(action, verb_names[i]) == 0)
			return true;
	}
	return false;
}

/* ---- params and preconditions ---------------------------------------------------------- */

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static const char *op_name(Trueup__V1__Precondition__Op op)
{
	switch (op) {
	case TRUEUP__V1__PRECONDITION__OP__OP_EQUALS: return "equals";
	case TRUEUP__V1__PRECONDITION__OP__OP_EXISTS: return "exists";
	case TRUEUP__V1__PRECONDITION__OP__OP_ABSENT: return "absent";
	case TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS: return "field_equals";
	default: return NULL;
	}
}

/* Fields FIELD_EQUALS knows besides `label.<k>` and JSON paths. */
static const char *const named_fields[] = { "id", "name", "state", "image", "health" };

static bool field_known(const char *f)
{
	char why[128];
	if (strncmp(f, "label.", 6) == 0)
		return f[6] != '\0';
	if (f[0] == '.' || f[0] == '[')
		return tu_json_path_check(f, why, sizeof(why)) == TU_OK;
	for (size_t i = 0; i < sizeof(named_fields) / sizeof(named_fields[0]); i++) {
		if (strcmp(f, named_fields[i]) == 0)
			return true;
	}
	return false;
}

/* Whether a verb takes param k. */
static bool param_known(enum tu__docker_verb verb, const char *k)
{
	if (strcmp(k, "id") == 0)
		return true;
	if (verb == TU__DOCKER_REMOVE)
		return strcmp(k, "force") == 0 || strcmp(k, "volumes") == 0;
	return strcmp(k, "timeout") == 0;
}

tu_status tu__docker_params(const Trueup__V1__FixCommand *cmd, struct tu__docker_params *out,
			    char *err, size_t errlen)
{
	struct tu__docker_params p = { .timeout_s = DEFAULT_STOP_S };
	const char *v;

	for (size_t i = 1; i < sizeof(verb_names) / sizeof(verb_names[0]); i++) {
		if (cmd->action != NULL && strcmp(cmd->action, verb_names[i]) == 0)
			p.verb = (enum tu__docker_verb)i;
	}
	if (p.verb == 0) {
		snprintf(err, errlen, "action \"%.64s\": not a docker verb (remove, stop, restart)",
			 str_or_empty(cmd->action));
		return TU_EINVAL;
	}
	if (cmd->n_params > TU_MAX_PARAMS || cmd->n_preconditions > TU_MAX_PARAMS) {
		snprintf(err, errlen, "params or preconditions over TU_MAX_PARAMS (%d)",
			 TU_MAX_PARAMS);
		return TU_ETOOBIG;
	}
	if (!tu_pb_attrs_valid(cmd->params, cmd->n_params)) {
		snprintf(err, errlen, "params: not sorted by key, a key twice or a null entry");
		return TU_EINVAL;
	}
	for (size_t i = 0; i < cmd->n_params; i++) {
		if (!param_known(p.verb, cmd->params[i]->key)) {
			snprintf(err, errlen, "param %.64s: not a param of %s", cmd->params[i]->key,
				 verb_names[p.verb]);
			return TU_EINVAL;
		}
	}
	p.id = tu_pb_attrs_get(cmd->params, cmd->n_params, "id");
	if (p.id == NULL || !tu_docker_id_valid(p.id)) {
		snprintf(err, errlen,
			 "param id: %s%.80s%s (a container id: %d to %d lowercase hex digits)",
			 p.id == NULL ? "missing" : "\"", str_or_empty(p.id),
			 p.id == NULL ? "" : "\" is not a container id", TU_DOCKER_ID_MIN,
			 TU_DOCKER_ID_MAX);
		return TU_EINVAL;
	}
	static const char *const bools[] = { "force", "volumes" };
	for (size_t i = 0; i < 2; i++) {
		v = tu_pb_attrs_get(cmd->params, cmd->n_params, bools[i]);
		if (v != NULL && tu_docker_param_bool(v, i == 0 ? &p.force : &p.volumes) != TU_OK) {
			snprintf(err, errlen, "param %s: \"%.64s\" is not true or false", bools[i],
				 v);
			return TU_EINVAL;
		}
	}
	v = tu_pb_attrs_get(cmd->params, cmd->n_params, "timeout");
	if (v != NULL && tu_docker_param_seconds(v, &p.timeout_s) != TU_OK) {
		snprintf(err, errlen, "param timeout: \"%.64s\" is not whole seconds from 0 to %d",
			 v, TU_DOCKER_MAX_STOP_S);
		return TU_EINVAL;
	}
	for (size_t i = 0; i < cmd->n_preconditions; i++) {
		const Trueup__V1__Precondition *pre = cmd->preconditions[i];
		const char *op = pre != NULL ? op_name(pre->op) : NULL;
		const char *key = pre != NULL ? str_or_empty(pre->key) : "";
		if (op == NULL) {
			snprintf(err, errlen, "precondition %zu: missing or unknown op", i + 1);
			return TU_EINVAL;
		}
		if (*key != '\0' && strcmp(key, p.id) != 0) {
			snprintf(err, errlen,
				 "precondition %zu: key \"%.80s\": the docker target checks the "
				 "command's own container (leave key out)",
				 i + 1, key);
			return TU_EINVAL;
		}
		if (pre->op == TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS &&
		    !field_known(str_or_empty(pre->field))) {
			snprintf(err, errlen,
				 "precondition %zu: field \"%.80s\": not one of id, name, state, "
				 "image, health, label.<key> or a JSON path (.State.Status)",
				 i + 1, str_or_empty(pre->field));
			return TU_EINVAL;
		}
	}
	*out = p;
	return TU_OK;
}

/*
 * The value of field f of an inspected container into out; false (out
 * untouched) if the container has no such value.
 */
static bool field_value(json_t *ins, const char *f, struct tu_buf *out)
{
	const char *s = NULL;
	json_t *v = NULL;

	if (strcmp(f, "id") == 0) {
		s = json_string_value(json_object_get(ins, "Id"));
	} else if (strcmp(f, "name") == 0) {
		s = json_string_value(json_object_get(ins, "Name"));
		if (s != NULL && s[0] == '/')
			s++;
	} else if (strcmp(f, "state") == 0) {
		s = json_string_value(tu_json_path(ins, ".State.Status", 13));
	} else if (strcmp(f, "image") == 0) {
		s = json_string_value(tu_json_path(ins, ".Config.Image", 13));
	} else if (strcmp(f, "health") == 0) {
		s = json_string_value(tu_json_path(ins, ".State.Health.Status", 20));
		s = s != NULL ? s : "none";
	} else if (strncmp(f, "label.", 6) == 0) {
		json_t *labels = tu_json_path(ins, ".Config.Labels", 14);
		s = json_string_value(json_object_get(labels, f + 6));
	} else {
		v = tu_json_path(ins, f, strlen(f));
		return v != NULL && tu_json_scalar(v, out);
	}
	return s != NULL && tu_buf_puts(out, s) == TU_OK;
}

/* True if value names the container whose full id is id (itself or a 12+ digit prefix). */
static bool id_matches(const char *id, const char *value)
{
	size_t n = strlen(value);
	return id != NULL && n >= TU_DOCKER_ID_MIN && strncmp(id, value, n) == 0;
}

tu_status tu__docker_precond(const Trueup__V1__Precondition *p, size_t i, json_t *inspect,
			     bool *holds, char *detail, size_t detlen)
{
	const char *id = json_string_value(json_object_get(inspect, "Id"));
	const char *value = str_or_empty(p->value), *field = str_or_empty(p->field);
	struct tu_buf have;
	tu_status st = TU_OK;

	tu_buf_init(&have, TU_MAX_ATTR_VALUE);
	switch (p->op) {
	case TRUEUP__V1__PRECONDITION__OP__OP_EXISTS:
		*holds = true;
		break;
	case TRUEUP__V1__PRECONDITION__OP__OP_ABSENT:
		*holds = false;
		snprintf(detail, detlen, "precondition %zu (absent) failed: container %.12s exists",
			 i, str_or_empty(id));
		break;
	case TRUEUP__V1__PRECONDITION__OP__OP_EQUALS:
		*holds = id_matches(id, value);
		if (!*holds)
			snprintf(detail, detlen,
				 "precondition %zu (equals \"%.*s\") failed: container id is %s", i,
				 VALUE_SHOWN, value, str_or_empty(id));
		break;
	case TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS:
		if (!field_known(field)) {
			snprintf(detail, detlen, "precondition %zu: unknown field \"%.80s\"", i, field);
			st = TU_EINVAL;
			break;
		}
		if (!field_value(inspect, field, &have)) {
			*holds = false;
			snprintf(detail, detlen,
				 "precondition %zu (field_equals %.80s \"%.*s\") failed: the container "
				 "has no %.80s",
				 i, field, VALUE_SHOWN, value, field);
			break;
		}
		*holds = strcmp(tu_buf_cstr(&have), value) == 0;
		if (!*holds)
			snprintf(detail, detlen,
				 "precondition %zu (field_equals %.80s \"%.*s\") failed: actual \"%.*s\"",
				 i, field, VALUE_SHOWN, value, VALUE_SHOWN, tu_buf_cstr(&have));
		break;
	default:
		snprintf(detail, detlen, "precondition %zu: unknown op", i);
		st = TU_EINVAL;
	}
	tu_buf_release(&have);
	return st;
}

/* ---- classification ------------------------------------------------------------------ */

Trueup__V1__Outcome__Result tu__docker_result(int verb, tu_status st, long status,
					      const char *message)
{
	if (st == TU_ETIMEOUT || st == TU_EUNAVAIL || st == TU_EIO)
		return R_RETRYABLE;
	if (st != TU_OK)
		return R_PERMANENT; /* too big, a version trueup does not speak, malformed */
	if (status >= 200 && status <= 299)
		return R_SUCCEEDED;
	if (status == 304)
		return R_NOOP;
	if (status == 404)
		return verb == TU__DOCKER_REMOVE || verb == TU__DOCKER_STOP ? R_NOOP : R_SKIPPED;
	if (status == 409)
		return verb == TU__DOCKER_REMOVE && message != NULL &&
				       strstr(message, "in progress") != NULL
			       ? R_RETRYABLE
			       : R_PERMANENT;
	if (tu_http_retryable(st, status))
		return R_RETRYABLE;
	return R_PERMANENT;
}

/* ---- execute --------------------------------------------------------------------------- */

/* A request to the daemon; within the token bucket's wait of one timeout. */
static tu_status request(tu_docker_adapter *t, const char *method, const char *path,
			 int64_t extra_ms, char *err, size_t errlen)
{
	struct tu_docker_req req = {
		.method = method,
		.path = path,
		.extra_timeout_ms = extra_ms,
		.max_wait_ms = t->cfg->timeout,
	};
	return tu_docker_do(t->d, &req, &t->resp, err, errlen);
}

/* Fills out for a request that failed or a reply that is not what was asked. */
static void failed(tu_docker_adapter *t, int verb, tu_status st, const char *what,
		   const char *err, struct tu_exec *out)
{
	char msg[TU_DOCKER_MESSAGE];

	if (st != TU_OK) {
		tu_exec_set(out, tu__docker_result(verb, st, 0, NULL), err, "docker %s failed", what);
		return;
	}
	tu_docker_message(&t->resp, msg, sizeof(msg));
	tu_exec_set(out, tu__docker_result(verb, st, t->resp.status, msg), msg,
		    "docker %s: HTTP %ld", what, t->resp.status);
}

/* What a gone container means for the verb. */
static void gone(const struct tu__docker_params *p, bool dry_run, struct tu_exec *out)
{
	if (p->verb == TU__DOCKER_RESTART) {
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_SKIPPED, NULL,
			    "%scontainer %s no longer exists: nothing to restart",
			    dry_run ? "would skip: " : "", p->id);
		return;
	}
	tu_exec_set(out, dry_run ? R_DRY_RUN : R_NOOP, NULL, "%scontainer %s is already gone%s",
		    dry_run ? "would do nothing: " : "", p->id,
		    p->verb == TU__DOCKER_STOP ? " (nothing to stop)" : "");
}

/* Name, state and start time of an inspected container. */
struct facts {
	const char *id;      /* full id */
	const char *name;    /* without the leading '/'; "" if none */
	const char *state;   /* .State.Status; "" if none */
	bool running;        /* .State.Running */
	int64_t started_ns;  /* .State.StartedAt; 0 if none or unparsable */
};

static void read_facts(json_t *ins, struct facts *f)
{
	const char *started = json_string_value(tu_json_path(ins, ".State.StartedAt", 16));
	memset(f, 0, sizeof(*f));
	f->id = json_string_value(json_object_get(ins, "Id"));
	f->name = str_or_empty(json_string_value(json_object_get(ins, "Name")));
	if (f->name[0] == '/')
		f->name++;
	f->state = str_or_empty(json_string_value(tu_json_path(ins, ".State.Status", 13)));
	f->running = json_is_true(tu_json_path(ins, ".State.Running", 14));
	if (started == NULL || tu_time_parse(started, &f->started_ns) != TU_OK ||
	    f->started_ns < 0)
		f->started_ns = 0;
}

/* The verb's request, and what its answer means. */
static void apply(tu_docker_adapter *t, const struct tu__docker_params *p, const struct facts *f,
		  struct tu_exec *out)
{
	char path[PATH_SIZE], err[512], msg[TU_DOCKER_MESSAGE];
	const char *method = "POST";
	int64_t extra = 0;

	if (p->verb == TU__DOCKER_REMOVE) {
		method = "DELETE";
		snprintf(path, sizeof(path), "/containers/%s?force=%s&v=%s", f->id,
			 p->force ? "true" : "false", p->volumes ? "true" : "false");
	} else {
		snprintf(path, sizeof(path), "/containers/%s/%s?t=%d", f->id, verb_names[p->verb],
			 p->timeout_s);
		extra = (int64_t)p->timeout_s * 1000;
	}
	tu_status st = request(t, method, path, extra, err, sizeof(err));
	if (st != TU_OK) {
		/* A lost reply may hide an effect: the redelivery finds it (noop). */
		failed(t, p->verb, st, verb_names[p->verb], err, out);
		return;
	}
	tu_docker_message(&t->resp, msg, sizeof(msg));
	Trueup__V1__Outcome__Result r = tu__docker_result(p->verb, st, t->resp.status, msg);
	switch (r) {
	case R_SUCCEEDED:
		if (p->verb == TU__DOCKER_REMOVE)
			tu_exec_set(out, r, NULL, "removed container %.12s (%s, was %s)%s%s", f->id,
				    f->name, f->state, p->force ? ", forced" : "",
				    p->volumes ? ", with its volumes" : "");
		else
			tu_exec_set(out, r, NULL, "%s container %.12s (%s, was %s; grace %d s)",
				    p->verb == TU__DOCKER_STOP ? "stopped" : "restarted", f->id,
				    f->name, f->state, p->timeout_s);
		break;
	case R_NOOP:
		tu_exec_set(out, r, NULL, "container %.12s (%s) %s", f->id, f->name,
			    t->resp.status == 304 ? "was already stopped"
						  : "was already gone");
		break;
	case R_SKIPPED:
		tu_exec_set(out, r, msg, "container %.12s (%s) vanished before the %s", f->id,
			    f->name, verb_names[p->verb]);
		break;
	default:
		tu_exec_set(out, r, msg, "docker %s of %.12s (%s): HTTP %ld", verb_names[p->verb],
			    f->id, f->name, t->resp.status);
	}
}

/* Whether the verb has nothing to do; fills out if so. */
static bool already_done(const struct tu__docker_params *p, const struct facts *f,
			 const Trueup__V1__FixCommand *cmd, bool dry_run, struct tu_exec *out)
{
	char at[40], issued[40];

	if (p->verb == TU__DOCKER_STOP && !f->running) {
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_NOOP, NULL,
			    "%scontainer %.12s (%s) is already stopped (state %s)",
			    dry_run ? "would do nothing: " : "", f->id, f->name, f->state);
		return true;
	}
	/* A restart that ran before its outcome was stored must not run twice. */
	if (p->verb == TU__DOCKER_RESTART && cmd->issued_at_ns > 0 && f->running &&
	    f->started_ns > cmd->issued_at_ns) {
		tu_time_format(f->started_ns, at, sizeof(at));
		tu_time_format(cmd->issued_at_ns, issued, sizeof(issued));
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_NOOP, NULL,
			    "%scontainer %.12s (%s) was started at %s, after the command was issued "
			    "(%s): already restarted",
			    dry_run ? "would do nothing: " : "", f->id, f->name, at, issued);
		return true;
	}
	return false;
}

/* What a dry-run reports once the preconditions hold. */
static void would(const struct tu__docker_params *p, const struct facts *f, struct tu_exec *out)
{
	if (p->verb == TU__DOCKER_REMOVE && f->running && !p->force) {
		tu_exec_set(out, R_DRY_RUN, NULL,
			    "would fail: container %.12s (%s) is %s and force is false", f->id,
			    f->name, f->state);
		return;
	}
	if (p->verb == TU__DOCKER_REMOVE)
		tu_exec_set(out, R_DRY_RUN, NULL, "would remove container %.12s (%s, %s)%s%s",
			    f->id, f->name, f->state, p->force ? ", forced" : "",
			    p->volumes ? ", with its volumes" : "");
	else
		tu_exec_set(out, R_DRY_RUN, NULL, "would %s container %.12s (%s, %s; grace %d s)",
			    verb_names[p->verb], f->id, f->name, f->state, p->timeout_s);
}

tu_status tu_docker_adapter_execute(tu_docker_adapter *t, const Trueup__V1__FixCommand *cmd,
				    bool dry_run, struct tu_exec *out)
{
	struct tu__docker_params p;
	struct facts f;
	char err[512], path[PATH_SIZE], detail[TU_EXEC_DETAIL];
	json_t *ins = NULL;
	json_error_t jerr;
	tu_status st = tu__docker_params(cmd, &p, err, sizeof(err));

	if (st != TU_OK) {
		tu_exec_set(out, R_PERMANENT, err, "bad params: nothing done");
		return TU_OK;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", p.id); /* hex digits only */
	st = request(t, "GET", path, 0, err, sizeof(err));
	if (st != TU_OK || (t->resp.status != 200 && t->resp.status != 404)) {
		failed(t, 0, st, "inspect", err, out);
		return TU_OK;
	}
	if (t->resp.status == 404) {
		gone(&p, dry_run, out);
		return TU_OK;
	}
	ins = json_loadb(t->resp.body.data != NULL ? t->resp.body.data : "", t->resp.body.len, 0,
			 &jerr);
	read_facts(ins, &f);
	if (!json_is_object(ins) || f.id == NULL || !tu_docker_id_valid(f.id) ||
	    strlen(f.id) != TU_DOCKER_ID_MAX) {
		tu_exec_set(out, R_PERMANENT, ins == NULL ? jerr.text : "no full Id in the reply",
			    "docker inspect of %s: unexpected reply", p.id);
		goto out;
	}
	/* Docker resolves a hex string as a name too: insist on the id. */
	if (strncmp(f.id, p.id, strlen(p.id)) != 0) {
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_SKIPPED, NULL,
			    "%s%s names container %.12s (%s), whose id differs: not the container "
			    "observed",
			    dry_run ? "would skip: " : "", p.id, f.id, f.name);
		goto out;
	}
	/* Before the preconditions: an effect already there is noop, not skipped. */
	if (already_done(&p, &f, cmd, dry_run, out))
		goto out;
	for (size_t i = 0; i < cmd->n_preconditions; i++) {
		bool holds = false;
		detail[0] = '\0';
		st = tu__docker_precond(cmd->preconditions[i], i + 1, ins, &holds, detail,
					sizeof(detail));
		if (st != TU_OK) {
			tu_exec_set(out, R_PERMANENT, detail, "bad precondition: nothing done");
			goto out;
		}
		if (!holds) {
			tu_exec_set(out, dry_run ? R_DRY_RUN : R_SKIPPED, NULL, "%s%s",
				    dry_run ? "would skip: " : "", detail);
			goto out;
		}
	}
	if (dry_run)
		would(&p, &f, out);
	else
		apply(t, &p, &f, out);
out:
	json_decref(ins);
	return TU_OK;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

tu_status tu_docker_adapter_create(const struct tu_target_config *cfg, tu_docker_adapter **out,
				   char *err, size_t errlen)
{
	char why[256];
	tu_docker *d = NULL;

	if (cfg->type != TU_TARGET_DOCKER) {
		snprintf(err, errlen, "target %s: not a docker target", cfg->name);
		return TU_EINVAL;
	}
	tu_status st = tu_docker_create(&cfg->docker.daemon, cfg->timeout, &d, why, sizeof(why));
	if (st != TU_OK) {
		snprintf(err, errlen, "target %s: %s", cfg->name, why);
		return st;
	}
	tu_docker_adapter *t = tu_xcalloc(1, sizeof(*t));
	t->cfg = cfg;
	t->d = d;
	tu_http_resp_init(&t->resp);
	*out = t;
	return TU_OK;
}

void tu_docker_adapter_destroy(tu_docker_adapter *t)
{
	if (t == NULL)
		return;
	tu_docker_destroy(t->d);
	tu_http_resp_release(&t->resp);
	free(t);
}

static tu_status docker_execute(void *impl, const Trueup__V1__FixCommand *cmd, bool dry_run,
				struct tu_exec *out)
{
	return tu_docker_adapter_execute(impl, cmd, dry_run, out);
}

static const struct tu_adapter_ops docker_ops = {
	.type = "docker",
	.verb_known = tu_docker_verb_known,
	.execute = docker_execute,
};

void tu_docker_adapter_view(tu_docker_adapter *t, struct tu_adapter *out)
{
	out->ops = &docker_ops;
	out->impl = t;
}
