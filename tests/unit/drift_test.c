/*
 * drift_test.c - the drift state machine (processor/drift.c) when one drift's
 * fix touches several sources: a fix is judged only once every source it
 * touched has completed a scan that began after the fix finished, so that
 * one source's fresh scan never condemns a fix on another source's stale
 * observations; and what is left where the rule has no action is reported,
 * not retried with empty attempts until it escalates.
 */
#include "foldh.h"

static const char *policy =
	"processor: { view: /nonexistent, command_ttl: 10m }\n"
	"sources:\n"
	"  - { name: declared, type: files, path: /tmp }\n"
	"  - { name: docker, type: files, path: /tmp }\n"
	"  - { name: redis, type: files, path: /tmp }\n"
	"  - { name: kube, type: files, path: /tmp }\n"
	"targets:\n"
	"  - { name: redis, type: redis }\n"
	"rules:\n"
	"  - name: ghost\n"
	"    type: presence\n"
	"    kind: worker\n"
	"    sources: [declared, docker, redis, kube]\n"
	"    authority: declared\n"
	"    mode: enforce\n"
	"    for: 1s\n"
	"    max_attempts: 3\n"
	"    when_extra:\n"
	"      docker: [{ target: redis, action: del, key: \"docker:{name}\" }]\n"
	"      redis: [{ target: redis, action: del, key: \"redis:{name}\" }]\n"
	"    when_missing:\n"
	"      redis: [{ target: redis, action: hset, key: \"redis:{name}\", fields: { status: ready } }]\n";

/* One complete full scan of source holding workers first..last. */
static void full_scan(struct h *h, const char *source, const char *id, int first, int last)
{
	marker(h, source, id, true, true, false);
	for (int i = first; i <= last; i++) {
		char name[32];
		snprintf(name, sizeof(name), "k3s-worker-%d", i);
		obs(h, source, id, "worker", name, false, NULL, NULL);
	}
	marker(h, source, id, false, true, true);
}

/* A complete delta scan of source; with gone, it says worker-3 was deleted. */
static void delta_scan(struct h *h, const char *source, const char *id, bool gone)
{
	marker(h, source, id, true, false, false);
	if (gone)
		obs(h, source, id, "worker", "k3s-worker-3", true, NULL, NULL);
	marker(h, source, id, false, false, true);
}

static void succeed_all(struct h *h, const size_t *ci, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		Trueup__V1__FixCommand *c = cmd_at(h, ci[i]);
		outcome(h, c->command_id, "del", TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED);
		trueup__v1__fix_command__free_unpacked(c, NULL);
	}
}

/*
 * Declared 1..2, kube 1..2; docker and redis 1..3: worker-3 is extra in both,
 * one command each. Both succeed, and redis's next scan shows its part fixed;
 * docker has not scanned since. *mark: the outputs before that scan.
 */
static struct h *fixed_then_redis_rescanned(size_t *mark)
{
	struct h *h = h_open(policy);
	full_scan(h, "declared", "d1", 1, 2);
	full_scan(h, "kube", "k1", 1, 2);
	full_scan(h, "docker", "o1", 1, 3);
	full_scan(h, "redis", "r1", 1, 3);
	h->now += 2 * SEC; /* for: 1s has passed: the drift opens with both actions */
	tick(h);
	size_t ci[4];
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 4), 2);
	succeed_all(h, ci, 2);
	*mark = h->n_outs;
	delta_scan(h, "redis", "r2", true);
	return h;
}

static Trueup__V1__DriftEvent *last_drift(struct h *h)
{
	size_t di[64];
	size_t n = find(h, TU_TYPE_DRIFT, 0, di, 64);
	assert_true(n > 0);
	return drift_at(h, di[n - 1]);
}

