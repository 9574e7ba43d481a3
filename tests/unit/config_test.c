/*
 * config_test.c - tests of lib/config.c: a full config read back field by
 * field, the defaults of a minimal one, relative path resolution, and error
 * messages (exact "file:line:col: path:" prefix and a key phrase each).
 */
#include "testmain.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "config.h"
#include "configtest.h"

/* Durations in ms, as the config stores them. */
#define S(n) ((int64_t)(n) * 1000)
#define M(n) (S(n) * 60)
#define D(n) (M(n) * 60 * 24)

static const char full_yaml[] =
	"nats:\n"
	"  url: nats://10.0.0.1:4222,nats://10.0.0.2:4222\n"
	"  user: trueup-processor\n"
	"  password_file: /etc/trueup/nats.pass\n"
	"  creds: /etc/trueup/processor.creds\n"
	"  tls: { ca: /etc/ca.pem, cert: /etc/c.pem, key: /etc/k.pem, hostname: nats.internal }\n"
	"  connect_timeout: 3s\n"
	"  request_timeout: 7s\n"
	"  max_reconnect: 12\n"
	"  reconnect_wait: 250ms\n"
	"streams:\n"
	"  events: { max_age: 20d, max_bytes: 10GiB, max_msgs: 1000000, duplicates: 5m,"
	" replicas: 3, max_msg_size: 512KiB }\n"
	"  drift: { max_age: 40d }\n"
	"  cmd: { max_age: 1d, duplicates: 1h }\n"
	"  dead: { max_age: 0, max_bytes: 1GB }\n"
	"processor:\n"
	"  view: /srv/view\n"
	"  map_size: 2GiB\n"
	"  consumer: proc-1\n"
	"  batch: 512\n"
	"  fetch_wait: 250ms\n"
	"  ack_wait: 1m\n"
	"  max_ack_pending: 2048\n"
	"  tick: 0\n"
	"  sync: meta\n"
	"  sync_interval: 10s\n"
	"  outbox_inflight: 100\n"
	"  outbox_retry: 3s\n"
	"  command_ttl: 1h30m\n"
	"log: { level: debug, format: text }\n"
	"sources:\n"
	"  - name: redis\n"
	"    type: redis\n"
	"    url: redis://127.0.0.1:6380/2\n"
	"    username: trueup-ro\n"
	"    password_file: /etc/redis.pass\n"
	"    interval: 15s\n"
	"    timeout: 2s\n"
	"    full_every: 4\n"
	"    publish_timeout: 20s\n"
	"    publish_retries: 0\n"
	"    scan_count: 100\n"
	"    pipeline: 64\n"
	"    observe:\n"
	"      - kind: worker\n"
	"        namespace: pool-a\n"
	"        scan: \"autoscaler:workers:k3s-worker-*\"\n"
	"        read: hash\n"
	"        name: \"{key|afterlast::}\"\n"
	"        attrs: { status: \"{field.status}\", ip: \"{field.ip}\" }\n"
	"      - kind: counter\n"
	"        get: \"autoscaler:workers:next_number\"\n"
	"        name: workers\n"
	"  - name: declared\n"
	"    type: files\n"
	"    path: /etc/trueup/declared\n"
	"    kinds: [worker, database]\n"
	"    namespace: prod\n"
	"    interval: 10s\n"
	"targets:\n"
	"  - name: redis\n"
	"    type: redis\n"
	"    url: redis://10.0.0.9:6379\n"
	"    username: trueup-rw\n"
	"    password_file: /etc/redis-rw.pass\n"
	"    done_prefix: \"done:\"\n"
	"    done_ttl: 2d\n"
	"    consumer: act-redis\n"
	"    batch: 8\n"
	"    fetch_wait: 2s\n"
	"    ack_wait: 45s\n"
	"    max_deliver: 9\n"
	"    timeout: 3s\n"
	"  - { name: cache, type: redis }\n"
	"rules:\n"
	"  - name: ghost-worker\n"
	"    type: presence\n"
	"    kind: worker\n"
	"    sources: [declared, redis]\n"
	"    authority: declared\n"
	"    for: 30s\n"
	"    mode: enforce\n"
	"    max_attempts: 7\n"
	"    when_extra:\n"
	"      redis:\n"
	"        - target: redis\n"
	"          action: del\n"
	"          key: \"autoscaler:workers:{name}\"\n"
	"          if:\n"
	"            - field_equals: { status: \"{redis.status}\" }\n"
	"            - { exists: true, key: \"other:{name}\" }\n"
	"    when_missing:\n"
	"      redis:\n"
	"        - { target: redis, action: hset, key: \"autoscaler:workers:{name}\","
	" fields: { status: ready, ip: \"{declared.ip}\" }, expect_absent: true }\n"
	"  - name: worker-counter\n"
	"    type: counter\n"
	"    counter: { kind: counter, name: workers, namespace: ns1, source: redis, attr: n }\n"
	"    of: { kind: worker, source: declared, suffix: \"-w([0-9]+)$\" }\n"
	"    offset: 2\n"
	"    mode: propose\n"
	"    fix:\n"
	"      - { target: cache, action: set, key: \"autoscaler:workers:next_number\","
	" value: \"{desired}\", expect: \"{current}\" }\n";

