/*
 * trueup - the ops command: streams, replay, status, drift, audit, approve,
 * trigger, view. See cli.h for conventions and `trueup --help`.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "contract.h"
#include "log.h"
#include "pb.h"
#include "pbjson.h"

static const struct {
	const char *name;
	int (*run)(struct tu_cli *, int, char **);
	const char *help;
} verbs[] = {
	{ "streams", tu_cli_streams, "streams apply | dump STREAM: create/update streams, read one" },
	{ "replay", tu_cli_replay, "rebuild a view from TRUEUP_EVENTS and print what it derives" },
	{ "status", tu_cli_status, "applied sequence, lag, open drift by rule, last scan per source" },
	{ "drift", tu_cli_drift, "the drift feed from TRUEUP_DRIFT (--watch to follow)" },
	{ "audit", tu_cli_audit, "drift events, commands and outcomes of a correlation id" },
	{ "inspect", tu_cli_inspect, "an entity: per-source state now, its drift, its history" },
	{ "approve", tu_cli_approve, "approve (or --reject) a proposed command" },
	{ "trigger", tu_cli_trigger, "ask producers for a scan now" },
	{ "verify", tu_cli_verify, "pre-flight: config, NATS, streams, sources, targets, view" },
	{ "view", tu_cli_view, "view dump: print a view's records" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: trueup [--config FILE] [-o text|json] VERB [ARGS]\n\nverbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "  %-9s %s\n", verbs[i].name, verbs[i].help);
	fprintf(out,
		"\nGlobal options (also accepted after the verb):\n"
		"  -c, --config FILE   config (default $TRUEUP_CONFIG or /etc/trueup/trueup.yaml)\n"
		"  -o text|json        output format (default text)\n"
		"  -h, --help          help; `trueup VERB --help` for a verb\n"
		"\nExit status: 0 ok, 1 failure, 2 usage/config error, 3 conflict or not found.\n");
}

bool tu_cli_load_config(struct tu_cli *cli)
{
	char err[1024];
	if (cli->cfg != NULL)
		return true;
	if (tu_config_load(cli->config_path, &cli->cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "trueup %s: %s\n", cli->verb, err);
		return false;
	}
	tu_log_init("trueup", cli->cfg->log.level > TU_LOG_WARN ? cli->cfg->log.level : TU_LOG_WARN,
		    TU_LOG_TEXT);
	return true;
}

tu_bus *tu_cli_connect(struct tu_cli *cli, const char *name)
{
	char err[1024];
	tu_bus *bus = NULL;
	struct tu_bus_opts bo = { .name = name };
	if (tu_bus_connect(&cli->cfg->nats, &bo, &bus, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "trueup %s: %s\n", cli->verb, err);
		return NULL;
	}
	return bus;
}

bool tu_cli_output(struct tu_cli *cli, const char *arg)
{
	if (strcmp(arg, "json") == 0)
		cli->json = true;
	else if (strcmp(arg, "text") == 0)
		cli->json = false;
	else
		return false;
	return true;
}

int tu_cli_parse(struct tu_cli *cli, int argc, char **argv, const struct tu_cli_verb *v)
{
	struct option all[32];
	size_t n = 0;
	for (const struct option *o = v->opts; o != NULL && o->name != NULL && n < 28; o++)
		all[n++] = *o;
	all[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	all[n++] = (struct option){ "output", required_argument, NULL, 'o' };
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	char shortopts[64];
	snprintf(shortopts, sizeof(shortopts), "c:o:h%s", v->shortopts ? v->shortopts : "");
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli->config_path = optarg;
			break;
		case 'o':
			if (!tu_cli_output(cli, optarg)) {
				tu_cli_fail(cli, "-o takes text or json");
				return TU_EXIT_USAGE;
			}
			break;
		case 'h':
			v->usage(stdout);
			return TU_EXIT_OK;
		case '?':
			v->usage(stderr);
			return TU_EXIT_USAGE;
		default: {
			int rc = v->on_opt != NULL ? v->on_opt(cli, v->ctx, c, optarg) : TU_EXIT_USAGE;
			if (rc != TU_EXIT_OK) {
				if (rc == TU_EXIT_USAGE)
					v->usage(stderr);
				return rc;
			}
		}
		}
	}
	int args = argc - optind;
	if (args < v->min_args || args > v->max_args) {
		v->usage(stderr);
		return TU_EXIT_USAGE;
	}
	return -1;
}

int tu_cli_open(struct tu_cli *cli, const char *name, tu_bus **bus)
{
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	*bus = tu_cli_connect(cli, name);
	return *bus != NULL ? TU_EXIT_OK : TU_EXIT_FAIL;
}

int tu_cli_read(struct tu_cli *cli, tu_bus *bus, const char *stream,
		const struct tu_reader_opts *ro, volatile sig_atomic_t *stop,
		int (*fn)(void *ctx, natsMsg *msg), void *ctx)
{
	char err[1024];
	tu_reader *r = NULL;
	if (tu_reader_open(bus, stream, ro, &r, err, sizeof(err)) != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		return TU_EXIT_FAIL;
	}
	int rc = TU_EXIT_OK;
	while (rc == TU_EXIT_OK && (stop == NULL || !*stop)) {
		natsMsgList list = { 0 };
		tu_status st = tu_reader_next(r, 512, ro->follow ? 500 : tu_bus_request_timeout(bus),
					      &list);
		if (st == TU_ENOTFOUND)
			break;
		if (st == TU_ETIMEOUT && ro->follow)
			continue;
		if (st != TU_OK) {
			tu_cli_fail(cli, "reading %s: %s", stream, tu_status_str(st));
			rc = TU_EXIT_FAIL;
			break;
		}
		for (int i = 0; i < list.Count && rc == TU_EXIT_OK; i++)
			rc = fn(ctx, list.Msgs[i]);
		natsMsgList_Destroy(&list);
	}
	/*
	 * What was read is printed before the connection is torn down: a pipe's
	 * output stays whole even if the teardown does not end well (CI once saw
	 * `streams dump | jq` cut at a 4 KiB boundary, the process gone silently).
	 */
	fflush(stdout);
	tu_reader_close(r);
	return rc;
}

