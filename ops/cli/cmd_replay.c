/*
 * cmd_replay.c - `trueup replay`: rebuilds a view from TRUEUP_EVENTS into a
 * fresh LMDB with the same fold code as the processor, and prints every
 * drift event, command and dead letter the fold derives, without publishing
 * anything. With the live policy the output equals, id for id and byte for
 * byte, what the live processor published; with --policy it is a what-if,
 * and with --diff both run side by side over the same events and only what
 * differs is printed.
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
#include "xalloc.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup replay --view DIR [--from SEQ] [--until SEQ|TIME] [--policy FILE [--diff]]\n"
		"                     [-o json] [--quiet]\n"
		"\n"
		"Folds TRUEUP_EVENTS from its first message into a fresh view in DIR (which must\n"
		"not hold a view yet) and prints what the fold derives: drift events, commands and\n"
		"dead letters, in order. Nothing is published.\n"
		"\n"
		"  --view DIR        directory for the new view (with --diff: DIR/live, DIR/whatif)\n"
		"  --from SEQ        print only what events from sequence SEQ on derive (the fold\n"
		"                    still starts at the first event: state needs the history)\n"
		"  --until SEQ|TIME  stop after stream sequence SEQ, or after the last event at or\n"
		"                    before TIME (RFC 3339, e.g. 2026-11-22T03:00:00Z)\n"
		"  --policy FILE     take rules from FILE instead of --config (what-if)\n"
		"  --diff            with --policy: fold both policies and print only the messages\n"
		"                    one derives and the other does not (- live only, + --policy only)\n"
		"  --quiet           print only the summary\n"
		"  -o json           one JSON object per derived message, with base64 payload\n");
}

/* A derived message, copied out of the outbox. */
struct derived {
	char *subject, *msg_id, *type, *corr;
	void *payload;
	size_t len;
	uint64_t seq; /* the event that derived it */
};

/* One policy folding the stream into its own view. */
struct lane {
	const struct tu_config *cfg;
	tu_view *view;
	tu_fold *fold;
	struct derived *got; /* this batch's derived messages */
	size_t n, cap;
	uint64_t drift, commands, dead; /* counted so far */
};

static const char *stream_of(const char *subject)
{
	if (strncmp(subject, TU_SUBJ_DRIFT ".", strlen(TU_SUBJ_DRIFT) + 1) == 0)
		return TU_STREAM_DRIFT;
	if (strncmp(subject, TU_SUBJ_CMD ".", strlen(TU_SUBJ_CMD) + 1) == 0)
		return TU_STREAM_CMD;
	return TU_STREAM_DEAD;
}

static void got_clear(struct lane *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->got[i].subject);
		free(l->got[i].msg_id);
		free(l->got[i].type);
		free(l->got[i].corr);
		free(l->got[i].payload);
	}
	l->n = 0;
}

/* Moves the outbox into l->got inside the batch's transaction. */
static tu_status drain(void *arg, MDB_txn *txn)
{
	struct lane *l = arg;
	const struct tu_view_dbs *db = tu_view_dbs(l->view);
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
			if (l->n == l->cap) {
				l->cap = l->cap ? l->cap * 2 : 64;
				l->got = tu_xrealloc(l->got, l->cap * sizeof(*l->got));
			}
			struct derived *g = &l->got[l->n++];
			g->subject = tu_xstrdup(e->subject);
			g->msg_id = tu_xstrdup(e->msg_id);
			g->type = tu_xstrdup(e->type);
			g->corr = tu_xstrdup(e->correlation_id);
			g->len = e->payload.len;
			g->payload = tu_xmalloc(g->len ? g->len : 1);
			memcpy(g->payload, e->payload.data, g->len);
			g->seq = e->source_seq;
			const char *stream = stream_of(e->subject);
			if (strcmp(stream, TU_STREAM_DRIFT) == 0)
				l->drift++;
			else if (strcmp(stream, TU_STREAM_CMD) == 0)
				l->commands++;
			else
				l->dead++;
			trueup__view__outbox_entry__free_unpacked(e, NULL);
		}
		r = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return tu_view_status(mdb_drop(txn, db->outbox, 0));
}

static void print_derived(struct tu_cli *cli, const struct derived *g, const char *tag)
{
	struct tu_cli_msg m = { .stream = stream_of(g->subject),
				.seq = g->seq,
				.subject = g->subject,
				.msg_id = g->msg_id,
				.type = g->type,
				.corr = g->corr,
				.payload = g->payload,
				.len = g->len,
				.tag = tag };
	tu_cli_print_msg(cli, stdout, &m);
}

static bool same(const struct derived *a, const struct derived *b)
{
	return strcmp(a->msg_id, b->msg_id) == 0 && a->len == b->len &&
	       memcmp(a->payload, b->payload, a->len) == 0;
}

