/*
 * kube_target.h - the kubernetes target: executes delete, merge-patch,
 * json-patch and scale commands against a Kubernetes API server, with
 * compare-and-set preconditions the API server enforces (docs/targets.md).
 *
 * Preconditions: FIELD_EQUALS on `uid` or `resourceVersion` (also written
 * `metadata.uid`, `.metadata.resourceVersion`), FIELD_EQUALS on any other
 * JSON path of the object (`spec.replicas`, `.metadata.labels["app"]`) and
 * EXISTS. A delete with only uid/resourceVersion preconditions sends them
 * as DeleteOptions.preconditions. Otherwise the object is read first, the
 * preconditions are checked on what was read, and its resourceVersion is
 * pinned in the write (DeleteOptions.preconditions, metadata.resourceVersion
 * of a merge patch or of the scale patch, a `replace` of
 * /metadata/resourceVersion ahead of a JSON patch), so the API server
 * refuses the write with 409 Conflict if the object changed in between: the
 * check and the write are atomic. A 409 is skipped-precondition.
 *
 * Dry-run never writes: delete and scale read the object and say what would
 * happen; patches are sent with dryRun=All (the API server computes the
 * result and stores nothing) and the difference is described.
 *
 * Results: 2xx succeeded (noop when the object did not change: a patch that
 * leaves the resourceVersion as it was, a scale to the current count); 404
 * on delete noop ("already gone"); 409 skipped-precondition; 401, 429, 5xx,
 * timeouts, connection and TLS errors failed-retryable (Retry-After is
 * named in the detail); other 4xx and bad params failed-permanent with the
 * API server's Status message.
 *
 * Names and namespaces are URL-escaped; patches are parsed with jansson and
 * sent as JSON, never pasted into anything.
 */
#ifndef TU_KUBE_TARGET_H
#define TU_KUBE_TARGET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adapter.h"
#include "bounds.h"
#include "buf.h"
#include "config.h"
#include "kube.h"
#include "pb.h"
#include "status.h"

/* The adapter object (config.h's struct tu_kube_target is the target's config). */
typedef struct tu_kube_adapter tu_kube_adapter;

/*
 * Creates the target from its config (borrowed: cfg must outlive it). Does
 * not connect; an unreachable API server gives failed-retryable outcomes.
 * TU_EINVAL with err when the server cannot be known (in_cluster outside a pod).
 */
tu_status tu_kube_adapter_create(const struct tu_target_config *cfg, tu_kube_adapter **out,
				 char *err, size_t errlen);
/* NULL is a no-op. */
void tu_kube_adapter_destroy(tu_kube_adapter *t);

/* The adapter view of t (adapter.h); valid while t lives. */
void tu_kube_adapter_view(tu_kube_adapter *t, struct tu_adapter *out);

/* adapter.h execute(): see there. cmd is borrowed for the call. */
tu_status tu_kube_adapter_execute(tu_kube_adapter *t, const Trueup__V1__FixCommand *cmd,
				  bool dry_run, struct tu_exec *out);

/* True for the verbs of the kubernetes target. */
bool tu_kube_verb_known(const char *action);

/* ---- internals, exposed for the unit tests ---------------------------------------------- */

#define TU_KUBE_MAX_DIFF 8 /* changed paths named in a detail */

enum tu__kube_verb {
	TU_KUBE_DELETE = 1,
	TU_KUBE_MERGE_PATCH,
	TU_KUBE_JSON_PATCH,
	TU_KUBE_SCALE,
};

/* A command's params and preconditions, checked. Strings are borrowed from the command. */
struct tu__kube_cmd {
	enum tu__kube_verb verb;
	struct tu_kube_resource res; /* where the object lives */
	const char *ns;              /* its namespace; NULL: cluster-scoped */
	const char *name;            /* its name */
	json_t *patch;               /* merge-patch, json-patch: the parsed patch (owned) */
	int64_t replicas;            /* scale: the desired count */
	int64_t grace;               /* delete: gracePeriodSeconds; -1: not given */
	const char *propagation;     /* delete: propagationPolicy; NULL: not given */
	const char *uid;             /* precondition on metadata.uid; NULL: none */
	const char *rv;              /* precondition on metadata.resourceVersion; NULL: none */
	bool must_exist;             /* an EXISTS precondition */
	char *paths[TU_MAX_PARAMS];        /* other FIELD_EQUALS: JSON paths ('.' first; owned) */
	const char *values[TU_MAX_PARAMS]; /* and the values they must hold */
	size_t pre_index[TU_MAX_PARAMS];   /* and their 1-based precondition numbers */
	size_t n_fields;                   /* entries of paths, values, pre_index */
	size_t uid_index, rv_index, exist_index; /* 1-based numbers of those preconditions */
};

/*
 * Checks cmd's params and preconditions into *out (release it with
 * tu__kube_cmd_release). default_ns (may be NULL) stands in for a missing
 * namespace of a namespaced resource. TU_EINVAL with err naming the param
 * or precondition; *out then needs no release.
 */
tu_status tu__kube_cmd_parse(const Trueup__V1__FixCommand *cmd, const char *default_ns,
			     struct tu__kube_cmd *out, char *err, size_t errlen);
void tu__kube_cmd_release(struct tu__kube_cmd *c);

/* Any precondition at all (the object must then be read and its resourceVersion pinned). */
bool tu__kube_cmd_has_pre(const struct tu__kube_cmd *c);

/*
 * Checks the preconditions on obj (the object as read). TU_OK if all hold;
 * TU_ECONFLICT with why naming the first that fails and the value found.
 */
tu_status tu__kube_pre_check(const struct tu__kube_cmd *c, json_t *obj, char *why,
			     size_t whylen);

/* The DeleteOptions body: grace period, propagation, and uid/rv preconditions (NULL: none). */
tu_status tu__kube_delete_body(const struct tu__kube_cmd *c, const char *uid, const char *rv,
			       struct tu_buf *out);

/*
 * The body of a merge-patch, json-patch or scale request, with rv (NULL:
 * none) pinned: metadata.resourceVersion of a merge patch (and of the scale
 * patch), a leading `replace /metadata/resourceVersion` op of a JSON patch.
 * TU_EINVAL with err when the patch cannot take it (metadata not an object).
 */
tu_status tu__kube_patch_body(const struct tu__kube_cmd *c, const char *rv, struct tu_buf *out,
			      char *err, size_t errlen);

/*
 * The result of a request: st is tu_kube_do()'s status, status the HTTP
 * status when st is TU_OK (see the file comment).
 */
Trueup__V1__Outcome__Result tu__kube_classify(enum tu__kube_verb verb, tu_status st,
					       long status);

/*
 * Describes what differs between before and after ("spec.replicas: 2 -> 3",
 * "metadata.labels.fixed: (none) -> yes"), at most TU_KUBE_MAX_DIFF paths,
 * ignoring resourceVersion, generation, managedFields and status. "" when
 * nothing differs. Always NUL-terminates out.
 */
void tu__kube_diff(json_t *before, json_t *after, char *out, size_t outlen);

#endif
