/*
 * http_target.c - the http target adapter (see http_target.h).
 *
 * Invariants: the auth value is in memory only during one command (read,
 * used, wiped by tu_httpconn_forget); nothing is sent in a dry-run but the
 * GET of set-instance-count, which only reads; a command's verdict is
 * decided from the reply's status class alone (2xx, 429/5xx/no reply, other),
 * so an unknown reply never becomes "succeeded".
 *
 * Workload: fix commands are rare (tens per second at most); one or two
 * requests each.
 */
#include "http_target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "buf.h"
#include "clock.h"
#include "httpconn.h"
#include "jsonmap.h"
#include "log.h"
#include "xalloc.h"

#define VERB_REQUEST "request"
#define VERB_SCALE "set-instance-count"
#define VERB_ALERT "alert"
#define DO_APPS_PATH "/v2/apps/"
#define SHOWN 120 /* bytes of a param value quoted in a message */

#define R_SUCCEEDED TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED
#define R_NOOP TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP
#define R_RETRYABLE TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE
#define R_PERMANENT TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT
#define R_SKIPPED TRUEUP__V1__OUTCOME__RESULT__RESULT_SKIPPED_PRECONDITION
#define R_DRY_RUN TRUEUP__V1__OUTCOME__RESULT__RESULT_DRY_RUN

struct tu_http_adapter {
	const struct tu_target_config *cfg; /* borrowed; outlives the adapter */
	const struct tu_http_target *h;     /* &cfg->http */
	struct tu_httpconn conn;            /* client, token bucket, headers */
	struct tu_arena arena;              /* one command's strings; reset per command */
};

bool tu_http_verb_known(const char *action)
{
	return action != NULL && (strcmp(action, VERB_REQUEST) == 0 ||
				  strcmp(action, VERB_SCALE) == 0 || strcmp(action, VERB_ALERT) == 0);
}

/* ---- request ------------------------------------------------------------------------------ */

/* A path that could climb out of base_url's prefix: a "." or ".." segment, raw or encoded. */
static bool path_has_dot_segment(const char *p)
{
	if (strstr(p, "%2e") != NULL || strstr(p, "%2E") != NULL)
		return true;
	for (const char *s = p; s != NULL; s = strchr(s + 1, '/')) {
		const char *seg = s[0] == '/' ? s + 1 : s;
		size_t n = strcspn(seg, "/?#");
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return true;
	}
	return false;
}

/* base without one trailing '/', then suffix, in the arena. */
static const char *join_base(struct tu_arena *a, const char *base, const char *suffix)
{
	size_t n = strlen(base);
	if (n > 0 && base[n - 1] == '/')
		n--;
	return tu_arena_printf(a, "%.*s%s", (int)n, base, suffix);
}

