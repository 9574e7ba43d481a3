/*
 * config.h - the one YAML config file of every trueup component.
 *
 * Loaded with libyaml's document API (config.c). Every value an operator
 * would tune is here with a documented default (docs/configuration.md);
 * errors name the file, line, column and the field path, e.g.
 *   trueup.yaml:14:9: rules[0].for: invalid duration "soon" (e.g. 30s, 500ms, 1h30m)
 *
 * Lifetime: tu_config_load() returns one heap object owning every string and
 * array below; tu_config_destroy() frees it. Components keep const pointers
 * into it for as long as they run. Durations are milliseconds, sizes bytes.
 * All names (sources, targets, rules, kinds, actions) are validated with
 * tu_name_valid(), so they are subject tokens as they are.
 */
#ifndef TU_CONFIG_H
#define TU_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "status.h"

/* An ordered list of key -> value (value often a template). */
struct tu_kv {
	char *key;   /* owned */
	char *value; /* owned */
};

struct tu_kvlist {
	struct tu_kv *items; /* owned, n entries, in file order */
	size_t n;
};

/* Returns the value for key, or NULL. */
const char *tu_kvlist_get(const struct tu_kvlist *l, const char *key);

/*
 * How a JSON object becomes an entity: a Docker container, a Kubernetes
 * object, an item of an HTTP API's reply, a MongoDB document (as relaxed
 * extended JSON). Templates (tmpl.h) see `{.path}` variables: `.a.b`,
 * `.items[0]`, `.metadata.labels["app.kubernetes.io/name"]` (lib/jsonmap.h),
 * plus what the adapter adds (e.g. `{source}`).
 */
struct tu_json_mapping {
	char *kind;             /* entity kind (required) */
	char *ns;               /* namespace template; default "default" */
	char *name;             /* name template (required) */
	struct tu_kvlist attrs; /* attribute -> template */
	struct tu_kvlist match; /* path -> template: only objects whose value there renders equal */
	char *name_prefix;      /* only objects whose rendered name starts with this; NULL: all */
};

struct tu_nats_config {
	char *url;               /* default "nats://127.0.0.1:4222"; comma-separated list allowed */
	char *user;              /* optional */
	char *password_file;     /* optional; file holding the password (never inline) */
	char *creds_file;        /* optional; NATS .creds (JWT + nkey seed) */
	char *tls_ca;            /* optional; CA bundle: enables TLS with verification */
	char *tls_cert;          /* optional; client certificate (with tls_key) */
	char *tls_key;           /* optional */
	char *tls_hostname;      /* optional; server name to verify; default: the URL's host */
	int64_t connect_timeout; /* default 2s */
	int64_t request_timeout; /* default 5s; JetStream API calls and control requests */
	int max_reconnect;       /* default -1 (forever) */
	int64_t reconnect_wait;  /* default 1s */
};

struct tu_stream_config {
	char *name;           /* fixed by the public contract; not configurable */
	int64_t max_age;      /* defaults: events 30d, drift 30d, cmd 7d, dead 30d; 0 = unlimited */
	int64_t max_bytes;    /* default -1 (unlimited) */
	int64_t max_msgs;     /* default -1 (unlimited) */
	int64_t duplicates;   /* Nats-Msg-Id dedupe window; default 10m */
	int replicas;         /* default 1 */
	int32_t max_msg_size; /* default 1MiB */
};

struct tu_streams_config {
	struct tu_stream_config events; /* TRUEUP_EVENTS */
	struct tu_stream_config drift;  /* TRUEUP_DRIFT */
	struct tu_stream_config cmd;    /* TRUEUP_CMD */
	struct tu_stream_config dead;   /* TRUEUP_DEAD */
};

enum tu_sync_mode {
	TU_SYNC_NONE = 0, /* MDB_NOSYNC (default): the stream, not the view, is the truth */
	TU_SYNC_META = 1, /* MDB_NOMETASYNC */
	TU_SYNC_FULL = 2, /* fsync every commit */
};


