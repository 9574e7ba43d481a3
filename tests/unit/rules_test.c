/*
 * rules_test.c - the rule types of issue 4 in the fold: spec with typed
 * comparators, count with confirm:, reference with guards and cascades,
 * equal, pod-status (zombies and image-pull rollback from the view's
 * history), heartbeat staleness, and escalation with on_escalate actions.
 * Each test folds hand-made facts and checks the derived drift events and
 * commands (their reasons, details and rendered parameters).
 */
#include "clock.h"
#include "foldh.h"

static const char *policy =
	"processor: { view: /nonexistent, command_ttl: 10m }\n"
	"sources:\n"
	"  - { name: kube, type: files, path: /tmp }\n"
	"  - { name: mongo, type: files, path: /tmp }\n"
	"  - { name: do, type: files, path: /tmp }\n"
	"targets:\n"
	"  - { name: redis, type: redis }\n"
	"rules:\n"
	"  - name: db-spec\n"
	"    type: spec\n"
	"    kind: database\n"
	"    desired: kube\n"
	"    actual: mongo\n"
	"    mode: enforce\n"
	"    max_attempts: 1\n"
	"    on_escalate: [{ target: redis, action: set, key: \"alert:{name}\", value: \"{rule}\" }]\n"
	"    fields:\n"
	"      - { attr: storage, compare: quantity }\n"
	"      - { attr: replicas, compare: int }\n"
	"      - { attr: tls, compare: bool }\n"
	"      - { attr: engine }\n"
	"    fix:\n"
	"      - { target: redis, action: set, key: \"db:{name}\", value: \"{kube.storage}/{mismatch}\" }\n"
	"  - name: replicas\n"
	"    type: count\n"
	"    kind: app\n"
	"    source: do\n"
	"    attr: instance_count\n"
	"    of: { kind: instance, source: hb }\n"
	"    confirm: 3\n"
	"    mode: enforce\n"
	"    fix: [{ target: redis, action: set, key: \"alert:{name}\", value: \"{desired}/{actual}\" }]\n"
	"  - name: orphans\n"
	"    type: reference\n"
	"    kind: service\n"
	"    source: kube\n"
	"    match: \"^session-(.+)$\"\n"
	"    owner: { kind: deployment, source: kube, name: \"session-{1}\" }\n"
	"    guards:\n"
	"      - { kind: endpoints, source: kube, name: \"{name}\", attr: ready, equals: \"0\","
	" missing_ok: true }\n"
	"    mode: enforce\n"
	"    when_orphan:\n"
	"      - { target: redis, action: del, key: \"svc:{namespace}/{name}\" }\n"
	"      - { target: redis, action: del, key: \"session:{1}\" }\n"
	"  - name: ports\n"
	"    type: equal\n"
	"    kind: deployment\n"
	"    source: kube\n"
	"    compare: int\n"
	"    values:\n"
	"      - { label: configmap, kind: configmap, source: kube, name: \"{name}-config\","
	" attr: port }\n"
	"      - { label: container, kind: deployment, source: kube, name: \"{name}\","
	" attr: container_port }\n"
	"      - { label: probe, kind: deployment, source: kube, name: \"{name}\", attr: probe_port }\n"
	"  - name: pods\n"
	"    type: pod-status\n"
	"    kind: pod\n"
	"    source: kube\n"
	"    terminating_grace: 60s\n"
	"    mode: enforce\n"
	"    when_zombie: [{ target: redis, action: del, key: \"pod:{name}\" }]\n"
	"    owner: { kind: deployment, source: kube, name: \"{name|beforelast:-|beforelast:-}\" }\n"
	"    ready: [{ attr: updated, equals_attr: replicas }, { attr: available, equals_attr: replicas }]\n"
	"    when_image_pull:\n"
	"      - { target: redis, action: set, key: \"image:{owner}\", value: \"{last_ready_image}\" }\n"
	"  - name: stale\n"
	"    type: heartbeat\n"
	"    service: batch\n"
	"    forget: 10m\n"
	"    mode: enforce\n"
	"    when_stale: [{ target: redis, action: del, key: \"instance:{name}\" }]\n";

