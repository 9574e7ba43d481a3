/*
 * actuator_docker_test.c - the docker target: params and preconditions,
 * the classification of the daemon's answers, and whole commands against a
 * fake daemon (dockerfake.h): what is sent (and what is not: dry-runs, gone
 * containers, failed preconditions) and the verdict. The real daemon is in
 * tests/integration/docker.sh.
 */
#include "testmain.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "docker_target.h"
#include "dockerfake.h"
#include "xalloc.h"

#define ID "727c47bc2a48ffc8c7f96950fb19e4a9aed1bfdb702593271363106408c1020e"
#define SHORT "727c47bc2a48"
#define OTHER "999c47bc2a48ffc8c7f96950fb19e4a9aed1bfdb702593271363106408c1020e"
#define INSPECT "GET /v1.41/containers/" ID "/json"

#define SUCCEEDED TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED
#define NOOP TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP
#define RETRYABLE TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE
#define PERMANENT TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT
#define SKIPPED TRUEUP__V1__OUTCOME__RESULT__RESULT_SKIPPED_PRECONDITION
#define DRY_RUN TRUEUP__V1__OUTCOME__RESULT__RESULT_DRY_RUN

#define OP_EQUALS TRUEUP__V1__PRECONDITION__OP__OP_EQUALS
#define OP_EXISTS TRUEUP__V1__PRECONDITION__OP__OP_EXISTS
#define OP_ABSENT TRUEUP__V1__PRECONDITION__OP__OP_ABSENT
#define OP_FIELD TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS

/* An inspect reply: running or not, started at. */
static char *inspect_json(const char *id, bool running, const char *started)
{
	return tu_xasprintf(
		"{\"Id\":\"%s\",\"Name\":\"/k3s-worker-3\",\"State\":{\"Status\":\"%s\","
		"\"Running\":%s,\"Pid\":42,\"StartedAt\":\"%s\",\"Health\":{\"Status\":\"healthy\"}},"
		"\"Config\":{\"Image\":\"trueup-test:1\",\"Labels\":{\"com.example.role\":\"worker\"}}}",
		id, running ? "running" : "exited", running ? "true" : "false", started);
}

struct fx {
	struct dockerfake df;
	struct tu_config *cfg;
	tu_docker_adapter *t;
	struct tu_arena a;
	Trueup__V1__FixCommand cmd;
	struct tu_exec out;
	char err[512];
};

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	char yaml[1024];
	df_start(&f->df);
	snprintf(yaml, sizeof(yaml),
		 "targets:\n  - { name: docker, type: docker, socket: %s, timeout: 10s, rate: 0 }\n",
		 f->df.sock);
	assert_int_equal(tu_config_load_string("t.yaml", yaml, strlen(yaml), &f->cfg, f->err,
					       sizeof(f->err)),
			 TU_OK);
	assert_int_equal(tu_docker_adapter_create(&f->cfg->targets[0], &f->t, f->err,
						  sizeof(f->err)),
			 TU_OK);
	tu_arena_init(&f->a, 4096);
	return f;
}

static void fx_free(struct fx *f)
{
	tu_docker_adapter_destroy(f->t);
	tu_config_destroy(f->cfg);
	tu_arena_release(&f->a);
	df_stop(&f->df);
	free(f);
}

/* A new command: action, then params as "k=v" in key order, NULL-terminated. */
static void cmd(struct fx *f, const char *action, ...)
{
	va_list ap;
	tu_arena_reset(&f->a);
	trueup__v1__fix_command__init(&f->cmd);
	f->cmd.command_id = "0123456789abcdef01234567";
	f->cmd.target = "docker";
	f->cmd.action = (char *)action;
	f->cmd.params = tu_arena_alloc(&f->a, 8 * sizeof(*f->cmd.params));
	f->cmd.preconditions = tu_arena_alloc(&f->a, 8 * sizeof(*f->cmd.preconditions));
	va_start(ap, action);
	for (const char *kv = va_arg(ap, const char *); kv != NULL; kv = va_arg(ap, const char *)) {
		const char *eq = strchr(kv, '=');
		f->cmd.params[f->cmd.n_params++] =
			tu_pb_attr(&f->a, tu_arena_strndup(&f->a, kv, (size_t)(eq - kv)), eq + 1);
	}
	va_end(ap);
}

