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
		struct tu_buf reply;
		tu_buf_init(&reply, 1 << 16);
		tu_status st = tu_bus_request(bus, subject, "{}", 2, &reply);
		if (st != TU_OK) {
			tu_cli_fail(cli, "source %s did not answer: %s", src, tu_status_str(st));
			rc = TU_EXIT_FAIL;
		} else if (cli->json) {
			printf("%s\n", tu_buf_cstr(&reply));
		} else {
			printf("%s: %s\n", src, tu_buf_cstr(&reply));
		}
		tu_buf_release(&reply);
	}
	tu_bus_destroy(bus, 0);
	return rc;
}