/* One complete full scan of source holding what fn observes. */
static void scan_begin(struct h *h, const char *source, const char *id)
{
	marker(h, source, id, true, true, false);
}

static void scan_end(struct h *h, const char *source, const char *id)
{
	marker(h, source, id, false, true, true);
}

/* The only drift event from index from on; fails if there is not exactly one. */
static Trueup__V1__DriftEvent *one_drift(struct h *h, size_t from)
{
	size_t di[8];
	size_t n = find(h, TU_TYPE_DRIFT, from, di, 8);
	if (n != 1)
		fail_msg("%zu drift events, wanted 1", n);
	return drift_at(h, di[0]);
}

static const char *detail(const Trueup__V1__DriftEvent *d, const char *key)
{
	const char *v = tu_pb_attrs_get(d->details, d->n_details, key);
	if (v == NULL)
		fail_msg("drift has no detail %s", key);
	return v;
}

static const char *param(const Trueup__V1__FixCommand *c, const char *key)
{
	const char *v = tu_pb_attrs_get(c->params, c->n_params, key);
	if (v == NULL)
		fail_msg("command has no param %s", key);
	return v;
}

/* ---- spec --------------------------------------------------------------------------- */

static void db(struct h *h, const char *source, const char *id, const char *name,
	       const char *storage, const char *replicas)
{
	const char *kv[] = { "storage", storage, "replicas", replicas, "tls", "yes",
			     "engine", "postgres", NULL };
	if (strcmp(source, "mongo") == 0)
		kv[5] = "TRUE";
	obs_ns(h, source, id, "database", "prod", name, false, kv);
}

static void spec_compares_typed_values(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	scan_begin(h, "kube", "k1");
	db(h, "kube", "k1", "orders", "1Gi", "3");
	db(h, "kube", "k1", "users", "10Gi", "2");
	db(h, "kube", "k1", "bad", "5Gi", "1");
	scan_end(h, "kube", "k1");
	size_t mark = h->n_outs;
	scan_begin(h, "mongo", "m1");
	db(h, "mongo", "m1", "orders", "1024Mi", "03"); /* equal as quantity and int */
	db(h, "mongo", "m1", "users", "20Gi", "2");
	db(h, "mongo", "m1", "bad", "lots", "1");
	scan_end(h, "mongo", "m1");
	size_t di[8], ci[8];
	assert_int_equal(find(h, TU_TYPE_DRIFT, mark, di, 8), 2);
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 8), 2);

	Trueup__V1__DriftEvent *d = drift_at(h, di[0]);
	assert_string_equal(d->entity->name, "users");
	assert_string_equal(d->rule_type, "spec");
	assert_string_equal(detail(d, "storage.desired"), "10Gi");
	assert_string_equal(detail(d, "storage.actual"), "20Gi");
	assert_non_null(strstr(d->reason, "storage: desired 10Gi, actual 20Gi"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	d = drift_at(h, di[1]);
	assert_string_equal(d->entity->name, "bad");
	assert_non_null(strstr(d->reason, "\"lots\" is not a quantity"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	Trueup__V1__FixCommand *c = cmd_at(h, ci[0]);
	assert_string_equal(param(c, "key"), "db:users");
	assert_string_equal(param(c, "value"), "10Gi/storage");
	trueup__v1__fix_command__free_unpacked(c, NULL);

	/* the fix lands: users is resolved; orders was never touched */
	mark = h->n_outs;
	scan_begin(h, "mongo", "m2");
	db(h, "mongo", "m2", "orders", "1024Mi", "03");
	db(h, "mongo", "m2", "users", "10240Mi", "2");
	db(h, "mongo", "m2", "bad", "lots", "1");
	scan_end(h, "mongo", "m2");
	assert_int_equal(find(h, TU_TYPE_DRIFT, mark, di, 8), 1);
	d = drift_at(h, di[0]);
	assert_string_equal(d->entity->name, "users");
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

static void spec_escalates_with_an_alert(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	scan_begin(h, "kube", "k1");
	db(h, "kube", "k1", "users", "10Gi", "2");
	scan_end(h, "kube", "k1");
	scan_begin(h, "mongo", "m1");
	db(h, "mongo", "m1", "users", "20Gi", "2");
	scan_end(h, "mongo", "m1");
	size_t ci[4];
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 4), 1);
	Trueup__V1__FixCommand *c = cmd_at(h, ci[0]);
	outcome(h, c->command_id, "set", TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED);
	/* the next full scan still differs: max_attempts 1, so escalate and alert */
	size_t mark = h->n_outs;
	scan_begin(h, "mongo", "m2");
	db(h, "mongo", "m2", "users", "20Gi", "2");
	scan_end(h, "mongo", "m2");
	Trueup__V1__DriftEvent *d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_ESCALATED);
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 4), 1);
	Trueup__V1__FixCommand *alert = cmd_at(h, ci[0]);
	assert_string_equal(param(alert, "key"), "alert:users");
	assert_string_equal(param(alert, "value"), "db-spec");
	assert_string_not_equal(alert->command_id, c->command_id);
	assert_int_equal(d->n_command_ids, 2);
	trueup__v1__fix_command__free_unpacked(alert, NULL);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	/* escalated: later scans do nothing more */
	mark = h->n_outs;
	scan_begin(h, "mongo", "m3");
	db(h, "mongo", "m3", "users", "20Gi", "2");
	scan_end(h, "mongo", "m3");
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 4), 0);
	trueup__v1__fix_command__free_unpacked(c, NULL);
	h_free(h);
}

