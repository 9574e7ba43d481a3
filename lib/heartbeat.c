/*
 * heartbeat.c - heartbeats of a service instance (see heartbeat.h).
 *
 * Invariants: `attrs` (owned copies, guarded by `mu`) is what the next
 * heartbeat carries; the thread is the only publisher between start and
 * stop, so `seq` needs no lock; a heartbeat that could not be published is
 * not retried early: the next interval's heartbeat replaces it (its TTL is
 * what matters, not every beat).
 *
 * Workload: one small message per interval (seconds) per instance.
 */
#include "heartbeat.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "clock.h"
#include "contract.h"
#include "ids.h"
#include "log.h"
#include "pb.h"
#include "xalloc.h"

struct tu_heartbeat {
	char *service;           /* owned */
	char *instance;          /* owned */
	int64_t interval_ms;     /* between heartbeats */
	int64_t ttl_ms;          /* carried by each heartbeat */
	tu_bus *bus;             /* owned when started from a config; NULL otherwise */
	natsConnection *nc;      /* borrowed (or the bus's) */
	jsCtx *js;               /* owned */
	pthread_mutex_t mu;      /* guards attrs, n_attrs, stop */
	pthread_cond_t cond;     /* wakes the thread for stop */
	struct tu_heartbeat_attr *attrs; /* owned keys and values, n_attrs entries */
	size_t n_attrs;          /* entries of attrs (at most TU_MAX_ATTRS) */
	bool stop;               /* the thread must end */
	pthread_t thread;        /* publishes every interval */
	bool started;            /* thread is running */
	uint64_t seq;            /* last sequence published (or tried) */
	bool failing;            /* the last publish failed (log once per streak) */
	struct tu_arena arena;   /* one message; reset per heartbeat */
};

/* ---- building ---------------------------------------------------------------- */

uint64_t tu__heartbeat_next_seq(uint64_t last, int64_t now_ns)
{
	uint64_t now_us = now_ns > 0 ? (uint64_t)now_ns / 1000u : 0;
	return now_us > last ? now_us : last + 1;
}

