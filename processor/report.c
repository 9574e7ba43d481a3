/*
 * report.c - what `trueup status` and the processor's /reconciliation/status
 * say about a view (see report.h).
 */
#include "report.h"

#include <inttypes.h>
#include <string.h>

#include "clock.h"
#include "contract.h"
#include "pb.h"
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

tu_status tu_report_write(tu_view *v, int64_t lag, bool json, struct tu_buf *out)
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
	tu_buf_puts(out, json ? "]}\n" : "");
	tu_view_abort(v, txn);
	return TU_OK;
}
