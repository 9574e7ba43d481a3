/* cmd_drift.c - `trueup drift`: the drift feed from TRUEUP_DRIFT. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "contract.h"
#include "ids.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup drift [--watch] [--rule R] [--kind K] [--from SEQ] [-o json]\n"
		"\n"
		"Prints drift events from TRUEUP_DRIFT (opened, updated, resolved, escalated), one\n"
		"per line; with --watch keeps following new ones. Pipe-able: -o json gives one JSON\n"
		"object per event with the decoded message and its base64 protobuf.\n");
}

struct args {
	bool watch;
	const char *rule, *kind; /* "*" = any */
	uint64_t from;
};

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	struct args *a = ctx;
	switch (c) {
	case 'w': a->watch = true; break;
	case 'r': a->rule = arg; break;
	case 'k': a->kind = arg; break;
	case 'f': a->from = strtoull(arg, NULL, 10); break;
	default: return TU_EXIT_USAGE;
	}
	if ((c == 'r' || c == 'k') && !tu_name_valid(arg)) {
		tu_cli_fail(cli, "%s is not a valid name", arg);
		return TU_EXIT_USAGE;
	}
	return TU_EXIT_OK;
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int print_one(void *ctx, natsMsg *msg)
{
	tu_cli_print_stored(ctx, stdout, TU_STREAM_DRIFT, msg);
	return TU_EXIT_OK;
}

int tu_cli_drift(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "watch", no_argument, NULL, 'w' },
		{ "rule", required_argument, NULL, 'r' },
		{ "kind", required_argument, NULL, 'k' },
		{ "from", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { .rule = "*", .kind = "*" };
	struct tu_cli_verb v = { opts, "w", on_opt, &a, usage, 0, 0 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	tu_bus *bus = NULL;
	rc = tu_cli_open(cli, "trueup-cli", &bus);
	if (rc != TU_EXIT_OK)
		return rc;
	char filter[256];
	snprintf(filter, sizeof(filter), "%s.%s.%s", TU_SUBJ_DRIFT, a.rule, a.kind);
	struct tu_reader_opts ro = { .start_seq = a.from, .filter = filter, .follow = a.watch };
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = tu_cli_read(cli, bus, TU_STREAM_DRIFT, &ro, &g_stop, print_one, cli);
	tu_bus_destroy(bus, 0);
	return rc;
}
