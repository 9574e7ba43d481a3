/*
 * processor.c - the processor's main loop (see processor.h).
 *
 * Threads: the fetcher (pulls batches from the durable consumer into a short
 * queue, so the next batch is on its way while one is folded: nats.c allows
 * one Fetch per subscription at a time), the fold thread (this loop: fold,
 * commit, ack), the outbox publisher (outbox.c), the ticker, which
 * publishes one Tick per processor.tick interval (Nats-Msg-Id
 * tick.<interval>.<bucket>, so several ticking processors produce one tick
 * per bucket), and the syncer, which flushes the view every sync_interval
 * (sync none or meta) off the fold thread.
 *
 * Re-binding the consumer (start, sequence gap, fold failure) happens with
 * the fetcher paused and the queue emptied: batches fetched from the old
 * consumer are dropped unacked and arrive again from the new one.
 */
#include "processor.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "bus.h"
#include "clock.h"
#include "contract.h"
#include "fold.h"
#include "lease.h"
#include "log.h"
#include "outbox.h"
#include "pb.h"
#include "streams.h"
#include "telemetry.h"
#include "view.h"
#include "xalloc.h"

#define QUEUE_DEPTH 4 /* most fetched batches waiting to be folded */
#define FOLLOW_NAME_MAX 160 /* bytes of a standby's consumer name */
/* A standby's own consumer outlives the standby by this long (nanoseconds). */
#define FOLLOW_INACTIVE_NS (INT64_C(24) * 3600 * 1000000000)

struct tu_processor {
	const struct tu_config *cfg;
	char *instance;               /* this instance's name (Tick.processor) */
	tu_view *view;                /* owned */
	tu_fold *fold;                /* owned */
	tu_bus *bus;                  /* owned */
	tu_outbox *outbox;            /* owned; NULL until created; guarded by ack_mu */
	pthread_mutex_t ack_mu;       /* acks (nats.c's thread) reach the outbox only while it lives */
	tu_telemetry *telemetry;      /* owned: metrics and endpoints */
	int64_t batch_start_ns;       /* monotonic start of the batch being folded */
	natsSubscription *sub;        /* bound pull subscription, owned */
	bool accept_gap;              /* next message comes from a freshly created consumer */
	pthread_t ticker;
	bool ticker_started;
	pthread_t syncer;
	bool syncer_started;
	volatile sig_atomic_t *stop;  /* set by the caller's signal handler */

	pthread_t fetcher;
	bool fetcher_started;
	pthread_mutex_t mu;           /* guards the queue and the fetcher's state */
	pthread_cond_t cond;          /* queue changed, pause requested or granted */
	natsMsgList queue[QUEUE_DEPTH]; /* ring of fetched, non-empty batches */
	natsMsgList spent[QUEUE_DEPTH]; /* folded and acked batches the fetcher frees */
	int n_spent;
	int q_head, q_len;
	int q_max;                    /* batches the fetcher may run ahead (max_ack_pending allows) */
	bool pause;                   /* fold thread wants the fetcher idle */
	bool paused;                  /* the fetcher is idle and will not fetch */
	bool quit;                    /* the fetcher must exit */

	/* High availability (processor.lease; lease.h). */
	tu_lease *lease;              /* owned; NULL without a lease */
	pthread_t lease_thread;
	bool lease_started;
	_Atomic bool want_holder;     /* the lease thread's verdict */
	_Atomic uint64_t holder_published; /* the holder's published bound, as last read */
	bool holder;                  /* fold thread: folding as the holder (always without a lease) */
	char follow[FOLLOW_NAME_MAX]; /* a standby's own durable consumer */
};

static void on_ack(void *ctx, const char *msg_id, tu_status st, uint64_t seq, bool dup)
{
	tu_processor *p = ctx;
	pthread_mutex_lock(&p->ack_mu);
	if (p->outbox != NULL)
		tu_outbox_on_ack(p->outbox, msg_id, st, seq, dup);
	pthread_mutex_unlock(&p->ack_mu);
}

