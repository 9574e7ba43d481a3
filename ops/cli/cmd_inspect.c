/*
 * cmd_inspect.c - `trueup inspect KIND/NAMESPACE/NAME`: what every source says
 * about one entity now (from the view), the drift it is in, and its history
 * (every observation of it in TRUEUP_EVENTS, oldest first).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "contract.h"
#include "ids.h"
#include "pb.h"
#include "pbjson.h"
#include "view.h"
#include "view.pb-c.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup inspect KIND/NAMESPACE/NAME [--history N] [-o json]\n"
		"\n"
		"Prints the entity's state per source from the processor's view, the drift it is\n"
		"in (every rule), and the last N (default 50) observations of it from TRUEUP_EVENTS.\n");
}

struct args {
	size_t history;
};

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	(void)cli;
	struct args *a = ctx;
	if (c != 'n')
		return TU_EXIT_USAGE;
	a->history = strtoul(arg, NULL, 10);
	return TU_EXIT_OK;
}

/* The view's side: the entity record and its drift records. */
static void print_view(struct tu_cli *cli, tu_view *v, const char *kind, const char *ns,
		       const char *name, struct tu_buf *json)
{
	MDB_txn *txn = NULL;
	if (tu_view_begin(v, false, &txn) != TU_OK)
		return;
	const struct tu_view_dbs *db = tu_view_dbs(v);
	char key[1024];
	size_t kn = (size_t)snprintf(key, sizeof(key), "%s%c%s%c%s", kind, 0, ns, 0, name);
	MDB_val k = { kn, key }, d;
	Trueup__View__Entity *e = NULL;
	if (mdb_get(txn, db->entity, &k, &d) == 0)
		e = trueup__view__entity__unpack(NULL, d.mv_size, d.mv_data);
	if (cli->json) {
		tu_buf_puts(json, "\"entity\":");
		if (e != NULL)
			tu_pbjson_write_all(&e->base, json);
		else
			tu_buf_puts(json, "null");
		tu_buf_puts(json, ",\"drift\":[");
	} else if (e == NULL) {
		printf("not in the view: no source has it present\n");
	} else {
		printf("%s/%s/%s\n", kind, ns, name);
		for (size_t i = 0; i < e->n_sources; i++) {
			const Trueup__View__SourceState *s = e->sources[i];
			char last[40] = "-", changed[40] = "-";
			if (s->last_ns > 0)
				tu_time_format(s->last_ns, last, sizeof(last));
			if (s->changed_ns > 0)
				tu_time_format(s->changed_ns, changed, sizeof(changed));
			printf("  %-12s %-7s last seen %s (E%" PRIu64 "), changed %s (E%" PRIu64
			       "), scan %s\n",
			       s->source, s->present ? "present" : "absent", last, s->last_seq, changed,
			       s->changed_seq, s->scan_id);
			for (size_t j = 0; j < s->n_attrs; j++)
				printf("      %s = %s\n", s->attrs[j]->key, s->attrs[j]->value);
		}
	}
	if (e != NULL)
		trueup__view__entity__free_unpacked(e, NULL);
	MDB_cursor *cur = NULL;
	int n = 0;
	if (mdb_cursor_open(txn, db->drift, &cur) == 0) {
		int rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
		while (rc == 0) {
			Trueup__View__Drift *dr = trueup__view__drift__unpack(NULL, d.mv_size, d.mv_data);
			if (dr != NULL && strcmp(dr->entity->kind, kind) == 0 &&
			    strcmp(dr->entity->namespace_, ns) == 0 && strcmp(dr->entity->name, name) == 0) {
				if (cli->json) {
					tu_buf_puts(json, n ? "," : "");
					tu_pbjson_write_all(&dr->base, json);
				} else {
					printf("%s  drift %s: attempt %u, correlation %s: %s\n",
					       n ? "" : "\n", dr->rule, dr->attempt, dr->correlation_id,
					       dr->reason);
				}
				n++;
			}
			if (dr != NULL)
				trueup__view__drift__free_unpacked(dr, NULL);
			rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
		}
		mdb_cursor_close(cur);
	}
	if (cli->json)
		tu_buf_puts(json, "],\"history\":[");
	else if (n == 0)
		printf("\n  no drift\n");
	tu_view_abort(v, txn);
}

struct history {
	struct tu_cli *cli;
	const char *ns, *name;
	natsMsg **keep; /* ring of the last `max` matching messages */
	size_t max, n, head;
};