/* ---- count ---------------------------------------------------------------------------- */

static void app_poll(struct h *h, const char *id, const char *count)
{
	const char *kv[] = { "instance_count", count, NULL };
	scan_begin(h, "do", id);
	obs_ns(h, "do", id, "app", "default", "worker", false, kv);
	scan_end(h, "do", id);
}

/* app worker says 2 (one poll of do), and 6 instances of service worker heartbeat. */
static struct h *six_for_two(void)
{
	struct h *h = h_open(policy);
	app_poll(h, "p0", "2");
	char name[32];
	for (int i = 1; i <= 6; i++) {
		snprintf(name, sizeof(name), "worker-%d", i);
		heartbeat(h, "worker", name, 30000, false);
	}
	return h;
}

static void count_confirms_before_acting_once(void **state)
{
	(void)state;
	struct h *h = six_for_two();
	size_t ci[8], di[8];
	assert_int_equal(find(h, TU_TYPE_DRIFT, 0, di, 8), 0); /* pending: no poll yet */
	app_poll(h, "p1", "2");
	app_poll(h, "p2", "2");
	assert_int_equal(find(h, TU_TYPE_DRIFT, 0, di, 8), 0); /* 2 of 3 */
	size_t mark = h->n_outs;
	app_poll(h, "p3", "2");
	Trueup__V1__DriftEvent *d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_OPENED);
	assert_string_equal(detail(d, "desired"), "2");
	assert_string_equal(detail(d, "actual"), "6");
	trueup__v1__drift_event__free_unpacked(d, NULL);
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 8), 1);
	Trueup__V1__FixCommand *c = cmd_at(h, ci[0]);
	assert_string_equal(param(c, "value"), "2/6");
	outcome(h, c->command_id, "set", TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED);
	trueup__v1__fix_command__free_unpacked(c, NULL);
	/* more polls and instance changes: the episode has its one command */
	app_poll(h, "p4", "2");
	heartbeat(h, "worker", "worker-6", 30000, true);
	app_poll(h, "p5", "2");
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 8), 1);
	/* 3 stop (one by expiry): 2 left, as desired */
	heartbeat(h, "worker", "worker-5", 30000, true);
	heartbeat(h, "worker", "worker-4", 30000, true);
	mark = h->n_outs;
	h->now += 31 * SEC;
	heartbeat(h, "worker", "worker-1", 30000, false);
	heartbeat(h, "worker", "worker-2", 30000, false);
	/* worker-3 expired with the first of those (its TTL ended) */
	d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	/* details of the evaluation that resolved it, not of the last violation */
	assert_string_equal(detail(d, "actual"), "2");
	assert_string_equal(detail(d, "desired"), "2");
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