enum tu_source_type {
	TU_SOURCE_REDIS = 1,
	TU_SOURCE_FILES = 2,
	TU_SOURCE_DOCKER = 3,
	TU_SOURCE_MONGODB = 4,
	TU_SOURCE_KUBE = 5,
	TU_SOURCE_HTTP = 6,
};

/* How a Redis key's value becomes attributes. */
enum tu_redis_read {
	TU_REDIS_READ_AUTO = 0, /* TYPE, then as below */
	TU_REDIS_READ_STRING,   /* GET: attr "value" */
	TU_REDIS_READ_HASH,     /* HGETALL: one attr per field */
	TU_REDIS_READ_SET,      /* SMEMBERS: attr "members", sorted, comma-separated */
};

/* One `observe:` entry of a Redis source: which keys become which entities. */
struct tu_redis_observe {
	char *kind;              /* entity kind */
	char *ns;                /* namespace template; default "default" */
	char *scan;              /* SCAN MATCH pattern; exactly one of scan/get */
	char *get;               /* one fixed key */
	enum tu_redis_read read; /* default auto */
	char *name;              /* name template; vars: key; default "{key}" */
	struct tu_kvlist attrs;  /* attr -> template (vars: key, value, field.<f>, members);
				    empty: all fields/value/members as read */
	bool ttl;                /* also read PTTL: attr ttl_ms (-1: no expiry); default false */
};

struct tu_redis_source {
	char *url;                        /* redis://host:port[/db]; default redis://127.0.0.1:6379 */
	char *username;                   /* optional ACL user */
	char *password_file;              /* optional */
	int scan_count;                   /* SCAN COUNT hint; default 500 */
	int pipeline;                     /* reads pipelined per round trip; default 256 */
	struct tu_redis_observe *observe; /* owned, n_observe entries */
	size_t n_observe;
};

struct tu_files_source {
	char *path;        /* directory of *.yaml, *.yml, *.json manifests */
	char **kinds;      /* kinds to publish; empty = all */
	size_t n_kinds;
	char *default_ns;  /* namespace when a manifest has none; default "default" */
};

/* ---- docker (issue 3): the Docker Engine API over its unix socket ------------------- */

/* How to reach a Docker daemon: shared by the docker source and target. */
struct tu_docker_daemon {
	char *socket;     /* the daemon's unix socket; default /var/run/docker.sock */
	int rate;         /* requests per second to it; default 20 (source), 10 (target); 0: no limit */
	int64_t max_body; /* largest reply accepted; default 32MiB (source), 4MiB (target) */
};

/* One `observe:` entry of a Docker source: which containers become which entities. */
struct tu_docker_observe {
	struct tu_json_mapping map; /* over one item of GET /containers/json */
	bool inspect;               /* may inspect matching containers ({health}, {inspect.*});
				       default false */
};

struct tu_docker_source {
	struct tu_docker_daemon daemon;   /* socket, rate, max_body */
	int max_inspects;                 /* container inspects per scan; default 1000 */
	char **name_prefixes;             /* filters.name_prefixes: containers named so (any) */
	size_t n_name_prefixes;
	char **labels;                    /* filters.labels: "key" or "key=value" (all) */
	size_t n_labels;
	struct tu_docker_observe *observe; /* owned, n_observe entries (at least one) */
	size_t n_observe;
};

struct tu_docker_target {
	struct tu_docker_daemon daemon; /* socket, rate, max_body (an inspect) */
};

/* ---- end docker ------------------------------------------------------------------------ */
/* ---- mongodb (issue 3, item 3): source and target ---------------------------------- */

/* One `observe:` entry of a mongodb source: a query whose documents become entities. */
struct tu_mongo_observe {
	struct tu_json_mapping map; /* kind, namespace, name, attrs, match, name_prefix */
	char *database;             /* required */
	char *collection;           /* required */
	char *filter;               /* query filter, relaxed extended JSON object; default "{}" */
	char *projection;           /* projection, JSON object; NULL: whole documents */
};

struct tu_mongo_source {
	char *uri;                        /* mongodb://host[:port][/?options]; no password in it */
	char *password_file;              /* optional; inserted into the URI at connect */
	int batch_size;                   /* documents per find/getMore reply; default 500 */
	int rate;                         /* find/getMore requests per second; 0 (default): no limit */
	int64_t max_document;             /* largest document (BSON bytes) mapped; default 1MiB */
	struct tu_mongo_observe *observe; /* owned, n_observe entries */
	size_t n_observe;
};