static void full_config(void **state)
{
	struct tu_config *cfg = NULL;
	char err[1024];
	tu_status st = load(full_yaml, &cfg, err, sizeof(err));

	if (st != TU_OK)
		print_error("%s\n", err);
	assert_int_equal(st, TU_OK);
	assert_string_equal(cfg->path, "t.yaml");

	const struct tu_nats_config *n = &cfg->nats;
	assert_string_equal(n->url, "nats://10.0.0.1:4222,nats://10.0.0.2:4222");
	assert_string_equal(n->user, "trueup-processor");
	assert_string_equal(n->password_file, "/etc/trueup/nats.pass");
	assert_string_equal(n->creds_file, "/etc/trueup/processor.creds");
	assert_string_equal(n->tls_ca, "/etc/ca.pem");
	assert_string_equal(n->tls_cert, "/etc/c.pem");
	assert_string_equal(n->tls_key, "/etc/k.pem");
	assert_string_equal(n->tls_hostname, "nats.internal");
	assert_int_equal(n->connect_timeout, S(3));
	assert_int_equal(n->request_timeout, S(7));
	assert_int_equal(n->max_reconnect, 12);
	assert_int_equal(n->reconnect_wait, 250);

	const struct tu_streams_config *ss = &cfg->streams;
	assert_string_equal(ss->events.name, "TRUEUP_EVENTS");
	assert_int_equal(ss->events.max_age, D(20));
	assert_int_equal(ss->events.max_bytes, INT64_C(10) << 30);
	assert_int_equal(ss->events.max_msgs, 1000000);
	assert_int_equal(ss->events.duplicates, M(5));
	assert_int_equal(ss->events.replicas, 3);
	assert_int_equal(ss->events.max_msg_size, 512 * 1024);
	assert_string_equal(ss->drift.name, "TRUEUP_DRIFT");
	assert_int_equal(ss->drift.max_age, D(40));
	assert_int_equal(ss->drift.duplicates, M(10));
	assert_string_equal(ss->cmd.name, "TRUEUP_CMD");
	assert_int_equal(ss->cmd.max_age, D(1));
	assert_int_equal(ss->cmd.duplicates, M(60));
	assert_string_equal(ss->dead.name, "TRUEUP_DEAD");
	assert_int_equal(ss->dead.max_age, 0);
	assert_int_equal(ss->dead.max_bytes, 1000000000);
	assert_int_equal(ss->dead.max_msgs, -1);

	const struct tu_processor_config *p = &cfg->processor;
	assert_string_equal(p->view, "/srv/view");
	assert_int_equal(p->map_size, INT64_C(2) << 30);
	assert_string_equal(p->consumer, "proc-1");
	assert_int_equal(p->batch, 512);
	assert_int_equal(p->fetch_wait, 250);
	assert_int_equal(p->ack_wait, M(1));
	assert_int_equal(p->max_ack_pending, 2048);
	assert_int_equal(p->tick, 0);
	assert_int_equal(p->sync, TU_SYNC_META);
	assert_int_equal(p->sync_interval, S(10));
	assert_int_equal(p->outbox_inflight, 100);
	assert_int_equal(p->outbox_retry, S(3));
	assert_int_equal(p->command_ttl, M(90));
	assert_int_equal(cfg->log.level, TU_LOG_DEBUG);
	assert_int_equal(cfg->log.format, TU_LOG_TEXT);

	assert_int_equal(cfg->n_sources, 2);
	const struct tu_source_config *rs = tu_config_source(cfg, "redis");
	assert_ptr_equal(rs, &cfg->sources[0]);
	assert_int_equal(rs->type, TU_SOURCE_REDIS);
	assert_int_equal(rs->line, 32);
	assert_string_equal(rs->redis.url, "redis://127.0.0.1:6380/2");
	assert_string_equal(rs->redis.username, "trueup-ro");
	assert_string_equal(rs->redis.password_file, "/etc/redis.pass");
	assert_int_equal(rs->interval, S(15));
	assert_int_equal(rs->timeout, S(2));
	assert_int_equal(rs->full_every, 4);
	assert_int_equal(rs->publish_timeout, S(20));
	assert_int_equal(rs->publish_retries, 0);
	assert_int_equal(rs->redis.scan_count, 100);
	assert_int_equal(rs->redis.pipeline, 64);
	assert_int_equal(rs->redis.n_observe, 2);
	const struct tu_redis_observe *o = &rs->redis.observe[0];
	assert_string_equal(o->kind, "worker");
	assert_string_equal(o->ns, "pool-a");
	assert_string_equal(o->scan, "autoscaler:workers:k3s-worker-*");
	assert_null(o->get);
	assert_int_equal(o->read, TU_REDIS_READ_HASH);
	assert_string_equal(o->name, "{key|afterlast::}");
	assert_int_equal(o->attrs.n, 2);
	assert_string_equal(o->attrs.items[0].key, "status"); /* file order */
	assert_string_equal(o->attrs.items[1].key, "ip");
	assert_string_equal(tu_kvlist_get(&o->attrs, "ip"), "{field.ip}");
	o = &rs->redis.observe[1];
	assert_string_equal(o->kind, "counter");
	assert_string_equal(o->ns, "default");
	assert_null(o->scan);
	assert_string_equal(o->get, "autoscaler:workers:next_number");
	assert_int_equal(o->read, TU_REDIS_READ_AUTO);
	assert_string_equal(o->name, "workers");
	assert_int_equal(o->attrs.n, 0);

	const struct tu_source_config *fs = tu_config_source(cfg, "declared");
	assert_non_null(fs);
	assert_int_equal(fs->type, TU_SOURCE_FILES);
	assert_int_equal(fs->line, 54);
	assert_string_equal(fs->files.path, "/etc/trueup/declared");
	assert_int_equal(fs->files.n_kinds, 2);
	assert_string_equal(fs->files.kinds[0], "worker");
	assert_string_equal(fs->files.kinds[1], "database");
	assert_string_equal(fs->files.default_ns, "prod");
	assert_int_equal(fs->interval, S(10));
	assert_int_equal(fs->timeout, S(5));

	assert_int_equal(cfg->n_targets, 2);
	const struct tu_target_config *t = tu_config_target(cfg, "redis");
	assert_non_null(t);
	assert_int_equal(t->type, TU_TARGET_REDIS);
	assert_int_equal(t->line, 61);
	assert_string_equal(t->redis.url, "redis://10.0.0.9:6379");
	assert_string_equal(t->redis.username, "trueup-rw");
	assert_string_equal(t->redis.password_file, "/etc/redis-rw.pass");
	assert_string_equal(t->redis.done_prefix, "done:");
	assert_int_equal(t->redis.done_ttl, D(2));
	assert_string_equal(t->consumer, "act-redis");
	assert_int_equal(t->batch, 8);
	assert_int_equal(t->fetch_wait, S(2));
	assert_int_equal(t->ack_wait, S(45));
	assert_int_equal(t->max_deliver, 9);
	assert_int_equal(t->timeout, S(3));
	t = tu_config_target(cfg, "cache");
	assert_non_null(t);
	assert_string_equal(t->consumer, "trueup-actuator-cache");

	assert_int_equal(cfg->n_rules, 2);
	const struct tu_rule_config *r = tu_config_rule(cfg, "ghost-worker");
	assert_non_null(r);
	assert_int_equal(r->type, TU_RULE_PRESENCE);
	assert_int_equal(r->line, 76);
	assert_int_equal(r->mode, TU_MODE_ENFORCE);
	assert_int_equal(r->for_ms, S(30));
	assert_int_equal(r->max_attempts, 7);
	const struct tu_presence_rule *pr = &r->presence;
	assert_string_equal(pr->kind, "worker");
	assert_int_equal(pr->n_sources, 2);
	assert_string_equal(pr->sources[0], "declared");
	assert_string_equal(pr->sources[1], "redis");
	assert_int_equal(pr->n_authority, 1);
	assert_string_equal(pr->authority[0], "declared");
	assert_int_equal(pr->n_extra, 1);
	assert_string_equal(pr->when_extra[0].source, "redis");
	assert_int_equal(pr->when_extra[0].actions.n, 1);
	const struct tu_action_config *a = &pr->when_extra[0].actions.items[0];
	assert_string_equal(a->target, "redis");
	assert_string_equal(a->action, "del");
	assert_int_equal(a->line, 86);
	assert_int_equal(a->params.n, 1);
	assert_string_equal(tu_kvlist_get(&a->params, "key"), "autoscaler:workers:{name}");
	assert_int_equal(a->n_pre, 2);
	assert_int_equal(a->pre[0].op, TU_PRE_FIELD_EQUALS);
	assert_null(a->pre[0].key);
	assert_string_equal(a->pre[0].field, "status");
	assert_string_equal(a->pre[0].value, "{redis.status}");
	assert_int_equal(a->pre[1].op, TU_PRE_EXISTS);
	assert_string_equal(a->pre[1].key, "other:{name}");
	assert_null(a->pre[1].value);
	assert_int_equal(pr->n_missing, 1);
	assert_string_equal(pr->when_missing[0].source, "redis");
	a = &pr->when_missing[0].actions.items[0];
	assert_string_equal(a->action, "hset");
	assert_int_equal(a->params.n, 3); /* sorted by name */
	assert_string_equal(a->params.items[0].key, "field.ip");
	assert_string_equal(a->params.items[0].value, "{declared.ip}");
	assert_string_equal(a->params.items[1].key, "field.status");
	assert_string_equal(a->params.items[1].value, "ready");
	assert_string_equal(a->params.items[2].key, "key");
	assert_int_equal(a->n_pre, 1);
	assert_int_equal(a->pre[0].op, TU_PRE_ABSENT);
	assert_null(a->pre[0].key);

	r = tu_config_rule(cfg, "worker-counter");
	assert_non_null(r);
	assert_int_equal(r->type, TU_RULE_COUNTER);
	assert_int_equal(r->mode, TU_MODE_PROPOSE);
	assert_int_equal(r->for_ms, 0);
	assert_int_equal(r->max_attempts, 3);
	const struct tu_counter_rule *cr = &r->counter;
	assert_string_equal(cr->kind, "counter");
	assert_string_equal(cr->name, "workers");
	assert_string_equal(cr->ns, "ns1");
	assert_string_equal(cr->source, "redis");
	assert_string_equal(cr->attr, "n");
	assert_string_equal(cr->of_kind, "worker");
	assert_string_equal(cr->of_source, "declared");
	assert_string_equal(cr->suffix, "-w([0-9]+)$");
	assert_true(cr->suffix_compiled);
	regmatch_t m[2];
	assert_int_equal(regexec(&cr->suffix_re, "k3s-w12", 2, m, 0), 0);
	assert_int_equal(m[1].rm_so, 5);
	assert_int_equal(cr->offset, 2);
	assert_int_equal(cr->fix.n, 1);
	a = &cr->fix.items[0];
	assert_string_equal(a->target, "cache");
	assert_string_equal(a->params.items[0].key, "key");
	assert_string_equal(a->params.items[1].key, "value");
	assert_string_equal(a->params.items[1].value, "{desired}");
	assert_int_equal(a->n_pre, 1);
	assert_int_equal(a->pre[0].op, TU_PRE_EQUALS);
	assert_string_equal(a->pre[0].value, "{current}");

	assert_null(tu_config_source(cfg, "nope"));
	assert_null(tu_config_target(cfg, "nope"));
	assert_null(tu_config_rule(cfg, "nope"));
	tu_config_destroy(cfg);
}

static void minimal_defaults(void **state)
{
	struct tu_config *cfg = NULL;
	char err[1024];

	assert_int_equal(load("", &cfg, err, sizeof(err)), TU_OK);
	assert_string_equal(cfg->nats.url, "nats://127.0.0.1:4222");
	assert_null(cfg->nats.user);
	assert_null(cfg->nats.password_file);
	assert_null(cfg->nats.creds_file);
	assert_null(cfg->nats.tls_ca);
	assert_null(cfg->nats.tls_cert);
	assert_null(cfg->nats.tls_key);
	assert_null(cfg->nats.tls_hostname);
	assert_int_equal(cfg->nats.connect_timeout, S(2));
	assert_int_equal(cfg->nats.request_timeout, S(5));
	assert_int_equal(cfg->nats.max_reconnect, -1);
	assert_int_equal(cfg->nats.reconnect_wait, S(1));
	const struct tu_stream_config *streams[] = { &cfg->streams.events, &cfg->streams.drift,
						     &cfg->streams.cmd, &cfg->streams.dead };
	const char *names[] = { "TRUEUP_EVENTS", "TRUEUP_DRIFT", "TRUEUP_CMD", "TRUEUP_DEAD" };
	const int64_t ages[] = { D(30), D(30), D(7), D(30) };
	for (int i = 0; i < 4; i++) {
		assert_string_equal(streams[i]->name, names[i]);
		assert_int_equal(streams[i]->max_age, ages[i]);
		assert_int_equal(streams[i]->max_bytes, -1);
		assert_int_equal(streams[i]->max_msgs, -1);
		assert_int_equal(streams[i]->duplicates, M(10));
		assert_int_equal(streams[i]->replicas, 1);
		assert_int_equal(streams[i]->max_msg_size, 1024 * 1024);
	}
	const struct tu_processor_config *p = &cfg->processor;
	assert_string_equal(p->view, "/var/lib/trueup/view");
	assert_int_equal(p->map_size, INT64_C(1) << 30);
	assert_string_equal(p->consumer, "trueup-processor");
	assert_int_equal(p->batch, 1024);
	assert_int_equal(p->fetch_wait, 500);
	assert_int_equal(p->ack_wait, S(30));
	assert_int_equal(p->max_ack_pending, 8192);
	assert_int_equal(p->tick, S(1));
	assert_int_equal(p->sync, TU_SYNC_NONE);
	assert_int_equal(p->sync_interval, S(5));
	assert_int_equal(p->outbox_inflight, 4096);
	assert_int_equal(p->outbox_retry, S(5));
	assert_int_equal(p->command_ttl, M(10));
	assert_int_equal(cfg->log.level, TU_LOG_INFO);
	assert_int_equal(cfg->log.format, TU_LOG_JSON);
	assert_int_equal(cfg->n_sources, 0);
	assert_int_equal(cfg->n_targets, 0);
	assert_int_equal(cfg->n_rules, 0);
	tu_config_destroy(cfg);
}

