/*
 * bus.c - NATS connection, JetStream context and tracked async publishing.
 *
 * Invariants: every async publish either reaches on_ack exactly once (ack or
 * error reported by the server) or is still in nats.c's pending list, from
 * which tu_bus_async_complete() re-sends or gives it up. With keep_failed the
 * messages whose publish failed are parked in `failed` (owned here) instead
 * of being reported, for the next complete() round.
 */
#include "bus.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "contract.h"
#include "bounds.h"
#include "log.h"
#include "secret.h"
#include "xalloc.h"

struct tu_bus {
	natsConnection *nc;      /* owned */
	jsCtx *js;               /* owned */
	int64_t request_timeout; /* ms, for API calls */
	tu_bus_ack_fn on_ack;    /* may be NULL */
	void *ack_ctx;
	bool keep_failed;        /* park failed messages for resend */
	_Atomic int inflight;    /* async publishes without an ack or error yet */
	_Atomic bool async_used; /* an async publish went through (nats.c's pending list exists) */
	pthread_mutex_t mu;      /* guards failed */
	natsMsg **failed;        /* owned messages whose publish failed */
	size_t n_failed, cap_failed;
};

tu_status tu_bus_status(natsStatus s)
{
	switch (s) {
	case NATS_OK: return TU_OK;
	case NATS_TIMEOUT: return TU_ETIMEOUT;
	case NATS_NOT_FOUND: return TU_ENOTFOUND;
	case NATS_NO_MEMORY: return TU_ENOMEM;
	case NATS_INVALID_ARG:
	case NATS_INVALID_SUBJECT: return TU_EINVAL;
	case NATS_MAX_PAYLOAD: return TU_ETOOBIG;
	case NATS_NOT_PERMITTED:
	case NATS_CONNECTION_AUTH_FAILED: return TU_EAUTH;
	case NATS_NO_SERVER:
	case NATS_CONNECTION_CLOSED:
	case NATS_CONNECTION_DISCONNECTED:
	case NATS_STALE_CONNECTION:
	case NATS_NO_RESPONDERS:
	case NATS_IO_ERROR:
	case NATS_DRAINING: return TU_EUNAVAIL;
	case NATS_SSL_ERROR:
	case NATS_SECURE_CONNECTION_REQUIRED: return TU_EAUTH;
	default: return TU_EINTERNAL;
	}
}


/*
 * OpenSSL frees its global state in an atexit handler, which can run while
 * one of nats.c's threads still frees a connection's SSL context: the async
 * callback thread drops the last reference to a closed connection after its
 * disconnected callback, possibly after main has returned. That crashed short
 * tools now and then at exit under load (a core: OPENSSL_cleanup in the main
 * thread, SSL_CTX_free in natsAsyncCb_Destroy; RELIABILITY.md). Without the
 * handler the operating system reclaims that memory. A constructor, so that
 * this is the process's first OpenSSL initialization (later ones cannot turn
 * the handler off).
 */
__attribute__((constructor)) static void openssl_without_atexit(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	(void)nc;
	(void)sub;
	(void)closure;
	tu_warn("nats: async error: %s", natsStatus_GetText(err));
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)closure;
	if (!natsConnection_IsClosed(nc))
		tu_warn("nats: disconnected");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	(void)closure;
	char url[256] = "";
	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	tu_info("nats: reconnected to %s", url);
}

static void park_failed(tu_bus *bus, natsMsg *msg)
{
	pthread_mutex_lock(&bus->mu);
	if (bus->n_failed == bus->cap_failed) {
		bus->cap_failed = bus->cap_failed ? bus->cap_failed * 2 : 64;
		bus->failed = tu_xrealloc(bus->failed, bus->cap_failed * sizeof(*bus->failed));
	}
	bus->failed[bus->n_failed++] = msg;
	pthread_mutex_unlock(&bus->mu);
}