static void pre(struct fx *f, Trueup__V1__Precondition__Op op, const char *key, const char *field,
		const char *value)
{
	Trueup__V1__Precondition *p = tu_arena_alloc(&f->a, sizeof(*p));
	trueup__v1__precondition__init(p);
	p->op = op;
	p->key = (char *)key;
	p->field = (char *)field;
	p->value = (char *)value;
	f->cmd.preconditions[f->cmd.n_preconditions++] = p;
}

static Trueup__V1__Outcome__Result run(struct fx *f, bool dry)
{
	memset(&f->out, 0, sizeof(f->out));
	df_clear_log(&f->df);
	assert_int_equal(tu_docker_adapter_execute(f->t, &f->cmd, dry, &f->out), TU_OK);
	return f->out.result;
}

static tu_status params(struct fx *f, struct tu__docker_params *p)
{
	f->err[0] = '\0';
	return tu__docker_params(&f->cmd, p, f->err, sizeof(f->err));
}

static void verbs_and_params(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	struct tu__docker_params p;
	assert_true(tu_docker_verb_known("remove"));
	assert_true(tu_docker_verb_known("stop"));
	assert_true(tu_docker_verb_known("restart"));
	assert_false(tu_docker_verb_known("kill"));
	assert_false(tu_docker_verb_known(NULL));

	cmd(f, "remove", "id=" SHORT, NULL);
	assert_int_equal(params(f, &p), TU_OK);
	assert_int_equal(p.verb, TU__DOCKER_REMOVE);
	assert_string_equal(p.id, SHORT);
	assert_false(p.force);
	assert_false(p.volumes);
	cmd(f, "remove", "force=true", "id=" ID, "volumes=true", NULL);
	assert_int_equal(params(f, &p), TU_OK);
	assert_true(p.force && p.volumes);
	cmd(f, "stop", "id=" ID, NULL);
	assert_int_equal(params(f, &p), TU_OK);
	assert_int_equal(p.timeout_s, 10);
	cmd(f, "restart", "id=" ID, "timeout=0", NULL);
	assert_int_equal(params(f, &p), TU_OK);
	assert_int_equal(p.timeout_s, 0);

	cmd(f, "remove", NULL);
	assert_int_equal(params(f, &p), TU_EINVAL);
	assert_non_null(strstr(f->err, "param id: missing"));
	cmd(f, "remove", "id=k3s-worker-3", NULL);
	assert_int_equal(params(f, &p), TU_EINVAL);
	assert_non_null(strstr(f->err, "is not a container id"));
	cmd(f, "remove", "force=yes", "id=" ID, NULL);
	assert_int_equal(params(f, &p), TU_EINVAL);
	assert_non_null(strstr(f->err, "param force"));
	cmd(f, "stop", "id=" ID, "timeout=10s", NULL);
	assert_int_equal(params(f, &p), TU_EINVAL);
	assert_non_null(strstr(f->err, "param timeout"));
	cmd(f, "stop", "force=true", "id=" ID, NULL);
	assert_int_equal(params(f, &p), TU_EINVAL);
	assert_non_null(strstr(f->err, "param force: not a param of stop"));
	cmd(f, "remove", "id=" ID, "timeout=3", NULL);
	assert_int_equal(params(f, &p), TU_EINVAL);
	cmd(f, "remove", "id=" ID, NULL);
	pre(f, OP_FIELD, "", "name", "x");
	pre(f, OP_FIELD, "", "colour", "x");
	assert_int_equal(params(f, &p), TU_EINVAL);
	assert_non_null(strstr(f->err, "precondition 2: field \"colour\""));
	cmd(f, "remove", "id=" ID, NULL);
	pre(f, OP_EXISTS, OTHER, "", "");
	assert_int_equal(params(f, &p), TU_EINVAL);
	assert_non_null(strstr(f->err, "own container"));
	cmd(f, "remove", "id=" ID, NULL);
	pre(f, TRUEUP__V1__PRECONDITION__OP__OP_UNSPECIFIED, "", "", "");
	assert_int_equal(params(f, &p), TU_EINVAL);
	assert_non_null(strstr(f->err, "unknown op"));
	cmd(f, "remove", "id=" ID, NULL);
	pre(f, OP_EXISTS, ID, "", "");
	pre(f, OP_FIELD, "", "label.com.example.role", "worker");
	pre(f, OP_FIELD, "", ".State.Pid", "42");
	assert_int_equal(params(f, &p), TU_OK);
	fx_free(f);
}