tu_status tu__http_request_build(const struct tu_http_target *h, const Trueup__V1__FixCommand *cmd,
				 struct tu_arena *a, struct tu__http_request *out, char *err,
				 size_t errlen)
{
	static const char *const takes[] = { "body", "method", "path", "url" };
	char why[256];
	for (size_t i = 0; i < cmd->n_params; i++) {
		bool ok = false;
		for (size_t j = 0; j < sizeof(takes) / sizeof(takes[0]) && !ok; j++)
			ok = strcmp(cmd->params[i]->key, takes[j]) == 0;
		if (!ok) {
			snprintf(err, errlen, "param %.64s: not a param of request (takes body, "
					      "method, path, url)", cmd->params[i]->key);
			return TU_EINVAL;
		}
	}
	if (cmd->n_preconditions > 0) {
		snprintf(err, errlen, "preconditions: request takes none (%zu given)",
			 cmd->n_preconditions);
		return TU_EINVAL;
	}
	const char *method = tu_pb_attrs_get(cmd->params, cmd->n_params, "method");
	const char *url = tu_pb_attrs_get(cmd->params, cmd->n_params, "url");
	const char *path = tu_pb_attrs_get(cmd->params, cmd->n_params, "path");
	const char *body = tu_pb_attrs_get(cmd->params, cmd->n_params, "body");
	if (!tu_http_method_known(method)) {
		snprintf(err, errlen, "param method: \"%.*s\" is not one of GET, POST, PUT, PATCH, "
				      "DELETE", SHOWN, method != NULL ? method : "");
		return TU_EINVAL;
	}
	if ((url == NULL) == (path == NULL)) {
		snprintf(err, errlen, "params url, path: exactly one is needed");
		return TU_EINVAL;
	}
	if (path != NULL) {
		if (h->base_url == NULL) {
			snprintf(err, errlen, "param path: the target has no base_url");
			return TU_EINVAL;
		}
		if (path[0] != '/' || path_has_dot_segment(path)) {
			snprintf(err, errlen, "param path: \"%.*s\" must start with '/' and have no "
					      "'.' or '..' segment", SHOWN, path);
			return TU_EINVAL;
		}
		url = join_base(a, h->base_url, path);
	}
	if (tu_http_url_check(url, why, sizeof(why)) != TU_OK) {
		snprintf(err, errlen, "param %s: %s", path != NULL ? "path" : "url", why);
		return TU_EINVAL;
	}
	if (body != NULL) {
		json_error_t jerr;
		json_t *j = json_loads(body, JSON_DECODE_ANY, &jerr);
		if (j == NULL) {
			snprintf(err, errlen, "param body: not JSON: %s at column %d", jerr.text,
				 jerr.column);
			return TU_EINVAL;
		}
		json_decref(j);
	}
	out->method = method;
	out->url = url;
	out->body = body;
	out->body_len = body != NULL ? strlen(body) : 0;
	out->with_auth = h->base_url != NULL && tu_http_same_origin(url, h->base_url);
	return TU_OK;
}

/* ---- alert ---------------------------------------------------------------------------------- */

/* Sets key to the string s (NULL as ""); false if s is not UTF-8. */
static bool set_str(json_t *obj, const char *key, const char *s)
{
	return json_object_set_new(obj, key, json_string(s != NULL ? s : "")) == 0;
}

char *tu__http_alert_body(const Trueup__V1__FixCommand *cmd)
{
	char issued[40];
	json_t *o = json_object();
	json_t *params = json_object();
	json_t *entity = json_object();
	const Trueup__V1__EntityRef *e = cmd->entity;
	bool ok = set_str(o, "command_id", cmd->command_id) &&
		  set_str(o, "correlation_id", cmd->correlation_id) &&
		  set_str(o, "rule", cmd->rule) && set_str(o, "target", cmd->target) &&
		  set_str(o, "action", cmd->action) &&
		  set_str(entity, "kind", e != NULL ? e->kind : NULL) &&
		  set_str(entity, "namespace", e != NULL ? e->namespace_ : NULL) &&
		  set_str(entity, "name", e != NULL ? e->name : NULL) &&
		  set_str(o, "reason", cmd->reason);
	for (size_t i = 0; ok && i < cmd->n_params; i++)
		ok = set_str(params, cmd->params[i]->key, cmd->params[i]->value);
	tu_time_format(cmd->issued_at_ns, issued, sizeof(issued));
	ok = ok && json_object_set(o, "entity", entity) == 0 &&
	     json_object_set(o, "params", params) == 0 &&
	     json_object_set_new(o, "attempt", json_integer(cmd->attempt)) == 0 &&
	     set_str(o, "issued_at", issued);
	char *body = ok ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(entity);
	json_decref(params);
	json_decref(o);
	return body;
}

/* ---- set-instance-count ------------------------------------------------------------------- */

/* The spec of the service named name in spec.services, or NULL. */
static json_t *do_service(json_t *spec, const char *name)
{
	json_t *services = json_object_get(spec, "services");
	for (size_t i = 0; i < json_array_size(services); i++) {
		json_t *s = json_array_get(services, i);
		json_t *n = json_object_get(s, "name");
		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
			return s;
	}
	return NULL;
}

