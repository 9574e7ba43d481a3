/*
 * telemetry.c - the processor's metrics and endpoints (see telemetry.h).
 */
#include "telemetry.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "contract.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "pb.h"
#include "report.h"
#include "view.pb-c.h"
#include "xalloc.h"

#define LABEL_MAX 96 /* bytes of a buffered label value */

/* One count derived in the batch in progress. */
struct pending {
	enum { P_DRIFT, P_COMMAND, P_OUTCOME } kind;
	char a[LABEL_MAX], b[LABEL_MAX], c[LABEL_MAX]; /* labels, by kind */
	int state;                                     /* drift state or outcome result */
	bool fixed;                                    /* drift resolved after a fix */
};

struct tu_telemetry {
	const struct tu_config *cfg;
	tu_view *view;
	tu_bus *bus;
	tu_outbox *outbox;
	tu_metrics *reg;
	tu_httpd *httpd;
	struct pending *pend;         /* the batch's counts (fold thread only) */
	size_t n_pend, cap_pend;
	struct tu_fold_stats last;    /* stats already turned into metrics */
	_Atomic int64_t alive_ns;     /* monotonic time the loop last turned */
	_Atomic bool bound;           /* the consumer is bound */
	_Atomic uint64_t applied;     /* last applied sequence */
	_Atomic bool standby;         /* lease enabled and not held */

	struct tu_metric *folded, *dead, *batch_secs, *applied_seq, *lag, *outbox_depth,
		*outbox_published, *drift_open, *drift_pending, *drift_oldest, *drift_opened,
		*drift_resolved, *drift_escalated, *issued, *outcomes, *fixed, *build, *up,
		*lease_held, *lease_changes;
};

static void push(tu_telemetry *t, const struct pending *p)
{
	if (t->n_pend == t->cap_pend) {
		t->cap_pend = t->cap_pend ? t->cap_pend * 2 : 64;
		t->pend = tu_xrealloc(t->pend, t->cap_pend * sizeof(*t->pend));
	}
	t->pend[t->n_pend++] = *p;
}

static void on_drift(void *ctx, const char *rule, const char *rule_type,
		     Trueup__V1__DriftEvent__State state, bool fixed)
{
	struct pending p = { .kind = P_DRIFT, .state = (int)state, .fixed = fixed };
	snprintf(p.a, sizeof(p.a), "%s", rule);
	snprintf(p.b, sizeof(p.b), "%s", rule_type);
	push(ctx, &p);
}

static void on_command(void *ctx, const char *rule, const char *target, const char *action)
{
	struct pending p = { .kind = P_COMMAND };
	snprintf(p.a, sizeof(p.a), "%s", rule);
	snprintf(p.b, sizeof(p.b), "%s", target);
	snprintf(p.c, sizeof(p.c), "%s", action);
	push(ctx, &p);
}

static void on_outcome(void *ctx, const char *target, Trueup__V1__Outcome__Result result)
{
	struct pending p = { .kind = P_OUTCOME, .state = (int)result };
	snprintf(p.a, sizeof(p.a), "%s", target);
	push(ctx, &p);
}

struct tu_fold_hooks tu_telemetry_hooks(tu_telemetry *t)
{
	struct tu_fold_hooks h = { on_drift, on_command, on_outcome, t };
	return h;
}

void tu_telemetry_batch_end(tu_telemetry *t, bool committed, const struct tu_fold_stats *stats,
			    double seconds, uint64_t applied_seq)
{
	if (committed) {
		for (size_t i = 0; i < t->n_pend; i++) {
			const struct pending *p = &t->pend[i];
			if (p->kind == P_COMMAND) {
				const char *v[] = { p->a, p->b, p->c };
				tu_metric_add(t->issued, v, 1);
			} else if (p->kind == P_OUTCOME) {
				const char *v[] = { p->a,
						    tu_pb_result_str((Trueup__V1__Outcome__Result)p->state) };
				tu_metric_add(t->outcomes, v, 1);
			} else {
				const char *v[] = { p->a };
				switch ((Trueup__V1__DriftEvent__State)p->state) {
				case TRUEUP__V1__DRIFT_EVENT__STATE__STATE_OPENED:
					tu_metric_add(t->drift_opened, v, 1);
					break;
				case TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED:
					tu_metric_add(t->drift_resolved, v, 1);
					if (p->fixed) {
						const char *fv[] = { p->a, p->b };
						tu_metric_add(t->fixed, fv, 1);
					}
					break;
				case TRUEUP__V1__DRIFT_EVENT__STATE__STATE_ESCALATED:
					tu_metric_add(t->drift_escalated, v, 1);
					break;
				default: break;
				}
			}
		}
		tu_metric_add(t->folded, NULL, (double)(stats->folded - t->last.folded));
		const char *origin[] = { "processor" };
		if (stats->dead > t->last.dead)
			tu_metric_add(t->dead, origin, (double)(stats->dead - t->last.dead));
		tu_metric_observe(t->batch_secs, NULL, seconds);
		t->applied = applied_seq;
	}
	t->last = *stats;
	t->n_pend = 0;
}

