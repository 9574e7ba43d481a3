/*
 * eventgen - publishes a deterministic stream of observations into
 * TRUEUP_EVENTS for the crash test and the benchmarks.
 *
 * Two sources ("a", authority, and "b") each scan `entities` workers named
 * w-<i> in rounds. Round 1 of both is a full scan; later rounds alternate
 * full and delta scans. Source b differs from a by `drift_pct` percent of the
 * entities (some extra, some missing), and a few of those flip between rounds,
 * so presence rules open, update and resolve drift. The same arguments always
 * produce the same messages (content and Nats-Msg-Id), so re-running is a
 * no-op within the stream's duplicate window.
 *
 * --garbage G (the chaos suite, tests/chaos/garbage.sh) spreads G malformed
 * messages evenly between the N valid ones, on trueup.obs.> and trueup.hb.>,
 * in GARBAGE_KINDS kinds in turn (see garbage()); their Nats-Msg-Ids start
 * with "garbage.", and the valid messages are the same as without them.
 *
 * --cases (the benchmarks, tests/bench) publishes instead the observations
 * of the five cases of tests/scenarios (cases.c), which the bench policy
 * reads.
 *
 * --rate R paces either stream (messages per second), after the first
 * --burst B messages published at once: the chaos suite's processor kills
 * land in a backlog, then while the stream is still being fed, however fast
 * the fold (tests/lib/chaos.sh).
 *
 * usage: eventgen --url URL --events N [--from I] [--entities N] [--drift-pct P] [--seed S]
 *                 [--garbage G] [--rate R [--burst B]]
 *        eventgen --url URL --events N --cases [--rate R] [--entities N] [--drift-pct P]
 *                 [--seed S]
 * (--from I: publish only messages I.. of the N, to feed a stream in steps;
 * garbage due before message I is left out too)
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "cases.h"
#include "clock.h"
#include "config.h"
#include "contract.h"
#include "log.h"
#include "pb.h"

struct gen {
	tu_bus *bus;
	uint64_t sent, max;            /* valid messages generated, and how many to generate */
	uint64_t from;                 /* messages before this index are generated, not published */
	uint64_t garbage, garbage_max; /* malformed ones published, and how many to publish */
	unsigned seed;                 /* --seed: in every Nats-Msg-Id */
	double rate;                   /* --rate: messages per second; 0: unpaced */
	uint64_t burst;                /* --burst: published unpaced first */
	int64_t t0;                    /* monotonic time the first paced message was due */
	uint64_t rng;
};

#define GARBAGE_KINDS 8 /* kinds of malformed messages garbage() makes */

static uint64_t next_rand(struct gen *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

static int publish_raw(struct gen *g, const char *subject, const char *type, const char *id,
		       const void *data, size_t n)
{
	struct tu_bus_msg msg = { subject, type, id, NULL, data, n };
	for (int tries = 0; tries < 100; tries++) {
		if (tu_bus_publish_async(g->bus, &msg) == TU_OK)
			return 0;
		tu_clock_sleep_ms(10);
	}
	fprintf(stderr, "eventgen: cannot publish %s\n", id);
	return -1;
}

static int pack_and_publish(struct gen *g, const char *subject, const char *type, const char *id,
			    const ProtobufCMessage *m)
{
	uint8_t buf[4096];
	size_t n = protobuf_c_message_get_packed_size(m);
	protobuf_c_message_pack(m, buf);
	return publish_raw(g, subject, type, id, buf, n);
}

/*
 * Publishes malformed message number k (0-based): kind k % GARBAGE_KINDS, each
 * something the fold must park as a dead letter:
 *   0 bytes that are not protobuf on trueup.obs.a.worker
 *   1 an observation whose source (b) disagrees with its subject (a)
 *   2 an observation whose entity kind is not a valid name
 *   3 bytes that are not protobuf on trueup.hb.<service>.<instance>
 *   4 a heartbeat with ttl_ms 0
 *   5 a heartbeat of another instance (i2) than its subject's (i1)
 *   6 an observation whose attributes are not sorted
 *   7 a scan marker without a phase on trueup.obs.a._scan
 */
static int garbage(struct gen *g, uint64_t k)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x42 };
	char id[96], name[64];
	snprintf(id, sizeof(id), "garbage.%u.%" PRIu64, g->seed, k);
	snprintf(name, sizeof(name), "g-%" PRIu64, k);
	Trueup__V1__EntityRef e = TRUEUP__V1__ENTITY_REF__INIT;
	e.kind = "worker";
	e.namespace_ = "default";
	e.name = name;
	Trueup__V1__Attr a1 = TRUEUP__V1__ATTR__INIT, a2 = TRUEUP__V1__ATTR__INIT;
	a1.key = "z";
	a1.value = "1";
	a2.key = "a";
	a2.value = "2";
	Trueup__V1__Attr *attrs[2] = { &a1, &a2 };
	Trueup__V1__ObservedState o = TRUEUP__V1__OBSERVED_STATE__INIT;
	o.source = "a";
	o.scan_id = "garbage";
	o.entity = &e;
	Trueup__V1__Heartbeat h = TRUEUP__V1__HEARTBEAT__INIT;
	Trueup__V1__ScanMarker m = TRUEUP__V1__SCAN_MARKER__INIT;
	const char *obs = "trueup.obs.a.worker";
	g->garbage++;
	if (g->sent <= g->from)
		return 0; /* due before the first message published */
	switch (k % GARBAGE_KINDS) {
	case 0: return publish_raw(g, obs, TU_TYPE_OBSERVED, id, junk, sizeof(junk));
	case 1:
		o.source = "b";
		return pack_and_publish(g, obs, TU_TYPE_OBSERVED, id, &o.base);
	case 2:
		e.kind = "Bad Kind";
		return pack_and_publish(g, obs, TU_TYPE_OBSERVED, id, &o.base);
	case 3: return publish_raw(g, "trueup.hb.svc.i1", TU_TYPE_HEARTBEAT, id, junk, sizeof(junk));
	case 4:
		h.service = "svc";
		h.instance = "i1";
		h.ttl_ms = 0;
		return pack_and_publish(g, "trueup.hb.svc.i1", TU_TYPE_HEARTBEAT, id, &h.base);
	case 5:
		h.service = "svc";
		h.instance = "i2";
		h.ttl_ms = 1000;
		return pack_and_publish(g, "trueup.hb.svc.i1", TU_TYPE_HEARTBEAT, id, &h.base);
	case 6:
		o.attrs = attrs;
		o.n_attrs = 2;
		return pack_and_publish(g, obs, TU_TYPE_OBSERVED, id, &o.base);
	default:
		m.source = "a";
		m.scan_id = "garbage";
		return pack_and_publish(g, "trueup.obs.a._scan", TU_TYPE_SCAN, id, &m.base);
	}
}

