/*
 * dockerfake.h - a canned Docker Engine API on a unix socket, for the unit
 * tests of the docker source and target (header-only, one per test binary).
 *
 * It answers each HTTP/1.1 request with the first route whose method and
 * path match (a route path ending in '*' matches by prefix; the path
 * includes the query string) and closes the connection; anything else gets
 * 404 {"message":"no route"}. Every request line is recorded in order so
 * tests can check what was asked (paths, filters, versions). It follows the
 * Engine API's shapes only as far as the tests need: the replies are
 * whatever the test puts in the routes.
 */
#ifndef TU_DOCKERFAKE_H
#define TU_DOCKERFAKE_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DF_MAX_ROUTES 32
#define DF_MAX_LOG 64
#define DF_LINE 1024

struct df_route {
	char method[8];      /* GET, POST, DELETE */
	char path[DF_LINE];  /* exact, or a prefix ending in '*' */
	int status;          /* HTTP status */
	char *body;          /* owned; the reply body */
	size_t len;
	int hits;            /* requests it answered */
};

struct dockerfake {
	char dir[64];                    /* temp dir holding the socket */
	char sock[100];                  /* socket path (fits sun_path) */
	int lfd;                         /* listening socket */
	pthread_t th;                    /* the server thread */
	pthread_mutex_t mu;              /* guards routes and log */
	struct df_route routes[DF_MAX_ROUTES];
	int n_routes;
	char log[DF_MAX_LOG][DF_LINE];   /* "GET /v1.41/containers/json?all=1" */
	int n_log;
	volatile int stop;
};

/* Adds (or replaces) a route; body is copied (len bytes; -1: strlen). */
static inline void df_route(struct dockerfake *f, const char *method, const char *path,
			    int status, const char *body, long len)
{
	pthread_mutex_lock(&f->mu);
	struct df_route *r = NULL;
	for (int i = 0; i < f->n_routes; i++) {
		if (strcmp(f->routes[i].method, method) == 0 && strcmp(f->routes[i].path, path) == 0)
			r = &f->routes[i];
	}
	if (r == NULL && f->n_routes < DF_MAX_ROUTES)
		r = &f->routes[f->n_routes++];
	if (r != NULL) {
		free(r->body);
		snprintf(r->method, sizeof(r->method), "%s", method);
		snprintf(r->path, sizeof(r->path), "%s", path);
		r->status = status;
		r->len = len < 0 ? strlen(body) : (size_t)len;
		r->body = malloc(r->len + 1);
		memcpy(r->body, body, r->len);
		r->hits = 0;
	}
	pthread_mutex_unlock(&f->mu);
}

/* Index of the request logged that starts with prefix, from `from` on; -1 if none. */
static inline int df_find(struct dockerfake *f, int from, const char *prefix)
{
	int at = -1;
	pthread_mutex_lock(&f->mu);
	for (int i = from; i < f->n_log && at < 0; i++) {
		if (strncmp(f->log[i], prefix, strlen(prefix)) == 0)
			at = i;
	}
	pthread_mutex_unlock(&f->mu);
	return at;
}

static inline int df_count(struct dockerfake *f, const char *prefix)
{
	int n = 0;
	for (int i = df_find(f, 0, prefix); i >= 0; i = df_find(f, i + 1, prefix))
		n++;
	return n;
}

static inline void df_clear_log(struct dockerfake *f)
{
	pthread_mutex_lock(&f->mu);
	f->n_log = 0;
	pthread_mutex_unlock(&f->mu);
}

static inline void df_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the client gave up (a body over its bound) */
		p += w;
		n -= (size_t)w;
	}
}

static inline void df_serve(struct dockerfake *f, int fd)
{
	char req[8192];
	size_t n = 0;
	while (n < sizeof(req) - 1) {
		ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	char method[8] = "", path[DF_LINE] = "";
	if (sscanf(req, "%7s %1023s", method, path) != 2)
		return;
	pthread_mutex_lock(&f->mu);
	if (f->n_log < DF_MAX_LOG)
		snprintf(f->log[f->n_log++], DF_LINE, "%.7s %.1000s", method, path);
	struct df_route *r = NULL;
	for (int i = 0; i < f->n_routes && r == NULL; i++) {
		struct df_route *c = &f->routes[i];
		size_t pl = strlen(c->path);
		bool prefix = pl > 0 && c->path[pl - 1] == '*';
		if (strcmp(c->method, method) == 0 &&
		    (prefix ? strncmp(c->path, path, pl - 1) == 0 : strcmp(c->path, path) == 0))
			r = c;
	}
	int status = r != NULL ? r->status : 404;
	const char *body = r != NULL ? r->body : "{\"message\":\"no route\"}";
	size_t len = r != NULL ? r->len : strlen(body);
	char *copy = malloc(len + 1);
	memcpy(copy, body, len);
	if (r != NULL)
		r->hits++;
	pthread_mutex_unlock(&f->mu);
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 %d X\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  status, status == 204 || status == 304 ? (size_t)0 : len);
	df_write_all(fd, head, (size_t)hl);
	if (status != 204 && status != 304)
		df_write_all(fd, copy, len);
	free(copy);
}

static inline void *df_thread(void *arg)
{
	struct dockerfake *f = arg;
	while (!f->stop) {
		struct pollfd p = { .fd = f->lfd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		df_serve(f, fd);
		shutdown(fd, SHUT_RDWR);
		close(fd);
	}
	return NULL;
}

/* Starts the server; a /version route answering 1.41 is there from the start. */
static inline void df_start(struct dockerfake *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tu-dockerfake.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		abort();
	snprintf(f->sock, sizeof(f->sock), "%s/docker.sock", f->dir);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(f->lfd, 16) != 0)
		abort();
	df_route(f, "GET", "/version", 200,
		 "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\",\"Version\":\"20.10.24\"}", -1);
	pthread_create(&f->th, NULL, df_thread, f);
}

static inline void df_stop(struct dockerfake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->sock);
	rmdir(f->dir);
	for (int i = 0; i < f->n_routes; i++)
		free(f->routes[i].body);
	pthread_mutex_destroy(&f->mu);
}

#endif
