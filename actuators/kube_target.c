/*
 * kube_target.c - the kubernetes target adapter (see kube_target.h).
 *
 * Invariants: every write that carries preconditions also carries the
 * resourceVersion they were checked against (or the uid/resourceVersion the
 * command gave, which the API server checks itself), so nothing is written
 * over an object that changed after it was checked. Dry-runs send no
 * request that could change anything: GETs, and PATCH with dryRun=All.
 * Every reply is parsed with jansson; a reply that is not what the API
 * documents is failed-permanent, never guessed at.
 *
 * Workload: one command at a time, a few per second at most; two requests
 * per command (read, write) except a plain delete (one).
 */
#include "kube_target.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonmap.h"
#include "log.h"
#include "xalloc.h"

#define R_SUCCEEDED TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED
#define R_NOOP TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP
#define R_RETRY TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE
#define R_PERMANENT TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT
#define R_SKIPPED TRUEUP__V1__OUTCOME__RESULT__RESULT_SKIPPED_PRECONDITION
#define R_DRY_RUN TRUEUP__V1__OUTCOME__RESULT__RESULT_DRY_RUN

#define WHAT_LEN 640        /* "deployments.apps shop/web" */
#define TEXT_LEN 480        /* an API server's error text in a verdict */
#define VALUE_SHOWN 60      /* bytes of a value quoted in a detail */
#define MAX_REPLICAS INT32_MAX

struct tu_kube_adapter {
	const struct tu_target_config *cfg; /* borrowed; outlives the target */
	tu_kube *k;                         /* the API client */
	struct tu_buf path;                 /* path and query of the current request */
	struct tu_buf body;                 /* body of the current request */
	struct tu_http_resp resp;           /* the current reply */
};

/* ---- verbs and params ------------------------------------------------------------------ */

static const struct {
	const char *name;        /* the action */
	enum tu__kube_verb verb; /* what it does */
} verbs[] = {
	{ "delete", TU_KUBE_DELETE },
	{ "merge-patch", TU_KUBE_MERGE_PATCH },
	{ "json-patch", TU_KUBE_JSON_PATCH },
	{ "scale", TU_KUBE_SCALE },
};

static bool verb_of(const char *action, enum tu__kube_verb *out)
{
	for (size_t i = 0; action != NULL && i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(action, verbs[i].name) == 0) {
			*out = verbs[i].verb;
			return true;
		}
	}
	return false;
}

bool tu_kube_verb_known(const char *action)
{
	enum tu__kube_verb v;
	return verb_of(action, &v);
}

/* The params a verb takes besides the resource ones. */
static bool param_known(enum tu__kube_verb v, const char *k)
{
	static const char *const common[] = { "name", "namespace", "resource", "group", "version",
					      "plural" };
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		if (strcmp(k, common[i]) == 0)
			return true;
	}
	switch (v) {
	case TU_KUBE_DELETE:
		return strcmp(k, "grace_period_seconds") == 0 ||
		       strcmp(k, "propagation_policy") == 0;
	case TU_KUBE_MERGE_PATCH:
	case TU_KUBE_JSON_PATCH: return strcmp(k, "patch") == 0;
	case TU_KUBE_SCALE: return strcmp(k, "replicas") == 0;
	}
	return false;
}

