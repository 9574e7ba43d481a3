/*
 * scanner.h - the scan loop of one source (DESIGN.md, Producers).
 *
 * A scan publishes, into TRUEUP_EVENTS:
 *   BEGIN  trueup.obs.<source>._scan   ScanMarker       Nats-Msg-Id <scan_id>.b  (sync)
 *   n x    trueup.obs.<source>.<kind>  ObservedState    Nats-Msg-Id <scan_id>.<n> (async)
 *   END    trueup.obs.<source>._scan   ScanMarker       Nats-Msg-Id <scan_id>.e  (sync)
 * END is published only after the stream acknowledged every observation of
 * the scan (or the scan gave up on some of them and says so: complete=false),
 * so a processor that sees END has every observation before it.
 *
 * Changes, not copies: a delta scan publishes new and changed entities and a
 * deleted observation for each entity that disappeared; a full scan (the first
 * after start, every full_every-th, the one after an incomplete scan, or one
 * asked for) publishes every entity and no deletions. A scan is complete only
 * if the source was read to the end, nothing was skipped, it was not
 * interrupted and every observation was stored. Only a complete scan infers
 * deletions; an incomplete one keeps the digests of entities it did not see
 * and makes the next scan full.
 *
 * Threads: tu_scanner_start() runs the loop in its own thread: a scan at
 * start ("start"), then every `interval` ("interval") and on request
 * ("request"): trueup.ctl.scan.<source> is served on the connection given.
 * A request during a scan queues exactly one follow-up scan. stop, request
 * and ack are safe from any thread; everything else belongs to the owner.
 */
#ifndef TU_SCANNER_H
#define TU_SCANNER_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "source.h"
#include "status.h"

#define TU_SCAN_ID_SIZE 96   /* "<source>-<16 hex digits>" with the NUL */
#define TU_SCAN_ERROR_SIZE 1024 /* END marker's error text */

typedef struct tu_scanner tu_scanner;

/*
 * Where a scanner's messages go: the bus (tu_scan_publisher_bus) or, in
 * tests, a recorder. Messages are copied before the calls return.
 */
struct tu_scan_publisher {
	/* Publishes and waits for the stream's ack; err says why it failed. */
	tu_status (*publish)(void *ctx, const struct tu_bus_msg *m, char *err, size_t errlen);
	/* Publishes without waiting; each ack must reach tu_scanner_ack(). */
	tu_status (*publish_async)(void *ctx, const struct tu_bus_msg *m);
	/* Waits for every async publish, re-sending (tu_bus_async_complete). */
	tu_status (*complete)(void *ctx, int64_t timeout_ms, int retries, size_t *unsent);
	void *ctx;
};

/*
 * Fills p with functions over bus. The bus must have been connected with
 * keep_failed and an on_ack that passes every ack to tu_scanner_ack() of
 * each scanner publishing on it.
 */
void tu_scan_publisher_bus(struct tu_scan_publisher *p, tu_bus *bus);

/* What a scan did: its END marker, and whether it could be published. */
struct tu_scan_result {
	char scan_id[TU_SCAN_ID_SIZE];
	const char *trigger;          /* static string */
	bool full;                    /* a snapshot */
	bool complete;                /* see above */
	bool ended;                   /* END is stored in the stream */
	uint64_t seen;                /* entities found (each once) */
	uint64_t published;           /* observations published, deleted ones included */
	uint64_t deleted;             /* deleted observations */
	uint64_t skipped;             /* entries skipped as malformed */
	tu_status status;             /* TU_OK, or why the source or the stream failed
					 (skipped entries alone leave it TU_OK) */
	char error[TU_SCAN_ERROR_SIZE]; /* END's error: why the scan is not complete */
};

/*
 * Creates the scanner of cfg (a valid name; cfg outlives the scanner). On
 * success the scanner owns src and destroys it; on failure the caller keeps
 * it. *pub is copied.
 */
tu_status tu_scanner_create(const struct tu_source_config *cfg, struct tu_source *src,
			    const struct tu_scan_publisher *pub, tu_scanner **out, char *err,
			    size_t errlen);
/* Frees the scanner and its source; join it first. NULL does nothing. */
void tu_scanner_destroy(tu_scanner *s);

/* The source's name (the config's string). */
const char *tu_scanner_source(const tu_scanner *s);

/*
 * Runs one scan now, in the caller's thread (not while the loop thread
 * runs). trigger: "start", "interval" or "request" (static string). *out may
 * be NULL. Returns out->status.
 */
tu_status tu_scanner_scan(tu_scanner *s, const char *trigger, struct tu_scan_result *out);

/* Makes the next scan full (e.g. a request that asks for one). */
void tu_scanner_force_full(tu_scanner *s);

/*
 * Starts the loop thread. once: one scan, then the thread ends. nc (may be
 * NULL; not owned, must outlive tu_scanner_join) serves scan requests.
 */
tu_status tu_scanner_start(tu_scanner *s, natsConnection *nc, bool once, char *err,
			   size_t errlen);
/*
 * Asks the loop to stop: a running scan stops after its current entity and
 * ends with complete=false ("interrupted"). Returns at once.
 */
void tu_scanner_stop(tu_scanner *s);
/* Waits for the loop thread to end and stops serving requests. */
void tu_scanner_join(tu_scanner *s);
/* True while the loop thread has not ended. */
bool tu_scanner_running(tu_scanner *s);

/*
 * Asks for a scan (what a request on trueup.ctl.scan.<source> does). Returns
 * false if the scanner is stopping. *queued: a scan is running or already
 * asked for; this request is served by the one follow-up scan.
 */
bool tu_scanner_request(tu_scanner *s, bool full, bool *queued);

/*
 * Tells the scanner that the async publish msg_id was stored (st TU_OK) or
 * failed. Ids of other scanners and older scans are ignored. Any thread.
 */
void tu_scanner_ack(tu_scanner *s, const char *msg_id, tu_status st);

/* The result of the last scan the loop ran (zeroed before the first). */
void tu_scanner_last(tu_scanner *s, struct tu_scan_result *out);

/*
 * Who hears of each finished scan (metrics): called in the scan's thread
 * after END (or after the scan was abandoned), with the scan's wall time.
 * Set before tu_scanner_start().
 */
struct tu_scan_observer {
	void (*scan_end)(void *ctx, const char *source, const struct tu_scan_result *r,
			 double seconds);
	void *ctx;
};
void tu_scanner_observe(tu_scanner *s, const struct tu_scan_observer *obs);

/* How often a long scan logs its progress (with an ETA from the last complete scan). */
#define TU_SCAN_PROGRESS_MS 10000

#endif
