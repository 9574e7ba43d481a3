/*
 * actuator_tool.h - what the actuator test tools share: a short-lived bus
 * connection to a URL given on the command line.
 */
#ifndef TU_ACTUATOR_TOOL_H
#define TU_ACTUATOR_TOOL_H

#include "bus.h"

/* Connects to url (no reconnects); prints the error prefixed with who and returns NULL. */
tu_bus *actuator_tool_connect(const char *url, const char *who);
/*
 * Flushes and closes. Not tu_bus_destroy(): nats.c 3.4.1 crashes in it when
 * nothing was published asynchronously (see actuators/main.c).
 */
void actuator_tool_close(tu_bus *bus);

#endif
