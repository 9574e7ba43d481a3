/*
 * outbox.c - the outbox publisher (see outbox.h).
 *
 * State: `last_sent` is the highest outbox key handed to nats.c; `inflight`
 * maps the Nats-Msg-Id of each unacked publish to its key and send time.
 * Acked keys are deleted in one small write transaction per wake-up. When an
 * entry waits too long or a publish fails, the publisher forgets what is in
 * flight and starts again from the first key still in the outbox: simple,
 * and correct because JetStream deduplicates by Nats-Msg-Id.
 * Workload: the outbox is small (derived messages are rare next to facts);
 * the thread wakes on every commit and at least every 100 ms.
 */
#include "outbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "view.pb-c.h"
#include "xalloc.h"

#define MSGID_MAX 80
#define LATE_CHECK_MS 100 /* longest time between two looks for overdue entries */
#define FOLD_IDLE_MS 200  /* no reclaim for this long: the fold is idle */

struct inflight {
	char msg_id[MSGID_MAX]; /* "" = free slot */
	uint64_t key;           /* outbox key */
	int64_t sent_ns;        /* monotonic */
};

struct tu_outbox {
	tu_view *view;
	tu_bus *bus;
	const struct tu_processor_config *cfg;
	pthread_t thread;
	bool started;

	pthread_mutex_t mu;      /* guards everything below */
	pthread_cond_t cond;     /* kicks, acks, stop */
	pthread_cond_t drained;  /* depth reached 0 */
	bool stop;
	bool kicked;
	bool failed;             /* a publish failed: resend from the start */
	struct inflight *slots;  /* open addressing, n_slots (power of two) */
	size_t n_slots;
	size_t n_inflight;
	uint64_t *acked;         /* keys acked, not yet deleted */
	size_t n_acked, cap_acked;
	uint64_t *reclaiming;    /* keys taken by tu_outbox_reclaim in an open fold txn */
	size_t n_reclaiming;
	int64_t last_reclaim_ns; /* monotonic: when the fold last deleted acked entries */
	uint64_t depth;          /* entries in the outbox at the last look */
	uint64_t published;      /* acks received */
	uint64_t last_sent;      /* highest key handed to nats.c */
	bool standby;            /* a standby processor: keep entries, send nothing */
	int64_t next_late_check; /* monotonic: when to look for overdue entries again */
};

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Slot of msg_id, or of the first free slot on its probe path. */
static struct inflight *slot_find(tu_outbox *o, const char *msg_id)
{
	size_t mask = o->n_slots - 1;
	for (size_t i = hash(msg_id) & mask;; i = (i + 1) & mask) {
		struct inflight *s = &o->slots[i];
		if (s->msg_id[0] == '\0' || strcmp(s->msg_id, msg_id) == 0)
			return s;
	}
}

/* Removes slot s keeping probe chains intact (backward shift). */
static void slot_remove(tu_outbox *o, struct inflight *s)
{
	size_t mask = o->n_slots - 1;
	size_t i = (size_t)(s - o->slots);
	o->slots[i].msg_id[0] = '\0';
	o->n_inflight--;
	for (size_t j = (i + 1) & mask; o->slots[j].msg_id[0] != '\0'; j = (j + 1) & mask) {
		struct inflight tmp = o->slots[j];
		o->slots[j].msg_id[0] = '\0';
		struct inflight *t = slot_find(o, tmp.msg_id);
		*t = tmp;
	}
}

static void clear_inflight(tu_outbox *o)
{
	for (size_t i = 0; i < o->n_slots; i++)
		o->slots[i].msg_id[0] = '\0';
	o->n_inflight = 0;
}

tu_outbox *tu_outbox_create(tu_view *view, tu_bus *bus, const struct tu_processor_config *cfg)
{
	tu_outbox *o = tu_xcalloc(1, sizeof(*o));
	o->view = view;
	o->bus = bus;
	o->cfg = cfg;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cond, NULL);
	pthread_cond_init(&o->drained, NULL);
	size_t n = 64;
	while (n < (size_t)cfg->outbox_inflight * 2)
		n *= 2;
	o->n_slots = n;
	o->slots = tu_xcalloc(n, sizeof(*o->slots));
	return o;
}

void tu_outbox_kick(tu_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	o->kicked = true;
	pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->mu);
}

void tu_outbox_on_ack(void *ctx, const char *msg_id, tu_status st, uint64_t seq, bool dup)
{
	(void)seq;
	(void)dup;
	tu_outbox *o = ctx;
	pthread_mutex_lock(&o->mu);
	struct inflight *s = slot_find(o, msg_id);
	if (s->msg_id[0] != '\0') {
		if (st == TU_OK) {
			if (o->n_acked == o->cap_acked) {
				o->cap_acked = o->cap_acked ? o->cap_acked * 2 : 256;
				o->acked = tu_xrealloc(o->acked, o->cap_acked * sizeof(*o->acked));
			}
			o->acked[o->n_acked++] = s->key;
			o->published++;
		} else {
			o->failed = true;
		}
		slot_remove(o, s);
		pthread_cond_signal(&o->cond);
	}
	pthread_mutex_unlock(&o->mu);
}

