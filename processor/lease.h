/*
 * lease.h - the processor's lease on its partition (processor.lease).
 *
 * One key per partition, processor.<partition>, in a JetStream KV bucket.
 * Its value is JSON: {"holder", "expires_ms" (wall clock), "renewed_ms",
 * "ttl_ms", "published_seq"}. Every write is a compare-and-set on the
 * revision last read (kvStore_Create for a key that does not exist), so two
 * processors can never both believe a write of theirs won.
 *
 * Roles: the holder renews every `renew`; a standby reads every `renew` and
 * takes the lease when its expiry has passed (or the holder is this very
 * instance, restarted). A holder that cannot renew for ttl - renew (NATS
 * unreachable, paused) gives the lease up on its own before a standby may
 * take it, so two holders overlap only if clocks disagree by more than one
 * renew interval (run NTP). published_seq is the holder's promise: every
 * message derived from events up to it is in JetStream; a standby drops
 * those from its own outbox and re-sends only the rest when it takes over
 * (the duplicate windows turn re-sends into no-ops).
 *
 * Threads: one caller (the processor's lease thread); tu_lease_* are not
 * thread-safe.
 */
#ifndef TU_LEASE_H
#define TU_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "status.h"

typedef struct tu_lease tu_lease;

/* The lease as last read or written. */
struct tu_lease_state {
	bool held;               /* this instance holds it */
	char holder[128];        /* the holder named in the value ("" if none) */
	int64_t expires_ms;      /* wall clock, ms since the epoch */
	int64_t renewed_ms;      /* when the holder last wrote it (wall clock) */
	uint64_t published_seq;  /* the holder's published bound */
	uint64_t revision;       /* KV revision of the value */
};

/* Binds the bucket (created by `trueup streams apply`). bus must outlive the lease. */
tu_status tu_lease_open(const struct tu_lease_config *cfg, tu_bus *bus, const char *instance,
			tu_lease **out, char *err, size_t errlen);
void tu_lease_close(tu_lease *l);
/*
 * One round: the holder renews with published_seq; a standby tries to take
 * an expired lease. Returns the state after the round (held or not).
 */
struct tu_lease_state tu_lease_step(tu_lease *l, uint64_t published_seq);
/* A holder stepping down (shutdown): the lease expires now, so a standby takes it at once. */
void tu_lease_release(tu_lease *l, uint64_t published_seq);
/* Reads the lease of a partition without taking part (status, tests). TU_ENOTFOUND if none. */
tu_status tu_lease_read(tu_bus *bus, const struct tu_lease_config *cfg,
			struct tu_lease_state *out);
#endif
