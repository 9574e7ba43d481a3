/*
 * heartbeat_demo.c - test tool: a tiny "service" that links the heartbeat
 * library (lib/heartbeat.h) over its own NATS connection, as a C service
 * would, and links nothing of the producer.
 *
 *   heartbeat_demo --url nats://127.0.0.1:4222 --service S --instance I
 *       [--interval-ms 300] [--ttl-ms 2000] [--run-ms 1500] [--attr K=V]
 *       [--set K=V] [--leave]
 *
 * Starts heartbeats with the --attr attributes, sets the --set attribute
 * halfway through --run-ms, then stops: with --leave it publishes
 * `stopping: true`, without it just goes silent (the instance then expires
 * after the TTL). Exit 0 ok, 1 the library failed, 2 usage.
 */
#include <getopt.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "heartbeat.h"

static bool split(char *kv, struct tu_heartbeat_attr *out)
{
	char *eq = strchr(kv, '=');
	if (eq == NULL)
		return false;
	*eq = '\0';
	*out = (struct tu_heartbeat_attr){ kv, eq + 1 };
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "service", required_argument, NULL, 's' },
		{ "instance", required_argument, NULL, 'i' },
		{ "interval-ms", required_argument, NULL, 'I' },
		{ "ttl-ms", required_argument, NULL, 'T' },
		{ "run-ms", required_argument, NULL, 'r' },
		{ "attr", required_argument, NULL, 'a' },
		{ "set", required_argument, NULL, 'S' },
		{ "leave", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct tu_heartbeat_opts o = { .interval_ms = 300, .ttl_ms = 2000 };
	struct tu_heartbeat_attr attr = { 0 }, set = { 0 };
	const char *url = NULL;
	int64_t run_ms = 1500;
	bool leave = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 's': o.service = optarg; break;
		case 'i': o.instance = optarg; break;
		case 'I': o.interval_ms = atoll(optarg); break;
		case 'T': o.ttl_ms = atoll(optarg); break;
		case 'r': run_ms = atoll(optarg); break;
		case 'a':
			if (!split(optarg, &attr))
				return 2;
			o.attrs = &attr;
			o.n_attrs = 1;
			break;
		case 'S':
			if (!split(optarg, &set))
				return 2;
			break;
		case 'l': leave = true; break;
		default: return 2;
		}
	}
	if (url == NULL || o.service == NULL || o.instance == NULL) {
		fprintf(stderr, "usage: heartbeat_demo --url URL --service S --instance I ...\n");
		return 2;
	}
	natsConnection *nc = NULL;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK) {
		fprintf(stderr, "heartbeat_demo: cannot connect to %s\n", url);
		return 1;
	}
	char err[512];
	tu_heartbeat *h = NULL;
	int rc = 0;
	if (tu_heartbeat_start_nc(nc, &o, &h, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "heartbeat_demo: %s\n", err);
		rc = 1;
		goto out;
	}
	tu_clock_sleep_ms(run_ms / 2);
	if (set.key != NULL && tu_heartbeat_set_attr(h, set.key, set.value) != TU_OK)
		rc = 1;
	tu_clock_sleep_ms(run_ms - run_ms / 2);
	if (tu_heartbeat_stop(h, leave) != TU_OK)
		rc = 1;
out:
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
