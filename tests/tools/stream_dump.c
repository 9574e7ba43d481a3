/*
 * stream_dump.c - prints every message of a JetStream stream as one JSON
 * line, for tests and for looking at a stream by hand:
 *
 *   stream_dump --url nats://127.0.0.1:4222 --stream TRUEUP_EVENTS
 *               [--subject 'trueup.obs.redis.>'] [--from SEQ]
 *
 *   {"seq":3,"subject":"trueup.obs.redis.worker","time":"2026-...Z",
 *    "headers":{"Nats-Msg-Id":"...","Trueup-Type":"trueup.v1.ObservedState"},
 *    "type":"trueup.v1.ObservedState","msg":{"source":"redis",...}}
 *
 * The body is decoded by its Trueup-Type header with the protobuf-c
 * descriptor of that message, generically (every field, by its .proto
 * name; enums by value name; bytes in base64). A body without a known type
 * is printed as "data" (UTF-8) or "data_base64"; one that does not decode
 * gets "error". Messages are read one by one with the direct get API
 * (no consumer is created), from the first sequence (or --from) to the last
 * sequence at the start. Exit: 0 ok, 1 NATS or stream error, 2 usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <nats/nats.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "contract.h"
#include "pb.h"

#define TIMEOUT_MS 5000 /* wait for each JetStream API reply */

static const ProtobufCMessageDescriptor *const known[] = {
	&trueup__v1__observed_state__descriptor, &trueup__v1__scan_marker__descriptor,
	&trueup__v1__heartbeat__descriptor,      &trueup__v1__tick__descriptor,
	&trueup__v1__drift_event__descriptor,    &trueup__v1__fix_command__descriptor,
	&trueup__v1__outcome__descriptor,        &trueup__v1__approval__descriptor,
	&trueup__v1__dead_letter__descriptor,    &trueup__v1__entity_ref__descriptor,
	&trueup__v1__attr__descriptor,           &trueup__v1__precondition__descriptor,
};

static const ProtobufCMessageDescriptor *descriptor_of(const char *type)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (type != NULL && strcmp(known[i]->name, type) == 0)
			return known[i];
	return NULL;
}

static json_t *base64(const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	json_t *j = json_string(out);
	free(out);
	return j;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return 8;
	case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
	default: return 4;
	}
}

static json_t *message_json(const ProtobufCMessage *m);

/* One value of field f stored at p. */
static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return json_integer((json_int_t)*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		return ev != NULL ? json_string(ev->name) : json_integer(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return json_string(s != NULL ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		return base64(b->data, b->len);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		return sub != NULL ? message_json(sub) : json_null();
	}
	}
	return json_null();
}

/* Every field of m by its .proto name; repeated fields as arrays. */
static json_t *message_json(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	json_t *o = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *member = base + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)member;
			json_t *a = json_array();
			for (size_t k = 0; k < n; k++)
				json_array_append_new(a, value_json(f, arr + k * elem_size(f->type)));
			json_object_set_new(o, f->name, a);
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
			if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
			   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING &&
			   !*(const protobuf_c_boolean *)(base + f->quantifier_offset)) {
			continue;
		}
		json_object_set_new(o, f->name, value_json(f, member));
	}
	return o;
}

static bool utf8_text(const char *p, int n)
{
	json_t *j = json_stringn(p, (size_t)n);
	bool ok = j != NULL && memchr(p, '\0', (size_t)n) == NULL;
	json_decref(j);
	return ok;
}

/* NATS subject matching with * and > wildcards in filter. */
static bool subject_match(const char *filter, const char *subject)
{
	const char *f = filter, *s = subject;
	for (;;) {
		size_t fl = strcspn(f, "."), sl = strcspn(s, ".");
		if (fl == 1 && f[0] == '>')
			return *s != '\0';
		if (*s == '\0')
			return false;
		if (!(fl == 1 && f[0] == '*') && (fl != sl || strncmp(f, s, fl) != 0))
			return false;
		f += fl;
		s += sl;
		if (*f == '\0' || *s == '\0')
			return *f == '\0' && *s == '\0';
		f++;
		s++;
	}
}

