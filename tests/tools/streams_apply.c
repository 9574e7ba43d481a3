/*
 * streams_apply.c - creates or updates trueup's streams and consumers from a
 * config file (lib/streams.h), for integration tests until `trueup streams
 * apply` exists:
 *
 *   streams_apply --config trueup.yaml
 *
 * Prints one line per object. Exit: 0 ok, 1 NATS or conflict, 2 usage/config.
 */
#include <getopt.h>
#include <stdio.h>

#include "bus.h"
#include "config.h"
#include "streams.h"

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct tu_config *cfg = NULL;
	tu_bus *bus = NULL;
	struct tu_buf report;
	char err[1024];
	int rc = 0, c;

	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		if (c != 'c') {
			fprintf(stderr, "usage: streams_apply --config FILE\n");
			return 2;
		}
		path = optarg;
	}
	if (path == NULL) {
		fprintf(stderr, "usage: streams_apply --config FILE\n");
		return 2;
	}
	if (tu_config_load(path, &cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "streams_apply: %s\n", err);
		return 2;
	}
	tu_buf_init(&report, 1 << 16);
	if (tu_bus_connect(&cfg->nats, NULL, &bus, err, sizeof(err)) != TU_OK ||
	    tu_streams_apply(bus, cfg, &report, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "streams_apply: %s\n", err);
		rc = 1;
	}
	fputs(tu_buf_cstr(&report), stdout);
	fflush(stdout);
	/*
	 * Not tu_bus_destroy(): with nats.c 3.4.1 it crashes on a bus that never
	 * published asynchronously (js_PublishAsyncGetPendingList reads a table
	 * that does not exist yet). The process ends here; closing is enough.
	 */
	if (bus != NULL)
		natsConnection_Close(tu_bus_nc(bus));
	tu_buf_release(&report);
	tu_config_destroy(cfg);
	return rc;
}
