/*
 * config.c - load and validate the YAML config (see config.h and
 * docs/configuration.md).
 *
 * libyaml's document API parses the whole file into a node tree first; every
 * node keeps its start mark, so each error names file:line:column and the
 * field path (sources[1].observe[0].scan). Fixed-shape mappings are described
 * by tables of struct field (key, type, offset of the member it fills) and
 * one walker, parse_fields(), checks them for unknown and duplicate keys,
 * missing required keys and wrong node types, so every section reports its
 * errors the same way. Mappings keyed by operator-chosen names (attrs,
 * when_extra, fields) and actions, whose other keys are params, have their
 * own small walkers.
 *
 * Invariants:
 *  - whatever is parsed is stored in the tu_config being built as soon as it
 *    is allocated (arrays zeroed, with their full length), so that
 *    tu_config_destroy() cleans up after a failure at any point; the parse_*
 *    helpers therefore fill their destination before they know they succeed;
 *  - sources and targets are parsed before rules, whatever their order in the
 *    file, so that rules can be checked against them;
 *  - aliases can make the tree much larger than the file: the nodes visited
 *    and the bytes copied out of scalars are bounded (MAX_VISITS, MAX_COPIED).
 *
 * Workload: once per process start and per config check; files of at most
 * TU_MAX_CONFIG bytes.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "bounds.h"
#include "buf.h"
#include "clock.h"
#include "contract.h"
#include "docker.h"
#include "http.h"
#include "ids.h"
#include "jsonmap.h"
#include "kube.h"
#include "tmpl.h"
#include "xalloc.h"

#define PATH_LEN 512            /* field path in messages; longer ones are cut */
#define LIST_LEN 256            /* "known: a, b, c" lists in messages; longer ones are cut */
#define MAX_VISITS (1 << 20)    /* nodes visited, counting each alias use again */
#define MAX_COPIED ((size_t)4 * TU_MAX_CONFIG) /* bytes copied out of scalars */
#define READ_CHUNK 65536

#define MS_S INT64_C(1000)
#define MS_M (60 * MS_S)
#define MS_H (60 * MS_M)
#define MS_D (24 * MS_H)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* State of one load. */
struct ctx {
	const char *file;      /* file name in messages */
	const char *base_dir;  /* relative paths resolve against it */
	yaml_document_t *doc;  /* the parsed document */
	struct tu_config *cfg; /* being filled; owns everything parsed so far */
	yaml_node_t *rules;    /* the rules list, parsed after sources and targets */
	yaml_node_t *on_suspect; /* processor.on_suspect, parsed after the targets */
	size_t visits;         /* nodes visited so far (bounded by MAX_VISITS) */
	size_t copied;         /* bytes copied so far (bounded by MAX_COPIED) */
	char *err;             /* the caller's message buffer (may be NULL) */
	size_t errlen;
};

/* One accepted spelling of an enum value. */
struct enum_name {
	const char *name; /* as written in the file */
	int value;        /* the enum value */
};

/* F_ENUM writes through an int: every enum it fills must be int-sized. */
_Static_assert(sizeof(enum tu_sync_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tu_redis_read) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tu_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tu_log_format) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tu_rule_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum tu_http_preset) == sizeof(int), "enum size");

static const struct enum_name sync_names[] = {
	{ "none", TU_SYNC_NONE },
	{ "meta", TU_SYNC_META },
	{ "full", TU_SYNC_FULL },
};
static const struct enum_name read_names[] = {
	{ "auto", TU_REDIS_READ_AUTO },
	{ "string", TU_REDIS_READ_STRING },
	{ "hash", TU_REDIS_READ_HASH },
	{ "set", TU_REDIS_READ_SET },
};
static const struct enum_name level_names[] = {
	{ "debug", TU_LOG_DEBUG },
	{ "info", TU_LOG_INFO },
	{ "warn", TU_LOG_WARN },
	{ "error", TU_LOG_ERROR },
};
static const struct enum_name format_names[] = {
	{ "json", TU_LOG_JSON },
	{ "text", TU_LOG_TEXT },
};
static const struct enum_name source_types[] = {
	{ "redis", TU_SOURCE_REDIS },
	{ "files", TU_SOURCE_FILES },
	{ "docker", TU_SOURCE_DOCKER },
	{ "mongodb", TU_SOURCE_MONGODB },
	{ "kubernetes", TU_SOURCE_KUBE },
	{ "http", TU_SOURCE_HTTP },
};
static const struct enum_name target_types[] = {
	{ "redis", TU_TARGET_REDIS },
	{ "docker", TU_TARGET_DOCKER },
	{ "mongodb", TU_TARGET_MONGODB },
	{ "kubernetes", TU_TARGET_KUBE },
	{ "http", TU_TARGET_HTTP },
};
static const struct enum_name http_presets[] = {
	{ "none", TU_HTTP_PRESET_NONE },
	{ "digitalocean-apps", TU_HTTP_PRESET_DO_APPS },
};
static const struct enum_name rule_types[] = {
	{ "presence", TU_RULE_PRESENCE },   { "counter", TU_RULE_COUNTER },
	{ "spec", TU_RULE_SPEC },           { "count", TU_RULE_COUNT },
	{ "reference", TU_RULE_REFERENCE }, { "equal", TU_RULE_EQUAL },
	{ "pod-status", TU_RULE_POD_STATUS }, { "heartbeat", TU_RULE_HEARTBEAT },
};
static const struct enum_name compare_names[] = {
	{ "string", TU_CMP_STRING },
	{ "int", TU_CMP_INT },
	{ "bool", TU_CMP_BOOL },
	{ "quantity", TU_CMP_QUANTITY },
};
static const struct enum_name mode_names[] = {
	{ "detect", TU_MODE_DETECT },
	{ "dry-run", TU_MODE_DRY_RUN },
	{ "propose", TU_MODE_PROPOSE },
	{ "enforce", TU_MODE_ENFORCE },
};

struct tu_action_config;
typedef tu_status (*verb_check_fn)(struct ctx *c, yaml_node_t *node, const char *path,
				   const struct tu_action_config *a);

/* A verb of a target type and the params it takes. */
struct verb {
	const char *name;        /* the action verb */
	const char *params[4];   /* required params (unused slots NULL) */
	const char *optional[4]; /* params it may take besides (unused slots NULL) */
	bool fields;             /* also takes field.<f> params, at least one */
	bool resource;           /* names a Kubernetes resource: `resource`, or `group`,
				    `version` and `plural` (see check_resource_params) */
	verb_check_fn check;     /* checks literal param values; NULL: none */
	bool any;                /* takes any other param as well (passed on as they are) */
	bool destructive;        /* deletes, removes or stops something (rules' budgets) */
};

static const struct verb redis_verbs[] = {
	{ .name = "del", .params = { "key" }, .destructive = true },
	{ .name = "set", .params = { "key", "value" } },
	{ .name = "hset", .params = { "key" }, .fields = true },
	{ .name = "hdel", .params = { "key", "field" }, .destructive = true },
	{ .name = "sadd", .params = { "key", "member" } },
	{ .name = "srem", .params = { "key", "member" }, .destructive = true },
};

static tu_status check_docker_params(struct ctx *c, yaml_node_t *node, const char *path,
				     const struct tu_action_config *a);

static const struct verb docker_verbs[] = {
	{ .name = "remove", .params = { "id" }, .optional = { "force", "volumes" }, .destructive = true,
	  .check = check_docker_params },
	{ .name = "stop", .params = { "id" }, .optional = { "timeout" }, .destructive = true,
	  .check = check_docker_params },
	{ .name = "restart", .params = { "id" }, .optional = { "timeout" },
	  .check = check_docker_params },
};

static tu_status check_json_params(struct ctx *c, yaml_node_t *node, const char *path,
				     const struct tu_action_config *a);

/* mongodb: templates of JSON params are checked at load, values when a command runs. */
static const struct verb mongo_verbs[] = {
	{ .name = "delete-one", .params = { "database", "collection", "filter" }, .destructive = true,
	  .check = check_json_params },
	{ .name = "update-one", .params = { "database", "collection", "filter", "update" },
	  .check = check_json_params },
	{ .name = "insert-one", .params = { "database", "collection", "document" },
	  .check = check_json_params },
};

/* kubernetes target verbs (docs/targets.md); every one also takes `namespace`. */
static const struct verb kube_verbs[] = {
	{ .name = "delete", .params = { "name" }, .resource = true, .destructive = true,
	  .optional = { "namespace", "grace_period_seconds", "propagation_policy" } },
	{ .name = "merge-patch", .params = { "name", "patch" }, .resource = true,
	  .optional = { "namespace" } },
	{ .name = "json-patch", .params = { "name", "patch" }, .resource = true,
	  .optional = { "namespace" } },
	{ .name = "scale", .params = { "name", "replicas" }, .resource = true,
	  .optional = { "namespace" } },
};

/* type http (actuators/http_target.c); check_http_action() checks what a table cannot. */
static const struct verb http_verbs[] = {
	{ .name = "request", .params = { "method" }, .optional = { "url", "path", "body" } },
	{ .name = "set-instance-count", .params = { "app_id", "service", "instance_count" } },
	{ .name = "alert", .any = true },
};

/* The verbs of each target type. */
static const struct {
	int type;                /* enum tu_target_type */
	const struct verb *verbs; /* n entries */
	size_t n;
} target_verbs[] = {
	{ TU_TARGET_REDIS, redis_verbs, ARRAY_LEN(redis_verbs) },
	{ TU_TARGET_DOCKER, docker_verbs, ARRAY_LEN(docker_verbs) },
	{ TU_TARGET_MONGODB, mongo_verbs, ARRAY_LEN(mongo_verbs) },
	{ TU_TARGET_KUBE, kube_verbs, ARRAY_LEN(kube_verbs) },
	{ TU_TARGET_HTTP, http_verbs, ARRAY_LEN(http_verbs) },
};

