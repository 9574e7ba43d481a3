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

#include <stdbool.h>
#include <stdio.h>

#include "buf.h"
#include "bus.h"
#include "config.h"

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
/*
 * getopt_long support shared by the verbs: TU_CLI_COMMON_OPTS go at the end of
 * a verb's option table (before the terminator); tu_cli_common() handles
 * their letters and returns false for anything else. Short options: "c:o:h".
 */
#define TU_CLI_COMMON_OPTS                                    \
	{ "config", required_argument, NULL, 'c' },           \
	{ "output", required_argument, NULL, 'o' },           \
	{ "help", no_argument, NULL, 'h' }
/* Returns 1 handled, 0 not a common option, -1 bad value (message printed). */
int tu_cli_common(struct tu_cli *cli, int c, const char *arg);

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

#endif
