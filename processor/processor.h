/*
 * processor.h - the processor: one durable pull consumer on TRUEUP_EVENTS,
 * each fetched batch folded into the view in one LMDB write transaction,
 * input acked only after the commit, the outbox drained to JetStream, and
 * Tick facts published so that time moves without other events.
 *
 * Exactly once: the view records the last folded sequence with the fold.
 * On start the durable consumer is re-created to deliver from that sequence
 * + 1 whenever its position disagrees with the view (crash between commit
 * and ack, or a view that lost its last commits), and redelivered messages
 * with seq <= applied_seq are acked and skipped. A message that would leave
 * a gap (one skipped while it still exists in the stream) makes the
 * processor re-create the consumer at the gap instead of folding past it.
 */
#ifndef TU_PROCESSOR_H
#define TU_PROCESSOR_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "status.h"

typedef struct tu_processor tu_processor;

/*
 * Opens the view, connects and serves the endpoints on listen (NULL: the
 * config's http.processor; "": none). The policy must outlive the processor.
 */
tu_status tu_processor_create(const struct tu_config *cfg, const char *instance,
			      const char *listen, tu_processor **out, char *err, size_t errlen);
/* Runs until *stop becomes non-zero; then drains the outbox and returns. */
tu_status tu_processor_run(tu_processor *p, volatile sig_atomic_t *stop);
void tu_processor_destroy(tu_processor *p);

#endif
