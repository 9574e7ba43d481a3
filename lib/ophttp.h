/*
 * ophttp.h - the operational endpoint of a producer or actuator process
 * (docs/metrics.md): a metrics registry with trueup_build_info and trueup_up,
 * served on /metrics, and /healthz, which answers 200 while the process's
 * main loop keeps turning (tu_ophttp_alive) and 503 once it has not turned
 * for `stall` seconds. The processor has its own, richer one (telemetry.c).
 */
#ifndef TU_OPHTTP_H
#define TU_OPHTTP_H

#include <stdint.h>

#include "metrics.h"
#include "status.h"

typedef struct tu_ophttp tu_ophttp;

/*
 * Creates the registry (always) and, unless listen is NULL or "", starts
 * serving it on listen ("host:port"; port 0: any). component names the
 * process in trueup_build_info ("producer", "actuator").
 */
tu_status tu_ophttp_start(const char *listen, const char *component, int64_t stall_s,
			  tu_ophttp **out, char *err, size_t errlen);
/* The registry, for the component's own families. */
tu_metrics *tu_ophttp_metrics(tu_ophttp *o);
/* The main loop turned: /healthz stays 200. Any thread. */
void tu_ophttp_alive(tu_ophttp *o);
/* The bound port, 0 if not serving. */
int tu_ophttp_port(const tu_ophttp *o);
/* Stops serving and frees. NULL is a no-op. */
void tu_ophttp_stop(tu_ophttp *o);

#endif
