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
	char *tls_hostname;      /* optional; expected server name if not the URL's host */
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
};

enum tu_source_type {
	TU_SOURCE_REDIS = 1,
	TU_SOURCE_FILES = 2,
	TU_SOURCE_HTTP = 3,
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
	int line;                /* line of the entry in the config file */
	struct tu_redis_source redis; /* type redis */
	struct tu_files_source files; /* type files */
	struct tu_http_source http;   /* type http */
};

enum tu_target_type {
	TU_TARGET_REDIS = 1,
	TU_TARGET_HTTP = 3,
};

struct tu_redis_target {
	char *url;            /* default redis://127.0.0.1:6379 */
	char *username;       /* optional ACL user */
	char *password_file;  /* optional */
	char *done_prefix;    /* key prefix of the executed-command markers; default "trueup:done:" */
	int64_t done_ttl;     /* lifetime of a marker; default 7d */
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
	int64_t timeout;      /* per call to the target; default 5s */
	int line;
	struct tu_redis_target redis; /* type redis */
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

struct tu_rule_config {
	char *name;             /* subject token; unique among rules */
	enum tu_rule_type type;
	enum tu_rule_mode mode; /* default detect */
	int64_t for_ms;         /* violation must last this long; default 0s */
	int max_attempts;       /* fix attempts before escalation; default 3 */
	int line;
	struct tu_presence_rule presence; /* type presence */
	struct tu_counter_rule counter;   /* type counter */
};

struct tu_log_config {
	enum tu_log_level level;   /* default info */
	enum tu_log_format format; /* default json */
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

/* Lookups by name; NULL if none. */
const struct tu_source_config *tu_config_source(const struct tu_config *cfg, const char *name);
const struct tu_target_config *tu_config_target(const struct tu_config *cfg, const char *name);
const struct tu_rule_config *tu_config_rule(const struct tu_config *cfg, const char *name);

const char *tu_rule_type_str(enum tu_rule_type t);
const char *tu_rule_mode_str(enum tu_rule_mode m);

#endif
