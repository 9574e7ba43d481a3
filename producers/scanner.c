/*
 * scanner.c - the scan loop (see scanner.h).
 *
 * Invariants:
 * - `scan_id`, `n_sent`, `acked` and `n_acked` describe the current scan and
 *   change only under `mu`; an ack counts once per observation number, and
 *   only if that number was sent in the current scan, so n_acked == n_sent
 *   means every observation of the scan is stored.
 * - The digest table changes only in the scan thread; sweeping (deletions)
 *   happens only when the source was read to the end without skips or
 *   publish failures.
 * - `requested` is one flag, not a count: requests during a scan coalesce
 *   into exactly one follow-up scan.
 * Workload: one scan every `interval` (default 30 s) of up to ~100k
 * entities; per entity one digest, one lookup, at most one async publish.
 */
#include "scanner.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounds.h"
#include "buf.h"
#include "clock.h"
#include "contract.h"
#include "digests.h"
#include "log.h"
#include "pb.h"
#include "xalloc.h"

#define RETRY_BACKOFF_MS 50 /* first pause before re-trying a refused publish */
#define HEADER_ROOM 1024    /* bytes of TU_MAX_MSG left for the NATS headers */
#define MAX_OBS (TU_MAX_MSG - HEADER_ROOM) /* largest observation body published */

struct tu_scanner {
	const struct tu_source_config *cfg; /* not owned */
	struct tu_source *src;              /* owned */
	struct tu_scan_publisher pub;       /* where messages go */
	tu_digests *digests;                /* owned: what was last published per entity */
	struct tu_arena arena;              /* one message's memory */
	char obs_prefix[TU_MAX_SUBJECT];    /* "trueup.obs.<source>." */
	uint64_t scans;                     /* scans begun since start */
	bool next_full;                     /* the next scan must be full */
	int64_t last_id_ns;                 /* wall time used by the last scan id */

	pthread_mutex_t mu;                 /* guards everything below */
	pthread_cond_t cond;                /* wakes the loop: request or stop */
	char scan_id[TU_SCAN_ID_SIZE];      /* current scan */
	uint64_t n_sent;                    /* observations numbered in the current scan */
	uint64_t n_acked;                   /* of those, acknowledged as stored */
	uint8_t *acked;                     /* owned bitmap by observation number */
	size_t acked_bytes;                 /* size of acked */
	bool requested;                     /* a scan was asked for */
	bool force_full;                    /* the asked-for scan must be full */
	bool running;                       /* a scan is in progress */
	bool thread_live;                   /* the loop thread has not ended */
	bool once;                          /* the loop runs one scan */
	struct tu_scan_result last;         /* result of the loop's last scan */

	_Atomic bool stop;                  /* stop asked; read without mu by the scan */
	pthread_t thread;                   /* the loop thread, if started */
	bool started;                       /* thread was created (join it) */
	natsSubscription *ctl;              /* owned: scan requests; NULL if none */
	struct tu_scan_observer obs;        /* hears of finished scans; fn NULL: none */
	uint64_t last_complete_seen;        /* entities of the last complete scan (ETA) */
};

/* State of one scan, on the scan thread's stack. */
struct scan {
	tu_scanner *s;                  /* the scanner running the scan */
	struct tu_scan_result *r;       /* the result being built */
	const struct tu_scan_sink *sink; /* what the source reports to */
	char skip_first[512];           /* reason of the first skipped entry */
	tu_status pub_status;           /* first publish failure */
	char pub_error[512];            /* its description */
	int64_t t0;                     /* monotonic start */
	int64_t next_progress;          /* monotonic time of the next progress log */
};

/* ---- bus publisher -------------------------------------------------------- */

static tu_status bus_publish(void *ctx, const struct tu_bus_msg *m, char *err, size_t errlen)
{
	return tu_bus_publish(ctx, m, NULL, NULL, err, errlen);
}

static tu_status bus_publish_async(void *ctx, const struct tu_bus_msg *m)
{
	return tu_bus_publish_async(ctx, m);
}

static tu_status bus_complete(void *ctx, int64_t timeout_ms, int retries, size_t *unsent)
{
	return tu_bus_async_complete(ctx, timeout_ms, retries, unsent);
}

void tu_scan_publisher_bus(struct tu_scan_publisher *p, tu_bus *bus)
{
	p->publish = bus_publish;
	p->publish_async = bus_publish_async;
	p->complete = bus_complete;
	p->ctx = bus;
}