tu_status tu_processor_create(const struct tu_config *cfg, const char *instance,
			      const char *listen, tu_processor **out, char *err, size_t errlen)
{
	tu_processor *p = tu_xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->ack_mu, NULL);
	p->cfg = cfg;
	p->instance = tu_xstrdup(instance);
	tu_status st = tu_view_open(cfg->processor.view, cfg->processor.map_size,
				    cfg->processor.sync, true, &p->view, err, errlen);
	if (st == TU_OK)
		st = tu_fold_create(cfg, p->view, &p->fold, err, errlen);
	if (st == TU_OK) {
		struct tu_bus_opts bo = { .name = "trueup-processor",
					  .max_pending = cfg->processor.outbox_inflight + 64,
					  .on_ack = on_ack,
					  .ack_ctx = p };
		st = tu_bus_connect(&cfg->nats, &bo, &p->bus, err, errlen);
	}
	if (st != TU_OK) {
		tu_processor_destroy(p);
		return st;
	}
	p->holder = true;
	if (cfg->processor.lease.enabled) {
		st = tu_lease_open(&cfg->processor.lease, p->bus, instance, &p->lease, err, errlen);
		if (st != TU_OK) {
			tu_processor_destroy(p);
			return st;
		}
		p->holder = false;
		/* <consumer>-standby-<instance>, the instance reduced to a durable name's characters. */
		int n = snprintf(p->follow, sizeof(p->follow), "%s-standby-", cfg->processor.consumer);
		for (const char *c = instance; *c != '\0' && n + 1 < (int)sizeof(p->follow); c++)
			p->follow[n++] = (char)(isalnum((unsigned char)*c) || *c == '-' ? *c : '_');
		p->follow[n] = '\0';
	}
	tu_outbox *o = tu_outbox_create(p->view, p->bus, &cfg->processor);
	pthread_mutex_lock(&p->ack_mu);
	p->outbox = o;
	pthread_mutex_unlock(&p->ack_mu);
	p->telemetry = tu_telemetry_create(cfg, p->view, p->bus, p->outbox);
	struct tu_fold_hooks hooks = tu_telemetry_hooks(p->telemetry);
	tu_fold_set_hooks(p->fold, &hooks);
	st = tu_telemetry_listen(p->telemetry, listen != NULL ? listen : cfg->http.processor, err,
				 errlen);
	if (st != TU_OK) {
		/* Endpoints are not the job: say so loudly and fold anyway. */
		tu_error("endpoints not served (give --listen or http.processor): %s", err);
		st = TU_OK;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	/* Unacked messages: the queue, the batch in the fold and the one being fetched. */
	p->q_max = cfg->processor.max_ack_pending / cfg->processor.batch - 2;
	if (p->q_max < 1)
		p->q_max = 1;
	if (p->q_max > QUEUE_DEPTH)
		p->q_max = QUEUE_DEPTH;
	*out = p;
	return TU_OK;
}

/* Frees the spent batches (with p->mu held, or when no other thread runs). */
static void free_spent(tu_processor *p)
{
	for (int i = 0; i < p->n_spent; i++)
		natsMsgList_Destroy(&p->spent[i]);
	p->n_spent = 0;
}

/*
 * Hands a folded and acked batch to the fetcher, which frees it between two
 * fetches: freeing a batch's messages is work the fold thread, the one that
 * bounds the rate, need not do.
 */
static void spend(tu_processor *p, natsMsgList *list)
{
	pthread_mutex_lock(&p->mu);
	if (p->n_spent < QUEUE_DEPTH && p->fetcher_started) {
		p->spent[p->n_spent++] = *list;
		list->Msgs = NULL;
		list->Count = 0;
	}
	pthread_mutex_unlock(&p->mu);
	if (list->Msgs != NULL)
		natsMsgList_Destroy(list); /* the fetcher could not take it */
}

void tu_processor_destroy(tu_processor *p)
{
	if (p == NULL)
		return;
	tu_telemetry_destroy(p->telemetry);
	tu_lease_close(p->lease);
	/*
	 * Acks go on arriving until the bus is closed (tu_bus_destroy waits for
	 * the last publishes): detach the outbox first, so that none reaches it
	 * once it is freed.
	 */
	pthread_mutex_lock(&p->ack_mu);
	tu_outbox *o = p->outbox;
	p->outbox = NULL;
	pthread_mutex_unlock(&p->ack_mu);
	tu_outbox_destroy(o);
	for (int i = 0; i < p->q_len; i++)
		natsMsgList_Destroy(&p->queue[(p->q_head + i) % QUEUE_DEPTH]);
	free_spent(p);
	if (p->sub != NULL)
		natsSubscription_Destroy(p->sub);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->ack_mu);
	tu_bus_destroy(p->bus, 1000);
	tu_fold_destroy(p->fold);
	tu_view_close(p->view);
	free(p->instance);
	free(p);
}