static tu_status del_keys(tu_outbox *o, MDB_txn *txn, const uint64_t *keys, size_t n)
{
	const struct tu_view_dbs *db = tu_view_dbs(o->view);
	for (size_t i = 0; i < n; i++) {
		unsigned char be[8];
		tu_view_be64(keys[i], be);
		MDB_val k = { 8, be };
		int rc = mdb_del(txn, db->outbox, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return tu_view_status(rc);
	}
	return TU_OK;
}

/* Deletes acked entries in a transaction of its own (when no fold runs). */
static tu_status delete_acked(tu_outbox *o, uint64_t *keys, size_t n)
{
	if (n == 0)
		return TU_OK;
	MDB_txn *txn = NULL;
	tu_status st = tu_view_begin(o->view, true, &txn);
	if (st != TU_OK)
		return st;
	st = del_keys(o, txn, keys, n);
	if (st != TU_OK) {
		tu_view_abort(o->view, txn);
		return st;
	}
	return tu_view_commit(o->view, txn);
}

/* Gives keys back to the acked list (a delete did not happen). */
static void requeue(tu_outbox *o, const uint64_t *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (o->n_acked == o->cap_acked) {
			o->cap_acked = o->cap_acked ? o->cap_acked * 2 : 256;
			o->acked = tu_xrealloc(o->acked, o->cap_acked * sizeof(*o->acked));
		}
		o->acked[o->n_acked++] = keys[i];
	}
}

tu_status tu_outbox_reclaim(tu_outbox *o, MDB_txn *txn)
{
	pthread_mutex_lock(&o->mu);
	requeue(o, o->reclaiming, o->n_reclaiming); /* an end that never came: keep them */
	free(o->reclaiming);
	o->reclaiming = o->acked;
	o->n_reclaiming = o->n_acked;
	o->acked = NULL;
	o->n_acked = 0;
	o->cap_acked = 0;
	o->last_reclaim_ns = tu_clock_mono_ns();
	pthread_mutex_unlock(&o->mu);
	return del_keys(o, txn, o->reclaiming, o->n_reclaiming);
}

void tu_outbox_reclaim_end(tu_outbox *o, bool committed)
{
	pthread_mutex_lock(&o->mu);
	if (!committed)
		requeue(o, o->reclaiming, o->n_reclaiming);
	o->n_reclaiming = 0;
	pthread_mutex_unlock(&o->mu);
}

/* Sends entries after last_sent while there is room in flight; updates depth. */
static tu_status send_more(tu_outbox *o)
{
	MDB_txn *txn = NULL;
	tu_status st = tu_view_begin(o->view, false, &txn);
	if (st != TU_OK)
		return st;
	const struct tu_view_dbs *db = tu_view_dbs(o->view);
	MDB_stat ms;
	mdb_stat(txn, db->outbox, &ms);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, db->outbox, &cur);
	if (rc != 0) {
		tu_view_abort(o->view, txn);
		return tu_view_status(rc);
	}
	pthread_mutex_lock(&o->mu);
	o->depth = ms.ms_entries;
	uint64_t from = o->last_sent + 1;
	bool room = o->n_inflight < (size_t)o->cfg->outbox_inflight;
	pthread_mutex_unlock(&o->mu);

	unsigned char be[8];
	tu_view_be64(from, be);
	MDB_val k = { 8, be }, d;
	rc = room ? mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE) : MDB_NOTFOUND;
	while (rc == 0) {
		uint64_t key = tu_view_get_be64(k.mv_data);
		Trueup__View__OutboxEntry *e =
			trueup__view__outbox_entry__unpack(NULL, d.mv_size, d.mv_data);
		if (e == NULL) {
			tu_error("outbox entry %llu does not decode; skipping it",
				 (unsigned long long)key);
		} else if (strlen(e->msg_id) >= MSGID_MAX) {
			tu_error("outbox entry %llu has an over-long msg id; skipping it",
				 (unsigned long long)key);
		} else {
			pthread_mutex_lock(&o->mu);
			struct inflight *s = slot_find(o, e->msg_id);
			if (s->msg_id[0] == '\0') {
				snprintf(s->msg_id, sizeof(s->msg_id), "%s", e->msg_id);
				s->key = key;
				s->sent_ns = tu_clock_mono_ns();
				o->n_inflight++;
			}
			room = o->n_inflight < (size_t)o->cfg->outbox_inflight;
			o->last_sent = key;
			pthread_mutex_unlock(&o->mu);
			struct tu_bus_msg m = { e->subject, e->type, e->msg_id, e->correlation_id,
						e->payload.data, e->payload.len };
			tu_status ps = tu_bus_publish_async(o->bus, &m);
			if (ps != TU_OK) {
				tu_warn("outbox: publish of %s failed: %s; will retry", e->msg_id,
					tu_status_str(ps));
				pthread_mutex_lock(&o->mu);
				o->failed = true;
				pthread_mutex_unlock(&o->mu);
				trueup__view__outbox_entry__free_unpacked(e, NULL);
				break;
			}
		}
		if (e != NULL)
			trueup__view__outbox_entry__free_unpacked(e, NULL);
		if (!room)
			break;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	tu_view_abort(o->view, txn);
	return TU_OK;
}

