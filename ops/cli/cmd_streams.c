/* cmd_streams.c - `trueup streams apply` and `trueup streams dump STREAM`. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "contract.h"
#include "reader.h"
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
		"dump   prints every message of STREAM, one per line (-o json: with base64 payload\n"
		"       and the decoded message).\n");
}

static int apply(struct tu_cli *cli)
{
	tu_bus *bus = tu_cli_connect(cli, "trueup-cli");
	if (bus == NULL)
		return TU_EXIT_FAIL;
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

static int dump(struct tu_cli *cli, const char *stream, uint64_t from, const char *filter)
{
	tu_bus *bus = tu_cli_connect(cli, "trueup-cli");
	if (bus == NULL)
		return TU_EXIT_FAIL;
	char err[1024];
	tu_reader *r = NULL;
	struct tu_reader_opts ro = { .start_seq = from, .filter = filter };
	if (tu_reader_open(bus, stream, &ro, &r, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		tu_bus_destroy(bus, 0);
		return TU_EXIT_FAIL;
	}
	int rc = TU_EXIT_OK;
	for (;;) {
		natsMsgList list = { 0 };
		tu_status st = tu_reader_next(r, 512, tu_bus_request_timeout(bus), &list);
		if (st == TU_ENOTFOUND)
			break;
		if (st != TU_OK) {
			tu_cli_fail(cli, "reading %s: %s", stream, tu_status_str(st));
			rc = TU_EXIT_FAIL;
			break;
		}
		for (int i = 0; i < list.Count; i++)
			tu_cli_print_stored(cli, stdout, stream, list.Msgs[i]);
		natsMsgList_Destroy(&list);
	}
	tu_reader_close(r);
	tu_bus_destroy(bus, 0);
	return rc;
}

int tu_cli_streams(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "filter", required_argument, NULL, 's' },
		TU_CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	uint64_t from = 0;
	const char *filter = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		int h = tu_cli_common(cli, c, optarg);
		if (h < 0)
			return TU_EXIT_USAGE;
		if (h > 0)
			continue;
		switch (c) {
		case 'f': from = strtoull(optarg, NULL, 10); break;
		case 's': filter = optarg; break;
		case 'h': usage(stdout); return TU_EXIT_OK;
		default: usage(stderr); return TU_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return TU_EXIT_USAGE;
	}
	const char *sub = argv[optind];
	if (strcmp(sub, "apply") == 0 && optind + 1 == argc) {
		if (!tu_cli_load_config(cli))
			return TU_EXIT_USAGE;
		return apply(cli);
	}
	if (strcmp(sub, "dump") == 0 && optind + 2 == argc) {
		if (!tu_cli_load_config(cli))
			return TU_EXIT_USAGE;
		return dump(cli, argv[optind + 1], from, filter);
	}
	usage(stderr);
	return TU_EXIT_USAGE;
}