/* A decimal integer in [min, max]. */
static bool int_param(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	if (*s == '\0' || strspn(s, "-0123456789") != strlen(s))
		return false;
	long long v = strtoll(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* The resource named by the params; ns is the namespace param (NULL if none). */
static tu_status parse_resource(const Trueup__V1__FixCommand *cmd, const char *default_ns,
				struct tu__kube_cmd *c, char *err, size_t errlen)
{
	Trueup__V1__Attr *const *p = cmd->params;
	size_t n = cmd->n_params;
	const char *res = tu_pb_attrs_get(p, n, "resource");
	const char *g = tu_pb_attrs_get(p, n, "group");
	const char *v = tu_pb_attrs_get(p, n, "version");
	const char *pl = tu_pb_attrs_get(p, n, "plural");
	const char *ns = tu_pb_attrs_get(p, n, "namespace");

	if (ns != NULL && (*ns == '\0' || strlen(ns) > TU_MAX_NAMESPACE)) {
		snprintf(err, errlen, "param namespace: empty or over %d bytes", TU_MAX_NAMESPACE);
		return TU_EINVAL;
	}
	if (ns != NULL && tu_http_dot_segment(ns)) {
		snprintf(err, errlen, "param namespace: \"%s\" is not a namespace (in a URL it "
				      "would step out of its path)", ns);
		return TU_EINVAL;
	}
	if (res != NULL && (g != NULL || v != NULL || pl != NULL)) {
		snprintf(err, errlen, "param resource: give either resource or group, version and "
				      "plural, not both");
		return TU_EINVAL;
	}
	if (res != NULL) {
		if (!tu_kube_builtin(res, &c->res)) {
			snprintf(err, errlen, "param resource: unknown resource \"%.64s\" (built-ins: "
					      "%s; others by group, version and plural)", res,
				 tu_kube_builtin_names());
			return TU_EINVAL;
		}
	} else {
		if (g == NULL || v == NULL || pl == NULL) {
			snprintf(err, errlen, "param resource: missing (a built-in resource, or all "
					      "of group, version and plural)");
			return TU_EINVAL;
		}
		if (!tu_kube_group_valid(g) || !tu_kube_version_valid(v) ||
		    !tu_kube_plural_valid(pl)) {
			snprintf(err, errlen, "params group, version, plural: not an API group, "
					      "version and resource name");
			return TU_EINVAL;
		}
		c->res.group = strcmp(g, "core") == 0 ? "" : g;
		c->res.version = v;
		c->res.plural = pl;
		c->res.namespaced = ns != NULL; /* a custom resource is where the command says */
	}
	if (c->res.namespaced && ns == NULL)
		ns = default_ns;
	if (c->res.namespaced && ns == NULL) {
		snprintf(err, errlen, "param namespace: missing (%s are namespaced)", c->res.plural);
		return TU_EINVAL;
	}
	if (!c->res.namespaced && ns != NULL) {
		snprintf(err, errlen, "param namespace: %s are cluster-scoped; remove it",
			 c->res.plural);
		return TU_EINVAL;
	}
	c->ns = c->res.namespaced ? ns : NULL;
	return TU_OK;
}

/* The verb's own params: patch, replicas, grace period, propagation policy. */
static tu_status parse_verb_params(const Trueup__V1__FixCommand *cmd, struct tu__kube_cmd *c,
				   char *err, size_t errlen)
{
	Trueup__V1__Attr *const *p = cmd->params;
	size_t n = cmd->n_params;
	const char *s = NULL;
	json_error_t je;

	switch (c->verb) {
	case TU_KUBE_MERGE_PATCH:
	case TU_KUBE_JSON_PATCH:
		s = tu_pb_attrs_get(p, n, "patch");
		if (s == NULL) {
			snprintf(err, errlen, "param patch: missing (%s needs it)", cmd->action);
			return TU_EINVAL;
		}
		c->patch = json_loads(s, JSON_REJECT_DUPLICATES, &je);
		if (c->patch == NULL) {
			snprintf(err, errlen, "param patch: not JSON: line %d column %d: %s", je.line,
				 je.column, je.text);
			return TU_EINVAL;
		}
		if (c->verb == TU_KUBE_MERGE_PATCH && !json_is_object(c->patch)) {
			snprintf(err, errlen, "param patch: a merge patch is a JSON object");
			return TU_EINVAL;
		}
		if (c->verb == TU_KUBE_JSON_PATCH) {
			size_t i;
			json_t *op;
			if (!json_is_array(c->patch) || json_array_size(c->patch) == 0) {
				snprintf(err, errlen, "param patch: a JSON patch is a non-empty array "
						      "of operations");
				return TU_EINVAL;
			}
			json_array_foreach(c->patch, i, op) {
				if (!json_is_object(op) || !json_is_string(json_object_get(op, "op")) ||
				    !json_is_string(json_object_get(op, "path"))) {
					snprintf(err, errlen, "param patch: operation %zu needs op and "
							      "path strings", i);
					return TU_EINVAL;
				}
			}
		}
		return TU_OK;
	case TU_KUBE_SCALE:
		s = tu_pb_attrs_get(p, n, "replicas");
		if (s == NULL || !int_param(s, 0, MAX_REPLICAS, &c->replicas)) {
			snprintf(err, errlen, "param replicas: %s (an integer from 0 to %d)",
				 s == NULL ? "missing" : "not a count", MAX_REPLICAS);
			return TU_EINVAL;
		}
		return TU_OK;
	case TU_KUBE_DELETE:
		s = tu_pb_attrs_get(p, n, "grace_period_seconds");
		if (s != NULL && !int_param(s, 0, INT32_MAX, &c->grace)) {
			snprintf(err, errlen, "param grace_period_seconds: not a number of seconds");
			return TU_EINVAL;
		}
		s = tu_pb_attrs_get(p, n, "propagation_policy");
		if (s != NULL && strcmp(s, "Foreground") != 0 && strcmp(s, "Background") != 0 &&
		    strcmp(s, "Orphan") != 0) {
			snprintf(err, errlen, "param propagation_policy: \"%.32s\" is not one of "
					      "Foreground, Background, Orphan", s);
			return TU_EINVAL;
		}
		c->propagation = s;
		return TU_OK;
	}
	return TU_OK;
}

/* `uid`, `metadata.uid`, `.metadata.uid` (and the same for resourceVersion). */
static bool is_meta_field(const char *f, const char *name)
{
	if (f[0] == '.')
		f++;
	if (strncmp(f, "metadata.", 9) == 0)
		f += 9;
	return strcmp(f, name) == 0;
}

static tu_status parse_preconds(const Trueup__V1__FixCommand *cmd, struct tu__kube_cmd *c,
				char *err, size_t errlen)
{
	char why[256];
	for (size_t i = 0; i < cmd->n_preconditions; i++) {
		const Trueup__V1__Precondition *pre = cmd->preconditions[i];
		const char *field = pre != NULL && pre->field != NULL ? pre->field : "";
		const char *value = pre != NULL && pre->value != NULL ? pre->value : "";
		if (pre != NULL && pre->key != NULL && pre->key[0] != '\0') {
			snprintf(err, errlen, "precondition %zu: key is not used by the kubernetes "
					      "target (the command's object is checked)", i + 1);
			return TU_EINVAL;
		}
		if (pre != NULL && pre->op == TRUEUP__V1__PRECONDITION__OP__OP_EXISTS) {
			c->must_exist = true;
			c->exist_index = i + 1;
			continue;
		}
		if (pre == NULL || pre->op != TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS) {
			snprintf(err, errlen, "precondition %zu: op %s is not supported by the "
					      "kubernetes target (field_equals or exists)", i + 1,
				 pre == NULL ? "missing"
				 : pre->op == TRUEUP__V1__PRECONDITION__OP__OP_EQUALS ? "equals"
				 : pre->op == TRUEUP__V1__PRECONDITION__OP__OP_ABSENT ? "absent"
										       : "unknown");
			return TU_EINVAL;
		}
		if (*field == '\0') {
			snprintf(err, errlen, "precondition %zu: field_equals needs a field", i + 1);
			return TU_EINVAL;
		}
		if (is_meta_field(field, "uid") && c->uid == NULL) {
			c->uid = value;
			c->uid_index = i + 1;
			continue;
		}
		if (is_meta_field(field, "resourceVersion") && c->rv == NULL) {
			c->rv = value;
			c->rv_index = i + 1;
			continue;
		}
		char *path = field[0] == '.' || field[0] == '[' ? tu_xstrdup(field)
								: tu_xasprintf(".%s", field);
		c->paths[c->n_fields] = path;
		c->values[c->n_fields] = value;
		c->pre_index[c->n_fields] = i + 1;
		c->n_fields++;
		if (tu_json_path_check(path, why, sizeof(why)) != TU_OK) {
			snprintf(err, errlen, "precondition %zu: field: %s", i + 1, why);
			return TU_EINVAL;
		}
	}
	return TU_OK;
}

void tu__kube_cmd_release(struct tu__kube_cmd *c)
{
	json_decref(c->patch);
	for (size_t i = 0; i < c->n_fields; i++)
		free(c->paths[i]);
	memset(c, 0, sizeof(*c));
}

tu_status tu__kube_cmd_parse(const Trueup__V1__FixCommand *cmd, const char *default_ns,
			     struct tu__kube_cmd *out, char *err, size_t errlen)
{
	struct tu__kube_cmd c;
	tu_status st = TU_OK;

	memset(&c, 0, sizeof(c));
	c.grace = -1;
	if (!verb_of(cmd->action, &c.verb)) {
		snprintf(err, errlen, "action %.64s: not a verb of the kubernetes target",
			 cmd->action ? cmd->action : "");
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
		if (!param_known(c.verb, cmd->params[i]->key)) {
			snprintf(err, errlen, "param %.64s: not a param of %s", cmd->params[i]->key,
				 cmd->action);
			return TU_EINVAL;
		}
	}
	c.name = tu_pb_attrs_get(cmd->params, cmd->n_params, "name");
	if (c.name == NULL || *c.name == '\0' || strlen(c.name) > TU_MAX_NAME) {
		snprintf(err, errlen, "param name: missing, empty or over %d bytes", TU_MAX_NAME);
		return TU_EINVAL;
	}
	if (tu_http_dot_segment(c.name)) {
		snprintf(err, errlen, "param name: \"%s\" is not an object name (in a URL it would "
				      "step out of its path)", c.name);
		return TU_EINVAL;
	}
	st = parse_resource(cmd, default_ns, &c, err, errlen);
	if (st == TU_OK)
		st = parse_verb_params(cmd, &c, err, errlen);
	if (st == TU_OK)
		st = parse_preconds(cmd, &c, err, errlen);
	if (st != TU_OK) {
		tu__kube_cmd_release(&c);
		return st;
	}
	*out = c;
	return TU_OK;
}

bool tu__kube_cmd_has_pre(const struct tu__kube_cmd *c)
{
	return c->uid != NULL || c->rv != NULL || c->must_exist || c->n_fields > 0;
}

/* ---- preconditions and bodies -------------------------------------------------------- */

/* The object's metadata string `key`, or NULL. */
static const char *meta_str(json_t *obj, const char *key)
{
	json_t *m = json_object_get(obj, "metadata");
	json_t *v = json_is_object(m) ? json_object_get(m, key) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Copies s for a detail: at most VALUE_SHOWN bytes, non-printable ones as '?'. */
static void clean(const char *s, char *out, size_t outlen)
{
	size_t o = 0, n = strlen(s), i = 0;
	if (outlen < 8)
		return;
	for (; i < n && i < VALUE_SHOWN && o + 5 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* The same in double quotes. */
static void quote(const char *s, char *out, size_t outlen)
{
	char c[VALUE_SHOWN + 16];
	clean(s, c, sizeof(c));
	snprintf(out, outlen, "\"%.*s\"", VALUE_SHOWN + 3, c);
}

static tu_status pre_failed(size_t index, const char *field, const char *want, const char *have,
			    char *why, size_t whylen)
{
	char w[VALUE_SHOWN + 16], h[VALUE_SHOWN + 16];
	quote(want, w, sizeof(w));
	if (have != NULL)
		quote(have, h, sizeof(h));
	snprintf(why, whylen, "precondition %zu (field_equals %s %s) failed: %s%s", index, field, w,
		 have != NULL ? "actual " : "no value there", have != NULL ? h : "");
	return TU_ECONFLICT;
}

tu_status tu__kube_pre_check(const struct tu__kube_cmd *c, json_t *obj, char *why,
			     size_t whylen)
{
	struct tu_buf b;
	tu_status st = TU_OK;
	const char *uid = meta_str(obj, "uid"), *rv = meta_str(obj, "resourceVersion");

	if (c->uid != NULL && (uid == NULL || strcmp(uid, c->uid) != 0))
		return pre_failed(c->uid_index, "uid", c->uid, uid, why, whylen);
	if (c->rv != NULL && (rv == NULL || strcmp(rv, c->rv) != 0))
		return pre_failed(c->rv_index, "resourceVersion", c->rv, rv, why, whylen);
	tu_buf_init(&b, TU_MAX_ATTR_VALUE);
	for (size_t i = 0; i < c->n_fields && st == TU_OK; i++) {
		json_t *v = tu_json_path(obj, c->paths[i], strlen(c->paths[i]));
		tu_buf_reset(&b);
		bool scalar = v != NULL && tu_json_scalar(v, &b);
		if (v != NULL && !scalar)
			tu_buf_puts(&b, json_is_array(v) ? "[...]" : "{...}");
		if (v == NULL || !scalar || strcmp(tu_buf_cstr(&b), c->values[i]) != 0)
			st = pre_failed(c->pre_index[i], c->paths[i], c->values[i],
					v != NULL ? tu_buf_cstr(&b) : NULL, why, whylen);
	}
	tu_buf_release(&b);
	return st;
}

/* Dumps j compactly into out (replacing its contents); j is consumed. */
static tu_status dump_into(json_t *j, struct tu_buf *out)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s == NULL)
		return TU_EINVAL;
	tu_buf_reset(out);
	tu_status st = tu_buf_puts(out, s);
	free(s);
	return st;
}

tu_status tu__kube_delete_body(const struct tu__kube_cmd *c, const char *uid, const char *rv,
			       struct tu_buf *out)
{
	json_t *o = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions");
	if (c->grace >= 0)
		json_object_set_new(o, "gracePeriodSeconds", json_integer(c->grace));
	if (c->propagation != NULL)
		json_object_set_new(o, "propagationPolicy", json_string(c->propagation));
	if (uid != NULL || rv != NULL) {
		json_t *pre = json_object();
		if (uid != NULL)
			json_object_set_new(pre, "uid", json_string(uid));
		if (rv != NULL)
			json_object_set_new(pre, "resourceVersion", json_string(rv));
		json_object_set_new(o, "preconditions", pre);
	}
	return dump_into(o, out);
}

/* Sets metadata.resourceVersion of the merge patch p (a copy owned by the caller). */
static tu_status pin_merge(json_t *p, const char *rv, char *err, size_t errlen)
{
	json_t *meta = json_object_get(p, "metadata");
	if (meta == NULL || json_is_null(meta)) {
		meta = json_object();
		json_object_set_new(p, "metadata", meta);
	}
	if (!json_is_object(meta)) {
		snprintf(err, errlen, "param patch: metadata is not an object, so the "
				      "resourceVersion precondition cannot be added");
		return TU_EINVAL;
	}
	json_object_set_new(meta, "resourceVersion", json_string(rv));
	return TU_OK;
}

tu_status tu__kube_patch_body(const struct tu__kube_cmd *c, const char *rv, struct tu_buf *out,
			      char *err, size_t errlen)
{
	json_t *p = NULL;
	tu_status st = TU_OK;

	if (c->verb == TU_KUBE_SCALE) {
		p = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)c->replicas);
	} else if (c->patch != NULL) {
		p = json_deep_copy(c->patch);
	} else {
		snprintf(err, errlen, "no patch");
		return TU_EINVAL;
	}
	if (rv != NULL && c->verb == TU_KUBE_JSON_PATCH) {
		/* the API server refuses the update with 409 if the stored version differs */
		json_array_insert_new(p, 0,
				      json_pack("{s:s, s:s, s:s}", "op", "replace", "path",
						"/metadata/resourceVersion", "value", rv));
	} else if (rv != NULL) {
		st = pin_merge(p, rv, err, errlen);
	}
	if (st != TU_OK) {
		json_decref(p);
		return st;
	}
	st = dump_into(p, out);
	if (st != TU_OK)
		snprintf(err, errlen, "patch body: cannot be written as JSON");
	return st;
}

Trueup__V1__Outcome__Result tu__kube_classify(enum tu__kube_verb verb, tu_status st, long status)
{
	if (st != TU_OK) {
		/* TLS verification and token files are the target's problem, like timeouts */
		return st == TU_ETOOBIG || st == TU_EINVAL ? R_PERMANENT : R_RETRY;
	}
	if (status >= 200 && status <= 299)
		return R_SUCCEEDED;
	if (status == 404 && verb == TU_KUBE_DELETE)
		return R_NOOP;
	if (status == 409)
		return R_SKIPPED;
	if (status == 401 || status == 429 || (status >= 500 && status <= 599))
		return R_RETRY;
	return R_PERMANENT;
}

/* ---- describing changes -------------------------------------------------------------- */

/* A description of changes being written. */
struct diff {
	char *out;       /* the text so far */
	size_t outlen;   /* bytes of out */
	size_t n;        /* paths that differ (named or not) */
};

/* Compact text of a value: scalars as they are, others as bounded JSON; "(none)" for NULL. */
static void value_text(json_t *v, char *out, size_t outlen)
{
	struct tu_buf b;
	tu_buf_init(&b, TU_MAX_ATTR_VALUE);
	if (v == NULL) {
		snprintf(out, outlen, "(none)");
	} else if (tu_json_scalar(v, &b)) {
		quote(tu_buf_cstr(&b), out, outlen);
		if (!json_is_string(v) && strlen(out) >= 2) { /* numbers, booleans: no quotes */
			memmove(out, out + 1, strlen(out));
			out[strlen(out) - 1] = '\0';
		}
	} else {
		char *s = json_dumps(v, JSON_COMPACT);
		snprintf(out, outlen, "%.*s%s", VALUE_SHOWN, s != NULL ? s : "?",
			 s != NULL && strlen(s) > VALUE_SHOWN ? "..." : "");
		free(s);
	}
	tu_buf_release(&b);
}

static bool ignored(const char *path)
{
	static const char *const skip[] = { ".metadata.resourceVersion", ".metadata.generation",
					    ".metadata.managedFields", ".status" };
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		if (strcmp(path, skip[i]) == 0)
			return true;
	}
	return false;
}