/* Forgets everything in flight so that the next send starts at the first entry. */
static void restart(tu_outbox *o, const char *why)
{
	tu_warn("outbox: %s; re-sending from the first unacked entry", why);
	tu_bus_async_drop_pending(o->bus);
	pthread_mutex_lock(&o->mu);
	clear_inflight(o);
	o->failed = false;
	o->last_sent = 0;
	pthread_mutex_unlock(&o->mu);
}

static bool overdue(tu_outbox *o)
{
	if (o->n_inflight == 0)
		return false;
	int64_t limit = tu_clock_mono_ns() - o->cfg->outbox_retry * TU_NS_PER_MS;
	for (size_t i = 0; i < o->n_slots; i++)
		if (o->slots[i].msg_id[0] != '\0' && o->slots[i].sent_ns < limit)
			return true;
	return false;
}

bool tu__outbox_has_work(bool stop, bool kicked, bool failed, size_t n_acked,
			 int64_t since_reclaim_ns)
{
	return stop || kicked || failed ||
	       (n_acked > 0 && since_reclaim_ns > FOLD_IDLE_MS * TU_NS_PER_MS);
}

static void *run(void *arg)
{
	tu_outbox *o = arg;
	for (;;) {
		pthread_mutex_lock(&o->mu);
		/*
		 * While the fold runs it deletes acked entries itself: waiting for them
		 * here would make this thread spin (a read transaction per turn) for as
		 * long as acks come in, a core taken from the fold.
		 */
		if (!tu__outbox_has_work(o->stop, o->kicked, o->failed, o->n_acked,
					 tu_clock_mono_ns() - o->last_reclaim_ns)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&o->cond, &o->mu, &ts);
		}
		bool stop = o->stop;
		o->kicked = false;
		/* The fold deletes acked entries in its own transactions while it runs. */
		bool fold_idle = tu_clock_mono_ns() - o->last_reclaim_ns > FOLD_IDLE_MS * TU_NS_PER_MS;
		uint64_t *acked = fold_idle ? o->acked : NULL;
		size_t n_acked = fold_idle ? o->n_acked : 0;
		if (fold_idle) {
			o->acked = NULL;
			o->n_acked = 0;
			o->cap_acked = 0;
		}
		bool failed = o->failed;
		/*
		 * Looking for overdue entries walks every slot; the thread wakes at every
		 * ack and commit, so it looks at most every LATE_CHECK_MS (or a tenth of
		 * outbox_retry), which is soon enough for a retry measured in seconds.
		 */
		int64_t now = tu_clock_mono_ns();
		bool late = false;
		if (!failed && now >= o->next_late_check) {
			int64_t every = o->cfg->outbox_retry / 10;
			if (every > LATE_CHECK_MS || every <= 0)
				every = LATE_CHECK_MS;
			o->next_late_check = now + every * TU_NS_PER_MS;
			late = overdue(o);
		}
		bool standby = o->standby;
		pthread_mutex_unlock(&o->mu);
		if (standby && !stop) {
			free(acked);
			continue;
		}
		if (stop) {
			free(acked);
			break;
		}
		tu_status st = delete_acked(o, acked, n_acked);
		if (st != TU_OK) {
			tu_warn("outbox: cannot delete %zu acked entries: %s (tried again later)",
				n_acked, tu_status_str(st));
			pthread_mutex_lock(&o->mu);
			requeue(o, acked, n_acked);
			pthread_mutex_unlock(&o->mu);
		}
		free(acked);
		if (failed)
			restart(o, "a publish failed");
		else if (late)
			restart(o, "an entry waited longer than outbox_retry");
		st = send_more(o);
		if (st != TU_OK)
			tu_warn("outbox: cannot read the outbox: %s", tu_status_str(st));
		pthread_mutex_lock(&o->mu);
		if (o->depth == 0)
			pthread_cond_broadcast(&o->drained);
		pthread_mutex_unlock(&o->mu);
	}
	return NULL;
}

