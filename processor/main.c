/*
 * trueup-processor - folds TRUEUP_EVENTS into the view and derives drift
 * events and fix commands. See processor.h and docs/architecture.md.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "processor.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trueup-processor --config FILE [--instance NAME] [--listen ADDR]\n"
		"\n"
		"Folds every fact of TRUEUP_EVENTS into the LMDB view (processor.view),\n"
		"evaluates the configured rules and publishes drift events and fix\n"
		"commands. SIGTERM/SIGINT stop it after the current batch.\n"
		"\n"
		"  -c, --config FILE    trueup YAML config (see docs/configuration.md)\n"
		"  -i, --instance NAME  instance name (default: hostname-pid)\n"
		"  -l, --listen ADDR    metrics and endpoints (default: http.processor, \"\" for none)\n"
		"  -h, --help           this help\n"
		"\n"
		"Exit status: 0 stopped cleanly, 1 runtime failure, 2 usage or config error.\n");
}

int main(int argc, char **argv)
{
	const char *config = NULL, *listen = NULL;
	char instance[128] = "";
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "instance", required_argument, NULL, 'i' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:i:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'i': snprintf(instance, sizeof(instance), "%s", optarg); break;
		case 'l': listen = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (config == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (instance[0] == '\0') {
		char host[64] = "host";
		gethostname(host, sizeof(host) - 1);
		snprintf(instance, sizeof(instance), "%s-%d", host, (int)getpid());
	}
	char err[1024];
	struct tu_config *cfg = NULL;
	if (tu_config_load(config, &cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "trueup-processor: %s\n", err);
		return 2;
	}
	tu_log_init("processor", cfg->log.level, cfg->log.format);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	tu_processor *p = NULL;
	if (tu_processor_create(cfg, instance, listen, &p, err, sizeof(err)) != TU_OK) {
		tu_error("%s", err);
		tu_config_destroy(cfg);
		return 1;
	}
	tu_status st = tu_processor_run(p, &g_stop);
	tu_processor_destroy(p);
	tu_config_destroy(cfg);
	return st == TU_OK ? 0 : 1;
}