struct tu_mongo_target {
	char *uri;           /* as for the source; default mongodb://127.0.0.1:27017 */
	char *password_file; /* optional */
};

/* ---- end mongodb ---------------------------------------------------------------------- */
/* ---- kubernetes (source and target) ------------------------------------ */

/* How to reach one Kubernetes API server (lib/kube.h); sources and targets alike. */
struct tu_kube_conn {
	char *server;          /* https://host[:port][/prefix]; in_cluster: from the environment */
	char *ca_file;         /* CA bundle; in_cluster: <service_account_dir>/ca.crt; else system */
	char *token_file;      /* bearer token, re-read when it changes; in_cluster: .../token */
	char *cert_file;       /* client certificate (mTLS); optional, with key_file */
	char *key_file;        /* its private key */
	bool in_cluster;       /* default false: use the pod's service account and KUBERNETES_SERVICE_* */
	char *service_account_dir; /* default /var/run/secrets/kubernetes.io/serviceaccount */
	int rate;              /* requests per second (token bucket); default 20; 0: unlimited */
	int burst;             /* bucket size; default 2 * rate */
	int64_t max_body;      /* largest reply accepted; default 32MiB */
	int retries;           /* waits after a 429 (or 503 with Retry-After) per request; default 3 */
	int64_t retry_after_max; /* longest such wait; default 10s */
};

/* One `observe:` entry of a kubernetes source: one resource type, listed. */
struct tu_kube_observe {
	struct tu_json_mapping map; /* kind, namespace, name, attrs, match, name_prefix */
	char *resource;        /* a built-in resource (pods, nodes, ...); or group/version/plural */
	char *group;           /* API group of a custom resource ("core": the core group) */
	char *version;         /* its version, e.g. v1 */
	char *plural;          /* its plural resource name, e.g. databases */
	int namespaced;        /* -1: by the resource (built-ins known, custom ones namespaced) */
	char **namespaces;     /* namespaces listed one by one; none: all (cluster-wide list) */
	size_t n_namespaces;
	char *label_selector;  /* labelSelector of the list; optional */
	char *field_selector;  /* fieldSelector of the list; optional */
};

struct tu_kube_source {
	struct tu_kube_conn conn;         /* the API server */
	int page_size;                    /* `limit` of each list request; default 500 */
	struct tu_kube_observe *observe;  /* owned, n_observe entries */
	size_t n_observe;
};

struct tu_kube_target {
	struct tu_kube_conn conn; /* the API server */
};

/* ---- end kubernetes ------------------------------------------------------ */

/* ---- type http (producers/http_source.c, actuators/http_target.c) ---------- */

enum tu_http_preset {
	TU_HTTP_PRESET_NONE = 0,
	TU_HTTP_PRESET_DO_APPS = 1, /* digitalocean-apps: the DigitalOcean App Platform API */
};

/* What an http source and an http target both need to talk to an API. */
struct tu_http_conn {
	char *auth_header;        /* header that carries the secret; default "Authorization" */
	char *auth_file;          /* file holding its whole value ("Bearer ..."); NULL: none */
	struct tu_kvlist headers; /* extra request headers (not secret), in file order */
	char *ca_file;            /* CA bundle to verify the server; NULL: the system's */
	int64_t max_body;         /* largest response body accepted; default 8MiB */
	double rate;              /* requests per second (token bucket); 0: unlimited (default) */
	int burst;                /* token bucket size; default 1 */
};

/*
 * One `observe:` entry of an http source: each item of a page (or, with
 * `each`, each element of an array inside an item) becomes an entity.
 */
struct tu_http_observe {
	struct tu_json_mapping map; /* kind, namespace, name, attrs, match, name_prefix */
	char *each;                 /* JSON path of an array inside each item; its elements are
				       mapped ({.x}), the item is {parent.x}; NULL: the item */
};

