/*
 * adapter.h - what the command loop (actuator.c) needs from a target.
 *
 * One adapter per target type (redis_target.c, mongo_target.c). The loop
 * validates and deduplicates commands, checks deadlines, publishes outcomes
 * and acks; the adapter only checks params against its verbs and executes
 * commands, atomically with their preconditions where the target allows,
 * and says what happened to each in a struct tu_exec. An adapter never
 * publishes, acks or sleeps.
 *
 * Batches: an adapter that can do several commands in one round trip (a
 * MongoDB bulk write) offers execute_batch; the loop then hands it every
 * command of one fetch that passed validation, dedupe and the deadline
 * check, and still gives each its own outcome. Adapters without it get
 * execute(), one command at a time, as before.
 *
 * Threads: an adapter is used by one thread at a time.
 */
#ifndef TU_ADAPTER_H
#define TU_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pb.h"
#include "status.h"

#define TU_EXEC_DETAIL 1024 /* bytes of tu_exec.detail, NUL included; longer text is cut */
#define TU_EXEC_ERROR 512   /* bytes of tu_exec.error, NUL included */

/* The verdict on one command: becomes the Outcome's result, detail and error. */
struct tu_exec {
	Trueup__V1__Outcome__Result result; /* never RESULT_UNSPECIFIED once filled */
	char detail[TU_EXEC_DETAIL];        /* what was (or would have been) done */
	char error[TU_EXEC_ERROR];          /* the target's own error text, "" if none */
	int64_t retry_after_ms;             /* failed-retryable: the target asked to wait at least
					       this long (HTTP Retry-After); 0: no wish */
};

struct tu_adapter_ops {
	/* Target type name for logs and messages, e.g. "redis". */
	const char *type;
	/* True if action is a verb of this target type (checked before execute). */
	bool (*verb_known)(const char *action);
	/*
	 * Executes cmd (already validated by the loop: ids, target, known verb,
	 * bounded params) or, with dry_run, evaluates it read-only. Always fills
	 * *out with a verdict, including failures (bad params, target errors);
	 * returns TU_OK when it did, another status only for a bug-like failure
	 * (then out holds failed-permanent as well). cmd is borrowed for the call.
	 */
	tu_status (*execute)(void *impl, const Trueup__V1__FixCommand *cmd, bool dry_run,
			     struct tu_exec *out);
	/*
	 * Optional (may be NULL): checks the target is reachable with its
	 * credentials, changing nothing (`trueup verify`); err says why not.
	 */
	tu_status (*probe)(void *impl, char *err, size_t errlen);
	/*
	 * Optional (NULL: execute() per command). Executes cmds[0..n), n >= 1, as
	 * execute() would each (dry_run[i] for cmds[i]), filling outs[i] with
	 * the verdict of cmds[i]; free to group them into fewer round trips.
	 * The loop passes commands in stream order and never two with the same
	 * command id. Returns TU_OK when every verdict is filled; otherwise the
	 * unfilled ones (result RESULT_UNSPECIFIED) become failed-permanent.
	 * cmds and dry_run are borrowed for the call.
	 */
	tu_status (*execute_batch)(void *impl, const Trueup__V1__FixCommand *const *cmds,
				   const bool *dry_run, size_t n, struct tu_exec *outs);
};

/* An adapter: a table of operations and the target object they act on. */
struct tu_adapter {
	const struct tu_adapter_ops *ops; /* static table */
	void *impl;                       /* the target object; owned by whoever created it */
};

/*
 * Fills e with a verdict; fmt formats the detail, error may be NULL. Both are
 * cut to their buffers and made valid UTF-8 (tu_exec_sanitize).
 */
void tu_exec_set(struct tu_exec *e, Trueup__V1__Outcome__Result result, const char *error,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Executes cmds[0..n) through ad: one execute_batch() call if the adapter
 * has it, else execute() per command. Afterwards every outs[i] holds a
 * verdict: one the adapter failed to give (a status other than TU_OK, or a
 * result left RESULT_UNSPECIFIED) becomes failed-permanent naming the
 * adapter. outs are cleared first.
 */
void tu_adapter_run(const struct tu_adapter *ad, const Trueup__V1__FixCommand *const *cmds,
		    const bool *dry_run, size_t n, struct tu_exec *outs);

/* Replaces, in place, every byte of s that is not part of valid UTF-8 with '?'. */
void tu_exec_sanitize(char *s);

#endif
