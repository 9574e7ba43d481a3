/*
 * main.c - trueup-producer: observes the configured sources and publishes
 * what they hold into TRUEUP_EVENTS (DESIGN.md, Producers).
 *
 *   trueup-producer --config FILE [--source NAME]... [--once] [--listen ADDR]
 *
 * One thread per source (tu_scanner), one NATS connection for all of them.
 * SIGINT/SIGTERM are blocked in every thread and taken by the main thread
 * with sigtimedwait(), which then stops the scanners: a running scan ends
 * after its current entity with an END marker "interrupted".
 * Exit: 0 ok (also after a signal), 1 runtime failure (NATS unreachable;
 * with --once: a scan that could not read its source or publish its END),
 * 2 usage or config error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "config.h"
#include "jsonarena.h"
#include "log.h"
#include "ophttp.h"
#include "scanner.h"
#include "source.h"
#include "xalloc.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define SIGNAL_POLL_MS 200   /* how often the main thread looks at the scanners */
#define DRAIN_MS 5000        /* wait for async publishes when closing */

/*
 * One source: its scanner and its own NATS connection, so that waiting for a
 * scan's acks never waits for another source's messages.
 */
struct slot {
	tu_bus *bus;            /* owned */
	tu_scanner *scanner;    /* owned; NULL until created (the ack callback checks) */
};

/* Everything the process runs. */
struct app {
	struct tu_config *cfg;  /* owned */
	struct slot *slots;     /* owned, n entries in use */
	size_t n;               /* slots with a scanner */
	tu_ophttp *op;          /* owned: /metrics, /healthz */
	struct tu_metric *scans, *scan_secs, *entities, *skipped, *published, *last_scan;
};

/* Scan metrics (docs/metrics.md); called in the scanners' threads. */
static void on_scan_end(void *ctx, const char *source, const struct tu_scan_result *r,
			double seconds)
{
	struct app *app = ctx;
	const char *v[] = { source, r->complete ? "complete" : "incomplete" };
	tu_metric_add(app->scans, v, 1);
	tu_metric_observe(app->scan_secs, v, seconds);
	tu_metric_add(app->skipped, v, (double)r->skipped);
	tu_metric_add(app->published, v, (double)r->published);
	if (r->complete)
		tu_metric_set(app->entities, v, (double)r->seen);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	tu_metric_set(app->last_scan, v, (double)now.tv_sec + (double)now.tv_nsec / 1e9);
}

static void declare_metrics(struct app *app)
{
	tu_metrics *m = tu_ophttp_metrics(app->op);
	app->scans = tu_metrics_counter(m, "trueup_scans_total", "Scans finished.", "source,result");
	app->scan_secs = tu_metrics_histogram(m, "trueup_scan_duration_seconds",
					      "One scan, BEGIN to END.", "source",
					      tu_metrics_duration_buckets,
					      tu_metrics_n_duration_buckets);
	app->entities = tu_metrics_gauge(m, "trueup_scan_entities",
					 "Entities the last complete scan found.", "source");
	app->skipped = tu_metrics_counter(m, "trueup_scan_skipped_total",
					  "Source entries skipped as malformed (and parked).",
					  "source");
	app->published = tu_metrics_counter(m, "trueup_observations_published_total",
					    "Observations published.", "source");
	app->last_scan = tu_metrics_gauge(m, "trueup_last_scan_timestamp_seconds",
					  "When the last scan ended (wall clock).", "source");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: trueup-producer --config FILE [--source NAME]... [--once]\n"
		"\n"
		"Observes the sources configured in FILE and publishes what they hold into\n"
		"the TRUEUP_EVENTS stream: scans at start, every `interval`, and on request\n"
		"(trueup.ctl.scan.<source>).\n"
		"\n"
		"  -c, --config FILE   the trueup config file (required)\n"
		"  -s, --source NAME   run only this source (repeatable; default: all)\n"
		"      --once          one full scan per source, then exit\n"
		"  -l, --listen ADDR   metrics and health endpoint (default: http.producer;\n"
		"                      \"\" for none)\n"
		"  -h, --help          this help\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or config error.\n");
}

/* A source's bus's ack callback. */
static void on_ack(void *ctx, const char *msg_id, tu_status st, uint64_t seq, bool duplicate)
{
	struct slot *slot = ctx;
	(void)seq;
	(void)duplicate;
	if (slot->scanner != NULL)
		tu_scanner_ack(slot->scanner, msg_id, st);
}

static bool all_done(struct app *app)
{
	for (size_t i = 0; i < app->n; i++)
		if (tu_scanner_running(app->slots[i].scanner))
			return false;
	return true;
}

