/*
 * mkseeds.c - writes the seed corpora of the fuzz targets into
 * DIR/<target>/ (tests/fuzz/corpus is what it wrote; run it again after a
 * change to an input format or to the fold policy):
 *
 *   build/fuzz/tests/fuzz/mkseeds tests/fuzz/corpus
 *
 * The seeds are the unit tests' inputs in each target's input format: the
 * five cases' facts for the fold (folded here under fold_policy.h, so that
 * the outcomes and approvals they end with name the commands the fold
 * really derived), those commands and the targets' unit-test commands for
 * the actuator, every message type for the CLI's printer, and the
 * replies, documents, templates, quantities and configs of the unit tests
 * for the others. Output is deterministic.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "contract.h"
#include "fold.h"
#include "fold_policy.h"
#include "log.h"
#include "mongoconn.h"
#include "pb.h"
#include "view.h"
#include "view.pb-c.h"

#define T0 INT64_C(1763780000000000000)
#define STEP INT64_C(4000000000)
#define MAX_CMDS 64

static const char *g_out; /* the corpus directory */

/* ---- files --------------------------------------------------------------------------- */

static void write_file(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", g_out, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", g_out, target, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* Text seeds: NUL-separated fields given as one string with "\0" inside: n bytes. */
static void write_text(const char *target, const char *name, const char *s, size_t n)
{
	write_file(target, name, s, n);
}

#define TEXT(target, name, lit) write_text(target, name, lit, sizeof(lit) - 1)

/* ---- a growing byte buffer ------------------------------------------------------------- */

struct bytes {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void put_u8(struct bytes *b, uint8_t v)
{
	put(b, &v, 1);
}

/* ---- fold seeds: built and folded at once ---------------------------------------------- */

struct foldseed {
	struct bytes b;          /* the seed */
	MDB_txn *txn;            /* its fold */
	uint64_t seq;
	int64_t now;
	size_t n_events, n_drift, n_dead; /* for the summary line */
	Trueup__V1__FixCommand *cmds[MAX_CMDS]; /* derived so far (plain unpacks) */
	char *cmd_subjects[MAX_CMDS];
	size_t n_cmds;
};

static struct tu_config *g_cfg;
static tu_view *g_view;
static tu_fold *g_fold;

static void take_outbox(struct foldseed *s)
{
	const struct tu_view_dbs *db = tu_view_dbs(g_view);
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	if (mdb_cursor_open(s->txn, db->outbox, &cur) != 0)
		abort();
	for (int rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		Trueup__View__OutboxEntry *e =
			trueup__view__outbox_entry__unpack(NULL, d.mv_size, d.mv_data);
		s->n_drift += strcmp(e->type, TU_TYPE_DRIFT) == 0;
		s->n_dead += strcmp(e->type, TU_TYPE_DEAD) == 0;
		if (strcmp(e->type, TU_TYPE_COMMAND) == 0 && s->n_cmds < MAX_CMDS) {
			s->cmds[s->n_cmds] = trueup__v1__fix_command__unpack(NULL, e->payload.len,
									  e->payload.data);
			s->cmd_subjects[s->n_cmds++] = strdup(e->subject);
		}
		trueup__view__outbox_entry__free_unpacked(e, NULL);
	}
	mdb_cursor_close(cur);
	mdb_drop(s->txn, db->outbox, 0);
}

static void fs_begin(struct foldseed *s)
{
	memset(s, 0, sizeof(*s));
	s->now = T0;
	if (mdb_txn_begin(tu_view_env(g_view), NULL, 0, &s->txn) != 0 ||
	    tu_fold_begin(g_fold, s->txn) != TU_OK)
		abort();
}

/* Writes the seed, then forgets its fold; the commands go to the actuator corpus. */
static void fs_end(struct foldseed *s, const char *name)
{
	tu_fold_end(g_fold);
	take_outbox(s);
	mdb_txn_abort(s->txn);
	write_file("fold", name, s->b.p, s->b.n);
	fprintf(stderr, "fold/%s: %zu events, %zu drift events, %zu commands, %zu dead letters\n",
		name, s->n_events, s->n_drift, s->n_cmds, s->n_dead);
	for (size_t i = 0; i < s->n_cmds; i++) {
		struct bytes a = { 0 };
		char file[128];
		size_t n = protobuf_c_message_get_packed_size(&s->cmds[i]->base);
		uint8_t *buf = malloc(n + 1);
		protobuf_c_message_pack(&s->cmds[i]->base, buf);
		put_u8(&a, 0x00); /* redis, the command's type, the action's subject */
		put(&a, s->cmd_subjects[i], strlen(s->cmd_subjects[i]) + 1);
		put(&a, buf, n);
		snprintf(file, sizeof(file), "%s-%zu", name, i);
		write_file("actuator", file, a.p, a.n);
		free(buf);
		free(a.p);
		trueup__v1__fix_command__free_unpacked(s->cmds[i], NULL);
		free(s->cmd_subjects[i]);
	}
	free(s->b.p);
}

/*
 * One event: flags as in fuzz_fold.c (type mode in bits 0-1, redelivery in
 * bit 2, clock steps in bits 3-7), its subject and body; folded at once.
 */
static void ev_raw(struct foldseed *s, uint8_t flags, const char *subject, const void *body,
		   size_t len)
{
	size_t sl = strlen(subject);
	put_u8(&s->b, flags);
	put_u8(&s->b, (uint8_t)sl);
	put(&s->b, subject, sl);
	put_u8(&s->b, (uint8_t)(len & 0xff));
	put_u8(&s->b, (uint8_t)(len >> 8));
	put(&s->b, body, len);

	if ((flags & 3) == 3) {
		tu_fold_end(g_fold);
		take_outbox(s);
		tu_fold_begin(g_fold, s->txn);
	}
	s->n_events++;
	if ((flags & 4) == 0 || s->seq == 0)
		s->seq++;
	s->now += (int64_t)(flags >> 3) * STEP;
	const char *type = (flags & 3) == 1 ? tu_fold_subject_type(subject)
			   : (flags & 3) == 2 ? TU_TYPE_DEAD
					      : NULL;
	struct tu_fold_event e = { .seq = s->seq, .ts_ns = s->now, .subject = subject,
				   .type = type, .data = body, .len = len };
	if (tu_fold_event(g_fold, &e) != TU_OK)
		abort();
	take_outbox(s);
}

static void ev(struct foldseed *s, uint8_t flags, const char *subject, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n + 1);
	protobuf_c_message_pack(m, buf);
	ev_raw(s, flags, subject, buf, n);
	free(buf);
}

/* Attributes from "k", "v", ..., NULL, sorted. */
static size_t attrs(Trueup__V1__Attr *a, Trueup__V1__Attr **pa, va_list ap)
{
	size_t n = 0;
	for (const char *k = va_arg(ap, const char *); k != NULL; k = va_arg(ap, const char *)) {
		trueup__v1__attr__init(&a[n]);
		a[n].key = (char *)k;
		a[n].value = va_arg(ap, char *);
		pa[n] = &a[n];
		n++;
	}
	tu_pb_attrs_sort(pa, n);
	return n;
}

static void obs(struct foldseed *s, uint8_t flags, const char *source, const char *scan,
		const char *kind, const char *ns, const char *name, int deleted, ...)
{
	Trueup__V1__ObservedState o = TRUEUP__V1__OBSERVED_STATE__INIT;
	Trueup__V1__EntityRef e = TRUEUP__V1__ENTITY_REF__INIT;
	Trueup__V1__Attr a[16];
	Trueup__V1__Attr *pa[16];
	char subject[256];
	va_list ap;
	va_start(ap, deleted);
	o.n_attrs = attrs(a, pa, ap);
	va_end(ap);
	e.kind = (char *)kind;
	e.namespace_ = (char *)ns;
	e.name = (char *)name;
	o.source = (char *)source;
	o.scan_id = (char *)scan;
	o.entity = &e;
	o.deleted = deleted;
	o.attrs = pa;
	snprintf(subject, sizeof(subject), "trueup.obs.%s.%s", source, kind);
	ev(s, flags, subject, &o.base);
}

static void marker(struct foldseed *s, uint8_t flags, const char *source, const char *scan,
		   bool begin, bool full, bool complete)
{
	Trueup__V1__ScanMarker m = TRUEUP__V1__SCAN_MARKER__INIT;
	char subject[256];
	m.source = (char *)source;
	m.scan_id = (char *)scan;
	m.phase = begin ? TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_BEGIN
			: TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_END;
	m.full = full;
	m.complete = complete;
	snprintf(subject, sizeof(subject), "trueup.obs.%s._scan", source);
	ev(s, flags, subject, &m.base);
}

static void tick(struct foldseed *s, uint8_t steps)
{
	Trueup__V1__Tick t = TRUEUP__V1__TICK__INIT;
	t.interval_ms = 1000;
	t.bucket = (s->now + (int64_t)steps * STEP) / INT64_C(1000000000);
	ev(s, (uint8_t)(steps << 3), TU_SUBJ_TICK, &t.base);
}

static void heartbeat(struct foldseed *s, uint8_t flags, const char *service, const char *inst,
		      int64_t ttl_ms, bool stopping)
{
	Trueup__V1__Heartbeat h = TRUEUP__V1__HEARTBEAT__INIT;
	char subject[256];
	h.service = (char *)service;
	h.instance = (char *)inst;
	h.ttl_ms = ttl_ms;
	h.stopping = stopping;
	snprintf(subject, sizeof(subject), "trueup.hb.%s.%s", service, inst);
	ev(s, flags, subject, &h.base);
}

/* One poll of the app "web" wanting 2 instances: a complete full scan of do. */
static void app_poll(struct foldseed *s, const char *scan)
{
	marker(s, 1 << 3, "do", scan, true, true, false);
	obs(s, 0, "do", scan, "app", "default", "web", false, "instance_count", "2", NULL);
	marker(s, 0, "do", scan, false, true, true);
}

/* Outcomes (and, for proposed commands, approvals) of every command derived so far. */
static void settle(struct foldseed *s, Trueup__V1__Outcome__Result result, size_t from)
{
	for (size_t i = from; i < s->n_cmds; i++) {
		const Trueup__V1__FixCommand *c = s->cmds[i];
		char subject[256];
		if (c->mode == TRUEUP__V1__MODE__MODE_PROPOSE) {
			Trueup__V1__Approval a = TRUEUP__V1__APPROVAL__INIT;
			a.command_id = c->command_id;
			a.approved = true;
			a.approver = "seed";
			snprintf(subject, sizeof(subject), "%s.%s", TU_SUBJ_APPROVE, c->command_id);
			ev(s, 0, subject, &a.base);
		}
		Trueup__V1__Outcome o = TRUEUP__V1__OUTCOME__INIT;
		o.command_id = c->command_id;
		o.correlation_id = c->correlation_id;
		o.rule = c->rule;
		o.target = c->target;
		o.action = c->action;
		o.entity = c->entity;
		o.result = result;
		o.attempt = c->attempt;
		o.delivery = 1;
		snprintf(subject, sizeof(subject), "%s.%s.%s", TU_SUBJ_OUT, c->target, c->command_id);
		ev(s, 1 << 3, subject, &o.base);
	}
}

static void fold_seeds(void)
{
	struct foldseed s;
	char err[512], dir[64], cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/trueup-mkseeds.XXXXXX");
	if (mkdtemp(dir) == NULL || tu_view_open(dir, 64 << 20, TU_SYNC_NONE, true, &g_view, err,
					sizeof(err)) != TU_OK ||
	    tu_fold_create(g_cfg, g_view, &g_fold, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "mkseeds: view: %s\n", err);
		exit(1);
	}

	/* ghost worker: declared 1-2, redis 1-3 (3 initializing), counter 7 */
	fs_begin(&s);
	marker(&s, 0, "declared", "d1", true, true, false);
	obs(&s, 0, "declared", "d1", "worker", "default", "k3s-worker-1", false, NULL);
	obs(&s, 0, "declared", "d1", "worker", "default", "k3s-worker-2", false, NULL);
	marker(&s, 0, "declared", "d1", false, true, true);
	marker(&s, 3, "redis", "r1", true, true, false);
	obs(&s, 0, "redis", "r1", "worker", "default", "k3s-worker-1", false, "status", "ready",
	    NULL);
	obs(&s, 0, "redis", "r1", "worker", "default", "k3s-worker-3", false, "status",
	    "initializing", NULL);
	obs(&s, 1, "redis", "r1", "counter", "default", "workers", false, "value", "7", NULL);
	marker(&s, 0, "redis", "r1", false, true, true);
	tick(&s, 3);
	settle(&s, TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED, 0);
	marker(&s, 3, "redis", "r2", true, true, false);
	obs(&s, 0, "redis", "r2", "worker", "default", "k3s-worker-1", false, "status", "ready",
	    NULL);
	obs(&s, 0, "redis", "r2", "worker", "default", "k3s-worker-2", false, "status", "ready",
	    NULL);
	obs(&s, 0, "redis", "r2", "counter", "default", "workers", false, "value", "3", NULL);
	marker(&s, 0, "redis", "r2", false, true, true);
	fs_end(&s, "ghost-worker");

	/* a fix that did not hold: the same drift again, then escalation */
	fs_begin(&s);
	marker(&s, 0, "declared", "d1", true, true, false);
	marker(&s, 0, "declared", "d1", false, true, true);
	marker(&s, 0, "redis", "r1", true, true, false);
	obs(&s, 0, "redis", "r1", "worker", "default", "k3s-worker-9", false, "status", "ready",
	    NULL);
	marker(&s, 0, "redis", "r1", false, true, true);
	tick(&s, 3);
	settle(&s, TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT, 0);
	size_t n = s.n_cmds;
	marker(&s, 1, "redis", "r2", true, true, false);
	obs(&s, 0, "redis", "r2", "worker", "default", "k3s-worker-9", false, "status", "ready",
	    NULL);
	marker(&s, 0, "redis", "r2", false, true, true);
	tick(&s, 3);
	settle(&s, TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED, n);
	marker(&s, 1, "redis", "r3", true, true, false);
	obs(&s, 0, "redis", "r3", "worker", "default", "k3s-worker-9", false, "status", "ready",
	    NULL);
	marker(&s, 0, "redis", "r3", false, true, true);
	fs_end(&s, "escalation");

	/* database spec drift */
	fs_begin(&s);
	marker(&s, 0, "kube", "k1", true, true, false);
	obs(&s, 0, "kube", "k1", "database", "shop", "orders", false, "storage", "10Gi",
	    "replicas", "3", "tls", "true", "engine", "postgres", NULL);
	marker(&s, 0, "kube", "k1", false, true, true);
	marker(&s, 0, "mongo", "m1", true, true, false);
	obs(&s, 0, "mongo", "m1", "database", "shop", "orders", false, "storage", "20Gi",
	    "replicas", "3.0", "tls", "yes", "engine", "postgres", NULL);
	obs(&s, 0, "mongo", "m1", "database", "shop", "carts", false, "storage", "lots", NULL);
	marker(&s, 0, "mongo", "m1", false, true, true);
	settle(&s, TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED, 0);
	obs(&s, 3, "mongo", "m2", "database", "shop", "orders", false, "storage", "10240Mi",
	    "replicas", "3", "tls", "true", "engine", "postgres", NULL);
	fs_end(&s, "database-spec");

	/* replica count from heartbeats, confirmed over polls */
	fs_begin(&s);
	app_poll(&s, "o1");
	heartbeat(&s, 0, "web", "web-1", 30000, false);
	heartbeat(&s, 0, "web", "web-2", 30000, false);
	heartbeat(&s, 0, "web", "web-3", 30000, false);
	app_poll(&s, "o2");
	app_poll(&s, "o3");
	app_poll(&s, "o4");
	settle(&s, TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED, 0);
	heartbeat(&s, 0, "batch", "b-1", 4000, false);
	tick(&s, 20);
	settle(&s, TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP, 0);
	heartbeat(&s, 0, "batch", "b-1", 4000, true);
	tick(&s, 31);
	fs_end(&s, "replicas-heartbeats");

	/* lab orphans and the port mismatch */
	fs_begin(&s);
	marker(&s, 0, "kube", "k1", true, true, false);
	obs(&s, 0, "kube", "k1", "service", "lab-a", "session-alice", false, NULL);
	obs(&s, 0, "kube", "k1", "service", "lab-b", "session-carol", false, NULL);
	obs(&s, 0, "kube", "k1", "endpoints", "lab-b", "session-carol", false, "ready", "2", NULL);
	obs(&s, 0, "kube", "k1", "deployment", "prod", "grpc", false, "container_port", "50054",
	    "probe_port", "50054", NULL);
	obs(&s, 0, "kube", "k1", "configmap", "prod", "grpc-config", false, "port", "50053", NULL);
	marker(&s, 0, "kube", "k1", false, true, true);
	settle(&s, TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED, 0);
	obs(&s, 3, "kube", "k2", "endpoints", "lab-b", "session-carol", false, "ready", "0", NULL);
	obs(&s, 0, "kube", "k2", "deployment", "lab-a", "session-alice", false, NULL);
	fs_end(&s, "orphans-ports");

	/* cluster restoration: image pull rollback, zombies, terminating pods */
	fs_begin(&s);
	marker(&s, 0, "kube", "k1", true, true, false);
	obs(&s, 0, "kube", "k1", "deployment", "prod", "web", false, "image", "web:v1", "replicas",
	    "2", "updated", "2", NULL);
	obs(&s, 0, "kube", "k1", "pod", "prod", "web-5d8c7-aaaaa", false, "reason", "Running",
	    NULL);
	obs(&s, 0, "kube", "k1", "deployment", "prod", "web", false, "image", "web:v2", "replicas",
	    "2", "updated", "1", NULL);
	obs(&s, 0, "kube", "k1", "pod", "prod", "web-7f9b2-bbbbb", false, "reason",
	    "ImagePullBackOff", NULL);
	obs(&s, 0, "kube", "k1", "pod", "prod", "api-1", false, "reason", "ContainerStatusUnknown",
	    NULL);
	obs(&s, 0, "kube", "k1", "pod", "prod", "api-2", false, "reason", "Running",
	    "deletion_timestamp", "2025-11-22T02:53:20Z", NULL);
	obs(&s, 0, "kube", "k1", "pod", "prod", "api-3", false, "reason", "Running",
	    "deletion_timestamp", "yesterday", NULL);
	marker(&s, 0, "kube", "k1", false, true, true);
	settle(&s, TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED, 0);
	tick(&s, 20);
	obs(&s, 0, "kube", "k2", "pod", "prod", "web-7f9b2-bbbbb", true, NULL);
	fs_end(&s, "pod-status");

	/* bad input of every kind: each is parked */
	fs_begin(&s);
	ev_raw(&s, 0, "trueup.obs.redis.worker", "\xff\xff\xff", 3);
	ev_raw(&s, 0, "trueup.nothing", "", 0);
	obs(&s, 2, "redis", "r1", "worker", "default", "w", false, NULL);
	obs(&s, 0, "hb", "r1", "worker", "default", "w", false, NULL);
	obs(&s, 0, "redis", "r1", "Worker", "default", "w", false, NULL);
	obs(&s, 0, "redis", "r1", "worker", "", "w", false, NULL);
	marker(&s, 0, "redis", "r9", false, true, true);
	heartbeat(&s, 0, "batch", "b-1", 0, false);
	heartbeat(&s, 0, "a b", "c.d", 1000, false);
	{
		Trueup__V1__Outcome o = TRUEUP__V1__OUTCOME__INIT;
		o.command_id = "0123456789abcdef01234567";
		o.target = "redis";
		o.action = "del";
		o.result = 99;
		ev(&s, 0, "trueup.out.redis.0123456789abcdef01234567", &o.base);
		Trueup__V1__Approval a = TRUEUP__V1__APPROVAL__INIT;
		a.command_id = "0123456789abcdef01234567";
		ev(&s, 0, "trueup.approve.fedcba", &a.base);
		Trueup__V1__Tick t = TRUEUP__V1__TICK__INIT;
		ev(&s, 0, "trueup.tick.x", &t.base);
		ev(&s, 4, TU_SUBJ_TICK, &t.base);
	}
	fs_end(&s, "dead-letters");

	tu_fold_destroy(g_fold);
	tu_view_close(g_view);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "mkseeds: could not remove %s\n", dir);
}

