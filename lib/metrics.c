/*
 * metrics.c - Prometheus registry and text exposition (see metrics.h).
 * One mutex per registry guards everything: updates are a few per event at
 * most, renders a few per minute.
 */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

const double tu_metrics_duration_buckets[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
					       0.25,  0.5,   1,    2.5,   5,    10, 30, 60 };
const size_t tu_metrics_n_duration_buckets =
	sizeof(tu_metrics_duration_buckets) / sizeof(tu_metrics_duration_buckets[0]);

enum kind { COUNTER, GAUGE, HISTOGRAM };

struct series {
	char *values[TU_METRIC_MAX_LABELS]; /* owned label values */
	double value;                       /* counter/gauge; histogram: sum */
	double count;                       /* histogram: observations */
	double *buckets;                    /* histogram: cumulative counts per bound */
};

struct tu_metric {
	tu_metrics *reg;
	enum kind kind;
	const char *name;
	const char *help;
	char *labels[TU_METRIC_MAX_LABELS]; /* owned label names */
	size_t n_labels;
	double *bounds;                     /* histogram upper bounds, owned */
	size_t n_bounds;
	struct series *series;              /* owned */
	size_t n_series, cap_series;
};

struct collector {
	void (*fn)(void *ctx);
	void *ctx;
};

struct tu_metrics {
	pthread_mutex_t mu;
	struct tu_metric **families; /* owned, registration order */
	size_t n, cap;
	struct collector *collectors;
	size_t n_collectors;
};

tu_metrics *tu_metrics_create(void)
{
	tu_metrics *m = tu_xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void series_release(struct tu_metric *f, struct series *s)
{
	for (size_t i = 0; i < f->n_labels; i++)
		free(s->values[i]);
	free(s->buckets);
}

void tu_metrics_destroy(tu_metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct tu_metric *f = m->families[i];
		for (size_t j = 0; j < f->n_series; j++)
			series_release(f, &f->series[j]);
		for (size_t j = 0; j < f->n_labels; j++)
			free(f->labels[j]);
		free(f->series);
		free(f->bounds);
		free(f);
	}
	free(m->families);
	free(m->collectors);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static struct tu_metric *declare(tu_metrics *m, enum kind k, const char *name, const char *help,
				 const char *labels)
{
	struct tu_metric *f = tu_xcalloc(1, sizeof(*f));
	f->reg = m;
	f->kind = k;
	f->name = name;
	f->help = help;
	if (labels != NULL) {
		const char *p = labels;
		while (*p != '\0' && f->n_labels < TU_METRIC_MAX_LABELS) {
			size_t n = strcspn(p, ",");
			f->labels[f->n_labels++] = tu_xstrndup(p, n);
			p += n;
			if (*p == ',')
				p++;
		}
	}
	pthread_mutex_lock(&m->mu);
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->families = tu_xrealloc(m->families, m->cap * sizeof(*m->families));
	}
	m->families[m->n++] = f;
	pthread_mutex_unlock(&m->mu);
	return f;
}

struct tu_metric *tu_metrics_counter(tu_metrics *m, const char *name, const char *help,
				     const char *labels)
{
	return declare(m, COUNTER, name, help, labels);
}

struct tu_metric *tu_metrics_gauge(tu_metrics *m, const char *name, const char *help,
				   const char *labels)
{
	return declare(m, GAUGE, name, help, labels);
}

struct tu_metric *tu_metrics_histogram(tu_metrics *m, const char *name, const char *help,
				       const char *labels, const double *buckets, size_t n)
{
	struct tu_metric *f = declare(m, HISTOGRAM, name, help, labels);
	f->bounds = tu_xmalloc((n ? n : 1) * sizeof(*f->bounds));
	memcpy(f->bounds, buckets, n * sizeof(*f->bounds));
	f->n_bounds = n;
	return f;
}

/* The series for values (created if new); caller holds the lock. */
static struct series *series_of(struct tu_metric *f, const char *const *values)
{
	for (size_t i = 0; i < f->n_series; i++) {
		struct series *s = &f->series[i];
		size_t j = 0;
		while (j < f->n_labels && strcmp(s->values[j], values[j]) == 0)
			j++;
		if (j == f->n_labels)
			return s;
	}
	if (f->n_series == f->cap_series) {
		f->cap_series = f->cap_series ? f->cap_series * 2 : 4;
		f->series = tu_xrealloc(f->series, f->cap_series * sizeof(*f->series));
	}
	struct series *s = &f->series[f->n_series++];
	memset(s, 0, sizeof(*s));
	for (size_t j = 0; j < f->n_labels; j++)
		s->values[j] = tu_xstrdup(values[j] != NULL ? values[j] : "");
	if (f->kind == HISTOGRAM)
		s->buckets = tu_xcalloc(f->n_bounds ? f->n_bounds : 1, sizeof(*s->buckets));
	return s;
}