/* Publishes one valid message, then the garbage due by now (spread evenly). */
static int publish(struct gen *g, const char *subject, const char *type, const char *id,
		   const ProtobufCMessage *m)
{
	if (g->sent >= g->from) {
		uint64_t pub = g->sent - g->from;
		if (pub == g->burst)
			g->t0 = tu_clock_mono_ns();
		if (pub >= g->burst)
			tu_cases_pace(g->t0, pub - g->burst, g->rate);
		if (pack_and_publish(g, subject, type, id, m) != 0)
			return -1;
	}
	g->sent++;
	while (g->garbage < g->garbage_max && g->garbage * g->max < g->sent * g->garbage_max) {
		if (garbage(g, g->garbage) != 0)
			return -1;
	}
	return 0;
}

static int marker(struct gen *g, const char *src, const char *scan_id, bool begin, bool full)
{
	Trueup__V1__ScanMarker m = TRUEUP__V1__SCAN_MARKER__INIT;
	m.source = (char *)src;
	m.scan_id = (char *)scan_id;
	m.phase = begin ? TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_BEGIN
			: TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_END;
	m.full = full;
	m.complete = !begin;
	char subject[128], id[128];
	snprintf(subject, sizeof(subject), "trueup.obs.%s._scan", src);
	snprintf(id, sizeof(id), "%s.%s", scan_id, begin ? "b" : "e");
	return publish(g, subject, TU_TYPE_SCAN, id, &m.base);
}

