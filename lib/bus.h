/*
 * bus.h - trueup's connection to NATS and JetStream (nats.c 3.4).
 *
 * One tu_bus per component process: a connection built from the config
 * (URL, user/password file or creds file, TLS CA with verification), its
 * JetStream context, and asynchronous publishing whose acks and failures are
 * reported, never dropped (PLATFORM-NOTES pitfall 4).
 *
 * Every trueup message carries Nats-Msg-Id, Trueup-Type and, where one
 * exists, Trueup-Correlation-Id (contract.h).
 *
 * Threads: publishing and acking are safe from any thread; a subscription's
 * Fetch must be called by one thread at a time (nats.c).
 */
#ifndef TU_BUS_H
#define TU_BUS_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "status.h"

typedef struct tu_bus tu_bus;

/*
 * Called from nats.c's ack thread for every async publish: st is TU_OK with the
 * stream sequence (duplicate: the stream already had this Nats-Msg-Id), or the
 * failure. msg_id is valid only during the call.
 */
typedef void (*tu_bus_ack_fn)(void *ctx, const char *msg_id, tu_status st, uint64_t seq,
			      bool duplicate);

struct tu_bus_opts {
	const char *name;        /* client name shown by the server */
	int64_t max_pending;     /* async publishes in flight before publish stalls; default 4096 */
	tu_bus_ack_fn on_ack;    /* optional */
	void *ack_ctx;
	bool keep_failed;        /* keep failed async messages for tu_bus_async_complete() to resend */
};

/* What one message needs; see contract.h for header meanings. */
struct tu_bus_msg {
	const char *subject;
	const char *type;           /* Trueup-Type */
	const char *msg_id;         /* Nats-Msg-Id */
	const char *correlation_id; /* optional */
	const void *data;
	size_t len;
};

/* Connects; on failure err says why (server URL, TLS, auth) without secrets. */
tu_status tu_bus_connect(const struct tu_nats_config *cfg, const struct tu_bus_opts *opts,
			 tu_bus **out, char *err, size_t errlen);
/* Waits up to timeout_ms for async publishes, then closes. NULL is a no-op. */
void tu_bus_destroy(tu_bus *bus, int64_t timeout_ms);

natsConnection *tu_bus_nc(tu_bus *bus);
jsCtx *tu_bus_js(tu_bus *bus);
int64_t tu_bus_request_timeout(const tu_bus *bus);

/* Builds a natsMsg with the trueup headers. Caller owns *out. */
tu_status tu_bus_msg_create(const struct tu_bus_msg *m, natsMsg **out);

/* Publishes and waits for the stream's ack. seq/duplicate may be NULL. */
tu_status tu_bus_publish(tu_bus *bus, const struct tu_bus_msg *m, uint64_t *seq, bool *duplicate,
			 char *err, size_t errlen);
/* Publishes asynchronously; the ack or failure goes to opts.on_ack. */
tu_status tu_bus_publish_async(tu_bus *bus, const struct tu_bus_msg *m);
/*
 * Waits until every async publish is acked. With keep_failed, messages whose
 * publish failed are re-sent (same Nats-Msg-Id, so the stream keeps one copy),
 * up to `retries` rounds. Returns TU_OK when all are stored; TU_ETIMEOUT or the
 * failure otherwise, with *unsent (may be NULL) set to the messages given up.
 */
tu_status tu_bus_async_complete(tu_bus *bus, int64_t timeout_ms, int retries, size_t *unsent);
/*
 * Takes back and drops every async publish still waiting for its ack (they
 * will never be reported); returns how many. For callers that re-send from
 * their own state (the outbox).
 */
size_t tu_bus_async_drop_pending(tu_bus *bus);
/* Async publishes sent and not yet acked. */
int tu_bus_async_pending(tu_bus *bus);

/*
 * A core NATS request (control requests, not stored): appends the reply's
 * body to reply. TU_ETIMEOUT after nats.request_timeout, TU_EUNAVAIL when
 * nobody listens on subject.
 */
tu_status tu_bus_request(tu_bus *bus, const char *subject, const void *data, size_t len,
			 struct tu_buf *reply);

/* Plain (non-JetStream) publish, e.g. replies to control requests. */
tu_status tu_bus_publish_core(tu_bus *bus, const char *subject, const void *data, size_t len);

/*
 * A pull subscription bound to an existing durable consumer of stream.
 * Caller destroys it with natsSubscription_Destroy().
 */
tu_status tu_bus_pull_bind(tu_bus *bus, const char *stream, const char *durable,
			   natsSubscription **out, char *err, size_t errlen);
/*
 * Fetches up to batch messages. TU_ETIMEOUT means idle (nothing arrived in
 * timeout_ms) and is not an error. The caller destroys the list
 * (natsMsgList_Destroy). Messages the subscription already holds (left by
 * pull requests from before a reconnect) come first, in smaller batches: see
 * bus.c for the nats.c bug this avoids.
 */
tu_status tu_bus_fetch(natsSubscription *sub, int batch, int64_t timeout_ms, natsMsgList *out);

/* JetStream metadata of a fetched message. */
struct tu_bus_meta {
	uint64_t stream_seq;
	uint64_t consumer_seq;
	uint64_t delivered; /* delivery count, 1 on first delivery */
	uint64_t pending;   /* messages left for the consumer after this one */
	int64_t ts_ns;      /* stream timestamp */
};
tu_status tu_bus_meta(natsMsg *msg, struct tu_bus_meta *out);

/* A header's value, or NULL. Valid while msg lives. */
const char *tu_bus_header(natsMsg *msg, const char *key);

/* Reads the message at seq of stream (NULL msg with TU_ENOTFOUND if none). */
tu_status tu_bus_get_msg(tu_bus *bus, const char *stream, uint64_t seq, natsMsg **out);
/* Reads the last message on subject in stream; TU_ENOTFOUND if none. */
tu_status tu_bus_get_last(tu_bus *bus, const char *stream, const char *subject, natsMsg **out);

/* Maps a natsStatus to tu_status. */
tu_status tu_bus_status(natsStatus s);

#endif
