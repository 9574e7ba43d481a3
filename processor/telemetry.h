/*
 * telemetry.h - the processor's metrics and HTTP endpoints (docs/metrics.md):
 * /healthz, /readyz, /metrics, GET /reconciliation/status and
 * POST /reconciliation/trigger.
 *
 * Counts derived during a fold arrive through fold hooks and are buffered
 * until the batch's transaction commits (an aborted batch is folded again
 * and must not count twice). Gauges (drift by rule, lag, outbox depth) are
 * computed when /metrics is scraped. The endpoints run on libmicrohttpd's
 * thread; the fold thread only touches the buffer and a few atomics.
 */
#ifndef TU_TELEMETRY_H
#define TU_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "fold.h"
#include "outbox.h"
#include "status.h"
#include "view.h"

typedef struct tu_telemetry tu_telemetry;

/* Everything borrowed must outlive the telemetry. */
tu_telemetry *tu_telemetry_create(const struct tu_config *cfg, tu_view *view, tu_bus *bus,
				  tu_outbox *outbox);
/* Serves the endpoints on addr ("" or NULL: none). */
tu_status tu_telemetry_listen(tu_telemetry *t, const char *addr, char *err, size_t errlen);
/* Stops serving and frees. NULL is a no-op. */
void tu_telemetry_destroy(tu_telemetry *t);

/* Hooks to give the fold (tu_fold_set_hooks). */
struct tu_fold_hooks tu_telemetry_hooks(tu_telemetry *t);
/*
 * A batch ended: with committed, the buffered counts, the fold's counters
 * (stats, cumulative) and the batch's duration become metrics; otherwise
 * the buffer is dropped.
 */
void tu_telemetry_batch_end(tu_telemetry *t, bool committed, const struct tu_fold_stats *stats,
			    double seconds, uint64_t applied_seq);
/* The fold loop is alive (for /healthz). */
void tu_telemetry_alive(tu_telemetry *t);
/* The durable consumer is bound (for /readyz). */
void tu_telemetry_bound(tu_telemetry *t, bool bound);
/* processor.lease: this processor holds the lease (or stands by: /readyz answers 503). */
void tu_telemetry_lease(tu_telemetry *t, bool held);

#endif