static int observe(struct gen *g, const char *src, const char *scan_id, uint64_t i, bool deleted,
		   uint64_t round)
{
	char name[64], status[32], id[160];
	snprintf(name, sizeof(name), "w-%" PRIu64, i);
	snprintf(status, sizeof(status), "r%" PRIu64, (i + round) % 3);
	Trueup__V1__EntityRef e = TRUEUP__V1__ENTITY_REF__INIT;
	e.kind = "worker";
	e.namespace_ = "default";
	e.name = name;
	Trueup__V1__Attr a = TRUEUP__V1__ATTR__INIT;
	a.key = "status";
	a.value = status;
	Trueup__V1__Attr *attrs[1] = { &a };
	Trueup__V1__ObservedState o = TRUEUP__V1__OBSERVED_STATE__INIT;
	o.source = (char *)src;
	o.scan_id = (char *)scan_id;
	o.entity = &e;
	o.deleted = deleted;
	if (!deleted) {
		o.attrs = attrs;
		o.n_attrs = 1;
	}
	char subject[128];
	snprintf(subject, sizeof(subject), "trueup.obs.%s.worker", src);
	snprintf(id, sizeof(id), "%s.%" PRIu64, scan_id, i);
	return publish(g, subject, TU_TYPE_OBSERVED, id, &o.base);
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	uint64_t events = 0, entities = 10000, from = 0;
	uint64_t garbage_max = 0, burst = 0;
	unsigned drift_pct = 2, seed = 1;
	bool cases = false;
	double rate = 0;
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "events", required_argument, NULL, 'n' },
		{ "entities", required_argument, NULL, 'e' },
		{ "drift-pct", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "garbage", required_argument, NULL, 'g' },
		{ "from", required_argument, NULL, 'f' },
		{ "cases", no_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'n': events = strtoull(optarg, NULL, 10); break;
		case 'e': entities = strtoull(optarg, NULL, 10); break;
		case 'd': drift_pct = (unsigned)atoi(optarg); break;
		case 's': seed = (unsigned)atoi(optarg); break;
		case 'g': garbage_max = strtoull(optarg, NULL, 10); break;
		case 'f': from = strtoull(optarg, NULL, 10); break;
		case 'c': cases = true; break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'b': burst = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: eventgen --url URL --events N [--entities N] "
					"[--from I] [--drift-pct P] [--seed S] [--garbage G] [--rate R [--burst B]]\n"
					"       eventgen --url URL --events N --cases [--rate R] "
					"[--entities N] [--drift-pct P] [--seed S]\n");
			return 2;
		}
	}
	if (url == NULL || events == 0 || drift_pct > 100 || entities == 0) {
		fprintf(stderr, "eventgen: --url and --events are required\n");
		return 2;
	}
	if (cases && (from > 0 || garbage_max > 0 || burst > 0)) {
		fprintf(stderr, "eventgen: --from, --garbage and --burst go without --cases\n");
		return 2;
	}
	tu_log_init("eventgen", TU_LOG_WARN, TU_LOG_TEXT);
	struct tu_nats_config nc = { .url = (char *)url, .connect_timeout = 2000,
				     .request_timeout = 10000, .max_reconnect = 60,
				     .reconnect_wait = 500 };
	struct gen g = { .max = events, .from = from, .garbage_max = garbage_max, .seed = seed,
			 .rng = 0x9e3779b97f4a7c15ULL ^ seed };
	char err[512];
	struct tu_bus_opts bo = { .name = "eventgen", .max_pending = 8192, .keep_failed = true };
	if (tu_bus_connect(&nc, &bo, &g.bus, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "eventgen: %s\n", err);
		return 1;
	}
	int64_t t0 = tu_clock_mono_ns();
	g.rate = rate;
	g.burst = burst;
	g.t0 = t0;
	int rc = 0;
	if (cases) {
		struct tu_cases_opts co = { events, entities, drift_pct, seed, rate };
		rc = tu_cases_publish(g.bus, &co, &g.sent);
	}
	for (uint64_t round = 1; !cases && g.sent < g.max && rc == 0; round++) {
		for (int s = 0; s < 2 && g.sent < g.max && rc == 0; s++) {
			const char *src = s == 0 ? "a" : "b";
			bool full = round <= 2 || round % 2 == 1;
			char scan_id[64];
			snprintf(scan_id, sizeof(scan_id), "%s-%u-%" PRIu64, src, seed, round);
			rc = marker(&g, src, scan_id, true, full);
			for (uint64_t i = 0; i < entities && g.sent + 1 < g.max && rc == 0; i++) {
				bool here = s == 0 || tu_cases_in_b(i, round, entities, drift_pct);
				bool before = s == 0 || round == 1 ||
					      tu_cases_in_b(i, round - 1, entities, drift_pct);
				if (full) {
					if (here)
						rc = observe(&g, src, scan_id, i, false, round);
				} else if (here != before) {
					rc = observe(&g, src, scan_id, i, !here, round);
				} else if (here && next_rand(&g) % 8 == 0) {
					rc = observe(&g, src, scan_id, i, false, round);
				}
			}
			if (rc == 0)
				rc = marker(&g, src, scan_id, false, full);
		}
	}
	size_t unsent = 0;
	tu_status st = tu_bus_async_complete(g.bus, 60000, 5, &unsent);
	double secs = (double)(tu_clock_mono_ns() - t0) / 1e9;
	if (st != TU_OK) {
		fprintf(stderr, "eventgen: %zu messages not acked: %s\n", unsent, tu_status_str(st));
		rc = 1;
	}
	uint64_t pub = g.sent > g.from ? g.sent - g.from : 0;
	fprintf(stderr, "eventgen: published %" PRIu64 " events (+ %" PRIu64 " garbage generated) in "
		"%.2fs (%.0f/s)\n", pub, g.garbage, secs, secs > 0 ? (double)pub / secs : 0.0);
	tu_bus_destroy(g.bus, 1000);
	return rc;
}