/* A member of an object as text ("" when absent or not a scalar). */
static void member_text(json_t *obj, const char *key, struct tu_buf *out)
{
	json_t *v = json_object_get(obj, key);
	tu_buf_reset(out);
	if (v != NULL && !tu_json_scalar(v, out))
		tu_buf_reset(out);
}

static const char *op_name(Trueup__V1__Precondition__Op op)
{
	switch (op) {
	case TRUEUP__V1__PRECONDITION__OP__OP_EQUALS: return "equals";
	case TRUEUP__V1__PRECONDITION__OP__OP_EXISTS: return "exists";
	case TRUEUP__V1__PRECONDITION__OP__OP_ABSENT: return "absent";
	case TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS: return "field_equals";
	default: return "unknown";
	}
}

tu_status tu__do_preconditions(json_t *spec, const char *service,
			       Trueup__V1__Precondition *const *pre, size_t n, char *why,
			       size_t whylen)
{
	struct tu_buf have;
	tu_status st = TU_OK;
	tu_buf_init(&have, TU_MAX_ATTR_VALUE);
	for (size_t i = 0; i < n && st == TU_OK; i++) {
		const Trueup__V1__Precondition *p = pre[i];
		const char *key = p->key != NULL && p->key[0] != '\0' ? p->key : service;
		json_t *svc = do_service(spec, key);
		switch (p->op) {
		case TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS: {
			if (p->field == NULL || p->field[0] == '\0') {
				snprintf(why, whylen, "precondition %zu: field_equals needs a field",
					 i + 1);
				st = TU_EINVAL;
				break;
			}
			if (svc != NULL)
				member_text(svc, p->field, &have);
			const char *expect = p->value != NULL ? p->value : "";
			if (svc != NULL && strcmp(tu_buf_cstr(&have), expect) == 0)
				break;
			char found[SHOWN + 16];
			if (svc == NULL)
				snprintf(found, sizeof(found), "no such service");
			else
				snprintf(found, sizeof(found), "actual \"%.*s\"", SHOWN,
					 tu_buf_cstr(&have));
			snprintf(why, whylen, "precondition %zu (field_equals %.*s.%.*s \"%.*s\") failed: %s",
				 i + 1, SHOWN, key, SHOWN, p->field, SHOWN, expect, found);
			st = TU_ECONFLICT;
			break;
		}
		case TRUEUP__V1__PRECONDITION__OP__OP_EXISTS:
		case TRUEUP__V1__PRECONDITION__OP__OP_ABSENT: {
			bool want = p->op == TRUEUP__V1__PRECONDITION__OP__OP_EXISTS;
			if ((svc != NULL) != want) {
				snprintf(why, whylen, "precondition %zu (%s %.*s) failed: the service %s",
					 i + 1, op_name(p->op), SHOWN, key,
					 svc != NULL ? "exists" : "does not exist");
				st = TU_ECONFLICT;
			}
			break;
		}
		default:
			snprintf(why, whylen, "precondition %zu: op %s is not supported by %s (use "
					      "field_equals, exists or absent)", i + 1, op_name(p->op),
				 VERB_SCALE);
			st = TU_EINVAL;
			break;
		}
	}
	tu_buf_release(&have);
	return st;
}

