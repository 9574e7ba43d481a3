/* cmd_view.c - `trueup view dump`: every record of a view, one per line. */
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

struct args {
	const char *dir; /* NULL: processor.view */
	bool all;
};

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	struct args *a = ctx;
	(void)cli;
	if (c == 'v')
		a->dir = arg;
	else if (c == 'a')
		a->all = true;
	else
		return TU_EXIT_USAGE;
	return TU_EXIT_OK;
}

int tu_cli_view(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "view", required_argument, NULL, 'v' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { 0 };
	struct tu_cli_verb v = { opts, NULL, on_opt, &a, usage, 1, 1 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	if (strcmp(argv[optind], "dump") != 0) {
		usage(stderr);
		return TU_EXIT_USAGE;
	}
	if (a.dir == NULL) {
		if (!tu_cli_load_config(cli))
			return TU_EXIT_USAGE;
		a.dir = cli->cfg->processor.view;
	}
	char err[1024];
	tu_view *view = NULL;
	if (tu_view_open(a.dir, 1LL << 30, TU_SYNC_NONE, false, &view, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		return TU_EXIT_FAIL;
	}
	tu_status st = tu_view_dump(view, stdout, a.all);
	tu_view_close(view);
	if (st != TU_OK) {
		tu_cli_fail(cli, "dump: %s", tu_status_str(st));
		return TU_EXIT_FAIL;
	}
	return TU_EXIT_OK;
}