void tu_metric_add(struct tu_metric *f, const char *const *values, double v)
{
	pthread_mutex_lock(&f->reg->mu);
	series_of(f, values)->value += v;
	pthread_mutex_unlock(&f->reg->mu);
}

void tu_metric_set(struct tu_metric *f, const char *const *values, double v)
{
	pthread_mutex_lock(&f->reg->mu);
	series_of(f, values)->value = v;
	pthread_mutex_unlock(&f->reg->mu);
}

void tu_metric_observe(struct tu_metric *f, const char *const *values, double v)
{
	pthread_mutex_lock(&f->reg->mu);
	struct series *s = series_of(f, values);
	s->value += v;
	s->count += 1;
	for (size_t i = 0; i < f->n_bounds; i++)
		if (v <= f->bounds[i])
			s->buckets[i] += 1;
	pthread_mutex_unlock(&f->reg->mu);
}

void tu_metric_clear(struct tu_metric *f)
{
	pthread_mutex_lock(&f->reg->mu);
	for (size_t i = 0; i < f->n_series; i++)
		series_release(f, &f->series[i]);
	f->n_series = 0;
	pthread_mutex_unlock(&f->reg->mu);
}

void tu_metrics_on_scrape(tu_metrics *m, void (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&m->mu);
	m->collectors = tu_xrealloc(m->collectors, (m->n_collectors + 1) * sizeof(*m->collectors));
	m->collectors[m->n_collectors++] = (struct collector){ fn, ctx };
	pthread_mutex_unlock(&m->mu);
}

/* Label value escaping per the exposition format: \\, \", \n. */
static void label_value(struct tu_buf *b, const char *v)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '\\')
			tu_buf_puts(b, "\\\\");
		else if (*p == '"')
			tu_buf_puts(b, "\\\"");
		else if (*p == '\n')
			tu_buf_puts(b, "\\n");
		else
			tu_buf_putc(b, *p);
	}
}

/* {a="x",b="y"[,le="0.5"]} or nothing. */
static void labels(struct tu_buf *b, const struct tu_metric *f, const struct series *s,
		   const char *le)
{
	if (f->n_labels == 0 && le == NULL)
		return;
	tu_buf_putc(b, '{');
	for (size_t i = 0; i < f->n_labels; i++) {
		tu_buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
		label_value(b, s->values[i]);
		tu_buf_putc(b, '"');
	}
	if (le != NULL)
		tu_buf_printf(b, "%sle=\"%s\"", f->n_labels ? "," : "", le);
	tu_buf_putc(b, '}');
}

static void number(struct tu_buf *b, double v)
{
	if (isinf(v))
		tu_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		tu_buf_printf(b, "%.0f", v);
	else
		tu_buf_printf(b, "%.9g", v);
}

tu_status tu_metrics_render(tu_metrics *m, struct tu_buf *out)
{
	pthread_mutex_lock(&m->mu);
	size_t nc = m->n_collectors;
	struct collector *cs = tu_xmalloc((nc ? nc : 1) * sizeof(*cs));
	if (nc > 0)
		memcpy(cs, m->collectors, nc * sizeof(*cs));
	pthread_mutex_unlock(&m->mu);
	for (size_t i = 0; i < nc; i++)
		cs[i].fn(cs[i].ctx);
	free(cs);

	pthread_mutex_lock(&m->mu);
	static const char *types[] = { "counter", "gauge", "histogram" };
	for (size_t i = 0; i < m->n; i++) {
		const struct tu_metric *f = m->families[i];
		tu_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			      types[f->kind]);
		for (size_t j = 0; j < f->n_series; j++) {
			const struct series *s = &f->series[j];
			if (f->kind != HISTOGRAM) {
				tu_buf_puts(out, f->name);
				labels(out, f, s, NULL);
				tu_buf_putc(out, ' ');
				number(out, s->value);
				tu_buf_putc(out, '\n');
				continue;
			}
			for (size_t k = 0; k < f->n_bounds; k++) {
				char le[32];
				snprintf(le, sizeof(le), "%g", f->bounds[k]);
				tu_buf_printf(out, "%s_bucket", f->name);
				labels(out, f, s, le);
				tu_buf_putc(out, ' ');
				number(out, s->buckets[k]);
				tu_buf_putc(out, '\n');
			}
			tu_buf_printf(out, "%s_bucket", f->name);
			labels(out, f, s, "+Inf");
			tu_buf_putc(out, ' ');
			number(out, s->count);
			tu_buf_printf(out, "\n%s_sum", f->name);
			labels(out, f, s, NULL);
			tu_buf_putc(out, ' ');
			number(out, s->value);
			tu_buf_printf(out, "\n%s_count", f->name);
			labels(out, f, s, NULL);
			tu_buf_putc(out, ' ');
			number(out, s->count);
			tu_buf_putc(out, '\n');
		}
	}
	pthread_mutex_unlock(&m->mu);
	return TU_OK;
}
