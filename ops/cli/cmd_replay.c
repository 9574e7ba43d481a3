/*
 * cmd_replay.c - `trueup replay`: rebuilds a view from TRUEUP_EVENTS into a
 * fresh LMDB with the same fold code as the processor, and prints every
 * drift event, command and dead letter the fold derives, without publishing
 * anything. With the live policy the output equals, id for id and byte for
 * byte, what the live processor published; with --policy it is a what-if.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch.h"
#include "cli.h"
#include "clock.h"
#include "contract.h"
#include "fold.h"
#include "reader.h"
#include "view.h"
#include "view.pb-c.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup replay --view DIR [--until SEQ|TIME] [--policy FILE] [-o json] [--quiet]\n"
		"\n"
		"Folds TRUEUP_EVENTS from its first message into a fresh view in DIR (which must\n"
		"not hold a view yet) and prints what the fold derives: drift events, commands and\n"
		"dead letters, in order. Nothing is published.\n"
		"\n"
		"  --view DIR        directory for the new view\n"
		"  --until SEQ|TIME  stop after stream sequence SEQ, or after the last event at or\n"
		"                    before TIME (RFC 3339, e.g. 2026-11-22T03:00:00Z)\n"
		"  --policy FILE     take rules from FILE instead of --config (what-if)\n"
		"  --quiet           print only the summary\n"
		"  -o json           one JSON object per derived message, with base64 payload\n");
}

struct replay_ctx {
	struct tu_cli *cli;
	tu_view *view;
	bool quiet;
	uint64_t drift, commands, dead; /* printed so far */
};

static const char *stream_of(const char *subject)
{
	if (strncmp(subject, TU_SUBJ_DRIFT ".", strlen(TU_SUBJ_DRIFT) + 1) == 0)
		return TU_STREAM_DRIFT;
	if (strncmp(subject, TU_SUBJ_CMD ".", strlen(TU_SUBJ_CMD) + 1) == 0)
		return TU_STREAM_CMD;
	return TU_STREAM_DEAD;
}

/* Prints and empties the outbox inside the batch's transaction. */
static tu_status drain(void *arg, MDB_txn *txn)
{
	struct replay_ctx *rc = arg;
	const struct tu_view_dbs *db = tu_view_dbs(rc->view);
	MDB_cursor *cur = NULL;
	int r = mdb_cursor_open(txn, db->outbox, &cur);
	if (r != 0)
		return tu_view_status(r);
	MDB_val k, d;
	r = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (r == 0) {
		Trueup__View__OutboxEntry *e =
			trueup__view__outbox_entry__unpack(NULL, d.mv_size, d.mv_data);
		if (e != NULL) {
			const char *stream = stream_of(e->subject);
			if (strcmp(stream, TU_STREAM_DRIFT) == 0)
				rc->drift++;
			else if (strcmp(stream, TU_STREAM_CMD) == 0)
				rc->commands++;
			else
				rc->dead++;
			if (!rc->quiet) {
				struct tu_cli_msg m = { .stream = stream,
							.seq = e->source_seq,
							.subject = e->subject,
							.msg_id = e->msg_id,
							.type = e->type,
							.corr = e->correlation_id,
							.payload = e->payload.data,
							.len = e->payload.len };
				tu_cli_print_msg(rc->cli, stdout, &m);
			}
			trueup__view__outbox_entry__free_unpacked(e, NULL);
		}
		r = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return tu_view_status(mdb_drop(txn, db->outbox, 0));
}

static bool parse_until(const char *s, uint64_t *seq, int64_t *ns)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == 0 && end != s && *end == '\0') {
		*seq = v;
		return true;
	}
	return tu_time_parse(s, ns) == TU_OK;
}

struct args {
	const char *dir, *policy;
	uint64_t until_seq;
	int64_t until_ns;
	bool quiet;
};

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	struct args *a = ctx;
	switch (c) {
	case 'v': a->dir = arg; break;
	case 'p': a->policy = arg; break;
	case 'q': a->quiet = true; break;
	case 'u':
		if (!parse_until(arg, &a->until_seq, &a->until_ns)) {
			tu_cli_fail(cli, "--until takes a sequence or an RFC 3339 time, not %s", arg);
			return TU_EXIT_USAGE;
		}
		break;
	default: return TU_EXIT_USAGE;
	}
	return TU_EXIT_OK;
}

