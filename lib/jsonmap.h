/*
 * jsonmap.h - JSON objects (jansson) to entities, per a struct
 * tu_json_mapping from the config. Shared by every adapter whose source
 * speaks JSON (Docker, Kubernetes, HTTP APIs) or can be read as JSON
 * (MongoDB documents as relaxed extended JSON).
 *
 * Paths: `.` is the object itself; `.a.b` walks object members; `[3]`
 * indexes an array; `["a.b/c"]` names a member that has dots or slashes.
 * A path that does not resolve is "missing" (templates then need a
 * `|default:` or the object is skipped with the path named in the reason).
 * Scalars render as text: strings as they are, numbers in JSON form,
 * true/false, null as "". Objects and arrays are refused ("not a scalar"):
 * an attribute is always a plain value.
 */
#ifndef TU_JSONMAP_H
#define TU_JSONMAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "pb.h"
#include "status.h"
#include "tmpl.h"

/* The value at path (path_len bytes) below root, borrowed; NULL if none. */
json_t *tu_json_path(json_t *root, const char *path, size_t path_len);

/* Checks a path's syntax; err says what is wrong. */
tu_status tu_json_path_check(const char *path, char *err, size_t errlen);

/* Appends a scalar as text; false (nothing appended) for objects and arrays. */
bool tu_json_scalar(const json_t *v, struct tu_buf *out);

/*
 * Template variables over a JSON object: `{.path}` reads the object; any
 * other variable goes to `extra` (may be NULL). Values live until the next
 * lookup through the same context.
 */
struct tu_json_tctx {
	json_t *root;
	tu_tmpl_lookup extra;
	void *extra_ctx;
	struct tu_buf scratch; /* rendering of the last value; init with tu_buf_init */
	char why[160];         /* why the last lookup failed, for messages */
};

bool tu_json_lookup(void *ctx, const char *var, size_t len, const char **val, size_t *vlen);

/* An entity read from one object; strings and attrs live in the arena. */
struct tu_json_entity {
	const char *kind;
	const char *ns;
	const char *name;
	Trueup__V1__Attr **attrs; /* sorted by key */
	size_t n_attrs;
};

/*
 * Maps obj per m. TU_OK with *out; TU_ENOTFOUND if the object does not match
 * (m->match, m->name_prefix): not an error; TU_EINVAL with why (the template
 * or path that failed, or a bound) for a malformed object, to be skipped and
 * counted. extra/extra_ctx add template variables.
 */
tu_status tu_json_map(const struct tu_json_mapping *m, json_t *obj, tu_tmpl_lookup extra,
		      void *extra_ctx, struct tu_arena *a, struct tu_json_entity *out, char *why,
		      size_t whylen);

#endif
