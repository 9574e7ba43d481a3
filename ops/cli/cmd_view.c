/* cmd_view.c - `trueup view dump`: every record of a view, one per line. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "view.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup view dump [--view DIR] [--all]\n"
		"\n"
		"Prints every record of the view (default: processor.view of the config), databases\n"
		"in a fixed order, keys in order. Without --all the outbox (which depends on publish\n"
		"progress) is left out, so two folds of the same events compare equal.\n");
}

int tu_cli_view(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "view", required_argument, NULL, 'v' },
		{ "all", no_argument, NULL, 'a' },
		TU_CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	bool all = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		int h = tu_cli_common(cli, c, optarg);
		if (h < 0)
			return TU_EXIT_USAGE;
		if (h > 0)
			continue;
		switch (c) {
		case 'v': dir = optarg; break;
		case 'a': all = true; break;
		case 'h': usage(stdout); return TU_EXIT_OK;
		default: usage(stderr); return TU_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "dump") != 0) {
		usage(stderr);
		return TU_EXIT_USAGE;
	}
	if (dir == NULL) {
		if (!tu_cli_load_config(cli))
			return TU_EXIT_USAGE;
		dir = cli->cfg->processor.view;
	}
	char err[1024];
	tu_view *v = NULL;
	if (tu_view_open(dir, 1LL << 30, TU_SYNC_NONE, false, &v, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		return TU_EXIT_FAIL;
	}
	tu_status st = tu_view_dump(v, stdout, all);
	tu_view_close(v);
	if (st != TU_OK) {
		tu_cli_fail(cli, "dump: %s", tu_status_str(st));
		return TU_EXIT_FAIL;
	}
	return TU_EXIT_OK;
}
