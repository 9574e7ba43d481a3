/*
 * kube_test.c - tests of lib/kube.c: where resources live, escaped paths and
 * queries, Status texts, the token file (read when it changes, refused when
 * it cannot be a bearer token), and in-cluster configuration.
 */
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "kube.h"

static const char *path_of(const struct tu_kube_resource *r, const char *ns, const char *name,
			   const char *sub, struct tu_buf *b)
{
	tu_buf_reset(b);
	assert_int_equal(tu_kube_path(r, ns, name, sub, b), TU_OK);
	return tu_buf_cstr(b);
}

static void builtins(void **state)
{
	(void)state;
	struct tu_kube_resource r;
	assert_true(tu_kube_builtin("pods", &r));
	assert_string_equal(r.group, "");
	assert_string_equal(r.version, "v1");
	assert_true(r.namespaced);
	assert_true(tu_kube_builtin("nodes", &r));
	assert_false(r.namespaced);
	assert_true(tu_kube_builtin("deployments", &r));
	assert_string_equal(r.group, "apps");
	assert_true(tu_kube_builtin("ingresses", &r));
	assert_string_equal(r.group, "networking.k8s.io");
	assert_false(tu_kube_builtin("Pods", &r));
	assert_false(tu_kube_builtin("pod", &r));
	assert_false(tu_kube_builtin(NULL, &r));
	const char *names[] = { "nodes", "pods", "services", "endpoints", "configmaps",
				"deployments", "replicasets", "ingresses" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_true(tu_kube_builtin(names[i], &r));
		assert_non_null(strstr(tu_kube_builtin_names(), names[i]));
	}
	assert_true(tu_kube_group_valid("example.com"));
	assert_true(tu_kube_group_valid("cert-manager.io"));
	assert_false(tu_kube_group_valid("Example.com"));
	assert_false(tu_kube_group_valid("a/b"));
	assert_false(tu_kube_group_valid(""));
	assert_true(tu_kube_version_valid("v1beta1"));
	assert_false(tu_kube_version_valid("v1.2"));
	assert_true(tu_kube_plural_valid("network-policies"));
	assert_false(tu_kube_plural_valid("pods/scale"));
	assert_false(tu_kube_plural_valid("pods?x"));
}

static void paths(void **state)
{
	(void)state;
	struct tu_buf b;
	struct tu_kube_resource pods, nodes, deps;
	struct tu_kube_resource dbs = { "example.com", "v1", "databases", true };
	tu_buf_init(&b, 4096);
	tu_kube_builtin("pods", &pods);
	tu_kube_builtin("nodes", &nodes);
	tu_kube_builtin("deployments", &deps);
	assert_string_equal(path_of(&pods, NULL, NULL, NULL, &b), "/api/v1/pods");
	assert_string_equal(path_of(&pods, "shop", NULL, NULL, &b), "/api/v1/namespaces/shop/pods");
	assert_string_equal(path_of(&pods, "shop", "web-1", NULL, &b),
			    "/api/v1/namespaces/shop/pods/web-1");
	assert_string_equal(path_of(&nodes, NULL, "node-1", NULL, &b), "/api/v1/nodes/node-1");
	assert_string_equal(path_of(&deps, "shop", "web", "scale", &b),
			    "/apis/apps/v1/namespaces/shop/deployments/web/scale");
	assert_string_equal(path_of(&dbs, "lab", NULL, NULL, &b),
			    "/apis/example.com/v1/namespaces/lab/databases");
	assert_string_equal(path_of(&dbs, NULL, NULL, NULL, &b), "/apis/example.com/v1/databases");
	/* a subresource needs a name */
	assert_string_equal(path_of(&deps, "shop", NULL, "scale", &b),
			    "/apis/apps/v1/namespaces/shop/deployments");
	/* names never reach the URL raw */
	assert_string_equal(path_of(&pods, "a/../b", "x y?z#w", NULL, &b),
			    "/api/v1/namespaces/a%2F..%2Fb/pods/x%20y%3Fz%23w");
	/* dot segments are refused: curl would turn pods/.. into the namespace itself */
	tu_buf_reset(&b);
	assert_int_equal(tu_kube_path(&pods, "shop", "..", NULL, &b), TU_EINVAL);
	tu_buf_reset(&b);
	assert_int_equal(tu_kube_path(&pods, ".", "x", NULL, &b), TU_EINVAL);
	assert_string_equal(path_of(&pods, "shop", "...", NULL, &b),
			    "/api/v1/namespaces/shop/pods/...");
	/* a bound is honoured */
	struct tu_buf small;
	tu_buf_init(&small, 16);
	assert_int_equal(tu_kube_path(&dbs, "lab", NULL, NULL, &small), TU_ETOOBIG);
	tu_buf_release(&small);
	tu_buf_release(&b);
}

