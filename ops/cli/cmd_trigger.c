/* cmd_trigger.c - `trueup trigger [SOURCE...]`: asks producers to scan now. */
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
	struct tu_cli_verb v = { NULL, NULL, NULL, NULL, usage, 0, 64 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	tu_bus *bus = NULL;
	rc = tu_cli_open(cli, "trueup-cli", &bus);
	if (rc != TU_EXIT_OK)
		return rc;
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