bool tu_action_destructive(const struct tu_config *cfg, const struct tu_action_config *a)
{
	const struct tu_target_config *t = tu_config_target(cfg, a->target);
	if (t == NULL)
		return true;
	if (t->type == TU_TARGET_HTTP && strcmp(a->action, "request") == 0) {
		const char *m = tu_kvlist_get(&a->params, "method");
		return m == NULL || !tu_tmpl_is_literal(m) || strcasecmp(m, "DELETE") == 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(target_verbs); i++) {
		if (target_verbs[i].type != (int)t->type)
			continue;
		for (size_t k = 0; k < target_verbs[i].n; k++)
			if (strcmp(target_verbs[i].verbs[k].name, a->action) == 0)
				return target_verbs[i].verbs[k].destructive;
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Messages and paths                                                        */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static tu_status fail(struct ctx *c, const yaml_node_t *node, const char *path, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));

/* Writes "file:line:col: path: why" and returns TU_EINVAL. */
static tu_status fail(struct ctx *c, const yaml_node_t *node, const char *path, const char *fmt,
		      ...)
{
	va_list ap;
	int n;

	if (c->err == NULL || c->errlen == 0)
		return TU_EINVAL;
	n = snprintf(c->err, c->errlen, "%s:%zu:%zu: %s%s", c->file, node->start_mark.line + 1,
		     node->start_mark.column + 1, path, *path != '\0' ? ": " : "");
	if (n < 0 || (size_t)n >= c->errlen)
		return TU_EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return TU_EINVAL;
}

/* Ends a cut path with "..." so that it is not mistaken for a whole one. */
static void path_fit(char *out, int n)
{
	if (n < 0)
		out[0] = '\0';
	else if (n >= PATH_LEN)
		memcpy(out + PATH_LEN - 4, "...", 4);
}

static void path_key(char *out, const char *parent, const char *key)
{
	path_fit(out, snprintf(out, PATH_LEN, "%s%s%s", parent, *parent != '\0' ? "." : "", key));
}

static void path_index(char *out, const char *parent, size_t i)
{
	path_fit(out, snprintf(out, PATH_LEN, "%s[%zu]", parent, i));
}

/* Appends ", item" to a list in out; a list that does not fit ends in "...". */
static void list_add(char *out, size_t outlen, const char *item)
{
	size_t len = strlen(out);
	int n;

	if (len + 4 >= outlen)
		return;
	n = snprintf(out + len, outlen - len, "%s%s", len > 0 ? ", " : "", item);
	if (n < 0 || (size_t)n >= outlen - len)
		memcpy(out + outlen - 4, "...", 4);
}

static const char *enum_str(const struct enum_name *names, size_t n, int value)
{
	for (size_t i = 0; i < n; i++) {
		if (names[i].value == value)
			return names[i].name;
	}
	return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Nodes                                                                     */

static const char *text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t line_of(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* `~`, `null`, an empty plain value or an explicit !!null. */
static bool is_null(const yaml_node_t *n)
{
	static const char *const spellings[] = { "", "~", "null", "Null", "NULL" };

	if (n->type != YAML_SCALAR_NODE)
		return false;
	if (n->tag != NULL && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
		return true;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < ARRAY_LEN(spellings); i++) {
		if (strcmp(text(n), spellings[i]) == 0)
			return true;
	}
	return false;
}

static const char *node_what(const yaml_node_t *n)
{
	if (is_null(n))
		return "no value";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	return "a scalar";
}

static size_t map_n(const yaml_node_t *m)
{
	if (m == NULL || m->type != YAML_MAPPING_NODE)
		return 0;
	return (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
}

static size_t seq_n(const yaml_node_t *s)
{
	if (s == NULL || s->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
}

static yaml_node_t *map_key(struct ctx *c, const yaml_node_t *m, size_t i)
{
	return yaml_document_get_node(c->doc, m->data.mapping.pairs.start[i].key);
}

static yaml_node_t *map_value(struct ctx *c, const yaml_node_t *m, size_t i)
{
	return yaml_document_get_node(c->doc, m->data.mapping.pairs.start[i].value);
}

static yaml_node_t *seq_item(struct ctx *c, const yaml_node_t *s, size_t i)
{
	return yaml_document_get_node(c->doc, s->data.sequence.items.start[i]);
}

/* The value of key in mapping m (keys already checked by open_map), or NULL. */
static yaml_node_t *map_get(struct ctx *c, const yaml_node_t *m, const char *key)
{
	for (size_t i = 0; i < map_n(m); i++) {
		yaml_node_t *k = map_key(c, m, i);
		if (k->type == YAML_SCALAR_NODE && strcmp(text(k), key) == 0)
			return map_value(c, m, i);
	}
	return NULL;
}

/* Counts one node visit against MAX_VISITS. */
static tu_status visit(struct ctx *c, const yaml_node_t *n, const char *path)
{
	c->visits++;
	if (c->visits > MAX_VISITS)
		return fail(c, n, path, "the document expands to more than %d nodes (aliases?)",
			    MAX_VISITS);
	return TU_OK;
}

/* Counts bytes about to be copied out of the document against MAX_COPIED. */
static tu_status budget(struct ctx *c, const yaml_node_t *n, const char *path, size_t bytes)
{
	c->copied += bytes;
	if (c->copied > MAX_COPIED)
		return fail(c, n, path, "the document expands to more than %zu bytes (aliases?)",
			    MAX_COPIED);
	return TU_OK;
}

struct name_ref {
	const char *s; /* the name */
	size_t i;      /* its position in the list */
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->s, y->s);

	if (r != 0)
		return r;
	return (x->i > y->i) - (x->i < y->i);
}

/*
 * Returns the position of the first name (in list order) that equals an
 * earlier one and sets *first to that earlier one; returns n if all differ.
 * Sorting keeps this O(n log n) for long lists.
 */
static size_t find_duplicate(const char *const *names, size_t n, size_t *first)
{
	struct name_ref *refs = tu_xcalloc(n, sizeof(*refs));
	size_t dup = n;

	for (size_t i = 0; i < n; i++) {
		refs[i].s = names[i];
		refs[i].i = i;
	}
	qsort(refs, n, sizeof(*refs), name_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(refs[i - 1].s, refs[i].s) == 0 && refs[i].i < dup) {
			dup = refs[i].i;
			*first = refs[i - 1].i;
		}
	}
	free(refs);
	return dup;
}

/*
 * Reports a name given twice in the list seq (names[i] belongs to item i;
 * key: the item's field holding the name, or NULL if the item is the name).
 */
static tu_status check_unique(struct ctx *c, const yaml_node_t *seq, const char *path,
			      const char *const *names, const char *key, const char *what)
{
	size_t n = seq_n(seq), first = 0, dup;
	char sub[PATH_LEN], name_path[PATH_LEN];
	yaml_node_t *at, *first_at;

	dup = find_duplicate(names, n, &first);
	if (dup == n)
		return TU_OK;
	path_index(sub, path, dup);
	at = seq_item(c, seq, dup);
	first_at = seq_item(c, seq, first);
	if (key != NULL) {
		path_key(name_path, sub, key);
		at = map_get(c, at, key);
		return fail(c, at, name_path, "duplicate %s \"%s\" (first at line %zu)", what,
			    names[dup], line_of(first_at));
	}
	return fail(c, at, sub, "duplicate %s \"%s\" (first at line %zu)", what, names[dup],
		    line_of(first_at));
}

/*
 * Checks that node is a mapping (no value counts as an empty one) whose keys
 * are non-empty strings, each given once.
 */
static tu_status open_map(struct ctx *c, yaml_node_t *node, const char *path)
{
	const char **keys = NULL;
	size_t n = map_n(node), first = 0, dup;
	tu_status st = visit(c, node, path);

	if (st != TU_OK || is_null(node))
		return st;
	if (node->type != YAML_MAPPING_NODE)
		return fail(c, node, path, "expected a mapping, got %s", node_what(node));
	keys = tu_xcalloc(n, sizeof(*keys));
	for (size_t i = 0; i < n && st == TU_OK; i++) {
		yaml_node_t *k = map_key(c, node, i);
		st = visit(c, k, path);
		if (st != TU_OK)
			break;
		if (k->type != YAML_SCALAR_NODE || is_null(k) || k->data.scalar.length == 0)
			st = fail(c, k, path, "keys must be non-empty strings, got %s",
				  node_what(k));
		else if (strlen(text(k)) != k->data.scalar.length)
			st = fail(c, k, path, "key contains a NUL byte");
		else
			keys[i] = text(k);
	}
	if (st != TU_OK)
		goto out;
	dup = find_duplicate(keys, n, &first);
	if (dup < n)
		st = fail(c, map_key(c, node, dup), path,
			  "duplicate key \"%s\" (first at line %zu)", keys[dup],
			  line_of(map_key(c, node, first)));
out:
	free(keys);
	return st;
}

/* Checks that node is a list (no value counts as an empty one). */
static tu_status open_seq(struct ctx *c, yaml_node_t *node, const char *path)
{
	tu_status st = visit(c, node, path);

	if (st == TU_OK && !is_null(node) && node->type != YAML_SEQUENCE_NODE)
		st = fail(c, node, path, "expected a list, got %s", node_what(node));
	return st;
}

/* ------------------------------------------------------------------------ */
/* Scalars                                                                   */

/* The text of a scalar that has a value; `what` names what was expected. */
static tu_status scalar(struct ctx *c, yaml_node_t *n, const char *path, const char *what,
			const char **out)
{
	tu_status st = visit(c, n, path);

	if (st != TU_OK)
		return st;
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return fail(c, n, path, "expected %s, got %s", what, node_what(n));
	if (strlen(text(n)) != n->data.scalar.length)
		return fail(c, n, path, "contains a NUL byte");
	*out = text(n);
	return TU_OK;
}

static tu_status copy(struct ctx *c, yaml_node_t *n, const char *path, const char *s, char **out)
{
	tu_status st = budget(c, n, path, strlen(s) + 1);

	if (st == TU_OK)
		*out = tu_xstrdup(s);
	return st;
}

/* A non-empty string of at most max bytes. */
static tu_status get_str(struct ctx *c, yaml_node_t *n, const char *path, size_t max, char **out)
{
	const char *s = NULL;
	tu_status st = scalar(c, n, path, "a string", &s);

	if (st != TU_OK)
		return st;
	if (*s == '\0')
		return fail(c, n, path, "must not be empty");
	if (strlen(s) > max)
		return fail(c, n, path, "longer than %zu bytes", max);
	return copy(c, n, path, s, out);
}

/*
 * A string of at most max bytes that check (e.g. tu_http_url_check) accepts,
 * into *dst, replacing what was there; check's reason is the error.
 */
static tu_status get_checked(struct ctx *c, yaml_node_t *node, const char *path, size_t max,
			     tu_status (*check)(const char *s, char *why, size_t whylen), char **dst)
{
	char *s = NULL, why[256];
	tu_status st = get_str(c, node, path, max, &s);

	if (st != TU_OK)
		return st;
	if (check(s, why, sizeof(why)) != TU_OK) {
		st = fail(c, node, path, "%s", why);
		free(s);
		return st;
	}
	free(*dst);
	*dst = s;
	return TU_OK;
}

/* A name that valid() accepts; `rules` says what such a name looks like. */
static tu_status get_valid(struct ctx *c, yaml_node_t *n, const char *path,
			   bool (*valid)(const char *), const char *rules, int max, char **out)
{
	const char *s = NULL;
	tu_status st = scalar(c, n, path, "a name", &s);

	if (st != TU_OK)
		return st;
	if (!valid(s))
		return fail(c, n, path, "invalid name \"%s\" (%s, at most %d bytes)", s, rules,
			    max);
	return copy(c, n, path, s, out);
}

/* A trueup name (source, target, rule, kind, action). */
static tu_status get_name(struct ctx *c, yaml_node_t *n, const char *path, char **out)
{
	return get_valid(c, n, path, tu_name_valid,
			 "lowercase letters, digits, '-' and '_', starting with a letter or digit",
			 TU_MAX_KIND, out);
}

/* A subject token (durable consumer names). */
static tu_status get_token(struct ctx *c, yaml_node_t *n, const char *path, char **out)
{
	return get_valid(c, n, path, tu_token_valid,
			 "no '.', '*', '>', whitespace or control characters", TU_MAX_KIND * 4,
			 out);
}

static tu_status get_tmpl(struct ctx *c, yaml_node_t *n, const char *path, char **out)
{
	const char *s = NULL;
	char terr[256];
	tu_status st = scalar(c, n, path, "a template", &s);

	if (st != TU_OK)
		return st;
	if (strlen(s) > TU_MAX_TEMPLATE_OUT)
		return fail(c, n, path, "longer than %d bytes", TU_MAX_TEMPLATE_OUT);
	if (tu_tmpl_check(s, terr, sizeof(terr)) != TU_OK)
		return fail(c, n, path, "invalid template: %s", terr);
	return copy(c, n, path, s, out);
}

/* A file path; a relative one is resolved against the config file's directory. */
static tu_status get_path(struct ctx *c, yaml_node_t *n, const char *path, char **out)
{
	const char *s = NULL;
	size_t base_len = strlen(c->base_dir);
	tu_status st = scalar(c, n, path, "a file path", &s);

	if (st != TU_OK)
		return st;
	if (*s == '\0')
		return fail(c, n, path, "must not be empty");
	if (strlen(s) >= PATH_MAX)
		return fail(c, n, path, "longer than %d bytes", PATH_MAX - 1);
	st = budget(c, n, path, base_len + strlen(s) + 2);
	if (st != TU_OK)
		return st;
	if (s[0] == '/') {
		*out = tu_xstrdup(s);
		return TU_OK;
	}
	while (s[0] == '.' && s[1] == '/') {
		s += 2;
		while (*s == '/')
			s++;
	}
	if (*s == '\0' || strcmp(s, ".") == 0)
		*out = tu_xstrdup(c->base_dir);
	else
		*out = tu_xasprintf("%s%s%s", c->base_dir,
				    base_len > 0 && c->base_dir[base_len - 1] == '/' ? "" : "/", s);
	return TU_OK;
}

/* Checks min <= v <= max; bounds print as durations if `duration`. */
static tu_status check_range(struct ctx *c, yaml_node_t *n, const char *path, int64_t v,
			     int64_t min, int64_t max, bool duration)
{
	char b[32];

	if (v >= min && v <= max)
		return TU_OK;
	if (v < min && min == 1)
		return fail(c, n, path, "\"%s\" must be greater than 0", text(n));
	if (duration)
		tu_duration_format(v < min ? min : max, b, sizeof(b));
	else
		snprintf(b, sizeof(b), "%lld", (long long)(v < min ? min : max));
	return fail(c, n, path, "\"%s\" is too %s (at %s %s)", text(n), v < min ? "small" : "large",
		    v < min ? "least" : "most", b);
}

static tu_status get_i64(struct ctx *c, yaml_node_t *n, const char *path, int64_t min,
			 int64_t max, int64_t *out)
{
	const char *s = NULL;
	char *end = NULL;
	long long v;
	tu_status st = scalar(c, n, path, "an integer", &s);

	if (st != TU_OK)
		return st;
	if (!isdigit((unsigned char)(s[0] == '-' ? s[1] : s[0])))
		return fail(c, n, path, "invalid integer \"%s\"", s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return fail(c, n, path, "\"%s\" is out of range", s);
	if (errno != 0 || *end != '\0')
		return fail(c, n, path, "invalid integer \"%s\"", s);
	st = check_range(c, n, path, v, min, max, false);
	if (st == TU_OK)
		*out = v;
	return st;
}

/* A duration (ms) or, if !duration, a byte size; then min <= value <= max. */
static tu_status get_measure(struct ctx *c, yaml_node_t *n, const char *path, bool duration,
			     int64_t min, int64_t max, int64_t *out)
{
	const char *s = NULL;
	int64_t v = 0;
	tu_status st = scalar(c, n, path, duration ? "a duration" : "a size", &s);

	if (st != TU_OK)
		return st;
	if (duration && tu_duration_parse(s, &v) != TU_OK)
		return fail(c, n, path, "invalid duration \"%s\" (e.g. 30s, 500ms, 1h30m)", s);
	if (!duration && tu_size_parse(s, &v) != TU_OK)
		return fail(c, n, path, "invalid size \"%s\" (e.g. 512KiB, 1MiB, 1GB%s)", s,
			    min < 0 ? "; -1 for unlimited" : "");
	st = check_range(c, n, path, v, min, max, duration);
	if (st == TU_OK)
		*out = v;
	return st;
}

static tu_status get_bool(struct ctx *c, yaml_node_t *n, const char *path, bool *out)
{
	const char *s = NULL;
	tu_status st = scalar(c, n, path, "true or false", &s);

	if (st != TU_OK)
		return st;
	if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
		return fail(c, n, path, "invalid boolean \"%s\" (true or false)", s);
	*out = strcmp(s, "true") == 0;
	return TU_OK;
}

/* A flag that only makes sense as `true` (exists, absent, expect_absent). */
static tu_status get_true(struct ctx *c, yaml_node_t *n, const char *path)
{
	bool v = false;
	tu_status st = get_bool(c, n, path, &v);

	if (st == TU_OK && !v)
		st = fail(c, n, path, "only true is meaningful here (remove the line instead)");
	return st;
}

static tu_status get_enum(struct ctx *c, yaml_node_t *n, const char *path,
			  const struct enum_name *names, size_t n_names, int *out)
{
	const char *s = NULL;
	char known[LIST_LEN] = "";
	tu_status st = scalar(c, n, path, "a string", &s);

	if (st != TU_OK)
		return st;
	for (size_t i = 0; i < n_names; i++) {
		if (strcmp(s, names[i].name) == 0) {
			*out = names[i].value;
			return TU_OK;
		}
		list_add(known, sizeof(known), names[i].name);
	}
	return fail(c, n, path, "invalid value \"%s\" (one of: %s)", s, known);
}

/* ------------------------------------------------------------------------ */
/* Field tables                                                              */

typedef tu_status (*field_fn)(struct ctx *c, yaml_node_t *node, const char *path, void *dst);

enum field_type {
	F_SKIP,   /* read by the caller first (a `type:` that selects the other fields) */
	F_STR,    /* char *: a non-empty string of at most max bytes (0: TU_MAX_ATTR_VALUE) */
	F_NAME,   /* char *: tu_name_valid() */
	F_TOKEN,  /* char *: tu_token_valid() (durable consumer names) */
	F_TMPL,   /* char *: tu_tmpl_check() */
	F_PATH,   /* char *: a file path, resolved against the config's directory */
	F_DUR,    /* int64_t: a duration in ms */
	F_SIZE,   /* int64_t: a byte size */
	F_SIZE32, /* int32_t: a byte size */
	F_INT,    /* int */
	F_I64,    /* int64_t */
	F_ENUM,   /* an int-sized enum: one of names */
	F_BOOL,   /* bool: true or false */
	F_MAP,    /* a nested mapping described by sub; then fn, if any, checks it */
	F_FN,     /* anything else: fn parses the node */
	F_NODE,   /* yaml_node_t *: kept for the caller to parse later */
};

struct field {
	const char *key;               /* the YAML key */
	enum field_type type;          /* how the value is read and stored */
	size_t off;                    /* of the member filled, within the set's base */
	bool required;                 /* missing: an error at the mapping */
	int64_t min;                   /* numbers: the smallest value allowed */
	int64_t max;                   /* numbers: the largest (0: the type's); F_STR: bytes */
	const struct enum_name *names; /* F_ENUM */
	size_t n_names;
	const struct field *sub;       /* F_MAP: the nested mapping's fields */
	size_t n_sub;
	field_fn fn;                   /* F_FN: the parser; F_MAP: a check after the fields */
};

/* Fields of one mapping that fill one struct. */
struct field_set {
	const struct field *fields; /* n entries */
	size_t n;
	void *base;                 /* the struct the fields' offsets refer to */
};

#define FLD(k, t, o) .key = (k), .type = (t), .off = (o)
#define NAMES(t) .names = (t), .n_names = ARRAY_LEN(t)
#define SUB(t) .sub = (t), .n_sub = ARRAY_LEN(t)

static tu_status parse_fields(struct ctx *c, yaml_node_t *node, const char *path,
			      const struct field_set *sets, size_t n_sets);

static int64_t max_or(int64_t max, int64_t type_max)
{
	return max != 0 ? max : type_max;
}

static tu_status set_field(struct ctx *c, const struct field *f, void *dst, yaml_node_t *n,
			   const char *path)
{
	char *s = NULL;
	int64_t v = 0;
	int e = 0;
	tu_status st = TU_OK;

	switch (f->type) {
	case F_SKIP:
		break;
	case F_STR:
		st = get_str(c, n, path, (size_t)max_or(f->max, TU_MAX_ATTR_VALUE), &s);
		break;
	case F_NAME:
		st = get_name(c, n, path, &s);
		break;
	case F_TOKEN:
		st = get_token(c, n, path, &s);
		break;
	case F_TMPL:
		st = get_tmpl(c, n, path, &s);
		break;
	case F_PATH:
		st = get_path(c, n, path, &s);
		break;
	case F_DUR:
		st = get_measure(c, n, path, true, f->min, max_or(f->max, TU_MAX_DURATION_MS), dst);
		break;
	case F_SIZE:
		st = get_measure(c, n, path, false, f->min, max_or(f->max, INT64_MAX), dst);
		break;
	case F_SIZE32:
		st = get_measure(c, n, path, false, f->min, max_or(f->max, INT32_MAX), &v);
		if (st == TU_OK)
			*(int32_t *)dst = (int32_t)v;
		break;
	case F_INT:
		st = get_i64(c, n, path, f->min, max_or(f->max, INT_MAX), &v);
		if (st == TU_OK)
			*(int *)dst = (int)v;
		break;
	case F_I64:
		st = get_i64(c, n, path, f->min, max_or(f->max, INT64_MAX), dst);
		break;
	case F_ENUM:
		st = get_enum(c, n, path, f->names, f->n_names, &e);
		if (st == TU_OK)
			memcpy(dst, &e, sizeof(e));
		break;
	case F_BOOL:
		st = get_bool(c, n, path, dst);
		break;
	case F_MAP:
		st = parse_fields(c, n, path, &(struct field_set){ f->sub, f->n_sub, dst }, 1);
		if (st == TU_OK && f->fn != NULL)
			st = f->fn(c, n, path, dst);
		break;
	case F_FN:
		st = f->fn(c, n, path, dst);
		break;
	case F_NODE:
		*(yaml_node_t **)dst = n;
		break;
	}
	if (s != NULL) {
		char **p = dst;
		free(*p);
		*p = s;
	}
	return st;
}

static tu_status unknown_field(struct ctx *c, yaml_node_t *key, const char *path,
			       const struct field_set *sets, size_t n_sets)
{
	char known[LIST_LEN] = "";

	for (size_t s = 0; s < n_sets; s++) {
		for (size_t i = 0; i < sets[s].n; i++)
			list_add(known, sizeof(known), sets[s].fields[i].key);
	}
	return fail(c, key, path, "unknown field \"%s\" (known: %s)", text(key), known);
}

/*
 * Fills the sets' structs from mapping node: every key must be a field of one
 * of the sets, every required field must be there. Fields are read in file
 * order.
 */
static tu_status parse_fields(struct ctx *c, yaml_node_t *node, const char *path,
			      const struct field_set *sets, size_t n_sets)
{
	char sub[PATH_LEN];
	tu_status st = open_map(c, node, path);

	for (size_t i = 0; st == TU_OK && i < map_n(node); i++) {
		yaml_node_t *k = map_key(c, node, i);
		const struct field *f = NULL;
		void *dst = NULL;

		for (size_t s = 0; s < n_sets && f == NULL; s++) {
			for (size_t j = 0; j < sets[s].n && f == NULL; j++) {
				if (strcmp(sets[s].fields[j].key, text(k)) == 0) {
					f = &sets[s].fields[j];
					dst = (char *)sets[s].base + f->off;
				}
			}
		}
		if (f == NULL) {
			st = unknown_field(c, k, path, sets, n_sets);
			break;
		}
		path_key(sub, path, text(k));
		st = set_field(c, f, dst, map_value(c, node, i), sub);
	}
	for (size_t s = 0; st == TU_OK && s < n_sets; s++) {
		for (size_t j = 0; st == TU_OK && j < sets[s].n; j++) {
			const struct field *f = &sets[s].fields[j];
			if (f->required && map_get(c, node, f->key) == NULL)
				st = fail(c, node, path, "missing required field \"%s\"", f->key);
		}
	}
	return st;
}

/*
 * Reads the `type:` of mapping node (required) before its other fields,
 * which depend on it.
 */
static tu_status get_type(struct ctx *c, yaml_node_t *node, const char *path,
			  const struct enum_name *names, size_t n_names, int *out)
{
	char sub[PATH_LEN];
	yaml_node_t *t;
	tu_status st = open_map(c, node, path);

	if (st != TU_OK)
		return st;
	t = map_get(c, node, "type");
	if (t == NULL)
		return fail(c, node, path, "missing required field \"type\"");
	path_key(sub, path, "type");
	return get_enum(c, t, sub, names, n_names, out);
}

/* ------------------------------------------------------------------------ */
/* Lists and maps of names and templates                                     */

typedef tu_status (*item_fn)(struct ctx *c, yaml_node_t *node, const char *path, void *item);

/* Parses each item of list seq into items[i] (each `size` bytes). */
static tu_status parse_items(struct ctx *c, yaml_node_t *seq, const char *path, void *items,
			     size_t size, item_fn fn)
{
	char sub[PATH_LEN];
	tu_status st = TU_OK;

	for (size_t i = 0; st == TU_OK && i < seq_n(seq); i++) {
		path_index(sub, path, i);
		st = fn(c, seq_item(c, seq, i), sub, (char *)items + i * size);
	}
	return st;
}

/*
 * Parses a list of structs whose member at name_off is a name unique within
 * the list. The caller has allocated items with seq_n(seq) zeroed entries.
 */
static tu_status parse_named(struct ctx *c, yaml_node_t *seq, const char *path, void *items,
			     size_t size, size_t name_off, item_fn fn, const char *what)
{
	size_t n = seq_n(seq);
	const char **names = NULL;
	tu_status st = parse_items(c, seq, path, items, size, fn);

	if (st != TU_OK)
		return st;
	names = tu_xcalloc(n, sizeof(*names));
	for (size_t i = 0; i < n; i++)
		names[i] = *(char *const *)((const char *)items + i * size + name_off);
	st = check_unique(c, seq, path, names, "name", what);
	free(names);
	return st;
}

/*
 * A list of unique names into *out (n entries); with one_ok a single name
 * stands for a list of one. *out and *n are set before the items are parsed.
 */
static tu_status parse_names(struct ctx *c, yaml_node_t *node, const char *path, bool one_ok,
			     const char *what, char ***out, size_t *n)
{
	char sub[PATH_LEN];
	tu_status st = TU_OK;

	if (one_ok && node->type == YAML_SCALAR_NODE && !is_null(node)) {
		*n = 1;
		*out = tu_xcalloc(1, sizeof(**out));
		return get_name(c, node, path, &(*out)[0]);
	}
	st = open_seq(c, node, path);
	if (st != TU_OK)
		return st;
	*n = seq_n(node);
	*out = tu_xcalloc(*n, sizeof(**out));
	for (size_t i = 0; st == TU_OK && i < *n; i++) {
		path_index(sub, path, i);
		st = get_name(c, seq_item(c, node, i), sub, &(*out)[i]);
	}
	if (st == TU_OK)
		st = check_unique(c, node, path, (const char *const *)*out, NULL, what);
	return st;
}

/* Appends key -> value (both owned; freed on failure) to l, at most max entries. */
static tu_status kv_push(struct ctx *c, yaml_node_t *node, const char *path, struct tu_kvlist *l,
			 size_t max, char *key, char *value)
{
	if (l->n >= max) {
		free(key);
		free(value);
		return fail(c, node, path, "more than %zu entries", max);
	}
	l->items = tu_xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	l->items[l->n].key = key;
	l->items[l->n].value = value;
	l->n++;
	return TU_OK;
}

/* Appends the key text(k) -> value (owned; freed on failure) to l, at most max entries. */
static tu_status kv_push_key(struct ctx *c, yaml_node_t *k, const char *path, struct tu_kvlist *l,
			     size_t max, char *value)
{
	char *key = NULL;
	tu_status st = copy(c, k, path, text(k), &key);

	if (st != TU_OK) {
		free(value);
		return st;
	}
	return kv_push(c, k, path, l, max, key, value);
}

/* A mapping of attribute -> template (observe attrs). */
static tu_status parse_attrs(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_kvlist *l = dst;
	char sub[PATH_LEN];
	tu_status st = open_map(c, node, path);

	for (size_t i = 0; st == TU_OK && i < map_n(node); i++) {
		yaml_node_t *k = map_key(c, node, i);
		char *value = NULL;

		path_key(sub, path, text(k));
		if (strlen(text(k)) > TU_MAX_ATTR_KEY) {
			st = fail(c, k, sub, "attribute name longer than %d bytes",
				  TU_MAX_ATTR_KEY);
			break;
		}
		st = get_tmpl(c, map_value(c, node, i), sub, &value);
		if (st == TU_OK)
			st = kv_push_key(c, k, sub, l, TU_MAX_ATTRS, value);
	}
	return st;
}

/* match: JSON path -> template; the paths are checked here. */
static tu_status parse_match(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	char sub[PATH_LEN], why[256];
	tu_status st = parse_attrs(c, node, path, dst);
	for (size_t i = 0; st == TU_OK && i < map_n(node); i++) {
		yaml_node_t *k = map_key(c, node, i);
		path_key(sub, path, text(k));
		if (tu_json_path_check(text(k), why, sizeof(why)) != TU_OK)
			st = fail(c, k, sub, "%s", why);
	}
	return st;
}

/*
 * The fields of a struct tu_json_mapping, for adapters whose `observe`
 * entries map JSON objects (docs/configuration.md, "JSON mappings"). Use as
 * a field_set whose base is the mapping, next to the adapter's own set.
 */
#define JM(m) offsetof(struct tu_json_mapping, m)
static const struct field json_mapping_fields[] = {
	{ FLD("kind", F_NAME, JM(kind)), .required = true },
	{ FLD("namespace", F_TMPL, JM(ns)) },
	{ FLD("name", F_TMPL, JM(name)), .required = true },
	{ FLD("attrs", F_FN, JM(attrs)), .fn = parse_attrs },
	{ FLD("match", F_FN, JM(match)), .fn = parse_match },
	{ FLD("name_prefix", F_STR, JM(name_prefix)), .max = TU_MAX_NAME },
};
#undef JM

static void json_mapping_defaults(struct tu_json_mapping *m)
{
	m->ns = tu_xstrdup("default");
}

static void kvlist_release(struct tu_kvlist *l);

static void json_mapping_release(struct tu_json_mapping *m)
{
	free(m->kind);
	free(m->ns);
	free(m->name);
	kvlist_release(&m->attrs);
	kvlist_release(&m->match);
	free(m->name_prefix);
}

static tu_status check_source_ref(struct ctx *c, yaml_node_t *node, const char *path,
				  const char *name)
{
	char known[LIST_LEN] = "";

	if (tu_config_source(c->cfg, name) != NULL)
		return TU_OK;
	for (size_t i = 0; i < c->cfg->n_sources; i++)
		list_add(known, sizeof(known), c->cfg->sources[i].name);
	return fail(c, node, path, "unknown source \"%s\" (configured: %s)", name,
		    c->cfg->n_sources > 0 ? known : "none");
}

/* ------------------------------------------------------------------------ */
/* nats, streams, processor, log                                             */

static tu_status check_tls(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_nats_config *n = dst;

	if ((n->tls_cert == NULL) != (n->tls_key == NULL))
		return fail(c, node, path, "cert and key go together (a client certificate "
					   "needs its key)");
	return TU_OK;
}

/*
 * The host of one URL of nats.url, [scheme://][userinfo@]host[:port][/...]: *host and
 * *hostlen (brackets of an IPv6 address removed), *userinfo when it has a user part.
 * False if it names no host.
 */
static bool nats_url_host(const char *u, size_t n, const char **host, size_t *hostlen,
			  bool *userinfo)
{
	while (n > 0 && (*u == ' ' || *u == '\t')) {
		u++;
		n--;
	}
	while (n > 0 && (u[n - 1] == ' ' || u[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i + 3 <= n; i++) {
		if (memcmp(u + i, "://", 3) == 0) {
			u += i + 3;
			n -= i + 3;
			break;
		}
	}
	const char *slash = memchr(u, '/', n);
	if (slash != NULL)
		n = (size_t)(slash - u);
	*userinfo = false;
	for (size_t i = n; i-- > 0;) {
		if (u[i] == '@') {
			*userinfo = true;
			u += i + 1;
			n -= i + 1;
			break;
		}
	}
	size_t len = 0;
	if (n > 0 && u[0] == '[') {
		const char *close = memchr(u, ']', n);
		if (close == NULL)
			return false;
		u++;
		len = (size_t)(close - u);
	} else {
		while (len < n && u[len] != ':')
			len++;
	}
	*host = u;
	*hostlen = len;
	return len > 0;
}

tu_status tu_nats_url_host(const char *url, char *out, size_t outlen, char *why, size_t whylen)
{
	const char *first = NULL;
	size_t first_len = 0;
	for (const char *p = url;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		const char *host = NULL;
		size_t len = 0;
		bool userinfo = false;
		bool ok = nats_url_host(p, n, &host, &len, &userinfo);
		if (userinfo) {
			snprintf(why, whylen, "a user, password or token in the URL is refused: "
					      "use user and password_file, or creds");
			return TU_EINVAL;
		}
		if (!ok) {
			snprintf(why, whylen, "\"%.*s\" names no host", (int)(n > 200 ? 200 : n), p);
			return TU_EINVAL;
		}
		if (first == NULL) {
			first = host;
			first_len = len;
		} else if (len != first_len || strncasecmp(host, first, len) != 0) {
			snprintf(why, whylen,
				 "the URLs name several hosts (%.*s, %.*s): set tls.hostname to the "
				 "one name every server certificate carries (trueup verifies one)",
				 (int)(first_len > 100 ? 100 : first_len), first,
				 (int)(len > 100 ? 100 : len), host);
			return TU_ECONFLICT;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (first_len >= outlen) {
		snprintf(why, whylen, "host name over %zu bytes", outlen - 1);
		return TU_ETOOBIG;
	}
	memcpy(out, first, first_len);
	out[first_len] = '\0';
	return TU_OK;
}

static tu_status check_nats(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_nats_config *n = dst;
	char host[256], why[512];

	if (n->password_file != NULL && n->user == NULL)
		return fail(c, node, path, "password_file needs user");
	if (n->url != NULL) {
		tu_status st = tu_nats_url_host(n->url, host, sizeof(host), why, sizeof(why));
		/* Several hosts matter only where the URL's host is the name to verify. */
		if (st != TU_OK && (st != TU_ECONFLICT || (n->tls_ca != NULL &&
							  n->tls_hostname == NULL)))
			return fail(c, node, path, "url: %s", why);
	}
	return TU_OK;
}

#define NATS(m) offsetof(struct tu_nats_config, m)
static const struct field tls_fields[] = {
	{ FLD("ca", F_PATH, NATS(tls_ca)) },
	{ FLD("cert", F_PATH, NATS(tls_cert)) },
	{ FLD("key", F_PATH, NATS(tls_key)) },
	{ FLD("hostname", F_STR, NATS(tls_hostname)), .max = TU_MAX_NAME },
};
static const struct field nats_fields[] = {
	{ FLD("url", F_STR, NATS(url)) },
	{ FLD("user", F_STR, NATS(user)) },
	{ FLD("password_file", F_PATH, NATS(password_file)) },
	{ FLD("creds", F_PATH, NATS(creds_file)) },
	{ FLD("tls", F_MAP, 0), SUB(tls_fields), .fn = check_tls },
	{ FLD("connect_timeout", F_DUR, NATS(connect_timeout)), .min = 1 },
	{ FLD("request_timeout", F_DUR, NATS(request_timeout)), .min = 1 },
	{ FLD("max_reconnect", F_INT, NATS(max_reconnect)), .min = -1 },
	{ FLD("reconnect_wait", F_DUR, NATS(reconnect_wait)) },
};
#undef NATS

static tu_status reject_stream_name(struct ctx *c, yaml_node_t *node, const char *path,
				    void *dst)
{
	const struct tu_stream_config *s = dst;

	return fail(c, node, path,
		    "not configurable: this stream is always %s (public contract); remove the "
		    "line",
		    s->name);
}

static tu_status check_stream(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_stream_config *s = dst;
	char d[32], a[32];

	if (s->max_age > 0 && s->duplicates > s->max_age) {
		tu_duration_format(s->duplicates, d, sizeof(d));
		tu_duration_format(s->max_age, a, sizeof(a));
		return fail(c, node, path,
			    "duplicates (%s) must not be longer than max_age (%s): JetStream "
			    "refuses such a stream",
			    d, a);
	}
	return TU_OK;
}

#define STREAM(m) offsetof(struct tu_stream_config, m)
static const struct field stream_fields[] = {
	{ FLD("name", F_FN, 0), .fn = reject_stream_name },
	{ FLD("max_age", F_DUR, STREAM(max_age)) },
	{ FLD("max_bytes", F_SIZE, STREAM(max_bytes)), .min = -1 },
	{ FLD("max_msgs", F_I64, STREAM(max_msgs)), .min = -1 },
	{ FLD("duplicates", F_DUR, STREAM(duplicates)) },
	{ FLD("replicas", F_INT, STREAM(replicas)), .min = 1, .max = 5 },
	{ FLD("max_msg_size", F_SIZE32, STREAM(max_msg_size)), .min = -1 },
};
#undef STREAM

#define STREAMS(m) offsetof(struct tu_streams_config, m)
static const struct field streams_fields[] = {
	{ FLD("events", F_MAP, STREAMS(events)), SUB(stream_fields), .fn = check_stream },
	{ FLD("drift", F_MAP, STREAMS(drift)), SUB(stream_fields), .fn = check_stream },
	{ FLD("cmd", F_MAP, STREAMS(cmd)), SUB(stream_fields), .fn = check_stream },
	{ FLD("dead", F_MAP, STREAMS(dead)), SUB(stream_fields), .fn = check_stream },
};
#undef STREAMS

/* PLATFORM-NOTES pitfall 1: a fetch larger than max_ack_pending stalls. */
static tu_status check_processor(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_processor_config *p = dst;
	char sub[PATH_LEN];
	yaml_node_t *at = map_get(c, node, "max_ack_pending");

	if (p->max_ack_pending >= p->batch)
		return TU_OK;
	path_key(sub, path, at != NULL ? "max_ack_pending" : "batch");
	if (at == NULL)
		at = map_get(c, node, "batch");
	if (at == NULL)
		at = node;
	return fail(c, at, sub,
		    "max_ack_pending (%d) must be at least batch (%d): JetStream stops delivering "
		    "at max_ack_pending unacknowledged messages, so every full fetch would wait "
		    "out fetch_wait",
		    p->max_ack_pending, p->batch);
}

/* processor.on_suspect names targets: parsed once they are known. */
static tu_status defer_on_suspect(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	(void)path;
	(void)dst;
	c->on_suspect = node;
	return TU_OK;
}

/* KV bucket names and key tokens: letters, digits, '_' and '-' only. */
static bool kv_name_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

static tu_status check_lease(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_lease_config *l = dst;
	if (!kv_name_valid(l->bucket))
		return fail(c, node, path, "bucket \"%s\": letters, digits, '_' and '-' only",
			    l->bucket);
	if (!kv_name_valid(l->partition))
		return fail(c, node, path, "partition \"%s\": letters, digits, '_' and '-' only",
			    l->partition);
	if (l->renew * 2 > l->ttl)
		return fail(c, node, path,
			    "renew (%" PRId64 "ms) must be at most half the ttl (%" PRId64
			    "ms): a holder must get two tries before its lease lapses",
			    l->renew, l->ttl);
	return TU_OK;
}

#define LEASE(m) offsetof(struct tu_lease_config, m)
static const struct field lease_fields[] = {
	{ FLD("enabled", F_BOOL, LEASE(enabled)) },
	{ FLD("bucket", F_STR, LEASE(bucket)), .max = 64 },
	{ FLD("partition", F_STR, LEASE(partition)), .max = 64 },
	{ FLD("ttl", F_DUR, LEASE(ttl)), .min = 100 },
	{ FLD("renew", F_DUR, LEASE(renew)), .min = 10 },
};
#undef LEASE

#define PROC(m) offsetof(struct tu_processor_config, m)
static const struct field processor_fields[] = {
	{ FLD("view", F_PATH, PROC(view)) },
	{ FLD("map_size", F_SIZE, PROC(map_size)), .min = 1 },
	{ FLD("consumer", F_TOKEN, PROC(consumer)) },
	{ FLD("batch", F_INT, PROC(batch)), .min = 1 },
	{ FLD("fetch_wait", F_DUR, PROC(fetch_wait)), .min = 1 },
	{ FLD("ack_wait", F_DUR, PROC(ack_wait)), .min = 1 },
	{ FLD("max_ack_pending", F_INT, PROC(max_ack_pending)), .min = 1 },
	{ FLD("tick", F_DUR, PROC(tick)) },
	{ FLD("sync", F_ENUM, PROC(sync)), NAMES(sync_names) },
	{ FLD("sync_interval", F_DUR, PROC(sync_interval)), .min = 1 },
	{ FLD("outbox_inflight", F_INT, PROC(outbox_inflight)), .min = 1 },
	{ FLD("outbox_retry", F_DUR, PROC(outbox_retry)), .min = 1 },
	{ FLD("command_ttl", F_DUR, PROC(command_ttl)), .min = 1 },
	{ FLD("shutdown_grace", F_DUR, PROC(shutdown_grace)), .min = 1 },
	{ FLD("on_suspect", F_FN, 0), .fn = defer_on_suspect },
	{ FLD("lease", F_MAP, PROC(lease)), SUB(lease_fields), .fn = check_lease },
};
#undef PROC

#define LOG(m) offsetof(struct tu_log_config, m)
static const struct field log_fields[] = {
	{ FLD("level", F_ENUM, LOG(level)), NAMES(level_names) },
	{ FLD("format", F_ENUM, LOG(format)), NAMES(format_names) },
};
#undef LOG

/* A listen address "host:port", or "" to turn the endpoint off. */
static tu_status parse_listen(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	char **out = dst;
	const char *v = NULL;
	tu_status st = scalar(c, node, path, "a listen address (host:port) or \"\"", &v);
	if (st != TU_OK)
		return st;
	const char *colon = strrchr(v, ':');
	if (*v != '\0' && (colon == NULL || colon == v || colon[1] == '\0' ||
			    strspn(colon + 1, "0123456789") != strlen(colon + 1)))
		return fail(c, node, path, "\"%s\" is not host:port (or \"\" for off)", v);
	free(*out);
	*out = NULL;
	return copy(c, node, path, v, out);
}

#define HTTP(m) offsetof(struct tu_http_config, m)
static const struct field http_fields[] = {
	{ FLD("processor", F_FN, HTTP(processor)), .fn = parse_listen },
	{ FLD("producer", F_FN, HTTP(producer)), .fn = parse_listen },
	{ FLD("actuator", F_FN, HTTP(actuator)), .fn = parse_listen },
};
#undef HTTP

/* ------------------------------------------------------------------------ */
/* sources                                                                   */

/* A Redis URL: redis://host:port[/db]. */
static tu_status redis_url_check(const char *s, char *why, size_t whylen)
{
	if (strncmp(s, "redis://", 8) == 0 && s[8] != '\0')
		return TU_OK;
	snprintf(why, whylen, "invalid URL \"%.160s\" (redis://host:port[/db])", s);
	return TU_EINVAL;
}

static tu_status parse_redis_url(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	return get_checked(c, node, path, TU_MAX_ATTR_VALUE, redis_url_check, dst);
}

static tu_status check_observe(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_redis_observe *o = dst;

	if (o->scan == NULL && o->get == NULL)
		return fail(c, node, path,
			    "needs one of scan (a SCAN MATCH pattern) or get (one key)");
	if (o->scan != NULL && o->get != NULL)
		return fail(c, node, path, "has both scan and get; give one of them");
	return TU_OK;
}

#define OBS(m) offsetof(struct tu_redis_observe, m)
static const struct field observe_fields[] = {
	{ FLD("kind", F_NAME, OBS(kind)), .required = true },
	{ FLD("namespace", F_TMPL, OBS(ns)) },
	{ FLD("scan", F_STR, OBS(scan)) },
	{ FLD("get", F_STR, OBS(get)) },
	{ FLD("read", F_ENUM, OBS(read)), NAMES(read_names) },
	{ FLD("name", F_TMPL, OBS(name)) },
	{ FLD("attrs", F_FN, OBS(attrs)), .fn = parse_attrs },
	{ FLD("ttl", F_BOOL, OBS(ttl)) },
};
#undef OBS

static tu_status parse_observe_entry(struct ctx *c, yaml_node_t *node, const char *path,
				     void *item)
{
	struct tu_redis_observe *o = item;
	struct field_set set = { observe_fields, ARRAY_LEN(observe_fields), o };
	tu_status st;

	o->ns = tu_xstrdup("default");
	o->name = tu_xstrdup("{key}");
	o->read = TU_REDIS_READ_AUTO;
	st = parse_fields(c, node, path, &set, 1);
	if (st == TU_OK)
		st = check_observe(c, node, path, o);
	return st;
}

/*
 * A list of at least one struct of `size` bytes, each parsed by fn, into
 * *items (*n entries; both set even on failure, so that the config being
 * built owns what was parsed). `what` says what the entries are for.
 */
static tu_status parse_nonempty(struct ctx *c, yaml_node_t *node, const char *path, size_t size,
				item_fn fn, const char *what, void **items, size_t *n)
{
	tu_status st = open_seq(c, node, path);

	if (st != TU_OK)
		return st;
	if (seq_n(node) == 0)
		return fail(c, node, path, "needs at least one entry (%s)", what);
	*n = seq_n(node);
	*items = tu_xcalloc(*n, size);
	return parse_items(c, node, path, *items, size, fn);
}

static tu_status parse_observe(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_redis_source *r = dst;
	void *items = NULL;
	tu_status st = parse_nonempty(c, node, path, sizeof(*r->observe), parse_observe_entry,
				      "which keys to observe", &items, &r->n_observe);

	r->observe = items;
	return st;
}

static tu_status parse_kinds(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_files_source *f = dst;

	return parse_names(c, node, path, false, "kind", &f->kinds, &f->n_kinds);
}

/* ------------------------------------------------------------------------ */
/* type http: sources and targets (producers/http_source.c,                  */
/* actuators/http_target.c)                                                  */

#define DO_API_URL "https://api.digitalocean.com" /* preset digitalocean-apps */
#define HTTP_MAX_HEADER_NAME 128   /* bytes of a header name */
#define HTTP_MAX_HEADER_VALUE 4000 /* bytes of a header value (http.c builds 4200-byte lines) */
#define HTTP_MAX_BODY (INT64_C(1) << 30) /* largest max_body */

/* An absolute http(s) URL without credentials in it (tu_http_url_check). */
static tu_status parse_http_url(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	return get_checked(c, node, path, TU_HTTP_MAX_URL, tu_http_url_check, dst);
}

/* A JSON path (lib/jsonmap.h): `.apps`, `.links.pages.next`, `.`. */
static tu_status parse_json_path(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	return get_checked(c, node, path, TU_MAX_TEMPLATE_OUT, tu_json_path_check, dst);
}

/* RFC 9110 token characters: what a header name is made of. */
static bool header_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > HTTP_MAX_HEADER_NAME)
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL)
			return false;
	}
	return true;
}

static tu_status parse_header_name(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	char **out = dst;
	const char *s = NULL;
	tu_status st = scalar(c, node, path, "a header name", &s);

	if (st != TU_OK)
		return st;
	if (!header_name_valid(s))
		return fail(c, node, path, "invalid header name \"%s\" (letters, digits and "
					   "!#$%%&'*+-.^_`|~, at most %d bytes)",
			    s, HTTP_MAX_HEADER_NAME);
	free(*out);
	*out = NULL;
	return copy(c, node, path, s, out);
}

/* headers: { Name: value }: plain strings (no templates), no line breaks. */
static tu_status parse_headers(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_kvlist *l = dst;
	char sub[PATH_LEN];
	tu_status st = open_map(c, node, path);

	for (size_t i = 0; st == TU_OK && i < map_n(node); i++) {
		yaml_node_t *k = map_key(c, node, i);
		char *value = NULL;

		path_key(sub, path, text(k));
		if (!header_name_valid(text(k))) {
			st = fail(c, k, sub, "invalid header name (letters, digits and "
					     "!#$%%&'*+-.^_`|~, at most %d bytes)",
				  HTTP_MAX_HEADER_NAME);
			break;
		}
		st = get_str(c, map_value(c, node, i), sub, HTTP_MAX_HEADER_VALUE, &value);
		if (st == TU_OK && strpbrk(value, "\r\n") != NULL) {
			st = fail(c, map_value(c, node, i), sub, "a header value must be one line");
			free(value);
			break;
		}
		if (st == TU_OK)
			st = kv_push_key(c, k, sub, l, TU_MAX_PARAMS, value);
	}
	return st;
}

/* rate: requests per second, minute or hour: `5`, `5/s`, `250/m`, `5000/h`; 0 = unlimited. */
static tu_status parse_rate(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	double *out = dst;
	const char *s = NULL;
	char *end = NULL;
	double v, per = 1;
	tu_status st = scalar(c, node, path, "a rate", &s);

	if (st != TU_OK)
		return st;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || !isdigit((unsigned char)s[0]) || errno != 0)
		return fail(c, node, path, "invalid rate \"%s\" (e.g. 5, 5/s, 250/m, 5000/h; 0 "
					   "for unlimited)",
			    s);
	if (strcmp(end, "/m") == 0)
		per = 60;
	else if (strcmp(end, "/h") == 0)
		per = 3600;
	else if (*end != '\0' && strcmp(end, "/s") != 0)
		return fail(c, node, path, "invalid rate \"%s\" (e.g. 5, 5/s, 250/m, 5000/h; 0 "
					   "for unlimited)",
			    s);
	if (v > 1e6)
		return fail(c, node, path, "rate \"%s\" is too large (at most 1000000/s)", s);
	*out = v / per;
	return TU_OK;
}

#define HCONN(m) offsetof(struct tu_http_conn, m)
static const struct field http_conn_fields[] = {
	{ FLD("auth_header", F_FN, HCONN(auth_header)), .fn = parse_header_name },
	{ FLD("auth_file", F_PATH, HCONN(auth_file)) },
	{ FLD("headers", F_FN, HCONN(headers)), .fn = parse_headers },
	{ FLD("ca_file", F_PATH, HCONN(ca_file)) },
	{ FLD("max_body", F_SIZE, HCONN(max_body)), .min = 1, .max = HTTP_MAX_BODY },
	{ FLD("rate", F_FN, HCONN(rate)), .fn = parse_rate },
	{ FLD("burst", F_INT, HCONN(burst)), .min = 1, .max = 1000000 },
};
#undef HCONN

static void http_conn_defaults(struct tu_http_conn *h)
{
	h->auth_header = tu_xstrdup("Authorization");
	h->max_body = 8 * 1024 * 1024;
	h->rate = 0;
	h->burst = 1;
}

static void http_conn_release(struct tu_http_conn *h)
{
	free(h->auth_header);
	free(h->auth_file);
	kvlist_release(&h->headers);
	free(h->ca_file);
}

#define HOBS(m) offsetof(struct tu_http_observe, m)
static const struct field http_observe_fields[] = {
	{ FLD("each", F_FN, HOBS(each)), .fn = parse_json_path },
};
#undef HOBS

static tu_status parse_http_observe_entry(struct ctx *c, yaml_node_t *node, const char *path,
					  void *item)
{
	struct tu_http_observe *o = item;
	struct field_set sets[] = {
		{ json_mapping_fields, ARRAY_LEN(json_mapping_fields), &o->map },
		{ http_observe_fields, ARRAY_LEN(http_observe_fields), o },
	};

	json_mapping_defaults(&o->map);
	return parse_fields(c, node, path, sets, ARRAY_LEN(sets));
}

static tu_status parse_http_observe(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_http_source *h = dst;
	tu_status st = open_seq(c, node, path);

	if (st != TU_OK)
		return st;
	if (seq_n(node) == 0)
		return fail(c, node, path, "needs at least one entry (which items to observe)");
	h->n_observe = seq_n(node);
	h->observe = tu_xcalloc(h->n_observe, sizeof(*h->observe));
	return parse_items(c, node, path, h->observe, sizeof(*h->observe),
			   parse_http_observe_entry);
}

#define HSRC(m) offsetof(struct tu_http_source, m)
static const struct field http_source_fields[] = {
	{ FLD("preset", F_ENUM, HSRC(preset)), NAMES(http_presets) },
	{ FLD("base_url", F_FN, HSRC(base_url)), .fn = parse_http_url },
	{ FLD("url", F_FN, HSRC(url)), .fn = parse_http_url },
	{ FLD("items", F_FN, HSRC(items)), .fn = parse_json_path },
	{ FLD("total", F_FN, HSRC(total)), .fn = parse_json_path },
	{ FLD("next", F_FN, HSRC(next)), .fn = parse_json_path },
	{ FLD("max_pages", F_INT, HSRC(max_pages)), .min = 1, .max = 100000 },
	{ FLD("cache_ttl", F_DUR, HSRC(cache_ttl)) },
	{ FLD("retries", F_INT, HSRC(retries)), .min = 0, .max = 100 },
	{ FLD("backoff", F_DUR, HSRC(backoff)), .min = 1 },
	{ FLD("backoff_max", F_DUR, HSRC(backoff_max)), .min = 1 },
	{ FLD("observe", F_FN, 0), .fn = parse_http_observe },
};
#undef HSRC

static void kvlist_add(struct tu_kvlist *l, const char *key, const char *value)
{
	l->items = tu_xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	l->items[l->n].key = tu_xstrdup(key);
	l->items[l->n].value = tu_xstrdup(value);
	l->n++;
}

/*
 * The observe entry of preset digitalocean-apps: every service of every app
 * (docs/sources.md, "type: http"). An attribute the spec leaves out (an
 * autoscaled service has no instance_count) is empty.
 */
static void do_apps_observe(struct tu_http_source *h)
{
	static const char *const attrs[][2] = {
		{ "app_id", "{parent.id}" },
		{ "instance_count", "{.instance_count|default:}" },
		{ "instance_size_slug", "{.instance_size_slug|default:}" },
		{ "autoscaling_min", "{.autoscaling.min_instance_count|default:}" },
		{ "autoscaling_max", "{.autoscaling.max_instance_count|default:}" },
		{ "region", "{parent.region.slug|default:}" },
		{ "deployment", "{parent.active_deployment.id|default:}" },
		{ "phase", "{parent.active_deployment.phase|default:}" },
	};
	struct tu_http_observe *o = tu_xcalloc(1, sizeof(*o));

	o->map.kind = tu_xstrdup("service");
	o->map.ns = tu_xstrdup("{parent.spec.name}");
	o->map.name = tu_xstrdup("{.name}");
	for (size_t i = 0; i < ARRAY_LEN(attrs); i++)
		kvlist_add(&o->map.attrs, attrs[i][0], attrs[i][1]);
	o->each = tu_xstrdup(".spec.services");
	h->observe = o;
	h->n_observe = 1;
}

/* Strips one trailing '/' of a base URL so that "<base>/v2/..." has one. */
static char *join_base(const char *base, const char *suffix)
{
	size_t n = strlen(base);

	if (n > 0 && base[n - 1] == '/')
		n--;
	return tu_xasprintf("%.*s%s", (int)n, base, suffix);
}

/* Preset defaults (for what the file did not set), then what is still missing. */
static tu_status check_http_source(struct ctx *c, yaml_node_t *node, const char *path,
				   struct tu_http_source *h)
{
	char sub[PATH_LEN];

	if (h->preset == TU_HTTP_PRESET_DO_APPS) {
		if (h->base_url == NULL)
			h->base_url = tu_xstrdup(DO_API_URL);
		if (h->url == NULL)
			h->url = join_base(h->base_url, "/v2/apps");
		if (h->items == NULL)
			h->items = tu_xstrdup(".apps");
		if (h->total == NULL)
			h->total = tu_xstrdup(".meta.total");
		if (h->next == NULL)
			h->next = tu_xstrdup(".links.pages.next");
		if (h->n_observe == 0)
			do_apps_observe(h);
	}
	if (h->url == NULL && h->base_url != NULL)
		return fail(c, node, path, "base_url needs url or a preset (url is the first page)");
	if (h->url == NULL)
		return fail(c, node, path, "missing required field \"url\" (or a preset)");
	if (h->items == NULL)
		h->items = tu_xstrdup(".");
	if (h->n_observe == 0)
		return fail(c, node, path, "missing required field \"observe\" (or a preset)");
	if (h->backoff > h->backoff_max) {
		path_key(sub, path, "backoff");
		return fail(c, node, sub, "backoff must not be longer than backoff_max");
	}
	return TU_OK;
}

static void http_source_defaults(struct tu_http_source *h)
{
	http_conn_defaults(&h->conn);
	h->max_pages = 100;
	h->cache_ttl = 0;
	h->retries = 3;
	h->backoff = 1 * MS_S;
	h->backoff_max = 30 * MS_S;
}

static void http_source_release(struct tu_http_source *h)
{
	free(h->base_url);
	free(h->url);
	http_conn_release(&h->conn);
	free(h->items);
	free(h->total);
	free(h->next);
	for (size_t i = 0; i < h->n_observe; i++) {
		json_mapping_release(&h->observe[i].map);
		free(h->observe[i].each);
	}
	free(h->observe);
}

#define HTGT(m) offsetof(struct tu_http_target, m)
static const struct field http_target_fields[] = {
	{ FLD("preset", F_ENUM, HTGT(preset)), NAMES(http_presets) },
	{ FLD("base_url", F_FN, HTGT(base_url)), .fn = parse_http_url },
	{ FLD("webhook_url", F_FN, HTGT(webhook_url)), .fn = parse_http_url },
	{ FLD("webhook_auth_file", F_PATH, HTGT(webhook_auth_file)) },
};
#undef HTGT

static void http_target_release(struct tu_http_target *h)
{
	free(h->base_url);
	http_conn_release(&h->conn);
	free(h->webhook_url);
	free(h->webhook_auth_file);
}

static tu_status fail_param(struct ctx *c, yaml_node_t *node, const char *path, const char *param,
			    const char *why);

/* What the verb table cannot say about an http action (see http_verbs). */
static tu_status check_http_action(struct ctx *c, yaml_node_t *node, const char *path,
				   const struct tu_action_config *a,
				   const struct tu_target_config *t)
{
	const struct tu_http_target *h = &t->http;

	if (strcmp(a->action, "request") == 0) {
		const char *method = tu_kvlist_get(&a->params, "method");
		bool url = tu_kvlist_get(&a->params, "url") != NULL;
		bool rel = tu_kvlist_get(&a->params, "path") != NULL;

		if (url == rel)
			return fail(c, node, path, "action request needs exactly one of url and path");
		if (rel && h->base_url == NULL)
			return fail(c, node, path,
				    "action request with path needs base_url on target \"%s\"",
				    t->name);
		if (tu_tmpl_is_literal(method) && !tu_http_method_known(method))
			return fail_param(c, node, path, "method",
					  "method is not one of GET, POST, PUT, PATCH, DELETE");
	} else if (strcmp(a->action, "set-instance-count") == 0 && h->base_url == NULL) {
		return fail(c, node, path,
			    "action set-instance-count needs base_url (or preset: "
			    "digitalocean-apps) on target \"%s\"",
			    t->name);
	} else if (strcmp(a->action, "alert") == 0 && h->webhook_url == NULL) {
		return fail(c, node, path, "action alert needs webhook_url on target \"%s\"",
			    t->name);
	}
	return TU_OK;
}

#define SRC(m) offsetof(struct tu_source_config, m)
static const struct field source_fields[] = {
	{ FLD("name", F_NAME, SRC(name)), .required = true },
	{ FLD("type", F_SKIP, 0) },
	{ FLD("interval", F_DUR, SRC(interval)), .min = 1 },
	{ FLD("timeout", F_DUR, SRC(timeout)), .min = 1 },
	{ FLD("full_every", F_INT, SRC(full_every)), .min = 1 },
	{ FLD("publish_timeout", F_DUR, SRC(publish_timeout)), .min = 1 },
	{ FLD("publish_retries", F_INT, SRC(publish_retries)) },
	{ FLD("max_shrink", F_INT, SRC(max_shrink)), .min = 1, .max = 100 },
	{ FLD("min_entities", F_INT, SRC(min_entities)) },
	{ FLD("confirm_scans", F_INT, SRC(confirm_scans)), .max = 1000 },
};
#undef SRC

#define RSRC(m) offsetof(struct tu_redis_source, m)
static const struct field redis_source_fields[] = {
	{ FLD("url", F_FN, RSRC(url)), .fn = parse_redis_url },
	{ FLD("username", F_STR, RSRC(username)) },
	{ FLD("password_file", F_PATH, RSRC(password_file)) },
	{ FLD("scan_count", F_INT, RSRC(scan_count)), .min = 1 },
	{ FLD("pipeline", F_INT, RSRC(pipeline)), .min = 1 },
	{ FLD("observe", F_FN, 0), .required = true, .fn = parse_observe },
};
#undef RSRC

#define FSRC(m) offsetof(struct tu_files_source, m)
static const struct field files_source_fields[] = {
	{ FLD("path", F_PATH, FSRC(path)), .required = true },
	{ FLD("kinds", F_FN, 0), .fn = parse_kinds },
	{ FLD("namespace", F_STR, FSRC(default_ns)), .max = TU_MAX_NAME },
};
#undef FSRC

/* A list of non-empty strings of at most max bytes into *out (n entries). */
static tu_status parse_strings(struct ctx *c, yaml_node_t *node, const char *path, size_t max,
			       char ***out, size_t *n)
{
	char sub[PATH_LEN];
	tu_status st = open_seq(c, node, path);

	if (st != TU_OK)
		return st;
	*n = seq_n(node);
	*out = tu_xcalloc(*n, sizeof(**out));
	for (size_t i = 0; st == TU_OK && i < *n; i++) {
		path_index(sub, path, i);
		st = get_str(c, seq_item(c, node, i), sub, max, &(*out)[i]);
	}
	return st;
}

static tu_status parse_docker_prefixes(struct ctx *c, yaml_node_t *node, const char *path,
				       void *dst)
{
	struct tu_docker_source *d = dst;
	char sub[PATH_LEN];
	tu_status st = parse_strings(c, node, path, TU_MAX_NAME, &d->name_prefixes,
				     &d->n_name_prefixes);

	for (size_t i = 0; st == TU_OK && i < d->n_name_prefixes; i++) {
		path_index(sub, path, i);
		if (d->name_prefixes[i][0] == '/')
			st = fail(c, seq_item(c, node, i), sub,
				  "write the name without Docker's leading '/' (\"%s\")",
				  d->name_prefixes[i] + 1);
	}
	return st;
}

static tu_status parse_docker_labels(struct ctx *c, yaml_node_t *node, const char *path,
				     void *dst)
{
	struct tu_docker_source *d = dst;
	char sub[PATH_LEN];
	tu_status st = parse_strings(c, node, path, TU_MAX_ATTR_KEY + TU_MAX_NAME, &d->labels,
				     &d->n_labels);

	for (size_t i = 0; st == TU_OK && i < d->n_labels; i++) {
		path_index(sub, path, i);
		if (d->labels[i][0] == '=')
			st = fail(c, seq_item(c, node, i), sub,
				  "a label filter is \"key\" or \"key=value\", not \"%s\"",
				  d->labels[i]);
	}
	return st;
}

/* True if tmpl has a placeholder whose variable starts with var (e.g. "inspect."). */
static bool tmpl_uses(const char *tmpl, const char *var)
{
	for (const char *p = tmpl; p != NULL && *p != '\0'; p++) {
		if (p[0] == '{' && p[1] == '{') {
			p++;
			continue;
		}
		if (p[0] == '{' && strncmp(p + 1, var, strlen(var)) == 0)
			return true;
	}
	return false;
}

/* ---- mongodb (issue 3, item 3) ---------------------------------------------------------- */

#define MONGO_MAX_DOCUMENT (16 * 1024 * 1024) /* MongoDB's own limit of one document */
#define MONGO_MAX_DATABASE 63                 /* bytes of a database name (MongoDB's limit) */
#define MONGO_MAX_COLLECTION 255              /* bytes of a namespace (MongoDB's limit) */

/* True if the query part of a URI (after '?') has an option whose name mentions a password. */
static bool uri_option_has_password(const char *q)
{
	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "=&");
		for (size_t i = 0; i + 8 <= n; i++) {
			if (strncasecmp(q + i, "password", 8) == 0)
				return true;
		}
		q = strchr(q, '&');
		if (q != NULL)
			q++;
	}
	return false;
}

/* {inspect.*} needs inspect: true; names the first template that uses it. */
static tu_status check_docker_observe(struct ctx *c, yaml_node_t *node, const char *path,
				      const struct tu_docker_observe *o)
{
	const struct tu_json_mapping *m = &o->map;
	const char *where = NULL;

	if (o->inspect)
		return TU_OK;
	if (tmpl_uses(m->name, "inspect.") || tmpl_uses(m->name, "inspect["))
		where = "name";
	else if (tmpl_uses(m->ns, "inspect.") || tmpl_uses(m->ns, "inspect["))
		where = "namespace";
	for (size_t i = 0; where == NULL && i < m->attrs.n; i++) {
		if (tmpl_uses(m->attrs.items[i].value, "inspect.") ||
		    tmpl_uses(m->attrs.items[i].value, "inspect["))
			where = m->attrs.items[i].key;
	}
	for (size_t i = 0; where == NULL && i < m->match.n; i++) {
		if (tmpl_uses(m->match.items[i].value, "inspect.") ||
		    tmpl_uses(m->match.items[i].value, "inspect["))
			where = m->match.items[i].key;
	}
	if (where == NULL)
		return TU_OK;
	return fail(c, node, path, "%s uses {inspect...}: add inspect: true (one GET "
		    "/containers/<id>/json per matching container)", where);
}

#define DOBS(m) offsetof(struct tu_docker_observe, m)
static const struct field docker_observe_fields[] = {
	{ FLD("inspect", F_BOOL, DOBS(inspect)) },
};
#undef DOBS

static tu_status parse_docker_observe_entry(struct ctx *c, yaml_node_t *node, const char *path,
					    void *item)
{
	struct tu_docker_observe *o = item;
	struct field_set sets[] = {
		{ json_mapping_fields, ARRAY_LEN(json_mapping_fields), &o->map },
		{ docker_observe_fields, ARRAY_LEN(docker_observe_fields), o },
	};
	tu_status st;

	json_mapping_defaults(&o->map);
	st = parse_fields(c, node, path, sets, ARRAY_LEN(sets));
	if (st == TU_OK)
		st = check_docker_observe(c, node, path, o);
	return st;
}

static tu_status parse_docker_observe(struct ctx *c, yaml_node_t *node, const char *path,
				      void *dst)
{
	struct tu_docker_source *d = dst;
	void *items = NULL;
	tu_status st = parse_nonempty(c, node, path, sizeof(*d->observe),
				      parse_docker_observe_entry, "which containers to observe",
				      &items, &d->n_observe);

	d->observe = items;
	return st;
}

#define DD(m) offsetof(struct tu_docker_daemon, m)
static const struct field docker_daemon_fields[] = {
	{ FLD("socket", F_PATH, DD(socket)) },
	{ FLD("rate", F_INT, DD(rate)), .min = 0 },
	{ FLD("max_body", F_SIZE, DD(max_body)), .min = 1 },
};
#undef DD

#define DSRC(m) offsetof(struct tu_docker_source, m)
static const struct field docker_filter_fields[] = {
	{ FLD("name_prefixes", F_FN, 0), .fn = parse_docker_prefixes },
	{ FLD("labels", F_FN, 0), .fn = parse_docker_labels },
};
static const struct field docker_source_fields[] = {
	{ FLD("max_inspects", F_INT, DSRC(max_inspects)), .min = 0 },
	{ FLD("filters", F_MAP, 0), SUB(docker_filter_fields) },
	{ FLD("observe", F_FN, 0), .required = true, .fn = parse_docker_observe },
};
#undef DSRC

static void docker_daemon_defaults(struct tu_docker_daemon *d, int rate, int64_t max_body)
{
	d->socket = tu_xstrdup("/var/run/docker.sock");
	d->rate = rate;
	d->max_body = max_body;
}

/*
 * A MongoDB connection string (mongodb:// or mongodb+srv://) without a password:
 * passwords live in password_file, so a URI can be shown (redacted anyway).
 */
static tu_status parse_mongo_uri(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	char **uri = dst;
	char *s = NULL;
	const char *rest = NULL, *end, *at = NULL;
	tu_status st = get_str(c, node, path, TU_MAX_ATTR_VALUE, &s);

	if (st != TU_OK)
		return st;
	if (strncmp(s, "mongodb://", 10) == 0)
		rest = s + 10;
	else if (strncmp(s, "mongodb+srv://", 14) == 0)
		rest = s + 14;
	if (rest == NULL || *rest == '\0' || *rest == '/' || *rest == '?' || *rest == '@') {
		st = fail(c, node, path,
			  "invalid URI (mongodb://[user@]host[:port][,host...][/[db]][?options])");
		goto out;
	}
	end = rest + strcspn(rest, "/?");
	for (const char *p = rest; p < end; p++) {
		if (*p == '@')
			at = p;
	}
	if ((at != NULL && memchr(rest, ':', (size_t)(at - rest)) != NULL) ||
	    (strchr(end, '?') != NULL && uri_option_has_password(strchr(end, '?') + 1))) {
		st = fail(c, node, path,
			  "the URI holds a password: keep only the user in the URI and put the "
			  "password in password_file");
		goto out;
	}
	free(*uri);
	*uri = s;
	s = NULL;
out:
	free(s);
	return st;
}

/* A JSON object given as a string (MongoDB filters and projections, relaxed extended JSON). */
static tu_status parse_json_object(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	char **out = dst;
	char *s = NULL;
	json_error_t je;
	json_t *j = NULL;
	tu_status st = get_str(c, node, path, TU_MAX_ATTR_VALUE, &s);

	if (st != TU_OK)
		return st;
	j = json_loads(s, 0, &je);
	if (j == NULL)
		st = fail(c, node, path, "invalid JSON: %s (line %d, column %d of the value)",
			  je.text, je.line, je.column);
	else if (!json_is_object(j))
		st = fail(c, node, path, "expected a JSON object ({...}), got %s",
			  json_is_array(j) ? "an array" : "a scalar");
	json_decref(j);
	if (st != TU_OK) {
		free(s);
		return st;
	}
	free(*out);
	*out = s;
	return TU_OK;
}

#define MOBS(m) offsetof(struct tu_mongo_observe, m)
static const struct field mongo_observe_fields[] = {
	{ FLD("database", F_STR, MOBS(database)), .required = true, .max = MONGO_MAX_DATABASE },
	{ FLD("collection", F_STR, MOBS(collection)), .required = true,
	  .max = MONGO_MAX_COLLECTION },
	{ FLD("filter", F_FN, MOBS(filter)), .fn = parse_json_object },
	{ FLD("projection", F_FN, MOBS(projection)), .fn = parse_json_object },
};
#undef MOBS

static tu_status parse_mongo_observe_entry(struct ctx *c, yaml_node_t *node, const char *path,
					   void *item)
{
	struct tu_mongo_observe *o = item;
	struct field_set sets[] = {
		{ json_mapping_fields, ARRAY_LEN(json_mapping_fields), &o->map },
		{ mongo_observe_fields, ARRAY_LEN(mongo_observe_fields), o },
	};

	json_mapping_defaults(&o->map);
	o->filter = tu_xstrdup("{}");
	return parse_fields(c, node, path, sets, ARRAY_LEN(sets));
}

static tu_status parse_mongo_observe(struct ctx *c, yaml_node_t *node, const char *path,
				     void *dst)
{
	struct tu_mongo_source *m = dst;

	void *items = NULL;
	tu_status st = parse_nonempty(c, node, path, sizeof(*m->observe), parse_mongo_observe_entry,
				      "which documents to observe", &items, &m->n_observe);

	m->observe = items;
	return st;
}

#define MSRC(m) offsetof(struct tu_mongo_source, m)
static const struct field mongo_source_fields[] = {
	{ FLD("uri", F_FN, MSRC(uri)), .fn = parse_mongo_uri },
	{ FLD("password_file", F_PATH, MSRC(password_file)) },
	{ FLD("batch_size", F_INT, MSRC(batch_size)), .min = 1 },
	{ FLD("rate", F_INT, MSRC(rate)), .min = 0 },
	{ FLD("max_document", F_SIZE, MSRC(max_document)), .min = 1, .max = MONGO_MAX_DOCUMENT },
	{ FLD("observe", F_FN, 0), .required = true, .fn = parse_mongo_observe },
};
#undef MSRC

#define MTGT(m) offsetof(struct tu_mongo_target, m)
static const struct field mongo_target_fields[] = {
	{ FLD("uri", F_FN, MTGT(uri)), .fn = parse_mongo_uri },
	{ FLD("password_file", F_PATH, MTGT(password_file)) },
};
#undef MTGT

static void mongo_source_defaults(struct tu_mongo_source *m)
{
	m->uri = tu_xstrdup("mongodb://127.0.0.1:27017");
	m->batch_size = 500;
	m->rate = 0;
	m->max_document = 1024 * 1024;
}

static void mongo_source_release(struct tu_mongo_source *m)
{
	free(m->uri);
	free(m->password_file);
	for (size_t i = 0; i < m->n_observe; i++) {
		json_mapping_release(&m->observe[i].map);
		free(m->observe[i].database);
		free(m->observe[i].collection);
		free(m->observe[i].filter);
		free(m->observe[i].projection);
	}
	free(m->observe);
}

/* ---- end mongodb ---------------------------------------------------------------------------- */
/* ---- kubernetes (source and target) ------------------------------------------------------- */

static void strv_free(char **v, size_t n);

/* A `true`/`false` into a bool member. */
static tu_status parse_flag(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	return get_bool(c, node, path, dst);
}

/* `namespaced:` into an int member that is -1 while unset. */
static tu_status parse_namespaced(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	bool v = false;
	tu_status st = get_bool(c, node, path, &v);

	if (st == TU_OK)
		*(int *)dst = v ? 1 : 0;
	return st;
}

static tu_status parse_kube_namespaces(struct ctx *c, yaml_node_t *node, const char *path,
				       void *dst)
{
	struct tu_kube_observe *o = dst;

	return parse_names(c, node, path, false, "namespace", &o->namespaces, &o->n_namespaces);
}

static tu_status check_kube_conn(struct ctx *c, yaml_node_t *node, const char *path,
				 const struct tu_kube_conn *k)
{
	char sub[PATH_LEN];
	yaml_node_t *at = map_get(c, node, "server");

	if (k->server != NULL && (strncmp(k->server, "https://", 8) != 0 || k->server[8] == '\0')) {
		path_key(sub, path, "server");
		return fail(c, at, sub, "invalid URL \"%s\" (https://host[:port]; TLS is always "
					"verified)", k->server);
	}
	if (k->server == NULL && !k->in_cluster)
		return fail(c, node, path, "needs server (the API server's https URL) or "
					   "in_cluster: true");
	if ((k->cert_file == NULL) != (k->key_file == NULL))
		return fail(c, node, path, "cert_file and key_file go together");
	return TU_OK;
}

#define KCONN(m) offsetof(struct tu_kube_conn, m)
static const struct field kube_conn_fields[] = {
	{ FLD("server", F_STR, KCONN(server)) },
	{ FLD("ca_file", F_PATH, KCONN(ca_file)) },
	{ FLD("token_file", F_PATH, KCONN(token_file)) },
	{ FLD("cert_file", F_PATH, KCONN(cert_file)) },
	{ FLD("key_file", F_PATH, KCONN(key_file)) },
	{ FLD("in_cluster", F_FN, KCONN(in_cluster)), .fn = parse_flag },
	{ FLD("service_account_dir", F_PATH, KCONN(service_account_dir)) },
	{ FLD("rate", F_INT, KCONN(rate)), .min = 0 },
	{ FLD("burst", F_INT, KCONN(burst)), .min = 1 },
	{ FLD("max_body", F_SIZE, KCONN(max_body)), .min = 1024 },
	{ FLD("retries", F_INT, KCONN(retries)), .min = 0, .max = 100 },
	{ FLD("retry_after_max", F_DUR, KCONN(retry_after_max)), .min = 1 },
};
#undef KCONN

static void kube_conn_defaults(struct tu_kube_conn *k)
{
	k->service_account_dir = tu_xstrdup("/var/run/secrets/kubernetes.io/serviceaccount");
	k->rate = 20;
	k->max_body = 32 << 20;
	k->retries = 3;
	k->retry_after_max = 10 * MS_S;
}

static void kube_conn_release(struct tu_kube_conn *k)
{
	free(k->server);
	free(k->ca_file);
	free(k->token_file);
	free(k->cert_file);
	free(k->key_file);
	free(k->service_account_dir);
}

#define KOBS(m) offsetof(struct tu_kube_observe, m)
static const struct field kube_observe_fields[] = {
	{ FLD("resource", F_STR, KOBS(resource)), .max = TU_MAX_KIND },
	{ FLD("group", F_STR, KOBS(group)), .max = TU_MAX_NAME },
	{ FLD("version", F_STR, KOBS(version)), .max = TU_MAX_KIND },
	{ FLD("plural", F_STR, KOBS(plural)), .max = TU_MAX_KIND },
	{ FLD("namespaced", F_FN, KOBS(namespaced)), .fn = parse_namespaced },
	{ FLD("namespaces", F_FN, 0), .fn = parse_kube_namespaces },
	{ FLD("label_selector", F_STR, KOBS(label_selector)) },
	{ FLD("field_selector", F_STR, KOBS(field_selector)) },
};
#undef KOBS

/* Points at field `key` of mapping node if it is there, else at the mapping. */
static tu_status fail_at(struct ctx *c, yaml_node_t *node, const char *path, const char *key,
			 const char *why)
{
	char sub[PATH_LEN];
	yaml_node_t *k = map_get(c, node, key);

	if (k == NULL)
		return fail(c, node, path, "%s", why);
	path_key(sub, path, key);
	return fail(c, k, sub, "%s", why);
}

static tu_status check_kube_observe(struct ctx *c, yaml_node_t *node, const char *path,
				    const struct tu_kube_observe *o)
{
	struct tu_kube_resource r;
	char why[LIST_LEN + 256];
	bool gvp = o->group != NULL || o->version != NULL || o->plural != NULL;

	if (o->resource != NULL && gvp)
		return fail(c, node, path, "give either resource (a built-in) or group, version "
					   "and plural (a custom resource), not both");
	if (o->resource == NULL && !gvp)
		return fail(c, node, path, "needs resource (one of: %s) or group, version and "
					   "plural", tu_kube_builtin_names());
	if (o->resource != NULL && !tu_kube_builtin(o->resource, &r)) {
		snprintf(why, sizeof(why), "unknown resource \"%s\" (built-ins: %s; anything else "
					   "by group, version and plural)", o->resource,
			 tu_kube_builtin_names());
		return fail_at(c, node, path, "resource", why);
	}
	if (o->resource != NULL && o->namespaced >= 0)
		return fail_at(c, node, path, "namespaced", "is known for a built-in resource; "
							    "remove the line");
	if (gvp && (o->group == NULL || o->version == NULL || o->plural == NULL))
		return fail(c, node, path, "a custom resource needs all of group, version and "
					   "plural");
	if (gvp && !tu_kube_group_valid(o->group))
		return fail_at(c, node, path, "group", "not an API group (lowercase letters, "
						       "digits, '-' and '.'; \"core\" for /api/v1)");
	if (gvp && !tu_kube_version_valid(o->version))
		return fail_at(c, node, path, "version", "not an API version (e.g. v1, v1beta1)");
	if (gvp && !tu_kube_plural_valid(o->plural))
		return fail_at(c, node, path, "plural", "not a resource name (lowercase letters, "
							"digits and '-')");
	if (o->n_namespaces > 0 &&
	    (o->resource != NULL ? !r.namespaced : o->namespaced == 0))
		return fail_at(c, node, path, "namespaces", "this resource is cluster-scoped: it "
							    "has no namespaces to list");
	return TU_OK;
}

static tu_status parse_kube_observe_entry(struct ctx *c, yaml_node_t *node, const char *path,
					  void *item)
{
	struct tu_kube_observe *o = item;
	struct field_set sets[2] = {
		{ json_mapping_fields, ARRAY_LEN(json_mapping_fields), &o->map },
		{ kube_observe_fields, ARRAY_LEN(kube_observe_fields), o },
	};
	tu_status st;

	json_mapping_defaults(&o->map);
	free(o->map.ns);
	o->map.ns = tu_xstrdup("{.metadata.namespace|default:cluster}");
	o->namespaced = -1;
	st = parse_fields(c, node, path, sets, ARRAY_LEN(sets));
	if (st == TU_OK)
		st = check_kube_observe(c, node, path, o);
	return st;
}

static tu_status parse_kube_observe(struct ctx *c, yaml_node_t *node, const char *path,
				    void *dst)
{
	struct tu_kube_source *k = dst;
	tu_status st = open_seq(c, node, path);

	if (st != TU_OK)
		return st;
	if (seq_n(node) == 0)
		return fail(c, node, path, "needs at least one entry (which resources to observe)");
	k->n_observe = seq_n(node);
	k->observe = tu_xcalloc(k->n_observe, sizeof(*k->observe));
	return parse_items(c, node, path, k->observe, sizeof(*k->observe),
			   parse_kube_observe_entry);
}

#define KSRC(m) offsetof(struct tu_kube_source, m)
static const struct field kube_source_fields[] = {
	{ FLD("page_size", F_INT, KSRC(page_size)), .min = 1, .max = 100000 },
	{ FLD("observe", F_FN, 0), .required = true, .fn = parse_kube_observe },
};
#undef KSRC

static void kube_source_release(struct tu_kube_source *k)
{
	kube_conn_release(&k->conn);
	for (size_t i = 0; i < k->n_observe; i++) {
		struct tu_kube_observe *o = &k->observe[i];
		json_mapping_release(&o->map);
		free(o->resource);
		free(o->group);
		free(o->version);
		free(o->plural);
		strv_free(o->namespaces, o->n_namespaces);
		free(o->label_selector);
		free(o->field_selector);
	}
	free(k->observe);
}

/* ---- end kubernetes ----------------------------------------------------------------------- */

static tu_status parse_source(struct ctx *c, yaml_node_t *node, const char *path, void *item)
{
	struct tu_source_config *s = item;
	struct field_set sets[3] = { { source_fields, ARRAY_LEN(source_fields), s } };
	size_t n_sets = 2;
	int type = 0;
	tu_status st = get_type(c, node, path, source_types, ARRAY_LEN(source_types), &type);

	if (st != TU_OK)
		return st;
	s->type = (enum tu_source_type)type;
	s->line = (int)line_of(node);
	s->interval = 30 * MS_S;
	s->timeout = 5 * MS_S;
	s->full_every = 10;
	s->publish_timeout = 10 * MS_S;
	s->publish_retries = 5;
	s->max_shrink = 50;
	s->min_entities = 10;
	s->confirm_scans = 0;
	if (s->type == TU_SOURCE_REDIS) {
		s->redis.url = tu_xstrdup("redis://127.0.0.1:6379");
		s->redis.scan_count = 500;
		s->redis.pipeline = 256;
		sets[1] = (struct field_set){ redis_source_fields, ARRAY_LEN(redis_source_fields),
					      &s->redis };
	} else if (s->type == TU_SOURCE_DOCKER) {
		docker_daemon_defaults(&s->docker.daemon, 20, 32 * 1024 * 1024);
		s->docker.max_inspects = 1000;
		sets[1] = (struct field_set){ docker_source_fields, ARRAY_LEN(docker_source_fields),
					      &s->docker };
		sets[2] = (struct field_set){ docker_daemon_fields, ARRAY_LEN(docker_daemon_fields),
					      &s->docker.daemon };
		n_sets = 3;
	} else if (s->type == TU_SOURCE_MONGODB) {
		mongo_source_defaults(&s->mongo);
		sets[1] = (struct field_set){ mongo_source_fields, ARRAY_LEN(mongo_source_fields),
					      &s->mongo };
	} else if (s->type == TU_SOURCE_KUBE) {
		kube_conn_defaults(&s->kube.conn);
		s->kube.page_size = 500;
		sets[1] = (struct field_set){ kube_conn_fields, ARRAY_LEN(kube_conn_fields),
					      &s->kube.conn };
		sets[2] = (struct field_set){ kube_source_fields, ARRAY_LEN(kube_source_fields),
					      &s->kube };
		n_sets = 3;
	} else if (s->type == TU_SOURCE_HTTP) {
		http_source_defaults(&s->http);
		sets[1] = (struct field_set){ http_source_fields, ARRAY_LEN(http_source_fields),
					      &s->http };
		sets[2] = (struct field_set){ http_conn_fields, ARRAY_LEN(http_conn_fields),
					      &s->http.conn };
		n_sets = 3;
	} else {
		s->files.default_ns = tu_xstrdup("default");
		sets[1] = (struct field_set){ files_source_fields, ARRAY_LEN(files_source_fields),
					      &s->files };
	}
	st = parse_fields(c, node, path, sets, n_sets);
	if (st == TU_OK && s->type == TU_SOURCE_KUBE)
		st = check_kube_conn(c, node, path, &s->kube.conn);
	if (st == TU_OK && s->type == TU_SOURCE_HTTP)
		st = check_http_source(c, node, path, &s->http);
	return st;
}

static tu_status parse_sources(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_config *cfg = dst;
	tu_status st = open_seq(c, node, path);

	if (st != TU_OK)
		return st;
	cfg->n_sources = seq_n(node);
	cfg->sources = tu_xcalloc(cfg->n_sources, sizeof(*cfg->sources));
	return parse_named(c, node, path, cfg->sources, sizeof(*cfg->sources),
			   offsetof(struct tu_source_config, name), parse_source, "source name");
}

/* ------------------------------------------------------------------------ */
/* targets                                                                   */

#define TGT(m) offsetof(struct tu_target_config, m)
static tu_status check_breaker(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_breaker_config *b = dst;
	if (b->max_cooldown < b->cooldown)
		return fail(c, node, path, "max_cooldown (%" PRId64 "ms) is below cooldown (%" PRId64
			    "ms)", b->max_cooldown, b->cooldown);
	return TU_OK;
}

#define BRK(m) offsetof(struct tu_breaker_config, m)
static const struct field breaker_fields[] = {
	{ FLD("failures", F_INT, BRK(failures)), .max = 1000 },
	{ FLD("cooldown", F_DUR, BRK(cooldown)), .min = 1 },
	{ FLD("max_cooldown", F_DUR, BRK(max_cooldown)), .min = 1 },
};
#undef BRK

static const struct field target_fields[] = {
	{ FLD("name", F_NAME, TGT(name)), .required = true },
	{ FLD("type", F_SKIP, 0) },
	{ FLD("consumer", F_TOKEN, TGT(consumer)) },
	{ FLD("batch", F_INT, TGT(batch)), .min = 1 },
	{ FLD("fetch_wait", F_DUR, TGT(fetch_wait)), .min = 1 },
	{ FLD("ack_wait", F_DUR, TGT(ack_wait)), .min = 1 },
	{ FLD("max_deliver", F_INT, TGT(max_deliver)), .min = 1 },
	{ FLD("retry_backoff", F_DUR, TGT(retry_backoff)), .min = 1 },
	{ FLD("retry_backoff_max", F_DUR, TGT(retry_backoff_max)), .min = 1 },
	{ FLD("timeout", F_DUR, TGT(timeout)), .min = 1 },
	{ FLD("breaker", F_MAP, TGT(breaker)), SUB(breaker_fields), .fn = check_breaker },
};
#undef TGT

#define RTGT(m) offsetof(struct tu_redis_target, m)
static const struct field redis_target_fields[] = {
	{ FLD("url", F_FN, RTGT(url)), .fn = parse_redis_url },
	{ FLD("username", F_STR, RTGT(username)) },
	{ FLD("password_file", F_PATH, RTGT(password_file)) },
	{ FLD("done_prefix", F_STR, RTGT(done_prefix)) },
	{ FLD("done_ttl", F_DUR, RTGT(done_ttl)), .min = 1 },
};
#undef RTGT

static tu_status parse_target(struct ctx *c, yaml_node_t *node, const char *path, void *item)
{
	struct tu_target_config *t = item;
	struct field_set sets[3] = {
		{ target_fields, ARRAY_LEN(target_fields), t },
		{ redis_target_fields, ARRAY_LEN(redis_target_fields), &t->redis },
	};
	size_t n_sets = 2;
	int type = 0;
	tu_status st = get_type(c, node, path, target_types, ARRAY_LEN(target_types), &type);

	if (st != TU_OK)
		return st;
	t->type = (enum tu_target_type)type;
	t->line = (int)line_of(node);
	t->batch = 16;
	t->fetch_wait = 1 * MS_S;
	t->ack_wait = 30 * MS_S;
	t->max_deliver = 5;
	t->timeout = 5 * MS_S;
	t->retry_backoff = 1 * MS_S;
	t->retry_backoff_max = 1 * MS_M;
	t->breaker.failures = 5;
	t->breaker.cooldown = 30 * MS_S;
	t->breaker.max_cooldown = 5 * MS_M;
	if (t->type == TU_TARGET_DOCKER) {
		docker_daemon_defaults(&t->docker.daemon, 10, 4 * 1024 * 1024);
		sets[1] = (struct field_set){ docker_daemon_fields, ARRAY_LEN(docker_daemon_fields),
					      &t->docker.daemon };
	} else if (t->type == TU_TARGET_MONGODB) {
		t->mongo.uri = tu_xstrdup("mongodb://127.0.0.1:27017");
		sets[1] = (struct field_set){ mongo_target_fields, ARRAY_LEN(mongo_target_fields),
					      &t->mongo };
	} else if (t->type == TU_TARGET_KUBE) {
		kube_conn_defaults(&t->kube.conn);
		sets[1] = (struct field_set){ kube_conn_fields, ARRAY_LEN(kube_conn_fields),
					      &t->kube.conn };
	} else if (t->type == TU_TARGET_HTTP) {
		http_conn_defaults(&t->http.conn);
		sets[1] = (struct field_set){ http_target_fields, ARRAY_LEN(http_target_fields),
					      &t->http };
		sets[2] = (struct field_set){ http_conn_fields, ARRAY_LEN(http_conn_fields),
					      &t->http.conn };
		n_sets = 3;
	} else {
		t->redis.url = tu_xstrdup("redis://127.0.0.1:6379");
		t->redis.done_prefix = tu_xstrdup("trueup:done:");
		t->redis.done_ttl = 7 * MS_D;
	}
	st = parse_fields(c, node, path, sets, n_sets);
	if (st == TU_OK && t->retry_backoff > t->retry_backoff_max)
		st = fail(c, node, path, "retry_backoff (%" PRId64 "ms) is above retry_backoff_max (%" PRId64
			  "ms)", t->retry_backoff, t->retry_backoff_max);
	if (st == TU_OK && t->type == TU_TARGET_KUBE)
		st = check_kube_conn(c, node, path, &t->kube.conn);
	if (st == TU_OK && t->type == TU_TARGET_HTTP && t->http.preset == TU_HTTP_PRESET_DO_APPS &&
	    t->http.base_url == NULL)
		t->http.base_url = tu_xstrdup(DO_API_URL);
	if (st == TU_OK && t->consumer == NULL)
		t->consumer = tu_xasprintf("trueup-actuator-%s", t->name);
	return st;
}

static tu_status parse_targets(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_config *cfg = dst;
	tu_status st = open_seq(c, node, path);

	if (st != TU_OK)
		return st;
	cfg->n_targets = seq_n(node);
	cfg->targets = tu_xcalloc(cfg->n_targets, sizeof(*cfg->targets));
	return parse_named(c, node, path, cfg->targets, sizeof(*cfg->targets),
			   offsetof(struct tu_target_config, name), parse_target, "target name");
}

/* ------------------------------------------------------------------------ */
/* actions                                                                   */

static void precond_release(struct tu_precond_config *p)
{
	free(p->key);
	free(p->field);
	free(p->value);
}

/* Appends *p (whose strings it takes, also on failure) to the action's preconditions. */
static tu_status precond_push(struct ctx *c, yaml_node_t *node, const char *path,
			      struct tu_action_config *a, struct tu_precond_config *p)
{
	if (a->n_pre >= TU_MAX_PARAMS) {
		precond_release(p);
		return fail(c, node, path, "more than %d preconditions", TU_MAX_PARAMS);
	}
	a->pre = tu_xrealloc(a->pre, (a->n_pre + 1) * sizeof(*a->pre));
	a->pre[a->n_pre++] = *p;
	return TU_OK;
}

/* field_equals: { <field>: <value template> } */
static tu_status parse_field_equals(struct ctx *c, yaml_node_t *node, const char *path,
				    struct tu_precond_config *p)
{
	char sub[PATH_LEN];
	yaml_node_t *k;
	tu_status st = open_map(c, node, path);

	if (st != TU_OK)
		return st;
	if (map_n(node) != 1)
		return fail(c, node, path, "needs exactly one entry: { <field>: <value> }");
	k = map_key(c, node, 0);
	path_key(sub, path, text(k));
	if (strlen(text(k)) > TU_MAX_ATTR_KEY)
		return fail(c, k, sub, "field name longer than %d bytes", TU_MAX_ATTR_KEY);
	st = get_tmpl(c, map_value(c, node, 0), sub, &p->value);
	if (st == TU_OK)
		st = copy(c, k, sub, text(k), &p->field);
	return st;
}

/* Nodes of one `if:` item, read before deciding which operation it is. */
struct precond_nodes {
	yaml_node_t *equals;       /* value template */
	yaml_node_t *exists;       /* true */
	yaml_node_t *absent;       /* true */
	yaml_node_t *field_equals; /* { field: value template } */
	yaml_node_t *key;          /* key template; default: the action's key */
};

#define PRE(m) offsetof(struct precond_nodes, m)
static const struct field precond_fields[] = {
	{ FLD("equals", F_NODE, PRE(equals)) },
	{ FLD("exists", F_NODE, PRE(exists)) },
	{ FLD("absent", F_NODE, PRE(absent)) },
	{ FLD("field_equals", F_NODE, PRE(field_equals)) },
	{ FLD("key", F_NODE, PRE(key)) },
};
#undef PRE

static tu_status parse_precond(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_action_config *a = dst;
	struct precond_nodes pn = { 0 };
	struct tu_precond_config p = { 0 };
	struct field_set set = { precond_fields, ARRAY_LEN(precond_fields), &pn };
	char sub[PATH_LEN];
	tu_status st = parse_fields(c, node, path, &set, 1);

	if (st != TU_OK)
		return st;
	if ((pn.equals != NULL) + (pn.exists != NULL) + (pn.absent != NULL) +
		    (pn.field_equals != NULL) !=
	    1) {
		return fail(c, node, path,
			    "needs exactly one of equals, exists, absent, field_equals");
	}
	if (pn.key != NULL) {
		path_key(sub, path, "key");
		st = get_tmpl(c, pn.key, sub, &p.key);
	}
	if (st == TU_OK && pn.equals != NULL) {
		p.op = TU_PRE_EQUALS;
		path_key(sub, path, "equals");
		st = get_tmpl(c, pn.equals, sub, &p.value);
	} else if (st == TU_OK && pn.exists != NULL) {
		p.op = TU_PRE_EXISTS;
		path_key(sub, path, "exists");
		st = get_true(c, pn.exists, sub);
	} else if (st == TU_OK && pn.absent != NULL) {
		p.op = TU_PRE_ABSENT;
		path_key(sub, path, "absent");
		st = get_true(c, pn.absent, sub);
	} else if (st == TU_OK) {
		p.op = TU_PRE_FIELD_EQUALS;
		path_key(sub, path, "field_equals");
		st = parse_field_equals(c, pn.field_equals, sub, &p);
	}
	if (st != TU_OK) {
		precond_release(&p);
		return st;
	}
	return precond_push(c, node, path, a, &p);
}

static tu_status parse_preconds(struct ctx *c, yaml_node_t *node, const char *path,
				struct tu_action_config *a)
{
	char sub[PATH_LEN];
	tu_status st = open_seq(c, node, path);

	for (size_t i = 0; st == TU_OK && i < seq_n(node); i++) {
		path_index(sub, path, i);
		st = parse_precond(c, seq_item(c, node, i), sub, a);
	}
	return st;
}

/* `fields: { a: x }` -> params field.a = x */
static tu_status parse_param_fields(struct ctx *c, yaml_node_t *node, const char *path,
				    struct tu_action_config *a)
{
	char sub[PATH_LEN];
	tu_status st = open_map(c, node, path);

	for (size_t i = 0; st == TU_OK && i < map_n(node); i++) {
		yaml_node_t *k = map_key(c, node, i);
		char *value = NULL;

		path_key(sub, path, text(k));
		if (strlen(text(k)) > TU_MAX_ATTR_KEY) {
			st = fail(c, k, sub, "field name longer than %d bytes", TU_MAX_ATTR_KEY);
			break;
		}
		st = get_tmpl(c, map_value(c, node, i), sub, &value);
		if (st == TU_OK)
			st = budget(c, k, sub, strlen(text(k)) + 7);
		if (st == TU_OK)
			st = kv_push(c, k, sub, &a->params, TU_MAX_PARAMS,
				     tu_xasprintf("field.%s", text(k)), value);
		else
			free(value);
	}
	return st;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct tu_kv *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* Points at a param's key in the action mapping if it is there, else at the mapping. */
static tu_status fail_param(struct ctx *c, yaml_node_t *node, const char *path, const char *param,
			    const char *why)
{
	char sub[PATH_LEN];

	for (size_t i = 0; i < map_n(node); i++) {
		yaml_node_t *k = map_key(c, node, i);
		if (strcmp(text(k), param) == 0) {
			path_key(sub, path, param);
			return fail(c, k, sub, "%s", why);
		}
	}
	return fail(c, node, path, "%s", why);
}

/*
 * mongodb (issue 3, item 3): the JSON params (filter, update, document) are
 * templates whose every placeholder must end with |json, so that a rendered
 * value (an entity name with a quote) can never change the document's
 * structure, e.g. add a query operator.
 */
static tu_status check_json_params(struct ctx *c, yaml_node_t *node, const char *path,
				   const struct tu_action_config *a)
{
	static const char *const json_params[] = { "filter", "update", "document" };
	char why[256], msg[512];

	for (size_t i = 0; i < ARRAY_LEN(json_params); i++) {
		const char *v = tu_kvlist_get(&a->params, json_params[i]);
		if (v == NULL || tu_tmpl_placeholders_end_with(v, "json", why, sizeof(why)) == TU_OK)
			continue;
		snprintf(msg, sizeof(msg),
			 "%.200s: a value in a JSON param must be escaped (\"{name|json}\", inside "
			 "quotes; literal braces as {{ and }})",
			 why);
		return fail_param(c, node, path, json_params[i], msg);
	}
	return TU_OK;
}

static const char *const resource_params[] = { "resource", "group", "version", "plural" };

/* True if p is one of the params v takes besides field.<f>. */
static bool verb_takes(const struct verb *v, const char *p)
{
	for (size_t j = 0; j < ARRAY_LEN(v->params) && v->params[j] != NULL; j++) {
		if (strcmp(p, v->params[j]) == 0)
			return true;
	}
	for (size_t j = 0; j < ARRAY_LEN(v->optional) && v->optional[j] != NULL; j++) {
		if (strcmp(p, v->optional[j]) == 0)
			return true;
	}
	for (size_t j = 0; v->resource && j < ARRAY_LEN(resource_params); j++) {
		if (strcmp(p, resource_params[j]) == 0)
			return true;
	}
	return false;
}

/* A Kubernetes verb names its resource: `resource`, or all of group, version and plural. */
static tu_status check_resource_params(struct ctx *c, yaml_node_t *node, const char *path,
				       const struct tu_action_config *a)
{
	bool res = tu_kvlist_get(&a->params, "resource") != NULL;
	size_t gvp = 0;
	for (size_t i = 1; i < ARRAY_LEN(resource_params); i++)
		gvp += tu_kvlist_get(&a->params, resource_params[i]) != NULL;
	if (res && gvp > 0)
		return fail_param(c, node, path, "resource",
				  "give either resource or group, version and plural, not both");
	if (!res && gvp != ARRAY_LEN(resource_params) - 1)
		return fail(c, node, path,
			    "action %s needs param \"resource\" (a built-in: %s) or all of "
			    "\"group\", \"version\" and \"plural\" (a custom resource)",
			    a->action, tu_kube_builtin_names());
	return TU_OK;
}
static tu_status check_http_action(struct ctx *c, yaml_node_t *node, const char *path,
				   const struct tu_action_config *a,
				   const struct tu_target_config *t);

/* The verb exists for the target's type and gets exactly the params it takes. */
static tu_status check_verb(struct ctx *c, yaml_node_t *node, const char *path,
			    const struct tu_action_config *a, const struct tu_target_config *t)
{
	const struct verb *v = NULL, *verbs = NULL;
	char known[LIST_LEN] = "", why[LIST_LEN + 128], sub[PATH_LEN];
	size_t n_fields = 0, n_verbs = 0;

	for (size_t i = 0; i < ARRAY_LEN(target_verbs); i++) {
		if (target_verbs[i].type == (int)t->type) {
			verbs = target_verbs[i].verbs;
			n_verbs = target_verbs[i].n;
		}
	}
	for (size_t i = 0; i < n_verbs; i++) {
		if (strcmp(verbs[i].name, a->action) == 0)
			v = &verbs[i];
		list_add(known, sizeof(known), verbs[i].name);
	}
	if (v == NULL) {
		path_key(sub, path, "action");
		return fail(c, map_get(c, node, "action"), sub,
			    "unknown action \"%s\" for target \"%s\" of type %s (known: %s)",
			    a->action, t->name,
			    enum_str(target_types, ARRAY_LEN(target_types), t->type), known);
	}
	known[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(v->params) && v->params[i] != NULL; i++) {
		list_add(known, sizeof(known), v->params[i]);
		if (tu_kvlist_get(&a->params, v->params[i]) == NULL)
			return fail(c, node, path, "action %s needs param \"%s\"", v->name,
				    v->params[i]);
	}
	for (size_t i = 0; i < ARRAY_LEN(v->optional) && v->optional[i] != NULL; i++)
		list_add(known, sizeof(known), v->optional[i]);
	for (size_t i = 0; v->resource && i < ARRAY_LEN(resource_params); i++)
		list_add(known, sizeof(known), resource_params[i]);
	if (v->fields)
		list_add(known, sizeof(known), "fields");
	for (size_t i = 0; i < a->params.n && !v->any; i++) {
		const char *p = a->params.items[i].key;
		bool ok = verb_takes(v, p);

		if (!ok && v->fields && strncmp(p, "field.", 6) == 0) {
			ok = true;
			n_fields++;
		}
		if (!ok) {
			snprintf(why, sizeof(why), "action %s takes no param \"%s\" (takes: %s)",
				 v->name, p, known);
			return fail_param(c, node, path, p, why);
		}
	}
	if (v->fields && n_fields == 0)
		return fail(c, node, path,
			    "action %s needs at least one field (fields: { <field>: <value> })",
			    v->name);
	if (v->resource) {
		tu_status st = check_resource_params(c, node, path, a);
		if (st != TU_OK)
			return st;
	}
	if (t->type == TU_TARGET_HTTP) {
		tu_status st = check_http_action(c, node, path, a, t);
		if (st != TU_OK)
			return st;
	}
	return v->check != NULL ? v->check(c, node, path, a) : TU_OK;
}

/*
 * Docker params whose value is fixed in the file (no placeholder) are checked
 * here, so that `force: yes` fails at load instead of at the first command.
 */
static tu_status check_docker_params(struct ctx *c, yaml_node_t *node, const char *path,
				     const struct tu_action_config *a)
{
	char why[256];

	for (size_t i = 0; i < a->params.n; i++) {
		const char *k = a->params.items[i].key, *v = a->params.items[i].value;
		bool b = false;
		int secs = 0;

		if (!tu_tmpl_is_literal(v))
			continue;
		if (strcmp(k, "id") == 0 && !tu_docker_id_valid(v))
			snprintf(why, sizeof(why),
				 "\"%s\" is not a container id (%d to %d hex digits; names are "
				 "reused, ids are not: use \"{<source>.id}\")",
				 v, TU_DOCKER_ID_MIN, TU_DOCKER_ID_MAX);
		else if ((strcmp(k, "force") == 0 || strcmp(k, "volumes") == 0) &&
			 tu_docker_param_bool(v, &b) != TU_OK)
			snprintf(why, sizeof(why), "invalid boolean \"%s\" (true or false)", v);
		else if (strcmp(k, "timeout") == 0 && tu_docker_param_seconds(v, &secs) != TU_OK)
			snprintf(why, sizeof(why),
				 "invalid timeout \"%s\" (whole seconds, 0 to %d)", v,
				 TU_DOCKER_MAX_STOP_S);
		else
			continue;
		return fail_param(c, node, path, k, why);
	}
	return TU_OK;
}

/* A key of an action mapping that is not a param. */
static bool is_action_key(const char *key)
{
	static const char *const keys[] = { "target", "action", "if",
					    "fields", "expect", "expect_absent" };

	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		if (strcmp(keys[i], key) == 0)
			return true;
	}
	return false;
}

/* One key of an action mapping: target, action, a precondition or a param. */
static tu_status parse_action_key(struct ctx *c, yaml_node_t *k, yaml_node_t *v,
				  const char *path, struct tu_action_config *a)
{
	struct tu_precond_config p = { 0 };
	const char *key = text(k);
	char *value = NULL;
	tu_status st;

	if (strcmp(key, "target") == 0)
		return get_name(c, v, path, &a->target);
	if (strcmp(key, "action") == 0)
		return get_name(c, v, path, &a->action);
	if (strcmp(key, "if") == 0)
		return parse_preconds(c, v, path, a);
	if (strcmp(key, "fields") == 0)
		return parse_param_fields(c, v, path, a);
	if (strcmp(key, "expect") == 0) {
		p.op = TU_PRE_EQUALS;
		st = get_tmpl(c, v, path, &p.value);
		return st == TU_OK ? precond_push(c, v, path, a, &p) : st;
	}
	if (strcmp(key, "expect_absent") == 0) {
		p.op = TU_PRE_ABSENT;
		st = get_true(c, v, path);
		return st == TU_OK ? precond_push(c, v, path, a, &p) : st;
	}
	st = get_tmpl(c, v, path, &value);
	if (st == TU_OK)
		st = budget(c, k, path, strlen(key) + 1);
	if (st == TU_OK)
		st = kv_push(c, k, path, &a->params, TU_MAX_PARAMS, tu_xstrdup(key), value);
	else
		free(value);
	return st;
}

static tu_status parse_action(struct ctx *c, yaml_node_t *node, const char *path, void *item)
{
	struct tu_action_config *a = item;
	const struct tu_target_config *t = NULL;
	char sub[PATH_LEN], known[LIST_LEN] = "";
	tu_status st = open_map(c, node, path);

	a->line = (int)line_of(node);
	for (size_t i = 0; st == TU_OK && i < map_n(node); i++) {
		yaml_node_t *k = map_key(c, node, i), *v = map_value(c, node, i);

		if (v->type != YAML_SCALAR_NODE && !is_action_key(text(k))) {
			st = fail(c, k, path,
				  "unknown field \"%s\" (known: target, action, if, expect, "
				  "expect_absent, fields, and the action's params as strings)",
				  text(k));
			break;
		}
		path_key(sub, path, text(k));
		st = parse_action_key(c, k, v, sub, a);
	}
	if (st == TU_OK && a->target == NULL)
		st = fail(c, node, path, "missing required field \"target\"");
	if (st == TU_OK && a->action == NULL)
		st = fail(c, node, path, "missing required field \"action\"");
	if (st != TU_OK)
		return st;
	if (a->params.n > 1) /* items is NULL without params: qsort must not see it */
		qsort(a->params.items, a->params.n, sizeof(*a->params.items), kv_cmp);
	for (size_t i = 1; i < a->params.n; i++) {
		if (strcmp(a->params.items[i - 1].key, a->params.items[i].key) == 0)
			return fail(c, node, path, "param \"%s\" is given twice",
				    a->params.items[i].key);
	}
	t = tu_config_target(c->cfg, a->target);
	if (t == NULL) {
		for (size_t i = 0; i < c->cfg->n_targets; i++)
			list_add(known, sizeof(known), c->cfg->targets[i].name);
		path_key(sub, path, "target");
		return fail(c, map_get(c, node, "target"), sub,
			    "unknown target \"%s\" (configured: %s)", a->target,
			    c->cfg->n_targets > 0 ? known : "none");
	}
	return check_verb(c, node, path, a, t);
}

static tu_status parse_action_list(struct ctx *c, yaml_node_t *node, const char *path,
				   void *dst)
{
	struct tu_actions *acts = dst;
	tu_status st = open_seq(c, node, path);

	if (st != TU_OK)
		return st;
	acts->n = seq_n(node);
	acts->items = tu_xcalloc(acts->n, sizeof(*acts->items));
	return parse_items(c, node, path, acts->items, sizeof(*acts->items), parse_action);
}

/* ------------------------------------------------------------------------ */
/* rules                                                                     */

static bool in_list(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

static tu_status not_rule_source(struct ctx *c, yaml_node_t *node, const char *path,
				 const struct tu_presence_rule *p, const char *name)
{
	char known[LIST_LEN] = "";

	for (size_t i = 0; i < p->n_sources; i++)
		list_add(known, sizeof(known), p->sources[i]);
	return fail(c, node, path, "\"%s\" is not one of this rule's sources (%s)", name, known);
}

/* when_extra / when_missing: source -> list of actions. */
static tu_status parse_source_actions(struct ctx *c, yaml_node_t *node, const char *path,
				      const struct tu_presence_rule *p,
				      struct tu_source_actions **out, size_t *n)
{
	char sub[PATH_LEN];
	tu_status st = open_map(c, node, path);

	if (st != TU_OK)
		return st;
	*n = map_n(node);
	*out = tu_xcalloc(*n, sizeof(**out));
	for (size_t i = 0; st == TU_OK && i < *n; i++) {
		yaml_node_t *k = map_key(c, node, i);
		if (!in_list(p->sources, p->n_sources, text(k)))
			return not_rule_source(c, k, path, p, text(k));
		path_key(sub, path, text(k));
		st = copy(c, k, sub, text(k), &(*out)[i].source);
		if (st == TU_OK)
			st = parse_action_list(c, map_value(c, node, i), sub, &(*out)[i].actions);
	}
	return st;
}

/* Nodes of a presence rule that need the rule's sources first. */
struct presence_nodes {
	yaml_node_t *sources;      /* list of source names */
	yaml_node_t *authority;    /* a name or a list; NULL: the first source */
	yaml_node_t *when_extra;   /* source -> actions */
	yaml_node_t *when_missing; /* source -> actions */
};

static tu_status parse_presence(struct ctx *c, yaml_node_t *node, const char *path,
				const struct presence_nodes *pn, struct tu_presence_rule *p)
{
	char sub[PATH_LEN], item[PATH_LEN];
	tu_status st;

	path_key(sub, path, "sources");
	st = parse_names(c, pn->sources, sub, false, "source", &p->sources, &p->n_sources);
	for (size_t i = 0; st == TU_OK && i < p->n_sources; i++) {
		path_index(item, sub, i);
		st = check_source_ref(c, seq_item(c, pn->sources, i), item, p->sources[i]);
	}
	if (st == TU_OK && p->n_sources < 2)
		st = fail(c, pn->sources, sub, "a presence rule compares at least two sources");
	if (st != TU_OK)
		return st;
	path_key(sub, path, "authority");
	if (pn->authority == NULL) {
		p->n_authority = 1;
		p->authority = tu_xcalloc(1, sizeof(*p->authority));
		p->authority[0] = tu_xstrdup(p->sources[0]);
	} else {
		st = parse_names(c, pn->authority, sub, true, "source", &p->authority,
				 &p->n_authority);
		if (st == TU_OK && p->n_authority == 0)
			st = fail(c, pn->authority, sub, "must name at least one source");
	}
	for (size_t i = 0; st == TU_OK && pn->authority != NULL && i < p->n_authority; i++) {
		yaml_node_t *at = pn->authority;
		const char *at_path = sub;

		if (pn->authority->type == YAML_SEQUENCE_NODE) {
			at = seq_item(c, pn->authority, i);
			path_index(item, sub, i);
			at_path = item;
		}
		if (!in_list(p->sources, p->n_sources, p->authority[i]))
			st = not_rule_source(c, at, at_path, p, p->authority[i]);
	}
	if (st == TU_OK && pn->when_extra != NULL) {
		path_key(sub, path, "when_extra");
		st = parse_source_actions(c, pn->when_extra, sub, p, &p->when_extra, &p->n_extra);
	}
	if (st == TU_OK && pn->when_missing != NULL) {
		path_key(sub, path, "when_missing");
		st = parse_source_actions(c, pn->when_missing, sub, p, &p->when_missing,
					  &p->n_missing);
	}
	return st;
}

static tu_status check_counter(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_counter_rule *r = dst;
	char sub[PATH_LEN];

	path_key(sub, path, "source");
	return check_source_ref(c, map_get(c, node, "source"), sub, r->source);
}

/* of: the source must be configured and the suffix must compile with a group. */
static tu_status check_of(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_counter_rule *r = dst;
	char sub[PATH_LEN], rerr[256];
	yaml_node_t *at = map_get(c, node, "suffix");
	const char *at_path = sub;
	regex_t re;
	int rc;
	tu_status st;

	path_key(sub, path, "source");
	st = check_source_ref(c, map_get(c, node, "source"), sub, r->of_source);
	if (st != TU_OK)
		return st;
	path_key(sub, path, "suffix");
	if (at == NULL) {
		at = node; /* the default suffix */
		at_path = path;
	}
	rc = regcomp(&re, r->suffix, REG_EXTENDED);
	if (rc != 0) {
		regerror(rc, &re, rerr, sizeof(rerr));
		return fail(c, at, at_path, "invalid regular expression \"%s\": %s", r->suffix,
			    rerr);
	}
	if (re.re_nsub < 1) {
		regfree(&re);
		return fail(c, at, at_path,
			    "\"%s\" has no capture group: put the number in ( ), e.g. -([0-9]+)$",
			    r->suffix);
	}
	if (r->suffix_compiled)
		regfree(&r->suffix_re);
	r->suffix_re = re;
	r->suffix_compiled = true;
	return TU_OK;
}

#define CTR(m) offsetof(struct tu_counter_rule, m)
static const struct field counter_fields[] = {
	{ FLD("kind", F_NAME, CTR(kind)), .required = true },
	{ FLD("name", F_STR, CTR(name)), .required = true, .max = TU_MAX_NAME },
	{ FLD("namespace", F_STR, CTR(ns)), .max = TU_MAX_NAME },
	{ FLD("source", F_NAME, CTR(source)), .required = true },
	{ FLD("attr", F_STR, CTR(attr)), .max = TU_MAX_ATTR_KEY },
};
static const struct field of_fields[] = {
	{ FLD("kind", F_NAME, CTR(of_kind)), .required = true },
	{ FLD("source", F_NAME, CTR(of_source)), .required = true },
	{ FLD("suffix", F_STR, CTR(suffix)) },
};
static const struct field counter_rule_fields[] = {
	{ FLD("counter", F_MAP, 0), .required = true, SUB(counter_fields), .fn = check_counter },
	{ FLD("of", F_MAP, 0), .required = true, SUB(of_fields), .fn = check_of },
	{ FLD("offset", F_I64, CTR(offset)), .max = INT32_MAX },
	{ FLD("fix", F_FN, CTR(fix)), .fn = parse_action_list },
};
#undef CTR

/* The source of another entity: a configured source, or "hb" (heartbeats). */
static tu_status check_source_or_hb(struct ctx *c, yaml_node_t *node, const char *path,
				    const char *name)
{
	if (strcmp(name, "hb") == 0)
		return TU_OK;
	return check_source_ref(c, node, path, name);
}

static tu_status check_entity_tmpl(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_entity_tmpl *e = dst;
	char sub[PATH_LEN];

	path_key(sub, path, "source");
	return check_source_or_hb(c, map_get(c, node, "source"), sub, e->source);
}

#define ET(m) offsetof(struct tu_entity_tmpl, m)
static const struct field entity_tmpl_fields[] = {
	{ FLD("kind", F_NAME, ET(kind)), .required = true },
	{ FLD("source", F_NAME, ET(source)), .required = true },
	{ FLD("namespace", F_TMPL, ET(ns)) },
	{ FLD("name", F_TMPL, ET(name)), .required = true },
};
#undef ET

static tu_status parse_entity_tmpl(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_entity_tmpl *e = dst;
	struct field_set set = { entity_tmpl_fields, ARRAY_LEN(entity_tmpl_fields), e };

	e->ns = tu_xstrdup("{namespace}");
	tu_status st = parse_fields(c, node, path, &set, 1);
	if (st == TU_OK)
		st = check_entity_tmpl(c, node, path, e);
	return st;
}

static tu_status check_attr_cond(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_attr_cond *a = dst;

	if ((a->equals == NULL) == (a->equals_attr == NULL))
		return fail(c, node, path, "needs exactly one of equals and equals_attr");
	return TU_OK;
}

#define AC(m) offsetof(struct tu_attr_cond, m)
static const struct field attr_cond_fields[] = {
	{ FLD("attr", F_STR, AC(attr)), .required = true, .max = TU_MAX_ATTR_KEY },
	{ FLD("equals", F_TMPL, AC(equals)) },
	{ FLD("equals_attr", F_STR, AC(equals_attr)), .max = TU_MAX_ATTR_KEY },
};
#undef AC

static tu_status parse_attr_cond(struct ctx *c, yaml_node_t *node, const char *path, void *item)
{
	struct field_set set = { attr_cond_fields, ARRAY_LEN(attr_cond_fields), item };
	tu_status st = parse_fields(c, node, path, &set, 1);
	if (st == TU_OK)
		st = check_attr_cond(c, node, path, item);
	return st;
}

/* A non-empty list of maps into a fresh array of n structs of size each. */
static tu_status parse_list(struct ctx *c, yaml_node_t *node, const char *path, size_t size,
			    item_fn fn, bool required, void **out, size_t *n)
{
	tu_status st = open_seq(c, node, path);
	if (st != TU_OK)
		return st;
	if (required && seq_n(node) == 0)
		return fail(c, node, path, "needs at least one entry");
	*n = seq_n(node);
	*out = tu_xcalloc(*n ? *n : 1, size);
	return parse_items(c, node, path, *out, size, fn);
}

/* --- spec ------------------------------------------------------------------ */

#define SF(m) offsetof(struct tu_spec_field, m)
static const struct field spec_field_fields[] = {
	{ FLD("attr", F_STR, SF(attr)), .required = true, .max = TU_MAX_ATTR_KEY },
	{ FLD("actual_attr", F_STR, SF(actual_attr)), .max = TU_MAX_ATTR_KEY },
	{ FLD("compare", F_ENUM, SF(cmp)), NAMES(compare_names) },
};
#undef SF

static tu_status parse_spec_field(struct ctx *c, yaml_node_t *node, const char *path, void *item)
{
	struct tu_spec_field *f = item;
	struct field_set set = { spec_field_fields, ARRAY_LEN(spec_field_fields), f };
	f->cmp = TU_CMP_STRING;
	tu_status st = parse_fields(c, node, path, &set, 1);
	if (st == TU_OK && f->actual_attr == NULL)
		f->actual_attr = tu_xstrdup(f->attr);
	return st;
}

static tu_status parse_spec_fields(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_spec_rule *r = dst;
	return parse_list(c, node, path, sizeof(*r->fields), parse_spec_field, true,
			  (void **)&r->fields, &r->n_fields);
}

static tu_status check_spec(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_spec_rule *r = dst;
	char sub[PATH_LEN];
	path_key(sub, path, "desired");
	tu_status st = check_source_ref(c, map_get(c, node, "desired"), sub, r->desired);
	path_key(sub, path, "actual");
	if (st == TU_OK)
		st = check_source_ref(c, map_get(c, node, "actual"), sub, r->actual);
	if (st == TU_OK && strcmp(r->desired, r->actual) == 0)
		st = fail(c, map_get(c, node, "actual"), sub, "desired and actual are the same source");
	return st;
}

#define SPEC(m) offsetof(struct tu_spec_rule, m)
static const struct field spec_rule_fields[] = {
	{ FLD("kind", F_NAME, SPEC(kind)), .required = true },
	{ FLD("desired", F_NAME, SPEC(desired)), .required = true },
	{ FLD("actual", F_NAME, SPEC(actual)), .required = true },
	{ FLD("fields", F_FN, 0), .required = true, .fn = parse_spec_fields },
	{ FLD("fix", F_FN, SPEC(fix)), .fn = parse_action_list },
};
#undef SPEC

/* --- count ------------------------------------------------------------------ */

static tu_status check_count(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_count_rule *r = dst;
	char sub[PATH_LEN];
	path_key(sub, path, "source");
	tu_status st = check_source_or_hb(c, map_get(c, node, "source"), sub, r->source);
	if (st == TU_OK) {
		yaml_node_t *of = map_get(c, node, "of");
		path_key(sub, path, "of");
		char src[PATH_LEN];
		path_key(src, sub, "source");
		st = check_source_or_hb(c, map_get(c, of, "source"), src, r->of_source);
	}
	return st;
}

#define CNT(m) offsetof(struct tu_count_rule, m)
static const struct field count_of_fields[] = {
	{ FLD("kind", F_NAME, CNT(of_kind)), .required = true },
	{ FLD("source", F_NAME, CNT(of_source)), .required = true },
	{ FLD("namespace", F_TMPL, CNT(of_ns)) },
};
static const struct field count_rule_fields[] = {
	{ FLD("kind", F_NAME, CNT(kind)), .required = true },
	{ FLD("source", F_NAME, CNT(source)), .required = true },
	{ FLD("attr", F_STR, CNT(attr)), .required = true, .max = TU_MAX_ATTR_KEY },
	{ FLD("of", F_MAP, 0), .required = true, SUB(count_of_fields) },
	{ FLD("confirm", F_INT, CNT(confirm)), .min = 1, .max = 1000 },
	{ FLD("fix", F_FN, CNT(fix)), .fn = parse_action_list },
};
#undef CNT

/* --- reference --------------------------------------------------------------- */

#define GD(m) offsetof(struct tu_guard, m)
static const struct field guard_fields[] = {
	{ FLD("kind", F_NAME, GD(entity.kind)), .required = true },
	{ FLD("source", F_NAME, GD(entity.source)), .required = true },
	{ FLD("namespace", F_TMPL, GD(entity.ns)) },
	{ FLD("name", F_TMPL, GD(entity.name)), .required = true },
	{ FLD("attr", F_STR, GD(cond.attr)), .required = true, .max = TU_MAX_ATTR_KEY },
	{ FLD("equals", F_TMPL, GD(cond.equals)) },
	{ FLD("equals_attr", F_STR, GD(cond.equals_attr)), .max = TU_MAX_ATTR_KEY },
	{ FLD("missing_ok", F_BOOL, GD(missing_ok)) },
};
#undef GD

static tu_status parse_guard(struct ctx *c, yaml_node_t *node, const char *path, void *item)
{
	struct tu_guard *g = item;
	struct field_set set = { guard_fields, ARRAY_LEN(guard_fields), g };
	g->entity.ns = tu_xstrdup("{namespace}");
	tu_status st = parse_fields(c, node, path, &set, 1);
	if (st == TU_OK)
		st = check_entity_tmpl(c, node, path, &g->entity);
	if (st == TU_OK)
		st = check_attr_cond(c, node, path, &g->cond);
	return st;
}

static tu_status parse_guards(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_reference_rule *r = dst;
	return parse_list(c, node, path, sizeof(*r->guards), parse_guard, false,
			  (void **)&r->guards, &r->n_guards);
}

static tu_status compile_re(struct ctx *c, yaml_node_t *node, const char *path, const char *re_text,
			    regex_t *re, bool *compiled)
{
	char rerr[256];
	int rc = regcomp(re, re_text, REG_EXTENDED);
	if (rc != 0) {
		regerror(rc, re, rerr, sizeof(rerr));
		return fail(c, node, path, "invalid regular expression \"%s\": %s", re_text, rerr);
	}
	*compiled = true;
	return TU_OK;
}

static tu_status check_reference(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_reference_rule *r = dst;
	char sub[PATH_LEN];
	path_key(sub, path, "source");
	tu_status st = check_source_ref(c, map_get(c, node, "source"), sub, r->source);
	if (st == TU_OK && r->match != NULL) {
		path_key(sub, path, "match");
		st = compile_re(c, map_get(c, node, "match"), sub, r->match, &r->match_re,
				&r->match_compiled);
	}
	return st;
}

static tu_status parse_selector(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_entity_tmpl *e = dst;
	return parse_list(c, node, path, sizeof(*e->selector), parse_attr_cond, true,
			  (void **)&e->selector, &e->n_selector);
}

#define OW(m) offsetof(struct tu_entity_tmpl, m)
static const struct field owner_fields[] = {
	{ FLD("kind", F_NAME, OW(kind)), .required = true },
	{ FLD("source", F_NAME, OW(source)), .required = true },
	{ FLD("namespace", F_TMPL, OW(ns)) },
	{ FLD("name", F_TMPL, OW(name)) },
	{ FLD("selector", F_FN, 0), .fn = parse_selector },
};
#undef OW

static tu_status parse_owner(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_entity_tmpl *e = dst;
	struct field_set set = { owner_fields, ARRAY_LEN(owner_fields), e };

	e->ns = tu_xstrdup("{namespace}");
	tu_status st = parse_fields(c, node, path, &set, 1);
	if (st == TU_OK && (e->name == NULL) == (e->selector == NULL))
		st = fail(c, node, path, "needs exactly one of name and selector");
	if (st == TU_OK)
		st = check_entity_tmpl(c, node, path, e);
	return st;
}

#define REF(m) offsetof(struct tu_reference_rule, m)
static const struct field reference_rule_fields[] = {
	{ FLD("kind", F_NAME, REF(kind)), .required = true },
	{ FLD("source", F_NAME, REF(source)), .required = true },
	{ FLD("match", F_STR, REF(match)) },
	{ FLD("owner", F_FN, REF(owner)), .required = true, .fn = parse_owner },
	{ FLD("guards", F_FN, 0), .fn = parse_guards },
	{ FLD("when_orphan", F_FN, REF(when_orphan)), .fn = parse_action_list },
};
#undef REF

/* --- equal ------------------------------------------------------------------- */

#define EV(m) offsetof(struct tu_equal_value, m)
static const struct field equal_value_fields[] = {
	{ FLD("label", F_NAME, EV(label)) },
	{ FLD("kind", F_NAME, EV(entity.kind)), .required = true },
	{ FLD("source", F_NAME, EV(entity.source)), .required = true },
	{ FLD("namespace", F_TMPL, EV(entity.ns)) },
	{ FLD("name", F_TMPL, EV(entity.name)), .required = true },
	{ FLD("attr", F_STR, EV(attr)), .required = true, .max = TU_MAX_ATTR_KEY },
};
#undef EV

static tu_status parse_equal_value(struct ctx *c, yaml_node_t *node, const char *path, void *item)
{
	struct tu_equal_value *v = item;
	struct field_set set = { equal_value_fields, ARRAY_LEN(equal_value_fields), v };
	v->entity.ns = tu_xstrdup("{namespace}");
	tu_status st = parse_fields(c, node, path, &set, 1);
	if (st == TU_OK)
		st = check_entity_tmpl(c, node, path, &v->entity);
	if (st == TU_OK && v->label == NULL)
		v->label = tu_xasprintf("%s-%s", v->entity.kind, v->attr);
	return st;
}

static tu_status parse_equal_values(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_equal_rule *r = dst;
	tu_status st = parse_list(c, node, path, sizeof(*r->values), parse_equal_value, true,
				  (void **)&r->values, &r->n_values);
	if (st == TU_OK && r->n_values < 2)
		st = fail(c, node, path, "an equal rule compares at least two values");
	if (st == TU_OK) {
		const char **labels = tu_xcalloc(r->n_values, sizeof(*labels));
		for (size_t i = 0; i < r->n_values; i++)
			labels[i] = r->values[i].label;
		st = check_unique(c, node, path, labels, "label", "value label");
		free(labels);
	}
	return st;
}

static tu_status check_equal(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_equal_rule *r = dst;
	char sub[PATH_LEN];
	path_key(sub, path, "source");
	return check_source_ref(c, map_get(c, node, "source"), sub, r->source);
}

#define EQ(m) offsetof(struct tu_equal_rule, m)
static const struct field equal_rule_fields[] = {
	{ FLD("kind", F_NAME, EQ(kind)), .required = true },
	{ FLD("source", F_NAME, EQ(source)), .required = true },
	{ FLD("values", F_FN, 0), .required = true, .fn = parse_equal_values },
	{ FLD("compare", F_ENUM, EQ(cmp)), NAMES(compare_names) },
	{ FLD("fix", F_FN, EQ(fix)), .fn = parse_action_list },
};
#undef EQ

/* --- pod-status ------------------------------------------------------------------ */

static void strv_free(char **v, size_t n);

static tu_status parse_zombie_reasons(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_pod_status_rule *r = dst;
	strv_free(r->zombie_reasons, r->n_zombie_reasons);
	return parse_strings(c, node, path, TU_MAX_ATTR_VALUE, &r->zombie_reasons,
			     &r->n_zombie_reasons);
}

static tu_status parse_pull_reasons(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_pod_status_rule *r = dst;
	strv_free(r->pull_reasons, r->n_pull_reasons);
	return parse_strings(c, node, path, TU_MAX_ATTR_VALUE, &r->pull_reasons,
			     &r->n_pull_reasons);
}

static tu_status parse_ready(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	struct tu_pod_status_rule *r = dst;
	return parse_list(c, node, path, sizeof(*r->ready), parse_attr_cond, false,
			  (void **)&r->ready, &r->n_ready);
}

static tu_status check_pod_status(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	const struct tu_pod_status_rule *r = dst;
	char sub[PATH_LEN];
	path_key(sub, path, "source");
	tu_status st = check_source_ref(c, map_get(c, node, "source"), sub, r->source);
	if (st == TU_OK && r->when_image_pull.n > 0 && r->owner.kind == NULL)
		st = fail(c, node, path, "when_image_pull needs owner (the workload to roll back)");
	return st;
}

#define PS(m) offsetof(struct tu_pod_status_rule, m)
static const struct field pod_status_rule_fields[] = {
	{ FLD("kind", F_NAME, PS(kind)), .required = true },
	{ FLD("source", F_NAME, PS(source)), .required = true },
	{ FLD("reason_attr", F_STR, PS(reason_attr)), .max = TU_MAX_ATTR_KEY },
	{ FLD("zombie_reasons", F_FN, 0), .fn = parse_zombie_reasons },
	{ FLD("terminating_attr", F_STR, PS(terminating_attr)), .max = TU_MAX_ATTR_KEY },
	{ FLD("terminating_grace", F_DUR, PS(terminating_grace)) },
	{ FLD("when_zombie", F_FN, PS(when_zombie)), .fn = parse_action_list },
	{ FLD("pull_reasons", F_FN, 0), .fn = parse_pull_reasons },
	{ FLD("owner", F_FN, PS(owner)), .fn = parse_entity_tmpl },
	{ FLD("image_attr", F_STR, PS(image_attr)), .max = TU_MAX_ATTR_KEY },
	{ FLD("pod_image_attr", F_STR, PS(pod_image_attr)), .max = TU_MAX_ATTR_KEY },
	{ FLD("ready", F_FN, 0), .fn = parse_ready },
	{ FLD("when_image_pull", F_FN, PS(when_image_pull)), .fn = parse_action_list },
};
#undef PS

/* --- heartbeat ------------------------------------------------------------------- */

#define HB(m) offsetof(struct tu_heartbeat_rule, m)
static const struct field heartbeat_rule_fields[] = {
	{ FLD("service", F_STR, HB(service)), .max = TU_MAX_NAMESPACE },
	{ FLD("forget", F_DUR, HB(forget)), .min = 1 },
	{ FLD("when_stale", F_FN, HB(when_stale)), .fn = parse_action_list },
};
#undef HB

#define RULE(m) offsetof(struct tu_rule_config, m)
static const struct field budget_fields[] = {
	{ FLD("max", F_INT, RULE(budget_max)) },
	{ FLD("window", F_DUR, RULE(budget_window)), .min = 1 },
};
static const struct field rule_fields[] = {
	{ FLD("name", F_NAME, RULE(name)), .required = true },
	{ FLD("type", F_SKIP, 0) },
	{ FLD("mode", F_ENUM, RULE(mode)), NAMES(mode_names) },
	{ FLD("for", F_DUR, RULE(for_ms)) },
	{ FLD("max_attempts", F_INT, RULE(max_attempts)), .min = 1 },
	{ FLD("on_escalate", F_FN, RULE(on_escalate)), .fn = parse_action_list },
	{ FLD("budget", F_MAP, 0), SUB(budget_fields) },
};
#undef RULE

static const struct field presence_fields[] = {
	{ FLD("kind", F_NAME, offsetof(struct tu_presence_rule, kind)), .required = true },
};

#define PN(m) offsetof(struct presence_nodes, m)
static const struct field presence_node_fields[] = {
	{ FLD("sources", F_NODE, PN(sources)), .required = true },
	{ FLD("authority", F_NODE, PN(authority)) },
	{ FLD("when_extra", F_NODE, PN(when_extra)) },
	{ FLD("when_missing", F_NODE, PN(when_missing)) },
};
#undef PN

static tu_status parse_rule(struct ctx *c, yaml_node_t *node, const char *path, void *item)
{
	struct tu_rule_config *r = item;
	struct presence_nodes pn = { 0 };
	struct field_set sets[3] = { { rule_fields, ARRAY_LEN(rule_fields), r } };
	size_t n_sets = 3;
	int type = 0;
	tu_status st = get_type(c, node, path, rule_types, ARRAY_LEN(rule_types), &type);

	if (st != TU_OK)
		return st;
	r->type = (enum tu_rule_type)type;
	r->line = (int)line_of(node);
	r->mode = TU_MODE_DETECT;
	r->for_ms = 0;
	r->max_attempts = 3;
	r->budget_max = 50;
	r->budget_window = 10 * MS_M;
	n_sets = 2;
	switch (r->type) {
	case TU_RULE_PRESENCE:
		sets[1] = (struct field_set){ presence_fields, ARRAY_LEN(presence_fields),
					      &r->presence };
		sets[2] = (struct field_set){ presence_node_fields,
					      ARRAY_LEN(presence_node_fields), &pn };
		n_sets = 3;
		break;
	case TU_RULE_COUNTER:
		r->counter.ns = tu_xstrdup("default");
		r->counter.attr = tu_xstrdup("value");
		r->counter.suffix = tu_xstrdup("-([0-9]+)$");
		r->counter.offset = 1;
		sets[1] = (struct field_set){ counter_rule_fields, ARRAY_LEN(counter_rule_fields),
					      &r->counter };
		break;
	case TU_RULE_SPEC:
		sets[1] = (struct field_set){ spec_rule_fields, ARRAY_LEN(spec_rule_fields),
					      &r->spec };
		break;
	case TU_RULE_COUNT:
		r->count.of_ns = tu_xstrdup("{name}");
		r->count.confirm = 1;
		sets[1] = (struct field_set){ count_rule_fields, ARRAY_LEN(count_rule_fields),
					      &r->count };
		break;
	case TU_RULE_REFERENCE:
		sets[1] = (struct field_set){ reference_rule_fields,
					      ARRAY_LEN(reference_rule_fields), &r->reference };
		break;
	case TU_RULE_EQUAL:
		r->equal.cmp = TU_CMP_STRING;
		sets[1] = (struct field_set){ equal_rule_fields, ARRAY_LEN(equal_rule_fields),
					      &r->equal };
		break;
	case TU_RULE_POD_STATUS: {
		struct tu_pod_status_rule *ps = &r->pod_status;
		ps->reason_attr = tu_xstrdup("reason");
		ps->terminating_attr = tu_xstrdup("deletion_timestamp");
		ps->terminating_grace = 5 * MS_M;
		ps->image_attr = tu_xstrdup("image");
		ps->pod_image_attr = tu_xstrdup("image");
		ps->n_zombie_reasons = 1;
		ps->zombie_reasons = tu_xcalloc(1, sizeof(char *));
		ps->zombie_reasons[0] = tu_xstrdup("ContainerStatusUnknown");
		ps->n_pull_reasons = 2;
		ps->pull_reasons = tu_xcalloc(2, sizeof(char *));
		ps->pull_reasons[0] = tu_xstrdup("ImagePullBackOff");
		ps->pull_reasons[1] = tu_xstrdup("ErrImagePull");
		sets[1] = (struct field_set){ pod_status_rule_fields,
					      ARRAY_LEN(pod_status_rule_fields), ps };
		break;
	}
	case TU_RULE_HEARTBEAT:
		r->heartbeat.forget = 1 * MS_H;
		sets[1] = (struct field_set){ heartbeat_rule_fields,
					      ARRAY_LEN(heartbeat_rule_fields), &r->heartbeat };
		break;
	case TU_RULE_SOURCE_SUSPECT:
		break; /* not in rule_types: get_type never yields it */
	}
	st = parse_fields(c, node, path, sets, n_sets);
	if (st == TU_OK && strcmp(r->name, TU_RULE_SOURCE_SUSPECT_NAME) == 0)
		st = fail(c, map_get(c, node, "name"), path, "the rule name \"%s\" is reserved (the "
			  "blast-radius drift of a suspect scan)", TU_RULE_SOURCE_SUSPECT_NAME);
	if (st == TU_OK && r->type == TU_RULE_PRESENCE)
		st = parse_presence(c, node, path, &pn, &r->presence);
	else if (st == TU_OK && r->type == TU_RULE_SPEC)
		st = check_spec(c, node, path, &r->spec);
	else if (st == TU_OK && r->type == TU_RULE_COUNT)
		st = check_count(c, node, path, &r->count);
	else if (st == TU_OK && r->type == TU_RULE_REFERENCE)
		st = check_reference(c, node, path, &r->reference);
	else if (st == TU_OK && r->type == TU_RULE_EQUAL)
		st = check_equal(c, node, path, &r->equal);
	else if (st == TU_OK && r->type == TU_RULE_POD_STATUS)
		st = check_pod_status(c, node, path, &r->pod_status);
	return st;
}

static tu_status parse_rules(struct ctx *c, yaml_node_t *node, const char *path)
{
	struct tu_config *cfg = c->cfg;
	tu_status st = open_seq(c, node, path);

	if (st != TU_OK)
		return st;
	cfg->n_rules = seq_n(node);
	cfg->rules = tu_xcalloc(cfg->n_rules, sizeof(*cfg->rules));
	return parse_named(c, node, path, cfg->rules, sizeof(*cfg->rules),
			   offsetof(struct tu_rule_config, name), parse_rule, "rule name");
}

static tu_status defer_rules(struct ctx *c, yaml_node_t *node, const char *path, void *dst)
{
	c->rules = node;
	return TU_OK;
}

/* ------------------------------------------------------------------------ */
/* The document                                                              */

#define CFG(m) offsetof(struct tu_config, m)
static const struct field root_fields[] = {
	{ FLD("nats", F_MAP, CFG(nats)), SUB(nats_fields), .fn = check_nats },
	{ FLD("streams", F_MAP, CFG(streams)), SUB(streams_fields) },
	{ FLD("processor", F_MAP, CFG(processor)), SUB(processor_fields), .fn = check_processor },
	{ FLD("log", F_MAP, CFG(log)), SUB(log_fields) },
	{ FLD("http", F_MAP, CFG(http)), SUB(http_fields) },
	{ FLD("sources", F_FN, 0), .fn = parse_sources },
	{ FLD("targets", F_FN, 0), .fn = parse_targets },
	{ FLD("rules", F_FN, 0), .fn = defer_rules },
};
#undef CFG

static void stream_defaults(struct tu_stream_config *s, const char *name, int64_t max_age)
{
	s->name = tu_xstrdup(name);
	s->max_age = max_age;
	s->max_bytes = -1;
	s->max_msgs = -1;
	s->duplicates = 10 * MS_M;
	s->replicas = 1;
	s->max_msg_size = 1024 * 1024;
}

static void set_defaults(struct tu_config *cfg)
{
	struct tu_nats_config *n = &cfg->nats;
	struct tu_processor_config *p = &cfg->processor;

	n->url = tu_xstrdup("nats://127.0.0.1:4222");
	n->connect_timeout = 2 * MS_S;
	n->request_timeout = 5 * MS_S;
	n->max_reconnect = -1;
	n->reconnect_wait = 1 * MS_S;
	stream_defaults(&cfg->streams.events, TU_STREAM_EVENTS, 30 * MS_D);
	stream_defaults(&cfg->streams.drift, TU_STREAM_DRIFT, 30 * MS_D);
	stream_defaults(&cfg->streams.cmd, TU_STREAM_CMD, 7 * MS_D);
	stream_defaults(&cfg->streams.dead, TU_STREAM_DEAD, 30 * MS_D);
	p->view = tu_xstrdup("/var/lib/trueup/view");
	p->map_size = INT64_C(1) << 30;
	p->consumer = tu_xstrdup("trueup-processor");
	p->batch = 1024;
	p->fetch_wait = 500;
	p->ack_wait = 30 * MS_S;
	p->max_ack_pending = 8192;
	p->tick = 1 * MS_S;
	p->sync = TU_SYNC_NONE;
	p->sync_interval = 5 * MS_S;
	p->outbox_inflight = 4096;
	p->outbox_retry = 5 * MS_S;
	p->command_ttl = 10 * MS_M;
	p->shutdown_grace = 10 * MS_S;
	p->lease.bucket = tu_xstrdup("trueup_leases");
	p->lease.partition = tu_xstrdup("0");
	p->lease.ttl = 10 * MS_S;
	p->lease.renew = 2 * MS_S;
	cfg->log.level = TU_LOG_INFO;
	cfg->log.format = TU_LOG_JSON;
	cfg->http.processor = tu_xstrdup("127.0.0.1:9464");
	cfg->http.producer = tu_xstrdup("127.0.0.1:9465");
	cfg->http.actuator = tu_xstrdup("127.0.0.1:9466");
}

/* "file:line:col: yaml: problem (context at line:col)" from a libyaml error. */
static tu_status syntax_error(const char *name, const yaml_parser_t *p, const char *data,
			      size_t len, char *err, size_t errlen)
{
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	const char *problem = p->problem != NULL ? p->problem : "cannot parse";

	if (p->error == YAML_MEMORY_ERROR) {
		set_err(err, errlen, "%s: yaml: out of memory", name);
		return TU_ENOMEM;
	}
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		line = 1;
		col = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++) {
			col++;
			if (data[i] == '\n') {
				line++;
				col = 1;
			}
		}
		if (p->problem_value != -1) {
			set_err(err, errlen, "%s:%zu:%zu: yaml: %s (byte 0x%02X)", name, line, col,
				problem, (unsigned)p->problem_value & 0xffu);
			return TU_EINVAL;
		}
	}
	if (p->context != NULL)
		set_err(err, errlen, "%s:%zu:%zu: yaml: %s (%s at line %zu, column %zu)", name,
			line, col, problem, p->context, p->context_mark.line + 1,
			p->context_mark.column + 1);
	else
		set_err(err, errlen, "%s:%zu:%zu: yaml: %s", name, line, col, problem);
	return TU_EINVAL;
}

