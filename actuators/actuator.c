/*
 * actuator.c - the command loop (see actuator.h).
 *
 * Invariants:
 *  - a command message leaves handle_command() acked, naked or terminated,
 *    exactly once; it is acked only after its Outcome is stored in
 *    TRUEUP_EVENTS (synchronous publish), and never after a failed publish;
 *  - a command id whose last outcome is final is never handed to the adapter;
 *    the adapter's own guard covers the window between effect and outcome;
 *  - bytes from NATS are input: anything malformed is dead-lettered with a
 *    reason, never asserted on, and never stops the loop.
 *
 *  - commands of one fetch are executed together only through an adapter's
 *    execute_batch; they are checked first (decode, outcome lookup,
 *    deadline), never two with the same command id in one batch (a second
 *    one waits until the first one's outcome is stored, then finds it), and
 *    each still gets its own outcome, publish and ack, in stream order.
 *
 * Workload: fix commands are rare (tens per second at most); each costs one
 * outcome lookup, one synchronous publish and a share of one target call, so
 * the loop handles one fetch at a time and keeps its bytes in one arena.
 */
#include "actuator.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "bounds.h"
#include "breaker.h"
#include "buf.h"
#include "clock.h"
#include "contract.h"
#include "ids.h"
#include "log.h"
#include "ophttp.h"
#include "xalloc.h"

#define TU_ACTUATOR_QUOTE_MAX 64         /* bytes of an input value quoted in a reason */
#define TU_ACTUATOR_DEAD_PAYLOAD (TU_MAX_MSG - 65536) /* payload kept in a dead letter */
#define TU_ACTUATOR_FETCH_ERROR_PAUSE_MS 1000 /* pause after a failed fetch */

/* A command of the current fetch that passed the checks and waits for its execution. */
struct pending {
	natsMsg *msg;                /* borrowed from the fetched list */
	struct tu_bus_meta meta;     /* its delivery */
	Trueup__V1__FixCommand *cmd; /* in the actuator's arena */
	bool expired;                /* past its deadline: ex says so, nothing is executed */
	int64_t started;             /* wall clock when its execution began */
	struct tu_exec ex;           /* its verdict */
};

struct tu_actuator {
	tu_bus *bus;                            /* borrowed */
	const struct tu_target_config *target;  /* borrowed */
	struct tu_adapter adapter;              /* impl borrowed */
	char *instance;                         /* owned */
	char *origin;                           /* owned; "actuator-<target>" */
	natsSubscription *sub;                  /* owned; bound to target->consumer */
	int64_t max_deliver;                    /* the consumer's MaxDeliver; <= 0: unlimited */
	unsigned crash_after;                   /* test hook, see actuator.h; 0: off */
	uint64_t effects;                       /* `succeeded` executions (for the hook) */
	uint64_t rng;                           /* xorshift state for backoff jitter */
	struct tu_arena arena;                  /* memory of the pending commands; reset per batch */
	struct pending *pending;                /* owned; cap entries, n_pending in use */
	size_t n_pending;
	size_t cap;                             /* the target's batch */
	const Trueup__V1__FixCommand **cmds;    /* owned, cap: the commands handed to the adapter */
	bool *dry;                              /* owned, cap: their dry-run flags */
	size_t *slot;                           /* owned, cap: their index in pending */
	struct tu_exec *outs;                   /* owned, cap: their verdicts */
	struct tu_actuator_stats stats;         /* counters */
	struct tu_breaker breaker;              /* stops taking commands while the target is down */
	struct tu_ophttp *op;                   /* borrowed; NULL: no metrics */
	natsSubscription *ctl;                  /* owned: state requests (trueup status) */
	pthread_mutex_t snap_mu;                /* guards snap */
	struct {
		enum tu_breaker_state breaker;
		int64_t open_ms;                /* breaker: ms until a try (open) */
		struct tu_actuator_stats stats;
	} snap;                                 /* what a state request sees */
	struct tu_metric *m_exec, *m_secs, *m_dead, *m_breaker, *m_opened;
};

static void declare_metrics(tu_actuator *a)
{
	tu_metrics *m = tu_ophttp_metrics(a->op);
	a->m_exec = tu_metrics_counter(m, "trueup_commands_executed_total",
				       "Commands handled, by outcome result.", "target,action,result");
	a->m_secs = tu_metrics_histogram(m, "trueup_actuator_duration_seconds",
					 "One command: checks and effect.", "target,action",
					 tu_metrics_duration_buckets, tu_metrics_n_duration_buckets);
	a->m_dead = tu_metrics_counter(m, "trueup_dead_letters_total",
				       "Commands parked as dead letters.", "origin");
	a->m_breaker = tu_metrics_gauge(m, "trueup_breaker_state",
					"0 closed, 1 half-open, 2 open.", "target,provider");
	a->m_opened = tu_metrics_counter(m, "trueup_breaker_opened_total",
					 "Times the target's breaker opened.", "target,provider");
}

