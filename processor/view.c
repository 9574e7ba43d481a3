/*
 * view.c - LMDB environment of the processor's view (see view.h).
 * Workload: one write transaction per fetched batch (hundreds to thousands of
 * puts), short read transactions from the outbox publisher and the CLI.
 */
#include "view.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "pbjson.h"
#include "view.pb-c.h"
#include "xalloc.h"

struct tu_view {
	MDB_env *env;            /* owned */
	struct tu_view_dbs dbs;  /* handles opened at start */
	int64_t map_size;        /* current map size in bytes */
	pthread_rwlock_t resize; /* shared by open transactions, exclusive for a resize */
};

tu_status tu_view_status(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return TU_OK;
	case MDB_NOTFOUND: return TU_ENOTFOUND;
	case MDB_KEYEXIST: return TU_EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL: return TU_EFULL;
	case MDB_BAD_VALSIZE: return TU_ETOOBIG;
	case ENOMEM: return TU_ENOMEM;
	case ENOENT: return TU_ENOTFOUND;
	default: return TU_EIO;
	}
}

void tu_view_be64(uint64_t v, unsigned char out[8])
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

uint64_t tu_view_get_be64(const unsigned char in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | in[i];
	return v;
}

static unsigned int env_flags(enum tu_sync_mode sync)
{
	/* NOMEMINIT: pages are written whole; zeroing their unused tail first is wasted work. */
	unsigned int flags = MDB_NOTLS | MDB_NOMEMINIT;
	if (sync == TU_SYNC_NONE)
		flags |= MDB_NOSYNC;
	else if (sync == TU_SYNC_META)
		flags |= MDB_NOMETASYNC;
	return flags;
}

tu_status tu_view_open(const char *dir, int64_t map_size, enum tu_sync_mode sync, bool create,
		       tu_view **out, char *err, size_t errlen)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	tu_view *v = NULL;
	tu_status st = TU_OK;
	int rc;

	if (create && mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create view directory %s: %s", dir, strerror(errno));
		return TU_EIO;
	}
	rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 24);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, (size_t)map_size);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(env, 126);
	if (rc == 0)
		rc = mdb_env_open(env, dir, env_flags(sync), 0640);
	if (rc != 0) {
		snprintf(err, errlen, "cannot open view %s: %s", dir, mdb_strerror(rc));
		st = tu_view_status(rc);
		goto out;
	}
	int dead = 0;
	mdb_reader_check(env, &dead);

	v = tu_xcalloc(1, sizeof(*v));
	pthread_rwlock_init(&v->resize, NULL);
	v->env = env;
	v->map_size = map_size;
	rc = mdb_txn_begin(env, NULL, create ? 0 : MDB_RDONLY, &txn);
	if (rc != 0) {
		snprintf(err, errlen, "view %s: begin: %s", dir, mdb_strerror(rc));
		st = tu_view_status(rc);
		goto out;
	}
	unsigned int dflags = create ? MDB_CREATE : 0;
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {
		{ "meta", &v->dbs.meta },   { "entity", &v->dbs.entity }, { "bysrc", &v->dbs.bysrc },
		{ "scan", &v->dbs.scan },   { "drift", &v->dbs.drift },   { "cmd", &v->dbs.cmd },
		{ "outbox", &v->dbs.outbox }, { "timer", &v->dbs.timer }, { "cidx", &v->dbs.cidx },
		{ "watch", &v->dbs.watch }, { "deps", &v->dbs.deps },   { "member", &v->dbs.member },
		{ "hist", &v->dbs.hist },   { "staged", &v->dbs.staged }, { "budget", &v->dbs.budget },
	};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, dflags, dbs[i].dbi);
		if (rc != 0) {
			snprintf(err, errlen, "view %s: database %s: %s", dir, dbs[i].name,
				 mdb_strerror(rc));
			st = tu_view_status(rc);
			goto out;
		}
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		snprintf(err, errlen, "view %s: commit: %s", dir, mdb_strerror(rc));
		st = tu_view_status(rc);
		goto out;
	}
	*out = v;
	v = NULL;
	env = NULL;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (v != NULL)
		pthread_rwlock_destroy(&v->resize);
	free(v);
	if (env != NULL)
		mdb_env_close(env);
	return st;
}

void tu_view_close(tu_view *v)
{
	if (v == NULL)
		return;
	mdb_env_sync(v->env, 1);
	mdb_env_close(v->env);
	pthread_rwlock_destroy(&v->resize);
	free(v);
}

MDB_env *tu_view_env(tu_view *v)
{
	return v->env;
}

const struct tu_view_dbs *tu_view_dbs(const tu_view *v)
{
	return &v->dbs;
}

tu_status tu_view_begin(tu_view *v, bool write, MDB_txn **out)
{
	MDB_txn *txn = NULL;
	pthread_rwlock_rdlock(&v->resize);
	int rc = mdb_txn_begin(v->env, NULL, write ? 0 : MDB_RDONLY, &txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map: adopt its size and retry. */
		mdb_env_set_mapsize(v->env, 0);
		rc = mdb_txn_begin(v->env, NULL, write ? 0 : MDB_RDONLY, &txn);
	}
	if (rc != 0) {
		pthread_rwlock_unlock(&v->resize);
		return tu_view_status(rc);
	}
	*out = txn;
	return TU_OK;
}

tu_status tu_view_commit(tu_view *v, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);
	pthread_rwlock_unlock(&v->resize);
	return tu_view_status(rc);
}

void tu_view_abort(tu_view *v, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&v->resize);
}

