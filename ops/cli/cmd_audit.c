/*
 * cmd_audit.c - `trueup audit [CORRELATION_ID | KIND/NS/NAME]`: the audit
 * trail of drift, from the streams themselves: the observation that opened
 * the drift (TRUEUP_EVENTS at its opened_seq), drift events (TRUEUP_DRIFT),
 * the commands they caused (TRUEUP_CMD) and the outcomes the actuators
 * reported (trueup.out.> in TRUEUP_EVENTS), grouped by correlation id and
 * ordered by time. Without an argument: every correlation id.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "contract.h"
#include "pb.h"
#include "reader.h"
#include "xalloc.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup audit [CORRELATION_ID | KIND/NAMESPACE/NAME] [-o json]\n"
		"\n"
		"Drift events, commands and outcomes with the correlation id (or of the entity),\n"
		"grouped by correlation id, in time order. Exit 3 if nothing matches.\n");
}

struct rec {
	char *stream;
	uint64_t seq;
	int64_t ts;
	char *subject, *msg_id, *type, *corr;
	void *payload;
	size_t len;
	size_t group; /* index of the correlation id in first-seen order */
};

struct audit {
	struct rec *recs;
	size_t n, cap;
	char **corrs; /* correlation ids that match, first-seen order */
	size_t n_corrs;
	const char *want_corr;  /* NULL: any */
	const char *want_entity; /* "kind/ns/name" or NULL */
};

static char *dup_or_empty(const char *s)
{
	return tu_xstrdup(s ? s : "");
}

static long corr_index(struct audit *a, const char *corr)
{
	for (size_t i = 0; i < a->n_corrs; i++)
		if (strcmp(a->corrs[i], corr) == 0)
			return (long)i;
	return -1;
}

static void add(struct audit *a, const char *stream, natsMsg *m, size_t group)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->recs = tu_xrealloc(a->recs, a->cap * sizeof(*a->recs));
	}
	struct rec *r = &a->recs[a->n++];
	struct tu_bus_meta meta = { 0 };
	if (tu_bus_meta(m, &meta) != TU_OK) {
		/* read by sequence (js_GetMsg), not delivered: no ack subject */
		meta.stream_seq = natsMsg_GetSequence(m);
		meta.ts_ns = natsMsg_GetTime(m);
	}
	r->stream = tu_xstrdup(stream);
	r->seq = meta.stream_seq;
	r->ts = meta.ts_ns;
	r->subject = dup_or_empty(natsMsg_GetSubject(m));
	r->msg_id = dup_or_empty(tu_bus_header(m, TU_HDR_MSG_ID));
	r->type = dup_or_empty(tu_bus_header(m, TU_HDR_TYPE));
	r->corr = dup_or_empty(tu_bus_header(m, TU_HDR_CORRELATION));
	r->len = (size_t)natsMsg_GetDataLength(m);
	r->payload = tu_xmalloc(r->len);
	memcpy(r->payload, natsMsg_GetData(m), r->len);
	r->group = group;
}

