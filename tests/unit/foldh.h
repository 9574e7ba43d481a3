/*
 * foldh.h - a harness for tests of the processor's fold: a fresh view and
 * fold per test, events folded one per batch, derived messages taken from
 * the outbox into h->outs. Included by fold_test.c and rules_test.c.
 */
#ifndef TU_TEST_FOLDH_H
#define TU_TEST_FOLDH_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "contract.h"
#include "fold.h"
#include "pb.h"
#include "testmain.h"
#include "view.h"
#include "view.pb-c.h"

#define T0  INT64_C(1763780000000000000) /* some fixed instant */
#define SEC INT64_C(1000000000)

/* A derived message taken from the outbox. */
struct out {
	char subject[256];
	char msg_id[96];
	char type[64];
	uint8_t payload[8192];
	size_t len;
};

struct h {
	char dir[256];
	struct tu_config *cfg;
	tu_view *view;
	tu_fold *fold;
	uint64_t seq;
	int64_t now;
	struct out outs[4096];
	size_t n_outs;
};

/* Opens a fresh view and fold for the policy in yaml. */
static __attribute__((unused)) struct h *h_open(const char *yaml)
{
	struct h *h = calloc(1, sizeof(*h));
	char err[512];
	if (tu_config_load_string("fold_test.yaml", yaml, strlen(yaml), &h->cfg, err,
				  sizeof(err)) != TU_OK)
		fail_msg("config: %s", err);
	snprintf(h->dir, sizeof(h->dir), "/tmp/trueup-fold-test.XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	assert_int_equal(
	    tu_view_open(h->dir, 64 << 20, TU_SYNC_NONE, true, &h->view, err, sizeof(err)), TU_OK);
	assert_int_equal(tu_fold_create(h->cfg, h->view, &h->fold, err, sizeof(err)), TU_OK);
	h->now = T0;
	return h;
}

