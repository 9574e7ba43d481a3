/*
 * kube.c - Kubernetes API client (see kube.h).
 *
 * Invariants: `token` holds what the token file held at its last read, and
 * (dev, ino, size, mtime) describe that file then; a token file that cannot
 * be read leaves the old token in place but fails the request, so a request
 * is never sent with a token other than the file's current one once a change
 * was seen. The rate limiter is taken once per attempt (retries included).
 */
#include "kube.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "log.h"
#include "ratelimit.h"
#include "secret.h"
#include "xalloc.h"

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
#define MAX_NAMESPACE_FILE 253 /* bytes of the service account's namespace file */
#define EXCERPT 200            /* bytes of a non-Status body quoted in a message */
#define DEFAULT_RETRY_MS 1000  /* wait after a 429 without Retry-After */

struct tu_kube {
	char *server;          /* base URL, no trailing '/' */
	char *token_file;      /* NULL: no bearer token */
	char *own_ns;          /* service account namespace (in-cluster), or NULL */
	char *who;             /* "source kube" in logs */
	char token[TU_KUBE_MAX_TOKEN + 1]; /* current token, "" before the first read */
	bool have_stat;        /* the fields below describe the last read */
	dev_t dev;             /* device of the token file at the last read */
	ino_t ino;             /* its inode (a replaced file has another) */
	off_t size;            /* its size */
	struct timespec mtime; /* its modification time */
	int64_t retry_after_max; /* ms, from the config */
	tu_http *http;         /* owned */
	struct tu_ratelimit rl; /* requests per second */
	struct tu_buf url;     /* scratch: server + path */
};

/* ---- resources and paths ------------------------------------------------------------- */

/* The built-in resources; plural names are what `resource:` and params take. */
static const struct tu_kube_resource builtins[] = {
	{ "", "v1", "nodes", false },
	{ "", "v1", "namespaces", false },
	{ "", "v1", "pods", true },
	{ "", "v1", "services", true },
	{ "", "v1", "endpoints", true },
	{ "", "v1", "configmaps", true },
	{ "", "v1", "persistentvolumeclaims", true },
	{ "apps", "v1", "deployments", true },
	{ "apps", "v1", "replicasets", true },
	{ "apps", "v1", "statefulsets", true },
	{ "apps", "v1", "daemonsets", true },
	{ "networking.k8s.io", "v1", "ingresses", true },
};

bool tu_kube_builtin(const char *name, struct tu_kube_resource *out)
{
	for (size_t i = 0; name != NULL && i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		if (strcmp(builtins[i].plural, name) == 0) {
			*out = builtins[i];
			return true;
		}
	}
	return false;
}

const char *tu_kube_builtin_names(void)
{
	return "nodes, namespaces, pods, services, endpoints, configmaps, persistentvolumeclaims, "
	       "deployments, replicasets, statefulsets, daemonsets, ingresses";
}

/* s holds only lowercase letters, digits and the characters of extra, and is not empty. */
static bool word_valid(const char *s, const char *extra)
{
	for (const char *p = s; *p != '\0'; p++) {
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') &&
		    strchr(extra, *p) == NULL)
			return false;
	}
	return *s != '\0';
}

bool tu_kube_group_valid(const char *s)
{
	return word_valid(s, "-.") && strlen(s) <= 253;
}

bool tu_kube_version_valid(const char *s)
{
	return word_valid(s, "") && strlen(s) <= 63;
}

bool tu_kube_plural_valid(const char *s)
{
	return word_valid(s, "-") && strlen(s) <= 63;
}

static tu_status segment(struct tu_buf *out, const char *s)
{
	tu_status st = tu_buf_putc(out, '/');
	return st == TU_OK ? tu_http_escape(s, out) : st;
}

tu_status tu_kube_path(const struct tu_kube_resource *r, const char *ns, const char *name,
		       const char *sub, struct tu_buf *out)
{
	tu_status st = TU_OK;
	if (r->group == NULL || r->group[0] == '\0') {
		st = tu_buf_puts(out, "/api");
	} else {
		st = tu_buf_puts(out, "/apis");
		if (st == TU_OK)
			st = segment(out, r->group);
	}
	if (st == TU_OK)
		st = segment(out, r->version);
	if (st == TU_OK && ns != NULL) {
		st = tu_buf_puts(out, "/namespaces");
		if (st == TU_OK)
			st = segment(out, ns);
	}
	if (st == TU_OK)
		st = segment(out, r->plural);
	if (st == TU_OK && name != NULL)
		st = segment(out, name);
	if (st == TU_OK && name != NULL && sub != NULL)
		st = segment(out, sub);
	return st;
}

