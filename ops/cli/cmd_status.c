/*
 * cmd_status.c - `trueup status`: where the processor is (applied sequence,
 * lag behind the stream, outbox depth), open drift by rule and state, and the
 * last scan of each source, from the view and the consumer's info.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "contract.h"
#include "pb.h"
#include "view.h"
#include "view.pb-c.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup status [-o json]\n"
		"\n"
		"Reads the processor's view (processor.view) and its consumer: applied sequence,\n"
		"consumer lag, outbox depth, counters, open drift by rule, last scan per source.\n");
}

struct rule_count {
	char rule[80];
	uint64_t pending, open, escalated;
};

static const char *drift_state(Trueup__View__Drift__State s)
{
	switch (s) {
	case TRUEUP__VIEW__DRIFT__STATE__STATE_PENDING: return "pending";
	case TRUEUP__VIEW__DRIFT__STATE__STATE_OPEN: return "open";
	case TRUEUP__VIEW__DRIFT__STATE__STATE_ESCALATED: return "escalated";
	default: return "unknown";
	}
}

int tu_cli_status(struct tu_cli *cli, int argc, char **argv)
{
	struct tu_cli_verb verb = { NULL, NULL, NULL, NULL, usage, 0, 0 };
	int rc = tu_cli_parse(cli, argc, argv, &verb);
	if (rc >= 0)
		return rc;
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	char err[1024];
	tu_view *v = NULL;
	if (tu_view_open(cli->cfg->processor.view, cli->cfg->processor.map_size, TU_SYNC_NONE, false,
			 &v, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		return TU_EXIT_FAIL;
	}
	MDB_txn *txn = NULL;
	if (tu_view_begin(v, false, &txn) != TU_OK) {
		tu_view_close(v);
		return TU_EXIT_FAIL;
	}
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

	/* Lag: messages the processor's consumer has not been given yet. */
	int64_t lag = -1;
	tu_bus *bus = tu_cli_connect(cli, "trueup-cli");
	if (bus != NULL) {
		jsConsumerInfo *ci = NULL;
		if (js_GetConsumerInfo(&ci, tu_bus_js(bus), TU_STREAM_EVENTS,
				       cli->cfg->processor.consumer, NULL, NULL) == NATS_OK)
			lag = (int64_t)ci->NumPending + ci->NumAckPending;
		jsConsumerInfo_Destroy(ci);
		tu_bus_destroy(bus, 0);
	}
	char ts[40] = "-";
	if (vals[7] > 0)
		tu_time_format((int64_t)vals[7], ts, sizeof(ts));

	struct tu_buf out;
	tu_buf_init(&out, 1 << 24);
	if (cli->json)
		tu_buf_printf(&out,
			      "{\"applied_seq\":%" PRIu64 ",\"fold_time\":\"%s\",\"lag\":%" PRId64
			      ",\"outbox\":%" PRIu64 ",\"folded\":%" PRIu64 ",\"dead\":%" PRIu64
			      ",\"drift_opened\":%" PRIu64 ",\"drift_resolved\":%" PRIu64
			      ",\"commands\":%" PRIu64 ",\"outcomes\":%" PRIu64 ",\"drift\":[",
			      vals[0], ts, lag, outbox, vals[1], vals[2], vals[3], vals[4], vals[5],
			      vals[6]);
	else
		tu_buf_printf(&out,
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
			if (cli->json) {
				tu_buf_printf(&out, "%s{\"rule\":\"%s\",\"state\":\"%s\",\"entity\":\"%s/%s/%s\","
					      "\"correlation_id\":\"%s\",\"attempt\":%u,\"reason\":",
					      n ? "," : "", dr->rule, drift_state(dr->state),
					      dr->entity->kind, dr->entity->namespace_, dr->entity->name,
					      dr->correlation_id, dr->attempt);
				tu_buf_json_str(&out, dr->reason, strlen(dr->reason));
				tu_buf_putc(&out, '}');
			} else {
				tu_buf_printf(&out, "  %-9s %-20s %s/%s/%s attempt %u corr %s: %s\n",
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
	if (!cli->json && n == 0)
		tu_buf_puts(&out, "  (none)\n");
	tu_buf_puts(&out, cli->json ? "],\"scans\":[" : "scans:\n");
	n = 0;
	mdb_cursor_open(txn, db->scan, &cur);
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		Trueup__View__Scan *s = trueup__view__scan__unpack(NULL, d.mv_size, d.mv_data);
		if (s != NULL) {
			char end[40] = "-";
			if (s->last_complete_ns > 0)
				tu_time_format(s->last_complete_ns, end, sizeof(end));
			if (cli->json) {
				tu_buf_printf(&out, "%s{\"source\":\"%s\",\"scan_id\":\"%s\",\"complete\":%s,"
					      "\"full\":%s,\"seen\":%" PRIu64 ",\"published\":%" PRIu64
					      ",\"swept\":%" PRIu64 ",\"complete_scans\":%" PRIu64
					      ",\"last_complete\":\"%s\",\"error\":",
					      n ? "," : "", s->source, s->scan_id,
					      s->complete ? "true" : "false", s->full ? "true" : "false",
					      s->seen, s->published, s->swept, s->complete_scans, end);
				tu_buf_json_str(&out, s->error, strlen(s->error));
				tu_buf_putc(&out, '}');
			} else {
				tu_buf_printf(&out, "  %-12s last scan %s %s%s, seen %" PRIu64
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
	tu_buf_puts(&out, cli->json ? "]}\n" : "");
	fputs(tu_buf_cstr(&out), stdout);
	tu_buf_release(&out);
	tu_view_abort(v, txn);
	tu_view_close(v);
	return TU_EXIT_OK;
}