static __attribute__((unused)) void h_free(struct h *h)
{
	char cmd[512];
	tu_fold_destroy(h->fold);
	tu_view_close(h->view);
	tu_config_destroy(h->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", h->dir);
	assert_int_equal(system(cmd), 0);
	free(h);
}

/* Moves the outbox into h->outs (like replay) inside txn. */
static __attribute__((unused)) tu_status take_outbox(void *ctx, MDB_txn *txn)
{
	struct h *h = ctx;
	const struct tu_view_dbs *db = tu_view_dbs(h->view);
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	assert_int_equal(mdb_cursor_open(txn, db->outbox, &cur), 0);
	int rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		Trueup__View__OutboxEntry *e =
		    trueup__view__outbox_entry__unpack(NULL, d.mv_size, d.mv_data);
		assert_non_null(e);
		assert_true(h->n_outs < 4096);
		struct out *o = &h->outs[h->n_outs++];
		snprintf(o->subject, sizeof(o->subject), "%s", e->subject);
		snprintf(o->msg_id, sizeof(o->msg_id), "%s", e->msg_id);
		snprintf(o->type, sizeof(o->type), "%s", e->type);
		assert_true(e->payload.len <= sizeof(o->payload));
		memcpy(o->payload, e->payload.data, e->payload.len);
		o->len = e->payload.len;
		trueup__view__outbox_entry__free_unpacked(e, NULL);
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return tu_view_status(mdb_drop(txn, db->outbox, 0));
}

/* Folds one event as its own batch. */
static __attribute__((unused)) void fold_one(struct h *h, const char *subject, const char *type,
					     const void *data, size_t len)
{
	MDB_txn *txn = NULL;
	assert_int_equal(tu_view_begin(h->view, true, &txn), TU_OK);
	assert_int_equal(tu_fold_begin(h->fold, txn), TU_OK);
	struct tu_fold_event ev = {.seq = ++h->seq,
				   .ts_ns = h->now,
				   .subject = subject,
				   .type = type,
				   .data = data,
				   .len = len};
	assert_int_equal(tu_fold_event(h->fold, &ev), TU_OK);
	assert_int_equal(tu_fold_end(h->fold), TU_OK);
	assert_int_equal(take_outbox(h, txn), TU_OK);
	assert_int_equal(tu_view_commit(h->view, txn), TU_OK);
}

static __attribute__((unused)) void fold_msg(struct h *h, const char *subject, const char *type,
					     const ProtobufCMessage *m)
{
	uint8_t buf[16384];
	size_t n = protobuf_c_message_get_packed_size(m);
	assert_true(n <= sizeof(buf));
	protobuf_c_message_pack(m, buf);
	fold_one(h, subject, type, buf, n);
}

static __attribute__((unused)) void obs(struct h *h, const char *source, const char *scan_id,
					const char *kind, const char *name, bool deleted,
					const char *attr_key, const char *attr_val)
{
	Trueup__V1__ObservedState o = TRUEUP__V1__OBSERVED_STATE__INIT;
	Trueup__V1__EntityRef e = TRUEUP__V1__ENTITY_REF__INIT;
	Trueup__V1__Attr a = TRUEUP__V1__ATTR__INIT;
	Trueup__V1__Attr *attrs[1] = {&a};
	e.kind = (char *)kind;
	e.namespace_ = "default";
	e.name = (char *)name;
	o.source = (char *)source;
	o.scan_id = (char *)scan_id;
	o.entity = &e;
	o.deleted = deleted;
	if (attr_key != NULL) {
		a.key = (char *)attr_key;
		a.value = (char *)attr_val;
		o.attrs = attrs;
		o.n_attrs = 1;
	}
	char subject[256];
	snprintf(subject, sizeof(subject), "trueup.obs.%s.%s", source, kind);
	fold_msg(h, subject, TU_TYPE_OBSERVED, &o.base);
}

static __attribute__((unused)) void marker(struct h *h, const char *source, const char *scan_id,
					   bool begin, bool full, bool complete)
{
	Trueup__V1__ScanMarker m = TRUEUP__V1__SCAN_MARKER__INIT;
	m.source = (char *)source;
	m.scan_id = (char *)scan_id;
	m.phase = begin ? TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_BEGIN
			: TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_END;
	m.full = full;
	m.complete = complete;
	char subject[256];
	snprintf(subject, sizeof(subject), "trueup.obs.%s._scan", source);
	fold_msg(h, subject, TU_TYPE_SCAN, &m.base);
}

static __attribute__((unused)) void tick(struct h *h)
{
	Trueup__V1__Tick t = TRUEUP__V1__TICK__INIT;
	t.bucket = h->now / SEC;
	t.interval_ms = 1000;
	fold_msg(h, TU_SUBJ_TICK, TU_TYPE_TICK, &t.base);
}

static __attribute__((unused)) void outcome(struct h *h, const char *cmd_id, const char *action,
					    Trueup__V1__Outcome__Result r)
{
	Trueup__V1__Outcome o = TRUEUP__V1__OUTCOME__INIT;
	o.command_id = (char *)cmd_id;
	o.target = "redis";
	o.action = (char *)action;
	o.result = r;
	char subject[256];
	snprintf(subject, sizeof(subject), "trueup.out.redis.%s", cmd_id);
	fold_msg(h, subject, TU_TYPE_OUTCOME, &o.base);
}

/* Observes an entity in a namespace with attributes kv = { key, value, ..., NULL }. */
static __attribute__((unused)) void obs_ns(struct h *h, const char *source, const char *scan_id,
					   const char *kind, const char *ns, const char *name,
					   bool deleted, const char *const *kv)
{
	Trueup__V1__ObservedState o = TRUEUP__V1__OBSERVED_STATE__INIT;
	Trueup__V1__EntityRef e = TRUEUP__V1__ENTITY_REF__INIT;
	Trueup__V1__Attr a[32];
	Trueup__V1__Attr *attrs[32];
	size_t n = 0;
	for (; kv != NULL && kv[2 * n] != NULL; n++) {
		assert_true(n < 32);
		trueup__v1__attr__init(&a[n]);
		a[n].key = (char *)kv[2 * n];
		a[n].value = (char *)kv[2 * n + 1];
		attrs[n] = &a[n];
	}
	tu_pb_attrs_sort(attrs, n);
	e.kind = (char *)kind;
	e.namespace_ = (char *)ns;
	e.name = (char *)name;
	o.source = (char *)source;
	o.scan_id = (char *)scan_id;
	o.entity = &e;
	o.deleted = deleted;
	o.attrs = attrs;
	o.n_attrs = n;
	char subject[256];
	snprintf(subject, sizeof(subject), "trueup.obs.%s.%s", source, kind);
	fold_msg(h, subject, TU_TYPE_OBSERVED, &o.base);
}

/* A heartbeat of service/instance (stopping: its goodbye). */
static __attribute__((unused)) void heartbeat(struct h *h, const char *service,
					      const char *instance, int64_t ttl_ms, bool stopping)
{
	Trueup__V1__Heartbeat hb = TRUEUP__V1__HEARTBEAT__INIT;
	hb.service = (char *)service;
	hb.instance = (char *)instance;
	hb.ttl_ms = ttl_ms;
	hb.stopping = stopping;
	char subject[256];
	snprintf(subject, sizeof(subject), "trueup.hb.%s.%s", service, instance);
	fold_msg(h, subject, TU_TYPE_HEARTBEAT, &hb.base);
}

/* Decoded derived messages of a type, in order. */
static __attribute__((unused)) size_t find(struct h *h, const char *type, size_t from, size_t *idx,
					   size_t max)
{
	size_t n = 0;
	for (size_t i = from; i < h->n_outs && n < max; i++)
		if (strcmp(h->outs[i].type, type) == 0)
			idx[n++] = i;
	return n;
}

static __attribute__((unused)) Trueup__V1__DriftEvent *drift_at(struct h *h, size_t i)
{
	Trueup__V1__DriftEvent *d =
	    trueup__v1__drift_event__unpack(NULL, h->outs[i].len, h->outs[i].payload);
	assert_non_null(d);
	return d;
}

static __attribute__((unused)) Trueup__V1__FixCommand *cmd_at(struct h *h, size_t i)
{
	Trueup__V1__FixCommand *c =
	    trueup__v1__fix_command__unpack(NULL, h->outs[i].len, h->outs[i].payload);
	assert_non_null(c);
	return c;
}

#endif
