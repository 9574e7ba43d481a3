/*
 * http_target.h - the http target: templated requests to a JSON API,
 * scaling a DigitalOcean App Platform service, and alerts to a webhook
 * (docs/targets.md, "The http target").
 *
 * Verbs:
 *   request             params method, url | path (joined to base_url), body
 *                       (JSON text): one request as rendered by the processor.
 *   set-instance-count  params app_id, service, instance_count: GET
 *                       <base_url>/v2/apps/{app_id}, change that service's
 *                       instance_count in the spec, PUT the whole spec back
 *                       (the DigitalOcean API updates an app only as a whole).
 *                       noop when the count is already that (checked first, so
 *                       a redelivery after a crash is a noop); preconditions
 *                       (field_equals, exists, absent) are checked against the
 *                       spec just read: a compare-and-set up to the short
 *                       window between GET and PUT (the API has no conditional
 *                       update).
 *   alert               any params: POST a JSON description of the command
 *                       (entity, rule, reason, params) to webhook_url.
 *
 * Every request carries Idempotency-Key: <command_id>. The auth header (its
 * value read from auth_file per command, never logged) goes only to
 * base_url's origin; the webhook gets webhook_auth_file's instead. Names put
 * into URLs by the adapter are escaped with tu_http_escape. 429, 5xx,
 * timeouts and connection errors are failed-retryable (with the reply's
 * Retry-After as the least delay), other 4xx failed-permanent with the API's
 * message, redirects failed-permanent (never followed). Requests are paced
 * by the target's token bucket, waiting at most `timeout` for a token.
 *
 * Threads: one actuator thread uses an adapter.
 */
#ifndef TU_HTTP_TARGET_H
#define TU_HTTP_TARGET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "adapter.h"
#include "arena.h"
#include "config.h"
#include "pb.h"
#include "status.h"

typedef struct tu_http_adapter tu_http_adapter;

/* Creates the target from cfg (type http; borrowed, must outlive it). Does not connect. */
tu_status tu_http_adapter_create(const struct tu_target_config *cfg, tu_http_adapter **out,
				 char *err, size_t errlen);
/* NULL is a no-op. */
void tu_http_adapter_destroy(tu_http_adapter *t);

/* The adapter view of t (adapter.h); valid while t lives. */
void tu_http_adapter_view(tu_http_adapter *t, struct tu_adapter *out);

/* True for request, set-instance-count and alert. */
bool tu_http_verb_known(const char *action);

/* ---- internals, exposed for the unit tests ---------------------------------------------- */

#define TU_HTTP_MAX_INSTANCE_COUNT 1000000 /* largest instance_count param accepted */

/* A `request` command as it will be sent. */
struct tu__http_request {
	const char *method; /* GET, POST, PUT, PATCH or DELETE; borrowed from the command */
	const char *url;    /* absolute; in the arena */
	const char *body;   /* JSON text, borrowed from the command; NULL: none */
	size_t body_len;    /* bytes of body */
	bool with_auth;     /* url is on base_url's origin: the auth header may go along */
};

/*
 * Checks a request command's params (method, url or path, body; nothing
 * else; no preconditions) and builds the request: path is appended to
 * base_url and may not hold "." or ".." segments; body must parse as JSON.
 * TU_EINVAL with err naming the param otherwise.
 */
tu_status tu__http_request_build(const struct tu_http_target *h, const Trueup__V1__FixCommand *cmd,
				 struct tu_arena *a, struct tu__http_request *out, char *err,
				 size_t errlen);

/* The body an alert POSTs for cmd (JSON text, malloc'd); NULL if a string is not UTF-8. */
char *tu__http_alert_body(const Trueup__V1__FixCommand *cmd);

/*
 * Checks the preconditions of a set-instance-count command against the live
 * app spec: field_equals compares field `field` of service `key` (default:
 * the command's service) as text (absent: ""); exists / absent ask whether
 * service `key` is in the spec. TU_OK when all hold; TU_ECONFLICT with why
 * naming the first that does not and what was found; TU_EINVAL with why for
 * an op the verb does not take (equals) or a precondition without field.
 */
tu_status tu__do_preconditions(json_t *spec, const char *service,
			       Trueup__V1__Precondition *const *pre, size_t n, char *why,
			       size_t whylen);

/*
 * Sets instance_count of `service` to count in a copy of spec and writes the
 * PUT body {"spec": <copy>} to *body (malloc'd JSON text); nothing else of
 * the spec changes. old gets the service's current instance_count as text
 * ("" when absent). TU_EEXIST (no body) when it already is count;
 * TU_ENOTFOUND when spec has no service of that name.
 */
tu_status tu__do_scale(json_t *spec, const char *service, json_int_t count, char **body,
		       char *old, size_t oldlen);

#endif