static void minimal_entries_defaults(void **state)
{
	struct tu_config *cfg = NULL;
	char err[1024];
	const char *yaml = "sources:\n"
			   "  - { name: r, type: redis, observe: [{ kind: k, scan: \"x*\" }] }\n"
			   "  - { name: f, type: files, path: /d }\n"
			   "targets: [{ name: t, type: redis }]\n"
			   "rules:\n"
			   "  - { name: p, type: presence, kind: k, sources: [r, f] }\n"
			   "  - name: c\n"
			   "    type: counter\n"
			   "    counter: { kind: k, name: n, source: r }\n"
			   "    of: { kind: k, source: f }\n";
	tu_status st = load(yaml, &cfg, err, sizeof(err));

	if (st != TU_OK)
		print_error("%s\n", err);
	assert_int_equal(st, TU_OK);
	const struct tu_source_config *s = &cfg->sources[0];
	assert_int_equal(s->interval, S(30));
	assert_int_equal(s->timeout, S(5));
	assert_int_equal(s->full_every, 10);
	assert_int_equal(s->publish_timeout, S(10));
	assert_int_equal(s->publish_retries, 5);
	assert_string_equal(s->redis.url, "redis://127.0.0.1:6379");
	assert_null(s->redis.username);
	assert_null(s->redis.password_file);
	assert_int_equal(s->redis.scan_count, 500);
	assert_int_equal(s->redis.pipeline, 256);
	assert_string_equal(s->redis.observe[0].ns, "default");
	assert_string_equal(s->redis.observe[0].name, "{key}");
	assert_int_equal(s->redis.observe[0].read, TU_REDIS_READ_AUTO);
	s = &cfg->sources[1];
	assert_int_equal(s->files.n_kinds, 0);
	assert_string_equal(s->files.default_ns, "default");
	const struct tu_target_config *t = &cfg->targets[0];
	assert_string_equal(t->consumer, "trueup-actuator-t");
	assert_int_equal(t->batch, 16);
	assert_int_equal(t->fetch_wait, S(1));
	assert_int_equal(t->ack_wait, S(30));
	assert_int_equal(t->max_deliver, 5);
	assert_int_equal(t->timeout, S(5));
	assert_string_equal(t->redis.url, "redis://127.0.0.1:6379");
	assert_string_equal(t->redis.done_prefix, "trueup:done:");
	assert_int_equal(t->redis.done_ttl, D(7));
	const struct tu_rule_config *r = &cfg->rules[0];
	assert_int_equal(r->mode, TU_MODE_DETECT);
	assert_int_equal(r->for_ms, 0);
	assert_int_equal(r->max_attempts, 3);
	assert_int_equal(r->presence.n_authority, 1);
	assert_string_equal(r->presence.authority[0], "r");
	assert_int_equal(r->presence.n_extra, 0);
	assert_int_equal(r->presence.n_missing, 0);
	r = &cfg->rules[1];
	assert_string_equal(r->counter.ns, "default");
	assert_string_equal(r->counter.attr, "value");
	assert_string_equal(r->counter.suffix, "-([0-9]+)$");
	assert_true(r->counter.suffix_compiled);
	assert_int_equal(r->counter.offset, 1);
	assert_int_equal(r->counter.fix.n, 0);
	tu_config_destroy(cfg);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void relative_paths(void **state)
{
	char tmpl[] = "/tmp/tu_config_test.XXXXXX";
	char *dir = mkdtemp(tmpl);
	char path[PATH_MAX], want[PATH_MAX], cwd[PATH_MAX], err[1024];
	struct tu_config *cfg = NULL;
	const char *yaml = "nats:\n"
			   "  user: u\n"
			   "  password_file: nats.pass\n"
			   "  creds: ../up.creds\n"
			   "  tls: { ca: ./certs/ca.pem, cert: /abs/c.pem, key: k.pem }\n"
			   "processor: { view: ./view }\n"
			   "sources:\n"
			   "  - { name: d, type: files, path: ./declared }\n"
			   "  - { name: r, type: redis, password_file: r.pass,"
			   " observe: [{ kind: k, get: x }] }\n"
			   "targets: [{ name: t, type: redis, password_file: .//t.pass }]\n";

	assert_non_null(dir);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(path, sizeof(path), "%s/trueup.yaml", dir);
	write_file(path, yaml);

	assert_int_equal(tu_config_load(path, &cfg, err, sizeof(err)), TU_OK);
	assert_string_equal(cfg->path, path);
	snprintf(want, sizeof(want), "%s/nats.pass", dir);
	assert_string_equal(cfg->nats.password_file, want);
	snprintf(want, sizeof(want), "%s/../up.creds", dir);
	assert_string_equal(cfg->nats.creds_file, want);
	snprintf(want, sizeof(want), "%s/certs/ca.pem", dir);
	assert_string_equal(cfg->nats.tls_ca, want);
	assert_string_equal(cfg->nats.tls_cert, "/abs/c.pem");
	snprintf(want, sizeof(want), "%s/k.pem", dir);
	assert_string_equal(cfg->nats.tls_key, want);
	snprintf(want, sizeof(want), "%s/view", dir);
	assert_string_equal(cfg->processor.view, want);
	snprintf(want, sizeof(want), "%s/declared", dir);
	assert_string_equal(cfg->sources[0].files.path, want);
	snprintf(want, sizeof(want), "%s/r.pass", dir);
	assert_string_equal(cfg->sources[1].redis.password_file, want);
	snprintf(want, sizeof(want), "%s/t.pass", dir);
	assert_string_equal(cfg->targets[0].redis.password_file, want);
	tu_config_destroy(cfg);

	/* A relative config path: against the current directory, made absolute. */
	assert_int_equal(chdir("/tmp"), 0);
	assert_int_equal(tu_config_load(path + strlen("/tmp/"), &cfg, err, sizeof(err)), TU_OK);
	snprintf(want, sizeof(want), "%s/view", dir);
	assert_string_equal(cfg->processor.view, want);
	tu_config_destroy(cfg);

	/* From a string: against the current directory. */
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(load("processor: { view: v }\n", &cfg, err, sizeof(err)), TU_OK);
	snprintf(want, sizeof(want), "%s/v", dir);
	assert_string_equal(cfg->processor.view, want);
	tu_config_destroy(cfg);

	assert_int_equal(chdir(cwd), 0);
	unlink(path);
	rmdir(dir);
}

static void params_sorted_and_preconds(void **state)
{
	struct tu_config *cfg = NULL;
	char err[1024];
	const char *yaml = "targets: [{ name: t, type: redis }]\n"
			   "sources:\n"
			   "  - { name: a, type: files, path: /a }\n"
			   "  - { name: b, type: files, path: /b }\n"
			   "rules:\n"
			   "  - name: r\n"
			   "    type: presence\n"
			   "    kind: k\n"
			   "    sources: [a, b]\n"
			   "    authority: [b, a]\n"
			   "    when_extra:\n"
			   "      b:\n"
			   "        - target: t\n"
			   "          action: hset\n"
			   "          fields: { zeta: z, alpha: a }\n"
			   "          key: \"k:{name}\"\n"
			   "          expect: \"{b.v}\"\n"
			   "          if: [{ equals: x, key: other }, { absent: true }]\n"
			   "        - { target: t, action: hdel, key: k, field: f }\n"
			   "        - { target: t, action: srem, member: m, key: k }\n";
	tu_status st = load(yaml, &cfg, err, sizeof(err));

	if (st != TU_OK)
		print_error("%s\n", err);
	assert_int_equal(st, TU_OK);
	const struct tu_presence_rule *p = &cfg->rules[0].presence;
	assert_int_equal(p->n_authority, 2);
	assert_string_equal(p->authority[0], "b");
	assert_string_equal(p->authority[1], "a");
	const struct tu_action_config *a = &p->when_extra[0].actions.items[0];
	assert_int_equal(a->params.n, 3);
	assert_string_equal(a->params.items[0].key, "field.alpha");
	assert_string_equal(a->params.items[1].key, "field.zeta");
	assert_string_equal(a->params.items[2].key, "key");
	/* Preconditions in file order: expect first, then the if list. */
	assert_int_equal(a->n_pre, 3);
	assert_int_equal(a->pre[0].op, TU_PRE_EQUALS);
	assert_null(a->pre[0].key);
	assert_string_equal(a->pre[0].value, "{b.v}");
	assert_int_equal(a->pre[1].op, TU_PRE_EQUALS);
	assert_string_equal(a->pre[1].key, "other");
	assert_string_equal(a->pre[1].value, "x");
	assert_int_equal(a->pre[2].op, TU_PRE_ABSENT);
	a = &p->when_extra[0].actions.items[2];
	assert_string_equal(a->params.items[0].key, "key");
	assert_string_equal(a->params.items[1].key, "member");
	tu_config_destroy(cfg);
}

static void lookups_and_names(void **state)
{
	struct tu_kvlist empty = { 0 };

	assert_string_equal(tu_rule_type_str(TU_RULE_PRESENCE), "presence");
	assert_string_equal(tu_rule_type_str(TU_RULE_COUNTER), "counter");
	assert_string_equal(tu_rule_mode_str(TU_MODE_DETECT), "detect");
	assert_string_equal(tu_rule_mode_str(TU_MODE_DRY_RUN), "dry-run");
	assert_string_equal(tu_rule_mode_str(TU_MODE_PROPOSE), "propose");
	assert_string_equal(tu_rule_mode_str(TU_MODE_ENFORCE), "enforce");
	assert_non_null(tu_rule_mode_str((enum tu_rule_mode)99));
	assert_string_equal(tu_source_type_str(TU_SOURCE_KUBE), "kubernetes");
	assert_string_equal(tu_source_type_str(TU_SOURCE_HTTP), "http");
	assert_string_equal(tu_target_type_str(TU_TARGET_MONGODB), "mongodb");
	assert_string_equal(tu_target_type_str((enum tu_target_type)99), "unknown");
	assert_null(tu_kvlist_get(&empty, "key"));
	assert_null(tu_kvlist_get(NULL, "key"));
	tu_config_destroy(NULL);
}

/* --- errors ---------------------------------------------------------------- */

/* Valid sources (a: redis, b: files) and a target t; rules start on line 7. */
#define BASE                                                                       \
	"sources:\n"                                                               \
	"  - { name: a, type: redis, observe: [{ kind: k, scan: \"k:*\" }] }\n"    \
	"  - { name: b, type: files, path: /b }\n"                                 \
	"targets:\n"                                                               \
	"  - { name: t, type: redis }\n"                                           \
	"rules:\n"

/* BASE and a counter rule whose fix list starts on line 12. */
#define FIX                                                                        \
	BASE "  - name: r\n"                                                        \
	     "    type: counter\n"                                                  \
	     "    counter: { kind: k, name: n, source: a }\n"                       \
	     "    of: { kind: k, source: b }\n"                                     \
	     "    fix:\n"

static void err_bad_duration(void **state)
{
	expect_error(BASE "  - name: r\n"
			  "    type: presence\n"
			  "    kind: k\n"
			  "    sources: [a, b]\n"
			  "    for: soon\n",
		     "t.yaml:11:10: rules[0].for: ", "invalid duration \"soon\" (e.g. 30s");
	/*
	 * Found with fuzz_config: durations up to int64 milliseconds loaded, and
	 * a deadline (now + duration, in nanoseconds) then overflowed.
	 */
	expect_error(BASE "  - name: r\n"
			  "    type: presence\n"
			  "    kind: k\n"
			  "    sources: [a, b]\n"
			  "    for: 36500d1ms\n",
		     "t.yaml:11:10: rules[0].for: ", "is too large (at most 876000h)");
	expect_error("processor: { command_ttl: 106751991167d }\n",
		     "t.yaml:1:27: processor.command_ttl: ", "is too large");
	struct tu_config *cfg = NULL;
	char err[512];
	assert_int_equal(load("processor: { command_ttl: 36500d }\n", &cfg, err, sizeof(err)), TU_OK);
	assert_int_equal(cfg->processor.command_ttl, TU_MAX_DURATION_MS);
	tu_config_destroy(cfg);
}

static void http_listen_addresses(void **state)
{
	(void)state;
	struct tu_config *cfg = NULL;
	char err[512];
	assert_int_equal(load("log: { level: info }\n", &cfg, err, sizeof(err)), TU_OK);
	assert_string_equal(cfg->http.processor, "127.0.0.1:9464");
	assert_string_equal(cfg->http.producer, "127.0.0.1:9465");
	assert_string_equal(cfg->http.actuator, "127.0.0.1:9466");
	tu_config_destroy(cfg);
	assert_int_equal(load("http: { processor: \"0.0.0.0:8080\", actuator: \"\" }\n", &cfg, err,
			      sizeof(err)),
			 TU_OK);
	assert_string_equal(cfg->http.processor, "0.0.0.0:8080");
	assert_string_equal(cfg->http.actuator, "");
	tu_config_destroy(cfg);
	expect_error("http: { producer: nowhere }\n", "t.yaml:1:19: http.producer: ",
		     "is not host:port");
}

/* processor.lease: defaults, bounds, names, and the duplicate windows it needs. */
static void processor_lease(void **state)
{
	(void)state;
	struct tu_config *cfg = NULL;
	char err[512];
	assert_int_equal(load("processor: {}\n", &cfg, err, sizeof(err)), TU_OK);
	assert_false(cfg->processor.lease.enabled);
	assert_string_equal(cfg->processor.lease.bucket, "trueup_leases");
	assert_string_equal(cfg->processor.lease.partition, "0");
	assert_int_equal(cfg->processor.lease.ttl, 10000);
	assert_int_equal(cfg->processor.lease.renew, 2000);
	tu_config_destroy(cfg);
	assert_int_equal(load("processor:\n  lease: { enabled: true, bucket: ha-1, partition: eu_1, "
			      "ttl: 4s, renew: 1s }\n",
			      &cfg, err, sizeof(err)),
			 TU_OK);
	assert_true(cfg->processor.lease.enabled);
	assert_string_equal(cfg->processor.lease.bucket, "ha-1");
	assert_string_equal(cfg->processor.lease.partition, "eu_1");
	assert_int_equal(cfg->processor.lease.ttl, 4000);
	tu_config_destroy(cfg);
	expect_error("processor:\n  lease: { ttl: 2s, renew: 1500ms }\n",
		     "t.yaml:2:10: processor.lease: ", "must be at most half the ttl");
	expect_error("processor:\n  lease: { bucket: a.b }\n", "t.yaml:2:10: processor.lease: ",
		     "bucket \"a.b\": letters, digits");
	expect_error("processor:\n  lease: { partition: \"x>\" }\n",
		     "t.yaml:2:10: processor.lease: ", "partition \"x>\"");
	/* Off, a long ttl is fine; on, the drift and cmd duplicate windows must cover it. */
	assert_int_equal(load("streams: { cmd: { duplicates: 1m } }\n"
			      "processor: { lease: { ttl: 40s, renew: 5s } }\n",
			      &cfg, err, sizeof(err)),
			 TU_OK);
	tu_config_destroy(cfg);
	expect_error("streams: { cmd: { duplicates: 1m } }\n"
		     "processor: { lease: { enabled: true, ttl: 40s, renew: 5s } }\n",
		     "t.yaml:2:21: processor.lease: ", "duplicate window of stream TRUEUP_CMD");
}

static void err_bad_size(void **state)
{
	expect_error("streams:\n  events:\n    max_bytes: 10XB\n",
		     "t.yaml:3:16: streams.events.max_bytes: ", "invalid size \"10XB\"");
}

static void err_unknown_field(void **state)
{
	expect_error("nats:\n  tls:\n    cafile: ca.pem\n",
		     "t.yaml:3:5: nats.tls: ",
		     "unknown field \"cafile\" (known: ca, cert, key, hostname)");
}

static void err_unknown_top_level(void **state)
{
	expect_error("natz: {}\n", "t.yaml:1:1: ", "unknown field \"natz\" (known: nats,");
}

static void err_wrong_node_type(void **state)
{
	expect_error("sources:\n  name: a\n", "t.yaml:2:3: sources: ",
		     "expected a list, got a mapping");
	expect_error("nats: [a]\n", "t.yaml:1:7: nats: ", "expected a mapping, got a list");
	expect_error("nats: { url: [a] }\n", "t.yaml:1:14: nats.url: ",
		     "expected a string, got a list");
}

static void err_duplicate_name(void **state)
{
	expect_error("targets:\n  - { name: t, type: redis }\n  - { name: t, type: redis }\n",
		     "t.yaml:3:13: targets[1].name: ",
		     "duplicate target name \"t\" (first at line 2)");
}

static void err_duplicate_key(void **state)
{
	expect_error("processor:\n  batch: 1\n  tick: 1s\n  batch: 2\n",
		     "t.yaml:4:3: processor: ", "duplicate key \"batch\" (first at line 2)");
}

static void err_unknown_source_in_rule(void **state)
{
	expect_error(BASE "  - { name: r, type: presence, kind: k, sources: [a, c] }\n",
		     "t.yaml:7:54: rules[0].sources[1]: ",
		     "unknown source \"c\" (configured: a, b)");
}

static void err_counter_unknown_source(void **state)
{
	expect_error(BASE "  - name: r\n"
			  "    type: counter\n"
			  "    counter: { kind: k, name: n, source: a }\n"
			  "    of: { kind: k, source: zz }\n",
		     "t.yaml:10:28: rules[0].of.source: ", "unknown source \"zz\"");
}

static void err_authority_not_in_sources(void **state)
{
	expect_error(BASE "  - name: r\n"
			  "    type: presence\n"
			  "    kind: k\n"
			  "    sources: [a, b]\n"
			  "    authority: [b, c]\n",
		     "t.yaml:11:20: rules[0].authority[1]: ",
		     "\"c\" is not one of this rule's sources (a, b)");
}

static void err_when_extra_not_in_sources(void **state)
{
	expect_error(BASE "  - name: r\n"
			  "    type: presence\n"
			  "    kind: k\n"
			  "    sources: [a, b]\n"
			  "    when_extra:\n"
			  "      c: []\n",
		     "t.yaml:12:7: rules[0].when_extra: ",
		     "\"c\" is not one of this rule's sources");
}

static void err_unknown_target(void **state)
{
	expect_error(BASE "  - name: r\n"
			  "    type: presence\n"
			  "    kind: k\n"
			  "    sources: [a, b]\n"
			  "    when_missing:\n"
			  "      a: [{ target: u, action: del, key: x }]\n",
		     "t.yaml:12:21: rules[0].when_missing.a[0].target: ",
		     "unknown target \"u\" (configured: t)");
}

static void err_invalid_verb(void **state)
{
	expect_error(BASE "  - name: r\n"
			  "    type: presence\n"
			  "    kind: k\n"
			  "    sources: [a, b]\n"
			  "    when_missing:\n"
			  "      a: [{ target: t, action: remove, key: x }]\n",
		     "t.yaml:12:32: rules[0].when_missing.a[0].action: ",
		     "unknown action \"remove\" for target \"t\" of type redis (known: del, set,");
}

static void err_missing_param(void **state)
{
	expect_error(FIX "      - { target: t, action: set, key: x }\n",
		     "t.yaml:12:9: rules[0].fix[0]: ", "action set needs param \"value\"");
	expect_error(FIX "      - { target: t, action: hset, key: x }\n",
		     "t.yaml:12:9: rules[0].fix[0]: ", "action hset needs at least one field");
}

static void err_unexpected_param(void **state)
{
	expect_error(FIX "      - { target: t, action: del, key: x, valu: y }\n",
		     "t.yaml:12:43: rules[0].fix[0].valu: ",
		     "action del takes no param \"valu\" (takes: key)");
}

static void err_bad_regex(void **state)
{
	expect_error(BASE "  - name: r\n"
			  "    type: counter\n"
			  "    counter: { kind: k, name: n, source: a }\n"
			  "    of: { kind: k, source: b, suffix: \"-([0-9]+$\" }\n",
		     "t.yaml:10:39: rules[0].of.suffix: ",
		     "invalid regular expression \"-([0-9]+$\"");
}

static void err_regex_without_group(void **state)
{
	expect_error(BASE "  - name: r\n"
			  "    type: counter\n"
			  "    counter: { kind: k, name: n, source: a }\n"
			  "    of: { kind: k, source: b, suffix: \"-[0-9]+$\" }\n",
		     "t.yaml:10:39: rules[0].of.suffix: ", "has no capture group");
}

static void err_max_ack_pending_below_batch(void **state)
{
	expect_error("processor:\n  batch: 1024\n  max_ack_pending: 1000\n",
		     "t.yaml:3:20: processor.max_ack_pending: ",
		     "max_ack_pending (1000) must be at least batch (1024)");
	/* Only batch given: the default max_ack_pending (8192) is too small. */
	expect_error("processor:\n  batch: 10000\n", "t.yaml:2:10: processor.batch: ",
		     "must be at least batch");
}

static void err_invalid_name(void **state)
{
	expect_error("sources:\n  - { name: Redis, type: files, path: /x }\n",
		     "t.yaml:2:13: sources[0].name: ", "invalid name \"Redis\"");
	expect_error("sources:\n  - { name: r, type: redis, observe: [{ kind: a.b, get: x }] }\n",
		     "t.yaml:2:47: sources[0].observe[0].kind: ", "invalid name \"a.b\"");
}

static void err_bad_template(void **state)
{
	expect_error("sources:\n"
		     "  - name: r\n"
		     "    type: redis\n"
		     "    observe:\n"
		     "      - { kind: k, get: x, name: \"{key|nosuch}\" }\n",
		     "t.yaml:5:34: sources[0].observe[0].name: ",
		     "invalid template: unknown filter 'nosuch'");
	expect_error(FIX "      - { target: t, action: del, key: \"x:{name\" }\n",
		     "t.yaml:12:40: rules[0].fix[0].key: ", "invalid template: unclosed '{'");
}

static void err_yaml_syntax(void **state)
{
	expect_error("nats:\n  url: a\n bad: [\n", "t.yaml:", "yaml: ");
	expect_error("nats: { url: a\n", "t.yaml:2:1: ", "yaml: did not find expected ',' or '}'");
	expect_error("a: b\n---\nc: d\n", "t.yaml:3:1: ", "a second document");
}

static void err_missing_file(void **state)
{
	struct tu_config *cfg = NULL;
	char err[1024] = "";

	assert_int_equal(tu_config_load("/nonexistent/trueup.yaml", &cfg, err, sizeof(err)),
			 TU_ENOTFOUND);
	assert_null(cfg);
	assert_string_equal(err,
			    "/nonexistent/trueup.yaml: cannot open: No such file or directory");
	assert_int_equal(tu_config_load("/tmp", &cfg, err, sizeof(err)), TU_EIO);
	assert_null(cfg);
	assert_non_null(strstr(err, "is a directory"));
}

static void err_too_big(void **state)
{
	char tmpl[] = "/tmp/tu_config_big.XXXXXX";
	int fd = mkstemp(tmpl);
	struct tu_config *cfg = NULL;
	char err[1024] = "";

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, TU_MAX_CONFIG + 1), 0);
	close(fd);
	assert_int_equal(tu_config_load(tmpl, &cfg, err, sizeof(err)), TU_ETOOBIG);
	assert_null(cfg);
	assert_non_null(strstr(err, "larger than"));
	unlink(tmpl);
	assert_int_equal(tu_config_load_string("s", "", TU_MAX_CONFIG + 1, &cfg, err, sizeof(err)),
			 TU_ETOOBIG);
}

