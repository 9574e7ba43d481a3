/*
 * producer_scanner_test.c - the scan loop against a scripted source and a
 * recording publisher: markers and message ids, full vs delta, deletions,
 * incomplete scans (skips, source errors, lost acks, interruption) and the
 * request queue of the loop thread.
 */
#include "testmain.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "contract.h"
#include "pb.h"
#include "scanner.h"

#define MAX_ENT 16
#define MAX_MSGS 256

/* One scripted entity: attrs as "k=v" pairs, NULL-terminated. */
struct script_ent {
	const char *kind;
	const char *name;
	const char *attrs[20];
};

/* A source that returns what the test scripted. */
struct fake_source {
	struct tu_source base;
	struct script_ent ents[MAX_ENT];
	int n;
	int skips;               /* skipped entries to report */
	tu_status fail;          /* returned after the entities (connection lost) */
	int stop_after;          /* call tu_scanner_stop after this many entities (0: never) */
	tu_scanner *scanner;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool gate_closed;        /* the next scan waits until the gate opens */
	bool waiting;            /* a scan waits at the gate */
	int scans;               /* scans run */
};

static tu_status fake_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			   size_t errlen)
{
	struct fake_source *f = (struct fake_source *)src;
	struct tu_arena a;
	tu_status st = TU_OK;

	pthread_mutex_lock(&f->mu);
	f->scans++;
	if (f->gate_closed) {
		f->waiting = true;
		pthread_cond_broadcast(&f->cond);
		while (f->gate_closed)
			pthread_cond_wait(&f->cond, &f->mu);
		f->waiting = false;
	}
	pthread_mutex_unlock(&f->mu);

	tu_arena_init(&a, 4096);
	for (int i = 0; i < f->n && st == TU_OK; i++) {
		struct tu_entity e = { f->ents[i].kind, "default", f->ents[i].name, NULL, 0 };
		e.attrs = tu_arena_alloc(&a, 20 * sizeof(*e.attrs));
		for (int j = 0; j < 20 && f->ents[i].attrs[j] != NULL; j++) {
			const char *kv = f->ents[i].attrs[j];
			const char *eq = strchr(kv, '=');
			e.attrs[e.n_attrs++] = tu_pb_attr(&a, tu_arena_strndup(&a, kv, (size_t)(eq - kv)),
							  eq + 1);
		}
		char why[128];
		assert_int_equal(tu_entity_sort_attrs(e.attrs, e.n_attrs, why, sizeof(why)), TU_OK);
		st = tu_source_emit(src, sink, &e, f->ents[i].name);
		if (f->stop_after > 0 && i + 1 == f->stop_after)
			tu_scanner_stop(f->scanner);
	}
	tu_arena_release(&a);
	for (int i = 0; i < f->skips && st == TU_OK; i++)
		tu_source_skip(src, sink, "key 'bad%d': WRONGTYPE (read hash)", i);
	if (st == TU_OK && f->fail != TU_OK) {
		snprintf(err, errlen, "redis 127.0.0.1:1: read reply: Connection reset by peer");
		st = f->fail;
	}
	return st;
}

static void fake_destroy(struct tu_source *src)
{
	(void)src; /* owned by the test */
}

static const struct tu_source_ops fake_ops = { "fake", fake_scan, fake_destroy };

/* One recorded message, or a call to complete(). */
struct rec {
	bool complete;        /* a complete() call, not a message */
	bool async;
	char subject[128];
	char msg_id[128];
	char type[64];
	uint8_t data[4096];
	size_t len;
};

struct recorder {
	tu_scanner *scanner;
	struct rec recs[MAX_MSGS];
	int n;
	int pending[MAX_MSGS]; /* async recs not acked yet */
	int n_pending;
	int drop;              /* acks that never arrive */
	pthread_mutex_t mu;
};

static void record(struct recorder *r, const struct tu_bus_msg *m, bool async)
{
	pthread_mutex_lock(&r->mu);
	assert_true(r->n < MAX_MSGS);
	struct rec *x = &r->recs[r->n];
	memset(x, 0, sizeof(*x));
	x->async = async;
	snprintf(x->subject, sizeof(x->subject), "%s", m->subject);
	snprintf(x->msg_id, sizeof(x->msg_id), "%s", m->msg_id);
	snprintf(x->type, sizeof(x->type), "%s", m->type);
	assert_true(m->len <= sizeof(x->data));
	memcpy(x->data, m->data, m->len);
	x->len = m->len;
	if (async)
		r->pending[r->n_pending++] = r->n;
	r->n++;
	pthread_mutex_unlock(&r->mu);
}