/* A delta scan of do: BEGIN and END, observing nothing (the anchor did not change). */
static void delta_scan(struct h *h, const char *id, bool complete, const char *count)
{
	marker(h, "do", id, true, false, false);
	if (count != NULL) {
		const char *kv[] = { "instance_count", count, NULL };
		obs_ns(h, "do", id, "app", "default", "worker", false, kv);
	}
	marker(h, "do", id, false, false, complete);
}

/*
 * A producer publishes changes, not copies: a complete delta scan that does
 * not mention the unchanged anchor still polled it, and counts toward
 * confirm: once (a scan that republished it counts once, an incomplete one
 * not at all).
 */
static void count_delta_scans_are_polls(void **state)
{
	(void)state;
	struct h *h = six_for_two();
	size_t di[8], ci[8];
	delta_scan(h, "d1", true, NULL);  /* 1 */
	delta_scan(h, "d2", false, NULL); /* incomplete: not a poll */
	delta_scan(h, "d3", true, "2");   /* republished: 2, not 3 */
	assert_int_equal(find(h, TU_TYPE_DRIFT, 0, di, 8), 0);
	size_t mark = h->n_outs;
	delta_scan(h, "d4", true, NULL); /* 3 */
	Trueup__V1__DriftEvent *d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_OPENED);
	assert_string_equal(detail(d, "actual"), "6");
	trueup__v1__drift_event__free_unpacked(d, NULL);
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 8), 1);
	/* further delta scans: the episode keeps its one command */
	delta_scan(h, "d5", true, NULL);
	delta_scan(h, "d6", true, NULL);
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 8), 1);
	h_free(h);
}

static void count_unparseable_desired_is_drift(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	heartbeat(h, "worker", "worker-1", 30000, false);
	for (int i = 0; i < 3; i++)
		app_poll(h, i == 0 ? "p0" : i == 1 ? "p1" : "p2", "two");
	Trueup__V1__DriftEvent *d = one_drift(h, 0);
	assert_non_null(strstr(d->reason, "\"two\" in do is not a count"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

/* ---- reference -------------------------------------------------------------------------- */

static void kube_obj(struct h *h, const char *id, const char *kind, const char *ns,
		     const char *name, bool deleted, const char *k, const char *v)
{
	const char *kv[] = { k, v, NULL };
	obs_ns(h, "kube", id, kind, ns, name, deleted, k ? kv : NULL);
}

static void reference_guards_and_cascades(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	scan_begin(h, "kube", "k1");
	kube_obj(h, "k1", "service", "lab-a", "session-alice", false, NULL, NULL);
	kube_obj(h, "k1", "deployment", "lab-a", "session-alice", false, NULL, NULL);
	kube_obj(h, "k1", "service", "lab-a", "session-bob", false, NULL, NULL);
	kube_obj(h, "k1", "service", "lab-b", "session-carol", false, NULL, NULL);
	kube_obj(h, "k1", "endpoints", "lab-b", "session-carol", false, "ready", "2");
	kube_obj(h, "k1", "service", "lab-b", "kubernetes", false, NULL, NULL);
	size_t ci[8], di[8];
	assert_int_equal(find(h, TU_TYPE_DRIFT, 0, di, 8), 0); /* owners unknown until complete */
	scan_end(h, "kube", "k1");
	assert_int_equal(find(h, TU_TYPE_DRIFT, 0, di, 8), 2);
	Trueup__V1__DriftEvent *bob = drift_at(h, di[0]);
	Trueup__V1__DriftEvent *carol = drift_at(h, di[1]);
	assert_string_equal(bob->entity->name, "session-bob");
	assert_int_equal(bob->n_command_ids, 2);
	assert_string_equal(carol->entity->name, "session-carol");
	assert_int_equal(carol->n_command_ids, 0);
	assert_non_null(strstr(carol->reason, "left alone: endpoints lab-b/session-carol ready is 2"));
	trueup__v1__drift_event__free_unpacked(bob, NULL);
	trueup__v1__drift_event__free_unpacked(carol, NULL);
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 8), 2);
	Trueup__V1__FixCommand *c = cmd_at(h, ci[1]);
	assert_string_equal(param(c, "key"), "session:bob");
	trueup__v1__fix_command__free_unpacked(c, NULL);

	/* carol's endpoints drain: the guard holds now, so the cascade runs */
	size_t mark = h->n_outs;
	scan_begin(h, "kube", "k2");
	kube_obj(h, "k2", "service", "lab-a", "session-alice", false, NULL, NULL);
	kube_obj(h, "k2", "deployment", "lab-a", "session-alice", false, NULL, NULL);
	kube_obj(h, "k2", "service", "lab-a", "session-bob", false, NULL, NULL);
	kube_obj(h, "k2", "service", "lab-b", "session-carol", false, NULL, NULL);
	kube_obj(h, "k2", "endpoints", "lab-b", "session-carol", false, "ready", "0");
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 8), 2);
	c = cmd_at(h, ci[0]);
	assert_string_equal(param(c, "key"), "svc:lab-b/session-carol");
	trueup__v1__fix_command__free_unpacked(c, NULL);
	/* bob's deployment comes back: resolved through the watch on the owner */
	mark = h->n_outs;
	kube_obj(h, "k2", "deployment", "lab-a", "session-bob", false, NULL, NULL);
	Trueup__V1__DriftEvent *d = one_drift(h, mark);
	assert_string_equal(d->entity->name, "session-bob");
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	/* alice's deployment is deleted: at the scan's END her service becomes an orphan */
	mark = h->n_outs;
	kube_obj(h, "k2", "deployment", "lab-a", "session-alice", true, NULL, NULL);
	size_t none[4];
	assert_int_equal(find(h, TU_TYPE_DRIFT, mark, none, 4), 0); /* staged until END */
	scan_end(h, "kube", "k2");
	d = one_drift(h, mark);
	assert_string_equal(d->entity->name, "session-alice");
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_OPENED);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

