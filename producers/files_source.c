/*
 * files_source.c - manifests from a directory (see files_source.h).
 *
 * YAML and JSON are walked through one small node view (struct node), so a
 * manifest is validated by one function whatever its format; only YAML
 * nodes know their line. Invariants: `declared` maps each entity key of the
 * current scan to the file and line that declared it first; file names live
 * in `names` (reset per scan), manifest memory in `arena` (reset per
 * manifest).
 */
#include "files_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "bounds.h"
#include "buf.h"
#include "keymap.h"
#include "log.h"
#include "xalloc.h"

#define MAX_PATH 4096     /* bytes of a manifest file's path */
#define MAX_FIELD_PATH 96 /* bytes of a field path in a warning, e.g. items[12].attrs */
#define READ_CHUNK 65536  /* bytes read from a manifest file at a time */
/*
 * Manifests in one list. With YAML aliases a 4 MiB file could list the same
 * large manifest millions of times; this keeps the work per file bounded.
 */
#define MAX_LIST 100000

struct files_source {
	struct tu_source base;          /* first: the generic handle */
	const struct tu_files_source *fc; /* &base.cfg->files */
	struct tu_arena names;          /* file names of the current scan */
	struct tu_arena arena;          /* one manifest's memory */
};

/* Where an entity was declared first in this scan. */
struct declared {
	const char *file; /* in `names` */
	int line;         /* 0 if unknown (JSON) */
};

/* One scan's state. */
struct files_scan {
	struct files_source *fs;         /* the source being scanned */
	const struct tu_scan_sink *sink; /* where entities and skips go */
	tu_keymap *declared; /* entity key -> struct declared */
	const char *file;    /* file being read (in `names`) */
};

/* A node of a parsed file: YAML (doc and y set) or JSON (j set). */
struct node {
	yaml_document_t *doc; /* YAML document; NULL for JSON */
	yaml_node_t *y;       /* YAML node */
	json_t *j;            /* JSON value */
};

enum node_type { N_SCALAR, N_SEQ, N_MAP };

static enum node_type node_type(const struct node *n)
{
	if (n->doc != NULL)
		return n->y->type == YAML_SEQUENCE_NODE  ? N_SEQ
		       : n->y->type == YAML_MAPPING_NODE ? N_MAP
							 : N_SCALAR;
	return json_is_array(n->j) ? N_SEQ : json_is_object(n->j) ? N_MAP : N_SCALAR;
}

static const char *type_name(const struct node *n)
{
	enum node_type t = node_type(n);
	return t == N_SEQ ? "a list" : t == N_MAP ? "a map" : "a scalar";
}

/* Line of a node, 0 if unknown. */
static int node_line(const struct node *n)
{
	return n->doc != NULL ? (int)n->y->start_mark.line + 1 : 0;
}