static tu_status rec_publish(void *ctx, const struct tu_bus_msg *m, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	record(ctx, m, false);
	return TU_OK;
}

static tu_status rec_publish_async(void *ctx, const struct tu_bus_msg *m)
{
	record(ctx, m, true);
	return TU_OK;
}

static tu_status rec_complete(void *ctx, int64_t timeout_ms, int retries, size_t *unsent)
{
	struct recorder *r = ctx;
	char ids[MAX_MSGS][128];
	int n = 0, lost = 0;
	(void)timeout_ms;
	(void)retries;
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < r->n_pending; i++) {
		if (r->drop > 0) {
			r->drop--;
			lost++;
			continue;
		}
		snprintf(ids[n++], sizeof(ids[0]), "%s", r->recs[r->pending[i]].msg_id);
	}
	r->n_pending = 0;
	r->recs[r->n].complete = true;
	r->n++;
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < n; i++)
		tu_scanner_ack(r->scanner, ids[i], TU_OK);
	*unsent = (size_t)lost;
	return lost > 0 ? TU_ETIMEOUT : TU_OK;
}

struct fixture {
	struct tu_source_config cfg;
	struct fake_source src;
	struct recorder rec;
	tu_scanner *s;
	int first;              /* first rec of the scan being looked at */
	int parked;             /* dead letters the scan published for skipped entries */
};

static struct fixture *fixture_new(int full_every)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];
	fx->cfg.name = "fake";
	fx->cfg.interval = 3600 * 1000;
	fx->cfg.timeout = 1000;
	fx->cfg.full_every = full_every;
	fx->cfg.publish_timeout = 1000;
	fx->cfg.publish_retries = 2;
	fx->src.base.ops = &fake_ops;
	fx->src.base.cfg = &fx->cfg;
	const char *kinds[] = { "worker", "counter" };
	tu__source_set_kinds(&fx->src.base, kinds, 2);
	pthread_mutex_init(&fx->src.mu, NULL);
	pthread_cond_init(&fx->src.cond, NULL);
	pthread_mutex_init(&fx->rec.mu, NULL);
	struct tu_scan_publisher pub = { rec_publish, rec_publish_async, rec_complete, &fx->rec };
	assert_int_equal(tu_scanner_create(&fx->cfg, &fx->src.base, &pub, &fx->s, err,
					   sizeof(err)), TU_OK);
	fx->rec.scanner = fx->s;
	fx->src.scanner = fx->s;
	return fx;
}

static void fixture_free(struct fixture *fx)
{
	struct tu_source *src = &fx->src.base;
	tu_scanner_join(fx->s);
	/* The scanner destroys its source: the fake's destroy leaves the memory to us. */
	tu_scanner_destroy(fx->s);
	(void)src;
	pthread_mutex_destroy(&fx->src.mu);
	pthread_cond_destroy(&fx->src.cond);
	pthread_mutex_destroy(&fx->rec.mu);
	free(fx);
}

static void set_ents(struct fixture *fx, const struct script_ent *ents, int n)
{
	memcpy(fx->src.ents, ents, (size_t)n * sizeof(*ents));
	fx->src.n = n;
}

static Trueup__V1__ScanMarker *marker(const struct rec *r)
{
	assert_string_equal(r->type, TU_TYPE_SCAN);
	assert_string_equal(r->subject, "trueup.obs.fake._scan");
	Trueup__V1__ScanMarker *m = trueup__v1__scan_marker__unpack(NULL, r->len, r->data);
	assert_non_null(m);
	return m;
}

static Trueup__V1__ObservedState *observed(const struct rec *r)
{
	assert_string_equal(r->type, TU_TYPE_OBSERVED);
	Trueup__V1__ObservedState *o = trueup__v1__observed_state__unpack(NULL, r->len, r->data);
	assert_non_null(o);
	return o;
}

/*
 * Runs one scan and checks its framing: BEGIN, the observations, complete()
 * before END, END last. Returns the END marker (caller frees).
 */
