/*
 * lease.c - the processor's lease in JetStream KV (see lease.h).
 *
 * Workload: one KV read or write per renew interval per processor.
 */
#include "lease.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "xalloc.h"

#define LEASE_VALUE_MAX 512 /* bytes of one lease value */

struct tu_lease {
	const struct tu_lease_config *cfg;
	tu_bus *bus;
	kvStore *kv;             /* owned */
	char *instance;          /* this processor's name, the holder in the value */
	char key[96];            /* processor.<partition> */
	struct tu_lease_state st; /* as last read or written */
	int64_t last_ok_mono;    /* monotonic ns of the last successful renew (holder) */
	int64_t written_ms;      /* wall clock of the last write attempt (renewed_ms) */
};

static void key_of(const struct tu_lease_config *cfg, char *key, size_t len)
{
	snprintf(key, len, "processor.%s", cfg->partition);
}

static int64_t wall_ms(void)
{
	return tu_clock_wall_ns() / TU_NS_PER_MS;
}

static tu_status bind_kv(tu_bus *bus, const struct tu_lease_config *cfg, kvStore **kv, char *err,
			 size_t errlen)
{
	natsStatus s = js_KeyValue(kv, tu_bus_js(bus), cfg->bucket);
	if (s == NATS_OK)
		return TU_OK;
	snprintf(err, errlen,
		 "lease bucket %s: %s (run `trueup streams apply` with processor.lease.enabled)",
		 cfg->bucket, natsStatus_GetText(s));
	return s == NATS_NOT_FOUND ? TU_ENOTFOUND : tu_bus_status(s);
}

/* Parses a lease value; false if it is not one (then it counts as expired). */
static bool parse_value(const void *data, int len, struct tu_lease_state *out)
{
	json_error_t je;
	json_t *v = json_loadb(data, len > 0 ? (size_t)len : 0, 0, &je);
	const char *holder = NULL;
	json_int_t expires = 0, published = 0, renewed = 0;
	bool ok = v != NULL && json_unpack(v, "{s:s, s:I, s?I, s?I}", "holder", &holder,
					   "expires_ms", &expires, "published_seq", &published,
					   "renewed_ms", &renewed) == 0;
	if (ok) {
		snprintf(out->holder, sizeof(out->holder), "%s", holder);
		out->expires_ms = expires;
		out->renewed_ms = renewed;
		out->published_seq = published > 0 ? (uint64_t)published : 0;
	}
	json_decref(v);
	return ok;
}

/* Reads the key into *out (revision 0 and no holder if absent). */
static tu_status read_key(kvStore *kv, const char *key, struct tu_lease_state *out)
{
	kvEntry *e = NULL;
	memset(out, 0, sizeof(*out));
	natsStatus s = kvStore_Get(&e, kv, key);
	if (s == NATS_NOT_FOUND)
		return TU_ENOTFOUND;
	if (s != NATS_OK)
		return tu_bus_status(s);
	out->revision = kvEntry_Revision(e);
	if (!parse_value(kvEntry_Value(e), kvEntry_ValueLen(e), out))
		tu_warn("lease %s: revision %" PRIu64 " is not a lease value; treating it as expired",
			key, out->revision);
	kvEntry_Destroy(e);
	return TU_OK;
}

tu_status tu_lease_read(tu_bus *bus, const struct tu_lease_config *cfg,
			struct tu_lease_state *out)
{
	char err[256], key[96];
	kvStore *kv = NULL;
	tu_status st = bind_kv(bus, cfg, &kv, err, sizeof(err));
	if (st != TU_OK)
		return st;
	key_of(cfg, key, sizeof(key));
	st = read_key(kv, key, out);
	kvStore_Destroy(kv);
	return st;
}

tu_status tu_lease_open(const struct tu_lease_config *cfg, tu_bus *bus, const char *instance,
			tu_lease **out, char *err, size_t errlen)
{
	kvStore *kv = NULL;
	tu_status st = bind_kv(bus, cfg, &kv, err, errlen);
	if (st != TU_OK)
		return st;
	tu_lease *l = tu_xcalloc(1, sizeof(*l));
	l->cfg = cfg;
	l->bus = bus;
	l->kv = kv;
	l->instance = tu_xstrdup(instance);
	key_of(cfg, l->key, sizeof(l->key));
	*out = l;
	return TU_OK;
}

void tu_lease_close(tu_lease *l)
{
	if (l == NULL)
		return;
	kvStore_Destroy(l->kv);
	free(l->instance);
	free(l);
}