/* ---- actuator: the targets' unit-test commands ------------------------------------------ */

/* A command for target/action with params "k=v" and one precondition (op, key, field, value). */
static void command(const char *name, uint8_t flags, const char *target, const char *action,
		    const char *const *params, int op, const char *pkey, const char *pfield,
		    const char *pvalue)
{
	Trueup__V1__FixCommand c = TRUEUP__V1__FIX_COMMAND__INIT;
	Trueup__V1__EntityRef e = TRUEUP__V1__ENTITY_REF__INIT;
	Trueup__V1__Attr a[16];
	Trueup__V1__Attr *pa[16];
	Trueup__V1__Precondition p = TRUEUP__V1__PRECONDITION__INIT;
	Trueup__V1__Precondition *pp[1] = { &p };
	char keys[16][64];
	size_t n = 0;
	for (; params[n] != NULL; n++) {
		const char *eq = strchr(params[n], '=');
		snprintf(keys[n], sizeof(keys[n]), "%.*s", (int)(eq - params[n]), params[n]);
		trueup__v1__attr__init(&a[n]);
		a[n].key = keys[n];
		a[n].value = (char *)eq + 1;
		pa[n] = &a[n];
	}
	tu_pb_attrs_sort(pa, n);
	e.kind = "worker";
	e.namespace_ = "default";
	e.name = "k3s-worker-3";
	c.command_id = "0123456789abcdef01234567";
	c.correlation_id = "fedcba9876543210fedcba98";
	c.rule = "r";
	c.target = (char *)target;
	c.action = (char *)action;
	c.entity = &e;
	c.params = pa;
	c.n_params = n;
	c.attempt = 1;
	c.mode = TRUEUP__V1__MODE__MODE_ENFORCE;
	if (op > 0) {
		p.op = op;
		p.key = (char *)pkey;
		p.field = (char *)pfield;
		p.value = (char *)pvalue;
		c.preconditions = pp;
		c.n_preconditions = 1;
	}
	struct bytes b = { 0 };
	size_t len = protobuf_c_message_get_packed_size(&c.base);
	uint8_t *buf = malloc(len + 1);
	protobuf_c_message_pack(&c.base, buf);
	put_u8(&b, flags);
	put_u8(&b, 0); /* no subject given: the action's */
	put(&b, buf, len);
	write_file("actuator", name, b.p, b.n);
	free(buf);
	free(b.p);
}