/* The breaker's state as the gauge says it: 0 closed, 1 half-open, 2 open. */
static void export_breaker(tu_actuator *a)
{
	if (a->op == NULL)
		return;
	const char *v[] = { a->target->name, a->target->name };
	double x = a->breaker.state == TU_BREAKER_OPEN ? 2 : a->breaker.state == TU_BREAKER_HALF_OPEN ? 1 : 0;
	tu_metric_set(a->m_breaker, v, x);
}

/* Copies the loop's state for state requests (the loop thread only). */
static void snapshot(tu_actuator *a)
{
	pthread_mutex_lock(&a->snap_mu);
	a->snap.breaker = a->breaker.state;
	a->snap.open_ms = tu_breaker_wait_ms(&a->breaker, tu_clock_mono_ns() / 1000000);
	a->snap.stats = a->stats;
	pthread_mutex_unlock(&a->snap_mu);
}

/* trueup.ctl.actuator.<target>: replies with this instance's state as JSON. */
static void on_state_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)sub;
	tu_actuator *a = closure;
	const char *reply = natsMsg_GetReply(msg);
	if (reply != NULL && *reply != '\0') {
		struct tu_buf b;
		tu_buf_init(&b, 1 << 16);
		pthread_mutex_lock(&a->snap_mu);
		tu_buf_printf(&b, "{\"target\":\"%s\",\"type\":\"%s\",\"instance\":", a->target->name,
			      a->adapter.ops->type);
		tu_buf_json_str(&b, a->instance, strlen(a->instance));
		tu_buf_printf(&b, ",\"breaker\":\"%s\",\"breaker_retry_in_ms\":%" PRId64
			      ",\"breaker_opened\":%" PRIu64 ",\"commands\":%" PRIu64
			      ",\"outcomes\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"dead\":%" PRIu64
			      ",\"retries\":%" PRIu64 ",\"exhausted\":%" PRIu64 ",\"deferred\":%" PRIu64 "}",
			      tu_breaker_state_str(a->snap.breaker), a->snap.open_ms,
			      a->snap.stats.breaker_opened, a->snap.stats.commands, a->snap.stats.outcomes,
			      a->snap.stats.duplicates, a->snap.stats.dead, a->snap.stats.retries,
			      a->snap.stats.exhausted, a->snap.stats.deferred);
		pthread_mutex_unlock(&a->snap_mu);
		natsConnection_Publish(nc, reply, b.data, (int)b.len);
		tu_buf_release(&b);
	}
	natsMsg_Destroy(msg);
}

/* ---- pure parts --------------------------------------------------------------------------- */

int64_t tu_actuator_backoff_ms(const struct tu_target_config *t, uint64_t delivery, uint64_t rnd)
{
	return tu_backoff_ms(delivery, t->retry_backoff, t->retry_backoff_max, rnd);
}

/* Copies s into out for a message: printable ASCII as is, other bytes as \xNN, cut. */
static const char *quote(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		bool plain = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
		size_t need = plain ? 1 : 4;
		if (o + need + 4 >= outlen || (size_t)(p - (const unsigned char *)s) >=
						      TU_ACTUATOR_QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (plain) {
			out[o++] = (char)*p;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 15];
	}
	out[o] = '\0';
	return out;
}