/* Parses and validates one YAML text into *out. */
/*
 * A standby that takes over re-sends what the old holder may have published
 * in its last ttl + renew: the duplicate windows must cover that.
 */
static tu_status check_lease_windows(struct ctx *c, yaml_node_t *root)
{
	const struct tu_lease_config *l = &c->cfg->processor.lease;
	const struct tu_stream_config *outs[] = { &c->cfg->streams.drift, &c->cfg->streams.cmd,
						   &c->cfg->streams.dead };
	if (!l->enabled)
		return TU_OK;
	yaml_node_t *node = map_get(c, map_get(c, root, "processor"), "lease");
	for (size_t i = 0; i < ARRAY_LEN(outs); i++)
		if (outs[i]->duplicates < 2 * (l->ttl + l->renew))
			return fail(c, node != NULL ? node : root, "processor.lease",
				    "ttl + renew (%" PRId64 "ms) must be under half the duplicate "
				    "window of stream %s (%" PRId64 "ms): a new holder re-sends "
				    "what the old one may have sent",
				    l->ttl + l->renew, outs[i]->name, outs[i]->duplicates);
	return TU_OK;
}

static tu_status load(const char *name, const char *base_dir, const char *data, size_t len,
		      struct tu_config **out, char *err, size_t errlen)
{
	struct tu_config *cfg = tu_xcalloc(1, sizeof(*cfg));
	struct ctx c = { .file = name, .base_dir = base_dir, .cfg = cfg, .err = err,
			 .errlen = errlen };
	struct field_set set = { root_fields, ARRAY_LEN(root_fields), cfg };
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_parser = false, have_doc = false;
	yaml_node_t *root, *second;
	tu_status st = TU_OK;

