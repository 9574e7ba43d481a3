/*
 * actuator.h - the command loop of one target: TRUEUP_CMD in, Outcome facts
 * into TRUEUP_EVENTS, dead letters into TRUEUP_DEAD (DESIGN.md, Actuators).
 *
 * For each FixCommand fetched from the target's durable pull consumer:
 * validate it (or dead-letter it and Term it), skip it if TRUEUP_EVENTS
 * already holds a final outcome for its command id, report `expired` past its
 * deadline, otherwise execute it through the target's adapter (dry-run for
 * MODE_DRY_RUN and MODE_DETECT), publish the Outcome synchronously and only
 * then ack. Retryable failures are naked with exponential backoff and jitter;
 * on the consumer's last delivery they become failed-permanent and the
 * command is terminated. If the outcome cannot be published the command is
 * naked, never acked: the outcome lookup and the target's own at-most-once
 * guard (the Redis done-marker, MongoDB's conditional idempotent writes) make
 * the redelivery safe.
 *
 * Batches: an adapter with execute_batch (adapter.h) gets every command of
 * one fetch that passed the checks above in one call (never one command id
 * twice); outcomes, acks and naks still follow per command, in stream order.
 *
 * Threads: one thread runs the loop; tu_actuator_run() returns when *stop is
 * set (from a signal handler) after finishing the commands in hand (those of
 * the fetch already checked); the rest of the fetch is naked.
 */
#ifndef TU_ACTUATOR_H
#define TU_ACTUATOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "arena.h"
#include "bus.h"
#include "config.h"
#include "pb.h"
#include "status.h"

#define TU_ACTUATOR_MAX_REASON 512        /* bytes of a dead letter's reason */

typedef struct tu_actuator tu_actuator;

struct tu_actuator_opts {
	const struct tu_target_config *target; /* borrowed; outlives the actuator */
	struct tu_adapter adapter;             /* its impl is borrowed and outlives the actuator */
	const char *instance;                  /* copied; the Outcome's actuator field */
	/*
	 * Test hook (tests/integration/actuator_redis.sh, tests/chaos/actuator_kill.sh):
	 * when > 0, the process kills itself with SIGKILL right after the target
	 * executed the command that is its crash_after-th `succeeded` one (a side
	 * effect), before any outcome of that execution is published or acked.
	 * 0: off. Never set in production.
	 */
	unsigned crash_after;
	/* Where the loop's metrics go (docs/metrics.md), and whom it tells it is alive; may be NULL. */
	struct tu_ophttp *op;
};

/* Counters since create; read by the owner thread (logged at exit). */
struct tu_actuator_stats {
	uint64_t commands;   /* command messages handled */
	uint64_t outcomes;   /* outcomes published */
	uint64_t duplicates; /* acked without executing: a final outcome already existed */
	uint64_t dead;       /* dead-lettered and terminated */
	uint64_t retries;    /* naked for another delivery */
	uint64_t exhausted;  /* failed-permanent after the last delivery, terminated */
	uint64_t breaker_opened; /* times the target's breaker opened */
	uint64_t deferred;   /* naked unexecuted while the breaker was open */
};

/*
 * Binds to the target's durable consumer on TRUEUP_CMD (created beforehand
 * by tu_streams_apply) and reads its MaxDeliver. bus is borrowed and must
 * outlive the actuator. On failure err says why and *out is untouched.
 */
tu_status tu_actuator_create(tu_bus *bus, const struct tu_actuator_opts *opts, tu_actuator **out,
			     char *err, size_t errlen);
/* Unsubscribes (the durable stays). NULL is a no-op. */
void tu_actuator_destroy(tu_actuator *a);

/*
 * Runs the loop until *stop becomes non-zero: finishes the command in hand,
 * naks the rest of its batch so that another instance can take them, and
 * returns TU_OK. Connection trouble is logged and waited out, never fatal.
 */
tu_status tu_actuator_run(tu_actuator *a, const volatile sig_atomic_t *stop);

void tu_actuator_stats(const tu_actuator *a, struct tu_actuator_stats *out);

/*
 * Decodes and validates one command message for target (the pure part of the
 * loop). verb_known is the adapter's. On success *out is the command,
 * allocated from arena a (lives until its reset). Otherwise returns
 * TU_EDECODE (not a FixCommand), TU_EINVAL (a field is missing or wrong) or
 * TU_ETOOBIG (over TU_MAX_PARAMS), with reason naming the header or field;
 * such a command is dead-lettered.
 */
tu_status tu_actuator_decode(const char *target, bool (*verb_known)(const char *action),
			     const char *subject, const char *type, const void *data, size_t len,
			     struct tu_arena *a, Trueup__V1__FixCommand **out, char *reason,
			     size_t reasonlen);

/*
 * Delay before the next delivery after `delivery` (1-based) failed: a window
 * of t->retry_backoff * 2^(delivery-1) capped at t->retry_backoff_max, and a
 * point in its upper half chosen by rnd ("equal jitter"), so delays stay
 * within [window/2, window].
 */
int64_t tu_actuator_backoff_ms(const struct tu_target_config *t, uint64_t delivery, uint64_t rnd);

#endif
