/* cmd_approve.c - `trueup approve COMMAND_ID`: publishes an Approval fact. */
#include <getopt.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "contract.h"
#include "ids.h"
#include "pb.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup approve COMMAND_ID [--reject] [--reason TEXT] [--approver NAME]\n"
		"\n"
		"Approves (or rejects) a command a `mode: propose` rule is holding. The decision is a\n"
		"fact on trueup.approve.<command_id> in TRUEUP_EVENTS: part of the audit trail.\n");
}

int tu_cli_approve(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reject", no_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'm' },
		{ "approver", required_argument, NULL, 'a' },
		TU_CLI_COMMON_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	bool reject = false;
	const char *reason = "", *approver = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		int h = tu_cli_common(cli, c, optarg);
		if (h < 0)
			return TU_EXIT_USAGE;
		if (h > 0)
			continue;
		switch (c) {
		case 'r': reject = true; break;
		case 'm': reason = optarg; break;
		case 'a': approver = optarg; break;
		case 'h': usage(stdout); return TU_EXIT_OK;
		default: usage(stderr); return TU_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return TU_EXIT_USAGE;
	}
	const char *id = argv[optind];
	if (!tu_token_valid(id) || strlen(id) > 64) {
		tu_cli_fail(cli, "%s is not a command id", id);
		return TU_EXIT_USAGE;
	}
	if (approver == NULL) {
		struct passwd *pw = getpwuid(getuid());
		approver = pw != NULL ? pw->pw_name : "unknown";
	}
	if (!tu_cli_load_config(cli))
		return TU_EXIT_USAGE;
	tu_bus *bus = tu_cli_connect(cli, "trueup-cli");
	if (bus == NULL)
		return TU_EXIT_FAIL;
	Trueup__V1__Approval a = TRUEUP__V1__APPROVAL__INIT;
	a.command_id = (char *)id;
	a.approved = !reject;
	a.approver = (char *)approver;
	a.reason = (char *)reason;
	a.at_ns = tu_clock_wall_ns();
	uint8_t buf[4096];
	size_t n = protobuf_c_message_get_packed_size(&a.base);
	if (n > sizeof(buf)) {
		tu_cli_fail(cli, "reason too long");
		tu_bus_destroy(bus, 0);
		return TU_EXIT_USAGE;
	}
	trueup__v1__approval__pack(&a, buf);
	char subject[256], msg_id[128];
	snprintf(subject, sizeof(subject), "%s.%s", TU_SUBJ_APPROVE, id);
	snprintf(msg_id, sizeof(msg_id), "approve.%s", id);
	struct tu_bus_msg m = { subject, TU_TYPE_APPROVAL, msg_id, NULL, buf, n };
	char err[512];
	uint64_t seq = 0;
	bool dup = false;
	tu_status st = tu_bus_publish(bus, &m, &seq, &dup, err, sizeof(err));
	tu_bus_destroy(bus, 0);
	if (st != TU_OK) {
		tu_cli_fail(cli, "%s", err);
		return TU_EXIT_FAIL;
	}
	if (cli->json)
		printf("{\"command_id\":\"%s\",\"approved\":%s,\"seq\":%llu,\"duplicate\":%s}\n", id,
		       reject ? "false" : "true", (unsigned long long)seq, dup ? "true" : "false");
	else
		printf("%s %s (event %llu%s)\n", reject ? "rejected" : "approved", id,
		       (unsigned long long)seq, dup ? ", already decided" : "");
	return TU_EXIT_OK;
}
