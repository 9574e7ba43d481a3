/*
 * report.c - what `trueup status` and the processor's /reconciliation/status
 * say about a view (see report.h).
 */
#include "report.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "clock.h"
#include "contract.h"
#include "lease.h"
#include "pb.h"
#include "xalloc.h"
#include "view.pb-c.h"

static const char *drift_state(Trueup__View__Drift__State s)
{
	switch (s) {
	case TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING: return "pending";
	case TRUEUP__VIEW__DRIFT__STATE__STATE_OPEN: return "open";
	case TRUEUP__VIEW__DRIFT__STATE__STATE_ESCALATED: return "escalated";
	default: return "unknown";
	}
}

int64_t tu_report_lag(tu_bus *bus, const struct tu_config *cfg)
{
	int64_t lag = -1;
	jsConsumerInfo *ci = NULL;
	if (bus != NULL && js_GetConsumerInfo(&ci, tu_bus_js(bus), TU_STREAM_EVENTS,
					      cfg->processor.consumer, NULL, NULL) == NATS_OK)
		lag = (int64_t)ci->NumPending + ci->NumAckPending;
	jsConsumerInfo_Destroy(ci);
	return lag;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replies (JSON objects) of the actuators of every target, sorted; *n of them. */
static char **ask_actuators(tu_bus *bus, const struct tu_config *cfg, size_t *n)
{
	natsConnection *nc = tu_bus_nc(bus);
	natsSubscription *sub = NULL;
	natsInbox *inbox = NULL;
	char **replies = NULL;
	size_t cap = 0;
	*n = 0;
	if (cfg->n_targets == 0 || natsInbox_Create(&inbox) != NATS_OK)
		return NULL;
	if (natsConnection_SubscribeSync(&sub, nc, inbox) == NATS_OK) {
		for (size_t i = 0; i < cfg->n_targets; i++) {
			char subject[TU_MAX_SUBJECT];
			snprintf(subject, sizeof(subject), "%s.%s", TU_SUBJ_CTL_ACTUATOR,
				 cfg->targets[i].name);
			natsConnection_PublishRequestString(nc, subject, inbox, "{}");
		}
		natsConnection_Flush(nc);
		int64_t end = tu_clock_mono_ns() + TU_REPORT_ACTUATOR_WAIT_MS * TU_NS_PER_MS;
		for (;;) {
			int64_t left = (end - tu_clock_mono_ns()) / TU_NS_PER_MS;
			natsMsg *m = NULL;
			if (left <= 0 || natsSubscription_NextMsg(&m, sub, left) != NATS_OK)
				break;
			if (*n == cap) {
				cap = cap ? 2 * cap : 8;
				replies = tu_xrealloc(replies, cap * sizeof(*replies));
			}
			replies[(*n)++] = tu_xstrndup(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
			natsMsg_Destroy(m);
		}
		natsSubscription_Destroy(sub);
	}
	natsInbox_Destroy(inbox);
	if (*n > 1)
		qsort(replies, *n, sizeof(*replies), cmp_str);
	return replies;
}

/* The actuators' part of the report: one entry per reply, and targets nobody answered for. */
static void write_actuators(tu_bus *bus, const struct tu_config *cfg, bool json,
			    struct tu_buf *out)
{
	size_t n = 0;
	char **replies = bus != NULL ? ask_actuators(bus, cfg, &n) : NULL;
	tu_buf_puts(out, json ? ",\"actuators\":[" : "actuators:\n");
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_loads(replies[i], 0, NULL);
		if (j == NULL || !json_is_object(j)) {
			json_decref(j);
			continue;
		}
		if (json) {
			tu_buf_printf(out, "%s%s", shown ? "," : "", replies[i]);
		} else {
			tu_buf_printf(out, "  %-12s %-20s breaker %s (opened %" JSON_INTEGER_FORMAT
				      " times), commands %" JSON_INTEGER_FORMAT ", outcomes %"
				      JSON_INTEGER_FORMAT ", retries %" JSON_INTEGER_FORMAT
				      ", dead %" JSON_INTEGER_FORMAT "\n",
				      json_string_value(json_object_get(j, "target")) ?: "?",
				      json_string_value(json_object_get(j, "instance")) ?: "?",
				      json_string_value(json_object_get(j, "breaker")) ?: "?",
				      json_integer_value(json_object_get(j, "breaker_opened")),
				      json_integer_value(json_object_get(j, "commands")),
				      json_integer_value(json_object_get(j, "outcomes")),
				      json_integer_value(json_object_get(j, "retries")),
				      json_integer_value(json_object_get(j, "dead")));
		}
		shown++;
		json_decref(j);
	}
	for (size_t t = 0; t < cfg->n_targets; t++) {
		const char *name = cfg->targets[t].name;
		bool answered = false;
		for (size_t i = 0; i < n && !answered; i++) {
			json_t *j = json_loads(replies[i], 0, NULL);
			const char *tn = json_string_value(json_object_get(j, "target"));
			answered = tn != NULL && strcmp(tn, name) == 0;
			json_decref(j);
		}
		if (answered)
			continue;
		if (json)
			tu_buf_printf(out, "%s{\"target\":\"%s\",\"breaker\":null,\"error\":"
				      "\"no actuator answered\"}", shown ? "," : "", name);
		else
			tu_buf_printf(out, "  %-12s no actuator answered\n", name);
		shown++;
	}
	if (json)
		tu_buf_putc(out, ']');
	for (size_t i = 0; i < n; i++)
		free(replies[i]);
	free(replies);
}

/* processor.lease: who holds this partition, until when. */
static void write_lease(tu_bus *bus, const struct tu_config *cfg, bool json, struct tu_buf *out)
{
	const struct tu_lease_config *lc = &cfg->processor.lease;
	struct tu_lease_state ls;
	tu_status st = tu_lease_read(bus, lc, &ls);
	char until[40] = "-";
	if (st == TU_OK && ls.expires_ms > 0)
		tu_time_format(ls.expires_ms * TU_NS_PER_MS, until, sizeof(until));
	if (json) {
		tu_buf_printf(out, ",\"lease\":{\"bucket\":\"%s\",\"partition\":\"%s\",", lc->bucket,
			      lc->partition);
		if (st != TU_OK) {
			tu_buf_printf(out, "\"error\":\"%s\"}", tu_status_str(st));
			return;
		}
		tu_buf_puts(out, "\"holder\":");
		tu_buf_json_str(out, ls.holder, strlen(ls.holder));
		tu_buf_printf(out, ",\"expires\":\"%s\",\"expires_ms\":%" PRId64
			      ",\"renewed_ms\":%" PRId64 ",\"revision\":%" PRIu64
			      ",\"published_seq\":%" PRIu64 "}",
			      until, ls.expires_ms, ls.renewed_ms, ls.revision, ls.published_seq);
		return;
	}
	if (st != TU_OK)
		tu_buf_printf(out, "lease: partition %s: %s\n", lc->partition, tu_status_str(st));
	else
		tu_buf_printf(out, "lease: partition %s held by %s until %s (revision %" PRIu64 ")\n",
			      lc->partition, ls.holder[0] ? ls.holder : "(nobody)", until,
			      ls.revision);
}

tu_status tu_report_write(tu_view *v, tu_bus *bus, const struct tu_config *cfg, int64_t lag,
			  bool json, struct tu_buf *out)
{
	MDB_txn *txn = NULL;
	tu_status st = tu_view_begin(v, false, &txn);
	if (st != TU_OK)
		return st;
	const struct tu_view_dbs *db = tu_view_dbs(v);
	const char *keys[] = { TU_META_APPLIED_SEQ, TU_META_FOLDED, TU_META_DEAD,
			       TU_META_DRIFT_OPENED, TU_META_DRIFT_RESOLVED, TU_META_COMMANDS,
			       TU_META_OUTCOMES, TU_META_APPLIED_NS };
	uint64_t vals[8] = { 0 };
	for (int i = 0; i < 8; i++)
		tu_view_meta_get(txn, v, keys[i], &vals[i]);
	MDB_stat ms;
	mdb_stat(txn, db->outbox, &ms);
	uint64_t outbox = ms.ms_entries;
	char ts[40] = "-";
	if (vals[7] > 0)
		tu_time_format((int64_t)vals[7], ts, sizeof(ts));
	int rc;
	if (json)
		tu_buf_printf(out,
			      "{\"applied_seq\":%" PRIu64 ",\"fold_time\":\"%s\",\"lag\":%" PRId64
			      ",\"outbox\":%" PRIu64 ",\"folded\":%" PRIu64 ",\"dead\":%" PRIu64
			      ",\"drift_opened\":%" PRIu64 ",\"drift_resolved\":%" PRIu64
			      ",\"commands\":%" PRIu64 ",\"outcomes\":%" PRIu64 ",\"drift\":[",
			      vals[0], ts, lag, outbox, vals[1], vals[2], vals[3], vals[4], vals[5],
			      vals[6]);
	else
		tu_buf_printf(out,
			      "applied sequence %" PRIu64 " (fold time %s), lag %" PRId64
			      ", outbox %" PRIu64 "\n"
			      "folded %" PRIu64 ", dead letters %" PRIu64 ", drift opened %" PRIu64
			      ", resolved %" PRIu64 ", commands %" PRIu64 ", outcomes %" PRIu64 "\n"
			      "drift:\n",
			      vals[0], ts, lag, outbox, vals[1], vals[2], vals[3], vals[4], vals[5],
			      vals[6]);
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	int n = 0;
	mdb_cursor_open(txn, db->drift, &cur);
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		Trueup__View__Drift *dr = trueup__view__drift__unpack(NULL, d.mv_size, d.mv_data);
		if (dr != NULL) {
			if (json) {
				tu_buf_printf(out, "%s{\"rule\":\"%s\",\"state\":\"%s\",\"entity\":\"%s/%s/%s\","
					      "\"correlation_id\":\"%s\",\"attempt\":%u,\"reason\":",
					      n ? "," : "", dr->rule, drift_state(dr->state),
					      dr->entity->kind, dr->entity->namespace_, dr->entity->name,
					      dr->correlation_id, dr->attempt);
				tu_buf_json_str(out, dr->reason, strlen(dr->reason));
				tu_buf_putc(out, '}');
			} else {
				tu_buf_printf(out, "  %-9s %-20s %s/%s/%s attempt %u corr %s: %s\n",
					      drift_state(dr->state), dr->rule, dr->entity->kind,
					      dr->entity->namespace_, dr->entity->name, dr->attempt,
					      dr->correlation_id, dr->reason);
			}
			n++;
			trueup__view__drift__free_unpacked(dr, NULL);
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (!json && n == 0)
		tu_buf_puts(out, "  (none)\n");
	tu_buf_puts(out, json ? "],\"scans\":[" : "scans:\n");
	n = 0;
	mdb_cursor_open(txn, db->scan, &cur);
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		Trueup__View__Scan *s = trueup__view__scan__unpack(NULL, d.mv_size, d.mv_data);
		if (s != NULL) {
			char end[40] = "-";
			if (s->last_complete_ns > 0)
				tu_time_format(s->last_complete_ns, end, sizeof(end));
			if (json) {
				tu_buf_printf(out, "%s{\"source\":\"%s\",\"scan_id\":\"%s\",\"complete\":%s,"
					      "\"full\":%s,\"seen\":%" PRIu64 ",\"published\":%" PRIu64
					      ",\"swept\":%" PRIu64 ",\"complete_scans\":%" PRIu64
					      ",\"last_complete\":\"%s\",\"error\":",
					      n ? "," : "", s->source, s->scan_id,
					      s->complete ? "true" : "false", s->full ? "true" : "false",
					      s->seen, s->published, s->swept, s->complete_scans, end);
				tu_buf_json_str(out, s->error, strlen(s->error));
				tu_buf_putc(out, '}');
			} else {
				tu_buf_printf(out, "  %-12s last scan %s %s%s, seen %" PRIu64
					      ", published %" PRIu64 ", swept %" PRIu64
					      "; last complete %s%s%s\n",
					      s->source, s->scan_id, s->end_seq ? (s->complete ? "complete" : "INCOMPLETE") : "running",
					      s->full ? " full" : " delta", s->seen, s->published, s->swept,
					      end, *s->error ? "; error: " : "", s->error);
			}
			n++;
			trueup__view__scan__free_unpacked(s, NULL);
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	tu_view_abort(v, txn);
	if (json)
		tu_buf_putc(out, ']');
	if (cfg != NULL && bus != NULL && cfg->processor.lease.enabled)
		write_lease(bus, cfg, json, out);
	if (cfg != NULL)
		write_actuators(bus, cfg, json, out);
	tu_buf_puts(out, json ? "}\n" : "");
	return TU_OK;
}
