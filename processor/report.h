/*
 * report.h - a view's state for people and scripts: applied sequence, fold
 * time, lag, outbox depth, counters, every drift (pending, open, escalated),
 * the last scan of each source and the actuators' breakers. `trueup status` prints it; the
 * processor serves it on GET /reconciliation/status.
 */
#ifndef TU_REPORT_H
#define TU_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "bus.h"
#include "config.h"
#include "status.h"
#include "view.h"

/* Messages of TRUEUP_EVENTS the processor's consumer has not folded; -1 if unknown. */
int64_t tu_report_lag(tu_bus *bus, const struct tu_config *cfg);

/*
 * Appends the report as text or one JSON object. With a bus (may be NULL) it
 * also asks every target's actuators for their state (breaker, counters:
 * trueup.ctl.actuator.<target>, replies within TU_REPORT_ACTUATOR_WAIT_MS).
 */
#define TU_REPORT_ACTUATOR_WAIT_MS 500
tu_status tu_report_write(tu_view *v, tu_bus *bus, const struct tu_config *cfg, int64_t lag,
			  bool json, struct tu_buf *out);

#endif