static void diff_rec(struct diff *d, char *path, size_t plen, json_t *a, json_t *b);

/* Recurses into member key of a and b. */
static void diff_member(struct diff *d, char *path, size_t plen, const char *key, json_t *a,
			json_t *b)
{
	bool plain = strpbrk(key, ".[]\"") == NULL && key[0] != '\0';
	int n = snprintf(path + plen, WHAT_LEN - plen, plain ? ".%s" : "[\"%s\"]", key);
	if (n < 0 || (size_t)n >= WHAT_LEN - plen)
		return;
	if (!ignored(path))
		diff_rec(d, path, plen + (size_t)n, json_object_get(a, key), json_object_get(b, key));
	path[plen] = '\0';
}

static void diff_rec(struct diff *d, char *path, size_t plen, json_t *a, json_t *b)
{
	const char *key;
	json_t *v;
	char va[VALUE_SHOWN + 16], vb[VALUE_SHOWN + 16];

	if (a != NULL && b != NULL && json_equal(a, b))
		return;
	if (json_is_object(a) && json_is_object(b)) {
		json_object_foreach(a, key, v)
			diff_member(d, path, plen, key, a, b);
		json_object_foreach(b, key, v) {
			if (json_object_get(a, key) == NULL)
				diff_member(d, path, plen, key, a, b);
		}
		return;
	}
	if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
		/* the same list with some items changed (a container's image): name the items */
		for (size_t i = 0; i < json_array_size(a); i++) {
			int n = snprintf(path + plen, WHAT_LEN - plen, "[%zu]", i);
			if (n > 0 && (size_t)n < WHAT_LEN - plen)
				diff_rec(d, path, plen + (size_t)n, json_array_get(a, i),
					 json_array_get(b, i));
			path[plen] = '\0';
		}
		return;
	}
	if (a == NULL && b == NULL)
		return;
	d->n++;
	if (d->n > TU_KUBE_MAX_DIFF)
		return;
	value_text(a, va, sizeof(va));
	value_text(b, vb, sizeof(vb));
	size_t o = strlen(d->out);
	snprintf(d->out + o, d->outlen - o, "%s%s: %s -> %s", o > 0 ? ", " : "",
		 path[0] == '.' ? path + 1 : path, va, vb);
}

