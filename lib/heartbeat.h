/*
 * heartbeat.h - a service says it is alive: trueup.v1.Heartbeat messages
 * (schemas/trueup/v1/observe.proto) on trueup.hb.<service>.<instance>, from
 * a thread of the service's own, every `interval`, into TRUEUP_EVENTS.
 *
 * The processor folds each one into the entity instance/<service>/<instance>
 * of the reserved source `hb` (processor/fold.c): present while heartbeats
 * arrive, absent once ttl_ms of fold time pass without one, and absent at
 * once after a heartbeat with `stopping: true` (tu_heartbeat_stop(h, true)).
 *
 * Wire form: subject trueup.hb.<service>.<instance> with both tokens escaped
 * by tu_token_escape (bytes outside [A-Za-z0-9_-] become %XX); headers
 * Nats-Msg-Id <service>.<instance>.<sequence> (escaped tokens) and
 * Trueup-Type trueup.v1.Heartbeat. `sequence` increases per instance across
 * restarts: it is the sender's wall clock in microseconds, raised to the last
 * one + 1 when the clock has not moved, so a restarted service never reuses a
 * Nats-Msg-Id inside the stream's duplicate window (which would drop its
 * heartbeats). Attributes are sorted by key.
 *
 * Bounds: service 1..TU_MAX_NAMESPACE bytes (it is the entity's namespace),
 * instance 1..TU_MAX_NAME bytes, the subject at most TU_MAX_SUBJECT bytes,
 * at most TU_MAX_ATTRS attributes (keys 1..TU_MAX_ATTR_KEY, values up to
 * TU_MAX_ATTR_VALUE bytes), all UTF-8 text; ttl 1 ms..7 d. What breaks them
 * is refused with TU_EINVAL/TU_ETOOBIG and a message, never published.
 *
 * Threads: start and stop from one thread; set_attr from any. Linking this
 * needs tu_lib (bus, config) only, not the producer.
 */
#ifndef TU_HEARTBEAT_H
#define TU_HEARTBEAT_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "bounds.h"
#include "config.h"
#include "status.h"

#define TU_HEARTBEAT_INTERVAL_MS 5000            /* default interval */
#define TU_HEARTBEAT_TTL_FACTOR 3                /* default ttl = 3 intervals */
#define TU_HEARTBEAT_MAX_TTL_MS (7LL * 24 * 3600 * 1000) /* the fold's bound on ttl_ms */
#define TU_HEARTBEAT_PUBLISH_MS 2000             /* wait for the stream's ack (nc form) */

typedef struct tu_heartbeat tu_heartbeat;

struct tu_heartbeat_attr {
	const char *key;   /* attribute name */
	const char *value; /* its value */
};

struct tu_heartbeat_opts {
	const char *service;                    /* required; copied */
	const char *instance;                   /* required; copied */
	int64_t interval_ms;                    /* 0: TU_HEARTBEAT_INTERVAL_MS */
	int64_t ttl_ms;                         /* 0: TU_HEARTBEAT_TTL_FACTOR * interval */
	const struct tu_heartbeat_attr *attrs;  /* n_attrs initial attributes; copied */
	size_t n_attrs;                         /* entries of attrs */
};

/*
 * Connects to NATS with nats (the trueup config's section), publishes the
 * first heartbeat (synchronously: a missing stream or a refused permission
 * shows here) and starts the thread. On failure err says why and *out is
 * untouched.
 */
tu_status tu_heartbeat_start(const struct tu_nats_config *nats, const struct tu_heartbeat_opts *o,
			     tu_heartbeat **out, char *err, size_t errlen);

/* The same over the service's own connection (borrowed; must outlive the handle). */
tu_status tu_heartbeat_start_nc(natsConnection *nc, const struct tu_heartbeat_opts *o,
				tu_heartbeat **out, char *err, size_t errlen);

/*
 * One heartbeat without a thread, for scripts and cron: connects, publishes
 * (with `stopping` as given), waits for the stream's ack, disconnects.
 */
tu_status tu_heartbeat_once(const struct tu_nats_config *nats, const struct tu_heartbeat_opts *o,
			    bool stopping, char *err, size_t errlen);

/*
 * Sets (value != NULL) or removes (NULL) an attribute; the next heartbeat
 * carries it. TU_EINVAL/TU_ETOOBIG for a key or value over the bounds or not
 * UTF-8, or more than TU_MAX_ATTRS attributes.
 */
tu_status tu_heartbeat_set_attr(tu_heartbeat *h, const char *key, const char *value);

/*
 * Stops the thread; with leaving, first publishes a heartbeat with
 * `stopping: true` (the instance is absent at once). Closes the connection
 * it opened and frees h. Returns the status of that last publish (TU_OK
 * without leaving). NULL does nothing.
 */
tu_status tu_heartbeat_stop(tu_heartbeat *h, bool leaving);

/* ---- internals, exposed for tests ------------------------------------- */

/* One heartbeat as it goes on the wire. */
struct tu__hb_msg {
	char subject[TU_MAX_SUBJECT]; /* trueup.hb.<service>.<instance>, escaped */
	char msg_id[TU_MAX_SUBJECT];  /* <service>.<instance>.<sequence>, escaped */
	void *data;                   /* the packed Heartbeat, in the arena */
	size_t len;                   /* bytes of data */
};

/*
 * Checks the names, ttl and attrs against the bounds above and builds the
 * message (attrs sorted by key) in arena a. err says which field is wrong.
 */
tu_status tu__heartbeat_build(const char *service, const char *instance, int64_t ttl_ms,
			      const struct tu_heartbeat_attr *attrs, size_t n_attrs, uint64_t seq,
			      bool stopping, int64_t sent_ns, struct tu_arena *a,
			      struct tu__hb_msg *out, char *err, size_t errlen);

/* The next sequence after last at wall clock now_ns: max(last + 1, now in µs). */
uint64_t tu__heartbeat_next_seq(uint64_t last, int64_t now_ns);

#endif