#define P(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define ID64 "1111111111111111111111111111111111111111111111111111111111111111"

static void actuator_seeds(void)
{
	command("redis-hset", 0, "redis", "hset", P("key=w:3", "field.status=ready"), 4,
		"w:3", "status", "initializing");
	command("redis-set-dry", 0x40, "redis", "set", P("key=n", "value=4"), 1, "n", "", "3");
	command("docker-remove", 1, "docker", "remove", P("force=true", "id=" ID64, "volumes=true"),
		4, "", "label.com.example.role", "worker");
	command("docker-restart", 1, "docker", "restart", P("id=" ID64, "timeout=0"), 4, "",
		".State.Pid", "42");
	command("kube-delete", 2, "kube", "delete",
		P("grace_period_seconds=30", "name=web-1", "namespace=shop",
		  "propagation_policy=Foreground", "resource=pods"),
		4, "", "uid", "u-1");
	command("kube-merge-patch", 2, "kube", "merge-patch",
		P("name=web", "namespace=shop", "patch={\"spec\":{\"replicas\":3}}",
		  "resource=deployments"),
		4, "", ".metadata.resourceVersion", "42");
	command("kube-json-patch", 2, "kube", "json-patch",
		P("group=example.com", "name=orders", "namespace=shop",
		  "patch=[{\"op\":\"replace\",\"path\":\"/spec/storage\",\"value\":\"10Gi\"}]",
		  "plural=databases", "version=v1"),
		2, "", "", "");
	command("kube-scale", 2, "kube", "scale",
		P("name=web", "namespace=shop", "replicas=3", "resource=deployments"), 4, "",
		"spec.replicas", "2");
	command("mongo-delete", 3, "mongo", "delete-one",
		P("collection=databases", "database=shop",
		  "filter={\"_id\": {\"$oid\": \"64b0000000000000000000aa\"}}"),
		4, "", "spec.storage", "10Gi");
	command("mongo-update", 3, "mongo", "update-one",
		P("collection=databases", "database=shop", "filter={\"name\": \"orders\"}",
		  "update={\"$set\": {\"spec.storage\": \"20Gi\", \"replicas\": 2},"
		  " \"$unset\": {\"old\": \"\"}}"),
		4, "", "spec.storage", "10Gi");
	command("mongo-insert", 3, "mongo", "insert-one",
		P("collection=c", "database=d",
		  "document={\"_id\": {\"$oid\": \"64b0000000000000000000bb\"}, \"n\": 1}"),
		3, "", "", "");
	command("http-request", 4, "do", "request",
		P("body={\"replicas\": 3}", "method=PATCH", "path=/v1/workers/k3s%20worker/scale"),
		0, NULL, NULL, NULL);
	command("http-request-url", 4, "do", "request",
		P("method=DELETE", "url=https://api.example.com/api/v1/x"), 0, NULL, NULL, NULL);
	command("http-alert", 4, "do", "alert", P("summary=replicas of web"), 0, NULL, NULL, NULL);
	command("http-scale", 4, "do", "set-instance-count",
		P("app_id=a1", "instance_count=2", "service=web"), 4, "web", "instance_count",
		"6");
}

