/*
 * docker.h - a client of the Docker Engine API over the daemon's unix
 * socket, shared by the docker source (producers/docker_source.c) and the
 * docker target (actuators/docker_target.c).
 *
 * Version negotiation: before its first request (and again after the daemon
 * went away, since it may come back upgraded) the client asks GET /version
 * for the daemon's ApiVersion and MinAPIVersion and then sends every request
 * as /v<min(TU_DOCKER_API, ApiVersion)>/...; a daemon older than
 * TU_DOCKER_API_MIN, or one that no longer speaks TU_DOCKER_API, is refused
 * with a message naming both versions.
 *
 * Rate limit: every request, /version included, takes a token from one
 * bucket (opts.rate per second, bursts of one second's worth).
 *
 * Paths are built by the callers; anything taken from input (container ids,
 * filters) must be escaped with tu_http_escape() first.
 *
 * Threads: a tu_docker is used by one thread at a time (one curl handle).
 */
#ifndef TU_DOCKER_H
#define TU_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "status.h"

#define TU_DOCKER_API_MAJOR 1
#define TU_DOCKER_API_MINOR 41    /* the version trueup speaks (Docker 20.10) */
#define TU_DOCKER_API_MIN_MINOR 24 /* the oldest it accepts (1.24: health, filters as lists) */
#define TU_DOCKER_VERSION_SIZE 16 /* "1.41" and its NUL, with room */
#define TU_DOCKER_ID_MIN 12       /* a short container id: 12 hex digits */
#define TU_DOCKER_ID_MAX 64       /* a full container id: 64 hex digits */
#define TU_DOCKER_MAX_STOP_S 3600 /* longest stop/restart grace period a command may ask for */
#define TU_DOCKER_MESSAGE 512     /* bytes of a daemon error message kept, NUL included */

typedef struct tu_docker tu_docker;

/* One request. */
struct tu_docker_req {
	const char *method;         /* GET, POST, DELETE */
	const char *path;           /* below the version prefix, escaped: "/containers/json?all=1" */
	int64_t extra_timeout_ms;   /* added to the timeout (stop and restart wait for the container) */
	int64_t max_wait_ms;        /* longest wait for a rate-limit token; < 0: until stopping */
	bool (*stopping)(void *ctx); /* polled while waiting for a token; NULL: never */
	void *stop_ctx;
};

/*
 * A client of the daemon dd names (socket, rate, max_body: copied; a NULL
 * socket is /var/run/docker.sock), each request bounded by timeout_ms (> 0).
 * Does not connect (the first request does). On failure err says why.
 */
tu_status tu_docker_create(const struct tu_docker_daemon *dd, int64_t timeout_ms, tu_docker **out,
			   char *err, size_t errlen);
/* NULL does nothing. */
void tu_docker_destroy(tu_docker *d);

/*
 * Negotiates the version if needed, then sends req. TU_OK when the daemon
 * answered, whatever the HTTP status (resp holds it and the body); otherwise
 * err says why, naming the socket and the request:
 *   TU_ETIMEOUT, TU_EUNAVAIL, TU_EIO: the daemon did not answer (retry later);
 *   TU_ETIMEOUT also: no rate-limit token within req->max_wait_ms;
 *   TU_ETOOBIG: the reply is over max_body;
 *   TU_EINVAL: the daemon's API version is not one trueup speaks;
 *   TU_EDECODE: /version did not answer as the Engine API does;
 *   TU_ESTOP: req->stopping said so while waiting for a token.
 * resp must have been initialized with tu_http_resp_init().
 */
tu_status tu_docker_do(tu_docker *d, const struct tu_docker_req *req, struct tu_http_resp *resp,
		       char *err, size_t errlen);

/* The negotiated version ("1.41"), or "" before the first successful request. */
const char *tu_docker_api_version(const tu_docker *d);
/* The socket path, for messages. */
const char *tu_docker_socket(const tu_docker *d);

/*
 * The daemon's error text of a response: the JSON body's "message" when
 * there is one, else the body as text, else "HTTP <status>"; cut to outlen
 * and made printable.
 */
void tu_docker_message(const struct tu_http_resp *r, char *out, size_t outlen);

/* True for a container id as commands must give it: 12 to 64 lowercase hex digits. */
bool tu_docker_id_valid(const char *s);

/* A boolean param: "true" or "false". TU_EINVAL otherwise. */
tu_status tu_docker_param_bool(const char *s, bool *out);
/* A grace period param in seconds: 0..TU_DOCKER_MAX_STOP_S, digits only. */
tu_status tu_docker_param_seconds(const char *s, int *out);

/* ---- internals, exposed for the unit tests ------------------------------------------- */

/* Parses "major.minor" (each 1..4 digits, nothing else). */
tu_status tu__docker_version_parse(const char *s, int *major, int *minor);

/*
 * From a GET /version body: the version to speak, "1.<minor>" in out
 * (TU_DOCKER_VERSION_SIZE bytes). TU_EDECODE if the body is not an object
 * with a parsable ApiVersion; TU_EINVAL if the daemon is too old or its
 * MinAPIVersion is above TU_DOCKER_API. err says which, with the versions.
 */
tu_status tu__docker_negotiate(const char *body, size_t len, char *out, char *err,
			       size_t errlen);

#endif
