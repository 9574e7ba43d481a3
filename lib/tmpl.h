/*
 * tmpl.h - the small template language of mappings and actions.
 *
 *   "autoscaler:workers:{name}"        variable
 *   "{key|afterlast::}"                filter with an argument (here ":")
 *   "{.Names[0]|trimprefix:/|lower}"   filters chain left to right
 *   "{redis.status|default:unknown}"   default when the variable is missing or empty
 *   "{{" and "}}"                       literal braces
 *
 * A variable is any text up to '|' or '}'; what it means is the caller's
 * lookup (entity fields, attributes of a source, JSON paths, ...). Filters:
 * trimprefix:X trimsuffix:X afterfirst:X afterlast:X beforefirst:X
 * beforelast:X lower upper default:X json urlescape. A missing variable
 * without a default is an error naming the variable; rendering never invents
 * a value. `json` (last in a chain) escapes the value for the inside of a
 * JSON string literal ('"', '\\' and control characters), so that a value can
 * never change the structure of a JSON document it is put into:
 *   "{{\"name\": \"{name|json}\"}}"  ->  {"name": "a \"quoted\" name"}
 * `urlescape` percent-encodes the value as one URL path segment or query value
 * (tu_http_escape: for names in the url and path params of http actions).
 */
#ifndef TU_TMPL_H
#define TU_TMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

/*
 * Looks up var (var_len bytes, not NUL-terminated). On success sets *val and
 * *val_len (the value must stay valid until the callback is called again or
 * rendering ends) and returns true; returns false if there is no such value.
 */
typedef bool (*tu_tmpl_lookup)(void *ctx, const char *var, size_t var_len, const char **val,
			       size_t *val_len);

/* Checks syntax and filter names; writes a message to err on failure. */
tu_status tu_tmpl_check(const char *tmpl, char *err, size_t errlen);

/*
 * Appends the rendering of tmpl to out. On failure out may hold a partial
 * rendering and err says which variable or filter failed: TU_ENOTFOUND for a
 * missing variable, TU_ETOOBIG past TU_MAX_TEMPLATE_OUT, TU_EINVAL for a
 * template tu_tmpl_check() refuses or for a value `urlescape` cannot carry as
 * one URL segment ("." or "..", a NUL byte) - a template that checks can
 * still meet such a value at rendering time.
 */
tu_status tu_tmpl_render(const char *tmpl, tu_tmpl_lookup lookup, void *ctx, struct tu_buf *out,
			 char *err, size_t errlen);

/*
 * TU_OK if every placeholder of tmpl ends with the filter named `filter`
 * (e.g. "json"); TU_ECONFLICT naming the first that does not, TU_EINVAL for
 * a template or filter name that does not parse, with err.
 */
tu_status tu_tmpl_placeholders_end_with(const char *tmpl, const char *filter, char *err,
					size_t errlen);

/* True if tmpl has no placeholders (only text and escaped braces). */
bool tu_tmpl_is_literal(const char *tmpl);

#endif