static void err_stream_name(void **state)
{
	expect_error("streams:\n  cmd:\n    name: MY_CMD\n", "t.yaml:3:11: streams.cmd.name: ",
		     "not configurable: this stream is always TRUEUP_CMD");
}

static void err_missing_required(void **state)
{
	expect_error("sources:\n  - name: f\n    type: files\n", "t.yaml:2:5: sources[0]: ",
		     "missing required field \"path\"");
	expect_error("sources:\n  - { name: f }\n", "t.yaml:2:5: sources[0]: ",
		     "missing required field \"type\"");
	expect_error("sources:\n  - { name: f, type: ftp }\n", "t.yaml:2:22: sources[0].type: ",
		     "invalid value \"ftp\" (one of: redis, files");
}

static void err_bad_integer(void **state)
{
	expect_error("processor: { batch: 12x }\n", "t.yaml:1:21: processor.batch: ",
		     "invalid integer \"12x\"");
	expect_error("processor: { batch: 0 }\n", "t.yaml:1:21: processor.batch: ",
		     "must be greater than 0");
	expect_error("streams: { drift: { replicas: 9 } }\n",
		     "t.yaml:1:31: streams.drift.replicas: ", "too large (at most 5)");
	expect_error("nats: { max_reconnect: 99999999999 }\n",
		     "t.yaml:1:24: nats.max_reconnect: ", "too large");
}