	cfg->path = tu_xstrdup(name);
	set_defaults(cfg);
	if (len > TU_MAX_CONFIG) {
		set_err(err, errlen, "%s: larger than %d bytes (TU_MAX_CONFIG)", name,
			TU_MAX_CONFIG);
		st = TU_ETOOBIG;
		goto out;
	}
	if (yaml_parser_initialize(&parser) == 0) {
		set_err(err, errlen, "%s: yaml: cannot initialize the parser", name);
		st = TU_EINTERNAL;
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (yaml_parser_load(&parser, &doc) == 0) {
		st = syntax_error(name, &parser, data, len, err, errlen);
		goto out;
	}
	have_doc = true;
	c.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		goto out; /* an empty file: every default */
	if (yaml_parser_load(&parser, &extra) == 0) {
		st = syntax_error(name, &parser, data, len, err, errlen);
		goto out;
	}
	second = yaml_document_get_root_node(&extra);
	if (second != NULL)
		st = fail(&c, second, "",
			  "yaml: a second document; the config is one document (remove \"---\")");
	yaml_document_delete(&extra);
	if (st != TU_OK)
		goto out;
	st = parse_fields(&c, root, "", &set, 1);
	if (st == TU_OK && c.on_suspect != NULL)
		st = parse_action_list(&c, c.on_suspect, "processor.on_suspect",
				       &cfg->processor.on_suspect);
	if (st == TU_OK && c.rules != NULL)
		st = parse_rules(&c, c.rules, "rules");
	if (st == TU_OK)
		st = check_lease_windows(&c, root);
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	if (st != TU_OK) {
		tu_config_destroy(cfg);
		return st;
	}
	*out = cfg;
	return TU_OK;
}

/* The absolute directory that holds path (or the current one). */
static tu_status dir_of(const char *path, char **out, char *err, size_t errlen)
{
	char cwd[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (path[0] == '/') {
		*out = slash == path ? tu_xstrdup("/") : tu_xstrndup(path, (size_t)(slash - path));
		return TU_OK;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		set_err(err, errlen, "%s: cannot get the current directory: %s", path,
			strerror(errno));
		return TU_EIO;
	}
	if (slash == NULL)
		*out = tu_xstrdup(cwd);
	else
		*out = tu_xasprintf("%s%s%.*s", cwd, strcmp(cwd, "/") == 0 ? "" : "/",
				    (int)(slash - path), path);
	return TU_OK;
}

/* Reads the whole file (at most TU_MAX_CONFIG bytes) into buf. */
static tu_status read_file(const char *path, struct tu_buf *buf, char *err, size_t errlen)
{
	char chunk[READ_CHUNK];
	struct stat sb;
	ssize_t n;
	tu_status st = TU_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? TU_ENOTFOUND : TU_EIO;
	}
	if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
		set_err(err, errlen, "%s: cannot read: %s", path,
			S_ISDIR(sb.st_mode) ? "is a directory" : strerror(errno));
		st = TU_EIO;
		goto out_close;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			st = TU_EIO;
			break;
		}
		if (n == 0)
			break;
		if (tu_buf_append(buf, chunk, (size_t)n) != TU_OK) {
			set_err(err, errlen, "%s: larger than %d bytes (TU_MAX_CONFIG)", path,
				TU_MAX_CONFIG);
			st = TU_ETOOBIG;
			break;
		}
	}
