/*
 * actuator_cmd.c - test tool: publishes one trueup.v1.FixCommand to
 * TRUEUP_CMD, built from command-line flags, and waits for the stream's ack.
 *
 *   actuator_cmd --url nats://127.0.0.1:4222 --target redis --action del \
 *       --id 0123456789abcdef01234567 --param key=autoscaler:workers:k3s-worker-3 \
 *       [--pre equals --pre-value 3 [--pre-key K] [--pre-field F]] ...
 *
 * Malformed commands for dead-letter tests: --type (another Trueup-Type),
 * --no-type, --garbage (a payload that is not protobuf), --subject (another
 * subject). The Nats-Msg-Id defaults to the command id; --msg-id changes it
 * (to publish the same command twice). Prints the stream sequence.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "bus.h"
#include "clock.h"
#include "config.h"
#include "contract.h"
#include "log.h"
#include "pb.h"

#define MAX_PRE 80    /* more than TU_MAX_PARAMS, to test the bound */
#define MAX_PARAM 80  /* likewise */

static void usage(void)
{
	fprintf(stderr,
		"usage: actuator_cmd --url URL|--config FILE --target T --action A --id ID [options]\n"
		"  --config FILE       connect with the nats section of a trueup config\n"
		"                      (user, password file, TLS) instead of --url\n"
		"  --param K=V         a param (repeat); sorted by key before sending\n"
		"  --pre OP            add a precondition: equals exists absent field_equals none\n"
		"  --pre-key K --pre-field F --pre-value V   of the last --pre\n"
		"  --corr ID --rule R --entity KIND/NS/NAME --attempt N --reason TEXT\n"
		"  --mode M            detect dry-run propose enforce (default enforce)\n"
		"  --deadline-ms N     deadline N ms from now (negative: already past)\n"
		"  --msg-id ID         Nats-Msg-Id (default: the command id)\n"
		"  --subject S         subject (default trueup.cmd.<target>.<action>)\n"
		"  --type T | --no-type   another Trueup-Type, or none\n"
		"  --garbage           send bytes that do not decode\n");
}

static Trueup__V1__Precondition__Op parse_op(const char *s)
{
	if (strcmp(s, "equals") == 0)
		return TRUEUP__V1__PRECONDITION__OP__OP_EQUALS;
	if (strcmp(s, "exists") == 0)
		return TRUEUP__V1__PRECONDITION__OP__OP_EXISTS;
	if (strcmp(s, "absent") == 0)
		return TRUEUP__V1__PRECONDITION__OP__OP_ABSENT;
	if (strcmp(s, "field_equals") == 0)
		return TRUEUP__V1__PRECONDITION__OP__OP_FIELD_EQUALS;
	return TRUEUP__V1__PRECONDITION__OP__OP_UNSPECIFIED;
}

static Trueup__V1__Mode parse_mode(const char *s)
{
	if (strcmp(s, "detect") == 0)
		return TRUEUP__V1__MODE__MODE_DETECT;
	if (strcmp(s, "dry-run") == 0)
		return TRUEUP__V1__MODE__MODE_DRY_RUN;
	if (strcmp(s, "propose") == 0)
		return TRUEUP__V1__MODE__MODE_PROPOSE;
	if (strcmp(s, "enforce") == 0)
		return TRUEUP__V1__MODE__MODE_ENFORCE;
	return TRUEUP__V1__MODE__MODE_UNSPECIFIED;
}

/*
 * Connects to url, or as the nats section of the config file says (no
 * reconnects); prints the error and returns NULL.
 */