tu_status tu_view_grow(tu_view *v)
{
	pthread_rwlock_wrlock(&v->resize);
	MDB_envinfo info;
	mdb_env_info(v->env, &info);
	size_t size = info.me_mapsize * 2;
	int rc = mdb_env_set_mapsize(v->env, size);
	if (rc == 0)
		v->map_size = (int64_t)size;
	pthread_rwlock_unlock(&v->resize);
	return tu_view_status(rc);
}

/*
 * Syncs run on the processor's syncer thread: like a transaction they hold
 * the resize lock shared, since mdb_env_sync reads the meta pages in the map
 * that a resize (tu_view_grow, on the fold thread) unmaps.
 */
tu_status tu_view_sync(tu_view *v)
{
	pthread_rwlock_rdlock(&v->resize);
	int rc = mdb_env_sync(v->env, 1);
	pthread_rwlock_unlock(&v->resize);
	return tu_view_status(rc);
}

int tu_view_reader_check(tu_view *v)
{
	int dead = 0;
	pthread_rwlock_rdlock(&v->resize);
	mdb_reader_check(v->env, &dead);
	pthread_rwlock_unlock(&v->resize);
	return dead;
}

tu_status tu_view_meta_get(MDB_txn *txn, const tu_view *v, const char *key, uint64_t *out)
{
	MDB_val k = { strlen(key), (void *)key }, d;
	int rc = mdb_get(txn, v->dbs.meta, &k, &d);
	if (rc == MDB_NOTFOUND) {
		*out = 0;
		return TU_OK;
	}
	if (rc != 0)
		return tu_view_status(rc);
	if (d.mv_size != 8)
		return TU_EINTERNAL;
	*out = tu_view_get_be64(d.mv_data);
	return TU_OK;
}

tu_status tu_view_meta_put(MDB_txn *txn, const tu_view *v, const char *key, uint64_t val)
{
	unsigned char buf[8];
	tu_view_be64(val, buf);
	MDB_val k = { strlen(key), (void *)key }, d = { 8, buf };
	return tu_view_status(mdb_put(txn, v->dbs.meta, &k, &d, 0));
}

tu_status tu_view_meta_add(MDB_txn *txn, const tu_view *v, const char *key, uint64_t delta)
{
	uint64_t cur = 0;
	tu_status st = tu_view_meta_get(txn, v, key, &cur);
	if (st == TU_OK)
		st = tu_view_meta_put(txn, v, key, cur + delta);
	return st;
}

/* Prints a key with NULs as '|' and non-printables as \xNN. */
static void print_key(FILE *out, const MDB_val *k)
{
	const unsigned char *p = k->mv_data;
	for (size_t i = 0; i < k->mv_size; i++) {
		if (p[i] == 0)
			fputc('|', out);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			fprintf(out, "\\x%02x", p[i]);
		else
			fputc(p[i], out);
	}
}

static void print_pb(FILE *out, const ProtobufCMessageDescriptor *d, const MDB_val *val)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, val->mv_size, val->mv_data);
	if (m == NULL) {
		fprintf(out, "<undecodable %zu bytes>", val->mv_size);
		return;
	}
	struct tu_buf b;
	tu_buf_init(&b, 64 * 1024 * 1024);
	tu_pbjson_write(m, &b);
	fputs(tu_buf_cstr(&b), out);
	tu_buf_release(&b);
	protobuf_c_message_free_unpacked(m, NULL);
}

tu_status tu_view_dump(tu_view *v, FILE *out, bool volatile_too)
{
	MDB_txn *txn = NULL;
	tu_status st = tu_view_begin(v, false, &txn);
	if (st != TU_OK)
		return st;
	struct {
		const char *name;
		MDB_dbi dbi;
		const ProtobufCMessageDescriptor *desc; /* NULL: raw value */
		bool is_volatile;
	} dbs[] = {
		{ "meta", v->dbs.meta, NULL, false },
		{ "entity", v->dbs.entity, &trueup__view__entity__descriptor, false },
		{ "bysrc", v->dbs.bysrc, NULL, false },
		{ "scan", v->dbs.scan, &trueup__view__scan__descriptor, false },
		{ "drift", v->dbs.drift, &trueup__view__drift__descriptor, false },
		{ "cmd", v->dbs.cmd, &trueup__view__command__descriptor, false },
		{ "timer", v->dbs.timer, NULL, false },
		{ "cidx", v->dbs.cidx, NULL, false },
		{ "watch", v->dbs.watch, NULL, false },
		{ "deps", v->dbs.deps, NULL, false },
		{ "member", v->dbs.member, NULL, false },
		{ "hist", v->dbs.hist, NULL, false },
		{ "staged", v->dbs.staged, NULL, false },
		{ "budget", v->dbs.budget, NULL, false },
		{ "outbox", v->dbs.outbox, &trueup__view__outbox_entry__descriptor, true },
	};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if (dbs[i].is_volatile && !volatile_too)
			continue;
		MDB_cursor *cur = NULL;
		int rc = mdb_cursor_open(txn, dbs[i].dbi, &cur);
		if (rc != 0) {
			st = tu_view_status(rc);
			break;
		}
		MDB_val k, d;
		rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
		while (rc == 0) {
			fprintf(out, "%s ", dbs[i].name);
			print_key(out, &k);
			fputc(' ', out);
			if (dbs[i].desc != NULL) {
				print_pb(out, dbs[i].desc, &d);
			} else if (dbs[i].dbi == v->dbs.meta && d.mv_size == 8) {
				fprintf(out, "%" PRIu64, tu_view_get_be64(d.mv_data));
			} else {
				MDB_val dv = d;
				print_key(out, &dv);
			}
			fputc('\n', out);
			rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
		}
		mdb_cursor_close(cur);
	}
	tu_view_abort(v, txn);
	return st;
}