void tu__kube_diff(json_t *before, json_t *after, char *out, size_t outlen)
{
	char path[WHAT_LEN] = "";
	struct diff d = { out, outlen, 0 };
	if (outlen == 0)
		return;
	out[0] = '\0';
	diff_rec(&d, path, 0, before, after);
	if (d.n > TU_KUBE_MAX_DIFF) {
		size_t o = strlen(out);
		snprintf(out + o, outlen - o, " and %zu more", d.n - TU_KUBE_MAX_DIFF);
	}
}

/* ---- execution ------------------------------------------------------------------------- */

/* "deployments.apps shop/web", "nodes n1". */
static void object_what(const struct tu__kube_cmd *c, char *out, size_t outlen)
{
	char name[VALUE_SHOWN + 16], ns[VALUE_SHOWN + 16] = "";
	clean(c->name, name, sizeof(name));
	if (c->ns != NULL)
		clean(c->ns, ns, sizeof(ns));
	snprintf(out, outlen, "%s%s%s %s%s%s", c->res.plural, c->res.group[0] ? "." : "",
		 c->res.group, ns, c->ns ? "/" : "", name);
}

/* Sends one request; body NULL for none. */
static tu_status request(tu_kube_adapter *t, const char *method, const char *ctype,
			bool with_body)
{
	struct tu_kube_req req = {
		.method = method,
		.path = tu_buf_cstr(&t->path),
		.body = with_body ? t->body.data : NULL,
		.body_len = with_body ? t->body.len : 0,
		.content_type = ctype,
	};
	return tu_kube_do(t->k, &req, &t->resp);
}

