/*
 * latency_bench - detection latency: from an observation that causes drift
 * (its JetStream timestamp in TRUEUP_EVENTS) to the fix command the
 * processor derives from it (its JetStream timestamp in TRUEUP_CMD), under
 * whatever background load runs meanwhile (latency.sh: eventgen --cases
 * --rate).
 *
 * The probes are databases the background declares in source a and scans in
 * source b (kind database-a, rule kubedb-provider-a of the bench policy,
 * tests/bench/fold.yaml.in, rendered with `for: 0` so that the drift opens,
 * and the command is issued, in the fold of the observation itself). Probe k
 * takes the next of them, publishes b's observation of it with other storage
 * (synchronously: the ack gives its stream sequence, which the command names
 * as issued_seq) and half an interval later the right storage again, which
 * resolves the drift so that the database can serve a later probe. Both ends
 * are read back as the server stored them: the observation with a stream get,
 * the command from TRUEUP_CMD, so both timestamps are the server's clock.
 * Probes use entities the background scans: an entity only the probes knew
 * would be swept as absent by every complete full scan of its source.
 *
 * Also printed: the background load actually achieved in the probe window
 * (TRUEUP_EVENTS messages that are not probes, per second), next to the
 * rate asked for.
 *
 * usage: latency_bench --config FILE --probes N [--interval-ms MS] [--rate R]
 *        [--wait-ms MS]
 * Exits 1 if a probe's command never arrives within --wait-ms (default 30 s).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "config.h"
#include "contract.h"
#include "log.h"
#include "pb.h"
#include "reader.h"

#define PROBE_KIND "database-a"
#define PROBE_NS "db"
#define PROBE_RULE "kubedb-provider-a"
#define MAX_TARGETS 1024

struct probe {
	uint64_t seq;   /* the b observation that causes the drift */
	int64_t obs_ns; /* its JetStream timestamp */
	int64_t cmd_ns; /* the command's; 0 until it arrives */
};

static void die(const char *what, const char *why)
{
	fprintf(stderr, "latency_bench: %s: %s\n", what, why);
	exit(1);
}

static uint64_t last_seq(tu_bus *bus, const char *stream)
{
	jsStreamInfo *si = NULL;
	if (js_GetStreamInfo(&si, tu_bus_js(bus), stream, NULL, NULL) != NATS_OK)
		die("stream info", stream);
	uint64_t seq = si->State.LastSeq;
	jsStreamInfo_Destroy(si);
	return seq;
}

/* Publishes b's observation of database name with storage; returns its sequence. */
static uint64_t observe(tu_bus *bus, const char *name, const char *storage, int k)
{
	char id[160], subject[96], err[256];
	struct tu_arena a;
	tu_arena_init(&a, 4096);
	Trueup__V1__ObservedState o = TRUEUP__V1__OBSERVED_STATE__INIT;
	o.source = "b";
	o.scan_id = "latency-probe";
	o.entity = tu_pb_entity(&a, PROBE_KIND, PROBE_NS, name);
	Trueup__V1__Attr *attrs[4] = {
		tu_pb_attr(&a, "cpu", "0.5"),
		tu_pb_attr(&a, "memory", "1024Mi"),
		tu_pb_attr(&a, "replicas", "3"),
		tu_pb_attr(&a, "storage", storage),
	};
	o.attrs = attrs;
	o.n_attrs = 4;
	size_t len = 0;
	void *data = tu_pb_pack(&a, &o.base, &len);
	snprintf(subject, sizeof(subject), "%s.b.%s", TU_SUBJ_OBS, PROBE_KIND);
	snprintf(id, sizeof(id), "latency.%d.%s.%s.%" PRId64, k, name, storage, tu_clock_wall_ns());
	struct tu_bus_msg m = { subject, TU_TYPE_OBSERVED, id, NULL, data, len };
	uint64_t seq = 0;
	if (tu_bus_publish(bus, &m, &seq, NULL, err, sizeof(err)) != TU_OK)
		die("publish", err);
	tu_arena_release(&a);
	return seq;
}

/*
 * The databases of kind database-a that source b reports with the declared
 * storage (10Gi) in every observation so far (the background's drifting ones
 * excluded); names into out (malloc'd), at most max.
 */