tu_status tu_actuator_decode(const char *target, bool (*verb_known)(const char *action),
			     const char *subject, const char *type, const void *data, size_t len,
			     struct tu_arena *a, Trueup__V1__FixCommand **out, char *reason,
			     size_t reasonlen)
{
	char q[4 * TU_ACTUATOR_QUOTE_MAX + 8];
	Trueup__V1__FixCommand *cmd = NULL;

	if (type == NULL) {
		snprintf(reason, reasonlen, "header %s: missing (want %s)", TU_HDR_TYPE,
			 TU_TYPE_COMMAND);
		return TU_EDECODE;
	}
	if (strcmp(type, TU_TYPE_COMMAND) != 0) {
		snprintf(reason, reasonlen, "header %s: \"%s\", want %s", TU_HDR_TYPE,
			 quote(type, q, sizeof(q)), TU_TYPE_COMMAND);
		return TU_EDECODE;
	}
	if (len > TU_MAX_MSG) {
		snprintf(reason, reasonlen, "payload: %zu bytes, over TU_MAX_MSG (%d)", len,
			 TU_MAX_MSG);
		return TU_ETOOBIG;
	}
	cmd = trueup__v1__fix_command__unpack(tu_arena_pb(a), len, data);
	if (cmd == NULL) {
		snprintf(reason, reasonlen, "payload: %zu bytes that do not decode as %s", len,
			 TU_TYPE_COMMAND);
		return TU_EDECODE;
	}
	if (cmd->command_id == NULL || cmd->command_id[0] == '\0') {
		snprintf(reason, reasonlen, "field command_id: missing");
		return TU_EINVAL;
	}
	if (!tu_token_valid(cmd->command_id)) {
		snprintf(reason, reasonlen, "field command_id: \"%s\" is not a valid subject token",
			 quote(cmd->command_id, q, sizeof(q)));
		return TU_EINVAL;
	}
	if (cmd->target == NULL || cmd->target[0] == '\0') {
		snprintf(reason, reasonlen, "field target: missing");
		return TU_EINVAL;
	}
	if (strcmp(cmd->target, target) != 0) {
		snprintf(reason, reasonlen, "field target: \"%s\" is not this actuator's target %s",
			 quote(cmd->target, q, sizeof(q)), target);
		return TU_EINVAL;
	}
	if (cmd->action == NULL || cmd->action[0] == '\0') {
		snprintf(reason, reasonlen, "field action: missing");
		return TU_EINVAL;
	}
	if (!verb_known(cmd->action)) {
		snprintf(reason, reasonlen, "field action: unknown action \"%s\" for target %s",
			 quote(cmd->action, q, sizeof(q)), target);
		return TU_EINVAL;
	}
	if (cmd->n_params > TU_MAX_PARAMS) {
		snprintf(reason, reasonlen, "field params: %zu entries, over TU_MAX_PARAMS (%d)",
			 cmd->n_params, TU_MAX_PARAMS);
		return TU_ETOOBIG;
	}
	if (cmd->n_preconditions > TU_MAX_PARAMS) {
		snprintf(reason, reasonlen,
			 "field preconditions: %zu entries, over TU_MAX_PARAMS (%d)",
			 cmd->n_preconditions, TU_MAX_PARAMS);
		return TU_ETOOBIG;
	}
	/* target and action are names here, so this is the subject the processor used. */
	char want[TU_MAX_SUBJECT];
	snprintf(want, sizeof(want), "%s.%s.%s", TU_SUBJ_CMD, target, cmd->action);
	if (subject == NULL || strcmp(subject, want) != 0) {
		snprintf(reason, reasonlen, "subject: \"%s\" does not match target and action (%s)",
			 quote(subject != NULL ? subject : "", q, sizeof(q)), want);
		return TU_EINVAL;
	}
	*out = cmd;
	return TU_OK;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

tu_status tu_actuator_create(tu_bus *bus, const struct tu_actuator_opts *opts, tu_actuator **out,
			     char *err, size_t errlen)
{
	natsSubscription *sub = NULL;
	jsConsumerInfo *ci = NULL;
	jsErrCode ec = 0;
	const struct tu_target_config *t = opts->target;

	tu_status st = tu_bus_pull_bind(bus, TU_STREAM_CMD, t->consumer, &sub, err, errlen);
	if (st != TU_OK)
		return st;
	int64_t max_deliver = t->max_deliver;
	natsStatus s =
		js_GetConsumerInfo(&ci, tu_bus_js(bus), TU_STREAM_CMD, t->consumer, NULL, &ec);
	if (s == NATS_OK) {
		max_deliver = ci->Config->MaxDeliver;
		if (max_deliver != t->max_deliver)
			tu_warn("consumer %s: max_deliver is %" PRId64 " on the server, %d in the "
				"config; using the server's (run `trueup streams apply`)",
				t->consumer, max_deliver, t->max_deliver);
		jsConsumerInfo_Destroy(ci);
	} else {
		tu_warn("consumer %s: cannot read its info (%s); assuming max_deliver %d",
			t->consumer, natsStatus_GetText(s), t->max_deliver);
	}

	tu_actuator *a = tu_xcalloc(1, sizeof(*a));
	a->bus = bus;
	a->target = t;
	a->adapter = opts->adapter;
	a->instance = tu_xstrdup(opts->instance != NULL ? opts->instance : "");
	a->origin = tu_xasprintf("actuator-%s", t->name);
	a->sub = sub;
	a->max_deliver = max_deliver;
	a->crash_after = opts->crash_after;
	a->rng = (uint64_t)tu_clock_mono_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
	tu_breaker_init(&a->breaker, t->breaker.failures, t->breaker.cooldown,
			t->breaker.max_cooldown);
	a->op = opts->op;
	if (a->op != NULL) {
		declare_metrics(a);
		export_breaker(a);
	}
	pthread_mutex_init(&a->snap_mu, NULL);
	char subject[TU_MAX_SUBJECT];
	snprintf(subject, sizeof(subject), "%s.%s", TU_SUBJ_CTL_ACTUATOR, t->name);
	natsStatus cs = natsConnection_Subscribe(&a->ctl, tu_bus_nc(bus), subject, on_state_request, a);
	if (cs != NATS_OK)
		tu_warn("cannot serve state requests on %s: %s", subject, natsStatus_GetText(cs));
	tu_arena_init(&a->arena, 64 * 1024);
	a->cap = t->batch > 0 ? (size_t)t->batch : 1;
	a->pending = tu_xcalloc(a->cap, sizeof(*a->pending));
	a->cmds = tu_xcalloc(a->cap, sizeof(*a->cmds));
	a->dry = tu_xcalloc(a->cap, sizeof(*a->dry));
	a->slot = tu_xcalloc(a->cap, sizeof(*a->slot));
	a->outs = tu_xcalloc(a->cap, sizeof(*a->outs));
	*out = a;
	return TU_OK;
}

void tu_actuator_destroy(tu_actuator *a)
{
	if (a == NULL)
		return;
	if (a->ctl != NULL) {
		natsSubscription_Unsubscribe(a->ctl);
		natsSubscription_Destroy(a->ctl);
	}
	pthread_mutex_destroy(&a->snap_mu);
	natsSubscription_Destroy(a->sub);
	tu_arena_release(&a->arena);
	free(a->pending);
	free(a->cmds);
	free(a->dry);
	free(a->slot);
	free(a->outs);
	free(a->instance);
	free(a->origin);
	free(a);
}

void tu_actuator_stats(const tu_actuator *a, struct tu_actuator_stats *out)
{
	*out = a->stats;
}

/* ---- one command -------------------------------------------------------------------------- */

static uint64_t next_random(tu_actuator *a)
{
	return tu_backoff_rand(&a->rng);
}

/* JetStream will not deliver msg again after this delivery. */
static bool last_delivery(const tu_actuator *a, const struct tu_bus_meta *meta)
{
	return a->max_deliver > 0 && meta->delivered >= (uint64_t)a->max_deliver;
}

/*
 * Naks msg so that it comes back after the backoff of this delivery, or after
 * at_least_ms if the target asked for longer (capped like the backoff).
 */
static void nak_later(tu_actuator *a, natsMsg *msg, uint64_t delivered, const char *corr,
		      int64_t at_least_ms)
{
	int64_t cap = a->target->retry_backoff_max;
	int64_t delay = tu_actuator_backoff_ms(a->target, delivered, next_random(a));
	if (at_least_ms > delay)
		delay = at_least_ms < cap ? at_least_ms : cap;
	natsStatus s = natsMsg_NakWithDelay(msg, delay, NULL);
	a->stats.retries++;
	if (s != NATS_OK)
		tu_log(TU_LOG_WARN, corr, "nak failed (%s); the command comes back after ack_wait",
		       natsStatus_GetText(s));
	else
		tu_log(TU_LOG_DEBUG, corr, "naked; next delivery in %" PRId64 " ms", delay);
}

static void settle(natsMsg *msg, bool terminate, const char *corr)
{
	natsStatus s = terminate ? natsMsg_Term(msg, NULL) : natsMsg_Ack(msg, NULL);
	if (s != NATS_OK)
		tu_log(TU_LOG_WARN, corr, "%s failed (%s); a redelivery will find the outcome",
		       terminate ? "term" : "ack", natsStatus_GetText(s));
}

/* The message's headers as sorted Attrs in the arena; several values are joined with ", ". */
static void copy_headers(tu_actuator *a, natsMsg *msg, Trueup__V1__DeadLetter *d)
{
	const char **keys = NULL;
	int n = 0;
	if (natsMsgHeader_Keys(msg, &keys, &n) != NATS_OK || n <= 0)
		return;
	size_t count = (size_t)n < TU_MAX_ATTRS ? (size_t)n : TU_MAX_ATTRS;
	d->headers = tu_arena_alloc(&a->arena, count * sizeof(*d->headers));
	for (size_t i = 0; i < count; i++) {
		const char **vals = NULL;
		int nv = 0;
		struct tu_buf joined;
		tu_buf_init(&joined, TU_MAX_ATTR_VALUE);
		if (natsMsgHeader_Values(msg, keys[i], &vals, &nv) == NATS_OK) {
			for (int j = 0; j < nv; j++) {
				if (j > 0)
					tu_buf_puts(&joined, ", ");
				tu_buf_puts(&joined, vals[j]);
			}
			free((void *)vals);
		}
		d->headers[d->n_headers++] =
			tu_pb_attr(&a->arena, keys[i], tu_buf_cstr(&joined));
		tu_buf_release(&joined);
	}
	free((void *)keys);
	tu_pb_attrs_sort(d->headers, d->n_headers);
}

/*
 * Parks msg in TRUEUP_DEAD with reason and terminates it; if the dead letter
 * cannot be stored, naks it for another try (terminates it on the last
 * delivery: a command must not stall the consumer forever).
 */
static void dead_letter(tu_actuator *a, natsMsg *msg, const struct tu_bus_meta *meta,
			const char *reason)
{
	Trueup__V1__DeadLetter d = TRUEUP__V1__DEAD_LETTER__INIT;
	char err[512];
	const char *corr = tu_bus_header(msg, TU_HDR_CORRELATION);
	if (corr != NULL && !tu_token_valid(corr))
		corr = NULL;
	size_t len = (size_t)natsMsg_GetDataLength(msg);
	d.origin = a->origin;
	d.stream = TU_STREAM_CMD;
	d.subject = (char *)natsMsg_GetSubject(msg);
	d.stream_seq = meta->stream_seq;
	d.reason = (char *)reason;
	if (len > TU_ACTUATOR_DEAD_PAYLOAD) {
		d.reason = tu_arena_printf(&a->arena, "%s (payload cut to %d of %zu bytes)", reason,
					   TU_ACTUATOR_DEAD_PAYLOAD, len);
		len = TU_ACTUATOR_DEAD_PAYLOAD;
	}
	d.payload.len = len;
	d.payload.data = (uint8_t *)natsMsg_GetData(msg);
	d.at_ns = meta->ts_ns;
	copy_headers(a, msg, &d);

	size_t plen = 0;
	void *data = tu_pb_pack(&a->arena, &d.base, &plen);
	struct tu_bus_msg m = {
		.subject = tu_arena_printf(&a->arena, "%s.%s", TU_SUBJ_DEAD, a->origin),
		.type = TU_TYPE_DEAD,
		.msg_id = tu_arena_printf(&a->arena, "dead.cmd.%" PRIu64, meta->stream_seq),
		.correlation_id = corr,
		.data = data,
		.len = plen,
	};
	tu_status st = tu_bus_publish(a->bus, &m, NULL, NULL, err, sizeof(err));
	if (st == TU_OK) {
		a->stats.dead++;
		if (a->op != NULL) {
			const char *v[] = { a->origin };
			tu_metric_add(a->m_dead, v, 1);
		}
		tu_log(TU_LOG_WARN, corr, "command at %s seq %" PRIu64 " dead-lettered: %s",
		       TU_STREAM_CMD, meta->stream_seq, d.reason);
		settle(msg, true, corr);
		return;
	}
	if (last_delivery(a, meta)) {
		tu_log(TU_LOG_ERROR, corr,
		       "command at %s seq %" PRIu64 " is malformed (%s) and its dead letter could "
		       "not be stored on the last delivery (%s); terminated, lost from TRUEUP_DEAD",
		       TU_STREAM_CMD, meta->stream_seq, reason, err);
		settle(msg, true, corr);
		return;
	}
	tu_log(TU_LOG_WARN, corr, "dead letter for seq %" PRIu64 " not stored (%s); retrying later",
	       meta->stream_seq, err);
	nak_later(a, msg, meta->delivered, corr, 0);
}

/*
 * Looks for a final outcome of cmd in TRUEUP_EVENTS: TU_OK with its result,
 * TU_ENOTFOUND if there is none (or only a retryable one), another status
 * if the stream could not be asked.
 */
static tu_status find_final(tu_actuator *a, const Trueup__V1__FixCommand *cmd,
			    Trueup__V1__Outcome__Result *result, uint64_t *seq)
{
	natsMsg *m = NULL;
	const char *subject = tu_arena_printf(&a->arena, "%s.%s.%s", TU_SUBJ_OUT,
					      a->target->name, cmd->command_id);
	tu_status st = tu_bus_get_last(a->bus, TU_STREAM_EVENTS, subject, &m);
	if (st != TU_OK)
		return st;
	Trueup__V1__Outcome *o = trueup__v1__outcome__unpack(
		tu_arena_pb(&a->arena), (size_t)natsMsg_GetDataLength(m),
		(const uint8_t *)natsMsg_GetData(m));
	st = TU_ENOTFOUND;
	if (o == NULL) {
		tu_log(TU_LOG_WARN, cmd->correlation_id,
		       "last message on %s does not decode as an Outcome; ignored", subject);
	} else if (tu_pb_result_final(o->result)) {
		*result = o->result;
		*seq = natsMsg_GetSequence(m);
		st = TU_OK;
	}
	natsMsg_Destroy(m);
	return st;
}

static tu_status publish_outcome(tu_actuator *a, const Trueup__V1__FixCommand *cmd,
				 const struct tu_bus_meta *meta, const struct tu_exec *ex,
				 int64_t started, int64_t finished, char *err, size_t errlen)
{
	Trueup__V1__Outcome o = TRUEUP__V1__OUTCOME__INIT;
	o.command_id = cmd->command_id;
	o.correlation_id = cmd->correlation_id;
	o.rule = cmd->rule;
	o.target = cmd->target;
	o.action = cmd->action;
	o.entity = cmd->entity;
	o.result = ex->result;
	o.error = (char *)ex->error;
	o.detail = (char *)ex->detail;
	o.attempt = cmd->attempt;
	o.delivery = meta->delivered > UINT32_MAX ? UINT32_MAX : (uint32_t)meta->delivered;
	o.actuator = a->instance;
	o.started_at_ns = started;
	o.finished_at_ns = finished;

	size_t len = 0;
	void *data = tu_pb_pack(&a->arena, &o.base, &len);
	struct tu_bus_msg m = {
		.subject = tu_arena_printf(&a->arena, "%s.%s.%s", TU_SUBJ_OUT, a->target->name,
					   cmd->command_id),
		.type = TU_TYPE_OUTCOME,
		/*
		 * The result is part of the id: nats-server 2.9.10 was seen to deliver a
		 * naked command with the same delivery count again (RELIABILITY.md), and
		 * its final outcome must not be dropped as the retry's duplicate.
		 */
		.msg_id = tu_arena_printf(&a->arena, "out.%s.%" PRIu64 ".%s", cmd->command_id,
					  meta->delivered, tu_pb_result_str(ex->result)),
		.correlation_id = cmd->correlation_id,
		.data = data,
		.len = len,
	};
	return tu_bus_publish(a->bus, &m, NULL, NULL, err, errlen);
}

/* Logs that msg goes back to JetStream unsettled, and why; naks it. */
static void give_back(tu_actuator *a, natsMsg *msg, const struct tu_bus_meta *meta,
		      const Trueup__V1__FixCommand *cmd, const char *why)
{
	if (last_delivery(a, meta))
		tu_log(TU_LOG_ERROR, cmd->correlation_id,
		       "command %s: %s on its last delivery (%" PRIu64 "); JetStream will not "
		       "deliver it again and it has no stored outcome",
		       cmd->command_id, why, meta->delivered);
	else
		tu_log(TU_LOG_WARN, cmd->correlation_id,
		       "command %s: %s; not acked, it will be delivered again", cmd->command_id,
		       why);
	nak_later(a, msg, meta->delivered, cmd->correlation_id, 0);
}

/* Feeds the breaker with whether the target could answer. */
static void note_target(tu_actuator *a, bool failed, const char *corr)
{
	if (!failed) {
		if (a->breaker.state != TU_BREAKER_CLOSED)
			tu_log(TU_LOG_INFO, corr, "target %s answers again: breaker closed",
			       a->target->name);
		tu_breaker_success(&a->breaker);
		return;
	}
	if (tu_breaker_failure(&a->breaker, tu_clock_mono_ns() / 1000000)) {
		a->stats.breaker_opened++;
		if (a->op != NULL) {
			const char *v[] = { a->target->name, a->target->name };
			tu_metric_add(a->m_opened, v, 1);
		}
		tu_log(TU_LOG_WARN, corr,
		       "target %s keeps failing: breaker open for %" PRId64 " ms; its commands wait "
		       "in %s",
		       a->target->name, a->breaker.cooldown_ms, TU_STREAM_CMD);
	}
}

/*
 * The breaker is open: give msg back for when it may close, unexecuted; on
 * its last delivery it runs anyway (a nak would drop it without an outcome).
 */
static bool defer_if_open(tu_actuator *a, natsMsg *msg)
{
	int64_t wait = tu_breaker_wait_ms(&a->breaker, tu_clock_mono_ns() / 1000000);
	struct tu_bus_meta meta;
	if (wait <= 0 || tu_bus_meta(msg, &meta) != TU_OK || last_delivery(a, &meta))
		return false;
	natsStatus s = natsMsg_NakWithDelay(msg, wait, NULL);
	if (s != NATS_OK)
		tu_warn("nak failed (%s); the command comes back after ack_wait",
			natsStatus_GetText(s));
	a->stats.deferred++;
	return true;
}

static bool is_dry_run(const Trueup__V1__FixCommand *cmd)
{
	/* A detect-mode command should not exist; if one does, it must change nothing. */
	return cmd->mode == TRUEUP__V1__MODE__MODE_DRY_RUN ||
	       cmd->mode == TRUEUP__V1__MODE__MODE_DETECT;
}

/* Publishes p's outcome, then acks, naks or terminates its message. */
static void finish(tu_actuator *a, struct pending *p)
{
	const Trueup__V1__FixCommand *cmd = p->cmd;
	const char *corr = cmd->correlation_id;
	struct tu_exec *ex = &p->ex;
	char err[512];

	bool retry = ex->result == TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE;
	if (!p->expired)
		note_target(a, retry, corr);
	bool exhausted = retry && last_delivery(a, &p->meta);
	if (exhausted) {
		char last[TU_EXEC_ERROR];
		snprintf(last, sizeof(last), "%s", ex->error);
		ex->result = TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT;
		snprintf(ex->error, sizeof(ex->error), "retries exhausted after %" PRIu64
			 " deliveries; last error: %.440s", p->meta.delivered, last);
		retry = false;
	}
	int64_t finished = tu_clock_wall_ns();
	export_breaker(a);
	if (a->op != NULL) {
		const char *v[] = { a->target->name, cmd->action, tu_pb_result_str(ex->result) };
		tu_metric_add(a->m_exec, v, 1);
		tu_metric_observe(a->m_secs, v, (double)(finished - p->started) / 1e9);
	}

	tu_status st = publish_outcome(a, cmd, &p->meta, ex, p->started, finished, err,
				       sizeof(err));
	if (st != TU_OK) {
		char why[TU_EXEC_ERROR + 64];
		snprintf(why, sizeof(why), "%s, but its outcome was not stored (%.400s)",
			 tu_pb_result_str(ex->result), err);
		give_back(a, p->msg, &p->meta, cmd, why);
		return;
	}
	a->stats.outcomes++;
	tu_log(retry || exhausted ? TU_LOG_WARN : TU_LOG_INFO, corr,
	       "command %s %s.%s (rule %s, attempt %" PRIu32 ", delivery %" PRIu64 "): %s: %s%s%s",
	       cmd->command_id, cmd->target, cmd->action, cmd->rule, cmd->attempt,
	       p->meta.delivered, tu_pb_result_str(ex->result), ex->detail,
	       ex->error[0] ? "; error: " : "", ex->error);
	if (retry) {
		nak_later(a, p->msg, p->meta.delivered, corr, ex->retry_after_ms);
		return;
	}
	if (exhausted)
		a->stats.exhausted++;
	settle(p->msg, exhausted, corr);
}

/*
 * Executes the pending commands (the expired ones only get their outcome):
 * one tu_adapter_run() for all of them, then, in stream order, each one's
 * outcome and ack.
 */
static void run_pending(tu_actuator *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n_pending; i++) {
		struct pending *p = &a->pending[i];
		if (p->expired)
			continue;
		a->cmds[n] = p->cmd;
		a->dry[n] = is_dry_run(p->cmd);
		a->slot[n] = i;
		n++;
	}
	if (n > 0) {
		int64_t started = tu_clock_wall_ns();
		tu_adapter_run(&a->adapter, a->cmds, a->dry, n, a->outs);
		for (size_t k = 0; k < n; k++) {
			a->pending[a->slot[k]].started = started;
			a->pending[a->slot[k]].ex = a->outs[k];
		}
		for (size_t k = 0; k < n && a->crash_after > 0; k++) {
			if (a->outs[k].result == TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED &&
			    ++a->effects == a->crash_after) {
				tu_log(TU_LOG_WARN, a->cmds[k]->correlation_id,
				       "test hook: crashing after execute (%s) of command %s, "
				       "effect %" PRIu64, tu_pb_result_str(a->outs[k].result),
				       a->cmds[k]->command_id, a->effects);
				raise(SIGKILL);
			}
		}
	}
	for (size_t i = 0; i < a->n_pending; i++)
		finish(a, &a->pending[i]);
	a->n_pending = 0;
}