struct tu_http_source {
	enum tu_http_preset preset;      /* default none */
	char *base_url;                  /* scheme://host[:port]; preset default
					    https://api.digitalocean.com */
	char *url;                       /* the first page; preset default <base_url>/v2/apps */
	struct tu_http_conn conn;        /* auth, headers, TLS, bounds, rate */
	char *items;                     /* JSON path of the items array in a page; default "." */
	char *total;                     /* JSON path of the item count; with it, a page without
					    items whose count is 0 is empty; NULL: none */
	char *next;                      /* JSON path of the next page's URL; NULL: one page */
	int max_pages;                   /* pages per scan at most; default 100 */
	int64_t cache_ttl;               /* reuse the last complete reply this long; default 0 */
	int retries;                     /* retries of a 429/5xx/timeout per request; default 3 */
	int64_t backoff;                 /* first retry delay; default 1s */
	int64_t backoff_max;             /* longest retry delay (and Retry-After); default 30s */
	struct tu_http_observe *observe; /* owned, n_observe entries */
	size_t n_observe;                /* entries of observe */
};

struct tu_source_config {
	char *name;              /* subject token; unique among sources */
	enum tu_source_type type;
	int64_t interval;        /* scan period; default 30s */
	int64_t timeout;         /* per call to the source; default 5s */
	int full_every;          /* every Nth scan publishes a full snapshot; default 10 */
	int64_t publish_timeout; /* wait for JetStream acks of a scan; default 10s */
	int publish_retries;     /* re-sends of an unacked observation; default 5 */
	/*
	 * Blast radius: a complete scan that would make more than max_shrink
	 * percent of the source's present entities absent (of at least
	 * min_entities) is held as suspect: its deletions wait until an operator
	 * confirms (trueup approve <scan_id>) or confirm_scans more complete scans
	 * agree (0: only an operator).
	 */
	int max_shrink;          /* percent, 1..100; default 50 (100: never suspect) */
	int min_entities;        /* default 10 */
	int confirm_scans;       /* default 0 */
	int line;                /* line of the entry in the config file */
	struct tu_redis_source redis; /* type redis */
	struct tu_files_source files; /* type files */
	struct tu_docker_source docker; /* type docker */
	struct tu_mongo_source mongo; /* type mongodb */
	struct tu_kube_source kube;   /* type kubernetes */
	struct tu_http_source http;   /* type http */
};

enum tu_target_type {
	TU_TARGET_REDIS = 1,
	TU_TARGET_DOCKER = 2,
	TU_TARGET_MONGODB = 3,
	TU_TARGET_KUBE = 4,
	TU_TARGET_HTTP = 5,
};

struct tu_redis_target {
	char *url;            /* default redis://127.0.0.1:6379 */
	char *username;       /* optional ACL user */
	char *password_file;  /* optional */
	char *done_prefix;    /* key prefix of the executed-command markers; default "trueup:done:" */
	int64_t done_ttl;     /* lifetime of a marker; default 7d */
};

/*
 * A target's circuit breaker: after `failures` retryable failures in a row
 * the actuator stops taking commands for `cooldown`, then tries one; each
 * failed try doubles the pause, up to `max_cooldown`.
 */
struct tu_breaker_config {
	int failures;         /* default 5; 0 = no breaker */
	int64_t cooldown;     /* default 30s */
	int64_t max_cooldown; /* default 5m */
};

/* type http: templated requests, DigitalOcean app scaling, alert webhooks. */
struct tu_http_target {
	enum tu_http_preset preset; /* default none */
	char *base_url;             /* scheme://host[:port][/prefix]; the auth header goes only
				       here; preset default https://api.digitalocean.com */
	struct tu_http_conn conn;   /* auth, headers, TLS, bounds, rate */
	char *webhook_url;          /* where `alert` POSTs; NULL: alert not available */
	char *webhook_auth_file;    /* value of auth_header for the webhook; NULL: none */
};

