/*
 * actuator_outcomes.c - test tool: prints the messages of a stream as JSON
 * lines, decoded by their Trueup-Type (Outcome, DeadLetter, FixCommand), so
 * that shell tests can select them with jq.
 *
 *   actuator_outcomes --url URL [--stream TRUEUP_EVENTS] [--subject trueup.out.]
 *
 * --subject keeps messages whose subject starts with the given prefix.
 * Reads every sequence with a direct get: meant for small test streams.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actuator_tool.h"
#include "bus.h"
#include "config.h"
#include "contract.h"
#include "log.h"
#include "pb.h"

static json_t *entity_json(const Trueup__V1__EntityRef *e)
{
	if (e == NULL)
		return json_null();
	return json_pack("{s:s, s:s, s:s}", "kind", e->kind, "namespace", e->namespace_, "name",
			 e->name);
}

static void add_outcome(json_t *j, const void *data, size_t len)
{
	Trueup__V1__Outcome *o = trueup__v1__outcome__unpack(NULL, len, data);
	if (o == NULL) {
		json_object_set_new(j, "decode_error", json_true());
		return;
	}
	json_object_set_new(j, "command_id", json_string(o->command_id));
	json_object_set_new(j, "correlation_id", json_string(o->correlation_id));
	json_object_set_new(j, "rule", json_string(o->rule));
	json_object_set_new(j, "target", json_string(o->target));
	json_object_set_new(j, "action", json_string(o->action));
	json_object_set_new(j, "entity", entity_json(o->entity));
	json_object_set_new(j, "result", json_string(tu_pb_result_str(o->result)));
	json_object_set_new(j, "error", json_string(o->error));
	json_object_set_new(j, "detail", json_string(o->detail));
	json_object_set_new(j, "attempt", json_integer(o->attempt));
	json_object_set_new(j, "delivery", json_integer(o->delivery));
	json_object_set_new(j, "actuator", json_string(o->actuator));
	json_object_set_new(j, "started_at_ns", json_integer(o->started_at_ns));
	json_object_set_new(j, "finished_at_ns", json_integer(o->finished_at_ns));
	trueup__v1__outcome__free_unpacked(o, NULL);
}

static void add_dead(json_t *j, const void *data, size_t len)
{
	Trueup__V1__DeadLetter *d = trueup__v1__dead_letter__unpack(NULL, len, data);
	if (d == NULL) {
		json_object_set_new(j, "decode_error", json_true());
		return;
	}
	json_t *h = json_object();
	for (size_t i = 0; i < d->n_headers; i++)
		json_object_set_new(h, d->headers[i]->key, json_string(d->headers[i]->value));
	json_object_set_new(j, "origin", json_string(d->origin));
	json_object_set_new(j, "from_stream", json_string(d->stream));
	json_object_set_new(j, "from_subject", json_string(d->subject));
	json_object_set_new(j, "from_seq", json_integer((json_int_t)d->stream_seq));
	json_object_set_new(j, "reason", json_string(d->reason));
	json_object_set_new(j, "payload_len", json_integer((json_int_t)d->payload.len));
	json_object_set_new(j, "headers", h);
	json_object_set_new(j, "at_ns", json_integer(d->at_ns));
	trueup__v1__dead_letter__free_unpacked(d, NULL);
}

static void add_command(json_t *j, const void *data, size_t len)
{
	Trueup__V1__FixCommand *c = trueup__v1__fix_command__unpack(NULL, len, data);
	if (c == NULL) {
		json_object_set_new(j, "decode_error", json_true());
		return;
	}
	json_t *p = json_object();
	for (size_t i = 0; i < c->n_params; i++)
		json_object_set_new(p, c->params[i]->key, json_string(c->params[i]->value));
	json_object_set_new(j, "command_id", json_string(c->command_id));
	json_object_set_new(j, "target", json_string(c->target));
	json_object_set_new(j, "action", json_string(c->action));
	json_object_set_new(j, "params", p);
	json_object_set_new(j, "mode", json_string(tu_pb_mode_str(c->mode)));
	trueup__v1__fix_command__free_unpacked(c, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "stream", required_argument, NULL, 's' },
		{ "subject", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *stream = TU_STREAM_EVENTS, *prefix = "";
	int c;
	tu_log_init("actuator_outcomes", TU_LOG_WARN, TU_LOG_TEXT);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 's': stream = optarg; break;
		case 'p': prefix = optarg; break;
		default:
			fprintf(stderr, "usage: actuator_outcomes --url URL [--stream S] "
					"[--subject PREFIX]\n");
			return 2;
		}
	}
	if (url == NULL) {
		fprintf(stderr, "actuator_outcomes: --url is required\n");
		return 2;
	}
	tu_bus *bus = actuator_tool_connect(url, "actuator_outcomes");
	if (bus == NULL)
		return 1;
	jsStreamInfo *si = NULL;
	jsErrCode ec = 0;
	natsStatus s = js_GetStreamInfo(&si, tu_bus_js(bus), stream, NULL, &ec);
	if (s != NATS_OK) {
		fprintf(stderr, "actuator_outcomes: stream %s: %s\n", stream,
			natsStatus_GetText(s));
		actuator_tool_close(bus);
		return 1;
	}
	uint64_t first = si->State.FirstSeq, lastseq = si->State.LastSeq;
	jsStreamInfo_Destroy(si);
	for (uint64_t seq = first; seq > 0 && seq <= lastseq; seq++) {
		natsMsg *m = NULL;
		if (tu_bus_get_msg(bus, stream, seq, &m) != TU_OK)
			continue;
		const char *subj = natsMsg_GetSubject(m);
		if (strncmp(subj, prefix, strlen(prefix)) != 0) {
			natsMsg_Destroy(m);
			continue;
		}
		const char *type = tu_bus_header(m, TU_HDR_TYPE);
		const char *id = tu_bus_header(m, TU_HDR_MSG_ID);
		const char *corr = tu_bus_header(m, TU_HDR_CORRELATION);
		const void *data = natsMsg_GetData(m);
		size_t len = (size_t)natsMsg_GetDataLength(m);
		json_t *j = json_object();
		json_object_set_new(j, "stream", json_string(stream));
		json_object_set_new(j, "seq", json_integer((json_int_t)seq));
		json_object_set_new(j, "subject", json_string(subj));
		json_object_set_new(j, "type", type ? json_string(type) : json_null());
		json_object_set_new(j, "msg_id", id ? json_string(id) : json_null());
		json_object_set_new(j, "corr_header", corr ? json_string(corr) : json_null());
		if (type != NULL && strcmp(type, TU_TYPE_OUTCOME) == 0)
			add_outcome(j, data, len);
		else if (type != NULL && strcmp(type, TU_TYPE_DEAD) == 0)
			add_dead(j, data, len);
		else if (type != NULL && strcmp(type, TU_TYPE_COMMAND) == 0)
			add_command(j, data, len);
		char *line = json_dumps(j, JSON_COMPACT);
		if (line != NULL)
			printf("%s\n", line);
		free(line);
		json_decref(j);
		natsMsg_Destroy(m);
	}
	actuator_tool_close(bus);
	return 0;
}