/* ---- equal -------------------------------------------------------------------------------- */

static void equal_lists_every_value(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	const char *dep[] = { "container_port", "50054", "probe_port", "50054", NULL };
	scan_begin(h, "kube", "k1");
	kube_obj(h, "k1", "configmap", "prod", "grpc-config", false, "port", "50053");
	obs_ns(h, "kube", "k1", "deployment", "prod", "grpc", false, dep);
	scan_end(h, "kube", "k1");
	Trueup__V1__DriftEvent *d = one_drift(h, 0);
	assert_string_equal(d->rule, "ports");
	assert_non_null(strstr(d->reason, "configmap=50053 (configmap prod/grpc-config port in kube)"));
	assert_non_null(strstr(d->reason, "container=50054"));
	assert_non_null(strstr(d->reason, "probe=50054"));
	assert_string_equal(detail(d, "value.probe"), "50054 (deployment prod/grpc probe_port in kube)");
	trueup__v1__drift_event__free_unpacked(d, NULL);
	/* the ConfigMap is corrected: the deployment's drift resolves through the watch */
	size_t mark = h->n_outs;
	kube_obj(h, "k2", "configmap", "prod", "grpc-config", false, "port", "050054");
	d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

/* An empty value (a path the object lacks, rendered by `|default:`) is not compared. */
static void equal_skips_empty_values(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	const char *noports[] = { "container_port", "", "probe_port", "", NULL };
	const char *web[] = { "container_port", "8080", "probe_port", "8080", NULL };
	scan_begin(h, "kube", "k1");
	obs_ns(h, "kube", "k1", "deployment", "prod", "worker", false, noports);
	kube_obj(h, "k1", "configmap", "prod", "web-config", false, "port", "");
	obs_ns(h, "kube", "k1", "deployment", "prod", "web", false, web);
	scan_end(h, "kube", "k1");
	size_t di[4];
	assert_int_equal(find(h, TU_TYPE_DRIFT, 0, di, 4), 0);
	/* a value that is there and wrong is still drift; emptied again, it is not compared */
	kube_obj(h, "k2", "configmap", "prod", "web-config", false, "port", "8081");
	Trueup__V1__DriftEvent *d = one_drift(h, 0);
	assert_string_equal(d->entity->name, "web");
	assert_string_equal(detail(d, "value.configmap"), "8081 (configmap prod/web-config port in kube)");
	trueup__v1__drift_event__free_unpacked(d, NULL);
	size_t mark = h->n_outs;
	kube_obj(h, "k3", "configmap", "prod", "web-config", false, "port", "");
	d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	assert_non_null(strstr(d->reason, "values agree: container=8080"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

/* ---- pod-status ------------------------------------------------------------------------------ */

static void deployment(struct h *h, const char *id, const char *image, const char *updated,
		       const char *available)
{
	const char *kv[] = { "image", image, "replicas", "2", "updated", updated,
			     "available", available, NULL };
	obs_ns(h, "kube", id, "deployment", "prod", "web", false, kv);
}

static void pod(struct h *h, const char *id, const char *name, const char *reason,
		const char *deletion, bool deleted)
{
	const char *kv[] = { "reason", reason, "deletion_timestamp", deletion, NULL };
	if (deletion == NULL)
		kv[2] = NULL;
	obs_ns(h, "kube", id, "pod", "prod", name, deleted, kv);
}

static void pod_status_rolls_back_to_last_ready_image(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	deployment(h, "k1", "web:v1", "2", "2"); /* ready with v1: history */
	deployment(h, "k1", "web:v2", "1", "2"); /* rolled to a tag that does not exist */
	pod(h, "k1", "web-5d8c7-aaaaa", "Running", NULL, false);
	size_t mark = h->n_outs;
	pod(h, "k1", "web-7f9b2-bbbbb", "ImagePullBackOff", NULL, false);
	Trueup__V1__DriftEvent *d = one_drift(h, mark);
	assert_string_equal(d->entity->kind, "deployment");
	assert_string_equal(d->entity->name, "web");
	assert_string_equal(detail(d, "last_ready_image"), "web:v1");
	assert_string_equal(detail(d, "pods"), "prod/web-7f9b2-bbbbb");
	trueup__v1__drift_event__free_unpacked(d, NULL);
	size_t ci[4];
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 4), 1);
	Trueup__V1__FixCommand *c = cmd_at(h, ci[0]);
	assert_string_equal(param(c, "key"), "image:web");
	assert_string_equal(param(c, "value"), "web:v1");
	trueup__v1__fix_command__free_unpacked(c, NULL);
	/* a second failing pod updates the drift; no second rollback */
	mark = h->n_outs;
	pod(h, "k1", "web-7f9b2-ccccc", "ErrImagePull", NULL, false);
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 4), 0);
	/* rolled back: the failing pods go, the drift resolves */
	deployment(h, "k1", "web:v1", "2", "2");
	pod(h, "k1", "web-7f9b2-bbbbb", NULL, NULL, true);
	mark = h->n_outs;
	pod(h, "k1", "web-7f9b2-ccccc", NULL, NULL, true);
	d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

/* A failing pod of the image rolled away from is the controller's to replace: no second attempt. */
static void pod_status_waits_for_leftover_pods(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	const char *failing[] = { "reason", "ImagePullBackOff", "image", "web:v2", NULL };
	deployment(h, "k1", "web:v1", "2", "2");
	deployment(h, "k1", "web:v2", "1", "2");
	obs_ns(h, "kube", "k1", "pod", "prod", "web-7f9b2-bbbbb", false, failing);
	size_t ci[4], di[4];
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 4), 1);
	Trueup__V1__FixCommand *c = cmd_at(h, ci[0]);
	outcome(h, c->command_id, "set", TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED);
	trueup__v1__fix_command__free_unpacked(c, NULL);
	/* a complete scan after the rollback: the owner runs v1 again, its v2 pod is still there */
	size_t mark = h->n_outs;
	scan_begin(h, "kube", "k2");
	deployment(h, "k2", "web:v1", "1", "2");
	obs_ns(h, "kube", "k2", "pod", "prod", "web-7f9b2-bbbbb", false, failing);
	scan_end(h, "kube", "k2");
	assert_int_equal(find(h, TU_TYPE_DRIFT, mark, di, 4), 0);
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 4), 0);
	/* the controller removes it: resolved after one attempt */
	pod(h, "k3", "web-7f9b2-bbbbb", NULL, NULL, true);
	Trueup__V1__DriftEvent *d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	assert_int_equal(d->attempt, 1);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

