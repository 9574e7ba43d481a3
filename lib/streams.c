/*
 * streams.c - idempotent stream and consumer setup (see streams.h).
 * Workload: a handful of JetStream API requests per apply.
 */
#include "streams.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "clock.h"
#include "contract.h"

static const char *events_subjects[] = { TU_SUBJ_OBS ".>", TU_SUBJ_HB ".>", TU_SUBJ_OUT ".>",
					 TU_SUBJ_APPROVE ".>", TU_SUBJ_TICK };
static const char *drift_subjects[] = { TU_SUBJ_DRIFT ".>" };
static const char *cmd_subjects[] = { TU_SUBJ_CMD ".>" };
static const char *dead_subjects[] = { TU_SUBJ_DEAD ".>" };

struct stream_spec {
	const char *name;
	const char **subjects;
	int n_subjects;
	const struct tu_stream_config *limits;
};

static void stream_config(const struct stream_spec *sp, jsStreamConfig *sc)
{
	jsStreamConfig_Init(sc);
	sc->Name = sp->name;
	sc->Subjects = sp->subjects;
	sc->SubjectsLen = sp->n_subjects;
	sc->Storage = js_FileStorage;
	sc->Retention = js_LimitsPolicy;
	sc->Discard = js_DiscardOld;
	sc->MaxAge = sp->limits->max_age * TU_NS_PER_MS;
	sc->MaxBytes = sp->limits->max_bytes;
	sc->MaxMsgs = sp->limits->max_msgs;
	sc->Duplicates = sp->limits->duplicates * TU_NS_PER_MS;
	sc->Replicas = sp->limits->replicas;
	sc->MaxMsgSize = sp->limits->max_msg_size;
}

static bool same_subjects(const jsStreamConfig *a, const jsStreamConfig *b)
{
	if (a->SubjectsLen != b->SubjectsLen)
		return false;
	for (int i = 0; i < a->SubjectsLen; i++) {
		bool found = false;
		for (int j = 0; j < b->SubjectsLen && !found; j++)
			found = strcmp(a->Subjects[i], b->Subjects[j]) == 0;
		if (!found)
			return false;
	}
	return true;
}

static void subjects_str(const jsStreamConfig *c, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < c->SubjectsLen && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", i ? " " : "", c->Subjects[i]);
}

/* Appends "field a -> b" to changes for each mutable field that differs. */
static int diff_mutable(const jsStreamConfig *have, const jsStreamConfig *want, struct tu_buf *chg)
{
	int n = 0;
#define DIFF_I64(field, label)                                                              \
	if (have->field != want->field) {                                                    \
		tu_buf_printf(chg, "%s%s %" PRId64 " -> %" PRId64, n++ ? ", " : "", label,   \
			      (int64_t)have->field, (int64_t)want->field);                   \
	}
	DIFF_I64(MaxAge, "max_age_ns")
	DIFF_I64(MaxBytes, "max_bytes")
	DIFF_I64(MaxMsgs, "max_msgs")
	DIFF_I64(Duplicates, "duplicates_ns")
	DIFF_I64(MaxMsgSize, "max_msg_size")
	DIFF_I64(Replicas, "replicas")
	DIFF_I64(Discard, "discard")
#undef DIFF_I64
	return n;
}