out_close:
	close(fd);
	return st;
}

tu_status tu_config_load(const char *path, struct tu_config **out, char *err, size_t errlen)
{
	struct tu_buf buf;
	char *dir = NULL;
	tu_status st;

	tu_buf_init(&buf, TU_MAX_CONFIG);
	st = read_file(path, &buf, err, errlen);
	if (st == TU_OK)
		st = dir_of(path, &dir, err, errlen);
	if (st == TU_OK)
		st = load(path, dir, tu_buf_cstr(&buf), buf.len, out, err, errlen);
	free(dir);
	tu_buf_release(&buf);
	return st;
}

tu_status tu_config_load_string(const char *name, const char *yaml, size_t len,
				struct tu_config **out, char *err, size_t errlen)
{
	char cwd[PATH_MAX];

	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		set_err(err, errlen, "%s: cannot get the current directory: %s", name,
			strerror(errno));
		return TU_EIO;
	}
	return load(name, cwd, yaml != NULL ? yaml : "", yaml != NULL ? len : 0, out, err,
		    errlen);
}

/* ------------------------------------------------------------------------ */
/* Lookups and cleanup                                                       */

const char *tu_kvlist_get(const struct tu_kvlist *l, const char *key)
{
	if (l == NULL)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->items[i].key, key) == 0)
			return l->items[i].value;
	}
	return NULL;
}