/* ---- lifecycle ------------------------------------------------------------ */

tu_status tu_scanner_create(const struct tu_source_config *cfg, struct tu_source *src,
			    const struct tu_scan_publisher *pub, tu_scanner **out, char *err,
			    size_t errlen)
{
	if (!tu_name_valid(cfg->name)) {
		snprintf(err, errlen, "source name '%s' is not a valid name", cfg->name);
		return TU_EINVAL;
	}
	tu_scanner *s = tu_xcalloc(1, sizeof(*s));
	pthread_condattr_t ca;
	s->cfg = cfg;
	s->src = src;
	s->pub = *pub;
	s->digests = tu_digests_create();
	tu_arena_init(&s->arena, 64 * 1024);
	snprintf(s->obs_prefix, sizeof(s->obs_prefix), "%s.%s.", TU_SUBJ_OBS, cfg->name);
	s->next_full = true;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = s;
	return TU_OK;
}

void tu_scanner_destroy(tu_scanner *s)
{
	if (s == NULL)
		return;
	tu_scanner_join(s);
	tu_source_destroy(s->src);
	tu_digests_destroy(s->digests);
	tu_arena_release(&s->arena);
	free(s->acked);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *tu_scanner_source(const tu_scanner *s)
{
	return s->cfg->name;
}

void tu_scanner_force_full(tu_scanner *s)
{
	s->next_full = true;
}

/* ---- acks ----------------------------------------------------------------- */

/* Starts ack tracking for a new scan id. */
static void track_begin(tu_scanner *s, const char *scan_id)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->scan_id, sizeof(s->scan_id), "%s", scan_id);
	s->n_sent = 0;
	s->n_acked = 0;
	if (s->acked != NULL)
		memset(s->acked, 0, s->acked_bytes);
	pthread_mutex_unlock(&s->mu);
}