static tu_status apply_stream(tu_bus *bus, const struct stream_spec *sp, struct tu_buf *report,
			      char *err, size_t errlen)
{
	jsStreamConfig want;
	jsStreamInfo *si = NULL;
	jsErrCode ec = 0;
	tu_status st = TU_OK;
	struct tu_buf chg;
	tu_buf_init(&chg, 4096);

	stream_config(sp, &want);
	natsStatus s = js_GetStreamInfo(&si, tu_bus_js(bus), sp->name, NULL, &ec);
	if (s == NATS_NOT_FOUND || ec == JSStreamNotFoundErr) {
		jsStreamInfo_Destroy(si);
		si = NULL;
		s = js_AddStream(&si, tu_bus_js(bus), &want, NULL, &ec);
		if (s != NATS_OK) {
			snprintf(err, errlen, "stream %s: cannot create: %s (jetstream error %d: %s)",
				 sp->name, natsStatus_GetText(s), (int)ec,
				 nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
			st = tu_bus_status(s);
			goto out;
		}
		tu_buf_printf(report, "stream %s: created\n", sp->name);
		goto out;
	}
	if (s != NATS_OK) {
		snprintf(err, errlen, "stream %s: cannot read: %s (jetstream error %d)", sp->name,
			 natsStatus_GetText(s), (int)ec);
		st = tu_bus_status(s);
		goto out;
	}
	const jsStreamConfig *have = si->Config;
	if (have->Storage != want.Storage) {
		snprintf(err, errlen,
			 "stream %s: field storage is %s, trueup needs file; it cannot be changed in "
			 "place (move the data and delete the stream, or use another account)",
			 sp->name, have->Storage == js_MemoryStorage ? "memory" : "file");
		st = TU_ECONFLICT;
		goto out;
	}
	if (have->Retention != want.Retention) {
		snprintf(err, errlen,
			 "stream %s: field retention is %d, trueup needs limits (0); it cannot be "
			 "changed in place",
			 sp->name, (int)have->Retention);
		st = TU_ECONFLICT;
		goto out;
	}
	if (!same_subjects(have, &want)) {
		char h[512], w[512];
		subjects_str(have, h, sizeof(h));
		subjects_str(&want, w, sizeof(w));
		snprintf(err, errlen,
			 "stream %s: field subjects is [%s], the contract needs [%s]; refusing to "
			 "change subjects other services may rely on",
			 sp->name, h, w);
		st = TU_ECONFLICT;
		goto out;
	}
	if (diff_mutable(have, &want, &chg) == 0) {
		tu_buf_printf(report, "stream %s: unchanged\n", sp->name);
		goto out;
	}
	jsStreamInfo_Destroy(si);
	si = NULL;
	s = js_UpdateStream(&si, tu_bus_js(bus), &want, NULL, &ec);
	if (s != NATS_OK) {
		snprintf(err, errlen, "stream %s: cannot update (%s): %s (jetstream error %d)",
			 sp->name, tu_buf_cstr(&chg), natsStatus_GetText(s), (int)ec);
		st = ec == JSStreamReplicasNotUpdatableErr ? TU_ECONFLICT : tu_bus_status(s);
		goto out;
	}
	tu_buf_printf(report, "stream %s: updated: %s\n", sp->name, tu_buf_cstr(&chg));
out:
	jsStreamInfo_Destroy(si);
	tu_buf_release(&chg);
	return st;
}

void tu_streams_processor_consumer(const struct tu_config *cfg, uint64_t start_seq,
				   jsConsumerConfig *cc)
{
	jsConsumerConfig_Init(cc);
	cc->Durable = cfg->processor.consumer;
	cc->Description = "trueup processor: folds every fact in order";
	cc->AckPolicy = js_AckAll;
	cc->AckWait = cfg->processor.ack_wait * TU_NS_PER_MS;
	cc->MaxDeliver = -1;
	cc->MaxAckPending = cfg->processor.max_ack_pending;
	cc->MaxWaiting = 512;
	cc->ReplayPolicy = js_ReplayInstant;
	if (start_seq > 0) {
		cc->DeliverPolicy = js_DeliverByStartSequence;
		cc->OptStartSeq = start_seq;
	} else {
		cc->DeliverPolicy = js_DeliverAll;
	}
}

void tu_streams_target_consumer(const struct tu_target_config *t, jsConsumerConfig *cc,
				char *filter_buf, size_t filter_len)
{
	snprintf(filter_buf, filter_len, "%s.%s.>", TU_SUBJ_CMD, t->name);
	jsConsumerConfig_Init(cc);
	cc->Durable = t->consumer;
	cc->Description = "trueup actuator: executes the target's commands";
	cc->AckPolicy = js_AckExplicit;
	cc->AckWait = t->ack_wait * TU_NS_PER_MS;
	cc->MaxDeliver = t->max_deliver;
	cc->MaxAckPending = t->batch * 4 > 256 ? t->batch * 4 : 256;
	cc->MaxWaiting = 512;
	cc->FilterSubject = filter_buf;
	cc->DeliverPolicy = js_DeliverAll;
	cc->ReplayPolicy = js_ReplayInstant;
}

/*
 * Creates the durable or brings its mutable fields in line. check_deliver:
 * whether a different deliver policy is a conflict (not for the processor,
 * which re-creates its consumer from its own applied sequence).
 */
static tu_status apply_consumer(tu_bus *bus, const char *stream, jsConsumerConfig *want,
				bool check_deliver, struct tu_buf *report, char *err,
				size_t errlen)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode ec = 0;
	tu_status st = TU_OK;
	struct tu_buf chg;
	tu_buf_init(&chg, 4096);

	natsStatus s = js_GetConsumerInfo(&ci, tu_bus_js(bus), stream, want->Durable, NULL, &ec);
	if (s == NATS_NOT_FOUND || ec == JSConsumerNotFoundErr) {
		jsConsumerInfo_Destroy(ci);
		ci = NULL;
		s = js_AddConsumer(&ci, tu_bus_js(bus), stream, want, NULL, &ec);
		if (s != NATS_OK) {
			snprintf(err, errlen, "consumer %s on %s: cannot create: %s (jetstream error %d)",
				 want->Durable, stream, natsStatus_GetText(s), (int)ec);
			st = tu_bus_status(s);
			goto out;
		}
		tu_buf_printf(report, "consumer %s on %s: created\n", want->Durable, stream);
		goto out;
	}
	if (s != NATS_OK) {
		snprintf(err, errlen, "consumer %s on %s: cannot read: %s (jetstream error %d)",
			 want->Durable, stream, natsStatus_GetText(s), (int)ec);
		st = tu_bus_status(s);
		goto out;
	}
	const jsConsumerConfig *have = ci->Config;
	if (have->AckPolicy != want->AckPolicy) {
		snprintf(err, errlen,
			 "consumer %s on %s: field ack_policy is %d, trueup needs %d; it cannot be "
			 "changed in place (delete the consumer and apply again)",
			 want->Durable, stream, (int)have->AckPolicy, (int)want->AckPolicy);
		st = TU_ECONFLICT;
		goto out;
	}
	const char *hf = have->FilterSubject ? have->FilterSubject : "";
	const char *wf = want->FilterSubject ? want->FilterSubject : "";
	if (strcmp(hf, wf) != 0) {
		snprintf(err, errlen,
			 "consumer %s on %s: field filter_subject is \"%s\", trueup needs \"%s\"; it "
			 "cannot be changed in place",
			 want->Durable, stream, hf, wf);
		st = TU_ECONFLICT;
		goto out;
	}
	if (check_deliver && have->DeliverPolicy != want->DeliverPolicy) {
		snprintf(err, errlen,
			 "consumer %s on %s: field deliver_policy is %d, trueup needs %d; it cannot be "
			 "changed in place",
			 want->Durable, stream, (int)have->DeliverPolicy, (int)want->DeliverPolicy);
		st = TU_ECONFLICT;
		goto out;
	}
	int n = 0;
	if (have->AckWait != want->AckWait)
		tu_buf_printf(&chg, "%sack_wait_ns %" PRId64 " -> %" PRId64, n++ ? ", " : "",
			      have->AckWait, want->AckWait);
	if (have->MaxDeliver != want->MaxDeliver)
		tu_buf_printf(&chg, "%smax_deliver %" PRId64 " -> %" PRId64, n++ ? ", " : "",
			      have->MaxDeliver, want->MaxDeliver);
	if (have->MaxAckPending != want->MaxAckPending)
		tu_buf_printf(&chg, "%smax_ack_pending %" PRId64 " -> %" PRId64, n++ ? ", " : "",
			      have->MaxAckPending, want->MaxAckPending);
	if (n == 0) {
		tu_buf_printf(report, "consumer %s on %s: unchanged\n", want->Durable, stream);
		goto out;
	}
	/* Updates must restate the immutable fields as they are. */
	want->DeliverPolicy = have->DeliverPolicy;
	want->OptStartSeq = have->OptStartSeq;
	want->OptStartTime = have->OptStartTime;
	want->MaxWaiting = have->MaxWaiting;
	jsConsumerInfo_Destroy(ci);
	ci = NULL;
	s = js_UpdateConsumer(&ci, tu_bus_js(bus), stream, want, NULL, &ec);
	if (s != NATS_OK) {
		snprintf(err, errlen, "consumer %s on %s: cannot update (%s): %s (jetstream error %d)",
			 want->Durable, stream, tu_buf_cstr(&chg), natsStatus_GetText(s), (int)ec);
		st = tu_bus_status(s);
		goto out;
	}
	tu_buf_printf(report, "consumer %s on %s: updated: %s\n", want->Durable, stream,
		      tu_buf_cstr(&chg));
out:
	jsConsumerInfo_Destroy(ci);
	tu_buf_release(&chg);
	return st;
}

