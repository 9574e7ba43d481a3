/*
 * redis_target.h - the Redis target: executes del, set, hset, hdel, sadd and
 * srem commands with their preconditions, atomically, at most once per
 * command id (docs/targets.md).
 *
 * Each command runs as one Lua script (EVALSHA; loaded with SCRIPT LOAD on
 * every new connection and again on NOSCRIPT). The script checks the
 * command's done-marker <done_prefix><command_id>, then every precondition,
 * then writes the marker (PX done_ttl) and applies the effect. Redis runs a
 * script atomically, so an effect without its marker cannot exist, and a
 * command whose marker exists is never applied again: a crash between the
 * effect and the published outcome cannot cause a second effect.
 *
 * Keys are passed as KEYS[] and values as ARGV[]: nothing from a command is
 * ever interpolated into script text or a shell.
 */
#ifndef TU_REDIS_TARGET_H
#define TU_REDIS_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "arena.h"
#include "bounds.h"
#include "config.h"
#include "pb.h"
#include "redisconn.h"
#include "status.h"

/* The adapter object (config.h's struct tu_redis_target is the target's config). */
typedef struct tu_redis_adapter tu_redis_adapter;

/*
 * Creates the target from its config (borrowed: cfg must outlive the target).
 * Checks the URL; does not connect (the first command does, and a lost
 * connection is re-made by the next command), so an unreachable Redis at
 * start becomes failed-retryable outcomes, not an exit.
 */
tu_status tu_redis_adapter_create(const struct tu_target_config *cfg, tu_redis_adapter **out,
				  char *err, size_t errlen);
/* Closes the connection. NULL is a no-op. */
void tu_redis_adapter_destroy(tu_redis_adapter *t);

/* The adapter view of t (adapter.h); valid while t lives. */
void tu_redis_adapter_view(tu_redis_adapter *t, struct tu_adapter *out);

/* adapter.h execute(): see there. cmd is borrowed for the call. */
tu_status tu_redis_adapter_execute(tu_redis_adapter *t, const Trueup__V1__FixCommand *cmd,
				   bool dry_run, struct tu_exec *out);

/* True for the verbs of the redis target. */
bool tu_redis_verb_known(const char *action);

/* ---- internals, exposed for the unit tests -------------------------------------------- */

/* The script text (redis_script.c); its SHA1 is what EVALSHA names. */
extern const char tu__redis_script[];

/* The URL parts of redis://[user@]host[:port][/db]. */
#define TU_REDIS_MAX_KEYS (2 + TU_MAX_PARAMS)                   /* marker, key, preconditions */
#define TU_REDIS_MAX_ARGV (4 + 3 * TU_MAX_PARAMS + 2 * TU_MAX_PARAMS) /* header, pre, verb */

/*
 * One EVALSHA call. KEYS: [1] marker, [2] the command's key, [2+i] the key of
 * precondition i. ARGV: [1] "exec" or "dry", [2] verb, [3] marker ttl in ms,
 * [4] number of preconditions n, then op, field, value for each precondition,
 * then the verb's arguments (set: value; hset: field, value, ...; hdel:
 * field; sadd, srem: member).
 */
struct tu__redis_call {
	const char *keys[TU_REDIS_MAX_KEYS]; /* borrowed from the command or the arena */
	size_t n_keys;
	const char *argv[TU_REDIS_MAX_ARGV]; /* borrowed from the command or the arena */
	size_t n_argv;
};

/*
 * Maps cmd's params and preconditions to the script's KEYS and ARGV. Strings
 * built here come from a (they live until its reset). Bad params (a missing
 * or unknown param, an empty field name, a precondition without op) return
 * TU_EINVAL with err naming the param; *out is then untouched.
 */
tu_status tu__redis_call_build(const Trueup__V1__FixCommand *cmd, const char *done_prefix,
			       int64_t done_ttl_ms, bool dry_run, struct tu_arena *a,
			       struct tu__redis_call *out, char *err, size_t errlen);

/*
 * The result class of a Redis failure: conn_err is hiredis' context error
 * (REDIS_ERR_IO, _EOF, ...; 0 if the connection is fine) and errstr the error
 * reply or context text. Connection trouble, LOADING, BUSY, MASTERDOWN,
 * TRYAGAIN, CLUSTERDOWN, READONLY, OOM, NOREPLICAS, NOAUTH and WRONGPASS are
 * failed-retryable; WRONGTYPE, NOPERM, ERR and anything else failed-permanent.
 */
Trueup__V1__Outcome__Result tu__redis_classify(int conn_err, const char *errstr);

#endif