static tu_status read_applied(tu_processor *p, uint64_t *applied)
{
	MDB_txn *txn = NULL;
	tu_status st = tu_view_begin(p->view, false, &txn);
	if (st != TU_OK)
		return st;
	st = tu_view_meta_get(txn, p->view, TU_META_APPLIED_SEQ, applied);
	tu_view_abort(p->view, txn);
	return st;
}

/*
 * Makes the durable consumer deliver from applied_seq + 1 and binds to it.
 * The consumer is kept when its position already agrees with the view.
 */
static tu_status bind_consumer(tu_processor *p, bool force)
{
	const char *durable = p->holder ? p->cfg->processor.consumer : p->follow;
	char err[512];
	uint64_t applied = 0;
	tu_status st = read_applied(p, &applied);
	if (st != TU_OK)
		return st;
	if (p->sub != NULL) {
		natsSubscription_Destroy(p->sub);
		p->sub = NULL;
	}
	tu_telemetry_bound(p->telemetry, false);
	jsConsumerInfo *ci = NULL;
	jsErrCode ec = 0;
	natsStatus s = js_GetConsumerInfo(&ci, tu_bus_js(p->bus), TU_STREAM_EVENTS, durable, NULL,
					  &ec);
	bool recreate = force || s != NATS_OK;
	if (s == NATS_OK) {
		bool agrees = ci->Delivered.Stream == applied && ci->AckFloor.Stream == applied &&
			      ci->NumAckPending == 0;
		recreate = recreate || !agrees;
		if (!agrees)
			tu_info("consumer %s is at delivered %" PRIu64 " / ack floor %" PRIu64
				", the view at %" PRIu64 "; re-creating it at %" PRIu64,
				durable, ci->Delivered.Stream, ci->AckFloor.Stream, applied,
				applied + 1);
	} else if (s != NATS_NOT_FOUND && ec != JSConsumerNotFoundErr) {
		tu_error("cannot read consumer %s: %s", durable, natsStatus_GetText(s));
		jsConsumerInfo_Destroy(ci);
		return tu_bus_status(s);
	}
	jsConsumerInfo_Destroy(ci);
	if (recreate) {
		js_DeleteConsumer(tu_bus_js(p->bus), TU_STREAM_EVENTS, durable, NULL, NULL);
		jsConsumerConfig cc;
		tu_streams_processor_consumer(p->cfg, applied + 1, &cc);
		if (!p->holder) {
			cc.Durable = p->follow;
			cc.Description = "trueup standby processor: follows the stream, publishes nothing";
			cc.InactiveThreshold = FOLLOW_INACTIVE_NS;
		}
		ci = NULL;
		s = js_AddConsumer(&ci, tu_bus_js(p->bus), TU_STREAM_EVENTS, &cc, NULL, &ec);
		jsConsumerInfo_Destroy(ci);
		if (s != NATS_OK) {
			tu_error("cannot create consumer %s on %s: %s (jetstream error %d); run "
				 "`trueup streams apply`?",
				 durable, TU_STREAM_EVENTS, natsStatus_GetText(s), (int)ec);
			return tu_bus_status(s);
		}
		p->accept_gap = true;
	}
	st = tu_bus_pull_bind(p->bus, TU_STREAM_EVENTS, durable, &p->sub, err, sizeof(err));
	if (st != TU_OK)
		tu_error("%s", err);
	tu_telemetry_bound(p->telemetry, st == TU_OK);
	return st;
}

/* True if some message in [from, to] still exists in TRUEUP_EVENTS. */
static bool gap_has_messages(tu_processor *p, uint64_t from, uint64_t to)
{
	if (to - from > 64)
		return true; /* a long gap: let a fresh consumer find the next message */
	for (uint64_t s = from; s <= to; s++) {
		natsMsg *m = NULL;
		tu_status st = tu_bus_get_msg(p->bus, TU_STREAM_EVENTS, s, &m);
		natsMsg_Destroy(m);
		if (st != TU_ENOTFOUND)
			return true;
	}
	return false;
}