/* processor.lease: the KV bucket that holds one lease per partition. */
static tu_status apply_lease_bucket(tu_bus *bus, const struct tu_lease_config *l,
				    struct tu_buf *report, char *err, size_t errlen)
{
	kvStore *kv = NULL;
	if (js_KeyValue(&kv, tu_bus_js(bus), l->bucket) == NATS_OK) {
		kvStore_Destroy(kv);
		tu_buf_printf(report, "lease bucket %s: unchanged\n", l->bucket);
		return TU_OK;
	}
	kvConfig kc;
	kvConfig_Init(&kc);
	kc.Bucket = l->bucket;
	kc.Description = "trueup processor leases, one key per partition";
	kc.History = 1;
	kc.StorageType = js_FileStorage;
	natsStatus s = js_CreateKeyValue(&kv, tu_bus_js(bus), &kc);
	if (s != NATS_OK) {
		snprintf(err, errlen, "lease bucket %s: cannot create: %s", l->bucket,
			 natsStatus_GetText(s));
		return tu_bus_status(s);
	}
	kvStore_Destroy(kv);
	tu_buf_printf(report, "lease bucket %s: created\n", l->bucket);
	return TU_OK;
}

tu_status tu_streams_apply(tu_bus *bus, const struct tu_config *cfg, struct tu_buf *report,
			   char *err, size_t errlen)
{
	const struct stream_spec specs[] = {
		{ TU_STREAM_EVENTS, events_subjects, 5, &cfg->streams.events },
		{ TU_STREAM_DRIFT, drift_subjects, 1, &cfg->streams.drift },
		{ TU_STREAM_CMD, cmd_subjects, 1, &cfg->streams.cmd },
		{ TU_STREAM_DEAD, dead_subjects, 1, &cfg->streams.dead },
	};
	tu_status st = TU_OK;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]) && st == TU_OK; i++)
		st = apply_stream(bus, &specs[i], report, err, errlen);
	if (st != TU_OK)
		return st;

	jsConsumerConfig cc;
	tu_streams_processor_consumer(cfg, 0, &cc);
	st = apply_consumer(bus, TU_STREAM_EVENTS, &cc, false, report, err, errlen);
	for (size_t i = 0; i < cfg->n_targets && st == TU_OK; i++) {
		char filter[TU_MAX_SUBJECT];
		tu_streams_target_consumer(&cfg->targets[i], &cc, filter, sizeof(filter));
		st = apply_consumer(bus, TU_STREAM_CMD, &cc, true, report, err, errlen);
	}
	if (st == TU_OK && cfg->processor.lease.enabled)
		st = apply_lease_bucket(bus, &cfg->processor.lease, report, err, errlen);
	return st;
}
