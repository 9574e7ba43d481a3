/*
 * cmd_verify.c - `trueup verify`: the pre-flight check. The config is valid;
 * NATS is reachable with its credentials; the streams and durable consumers
 * exist; every source can be read with its credentials and mapping (a scan
 * into a counting sink that publishes nothing, stopped after --sample
 * entities); every target is reachable (adapters that can check without
 * changing anything); the view directory is usable.
 *
 * With --offline only the first: the whole file is loaded and validated by
 * the same loader every component uses, and what it configures is listed
 * (each source, target and rule with its type), contacting nothing. For CI
 * and for checking a policy before it is deployed.
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
		"usage: trueup verify [--sample N] [--offline] [-o json]\n"
		"\n"
		"Checks, without changing anything: the config, NATS and its credentials, the\n"
		"streams and consumers, each source (reads up to N entities, default 100, with the\n"
		"configured mapping; nothing is published), each target's connection and\n"
		"credentials, and the view directory. Exit 1 if any check fails.\n"
		"\n"
		"--offline: only load and validate the config and list its sources, targets and\n"
		"rules with their types; nothing is contacted and no file it names is read.\n"
		"Exit 2 if the config is invalid.\n");
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

/* "30s", "5m", "1500ms": a duration as the config file writes it. */
static void fmt_ms(int64_t ms, char *out, size_t outlen)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = { { 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" } };
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms > 0 && ms % units[i].ms == 0) {
			snprintf(out, outlen, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	}
	snprintf(out, outlen, "%lldms", (long long)ms);
}

/* --offline: what the loaded config configures, one line each. */
static void list_config(struct report *r, const struct tu_config *cfg)
{
	char what[128], d[32];
	for (size_t i = 0; i < cfg->n_sources; i++) {
		const struct tu_source_config *sc = &cfg->sources[i];
		snprintf(what, sizeof(what), "source %s", sc->name);
		fmt_ms(sc->interval, d, sizeof(d));
		check(r, true, what, "%s, every %s", tu_source_type_str(sc->type), d);
	}
	for (size_t i = 0; i < cfg->n_targets; i++) {
		snprintf(what, sizeof(what), "target %s", cfg->targets[i].name);
		check(r, true, what, "%s", tu_target_type_str(cfg->targets[i].type));
	}
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const struct tu_rule_config *rc = &cfg->rules[i];
		snprintf(what, sizeof(what), "rule %s", rc->name);
		fmt_ms(rc->for_ms, d, sizeof(d));
		check(r, true, what, "%s, mode %s, for %s", tu_rule_type_str(rc->type),
		      tu_rule_mode_str(rc->mode), rc->for_ms > 0 ? d : "0");
	}
}

struct verify_opts {
	size_t sample; /* --sample: entities read per source */
	bool offline;  /* --offline: load the config, contact nothing */
};

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	(void)cli;
	struct verify_opts *o = ctx;
	if (c == 'O') {
		o->offline = true;
		return TU_EXIT_OK;
	}
	if (c != 's')
		return TU_EXIT_USAGE;
	char *end = NULL;
	long n = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || n < 1)
		return TU_EXIT_USAGE;
	o->sample = (size_t)n;
	return TU_EXIT_OK;
}

static int finish(const struct report *r, const char *note)
{
	if (r->cli->json)
		printf("%s]\n", r->n ? "" : "[");
	else
		printf("%s: %d of %d checks failed%s\n", r->failed ? "FAIL" : "ok", r->failed, r->n,
		       note);
	return r->failed ? TU_EXIT_FAIL : TU_EXIT_OK;
}

int tu_cli_verify(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "sample", required_argument, NULL, 's' },
					      { "offline", no_argument, NULL, 'O' },
					      { NULL, 0, NULL, 0 } };
	struct verify_opts o = { .sample = 100 };
	struct tu_cli_verb v = { opts, NULL, on_opt, &o, usage, 0, 0 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	size_t sample = o.sample;
	struct report r = { .cli = cli };
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	check(&r, true, "config", "%s: valid, %zu sources, %zu targets, %zu rules",
	      cli->cfg->path, cli->cfg->n_sources, cli->cfg->n_targets, cli->cfg->n_rules);
	if (o.offline) {
		list_config(&r, cli->cfg);
		return finish(&r, " (offline: nothing contacted)");
	}
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
	return finish(&r, "");
}
