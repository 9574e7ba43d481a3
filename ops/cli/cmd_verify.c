/*
 * cmd_verify.c - `trueup verify`: the pre-flight check. The config is valid;
 * NATS is reachable with its credentials; the streams and durable consumers
 * exist; every source can be read with its credentials and mapping (a scan
 * into a counting sink that publishes nothing, stopped after --sample
 * entities); every target is reachable (adapters that can check without
 * changing anything); the view directory is usable.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "contract.h"
#include "source.h"
#include "targets.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup verify [--sample N] [-o json]\n"
		"\n"
		"Checks, without changing anything: the config, NATS and its credentials, the\n"
		"streams and consumers, each source (reads up to N entities, default 100, with the\n"
		"configured mapping; nothing is published), each target's connection and\n"
		"credentials, and the view directory. Exit 1 if any check fails.\n");
}

struct report {
	struct tu_cli *cli;
	int failed;
	int n;
};

static void check(struct report *r, bool ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check(struct report *r, bool ok, const char *what, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (!ok)
		r->failed++;
	if (r->cli->json) {
		struct tu_buf b;
		tu_buf_init(&b, 4096);
		tu_buf_printf(&b, "{\"check\":");
		tu_buf_json_str(&b, what, strlen(what));
		tu_buf_printf(&b, ",\"ok\":%s,\"detail\":", ok ? "true" : "false");
		tu_buf_json_str(&b, detail, strlen(detail));
		printf("%s%s}", r->n ? "," : "[", tu_buf_cstr(&b));
		tu_buf_release(&b);
	} else {
		printf("%-4s %-28s %s\n", ok ? "ok" : "FAIL", what, detail);
	}
	r->n++;
}

/* A sink that counts and stops the scan after `limit` entities. */
struct counting {
	size_t entities, skipped, limit;
	char first_skip[256];
};

static tu_status count_entity(void *ctx, const struct tu_entity *e)
{
	(void)e;
	struct counting *c = ctx;
	c->entities++;
	return TU_OK;
}

static void count_skip(void *ctx, const char *why)
{
	struct counting *c = ctx;
	if (c->skipped++ == 0)
		snprintf(c->first_skip, sizeof(c->first_skip), "%s", why);
}

static bool count_stopping(void *ctx)
{
	struct counting *c = ctx;
	return c->entities >= c->limit;
}

static void verify_source(struct report *r, const struct tu_source_config *sc, size_t sample)
{
	char what[128], err[1024] = "";
	snprintf(what, sizeof(what), "source %s", sc->name);
	struct tu_source *src = NULL;
	tu_status st = tu_source_create(sc, &src, err, sizeof(err));
	if (st != TU_OK) {
		check(r, false, what, "%s", err);
		return;
	}
	struct counting c = { .limit = sample };
	struct tu_scan_sink sink = { count_entity, count_skip, count_stopping, &c };
	st = tu_source_scan(src, &sink, err, sizeof(err));
	tu_source_destroy(src);
	bool stopped = st == TU_ESTOP || c.entities >= sample;
	if (st != TU_OK && !stopped)
		check(r, false, what, "%s", err);
	else if (c.skipped > 0)
		check(r, false, what, "%zu entities read, %zu skipped (first: %s)", c.entities,
		      c.skipped, c.first_skip);
	else
		check(r, true, what, "%s%zu entities read with the mapping", stopped ? "at least " : "",
		      c.entities);
}

static void verify_target(struct report *r, const struct tu_target_config *tc)
{
	char what[128], err[1024] = "";
	snprintf(what, sizeof(what), "target %s", tc->name);
	struct tu_adapter a = { 0 };
	tu_status st = tu_target_open(tc, &a, err, sizeof(err));
	if (st != TU_OK) {
		check(r, false, what, "%s", err);
		return;
	}
	if (a.ops->probe == NULL)
		check(r, true, what, "%s target: configuration valid (no connection check)",
		      a.ops->type);
	else if ((st = a.ops->probe(a.impl, err, sizeof(err))) != TU_OK)
		check(r, false, what, "%s", err);
	else
		check(r, true, what, "%s target reachable with its credentials", a.ops->type);
	tu_target_close(tc, &a);
}

