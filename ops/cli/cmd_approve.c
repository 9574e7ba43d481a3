/* cmd_approve.c - `trueup approve COMMAND_ID`: publishes an Approval fact. */
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

struct args {
	bool reject;
	const char *reason, *approver;
};

static int on_opt(struct tu_cli *cli, void *ctx, int c, const char *arg)
{
	struct args *a = ctx;
	(void)cli;
	switch (c) {
	case 'r': a->reject = true; break;
	case 'm': a->reason = arg; break;
	case 'a': a->approver = arg; break;
	default: return TU_EXIT_USAGE;
	}
	return TU_EXIT_OK;
}

int tu_cli_approve(struct tu_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reject", no_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'm' },
		{ "approver", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a = { .reason = "" };
	struct tu_cli_verb v = { opts, NULL, on_opt, &a, usage, 1, 1 };
	int rc = tu_cli_parse(cli, argc, argv, &v);
	if (rc >= 0)
		return rc;
	const char *id = argv[optind];
	if (!tu_token_valid(id) || strlen(id) > 64) {
		tu_cli_fail(cli, "%s is not a command id", id);
		return TU_EXIT_USAGE;
	}
	if (a.approver == NULL) {
		struct passwd *pw = getpwuid(getuid());
		a.approver = pw != NULL ? pw->pw_name : "unknown";
	}
	tu_bus *bus = NULL;
	rc = tu_cli_open(cli, "trueup-cli", &bus);
	if (rc != TU_EXIT_OK)
		return rc;
	Trueup__V1__Approval ap = TRUEUP__V1__APPROVAL__INIT;
	ap.command_id = (char *)id;
	ap.approved = !a.reject;
	ap.approver = (char *)a.approver;
	ap.reason = (char *)a.reason;
	ap.at_ns = tu_clock_wall_ns();
	uint8_t buf[4096];
	size_t n = protobuf_c_message_get_packed_size(&ap.base);
	if (n > sizeof(buf)) {
		tu_cli_fail(cli, "reason too long");
		tu_bus_destroy(bus, 0);
		return TU_EXIT_USAGE;
	}
	trueup__v1__approval__pack(&ap, buf);
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
		       a.reject ? "false" : "true", (unsigned long long)seq, dup ? "true" : "false");
	else
		printf("%s %s (event %llu%s)\n", a.reject ? "rejected" : "approved", id,
		       (unsigned long long)seq, dup ? ", already decided" : "");
	return TU_EXIT_OK;
}
