/*
 * cases.h - the five cases' observations for the benchmarks (`eventgen
 * --cases`; what the stream holds: cases.c).
 */
#ifndef TU_TOOLS_CASES_H
#define TU_TOOLS_CASES_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

struct tu_cases_opts {
	uint64_t events;    /* messages to publish */
	uint64_t entities;  /* units (indices) */
	unsigned drift_pct; /* percent of units that drift */
	unsigned seed;      /* in scan ids and the random choices */
	double rate;        /* messages per second; 0: unpaced */
};

/*
 * Is worker i in source b during round r (a holds every worker)? drift_pct
 * percent of them drift: half are missing from b always, half every other
 * round. eventgen's default stream uses it too.
 */
bool tu_cases_in_b(uint64_t i, uint64_t round, uint64_t entities, unsigned drift_pct);

/*
 * Paces publishing: sleeps until message `sent` is due, `rate` messages per
 * second after t0 (tu_clock_mono_ns); no-op when rate <= 0. eventgen's
 * default stream uses it too.
 */
void tu_cases_pace(int64_t t0, uint64_t sent, double rate);

/* Publishes the stream asynchronously through bus; *sent: messages published. 0 or -1. */
int tu_cases_publish(tu_bus *bus, const struct tu_cases_opts *o, uint64_t *sent);

#endif