static void queries(void **state)
{
	(void)state;
	struct tu_buf b;
	tu_buf_init(&b, 4096);
	tu_buf_puts(&b, "/api/v1/pods");
	assert_int_equal(tu_kube_query(&b, "limit", "2"), TU_OK);
	assert_int_equal(tu_kube_query(&b, "labelSelector", "app in (web,api),tier!=db"), TU_OK);
	assert_int_equal(tu_kube_query(&b, "continue", "eyJ+/="), TU_OK);
	assert_string_equal(tu_buf_cstr(&b),
			    "/api/v1/pods?limit=2&labelSelector=app%20in%20%28web%2Capi%29%2Ctier%21%3Ddb"
			    "&continue=eyJ%2B%2F%3D");
	tu_buf_release(&b);
}

/* A reply with status and body. */
static void reply(struct tu_http_resp *r, long status, const char *body)
{
	tu_http_resp_init(r);
	r->status = status;
	tu_buf_init(&r->body, 1 << 16);
	tu_buf_puts(&r->body, body);
}

static void status_texts(void **state)
{
	(void)state;
	struct tu_http_resp r;
	char out[256];
	reply(&r, 409, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
		       "\"Operation cannot be fulfilled on pods \\\"w\\\": Precondition failed\","
		       "\"reason\":\"Conflict\",\"code\":409}");
	tu_kube_status_text(&r, out, sizeof(out));
	assert_string_equal(out, "HTTP 409 Conflict: Operation cannot be fulfilled on pods \"w\": "
				 "Precondition failed");
	tu_http_resp_release(&r);
	reply(&r, 410, "{\"kind\":\"Status\",\"message\":\"too old\",\"reason\":\"Expired\"}");
	tu_kube_status_text(&r, out, sizeof(out));
	assert_string_equal(out, "HTTP 410 Gone (Expired): too old");
	tu_http_resp_release(&r);
	reply(&r, 502, "<html>bad\ngateway</html>");
	tu_kube_status_text(&r, out, sizeof(out));
	assert_string_equal(out, "HTTP 502 Bad Gateway: <html>bad?gateway</html>");
	tu_http_resp_release(&r);
	reply(&r, 418, "");
	tu_kube_status_text(&r, out, sizeof(out));
	assert_string_equal(out, "HTTP 418");
	tu_http_resp_release(&r);
	/* a JSON body that is not a Status is quoted, bounded */
	reply(&r, 400, "{\"kind\":\"Pod\"}");
	tu_kube_status_text(&r, out, 20);
	assert_string_equal(out, "HTTP 400 Bad Reques");
	tu_http_resp_release(&r);
}

/* A temp dir with a token file; the conn points at it. */
struct fx {
	char dir[64];
	char token[128];
	struct tu_kube_conn conn;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/kube_test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->token, sizeof(f->token), "%s/token", f->dir);
	f->conn.server = "https://127.0.0.1:1";
	f->conn.token_file = f->token;
	f->conn.rate = 0;
	f->conn.max_body = 1 << 20;
}

static void fx_release(struct fx *f)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

/* Sets the file's mtime to t seconds (ns 0). */
static void set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void token_reload(void **state)
{
	(void)state;
	struct fx f;
	tu_kube *k = NULL;
	char err[512];
	bool changed = false;
	fx_init(&f);
	write_file(f.token, "abc.def-1\n");
	set_mtime(f.token, 1000);
	assert_int_equal(tu_kube_create(&f.conn, 1000, "test", &k, err, sizeof(err)), TU_OK);
	assert_string_equal(tu__kube_token(k), "");
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_OK);
	assert_true(changed);
	assert_string_equal(tu__kube_token(k), "abc.def-1"); /* newline dropped */
	/* unchanged file: not read again */
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_OK);
	assert_false(changed);
	/* same size, same mtime, other content: only a forced read (after a 401) sees it */
	write_file(f.token, "abc.def-2\n");
	set_mtime(f.token, 1000);
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_OK);
	assert_false(changed);
	assert_string_equal(tu__kube_token(k), "abc.def-1");
	assert_int_equal(tu__kube_token_refresh(k, true, &changed, err, sizeof(err)), TU_OK);
	assert_true(changed);
	assert_string_equal(tu__kube_token(k), "abc.def-2");
	/* a new mtime is enough */
	write_file(f.token, "abc.def-3\n");
	set_mtime(f.token, 2000);
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_OK);
	assert_true(changed);
	assert_string_equal(tu__kube_token(k), "abc.def-3");
	/* so is a new size (same mtime) */
	write_file(f.token, "abc.def-four\n");
	set_mtime(f.token, 2000);
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_OK);
	assert_true(changed);
	assert_string_equal(tu__kube_token(k), "abc.def-four");
	/* a replaced file (new inode, as kubelet's atomic writer does) */
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s/new", f.dir);
	write_file(tmp, "abc.def-five\n");
	set_mtime(tmp, 2000);
	assert_int_equal(rename(tmp, f.token), 0);
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_OK);
	assert_true(changed);
	assert_string_equal(tu__kube_token(k), "abc.def-five");
	/* a token that cannot go into a header is refused; the old one stays */
	write_file(f.token, "abc def\n");
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, f.token));
	assert_null(strstr(err, "abc"));
	assert_string_equal(tu__kube_token(k), "abc.def-five");
	write_file(f.token, "abc\r\nX-Injected: 1\n");
	assert_int_equal(tu__kube_token_refresh(k, true, &changed, err, sizeof(err)), TU_EINVAL);
	write_file(f.token, "\n");
	assert_int_equal(tu__kube_token_refresh(k, true, &changed, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "empty"));
	/* over the bound */
	char *big = malloc(TU_KUBE_MAX_TOKEN + 2);
	memset(big, 'a', TU_KUBE_MAX_TOKEN + 1);
	big[TU_KUBE_MAX_TOKEN + 1] = '\0';
	write_file(f.token, big);
	free(big);
	assert_int_equal(tu__kube_token_refresh(k, true, &changed, err, sizeof(err)), TU_ETOOBIG);
	/* gone */
	unlink(f.token);
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_EIO);
	assert_non_null(strstr(err, "token file"));
	tu_kube_destroy(k);
	fx_release(&f);
}