static Trueup__V1__ScanMarker *scan(struct fixture *fx, struct tu_scan_result *res)
{
	fx->first = fx->rec.n;
	tu_scanner_scan(fx->s, "interval", res);
	const struct rec *recs = fx->rec.recs + fx->first;
	int n = fx->rec.n - fx->first;
	assert_true(n >= 2);
	Trueup__V1__ScanMarker *b = marker(&recs[0]);
	assert_false(recs[0].async);
	assert_int_equal(b->phase, TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_BEGIN);
	assert_string_equal(b->scan_id, res->scan_id);
	char id[160];
	snprintf(id, sizeof(id), "%s.b", res->scan_id);
	assert_string_equal(recs[0].msg_id, id);
	trueup__v1__scan_marker__free_unpacked(b, NULL);
	/*
	 * observations numbered 1..k, all async, each skipped entry parked as a
	 * dead letter <scan_id>.dead<n> among them, then complete() if anything
	 * was published, then END
	 */
	int k = 0, i = 1;
	fx->parked = 0;
	for (; i < n - 1 && !recs[i].complete; i++) {
		assert_true(recs[i].async);
		if (strcmp(recs[i].type, TU_TYPE_DEAD) == 0) {
			assert_string_equal(recs[i].subject, "trueup.dead.producer-fake");
			snprintf(id, sizeof(id), "%s.dead%d", res->scan_id, ++fx->parked);
			assert_string_equal(recs[i].msg_id, id);
			Trueup__V1__DeadLetter *dl = trueup__v1__dead_letter__unpack(
				NULL, recs[i].len, recs[i].data);
			assert_non_null(dl);
			assert_string_equal(dl->origin, "producer-fake");
			assert_true(strlen(dl->reason) > 0);
			trueup__v1__dead_letter__free_unpacked(dl, NULL);
			continue;
		}
		snprintf(id, sizeof(id), "%s.%d", res->scan_id, ++k);
		assert_string_equal(recs[i].msg_id, id);
	}
	if (k + fx->parked > 0) {
		assert_true(recs[i].complete);
		i++;
	}
	assert_int_equal(i, n - 1);
	assert_int_equal(fx->parked, (int)res->skipped);
	assert_false(recs[n - 1].async);
	snprintf(id, sizeof(id), "%s.e", res->scan_id);
	assert_string_equal(recs[n - 1].msg_id, id);
	Trueup__V1__ScanMarker *e = marker(&recs[n - 1]);
	assert_int_equal(e->phase, TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_END);
	assert_int_equal(e->published, (uint64_t)k);
	assert_int_equal(e->full, res->full);
	assert_int_equal(e->complete, res->complete);
	return e;
}

/* Scans ents as the state the test starts from. */
static void baseline(struct fixture *fx, const struct script_ent *ents, int n,
		     struct tu_scan_result *r)
{
	set_ents(fx, ents, n);
	trueup__v1__scan_marker__free_unpacked(scan(fx, r), NULL);
}

/* The observation number i (1-based) of the last scan (dead letters not counted). */
static Trueup__V1__ObservedState *obs(struct fixture *fx, int i)
{
	for (int j = fx->first + 1; j < fx->rec.n; j++) {
		if (strcmp(fx->rec.recs[j].type, TU_TYPE_OBSERVED) == 0 && --i == 0)
			return observed(&fx->rec.recs[j]);
	}
	fail_msg("no observation %d in the scan", i);
	return NULL;
}

static const struct script_ent three[] = {
	{ "worker", "w1", { "state=running", "image=busybox" } },
	{ "worker", "w2", { "state=running" } },
	{ "counter", "workers", { "value=3" } },
};

static void scan_markers_frame_observations(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	set_ents(fx, three, 3);
	Trueup__V1__ScanMarker *e = scan(fx, &r);
	assert_true(e->full);
	assert_true(e->complete);
	assert_int_equal(e->seen, 3);
	assert_int_equal(e->published, 3);
	assert_int_equal(e->deleted, 0);
	assert_int_equal(e->skipped, 0);
	assert_string_equal(e->error, "");
	assert_string_equal(e->trigger, "interval");
	assert_int_equal(e->n_kinds, 2);
	assert_string_equal(e->kinds[0], "counter");
	assert_string_equal(e->kinds[1], "worker");
	assert_true(e->finished_at_ns >= e->started_at_ns);
	assert_non_null(strstr(e->scan_id, "fake-"));
	assert_null(strpbrk(e->scan_id, " *>."));
	trueup__v1__scan_marker__free_unpacked(e, NULL);

	Trueup__V1__ObservedState *o = obs(fx, 1);
	assert_string_equal(fx->rec.recs[fx->first + 1].subject, "trueup.obs.fake.worker");
	assert_string_equal(o->source, "fake");
	assert_string_equal(o->scan_id, r.scan_id);
	assert_string_equal(o->entity->kind, "worker");
	assert_string_equal(o->entity->namespace_, "default");
	assert_string_equal(o->entity->name, "w1");
	assert_false(o->deleted);
	assert_int_equal(o->n_attrs, 2);
	assert_string_equal(o->attrs[0]->key, "image"); /* sorted */
	assert_string_equal(o->attrs[1]->key, "state");
	assert_int_equal(strlen(o->digest), TU_ID_LEN);
	trueup__v1__observed_state__free_unpacked(o, NULL);
	o = obs(fx, 3);
	assert_string_equal(fx->rec.recs[fx->first + 3].subject, "trueup.obs.fake.counter");
	trueup__v1__observed_state__free_unpacked(o, NULL);
	fixture_free(fx);
}