const struct tu_source_config *tu_config_source(const struct tu_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sources; i++) {
		if (cfg->sources[i].name != NULL && strcmp(cfg->sources[i].name, name) == 0)
			return &cfg->sources[i];
	}
	return NULL;
}

const struct tu_target_config *tu_config_target(const struct tu_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_targets; i++) {
		if (cfg->targets[i].name != NULL && strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	}
	return NULL;
}

const struct tu_rule_config *tu_config_rule(const struct tu_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_rules; i++) {
		if (cfg->rules[i].name != NULL && strcmp(cfg->rules[i].name, name) == 0)
			return &cfg->rules[i];
	}
	return NULL;
}

const char *tu_rule_type_str(enum tu_rule_type t)
{
	if (t == TU_RULE_SOURCE_SUSPECT)
		return TU_RULE_SOURCE_SUSPECT_NAME;
	return enum_str(rule_types, ARRAY_LEN(rule_types), (int)t);
}

const char *tu_source_type_str(enum tu_source_type t)
{
	return enum_str(source_types, ARRAY_LEN(source_types), (int)t);
}

const char *tu_target_type_str(enum tu_target_type t)
{
	return enum_str(target_types, ARRAY_LEN(target_types), (int)t);
}

const char *tu_compare_str(enum tu_compare cmp)
{
	return enum_str(compare_names, ARRAY_LEN(compare_names), (int)cmp);
}

