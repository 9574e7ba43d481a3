/* httpd.c - operational HTTP endpoints over libmicrohttpd (see httpd.h). */
#include "httpd.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "xalloc.h"

#define MAX_ROUTES 16

struct route {
	char method[8];
	char path[128];
	tu_httpd_handler h;
	void *ctx;
};

struct tu_httpd {
	struct MHD_Daemon *mhd;     /* owned */
	pthread_mutex_t mu;         /* guards routes */
	struct route routes[MAX_ROUTES];
	int n_routes;
	int port;                   /* bound port */
};

const char *tu_httpd_arg(const struct tu_httpd_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result respond(struct MHD_Connection *c, int status, const char *body, size_t len,
			       const char *ct)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ct);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	enum MHD_Result rc = MHD_queue_response(c, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	tu_httpd *d = cls;
	static int marker;
	if (*con_cls == NULL) {
		*con_cls = &marker; /* headers only so far: wait for the (ignored) body */
		return MHD_YES;
	}
	if (*upload_size > 0) {
		*upload_size = 0; /* bodies are not used by any endpoint */
		return MHD_YES;
	}
	struct route rt = { .h = NULL };
	bool path_known = false;
	pthread_mutex_lock(&d->mu);
	for (int i = 0; i < d->n_routes; i++) {
		if (strcmp(d->routes[i].path, url) != 0)
			continue;
		path_known = true;
		if (strcmp(d->routes[i].method, method) == 0) {
			rt = d->routes[i];
			break;
		}
	}
	pthread_mutex_unlock(&d->mu);
	if (rt.h == NULL) {
		const char *msg = path_known ? "method not allowed\n" : "not found\n";
		return respond(c, path_known ? 405 : 404, msg, strlen(msg),
			       "text/plain; charset=utf-8");
	}
	struct tu_buf out;
	tu_buf_init(&out, 64 * 1024 * 1024);
	const char *ct = "text/plain; charset=utf-8";
	struct tu_httpd_request req = { method, url, c };
	int status = rt.h(rt.ctx, &req, &out, &ct);
	enum MHD_Result rc = respond(c, status, tu_buf_cstr(&out), out.len, ct);
	tu_buf_release(&out);
	return rc;
}

tu_status tu_httpd_start(const char *listen, tu_httpd **out, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof(host)) {
		snprintf(err, errlen, "listen address \"%s\" is not host:port", listen);
		return TU_EINVAL;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(host, colon + 1, &hints, &ai);
	if (gai != 0) {
		snprintf(err, errlen, "listen address \"%s\": %s", listen, gai_strerror(gai));
		return TU_EINVAL;
	}
	tu_httpd *d = tu_xcalloc(1, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d, MHD_OPTION_SOCK_ADDR,
				  ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				  MHD_OPTION_END);
	freeaddrinfo(ai);
	if (d->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s (address in use?)", listen);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return TU_EUNAVAIL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
	d->port = info != NULL ? (int)info->port : 0;
	*out = d;
	return TU_OK;
}

void tu_httpd_route(tu_httpd *d, const char *method, const char *path, tu_httpd_handler h,
		    void *ctx)
{
	pthread_mutex_lock(&d->mu);
	if (d->n_routes < MAX_ROUTES) {
		struct route *r = &d->routes[d->n_routes++];
		snprintf(r->method, sizeof(r->method), "%s", method);
		snprintf(r->path, sizeof(r->path), "%s", path);
		r->h = h;
		r->ctx = ctx;
	}
	pthread_mutex_unlock(&d->mu);
}

int tu_httpd_port(const tu_httpd *d)
{
	return d->port;
}

void tu_httpd_stop(tu_httpd *d)
{
	if (d == NULL)
		return;
	MHD_stop_daemon(d->mhd);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