/* The object's path (and subresource) into t->path, with a query if dry. */
static tu_status set_path(tu_kube_adapter *t, const struct tu__kube_cmd *c, const char *sub,
			  bool dry)
{
	tu_buf_reset(&t->path);
	tu_status st = tu_kube_path(&c->res, c->ns, c->name, sub, &t->path);
	if (st == TU_OK && dry)
		st = tu_kube_query(&t->path, "dryRun", "All");
	return st;
}

/* A verdict for a request that did not give the reply hoped for. */
static void failed(tu_kube_adapter *t, const struct tu__kube_cmd *c, tu_status st,
		   const char *doing, const char *what, bool dry_run, struct tu_exec *out)
{
	char text[TEXT_LEN], ra[64] = "";
	Trueup__V1__Outcome__Result r = tu__kube_classify(c->verb, st, t->resp.status);
	if (st != TU_OK) {
		snprintf(text, sizeof(text), "%.400s (%s)", t->resp.error, tu_status_str(st));
	} else {
		tu_kube_status_text(&t->resp, text, sizeof(text));
		if (t->resp.retry_after_ms >= 0)
			snprintf(ra, sizeof(ra), "; Retry-After %lld s",
				 (long long)(t->resp.retry_after_ms / 1000));
	}
	if (r == R_SKIPPED)
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_SKIPPED, text, "%s%s %s: %s",
			    dry_run ? "would skip: " : "", doing, what, text);
	else if (r == R_SUCCEEDED || r == R_NOOP) /* a status the caller did not expect */
		tu_exec_set(out, R_PERMANENT, text, "%s %s: unexpected reply: %s", doing, what, text);
	else
		tu_exec_set(out, r, text, "%s %s: %s%s", doing, what, text, ra);
}