tu_status tu__do_scale(json_t *spec, const char *service, json_int_t count, char **body,
		       char *old, size_t oldlen)
{
	struct tu_buf have;
	tu_status st = TU_OK;
	json_t *copy = NULL, *wrap = NULL;
	tu_buf_init(&have, 64);
	json_t *svc = do_service(spec, service);
	if (svc == NULL) {
		st = TU_ENOTFOUND;
		goto out;
	}
	member_text(svc, "instance_count", &have);
	snprintf(old, oldlen, "%s", tu_buf_cstr(&have));
	json_t *cur = json_object_get(svc, "instance_count");
	if (json_is_integer(cur) && json_integer_value(cur) == count) {
		st = TU_EEXIST;
		goto out;
	}
	copy = json_deep_copy(spec);
	wrap = json_object();
	if (copy == NULL || wrap == NULL ||
	    json_object_set_new(do_service(copy, service), "instance_count",
				json_integer(count)) != 0 ||
	    json_object_set(wrap, "spec", copy) != 0) {
		st = TU_ENOMEM;
		goto out;
	}
	*body = json_dumps(wrap, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (*body == NULL)
		st = TU_ENOMEM;
out:
	json_decref(copy);
	json_decref(wrap);
	tu_buf_release(&have);
	return st;
}

/* ---- talking to the API ------------------------------------------------------------------- */

/*
 * Fills out for a request that did not return 2xx: retryable (with the
 * reply's Retry-After) or permanent, with the API's message. what names the
 * request ("GET /v2/apps/x").
 */
static void http_failed(const struct tu_http_resp *r, tu_status st, const char *what,
			struct tu_exec *out)
{
	char text[TU_EXEC_ERROR - 64];
	bool retry = tu_http_retryable(st, r->status);
	if (st != TU_OK)
		snprintf(text, sizeof(text), "%s", r->error[0] ? r->error : tu_status_str(st));
	else
		tu_httpconn_error_text(r, text, sizeof(text));
	if (st == TU_OK)
		tu_exec_set(out, retry ? R_RETRYABLE : R_PERMANENT, text, "%s: HTTP %ld%s", what,
			    r->status, r->status >= 300 && r->status <= 399
					       ? " (redirects are not followed)" : "");
	else
		tu_exec_set(out, retry ? R_RETRYABLE : R_PERMANENT, text, "%s: no reply", what);
	if (retry && r->retry_after_ms > 0)
		out->retry_after_ms = r->retry_after_ms;
}

/*
 * Sends one request with the headers of auth_file (NULL: no auth) and an
 * Idempotency-Key. True with resp filled on a 2xx reply; false with out
 * filled otherwise.
 */
static bool call_api(tu_http_adapter *t, const Trueup__V1__FixCommand *cmd, const char *method,
		 const char *url, const char *auth_file, const char *body, size_t body_len,
		 const char *what, struct tu_http_resp *resp, struct tu_exec *out)
{
	char err[256];
	if (!tu_httpconn_pace(&t->conn, t->cfg->timeout, NULL, NULL)) {
		tu_exec_set(out, R_RETRYABLE, "the target's rate limit allows no request within "
					      "timeout", "%s: not sent", what);
		return false;
	}
	tu_status st = tu_httpconn_headers(&t->conn, auth_file, err, sizeof(err));
	if (st != TU_OK) {
		/* A target problem an operator can fix while the command waits. */
		tu_exec_set(out, R_RETRYABLE, err, "%s: not sent", what);
		return false;
	}
	struct tu_http_header hdrs[TU_HTTPCONN_MAX_HEADERS + 1];
	size_t n = t->conn.n_headers;
	memcpy(hdrs, t->conn.headers, n * sizeof(*hdrs));
	hdrs[n++] = (struct tu_http_header){ "Idempotency-Key", cmd->command_id };
	struct tu_http_req req = {
		.method = method,
		.url = url,
		.headers = hdrs,
		.n_headers = n,
		.body = body,
		.body_len = body_len,
	};
	st = tu_http_do(t->conn.http, &req, resp);
	tu_secret_wipe(hdrs, sizeof(hdrs));
	tu_httpconn_forget(&t->conn);
	if (st == TU_OK && resp->status >= 200 && resp->status <= 299)
		return true;
	http_failed(resp, st, what, out);
	return false;
}

static void exec_request(tu_http_adapter *t, const Trueup__V1__FixCommand *cmd, bool dry_run,
			 struct tu_exec *out)
{
	struct tu__http_request rq;
	struct tu_http_resp resp;
	char err[512];
	if (tu__http_request_build(t->h, cmd, &t->arena, &rq, err, sizeof(err)) != TU_OK) {
		tu_exec_set(out, R_PERMANENT, err, "bad params: nothing sent");
		return;
	}
	const char *what = tu_arena_printf(&t->arena, "%s %s", rq.method, rq.url);
	if (dry_run) {
		tu_exec_set(out, R_DRY_RUN, NULL, "would %s (%zu bytes of body%s)", what,
			    rq.body_len, rq.with_auth ? ", with the auth header" : "");
		return;
	}
	tu_http_resp_init(&resp);
	if (call_api(t, cmd, rq.method, rq.url, rq.with_auth ? t->h->conn.auth_file : NULL, rq.body,
		 rq.body_len, what, &resp, out))
		tu_exec_set(out, R_SUCCEEDED, NULL, "%s: HTTP %ld", what, resp.status);
	tu_http_resp_release(&resp);
}

static void exec_alert(tu_http_adapter *t, const Trueup__V1__FixCommand *cmd, bool dry_run,
		       struct tu_exec *out)
{
	struct tu_http_resp resp;
	if (cmd->n_preconditions > 0) {
		tu_exec_set(out, R_PERMANENT, "preconditions: alert takes none",
			    "bad params: nothing sent");
		return;
	}
	if (t->h->webhook_url == NULL) {
		tu_exec_set(out, R_PERMANENT, "the target has no webhook_url",
			    "bad config: nothing sent");
		return;
	}
	char *body = tu__http_alert_body(cmd);
	if (body == NULL) {
		tu_exec_set(out, R_PERMANENT, "a field or param is not UTF-8 text",
			    "bad params: nothing sent");
		return;
	}
	if (dry_run) {
		tu_exec_set(out, R_DRY_RUN, NULL, "would POST an alert (%zu bytes) to the webhook",
			    strlen(body));
	} else {
		tu_http_resp_init(&resp);
		if (call_api(t, cmd, "POST", t->h->webhook_url, t->h->webhook_auth_file, body,
			 strlen(body), "POST alert to the webhook", &resp, out))
			tu_exec_set(out, R_SUCCEEDED, NULL, "alert posted to the webhook: HTTP %ld",
				    resp.status);
		tu_http_resp_release(&resp);
	}
	free(body);
}

/* The params of set-instance-count; false with err for a missing, extra or bad one. */
static bool scale_params(const Trueup__V1__FixCommand *cmd, const char **app, const char **service,
			 json_int_t *count, char *err, size_t errlen)
{
	static const char *const takes[] = { "app_id", "instance_count", "service" };
	for (size_t i = 0; i < cmd->n_params; i++) {
		bool ok = false;
		for (size_t j = 0; j < sizeof(takes) / sizeof(takes[0]) && !ok; j++)
			ok = strcmp(cmd->params[i]->key, takes[j]) == 0;
		if (!ok) {
			snprintf(err, errlen, "param %.64s: not a param of %s (takes app_id, "
					      "instance_count, service)", cmd->params[i]->key,
				 VERB_SCALE);
			return false;
		}
	}
	*app = tu_pb_attrs_get(cmd->params, cmd->n_params, "app_id");
	*service = tu_pb_attrs_get(cmd->params, cmd->n_params, "service");
	const char *n = tu_pb_attrs_get(cmd->params, cmd->n_params, "instance_count");
	for (size_t i = 0; i < sizeof(takes) / sizeof(takes[0]); i++) {
		const char *v = tu_pb_attrs_get(cmd->params, cmd->n_params, takes[i]);
		if (v == NULL || v[0] == '\0') {
			snprintf(err, errlen, "param %s: missing or empty", takes[i]);
			return false;
		}
	}
	char *end = NULL;
	errno = 0;
	long long v = strtoll(n, &end, 10);
	if (n[0] < '0' || n[0] > '9' || *end != '\0' || errno != 0 || v > TU_HTTP_MAX_INSTANCE_COUNT) {
		snprintf(err, errlen, "param instance_count: \"%.*s\" is not an integer in 0..%d",
			 SHOWN, n, TU_HTTP_MAX_INSTANCE_COUNT);
		return false;
	}
	*count = (json_int_t)v;
	return true;
}

/* GETs the app and returns its "app" object (a new reference), or NULL with out filled. */
static json_t *get_app(tu_http_adapter *t, const Trueup__V1__FixCommand *cmd, const char *url,
		       const char *what, struct tu_exec *out)
{
	struct tu_http_resp resp;
	json_t *app = NULL;
	tu_http_resp_init(&resp);
	if (call_api(t, cmd, "GET", url, t->h->conn.auth_file, NULL, 0, what, &resp, out)) {
		json_error_t jerr;
		json_t *doc = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0,
					 &jerr);
		json_t *a = json_object_get(doc, "app");
		if (json_is_object(a) && json_is_object(json_object_get(a, "spec"))) {
			app = json_incref(a);
		} else {
			char e[TU_EXEC_ERROR];
			snprintf(e, sizeof(e), "%s", doc == NULL ? jerr.text
						   : "no object app.spec in the reply");
			/* An API that answers 2xx with garbage may be mid-deploy: try again later. */
			tu_exec_set(out, R_RETRYABLE, e, "%s: unexpected reply", what);
		}
		json_decref(doc);
	}
	tu_http_resp_release(&resp);
	return app;
}