static bool check(json_t *ins, Trueup__V1__Precondition__Op op, const char *field,
		  const char *value, char *detail)
{
	Trueup__V1__Precondition p = TRUEUP__V1__PRECONDITION__INIT;
	bool holds = false;
	p.op = op;
	p.field = (char *)field;
	p.value = (char *)value;
	detail[0] = '\0';
	assert_int_equal(tu__docker_precond(&p, 1, ins, &holds, detail, 512), TU_OK);
	return holds;
}

static void preconditions(void **state)
{
	(void)state;
	char *s = inspect_json(ID, true, "2026-11-22T04:32:13.597318092Z"), d[512];
	json_t *ins = json_loads(s, 0, NULL);
	assert_true(check(ins, OP_EXISTS, "", "", d));
	assert_false(check(ins, OP_ABSENT, "", "", d));
	assert_non_null(strstr(d, "exists"));
	assert_true(check(ins, OP_EQUALS, "", ID, d));
	assert_true(check(ins, OP_EQUALS, "", SHORT, d));
	assert_false(check(ins, OP_EQUALS, "", "727c47", d)); /* under 12 digits */
	assert_false(check(ins, OP_EQUALS, "", OTHER, d));
	assert_non_null(strstr(d, "container id is " ID));
	assert_true(check(ins, OP_FIELD, "name", "k3s-worker-3", d));
	assert_false(check(ins, OP_FIELD, "name", "k3s-worker-9", d));
	assert_string_equal(d, "precondition 1 (field_equals name \"k3s-worker-9\") failed: actual "
			       "\"k3s-worker-3\"");
	assert_true(check(ins, OP_FIELD, "state", "running", d));
	assert_true(check(ins, OP_FIELD, "image", "trueup-test:1", d));
	assert_true(check(ins, OP_FIELD, "health", "healthy", d));
	assert_true(check(ins, OP_FIELD, "id", ID, d));
	assert_true(check(ins, OP_FIELD, "label.com.example.role", "worker", d));
	assert_false(check(ins, OP_FIELD, "label.team", "", d));
	assert_non_null(strstr(d, "has no label.team"));
	assert_true(check(ins, OP_FIELD, ".State.Pid", "42", d));
	assert_true(check(ins, OP_FIELD, ".State.Running", "true", d));
	assert_false(check(ins, OP_FIELD, ".State", "x", d)); /* an object is no value */
	json_decref(ins);
	free(s);
	/* no health check: health is "none" */
	ins = json_loads("{\"Id\":\"" ID "\",\"State\":{\"Status\":\"running\"}}", 0, NULL);
	assert_true(check(ins, OP_FIELD, "health", "none", d));
	json_decref(ins);
}

static void classification(void **state)
{
	(void)state;
	const int R = TU__DOCKER_REMOVE, S = TU__DOCKER_STOP, X = TU__DOCKER_RESTART;
	assert_int_equal(tu__docker_result(R, TU_OK, 204, NULL), SUCCEEDED);
	assert_int_equal(tu__docker_result(X, TU_OK, 204, NULL), SUCCEEDED);
	assert_int_equal(tu__docker_result(S, TU_OK, 304, NULL), NOOP);
	assert_int_equal(tu__docker_result(R, TU_OK, 404, "No such container"), NOOP);
	assert_int_equal(tu__docker_result(S, TU_OK, 404, "No such container"), NOOP);
	assert_int_equal(tu__docker_result(X, TU_OK, 404, "No such container"), SKIPPED);
	assert_int_equal(tu__docker_result(R, TU_OK, 409, "You cannot remove a running container"),
			 PERMANENT);
	assert_int_equal(tu__docker_result(R, TU_OK, 409, "removal of container x is already in "
							  "progress"),
			 RETRYABLE);
	assert_int_equal(tu__docker_result(S, TU_OK, 409, "in progress"), PERMANENT);
	assert_int_equal(tu__docker_result(R, TU_OK, 400, "bad parameter"), PERMANENT);
	assert_int_equal(tu__docker_result(R, TU_OK, 403, NULL), PERMANENT);
	assert_int_equal(tu__docker_result(R, TU_OK, 429, NULL), RETRYABLE);
	assert_int_equal(tu__docker_result(R, TU_OK, 500, "server error"), RETRYABLE);
	assert_int_equal(tu__docker_result(R, TU_OK, 503, NULL), RETRYABLE);
	assert_int_equal(tu__docker_result(R, TU_ETIMEOUT, 0, NULL), RETRYABLE);
	assert_int_equal(tu__docker_result(R, TU_EUNAVAIL, 0, NULL), RETRYABLE);
	assert_int_equal(tu__docker_result(R, TU_EIO, 0, NULL), RETRYABLE);
	assert_int_equal(tu__docker_result(R, TU_ETOOBIG, 0, NULL), PERMANENT);
	assert_int_equal(tu__docker_result(R, TU_EINVAL, 0, NULL), PERMANENT);
}