void tu_outbox_set_standby(tu_outbox *o, bool standby)
{
	pthread_mutex_lock(&o->mu);
	bool was = o->standby;
	o->standby = standby;
	if (was != standby) {
		/* Either way the next send starts over at the first entry. */
		clear_inflight(o);
		o->failed = false;
		o->last_sent = 0;
		o->kicked = true;
		pthread_cond_signal(&o->cond);
	}
	pthread_mutex_unlock(&o->mu);
	if (standby && !was)
		tu_bus_async_drop_pending(o->bus);
}

/* Decodes the source sequence of an outbox entry; false if it does not decode. */
static bool entry_seq(const MDB_val *d, uint64_t *seq)
{
	Trueup__View__OutboxEntry *e = trueup__view__outbox_entry__unpack(NULL, d->mv_size,
									 d->mv_data);
	if (e == NULL)
		return false;
	*seq = e->source_seq;
	trueup__view__outbox_entry__free_unpacked(e, NULL);
	return true;
}

tu_status tu_outbox_trim(tu_outbox *o, MDB_txn *txn, uint64_t through_seq, uint64_t *trimmed)
{
	const struct tu_view_dbs *db = tu_view_dbs(o->view);
	MDB_cursor *cur = NULL;
	*trimmed = 0;
	int rc = mdb_cursor_open(txn, db->outbox, &cur);
	if (rc != 0)
		return tu_view_status(rc);
	MDB_val k, d;
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	while (rc == 0) {
		uint64_t seq = 0;
		/* An entry that does not decode is the publisher's to report: stop at it. */
		if (!entry_seq(&d, &seq) || seq > through_seq)
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc != 0)
			break;
		(*trimmed)++;
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? TU_OK : tu_view_status(rc);
}

tu_status tu_outbox_settled(tu_outbox *o, uint64_t *through_seq)
{
	MDB_txn *txn = NULL;
	tu_status st = tu_view_begin(o->view, false, &txn);
	if (st != TU_OK)
		return st;
	uint64_t applied = 0, first = 0;
	st = tu_view_meta_get(txn, o->view, TU_META_APPLIED_SEQ, &applied);
	MDB_cursor *cur = NULL;
	int rc = st == TU_OK ? mdb_cursor_open(txn, tu_view_dbs(o->view)->outbox, &cur) : 0;
	if (st == TU_OK && rc == 0) {
		MDB_val k, d;
		if (mdb_cursor_get(cur, &k, &d, MDB_FIRST) == 0 && entry_seq(&d, &first) &&
		    first > 0 && first - 1 < applied)
			applied = first - 1;
		mdb_cursor_close(cur);
	}
	tu_view_abort(o->view, txn);
	if (st == TU_OK && rc != 0)
		st = tu_view_status(rc);
	if (st == TU_OK)
		*through_seq = applied;
	return st;
}

tu_status tu_outbox_start(tu_outbox *o)
{
	if (pthread_create(&o->thread, NULL, run, o) != 0)
		return TU_EINTERNAL;
	o->started = true;
	return TU_OK;
}

tu_status tu_outbox_drain(tu_outbox *o, int64_t timeout_ms)
{
	int64_t deadline = tu_clock_wall_ns() + timeout_ms * TU_NS_PER_MS;
	tu_outbox_kick(o);
	pthread_mutex_lock(&o->mu);
	while (o->depth > 0 || o->kicked) {
		struct timespec ts = { (time_t)(deadline / TU_NS_PER_S), (long)(deadline % TU_NS_PER_S) };
		if (pthread_cond_timedwait(&o->drained, &o->mu, &ts) == ETIMEDOUT)
			break;
	}
	bool empty = o->depth == 0 && !o->kicked;
	pthread_mutex_unlock(&o->mu);
	return empty ? TU_OK : TU_ETIMEOUT;
}

uint64_t tu_outbox_depth(tu_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	uint64_t d = o->depth;
	pthread_mutex_unlock(&o->mu);
	return d;
}

uint64_t tu_outbox_published(tu_outbox *o)
{
	pthread_mutex_lock(&o->mu);
	uint64_t p = o->published;
	pthread_mutex_unlock(&o->mu);
	return p;
}

void tu_outbox_destroy(tu_outbox *o)
{
	if (o == NULL)
		return;
	if (o->started) {
		pthread_mutex_lock(&o->mu);
		o->stop = true;
		pthread_cond_signal(&o->cond);
		pthread_mutex_unlock(&o->mu);
		pthread_join(o->thread, NULL);
	}
	free(o->acked);
	free(o->reclaiming);
	free(o->slots);
	pthread_cond_destroy(&o->drained);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->mu);
	free(o);
}