static bool is_pending(const tu_actuator *a, const char *command_id)
{
	for (size_t i = 0; i < a->n_pending; i++) {
		if (strcmp(a->pending[i].cmd->command_id, command_id) == 0)
			return true;
	}
	return false;
}

/*
 * Checks one command message: dead-letters what is malformed, acks what
 * already has a final outcome, gives back what cannot be looked up, and
 * queues the rest (expired ones with their verdict) for run_pending().
 */
static void prepare(tu_actuator *a, natsMsg *msg)
{
	struct tu_bus_meta meta;
	Trueup__V1__FixCommand *cmd = NULL;
	char reason[TU_ACTUATOR_MAX_REASON];
	char err[512];

	if (a->n_pending == 0)
		tu_arena_reset(&a->arena);
	a->stats.commands++;
	if (tu_bus_meta(msg, &meta) != TU_OK) {
		/* Not a JetStream delivery: nothing to dead-letter it by. */
		tu_error("message on %s without JetStream metadata; terminated",
			 natsMsg_GetSubject(msg));
		settle(msg, true, NULL);
		return;
	}
	tu_status st = tu_actuator_decode(a->target->name, a->adapter.ops->verb_known,
					  natsMsg_GetSubject(msg), tu_bus_header(msg, TU_HDR_TYPE),
					  natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
					  &a->arena, &cmd, reason, sizeof(reason));
	if (st != TU_OK) {
		dead_letter(a, msg, &meta, reason);
		return;
	}
	/* The same id twice in one batch: the first one's outcome decides about this one. */
	if (is_pending(a, cmd->command_id))
		run_pending(a);
	const char *corr = cmd->correlation_id;
	Trueup__V1__Outcome__Result prior;
	uint64_t prior_seq = 0;
	st = find_final(a, cmd, &prior, &prior_seq);
	if (st == TU_OK) {
		a->stats.duplicates++;
		tu_log(TU_LOG_INFO, corr,
		       "command %s (delivery %" PRIu64 ") already has a final outcome %s at %s seq "
		       "%" PRIu64 "; skipped",
		       cmd->command_id, meta.delivered, tu_pb_result_str(prior), TU_STREAM_EVENTS,
		       prior_seq);
		settle(msg, false, corr);
		return;
	}
	if (st != TU_ENOTFOUND) {
		snprintf(err, sizeof(err), "cannot look up its outcome (%s)", tu_status_str(st));
		give_back(a, msg, &meta, cmd, err);
		return;
	}

	struct pending *p = &a->pending[a->n_pending++];
	memset(p, 0, sizeof(*p));
	p->msg = msg;
	p->meta = meta;
	p->cmd = cmd;
	p->started = tu_clock_wall_ns();
	if (cmd->deadline_ns > 0 && p->started > cmd->deadline_ns) {
		char when[40];
		tu_time_format(cmd->deadline_ns, when, sizeof(when));
		p->expired = true;
		tu_exec_set(&p->ex, TRUEUP__V1__OUTCOME__RESULT__RESULT_EXPIRED, NULL,
			    "deadline %s passed before execution; nothing done", when);
	}
}