struct tu_target_config {
	char *name;           /* subject token; unique among targets */
	enum tu_target_type type;
	char *consumer;       /* durable; default "trueup-actuator-<name>" */
	int batch;            /* commands per fetch; default 16 */
	int64_t fetch_wait;   /* default 1s */
	int64_t ack_wait;     /* default 30s */
	int max_deliver;      /* default 5 */
	int64_t retry_backoff;     /* delay after the first failed delivery; default 1s */
	int64_t retry_backoff_max; /* longest delay between deliveries; default 1m */
	int64_t timeout;      /* per call to the target; default 5s */
	struct tu_breaker_config breaker;
	int line;
	struct tu_redis_target redis; /* type redis */
	struct tu_docker_target docker; /* type docker */
	struct tu_mongo_target mongo; /* type mongodb */
	struct tu_kube_target kube;   /* type kubernetes */
	struct tu_http_target http;   /* type http */
};

enum tu_precond_op {
	TU_PRE_EQUALS = 1,       /* key holds value */
	TU_PRE_EXISTS = 2,
	TU_PRE_ABSENT = 3,
	TU_PRE_FIELD_EQUALS = 4, /* field of key holds value */
};

struct tu_precond_config {
	enum tu_precond_op op;
	char *key;   /* template; default: the action's "key" param */
	char *field; /* FIELD_EQUALS only */
	char *value; /* template; EQUALS and FIELD_EQUALS */
};

/*
 * One action of a rule: becomes one FixCommand. In YAML:
 *   { target: redis, action: del, key: "autoscaler:workers:{name}",
 *     if: [{ field_equals: { status: "{redis.status}" } }] }
 *   { target: redis, action: set, key: "...", value: "{desired}", expect: "{current}" }
 * Every other key is a param template (key, value, member, field.<f>, ...).
 * `expect: X` is shorthand for `if: [{ equals: X }]`; `expect_absent: true`
 * for `if: [absent]`.
 */
struct tu_action_config {
	char *target;               /* a configured target's name */
	char *action;               /* verb of that target type */
	struct tu_kvlist params;    /* name -> template, sorted by name */
	struct tu_precond_config *pre; /* owned, n_pre entries */
	size_t n_pre;
	int line;
};

struct tu_actions {
	struct tu_action_config *items; /* owned */
	size_t n;
};

/* Actions to take for one source (presence rules). */
struct tu_source_actions {
	char *source;
	struct tu_actions actions;
};

enum tu_rule_type {
	TU_RULE_PRESENCE = 1,
	TU_RULE_COUNTER = 2,
	TU_RULE_SPEC = 3,
	TU_RULE_COUNT = 4,
	TU_RULE_REFERENCE = 5,
	TU_RULE_EQUAL = 6,
	TU_RULE_POD_STATUS = 7,
	TU_RULE_HEARTBEAT = 8,
	TU_RULE_SOURCE_SUSPECT = 9, /* internal: the blast-radius drift (never in a config) */
};

/* How two attribute values are compared. */
enum tu_compare {
	TU_CMP_STRING = 1,   /* byte for byte (default) */
	TU_CMP_INT = 2,      /* decimal integers: "007" == "7" */
	TU_CMP_BOOL = 3,     /* true/false, yes/no, 1/0, on/off, any case */
	TU_CMP_QUANTITY = 4, /* Kubernetes quantities: "1Gi" == "1024Mi", "0.5" == "500m" */
};

/*
 * Another entity, found from the rule's anchor entity: its kind and source,
 * and templates for its namespace and name (they see the anchor's {name},
 * {namespace}, {kind}, {<source>.<attr>} and, for reference rules, the
 * captures {1}..{9} of `match`).
 */
/* One condition on an entity's attribute: attr == value, or == another attr. */
struct tu_attr_cond {
	char *attr;       /* required */
	char *equals;     /* template; or: */
	char *equals_attr; /* the other attribute of the same entity */
};

struct tu_entity_tmpl {
	char *kind;   /* required */
	char *source; /* required; a configured source or "hb" */
	char *ns;     /* template; default "{namespace}" */
	char *name;   /* template; required, except for a reference rule's owner: */
	struct tu_attr_cond *selector; /* owner only, instead of name: any entity of kind */
	size_t n_selector;             /* in ns whose attributes all match (a label selector) */
};