/* Prints what one lane derived and the other did not, with tag. */
static void print_missing_in(struct tu_cli *cli, const struct lane *have, const struct lane *other,
			     const char *tag, uint64_t from)
{
	for (size_t i = 0; i < have->n; i++) {
		bool found = false;
		for (size_t j = 0; j < other->n && !found; j++)
			found = same(&have->got[i], &other->got[j]);
		if (!found && have->got[i].seq >= from)
			print_derived(cli, &have->got[i], tag);
	}
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
	uint64_t from, until_seq;
	int64_t until_ns;
	bool quiet, diff;
};

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	struct args *a = ctx;
	switch (c) {
	case 'v': a->dir = arg; break;
	case 'p': a->policy = arg; break;
	case 'q': a->quiet = true; break;
	case 'd': a->diff = true; break;
	case 'f': a->from = strtoull(arg, NULL, 10); break;
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

static tu_status lane_open(struct tu_cli *cli, struct lane *l, const struct tu_config *cfg,
			   const char *dir)
{
	char err[1024], data[4096];
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	struct stat sb;
	if (stat(data, &sb) == 0) {
		tu_cli_fail(cli, "%s already holds a view; replay builds a fresh one", dir);
		return TU_EEXIST;
	}
	l->cfg = cfg;
	if (tu_view_open(dir, cli->cfg->processor.map_size, TU_SYNC_NONE, true, &l->view, err,
			 sizeof(err)) != TU_OK ||
	    tu_fold_create(cfg, l->view, &l->fold, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		return TU_EIO;
	}
	return TU_OK;
}

static void lane_close(struct lane *l)
{
	got_clear(l);
	free(l->got);
	tu_fold_destroy(l->fold);
	tu_view_close(l->view);
}

int tu_cli_replay(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "view", required_argument, NULL, 'v' },
		{ "from", required_argument, NULL, 'f' },
		{ "until", required_argument, NULL, 'u' },
		{ "policy", required_argument, NULL, 'p' },
		{ "diff", no_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { 0 };
	struct tu_cli_verb v = { opts, "q", on_opt, &a, usage, 0, 0 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	if (a.dir == NULL || (a.diff && a.policy == NULL)) {
		tu_cli_fail(cli, a.dir == NULL ? "--view DIR is required" : "--diff needs --policy");
		return TU_EXIT_USAGE;
	}
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	char err[1024];
	struct tu_config *pol = NULL;
	if (a.policy != NULL && tu_config_load(a.policy, &pol, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "--policy: %s", err);
		return TU_EXIT_USAGE;
	}
	rc = TU_EXIT_FAIL;
	struct lane lanes[2] = { { 0 } };
	size_t n_lanes = a.diff ? 2 : 1;
	tu_bus *bus = NULL;
	tu_reader *r = NULL;
	if (a.diff) {
		char live[4096], whatif[4096];
		snprintf(live, sizeof(live), "%s/live", a.dir);
		snprintf(whatif, sizeof(whatif), "%s/whatif", a.dir);
		mkdir(a.dir, 0750);
		if (lane_open(cli, &lanes[0], cli->cfg, live) != TU_OK ||
		    lane_open(cli, &lanes[1], pol, whatif) != TU_OK)
			goto out;
	} else if (lane_open(cli, &lanes[0], pol != NULL ? pol : cli->cfg, a.dir) != TU_OK) {
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
			struct tu_batch_result res[2];
			for (size_t i = 0; i < n_lanes; i++) {
				struct tu_batch_opts bo = { .accept_gap_first = true,
							    .until_seq = a.until_seq,
							    .until_ns = a.until_ns,
							    .before_commit = drain,
							    .ctx = &lanes[i] };
				st = tu_batch_fold(lanes[i].fold, lanes[i].view, list.Msgs + off,
						   list.Count - off, &bo, &res[i]);
				if (st != TU_OK) {
					tu_cli_fail(cli, "fold: %s", tu_status_str(st));
					natsMsgList_Destroy(&list);
					goto out;
				}
			}
			if (!a.quiet && a.diff) {
				print_missing_in(cli, &lanes[0], &lanes[1], "-", a.from);
				print_missing_in(cli, &lanes[1], &lanes[0], "+", a.from);
			} else if (!a.quiet) {
				for (size_t i = 0; i < lanes[0].n; i++)
					if (lanes[0].got[i].seq >= a.from)
						print_derived(cli, &lanes[0].got[i], NULL);
			}
			for (size_t i = 0; i < n_lanes; i++)
				got_clear(&lanes[i]);
			events += (uint64_t)res[0].folded;
			off += res[0].done;
			if (res[0].reached_until) {
				done = true;
				break;
			}
		}
		natsMsgList_Destroy(&list);
	}
	double secs = (double)(tu_clock_mono_ns() - t0) / 1e9;
	for (size_t i = 0; i < n_lanes; i++)
		fprintf(stderr,
			"replay%s: folded %" PRIu64 " events up to sequence %" PRIu64
			" in %.2fs (%.0f/s): %" PRIu64 " drift events, %" PRIu64 " commands, %" PRIu64
			" dead letters\n",
			n_lanes == 1 ? "" : (i == 0 ? " (live policy)" : " (--policy)"), events,
			tu_fold_applied_seq(lanes[i].fold), secs,
			secs > 0 ? (double)events / secs : 0.0, lanes[i].drift, lanes[i].commands,
			lanes[i].dead);
	rc = TU_EXIT_OK;
out:
	tu_reader_close(r);
	tu_bus_destroy(bus, 0);
	for (size_t i = 0; i < 2; i++)
		lane_close(&lanes[i]);
	tu_config_destroy(pol);
	return rc;
}
