/* cmd_drift.c - `trueup drift`: the drift feed from TRUEUP_DRIFT. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "contract.h"
#include "ids.h"
#include "reader.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup drift [--watch] [--rule R] [--kind K] [--from SEQ] [-o json]\n"
		"\n"
		"Prints drift events from TRUEUP_DRIFT (opened, updated, resolved, escalated), one\n"
		"per line; with --watch keeps following new ones. Pipe-able: -o json gives one JSON\n"
		"object per event with the decoded message and its base64 protobuf.\n");
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

int tu_cli_drift(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "watch", no_argument, NULL, 'w' },
		{ "rule", required_argument, NULL, 'r' },
		{ "kind", required_argument, NULL, 'k' },
		{ "from", required_argument, NULL, 'f' },
		TU_CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	bool watch = false;
	const char *rule = "*", *kind = "*";
	uint64_t from = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:hw", opts, NULL)) != -1) {
		int h = tu_cli_common(cli, c, optarg);
		if (h < 0)
			return TU_EXIT_USAGE;
		if (h > 0)
			continue;
		switch (c) {
		case 'w': watch = true; break;
		case 'r': rule = optarg; break;
		case 'k': kind = optarg; break;
		case 'f': from = strtoull(optarg, NULL, 10); break;
		case 'h': usage(stdout); return TU_EXIT_OK;
		default: usage(stderr); return TU_EXIT_USAGE;
		}
	}
	if (optind != argc || (strcmp(rule, "*") != 0 && !tu_name_valid(rule)) ||
	    (strcmp(kind, "*") != 0 && !tu_name_valid(kind))) {
		usage(stderr);
		return TU_EXIT_USAGE;
	}
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	tu_bus *bus = tu_cli_connect(cli, "trueup-cli");
	if (bus == NULL)
		return TU_EXIT_FAIL;
	char filter[256], err[1024];
	snprintf(filter, sizeof(filter), "%s.%s.%s", TU_SUBJ_DRIFT, rule, kind);
	tu_reader *r = NULL;
	struct tu_reader_opts ro = { .start_seq = from, .filter = filter, .follow = watch };
	if (tu_reader_open(bus, TU_STREAM_DRIFT, &ro, &r, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		tu_bus_destroy(bus, 0);
		return TU_EXIT_FAIL;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	int rc = TU_EXIT_OK;
	while (!g_stop) {
		natsMsgList list = { 0 };
		tu_status st = tu_reader_next(r, 256, watch ? 500 : tu_bus_request_timeout(bus), &list);
		if (st == TU_ENOTFOUND)
			break;
		if (st == TU_ETIMEOUT)
			continue;
		if (st != TU_OK) {
			tu_cli_fail(cli, "reading %s: %s", TU_STREAM_DRIFT, tu_status_str(st));
			rc = TU_EXIT_FAIL;
			break;
		}
		for (int i = 0; i < list.Count; i++)
			tu_cli_print_stored(cli, stdout, TU_STREAM_DRIFT, list.Msgs[i]);
		natsMsgList_Destroy(&list);
	}
	tu_reader_close(r);
	tu_bus_destroy(bus, 0);
	return rc;
}