static void verify_streams(struct report *r, tu_bus *bus, const struct tu_config *cfg)
{
	const char *streams[] = { TU_STREAM_EVENTS, TU_STREAM_DRIFT, TU_STREAM_CMD, TU_STREAM_DEAD };
	for (size_t i = 0; i < 4; i++) {
		char what[64];
		snprintf(what, sizeof(what), "stream %s", streams[i]);
		jsStreamInfo *si = NULL;
		natsStatus s = js_GetStreamInfo(&si, tu_bus_js(bus), streams[i], NULL, NULL);
		if (s == NATS_OK)
			check(r, true, what, "%llu messages", (unsigned long long)si->State.Msgs);
		else
			check(r, false, what, "%s (run `trueup streams apply`)", natsStatus_GetText(s));
		jsStreamInfo_Destroy(si);
	}
	struct {
		const char *stream, *durable;
	} cons[64];
	size_t n = 0;
	cons[n].stream = TU_STREAM_EVENTS;
	cons[n++].durable = cfg->processor.consumer;
	for (size_t i = 0; i < cfg->n_targets && n < 64; i++) {
		cons[n].stream = TU_STREAM_CMD;
		cons[n++].durable = cfg->targets[i].consumer;
	}
	for (size_t i = 0; i < n; i++) {
		char what[160];
		snprintf(what, sizeof(what), "consumer %s", cons[i].durable);
		jsConsumerInfo *ci = NULL;
		natsStatus s =
			js_GetConsumerInfo(&ci, tu_bus_js(bus), cons[i].stream, cons[i].durable, NULL, NULL);
		if (s == NATS_OK)
			check(r, true, what, "on %s, %llu pending", cons[i].stream,
			      (unsigned long long)ci->NumPending);
		else
			check(r, false, what, "on %s: %s (run `trueup streams apply`)", cons[i].stream,
			      natsStatus_GetText(s));
		jsConsumerInfo_Destroy(ci);
	}
}

static void verify_view(struct report *r, const char *dir)
{
	struct stat sb;
	if (stat(dir, &sb) == 0) {
		bool ok = S_ISDIR(sb.st_mode) && access(dir, R_OK | W_OK | X_OK) == 0;
		check(r, ok, "view directory", "%s %s", dir, ok ? "is usable" : "is not a writable directory");
		return;
	}
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent)
		*slash = '\0';
	else
		snprintf(parent, sizeof(parent), "%s", slash == parent ? "/" : ".");
	bool ok = access(parent, W_OK | X_OK) == 0;
	check(r, ok, "view directory", "%s does not exist yet; %s", dir,
	      ok ? "the processor will create it" : "its parent is not writable");
}

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	(void)cli;
	if (c != 's')
		return TU_EXIT_USAGE;
	char *end = NULL;
	long n = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || n < 1)
		return TU_EXIT_USAGE;
	*(size_t *)ctx = (size_t)n;
	return TU_EXIT_OK;
}

int tu_cli_verify(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "sample", required_argument, NULL, 's' },
					      { NULL, 0, NULL, 0 } };
	size_t sample = 100;
	struct tu_cli_verb v = { opts, NULL, on_opt, &sample, usage, 0, 0 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	struct report r = { .cli = cli };
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	check(&r, true, "config", "%s: valid, %zu sources, %zu targets, %zu rules",
	      cli->cfg->path, cli->cfg->n_sources, cli->cfg->n_targets, cli->cfg->n_rules);
	char err[1024];
	tu_bus *bus = NULL;
	struct tu_bus_opts bo = { .name = "trueup-verify" };
	if (tu_bus_connect(&cli->cfg->nats, &bo, &bus, err, sizeof(err)) != TU_OK) {
		check(&r, false, "nats", "%s", err);
	} else {
		check(&r, true, "nats", "connected to %s", cli->cfg->nats.url);
		verify_streams(&r, bus, cli->cfg);
		tu_bus_destroy(bus, 0);
	}
	for (size_t i = 0; i < cli->cfg->n_sources; i++)
		verify_source(&r, &cli->cfg->sources[i], sample);
	for (size_t i = 0; i < cli->cfg->n_targets; i++)
		verify_target(&r, &cli->cfg->targets[i]);
	verify_view(&r, cli->cfg->processor.view);
	if (cli->json)
		printf("%s]\n", r.n ? "" : "[");
	else
		printf("%s: %d of %d checks failed\n", r.failed ? "FAIL" : "ok", r.failed, r.n);
	return r.failed ? TU_EXIT_FAIL : TU_EXIT_OK;
}