/* ---- the CLI's printer: every message type ------------------------------------------------ */

static void pb_seed(const char *name, uint8_t type, uint8_t flags, const ProtobufCMessage *m)
{
	struct bytes b = { 0 };
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n + 1);
	protobuf_c_message_pack(m, buf);
	put_u8(&b, type);
	put_u8(&b, flags);
	put(&b, buf, n);
	write_file("pb", name, b.p, b.n);
	free(buf);
	free(b.p);
}

static void pb_seeds(void)
{
	Trueup__V1__EntityRef e = TRUEUP__V1__ENTITY_REF__INIT;
	Trueup__V1__Attr a = TRUEUP__V1__ATTR__INIT;
	Trueup__V1__Attr *pa[1] = { &a };
	e.kind = "worker";
	e.namespace_ = "default";
	e.name = "k3s-worker-3";
	a.key = "status";
	a.value = "initializing";

	Trueup__V1__ObservedState o = TRUEUP__V1__OBSERVED_STATE__INIT;
	o.source = "redis";
	o.scan_id = "r1";
	o.entity = &e;
	o.attrs = pa;
	o.n_attrs = 1;
	pb_seed("observed", 0, 1, &o.base);
	pb_seed("observed-text", 0, 4, &o.base);
	Trueup__V1__ScanMarker sm = TRUEUP__V1__SCAN_MARKER__INIT;
	sm.source = "redis";
	sm.scan_id = "r1";
	sm.phase = TRUEUP__V1__SCAN_MARKER__PHASE__PHASE_END;
	sm.complete = true;
	sm.seen = 3;
	pb_seed("scan", 1, 1, &sm.base);
	Trueup__V1__Heartbeat hb = TRUEUP__V1__HEARTBEAT__INIT;
	hb.service = "web";
	hb.instance = "web-1";
	hb.ttl_ms = 5000;
	pb_seed("heartbeat", 2, 0, &hb.base);
	Trueup__V1__Tick t = TRUEUP__V1__TICK__INIT;
	t.bucket = 1763780000;
	t.interval_ms = 1000;
	pb_seed("tick", 3, 1, &t.base);
	Trueup__V1__DriftEvent d = TRUEUP__V1__DRIFT_EVENT__INIT;
	char *ids[] = { "0123456789abcdef01234567" };
	d.rule = "ghost-worker";
	d.correlation_id = "fedcba9876543210fedcba98";
	d.entity = &e;
	d.state = TRUEUP__V1__DRIFT_EVENT__STATE__STATE_OPENED;
	d.reason = "extra in redis";
	d.details = pa;
	d.n_details = 1;
	d.command_ids = ids;
	d.n_command_ids = 1;
	pb_seed("drift", 4, 4, &d.base);
	pb_seed("drift-json", 4, 3, &d.base);
	Trueup__V1__FixCommand c = TRUEUP__V1__FIX_COMMAND__INIT;
	c.command_id = ids[0];
	c.target = "redis";
	c.action = "del";
	c.entity = &e;
	c.params = pa;
	c.n_params = 1;
	c.mode = TRUEUP__V1__MODE__MODE_PROPOSE;
	pb_seed("command", 5, 4, &c.base);
	pb_seed("command-json", 5, 1, &c.base);
	Trueup__V1__Outcome out = TRUEUP__V1__OUTCOME__INIT;
	out.command_id = ids[0];
	out.target = "redis";
	out.action = "del";
	out.result = TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT;
	out.error = "WRONGTYPE";
	out.detail = "del w:3";
	pb_seed("outcome", 6, 0, &out.base);
	Trueup__V1__Approval ap = TRUEUP__V1__APPROVAL__INIT;
	ap.command_id = ids[0];
	ap.approved = true;
	ap.approver = "ops";
	pb_seed("approval", 7, 1, &ap.base);
	Trueup__V1__DeadLetter dl = TRUEUP__V1__DEAD_LETTER__INIT;
	dl.origin = "processor";
	dl.stream = TU_STREAM_EVENTS;
	dl.subject = "trueup.obs.redis.worker";
	dl.stream_seq = 12;
	dl.reason = "body does not decode";
	dl.payload.data = (uint8_t *)"\xff\x01";
	dl.payload.len = 2;
	dl.headers = pa;
	dl.n_headers = 1;
	pb_seed("dead", 8, 0, &dl.base);
	pb_seed("dead-json", 8, 1, &dl.base);
}