static void remove_flows(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char *running = inspect_json(ID, true, "2026-11-22T04:32:13Z");
	df_route(&f->df, "GET", "/v1.41/containers/" SHORT "/json", 200, running, -1);
	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 200, running, -1);
	df_route(&f->df, "DELETE", "/v1.41/containers/" ID "?force=true&v=false", 204, "", 0);

	cmd(f, "remove", "force=true", "id=" SHORT, NULL);
	assert_int_equal(run(f, false), SUCCEEDED);
	assert_string_equal(f->out.detail, "removed container 727c47bc2a48 (k3s-worker-3, was "
					   "running), forced");
	/* the request names the full id from the inspect, not what the command said */
	assert_int_equal(df_count(&f->df, "DELETE /v1.41/containers/" ID "?force=true&v=false"), 1);

	/* dry-run: the inspect only */
	assert_int_equal(run(f, true), DRY_RUN);
	assert_string_equal(f->out.detail, "would remove container 727c47bc2a48 (k3s-worker-3, "
					   "running), forced");
	assert_int_equal(df_count(&f->df, "DELETE"), 0);
	cmd(f, "remove", "id=" ID, NULL);
	assert_int_equal(run(f, true), DRY_RUN);
	assert_non_null(strstr(f->out.detail, "would fail: container 727c47bc2a48 (k3s-worker-3) "
					      "is running and force is false"));

	/* without force the daemon refuses: permanent, with its message */
	df_route(&f->df, "DELETE", "/v1.41/containers/" ID "?force=false&v=false", 409,
		 "{\"message\":\"You cannot remove a running container\"}", -1);
	assert_int_equal(run(f, false), PERMANENT);
	assert_string_equal(f->out.error, "You cannot remove a running container");

	/* a precondition that fails: nothing removed */
	cmd(f, "remove", "force=true", "id=" ID, NULL);
	pre(f, OP_FIELD, "", "name", "k3s-worker-9");
	assert_int_equal(run(f, false), SKIPPED);
	assert_non_null(strstr(f->out.detail, "actual \"k3s-worker-3\""));
	assert_int_equal(df_count(&f->df, "DELETE"), 0);
	assert_int_equal(run(f, true), DRY_RUN);
	assert_non_null(strstr(f->out.detail, "would skip: precondition 1"));

	/* gone: noop, nothing else sent, whatever the preconditions */
	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 404,
		 "{\"message\":\"No such container: " ID "\"}", -1);
	assert_int_equal(run(f, false), NOOP);
	assert_string_equal(f->out.detail, "container " ID " is already gone");
	assert_int_equal(df_count(&f->df, "DELETE"), 0);
	assert_int_equal(run(f, true), DRY_RUN);
	assert_non_null(strstr(f->out.detail, "would do nothing"));

	/* gone between the inspect and the delete: noop as well */
	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 200, running, -1);
	df_route(&f->df, "DELETE", "/v1.41/containers/" ID "?force=true&v=false", 404,
		 "{\"message\":\"No such container\"}", -1);
	cmd(f, "remove", "force=true", "id=" ID, NULL);
	assert_int_equal(run(f, false), NOOP);
	assert_non_null(strstr(f->out.detail, "already gone"));
	free(running);
	fx_free(f);
}