enum tu_rule_mode {
	TU_MODE_DETECT = 1, /* default */
	TU_MODE_DRY_RUN = 2,
	TU_MODE_PROPOSE = 3,
	TU_MODE_ENFORCE = 4,
};

/*
 * presence: an entity of `kind` must exist in every listed source. The
 * authority list decides whether it should exist: the first authority source
 * with a complete scan wins. Sources without a complete scan yet are not
 * evidence. Extra (present, authority says absent) and missing (absent,
 * authority says present) map to per-source actions.
 */
struct tu_presence_rule {
	char *kind;
	char **sources;       /* owned, n_sources */
	size_t n_sources;
	char **authority;     /* owned, n_authority; default: the first of sources */
	size_t n_authority;
	struct tu_source_actions *when_extra;   /* owned, n_extra */
	size_t n_extra;
	struct tu_source_actions *when_missing; /* owned, n_missing */
	size_t n_missing;
};

/*
 * counter: the counter entity's attribute must equal the maximum numeric
 * suffix among present entities of of_kind in of_source (same namespace),
 * plus offset. Actions' templates see {current} and {desired}.
 */
struct tu_counter_rule {
	char *kind;          /* counter entity kind */
	char *name;          /* counter entity name */
	char *ns;            /* counter entity namespace; default "default" */
	char *source;        /* source observing the counter */
	char *attr;          /* attribute holding the value; default "value" */
	char *of_kind;
	char *of_source;
	char *suffix;        /* POSIX ERE with one capture group; default "-([0-9]+)$" */
	regex_t suffix_re;   /* compiled suffix */
	bool suffix_compiled;
	int64_t offset;      /* default 1 */
	struct tu_actions fix;
};

/*
 * spec: an entity's desired attributes (in `desired`) must equal its actual
 * ones (in `actual`), field by field with a typed comparator. An unparseable
 * value is drift with its reason. Both sources must have the entity.
 */
struct tu_spec_field {
	char *attr;          /* attribute in the desired source */
	char *actual_attr;   /* in the actual source; default: attr */
	enum tu_compare cmp; /* default string */
};

struct tu_spec_rule {
	char *kind;
	char *desired;                /* source of the desired values */
	char *actual;                 /* source of the actual values */
	struct tu_spec_field *fields; /* owned, n_fields >= 1 */
	size_t n_fields;
	struct tu_actions fix;        /* templates see {<desired>.<attr>}, {<actual>.<attr>}, {mismatch} */
};

/*
 * count: an entity (`kind` in `source`) says how many of something there
 * should be (`attr`); the actual number is the present entities of `of_kind`
 * in `of_source` whose namespace renders from `of_ns` (e.g. live heartbeats
 * of a service). The drift opens after `confirm` violated evaluations in a row
 * (and `for:`).
 */
struct tu_count_rule {
	char *kind;
	char *source;
	char *attr;        /* the desired count */
	char *of_kind;
	char *of_source;   /* a configured source or "hb" */
	char *of_ns;       /* template over the desired entity; default "{name}" */
	int confirm;       /* default 1 */
	struct tu_actions fix; /* templates also see {desired}, {actual} */
};

/* A guard of a reference rule: act only while this entity's attr holds value. */
struct tu_guard {
	struct tu_entity_tmpl entity;
	struct tu_attr_cond cond;
	bool missing_ok;   /* an absent guard entity counts as holding; default false */
};

/*
 * reference: every `kind` entity of `source` (whose name matches `match`, if
 * given) must have its owner; an orphan is drift, and the actions run only
 * while every guard holds (otherwise the orphan is reported and left).
 */
struct tu_reference_rule {
	char *kind;
	char *source;
	char *match;              /* POSIX ERE on the name; captures {1}..{9}; NULL: all */
	regex_t match_re;
	bool match_compiled;
	struct tu_entity_tmpl owner;
	struct tu_guard *guards;  /* owned, n_guards */
	size_t n_guards;
	struct tu_actions when_orphan; /* cascade: every action runs */
};

/* One value an equal rule compares. */
struct tu_equal_value {
	char *label;                  /* how the drift names it; default entity/attr */
	struct tu_entity_tmpl entity; /* found from the group entity */
	char *attr;
};