/* Does a drift event select its correlation id? */
static bool drift_matches(const struct audit *a, natsMsg *m, const char *corr)
{
	if (a->want_corr != NULL)
		return strcmp(a->want_corr, corr) == 0;
	if (a->want_entity == NULL)
		return true;
	Trueup__V1__DriftEvent *d = trueup__v1__drift_event__unpack(
		NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
	bool ok = false;
	if (d != NULL && d->entity != NULL) {
		char key[1024];
		snprintf(key, sizeof(key), "%s/%s/%s", d->entity->kind, d->entity->namespace_,
			 d->entity->name);
		ok = strcmp(key, a->want_entity) == 0;
	}
	if (d != NULL)
		trueup__v1__drift_event__free_unpacked(d, NULL);
	return ok;
}

struct scan_ctx {
	struct audit *a;
	const char *stream;
	bool is_drift; /* drift events select correlation ids; the rest only join them */
};

static int take(void *ctx, natsMsg *m)
{
	struct scan_ctx *sc = ctx;
	struct audit *a = sc->a;
	const char *corr = tu_bus_header(m, TU_HDR_CORRELATION);
	if (corr == NULL)
		return TU_EXIT_OK;
	long g = corr_index(a, corr);
	bool selects = sc->is_drift ? drift_matches(a, m, corr)
				    : a->want_corr != NULL && strcmp(a->want_corr, corr) == 0;
	if (g < 0 && selects) {
		a->corrs = tu_xrealloc(a->corrs, (a->n_corrs + 1) * sizeof(char *));
		a->corrs[a->n_corrs] = tu_xstrdup(corr);
		g = (long)a->n_corrs++;
	}
	if (g >= 0)
		add(a, sc->stream, m, (size_t)g);
	return TU_EXIT_OK;
}

static int scan_stream(struct tu_cli *cli, tu_bus *bus, struct audit *a, const char *stream,
		       const char *filter, bool is_drift)
{
	struct tu_reader_opts ro = { .filter = filter };
	struct scan_ctx sc = { a, stream, is_drift };
	return tu_cli_read(cli, bus, stream, &ro, NULL, take, &sc);
}

/*
 * For each correlation id, the fact that opened the drift: the event at the
 * drift's opened_seq in TRUEUP_EVENTS (if the stream still holds it).
 */
static void add_openers(tu_bus *bus, struct audit *a)
{
	size_t n = a->n;
	for (size_t g = 0; g < a->n_corrs; g++) {
		for (size_t i = 0; i < n; i++) {
			const struct rec *r = &a->recs[i];
			if (r->group != g || strcmp(r->type, TU_TYPE_DRIFT) != 0)
				continue;
			Trueup__V1__DriftEvent *d =
				trueup__v1__drift_event__unpack(NULL, r->len, r->payload);
			uint64_t seq = d != NULL ? d->opened_seq : 0;
			if (d != NULL)
				trueup__v1__drift_event__free_unpacked(d, NULL);
			natsMsg *m = NULL;
			if (seq > 0 && tu_bus_get_msg(bus, TU_STREAM_EVENTS, seq, &m) == TU_OK) {
				add(a, TU_STREAM_EVENTS, m, g);
				natsMsg_Destroy(m);
			}
			break;
		}
	}
}

/* Order of records with the same timestamp: cause before effect. */
static int stream_rank(const struct rec *r)
{
	if (strcmp(r->type, TU_TYPE_OUTCOME) != 0 && strcmp(r->stream, TU_STREAM_EVENTS) == 0)
		return 0; /* the observation that opened it */
	if (strcmp(r->stream, TU_STREAM_DRIFT) == 0)
		return 1;
	if (strcmp(r->stream, TU_STREAM_CMD) == 0)
		return 2;
	return 3;
}

static int cmp_rec(const void *x, const void *y)
{
	const struct rec *a = x, *b = y;
	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	int ra = stream_rank(a), rb = stream_rank(b);
	if (ra != rb)
		return ra - rb;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int tu_cli_audit(struct tu_cli *cli, int argc, char **argv)
{
	struct tu_cli_verb v = { NULL, NULL, NULL, NULL, usage, 0, 1 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	struct audit a = { 0 };
	if (optind < argc) {
		if (strchr(argv[optind], '/') != NULL)
			a.want_entity = argv[optind];
		else
			a.want_corr = argv[optind];
	}
	tu_bus *bus = NULL;
	rc = tu_cli_open(cli, "trueup-cli", &bus);
	if (rc != TU_EXIT_OK)
		return rc;
	rc = scan_stream(cli, bus, &a, TU_STREAM_DRIFT, NULL, true);
	if (rc == TU_EXIT_OK)
		rc = scan_stream(cli, bus, &a, TU_STREAM_CMD, NULL, false);
	if (rc == TU_EXIT_OK)
		rc = scan_stream(cli, bus, &a, TU_STREAM_EVENTS, TU_SUBJ_OUT ".>", false);
	if (rc != TU_EXIT_OK)
		goto out;
	if (a.n == 0) {
		tu_cli_fail(cli, "no drift, command or outcome matches");
		rc = TU_EXIT_CONFLICT;
		goto out;
	}
	add_openers(bus, &a);
	qsort(a.recs, a.n, sizeof(*a.recs), cmp_rec);
	size_t last_group = (size_t)-1;
	for (size_t i = 0; i < a.n; i++) {
		const struct rec *r = &a.recs[i];
		if (!cli->json && r->group != last_group)
			printf("%scorrelation %s\n", i ? "\n" : "", a.corrs[r->group]);
		last_group = r->group;
		struct tu_cli_msg m = { .stream = r->stream, .seq = r->seq, .ts_ns = r->ts,
					.subject = r->subject, .msg_id = r->msg_id, .type = r->type,
					.corr = r->corr, .payload = r->payload, .len = r->len };
		tu_cli_print_msg(cli, stdout, &m);
	}
out:
	for (size_t i = 0; i < a.n; i++) {
		free(a.recs[i].stream);
		free(a.recs[i].subject);
		free(a.recs[i].msg_id);
		free(a.recs[i].type);
		free(a.recs[i].corr);
		free(a.recs[i].payload);
	}
	free(a.recs);
	for (size_t i = 0; i < a.n_corrs; i++)
		free(a.corrs[i]);
	free(a.corrs);
	tu_bus_destroy(bus, 0);
	return rc;
}