tu_status tu_kube_query(struct tu_buf *url, const char *key, const char *value)
{
	bool first = url->len == 0 || memchr(url->data, '?', url->len) == NULL;
	tu_status st = tu_buf_putc(url, first ? '?' : '&');
	if (st == TU_OK)
		st = tu_http_escape(key, url);
	if (st == TU_OK)
		st = tu_buf_putc(url, '=');
	if (st == TU_OK)
		st = tu_http_escape(value, url);
	return st;
}

/* ---- creation ------------------------------------------------------------------------ */

/* Reads the service account's namespace file; NULL (and a warning) if it cannot. */
static char *read_namespace(const char *dir, const char *who)
{
	char path[4096], buf[MAX_NAMESPACE_FILE + 2], err[512];
	snprintf(path, sizeof(path), "%s/namespace", dir);
	if (tu_secret_read_max(path, MAX_NAMESPACE_FILE, "namespace file", buf, sizeof(buf), err,
			       sizeof(err)) != TU_OK || buf[0] == '\0') {
		tu_warn("%s: no namespace of its own: %s", who, err[0] ? err : "empty file");
		return NULL;
	}
	return tu_xstrdup(buf);
}

/* The in-cluster server URL from KUBERNETES_SERVICE_HOST/_PORT (IPv6 hosts bracketed). */
static tu_status in_cluster_server(char **out, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (host == NULL || *host == '\0' || port == NULL || *port == '\0') {
		snprintf(err, errlen, "in_cluster: KUBERNETES_SERVICE_HOST and "
				      "KUBERNETES_SERVICE_PORT are not set (not running in a pod?)");
		return TU_EINVAL;
	}
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    strcspn(host, "/?#@ ") != strlen(host) || strlen(host) > 253) {
		snprintf(err, errlen, "in_cluster: KUBERNETES_SERVICE_HOST/PORT do not form a URL");
		return TU_EINVAL;
	}
	bool v6 = strchr(host, ':') != NULL;
	*out = tu_xasprintf("https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
	return TU_OK;
}

tu_status tu_kube_create(const struct tu_kube_conn *conn, int64_t timeout_ms, const char *who,
			 tu_kube **out, char *err, size_t errlen)
{
	const char *sa = conn->service_account_dir ? conn->service_account_dir : SA_DIR_DEFAULT;
	char *server = NULL, *ca = NULL;
	tu_kube *k = NULL;
	tu_status st = TU_OK;

	if (conn->server != NULL) {
		server = tu_xstrdup(conn->server);
	} else if (conn->in_cluster) {
		st = in_cluster_server(&server, err, errlen);
		if (st != TU_OK)
			goto out;
	} else {
		snprintf(err, errlen, "server: missing (or set in_cluster: true)");
		st = TU_EINVAL;
		goto out;
	}
	if (strncmp(server, "https://", 8) != 0 || server[8] == '\0') {
		snprintf(err, errlen, "server \"%s\": must be an https:// URL (TLS is always "
				      "verified)", server);
		st = TU_EINVAL;
		goto out;
	}
	while (strlen(server) > 8 && server[strlen(server) - 1] == '/')
		server[strlen(server) - 1] = '\0';
	if (conn->ca_file != NULL)
		ca = tu_xstrdup(conn->ca_file);
	else if (conn->in_cluster)
		ca = tu_xasprintf("%s/ca.crt", sa);

	k = tu_xcalloc(1, sizeof(*k));
	struct tu_http_opts ho = {
		.ca_file = ca,
		.cert_file = conn->cert_file,
		.key_file = conn->key_file,
		.timeout_ms = timeout_ms,
		.max_body = conn->max_body > 0 ? (size_t)conn->max_body : 32u << 20,
	};
	st = tu_http_create(&ho, &k->http, err, errlen);
	if (st != TU_OK)
		goto out;
	k->server = server;
	server = NULL;
	if (conn->token_file != NULL)
		k->token_file = tu_xstrdup(conn->token_file);
	else if (conn->in_cluster)
		k->token_file = tu_xasprintf("%s/token", sa);
	k->who = tu_xstrdup(who);
	if (conn->in_cluster)
		k->own_ns = read_namespace(sa, who);
	k->retry_after_max = conn->retry_after_max > 0 ? conn->retry_after_max : 10000;
	tu_ratelimit_init(&k->rl, conn->rate, conn->burst > 0 ? conn->burst : 2.0 * conn->rate);
	tu_buf_init(&k->url, TU_KUBE_MAX_URL);
	*out = k;
	k = NULL;
out:
	if (k != NULL) {
		tu_http_destroy(k->http);
		free(k);
	}
	free(server);
	free(ca);
	return st;
}

