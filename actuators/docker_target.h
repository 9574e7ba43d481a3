/*
 * docker_target.h - the Docker target: removes, stops and restarts
 * containers through the Docker Engine API (lib/docker.h), naming each by
 * its immutable id, with preconditions on what the container is now
 * (docs/targets.md).
 *
 * Every command first inspects the container (GET /containers/{id}/json):
 * a container that is gone, already stopped, or already restarted since the
 * command was issued needs nothing (noop), a failed precondition changes
 * nothing (skipped-precondition), and a dry-run stops there and says what
 * would happen. Only then is the one request of the verb sent. Ids are
 * never reused by Docker, so a command that already took effect finds its
 * effect on redelivery: the argument for one effect per command id.
 *
 * Requests go through the target's token bucket (`rate`): a command may wait
 * up to the target's `timeout` for a token, as it would for a slow daemon,
 * and is failed-retryable if none comes; it never sleeps otherwise
 * (adapter.h: retries and backoff are the command loop's).
 */
#ifndef TU_DOCKER_TARGET_H
#define TU_DOCKER_TARGET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "adapter.h"
#include "config.h"
#include "pb.h"
#include "status.h"

/* The adapter object (config.h's struct tu_docker_target is the target's config). */
typedef struct tu_docker_adapter tu_docker_adapter;

/*
 * Creates the target from its config (borrowed: cfg must outlive it). Does
 * not connect: a daemon that is down gives failed-retryable outcomes.
 */
tu_status tu_docker_adapter_create(const struct tu_target_config *cfg, tu_docker_adapter **out,
				   char *err, size_t errlen);
/* NULL is a no-op. */
void tu_docker_adapter_destroy(tu_docker_adapter *t);

/* The adapter view of t (adapter.h); valid while t lives. */
void tu_docker_adapter_view(tu_docker_adapter *t, struct tu_adapter *out);

/* adapter.h execute(): see there. cmd is borrowed for the call. */
tu_status tu_docker_adapter_execute(tu_docker_adapter *t, const Trueup__V1__FixCommand *cmd,
				    bool dry_run, struct tu_exec *out);

/* True for remove, stop and restart. */
bool tu_docker_verb_known(const char *action);

/* ---- internals, exposed for the unit tests -------------------------------------------- */

enum tu__docker_verb {
	TU__DOCKER_REMOVE = 1,
	TU__DOCKER_STOP = 2,
	TU__DOCKER_RESTART = 3,
};

/* A command's params, checked. */
struct tu__docker_params {
	enum tu__docker_verb verb;
	const char *id;     /* borrowed from the command; tu_docker_id_valid() */
	bool force;         /* remove: also a running container; default false */
	bool volumes;       /* remove: also its anonymous volumes; default false */
	int timeout_s;      /* stop, restart: grace period before SIGKILL; default 10 */
};

/*
 * Checks cmd's params and preconditions (op known, field known, key empty
 * or the command's id) without asking the daemon. TU_EINVAL with err naming
 * the param or precondition.
 */
tu_status tu__docker_params(const Trueup__V1__FixCommand *cmd, struct tu__docker_params *out,
			    char *err, size_t errlen);

/*
 * Checks precondition p (1-based index i) against the inspect reply of the
 * container. TU_OK with *holds; when it does not hold, detail says which and
 * what was found: `precondition 1 (field_equals name "a") failed: actual "b"`.
 * TU_EINVAL for a precondition the target cannot check (detail says why).
 */
tu_status tu__docker_precond(const Trueup__V1__Precondition *p, size_t i, json_t *inspect,
			     bool *holds, char *detail, size_t detlen);

/*
 * The result of the daemon's answer to a request (st: tu_docker_do's status,
 * status: the HTTP status when st is TU_OK) for a verb, or for the inspect
 * when verb is 0: 2xx succeeded; 304 (stop: already stopped) noop; 404
 * noop for remove and stop (already gone), skipped-precondition for restart
 * and inspect; 409 for remove "already in progress" retryable, otherwise
 * failed-permanent; 429, 5xx, timeouts and connection errors retryable;
 * anything else failed-permanent. message is the daemon's text (may be NULL).
 */
Trueup__V1__Outcome__Result tu__docker_result(int verb, tu_status st, long status,
					      const char *message);

#endif