static void err_bad_enum_and_bool(void **state)
{
	expect_error("processor: { sync: fast }\n", "t.yaml:1:20: processor.sync: ",
		     "invalid value \"fast\" (one of: none, meta, full)");
	expect_error(FIX "      - { target: t, action: del, key: x, expect_absent: yes }\n",
		     "t.yaml:12:58: rules[0].fix[0].expect_absent: ",
		     "invalid boolean \"yes\" (true or false)");
}

static void err_observe_scan_and_get(void **state)
{
	expect_error("sources:\n"
		     "  - name: r\n"
		     "    type: redis\n"
		     "    observe:\n"
		     "      - { kind: k, get: x, scan: \"y*\" }\n",
		     "t.yaml:5:9: sources[0].observe[0]: ", "has both scan and get");
	expect_error("sources:\n"
		     "  - name: r\n"
		     "    type: redis\n"
		     "    observe:\n"
		     "      - { kind: k }\n",
		     "t.yaml:5:9: sources[0].observe[0]: ", "needs one of scan");
}

static void err_precondition(void **state)
{
	expect_error(FIX "      - target: t\n"
			  "        action: del\n"
			  "        key: x\n"
			  "        if:\n"
			  "          - { equals: x, absent: true }\n",
		     "t.yaml:16:13: rules[0].fix[0].if[0]: ",
		     "needs exactly one of equals, exists, absent, field_equals");
}

static void err_unknown_action_field(void **state)
{
	expect_error(FIX "      - { target: t, action: del, key: x, iff: [{ absent: true }] }\n",
		     "t.yaml:12:43: rules[0].fix[0]: ", "unknown field \"iff\"");
}

static void err_duplicate_param(void **state)
{
	expect_error(FIX "      - { target: t, action: hset, key: x,"
			 " fields: { a: 1 }, field.a: 2 }\n",
		     "t.yaml:12:9: rules[0].fix[0]: ", "param \"field.a\" is given twice");
}

static void err_presence_one_source(void **state)
{
	expect_error(BASE "  - { name: r, type: presence, kind: k, sources: [a] }\n",
		     "t.yaml:7:50: rules[0].sources: ", "at least two sources");
}

static void err_wrong_type_fields(void **state)
{
	/* A counter field in a presence rule is unknown there. */
	expect_error(BASE "  - name: r\n"
			  "    type: presence\n"
			  "    kind: k\n"
			  "    sources: [a, b]\n"
			  "    offset: 1\n",
		     "t.yaml:11:5: rules[0]: ", "unknown field \"offset\"");
}

