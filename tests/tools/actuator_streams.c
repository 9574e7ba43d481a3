/*
 * actuator_streams.c - test tool: applies trueup's streams and durable
 * consumers from a config file (tu_streams_apply), like `trueup streams
 * apply` does, and prints the report.
 *
 *   actuator_streams --config FILE
 */
#include <getopt.h>
#include <stdio.h>

#include "buf.h"
#include "actuator_tool.h"
#include "bus.h"
#include "config.h"
#include "log.h"
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
	int c;

	tu_log_init("actuator_streams", TU_LOG_WARN, TU_LOG_TEXT);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'c') {
			fprintf(stderr, "usage: actuator_streams --config FILE\n");
			return 2;
		}
		path = optarg;
	}
	if (path == NULL || optind != argc) {
		fprintf(stderr, "usage: actuator_streams --config FILE\n");
		return 2;
	}
	if (tu_config_load(path, &cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "actuator_streams: %s\n", err);
		return 2;
	}
	if (tu_bus_connect(&cfg->nats, NULL, &bus, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "actuator_streams: %s\n", err);
		tu_config_destroy(cfg);
		return 1;
	}
	tu_buf_init(&report, 65536);
	tu_status st = tu_streams_apply(bus, cfg, &report, err, sizeof(err));
	fputs(tu_buf_cstr(&report), stdout);
	if (st != TU_OK)
		fprintf(stderr, "actuator_streams: %s\n", err);
	tu_buf_release(&report);
	actuator_tool_close(bus);
	tu_config_destroy(cfg);
	return st == TU_OK ? 0 : 1;
}
