/*
 * metrics.h - Prometheus metrics: counters, gauges and histograms with
 * labels, rendered in the text exposition format (version 0.0.4).
 *
 * A registry holds families; a family holds one series per label-value
 * tuple (created on first use; families have few series). Updates are
 * thread-safe. Collectors registered with tu_metrics_on_scrape() run before
 * each render to set gauges that are cheaper to compute on demand (queue
 * depths, open drift). Names and help texts are static strings.
 */
#ifndef TU_METRICS_H
#define TU_METRICS_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

typedef struct tu_metrics tu_metrics;
struct tu_metric;

#define TU_METRIC_MAX_LABELS 4

tu_metrics *tu_metrics_create(void);
void tu_metrics_destroy(tu_metrics *m);

/*
 * Declares a family. labels: comma-separated label names ("rule,target") or
 * NULL. The returned family lives as long as the registry.
 */
struct tu_metric *tu_metrics_counter(tu_metrics *m, const char *name, const char *help,
				     const char *labels);
struct tu_metric *tu_metrics_gauge(tu_metrics *m, const char *name, const char *help,
				   const char *labels);
/* buckets: ascending upper bounds (+Inf is implied). */
struct tu_metric *tu_metrics_histogram(tu_metrics *m, const char *name, const char *help,
				       const char *labels, const double *buckets, size_t n);

/* values: one per label of the family, in order (NULL when it has none). */
void tu_metric_add(struct tu_metric *f, const char *const *values, double v);
void tu_metric_set(struct tu_metric *f, const char *const *values, double v);
void tu_metric_observe(struct tu_metric *f, const char *const *values, double v);
/* Drops every series of a gauge family (before a collector sets them afresh). */
void tu_metric_clear(struct tu_metric *f);

/* Runs fn(ctx) before every render. */
void tu_metrics_on_scrape(tu_metrics *m, void (*fn)(void *ctx), void *ctx);

/* Appends the text exposition of every family. */
tu_status tu_metrics_render(tu_metrics *m, struct tu_buf *out);

/* Default buckets for durations in seconds: 1 ms .. 60 s. */
extern const double tu_metrics_duration_buckets[];
extern const size_t tu_metrics_n_duration_buckets;

#endif