/* A YAML plain scalar that means null. */
static bool yaml_null(const yaml_node_t *y)
{
	const char *v = (const char *)y->data.scalar.value;
	if (y->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Shortest decimal that reads back as d. */
static const char *real_text(struct tu_arena *a, double d)
{
	char buf[40];
	if (!isfinite(d))
		return tu_arena_strdup(a, "null");
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return tu_arena_strdup(a, buf);
}

/*
 * Text of a scalar node into *text (arena or node memory); *is_null for a
 * null. False if n is not a scalar.
 */
static bool node_text(struct tu_arena *a, const struct node *n, const char **text, bool *is_null)
{
	*is_null = false;
	if (node_type(n) != N_SCALAR)
		return false;
	if (n->doc != NULL) {
		*is_null = yaml_null(n->y);
		*text = *is_null ? "" : (const char *)n->y->data.scalar.value;
		return true;
	}
	switch (json_typeof(n->j)) {
	case JSON_STRING: *text = json_string_value(n->j); break;
	case JSON_INTEGER:
		*text = tu_arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(n->j));
		break;
	case JSON_REAL: *text = real_text(a, json_real_value(n->j)); break;
	case JSON_TRUE: *text = "true"; break;
	case JSON_FALSE: *text = "false"; break;
	default:
		*text = "";
		*is_null = true;
		break;
	}
	return true;
}

static size_t node_len(const struct node *n)
{
	if (n->doc != NULL) {
		if (n->y->type == YAML_SEQUENCE_NODE)
			return (size_t)(n->y->data.sequence.items.top - n->y->data.sequence.items.start);
		return (size_t)(n->y->data.mapping.pairs.top - n->y->data.mapping.pairs.start);
	}
	return json_is_array(n->j) ? json_array_size(n->j) : json_object_size(n->j);
}

static struct node seq_at(const struct node *n, size_t i)
{
	struct node c = { n->doc, NULL, NULL };
	if (n->doc != NULL)
		c.y = yaml_document_get_node(n->doc, n->y->data.sequence.items.start[i]);
	else
		c.j = json_array_get(n->j, i);
	return c;
}

/* Iterates a map's pairs. */
struct map_it {
	const struct node *m; /* the map */
	size_t i;             /* YAML: next pair */
	void *jit;            /* JSON: next iterator */
	bool started;
};

/*
 * Next pair of the map: *key (text), val. Returns false at the end. A YAML
 * key that is not a scalar sets *key to NULL with val being the key node.
 */
static bool map_next(struct map_it *it, const char **key, struct node *val)
{
	const struct node *m = it->m;
	val->doc = m->doc;
	val->y = NULL;
	val->j = NULL;
	if (m->doc != NULL) {
		yaml_node_pair_t *p = m->y->data.mapping.pairs.start + it->i;
		if (p >= m->y->data.mapping.pairs.top)
			return false;
		it->i++;
		yaml_node_t *k = yaml_document_get_node(m->doc, p->key);
		if (k->type != YAML_SCALAR_NODE) {
			*key = NULL;
			val->y = k;
			return true;
		}
		*key = (const char *)k->data.scalar.value;
		val->y = yaml_document_get_node(m->doc, p->value);
		return true;
	}
	it->jit = it->started ? json_object_iter_next(m->j, it->jit) : json_object_iter(m->j);
	it->started = true;
	if (it->jit == NULL)
		return false;
	*key = json_object_iter_key(it->jit);
	val->j = json_object_iter_value(it->jit);
	return true;
}

/* ---- manifests ---------------------------------------------------------- */

/* Reports a malformed entry at line (0: none) and field path. */
static void skip_at(struct files_scan *s, int line, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void skip_at(struct files_scan *s, int line, const char *path, const char *fmt, ...)
{
	char why[768];
	char where[64] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	tu_source_skip(&s->fs->base, s->sink, "%s%s: %s%s%s", s->file, where, path,
		       *path ? ": " : "", why);
}

static bool kind_wanted(const struct tu_files_source *fc, const char *kind)
{
	if (fc->n_kinds == 0)
		return true;
	for (size_t i = 0; i < fc->n_kinds; i++)
		if (strcmp(fc->kinds[i], kind) == 0)
			return true;
	return false;
}

/* Reads the attrs map of a manifest into e. */
static bool manifest_attrs(struct files_scan *s, const struct node *n, const char *path,
			   struct tu_entity *e)
{
	struct tu_arena *a = &s->fs->arena;
	char why[512];
	size_t count = node_len(n);
	if (count > TU_MAX_ATTRS) {
		skip_at(s, node_line(n), path, "attrs: %zu attributes, over TU_MAX_ATTRS (%d)",
			count, TU_MAX_ATTRS);
		return false;
	}
	e->attrs = tu_arena_alloc(a, (count ? count : 1) * sizeof(*e->attrs));
	struct map_it it = { .m = n };
	const char *key;
	struct node v;
	while (map_next(&it, &key, &v)) {
		const char *text;
		bool is_null;
		if (key == NULL) {
			skip_at(s, node_line(&v), path, "attrs: a key is %s, not a scalar",
				type_name(&v));
			return false;
		}
		if (!node_text(a, &v, &text, &is_null)) {
			skip_at(s, node_line(&v), path, "attrs.%.*s: value is %s, not a scalar",
				TU_MAX_KIND, key, type_name(&v));
			return false;
		}
		e->attrs[e->n_attrs++] = tu_pb_attr(a, key, text);
	}
	if (tu_entity_sort_attrs(e->attrs, e->n_attrs, why, sizeof(why)) != TU_OK) {
		skip_at(s, node_line(n), path, "attrs: %s", why);
		return false;
	}
	return true;
}

/* The value of an identity field: a non-null scalar. */
static bool ident_field(struct files_scan *s, const struct node *v, const char *path,
			const char *field, const char **out)
{
	bool is_null;
	if (!node_text(&s->fs->arena, v, out, &is_null) || is_null) {
		skip_at(s, node_line(v), path, "%s: must be a string, not %s", field,
			is_null ? "null" : type_name(v));
		return false;
	}
	return true;
}

/* Validates one manifest and hands it to the sink; returns the sink's status. */
static tu_status manifest(struct files_scan *s, const struct node *n, const char *path)
{
	struct tu_arena *a = &s->fs->arena;
	struct tu_entity e = { 0 };
	const char *key;
	struct node v;
	char why[512];
	bool seen_attrs = false;
	tu_status st = TU_OK;

	if (node_type(n) != N_MAP) {
		skip_at(s, node_line(n), path, "manifest is %s, not a map", type_name(n));
		goto out;
	}
	struct map_it it = { .m = n };
	while (map_next(&it, &key, &v)) {
		const char **slot = NULL;
		if (key == NULL) {
			skip_at(s, node_line(&v), path, "a field name is %s, not a scalar",
				type_name(&v));
			goto out;
		}
		if (strcmp(key, "kind") == 0)
			slot = &e.kind;
		else if (strcmp(key, "name") == 0)
			slot = &e.name;
		else if (strcmp(key, "namespace") == 0)
			slot = &e.ns;
		if (slot != NULL && *slot != NULL) {
			skip_at(s, node_line(&v), path, "%s: given twice", key);
			goto out;
		}
		if (slot != NULL) {
			if (!ident_field(s, &v, path, key, slot))
				goto out;
		} else if (strcmp(key, "attrs") == 0) {
			if (seen_attrs) {
				skip_at(s, node_line(&v), path, "attrs: given twice");
				goto out;
			}
			seen_attrs = true;
			if (node_type(&v) != N_MAP) {
				bool is_null;
				const char *t;
				if (!node_text(a, &v, &t, &is_null) || !is_null) {
					skip_at(s, node_line(&v), path, "attrs: must be a map, not %s",
						type_name(&v));
					goto out;
				}
			} else if (!manifest_attrs(s, &v, path, &e)) {
				goto out;
			}
		} else {
			skip_at(s, node_line(&v), path, "unknown field '%.*s' (kind, name, "
				"namespace, attrs)", TU_MAX_KIND, key);
			goto out;
		}
	}
	if (e.kind == NULL || e.name == NULL) {
		skip_at(s, node_line(n), path, "%s: missing", e.kind == NULL ? "kind" : "name");
		goto out;
	}
	if (!kind_wanted(s->fs->fc, e.kind))
		goto out;
	if (e.ns == NULL)
		e.ns = s->fs->fc->default_ns ? s->fs->fc->default_ns : "default";
	if (e.attrs == NULL)
		e.attrs = tu_arena_alloc(a, sizeof(*e.attrs));
	if (tu_entity_check(&e, why, sizeof(why)) != TU_OK) {
		skip_at(s, node_line(n), path, "%s", why);
		goto out;
	}
	size_t klen;
	char *k = tu_entity_key(a, e.kind, e.ns, e.name, &klen);
	bool created;
	struct declared *d = tu_keymap_put(s->declared, k, klen, &created);
	if (!created) {
		char first[MAX_PATH + 16];
		if (d->line > 0)
			snprintf(first, sizeof(first), "%s:%d", d->file, d->line);
		else
			snprintf(first, sizeof(first), "%s", d->file);
		skip_at(s, node_line(n), path, "%s/%s/%s is declared twice: first in %s, skipped here",
			e.kind, e.ns, e.name, first);
		goto out;
	}
	d->file = s->file;
	d->line = node_line(n);
	st = s->sink->entity(s->sink->ctx, &e);
out:
	tu_arena_reset(a);
	return st;
}

/* A document's root: one manifest, a list, or {items: [...]}. */
static tu_status document(struct files_scan *s, const struct node *root)
{
	char path[MAX_FIELD_PATH];
	struct node list = *root;
	const char *prefix = "";
	tu_status st = TU_OK;

	if (node_type(root) == N_MAP) {
		struct map_it it = { .m = root };
		const char *key;
		struct node v;
		bool items = false;
		while (map_next(&it, &key, &v))
			items = items || (key != NULL && strcmp(key, "items") == 0);
		if (!items)
			return manifest(s, root, "");
		if (node_len(root) != 1) {
			skip_at(s, node_line(root), "", "a map with items must have no other field");
			return TU_OK;
		}
		it = (struct map_it){ .m = root };
		map_next(&it, &key, &list);
		prefix = "items";
		if (node_type(&list) != N_SEQ) {
			skip_at(s, node_line(&list), "items", "must be a list, not %s",
				type_name(&list));
			return TU_OK;
		}
	} else if (node_type(root) != N_SEQ) {
		const char *t;
		bool is_null;
		if (node_text(&s->fs->arena, root, &t, &is_null) && is_null)
			return TU_OK; /* an empty document: "---" at the end, a comment only */
		skip_at(s, node_line(root), "", "expected a manifest, a list of manifests or "
			"{items: [...]}, not %s", type_name(root));
		return TU_OK;
	}
	size_t n = node_len(&list);
	if (n > MAX_LIST) {
		skip_at(s, node_line(&list), prefix, "%zu manifests in one list, over %d", n,
			MAX_LIST);
		return TU_OK;
	}
	for (size_t i = 0; i < n && st == TU_OK; i++) {
		struct node m = seq_at(&list, i);
		snprintf(path, sizeof(path), "%s[%zu]", prefix, i);
		st = manifest(s, &m, path);
	}
	return st;
}

static tu_status parse_yaml(struct files_scan *s, const char *data, size_t len)
{
	yaml_parser_t parser;
	tu_status st = TU_OK;
	if (!yaml_parser_initialize(&parser)) {
		skip_at(s, 0, "", "cannot initialize the YAML parser");
		return TU_OK;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (st == TU_OK) {
		yaml_document_t doc;
		if (!yaml_parser_load(&parser, &doc)) {
			char where[48];
			snprintf(where, sizeof(where), ":%zu:%zu", parser.problem_mark.line + 1,
				 parser.problem_mark.column + 1);
			tu_source_skip(&s->fs->base, s->sink, "%s%s: YAML syntax: %s%s%s", s->file,
				       where, parser.problem ? parser.problem : "error",
				       parser.context ? " " : "",
				       parser.context ? parser.context : "");
			break;
		}
		yaml_node_t *root = yaml_document_get_root_node(&doc);
		if (root == NULL) {
			yaml_document_delete(&doc);
			break;
		}
		struct node r = { &doc, root, NULL };
		st = document(s, &r);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	return st;
}

static tu_status parse_json(struct files_scan *s, const char *data, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		tu_source_skip(&s->fs->base, s->sink, "%s:%d:%d: JSON syntax: %s", s->file,
			       je.line, je.column, je.text);
		return TU_OK;
	}
	struct node r = { NULL, NULL, j };
	tu_status st = document(s, &r);
	json_decref(j);
	return st;
}

/* ---- files -------------------------------------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

static bool manifest_name(const char *name)
{
	return name[0] != '.' &&
	       (has_suffix(name, ".yaml") || has_suffix(name, ".yml") || has_suffix(name, ".json"));
}

/* Reads one file (bounded) and parses it. */
static tu_status read_file(struct files_scan *s, const char *dir)
{
	char path[MAX_PATH];
	char chunk[READ_CHUNK];
	struct tu_buf data;
	struct stat sb;
	tu_status st = TU_OK;
	int fd = -1;

	tu_buf_init(&data, TU_MAX_MANIFEST);
	snprintf(path, sizeof(path), "%s/%s", dir, s->file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		skip_at(s, 0, "", "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode))
		goto out;
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			skip_at(s, 0, "", "cannot read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (tu_buf_append(&data, chunk, (size_t)r) != TU_OK) {
			skip_at(s, 0, "", "file is over TU_MAX_MANIFEST (%d bytes)", TU_MAX_MANIFEST);
			goto out;
		}
	}
	if (has_suffix(s->file, ".json"))
		st = parse_json(s, tu_buf_cstr(&data), data.len);
	else
		st = parse_yaml(s, tu_buf_cstr(&data), data.len);
out:
	tu_buf_release(&data);
	if (fd >= 0)
		close(fd);
	return st;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static tu_status files_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			    size_t errlen)
{
	struct files_source *fs = (struct files_source *)src;
	struct files_scan s = { .fs = fs, .sink = sink };
	const char **names = NULL;
	size_t n = 0, cap = 0;
	tu_status st = TU_OK;
	struct dirent *de;

	DIR *d = opendir(fs->fc->path);
	if (d == NULL) {
		snprintf(err, errlen, "cannot open directory %s: %s", fs->fc->path, strerror(errno));
		return errno == ENOENT ? TU_ENOTFOUND : TU_EIO;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!manifest_name(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = tu_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = tu_arena_strdup(&fs->names, de->d_name);
	}
	if (errno != 0) {
		snprintf(err, errlen, "cannot list directory %s: %s", fs->fc->path, strerror(errno));
		st = TU_EIO;
		goto out;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	s.declared = tu_keymap_create(sizeof(struct declared));
	for (size_t i = 0; i < n && st == TU_OK; i++) {
		if (sink->stopping(sink->ctx)) {
			st = TU_ESTOP;
			break;
		}
		s.file = names[i];
		st = read_file(&s, fs->fc->path);
	}
out:
	closedir(d);
	tu_keymap_destroy(s.declared);
	free(names);
	tu_arena_reset(&fs->names);
	return st;
}

static void files_destroy(struct tu_source *src)
{
	struct files_source *fs = (struct files_source *)src;
	tu_arena_release(&fs->names);
	tu_arena_release(&fs->arena);
	free(fs);
}

static const struct tu_source_ops files_ops = {
	.type = "files",
	.scan = files_scan,
	.destroy = files_destroy,
};

tu_status tu_files_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				 char *err, size_t errlen)
{
	if (cfg->files.path == NULL || *cfg->files.path == '\0') {
		snprintf(err, errlen, "source %s (line %d): path: missing", cfg->name, cfg->line);
		return TU_EINVAL;
	}
	struct files_source *fs = tu_xcalloc(1, sizeof(*fs));
	fs->base.ops = &files_ops;
	fs->base.cfg = cfg;
	fs->fc = &cfg->files;
	tu_arena_init(&fs->names, 16 * 1024);
	tu_arena_init(&fs->arena, 16 * 1024);
	tu__source_set_kinds(&fs->base, (const char *const *)cfg->files.kinds, cfg->files.n_kinds);
	*out = &fs->base;
	return TU_OK;
}