static void exec_scale(tu_http_adapter *t, const Trueup__V1__FixCommand *cmd, bool dry_run,
		       struct tu_exec *out)
{
	const char *app_id = NULL, *service = NULL;
	json_int_t count = 0;
	char err[512], old[64];
	struct tu_buf esc;
	json_t *app = NULL;
	char *body = NULL;
	if (!scale_params(cmd, &app_id, &service, &count, err, sizeof(err))) {
		tu_exec_set(out, R_PERMANENT, err, "bad params: nothing done");
		return;
	}
	if (t->h->base_url == NULL) {
		tu_exec_set(out, R_PERMANENT, "the target has no base_url", "bad config: nothing done");
		return;
	}
	tu_buf_init(&esc, TU_HTTP_MAX_URL);
	if (tu_http_escape(app_id, &esc) != TU_OK) {
		tu_exec_set(out, R_PERMANENT, "param app_id: too long for a URL",
			    "bad params: nothing done");
		goto out;
	}
	const char *url = join_base(&t->arena, t->h->base_url,
				    tu_arena_printf(&t->arena, DO_APPS_PATH "%s", tu_buf_cstr(&esc)));
	const char *get = tu_arena_printf(&t->arena, "GET " DO_APPS_PATH "%s", tu_buf_cstr(&esc));
	app = get_app(t, cmd, url, get, out);
	if (app == NULL)
		goto out;
	json_t *spec = json_object_get(app, "spec");
	const char *name = json_string_value(json_object_get(spec, "name"));
	const char *which = tu_arena_printf(&t->arena, "service %.*s of app %.*s (%s)", SHOWN,
					    service, SHOWN, name != NULL ? name : "?", app_id);
	tu_status st = tu__do_scale(spec, service, count, &body, old, sizeof(old));
	if (st == TU_ENOTFOUND) {
		tu_exec_set(out, R_PERMANENT, "no such service in the app's spec",
			    "%s: nothing done", which);
		goto out;
	}
	if (st == TU_EEXIST) {
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_NOOP, NULL,
			    "%s%s already has instance_count %" JSON_INTEGER_FORMAT,
			    dry_run ? "would do nothing: " : "", which, count);
		goto out;
	}
	if (st != TU_OK) {
		tu_exec_set(out, R_PERMANENT, tu_status_str(st), "%s: spec not changed", which);
		goto out;
	}
	st = tu__do_preconditions(spec, service, cmd->preconditions, cmd->n_preconditions, err,
				  sizeof(err));
	if (st == TU_ECONFLICT) {
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_SKIPPED, NULL, "%s%s: %s",
			    dry_run ? "would skip: " : "", which, err);
		goto out;
	}
	if (st != TU_OK) {
		tu_exec_set(out, R_PERMANENT, err, "bad params: nothing done");
		goto out;
	}
	const char *change = tu_arena_printf(&t->arena, "instance_count of %s from %s to %" JSON_INTEGER_FORMAT,
					     which, old[0] ? old : "(unset)", count);
	if (dry_run) {
		tu_exec_set(out, R_DRY_RUN, NULL, "would set %s (PUT " DO_APPS_PATH "%s)", change,
			    tu_buf_cstr(&esc));
		goto out;
	}
	struct tu_http_resp resp;
	tu_http_resp_init(&resp);
	const char *put = tu_arena_printf(&t->arena, "PUT " DO_APPS_PATH "%s", tu_buf_cstr(&esc));
	if (call_api(t, cmd, "PUT", url, t->h->conn.auth_file, body, strlen(body), put, &resp, out))
		tu_exec_set(out, R_SUCCEEDED, NULL, "set %s: HTTP %ld", change, resp.status);
	tu_http_resp_release(&resp);