/*
 * equal: for each group entity (`kind` in `source`), the listed values (on it
 * or on entities found from it) must agree. The drift lists every value and
 * where it came from.
 */
struct tu_equal_rule {
	char *kind;
	char *source;
	struct tu_equal_value *values; /* owned, n_values >= 2 */
	size_t n_values;
	enum tu_compare cmp;
	struct tu_actions fix;         /* templates also see {value.<label>} */
};

/*
 * pod-status: pods (`kind` in `source`) that are zombies (a zombie reason, or
 * terminating past the grace) and pods whose image cannot be pulled (a pull
 * reason): the first get when_zombie, the second when_image_pull, which sees
 * {owner} and {last_ready_image}: the last image the owner ran while ready,
 * as the view's history recorded it.
 */
struct tu_pod_status_rule {
	char *kind;
	char *source;
	char *reason_attr;          /* default "reason" */
	char **zombie_reasons;      /* owned; default ContainerStatusUnknown */
	size_t n_zombie_reasons;
	char *terminating_attr;     /* RFC 3339 deletion time; default "deletion_timestamp" */
	int64_t terminating_grace;  /* default 5m */
	struct tu_actions when_zombie;
	char **pull_reasons;        /* owned; default ImagePullBackOff, ErrImagePull */
	size_t n_pull_reasons;
	struct tu_entity_tmpl owner; /* the owning workload (e.g. a deployment) */
	char *image_attr;           /* on the owner; default "image" */
	char *pod_image_attr;       /* on the pods; default "image": a failing pod whose image
				       is not its owner's is left over from another rollout */
	struct tu_attr_cond *ready; /* owned: all hold = the owner is ready with its image */
	size_t n_ready;
	struct tu_actions when_image_pull;
};

/*
 * heartbeat: an instance (`instance/<service>/<name>` of source "hb") that
 * stopped heartbeating without saying it leaves is stale. The drift resolves
 * when it heartbeats again, or `forget` after it went silent.
 */
struct tu_heartbeat_rule {
	char *service;        /* only this service (namespace); NULL: all */
	int64_t forget;       /* default 1h */
	struct tu_actions when_stale;
};

struct tu_rule_config {
	char *name;             /* subject token; unique among rules */
	enum tu_rule_type type;
	enum tu_rule_mode mode; /* default detect */
	int64_t for_ms;         /* violation must last this long; default 0s */
	int max_attempts;       /* fix attempts before escalation; default 3 */
	struct tu_actions on_escalate; /* run once when the drift escalates (e.g. an alert) */
	int budget_max;         /* destructive commands per budget_window; default 50; 0: no limit */
	int64_t budget_window;  /* default 10m; past the budget, commands wait for approval */
	int line;
	struct tu_presence_rule presence;     /* type presence */
	struct tu_counter_rule counter;       /* type counter */
	struct tu_spec_rule spec;             /* type spec */
	struct tu_count_rule count;           /* type count */
	struct tu_reference_rule reference;   /* type reference */
	struct tu_equal_rule equal;           /* type equal */
	struct tu_pod_status_rule pod_status; /* type pod-status */
	struct tu_heartbeat_rule heartbeat;   /* type heartbeat */
};

/* Listen addresses of the components' HTTP endpoints (docs/metrics.md); "" = off. */
struct tu_http_config {
	char *processor; /* default "127.0.0.1:9464" */
	char *producer;  /* default "127.0.0.1:9465" */
	char *actuator;  /* default "127.0.0.1:9466" */
};

struct tu_log_config {
	enum tu_log_level level;   /* default info */
	enum tu_log_format format; /* default json */
};

/*
 * processor.lease: high availability. Processors on one partition take a
 * lease in a JetStream KV bucket (compare-and-set on the revision; holder,
 * expiry and the holder's published bound in the value); the holder folds
 * and publishes, the others follow the stream into their own views without
 * publishing and take over when the lease lapses.
 */
struct tu_lease_config {
	bool enabled;        /* default false: a single processor, no lease */
	char *bucket;        /* KV bucket; default "trueup_leases" */
	char *partition;     /* this processor's partition (key processor.<partition>); default "0" */
	int64_t ttl;         /* a lease not renewed for this long lapses; default 10s */
	int64_t renew;       /* holder renews / standby looks this often; default 2s (<= ttl/2) */
};

