/*
 * fold_bench - the processor's fold rate against the JetStream ceiling, both
 * measured in the same run on the same stream (TRUEUP_EVENTS, filled by
 * eventgen --cases beforehand).
 *
 *   ceiling: a pull consumer that fetches batches and acks the last message of
 *            each (AckAll), doing no work: what JetStream can hand out here.
 *   fold:    the real processor (tu_processor_run: fetch, fold with the
 *            config's rules into LMDB, commit, ack, outbox) from a fresh view,
 *            timed from start until the view's applied sequence reaches the
 *            last event.
 * The machine is shared and noisy, so the two alternate for several rounds
 * (ceiling, fold, ceiling, fold, ..., ceiling) and each fold is compared with
 * the mean of the ceilings measured right before and right after it; the
 * median of those ratios is the figure.
 *
 * usage: fold_bench --config FILE --events N [--batch N] [--rounds N] [--fold-only]
 * Prints one line per round and a final "ratio" line. --fold-only skips the
 * ceiling (to profile the fold: perf record -g fold_bench --fold-only ...).
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "clock.h"
#include "config.h"
#include "contract.h"
#include "log.h"
#include "processor.h"
#include "view.h"

static double ceiling(const struct tu_config *cfg, uint64_t events, int batch, const char *name)
{
	char err[512];
	tu_bus *bus = NULL;
	struct tu_bus_opts bo = { .name = "bench-ceiling" };
	if (tu_bus_connect(&cfg->nats, &bo, &bus, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "fold_bench: %s\n", err);
		exit(1);
	}
	jsConsumerConfig cc;
	jsConsumerConfig_Init(&cc);
	cc.Durable = name;
	cc.AckPolicy = js_AckAll;
	cc.MaxAckPending = batch * 4;
	cc.DeliverPolicy = js_DeliverAll;
	js_DeleteConsumer(tu_bus_js(bus), TU_STREAM_EVENTS, name, NULL, NULL);
	if (js_AddConsumer(NULL, tu_bus_js(bus), TU_STREAM_EVENTS, &cc, NULL, NULL) != NATS_OK) {
		fprintf(stderr, "fold_bench: cannot create consumer %s\n", name);
		exit(1);
	}
	natsSubscription *sub = NULL;
	if (tu_bus_pull_bind(bus, TU_STREAM_EVENTS, name, &sub, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "fold_bench: %s\n", err);
		exit(1);
	}
	uint64_t got = 0;
	int64_t t0 = tu_clock_mono_ns();
	while (got < events) {
		natsMsgList list = { 0 };
		tu_bus_fetch(sub, batch, 1000, &list);
		if (list.Count > 0) {
			got += (uint64_t)list.Count;
			natsMsg_Ack(list.Msgs[list.Count - 1], NULL);
		}
		natsMsgList_Destroy(&list);
	}
	double secs = (double)(tu_clock_mono_ns() - t0) / 1e9;
	natsSubscription_Destroy(sub);
	js_DeleteConsumer(tu_bus_js(bus), TU_STREAM_EVENTS, name, NULL, NULL);
	tu_bus_destroy(bus, 0);
	return (double)got / secs;
}

struct run {
	tu_processor *p;
	volatile sig_atomic_t stop;
};

static void *run_processor(void *arg)
{
	struct run *r = arg;
	tu_processor_run(r->p, &r->stop);
	return NULL;
}

static uint64_t applied(tu_view *v)
{
	MDB_txn *txn = NULL;
	uint64_t seq = 0;
	if (tu_view_begin(v, false, &txn) == TU_OK) {
		tu_view_meta_get(txn, v, TU_META_APPLIED_SEQ, &seq);
		tu_view_abort(v, txn);
	}
	return seq;
}

static double fold(const struct tu_config *cfg, uint64_t events)
{
	char err[512], cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cfg->processor.view);
	if (system(cmd) != 0) {
		fprintf(stderr, "fold_bench: cannot remove %s\n", cfg->processor.view);
		exit(1);
	}
	struct run r = { 0 };
	if (tu_processor_create(cfg, "bench", "", &r.p, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "fold_bench: %s\n", err);
		exit(1);
	}
	tu_view *v = NULL;
	if (tu_view_open(cfg->processor.view, cfg->processor.map_size, TU_SYNC_NONE, false, &v, err,
			 sizeof(err)) != TU_OK) {
		fprintf(stderr, "fold_bench: %s\n", err);
		exit(1);
	}
	pthread_t th;
	int64_t t0 = tu_clock_mono_ns();
	pthread_create(&th, NULL, run_processor, &r);
	while (applied(v) < events)
		tu_clock_sleep_ms(2);
	double secs = (double)(tu_clock_mono_ns() - t0) / 1e9;
	r.stop = 1;
	pthread_join(th, NULL);
	tu_view_close(v);
	tu_processor_destroy(r.p);
	return (double)events / secs;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	uint64_t events = 0;
	int batch = 1024, rounds = 3;
	bool fold_only = false;
	static const struct option opts[] = {
		{ "fold-only", no_argument, NULL, 'f' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "events", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': events = strtoull(optarg, NULL, 10); break;
		case 'b': batch = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'f': fold_only = true; break;
		default: return 2;
		}
	}
	if (rounds < 1 || rounds > 16)
		rounds = 3;
	if (path == NULL || events == 0) {
		fprintf(stderr, "usage: fold_bench --config FILE --events N [--batch N]\n");
		return 2;
	}
	char err[1024];
	struct tu_config *cfg = NULL;
	if (tu_config_load(path, &cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "fold_bench: %s\n", err);
		return 2;
	}
	tu_log_init("bench", TU_LOG_WARN, TU_LOG_TEXT);
	double ratios[16];
	double before = fold_only ? 1.0 : ceiling(cfg, events, batch, "bench-ceiling-0");
	for (int r = 0; r < rounds; r++) {
		char name[64];
		snprintf(name, sizeof(name), "bench-ceiling-%d", r + 1);
		double f = fold(cfg, events);
		double after = fold_only ? 1.0 : ceiling(cfg, events, batch, name);
		double ceil_rate = (before + after) / 2;
		ratios[r] = f / ceil_rate;
		if (fold_only) {
			printf("round %d: fold (processor, %zu rules, batch %d) %.0f events/s\n", r + 1,
			       cfg->n_rules, cfg->processor.batch, f);
			fflush(stdout);
			continue;
		}
		printf("round %d: ceiling (pull + AckAll, batch %d, no work) %.0f events/s (before "
		       "%.0f, after %.0f); fold (processor, %zu rules, batch %d) %.0f events/s; ratio "
		       "%.2f\n",
		       r + 1, batch, ceil_rate, before, after, cfg->n_rules, cfg->processor.batch, f,
		       ratios[r]);
		fflush(stdout);
		before = after;
	}
	if (fold_only) {
		tu_config_destroy(cfg);
		return 0;
	}
	for (int i = 1; i < rounds; i++)
		for (int j = i; j > 0 && ratios[j - 1] > ratios[j]; j--) {
			double t = ratios[j];
			ratios[j] = ratios[j - 1];
			ratios[j - 1] = t;
		}
	printf("ratio fold/ceiling: %.2f (median of %d rounds; target >= 0.60)\n",
	       ratios[rounds / 2], rounds);
	tu_config_destroy(cfg);
	return 0;
}
