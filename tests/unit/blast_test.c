/*
 * blast_test.c - blast radius in the fold (processor/blast.c, the budget in
 * processor/drift.c): a scan that would empty a source is held as suspect
 * (no entity goes absent, no command derives from it) until an operator or
 * later scans confirm, or the source recovers; rules' budgets hold
 * destructive commands past their limit for approval.
 */
#include "foldh.h"

static const char *policy =
	"processor:\n"
	"  view: /nonexistent\n"
	"  on_suspect: [{ target: redis, action: set, key: \"alert:{source}\", value: \"{held}/{present}\" }]\n"
	"sources:\n"
	"  - { name: declared, type: files, path: /tmp, confirm_scans: %d }\n"
	"  - { name: redis, type: redis, observe: [ { kind: worker, scan: \"w:*\" } ] }\n"
	"targets:\n"
	"  - { name: redis, type: redis }\n"
	"rules:\n"
	"  - name: ghost\n"
	"    type: presence\n"
	"    kind: worker\n"
	"    sources: [declared, redis]\n"
	"    authority: declared\n"
	"    mode: enforce\n"
	"    budget: { max: %d, window: 10m }\n"
	"    when_extra:\n"
	"      redis: [{ target: redis, action: del, key: \"w:{name}\" }]\n";

static struct h *open_policy(int confirm_scans, int budget)
{
	char yaml[4096];
	snprintf(yaml, sizeof(yaml), policy, confirm_scans, budget);
	return h_open(yaml);
}

/* A complete full scan of source holding workers lo..hi (ns default). */
static void scan(struct h *h, const char *source, const char *id, int lo, int hi)
{
	marker(h, source, id, true, true, false);
	for (int i = lo; i <= hi; i++) {
		char name[32];
		snprintf(name, sizeof(name), "w%02d", i);
		obs(h, source, id, "worker", name, false, NULL, NULL);
	}
	marker(h, source, id, false, true, true);
}

static bool present(struct h *h, const char *source, const char *name)
{
	char key[128];
	int n = snprintf(key, sizeof(key), "%s%cworker%cdefault%c%s", source, 0, 0, 0, name);
	MDB_txn *txn = NULL;
	assert_int_equal(tu_view_begin(h->view, false, &txn), TU_OK);
	MDB_val k = { (size_t)n, key }, d;
	bool yes = mdb_get(txn, tu_view_dbs(h->view)->bysrc, &k, &d) == 0;
	tu_view_abort(h->view, txn);
	return yes;
}

/* The last drift event of rule for entity name after index from, or NULL. */
static Trueup__V1__DriftEvent *last_drift(struct h *h, size_t from, const char *rule,
					  const char *name)
{
	size_t di[64];
	size_t n = find(h, TU_TYPE_DRIFT, from, di, 64);
	for (size_t i = n; i-- > 0;) {
		Trueup__V1__DriftEvent *d = drift_at(h, di[i]);
		if (strcmp(d->rule, rule) == 0 && strcmp(d->entity->name, name) == 0)
			return d;
		trueup__v1__drift_event__free_unpacked(d, NULL);
	}
	return NULL;
}

static size_t count_cmds(struct h *h, size_t from, const char *action)
{
	size_t ci[256];
	size_t n = find(h, TU_TYPE_COMMAND, from, ci, 256), k = 0;
	for (size_t i = 0; i < n; i++) {
		Trueup__V1__FixCommand *c = cmd_at(h, ci[i]);
		k += strcmp(c->action, action) == 0;
		trueup__v1__fix_command__free_unpacked(c, NULL);
	}
	return k;
}