static void stop_and_restart(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	char *stopped = inspect_json(ID, false, "2026-11-22T04:32:13Z");
	char *old = inspect_json(ID, true, "2020-01-01T00:00:00.5Z");
	char *fresh = inspect_json(ID, true, "2100-01-01T00:00:00Z");

	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 200, stopped, -1);
	cmd(f, "stop", "id=" ID, "timeout=1", NULL);
	assert_int_equal(run(f, false), NOOP);
	assert_non_null(strstr(f->out.detail, "already stopped (state exited)"));
	assert_int_equal(df_count(&f->df, "POST"), 0);

	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 200, old, -1);
	df_route(&f->df, "POST", "/v1.41/containers/" ID "/stop?t=1", 204, "", 0);
	assert_int_equal(run(f, false), SUCCEEDED);
	assert_string_equal(f->out.detail, "stopped container 727c47bc2a48 (k3s-worker-3, was "
					   "running; grace 1 s)");
	df_route(&f->df, "POST", "/v1.41/containers/" ID "/stop?t=1", 304, "", 0);
	assert_int_equal(run(f, false), NOOP);
	assert_non_null(strstr(f->out.detail, "already stopped"));

	/* restart: issued after the container started, so it runs */
	cmd(f, "restart", "id=" ID, NULL);
	f->cmd.issued_at_ns = tu_clock_wall_ns();
	df_route(&f->df, "POST", "/v1.41/containers/" ID "/restart?t=10", 204, "", 0);
	assert_int_equal(run(f, false), SUCCEEDED);
	assert_non_null(strstr(f->out.detail, "restarted container 727c47bc2a48"));
	/* started after the command was issued: it already ran */
	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 200, fresh, -1);
	pre(f, OP_FIELD, "", "health", "unhealthy"); /* an effect already there is not "skipped" */
	assert_int_equal(run(f, false), NOOP);
	assert_non_null(strstr(f->out.detail, "already restarted"));
	assert_int_equal(df_count(&f->df, "POST"), 0);
	/* gone: nothing to restart */
	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 404, "{\"message\":\"x\"}", -1);
	assert_int_equal(run(f, false), SKIPPED);
	assert_non_null(strstr(f->out.detail, "no longer exists"));
	free(stopped);
	free(old);
	free(fresh);
	fx_free(f);
}

static void failures(void **state)
{
	(void)state;
	struct fx *f = fx_new();
	/* bad params: nothing sent at all */
	cmd(f, "remove", "id=k3s-worker-3", NULL);
	assert_int_equal(run(f, false), PERMANENT);
	assert_string_equal(f->out.detail, "bad params: nothing done");
	assert_int_equal(f->df.n_log, 0);
	/* the daemon fails: retryable with its message */
	cmd(f, "remove", "id=" ID, NULL);
	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 500,
		 "{\"message\":\"containerd is down\"}", -1);
	assert_int_equal(run(f, false), RETRYABLE);
	assert_string_equal(f->out.error, "containerd is down");
	/* an inspect reply that is not one: permanent */
	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 200, "{\"Id\":42}", -1);
	assert_int_equal(run(f, false), PERMANENT);
	assert_non_null(strstr(f->out.detail, "unexpected reply"));
	/* a hex string that names another container (Docker resolves names too) */
	char *other = inspect_json(OTHER, true, "2026-11-22T04:32:13Z");
	df_route(&f->df, "GET", "/v1.41/containers/" ID "/json", 200, other, -1);
	assert_int_equal(run(f, false), SKIPPED);
	assert_non_null(strstr(f->out.detail, "whose id differs"));
	assert_int_equal(df_count(&f->df, "DELETE"), 0);
	free(other);
	/* the daemon is not there: retryable */
	df_stop(&f->df);
	assert_int_equal(tu_docker_adapter_execute(f->t, &f->cmd, false, &f->out), TU_OK);
	assert_int_equal(f->out.result, RETRYABLE);
	assert_non_null(strstr(f->out.error, "docker.sock"));
	df_start(&f->df); /* for fx_free */
	fx_free(f);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(verbs_and_params),
	cmocka_unit_test(preconditions),
	cmocka_unit_test(classification),
	cmocka_unit_test(remove_flows),
	cmocka_unit_test(stop_and_restart),
	cmocka_unit_test(failures),
};
TU_TEST_MAIN(tests)