static tu_bus *connect_to(const char *url, const char *config)
{
	struct tu_nats_config nc = {
		.url = (char *)url,
		.connect_timeout = 2000,
		.request_timeout = 5000,
		.max_reconnect = 0,
		.reconnect_wait = 100,
	};
	struct tu_config *cfg = NULL;
	tu_bus *bus = NULL;
	char err[512];
	if (config != NULL) {
		if (tu_config_load(config, &cfg, err, sizeof(err)) != TU_OK) {
			fprintf(stderr, "actuator_cmd: %s\n", err);
			return NULL;
		}
		nc = cfg->nats;
		nc.max_reconnect = 0;
	}
	if (tu_bus_connect(&nc, NULL, &bus, err, sizeof(err)) != TU_OK)
		fprintf(stderr, "actuator_cmd: %s\n", err);
	tu_config_destroy(cfg);
	return bus;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "config", required_argument, NULL, 'C' },
		{ "target", required_argument, NULL, 't' },
		{ "action", required_argument, NULL, 'a' },
		{ "id", required_argument, NULL, 'i' },
		{ "param", required_argument, NULL, 'p' },
		{ "pre", required_argument, NULL, 'P' },
		{ "pre-key", required_argument, NULL, 'K' },
		{ "pre-field", required_argument, NULL, 'F' },
		{ "pre-value", required_argument, NULL, 'V' },
		{ "corr", required_argument, NULL, 'c' },
		{ "rule", required_argument, NULL, 'r' },
		{ "entity", required_argument, NULL, 'e' },
		{ "attempt", required_argument, NULL, 'n' },
		{ "reason", required_argument, NULL, 'R' },
		{ "mode", required_argument, NULL, 'm' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "msg-id", required_argument, NULL, 'M' },
		{ "subject", required_argument, NULL, 's' },
		{ "type", required_argument, NULL, 'T' },
		{ "no-type", no_argument, NULL, 'N' },
		{ "garbage", no_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	struct tu_arena a;
	Trueup__V1__FixCommand cmd = TRUEUP__V1__FIX_COMMAND__INIT;
	Trueup__V1__Attr *params[MAX_PARAM];
	Trueup__V1__Precondition *pres[MAX_PRE];
	Trueup__V1__Precondition *last = NULL;
	const char *url = NULL, *config = NULL, *msg_id = NULL, *subject = NULL, *type = TU_TYPE_COMMAND;
	bool garbage = false;
	int c;

	tu_log_init("actuator_cmd", TU_LOG_WARN, TU_LOG_TEXT);
	tu_arena_init(&a, 65536);
	cmd.mode = TRUEUP__V1__MODE__MODE_ENFORCE;
	cmd.attempt = 1;
	cmd.params = params;
	cmd.preconditions = pres;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'C': config = optarg; break;
		case 't': cmd.target = optarg; break;
		case 'a': cmd.action = optarg; break;
		case 'i': cmd.command_id = optarg; break;
		case 'c': cmd.correlation_id = optarg; break;
		case 'r': cmd.rule = optarg; break;
		case 'R': cmd.reason = optarg; break;
		case 'n': cmd.attempt = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'm': cmd.mode = parse_mode(optarg); break;
		case 'd':
			cmd.deadline_ns =
				tu_clock_wall_ns() + strtoll(optarg, NULL, 10) * TU_NS_PER_MS;
			break;
		case 'M': msg_id = optarg; break;
		case 's': subject = optarg; break;
		case 'T': type = optarg; break;
		case 'N': type = NULL; break;
		case 'g': garbage = true; break;
		case 'p': {
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || cmd.n_params == MAX_PARAM) {
				usage();
				return 2;
			}
			params[cmd.n_params++] = tu_pb_attr(
				&a, tu_arena_strndup(&a, optarg, (size_t)(eq - optarg)), eq + 1);
			break;
		}
		case 'e': {
			char *s = tu_arena_strdup(&a, optarg);
			char *ns = strchr(s, '/');
			char *name = ns != NULL ? strchr(ns + 1, '/') : NULL;
			if (name == NULL) {
				usage();
				return 2;
			}
			*ns++ = '\0';
			*name++ = '\0';
			cmd.entity = tu_pb_entity(&a, s, ns, name);
			break;
		}
		case 'P':
			if (cmd.n_preconditions == MAX_PRE) {
				usage();
				return 2;
			}
			last = tu_arena_alloc(&a, sizeof(*last));
			trueup__v1__precondition__init(last);
			last->op = parse_op(optarg);
			pres[cmd.n_preconditions++] = last;
			break;
		case 'K':
		case 'F':
		case 'V':
			if (last == NULL) {
				usage();
				return 2;
			}
			if (c == 'K')
				last->key = optarg;
			else if (c == 'F')
				last->field = optarg;
			else
				last->value = optarg;
			break;
		default: usage(); return 2;
		}
	}
	if ((url == NULL) == (config == NULL) || optind != argc) {
		usage();
		return 2;
	}
	tu_pb_attrs_sort(params, cmd.n_params);
	if (*cmd.rule == '\0')
		cmd.rule = "test";
	if (cmd.entity == NULL)
		cmd.entity = tu_pb_entity(&a, "worker", "default", "test");
	cmd.issued_at_ns = tu_clock_wall_ns();

	size_t len = 0;
	const void *data = NULL;
	static const unsigned char junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x42 };
	if (garbage) {
		data = junk;
		len = sizeof(junk);
	} else {
		data = tu_pb_pack(&a, &cmd.base, &len);
	}
	if (subject == NULL)
		subject = tu_arena_printf(&a, "%s.%s.%s", TU_SUBJ_CMD,
					  *cmd.target ? cmd.target : "none",
					  *cmd.action ? cmd.action : "none");
	if (msg_id == NULL)
		msg_id = *cmd.command_id ? cmd.command_id : tu_arena_printf(&a, "test.%" PRId64,
									    tu_clock_wall_ns());

	tu_bus *bus = connect_to(url, config);
	if (bus == NULL)
		return 1;
	struct tu_bus_msg m = {
		.subject = subject,
		.type = type,
		.msg_id = msg_id,
		.correlation_id = cmd.correlation_id,
		.data = data,
		.len = len,
	};
	uint64_t seq = 0;
	bool dup = false;
	char err[512];
	tu_status st = tu_bus_publish(bus, &m, &seq, &dup, err, sizeof(err));
	if (st != TU_OK)
		fprintf(stderr, "actuator_cmd: %s\n", err);
	else
		printf("%" PRIu64 "%s\n", seq, dup ? " duplicate" : "");
	tu_bus_destroy(bus, 1000);
	tu_arena_release(&a);
	return st == TU_OK ? 0 : 1;
}