/* ---- text targets ------------------------------------------------------------------------------ */

static void mongo_seed(const char *name, const char *json)
{
	bson_t *b = NULL;
	char err[256];
	struct bytes out = { 0 };
	if (tu_mongo_bson_from_json(json, &b, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "mkseeds: %s: %s\n", name, err);
		exit(1);
	}
	put_u8(&out, 0);
	put(&out, bson_get_data(b), b->len);
	write_file("mongo", name, out.p, out.n);
	free(out.p);
	bson_destroy(b);
	char text[64];
	snprintf(text, sizeof(text), "%s-json", name);
	out = (struct bytes){ 0 };
	put_u8(&out, 1);
	put(&out, json, strlen(json));
	write_file("mongo", text, out.p, out.n);
	free(out.p);
}

static void text_seeds(void)
{
	/* quantities (quantity_test.c) */
	TEXT("quantity", "binary", "10Gi\n10737418240");
	TEXT("quantity", "milli", "0.5\n500m");
	TEXT("quantity", "exponent", "1e3\n1k");
	TEXT("quantity", "exa", "1Ei\n1152921504606846976");
	TEXT("quantity", "negative", "-1.5k\n+3");
	TEXT("quantity", "fraction", ".5\n5.");
	TEXT("quantity", "small", "1e-30\n1e30");
	TEXT("quantity", "bad", "12345678901234567890\n10GB");

	/* templates (tmpl_test.c): template \0 chain \0 value */
	TEXT("tmpl", "plain", "autoscaler:workers:{name}\0|lower\0k3s-worker-3");
	TEXT("tmpl", "filters", "{v|trimprefix:/|afterlast::|upper}\0|trimprefix:/\0/a/b:C");
	TEXT("tmpl", "default", "{x.status|default:unknown}-{empty|default:none}\0|default:x\0");
	TEXT("tmpl", "json", "{{\"name\": \"{v|json}\"}}\0|beforelast:-\0x\", \"$where\": \"1\\\n");
	TEXT("tmpl", "urlescape", "/v1/{v|urlescape}/scale\0|afterfirst: \0k3s worker/3?x=1&y");
	TEXT("tmpl", "errors", "{name|nope}{}}{\0|json|lower\0v");

	/* JSON mapping (jsonmap_test.c): path \0 name \0 attr \0 match path \0 match value \0 JSON */
	TEXT("jsonmap", "docker",
	     ".Labels[\"app.kubernetes.io/name\"]\0{.Names[0]|trimprefix:/}\0{.State}\0.Labels.pool"
	     "\0gpu\0{\"Id\":\"abc123\",\"Names\":[\"/k3s-worker-3\"],\"State\":\"running\","
	     "\"Created\":1700000000,\"Labels\":{\"app.kubernetes.io/name\":\"worker\",\"pool\":"
	     "\"gpu\"},\"ok\":true,\"ratio\":0.5,\"nothing\":null,\"spec\":{\"replicas\":3}}");
	TEXT("jsonmap", "numbers",
	     ".f\0{.a}\0{.g|default:0}\0.c\0001\0{\"a\":1.1000000000000000888,\"b\":0.1,\"c\":1.0,"
	     "\"d\":1e300,\"e\":-2.5e-7,\"f\":0.30000000000000004,\"g\":9007199254740993}");
	TEXT("jsonmap", "arrays", ".items[1].name\0{.items[0].name}\0{.items}\0.\0x\0"
				  "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");

	/* kubernetes list replies (producer_kube_test.c) */
	TEXT("kube", "pods",
	     "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"7\","
	     "\"continue\":\"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6N30=\"},\"items\":["
	     "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"shop\",\"labels\":{\"app\":\"web\","
	     "\"app.kubernetes.io/name\":\"web\"}},\"spec\":{\"containers\":[{\"image\":\"web:v1\"}]},"
	     "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"state\":{\"waiting\":"
	     "{\"reason\":\"ImagePullBackOff\"}}}]}},"
	     "{\"metadata\":{\"name\":\"k3s-node\"},\"spec\":{\"replicas\":3,\"engine\":\"postgres\","
	     "\"storage\":\"10Gi\"}},{\"metadata\":{\"name\":7}},[1],null]}");
	TEXT("kube", "last-page", "{\"kind\":\"DatabaseList\",\"metadata\":{\"continue\":\"\"},"
				  "\"items\":null}");

	/* docker container lists (producer_docker_test.c) */
	TEXT("docker", "workers",
	     "[{\"Id\":\"1111111111111111111111111111111111111111111111111111111111111111\","
	     "\"Names\":[\"/k3s-worker-3\"],\"Image\":\"trueup-test:1\",\"Created\":1795321933,"
	     "\"State\":\"running\",\"Status\":\"Up 2 minutes (healthy)\",\"Labels\":"
	     "{\"com.example.role\":\"worker\",\"team\":\"ops\"},\"Ports\":[{\"PublicPort\":8080}]},"
	     "{\"Id\":\"2222222222222222222222222222222222222222222222222222222222222222\","
	     "\"Names\":[\"/db.x+1\"],\"State\":\"exited\",\"Status\":\"Exited (0) (health: starting)"
	     "\",\"Labels\":{\"team\":\"db\"}},{\"Names\":\"x\"},{\"Labels\":{\"team\":{}}},7]");

	/* http API pages (http_source_test.c); the first byte picks the source */
	TEXT("http", "do-apps",
	     "\0{\"apps\": [ {\"id\": \"a1\", \"spec\": {\"name\": \"shop\", \"services\": ["
	     "{\"name\": \"web\", \"instance_count\": 2, \"instance_size_slug\": \"basic-xs\"},"
	     "{\"name\": \"api\", \"instance_count\": 1}]}, \"region\": {\"slug\": \"nyc\"},"
	     " \"active_deployment\": {\"id\": \"d1\", \"phase\": \"ACTIVE\"}},"
	     " {\"id\": \"a2\", \"spec\": {\"name\": \"blog\", \"services\": [{\"name\": \"web\","
	     " \"autoscaling\": {\"min_instance_count\": 1, \"max_instance_count\": 3}}]}}],"
	     " \"links\": {\"pages\": {\"next\": \"https://api.digitalocean.com/v2/apps?page=2\"}},"
	     " \"meta\": {\"total\": 3}}");
	TEXT("http", "clusters",
	     "\1{\"clusters\": [{\"name\": \"c1\", \"size\": 3, \"labels\": [{\"k\": \"eu\"}],"
	     " \"spec\": {\"pools\": [{\"name\": \"p1\", \"kind\": \"gpu\"}, {\"name\": \"p2\","
	     " \"kind\": \"cpu\"}]}}, {\"name\": \"c2\", \"size\": 1, \"labels\": [], \"spec\":"
	     " {\"pools\": null}}], \"links\": {\"next\": \"?page=2\"}, \"meta\": {\"total\": 2}}");
	TEXT("http", "empty", "\1{\"meta\": {\"total\": 0}, \"links\": {\"next\": \"/v1/x\"}}");

	/* mongodb documents (producer_mongo_test.c) */
	mongo_seed("document",
		   "{\"_id\": {\"$oid\": \"64b0000000000000000000aa\"}, \"name\": \"orders\","
		   " \"tier\": \"prod\", \"kind\": \"db\", \"spec\": {\"storage\": \"10Gi\","
		   " \"replicas\": {\"$numberInt\": \"3\"}, \"shards\": {\"$numberLong\": \"12\"},"
		   " \"cpu\": {\"$numberDouble\": \"0.5\"}}, \"created\": {\"$date\": {\"$numberLong\":"
		   " \"1700000000123\"}}, \"labels\": {\"app.kubernetes.io/name\": \"db\"},"
		   " \"ok\": true, \"none\": null}");
	mongo_seed("string-id", "{\"_id\": \"orders\", \"name\": {\"a\": 1}}");
	mongo_seed("odd-id", "{\"_id\": {\"$numberDecimal\": \"1.5\"}, \"name\": \"x\","
			     " \"spec\": {\"storage\": {\"$binary\": {\"base64\": \"AQI=\","
			     " \"subType\": \"00\"}}}}");
}