/* The reply's body as a JSON object, or NULL (then out is set: failed-permanent). */
static json_t *reply_object(tu_kube_adapter *t, const char *doing, const char *what,
			    struct tu_exec *out)
{
	json_error_t je;
	json_t *o = json_loadb(t->resp.body.data, t->resp.body.len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		tu_exec_set(out, R_PERMANENT, "reply is not a JSON object",
			    "%s %s: HTTP %ld with a reply that is not a JSON object", doing, what,
			    t->resp.status);
		return NULL;
	}
	return o;
}

/* True if a 404 reply names this object (not a path the server does not know). */
static bool object_not_found(const struct tu_http_resp *resp, const char *name)
{
	json_error_t je;
	json_t *o = json_loadb(resp->body.data, resp->body.len, 0, &je);
	json_t *d = json_object_get(o, "details");
	json_t *n = json_is_object(d) ? json_object_get(d, "name") : NULL;
	bool yes = json_is_string(n) && strcmp(json_string_value(n), name) == 0;
	json_decref(o);
	return yes;
}

/*
 * Reads the object (sub: a subresource) and checks the preconditions on it.
 * Returns the object, or NULL with out set (gone, a failed precondition, an
 * error); *gone tells a missing object apart.
 */
static json_t *read_checked(tu_kube_adapter *t, const struct tu__kube_cmd *c, const char *sub,
			    const char *what, bool dry_run, bool *gone, struct tu_exec *out)
{
	char why[TEXT_LEN];
	json_t *obj = NULL;
	*gone = false;
	tu_status st = set_path(t, c, sub, false);
	if (st == TU_OK)
		st = request(t, "GET", NULL, false);
	if (st == TU_OK && t->resp.status == 404 && object_not_found(&t->resp, c->name)) {
		*gone = true;
		if (c->must_exist)
			tu_exec_set(out, dry_run ? R_DRY_RUN : R_SKIPPED, NULL,
				    "%sprecondition %zu (exists) failed: %s is not there",
				    dry_run ? "would skip: " : "", c->exist_index, what);
		else if (c->verb == TU_KUBE_DELETE)
			tu_exec_set(out, dry_run ? R_DRY_RUN : R_NOOP, NULL, "%s%s is already gone",
				    dry_run ? "would do nothing: " : "", what);
		else
			tu_exec_set(out, R_PERMANENT, "not found", "%s %s: not found%s", "read", what,
				    sub != NULL ? " (or it has no scale subresource)" : "");
		return NULL;
	}
	if (st != TU_OK || t->resp.status != 200) {
		failed(t, c, st, "read", what, dry_run, out);
		return NULL;
	}
	obj = reply_object(t, "read", what, out);
	if (obj == NULL)
		return NULL;
	if (tu__kube_pre_check(c, obj, why, sizeof(why)) != TU_OK) {
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_SKIPPED, NULL, "%s%s: %s",
			    dry_run ? "would skip: " : "", what, why);
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static void exec_delete(tu_kube_adapter *t, const struct tu__kube_cmd *c, const char *what,
			bool dry_run, struct tu_exec *out)
{
	const char *uid = c->uid, *rv = c->rv;
	json_t *obj = NULL;
	bool gone = false;
	char opts[256] = "", shown[260] = "";

	if (dry_run || c->must_exist || c->n_fields > 0) {
		obj = read_checked(t, c, NULL, what, dry_run, &gone, out);
		if (obj == NULL)
			return;
		uid = meta_str(obj, "uid");
		rv = meta_str(obj, "resourceVersion");
	}
	snprintf(opts, sizeof(opts), "%s%.64s%s%.64s%s%s%s", uid ? "uid " : "", uid ? uid : "",
		 uid && rv ? ", " : "", rv ? "resourceVersion " : "", rv ? rv : "",
		 c->propagation ? (uid || rv ? ", propagationPolicy " : "propagationPolicy ") : "",
		 c->propagation ? c->propagation : "");
	if (opts[0] != '\0')
		snprintf(shown, sizeof(shown), " (%s)", opts);
	if (dry_run) {
		tu_exec_set(out, R_DRY_RUN, NULL, "would DELETE %s%s", what, shown);
		goto out;
	}
	tu_status st = tu__kube_delete_body(c, uid, rv, &t->body);
	if (st == TU_OK)
		st = set_path(t, c, NULL, false);
	if (st != TU_OK) {
		tu_exec_set(out, R_PERMANENT, tu_status_str(st), "DELETE %s: request over a bound",
			    what);
		goto out;
	}
	st = request(t, "DELETE", "application/json", true);
	if (st == TU_OK && t->resp.status >= 200 && t->resp.status <= 299)
		tu_exec_set(out, R_SUCCEEDED, NULL, "DELETE %s%s: HTTP %ld", what, shown,
			    t->resp.status);
	else if (st == TU_OK && t->resp.status == 404 && object_not_found(&t->resp, c->name))
		tu_exec_set(out, R_NOOP, NULL, "%s is already gone (404 Not Found)", what);
	else if (st == TU_OK && t->resp.status == 404)
		tu_exec_set(out, R_PERMANENT, "404 Not Found",
			    "DELETE %s: the server does not know this resource path", what);
	else
		failed(t, c, st, "DELETE", what, false, out);
out:
	json_decref(obj);
}

static void exec_patch(tu_kube_adapter *t, const struct tu__kube_cmd *c, const char *what,
		       bool dry_run, struct tu_exec *out)
{
	const char *verb = c->verb == TU_KUBE_JSON_PATCH ? "json-patch" : "merge-patch";
	const char *ctype = c->verb == TU_KUBE_JSON_PATCH ? "application/json-patch+json"
							  : "application/merge-patch+json";
	char err[256], diff[TU_EXEC_DETAIL / 2];
	bool gone = false;
	json_t *after = NULL;
	json_t *obj = read_checked(t, c, NULL, what, dry_run, &gone, out);
	if (obj == NULL)
		return;
	const char *rv0 = meta_str(obj, "resourceVersion");
	tu_status st = tu__kube_patch_body(c, tu__kube_cmd_has_pre(c) ? rv0 : NULL, &t->body, err,
					   sizeof(err));
	if (st != TU_OK) {
		tu_exec_set(out, R_PERMANENT, err, "%s %s: %s", verb, what, err);
		goto out;
	}
	st = set_path(t, c, NULL, dry_run);
	if (st == TU_OK)
		st = request(t, "PATCH", ctype, true);
	if (st != TU_OK || t->resp.status < 200 || t->resp.status > 299) {
		failed(t, c, st, verb, what, dry_run, out);
		goto out;
	}
	after = reply_object(t, verb, what, out);
	if (after == NULL)
		goto out;
	tu__kube_diff(obj, after, diff, sizeof(diff));
	const char *rv1 = meta_str(after, "resourceVersion");
	bool same = rv0 != NULL && rv1 != NULL && strcmp(rv0, rv1) == 0;
	if (dry_run)
		tu_exec_set(out, R_DRY_RUN, NULL, "would %s %s: %s", verb, what,
			    diff[0] ? diff : "nothing would change");
	else if (same)
		tu_exec_set(out, R_NOOP, NULL, "%s %s changed nothing (resourceVersion %.64s)", verb,
			    what, rv0);
	else
		tu_exec_set(out, R_SUCCEEDED, NULL, "%s %s: %s (resourceVersion %.64s -> %.64s)",
			    verb, what, diff[0] ? diff : "applied", rv0 ? rv0 : "?",
			    rv1 ? rv1 : "?");
out:
	json_decref(after);
	json_decref(obj);
}

static void exec_scale(tu_kube_adapter *t, const struct tu__kube_cmd *c, const char *what,
		       bool dry_run, struct tu_exec *out)
{
	char err[256];
	bool gone = false;
	json_t *obj = read_checked(t, c, "scale", what, dry_run, &gone, out);
	if (obj == NULL)
		return;
	json_t *spec = json_object_get(obj, "spec");
	json_t *rep = json_is_object(spec) ? json_object_get(spec, "replicas") : NULL;
	if ((spec != NULL && !json_is_object(spec)) || (rep != NULL && !json_is_integer(rep))) {
		tu_exec_set(out, R_PERMANENT, "malformed Scale",
			    "read %s/scale: spec.replicas is not an integer", what);
		goto out;
	}
	/* Scale.spec.replicas is omitted when 0 (omitempty) */
	json_int_t cur = rep != NULL ? json_integer_value(rep) : 0;
	if (cur == c->replicas) {
		tu_exec_set(out, dry_run ? R_DRY_RUN : R_NOOP, NULL, "%s%s already has %" PRId64
			    " replicas", dry_run ? "would do nothing: " : "", what, c->replicas);
		goto out;
	}
	if (dry_run) {
		tu_exec_set(out, R_DRY_RUN, NULL, "would scale %s from %" JSON_INTEGER_FORMAT
			    " to %" PRId64 " replicas", what, cur, c->replicas);
		goto out;
	}
	tu_status st = tu__kube_patch_body(
		c, tu__kube_cmd_has_pre(c) ? meta_str(obj, "resourceVersion") : NULL, &t->body, err,
		sizeof(err));
	if (st == TU_OK)
		st = set_path(t, c, "scale", false);
	if (st == TU_OK)
		st = request(t, "PATCH", "application/merge-patch+json", true);
	if (st == TU_OK && t->resp.status >= 200 && t->resp.status <= 299)
		tu_exec_set(out, R_SUCCEEDED, NULL, "scaled %s from %" JSON_INTEGER_FORMAT
			    " to %" PRId64 " replicas", what, cur, c->replicas);
	else
		failed(t, c, st, "scale", what, false, out);
out:
	json_decref(obj);
}

tu_status tu_kube_adapter_execute(tu_kube_adapter *t, const Trueup__V1__FixCommand *cmd,
				  bool dry_run, struct tu_exec *out)
{
	struct tu__kube_cmd c;
	char err[512], what[WHAT_LEN];

	if (tu__kube_cmd_parse(cmd, tu_kube_own_namespace(t->k), &c, err, sizeof(err)) != TU_OK) {
		tu_exec_set(out, R_PERMANENT, err, "bad params: %s", err);
		return TU_OK;
	}
	object_what(&c, what, sizeof(what));
	switch (c.verb) {
	case TU_KUBE_DELETE:
		exec_delete(t, &c, what, dry_run, out);
		break;
	case TU_KUBE_MERGE_PATCH:
	case TU_KUBE_JSON_PATCH:
		exec_patch(t, &c, what, dry_run, out);
		break;
	case TU_KUBE_SCALE:
		exec_scale(t, &c, what, dry_run, out);
		break;
	}
	tu__kube_cmd_release(&c);
	return TU_OK;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static tu_status execute_op(void *impl, const Trueup__V1__FixCommand *cmd, bool dry_run,
			    struct tu_exec *out)
{
	return tu_kube_adapter_execute(impl, cmd, dry_run, out);
}

static const struct tu_adapter_ops kube_adapter_ops = {
	.type = "kubernetes",
	.verb_known = tu_kube_verb_known,
	.execute = execute_op,
};

void tu_kube_adapter_view(tu_kube_adapter *t, struct tu_adapter *out)
{
	out->ops = &kube_adapter_ops;
	out->impl = t;
}

tu_status tu_kube_adapter_create(const struct tu_target_config *cfg, tu_kube_adapter **out,
				 char *err, size_t errlen)
{
	char who[TU_MAX_KIND + 16], why[512];
	tu_kube *k = NULL;

	if (cfg->type != TU_TARGET_KUBE) {
		snprintf(err, errlen, "target %s: not of type kubernetes", cfg->name);
		return TU_EINVAL;
	}
	snprintf(who, sizeof(who), "target %s", cfg->name);
	tu_status st = tu_kube_create(&cfg->kube.conn, cfg->timeout, who, &k, why, sizeof(why));
	if (st != TU_OK) {
		snprintf(err, errlen, "target %s (line %d): %s", cfg->name, cfg->line, why);
		return st;
	}
	tu_kube_adapter *t = tu_xcalloc(1, sizeof(*t));
	t->cfg = cfg;
	t->k = k;
	tu_buf_init(&t->path, TU_KUBE_MAX_URL);
	tu_buf_init(&t->body, TU_MAX_MSG);
	tu_http_resp_init(&t->resp);
	*out = t;
	return TU_OK;
}

void tu_kube_adapter_destroy(tu_kube_adapter *t)
{
	if (t == NULL)
		return;
	tu_kube_destroy(t->k);
	tu_buf_release(&t->path);
	tu_buf_release(&t->body);
	tu_http_resp_release(&t->resp);
	free(t);
}