int tu_cli_replay(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "view", required_argument, NULL, 'v' },
		{ "until", required_argument, NULL, 'u' },
		{ "policy", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { 0 };
	struct tu_cli_verb v = { opts, "q", on_opt, &a, usage, 0, 0 };
	int prc = tu_cli_parse(cli, argc, argv, &v);
	if (prc >= 0)
		return prc;
	if (a.dir == NULL) {
		tu_cli_fail(cli, "--view DIR is required");
		return TU_EXIT_USAGE;
	}
	const char *dir = a.dir, *policy = a.policy;
	uint64_t until_seq = a.until_seq;
	int64_t until_ns = a.until_ns;
	bool quiet = a.quiet;
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	char err[1024];
	struct tu_config *pol = NULL;
	if (policy != NULL && tu_config_load(policy, &pol, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "--policy: %s", err);
		return TU_EXIT_USAGE;
	}
	char data[4096];
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	struct stat sb;
	if (stat(data, &sb) == 0) {
		tu_cli_fail(cli, "%s already holds a view; replay builds a fresh one", dir);
		tu_config_destroy(pol);
		return TU_EXIT_USAGE;
	}
	int rc = TU_EXIT_FAIL;
	tu_view *view = NULL;
	tu_fold *fold = NULL;
	tu_bus *bus = NULL;
	tu_reader *r = NULL;
	const struct tu_config *fcfg = pol != NULL ? pol : cli->cfg;
	if (tu_view_open(dir, cli->cfg->processor.map_size, TU_SYNC_NONE, true, &view, err,
			 sizeof(err)) != TU_OK ||
	    tu_fold_create(fcfg, view, &fold, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		goto out;
	}
	bus = tu_cli_connect(cli, "trueup-replay");
	if (bus == NULL)
		goto out;
	struct tu_reader_opts ro = { 0 };
	if (tu_reader_open(bus, TU_STREAM_EVENTS, &ro, &r, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		goto out;
	}
	struct replay_ctx ctx = { .cli = cli, .view = view, .quiet = quiet };
	int64_t t0 = tu_clock_mono_ns();
	uint64_t events = 0;
	bool done = false;
	while (!done) {
		natsMsgList list = { 0 };
		tu_status st = tu_reader_next(r, 1024, tu_bus_request_timeout(bus), &list);
		if (st == TU_ENOTFOUND)
			break;
		if (st != TU_OK) {
			tu_cli_fail(cli, "reading %s: %s", TU_STREAM_EVENTS, tu_status_str(st));
			goto out;
		}
		int off = 0;
		while (off < list.Count) {
			struct tu_batch_opts bo = { .accept_gap_first = true,
						    .until_seq = until_seq,
						    .until_ns = until_ns,
						    .before_commit = drain,
						    .ctx = &ctx };
			struct tu_batch_result res;
			st = tu_batch_fold(fold, view, list.Msgs + off, list.Count - off, &bo, &res);
			if (st != TU_OK) {
				tu_cli_fail(cli, "fold: %s", tu_status_str(st));
				natsMsgList_Destroy(&list);
				goto out;
			}
			events += (uint64_t)res.folded;
			off += res.done;
			if (res.reached_until) {
				done = true;
				break;
			}
		}
		natsMsgList_Destroy(&list);
	}
	double secs = (double)(tu_clock_mono_ns() - t0) / 1e9;
	fprintf(stderr,
		"replay: folded %" PRIu64 " events up to sequence %" PRIu64 " in %.2fs (%.0f/s): "
		"%" PRIu64 " drift events, %" PRIu64 " commands, %" PRIu64 " dead letters\n",
		events, tu_fold_applied_seq(fold), secs, secs > 0 ? (double)events / secs : 0.0,
		ctx.drift, ctx.commands, ctx.dead);
	rc = TU_EXIT_OK;
out:
	tu_reader_close(r);
	tu_bus_destroy(bus, 0);
	tu_fold_destroy(fold);
	tu_view_close(view);
	tu_config_destroy(pol);
	return rc;
}