/* Numbers the next observation; its ack may arrive from now on. */
static uint64_t track_next(tu_scanner *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t n = ++s->n_sent;
	if (n / 8 + 1 > s->acked_bytes) {
		size_t nb = s->acked_bytes ? s->acked_bytes * 2 : 1024;
		s->acked = tu_xrealloc(s->acked, nb);
		memset(s->acked + s->acked_bytes, 0, nb - s->acked_bytes);
		s->acked_bytes = nb;
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

void tu_scanner_ack(tu_scanner *s, const char *msg_id, tu_status st)
{
	size_t nl = strlen(s->cfg->name);
	if (st != TU_OK || strncmp(msg_id, s->cfg->name, nl) != 0 || msg_id[nl] != '-')
		return;
	const char *dot = strrchr(msg_id, '.');
	if (dot == NULL || dot[1] < '1' || dot[1] > '9')
		return;
	char *end = NULL;
	unsigned long long n = strtoull(dot + 1, &end, 10);
	if (*end != '\0')
		return;
	pthread_mutex_lock(&s->mu);
	size_t idlen = strlen(s->scan_id);
	if ((size_t)(dot - msg_id) == idlen && memcmp(msg_id, s->scan_id, idlen) == 0 &&
	    n <= s->n_sent && (s->acked[n / 8] & (1u << (n % 8))) == 0) {
		s->acked[n / 8] |= (uint8_t)(1u << (n % 8));
		s->n_acked++;
	}
	pthread_mutex_unlock(&s->mu);
}

/* ---- one scan ------------------------------------------------------------- */

static void make_scan_id(tu_scanner *s, char out[TU_SCAN_ID_SIZE])
{
	int64_t ns = tu_clock_wall_ns();
	if (ns <= s->last_id_ns)
		ns = s->last_id_ns + 1;
	s->last_id_ns = ns;
	snprintf(out, TU_SCAN_ID_SIZE, "%s-%016" PRIx64, s->cfg->name, (uint64_t)ns);
}

/* A publish failure that a later attempt may not have (no reply yet, reconnecting). */
static bool transient(tu_status st)
{
	return st == TU_ETIMEOUT || st == TU_EUNAVAIL;
}

/* Publishes an async message, re-trying a refused publish (a full pending queue). */
static tu_status publish_async(struct scan *sc, const struct tu_bus_msg *m)
{
	tu_scanner *s = sc->s;
	tu_status st = TU_OK;
	int retries = s->cfg->publish_retries > 0 ? s->cfg->publish_retries : 0;
	for (int i = 0; i <= retries; i++) {
		st = s->pub.publish_async(s->pub.ctx, m);
		if (!transient(st) || atomic_load(&s->stop))
			break;
		tu_clock_sleep_ms(RETRY_BACKOFF_MS << (i < 6 ? i : 6));
	}
	if (st != TU_OK && sc->pub_status == TU_OK) {
		sc->pub_status = st;
		snprintf(sc->pub_error, sizeof(sc->pub_error), "publish of %s on %s failed: %s",
			 m->msg_id, m->subject, tu_status_str(st));
		tu_error("source %s: %s", s->cfg->name, sc->pub_error);
	}
	return st;
}

/* Fills o for an entity (deleted: it disappeared); strings are borrowed or in the arena. */
static void obs_init(struct scan *sc, Trueup__V1__ObservedState *o, const char *kind,
		     const char *ns, const char *name, Trueup__V1__Attr **attrs, size_t n_attrs,
		     const char *digest, bool deleted)
{
	trueup__v1__observed_state__init(o);
	o->source = (char *)sc->s->cfg->name;
	o->scan_id = sc->r->scan_id;
	o->entity = tu_pb_entity(&sc->s->arena, kind, ns, name);
	o->deleted = deleted;
	o->attrs = attrs;
	o->n_attrs = n_attrs;
	o->observed_at_ns = tu_clock_wall_ns();
	o->digest = (char *)digest;
}

/* Publishes o as the scan's next observation. */
static tu_status obs_publish(struct scan *sc, Trueup__V1__ObservedState *o)
{
	tu_scanner *s = sc->s;
	struct tu_arena *a = &s->arena;
	size_t len = 0;
	void *data = tu_pb_pack(a, &o->base, &len);
	uint64_t n = track_next(s);
	struct tu_bus_msg m = {
		.subject = tu_arena_printf(a, "%s%s", s->obs_prefix, o->entity->kind),
		.type = TU_TYPE_OBSERVED,
		.msg_id = tu_arena_printf(a, "%s.%" PRIu64, sc->r->scan_id, n),
		.data = data,
		.len = len,
	};
	tu_status st = publish_async(sc, &m);
	if (st == TU_OK) {
		sc->r->published++;
		if (o->deleted)
			sc->r->deleted++;
	}
	return st;
}

/* Logs a long scan's progress, with an ETA when the last complete scan gives one. */
static void progress(struct scan *sc)
{
	int64_t now = tu_clock_mono_ns();
	if (now < sc->next_progress)
		return;
	sc->next_progress = now + TU_SCAN_PROGRESS_MS * TU_NS_PER_MS;
	const tu_scanner *s = sc->s;
	double secs = (double)(now - sc->t0) / 1e9;
	uint64_t seen = sc->r->seen, prev = s->last_complete_seen;
	if (prev > seen && seen > 0)
		tu_info("source %s: scan %s running for %.0f s: %" PRIu64 " entities seen, %" PRIu64
			" published; about %.0f s left (the last complete scan saw %" PRIu64 ")",
			s->cfg->name, sc->r->scan_id, secs, seen, sc->r->published,
			secs * (double)(prev - seen) / (double)seen, prev);
	else
		tu_info("source %s: scan %s running for %.0f s: %" PRIu64 " entities seen, %" PRIu64
			" published", s->cfg->name, sc->r->scan_id, secs, seen, sc->r->published);
}

static tu_status on_entity(void *ctx, const struct tu_entity *e)
{
	struct scan *sc = ctx;
	tu_scanner *s = sc->s;
	struct tu_arena *a = &s->arena;
	Trueup__V1__ObservedState o;
	char why[512];
	char digest[TU_ID_SIZE];
	tu_status st = TU_OK;
	bool repeat = false;
	size_t klen, size;

	if (atomic_load(&s->stop))
		return TU_ESTOP;
	if (tu_entity_check(e, why, sizeof(why)) != TU_OK) {
		/* Sources check before emitting; this is the backstop for the subject. */
		tu_source_skip(s->src, sc->sink, "entity '%.*s': %s", TU_MAX_NAME,
			       e->name ? e->name : "", why);
		goto out;
	}
	tu_entity_digest(a, e->attrs, e->n_attrs, digest);
	obs_init(sc, &o, e->kind, e->ns, e->name, e->attrs, e->n_attrs, digest, false);
	size = protobuf_c_message_get_packed_size(&o.base);
	if (size > MAX_OBS) {
		/* Checked before the digest is kept, so it is never taken for published. */
		tu_source_skip(s->src, sc->sink, "entity %s/%s/%.*s: observation is %zu bytes, over "
			       "TU_MAX_MSG (%d) less %d for headers", e->kind, e->ns, TU_MAX_NAME,
			       e->name, size, TU_MAX_MSG, HEADER_ROOM);
		goto out;
	}
	char *key = tu_entity_key(a, e->kind, e->ns, e->name, &klen);
	enum tu_change c = tu_digests_observe(s->digests, key, klen, digest, &repeat);
	if (!repeat) {
		sc->r->seen++;
		if ((sc->r->seen & 255) == 0)
			progress(sc);
	}
	if (c != TU_CHANGE_SAME || (sc->r->full && !repeat))
		st = obs_publish(sc, &o);
out:
	tu_arena_reset(a);
	return st;
}

/*
 * A skipped source entry is parked where it can be inspected: a DeadLetter on
 * trueup.dead.producer-<source> (Nats-Msg-Id <scan_id>.dead<n>, which the
 * ack bookkeeping of observations ignores) whose reason names the entry.
 */
static void park(struct scan *sc, const char *why)
{
	tu_scanner *s = sc->s;
	char origin[TU_MAX_KIND + 16], subject[TU_MAX_SUBJECT], id[TU_SCAN_ID_SIZE + 32];
	snprintf(origin, sizeof(origin), "producer-%s", s->cfg->name);
	snprintf(subject, sizeof(subject), "%s.%s", TU_SUBJ_DEAD, origin);
	snprintf(id, sizeof(id), "%s.dead%" PRIu64, sc->r->scan_id, sc->r->skipped);
	Trueup__V1__DeadLetter dl = TRUEUP__V1__DEAD_LETTER__INIT;
	dl.origin = origin;
	dl.stream = "";
	dl.subject = "";
	dl.reason = (char *)why;
	dl.at_ns = tu_clock_wall_ns();
	size_t len = 0;
	void *body = tu_pb_pack(&s->arena, &dl.base, &len);
	struct tu_bus_msg m = { subject, TU_TYPE_DEAD, id, NULL, body, len };
	if (publish_async(sc, &m) != TU_OK)
		tu_warn("source %s: cannot park skipped entry: %s", s->cfg->name, why);
}

static void on_skip(void *ctx, const char *why)
{
	struct scan *sc = ctx;
	if (sc->r->skipped++ == 0)
		snprintf(sc->skip_first, sizeof(sc->skip_first), "%s", why);
	park(sc, why);
}

static bool on_stopping(void *ctx)
{
	struct scan *sc = ctx;
	return atomic_load(&sc->s->stop);
}

static void on_gone(void *ctx, const void *key, size_t len)
{
	struct scan *sc = ctx;
	const char *kind, *ns, *name;
	if (sc->r->full || sc->pub_status != TU_OK)
		return;
	Trueup__V1__ObservedState o;
	if (!tu_entity_key_split(&sc->s->arena, key, len, &kind, &ns, &name))
		return;
	obs_init(sc, &o, kind, ns, name, NULL, 0, "", true);
	obs_publish(sc, &o);
	tu_arena_reset(&sc->s->arena);
}

/* Publishes a BEGIN or END marker (sync). */
static tu_status publish_marker(struct scan *sc, bool end, int64_t started, char *err,
				size_t errlen)
{
	tu_scanner *s = sc->s;
	struct tu_arena *a = &s->arena;
	const struct tu_scan_result *r = sc->r;
	Trueup__V1__ScanMarker mk;
	trueup__v1__scan_marker__init(&mk);
	mk.source = (char *)s->cfg->name;
	mk.scan_id = (char *)r->scan_id;
	mk.phase = end ? TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_END
		       : TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_BEGIN;
	mk.full = r->full;
	mk.kinds = s->src->kinds;
	mk.n_kinds = s->src->n_kinds;
	mk.started_at_ns = started;
	mk.trigger = (char *)r->trigger;
	if (end) {
		mk.complete = r->complete;
		mk.seen = r->seen;
		mk.published = r->published;
		mk.deleted = r->deleted;
		mk.skipped = r->skipped;
		mk.error = (char *)r->error;
		mk.finished_at_ns = tu_clock_wall_ns();
	}
	size_t len = 0;
	void *data = tu_pb_pack(a, &mk.base, &len);
	struct tu_bus_msg m = {
		.subject = tu_arena_printf(a, "%s%s", s->obs_prefix, TU_SCAN_TOKEN),
		.type = TU_TYPE_SCAN,
		.msg_id = tu_arena_printf(a, "%s.%s", r->scan_id, end ? "e" : "b"),
		.data = data,
		.len = len,
	};
	/* Same Nats-Msg-Id on every attempt: the stream keeps one copy. */
	tu_status st = TU_OK;
	int retries = s->cfg->publish_retries > 0 ? s->cfg->publish_retries : 0;
	for (int i = 0; i <= retries; i++) {
		st = s->pub.publish(s->pub.ctx, &m, err, errlen);
		if (!transient(st) || atomic_load(&s->stop))
			break;
		tu_warn("source %s: %s (attempt %d of %d)", s->cfg->name, err, i + 1, retries + 1);
		tu_clock_sleep_ms(RETRY_BACKOFF_MS << (i < 6 ? i : 6));
	}
	tu_arena_reset(a);
	return st;
}

/* Appends one reason to the END error text. */
static void add_error(struct tu_scan_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_error(struct tu_scan_result *r, const char *fmt, ...)
{
	size_t n = strlen(r->error);
	va_list ap;
	if (n > 0 && n + 2 < sizeof(r->error)) {
		memcpy(r->error + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->error + n, sizeof(r->error) - n, fmt, ap);
	va_end(ap);
}

/* Waits until the stream stored every observation (and dead letter) of the scan. */
static tu_status wait_acks(struct scan *sc)
{
	tu_scanner *s = sc->s;
	size_t unsent = 0;
	uint64_t sent, acked;
	tu_status st = TU_OK;

	pthread_mutex_lock(&s->mu);
	sent = s->n_sent;
	pthread_mutex_unlock(&s->mu);
	if (sent > 0 || sc->r->skipped > 0)
		st = s->pub.complete(s->pub.ctx, s->cfg->publish_timeout, s->cfg->publish_retries,
				     &unsent);
	pthread_mutex_lock(&s->mu);
	sent = s->n_sent;
	acked = s->n_acked;
	pthread_mutex_unlock(&s->mu);
	if (acked == sent)
		return TU_OK;
	if (st == TU_OK)
		st = TU_EUNAVAIL;
	add_error(sc->r, "%" PRIu64 " of %" PRIu64 " observations not acknowledged by the stream "
		  "within %" PRId64 " ms and %d retries (%s)", sent - acked, sent,
		  s->cfg->publish_timeout, s->cfg->publish_retries, tu_status_str(st));
	return st;
}

tu_status tu_scanner_scan(tu_scanner *s, const char *trigger, struct tu_scan_result *out)
{
	struct tu_scan_result r = { .trigger = trigger, .status = TU_OK };
	struct scan sc = { .s = s, .r = &r, .pub_status = TU_OK };
	sc.t0 = tu_clock_mono_ns();
	sc.next_progress = sc.t0 + TU_SCAN_PROGRESS_MS * TU_NS_PER_MS;
	struct tu_scan_sink sink = {
		.entity = on_entity, .skip = on_skip, .stopping = on_stopping, .ctx = &sc,
	};
	sc.sink = &sink;
	char err[TU_SCAN_ERROR_SIZE] = "";
	int full_every = s->cfg->full_every > 0 ? s->cfg->full_every : 1;
	int64_t started = tu_clock_wall_ns();
	int64_t t0 = tu_clock_mono_ns();
	tu_status st;

	r.full = s->next_full || s->scans % (uint64_t)full_every == 0;
	s->scans++;
	s->next_full = true; /* until this scan proves complete */
	make_scan_id(s, r.scan_id);
	track_begin(s, r.scan_id);
	tu_digests_begin(s->digests);

	st = publish_marker(&sc, false, started, err, sizeof(err));
	if (st != TU_OK) {
		tu_error("source %s: scan %s: cannot publish BEGIN, scan abandoned: %s",
			 s->cfg->name, r.scan_id, err);
		r.status = st;
		snprintf(r.error, sizeof(r.error), "BEGIN not published: %.1000s", err);
		goto out;
	}
	tu_debug("source %s: scan %s began (%s, trigger %s)", s->cfg->name, r.scan_id,
		 r.full ? "full" : "delta", trigger);

	st = tu_source_scan(s->src, &sink, err, sizeof(err));
	if (st == TU_ESTOP) {
		add_error(&r, "interrupted");
	} else if (st != TU_OK && st == sc.pub_status) {
		r.status = st; /* reported below */
	} else if (st != TU_OK) {
		r.status = st;
		add_error(&r, "%s", err[0] != '\0' ? err : tu_status_str(st));
		tu_warn("source %s: scan %s: source failed: %s", s->cfg->name, r.scan_id, err);
	}
	if (r.skipped > 0)
		add_error(&r, "%" PRIu64 " entr%s skipped (first: %s)", r.skipped,
			  r.skipped == 1 ? "y" : "ies", sc.skip_first);
	if (st == TU_OK && r.skipped == 0 && sc.pub_status == TU_OK)
		tu_digests_sweep(s->digests, on_gone, &sc);
	if (sc.pub_status != TU_OK) {
		r.status = sc.pub_status;
		add_error(&r, "%s", sc.pub_error);
	}
	st = wait_acks(&sc);
	if (st != TU_OK && r.status == TU_OK)
		r.status = st;
	r.complete = r.error[0] == '\0';
	tu_text_repair(r.error);

	st = publish_marker(&sc, true, started, err, sizeof(err));
	if (st != TU_OK) {
		tu_error("source %s: scan %s: cannot publish END: %s", s->cfg->name, r.scan_id,
			 err);
		if (r.status == TU_OK)
			r.status = st;
		goto out;
	}
	r.ended = true;
	s->next_full = !r.complete;
	tu_log(r.complete ? TU_LOG_INFO : TU_LOG_WARN, NULL,
	       "source %s: scan %s (%s, trigger %s) %s: seen %" PRIu64 ", published %" PRIu64
	       ", deleted %" PRIu64 ", skipped %" PRIu64 " in %" PRId64 " ms%s%s",
	       s->cfg->name, r.scan_id, r.full ? "full" : "delta", trigger,
	       r.complete ? "complete" : "incomplete", r.seen, r.published, r.deleted, r.skipped,
	       (tu_clock_mono_ns() - t0) / TU_NS_PER_MS, r.complete ? "" : ": ", r.error);
out:
	if (r.complete)
		s->last_complete_seen = r.seen;
	if (s->obs.scan_end != NULL)
		s->obs.scan_end(s->obs.ctx, s->cfg->name, &r,
				(double)(tu_clock_mono_ns() - t0) / 1e9);
	if (out != NULL)
		*out = r;
	return r.status;
}

void tu_scanner_observe(tu_scanner *s, const struct tu_scan_observer *obs)
{
	s->obs = *obs;
}

/* ---- the loop ------------------------------------------------------------- */

static void deadline_after(struct timespec *ts, int64_t start_ns, int64_t ms)
{
	int64_t t = start_ns + ms * TU_NS_PER_MS;
	ts->tv_sec = (time_t)(t / TU_NS_PER_S);
	ts->tv_nsec = (long)(t % TU_NS_PER_S);
}

static void *loop(void *arg)
{
	tu_scanner *s = arg;
	const char *trigger = "start";
	struct tu_scan_result r;

	pthread_mutex_lock(&s->mu);
	while (!atomic_load(&s->stop)) {
		bool full = s->force_full;
		s->requested = false;
		s->force_full = false;
		s->running = true;
		pthread_mutex_unlock(&s->mu);

		int64_t start = tu_clock_mono_ns();
		if (full)
			s->next_full = true;
		tu_scanner_scan(s, trigger, &r);

		pthread_mutex_lock(&s->mu);
		s->running = false;
		s->last = r;
		if (s->once)
			break;
		struct timespec until;
		deadline_after(&until, start, s->cfg->interval > 0 ? s->cfg->interval : 1000);
		while (!atomic_load(&s->stop) && !s->requested) {
			if (pthread_cond_timedwait(&s->cond, &s->mu, &until) != 0)
				break;
		}
		trigger = s->requested ? "request" : "interval";
	}
	s->thread_live = false;
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

bool tu_scanner_request(tu_scanner *s, bool full, bool *queued)
{
	bool accepted;
	pthread_mutex_lock(&s->mu);
	accepted = !atomic_load(&s->stop) && s->thread_live && !s->once;
	if (accepted) {
		*queued = s->running || s->requested;
		s->requested = true;
		s->force_full = s->force_full || full;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
	return accepted;
}

/* A request on trueup.ctl.scan.<source>: optional body {"full": true}. */
static void on_ctl(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	tu_scanner *s = closure;
	const char *reply = natsMsg_GetReply(msg);
	const char *body = natsMsg_GetData(msg);
	int len = natsMsg_GetDataLength(msg);
	bool full = false, queued = false, accepted = false;
	const char *error = NULL;
	struct tu_buf out;
	(void)sub;

	tu_buf_init(&out, 4096);
	if (len > 0) {
		json_error_t je;
		json_t *j = json_loadb(body, (size_t)len, 0, &je);
		json_t *f = j != NULL ? json_object_get(j, "full") : NULL;
		if (j == NULL || !json_is_object(j) || (f != NULL && !json_is_boolean(f)))
			error = "request body must be empty or a JSON object like {\"full\": true}";
		else
			full = f != NULL && json_is_true(f);
		json_decref(j);
	}
	if (error == NULL)
		accepted = tu_scanner_request(s, full, &queued);
	if (error == NULL && !accepted)
		error = "scanner is stopping or runs once";
	tu_buf_puts(&out, "{\"source\":");
	tu_buf_json_str(&out, s->cfg->name, strlen(s->cfg->name));
	tu_buf_printf(&out, ",\"accepted\":%s,\"queued\":%s", accepted ? "true" : "false",
		      queued ? "true" : "false");
	if (error != NULL) {
		tu_buf_puts(&out, ",\"error\":");
		tu_buf_json_str(&out, error, strlen(error));
	}
	tu_buf_puts(&out, "}");
	tu_info("source %s: scan request%s: %s", s->cfg->name, full ? " (full)" : "",
		!accepted ? "refused" : queued ? "queued" : "accepted");
	if (reply != NULL) {
		natsStatus ns = natsConnection_Publish(nc, reply, out.data, (int)out.len);
		if (ns != NATS_OK)
			tu_warn("source %s: cannot reply to scan request: %s", s->cfg->name,
				natsStatus_GetText(ns));
	}
	tu_buf_release(&out);
	natsMsg_Destroy(msg);
}

tu_status tu_scanner_start(tu_scanner *s, natsConnection *nc, bool once, char *err,
			   size_t errlen)
{
	s->once = once;
	s->thread_live = true;
	if (nc != NULL && !once) {
		char subj[TU_MAX_SUBJECT];
		snprintf(subj, sizeof(subj), "%s.%s", TU_SUBJ_CTL_SCAN, s->cfg->name);
		natsStatus ns = natsConnection_Subscribe(&s->ctl, nc, subj, on_ctl, s);
		if (ns != NATS_OK) {
			snprintf(err, errlen, "cannot subscribe to %s: %s", subj,
				 natsStatus_GetText(ns));
			s->thread_live = false;
			return tu_bus_status(ns);
		}
	}
	if (pthread_create(&s->thread, NULL, loop, s) != 0) {
		snprintf(err, errlen, "cannot start the scan thread of %s", s->cfg->name);
		s->thread_live = false;
		return TU_EINTERNAL;
	}
	s->started = true;
	return TU_OK;
}

void tu_scanner_stop(tu_scanner *s)
{
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stop, true);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

void tu_scanner_join(tu_scanner *s)
{
	if (s->ctl != NULL) {
		/* Drain waits for a reply being sent; then no callback can run. */
		if (natsSubscription_Drain(s->ctl) == NATS_OK)
			natsSubscription_WaitForDrainCompletion(s->ctl, 2000);
		natsSubscription_Destroy(s->ctl);
		s->ctl = NULL;
	}
	if (s->started) {
		pthread_join(s->thread, NULL);
		s->started = false;
	}
}

bool tu_scanner_running(tu_scanner *s)
{
	pthread_mutex_lock(&s->mu);
	bool live = s->thread_live;
	pthread_mutex_unlock(&s->mu);
	return live;
}

void tu_scanner_last(tu_scanner *s, struct tu_scan_result *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->last;
	pthread_mutex_unlock(&s->mu);
}