const char *tu_rule_mode_str(enum tu_rule_mode m)
{
	return enum_str(mode_names, ARRAY_LEN(mode_names), (int)m);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void kvlist_release(struct tu_kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
}

static void actions_release(struct tu_actions *acts)
{
	for (size_t i = 0; i < acts->n; i++) {
		struct tu_action_config *a = &acts->items[i];
		free(a->target);
		free(a->action);
		kvlist_release(&a->params);
		for (size_t j = 0; j < a->n_pre; j++)
			precond_release(&a->pre[j]);
		free(a->pre);
	}
	free(acts->items);
}

static void source_actions_free(struct tu_source_actions *sa, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(sa[i].source);
		actions_release(&sa[i].actions);
	}
	free(sa);
}

static void source_release(struct tu_source_config *s)
{
	free(s->name);
	free(s->redis.url);
	free(s->redis.username);
	free(s->redis.password_file);
	for (size_t i = 0; i < s->redis.n_observe; i++) {
		struct tu_redis_observe *o = &s->redis.observe[i];
		free(o->kind);
		free(o->ns);
		free(o->scan);
		free(o->get);
		free(o->name);
		kvlist_release(&o->attrs);
	}
	free(s->redis.observe);
	free(s->files.path);
	strv_free(s->files.kinds, s->files.n_kinds);
	free(s->files.default_ns);
	free(s->docker.daemon.socket);
	strv_free(s->docker.name_prefixes, s->docker.n_name_prefixes);
	strv_free(s->docker.labels, s->docker.n_labels);
	for (size_t i = 0; i < s->docker.n_observe; i++)
		json_mapping_release(&s->docker.observe[i].map);
	free(s->docker.observe);
	mongo_source_release(&s->mongo);
	kube_source_release(&s->kube);
	http_source_release(&s->http);
}

