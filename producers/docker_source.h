/*
 * docker_source.h - the Docker source: containers as entities, read from the
 * Docker Engine API over the daemon's unix socket (lib/docker.h).
 *
 * A scan is one GET /containers/json?all=1 (running and stopped containers)
 * with the configured filters (name prefixes, labels) sent to the daemon
 * and checked again on each item. Each item is mapped by every `observe`
 * entry (lib/jsonmap.h): the templates see the item's `{.path}`s, `{health}`
 * (from the Status text, or from an inspect with `inspect: true`) and, with
 * `inspect: true`, `{inspect.<path>}` over GET /containers/{id}/json, which
 * is asked lazily, at most once per container and max_inspects per scan,
 * and only for containers that an entry's match and name_prefix let through.
 *
 * Errors: a reply that cannot be read as a list (not JSON, truncated, not an
 * array, over max_body, an HTTP error) fails the scan (incomplete). An item
 * that cannot become an entity (not an object, a template that cannot
 * render, a failed inspect) is skipped and reported with the container's id
 * and name and the field. A container that vanished before its inspect is
 * not seen. Never a crash, never a silent drop.
 *
 * Workload: one list per scan (the Engine API has no pagination; the reply
 * is bounded by max_body), plus the inspects, all through one token bucket.
 */
#ifndef TU_DOCKER_SOURCE_H
#define TU_DOCKER_SOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "source.h"
#include "status.h"

/* Creates a Docker source for cfg (type docker; cfg outlives it). Does not connect. */
tu_status tu_docker_source_create(const struct tu_source_config *cfg, struct tu_source **out,
				  char *err, size_t errlen);

/* ---- internals, exposed for tests -------------------------------------------------------- */

/*
 * Appends the list request's path: /containers/json?all=1, and the filters
 * as &filters=<URL-escaped JSON> ({"label":[...],"name":["^/?<prefix>",...]},
 * each prefix quoted as a regular expression) when any are configured.
 */
tu_status tu__docker_list_path(const struct tu_docker_source *dc, struct tu_buf *out);

/*
 * Whether a list item passes the configured filters: TU_OK (it does),
 * TU_ENOTFOUND (it does not), TU_EINVAL with why (the fields the filters
 * need are malformed: Names not a list of strings, Labels not an object).
 */
tu_status tu__docker_filter_match(const struct tu_docker_source *dc, json_t *item, char *why,
				  size_t whylen);

/*
 * The health in a container's Status text: "healthy", "unhealthy",
 * "starting" (for "(health: starting)"), or "none" (no health check).
 */
const char *tu__docker_health_from_status(const char *status);

/*
 * Maps one list reply (body, len bytes) as a scan does after the list
 * request: emits entities, skips and reports malformed items, inspects
 * through src's connection when an entry asks. TU_EDECODE with err if the
 * reply is not a JSON array; otherwise as tu_source_scan().
 */
tu_status tu__docker_source_reply(struct tu_source *src, const char *body, size_t len,
				  const struct tu_scan_sink *sink, char *err, size_t errlen);

#endif
