/* reader.c - ordered stream reading through a temporary consumer (see reader.h). */
#include "reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ids.h"
#include "xalloc.h"

struct tu_reader {
	tu_bus *bus;
	char *stream;          /* owned */
	char name[64];         /* consumer name */
	natsSubscription *sub; /* owned */
	uint64_t last_seq;     /* stream's last sequence at open */
	uint64_t read_seq;     /* last sequence returned */
	bool follow;
	bool empty;            /* the stream had nothing to read at open */
};

tu_status tu_reader_open(tu_bus *bus, const char *stream, const struct tu_reader_opts *opts,
			 tu_reader **out, char *err, size_t errlen)
{
	jsStreamInfo *si = NULL;
	jsErrCode ec = 0;
	natsStatus s = js_GetStreamInfo(&si, tu_bus_js(bus), stream, NULL, &ec);
	if (s != NATS_OK) {
		snprintf(err, errlen, "stream %s: %s (run `trueup streams apply`?)", stream,
			 natsStatus_GetText(s));
		return tu_bus_status(s);
	}
	tu_reader *r = tu_xcalloc(1, sizeof(*r));
	r->bus = bus;
	r->stream = tu_xstrdup(stream);
	r->last_seq = si->State.LastSeq;
	r->follow = opts->follow;
	r->empty = si->State.Msgs == 0 || (opts->start_seq > si->State.LastSeq);
	jsStreamInfo_Destroy(si);

	char seed[96];
	snprintf(seed, sizeof(seed), "%d-%lld-%p", (int)getpid(), (long long)tu_clock_mono_ns(),
		 (void *)r);
	char hex[TU_ID_SIZE];
	tu_digest_hex(hex, seed, strlen(seed));
	snprintf(r->name, sizeof(r->name), "trueup-read-%.12s", hex);

	jsConsumerConfig cc;
	jsConsumerConfig_Init(&cc);
	cc.Durable = r->name;
	cc.Description = "trueup reader (temporary)";
	cc.AckPolicy = js_AckNone;
	cc.FilterSubject = opts->filter;
	cc.MaxWaiting = 16;
	if (opts->start_seq > 0) {
		cc.DeliverPolicy = js_DeliverByStartSequence;
		cc.OptStartSeq = opts->start_seq;
	} else {
		cc.DeliverPolicy = js_DeliverAll;
	}
	jsConsumerInfo *ci = NULL;
	s = js_AddConsumer(&ci, tu_bus_js(bus), stream, &cc, NULL, &ec);
	jsConsumerInfo_Destroy(ci);
	if (s != NATS_OK) {
		snprintf(err, errlen, "stream %s: cannot create a reader: %s (jetstream error %d)",
			 stream, natsStatus_GetText(s), (int)ec);
		free(r->stream);
		free(r);
		return tu_bus_status(s);
	}
	tu_status st = tu_bus_pull_bind(bus, stream, r->name, &r->sub, err, errlen);
	if (st != TU_OK) {
		tu_reader_close(r);
		return st;
	}
	*out = r;
	return TU_OK;
}

tu_status tu_reader_next(tu_reader *r, int batch, int64_t wait_ms, natsMsgList *out)
{
	if (!r->follow && (r->empty || r->read_seq >= r->last_seq))
		return TU_ENOTFOUND;
	natsMsgList list = { 0 };
	tu_status st = tu_bus_fetch(r->sub, batch, wait_ms, &list);
	if (list.Count == 0) {
		natsMsgList_Destroy(&list);
		if (st == TU_ETIMEOUT && !r->follow) {
			/* Nothing more for this filter: the rest of the stream is other subjects. */
			return TU_ENOTFOUND;
		}
		return st == TU_OK ? TU_ETIMEOUT : st;
	}
	struct tu_bus_meta m;
	if (tu_bus_meta(list.Msgs[list.Count - 1], &m) == TU_OK) {
		r->read_seq = m.stream_seq;
		if (!r->follow && m.pending == 0)
			r->last_seq = m.stream_seq; /* filtered: nothing after this for us */
	}
	*out = list;
	return TU_OK;
}

uint64_t tu_reader_last_seq(const tu_reader *r)
{
	return r->last_seq;
}

void tu_reader_close(tu_reader *r)
{
	if (r == NULL)
		return;
	if (r->sub != NULL)
		natsSubscription_Destroy(r->sub);
	js_DeleteConsumer(tu_bus_js(r->bus), r->stream, r->name, NULL, NULL);
	free(r->stream);
	free(r);
}