void tu_telemetry_alive(tu_telemetry *t)
{
	t->alive_ns = tu_clock_mono_ns();
}

void tu_telemetry_bound(tu_telemetry *t, bool bound)
{
	t->bound = bound;
}

void tu_telemetry_lease(tu_telemetry *t, bool held)
{
	const char *v[] = { held ? "holder" : "standby" };
	bool was = !t->standby;
	t->standby = !held;
	tu_metric_set(t->lease_held, NULL, held ? 1 : 0);
	if (was != held)
		tu_metric_add(t->lease_changes, v, 1);
}

/* Per rule: open, pending, oldest open (since_ns), from the drift database. */
struct rule_gauges {
	char rule[LABEL_MAX];
	double open, pending;
	int64_t oldest_ns; /* 0: none */
};

static void collect(void *ctx)
{
	tu_telemetry *t = ctx;
	struct rule_gauges *g = tu_xcalloc(t->cfg->n_rules + 1, sizeof(*g));
	size_t ng = t->cfg->n_rules;
	for (size_t i = 0; i < ng; i++)
		snprintf(g[i].rule, sizeof(g[i].rule), "%s", t->cfg->rules[i].name);
	uint64_t now_ns = 0;
	MDB_txn *txn = NULL;
	if (tu_view_begin(t->view, false, &txn) == TU_OK) {
		tu_view_meta_get(txn, t->view, TU_META_APPLIED_NS, &now_ns);
		MDB_cursor *cur = NULL;
		MDB_val k, d;
		if (mdb_cursor_open(txn, tu_view_dbs(t->view)->drift, &cur) == 0) {
			int rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
			while (rc == 0) {
				Trueup__View__Drift *dr =
					trueup__view__drift__unpack(NULL, d.mv_size, d.mv_data);
				for (size_t i = 0; dr != NULL && i < ng; i++) {
					if (strcmp(g[i].rule, dr->rule) != 0)
						continue;
					if (dr->state == TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING) {
						g[i].pending++;
					} else {
						g[i].open++;
						if (g[i].oldest_ns == 0 || dr->since_ns < g[i].oldest_ns)
							g[i].oldest_ns = dr->since_ns;
					}
				}
				if (dr != NULL)
					trueup__view__drift__free_unpacked(dr, NULL);
				rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
			}
			mdb_cursor_close(cur);
		}
		tu_view_abort(t->view, txn);
	}
	for (size_t i = 0; i < ng; i++) {
		const char *v[] = { g[i].rule };
		tu_metric_set(t->drift_open, v, g[i].open);
		tu_metric_set(t->drift_pending, v, g[i].pending);
		double age = g[i].oldest_ns > 0 && (int64_t)now_ns > g[i].oldest_ns
				     ? (double)((int64_t)now_ns - g[i].oldest_ns) / 1e9
				     : 0;
		tu_metric_set(t->drift_oldest, v, age);
	}
	free(g);
	tu_metric_set(t->applied_seq, NULL, (double)t->applied);
	tu_metric_set(t->lag, NULL, (double)tu_report_lag(t->bus, t->cfg));
	tu_metric_set(t->outbox_depth, NULL, (double)tu_outbox_depth(t->outbox));
	tu_metric_set(t->outbox_published, NULL, (double)tu_outbox_published(t->outbox));
}

static int h_metrics(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
		     const char **ct)
{
	(void)r;
	tu_telemetry *t = ctx;
	*ct = "text/plain; version=0.0.4; charset=utf-8";
	tu_metrics_render(t->reg, out);
	return 200;
}