struct tu_processor_config {
	char *view;              /* LMDB directory; default "/var/lib/trueup/view" */
	int64_t map_size;        /* default 1GiB */
	char *consumer;          /* durable name; default "trueup-processor" */
	int batch;               /* messages per fetch and per LMDB transaction; default 1024 */
	int64_t fetch_wait;      /* longest wait of one fetch; default 500ms */
	int64_t ack_wait;        /* consumer AckWait; default 30s */
	int max_ack_pending;     /* consumer MaxAckPending; default 8192 (>= 2 * batch) */
	int64_t tick;            /* Tick interval; default 1s; 0 disables ticks */
	enum tu_sync_mode sync;  /* default none */
	int64_t sync_interval;   /* mdb_env_sync period when sync is none/meta; default 5s */
	int outbox_inflight;     /* unacked outbox publishes at once; default 4096 */
	int64_t outbox_retry;    /* re-publish an unacked outbox entry after; default 5s */
	int64_t command_ttl;     /* command deadline = issued time + this; default 10m */
	int64_t shutdown_grace;  /* SIGTERM: longest wait to publish the outbox; default 10s */
	struct tu_actions on_suspect; /* run when a source's scan is held as suspect (alerts) */
	struct tu_lease_config lease; /* high availability; off by default */
};

struct tu_config {
	char *path;                          /* the file loaded */
	struct tu_nats_config nats;
	struct tu_streams_config streams;
	struct tu_processor_config processor;
	struct tu_source_config *sources;    /* owned, n_sources */
	size_t n_sources;
	struct tu_target_config *targets;    /* owned, n_targets */
	size_t n_targets;
	struct tu_rule_config *rules;        /* owned, n_rules */
	size_t n_rules;
	struct tu_log_config log;
	struct tu_http_config http;
};

/*
 * Loads and validates path. On failure returns TU_EINVAL (or TU_ENOTFOUND /
 * TU_EIO / TU_ETOOBIG for the file itself), writes "file:line:col: field: why"
 * to err, and *out is untouched.
 */
tu_status tu_config_load(const char *path, struct tu_config **out, char *err, size_t errlen);
/* The same from a string; `name` stands for the file name in messages. */
tu_status tu_config_load_string(const char *name, const char *yaml, size_t len,
				struct tu_config **out, char *err, size_t errlen);
void tu_config_destroy(struct tu_config *cfg);

/*
 * The host that nats.url names, the one a server certificate must carry when
 * nats.tls.hostname is not set: written to out. TU_EINVAL with why if a URL
 * holds a user, password or token (credentials belong in files) or names no
 * host; TU_ECONFLICT if the URLs of a list name different hosts; TU_ETOOBIG
 * if it does not fit.
 */
tu_status tu_nats_url_host(const char *url, char *out, size_t outlen, char *why, size_t whylen);

/* Lookups by name; NULL if none. */
const struct tu_source_config *tu_config_source(const struct tu_config *cfg, const char *name);
const struct tu_target_config *tu_config_target(const struct tu_config *cfg, const char *name);
const struct tu_rule_config *tu_config_rule(const struct tu_config *cfg, const char *name);

const char *tu_rule_type_str(enum tu_rule_type t);
/* The type names of the configuration file ("redis", "kubernetes", ...). */
const char *tu_source_type_str(enum tu_source_type t);
const char *tu_target_type_str(enum tu_target_type t);
/*
 * Does the action destroy something (delete, remove, stop, DEL...)? Such
 * commands count against their rule's budget. An http `request` is
 * destructive when its method is DELETE (or not a literal).
 */
bool tu_action_destructive(const struct tu_config *cfg, const struct tu_action_config *a);
/* The reserved name of the blast-radius drift: a source whose scan is held as suspect. */
#define TU_RULE_SOURCE_SUSPECT_NAME "source-suspect"
const char *tu_compare_str(enum tu_compare c);
const char *tu_rule_mode_str(enum tu_rule_mode m);

#endif