static void err_tls_and_password(void **state)
{
	expect_error("nats: { tls: { cert: c.pem } }\n", "t.yaml:1:14: nats.tls: ",
		     "cert and key go together");
	expect_error("nats: { password_file: p }\n", "t.yaml:1:7: nats: ",
		     "password_file needs user");
}

static void err_nats_url_credentials(void **state)
{
	expect_error("nats: { url: \"nats://u:secret@h:4222\" }\n", "t.yaml:1:7: nats: ",
		     "url: a user, password or token in the URL is refused");
	expect_error("nats: { url: \"nats://h:4222,tls://tok@h:4222\" }\n", "t.yaml:1:7: nats: ",
		     "use user and password_file, or creds");
	expect_error("nats: { url: \"nats://:4222\" }\n", "t.yaml:1:7: nats: ", "names no host");
}

/* With TLS and no tls.hostname, the URL's host is what the certificate must name. */
static void nats_tls_hostname(void **state)
{
	char host[64], why[256];
	assert_int_equal(tu_nats_url_host("nats://127.0.0.1:4222", host, sizeof(host), why,
					  sizeof(why)), TU_OK);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(tu_nats_url_host("tls://[::1]:4222/", host, sizeof(host), why,
					  sizeof(why)), TU_OK);
	assert_string_equal(host, "::1");
	assert_int_equal(tu_nats_url_host("nats://nats.internal:1, nats://NATS.internal:2",
					  host, sizeof(host), why, sizeof(why)), TU_OK);
	assert_string_equal(host, "nats.internal");
	assert_int_equal(tu_nats_url_host("localhost", host, sizeof(host), why, sizeof(why)),
			 TU_OK);
	assert_string_equal(host, "localhost");
	assert_int_equal(tu_nats_url_host("nats://a:1,nats://b:1", host, sizeof(host), why,
					  sizeof(why)), TU_ECONFLICT);
	assert_int_equal(tu_nats_url_host("nats://averyveryverylonghostname:1", host, 8, why,
					  sizeof(why)), TU_ETOOBIG);
	/* several hosts: fine without TLS or with tls.hostname, an error otherwise */
	struct tu_config *cfg = NULL;
	char err[512];
	assert_int_equal(load("nats: { url: \"nats://a:1,nats://b:1\" }\n", &cfg, err,
			      sizeof(err)), TU_OK);
	tu_config_destroy(cfg);
	assert_int_equal(load("nats: { url: \"nats://a:1,nats://b:1\", tls: { ca: ca.pem, "
			      "hostname: nats.internal } }\n", &cfg, err, sizeof(err)), TU_OK);
	tu_config_destroy(cfg);
	expect_error("nats: { url: \"nats://a:1,nats://b:1\", tls: { ca: ca.pem } }\n",
		     "t.yaml:1:7: nats: ", "set tls.hostname");
}

static void err_null_value(void **state)
{
	expect_error("nats:\n  url:\n", "t.yaml:2:7: nats.url: ",
		     "expected a string, got no value");
}

static void err_alias_expansion(void **state)
{
	/*
	 * A small file whose aliases expand to 100 sources x 100 observe entries x
	 * 200 attrs: the walk must stop at its node budget, not run for minutes.
	 */
	struct tu_buf b;

	tu_buf_init(&b, 1 << 20);
	tu_buf_puts(&b, "sources:\n  - &s\n    name: r\n    type: redis\n    observe:\n"
			"      - &o { kind: k, get: x, attrs: { ");
	for (int i = 0; i < 200; i++)
		tu_buf_printf(&b, "%sa%d: x", i > 0 ? ", " : "", i);
	tu_buf_puts(&b, " } }\n");
	for (int i = 0; i < 100; i++)
		tu_buf_puts(&b, "      - *o\n");
	for (int i = 0; i < 100; i++)
		tu_buf_puts(&b, "  - *s\n");
	expect_error(tu_buf_cstr(&b), "t.yaml:", "the document expands to more than");
	tu_buf_release(&b);
}

static void err_bad_redis_url(void **state)
{
	expect_error("targets: [{ name: t, type: redis, url: \"http://x\" }]\n",
		     "t.yaml:1:40: targets[0].url: ", "invalid URL \"http://x\"");
}

static void err_stream_duplicates_window(void **state)
{
	expect_error("streams:\n  cmd: { max_age: 5m }\n", "t.yaml:2:8: streams.cmd: ",
		     "duplicates (10m) must not be longer than max_age (5m)");
}

/* ---- rule types of issue 4 ------------------------------------------------------ */

static const char rules_yaml[] = BASE
	"  - name: db-spec\n"
	"    type: spec\n"
	"    kind: database\n"
	"    desired: b\n"
	"    actual: a\n"
	"    mode: propose\n"
	"    max_attempts: 2\n"
	"    on_escalate:\n"
	"      - { target: t, action: set, key: \"alert:{name}\", value: escalated }\n"
	"    fields:\n"
	"      - { attr: storage, compare: quantity }\n"
	"      - { attr: replicas, actual_attr: instances, compare: int }\n"
	"      - { attr: owner }\n"
	"    fix:\n"
	"      - { target: t, action: set, key: \"db:{name}\", value: \"{b.storage}\" }\n"
	"  - name: replicas\n"
	"    type: count\n"
	"    kind: service\n"
	"    source: b\n"
	"    attr: instance_count\n"
	"    of: { kind: instance, source: hb }\n"
	"    confirm: 3\n"
	"  - name: orphans\n"
	"    type: reference\n"
	"    kind: service\n"
	"    source: a\n"
	"    match: \"^session-(.+)$\"\n"
	"    owner: { kind: deployment, source: a, name: \"session-{1}\" }\n"
	"    guards:\n"
	"      - { kind: endpoints, source: a, name: \"{name}\", attr: ready, equals: \"0\","
	" missing_ok: true }\n"
	"    when_orphan:\n"
	"      - { target: t, action: del, key: \"session:{1}\" }\n"
	"  - name: by-label\n"
	"    type: reference\n"
	"    kind: service\n"
	"    source: a\n"
	"    owner:\n"
	"      kind: deployment\n"
	"      source: a\n"
	"      namespace: apps\n"
	"      selector: [{ attr: app, equals: \"{a.app}\" }, { attr: x, equals_attr: y }]\n"
	"  - name: ports\n"
	"    type: equal\n"
	"    kind: deployment\n"
	"    source: a\n"
	"    compare: int\n"
	"    values:\n"
	"      - { label: configmap, kind: configmap, source: a, name: \"{name}-config\","
	" attr: port }\n"
	"      - { kind: deployment, source: a, name: \"{name}\", attr: container_port }\n"
	"  - name: pods\n"
	"    type: pod-status\n"
	"    kind: pod\n"
	"    source: a\n"
	"    terminating_grace: 90s\n"
	"    zombie_reasons: [ContainerStatusUnknown, NodeLost]\n"
	"    pod_image_attr: container_image\n"
	"    when_zombie: [{ target: t, action: del, key: \"pod:{name}\" }]\n"
	"    owner: { kind: deployment, source: a, name: \"{name|beforelast:-|beforelast:-}\" }\n"
	"    ready: [{ attr: updated, equals_attr: replicas }]\n"
	"    when_image_pull: [{ target: t, action: set, key: \"img:{owner}\","
	" value: \"{last_ready_image}\" }]\n"
	"  - name: stale\n"
	"    type: heartbeat\n"
	"    service: api\n"
	"    forget: 2h\n";