static void *ticker_main(void *arg)
{
	tu_processor *p = arg;
	int64_t interval = p->cfg->processor.tick;
	int64_t last = -1;
	while (!*p->stop) {
		int64_t now_ms = tu_clock_wall_ns() / TU_NS_PER_MS;
		int64_t bucket = now_ms / interval;
		if (bucket != last) {
			last = bucket;
			Trueup__V1__Tick t = TRUEUP__V1__TICK__INIT;
			t.bucket = bucket;
			t.interval_ms = interval;
			t.processor = p->instance;
			uint8_t buf[256];
			size_t n = trueup__v1__tick__pack(&t, buf);
			char id[64];
			snprintf(id, sizeof(id), "tick.%" PRId64 ".%" PRId64, interval, bucket);
			struct tu_bus_msg m = { TU_SUBJ_TICK, TU_TYPE_TICK, id, NULL, buf, n };
			tu_status st = tu_bus_publish_async(p->bus, &m);
			if (st != TU_OK)
				tu_debug("tick %s not published: %s", id, tu_status_str(st));
		}
		int64_t next = (bucket + 1) * interval;
		int64_t wait = next - tu_clock_wall_ns() / TU_NS_PER_MS;
		tu_clock_sleep_ms(wait < 1 ? 1 : (wait > 200 ? 200 : wait));
	}
	return NULL;
}

static void *fetcher_main(void *arg)
{
	tu_processor *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && (p->pause || p->q_len >= p->q_max)) {
			if (p->pause && !p->paused) {
				p->paused = true;
				pthread_cond_broadcast(&p->cond);
			}
			pthread_cond_wait(&p->cond, &p->mu);
		}
		if (p->quit)
			break;
		p->paused = false;
		natsSubscription *sub = p->sub;
		natsMsgList spent[QUEUE_DEPTH];
		int n_spent = p->n_spent;
		memcpy(spent, p->spent, sizeof(spent));
		p->n_spent = 0;
		pthread_mutex_unlock(&p->mu);
		for (int i = 0; i < n_spent; i++)
			natsMsgList_Destroy(&spent[i]);
		natsMsgList list = { 0 };
		tu_status st = tu_bus_fetch(sub, p->cfg->processor.batch, p->cfg->processor.fetch_wait,
					    &list);
		pthread_mutex_lock(&p->mu);
		if (list.Count > 0) {
			p->queue[(p->q_head + p->q_len) % QUEUE_DEPTH] = list;
			p->q_len++;
			pthread_cond_broadcast(&p->cond);
		} else {
			natsMsgList_Destroy(&list);
			if (st != TU_OK && st != TU_ETIMEOUT && !p->quit) {
				pthread_mutex_unlock(&p->mu);
				tu_warn("fetch from %s: %s", TU_STREAM_EVENTS, tu_status_str(st));
				tu_clock_sleep_ms(200);
				pthread_mutex_lock(&p->mu);
			}
		}
	}
	p->paused = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Stops the fetcher between fetches and drops what it queued (unacked: it comes again). */
static void fetcher_pause(tu_processor *p)
{
	pthread_mutex_lock(&p->mu);
	p->pause = true;
	pthread_cond_broadcast(&p->cond);
	while (p->fetcher_started && !p->paused)
		pthread_cond_wait(&p->cond, &p->mu);
	for (int i = 0; i < p->q_len; i++)
		natsMsgList_Destroy(&p->queue[(p->q_head + i) % QUEUE_DEPTH]);
	p->q_head = 0;
	p->q_len = 0;
	pthread_mutex_unlock(&p->mu);
}

static void fetcher_resume(tu_processor *p)
{
	pthread_mutex_lock(&p->mu);
	p->pause = false;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
}

/* Takes the next fetched batch; false if none arrived within wait_ms. */
static bool next_batch(tu_processor *p, int64_t wait_ms, natsMsgList *out)
{
	pthread_mutex_lock(&p->mu);
	if (p->q_len == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + wait_ms * TU_NS_PER_MS;
		ts.tv_sec += (time_t)(ns / TU_NS_PER_S);
		ts.tv_nsec = (long)(ns % TU_NS_PER_S);
		pthread_cond_timedwait(&p->cond, &p->mu, &ts);
	}
	bool got = p->q_len > 0;
	if (got) {
		*out = p->queue[p->q_head];
		p->q_head = (p->q_head + 1) % QUEUE_DEPTH;
		p->q_len--;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->mu);
	return got;
}

/* Re-binds the consumer with the fetcher paused. */
static tu_status rebind(tu_processor *p)
{
	fetcher_pause(p);
	tu_status st = bind_consumer(p, true);
	fetcher_resume(p);
	return st;
}

