/*
 * streams.h - create or update trueup's streams and durable consumers.
 *
 * `trueup streams apply` calls tu_streams_apply(): streams TRUEUP_EVENTS,
 * TRUEUP_DRIFT, TRUEUP_CMD and TRUEUP_DEAD (subjects fixed by the public
 * contract, limits from config), the processor's durable pull consumer on
 * TRUEUP_EVENTS and one durable pull consumer per target on TRUEUP_CMD.
 * Idempotent: applying twice changes nothing. A field that differs and can
 * be changed in place is updated; one that cannot (storage, retention,
 * subjects, ack policy, filter subject) is a conflict reported by name,
 * and nothing further is changed.
 */
#ifndef TU_STREAMS_H
#define TU_STREAMS_H

#include <nats/nats.h>
#include <stdint.h>

#include "buf.h"
#include "bus.h"
#include "config.h"
#include "status.h"

/*
 * Applies streams and consumers. Appends one line per object to report
 * ("stream TRUEUP_EVENTS: created", "... unchanged", "... updated: max_age
 * 720h -> 24h"). Returns TU_ECONFLICT with err naming the object and field on
 * a conflict, other statuses on server errors.
 */
tu_status tu_streams_apply(tu_bus *bus, const struct tu_config *cfg, struct tu_buf *report,
			   char *err, size_t errlen);

/*
 * Fills cc with the processor consumer's config (strings point into cfg).
 * start_seq > 0 makes it deliver from that stream sequence; 0 from the start.
 */
void tu_streams_processor_consumer(const struct tu_config *cfg, uint64_t start_seq,
				   jsConsumerConfig *cc);

/* Fills cc with target t's consumer config; filter_buf (>= TU_MAX_SUBJECT) holds the filter. */
void tu_streams_target_consumer(const struct tu_target_config *t, jsConsumerConfig *cc,
				char *filter_buf, size_t filter_len);

#endif
