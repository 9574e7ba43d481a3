/*
 * cases.h - the five cases' observations for the benchmarks (`eventgen
 * --cases`; what the stream holds: cases.c).
 */
#ifndef TU_TOOLS_CASES_H
#define TU_TOOLS_CASES_H

#include <stdint.h>

#include "bus.h"

struct tu_cases_opts {
	uint64_t events;    /* messages to publish */
	uint64_t entities;  /* units (indices) */
	unsigned drift_pct; /* percent of units that drift */
	unsigned seed;      /* in scan ids and the random choices */
	double rate;        /* messages per second; 0: unpaced */
};

/* Publishes the stream asynchronously through bus; *sent: messages published. 0 or -1. */
int tu_cases_publish(tu_bus *bus, const struct tu_cases_opts *o, uint64_t *sent);

#endif
