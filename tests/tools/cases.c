/*
 * cases.c - `eventgen --cases` (cases.h): a deterministic stream of the
 * observations the five cases of tests/scenarios make, for the benchmarks
 * (their policy: tests/bench/fold.yaml.in).
 *
 * Two sources ("a", the authority, and "b") scan in rounds. Round 1 and 2
 * are full scans, later rounds alternate full and delta scans (a delta scan
 * publishes what changed, explicit deletions, and one in eight unchanged
 * entities again). Each of `entities` indices owns a unit of entities
 * (index i by i % 10):
 *   0-4, 9  worker w-<i> in a and b (status; b's is wrong, and some workers
 *           are missing or extra in b), and b's counter `workers` (value:
 *           largest index + 1)
 *   5       database-{a,b,c} db/db-<i> in a (desired) and b (actual;
 *           quantities written differently)
 *   6       deployment prod/dep-<i>, its configmap and two pods (a zombie and
 *           a port that disagrees, or image pulls and the rollback to the
 *           last Ready image)
 *   7       lab session lab/session-u<i>: service, endpoints and deployment
 *           (the deployment gone: an orphan)
 *   8       app apps/app-<i> (instance_count 2) and heartbeats of its
 *           instances (service apps-app-<i>; a third one comes and says
 *           goodbye, or hangs: TTL 100 ms)
 * Every kind carries `rev` (the round), so every observation changes its
 * entity and evaluates the rules that read it.
 *
 * drift_pct percent of the units drift: half of them always, half every
 * other round (so drift opens, updates and resolves all along). The same
 * arguments always produce the same messages (content and Nats-Msg-Id), so
 * re-running is a no-op within the stream's duplicate window. The scan that
 * the event count cuts short ends incomplete (an absence is never inferred
 * from it). A rate paces publishing (messages per second; 0: as fast as
 * acks allow).
 */
#include "cases.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "config.h"
#include "contract.h"
#include "ids.h"
#include "log.h"
#include "pb.h"

struct gen {
	tu_bus *bus;
	uint64_t sent, max;
	uint64_t rng;
	double rate;     /* messages per second; 0: unpaced */
	int64_t t0;      /* monotonic start, for pacing */
	unsigned seed;   /* in scan ids */
	uint64_t entities;
	unsigned drift_pct;
	struct tu_arena arena; /* one message's pieces */
};