void tu_kube_destroy(tu_kube *k)
{
	if (k == NULL)
		return;
	tu_secret_wipe(k->token, sizeof(k->token));
	tu_http_destroy(k->http);
	tu_ratelimit_release(&k->rl);
	tu_buf_release(&k->url);
	free(k->server);
	free(k->token_file);
	free(k->own_ns);
	free(k->who);
	free(k);
}

const char *tu_kube_server(const tu_kube *k)
{
	return k->server;
}

const char *tu_kube_own_namespace(const tu_kube *k)
{
	return k->own_ns;
}

/* ---- token --------------------------------------------------------------------------- */

const char *tu__kube_token(const tu_kube *k)
{
	return k->token;
}

tu_status tu__kube_token_refresh(tu_kube *k, bool force, bool *changed, char *err,
				 size_t errlen)
{
	struct stat sb;
	char buf[TU_KUBE_MAX_TOKEN + 1];
	tu_status st = TU_OK;

	*changed = false;
	if (k->token_file == NULL)
		return TU_OK;
	if (stat(k->token_file, &sb) != 0) {
		snprintf(err, errlen, "cannot read token file %s: %s", k->token_file,
			 strerror(errno));
		return TU_EIO;
	}
	if (!force && k->have_stat && sb.st_dev == k->dev && sb.st_ino == k->ino &&
	    sb.st_size == k->size && sb.st_mtim.tv_sec == k->mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == k->mtime.tv_nsec)
		return TU_OK;
	st = tu_secret_read_max(k->token_file, TU_KUBE_MAX_TOKEN, "token file", buf, sizeof(buf),
				err, errlen);
	if (st != TU_OK)
		goto out;
	if (buf[0] == '\0') {
		snprintf(err, errlen, "token file %s is empty", k->token_file);
		st = TU_EINVAL;
		goto out;
	}
	for (const char *p = buf; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f) {
			/* it goes into a header line: no spaces, controls or 8-bit bytes */
			snprintf(err, errlen, "token file %s holds a character that cannot be in "
					      "a bearer token (offset %zu)", k->token_file,
				 (size_t)(p - buf));
			st = TU_EINVAL;
			goto out;
		}
	}
	memcpy(k->token, buf, strlen(buf) + 1);
	k->have_stat = true;
	k->dev = sb.st_dev;
	k->ino = sb.st_ino;
	k->size = sb.st_size;
	k->mtime = sb.st_mtim;
	*changed = true;
out:
	tu_secret_wipe(buf, sizeof(buf));
	return st;
}

/* ---- requests ------------------------------------------------------------------------ */

/* Sleeps ms in slices; false if stop fired. */
static bool wait_ms(int64_t ms, tu_kube_stop_fn stop, void *ctx)
{
	while (ms > 0) {
		if (stop != NULL && stop(ctx))
			return false;
		int64_t s = ms > TU_KUBE_MAX_WAIT_SLICE ? TU_KUBE_MAX_WAIT_SLICE : ms;
		tu_clock_sleep_ms(s);
		ms -= s;
	}
	return stop == NULL || !stop(ctx);
}

static bool take_token(tu_kube *k, tu_kube_stop_fn stop, void *ctx)
{
	while (!tu_ratelimit_try(&k->rl)) {
		int64_t ms = tu_ratelimit_wait_ms(&k->rl);
		if (!wait_ms(ms < 1 ? 1 : ms, stop, ctx))
			return false;
	}
	return true;
}

/* A reply worth waiting for and trying again: 429, or 503 that says when. */
static bool retry_later(const struct tu_http_resp *resp)
{
	return resp->status == 429 || (resp->status == 503 && resp->retry_after_ms >= 0);
}

