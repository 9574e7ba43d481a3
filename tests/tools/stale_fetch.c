/*
 * stale_fetch - test tool: tu_bus_fetch() on a pull subscription that already
 * holds messages of an earlier pull request, with another earlier request
 * still waiting on the server: what a reconnect leaves behind (pull requests
 * sent before the disconnect, or buffered during it). nats.c before 3.9 then
 * collects more than `batch` messages into an array of `batch` (nats.c #749).
 *
 * usage: stale_fetch --url URL
 *
 * Creates stream STALE (memory, subjects stale.>) and durable pull consumer
 * "c"; publishes 100 messages; sends pull request A (100, to the
 * subscription's inbox) and waits until its 100 messages are pending in the
 * subscription; sends pull request B (500, 10 s), which waits for messages;
 * then fetches batches of BATCH while 500 more messages are published. Exit 0
 * if every fetch returned at most BATCH messages and all 600 arrived, 1 (and
 * what went wrong) otherwise.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

#include "bus.h"
#include "clock.h"

#define BATCH 128
#define FIRST 100   /* messages of request A, pending before the fetch */
#define SECOND 500  /* messages published during the fetch, for request B */

static void *publish_later(void *arg)
{
	jsCtx *js = arg;
	tu_clock_sleep_ms(300);
	for (int i = 0; i < SECOND; i++)
		js_PublishAsync(js, "stale.x", "m", 1, NULL);
	js_PublishAsyncComplete(js, NULL);
	return NULL;
}

static int fail(const char *what, natsStatus s)
{
	fprintf(stderr, "stale_fetch: %s: %s\n", what, natsStatus_GetText(s));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "url", required_argument, NULL, 'u' },
					      { NULL, 0, NULL, 0 } };
	const char *url = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'u')
			return 2;
		url = optarg;
	}
	if (url == NULL)
		return 2;

	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsSubscription *sub = NULL;
	natsStatus s = natsConnection_ConnectTo(&nc, url);
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, NULL);
	if (s != NATS_OK)
		return fail("connect", s);
	const char *subjects[] = { "stale.>" };
	jsStreamConfig sc;
	jsStreamConfig_Init(&sc);
	sc.Name = "STALE";
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_MemoryStorage;
	if ((s = js_AddStream(NULL, js, &sc, NULL, NULL)) != NATS_OK)
		return fail("add stream", s);
	jsConsumerConfig cc;
	jsConsumerConfig_Init(&cc);
	cc.Durable = "c";
	cc.AckPolicy = js_AckExplicit;
	cc.MaxAckPending = 10000;
	if ((s = js_AddConsumer(NULL, js, "STALE", &cc, NULL, NULL)) != NATS_OK)
		return fail("add consumer", s);
	for (int i = 0; i < FIRST; i++)
		js_PublishAsync(js, "stale.x", "m", 1, NULL);
	js_PublishAsyncComplete(js, NULL);

	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = "STALE";
	so.Consumer = "c";
	if ((s = js_PullSubscribe(&sub, js, NULL, "c", NULL, &so, NULL)) != NATS_OK)
		return fail("pull subscribe", s);
	const char *inbox = natsSubscription_GetSubject(sub);
	const char *next = "$JS.API.CONSUMER.MSG.NEXT.STALE.c";
	natsConnection_PublishRequestString(nc, next, inbox, "{\"batch\":100,\"expires\":5000000000}");
	int pending = 0;
	for (int i = 0; i < 100 && pending < FIRST; i++) {
		tu_clock_sleep_ms(20);
		natsSubscription_GetPending(sub, &pending, NULL);
	}
	if (pending < FIRST) {
		fprintf(stderr, "stale_fetch: only %d messages of request A arrived\n", pending);
		return 1;
	}
	natsConnection_PublishRequestString(nc, next, inbox, "{\"batch\":500,\"expires\":10000000000}");
	natsConnection_Flush(nc);

	pthread_t t;
	pthread_create(&t, NULL, publish_later, js);
	int total = 0, fetches = 0, most = 0, rc = 0;
	for (int64_t end = tu_clock_mono_ns() + 8 * TU_NS_PER_S;
	     total < FIRST + SECOND && tu_clock_mono_ns() < end;) {
		natsMsgList list = { 0 };
		tu_status st = tu_bus_fetch(sub, BATCH, 1000, &list);
		fetches++;
		if (list.Count > most)
			most = list.Count;
		total += list.Count;
		for (int i = 0; i < list.Count; i++)
			natsMsg_Ack(list.Msgs[i], NULL);
		natsMsgList_Destroy(&list);
		if (most > BATCH) {
			fprintf(stderr, "stale_fetch: a fetch of %d returned %d messages: the array "
					"of the fetch was overrun\n", BATCH, most);
			rc = 1;
			break;
		}
		if (st != TU_OK && st != TU_ETIMEOUT) {
			fprintf(stderr, "stale_fetch: fetch: %s\n", tu_status_str(st));
			rc = 1;
			break;
		}
	}
	pthread_join(t, NULL);
	if (rc == 0 && total != FIRST + SECOND) {
		fprintf(stderr, "stale_fetch: %d of %d messages fetched\n", total, FIRST + SECOND);
		rc = 1;
	}
	if (rc == 0)
		printf("stale_fetch: %d messages in %d fetches of at most %d (largest %d)\n", total,
		       fetches, BATCH, most);
	natsSubscription_Destroy(sub);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}
