/*
 * main.c - trueup-actuator: executes one target's fix commands.
 *
 *   trueup-actuator --config FILE --target NAME [--instance ID]
 *
 * Exit status: 0 after SIGTERM/SIGINT (the command in hand is finished, the
 * rest of its batch naked), 2 for usage and config errors, 1 for runtime
 * failures (NATS unreachable at start, the target's consumer missing).
 * Streams and consumers are created by `trueup streams apply`, not here.
 *
 * Test hook (compiled in, inert unless set): TRUEUP_ACTUATOR_FAULT=
 * crash-after-execute[:N] makes the process SIGKILL itself right after its
 * N-th (default first) side effect, before that command's outcome is
 * published: the window the outcome lookup cannot cover (RELIABILITY.md).
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actuator.h"
#include "bus.h"
#include "config.h"
#include "log.h"
#include "ophttp.h"
#include "targets.h"

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1
#define FAULT_ENV "TRUEUP_ACTUATOR_FAULT" /* test hook; see tu_actuator_opts.crash_after */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: trueup-actuator --config FILE --target NAME [--instance ID]\n"
		"\n"
		"Executes the fix commands of one target (TRUEUP_CMD, trueup.cmd.<target>.>)\n"
		"and publishes their outcomes into TRUEUP_EVENTS (trueup.out.<target>.<id>).\n"
		"\n"
		"  --config FILE   trueup YAML config (nats, targets)\n"
		"  --target NAME   the target of this actuator (targets.<NAME>)\n"
		"  --instance ID   name in outcomes and logs (default <hostname>-<pid>)\n"
		"  --listen ADDR   metrics and health endpoint (default: http.actuator; \"\"\n"
		"                  for none; one actuator per target: give each its own)\n"
		"  --help          this text\n"
		"\n"
		"Exit status: 0 stopped by SIGTERM/SIGINT, 1 runtime failure, 2 usage or\n"
		"config error.\n");
}

/*
 * The test hook's setting: "crash-after-execute" (the first side effect) or
 * "crash-after-execute:N" (the N-th, N >= 1) give N; anything else 0 (off).
 */
static unsigned fault_crash_after(const char *fault)
{
	static const char name[] = "crash-after-execute";
	if (fault == NULL || strncmp(fault, name, sizeof(name) - 1) != 0)
		return 0;
	const char *p = fault + sizeof(name) - 1;
	if (*p == '\0')
		return 1;
	char *end = NULL;
	unsigned long n = *p == ':' ? strtoul(p + 1, &end, 10) : 0;
	return end != NULL && end != p + 1 && *end == '\0' && n <= UINT_MAX ? (unsigned)n : 0;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "target", required_argument, NULL, 't' },
		{ "instance", required_argument, NULL, 'i' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	const char *target_name = NULL;
	const char *instance = NULL;
	const char *listen = NULL;
	tu_ophttp *op = NULL;
	char default_instance[300];
	char err[1024];
	struct tu_config *cfg = NULL;
	tu_bus *bus = NULL;
	struct tu_adapter adapter = { 0 };
	const struct tu_target_config *target = NULL;
	tu_actuator *act = NULL;
	int rc = EXIT_RUNTIME;
	int c;

	tu_log_init("actuator", TU_LOG_INFO, TU_LOG_JSON);
	while ((c = getopt_long(argc, argv, "c:t:i:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'c': config_path = optarg; break;
		case 't': target_name = optarg; break;
		case 'i': instance = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || config_path == NULL || target_name == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}

	if (tu_config_load(config_path, &cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "trueup-actuator: %s\n", err);
		return EXIT_USAGE;
	}
	target = tu_config_target(cfg, target_name);
	if (target == NULL) {
		fprintf(stderr, "trueup-actuator: %s: no target named \"%s\"\n", config_path,
			target_name);
		rc = EXIT_USAGE;
		goto out;
	}
	char component[96];
	snprintf(component, sizeof(component), "actuator-%s", target->name);
	tu_log_init(component, cfg->log.level, cfg->log.format);
	if (instance == NULL) {
		char host[256] = "localhost";
		gethostname(host, sizeof(host) - 1);
		snprintf(default_instance, sizeof(default_instance), "%s-%ld", host,
			 (long)getpid());
		instance = default_instance;
	}

	if (tu_target_open(target, &adapter, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "trueup-actuator: %s: target %s: %s\n", config_path, target->name,
			err);
		rc = EXIT_USAGE;
		goto out;
	}

	install_signals();
	struct tu_bus_opts bo = { .name = component };
	if (tu_bus_connect(&cfg->nats, &bo, &bus, err, sizeof(err)) != TU_OK) {
		tu_error("%s", err);
		goto out;
	}
	if (tu_ophttp_start(listen != NULL ? listen : cfg->http.actuator, component, 60, &op, err,
			    sizeof(err)) != TU_OK) {
		/* Metrics are not the job: say so loudly and act anyway. */
		tu_error("metrics endpoint not served (give --listen or http.actuator): %s", err);
		tu_ophttp_start(NULL, component, 60, &op, err, sizeof(err));
	}
	struct tu_actuator_opts ao = {
		.target = target,
		.adapter = adapter,
		.instance = instance,
		.crash_after = fault_crash_after(getenv(FAULT_ENV)),
		.op = op,
	};
	if (ao.crash_after > 0)
		tu_warn("%s: test hook active: SIGKILL right after side effect %u", FAULT_ENV,
			ao.crash_after);
	if (tu_actuator_create(bus, &ao, &act, err, sizeof(err)) != TU_OK) {
		tu_error("%s (run `trueup streams apply` first?)", err);
		goto out;
	}
	if (tu_actuator_run(act, &g_stop) == TU_OK)
		rc = 0;
out:
	tu_actuator_destroy(act);
	tu_ophttp_stop(op);
	tu_bus_destroy(bus, 2000);
	if (target != NULL)
		tu_target_close(target, &adapter);
	tu_config_destroy(cfg);
	return rc;
}
