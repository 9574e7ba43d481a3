/*
 * kube.h - a client of the Kubernetes API over HTTPS (http.h), shared by the
 * kubernetes source (producers/kube_source.c) and target
 * (actuators/kube_target.c).
 *
 * It knows where resources live (/api/v1/..., /apis/<group>/<version>/...),
 * builds escaped paths and queries, authenticates with a bearer token read
 * from a file, limits its request rate, and turns error replies (metav1
 * Status objects) into text. It follows the API conventions of
 * https://kubernetes.io/docs/reference/using-api/api-concepts/.
 *
 * Invariants:
 *  - TLS is always verified (a CA from the config or the service account,
 *    else the system's); there is no way to turn verification off;
 *  - the token lives in memory only; the file is read again before a request
 *    when its inode, size or mtime changed, and once after a 401 (then the
 *    request is retried once); it is never logged and wiped on destroy;
 *  - names in paths and values in queries are percent-encoded
 *    (tu_http_escape): nothing from an object or a command reaches a URL raw.
 *
 * Threads: one tu_kube per thread (it owns one tu_http).
 * Workload: a producer's list pages (tens per scan) and an actuator's
 * commands (a few per second at most).
 */
#ifndef TU_KUBE_H
#define TU_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "status.h"

#define TU_KUBE_MAX_TOKEN 4096      /* bytes of a bearer token (service-account JWTs are ~1 KiB) */
#define TU_KUBE_MAX_URL 8192        /* bytes of one request URL */
#define TU_KUBE_MAX_WAIT_SLICE 100  /* ms: waits are cut into slices to notice a stop */

typedef struct tu_kube tu_kube;

/* A resource type: where its objects live in the API. Strings are borrowed. */
struct tu_kube_resource {
	const char *group;   /* API group; "" for the core group (/api/v1) */
	const char *version; /* e.g. "v1" */
	const char *plural;  /* e.g. "pods", "databases" */
	bool namespaced;     /* objects live in namespaces */
};

/* The built-in resource named `name` (pods, nodes, deployments, ...); false if unknown. */
bool tu_kube_builtin(const char *name, struct tu_kube_resource *out);
/* Names of the built-in resources, comma-separated, for messages. */
const char *tu_kube_builtin_names(void);

/*
 * Checks the parts of a custom resource's API path: an API group (lowercase
 * letters, digits, '-', '.'), a version (lowercase letters and digits), a
 * plural resource name (lowercase letters, digits, '-'). Not empty.
 */
bool tu_kube_group_valid(const char *s);
bool tu_kube_version_valid(const char *s);
bool tu_kube_plural_valid(const char *s);

/*
 * Appends the path of a resource, an object or its subresource:
 *   /api/v1[/namespaces/<ns>]/<plural>[/<name>[/<sub>]]
 *   /apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/<sub>]]
 * ns NULL: cluster-scoped, or every namespace for a list. name and sub may be
 * NULL. Every segment is escaped. TU_ETOOBIG when out's bound is reached.
 */
tu_status tu_kube_path(const struct tu_kube_resource *r, const char *ns, const char *name,
		       const char *sub, struct tu_buf *out);

/* Appends `?key=value` (or `&key=value` after the first); value escaped. */
tu_status tu_kube_query(struct tu_buf *url, const char *key, const char *value);

/*
 * Creates a client for conn (borrowed during the call; strings are copied).
 * With conn->in_cluster, what the config leaves out comes from the pod:
 * server from KUBERNETES_SERVICE_HOST/_PORT, token and CA from the service
 * account directory, and its namespace file (tu_kube_own_namespace). `who`
 * names the user in logs ("source kube", "target kube"). Does not connect.
 * TU_EINVAL with err when the server cannot be known or is not https.
 */
tu_status tu_kube_create(const struct tu_kube_conn *conn, int64_t timeout_ms, const char *who,
			 tu_kube **out, char *err, size_t errlen);
/* Wipes the token; NULL does nothing. */
void tu_kube_destroy(tu_kube *k);

/* The server's base URL, without a trailing '/'. Lives as long as k. */
const char *tu_kube_server(const tu_kube *k);
/* The service account's namespace (in-cluster), or NULL. Lives as long as k. */
const char *tu_kube_own_namespace(const tu_kube *k);

/* True once a caller wants its waits cut short (a scan stopping). */
typedef bool (*tu_kube_stop_fn)(void *ctx);

/* One request. */
struct tu_kube_req {
	const char *method;       /* GET, PATCH, DELETE, ... */
	const char *path;         /* below the server: '/' first, query included, escaped */
	const void *body;         /* NULL: none */
	size_t body_len;          /* bytes of body */
	const char *content_type; /* of the body; NULL: application/json */
	int retries;              /* waits after 429 (or 503 with Retry-After); 0: none */
	tu_kube_stop_fn stop;     /* asked during waits; may be NULL */
	void *stop_ctx;           /* passed to stop */
};

/*
 * Sends req and reads the reply into resp. Before each attempt it waits for
 * the rate limiter and reads the token file again if it changed; after a
 * 401 it reads the token file again and retries once; after a 429 (or a 503
 * with Retry-After) it waits Retry-After (1 s if none), at most
 * conn->retry_after_max, up to req->retries times. Returns tu_http_do()'s
 * status (TU_OK: a reply of any HTTP status is in resp), TU_ESTOP when stop
 * fired during a wait, or TU_EAUTH with resp->error when the token file
 * cannot be read. resp must be initialized (tu_http_resp_init).
 */
tu_status tu_kube_do(tu_kube *k, const struct tu_kube_req *req, struct tu_http_resp *resp);

/*
 * Describes a reply that is not a success: "HTTP 409 Conflict: <message of
 * the Status object>" (reason and message from a metav1 Status), else the
 * start of the body with non-printable bytes replaced. Always NUL-terminates.
 */
void tu_kube_status_text(const struct tu_http_resp *resp, char *out, size_t outlen);

/* ---- internals, exposed for the unit tests ---------------------------------------------- */

/*
 * Reads the token file when force is set or its inode, size or mtime changed
 * since the last read; *changed says whether the token was read. TU_EIO /
 * TU_ETOOBIG / TU_EINVAL (empty, or not printable ASCII) with err naming the
 * file, never the token. Without a token file: TU_OK, nothing read.
 */
tu_status tu__kube_token_refresh(tu_kube *k, bool force, bool *changed, char *err,
				 size_t errlen);
/* The token in use ("" for none). */
const char *tu__kube_token(const tu_kube *k);

#endif
