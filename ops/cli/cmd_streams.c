/* cmd_streams.c - `trueup streams apply` and `trueup streams dump STREAM`. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "contract.h"
#include "streams.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup streams apply [--config FILE]\n"
		"       trueup streams dump STREAM [--from SEQ] [--filter SUBJECT] [-o json]\n"
		"\n"
		"apply  creates or updates TRUEUP_EVENTS, TRUEUP_DRIFT, TRUEUP_CMD, TRUEUP_DEAD and\n"
		"       the durable consumers (processor, one per target). Idempotent. A field that\n"
		"       cannot change in place is a conflict: exit 3, naming the field.\n"
		"dump   prints every message of STREAM, one per line (-o json: with all headers, the\n"
		"       base64 payload and the decoded message).\n");
}

struct args {
	struct tu_reader_opts ro; /* dump: where to start, which subjects */
};

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	struct args *a = ctx;
	(void)cli;
	if (c == 'f')
		a->ro.start_seq = strtoull(arg, NULL, 10);
	else if (c == 's')
		a->ro.filter = arg;
	else
		return TU_EXIT_USAGE;
	return TU_EXIT_OK;
}

static int apply(struct tu_cli *cli)
{
	tu_bus *bus = NULL;
	int rc = tu_cli_open(cli, "trueup-cli", &bus);
	if (rc != TU_EXIT_OK)
		return rc;
	struct tu_buf report;
	tu_buf_init(&report, 1 << 20);
	char err[1024] = "";
	tu_status st = tu_streams_apply(bus, cli->cfg, &report, err, sizeof(err));
	fputs(tu_buf_cstr(&report), stdout);
	tu_buf_release(&report);
	tu_bus_destroy(bus, 0);
	if (st == TU_ECONFLICT) {
		tu_cli_fail(cli, "conflict: %s", err);
		return TU_EXIT_CONFLICT;
	}
	if (st != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		return TU_EXIT_FAIL;
	}
	return TU_EXIT_OK;
}

struct dump_ctx {
	struct tu_cli *cli;
	const char *stream;
};

static int print_one(void *ctx, natsMsg *msg)
{
	struct dump_ctx *d = ctx;
	tu_cli_print_stored(d->cli, stdout, d->stream, msg);
	return TU_EXIT_OK;
}

int tu_cli_streams(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "filter", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { { 0 } };
	struct tu_cli_verb v = { opts, NULL, on_opt, &a, usage, 1, 2 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	const char *sub = argv[optind];
	if (strcmp(sub, "apply") == 0 && optind + 1 == argc)
		return apply(cli);
	if (strcmp(sub, "dump") != 0 || optind + 2 != argc) {
		usage(stderr);
		return TU_EXIT_USAGE;
	}
	tu_bus *bus = NULL;
	rc = tu_cli_open(cli, "trueup-cli", &bus);
	if (rc != TU_EXIT_OK)
		return rc;
	struct dump_ctx d = { cli, argv[optind + 1] };
	rc = tu_cli_read(cli, bus, d.stream, &a.ro, NULL, print_one, &d);
	tu_bus_destroy(bus, 0);
	return rc;
}