static size_t discover(tu_bus *bus, char **out, size_t max)
{
	char err[256];
	struct tu_reader_opts ro = { .filter = TU_SUBJ_OBS ".b." PROBE_KIND };
	tu_reader *r = NULL;
	if (tu_reader_open(bus, TU_STREAM_EVENTS, &ro, &r, err, sizeof(err)) != TU_OK)
		die("reader", err);
	size_t n = 0;
	bool *bad = calloc(max, sizeof(*bad));
	for (;;) {
		natsMsgList list = { 0 };
		tu_status st = tu_reader_next(r, 1024, 2000, &list);
		if (st == TU_ENOTFOUND)
			break;
		if (st != TU_OK)
			die("reading " TU_STREAM_EVENTS, tu_status_str(st));
		for (int i = 0; i < list.Count; i++) {
			Trueup__V1__ObservedState *o = trueup__v1__observed_state__unpack(
				NULL, (size_t)natsMsg_GetDataLength(list.Msgs[i]),
				(const uint8_t *)natsMsg_GetData(list.Msgs[i]));
			if (o == NULL || o->entity == NULL ||
			    strcmp(o->entity->namespace_, PROBE_NS) != 0) {
				trueup__v1__observed_state__free_unpacked(o, NULL);
				continue;
			}
			const char *storage = tu_pb_attrs_get(o->attrs, o->n_attrs, "storage");
			size_t j = 0;
			while (j < n && strcmp(out[j], o->entity->name) != 0)
				j++;
			if (j == n && n < max)
				out[n++] = strdup(o->entity->name);
			if (j < n && (o->deleted || storage == NULL || strcmp(storage, "10Gi") != 0))
				bad[j] = true;
			trueup__v1__observed_state__free_unpacked(o, NULL);
		}
		natsMsgList_Destroy(&list);
	}
	tu_reader_close(r);
	size_t kept = 0;
	for (size_t j = 0; j < n; j++) {
		if (bad[j])
			free(out[j]);
		else
			out[kept++] = out[j];
	}
	free(bad);
	return kept;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return a < b ? -1 : a > b;
}