static void rules_of_every_type(void **state)
{
	struct tu_config *cfg = NULL;
	char err[1024];
	tu_status st = load(rules_yaml, &cfg, err, sizeof(err));
	if (st != TU_OK)
		print_error("%s\n", err);
	assert_int_equal(st, TU_OK);
	assert_int_equal(cfg->n_rules, 7);

	const struct tu_rule_config *r = tu_config_rule(cfg, "db-spec");
	assert_int_equal(r->type, TU_RULE_SPEC);
	assert_string_equal(tu_rule_type_str(r->type), "spec");
	assert_int_equal(r->mode, TU_MODE_PROPOSE);
	assert_int_equal(r->on_escalate.n, 1);
	assert_string_equal(r->spec.desired, "b");
	assert_string_equal(r->spec.actual, "a");
	assert_int_equal(r->spec.n_fields, 3);
	assert_int_equal(r->spec.fields[0].cmp, TU_CMP_QUANTITY);
	assert_string_equal(r->spec.fields[0].actual_attr, "storage");
	assert_string_equal(r->spec.fields[1].actual_attr, "instances");
	assert_int_equal(r->spec.fields[1].cmp, TU_CMP_INT);
	assert_int_equal(r->spec.fields[2].cmp, TU_CMP_STRING);
	assert_string_equal(tu_compare_str(TU_CMP_QUANTITY), "quantity");
	assert_int_equal(r->spec.fix.n, 1);

	r = tu_config_rule(cfg, "replicas");
	assert_int_equal(r->type, TU_RULE_COUNT);
	assert_string_equal(r->count.of_source, "hb");
	assert_string_equal(r->count.of_ns, "{name}"); /* default */
	assert_int_equal(r->count.confirm, 3);
	assert_int_equal(r->mode, TU_MODE_DETECT);

	r = tu_config_rule(cfg, "orphans");
	assert_int_equal(r->type, TU_RULE_REFERENCE);
	assert_true(r->reference.match_compiled);
	assert_string_equal(r->reference.owner.name, "session-{1}");
	assert_string_equal(r->reference.owner.ns, "{namespace}");
	assert_int_equal(r->reference.n_guards, 1);
	assert_true(r->reference.guards[0].missing_ok);
	assert_string_equal(r->reference.guards[0].cond.equals, "0");
	assert_int_equal(r->reference.when_orphan.n, 1);

	r = tu_config_rule(cfg, "by-label");
	assert_null(r->reference.owner.name);
	assert_int_equal(r->reference.owner.n_selector, 2);
	assert_string_equal(r->reference.owner.selector[1].equals_attr, "y");
	assert_string_equal(r->reference.owner.ns, "apps");

	r = tu_config_rule(cfg, "ports");
	assert_int_equal(r->type, TU_RULE_EQUAL);
	assert_int_equal(r->equal.cmp, TU_CMP_INT);
	assert_int_equal(r->equal.n_values, 2);
	assert_string_equal(r->equal.values[0].label, "configmap");
	assert_string_equal(r->equal.values[1].label, "deployment-container_port");

	r = tu_config_rule(cfg, "pods");
	assert_int_equal(r->type, TU_RULE_POD_STATUS);
	assert_int_equal(r->pod_status.terminating_grace, S(90));
	assert_int_equal(r->pod_status.n_zombie_reasons, 2);
	assert_string_equal(r->pod_status.zombie_reasons[1], "NodeLost");
	assert_int_equal(r->pod_status.n_pull_reasons, 2); /* default */
	assert_string_equal(r->pod_status.pull_reasons[0], "ImagePullBackOff");
	assert_string_equal(r->pod_status.reason_attr, "reason");
	assert_string_equal(r->pod_status.image_attr, "image");
	assert_string_equal(r->pod_status.pod_image_attr, "container_image");
	assert_int_equal(r->pod_status.n_ready, 1);
	assert_string_equal(r->pod_status.owner.kind, "deployment");

	r = tu_config_rule(cfg, "stale");
	assert_int_equal(r->type, TU_RULE_HEARTBEAT);
	assert_string_equal(r->heartbeat.service, "api");
	assert_int_equal(r->heartbeat.forget, M(120));
	tu_config_destroy(cfg);
}

static void err_new_rules(void **state)
{
	expect_error(BASE "  - { name: r, type: spec, kind: k, desired: a, actual: a,"
			  " fields: [{ attr: x }] }\n",
		     "t.yaml:7:", "desired and actual are the same source");
	expect_error(BASE "  - { name: r, type: spec, kind: k, desired: a, actual: b, fields: [] }\n",
		     "t.yaml:7:", "needs at least one entry");
	expect_error(BASE "  - { name: r, type: spec, kind: k, desired: a, actual: b,"
			  " fields: [{ attr: x, compare: float }] }\n",
		     "t.yaml:7:", "rules[0].fields[0].compare");
	expect_error(BASE "  - { name: r, type: count, kind: k, source: a, attr: n,"
			  " of: { kind: i, source: zz } }\n",
		     "t.yaml:7:", "rules[0].of.source");
	expect_error(BASE "  - { name: r, type: count, kind: k, source: a, attr: n,"
			  " of: { kind: i, source: hb }, confirm: 0 }\n",
		     "t.yaml:7:", "rules[0].confirm");
	expect_error(BASE "  - { name: r, type: reference, kind: k, source: a, match: \"(\","
			  " owner: { kind: d, source: a, name: x } }\n",
		     "t.yaml:7:", "invalid regular expression");
	expect_error(BASE "  - { name: r, type: reference, kind: k, source: a,"
			  " owner: { kind: d, source: a } }\n",
		     "t.yaml:7:", "needs exactly one of name and selector");
	expect_error(BASE "  - { name: r, type: reference, kind: k, source: a,"
			  " owner: { kind: d, source: a, name: x },"
			  " guards: [{ kind: e, source: a, name: x, attr: y }] }\n",
		     "t.yaml:7:", "needs exactly one of equals and equals_attr");
	expect_error(BASE "  - { name: r, type: equal, kind: k, source: a,"
			  " values: [{ kind: c, source: a, name: x, attr: p }] }\n",
		     "t.yaml:7:", "at least two values");
	expect_error(BASE "  - { name: r, type: equal, kind: k, source: a,"
			  " values: [{ label: v, kind: c, source: a, name: x, attr: p },"
			  " { label: v, kind: c, source: a, name: y, attr: p }] }\n",
		     "t.yaml:7:", "value label");
	expect_error(BASE "  - { name: r, type: pod-status, kind: pod, source: a,"
			  " when_image_pull: [{ target: t, action: del, key: x }] }\n",
		     "t.yaml:7:", "when_image_pull needs owner");
	expect_error(BASE "  - { name: r, type: heartbeat, forget: 0s }\n", "t.yaml:7:",
		     "rules[0].forget");
	expect_error(BASE "  - { name: r, type: heartbeat, kind: x }\n", "t.yaml:7:",
		     "unknown field \"kind\"");
}

/* ---- docker source and target ---------------------------------------------------------- */

static struct tu_config *load_ok(const char *yaml)
{
	struct tu_config *cfg = NULL;
	char err[1024] = "";
	tu_status st = load(yaml, &cfg, err, sizeof(err));
	if (st != TU_OK)
		print_error("%s\n", err);
	assert_int_equal(st, TU_OK);
	return cfg;
}

static const char docker_yaml[] =
	"sources:\n"
	"  - name: docker\n"
	"    type: docker\n"
	"    socket: /run/docker.sock\n"
	"    interval: 15s\n"
	"    timeout: 3s\n"
	"    rate: 50\n"
	"    max_body: 8MiB\n"
	"    max_inspects: 20\n"
	"    filters:\n"
	"      name_prefixes: [k3s-worker-, k3s-server-]\n"
	"      labels: [\"com.example.role=worker\", team]\n"
	"    observe:\n"
	"      - kind: worker\n"
	"        namespace: \"{.Labels.ns|default:default}\"\n"
	"        name: \"{.Names[0]|trimprefix:/}\"\n"
	"        name_prefix: k3s-worker-\n"
	"        match: { .State: running }\n"
	"        inspect: true\n"
	"        attrs: { id: \"{.Id}\", health: \"{health}\", pid: \"{inspect.State.Pid}\" }\n"
	"      - { kind: box, name: \"{.Id}\" }\n"
	"  - { name: redis, type: redis, observe: [{ kind: worker, get: x }] }\n"
	"targets:\n"
	"  - name: docker\n"
	"    type: docker\n"
	"    socket: sock/docker.sock\n"
	"    rate: 5\n"
	"    max_body: 1MiB\n"
	"    timeout: 20s\n"
	"rules:\n"
	"  - name: ghost\n"
	"    type: presence\n"
	"    kind: worker\n"
	"    sources: [redis, docker]\n"
	"    when_extra:\n"
	"      docker:\n"
	"        - target: docker\n"
	"          action: remove\n"
	"          id: \"{docker.id}\"\n"
	"          force: \"true\"\n"
	"          if: [{ field_equals: { name: \"{name}\" } }]\n"
	"        - { target: docker, action: stop, id: \"{docker.id}\", timeout: \"30\" }\n"
	"        - { target: docker, action: restart, id: 727c47bc2a48 }\n";

static void docker_full(void **state)
{
	(void)state;
	struct tu_config *cfg = load_ok(docker_yaml);
	const struct tu_source_config *s = &cfg->sources[0];
	const struct tu_docker_source *d = &s->docker;
	assert_int_equal(s->type, TU_SOURCE_DOCKER);
	assert_string_equal(d->daemon.socket, "/run/docker.sock");
	assert_int_equal(s->interval, 15000);
	assert_int_equal(s->timeout, 3000);
	assert_int_equal(d->daemon.rate, 50);
	assert_int_equal(d->daemon.max_body, 8 * 1024 * 1024);
	assert_int_equal(d->max_inspects, 20);
	assert_int_equal(d->n_name_prefixes, 2);
	assert_string_equal(d->name_prefixes[1], "k3s-server-");
	assert_int_equal(d->n_labels, 2);
	assert_string_equal(d->labels[0], "com.example.role=worker");
	assert_string_equal(d->labels[1], "team");
	assert_int_equal(d->n_observe, 2);
	const struct tu_docker_observe *o = &d->observe[0];
	assert_string_equal(o->map.kind, "worker");
	assert_string_equal(o->map.ns, "{.Labels.ns|default:default}");
	assert_string_equal(o->map.name, "{.Names[0]|trimprefix:/}");
	assert_string_equal(o->map.name_prefix, "k3s-worker-");
	assert_true(o->inspect);
	assert_int_equal(o->map.attrs.n, 3);
	assert_string_equal(o->map.attrs.items[2].key, "pid");
	assert_int_equal(o->map.match.n, 1);
	assert_string_equal(o->map.match.items[0].key, ".State");
	assert_false(d->observe[1].inspect);
	assert_string_equal(d->observe[1].map.ns, "default");
	assert_int_equal(d->observe[1].map.attrs.n, 0);

	const struct tu_target_config *t = &cfg->targets[0];
	assert_int_equal(t->type, TU_TARGET_DOCKER);
	assert_non_null(strstr(t->docker.daemon.socket, "/sock/docker.sock")); /* resolved */
	assert_true(t->docker.daemon.socket[0] == '/');
	assert_int_equal(t->docker.daemon.rate, 5);
	assert_int_equal(t->docker.daemon.max_body, 1024 * 1024);
	assert_int_equal(t->timeout, 20000);
	assert_string_equal(t->consumer, "trueup-actuator-docker");
	assert_null(t->redis.url); /* no redis defaults on a docker target */

	const struct tu_actions *acts = &cfg->rules[0].presence.when_extra[0].actions;
	assert_int_equal(acts->n, 3);
	assert_string_equal(acts->items[0].action, "remove");
	assert_int_equal(acts->items[0].params.n, 2);
	assert_string_equal(acts->items[0].params.items[0].key, "force");
	assert_string_equal(acts->items[0].params.items[1].key, "id");
	assert_int_equal(acts->items[0].n_pre, 1);
	assert_int_equal(acts->items[0].pre[0].op, TU_PRE_FIELD_EQUALS);
	assert_string_equal(acts->items[0].pre[0].field, "name");
	assert_string_equal(acts->items[1].params.items[1].key, "timeout");
	tu_config_destroy(cfg);
}