/* ---- the loop ----------------------------------------------------------------------------- */

tu_status tu_actuator_run(tu_actuator *a, const volatile sig_atomic_t *stop)
{
	const struct tu_target_config *t = a->target;
	tu_status last_err = TU_OK;
	tu_info("actuator %s: target %s (%s), consumer %s, batch %d, max_deliver %" PRId64,
		a->instance, t->name, a->adapter.ops->type, t->consumer, t->batch, a->max_deliver);
	while (!*stop) {
		natsMsgList list = { 0 };
		int64_t now_ms = tu_clock_mono_ns() / 1000000;
		tu_ophttp_alive(a->op);
		bool allowed = tu_breaker_allow(&a->breaker, now_ms);
		export_breaker(a);
		snapshot(a);
		if (!allowed) {
			/* Open: commands wait in JetStream, not here. */
			int64_t wait = tu_breaker_wait_ms(&a->breaker, now_ms);
			tu_clock_sleep_ms(wait < 500 ? wait : 500);
			continue;
		}
		/* Half-open: one command tries the target. */
		int batch = a->breaker.state == TU_BREAKER_HALF_OPEN ? 1 : t->batch > 0 ? t->batch : 1;
		tu_status st = tu_bus_fetch(a->sub, batch, t->fetch_wait, &list);
		if (st == TU_ETIMEOUT)
			continue;
		if (st != TU_OK) {
			if (st != last_err)
				tu_warn("fetch from consumer %s failed: %s; retrying", t->consumer,
					tu_status_str(st));
			last_err = st;
			tu_clock_sleep_ms(TU_ACTUATOR_FETCH_ERROR_PAUSE_MS);
			continue;
		}
		last_err = TU_OK;
		for (int i = 0; i < list.Count; i++) {
			if (*stop) {
				/* Not ours to finish: let another instance have it now. */
				natsMsg_Nak(list.Msgs[i], NULL);
				continue;
			}
			if (a->breaker.state == TU_BREAKER_OPEN && defer_if_open(a, list.Msgs[i]))
				continue;
			prepare(a, list.Msgs[i]);
			/* One at a time unless the adapter takes batches (or the batch is full). */
			if (a->adapter.ops->execute_batch == NULL || a->n_pending == a->cap)
				run_pending(a);
		}
		run_pending(a);
		natsMsgList_Destroy(&list);
	}
	tu_info("actuator %s: stopping: %" PRIu64 " commands, %" PRIu64 " outcomes, %" PRIu64
		" duplicates skipped, %" PRIu64 " dead letters, %" PRIu64 " retries, %" PRIu64
		" exhausted, breaker opened %" PRIu64 " times, %" PRIu64 " deferred",
		a->instance, a->stats.commands, a->stats.outcomes, a->stats.duplicates,
		a->stats.dead, a->stats.retries, a->stats.exhausted, a->stats.breaker_opened,
		a->stats.deferred);
	return TU_OK;
}
