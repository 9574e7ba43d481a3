/*
 * kube_source.h - the kubernetes source: lists resources of a Kubernetes API
 * server (built-ins such as pods, nodes, deployments, and custom resources
 * by group/version/plural) and maps each object to an entity with a
 * struct tu_json_mapping (docs/sources.md, "type: kubernetes").
 *
 * Each observe entry is listed per namespace it names, or cluster-wide, in
 * pages of `page_size` objects (limit/continue). A 410 Gone on a continue
 * token (the list's snapshot expired) restarts that list once; the scanner
 * counts an object seen twice once. Any other failure of a list (timeout,
 * connection, TLS, an HTTP error, a reply that is not a List) ends the scan
 * incomplete with the reason. An object that cannot be mapped (a template
 * without a value, a field that is not a scalar, an item that is not an
 * object) is skipped with a reason naming the source, resource, object and
 * field; the scan goes on and ends incomplete.
 *
 * Requests are rate-limited (conn.rate); a 429 is waited out (Retry-After,
 * bounded) and retried (lib/kube.h).
 *
 * Workload: thousands to ~100k objects per scan, a few hundred per page.
 */
#ifndef TU_KUBE_SOURCE_H
#define TU_KUBE_SOURCE_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "entity.h"
#include "kube.h"
#include "source.h"
#include "status.h"

/* Creates a kubernetes source for cfg (type kubernetes; cfg outlives it). Does not connect. */
tu_status tu_kube_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				char *err, size_t errlen);

/* ---- internals, exposed for the unit tests ---------------------------------------------- */

/* The resource an observe entry lists (strings borrowed from ob). */
void tu__kube_observe_resource(const struct tu_kube_observe *ob, struct tu_kube_resource *out);

/*
 * Appends the path and query of one list request: ns NULL lists
 * cluster-wide; cont NULL or "" asks for the first page.
 */
tu_status tu__kube_list_path(const struct tu_kube_observe *ob, const char *ns, int page_size,
			     const char *cont, struct tu_buf *out);

/*
 * Parses one page of a list reply. On TU_OK *root is the parsed document
 * (json_decref it), *items its `items` array (borrowed; an absent or null
 * `items` is an empty page) and *cont its metadata.continue ("" on the last
 * page; borrowed). TU_EDECODE with why for a reply that is not a List:
 * JSON syntax (with line and column), not an object, `items` not an array,
 * `metadata.continue` not a string.
 */
tu_status tu__kube_page_parse(const char *body, size_t len, json_t **root, json_t **items,
			      const char **cont, char *why, size_t whylen);

/*
 * Maps list item `index` of resource `plural` per ob: TU_OK with *out (arena
 * memory), TU_ENOTFOUND when ob's match or name_prefix leaves it out,
 * TU_EINVAL with why naming the object ("pods shop/web-1" or "pods item 3")
 * and the field that failed. Templates also see {source} and {resource}.
 */
tu_status tu__kube_item_entity(const struct tu_kube_observe *ob, const char *source,
			       const char *plural, json_t *item, size_t index, struct tu_arena *a,
			       struct tu_entity *out, char *why, size_t whylen);

#endif
