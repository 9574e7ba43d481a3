/* cmd_status.c - `trueup status`: the view's report (processor/report.h). */
#include "cli.h"
#include "report.h"
#include "view.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup status [-o json]\n"
		"\n"
		"Reads the processor's view (processor.view) and its consumer: applied sequence,\n"
		"consumer lag, outbox depth, counters, open drift by rule, last scan per source;\n"
		"and asks each target's actuators for their breaker state and counters.\n");
}

int tu_cli_status(struct tu_cli *cli, int argc, char **argv)
{
	struct tu_cli_verb verb = { NULL, NULL, NULL, NULL, usage, 0, 0 };
	int rc = tu_cli_parse(cli, argc, argv, &verb);
	if (rc >= 0)
		return rc;
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	char err[1024];
	tu_view *v = NULL;
	if (tu_view_open(cli->cfg->processor.view, cli->cfg->processor.map_size, TU_SYNC_NONE, false,
			 &v, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		return TU_EXIT_FAIL;
	}
	tu_bus *bus = tu_cli_connect(cli, "trueup-cli");
	int64_t lag = tu_report_lag(bus, cli->cfg);
	struct tu_buf out;
	tu_buf_init(&out, 1 << 24);
	tu_status st = tu_report_write(v, bus, cli->cfg, lag, cli->json, &out);
	tu_bus_destroy(bus, 0);
	tu_view_close(v);
	if (st != TU_OK) {
		tu_buf_release(&out);
		tu_cli_fail(cli, "reading the view: %s", tu_status_str(st));
		return TU_EXIT_FAIL;
	}
	fputs(tu_buf_cstr(&out), stdout);
	tu_buf_release(&out);
	return TU_EXIT_OK;
}
