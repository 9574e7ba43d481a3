/* actuator_tool.c - shared by the actuator test tools (see actuator_tool.h). */
#include "actuator_tool.h"

#include <stdio.h>

#include "config.h"

tu_bus *actuator_tool_connect(const char *url, const char *who)
{
	struct tu_nats_config nc = {
		.url = (char *)url,
		.connect_timeout = 2000,
		.request_timeout = 5000,
		.max_reconnect = 0,
		.reconnect_wait = 100,
	};
	tu_bus *bus = NULL;
	char err[512];
	if (tu_bus_connect(&nc, NULL, &bus, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "%s: %s\n", who, err);
		return NULL;
	}
	return bus;
}

void actuator_tool_close(tu_bus *bus)
{
	natsConnection_FlushTimeout(tu_bus_nc(bus), 1000);
	natsConnection_Close(tu_bus_nc(bus));
}
