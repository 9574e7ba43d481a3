/*
 * fuzz_actuator.c - an actuator's command decoding on arbitrary TRUEUP_CMD
 * messages: tu_actuator_decode (actuators/actuator.h: headers, bounds,
 * fields, subject) for each target type, then the target's own reading of
 * the command's params and preconditions, none of which talks to a server:
 * redis (the script's KEYS and ARGV), docker (params; preconditions against
 * an inspect reply), kubernetes (params, preconditions against an object,
 * the delete and patch bodies), mongodb (filter, update and document as
 * BSON) and http (the request, the alert body, DigitalOcean preconditions
 * and scaling against an app spec).
 *
 * Input: u8 flags | subject \0 | FixCommand bytes.
 * flags: bits 0-2 the target (redis, docker, kube, mongo, http; 5-7 redis);
 * bits 3-4 the Trueup-Type (the command's, none, another); bit 5 the
 * subject given (else the one the decoded action calls for, so that most
 * inputs get past the subject check); bit 6 dry-run (redis).
 *
 * Checks: decode's statuses are its header's (TU_OK, TU_EDECODE, TU_EINVAL,
 * TU_ETOOBIG) and a refusal says why; a decoded command is the target's.
 */
#include "actuator.h"
#include "contract.h"
#include "docker_target.h"
#include "fuzz.h"
#include "http_target.h"
#include "kube_target.h"
#include "mongoconn.h"
#include "mongo_target.h"
#include "redis_target.h"

static const char cfg_yaml[] =
	"targets:\n"
	"  - { name: redis, type: redis }\n"
	"  - { name: docker, type: docker, socket: /nonexistent/docker.sock }\n"
	"  - { name: kube, type: kubernetes, server: \"https://127.0.0.1:6443\" }\n"
	"  - { name: mongo, type: mongodb, uri: \"mongodb://db1:27017/\" }\n"
	"  - { name: do, type: http, base_url: \"https://api.example.com/api/\",\n"
	"      webhook_url: \"https://hooks.example.com/alerts\" }\n";

static const char inspect_json[] =
	"{\"Id\":\"1111111111111111111111111111111111111111111111111111111111111111\","
	"\"Name\":\"/k3s-worker-3\",\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":42,"
	"\"StartedAt\":\"2026-11-22T04:32:13Z\",\"Health\":{\"Status\":\"healthy\"}},"
	"\"Config\":{\"Image\":\"trueup-test:1\",\"Labels\":{\"com.example.role\":\"worker\"}}}";

static const char object_json[] =
	"{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\",\"uid\":\"u-1\","
	"\"resourceVersion\":\"42\",\"labels\":{\"app\":\"web\",\"a.b/c\":\"d\"}},"
	"\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"image\":\"web:v1\"}]}}}}";

static const char app_spec_json[] =
	"{\"name\":\"shop\",\"services\":[{\"name\":\"web\",\"instance_count\":2},{\"name\":\"api\"}]}";

static struct tu_config *g_cfg;
static json_t *g_inspect, *g_object, *g_spec;

static bool (*const verb_known[])(const char *) = {
	tu_redis_verb_known, tu_docker_verb_known, tu_kube_verb_known, tu_mongo_verb_known,
	tu_http_verb_known,
};

static void cleanup(void)
{
	json_decref(g_inspect);
	json_decref(g_object);
	json_decref(g_spec);
	tu_config_destroy(g_cfg);
}

static json_t *load(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	if (j == NULL)
		abort();
	return j;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_log();
	tu_mongo_init();
	g_cfg = fz_config(cfg_yaml);
	g_inspect = load(inspect_json);
	g_object = load(object_json);
	g_spec = load(app_spec_json);
	atexit(cleanup);
	return 0;
}

static void redis(const Trueup__V1__FixCommand *cmd, bool dry, struct tu_arena *a)
{
	struct tu__redis_call call;
	char err[512];
	tu__redis_call_build(cmd, "trueup:done:", 604800000, dry, a, &call, err, sizeof(err));
}

static void docker(const Trueup__V1__FixCommand *cmd)
{
	struct tu__docker_params p;
	char err[512];
	if (tu__docker_params(cmd, &p, err, sizeof(err)) != TU_OK)
		return;
	for (size_t i = 0; i < cmd->n_preconditions; i++) {
		bool holds = false;
		tu__docker_precond(cmd->preconditions[i], i + 1, g_inspect, &holds, err,
				   sizeof(err));
	}
}