void tu_cli_fail(const struct tu_cli *cli, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "trueup %s: ", cli->verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void print_text(FILE *out, const char *seq, int64_t ts_ns, const char *type,
		       const ProtobufCMessage *m, const char *subject)
{
	char ts[40] = "";
	if (ts_ns > 0)
		tu_time_format(ts_ns, ts, sizeof(ts));
	if (strcmp(type, TU_TYPE_DRIFT) == 0) {
		const Trueup__V1__DriftEvent *d = (const Trueup__V1__DriftEvent *)m;
		fprintf(out, "%7s %s drift   %-9s %s %s/%s/%s corr=%s: %s\n", seq,
			ts, tu_pb_drift_state_str(d->state), d->rule, d->entity ? d->entity->kind : "",
			d->entity ? d->entity->namespace_ : "", d->entity ? d->entity->name : "",
			d->correlation_id, d->reason);
	} else if (strcmp(type, TU_TYPE_COMMAND) == 0) {
		const Trueup__V1__FixCommand *c = (const Trueup__V1__FixCommand *)m;
		fprintf(out, "%7s %s command %s.%s id=%s attempt=%u mode=%s corr=%s", seq,
			ts, c->target, c->action, c->command_id, c->attempt, tu_pb_mode_str(c->mode),
			c->correlation_id);
		for (size_t i = 0; i < c->n_params; i++)
			fprintf(out, " %s=%s", c->params[i]->key, c->params[i]->value);
		fputc('\n', out);
	} else if (strcmp(type, TU_TYPE_OUTCOME) == 0) {
		const Trueup__V1__Outcome *o = (const Trueup__V1__Outcome *)m;
		fprintf(out, "%7s %s outcome %s.%s id=%s %s%s%s%s%s\n", seq, ts,
			o->target, o->action, o->command_id, tu_pb_result_str(o->result),
			*o->detail ? ": " : "", o->detail, *o->error ? " error: " : "", o->error);
	} else if (strcmp(type, TU_TYPE_DEAD) == 0) {
		const Trueup__V1__DeadLetter *d = (const Trueup__V1__DeadLetter *)m;
		fprintf(out, "%7s %s dead    from %s seq %llu on %s: %s\n", seq,
			ts, d->origin, (unsigned long long)d->stream_seq, d->subject, d->reason);
	} else {
		struct tu_buf b;
		tu_buf_init(&b, 1 << 24);
		tu_pbjson_write(m, &b);
		fprintf(out, "%7s %s %s %s\n", seq, ts, subject, tu_buf_cstr(&b));
		tu_buf_release(&b);
	}
}

/* "E12", "D3", "C7", "X1": which stream a sequence belongs to, in text output. */
static char stream_letter(const char *stream)
{
	if (strcmp(stream, TU_STREAM_EVENTS) == 0)
		return 'E';
	if (strcmp(stream, TU_STREAM_DRIFT) == 0)
		return 'D';
	if (strcmp(stream, TU_STREAM_CMD) == 0)
		return 'C';
	return 'X';
}

static void json_headers(struct tu_buf *b, natsMsg *raw)
{
	const char **keys = NULL;
	int n = 0;
	tu_buf_puts(b, ",\"headers\":{");
	if (natsMsgHeader_Keys(raw, &keys, &n) == NATS_OK) {
		for (int i = 0; i < n; i++) {
			const char *v = tu_bus_header(raw, keys[i]);
			tu_buf_printf(b, "%s", i ? "," : "");
			tu_buf_json_str(b, keys[i], strlen(keys[i]));
			tu_buf_putc(b, ':');
			tu_buf_json_str(b, v ? v : "", v ? strlen(v) : 0);
		}
		free((void *)keys);
	}
	tu_buf_putc(b, '}');
}

void tu_cli_print_msg(const struct tu_cli *cli, FILE *out, const struct tu_cli_msg *m)
{
	const ProtobufCMessageDescriptor *d = m->type ? tu_pbjson_descriptor(m->type) : NULL;
	ProtobufCMessage *pm = d ? protobuf_c_message_unpack(d, NULL, m->len, m->payload) : NULL;
	char seq[32];
	snprintf(seq, sizeof(seq), "%c%llu", stream_letter(m->stream), (unsigned long long)m->seq);
	if (!cli->json) {
		if (m->tag != NULL)
			fprintf(out, "%s ", m->tag);
		if (pm != NULL)
			print_text(out, seq, m->ts_ns, m->type, pm, m->subject);
		else
			fprintf(out, "%7s %s (%zu bytes, type %s)\n", seq, m->subject, m->len,
				m->type ? m->type : "none");
	} else {
		struct tu_buf b;
		tu_buf_init(&b, 1 << 26);
		tu_buf_printf(&b, "{\"stream\":\"%s\",\"seq\":%llu", m->stream,
			      (unsigned long long)m->seq);
		if (m->tag != NULL)
			tu_buf_printf(&b, ",\"diff\":\"%s\"", m->tag);
		if (m->ts_ns > 0) {
			char ts[48];
			tu_time_format_ns(m->ts_ns, ts, sizeof(ts));
			tu_buf_printf(&b, ",\"time\":\"%s\"", ts);
		}
		const char *keys[] = { "subject", "msg_id", "type", "correlation_id" };
		const char *vals[] = { m->subject, m->msg_id, m->type, m->corr };
		for (int i = 0; i < 4; i++) {
			if (vals[i] == NULL || *vals[i] == '\0')
				continue;
			tu_buf_printf(&b, ",\"%s\":", keys[i]);
			tu_buf_json_str(&b, vals[i], strlen(vals[i]));
		}
		if (m->raw != NULL)
			json_headers(&b, m->raw);
		tu_buf_puts(&b, ",\"payload\":\"");
		tu_base64_write(m->payload, m->len, &b);
		tu_buf_putc(&b, '"');
		if (pm != NULL) {
			tu_buf_puts(&b, ",\"message\":");
			tu_pbjson_write_all(pm, &b);
		}
		tu_buf_puts(&b, "}\n");
		fputs(tu_buf_cstr(&b), out);
		tu_buf_release(&b);
	}
	if (pm != NULL)
		protobuf_c_message_free_unpacked(pm, NULL);
}

void tu_cli_print_stored(const struct tu_cli *cli, FILE *out, const char *stream, natsMsg *msg)
{
	struct tu_bus_meta meta = { 0 };
	tu_bus_meta(msg, &meta);
	struct tu_cli_msg m = {
		.stream = stream,
		.seq = meta.stream_seq,
		.ts_ns = meta.ts_ns,
		.subject = natsMsg_GetSubject(msg),
		.msg_id = tu_bus_header(msg, TU_HDR_MSG_ID),
		.type = tu_bus_header(msg, TU_HDR_TYPE),
		.corr = tu_bus_header(msg, TU_HDR_CORRELATION),
		.payload = natsMsg_GetData(msg),
		.len = (size_t)natsMsg_GetDataLength(msg),
		.raw = msg,
	};
	tu_cli_print_msg(cli, out, &m);
}

int main(int argc, char **argv)
{
	struct tu_cli cli = { 0 };
	cli.config_path = getenv("TRUEUP_CONFIG");
	if (cli.config_path == NULL)
		cli.config_path = "/etc/trueup/trueup.yaml";
	tu_log_init("trueup", TU_LOG_WARN, TU_LOG_TEXT);
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
			cli.config_path = argv[++i];
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			if (!tu_cli_output(&cli, argv[++i])) {
				fprintf(stderr, "trueup: -o takes text or json\n");
				return TU_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return TU_EXIT_OK;
		} else {
			fprintf(stderr, "trueup: unknown option %s\n", argv[i]);
			usage(stderr);
			return TU_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return TU_EXIT_USAGE;
	}
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		if (strcmp(argv[i], verbs[v].name) == 0) {
			cli.verb = verbs[v].name;
			int rc = verbs[v].run(&cli, argc - i, argv + i);
			tu_config_destroy(cli.cfg);
			return rc;
		}
	}
	fprintf(stderr, "trueup: unknown verb %s\n", argv[i]);
	usage(stderr);
	return TU_EXIT_USAGE;
}