/* UTF-8 text: jansson refuses to make a string of anything else. */
static bool text_ok(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

static int cmp_attr(const void *x, const void *y)
{
	const Trueup__V1__Attr *a = *(Trueup__V1__Attr *const *)x;
	const Trueup__V1__Attr *b = *(Trueup__V1__Attr *const *)y;
	return strcmp(a->key, b->key);
}

static tu_status check_attr(const char *key, const char *value, char *err, size_t errlen)
{
	size_t kl = key != NULL ? strlen(key) : 0;
	if (kl == 0 || kl > TU_MAX_ATTR_KEY || !text_ok(key)) {
		snprintf(err, errlen, "attribute key must be 1..%d bytes of UTF-8", TU_MAX_ATTR_KEY);
		return TU_EINVAL;
	}
	if (value != NULL && strlen(value) > TU_MAX_ATTR_VALUE) {
		snprintf(err, errlen, "attribute %.64s: value over TU_MAX_ATTR_VALUE (%d)", key,
			 TU_MAX_ATTR_VALUE);
		return TU_ETOOBIG;
	}
	if (value != NULL && !text_ok(value)) {
		snprintf(err, errlen, "attribute %.64s: value is not UTF-8", key);
		return TU_EINVAL;
	}
	return TU_OK;
}

tu_status tu__heartbeat_build(const char *service, const char *instance, int64_t ttl_ms,
			      const struct tu_heartbeat_attr *attrs, size_t n_attrs, uint64_t seq,
			      bool stopping, int64_t sent_ns, struct tu_arena *a,
			      struct tu__hb_msg *out, char *err, size_t errlen)
{
	char stok[TU_MAX_SUBJECT], itok[TU_MAX_SUBJECT];
	size_t sl = service != NULL ? strlen(service) : 0;
	size_t il = instance != NULL ? strlen(instance) : 0;
	if (sl == 0 || sl > TU_MAX_NAMESPACE || !text_ok(service)) {
		snprintf(err, errlen, "service must be 1..%d bytes of UTF-8", TU_MAX_NAMESPACE);
		return TU_EINVAL;
	}
	if (il == 0 || il > TU_MAX_NAME || !text_ok(instance)) {
		snprintf(err, errlen, "instance must be 1..%d bytes of UTF-8", TU_MAX_NAME);
		return TU_EINVAL;
	}
	if (ttl_ms < 1 || ttl_ms > TU_HEARTBEAT_MAX_TTL_MS) {
		snprintf(err, errlen, "ttl must be 1 ms..7d");
		return TU_EINVAL;
	}
	if (n_attrs > TU_MAX_ATTRS) {
		snprintf(err, errlen, "more than TU_MAX_ATTRS (%d) attributes", TU_MAX_ATTRS);
		return TU_ETOOBIG;
	}
	int n = -1;
	if (tu_token_escape(service, stok, sizeof(stok)) &&
	    tu_token_escape(instance, itok, sizeof(itok)))
		n = snprintf(out->subject, sizeof(out->subject), "%s.%s.%s", TU_SUBJ_HB, stok, itok);
	if (n < 0 || (size_t)n >= sizeof(out->subject)) {
		snprintf(err, errlen, "service and instance escape to a subject over %d bytes",
			 TU_MAX_SUBJECT);
		return TU_ETOOBIG;
	}
	n = snprintf(out->msg_id, sizeof(out->msg_id), "%s.%s.%" PRIu64, stok, itok, seq);
	if (n < 0 || (size_t)n >= sizeof(out->msg_id)) {
		snprintf(err, errlen, "service and instance escape to a message id over %d bytes",
			 TU_MAX_SUBJECT);
		return TU_ETOOBIG;
	}
	Trueup__V1__Attr **pa = tu_arena_alloc(a, (n_attrs + 1) * sizeof(*pa));
	for (size_t i = 0; i < n_attrs; i++) {
		tu_status st = check_attr(attrs[i].key, attrs[i].value, err, errlen);
		if (st != TU_OK)
			return st;
		pa[i] = tu_pb_attr(a, attrs[i].key, attrs[i].value != NULL ? attrs[i].value : "");
	}
	qsort(pa, n_attrs, sizeof(*pa), cmp_attr);
	for (size_t i = 1; i < n_attrs; i++) {
		if (strcmp(pa[i - 1]->key, pa[i]->key) == 0) {
			snprintf(err, errlen, "attribute %.64s given twice", pa[i]->key);
			return TU_EINVAL;
		}
	}
	Trueup__V1__Heartbeat hb = TRUEUP__V1__HEARTBEAT__INIT;
	hb.service = (char *)service;
	hb.instance = (char *)instance;
	hb.ttl_ms = ttl_ms;
	hb.attrs = pa;
	hb.n_attrs = n_attrs;
	hb.sequence = seq;
	hb.stopping = stopping;
	hb.sent_at_ns = sent_ns;
	out->data = tu_pb_pack(a, &hb.base, &out->len);
	return TU_OK;
}

/* ---- publishing -------------------------------------------------------------- */

/* Publishes one heartbeat and waits for the stream's ack. */
static tu_status publish(tu_heartbeat *h, bool stopping, char *err, size_t errlen)
{
	struct tu__hb_msg m;
	natsMsg *msg = NULL;
	jsPubAck *ack = NULL;
	jsErrCode ec = 0;
	tu_arena_reset(&h->arena);
	h->seq = tu__heartbeat_next_seq(h->seq, tu_clock_wall_ns());
	pthread_mutex_lock(&h->mu);
	tu_status st = tu__heartbeat_build(h->service, h->instance, h->ttl_ms, h->attrs, h->n_attrs,
					   h->seq, stopping, tu_clock_wall_ns(), &h->arena, &m, err,
					   errlen);
	pthread_mutex_unlock(&h->mu);
	if (st != TU_OK)
		return st;
	struct tu_bus_msg bm = { m.subject, TU_TYPE_HEARTBEAT, m.msg_id, NULL, m.data, m.len };
	st = tu_bus_msg_create(&bm, &msg);
	if (st != TU_OK) {
		snprintf(err, errlen, "cannot build the message: %s", tu_status_str(st));
		return st;
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = h->bus != NULL ? tu_bus_request_timeout(h->bus) : TU_HEARTBEAT_PUBLISH_MS;
	natsStatus s = js_PublishMsg(&ack, h->js, msg, &po, &ec);
	if (s != NATS_OK) {
		snprintf(err, errlen, "publish to %s: %s (jetstream error %d)", m.subject,
			 natsStatus_GetText(s), (int)ec);
		st = tu_bus_status(s);
	}
	jsPubAck_Destroy(ack);
	natsMsg_Destroy(msg);
	return st;
}

/* One heartbeat from the thread: failures are logged once per streak. */
static void beat(tu_heartbeat *h)
{
	char err[512];
	tu_status st = publish(h, false, err, sizeof(err));
	if (st != TU_OK && !h->failing)
		tu_warn("heartbeat %s/%s: %s; trying again every %" PRId64 " ms", h->service,
			h->instance, err, h->interval_ms);
	else if (st == TU_OK && h->failing)
		tu_info("heartbeat %s/%s: publishing again", h->service, h->instance);
	h->failing = st != TU_OK;
}

static void *run(void *arg)
{
	tu_heartbeat *h = arg;
	struct timespec due;
	clock_gettime(CLOCK_MONOTONIC, &due);
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		int64_t ns = due.tv_nsec + (h->interval_ms % 1000) * TU_NS_PER_MS;
		due.tv_sec += (time_t)(h->interval_ms / 1000 + ns / TU_NS_PER_S);
		due.tv_nsec = (long)(ns % TU_NS_PER_S);
		while (!h->stop && pthread_cond_timedwait(&h->cond, &h->mu, &due) == 0)
			;
		if (h->stop)
			break;
		pthread_mutex_unlock(&h->mu);
		beat(h);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------------- */

static void destroy(tu_heartbeat *h)
{
	if (h->js != NULL)
		jsCtx_Destroy(h->js);
	if (h->bus != NULL)
		tu_bus_destroy(h->bus, TU_HEARTBEAT_PUBLISH_MS);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
	for (size_t i = 0; i < h->n_attrs; i++) {
		free((char *)h->attrs[i].key);
		free((char *)h->attrs[i].value);
	}
	free(h->attrs);
	free(h->service);
	free(h->instance);
	tu_arena_release(&h->arena);
	free(h);
}

/* Validates o, builds the handle (without a connection) into *out. */
static tu_status create(const struct tu_heartbeat_opts *o, tu_heartbeat **out, char *err,
			size_t errlen)
{
	struct tu__hb_msg m;
	struct tu_arena a;
	int64_t interval = o->interval_ms > 0 ? o->interval_ms : TU_HEARTBEAT_INTERVAL_MS;
	int64_t ttl = o->ttl_ms > 0 ? o->ttl_ms : TU_HEARTBEAT_TTL_FACTOR * interval;
	tu_arena_init(&a, 4096);
	tu_status st = tu__heartbeat_build(o->service, o->instance, ttl, o->attrs, o->n_attrs, 1,
					   false, 0, &a, &m, err, errlen);
	tu_arena_release(&a);
	if (st != TU_OK)
		return st;
	if (ttl < interval)
		tu_warn("heartbeat %s/%s: ttl %" PRId64 " ms is shorter than the interval %" PRId64
			" ms: the instance will flap between present and absent",
			o->service, o->instance, ttl, interval);
	tu_heartbeat *h = tu_xcalloc(1, sizeof(*h));
	h->service = tu_xstrdup(o->service);
	h->instance = tu_xstrdup(o->instance);
	h->interval_ms = interval;
	h->ttl_ms = ttl;
	h->attrs = tu_xcalloc(o->n_attrs + 1, sizeof(*h->attrs));
	for (size_t i = 0; i < o->n_attrs; i++) {
		h->attrs[i].key = tu_xstrdup(o->attrs[i].key);
		h->attrs[i].value = tu_xstrdup(o->attrs[i].value != NULL ? o->attrs[i].value : "");
	}
	h->n_attrs = o->n_attrs;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	tu_arena_init(&h->arena, 4096);
	*out = h;
	return TU_OK;
}

/* The JetStream context over h->nc. */
static tu_status open_js(tu_heartbeat *h, char *err, size_t errlen)
{
	natsStatus s = natsConnection_JetStream(&h->js, h->nc, NULL);
	if (s != NATS_OK)
		snprintf(err, errlen, "jetstream: %s", natsStatus_GetText(s));
	return tu_bus_status(s);
}

/* Connects with the config's nats section; the bus is h's. */
static tu_status connect_bus(tu_heartbeat *h, const struct tu_nats_config *nats, char *err,
			     size_t errlen)
{
	struct tu_bus_opts bo = { .name = "trueup-heartbeat" };
	tu_status st = tu_bus_connect(nats, &bo, &h->bus, err, errlen);
	if (st != TU_OK)
		return st;
	h->nc = tu_bus_nc(h->bus);
	return open_js(h, err, errlen);
}

/* With the connection open: the first heartbeat, then the thread. Frees h on failure. */
static tu_status begin(tu_heartbeat *h, tu_status st, tu_heartbeat **out, char *err,
		       size_t errlen)
{
	if (st == TU_OK)
		st = publish(h, false, err, errlen);
	if (st == TU_OK && pthread_create(&h->thread, NULL, run, h) != 0) {
		snprintf(err, errlen, "cannot start the heartbeat thread");
		st = TU_EINTERNAL;
	}
	if (st != TU_OK) {
		destroy(h);
		return st;
	}
	h->started = true;
	tu_info("heartbeat %s/%s: every %" PRId64 " ms, ttl %" PRId64 " ms", h->service,
		h->instance, h->interval_ms, h->ttl_ms);
	*out = h;
	return TU_OK;
}

tu_status tu_heartbeat_start(const struct tu_nats_config *nats, const struct tu_heartbeat_opts *o,
			     tu_heartbeat **out, char *err, size_t errlen)
{
	tu_heartbeat *h = NULL;
	tu_status st = create(o, &h, err, errlen);
	if (st != TU_OK)
		return st;
	return begin(h, connect_bus(h, nats, err, errlen), out, err, errlen);
}

tu_status tu_heartbeat_start_nc(natsConnection *nc, const struct tu_heartbeat_opts *o,
				tu_heartbeat **out, char *err, size_t errlen)
{
	tu_heartbeat *h = NULL;
	tu_status st = create(o, &h, err, errlen);
	if (st != TU_OK)
		return st;
	h->nc = nc;
	return begin(h, open_js(h, err, errlen), out, err, errlen);
}

tu_status tu_heartbeat_once(const struct tu_nats_config *nats, const struct tu_heartbeat_opts *o,
			    bool stopping, char *err, size_t errlen)
{
	tu_heartbeat *h = NULL;
	tu_status st = create(o, &h, err, errlen);
	if (st != TU_OK)
		return st;
	st = connect_bus(h, nats, err, errlen);
	if (st == TU_OK)
		st = publish(h, stopping, err, errlen);
	destroy(h);
	return st;
}

tu_status tu_heartbeat_set_attr(tu_heartbeat *h, const char *key, const char *value)
{
	char err[256];
	tu_status st = check_attr(key, value, err, sizeof(err));
	if (st != TU_OK) {
		tu_warn("heartbeat %s/%s: %s", h->service, h->instance, err);
		return st;
	}
	pthread_mutex_lock(&h->mu);
	size_t i = 0;
	while (i < h->n_attrs && strcmp(h->attrs[i].key, key) != 0)
		i++;
	if (i < h->n_attrs) {
		free((char *)h->attrs[i].value);
		if (value != NULL) {
			h->attrs[i].value = tu_xstrdup(value);
		} else {
			free((char *)h->attrs[i].key);
			h->attrs[i] = h->attrs[--h->n_attrs];
		}
	} else if (value != NULL && h->n_attrs >= TU_MAX_ATTRS) {
		st = TU_ETOOBIG;
	} else if (value != NULL) {
		h->attrs = tu_xrealloc(h->attrs, (h->n_attrs + 1) * sizeof(*h->attrs));
		h->attrs[h->n_attrs].key = tu_xstrdup(key);
		h->attrs[h->n_attrs].value = tu_xstrdup(value);
		h->n_attrs++;
	}
	pthread_mutex_unlock(&h->mu);
	return st;
}

tu_status tu_heartbeat_stop(tu_heartbeat *h, bool leaving)
{
	char err[512];
	tu_status st = TU_OK;
	if (h == NULL)
		return TU_OK;
	if (h->started) {
		pthread_mutex_lock(&h->mu);
		h->stop = true;
		pthread_cond_signal(&h->cond);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
	}
	if (leaving) {
		st = publish(h, true, err, sizeof(err));
		if (st != TU_OK)
			tu_warn("heartbeat %s/%s: stopping heartbeat not published: %s", h->service,
				h->instance, err);
	}
	destroy(h);
	return st;
}