static tu_status reclaim(void *ctx, MDB_txn *txn)
{
	tu_processor *p = ctx;
	if (!p->holder) {
		/* A standby keeps only what the holder may not have sent yet. */
		uint64_t trimmed = 0;
		tu_status st = tu_outbox_trim(p->outbox, txn, p->holder_published, &trimmed);
		if (st != TU_OK)
			return st;
	}
	return tu_outbox_reclaim(p->outbox, txn);
}

static void reclaim_end(void *ctx, bool committed)
{
	tu_processor *p = ctx;
	tu_outbox_reclaim_end(p->outbox, committed);
	double secs = (double)(tu_clock_mono_ns() - p->batch_start_ns) / 1e9;
	tu_telemetry_batch_end(p->telemetry, committed, tu_fold_stats(p->fold), secs,
			       tu_fold_applied_seq(p->fold));
}

/* Folds one fetched batch; acks it after the commit. */
static tu_status handle_batch(tu_processor *p, natsMsgList *list)
{
	int off = 0;
	while (off < list->Count) {
		struct tu_batch_opts opts = { .accept_gap_first = p->accept_gap,
					      .before_commit = reclaim,
					      .after = reclaim_end,
					      .ctx = p };
		struct tu_batch_result res;
		p->batch_start_ns = tu_clock_mono_ns();
		tu_status st = tu_batch_fold(p->fold, p->view, list->Msgs + off, list->Count - off,
					     &opts, &res);
		if (st != TU_OK) {
			tu_error("fold of a batch failed: %s; the batch will be delivered again",
				 tu_status_str(st));
			return st;
		}
		if (res.done > 0) {
			p->accept_gap = false;
			/* AckAll: acking the last handled message acks everything before it. */
			natsMsg_Ack(list->Msgs[off + res.done - 1], NULL);
			tu_outbox_kick(p->outbox);
		}
		off += res.done;
		if (!res.gap)
			continue;
		if (gap_has_messages(p, res.gap_from, res.gap_to)) {
			tu_warn("delivery skipped sequences %" PRIu64 "..%" PRIu64
				" that the stream still holds; re-reading from %" PRIu64,
				res.gap_from, res.gap_to, res.gap_from);
			return rebind(p);
		}
		tu_info("sequences %" PRIu64 "..%" PRIu64 " are gone from the stream (deleted or "
			"expired); continuing after them", res.gap_from, res.gap_to);
		p->accept_gap = true;
	}
	return TU_OK;
}

/*
 * With sync none or meta, flushes the view every sync_interval and clears
 * stale reader slots. Its own thread: an fdatasync takes tens of
 * milliseconds, which on the fold thread every event arriving meanwhile
 * would wait (mdb_env_sync is an fdatasync, safe beside a write transaction).
 */
static void *syncer_main(void *arg)
{
	tu_processor *p = arg;
	int64_t interval = p->cfg->processor.sync_interval;
	int64_t last = tu_clock_mono_ns();
	while (!*p->stop) {
		tu_clock_sleep_ms(interval < 200 ? interval : 200);
		int64_t now = tu_clock_mono_ns();
		if (now - last < interval * TU_NS_PER_MS)
			continue;
		last = now;
		tu_view_sync(p->view);
		int dead = tu_view_reader_check(p->view);
		if (dead > 0)
			tu_info("cleared %d stale LMDB reader slots", dead);
	}
	return NULL;
}

/* One lease round: renew or try to take, then publish the verdict to the fold thread. */
static struct tu_lease_state lease_round(tu_processor *p)
{
	uint64_t settled = 0;
	if (p->want_holder && tu_outbox_settled(p->outbox, &settled) != TU_OK)
		settled = p->holder_published; /* keep the last promise */
	struct tu_lease_state s = tu_lease_step(p->lease, settled);
	p->holder_published = s.published_seq;
	p->want_holder = s.held;
	return s;
}

static void *lease_main(void *arg)
{
	tu_processor *p = arg;
	int64_t renew = p->cfg->processor.lease.renew;
	while (!*p->stop) {
		int64_t wait = renew;
		struct tu_lease_state s = lease_round(p);
		/* A standby wakes when the holder's lease would lapse, not a renew later. */
		int64_t until = s.expires_ms - tu_clock_wall_ns() / TU_NS_PER_MS + 1;
		if (!s.held && s.expires_ms > 0 && until >= 0 && until < wait)
			wait = until;
		int64_t next = tu_clock_mono_ns() + wait * TU_NS_PER_MS;
		while (!*p->stop && tu_clock_mono_ns() < next)
			tu_clock_sleep_ms(renew < 50 ? renew : 50);
	}
	return NULL;
}

