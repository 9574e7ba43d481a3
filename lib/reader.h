/*
 * reader.h - reads a stream in order through a temporary pull consumer
 * (AckNone), for replay, dumps, audits and feeds. The consumer is a durable
 * with a random name, deleted by tu_reader_close(); it is never the
 * processor's or an actuator's.
 */
#ifndef TU_READER_H
#define TU_READER_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "status.h"

typedef struct tu_reader tu_reader;

struct tu_reader_opts {
	uint64_t start_seq;   /* first sequence to read; 0 = from the start */
	const char *filter;   /* subject filter; NULL = every subject */
	bool follow;          /* keep waiting for new messages instead of ending */
};

tu_status tu_reader_open(tu_bus *bus, const char *stream, const struct tu_reader_opts *opts,
			 tu_reader **out, char *err, size_t errlen);
/*
 * Fetches up to batch messages into out (caller destroys the list).
 * TU_ENOTFOUND: the end (everything stored when the reader was opened, or
 * caught up, has been read; never with follow). TU_ETIMEOUT with follow:
 * nothing new yet.
 */
tu_status tu_reader_next(tu_reader *r, int batch, int64_t wait_ms, natsMsgList *out);
/* Last sequence of the stream when the reader was opened. */
uint64_t tu_reader_last_seq(const tu_reader *r);
void tu_reader_close(tu_reader *r);

#endif