/*
 * Files source seeds (producer_files_test.c, ops/examples): flags (bit i:
 * file i is JSON, bit 3: kind worker only) | file a \0 file b \0 file c.
 */
static void files_seeds(void)
{
	TEXT("files", "yaml",
	     "\0kind: worker\nname: k3s-worker-1\nattrs: { pool: default }\n---\n"
	     "kind: database\nname: orders\nnamespace: shop\nattrs: {storage: 10Gi, tls: true}\n"
	     "\0- kind: worker\n  name: w2\n  attrs: &a {v: a, n: ~}\n"
	     "- {kind: worker, name: w3, attrs: *a}\n\0kind: worker\nname: k3s-worker-1\n");
	TEXT("files", "json",
	     "\x0f{\"items\": [{\"kind\": \"database\", \"name\": \"a\", \"attrs\": "
	     "{\"big\": 12345678901, \"r\": 0.5, \"ok\": false, \"none\": null}},"
	     " {\"kind\": \"database\", \"name\": \"b\"}]}\0[{\"kind\": \"cache\", \"name\": \"d\"}]"
	     "\0{\"kind\": \"worker\", \"name\": \"w\", \"namespace\": \"edge\"}");
	TEXT("files", "errors",
	     "\x02kind: worker\nname: w1\nattrs:\n  a: [1, 2\n  b: 3\n"
	     "\0{\"kind\": \"worker\", \"kind\": \"x\", \"name\": \"w\",,}"
	     "\0kind: worker\nname: w2\nbogus: 1\n---\n[1, {kind: worker}]\n");
}