static void target_release(struct tu_target_config *t)
{
	free(t->name);
	free(t->consumer);
	free(t->redis.url);
	free(t->redis.username);
	free(t->redis.password_file);
	free(t->redis.done_prefix);
	free(t->docker.daemon.socket);
	http_target_release(&t->http);
	kube_conn_release(&t->kube.conn);
	free(t->mongo.uri);
	free(t->mongo.password_file);
}

static void attr_cond_release(struct tu_attr_cond *a)
{
	free(a->attr);
	free(a->equals);
	free(a->equals_attr);
}

static void entity_tmpl_release(struct tu_entity_tmpl *e)
{
	free(e->kind);
	free(e->source);
	free(e->ns);
	free(e->name);
	for (size_t i = 0; i < e->n_selector; i++)
		attr_cond_release(&e->selector[i]);
	free(e->selector);
}

static void spec_release(struct tu_spec_rule *r)
{
	free(r->kind);
	free(r->desired);
	free(r->actual);
	for (size_t i = 0; i < r->n_fields; i++) {
		free(r->fields[i].attr);
		free(r->fields[i].actual_attr);
	}
	free(r->fields);
	actions_release(&r->fix);
}

static void count_release(struct tu_count_rule *r)
{
	free(r->kind);
	free(r->source);
	free(r->attr);
	free(r->of_kind);
	free(r->of_source);
	free(r->of_ns);
	actions_release(&r->fix);
}

static void reference_release(struct tu_reference_rule *r)
{
	free(r->kind);
	free(r->source);
	free(r->match);
	if (r->match_compiled)
		regfree(&r->match_re);
	entity_tmpl_release(&r->owner);
	for (size_t i = 0; i < r->n_guards; i++) {
		entity_tmpl_release(&r->guards[i].entity);
		attr_cond_release(&r->guards[i].cond);
	}
	free(r->guards);
	actions_release(&r->when_orphan);
}

static void equal_release(struct tu_equal_rule *r)
{
	free(r->kind);
	free(r->source);
	for (size_t i = 0; i < r->n_values; i++) {
		free(r->values[i].label);
		entity_tmpl_release(&r->values[i].entity);
		free(r->values[i].attr);
	}
	free(r->values);
	actions_release(&r->fix);
}

static void pod_status_release(struct tu_pod_status_rule *r)
{
	free(r->kind);
	free(r->source);
	free(r->reason_attr);
	strv_free(r->zombie_reasons, r->n_zombie_reasons);
	free(r->terminating_attr);
	actions_release(&r->when_zombie);
	strv_free(r->pull_reasons, r->n_pull_reasons);
	entity_tmpl_release(&r->owner);
	free(r->image_attr);
	free(r->pod_image_attr);
	for (size_t i = 0; i < r->n_ready; i++)
		attr_cond_release(&r->ready[i]);
	free(r->ready);
	actions_release(&r->when_image_pull);
}

static void rule_release(struct tu_rule_config *r)
{
	struct tu_presence_rule *p = &r->presence;
	struct tu_counter_rule *k = &r->counter;

	free(r->name);
	free(p->kind);
	strv_free(p->sources, p->n_sources);
	strv_free(p->authority, p->n_authority);
	source_actions_free(p->when_extra, p->n_extra);
	source_actions_free(p->when_missing, p->n_missing);
	free(k->kind);
	free(k->name);
	free(k->ns);
	free(k->source);
	free(k->attr);
	free(k->of_kind);
	free(k->of_source);
	free(k->suffix);
	if (k->suffix_compiled)
		regfree(&k->suffix_re);
	actions_release(&k->fix);
	actions_release(&r->on_escalate);
	spec_release(&r->spec);
	count_release(&r->count);
	reference_release(&r->reference);
	equal_release(&r->equal);
	pod_status_release(&r->pod_status);
	free(r->heartbeat.service);
	actions_release(&r->heartbeat.when_stale);
}

void tu_config_destroy(struct tu_config *cfg)
{
	struct tu_stream_config *streams[4];

	if (cfg == NULL)
		return;
	streams[0] = &cfg->streams.events;
	streams[1] = &cfg->streams.drift;
	streams[2] = &cfg->streams.cmd;
	streams[3] = &cfg->streams.dead;
	free(cfg->path);
	free(cfg->nats.url);
	free(cfg->nats.user);
	free(cfg->nats.password_file);
	free(cfg->nats.creds_file);
	free(cfg->nats.tls_ca);
	free(cfg->nats.tls_cert);
	free(cfg->nats.tls_key);
	free(cfg->nats.tls_hostname);
	for (size_t i = 0; i < ARRAY_LEN(streams); i++)
		free(streams[i]->name);
	free(cfg->processor.view);
	actions_release(&cfg->processor.on_suspect);
	free(cfg->processor.consumer);
	free(cfg->processor.lease.bucket);
	free(cfg->processor.lease.partition);
	free(cfg->http.processor);
	free(cfg->http.producer);
	free(cfg->http.actuator);
	for (size_t i = 0; i < cfg->n_sources; i++)
		source_release(&cfg->sources[i]);
	free(cfg->sources);
	for (size_t i = 0; i < cfg->n_targets; i++)
		target_release(&cfg->targets[i]);
	free(cfg->targets);
	for (size_t i = 0; i < cfg->n_rules; i++)
		rule_release(&cfg->rules[i]);
	free(cfg->rules);
	free(cfg);
}
