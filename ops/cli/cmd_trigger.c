/* cmd_trigger.c - `trueup trigger [SOURCE...]`: asks producers to scan now. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "contract.h"
#include "ids.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup trigger [SOURCE...]\n"
		"\n"
		"Sends a scan request on trueup.ctl.scan.<source> to each named source (default:\n"
		"every configured source) and prints the producer's reply. Exit 1 if a source\n"
		"did not answer within nats.request_timeout.\n");
}

int tu_cli_trigger(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { TU_CLI_COMMON_OPTS, { NULL, 0, NULL, 0 } };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		int h = tu_cli_common(cli, c, optarg);
		if (h < 0)
			return TU_EXIT_USAGE;
		if (h > 0)
			continue;
		if (c == 'h') {
			usage(stdout);
			return TU_EXIT_OK;
		}
		usage(stderr);
		return TU_EXIT_USAGE;
	}
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	tu_bus *bus = tu_cli_connect(cli, "trueup-cli");
	if (bus == NULL)
		return TU_EXIT_FAIL;
	int rc = TU_EXIT_OK;
	size_t n = optind < argc ? (size_t)(argc - optind) : cli->cfg->n_sources;
	for (size_t i = 0; i < n; i++) {
		const char *src = optind < argc ? argv[optind + (int)i] : cli->cfg->sources[i].name;
		if (!tu_name_valid(src)) {
			tu_cli_fail(cli, "%s is not a valid source name", src);
			rc = TU_EXIT_USAGE;
			continue;
		}
		char subject[256];
		snprintf(subject, sizeof(subject), "%s.%s", TU_SUBJ_CTL_SCAN, src);
		natsMsg *reply = NULL;
		natsStatus s = natsConnection_RequestString(&reply, tu_bus_nc(bus), subject, "{}",
							    tu_bus_request_timeout(bus));
		if (s != NATS_OK) {
			tu_cli_fail(cli, "source %s did not answer: %s", src, natsStatus_GetText(s));
			rc = TU_EXIT_FAIL;
			continue;
		}
		if (cli->json)
			printf("%.*s\n", natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
		else
			printf("%s: %.*s\n", src, natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
		natsMsg_Destroy(reply);
	}
	tu_bus_destroy(bus, 0);
	return rc;
}
