/* redisconn.c - Redis URLs and connections (see redisconn.h). */
#include "redisconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "secret.h"

tu_status tu_redis_url_parse(const char *url, struct tu_redis_url *out, char *err, size_t errlen)
{
	struct tu_redis_url u;
	const char *scheme = "redis://";
	memset(&u, 0, sizeof(u));
	u.port = 6379;
	if (url == NULL || strncmp(url, scheme, strlen(scheme)) != 0) {
		snprintf(err, errlen, "url: must start with redis:// (rediss and unix sockets are "
			 "not supported)");
		return TU_EINVAL;
	}
	const char *p = url + strlen(scheme);
	const char *at = strchr(p, '@');
	if (at != NULL) {
		if (memchr(p, ':', (size_t)(at - p)) != NULL) {
			snprintf(err, errlen, "url: a password in the url is refused; use password_file");
			return TU_EINVAL;
		}
		if ((size_t)(at - p) >= sizeof(u.user)) {
			snprintf(err, errlen, "url: user name too long");
			return TU_EINVAL;
		}
		memcpy(u.user, p, (size_t)(at - p));
		p = at + 1;
	}
	const char *host = p;
	size_t hostlen;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (close == NULL) {
			snprintf(err, errlen, "url: unterminated [ in host");
			return TU_EINVAL;
		}
		host = p + 1;
		hostlen = (size_t)(close - host);
		p = close + 1;
	} else {
		hostlen = strcspn(p, ":/");
		p += hostlen;
	}
	if (hostlen == 0 || hostlen >= sizeof(u.host)) {
		snprintf(err, errlen, "url: missing or too long host");
		return TU_EINVAL;
	}
	memcpy(u.host, host, hostlen);
	if (*p == ':') {
		char *end = NULL;
		errno = 0;
		long port = strtol(p + 1, &end, 10);
		if (errno != 0 || end == p + 1 || port < 1 || port > 65535 ||
		    (*end != '\0' && *end != '/')) {
			snprintf(err, errlen, "url: invalid port");
			return TU_EINVAL;
		}
		u.port = (int)port;
		p = end;
	}
	if (*p == '/' && p[1] != '\0') {
		char *end = NULL;
		errno = 0;
		long db = strtol(p + 1, &end, 10);
		if (errno != 0 || end == p + 1 || *end != '\0' || db < 0 || db > 65535) {
			snprintf(err, errlen, "url: invalid database number");
			return TU_EINVAL;
		}
		u.db = (int)db;
	} else if (*p != '\0' && strcmp(p, "/") != 0) {
		snprintf(err, errlen, "url: unexpected text after the host and port");
		return TU_EINVAL;
	}
	*out = u;
	return TU_OK;
}

/* Runs a connection command; fails with the reply's error text. */
static tu_status setup_command(redisContext *c, const struct tu_redis_url *u, const char *what,
			       int argc, const char **argv, char *err, size_t errlen)
{
	size_t lens[4];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisReply *r = redisCommandArgv(c, argc, argv, lens);
	if (r == NULL) {
		snprintf(err, errlen, "redis %s:%d: %s: %s", u->host, u->port, what,
			 c->errstr[0] ? c->errstr : "no reply");
		return TU_EUNAVAIL;
	}
	tu_status st = TU_OK;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis %s:%d: %s refused: %.200s", u->host, u->port, what,
			 r->str);
		st = TU_EAUTH;
	}
	freeReplyObject(r);
	return st;
}

tu_status tu_redis_open(const struct tu_redis_url *url, const char *username,
			const char *password_file, int64_t timeout_ms, redisContext **out, char *err,
			size_t errlen)
{
	char secret[TU_MAX_SECRET + 1];
	tu_status st = TU_OK;
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)((timeout_ms % 1000) * 1000) };
	redisContext *c = redisConnectWithTimeout(url->host, url->port, tv);
	secret[0] = '\0';
	if (c == NULL || c->err != 0) {
		snprintf(err, errlen, "redis %s:%d: connect: %s (timeout %lld ms)", url->host, url->port,
			 c != NULL ? c->errstr : "out of memory", (long long)timeout_ms);
		st = TU_EUNAVAIL;
		goto out;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(err, errlen, "redis %s:%d: cannot set the timeout", url->host, url->port);
		st = TU_EUNAVAIL;
		goto out;
	}
	if (password_file != NULL) {
		st = tu_secret_read(password_file, secret, sizeof(secret), err, errlen);
		if (st != TU_OK)
			goto out;
		const char *user = username != NULL ? username : url->user;
		const char *argv[3];
		int argc = 0;
		argv[argc++] = "AUTH";
		if (*user != '\0')
			argv[argc++] = user;
		argv[argc++] = secret;
		st = setup_command(c, url, "AUTH", argc, argv, err, errlen);
		if (st != TU_OK)
			goto out;
	}
	if (url->db != 0) {
		char db[16];
		snprintf(db, sizeof(db), "%d", url->db);
		const char *argv[] = { "SELECT", db };
		st = setup_command(c, url, "SELECT", 2, argv, err, errlen);
		if (st != TU_OK)
			goto out;
	}
	*out = c;
	c = NULL;
out:
	tu_secret_wipe(secret, sizeof(secret));
	if (c != NULL)
		redisFree(c);
	return st;
}
