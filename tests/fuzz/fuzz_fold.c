/*
 * fuzz_fold.c - the processor's fold (processor/fold.h) on arbitrary
 * TRUEUP_EVENTS messages: every fact type (ObservedState, ScanMarker,
 * Heartbeat, Outcome, Approval, Tick) is decoded from fuzzed bytes on a
 * fuzzed subject, folded into a view under a policy with every rule type,
 * and what the fold derives is read back from the outbox.
 *
 * Input: records until the end, each
 *   u8 flags | u8 n | n bytes subject | u16 m (LE) | m bytes body
 * flags: bits 0-1 the Trueup-Type given: 0 none (as the processor does), 1
 * the subject's own, 2 a wrong one, 3 none and a batch boundary before the
 * event; bit 2 a redelivery (same sequence as the last event); bits 3-7 how
 * far the clock moves, in 4 s steps (timers: `for:`, heartbeat TTLs, grace).
 *
 * One view (a temp directory) serves every input: an input is folded in one
 * write transaction that is aborted at the end, so each input starts from
 * an empty view and the run stays deterministic. A batch boundary ends the
 * fold's batch (tu_fold_end writes meta, the outbox is read back) and begins
 * the next in the same transaction: what the fold caches per batch is
 * dropped as after a commit. (Nested transactions would be closer, but LMDB
 * allocates megabytes for each, which cost 90% of the time.)
 *
 * Checks (trueup's promises): the fold returns TU_OK for any input (bad
 * input is parked, never an error); every derived message decodes as the
 * type its outbox entry names, on a subject of valid tokens, and its strings
 * are UTF-8 (proto3: a consumer in another language refuses anything else).
 */
#include <lmdb.h>
#include <unistd.h>

#include "bounds.h"
#include "contract.h"
#include "fold.h"
#include "fold_policy.h"
#include "fuzz.h"
#include "ids.h"
#include "pb.h"
#include "pbjson.h"
#include "view.h"
#include "view.pb-c.h"

#define T0 INT64_C(1763780000000000000) /* the clock of the first event */
#define STEP INT64_C(4000000000)          /* 4 s: one unit of a clock move */

static struct tu_config *g_cfg;
static tu_view *g_view;
static tu_fold *g_fold;
static char g_dir[64];

static void cleanup(void)
{
	char cmd[128];
	tu_fold_destroy(g_fold);
	tu_view_close(g_view);
	tu_config_destroy(g_cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_fold: could not remove %s\n", g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	(void)argc;
	(void)argv;
	fz_quiet_log();
	g_cfg = fz_config(tu_fuzz_fold_policy);
	snprintf(g_dir, sizeof(g_dir), "/tmp/trueup-fuzz-fold.XXXXXX");
	if (mkdtemp(g_dir) == NULL ||
	    tu_view_open(g_dir, 256 << 20, TU_SYNC_NONE, true, &g_view, err, sizeof(err)) != TU_OK ||
	    tu_fold_create(g_cfg, g_view, &g_fold, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "fuzz_fold: cannot open a view in %s: %s\n", g_dir, err);
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* Headers of a parked event (the fold asks only then). */
static size_t headers(const void *src, struct tu_arena *a, const char ***keys, const char ***vals)
{
	const char *type = src;
	size_t n = type != NULL ? 2 : 1;
	*keys = tu_arena_alloc(a, n * sizeof(**keys));
	*vals = tu_arena_alloc(a, n * sizeof(**vals));
	(*keys)[0] = TU_HDR_MSG_ID;
	(*vals)[0] = "fuzz-1";
	if (type != NULL) {
		(*keys)[1] = TU_HDR_TYPE;
		(*vals)[1] = type;
	}
	return n;
}

/* Every token of a derived message's subject is valid. */
static bool subject_valid(const char *s)
{
	char tok[TU_MAX_SUBJECT];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(tok))
		return false;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		memcpy(tok, p, l);
		tok[l] = '\0';
		if (!tu_token_valid(tok))
			return false;
		if (dot == NULL)
			return true;
		p = dot + 1;
	}
}

/* Reads back and empties the outbox of txn; every entry must decode. */
static void drain_outbox(MDB_txn *txn)
{
	const struct tu_view_dbs *db = tu_view_dbs(g_view);
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	FZ_CHECK(mdb_cursor_open(txn, db->outbox, &cur) == 0, "cursor");
	for (int rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		Trueup__View__OutboxEntry *e =
			trueup__view__outbox_entry__unpack(NULL, d.mv_size, d.mv_data);
		FZ_CHECK(e != NULL, "an outbox entry does not decode");
		FZ_CHECK(subject_valid(e->subject), "derived subject \"%s\"", e->subject);
		const ProtobufCMessageDescriptor *desc = tu_pbjson_descriptor(e->type);
		FZ_CHECK(desc != NULL, "derived type \"%s\"", e->type);
		ProtobufCMessage *m =
			protobuf_c_message_unpack(desc, NULL, e->payload.len, e->payload.data);
		FZ_CHECK(m != NULL, "a derived %s does not decode", e->type);
		const char *field = NULL;
		FZ_CHECK(tu_pb_text_valid(m, &field), "a derived %s: %s is not UTF-8", e->type,
			 field);
		protobuf_c_message_free_unpacked(m, NULL);
		trueup__view__outbox_entry__free_unpacked(e, NULL);
	}
	mdb_cursor_close(cur);
	FZ_CHECK(mdb_drop(txn, db->outbox, 0) == 0, "drop outbox");
}

static void batch_begin(MDB_txn *txn)
{
	FZ_CHECK(tu_fold_begin(g_fold, txn) == TU_OK, "fold begin");
}

static void batch_end(MDB_txn *txn)
{
	FZ_CHECK(tu_fold_end(g_fold) == TU_OK, "fold end");
	drain_outbox(txn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	MDB_txn *txn = NULL;
	FZ_CHECK(mdb_txn_begin(tu_view_env(g_view), NULL, 0, &txn) == 0, "begin");
	batch_begin(txn);
	uint64_t seq = 0;
	int64_t now = T0;
	while (in.n > 0) {
		uint8_t flags = fz_u8(&in);
		size_t sl = 0, bl = 0;
		const uint8_t *sp = fz_bytes(&in, fz_u8(&in), &sl);
		char *subject = fz_strndup(sp, sl);
		const uint8_t *bp = fz_bytes(&in, fz_u16(&in), &bl);
		/* An exact copy: an overread of the body is then a sanitizer report. */
		void *body = bl > 0 ? malloc(bl) : NULL;
		if (bl > 0)
			memcpy(body, bp, bl);
		const char *type = NULL;
		switch (flags & 3) {
		case 1: type = tu_fold_subject_type(subject); break;
		case 2: type = TU_TYPE_DEAD; break;
		case 3:
			batch_end(txn);
			batch_begin(txn);
			break;
		default: break;
		}
		if ((flags & 4) == 0 || seq == 0)
			seq++;
		now += (int64_t)(flags >> 3) * STEP;
		struct tu_fold_event ev = { .seq = seq,
					    .ts_ns = now,
					    .subject = subject,
					    .type = type,
					    .data = body,
					    .len = bl,
					    .headers = headers,
					    .header_src = type };
		tu_status st = tu_fold_event(g_fold, &ev);
		FZ_CHECK(st == TU_OK, "tu_fold_event: %s", tu_status_str(st));
		free(body);
		free(subject);
	}
	batch_end(txn);
	mdb_txn_abort(txn);
	return 0;
}