static void on_puback(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	(void)js;
	tu_bus *bus = closure;
	const char *id = tu_bus_header(msg, TU_HDR_MSG_ID);
	bus->inflight--;
	if (pa != NULL) {
		if (bus->on_ack != NULL)
			bus->on_ack(bus->ack_ctx, id ? id : "", TU_OK, pa->Sequence, pa->Duplicate);
		natsMsg_Destroy(msg);
		return;
	}
	natsStatus err = pae != NULL ? pae->Err : NATS_ERR;
	if (bus->keep_failed) {
		tu_debug("nats: publish of %s failed (%s), kept for resend", id ? id : "?",
			 natsStatus_GetText(err));
		park_failed(bus, msg);
		return;
	}
	tu_warn("nats: publish of %s on %s failed: %s%s%s", id ? id : "?", natsMsg_GetSubject(msg),
		natsStatus_GetText(err), pae && pae->ErrText ? ": " : "",
		pae && pae->ErrText ? pae->ErrText : "");
	if (bus->on_ack != NULL)
		bus->on_ack(bus->ack_ctx, id ? id : "", tu_bus_status(err), 0, false);
	natsMsg_Destroy(msg);
}

tu_status tu_bus_connect(const struct tu_nats_config *cfg, const struct tu_bus_opts *opts,
			 tu_bus **out, char *err, size_t errlen)
{
	natsOptions *no = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	char password[TU_MAX_SECRET + 1] = "";
	char host[256];
	tu_bus *bus = NULL;
	natsStatus s;
	tu_status st = TU_OK;

	s = natsOptions_Create(&no);
	if (s == NATS_OK)
		s = natsOptions_SetURL(no, cfg->url);
	if (s == NATS_OK && opts != NULL && opts->name != NULL)
		s = natsOptions_SetName(no, opts->name);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, cfg->connect_timeout);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(no, cfg->max_reconnect);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(no, cfg->reconnect_wait);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(no, on_async_error, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(no, on_disconnected, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(no, on_reconnected, NULL);
	if (s != NATS_OK) {
		snprintf(err, errlen, "nats options: %s", natsStatus_GetText(s));
		st = tu_bus_status(s);
		goto out;
	}
	if (cfg->user != NULL) {
		if (cfg->password_file != NULL) {
			st = tu_secret_read(cfg->password_file, password, sizeof(password), err, errlen);
			if (st != TU_OK)
				goto out;
		}
		s = natsOptions_SetUserInfo(no, cfg->user, cfg->password_file ? password : NULL);
		if (s != NATS_OK) {
			snprintf(err, errlen, "nats user %s: %s", cfg->user, natsStatus_GetText(s));
			st = tu_bus_status(s);
			goto out;
		}
	}
	if (cfg->creds_file != NULL) {
		s = natsOptions_SetUserCredentialsFromFiles(no, cfg->creds_file, NULL);
		if (s != NATS_OK) {
			snprintf(err, errlen, "nats creds file %s: %s", cfg->creds_file,
				 natsStatus_GetText(s));
			st = tu_bus_status(s);
			goto out;
		}
	}
	/*
	 * The name the server's certificate must carry: tls.hostname, else the URL's
	 * host. nats.c checks the URL's host by itself only when it was built with
	 * NATS_FORCE_HOST_VERIFICATION (Debian's 3.4.1 is), otherwise only a name it is
	 * told (any certificate of the CA would pass); it also switches to TLS by itself
	 * when a server requires it. So the name is set whenever there is one, with or
	 * without tls.ca, whatever the library's build.
	 */
	const char *expect = cfg->tls_hostname;
	if (expect == NULL) {
		char why[512];
		st = tu_nats_url_host(cfg->url, host, sizeof(host), why, sizeof(why));
		if (st == TU_OK) {
			expect = host;
		} else if (st == TU_ECONFLICT && cfg->tls_ca == NULL) {
			st = TU_OK; /* several hosts and no TLS asked for: nothing to name */
		} else {
			snprintf(err, errlen, "nats url: %s", why);
			goto out;
		}
	}
	if (expect != NULL) {
		s = natsOptions_SetExpectedHostname(no, expect);
		if (s != NATS_OK) {
			snprintf(err, errlen, "nats tls hostname %s: %s", expect,
				 natsStatus_GetText(s));
			st = tu_bus_status(s);
			goto out;
		}
	}
	if (cfg->tls_ca != NULL) {
		s = natsOptions_SetSecure(no, true);
		if (s == NATS_OK)
			s = natsOptions_LoadCATrustedCertificates(no, cfg->tls_ca);
		if (s == NATS_OK && cfg->tls_cert != NULL)
			s = natsOptions_LoadCertificatesChain(no, cfg->tls_cert, cfg->tls_key);
		if (s != NATS_OK) {
			snprintf(err, errlen, "nats tls (ca %s): %s", cfg->tls_ca, natsStatus_GetText(s));
			st = tu_bus_status(s);
			goto out;
		}
	}
	s = natsConnection_Connect(&nc, no);
	if (s != NATS_OK) {
		const char *detail = nats_GetLastError(NULL);
		snprintf(err, errlen, "cannot connect to %s: %s%s%s", cfg->url, natsStatus_GetText(s),
			 detail ? ": " : "", detail ? detail : "");
		st = tu_bus_status(s);
		goto out;
	}

	bus = tu_xcalloc(1, sizeof(*bus));
	pthread_mutex_init(&bus->mu, NULL);
	bus->request_timeout = cfg->request_timeout;
	if (opts != NULL) {
		bus->on_ack = opts->on_ack;
		bus->ack_ctx = opts->ack_ctx;
		bus->keep_failed = opts->keep_failed;
	}

	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = cfg->request_timeout;
	jo.PublishAsync.MaxPending = (opts != NULL && opts->max_pending > 0) ? opts->max_pending : 4096;
	jo.PublishAsync.AckHandler = on_puback;
	jo.PublishAsync.AckHandlerClosure = bus;
	jo.PublishAsync.StallWait = cfg->request_timeout;
	s = natsConnection_JetStream(&js, nc, &jo);
	if (s != NATS_OK) {
		snprintf(err, errlen, "jetstream context: %s", natsStatus_GetText(s));
		st = tu_bus_status(s);
		goto out;
	}
	bus->nc = nc;
	bus->js = js;
	nc = NULL;
	js = NULL;
	*out = bus;
	bus = NULL;
out:
	if (bus != NULL) {
		pthread_mutex_destroy(&bus->mu);
		free(bus);
	}
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	natsOptions_Destroy(no);
	tu_secret_wipe(password, sizeof(password));
	return st;
}

void tu_bus_destroy(tu_bus *bus, int64_t timeout_ms)
{
	if (bus == NULL)
		return;
	if (timeout_ms > 0 && tu_bus_async_pending(bus) > 0) {
		jsPubOptions po;
		jsPubOptions_Init(&po);
		po.MaxWait = timeout_ms;
		js_PublishAsyncComplete(bus->js, &po);
	}
	tu_bus_async_drop_pending(bus);
	jsCtx_Destroy(bus->js);
	/* Acks and naks are plain publishes: let the last ones reach the server. */
	natsConnection_FlushTimeout(bus->nc, timeout_ms > 0 ? timeout_ms : 1000);
	natsConnection_Close(bus->nc);
	natsConnection_Destroy(bus->nc);
	for (size_t i = 0; i < bus->n_failed; i++)
		natsMsg_Destroy(bus->failed[i]);
	free(bus->failed);
	pthread_mutex_destroy(&bus->mu);
	free(bus);
}

natsConnection *tu_bus_nc(tu_bus *bus)
{
	return bus->nc;
}

jsCtx *tu_bus_js(tu_bus *bus)
{
	return bus->js;
}

int64_t tu_bus_request_timeout(const tu_bus *bus)
{
	return bus->request_timeout;
}

tu_status tu_bus_msg_create(const struct tu_bus_msg *m, natsMsg **out)
{
	natsMsg *msg = NULL;
	if (m->len > TU_MAX_MSG)
		return TU_ETOOBIG;
	natsStatus s = natsMsg_Create(&msg, m->subject, NULL, m->data, (int)m->len);
	if (s == NATS_OK && m->msg_id != NULL)
		s = natsMsgHeader_Set(msg, TU_HDR_MSG_ID, m->msg_id);
	if (s == NATS_OK && m->type != NULL)
		s = natsMsgHeader_Set(msg, TU_HDR_TYPE, m->type);
	if (s == NATS_OK && m->correlation_id != NULL && *m->correlation_id != '\0')
		s = natsMsgHeader_Set(msg, TU_HDR_CORRELATION, m->correlation_id);
	if (s != NATS_OK) {
		natsMsg_Destroy(msg);
		return tu_bus_status(s);
	}
	*out = msg;
	return TU_OK;
}

tu_status tu_bus_publish(tu_bus *bus, const struct tu_bus_msg *m, uint64_t *seq, bool *duplicate,
			 char *err, size_t errlen)
{
	natsMsg *msg = NULL;
	jsPubAck *pa = NULL;
	jsErrCode ec = 0;
	tu_status st = tu_bus_msg_create(m, &msg);
	if (st != TU_OK) {
		snprintf(err, errlen, "cannot build message for %s: %s", m->subject, tu_status_str(st));
		return st;
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = bus->request_timeout;
	natsStatus s = js_PublishMsg(&pa, bus->js, msg, &po, &ec);
	if (s != NATS_OK) {
		snprintf(err, errlen, "publish to %s: %s (jetstream error %d)", m->subject,
			 natsStatus_GetText(s), (int)ec);
		st = tu_bus_status(s);
	} else {
		if (seq != NULL)
			*seq = pa->Sequence;
		if (duplicate != NULL)
			*duplicate = pa->Duplicate;
	}
	jsPubAck_Destroy(pa);
	natsMsg_Destroy(msg);
	return st;
}

tu_status tu_bus_publish_async(tu_bus *bus, const struct tu_bus_msg *m)
{
	natsMsg *msg = NULL;
	tu_status st = tu_bus_msg_create(m, &msg);
	if (st != TU_OK)
		return st;
	bus->inflight++;
	natsStatus s = js_PublishMsgAsync(bus->js, &msg, NULL);
	/*
	 * Only a publish that went through proves nats.c's pending list exists: a
	 * first one refused (the connection closed) leaves it NULL, and asking for
	 * it then dereferences NULL (nats.c 3.4.1 js.c _newAsyncReply; the
	 * processor crashed so after NATS stopped, integration.shutdown run 3).
	 */
	if (s == NATS_OK)
		bus->async_used = true;
	else
		bus->inflight--;
	natsMsg_Destroy(msg); /* no-op when the library took it */
	return tu_bus_status(s);
}

size_t tu_bus_async_drop_pending(tu_bus *bus)
{
	/* nats.c 3.4 crashes here if nothing was ever published asynchronously. */
	if (!bus->async_used)
		return 0;
	natsMsgList pending = { 0 };
	if (js_PublishAsyncGetPendingList(&pending, bus->js) != NATS_OK)
		return 0;
	size_t n = (size_t)pending.Count;
	bus->inflight -= pending.Count;
	natsMsgList_Destroy(&pending);
	return n;
}

int tu_bus_async_pending(tu_bus *bus)
{
	return bus->inflight;
}

/* Re-sends every parked failed message; returns how many. */
static size_t resend_failed(tu_bus *bus)
{
	pthread_mutex_lock(&bus->mu);
	natsMsg **list = bus->failed;
	size_t n = bus->n_failed;
	bus->failed = NULL;
	bus->n_failed = 0;
	bus->cap_failed = 0;
	pthread_mutex_unlock(&bus->mu);
	for (size_t i = 0; i < n; i++) {
		bus->inflight++;
		if (js_PublishMsgAsync(bus->js, &list[i], NULL) != NATS_OK) {
			bus->inflight--;
			park_failed(bus, list[i]);
		}
	}
	free(list);
	return n;
}

tu_status tu_bus_async_complete(tu_bus *bus, int64_t timeout_ms, int retries, size_t *unsent)
{
	int64_t deadline = tu_clock_mono_ns() + timeout_ms * TU_NS_PER_MS;
	tu_status st = TU_OK;
	for (int round = 0;; round++) {
		int64_t left = (deadline - tu_clock_mono_ns()) / TU_NS_PER_MS;
		if (left < 1)
			left = 1;
		jsPubOptions po;
		jsPubOptions_Init(&po);
		po.MaxWait = left;
		natsStatus s = js_PublishAsyncComplete(bus->js, &po);
		pthread_mutex_lock(&bus->mu);
		size_t failed = bus->n_failed;
		pthread_mutex_unlock(&bus->mu);
		if (s == NATS_OK && failed == 0) {
			st = TU_OK;
			break;
		}
		if (round >= retries || tu_clock_mono_ns() >= deadline) {
			st = s != NATS_OK ? tu_bus_status(s) : TU_EUNAVAIL;
			break;
		}
		/* Unacked after the wait: take them back and send again (same ids). */
		if (s == NATS_TIMEOUT && bus->async_used) {
			natsMsgList pending = { 0 };
			if (js_PublishAsyncGetPendingList(&pending, bus->js) == NATS_OK) {
				bus->inflight -= pending.Count;
				for (int i = 0; i < pending.Count; i++)
					park_failed(bus, pending.Msgs[i]);
				free(pending.Msgs);
			}
		}
		size_t n = resend_failed(bus);
		tu_warn("nats: re-sent %zu unacked publishes (round %d of %d)", n, round + 1, retries);
		tu_clock_sleep_ms(50 * (round + 1));
	}
	size_t lost = 0;
	if (st != TU_OK) {
		lost += tu_bus_async_drop_pending(bus);
		pthread_mutex_lock(&bus->mu);
		for (size_t i = 0; i < bus->n_failed; i++)
			natsMsg_Destroy(bus->failed[i]);
		lost += bus->n_failed;
		bus->n_failed = 0;
		pthread_mutex_unlock(&bus->mu);
	}
	if (unsent != NULL)
		*unsent = lost;
	return st;
}

tu_status tu_bus_request(tu_bus *bus, const char *subject, const void *data, size_t len,
			 struct tu_buf *reply)
{
	natsMsg *m = NULL;
	natsStatus s = natsConnection_Request(&m, bus->nc, subject, data, (int)len,
					      bus->request_timeout);
	if (s != NATS_OK)
		return tu_bus_status(s);
	tu_status st = tu_buf_append(reply, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	natsMsg_Destroy(m);
	return st;
}

tu_status tu_bus_publish_core(tu_bus *bus, const char *subject, const void *data, size_t len)
{
	return tu_bus_status(natsConnection_Publish(bus->nc, subject, data, (int)len));
}

tu_status tu_bus_pull_bind(tu_bus *bus, const char *stream, const char *durable,
			   natsSubscription **out, char *err, size_t errlen)
{
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Consumer = durable;
	jsErrCode ec = 0;
	natsSubscription *sub = NULL;
	natsStatus s = js_PullSubscribe(&sub, bus->js, NULL, durable, NULL, &so, &ec);
	if (s != NATS_OK) {
		const char *detail = nats_GetLastError(NULL);
		snprintf(err, errlen, "cannot bind to consumer %s of %s: %s (%s)", durable, stream,
			 natsStatus_GetText(s), detail ? detail : "no detail");
		return tu_bus_status(s);
	}
	*out = sub;
	return TU_OK;
}

static tu_status fetch_status(natsStatus s)
{
	if (s == NATS_OK)
		return TU_OK;
	if (s == NATS_TIMEOUT)
		return TU_ETIMEOUT;
	return tu_bus_status(s);
}

/* Messages the subscription holds (user and status messages); 0 if it cannot say. */
static int sub_pending(natsSubscription *sub)
{
	int n = 0;
	return natsSubscription_GetPending(sub, &n, NULL) == NATS_OK ? n : 0;
}

/* Takes up to batch of the messages sub already holds, one Fetch of 1 at a time. */
static tu_status fetch_pending(natsSubscription *sub, int batch, int64_t timeout_ms,
			       natsMsgList *out)
{
	natsMsg **msgs = tu_xcalloc((size_t)batch, sizeof(*msgs));
	int n = 0;
	natsStatus s = NATS_OK;
	while (n < batch && sub_pending(sub) > 0) {
		natsMsgList one = { 0 };
		s = natsSubscription_Fetch(&one, sub, 1, timeout_ms, NULL);
		if (s != NATS_OK || one.Count < 1) {
			natsMsgList_Destroy(&one);
			break;
		}
		msgs[n++] = one.Msgs[0];
		one.Count = 0;
		natsMsgList_Destroy(&one); /* the array only */
	}
	if (n == 0) {
		free(msgs);
		return s == NATS_OK ? TU_ETIMEOUT : fetch_status(s);
	}
	/* natsMsgList_Destroy() frees the array with free(), as it would its own. */
	out->Msgs = msgs;
	out->Count = n;
	return TU_OK;
}

/*
 * nats.c before 3.9 (Debian 12 ships 3.4.1) overruns the message array of a
 * Fetch when the subscription already holds messages on entry (nats.c #749):
 * it takes c of them, asks the server for batch - c more, and then waits until
 * it holds exactly batch - c, which it is past when c > batch / 2: every
 * further message is written beyond the array. Pull requests sent before a
 * disconnect, or buffered during one, leave such messages behind (the
 * processor crashed after nats-server restarts, tests/chaos/nats_restart.sh).
 * So when more than a quarter of a batch is already pending, it is taken one
 * Fetch of 1 at a time, which cannot overrun. A few pending messages (one that
 * came just after the last fetch gave up, which is common) keep the normal
 * path: it takes them and asks for the rest without a wait, as before; the
 * pending count would have to pass half the batch between this check and the
 * fetch's own for it to overrun.
 */
tu_status tu_bus_fetch(natsSubscription *sub, int batch, int64_t timeout_ms, natsMsgList *out)
{
	if (batch > 1 && sub_pending(sub) > batch / 4)
		return fetch_pending(sub, batch, timeout_ms, out);
	return fetch_status(natsSubscription_Fetch(out, sub, batch, timeout_ms, NULL));
}

/* Parses an unsigned decimal token; false if it is not one. */
static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * The ack subject carries the metadata:
 *   $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>       (9 tokens)
 *   $JS.ACK.<domain>.<acchash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>]
 * Parsed in place: natsMsg_GetMetaData allocates per message (PLATFORM-NOTES 6).
 */
tu_status tu_bus_meta(natsMsg *msg, struct tu_bus_meta *out)
{
	const char *reply = natsMsg_GetReply(msg);
	if (reply == NULL || strncmp(reply, "$JS.ACK.", 8) != 0)
		return TU_EINVAL;
	const char *tok[13];
	size_t len[13];
	int n = 0;
	const char *p = reply;
	while (n < 13) {
		const char *dot = strchr(p, '.');
		tok[n] = p;
		len[n] = dot ? (size_t)(dot - p) : strlen(p);
		n++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	int base;
	if (n == 9)
		base = 4;
	else if (n >= 11 && n <= 12)
		base = 6;
	else
		return TU_EINVAL;
	uint64_t ts = 0;
	struct tu_bus_meta m;
	if (!parse_u64(tok[base], len[base], &m.delivered) ||
	    !parse_u64(tok[base + 1], len[base + 1], &m.stream_seq) ||
	    !parse_u64(tok[base + 2], len[base + 2], &m.consumer_seq) ||
	    !parse_u64(tok[base + 3], len[base + 3], &ts) ||
	    !parse_u64(tok[base + 4], len[base + 4], &m.pending))
		return TU_EINVAL;
	m.ts_ns = (int64_t)ts;
	*out = m;
	return TU_OK;
}

const char *tu_bus_header(natsMsg *msg, const char *key)
{
	const char *v = NULL;
	if (natsMsgHeader_Get(msg, key, &v) != NATS_OK)
		return NULL;
	return v;
}

tu_status tu_bus_get_msg(tu_bus *bus, const char *stream, uint64_t seq, natsMsg **out)
{
	jsErrCode ec = 0;
	natsMsg *m = NULL;
	natsStatus s = js_GetMsg(&m, bus->js, stream, seq, NULL, &ec);
	if (s != NATS_OK)
		return (s == NATS_NOT_FOUND || ec == JSNoMessageFoundErr) ? TU_ENOTFOUND
									 : tu_bus_status(s);
	*out = m;
	return TU_OK;
}

tu_status tu_bus_get_last(tu_bus *bus, const char *stream, const char *subject, natsMsg **out)
{
	jsErrCode ec = 0;
	natsMsg *m = NULL;
	natsStatus s = js_GetLastMsg(&m, bus->js, stream, subject, NULL, &ec);
	if (s != NATS_OK)
		return (s == NATS_NOT_FOUND || ec == JSNoMessageFoundErr) ? TU_ENOTFOUND
									 : tu_bus_status(s);
	*out = m;
	return TU_OK;
}