static uint64_t next_rand(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

/* Room for one more message before the END marker that closes the scan. */
static bool room(const struct gen *g)
{
	return g->sent + 1 < g->max;
}

void tu_cases_pace(int64_t t0, uint64_t sent, double rate)
{
	if (rate <= 0)
		return;
	int64_t due = t0 + (int64_t)((double)sent * 1e9 / rate);
	int64_t ahead = due - tu_clock_mono_ns();
	if (ahead > 1000000)
		tu_clock_sleep_ms(ahead / 1000000);
}

static int publish(struct gen *g, const char *subject, const char *type, const char *id,
		   const ProtobufCMessage *m)
{
	uint8_t buf[4096];
	size_t n = protobuf_c_message_get_packed_size(m);
	if (n > sizeof(buf)) {
		fprintf(stderr, "eventgen --cases: message %s too large\n", id);
		return -1;
	}
	protobuf_c_message_pack(m, buf);
	tu_cases_pace(g->t0, g->sent, g->rate);
	struct tu_bus_msg msg = { subject, type, id, NULL, buf, n };
	for (int tries = 0; tries < 100; tries++) {
		tu_status st = tu_bus_publish_async(g->bus, &msg);
		if (st == TU_OK) {
			g->sent++;
			return 0;
		}
		tu_clock_sleep_ms(10);
	}
	fprintf(stderr, "eventgen --cases: cannot publish %s\n", id);
	return -1;
}

static int marker(struct gen *g, const char *src, const char *scan_id, bool begin, bool full,
		  bool complete)
{
	Trueup__V1__ScanMarker m = TRUEUP__V1__SCAN_MARKER__INIT;
	m.source = (char *)src;
	m.scan_id = (char *)scan_id;
	m.phase = begin ? TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_BEGIN
			: TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_END;
	m.full = full;
	m.complete = !begin && complete;
	char subject[128], id[128];
	snprintf(subject, sizeof(subject), "trueup.obs.%s._scan", src);
	snprintf(id, sizeof(id), "%s.%s", scan_id, begin ? "b" : "e");
	return publish(g, subject, TU_TYPE_SCAN, id, &m.base);
}

/* ---- what each source holds in a round ---------------------------------------------- */

#define MAX_UNIT 8  /* entities of one unit in one source */
#define MAX_ATTRS 12

/* One entity as a source sees it in one round. */
struct ent {
	const char *kind, *ns;
	char name[64];
	bool present;
	const char *keys[MAX_ATTRS];
	char vals[MAX_ATTRS][64];
	bool volatile_[MAX_ATTRS]; /* changes every round: not a change worth a delta */
	size_t n;
};

struct unit {
	struct ent e[MAX_UNIT];
	size_t n;
};

static struct ent *add(struct unit *u, const char *kind, const char *ns, bool present,
		       const char *fmt, uint64_t i)
{
	struct ent *e = &u->e[u->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->ns = ns;
	e->present = present;
	snprintf(e->name, sizeof(e->name), fmt, i);
	return e;
}

static void attr(struct ent *e, const char *key, const char *val)
{
	e->keys[e->n] = key;
	snprintf(e->vals[e->n], sizeof(e->vals[0]), "%s", val);
	e->volatile_[e->n] = false;
	e->n++;
}

static void attr_rev(struct ent *e, uint64_t round)
{
	char v[24];
	snprintf(v, sizeof(v), "%" PRIu64, round);
	attr(e, "rev", v);
	e->volatile_[e->n - 1] = true;
}

/* Is unit i one of the drifting ones? *odd: one of the half that flaps. */
static bool drifting(const struct gen *g, uint64_t i, bool *odd)
{
	uint64_t slot = (i / 10) % 100;
	*odd = slot % 2 == 1;
	return slot < g->drift_pct;
}

/* Does unit i drift in round r? Half of the drifting units always, half in odd rounds. */
static bool drifts(const struct gen *g, uint64_t i, uint64_t round)
{
	bool odd = false;
	return drifting(g, i, &odd) && (!odd || round % 2 == 1);
}

bool tu_cases_in_b(uint64_t i, uint64_t round, uint64_t entities, unsigned drift_pct)
{
	uint64_t span = entities * drift_pct / 100;
	if (span == 0)
		return true;
	uint64_t slot = i % 100;
	if (slot >= drift_pct)
		return true;
	/* drifted entities: half missing from b always, half flapping per round */
	return (slot % 2 == 0) ? false : (round % 2 == 0);
}

static void unit_worker(const struct gen *g, uint64_t i, uint64_t round, bool a, struct unit *u)
{
	bool here = a || tu_cases_in_b(i, round, g->entities, g->drift_pct);
	struct ent *e = add(u, "worker", "default", here, "w-%" PRIu64, i);
	attr_rev(e, round);
	/* b says `initializing` where a worker drifts (another slice than presence's) */
	bool stuck = !a && (i % 100) >= g->drift_pct && (i % 100) < 2 * g->drift_pct &&
		     (i % 2 == 0 || round % 2 == 1);
	attr(e, "status", stuck ? "initializing" : "ready");
}

static void unit_database(const struct gen *g, uint64_t i, uint64_t round, bool a,
			  struct unit *u)
{
	static const char *const kinds[] = { "database-a", "database-b", "database-c" };
	struct ent *e = add(u, kinds[(i / 10) % 3], "db", true, "db-%" PRIu64, i);
	attr(e, "cpu", a ? "500m" : "0.5");
	attr(e, "memory", a ? "1Gi" : "1024Mi");
	attr(e, "replicas", "3");
	attr_rev(e, round);
	attr(e, "storage", a || !drifts(g, i, round) ? "10Gi" : "20Gi");
}

static void unit_deployment(const struct gen *g, uint64_t i, uint64_t round, struct unit *u)
{
	/*
	 * Drifting units: the configmap's port disagrees and pod 0 is a zombie
	 * (even slots), or (odd) an image that cannot be pulled, two rounds in
	 * four (longer than the rule's `for:`).
	 */
	bool odd = false, drift = drifting(g, i, &odd);
	bool port = drift && !odd;
	bool zombie = port;
	bool pull = drift && odd && (round / 2) % 2 == 1;
	char image[64], rs[64];
	snprintf(image, sizeof(image), "registry.local/app-%" PRIu64 ":%s", i, pull ? "v2" : "v1");
	snprintf(rs, sizeof(rs), "dep-%" PRIu64 "-5d8f7", i);
	struct ent *d = add(u, "deployment", "prod", true, "dep-%" PRIu64, i);
	attr(d, "available_replicas", pull ? "1" : "2");
	attr(d, "container_port", "50054");
	attr(d, "generation", pull ? "6" : "5");
	attr(d, "image", image);
	attr(d, "liveness_port", "");
	attr(d, "observed_generation", pull ? "6" : "5");
	attr(d, "readiness_port", "50054");
	attr(d, "replicas", "2");
	attr_rev(d, round);
	attr(d, "updated_replicas", pull ? "1" : "2");
	struct ent *c = add(u, "configmap", "prod", true, "dep-%" PRIu64 "-config", i);
	attr(c, "port", port ? "50053" : "50054");
	attr_rev(c, round);
	for (int k = 0; k < 2; k++) {
		char fmt[64], uid[64];
		snprintf(fmt, sizeof(fmt), "dep-%%" PRIu64 "-5d8f7-%d", k);
		struct ent *p = add(u, "pod", "prod", true, fmt, i);
		const char *reason = pull && k == 1     ? "ImagePullBackOff"
				     : zombie && k == 0 ? "ContainerStatusUnknown"
							: "";
		const char *phase = pull && k == 1 ? "Pending" : zombie && k == 0 ? "Unknown" : "Running";
		snprintf(uid, sizeof(uid), "uid-%" PRIu64 "-%d", i, k);
		attr(p, "deletion_timestamp", "");
		attr(p, "image", image);
		attr(p, "owner", rs);
		attr(p, "phase", phase);
		attr(p, "reason", reason);
		attr_rev(p, round);
		attr(p, "uid", uid);
	}
}

static void unit_lab(const struct gen *g, uint64_t i, uint64_t round, struct unit *u)
{
	bool orphan = drifts(g, i, round);
	char ip[32];
	snprintf(ip, sizeof(ip), "10.%" PRIu64 ".%" PRIu64 ".%" PRIu64, (i >> 16) & 255,
		 (i >> 8) & 255, i & 255);
	struct ent *s = add(u, "service", "lab", true, "session-u%" PRIu64, i);
	attr_rev(s, round);
	attr(s, "uid", "svc");
	struct ent *ep = add(u, "endpoints", "lab", true, "session-u%" PRIu64, i);
	attr(ep, "ready_0", orphan ? "none" : ip);
	attr(ep, "ready_1", "none");
	attr_rev(ep, round);
	struct ent *d = add(u, "deployment", "lab", !orphan, "session-u%" PRIu64, i);
	attr_rev(d, round);
	attr(d, "uid", "dep");
}

static void unit_app(uint64_t i, uint64_t round, struct unit *u)
{
	struct ent *e = add(u, "app", "apps", true, "app-%" PRIu64, i);
	attr(e, "instance_count", "2");
	attr_rev(e, round);
}

/* What source a (or b) holds of unit i in round r. */
static void unit_of(const struct gen *g, uint64_t i, uint64_t round, bool a, struct unit *u)
{
	u->n = 0;
	unsigned k = (unsigned)(i % 10);
	if (k == 5)
		unit_database(g, i, round, a, u);
	else if (k >= 6 && k <= 8 && !a)
		return; /* only a observes these */
	else if (k == 6)
		unit_deployment(g, i, round, u);
	else if (k == 7)
		unit_lab(g, i, round, u);
	else if (k == 8)
		unit_app(i, round, u);
	else
		unit_worker(g, i, round, a, u);
}

/* ---- publishing ------------------------------------------------------------------------ */

static bool same_state(const struct ent *x, const struct ent *y)
{
	if (x->present != y->present || x->n != y->n)
		return false;
	for (size_t j = 0; j < x->n; j++)
		if (!x->volatile_[j] && strcmp(x->vals[j], y->vals[j]) != 0)
			return false;
	return true;
}

static int observe(struct gen *g, const char *src, const char *scan_id, const struct ent *e)
{
	tu_arena_reset(&g->arena);
	Trueup__V1__ObservedState o = TRUEUP__V1__OBSERVED_STATE__INIT;
	o.source = (char *)src;
	o.scan_id = (char *)scan_id;
	o.entity = tu_pb_entity(&g->arena, e->kind, e->ns, e->name);
	o.deleted = !e->present;
	if (e->present) {
		o.attrs = tu_arena_alloc(&g->arena, e->n * sizeof(*o.attrs));
		for (size_t j = 0; j < e->n; j++)
			o.attrs[j] = tu_pb_attr(&g->arena, e->keys[j], e->vals[j]);
		o.n_attrs = e->n;
		tu_pb_attrs_sort(o.attrs, o.n_attrs);
	}
	char subject[160], id[200];
	snprintf(subject, sizeof(subject), "trueup.obs.%s.%s", src, e->kind);
	snprintf(id, sizeof(id), "%s.%s.%s.%s", scan_id, e->kind, e->ns, e->name);
	return publish(g, subject, TU_TYPE_OBSERVED, id, &o.base);
}

/*
 * Heartbeats of app unit i in round r: instances 0 and 1 always (TTL 60 s).
 * Drifting units have a third: always (even slots), or (odd) in odd rounds,
 * and in even ones it says goodbye (round % 4 == 0) or hangs (its last
 * heartbeat had a 100 ms TTL).
 */
static int heartbeats(struct gen *g, uint64_t i, uint64_t round)
{
	char service[64];
	snprintf(service, sizeof(service), "apps-app-%" PRIu64, i);
	bool odd = false, drift = drifting(g, i, &odd);
	bool hangs = odd && round % 2 == 0 && round % 4 != 0;
	for (int k = 0; k < 3 && room(g); k++) {
		bool third = k == 2;
		if (third && (!drift || hangs))
			continue;
		char instance[64], subject[200], id[240], stok[80], itok[80];
		snprintf(instance, sizeof(instance), "app-%" PRIu64 "-%d", i, k);
		Trueup__V1__Heartbeat h = TRUEUP__V1__HEARTBEAT__INIT;
		h.service = service;
		h.instance = instance;
		h.ttl_ms = third && odd ? 100 : 60000;
		h.sequence = round;
		h.stopping = third && odd && round % 4 == 0;
		if (!tu_token_escape(service, stok, sizeof(stok)) ||
		    !tu_token_escape(instance, itok, sizeof(itok)))
			return -1;
		snprintf(subject, sizeof(subject), "%s.%s.%s", TU_SUBJ_HB, stok, itok);
		snprintf(id, sizeof(id), "hb.%s.%s.%" PRIu64, service, instance, round);
		if (publish(g, subject, TU_TYPE_HEARTBEAT, id, &h.base) != 0)
			return -1;
	}
	return 0;
}

static int counter(struct gen *g, const char *scan_id, uint64_t round)
{
	uint64_t top = g->entities - 1;
	while (top > 0 && (top % 10 >= 5 && top % 10 <= 8))
		top--;
	struct ent e = { .kind = "counter", .ns = "default", .present = true };
	snprintf(e.name, sizeof(e.name), "workers");
	char v[32];
	snprintf(v, sizeof(v), "%" PRIu64, round % 2 == 1 && g->drift_pct > 0 ? top : top + 1);
	attr(&e, "value", v);
	return observe(g, "b", scan_id, &e);
}

/* One scan of source src in round r. */
static int scan(struct gen *g, bool a, uint64_t round)
{
	const char *src = a ? "a" : "b";
	bool full = round <= 2 || round % 2 == 1;
	char scan_id[64];
	snprintf(scan_id, sizeof(scan_id), "%s-%u-%" PRIu64, src, g->seed, round);
	int rc = marker(g, src, scan_id, true, full, false);
	if (rc == 0 && !a && full && room(g))
		rc = counter(g, scan_id, round);
	struct unit now, before;
	uint64_t i = 0;
	bool cut = false;
	for (; i < g->entities && room(g) && rc == 0; i++) {
		unit_of(g, i, round, a, &now);
		unit_of(g, i, round > 1 ? round - 1 : round, a, &before);
		size_t j = 0;
		for (; j < now.n && room(g) && rc == 0; j++) {
			const struct ent *e = &now.e[j];
			bool was = round > 1 && before.e[j].present;
			if (full) {
				if (e->present)
					rc = observe(g, src, scan_id, e);
			} else if (e->present != was) {
				rc = observe(g, src, scan_id, e);
			} else if (e->present && !same_state(e, &before.e[j])) {
				rc = observe(g, src, scan_id, e);
			} else if (e->present && next_rand(g) % 8 == 0) {
				rc = observe(g, src, scan_id, e);
			}
		}
		cut = cut || j < now.n;
		if (rc == 0 && a && i % 10 == 8)
			rc = heartbeats(g, i, round);
	}
	/* A scan cut short by --events ends incomplete, as a producer's would. */
	if (rc == 0)
		rc = marker(g, src, scan_id, false, full, i == g->entities && !cut);
	return rc;
}

int tu_cases_publish(tu_bus *bus, const struct tu_cases_opts *o, uint64_t *sent)
{
	struct gen g = { .bus = bus, .max = o->events, .rng = 0x9e3779b97f4a7c15ULL ^ o->seed,
			 .rate = o->rate, .seed = o->seed, .entities = o->entities,
			 .drift_pct = o->drift_pct };
	tu_arena_init(&g.arena, 16 * 1024);
	g.t0 = tu_clock_mono_ns();
	int rc = 0;
	for (uint64_t round = 1; g.sent < g.max && rc == 0; round++)
		for (int s = 0; s < 2 && g.sent < g.max && rc == 0; s++)
			rc = scan(&g, s == 0, round);
	tu_arena_release(&g.arena);
	*sent = g.sent;
	return rc;
}