static json_t *message_line(natsMsg *msg)
{
	json_t *o = json_object();
	json_t *h = json_object();
	const char **keys = NULL;
	int nkeys = 0;
	const char *type = NULL;
	char ts[40];

	json_object_set_new(o, "seq", json_integer((json_int_t)natsMsg_GetSequence(msg)));
	json_object_set_new(o, "subject", json_string(natsMsg_GetSubject(msg)));
	tu_time_format(natsMsg_GetTime(msg), ts, sizeof(ts));
	json_object_set_new(o, "time", json_string(ts));
	if (natsMsgHeader_Keys(msg, &keys, &nkeys) == NATS_OK) {
		for (int i = 0; i < nkeys; i++) {
			const char *v = NULL;
			if (natsMsgHeader_Get(msg, keys[i], &v) == NATS_OK && v != NULL)
				json_object_set_new(h, keys[i], json_string(v));
		}
		free((void *)keys);
	}
	json_object_set_new(o, "headers", h);
	natsMsgHeader_Get(msg, TU_HDR_TYPE, &type);

	const char *data = natsMsg_GetData(msg);
	int len = natsMsg_GetDataLength(msg);
	const ProtobufCMessageDescriptor *d = descriptor_of(type);
	if (type != NULL)
		json_object_set_new(o, "type", json_string(type));
	if (d != NULL) {
		ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, (size_t)len,
								(const uint8_t *)data);
		if (m != NULL) {
			json_object_set_new(o, "msg", message_json(m));
			protobuf_c_message_free_unpacked(m, NULL);
			return o;
		}
		json_object_set_new(o, "error", json_sprintf("cannot decode %d bytes as %s", len,
							     type));
	}
	if (len > 0 && utf8_text(data, len))
		json_object_set_new(o, "data", json_stringn(data, (size_t)len));
	else
		json_object_set_new(o, "data_base64", base64((const uint8_t *)data, (size_t)len));
	return o;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: stream_dump --url URL --stream NAME [--subject FILTER] [--from SEQ]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "stream", required_argument, NULL, 's' },
		{ "subject", required_argument, NULL, 'f' },
		{ "from", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *stream = NULL, *filter = NULL;
	uint64_t from = 1;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsErrCode ec = 0;
	int rc = 0, c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 's': stream = optarg; break;
		case 'f': filter = optarg; break;
		case 'n': from = strtoull(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (url == NULL || stream == NULL) {
		usage(stderr);
		return 2;
	}
	natsStatus s = natsConnection_ConnectTo(&nc, url);
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = TIMEOUT_MS;
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, &jo);
	if (s == NATS_OK)
		s = js_GetStreamInfo(&si, js, stream, NULL, &ec);
	if (s != NATS_OK) {
		fprintf(stderr, "stream_dump: %s: %s (jetstream error %d)\n", stream,
			natsStatus_GetText(s), (int)ec);
		rc = 1;
		goto out;
	}
	uint64_t first = si->State.FirstSeq > from ? si->State.FirstSeq : from;
	for (uint64_t seq = first; seq <= si->State.LastSeq && si->State.Msgs > 0; seq++) {
		natsMsg *msg = NULL;
		s = js_GetMsg(&msg, js, stream, seq, NULL, &ec);
		if (s == NATS_NOT_FOUND || ec == JSNoMessageFoundErr)
			continue; /* deleted */
		if (s != NATS_OK) {
			fprintf(stderr, "stream_dump: %s seq %llu: %s\n", stream,
				(unsigned long long)seq, natsStatus_GetText(s));
			rc = 1;
			goto out;
		}
		if (filter == NULL || subject_match(filter, natsMsg_GetSubject(msg))) {
			json_t *line = message_line(msg);
			char *text = json_dumps(line, JSON_COMPACT);
			printf("%s\n", text);
			free(text);
			json_decref(line);
		}
		natsMsg_Destroy(msg);
	}
out:
	fflush(stdout);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