tu_status tu_kube_do(tu_kube *k, const struct tu_kube_req *req, struct tu_http_resp *resp)
{
	bool reauth = false, changed = false;
	int waits = 0;
	char err[512];
	tu_status st;

	tu_buf_reset(&k->url);
	st = tu_buf_puts(&k->url, k->server);
	if (st == TU_OK)
		st = tu_buf_puts(&k->url, req->path);
	if (st != TU_OK) {
		snprintf(resp->error, sizeof(resp->error), "URL over %d bytes", TU_KUBE_MAX_URL);
		resp->status = 0;
		return TU_ETOOBIG;
	}
	for (;;) {
		if (!take_token(k, req->stop, req->stop_ctx))
			return TU_ESTOP;
		st = tu__kube_token_refresh(k, false, &changed, err, sizeof(err));
		if (st != TU_OK) {
			snprintf(resp->error, sizeof(resp->error), "%.*s", (int)sizeof(resp->error) - 1, err);
			resp->status = 0;
			return TU_EAUTH;
		}
		if (changed)
			tu_info("%s: read token file %s", k->who, k->token_file);
		struct tu_http_req hr = {
			.method = req->method,
			.url = tu_buf_cstr(&k->url),
			.bearer_token = k->token[0] != '\0' ? k->token : NULL,
			.body = req->body,
			.body_len = req->body_len,
			.content_type = req->content_type,
		};
		st = tu_http_do(k->http, &hr, resp);
		if (st != TU_OK)
			return st;
		if (resp->status == 401 && !reauth && k->token_file != NULL) {
			/* the token may have been rotated in place; read it again, once */
			reauth = true;
			st = tu__kube_token_refresh(k, true, &changed, err, sizeof(err));
			if (st != TU_OK) {
				snprintf(resp->error, sizeof(resp->error), "%.*s", (int)sizeof(resp->error) - 1, err);
				resp->status = 0;
				return TU_EAUTH;
			}
			tu_warn("%s: %s %s: 401 Unauthorized; read token file %s again and retrying",
				k->who, req->method, req->path, k->token_file);
			continue;
		}
		if (!retry_later(resp) || waits >= req->retries)
			return TU_OK;
		int64_t ms = resp->retry_after_ms >= 0 ? resp->retry_after_ms : DEFAULT_RETRY_MS;
		if (ms > k->retry_after_max)
			ms = k->retry_after_max;
		waits++;
		tu_warn("%s: %s %s: HTTP %ld; waiting %lld ms (Retry-After %lld ms), retry %d of %d",
			k->who, req->method, req->path, resp->status, (long long)ms,
			(long long)resp->retry_after_ms, waits, req->retries);
		if (!wait_ms(ms, req->stop, req->stop_ctx))
			return TU_ESTOP;
	}
}

/* ---- replies ------------------------------------------------------------------------- */

static const char *reason_phrase(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

/* a equals b when spaces are left out ("TooManyRequests", "Too Many Requests"). */
static bool same_words(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ')
			a++;
		while (*b == ' ')
			b++;
		if (*a != *b)
			return false;
		if (*a == '\0')
			return true;
		a++;
		b++;
	}
}

/* Appends s[0..n) to out (at most outlen, NUL kept) with non-printable bytes as '?'. */
static void append_printable(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = strlen(out);
	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
}

void tu_kube_status_text(const struct tu_http_resp *resp, char *out, size_t outlen)
{
	const char *phrase = reason_phrase(resp->status);
	json_t *root = NULL;
	json_error_t je;

	if (outlen == 0)
		return;
	snprintf(out, outlen, "HTTP %ld%s%s", resp->status, phrase[0] ? " " : "", phrase);
	if (resp->body.len > 0)
		root = json_loadb(resp->body.data, resp->body.len, 0, &je);
	if (json_is_object(root) &&
	    json_is_string(json_object_get(root, "kind")) &&
	    strcmp(json_string_value(json_object_get(root, "kind")), "Status") == 0) {
		json_t *msg = json_object_get(root, "message");
		json_t *reason = json_object_get(root, "reason");
		if (json_is_string(reason) && json_string_length(reason) > 0 &&
		    !same_words(json_string_value(reason), phrase)) {
			append_printable(out, outlen, " (", 2);
			append_printable(out, outlen, json_string_value(reason),
					 json_string_length(reason));
			append_printable(out, outlen, ")", 1);
		}
		if (json_is_string(msg) && json_string_length(msg) > 0) {
			append_printable(out, outlen, ": ", 2);
			append_printable(out, outlen, json_string_value(msg), json_string_length(msg));
		}
	} else if (resp->body.len > 0) {
		append_printable(out, outlen, ": ", 2);
		append_printable(out, outlen, resp->body.data,
				 resp->body.len < EXCERPT ? resp->body.len : EXCERPT);
	}
	json_decref(root);
}