static int h_healthz(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
		     const char **ct)
{
	(void)r;
	(void)ct;
	tu_telemetry *t = ctx;
	int64_t idle = tu_clock_mono_ns() - t->alive_ns;
	if (t->alive_ns == 0 || idle > 30 * TU_NS_PER_S) {
		tu_buf_printf(out, "fold loop has not turned for %" PRId64 " s\n", idle / TU_NS_PER_S);
		return 503;
	}
	tu_buf_puts(out, "ok\n");
	return 200;
}

static int h_readyz(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
		    const char **ct)
{
	(void)r;
	(void)ct;
	tu_telemetry *t = ctx;
	uint64_t depth = tu_outbox_depth(t->outbox);
	if (t->standby) {
		tu_buf_puts(out, "not ready: standby (another processor holds the lease)\n");
		return 503;
	}
	if (!t->bound) {
		tu_buf_puts(out, "not ready: the consumer on TRUEUP_EVENTS is not bound\n");
		return 503;
	}
	if (depth >= (uint64_t)t->cfg->processor.outbox_inflight) {
		tu_buf_printf(out, "not ready: outbox holds %" PRIu64 " messages (bound %d)\n", depth,
			      t->cfg->processor.outbox_inflight);
		return 503;
	}
	tu_buf_puts(out, "ready\n");
	return 200;
}

static int h_status(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
		    const char **ct)
{
	(void)r;
	tu_telemetry *t = ctx;
	*ct = "application/json";
	if (tu_report_write(t->view, t->bus, t->cfg, tu_report_lag(t->bus, t->cfg), true, out) != TU_OK) {
		tu_buf_reset(out);
		tu_buf_puts(out, "{\"error\":\"cannot read the view\"}\n");
		return 500;
	}
	return 200;
}

/* POST /reconciliation/trigger[?source=NAME]: a scan request to each source. */
static int h_trigger(void *ctx, const struct tu_httpd_request *r, struct tu_buf *out,
		     const char **ct)
{
	tu_telemetry *t = ctx;
	const char *only = tu_httpd_arg(r, "source");
	*ct = "application/json";
	if (only != NULL && tu_config_source(t->cfg, only) == NULL) {
		tu_buf_puts(out, "{\"error\":\"no such source\"}\n");
		return 404;
	}
	tu_buf_puts(out, "{\"sources\":[");
	int n = 0, answered = 0;
	for (size_t i = 0; i < t->cfg->n_sources; i++) {
		const char *name = t->cfg->sources[i].name;
		if (only != NULL && strcmp(only, name) != 0)
			continue;
		char subject[256];
		snprintf(subject, sizeof(subject), "%s.%s", TU_SUBJ_CTL_SCAN, name);
		struct tu_buf reply;
		tu_buf_init(&reply, 1 << 16);
		tu_status st = tu_bus_request(t->bus, subject, "{}", 2, &reply);
		tu_buf_printf(out, "%s{\"source\":\"%s\",", n++ ? "," : "", name);
		if (st == TU_OK) {
			answered++;
			tu_buf_puts(out, "\"reply\":");
			tu_buf_json_str(out, reply.data ? reply.data : "", reply.len);
		} else {
			tu_buf_printf(out, "\"error\":\"%s\"", tu_status_str(st));
		}
		tu_buf_putc(out, '}');
		tu_buf_release(&reply);
	}
	tu_buf_puts(out, "]}\n");
	return answered == n ? 200 : 502;
}

