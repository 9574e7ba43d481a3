/*
 * redisconn.h - opening a Redis connection the way every trueup component
 * does: redis://[user@]host[:port][/db] (no password in the URL: it comes
 * from password_file, re-read at each connect), a connect timeout that is also
 * the command timeout, AUTH, SELECT. Used by the redis source and target.
 */
#ifndef TU_REDISCONN_H
#define TU_REDISCONN_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "status.h"

struct tu_redis_url {
	char host[256]; /* host name or address (IPv6 without brackets) */
	int port;       /* default 6379 */
	int db;         /* SELECT index; default 0 */
	char user[128]; /* ACL user from the URL, "" if none */
};

/*
 * Parses url. A password in the URL is refused. Messages never repeat the
 * URL, which may hold a secret.
 */
tu_status tu_redis_url_parse(const char *url, struct tu_redis_url *out, char *err, size_t errlen);

/*
 * Connects and authenticates. username overrides the URL's user; no AUTH
 * without password_file. Returns TU_EUNAVAIL (cannot connect, I/O, timeout),
 * TU_EAUTH (AUTH or SELECT refused), TU_EIO/TU_ETOOBIG (password file) with
 * err; *out is untouched on failure. The caller frees with redisFree().
 */
tu_status tu_redis_open(const struct tu_redis_url *url, const char *username,
			const char *password_file, int64_t timeout_ms, redisContext **out, char *err,
			size_t errlen);

#endif