/* Adds the sources to run to app (all, or those named); false on an unknown name. */
static bool select_sources(const struct tu_config *cfg, char **names, size_t n_names,
			   const struct tu_source_config ***out, size_t *n_out)
{
	const struct tu_source_config **sel = tu_xcalloc(cfg->n_sources + 1, sizeof(*sel));
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_sources; i++) {
		bool wanted = n_names == 0;
		for (size_t j = 0; j < n_names && !wanted; j++)
			wanted = strcmp(names[j], cfg->sources[i].name) == 0;
		if (wanted)
			sel[n++] = &cfg->sources[i];
	}
	for (size_t j = 0; j < n_names; j++) {
		if (tu_config_source(cfg, names[j]) == NULL) {
			fprintf(stderr, "trueup-producer: %s: no source named '%s'\n", cfg->path,
				names[j]);
			free(sel);
			return false;
		}
	}
	*out = sel;
	*n_out = n;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "source", required_argument, NULL, 's' },
		{ "once", no_argument, NULL, 'o' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct app app = { 0 };
	const struct tu_source_config **sel = NULL;
	size_t n_sel = 0;
	char **names = tu_xcalloc((size_t)argc + 1, sizeof(*names));
	size_t n_names = 0;
	const char *config = NULL, *listen = NULL;
	bool once = false;
	bool signalled = false;
	char err[1024];
	int rc = 0;
	int c;

	/* Sources parse JSON pages and documents in arenas (jsonarena.h): before any value. */
	tu_json_arena_install();

	tu_log_init("producer", TU_LOG_INFO, TU_LOG_JSON);
	while ((c = getopt_long(argc, argv, "c:s:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'l': listen = optarg; break;
		case 's': names[n_names++] = optarg; break;
		case 'o': once = true; break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			usage(stderr);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (config == NULL || optind != argc) {
		fprintf(stderr, "trueup-producer: %s\n",
			config == NULL ? "--config FILE is required" : "unexpected argument");
		usage(stderr);
		rc = EXIT_USAGE;
		goto out;
	}
	if (tu_config_load(config, &app.cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "trueup-producer: %s\n", err);
		rc = EXIT_USAGE;
		goto out;
	}
	tu_log_init("producer", app.cfg->log.level, app.cfg->log.format);
	if (!select_sources(app.cfg, names, n_names, &sel, &n_sel)) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (n_sel == 0) {
		fprintf(stderr, "trueup-producer: %s: no sources configured\n", app.cfg->path);
		rc = EXIT_USAGE;
		goto out;
	}

	/* Signals: taken by this thread only; every thread created later inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (tu_ophttp_start(listen != NULL ? listen : app.cfg->http.producer, "producer", 30,
			    &app.op, err, sizeof(err)) != TU_OK) {
		/* Metrics are not the job: say so loudly and observe anyway. */
		tu_error("metrics endpoint not served (give --listen or http.producer): %s", err);
		tu_ophttp_start(NULL, "producer", 30, &app.op, err, sizeof(err));
	}
	declare_metrics(&app);
	struct tu_scan_observer obs = { on_scan_end, &app };

	app.slots = tu_xcalloc(n_sel, sizeof(*app.slots));
	for (size_t i = 0; i < n_sel; i++) {
		struct slot *slot = &app.slots[i];
		struct tu_bus_opts bo = {
			.name = "trueup-producer", .on_ack = on_ack, .ack_ctx = slot,
			.keep_failed = true,
		};
		if (tu_bus_connect(&app.cfg->nats, &bo, &slot->bus, err, sizeof(err)) != TU_OK) {
			tu_error("%s", err);
			rc = EXIT_RUNTIME;
			goto out;
		}
		struct tu_scan_publisher pub;
		tu_scan_publisher_bus(&pub, slot->bus);
		struct tu_source *src = NULL;
		tu_status st = tu_source_create(sel[i], &src, err, sizeof(err));
		if (st == TU_OK) {
			st = tu_scanner_create(sel[i], src, &pub, &slot->scanner, err, sizeof(err));
			if (st != TU_OK)
				tu_source_destroy(src);
			else
				tu_scanner_observe(slot->scanner, &obs);
		}
		if (st != TU_OK) {
			fprintf(stderr, "trueup-producer: %s: %s\n", app.cfg->path, err);
			rc = EXIT_USAGE;
			goto out;
		}
		app.n++;
	}
	for (size_t i = 0; i < app.n; i++) {
		if (tu_scanner_start(app.slots[i].scanner, tu_bus_nc(app.slots[i].bus), once, err,
				     sizeof(err)) != TU_OK) {
			tu_error("%s", err);
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	tu_info("producing from %zu source%s%s", app.n, app.n == 1 ? "" : "s",
		once ? " (once)" : "");

	struct timespec poll = { 0, SIGNAL_POLL_MS * 1000000L };
	while (!(once && all_done(&app))) {
		tu_ophttp_alive(app.op);
		int sig = sigtimedwait(&sigs, NULL, &poll);
		if (sig == SIGINT || sig == SIGTERM) {
			tu_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
			signalled = true;
			break;
		}
	}
out:
	for (size_t i = 0; i < app.n; i++)
		tu_scanner_stop(app.slots[i].scanner);
	for (size_t i = 0; i < app.n; i++)
		tu_scanner_join(app.slots[i].scanner);
	if (once && rc == 0 && !signalled) {
		for (size_t i = 0; i < app.n; i++) {
			struct tu_scan_result r;
			tu_scanner_last(app.slots[i].scanner, &r);
			if (r.status != TU_OK || !r.ended)
				rc = EXIT_RUNTIME;
		}
	}
	/* Each bus first: its ack callback reads the scanner. */
	for (size_t i = 0; app.slots != NULL && i < n_sel; i++) {
		tu_bus_destroy(app.slots[i].bus, DRAIN_MS);
		tu_scanner_destroy(app.slots[i].scanner);
	}
	free(app.slots);
	tu_ophttp_stop(app.op);
	free(sel);
	free(names);
	if (app.cfg != NULL)
		tu_config_destroy(app.cfg);
	return rc;
}
