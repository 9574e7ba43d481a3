/*
 * bus_closed - test tool: the bus once its connection has closed (nats-server
 * gone, max_reconnect 0) before any asynchronous publish went through. An
 * async publish is then refused, and dropping what is pending, completing
 * and destroying the bus must not crash: nats.c 3.4.1 leaves its pending
 * list NULL after a refused first async publish, and asking for that list
 * crashed the processor's outbox after NATS stopped.
 *
 * usage: bus_closed --url URL --server-pid PID
 *
 * Connects, stops the server (SIGTERM to PID, a nats-server the caller
 * started), waits until the connection is closed, then publishes
 * asynchronously and drops the pending list. Exit 0 if the publish was
 * refused and nothing crashed, 1 otherwise.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <nats/nats.h>

#include "bus.h"
#include "clock.h"
#include "config.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "url", required_argument, NULL, 'u' },
					      { "server-pid", required_argument, NULL, 'p' },
					      { NULL, 0, NULL, 0 } };
	const char *url = NULL;
	pid_t server = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'u')
			url = optarg;
		else if (c == 'p')
			server = (pid_t)atoi(optarg);
		else
			return 2;
	}
	if (url == NULL || server <= 0)
		return 2;
	struct tu_nats_config nc = { .url = (char *)url, .connect_timeout = 2000,
				     .request_timeout = 1000, .max_reconnect = 0,
				     .reconnect_wait = 100 };
	tu_bus *bus = NULL;
	char err[256];
	if (tu_bus_connect(&nc, NULL, &bus, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "bus_closed: %s\n", err);
		return 1;
	}
	kill(server, SIGTERM);
	for (int i = 0; i < 1000 && !natsConnection_IsClosed(tu_bus_nc(bus)); i++)
		tu_clock_sleep_ms(10);
	if (!natsConnection_IsClosed(tu_bus_nc(bus))) {
		fprintf(stderr, "bus_closed: the connection did not close within 10 s\n");
		tu_bus_destroy(bus, 0);
		return 1;
	}
	struct tu_bus_msg m = { "trueup.tick", "trueup.v1.Tick", "bus-closed.1", NULL, "x", 1 };
	tu_status st = tu_bus_publish_async(bus, &m);
	size_t dropped = tu_bus_async_drop_pending(bus);
	size_t unsent = 0;
	tu_status done = tu_bus_async_complete(bus, 100, 0, &unsent);
	tu_bus_destroy(bus, 100);
	printf("publish: %s; dropped %zu; complete: %s\n", tu_status_str(st), dropped,
	       tu_status_str(done));
	if (st == TU_OK) {
		fprintf(stderr, "bus_closed: an async publish on a closed connection was accepted\n");
		return 1;
	}
	return 0;
}