static int take(void *ctx, natsMsg *m)
{
	struct history *h = ctx;
	/* the filter trueup.obs.*.<kind> leaves only observations (never `_scan`) */
	Trueup__V1__ObservedState *o = trueup__v1__observed_state__unpack(
		NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
	bool match = o != NULL && o->entity != NULL && strcmp(o->entity->namespace_, h->ns) == 0 &&
		     strcmp(o->entity->name, h->name) == 0;
	if (o != NULL)
		trueup__v1__observed_state__free_unpacked(o, NULL);
	if (!match || h->max == 0)
		return TU_EXIT_OK;
	/* Keep a copy: the list is destroyed after this batch. */
	natsMsg *copy = NULL;
	natsMsg_Create(&copy, natsMsg_GetSubject(m), natsMsg_GetReply(m), natsMsg_GetData(m),
		       natsMsg_GetDataLength(m));
	const char *type = tu_bus_header(m, TU_HDR_TYPE);
	if (copy != NULL && type != NULL)
		natsMsgHeader_Set(copy, TU_HDR_TYPE, type);
	size_t slot = (h->head + h->n) % h->max;
	if (h->n == h->max) {
		natsMsg_Destroy(h->keep[h->head]);
		slot = h->head;
		h->head = (h->head + 1) % h->max;
	} else {
		h->n++;
	}
	h->keep[slot] = copy;
	return TU_EXIT_OK;
}

int tu_cli_inspect(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "history", required_argument, NULL, 'n' },
					      { NULL, 0, NULL, 0 } };
	struct args a = { .history = 50 };
	struct tu_cli_verb v = { opts, NULL, on_opt, &a, usage, 1, 1 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	char ref[1024];
	snprintf(ref, sizeof(ref), "%s", argv[optind]);
	char *kind = ref, *ns = strchr(ref, '/'), *name = NULL;
	if (ns != NULL) {
		*ns++ = '\0';
		name = strchr(ns, '/');
	}
	if (name == NULL || !tu_name_valid(kind)) {
		tu_cli_fail(cli, "%s is not KIND/NAMESPACE/NAME", argv[optind]);
		return TU_EXIT_USAGE;
	}
	*name++ = '\0';
	tu_bus *bus = NULL;
	rc = tu_cli_open(cli, "trueup-cli", &bus);
	if (rc != TU_EXIT_OK)
		return rc;
	struct tu_buf json;
	tu_buf_init(&json, 1 << 26);
	tu_buf_puts(&json, "{");
	char err[1024];
	tu_view *view = NULL;
	if (tu_view_open(cli->cfg->processor.view, cli->cfg->processor.map_size, TU_SYNC_NONE, false,
			 &view, err, sizeof(err)) == TU_OK) {
		print_view(cli, view, kind, ns, name, &json);
		tu_view_close(view);
	} else if (cli->json) {
		tu_buf_puts(&json, "\"entity\":null,\"drift\":[],\"history\":[");
	} else {
		printf("view: %s\n", err);
	}
	char filter[1200];
	snprintf(filter, sizeof(filter), "%s.*.%s", TU_SUBJ_OBS, kind);
	struct tu_reader_opts ro = { .filter = filter };
	struct history h = { cli, ns, name, calloc(a.history + 1, sizeof(natsMsg *)), a.history, 0, 0 };
	rc = tu_cli_read(cli, bus, TU_STREAM_EVENTS, &ro, NULL, take, &h);
	if (!cli->json)
		printf("\nhistory (last %zu observations):\n", h.n);
	for (size_t i = 0; i < h.n; i++) {
		natsMsg *m = h.keep[(h.head + i) % h.max];
		if (cli->json) {
			const void *data = natsMsg_GetData(m);
			Trueup__V1__ObservedState *o = trueup__v1__observed_state__unpack(
				NULL, (size_t)natsMsg_GetDataLength(m), data);
			tu_buf_puts(&json, i ? "," : "");
			if (o != NULL) {
				tu_pbjson_write_all(&o->base, &json);
				trueup__v1__observed_state__free_unpacked(o, NULL);
			} else {
				tu_buf_puts(&json, "null");
			}
		} else {
			tu_cli_print_stored(cli, stdout, TU_STREAM_EVENTS, m);
		}
		natsMsg_Destroy(m);
	}
	free(h.keep);
	if (cli->json) {
		tu_buf_puts(&json, "]}\n");
		fputs(tu_buf_cstr(&json), stdout);
	}
	tu_buf_release(&json);
	tu_bus_destroy(bus, 0);
	return rc;
}