/* Writes our value with expiry expires_ms; compare-and-set on `last` (0: create). */
static natsStatus write_value(tu_lease *l, uint64_t last, int64_t expires_ms, uint64_t published,
			      uint64_t *rev)
{
	char buf[LEASE_VALUE_MAX];
	l->written_ms = wall_ms();
	json_t *v = json_pack("{s:s, s:I, s:I, s:I, s:I}", "holder", l->instance, "expires_ms",
			      (json_int_t)expires_ms, "renewed_ms", (json_int_t)l->written_ms, "ttl_ms",
			      (json_int_t)l->cfg->ttl, "published_seq", (json_int_t)published);
	size_t n = v != NULL ? json_dumpb(v, buf, sizeof(buf), JSON_COMPACT) : 0;
	json_decref(v);
	if (n == 0 || n > sizeof(buf))
		return NATS_ERR;
	if (last == 0)
		return kvStore_Create(rev, l->kv, l->key, buf, (int)n);
	return kvStore_Update(rev, l->kv, l->key, buf, (int)n, last);
}

static void became_holder(tu_lease *l, uint64_t rev, int64_t expires, uint64_t published,
			  const char *from)
{
	tu_info("lease %s/%s taken (revision %" PRIu64 ", from %s)", l->cfg->bucket, l->key, rev,
		from[0] != '\0' ? from : "nobody");
	l->st.held = true;
	snprintf(l->st.holder, sizeof(l->st.holder), "%s", l->instance);
	l->st.expires_ms = expires;
	l->st.renewed_ms = l->written_ms;
	l->st.published_seq = published;
	l->st.revision = rev;
	l->last_ok_mono = tu_clock_mono_ns();
}

static void lost(tu_lease *l, const char *why)
{
	tu_warn("lease %s/%s lost: %s; standing by", l->cfg->bucket, l->key, why);
	l->st.held = false;
}

static void renew(tu_lease *l, uint64_t published)
{
	uint64_t rev = 0;
	int64_t expires = wall_ms() + l->cfg->ttl;
	natsStatus s = write_value(l, l->st.revision, expires, published, &rev);
	if (s == NATS_OK) {
		l->st.revision = rev;
		l->st.expires_ms = expires;
		l->st.renewed_ms = l->written_ms;
		l->st.published_seq = published;
		l->last_ok_mono = tu_clock_mono_ns();
		return;
	}
	/* Someone else wrote the key, or we cannot tell: read it to know. */
	struct tu_lease_state now;
	tu_status rs = read_key(l->kv, l->key, &now);
	if (rs == TU_OK && now.revision != l->st.revision) {
		lost(l, now.holder[0] != '\0' ? "another processor wrote the lease" :
						"the lease was rewritten");
		l->st = now;
		return;
	}
	if (rs == TU_ENOTFOUND) {
		lost(l, "the lease key was deleted");
		memset(&l->st, 0, sizeof(l->st));
		return;
	}
	int64_t since_ms = (tu_clock_mono_ns() - l->last_ok_mono) / TU_NS_PER_MS;
	tu_warn("lease %s/%s: renew failed (%s), last renewed %" PRId64 " ms ago", l->cfg->bucket,
		l->key, natsStatus_GetText(s), since_ms);
	/* Step down before a standby may take it: it waits for ttl, we stop at ttl - renew. */
	if (since_ms >= l->cfg->ttl - l->cfg->renew)
		lost(l, "not renewed within ttl - renew");
}

static void try_take(tu_lease *l)
{
	struct tu_lease_state now;
	tu_status rs = read_key(l->kv, l->key, &now);
	uint64_t rev = 0;
	int64_t expires = wall_ms() + l->cfg->ttl;
	if (rs == TU_ENOTFOUND) {
		if (write_value(l, 0, expires, 0, &rev) == NATS_OK)
			became_holder(l, rev, expires, 0, "");
		return;
	}
	if (rs != TU_OK) {
		tu_debug("lease %s/%s: cannot read: %s", l->cfg->bucket, l->key, tu_status_str(rs));
		return;
	}
	l->st = now;
	bool mine = strcmp(now.holder, l->instance) == 0;
	if (!mine && now.expires_ms > wall_ms())
		return;
	/* Lapsed (or ours from before a restart): take it over its revision. */
	if (write_value(l, now.revision, expires, now.published_seq, &rev) == NATS_OK)
		became_holder(l, rev, expires, now.published_seq, now.holder);
}

struct tu_lease_state tu_lease_step(tu_lease *l, uint64_t published_seq)
{
	if (l->st.held)
		renew(l, published_seq);
	else
		try_take(l);
	return l->st;
}

void tu_lease_release(tu_lease *l, uint64_t published_seq)
{
	if (!l->st.held)
		return;
	uint64_t rev = 0;
	if (write_value(l, l->st.revision, 0, published_seq, &rev) == NATS_OK)
		tu_info("lease %s/%s released", l->cfg->bucket, l->key);
	l->st.held = false;
}