static void docker_defaults(void **state)
{
	(void)state;
	struct tu_config *cfg = load_ok("sources:\n"
					"  - { name: d, type: docker, observe: [{ kind: c, name: x }] }\n"
					"targets:\n"
					"  - { name: d, type: docker }\n");
	const struct tu_docker_source *d = &cfg->sources[0].docker;
	assert_string_equal(d->daemon.socket, "/var/run/docker.sock");
	assert_int_equal(d->daemon.rate, 20);
	assert_int_equal(d->daemon.max_body, 32 * 1024 * 1024);
	assert_int_equal(d->max_inspects, 1000);
	assert_int_equal(d->n_name_prefixes + d->n_labels, 0);
	assert_int_equal(cfg->sources[0].timeout, 5000);
	assert_string_equal(cfg->targets[0].docker.daemon.socket, "/var/run/docker.sock");
	assert_int_equal(cfg->targets[0].docker.daemon.rate, 10);
	assert_int_equal(cfg->targets[0].docker.daemon.max_body, 4 * 1024 * 1024);
	assert_int_equal(cfg->targets[0].timeout, 5000);
	tu_config_destroy(cfg);
}

#define DSRC "sources:\n  - name: d\n    type: docker\n"

static void docker_source_errors(void **state)
{
	(void)state;
	expect_error(DSRC, "t.yaml:2:5: sources[0]: ", "missing required field \"observe\"");
	expect_error(DSRC "    observe: []\n", "t.yaml:4:14: sources[0].observe: ",
		     "needs at least one entry");
	expect_error(DSRC "    observe: [{ kind: c }]\n", "t.yaml:4:15: sources[0].observe[0]: ",
		     "missing required field \"name\"");
	expect_error(DSRC "    observe: [{ kind: c, name: x, scan: y }]\n",
		     "t.yaml:4:35: sources[0].observe[0]: ", "unknown field \"scan\"");
	expect_error(DSRC "    observe: [{ kind: c, name: x, inspect: yes }]\n",
		     "t.yaml:4:44: sources[0].observe[0].inspect: ", "invalid boolean \"yes\"");
	expect_error(DSRC "    observe: [{ kind: c, name: x, attrs: { pid: \"{inspect.State.Pid}\" } "
			 "}]\n",
		     "t.yaml:4:15: sources[0].observe[0]: ",
		     "pid uses {inspect...}: add inspect: true");
	expect_error(DSRC "    observe: [{ kind: c, name: x, match: { State: running } }]\n",
		     "t.yaml:4:44: sources[0].observe[0].match.State: ", "must start with '.'");
	expect_error(DSRC "    filters: { name_prefixes: [/k3s-] }\n    observe: [{ kind: c, name: x "
			 "}]\n",
		     "t.yaml:4:32: sources[0].filters.name_prefixes[0]: ",
		     "without Docker's leading '/' (\"k3s-\")");
	expect_error(DSRC "    filters: { labels: [\"=x\"] }\n    observe: [{ kind: c, name: x }]\n",
		     "t.yaml:4:25: sources[0].filters.labels[0]: ", "\"key\" or \"key=value\"");
	expect_error(DSRC "    filters: { names: [a] }\n    observe: [{ kind: c, name: x }]\n",
		     "t.yaml:4:16: sources[0].filters: ", "unknown field \"names\"");
	expect_error(DSRC "    rate: -1\n    observe: [{ kind: c, name: x }]\n",
		     "t.yaml:4:11: sources[0].rate: ", "too small");
	expect_error(DSRC "    url: redis://x\n    observe: [{ kind: c, name: x }]\n",
		     "t.yaml:4:5: sources[0]: ", "unknown field \"url\"");
}

#define DACT                                                                          \
	"sources:\n  - { name: a, type: files, path: /x }\n  - { name: b, type: files, path: /y }\n" \
	"targets:\n  - { name: dk, type: docker }\n"                                        \
	"rules:\n  - name: r\n    type: presence\n    kind: w\n    sources: [a, b]\n"       \
	"    when_extra:\n      b:\n"

static void docker_action_errors(void **state)
{
	(void)state;
	expect_error(DACT "        - { target: dk, action: del, key: x }\n",
		     "t.yaml:13:33: rules[0].when_extra.b[0].action: ",
		     "unknown action \"del\" for target \"dk\" of type docker (known: remove, stop, "
		     "restart)");
	expect_error(DACT "        - { target: dk, action: remove }\n",
		     "t.yaml:13:11: rules[0].when_extra.b[0]: ", "action remove needs param \"id\"");
	expect_error(DACT "        - { target: dk, action: stop, id: \"{b.id}\", force: \"true\" }\n",
		     "t.yaml:13:53: rules[0].when_extra.b[0].force: ",
		     "action stop takes no param \"force\" (takes: id, timeout)");
	expect_error(DACT "        - { target: dk, action: remove, id: \"{b.id}\", force: \"yes\" }\n",
		     "t.yaml:13:55: rules[0].when_extra.b[0].force: ", "invalid boolean \"yes\"");
	expect_error(DACT "        - { target: dk, action: stop, id: \"{b.id}\", timeout: 10s }\n",
		     "t.yaml:13:53: rules[0].when_extra.b[0].timeout: ", "invalid timeout \"10s\"");
	expect_error(DACT "        - { target: dk, action: remove, id: k3s-worker-3 }\n",
		     "t.yaml:13:41: rules[0].when_extra.b[0].id: ",
		     "\"k3s-worker-3\" is not a container id");
	/* templates are checked when rendered, not here */
	struct tu_config *cfg = load_ok(DACT "        - { target: dk, action: remove, id: \"{b.id}\", "
					    "force: \"{b.force}\", volumes: \"false\" }\n");
	tu_config_destroy(cfg);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(full_config),
	cmocka_unit_test(minimal_defaults),
	cmocka_unit_test(minimal_entries_defaults),
	cmocka_unit_test(relative_paths),
	cmocka_unit_test(params_sorted_and_preconds),
	cmocka_unit_test(lookups_and_names),
	cmocka_unit_test(err_bad_duration),
	cmocka_unit_test(err_bad_size),
	cmocka_unit_test(processor_lease),
	cmocka_unit_test(http_listen_addresses),
	cmocka_unit_test(err_unknown_field),
	cmocka_unit_test(err_unknown_top_level),
	cmocka_unit_test(err_wrong_node_type),
	cmocka_unit_test(err_duplicate_name),
	cmocka_unit_test(err_duplicate_key),
	cmocka_unit_test(err_unknown_source_in_rule),
	cmocka_unit_test(err_counter_unknown_source),
	cmocka_unit_test(err_authority_not_in_sources),
	cmocka_unit_test(err_when_extra_not_in_sources),
	cmocka_unit_test(err_unknown_target),
	cmocka_unit_test(err_invalid_verb),
	cmocka_unit_test(err_missing_param),
	cmocka_unit_test(err_unexpected_param),
	cmocka_unit_test(err_bad_regex),
	cmocka_unit_test(err_regex_without_group),
	cmocka_unit_test(err_max_ack_pending_below_batch),
	cmocka_unit_test(err_invalid_name),
	cmocka_unit_test(err_bad_template),
	cmocka_unit_test(err_yaml_syntax),
	cmocka_unit_test(err_missing_file),
	cmocka_unit_test(err_too_big),
	cmocka_unit_test(err_stream_name),
	cmocka_unit_test(err_missing_required),
	cmocka_unit_test(err_bad_integer),
	cmocka_unit_test(err_bad_enum_and_bool),
	cmocka_unit_test(err_observe_scan_and_get),
	cmocka_unit_test(err_precondition),
	cmocka_unit_test(err_unknown_action_field),
	cmocka_unit_test(err_duplicate_param),
	cmocka_unit_test(err_presence_one_source),
	cmocka_unit_test(err_wrong_type_fields),
	cmocka_unit_test(err_tls_and_password),
	cmocka_unit_test(err_nats_url_credentials),
	cmocka_unit_test(nats_tls_hostname),
	cmocka_unit_test(err_null_value),
	cmocka_unit_test(err_alias_expansion),
	cmocka_unit_test(err_bad_redis_url),
	cmocka_unit_test(err_stream_duplicates_window),
	cmocka_unit_test(rules_of_every_type),
	cmocka_unit_test(err_new_rules),
	cmocka_unit_test(docker_full),
	cmocka_unit_test(docker_defaults),
	cmocka_unit_test(docker_source_errors),
	cmocka_unit_test(docker_action_errors),
};

TU_TEST_MAIN(tests)