out:
	free(body);
	json_decref(app);
	tu_buf_release(&esc);
}

static tu_status http_execute(void *impl, const Trueup__V1__FixCommand *cmd, bool dry_run,
			      struct tu_exec *out)
{
	tu_http_adapter *t = impl;
	tu_arena_reset(&t->arena);
	if (!tu_pb_attrs_valid(cmd->params, cmd->n_params)) {
		tu_exec_set(out, R_PERMANENT, "params: not sorted by key, a key twice or a null entry",
			    "bad params: nothing done");
		return TU_OK;
	}
	if (strcmp(cmd->action, VERB_REQUEST) == 0)
		exec_request(t, cmd, dry_run, out);
	else if (strcmp(cmd->action, VERB_SCALE) == 0)
		exec_scale(t, cmd, dry_run, out);
	else if (strcmp(cmd->action, VERB_ALERT) == 0)
		exec_alert(t, cmd, dry_run, out);
	else
		tu_exec_set(out, R_PERMANENT, "unknown action", "nothing done");
	return TU_OK;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

tu_status tu_http_adapter_create(const struct tu_target_config *cfg, tu_http_adapter **out,
				 char *err, size_t errlen)
{
	char why[256];
	if (cfg->type != TU_TARGET_HTTP) {
		snprintf(err, errlen, "target %s: not an http target", cfg->name);
		return TU_EINVAL;
	}
	tu_http_adapter *t = tu_xcalloc(1, sizeof(*t));
	tu_status st = tu_httpconn_init(&t->conn, &cfg->http.conn, cfg->timeout, why, sizeof(why));
	if (st != TU_OK) {
		snprintf(err, errlen, "target %s: %s", cfg->name, why);
		free(t);
		return st;
	}
	t->cfg = cfg;
	t->h = &cfg->http;
	tu_arena_init(&t->arena, 8192);
	*out = t;
	return TU_OK;
}

void tu_http_adapter_destroy(tu_http_adapter *t)
{
	if (t == NULL)
		return;
	tu_httpconn_release(&t->conn);
	tu_arena_release(&t->arena);
	free(t);
}

static const struct tu_adapter_ops http_ops = {
	.type = "http",
	.verb_known = tu_http_verb_known,
	.execute = http_execute,
};

void tu_http_adapter_view(tu_http_adapter *t, struct tu_adapter *out)
{
	out->ops = &http_ops;
	out->impl = t;
}
