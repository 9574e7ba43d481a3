/*
 * heartbeat_main.c - trueup-heartbeat: heartbeats of a service instance
 * from a script (lib/heartbeat.h does the work; services written in C link
 * the library instead).
 *
 *   trueup-heartbeat --config FILE --service S --instance I [--interval 5s]
 *                    [--ttl 15s] [--attr k=v]... [--once | --stop]
 *
 * Without --once/--stop it publishes every interval until SIGTERM or
 * SIGINT, then publishes `stopping: true` (the instance is absent at once)
 * and exits 0. --once publishes one heartbeat; --stop one `stopping`
 * heartbeat. Exit: 0 ok, 1 NATS or the stream refused a heartbeat, 2 usage
 * or config error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "heartbeat.h"
#include "log.h"
#include "xalloc.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: trueup-heartbeat --config FILE --service S --instance I [--interval 5s]\n"
		"                        [--ttl 15s] [--attr k=v]... [--once | --stop]\n"
		"\n"
		"Publishes trueup.v1.Heartbeat messages for instance I of service S on\n"
		"trueup.hb.<S>.<I>: the processor keeps the entity instance/S/I present while\n"
		"they arrive and makes it absent after ttl of silence.\n"
		"\n"
		"  -c, --config FILE     the trueup config file (its nats section; required)\n"
		"  -s, --service S       service name (the entity's namespace; required)\n"
		"  -i, --instance I      instance name (the entity's name; required)\n"
		"      --interval D      between heartbeats (default 5s)\n"
		"      --ttl D           absent after this silence (default 3 intervals)\n"
		"  -a, --attr K=V        an attribute (repeatable)\n"
		"      --once            publish one heartbeat and exit\n"
		"      --stop            publish one `stopping` heartbeat (absent at once) and exit\n"
		"  -h, --help            this help\n"
		"\n"
		"Without --once or --stop it runs until SIGTERM/SIGINT, then publishes a\n"
		"`stopping` heartbeat and exits 0.\n"
		"Exit status: 0 ok, 1 a heartbeat could not be published, 2 usage or config error.\n");
}

/* Parses a duration flag; false with a message. */
static bool duration_arg(const char *flag, const char *s, int64_t *ms)
{
	if (tu_duration_parse(s, ms) != TU_OK || *ms <= 0) {
		fprintf(stderr, "trueup-heartbeat: %s: invalid duration \"%s\" (e.g. 5s, 500ms)\n",
			flag, s);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "service", required_argument, NULL, 's' },
		{ "instance", required_argument, NULL, 'i' },
		{ "interval", required_argument, NULL, 'I' },
		{ "ttl", required_argument, NULL, 'T' },
		{ "attr", required_argument, NULL, 'a' },
		{ "once", no_argument, NULL, 'o' },
		{ "stop", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tu_heartbeat_opts o = { 0 };
	struct tu_heartbeat_attr *attrs = tu_xcalloc((size_t)argc + 1, sizeof(*attrs));
	struct tu_config *cfg = NULL;
	tu_heartbeat *h = NULL;
	const char *config = NULL;
	bool once = false, stop = false;
	char err[1024];
	int rc = 0, c;

	tu_log_init("heartbeat", TU_LOG_INFO, TU_LOG_JSON);
	while ((c = getopt_long(argc, argv, "c:s:i:a:h", longopts, NULL)) != -1) {
		char *eq = NULL;
		switch (c) {
		case 'c': config = optarg; break;
		case 's': o.service = optarg; break;
		case 'i': o.instance = optarg; break;
		case 'I':
			if (!duration_arg("--interval", optarg, &o.interval_ms))
				rc = EXIT_USAGE;
			break;
		case 'T':
			if (!duration_arg("--ttl", optarg, &o.ttl_ms))
				rc = EXIT_USAGE;
			break;
		case 'a':
			eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg) {
				fprintf(stderr, "trueup-heartbeat: --attr: \"%s\" is not K=V\n", optarg);
				rc = EXIT_USAGE;
				break;
			}
			*eq = '\0';
			attrs[o.n_attrs++] = (struct tu_heartbeat_attr){ optarg, eq + 1 };
			break;
		case 'o': once = true; break;
		case 'S': stop = true; break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			rc = EXIT_USAGE;
			break;
		}
	}
	if (rc == 0 && (config == NULL || o.service == NULL || o.instance == NULL ||
			optind != argc || (once && stop))) {
		fprintf(stderr, "trueup-heartbeat: %s\n",
			optind != argc	  ? "unexpected argument"
			: once && stop	  ? "--once and --stop exclude each other"
					  : "--config, --service and --instance are required");
		rc = EXIT_USAGE;
	}
	if (rc != 0) {
		usage(stderr);
		goto out;
	}
	o.attrs = attrs;
	if (tu_config_load(config, &cfg, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "trueup-heartbeat: %s\n", err);
		rc = EXIT_USAGE;
		goto out;
	}
	tu_log_init("heartbeat", cfg->log.level, cfg->log.format);

	if (once || stop) {
		tu_status st = tu_heartbeat_once(&cfg->nats, &o, stop, err, sizeof(err));
		if (st != TU_OK) {
			fprintf(stderr, "trueup-heartbeat: %s\n", err);
			rc = st == TU_EINVAL || st == TU_ETOOBIG ? EXIT_USAGE : EXIT_RUNTIME;
		}
		goto out;
	}

	/* Signals go to this thread only; the heartbeat thread inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	tu_status st = tu_heartbeat_start(&cfg->nats, &o, &h, err, sizeof(err));
	if (st != TU_OK) {
		fprintf(stderr, "trueup-heartbeat: %s\n", err);
		rc = st == TU_EINVAL || st == TU_ETOOBIG ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	int sig = 0;
	while (sigwait(&sigs, &sig) != 0)
		;
	tu_info("%s: publishing `stopping` and exiting", sig == SIGINT ? "SIGINT" : "SIGTERM");
	if (tu_heartbeat_stop(h, true) != TU_OK)
		rc = EXIT_RUNTIME;
out:
	free(attrs);
	tu_config_destroy(cfg);
	return rc;
}