static void scan_delta_publishes_changes_and_deletions(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	baseline(fx, three, 3, &r);

	/* w1 unchanged, w2 changed, workers gone, w3 new */
	const struct script_ent next[] = {
		{ "worker", "w1", { "image=busybox", "state=running" } },
		{ "worker", "w2", { "state=stopped" } },
		{ "worker", "w3", { "state=running" } },
	};
	set_ents(fx, next, 3);
	Trueup__V1__ScanMarker *e = scan(fx, &r);
	assert_false(e->full);
	assert_true(e->complete);
	assert_int_equal(e->seen, 3);
	assert_int_equal(e->published, 3);
	assert_int_equal(e->deleted, 1);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	Trueup__V1__ObservedState *o = obs(fx, 1);
	assert_string_equal(o->entity->name, "w2");
	assert_string_equal(o->attrs[0]->value, "stopped");
	trueup__v1__observed_state__free_unpacked(o, NULL);
	o = obs(fx, 2);
	assert_string_equal(o->entity->name, "w3");
	trueup__v1__observed_state__free_unpacked(o, NULL);
	o = obs(fx, 3);
	assert_true(o->deleted);
	assert_string_equal(o->entity->kind, "counter");
	assert_string_equal(o->entity->name, "workers");
	assert_int_equal(o->n_attrs, 0);
	assert_string_equal(fx->rec.recs[fx->first + 3].subject, "trueup.obs.fake.counter");
	trueup__v1__observed_state__free_unpacked(o, NULL);

	/* nothing changed: a delta scan publishes nothing */
	e = scan(fx, &r);
	assert_int_equal(e->published, 0);
	assert_int_equal(e->seen, 3);
	assert_true(e->complete);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

static void scan_full_every_nth_publishes_all_without_deletions(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(2);
	struct tu_scan_result r;
	set_ents(fx, three, 3);
	Trueup__V1__ScanMarker *e = scan(fx, &r); /* 1st: full */
	assert_true(e->full);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	e = scan(fx, &r); /* 2nd: delta, nothing changed */
	assert_false(e->full);
	assert_int_equal(e->published, 0);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	set_ents(fx, three, 2); /* workers gone */
	e = scan(fx, &r); /* 3rd: full: everything, no deleted observation */
	assert_true(e->full);
	assert_true(e->complete);
	assert_int_equal(e->published, 2);
	assert_int_equal(e->deleted, 0);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	e = scan(fx, &r); /* 4th: delta; workers was forgotten by the full scan */
	assert_false(e->full);
	assert_int_equal(e->published, 0);
	assert_int_equal(e->deleted, 0);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

static void scan_with_skips_is_incomplete_and_keeps_digests(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	baseline(fx, three, 3, &r);

	/* w2 and workers not seen, one entry skipped: no deletion inferred */
	set_ents(fx, three, 1);
	fx->src.skips = 1;
	Trueup__V1__ScanMarker *e = scan(fx, &r);
	assert_false(e->full);
	assert_false(e->complete);
	assert_int_equal(e->skipped, 1);
	assert_int_equal(e->deleted, 0);
	assert_int_equal(e->published, 0);
	assert_non_null(strstr(e->error, "1 entry skipped"));
	assert_non_null(strstr(e->error, "bad0"));
	assert_int_equal(r.status, TU_OK);
	trueup__v1__scan_marker__free_unpacked(e, NULL);

	/* the next scan is full; everything is back */
	fx->src.skips = 0;
	set_ents(fx, three, 3);
	e = scan(fx, &r);
	assert_true(e->full);
	assert_true(e->complete);
	assert_int_equal(e->published, 3);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	/* and the digests of w2 and workers were kept: a delta finds nothing */
	e = scan(fx, &r);
	assert_false(e->full);
	assert_int_equal(e->published, 0);
	assert_int_equal(e->deleted, 0);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

static void scan_source_error_is_incomplete(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	baseline(fx, three, 3, &r);
	set_ents(fx, three, 1);
	fx->src.fail = TU_EUNAVAIL;
	Trueup__V1__ScanMarker *e = scan(fx, &r);
	assert_false(e->complete);
	assert_int_equal(e->deleted, 0);
	assert_non_null(strstr(e->error, "Connection reset"));
	assert_int_equal(r.status, TU_EUNAVAIL);
	assert_true(r.ended);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fx->src.fail = TU_OK;
	set_ents(fx, three, 3);
	e = scan(fx, &r);
	assert_true(e->full);
	assert_true(e->complete);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

static void scan_end_waits_for_acks(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	set_ents(fx, three, 3);
	fx->rec.drop = 1;
	Trueup__V1__ScanMarker *e = scan(fx, &r); /* framing checks complete() before END */
	assert_false(e->complete);
	assert_non_null(strstr(e->error, "1 of 3 observations not acknowledged"));
	assert_int_equal(r.status, TU_ETIMEOUT);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	e = scan(fx, &r);
	assert_true(e->full);
	assert_true(e->complete);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

static void scan_ack_of_other_scan_ignored(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	baseline(fx, three, 3, &r);
	char old[TU_SCAN_ID_SIZE + 8];
	snprintf(old, sizeof(old), "%s.1", r.scan_id);
	/* a late duplicate ack of the previous scan cannot stand in for a lost one */
	fx->rec.drop = 1;
	set_ents(fx, (const struct script_ent[]){ { "worker", "w9", { "a=1" } } }, 1);
	fx->first = fx->rec.n;
	tu_scanner_ack(fx->s, old, TU_OK);
	tu_scanner_ack(fx->s, "other-1.1", TU_OK);
	tu_scanner_scan(fx->s, "interval", &r);
	assert_false(r.complete);
	fixture_free(fx);
}

static void scan_repeated_entity_counted_once(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	const struct script_ent twice[] = {
		{ "worker", "w1", { "a=1" } },
		{ "worker", "w1", { "a=1" } },
	};
	set_ents(fx, twice, 2);
	Trueup__V1__ScanMarker *e = scan(fx, &r);
	assert_int_equal(e->seen, 1);
	assert_int_equal(e->published, 1);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

static void scan_over_bound_entity_skipped(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	const struct script_ent bad[] = {
		{ "worker", "w1", { "a=1" } },
		{ "Not.A.Kind", "w2", { "a=1" } },
	};
	set_ents(fx, bad, 2);
	Trueup__V1__ScanMarker *e = scan(fx, &r);
	assert_int_equal(e->seen, 1);
	assert_int_equal(e->skipped, 1);
	assert_false(e->complete);
	assert_non_null(strstr(e->error, "w2: kind"));
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

static void scan_oversized_observation_skipped(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	struct script_ent big[2] = { { "worker", "w1", { "a=1" } }, { "worker", "w2", { NULL } } };
	static char vals[17][64010];
	for (int i = 0; i < 17; i++) {
		int n = snprintf(vals[i], sizeof(vals[i]), "k%02d=", i);
		memset(vals[i] + n, 'x', 64000);
		vals[i][n + 64000] = '\0';
		big[1].attrs[i] = vals[i];
	}
	set_ents(fx, big, 2);
	Trueup__V1__ScanMarker *e = scan(fx, &r);
	assert_int_equal(e->seen, 1);
	assert_int_equal(e->published, 1);
	assert_int_equal(e->skipped, 1);
	assert_false(e->complete);
	assert_non_null(strstr(e->error, "over TU_MAX_MSG"));
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

static void scan_interrupted_ends_incomplete(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	struct tu_scan_result r;
	baseline(fx, three, 3, &r);
	fx->src.stop_after = 1;
	/* w1, then stop before w2: no deletions for w2 and workers */
	const struct script_ent changed[] = {
		{ "worker", "w1", { "state=gone" } },
		{ "worker", "w2", { "state=running" } },
	};
	set_ents(fx, changed, 2);
	Trueup__V1__ScanMarker *e = scan(fx, &r);
	assert_false(e->complete);
	assert_string_equal(e->error, "interrupted");
	assert_int_equal(e->published, 1);
	assert_int_equal(e->deleted, 0);
	trueup__v1__scan_marker__free_unpacked(e, NULL);
	fixture_free(fx);
}

/* Waits until the recorder holds `ends` END markers (up to 5 s). */
static void wait_ends(struct fixture *fx, int ends)
{
	for (int t = 0; t < 500; t++) {
		int n = 0;
		pthread_mutex_lock(&fx->rec.mu);
		for (int i = 0; i < fx->rec.n; i++)
			n += !fx->rec.recs[i].complete && strstr(fx->rec.recs[i].msg_id, ".e") != NULL;
		pthread_mutex_unlock(&fx->rec.mu);
		if (n >= ends)
			return;
		tu_clock_sleep_ms(10);
	}
	fail_msg("timed out waiting for %d scans", ends);
}

static void scanner_request_during_scan_queues_one(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	char err[128];
	bool queued = false;
	set_ents(fx, three, 1);
	fx->src.gate_closed = true;
	assert_int_equal(tu_scanner_start(fx->s, NULL, false, err, sizeof(err)), TU_OK);
	pthread_mutex_lock(&fx->src.mu);
	while (!fx->src.waiting)
		pthread_cond_wait(&fx->src.cond, &fx->src.mu);
	pthread_mutex_unlock(&fx->src.mu);

	/* two requests during the start scan: one follow-up */
	assert_true(tu_scanner_request(fx->s, false, &queued));
	assert_true(queued);
	assert_true(tu_scanner_request(fx->s, false, &queued));
	assert_true(queued);
	pthread_mutex_lock(&fx->src.mu);
	fx->src.gate_closed = false;
	pthread_cond_broadcast(&fx->src.cond);
	pthread_mutex_unlock(&fx->src.mu);
	wait_ends(fx, 2);
	tu_clock_sleep_ms(200);
	pthread_mutex_lock(&fx->src.mu);
	assert_int_equal(fx->src.scans, 2);
	pthread_mutex_unlock(&fx->src.mu);

	/* idle: a request starts a scan at once, asked full */
	assert_true(tu_scanner_request(fx->s, true, &queued));
	assert_false(queued);
	wait_ends(fx, 3);
	tu_scanner_stop(fx->s);
	tu_scanner_join(fx->s);
	assert_false(tu_scanner_running(fx->s));
	assert_false(tu_scanner_request(fx->s, false, &queued));

	const char *want[] = { "start", "request", "request" };
	bool want_full[] = { true, false, true };
	int k = 0;
	for (int i = 0; i < fx->rec.n; i++) {
		struct rec *x = &fx->rec.recs[i];
		if (x->complete || strstr(x->msg_id, ".e") == NULL)
			continue;
		Trueup__V1__ScanMarker *m = marker(x);
		assert_true(k < 3);
		assert_string_equal(m->trigger, want[k]);
		assert_int_equal(m->full, want_full[k]);
		k++;
		trueup__v1__scan_marker__free_unpacked(m, NULL);
	}
	assert_int_equal(k, 3);
	fixture_free(fx);
}

static void scanner_once_runs_one_scan(void **state)
{
	(void)state;
	struct fixture *fx = fixture_new(10);
	char err[128];
	struct tu_scan_result r;
	bool queued;
	set_ents(fx, three, 3);
	assert_int_equal(tu_scanner_start(fx->s, NULL, true, err, sizeof(err)), TU_OK);
	tu_scanner_join(fx->s);
	assert_false(tu_scanner_running(fx->s));
	assert_false(tu_scanner_request(fx->s, false, &queued));
	tu_scanner_last(fx->s, &r);
	assert_true(r.ended);
	assert_true(r.full);
	assert_true(r.complete);
	assert_int_equal(r.published, 3);
	assert_string_equal(r.trigger, "start");
	fixture_free(fx);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(scan_markers_frame_observations),
	cmocka_unit_test(scan_delta_publishes_changes_and_deletions),
	cmocka_unit_test(scan_full_every_nth_publishes_all_without_deletions),
	cmocka_unit_test(scan_with_skips_is_incomplete_and_keeps_digests),
	cmocka_unit_test(scan_source_error_is_incomplete),
	cmocka_unit_test(scan_end_waits_for_acks),
	cmocka_unit_test(scan_ack_of_other_scan_ignored),
	cmocka_unit_test(scan_repeated_entity_counted_once),
	cmocka_unit_test(scan_over_bound_entity_skipped),
	cmocka_unit_test(scan_oversized_observation_skipped),
	cmocka_unit_test(scan_interrupted_ends_incomplete),
	cmocka_unit_test(scanner_request_during_scan_queues_one),
	cmocka_unit_test(scanner_once_runs_one_scan),
};

TU_TEST_MAIN(tests)