static void fix_waits_for_every_source_it_touched(void **state)
{
	(void)state;
	size_t ci[8], mark = 0;
	struct h *h = fixed_then_redis_rescanned(&mark);
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 8), 0);
	Trueup__V1__DriftEvent *d = last_drift(h);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_UPDATED);
	assert_int_equal(d->attempt, 1);
	assert_null(strstr(d->reason, "did not hold"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	/* kube, which agreed all along, scanning again changes nothing */
	delta_scan(h, "kube", "k2", false);
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 8), 0);
	/* docker's scan shows the container gone: resolved after one attempt */
	delta_scan(h, "docker", "o2", true);
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 8), 0);
	d = last_drift(h);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	assert_int_equal(d->attempt, 1);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

static void fix_retried_where_it_did_not_hold(void **state)
{
	(void)state;
	size_t ci[8], mark = 0;
	struct h *h = fixed_then_redis_rescanned(&mark);
	/* docker's fresh scan still has worker-3: retry there, and only there */
	delta_scan(h, "docker", "o2", false);
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 8), 1);
	Trueup__V1__FixCommand *c = cmd_at(h, ci[0]);
	assert_int_equal(c->attempt, 2);
	assert_string_equal(tu_pb_attrs_get(c->params, c->n_params, "key"), "docker:k3s-worker-3");
	trueup__v1__fix_command__free_unpacked(c, NULL);
	Trueup__V1__DriftEvent *d = last_drift(h);
	assert_non_null(strstr(d->reason, "fix did not hold; attempt 2 of 3"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

/* Declared 1..3, docker 1..3; redis and kube 1..2: worker-3 missing in both. */
static void missing_where_no_action_applies_stays_open(void **state)
{
	(void)state;
	struct h *h = h_open(policy);
	full_scan(h, "declared", "d1", 1, 3);
	full_scan(h, "docker", "o1", 1, 3);
	full_scan(h, "redis", "r1", 1, 2);
	full_scan(h, "kube", "k1", 1, 2);
	h->now += 2 * SEC;
	tick(h);
	size_t ci[8];
	assert_int_equal(find(h, TU_TYPE_COMMAND, 0, ci, 8), 1); /* redis only: kube has none */
	Trueup__V1__FixCommand *c = cmd_at(h, ci[0]);
	assert_string_equal(c->action, "hset");
	outcome(h, c->command_id, "hset", TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED);
	trueup__v1__fix_command__free_unpacked(c, NULL);
	size_t mark = h->n_outs;
	/* redis has it now; kube still lacks it, and nothing can act there */
	marker(h, "redis", "r2", true, false, false);
	obs(h, "redis", "r2", "worker", "k3s-worker-3", false, "status", "ready");
	marker(h, "redis", "r2", false, false, true);
	for (int round = 0; round < 4; round++) {
		char id[16];
		snprintf(id, sizeof(id), "k%d", round + 2);
		delta_scan(h, "kube", id, false);
		snprintf(id, sizeof(id), "r%d", round + 3);
		delta_scan(h, "redis", id, false);
	}
	assert_int_equal(find(h, TU_TYPE_COMMAND, mark, ci, 8), 0);
	size_t di[16];
	size_t n = find(h, TU_TYPE_DRIFT, mark, di, 16);
	assert_int_equal(n, 1); /* one update: what is left to fix changed */
	Trueup__V1__DriftEvent *d = drift_at(h, di[0]);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_UPDATED);
	assert_int_equal(d->attempt, 1);
	assert_non_null(strstr(d->reason, "is missing in kube (authority"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	/* the kubelet registers the node: resolved */
	marker(h, "kube", "k9", true, false, false);
	obs(h, "kube", "k9", "worker", "k3s-worker-3", false, NULL, NULL);
	marker(h, "kube", "k9", false, false, true);
	d = last_drift(h);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(fix_waits_for_every_source_it_touched),
	cmocka_unit_test(fix_retried_where_it_did_not_hold),
	cmocka_unit_test(missing_where_no_action_applies_stays_open),
};

TU_TEST_MAIN(tests)