static void pod_status_without_history_reports_only(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	deployment(h, "k1", "web:v2", "1", "2"); /* never seen ready */
	pod(h, "k1", "web-7f9b2-bbbbb", "ImagePullBackOff", NULL, false);
	Trueup__V1__DriftEvent *d = one_drift(h, 0);
	assert_non_null(strstr(d->reason, "no Ready image in the view's history"));
	assert_int_equal(d->n_command_ids, 0);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

static void pod_status_zombies(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	char ts[40];
	tu_time_format(h->now, ts, sizeof(ts));
	pod(h, "k1", "api-1", "ContainerStatusUnknown", NULL, false);
	pod(h, "k1", "api-2", "Running", ts, false); /* terminating from now */
	size_t di[4], ci[4];
	assert_int_equal(find(h, TU_TYPE_DRIFT, 0, di, 4), 1);
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 4), 1);
	Trueup__V1__FixCommand *c = cmd_at(h, ci[0]);
	assert_string_equal(param(c, "key"), "pod:api-1");
	trueup__v1__fix_command__free_unpacked(c, NULL);
	h->now += 59 * SEC;
	size_t mark = h->n_outs;
	tick(h);
	assert_int_equal(find(h, TU_TYPE_DRIFT, mark, di, 4), 0); /* within the grace */
	h->now += 2 * SEC;
	tick(h);
	Trueup__V1__DriftEvent *d = one_drift(h, mark);
	assert_string_equal(d->entity->name, "api-2");
	assert_non_null(strstr(d->reason, "past the grace"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	/* a deletion time that is not a time is reported, never acted on */
	mark = h->n_outs;
	pod(h, "k1", "api-3", "Running", "yesterday", false);
	d = one_drift(h, mark);
	assert_non_null(strstr(d->reason, "\"yesterday\" is not an RFC 3339 time"));
	assert_int_equal(d->n_command_ids, 0);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

/* ---- heartbeat -------------------------------------------------------------------------------- */

static void heartbeat_stale_then_back_then_forgotten(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	heartbeat(h, "batch", "w-1", 5000, false);
	heartbeat(h, "other", "o-1", 5000, false); /* another service: not this rule's */
	h->now += 6 * SEC;
	tick(h);
	Trueup__V1__DriftEvent *d = one_drift(h, 0);
	assert_string_equal(d->entity->name, "w-1");
	assert_non_null(strstr(d->reason, "is stale"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	size_t ci[4];
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 4), 1);
	/* it heartbeats again: resolved */
	size_t mark = h->n_outs;
	heartbeat(h, "batch", "w-1", 5000, false);
	d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	/* silent again, then forgotten after 10 minutes; a goodbye is never stale */
	heartbeat(h, "batch", "w-2", 5000, false);
	heartbeat(h, "batch", "w-2", 5000, true);
	h->now += 6 * SEC;
	mark = h->n_outs;
	tick(h);
	d = one_drift(h, mark);
	assert_string_equal(d->entity->name, "w-1");
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h->now += 9 * 60 * SEC;
	mark = h->n_outs;
	tick(h);
	size_t di[4];
	assert_int_equal(find(h, TU_TYPE_DRIFT, mark, di, 4), 0);
	h->now += 60 * SEC;
	tick(h);
	d = one_drift(h, mark);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	assert_non_null(strstr(d->reason, "forgotten"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(spec_compares_typed_values),
	cmocka_unit_test(spec_escalates_with_an_alert),
	cmocka_unit_test(count_confirms_before_acting_once),
	cmocka_unit_test(count_delta_scans_are_polls),
	cmocka_unit_test(count_unparseable_desired_is_drift),
	cmocka_unit_test(reference_guards_and_cascades),
	cmocka_unit_test(equal_lists_every_value),
	cmocka_unit_test(equal_skips_empty_values),
	cmocka_unit_test(pod_status_rolls_back_to_last_ready_image),
	cmocka_unit_test(pod_status_waits_for_leftover_pods),
	cmocka_unit_test(pod_status_without_history_reports_only),
	cmocka_unit_test(pod_status_zombies),
	cmocka_unit_test(heartbeat_stale_then_back_then_forgotten),
};

TU_TEST_MAIN(tests)