/* Nearest-rank percentile of n sorted values. */
static int64_t pct(const int64_t *v, size_t n, int p)
{
	size_t rank = (n * (size_t)p + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

/* Reads TRUEUP_CMD from from_seq until every probe has its command or wait_ms passes. */
static size_t collect(tu_bus *bus, uint64_t from_seq, struct probe *probes, int n,
		      int64_t wait_ms)
{
	char err[256];
	struct tu_reader_opts ro = { .start_seq = from_seq, .follow = true };
	tu_reader *r = NULL;
	if (tu_reader_open(bus, TU_STREAM_CMD, &ro, &r, err, sizeof(err)) != TU_OK)
		die("reader", err);
	size_t got = 0;
	int64_t deadline = tu_clock_mono_ns() + wait_ms * TU_NS_PER_MS;
	while (got < (size_t)n && tu_clock_mono_ns() < deadline) {
		natsMsgList list = { 0 };
		tu_status st = tu_reader_next(r, 256, 200, &list);
		if (st != TU_OK && st != TU_ETIMEOUT)
			die("reading " TU_STREAM_CMD, tu_status_str(st));
		for (int i = 0; i < list.Count; i++) {
			struct tu_bus_meta meta;
			Trueup__V1__FixCommand *c = trueup__v1__fix_command__unpack(
				NULL, (size_t)natsMsg_GetDataLength(list.Msgs[i]),
				(const uint8_t *)natsMsg_GetData(list.Msgs[i]));
			if (c != NULL && tu_bus_meta(list.Msgs[i], &meta) == TU_OK &&
			    strcmp(c->rule, PROBE_RULE) == 0) {
				for (int k = 0; k < n; k++) {
					if (probes[k].seq == c->issued_seq && probes[k].cmd_ns == 0) {
						probes[k].cmd_ns = meta.ts_ns;
						got++;
					}
				}
			}
			trueup__v1__fix_command__free_unpacked(c, NULL);
		}
		natsMsgList_Destroy(&list);
	}
	tu_reader_close(r);
	return got;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int n = 0;
	int64_t interval_ms = 100, wait_ms = 30000;
	double rate = 0;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "probes", required_argument, NULL, 'n' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "rate", required_argument, NULL, 'r' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'i': interval_ms = strtoll(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'w': wait_ms = strtoll(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (path == NULL || n <= 0 || n > 100000 || interval_ms < 2) {
		fprintf(stderr, "usage: latency_bench --config FILE --probes N [--interval-ms MS] "
				"[--rate R] [--wait-ms MS]\n");
		return 2;
	}
	char err[1024];
	struct tu_config *cfg = NULL;
	if (tu_config_load(path, &cfg, err, sizeof(err)) != TU_OK)
		die("config", err);
	tu_log_init("latency", TU_LOG_WARN, TU_LOG_TEXT);
	tu_bus *bus = NULL;
	struct tu_bus_opts bo = { .name = "latency-bench" };
	if (tu_bus_connect(&cfg->nats, &bo, &bus, err, sizeof(err)) != TU_OK)
		die("connect", err);
	struct probe *probes = calloc((size_t)n, sizeof(*probes));
	if (probes == NULL)
		die("memory", "calloc");

	char *targets[MAX_TARGETS];
	size_t n_targets = discover(bus, targets, MAX_TARGETS);
	if (n_targets == 0)
		die("probes", "no " PROBE_KIND " in source b yet (is the background load running?)");

	uint64_t cmd_from = last_seq(bus, TU_STREAM_CMD) + 1;
	uint64_t ev_first = last_seq(bus, TU_STREAM_EVENTS);
	int64_t t0 = tu_clock_mono_ns();
	for (int k = 0; k < n; k++) {
		const char *name = targets[(size_t)k % n_targets];
		probes[k].seq = observe(bus, name, "20Gi", k);
		tu_clock_sleep_ms(interval_ms / 2);
		observe(bus, name, "10Gi", k); /* resolves it: the database serves again later */
		int64_t next = t0 + (int64_t)(k + 1) * interval_ms * TU_NS_PER_MS;
		int64_t left = (next - tu_clock_mono_ns()) / TU_NS_PER_MS;
		if (left > 0)
			tu_clock_sleep_ms(left);
	}
	double window = (double)(tu_clock_mono_ns() - t0) / 1e9;
	uint64_t ev_last = last_seq(bus, TU_STREAM_EVENTS);

	size_t got = collect(bus, cmd_from, probes, n, wait_ms);
	int64_t *lat = calloc((size_t)n, sizeof(*lat));
	size_t m = 0;
	for (int k = 0; k < n; k++) {
		if (probes[k].cmd_ns == 0)
			continue;
		natsMsg *msg = NULL;
		if (tu_bus_get_msg(bus, TU_STREAM_EVENTS, probes[k].seq, &msg) != TU_OK)
			die("get", "a probe's observation is gone from " TU_STREAM_EVENTS);
		probes[k].obs_ns = natsMsg_GetTime(msg);
		natsMsg_Destroy(msg);
		lat[m++] = probes[k].cmd_ns - probes[k].obs_ns;
	}
	qsort(lat, m, sizeof(*lat), cmp_i64);
	double background = (double)(ev_last - ev_first - 2 * (uint64_t)n) / window;
	printf("probes: %d, one every %" PRId64 " ms, over %zu databases\n", n, interval_ms,
	       n_targets);
	printf("background load: asked %.0f events/s, achieved %.0f events/s in TRUEUP_EVENTS over "
	       "the %.1f s probe window (probes excluded)\n",
	       rate, background, window);
	int64_t for_ms = -1;
	for (size_t i = 0; i < cfg->n_rules; i++)
		if (strcmp(cfg->rules[i].name, PROBE_RULE) == 0)
			for_ms = cfg->rules[i].for_ms;
	printf("processor: batch %d, fetch_wait %" PRId64 " ms; measured rule %s, for: %" PRId64
	       " ms (a longer for: adds its wait)\n",
	       cfg->processor.batch, cfg->processor.fetch_wait, PROBE_RULE, for_ms);
	if (m > 0)
		printf("detection latency (observation in %s -> command in %s, JetStream "
		       "timestamps), %zu probes: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		       TU_STREAM_EVENTS, TU_STREAM_CMD, m, (double)pct(lat, m, 50) / 1e6,
		       (double)pct(lat, m, 99) / 1e6, (double)lat[m - 1] / 1e6);
	int rc = 0;
	if (got < (size_t)n) {
		fprintf(stderr, "latency_bench: %zu of %d probes got no command within %" PRId64 " ms:",
			(size_t)n - got, n, wait_ms);
		for (int k = 0; k < n; k++)
			if (probes[k].cmd_ns == 0)
				fprintf(stderr, " %d (sequence %" PRIu64 ")", k, probes[k].seq);
		fprintf(stderr, "\n");
		rc = 1;
	}
	free(lat);
	free(probes);
	for (size_t j = 0; j < n_targets; j++)
		free(targets[j]);
	tu_bus_destroy(bus, 1000);
	tu_config_destroy(cfg);
	return rc;
}