/* Config seeds: the example policies and the unit tests' configs. */
static void config_seeds(void)
{
	write_text("config", "fold-policy", tu_fuzz_fold_policy, strlen(tu_fuzz_fold_policy));
	TEXT("config", "sources",
	     "nats: { url: \"nats://127.0.0.1:4222\", connect_timeout: 2s }\n"
	     "streams: { events: { max_age: 30d, max_bytes: 1GiB } }\n"
	     "processor: { view: /var/lib/trueup/view, batch: 512, sync: meta }\n"
	     "log: { level: warn, format: text }\n"
	     "sources:\n"
	     "  - name: redis\n"
	     "    type: redis\n"
	     "    url: redis://127.0.0.1:6379/0\n"
	     "    interval: 15s\n"
	     "    observe:\n"
	     "      - { kind: worker, scan: \"autoscaler:workers:k3s-worker-*\", name: \"{key|afterlast::}\","
	     " read: hash, ttl: true }\n"
	     "      - { kind: counter, get: \"autoscaler:workers:next_number\", name: workers }\n"
	     "  - name: docker\n"
	     "    type: docker\n"
	     "    socket: /var/run/docker.sock\n"
	     "    observe:\n"
	     "      - kind: worker\n"
	     "        match: { .State: running }\n"
	     "        name_prefix: k3s-worker-\n"
	     "        name: \"{.Names[0]|trimprefix:/}\"\n"
	     "        attrs: { state: \"{.State}\", image: \"{.Image}\", id: \"{.Id}\" }\n"
	     "  - name: kube\n"
	     "    type: kubernetes\n"
	     "    server: https://127.0.0.1:6443\n"
	     "    observe:\n"
	     "      - { kind: pod, resource: pods, namespaces: [shop], name: \"{.metadata.name}\" }\n"
	     "  - name: mongo\n"
	     "    type: mongodb\n"
	     "    uri: mongodb://trueup@db1:27017/?replicaSet=rs0\n"
	     "    password_file: /etc/trueup/mongo.pass\n"
	     "    observe:\n"
	     "      - { kind: database, database: shop, collection: databases, filter: '{\"tier\": "
	     "\"prod\"}', name: \"{.name}\" }\n"
	     "  - { name: do, type: http, preset: digitalocean-apps, auth_file: /etc/trueup/do.token }\n"
	     "  - { name: declared, type: files, path: /etc/trueup/declared }\n"
	     "targets:\n"
	     "  - { name: redis, type: redis, url: redis://127.0.0.1:6379 }\n"
	     "  - { name: docker, type: docker }\n"
	     "  - { name: do, type: http, preset: digitalocean-apps, webhook_url: "
	     "https://hooks.example.com/alerts }\n");
	TEXT("config", "errors",
	     "rules:\n  - name: r\n    type: presence\n    kind: worker\n    for: soon\n"
	     "    sources: [a, b]\n    mode: sometimes\n");
}

int main(int argc, char **argv)
{
	char err[512];
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	g_out = argv[1];
	if (mkdir(g_out, 0755) != 0 && errno != EEXIST) {
		perror(g_out);
		return 1;
	}
	tu_log_init("mkseeds", TU_LOG_ERROR, TU_LOG_TEXT);
	tu_mongo_init();
	if (tu_config_load_string("policy", tu_fuzz_fold_policy, strlen(tu_fuzz_fold_policy),
				  &g_cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "mkseeds: policy: %s\n", err);
		return 1;
	}
	fold_seeds();
	actuator_seeds();
	pb_seeds();
	text_seeds();
	files_seeds();
	config_seeds();
	tu_config_destroy(g_cfg);
	return 0;
}
