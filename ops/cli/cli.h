/*
 * cli.h - the `trueup` ops command: shared option parsing and helpers.
 *
 * Every verb takes --config FILE (default $TRUEUP_CONFIG, then
 * /etc/trueup/trueup.yaml), -o text|json and --help. Exit codes, for
 * scripts: 0 success, 1 failure, 2 usage or config error, 3 conflict
 * (streams apply) or "not found" (audit, approve).
 */
#ifndef TU_CLI_H
#define TU_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "buf.h"
#include "bus.h"
#include "config.h"
#include "reader.h"

#define TU_EXIT_OK 0
#define TU_EXIT_FAIL 1
#define TU_EXIT_USAGE 2
#define TU_EXIT_CONFLICT 3

/* What every verb gets. */
struct tu_cli {
	const char *config_path;
	struct tu_config *cfg;  /* loaded by tu_cli_load_config */
	bool json;              /* -o json */
	const char *verb;       /* for messages */
};

/* Loads cli->config_path; prints the error and returns false on failure. */
bool tu_cli_load_config(struct tu_cli *cli);
/* Connects to NATS from the config; prints the error and returns NULL on failure. */
tu_bus *tu_cli_connect(struct tu_cli *cli, const char *name);
/* A verb's own options, parsed by tu_cli_parse() together with the common ones. */
struct tu_cli_verb {
	const struct option *opts; /* the verb's long options, { NULL } terminated; may be NULL */
	const char *shortopts;     /* the verb's short options (getopt syntax); may be NULL */
	/* Handles one of the verb's options: TU_EXIT_OK, or an exit code to stop with. */
	int (*on_opt)(struct tu_cli *cli, void *ctx, int c, const char *arg);
	void *ctx;
	void (*usage)(FILE *out);
	int min_args, max_args;    /* positional arguments the verb takes */
};

/*
 * Parses argv (argv[0] is the verb) with the verb's options and the common
 * ones (-c/--config, -o/--output, -h/--help). Returns -1 when the verb goes on
 * with its positional arguments from optind; otherwise the exit code to
 * return (TU_EXIT_OK after --help, TU_EXIT_USAGE with the usage printed).
 */
int tu_cli_parse(struct tu_cli *cli, int argc, char **argv, const struct tu_cli_verb *v);

/*
 * Loads the config and connects: TU_EXIT_OK with *bus, or the exit code
 * (the error printed). name is the NATS client name.
 */
int tu_cli_open(struct tu_cli *cli, const char *name, tu_bus **bus);

/*
 * Reads stream per ro and calls fn for each message until the end (or, with
 * ro->follow, until *stop); fn returns TU_EXIT_OK to go on. Returns the exit
 * code.
 */
int tu_cli_read(struct tu_cli *cli, tu_bus *bus, const char *stream,
		const struct tu_reader_opts *ro, volatile sig_atomic_t *stop,
		int (*fn)(void *ctx, natsMsg *msg), void *ctx);

/* Parses "text"/"json" into cli->json. */
bool tu_cli_output(struct tu_cli *cli, const char *arg);
void tu_cli_fail(const struct tu_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One message to print: stored in a stream, or derived by a replay. */
struct tu_cli_msg {
	const char *stream;  /* stream it is (or would be) in */
	uint64_t seq;        /* its sequence there (replay: the event that derived it) */
	int64_t ts_ns;       /* its stream timestamp, 0 if none */
	const char *subject;
	const char *msg_id;  /* Nats-Msg-Id */
	const char *type;    /* Trueup-Type */
	const char *corr;    /* Trueup-Correlation-Id */
	const void *payload;
	size_t len;
	natsMsg *raw;        /* the stored message (for all its headers), or NULL */
	const char *tag;     /* e.g. "+" / "-" in a diff: a text prefix, JSON "diff"; or NULL */
};

/*
 * Writes one message as a line: JSON with stream, seq, time, subject, msg_id,
 * type, correlation_id, headers (stored messages), payload (base64) and the
 * decoded message with every field; or a short text line.
 */
void tu_cli_print_msg(const struct tu_cli *cli, FILE *out, const struct tu_cli_msg *m);
/* The same for a message fetched from stream. */
void tu_cli_print_stored(const struct tu_cli *cli, FILE *out, const char *stream, natsMsg *msg);

int tu_cli_streams(struct tu_cli *cli, int argc, char **argv);
int tu_cli_replay(struct tu_cli *cli, int argc, char **argv);
int tu_cli_view(struct tu_cli *cli, int argc, char **argv);
int tu_cli_approve(struct tu_cli *cli, int argc, char **argv);
int tu_cli_trigger(struct tu_cli *cli, int argc, char **argv);
int tu_cli_status(struct tu_cli *cli, int argc, char **argv);
int tu_cli_drift(struct tu_cli *cli, int argc, char **argv);
int tu_cli_audit(struct tu_cli *cli, int argc, char **argv);
int tu_cli_verify(struct tu_cli *cli, int argc, char **argv);
int tu_cli_inspect(struct tu_cli *cli, int argc, char **argv);

#endif