/*
 * The fold thread follows the lease thread's verdict between batches: the
 * holder folds from the partition's durable consumer and publishes; a
 * standby folds from its own consumer and publishes nothing.
 */
static void follow_lease(tu_processor *p)
{
	bool want = p->want_holder;
	if (want == p->holder)
		return;
	fetcher_pause(p);
	p->holder = want;
	tu_outbox_set_standby(p->outbox, !want);
	tu_telemetry_lease(p->telemetry, want);
	uint64_t applied = 0;
	read_applied(p, &applied);
	tu_info("processor %s %s at sequence %" PRIu64, p->instance,
		want ? "holds the lease: folding and publishing" :
		       "stands by: following the stream without publishing",
		applied);
	if (bind_consumer(p, false) != TU_OK)
		tu_warn("cannot bind the %s consumer yet; retrying", want ? "partition's" : "standby's");
	fetcher_resume(p);
}

tu_status tu_processor_run(tu_processor *p, volatile sig_atomic_t *stop)
{
	p->stop = stop;
	if (p->lease != NULL) {
		lease_round(p); /* a lone processor holds at once */
		p->holder = p->want_holder;
		tu_outbox_set_standby(p->outbox, !p->holder);
		tu_telemetry_lease(p->telemetry, p->holder);
		tu_info("processor %s starts as %s of partition %s", p->instance,
			p->holder ? "holder" : "standby", p->cfg->processor.lease.partition);
		if (pthread_create(&p->lease_thread, NULL, lease_main, p) == 0)
			p->lease_started = true;
	}
	tu_status st = bind_consumer(p, false);
	if (st != TU_OK)
		return st;
	st = tu_outbox_start(p->outbox);
	if (st != TU_OK)
		return st;
	if (p->cfg->processor.tick > 0) {
		if (pthread_create(&p->ticker, NULL, ticker_main, p) == 0)
			p->ticker_started = true;
	}
	uint64_t applied = 0;
	read_applied(p, &applied);
	tu_info("processor %s folding %s from sequence %" PRIu64 " into %s", p->instance,
		TU_STREAM_EVENTS, applied + 1, p->cfg->processor.view);
	if (pthread_create(&p->fetcher, NULL, fetcher_main, p) != 0)
		return TU_EINTERNAL;
	p->fetcher_started = true;
	if (p->cfg->processor.sync != TU_SYNC_FULL &&
	    pthread_create(&p->syncer, NULL, syncer_main, p) == 0)
		p->syncer_started = true;
	while (!*stop) {
		natsMsgList list = { 0 };
		if (p->lease != NULL)
			follow_lease(p);
		if (next_batch(p, 100, &list)) {
			tu_status hs = handle_batch(p, &list);
			spend(p, &list);
			if (hs != TU_OK && !*stop) {
				tu_clock_sleep_ms(200);
				rebind(p);
				continue;
			}
		}
		tu_telemetry_alive(p->telemetry);
	}
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->fetcher, NULL);
	p->fetcher_started = false;
	free_spent(p);
	/* Fetched, not folded: give them back now rather than after ack_wait (a standby takes them). */
	size_t naked = 0;
	for (int i = 0; i < p->q_len; i++) {
		natsMsgList *l = &p->queue[(p->q_head + i) % QUEUE_DEPTH];
		for (int j = 0; j < l->Count; j++)
			naked += natsMsg_Nak(l->Msgs[j], NULL) == NATS_OK;
	}
	int64_t grace = p->cfg->processor.shutdown_grace;
	tu_info("stopping: %zu fetched events given back; draining the outbox (at most %" PRId64
		" ms)", naked, grace);
	if (p->ticker_started)
		pthread_join(p->ticker, NULL);
	if (p->syncer_started)
		pthread_join(p->syncer, NULL);
	if (p->lease_started)
		pthread_join(p->lease_thread, NULL);
	if (p->holder && tu_outbox_drain(p->outbox, grace) != TU_OK)
		tu_warn("outbox not empty after %" PRId64 " ms; the rest is sent on the next start",
			grace);
	if (p->lease != NULL && p->holder) {
		uint64_t settled = 0;
		if (tu_outbox_settled(p->outbox, &settled) == TU_OK)
			tu_lease_release(p->lease, settled); /* a standby takes over at once */
	}
	tu_view_sync(p->view);
	return TU_OK;
}