static void emptied_source_is_held_until_approved(void **state)
{
	(void)state;
	struct h *h = open_policy(0, 100);
	scan(h, "declared", "d1", 1, 20);
	scan(h, "redis", "r1", 1, 20);
	size_t mark = h->n_outs;
	scan(h, "declared", "d2", 1, 5); /* the authority lost 15 of 20: 75% */
	assert_true(present(h, "declared", "w20"));
	assert_int_equal(count_cmds(h, mark, "del"), 0); /* no fleet deletion */
	Trueup__V1__DriftEvent *d = last_drift(h, mark, "source-suspect", "declared");
	assert_non_null(d);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_OPENED);
	assert_string_equal(d->rule_type, "source-suspect");
	assert_string_equal(tu_pb_attrs_get(d->details, d->n_details, "held"), "15");
	assert_string_equal(tu_pb_attrs_get(d->details, d->n_details, "present"), "20");
	char scan_id[64];
	snprintf(scan_id, sizeof(scan_id), "%s", tu_pb_attrs_get(d->details, d->n_details, "scan_id"));
	assert_string_equal(scan_id, "d2");
	trueup__v1__drift_event__free_unpacked(d, NULL);
	assert_int_equal(count_cmds(h, mark, "set"), 1); /* the alert */
	/* still empty: still held (confirm_scans 0: only an operator confirms) */
	mark = h->n_outs;
	scan(h, "declared", "d3", 1, 5);
	assert_true(present(h, "declared", "w20"));
	assert_int_equal(count_cmds(h, mark, "del"), 0);
	assert_int_equal(count_cmds(h, mark, "set"), 0); /* one alert per episode */
	/* an operator confirms: the deletions apply, the rules act, the drift resolves */
	Trueup__V1__Approval a = TRUEUP__V1__APPROVAL__INIT;
	a.command_id = scan_id;
	a.approved = true;
	a.approver = "alice";
	mark = h->n_outs;
	fold_msg(h, "trueup.approve.d2", TU_TYPE_APPROVAL, &a.base);
	assert_false(present(h, "declared", "w20"));
	assert_true(present(h, "declared", "w05"));
	assert_int_equal(count_cmds(h, mark, "del"), 15);
	d = last_drift(h, mark, "source-suspect", "declared");
	assert_non_null(d);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	assert_non_null(strstr(d->reason, "confirmed by alice"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

static void recovered_source_deletes_nothing(void **state)
{
	(void)state;
	struct h *h = open_policy(0, 100);
	scan(h, "declared", "d1", 1, 20);
	scan(h, "redis", "r1", 1, 20);
	size_t mark = h->n_outs;
	/* a delta scan that deletes 12 of 20 (60%) */
	marker(h, "declared", "d2", true, false, false);
	for (int i = 9; i <= 20; i++) {
		char name[32];
		snprintf(name, sizeof(name), "w%02d", i);
		obs(h, "declared", "d2", "worker", name, true, NULL, NULL);
	}
	marker(h, "declared", "d2", false, false, true);
	assert_true(present(h, "declared", "w15"));
	/* the source comes back whole: nothing was ever deleted downstream */
	scan(h, "declared", "d3", 1, 20);
	assert_true(present(h, "declared", "w15"));
	assert_int_equal(count_cmds(h, mark, "del"), 0);
	Trueup__V1__DriftEvent *d = last_drift(h, mark, "source-suspect", "declared");
	assert_non_null(d);
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	trueup__v1__drift_event__free_unpacked(d, NULL);
	/* a small shrink is not suspect: applied at the scan's END */
	mark = h->n_outs;
	scan(h, "declared", "d4", 1, 18);
	assert_false(present(h, "declared", "w19"));
	assert_int_equal(count_cmds(h, mark, "del"), 2);
	assert_null(last_drift(h, mark, "source-suspect", "declared"));
	h_free(h);
}

static void later_scans_confirm(void **state)
{
	(void)state;
	struct h *h = open_policy(1, 100);
	scan(h, "declared", "d1", 1, 20);
	scan(h, "redis", "r1", 1, 20);
	size_t mark = h->n_outs;
	scan(h, "declared", "d2", 1, 4);
	assert_true(present(h, "declared", "w10"));
	scan(h, "declared", "d3", 1, 4); /* one more complete scan agrees */
	assert_false(present(h, "declared", "w10"));
	assert_int_equal(count_cmds(h, mark, "del"), 16);
	Trueup__V1__DriftEvent *d = last_drift(h, mark, "source-suspect", "declared");
	assert_int_equal(d->state, TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED);
	assert_non_null(strstr(d->reason, "confirmed by 1 more complete scans"));
	trueup__v1__drift_event__free_unpacked(d, NULL);
	h_free(h);
}

static void incomplete_scan_applies_nothing(void **state)
{
	(void)state;
	struct h *h = open_policy(0, 100);
	scan(h, "declared", "d1", 1, 4); /* few entities: below min_entities */
	scan(h, "redis", "r1", 1, 4);
	size_t mark = h->n_outs;
	marker(h, "declared", "d2", true, false, false);
	obs(h, "declared", "d2", "worker", "w04", true, NULL, NULL);
	marker(h, "declared", "d2", false, false, false); /* incomplete */
	assert_true(present(h, "declared", "w04"));
	assert_int_equal(count_cmds(h, mark, "del"), 0);
	scan(h, "declared", "d3", 1, 3); /* complete: applied (under min_entities: never suspect) */
	assert_false(present(h, "declared", "w04"));
	assert_int_equal(count_cmds(h, mark, "del"), 1);
	h_free(h);
}

static void budget_holds_destructive_commands(void **state)
{
	(void)state;
	struct h *h = open_policy(0, 3);
	scan(h, "declared", "d1", 1, 20);
	size_t mark = h->n_outs;
	scan(h, "redis", "r1", 1, 25); /* 5 ghosts, budget 3 per 10 minutes */
	assert_int_equal(count_cmds(h, mark, "del"), 3);
	size_t held = 0;
	size_t di[64];
	size_t n = find(h, TU_TYPE_DRIFT, mark, di, 64);
	for (size_t i = 0; i < n; i++) {
		Trueup__V1__DriftEvent *d = drift_at(h, di[i]);
		held += d->n_command_ids == 1;
		trueup__v1__drift_event__free_unpacked(d, NULL);
	}
	assert_int_equal(held, 5); /* every drift lists its command; 2 of them wait */
	/* past the window the budget is back */
	h->now += 11 * 60 * SEC;
	mark = h->n_outs;
	for (int i = 26; i <= 27; i++) {
		char name[32];
		snprintf(name, sizeof(name), "w%02d", i);
		obs(h, "redis", "r2", "worker", name, false, NULL, NULL);
	}
	assert_int_equal(count_cmds(h, mark, "del"), 2);
	h_free(h);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(emptied_source_is_held_until_approved),
	cmocka_unit_test(recovered_source_deletes_nothing),
	cmocka_unit_test(later_scans_confirm),
	cmocka_unit_test(incomplete_scan_applies_nothing),
	cmocka_unit_test(budget_holds_destructive_commands),
};

TU_TEST_MAIN(tests)