tu_telemetry *tu_telemetry_create(const struct tu_config *cfg, tu_view *view, tu_bus *bus,
				  tu_outbox *outbox)
{
	tu_telemetry *t = tu_xcalloc(1, sizeof(*t));
	t->cfg = cfg;
	t->view = view;
	t->bus = bus;
	t->outbox = outbox;
	tu_metrics *m = tu_metrics_create();
	t->reg = m;
	t->folded = tu_metrics_counter(m, "trueup_events_folded_total", "Facts folded.", NULL);
	t->dead = tu_metrics_counter(m, "trueup_dead_letters_total",
				     "Input parked as dead letters.", "origin");
	t->batch_secs = tu_metrics_histogram(m, "trueup_fold_batch_duration_seconds",
					     "One fetched batch: fold and commit.", NULL,
					     tu_metrics_duration_buckets,
					     tu_metrics_n_duration_buckets);
	t->applied_seq = tu_metrics_gauge(m, "trueup_applied_sequence",
					  "Last folded TRUEUP_EVENTS sequence.", NULL);
	t->lag = tu_metrics_gauge(m, "trueup_consumer_lag",
				  "TRUEUP_EVENTS messages not yet folded (pending + unacked).", NULL);
	t->outbox_depth = tu_metrics_gauge(m, "trueup_outbox_depth",
					   "Derived messages not yet acked by JetStream.", NULL);
	t->outbox_published = tu_metrics_counter(m, "trueup_outbox_published_total",
						 "Derived messages acked by JetStream.", NULL);
	t->drift_open = tu_metrics_gauge(m, "trueup_drift_open", "Drift open or escalated.", "rule");
	t->drift_pending = tu_metrics_gauge(m, "trueup_drift_pending",
					    "Violations waiting out for:.", "rule");
	t->drift_oldest = tu_metrics_gauge(m, "trueup_drift_oldest_open_seconds",
					   "Fold-time age of the oldest open drift.", "rule");
	t->drift_opened = tu_metrics_counter(m, "trueup_drift_opened_total", "Drift OPENED.",
					     "rule");
	t->drift_resolved = tu_metrics_counter(m, "trueup_drift_resolved_total", "Drift RESOLVED.",
					       "rule");
	t->drift_escalated = tu_metrics_counter(m, "trueup_drift_escalated_total",
						"Drift ESCALATED.", "rule");
	t->issued = tu_metrics_counter(m, "trueup_commands_issued_total",
				       "Commands sent or proposed.", "rule,target,action");
	t->outcomes = tu_metrics_counter(m, "trueup_outcomes_total", "Outcomes folded.",
					 "target,result");
	t->fixed = tu_metrics_counter(m, "trueup_issues_fixed_total",
				      "Drifts resolved after a successful fix.", "rule,rule_type");
	t->build = tu_metrics_gauge(m, "trueup_build_info", "Build.", "version,component");
	t->up = tu_metrics_gauge(m, "trueup_up", "1 while the component runs.", NULL);
	t->lease_held = tu_metrics_gauge(m, "trueup_lease_held",
					 "1 while this processor holds its partition's lease (always 1 "
					 "without processor.lease).",
					 NULL);
	t->lease_changes = tu_metrics_counter(m, "trueup_lease_changes_total",
					      "Lease transitions by the role taken.", "role");
	tu_metric_set(t->lease_held, NULL, 1);
	const char *bv[] = { TRUEUP_VERSION, "processor" };
	tu_metric_set(t->build, bv, 1);
	tu_metric_set(t->up, NULL, 1);
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const char *v[] = { cfg->rules[i].name };
		tu_metric_add(t->drift_opened, v, 0);
		tu_metric_add(t->drift_resolved, v, 0);
		tu_metric_add(t->drift_escalated, v, 0);
	}
	tu_metrics_on_scrape(m, collect, t);
	return t;
}

tu_status tu_telemetry_listen(tu_telemetry *t, const char *addr, char *err, size_t errlen)
{
	if (addr == NULL || *addr == '\0')
		return TU_OK;
	tu_status st = tu_httpd_start(addr, &t->httpd, err, errlen);
	if (st != TU_OK)
		return st;
	tu_httpd_route(t->httpd, "GET", "/metrics", h_metrics, t);
	tu_httpd_route(t->httpd, "GET", "/healthz", h_healthz, t);
	tu_httpd_route(t->httpd, "GET", "/readyz", h_readyz, t);
	tu_httpd_route(t->httpd, "GET", "/reconciliation/status", h_status, t);
	tu_httpd_route(t->httpd, "POST", "/reconciliation/trigger", h_trigger, t);
	tu_info("endpoints on port %d of %s (/metrics /healthz /readyz /reconciliation/status, "
		"POST /reconciliation/trigger)",
		tu_httpd_port(t->httpd), addr);
	return TU_OK;
}

void tu_telemetry_destroy(tu_telemetry *t)
{
	if (t == NULL)
		return;
	tu_httpd_stop(t->httpd);
	tu_metrics_destroy(t->reg);
	free(t->pend);
	free(t);
}