static void token_failure_fails_request(void **state)
{
	(void)state;
	struct fx f;
	tu_kube *k = NULL;
	char err[512];
	struct tu_http_resp resp;
	fx_init(&f); /* no token file written */
	assert_int_equal(tu_kube_create(&f.conn, 1000, "test", &k, err, sizeof(err)), TU_OK);
	tu_http_resp_init(&resp);
	struct tu_kube_req req = { .method = "GET", .path = "/api/v1/pods" };
	assert_int_equal(tu_kube_do(k, &req, &resp), TU_EAUTH);
	assert_non_null(strstr(resp.error, "token file"));
	assert_int_equal(resp.status, 0);
	tu_http_resp_release(&resp);
	tu_kube_destroy(k);
	fx_release(&f);
}

static void create_checks(void **state)
{
	(void)state;
	struct tu_kube_conn c = { .max_body = 1 << 20 };
	tu_kube *k = NULL;
	char err[512];
	assert_int_equal(tu_kube_create(&c, 1000, "t", &k, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "server"));
	c.server = "http://127.0.0.1:8080";
	assert_int_equal(tu_kube_create(&c, 1000, "t", &k, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "https"));
	c.server = "https://k8s.example:6443/prefix///";
	assert_int_equal(tu_kube_create(&c, 1000, "t", &k, err, sizeof(err)), TU_OK);
	assert_string_equal(tu_kube_server(k), "https://k8s.example:6443/prefix");
	assert_null(tu_kube_own_namespace(k));
	assert_string_equal(tu__kube_token(k), "");
	tu_kube_destroy(k);
	tu_kube_destroy(NULL);
}

static void in_cluster(void **state)
{
	(void)state;
	struct fx f;
	tu_kube *k = NULL;
	char err[512], path[160];
	bool changed = false;
	fx_init(&f);
	snprintf(path, sizeof(path), "%s/token", f.dir);
	write_file(path, "sa-token");
	snprintf(path, sizeof(path), "%s/namespace", f.dir);
	write_file(path, "lab\n");
	struct tu_kube_conn c = { .in_cluster = true, .service_account_dir = f.dir,
				  .max_body = 1 << 20 };
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(tu_kube_create(&c, 1000, "t", &k, err, sizeof(err)), TU_EINVAL);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(tu_kube_create(&c, 1000, "t", &k, err, sizeof(err)), TU_OK);
	assert_string_equal(tu_kube_server(k), "https://10.96.0.1:443");
	assert_string_equal(tu_kube_own_namespace(k), "lab");
	assert_int_equal(tu__kube_token_refresh(k, false, &changed, err, sizeof(err)), TU_OK);
	assert_string_equal(tu__kube_token(k), "sa-token");
	tu_kube_destroy(k);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(tu_kube_create(&c, 1000, "t", &k, err, sizeof(err)), TU_OK);
	assert_string_equal(tu_kube_server(k), "https://[fd00::1]:443");
	tu_kube_destroy(k);
	setenv("KUBERNETES_SERVICE_PORT", "443/evil", 1);
	assert_int_equal(tu_kube_create(&c, 1000, "t", &k, err, sizeof(err)), TU_EINVAL);
	/* an explicit server wins over the environment */
	c.server = "https://api.example:6443";
	assert_int_equal(tu_kube_create(&c, 1000, "t", &k, err, sizeof(err)), TU_OK);
	assert_string_equal(tu_kube_server(k), "https://api.example:6443");
	tu_kube_destroy(k);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	fx_release(&f);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
	cmocka_unit_test(builtins),
	cmocka_unit_test(paths),
	cmocka_unit_test(queries),
	cmocka_unit_test(status_texts),
	cmocka_unit_test(token_reload),
	cmocka_unit_test(token_failure_fails_request),
	cmocka_unit_test(create_checks),
	cmocka_unit_test(in_cluster),
};
TU_TEST_MAIN(tests)