static void kube(const Trueup__V1__FixCommand *cmd)
{
	struct tu__kube_cmd c;
	struct tu_buf b;
	char err[512];
	if (tu__kube_cmd_parse(cmd, "default", &c, err, sizeof(err)) != TU_OK)
		return;
	tu_buf_init(&b, 1 << 22);
	if (tu__kube_cmd_has_pre(&c))
		tu__kube_pre_check(&c, g_object, err, sizeof(err));
	if (c.verb == TU_KUBE_DELETE) {
		tu__kube_delete_body(&c, "u-1", "42", &b);
	} else {
		tu__kube_patch_body(&c, "42", &b, err, sizeof(err));
		tu_buf_reset(&b);
		tu__kube_patch_body(&c, NULL, &b, err, sizeof(err));
	}
	tu_buf_release(&b);
	tu__kube_cmd_release(&c);
}

static void mongo(const Trueup__V1__FixCommand *cmd)
{
	struct tu__mongo_op op;
	char err[512];
	memset(&op, 0, sizeof(op));
	if (tu__mongo_op_build(cmd, &op, err, sizeof(err)) == TU_OK)
		tu__mongo_op_release(&op);
}

static void http(const Trueup__V1__FixCommand *cmd, struct tu_arena *a, uint8_t flags)
{
	const struct tu_http_target *h = &g_cfg->targets[4].http;
	struct tu__http_request rq;
	char err[512], old[64];
	if (strcmp(cmd->action, "request") == 0) {
		tu__http_request_build(h, cmd, a, &rq, err, sizeof(err));
	} else if (strcmp(cmd->action, "alert") == 0) {
		free(tu__http_alert_body(cmd));
	} else {
		const char *svc = tu_pb_attrs_get(cmd->params, cmd->n_params, "service");
		char *body = NULL;
		tu__do_preconditions(g_spec, svc != NULL ? svc : "web", cmd->preconditions,
				     cmd->n_preconditions, err, sizeof(err));
		tu__do_scale(g_spec, svc != NULL ? svc : "web", flags & 7, &body, old, sizeof(old));
		free(body);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	uint8_t flags = fz_u8(&in);
	size_t t = (flags & 7) < 5 ? (flags & 7) : 0;
	const char *target = g_cfg->targets[t].name;
	char *given = fz_cstr(&in), *subject = NULL;
	size_t len = 0;
	const uint8_t *p = fz_bytes(&in, in.n, &len);
	void *body = malloc(len > 0 ? len : 1);
	const char *type = (flags >> 3 & 3) == 0   ? TU_TYPE_COMMAND
			   : (flags >> 3 & 3) == 1 ? NULL
						   : TU_TYPE_OUTCOME;
	char reason[TU_ACTUATOR_MAX_REASON] = "";
	struct tu_arena a;
	Trueup__V1__FixCommand *cmd = NULL;

	if (len > 0)
		memcpy(body, p, len);
	if (flags & 0x20) {
		subject = given;
		given = NULL;
	} else {
		/* The subject the action calls for (the action read with a plain unpack). */
		Trueup__V1__FixCommand *peek = trueup__v1__fix_command__unpack(NULL, len, body);
		size_t n = strlen(target) + (peek != NULL ? strlen(peek->action) : 0) + 16;
		subject = malloc(n);
		snprintf(subject, n, "%s.%s.%s", TU_SUBJ_CMD, target,
			 peek != NULL ? peek->action : "");
		if (peek != NULL)
			trueup__v1__fix_command__free_unpacked(peek, NULL);
	}
	tu_arena_init(&a, 4096);
	tu_status st = tu_actuator_decode(target, verb_known[t], subject, type, body, len, &a, &cmd,
					  reason, sizeof(reason));
	FZ_CHECK(st == TU_OK || st == TU_EDECODE || st == TU_EINVAL || st == TU_ETOOBIG,
		 "decode: %s", tu_status_str(st));
	if (st != TU_OK) {
		FZ_CHECK(reason[0] != '\0', "a refusal (%s) without a reason", tu_status_str(st));
		FZ_CHECK(cmd == NULL, "a refusal wrote *out");
	} else {
		FZ_CHECK(cmd != NULL && strcmp(cmd->target, target) == 0, "another target's command");
		FZ_CHECK(verb_known[t](cmd->action), "an unknown action");
		switch (t) {
		case 0: redis(cmd, (flags & 0x40) != 0, &a); break;
		case 1: docker(cmd); break;
		case 2: kube(cmd); break;
		case 3: mongo(cmd); break;
		default: http(cmd, &a, flags); break;
		}
	}
	tu_arena_release(&a);
	free(body);
	free(subject);
	free(given);
	return 0;
}
