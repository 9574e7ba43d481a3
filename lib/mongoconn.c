/*
 * mongoconn.c - MongoDB pools, URI redaction, error classes and JSON
 * conversions shared by the mongodb source and target (see mongoconn.h).
 *
 * Workload: a pool is made once per source or target (again after an
 * authentication failure, to re-read the password file); the conversions
 * run once per document scanned or command executed.
 */
#include "mongoconn.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "secret.h"

#define REDACTED "***"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* mongo-c-driver's own log lines, at trueup's levels (its debug and trace are dropped). */
static void log_handler(mongoc_log_level_t level, const char *domain, const char *message,
			void *data)
{
	(void)data;
	switch (level) {
	case MONGOC_LOG_LEVEL_ERROR:
	case MONGOC_LOG_LEVEL_CRITICAL:
	case MONGOC_LOG_LEVEL_WARNING:
		tu_warn("mongo-c-driver %s: %s", domain, message);
		break;
	case MONGOC_LOG_LEVEL_MESSAGE:
	case MONGOC_LOG_LEVEL_INFO:
		tu_debug("mongo-c-driver %s: %s", domain, message);
		break;
	default:
		break;
	}
}

static void cleanup(void)
{
	mongoc_cleanup();
}

static void init(void)
{
	mongoc_init();
	mongoc_log_set_handler(log_handler, NULL);
	atexit(cleanup);
}

void tu_mongo_init(void)
{
	pthread_once(&init_once, init);
}

/* ---- redaction ---------------------------------------------------------------------- */

/* A bounded appender: what does not fit is dropped, out stays NUL-terminated. */
struct out {
	char *p;    /* the buffer */
	size_t cap; /* its size */
	size_t len; /* bytes written, NUL excluded */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->cap == 0)
		return;
	if (n > o->cap - 1 - o->len)
		n = o->cap - 1 - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static bool names_password(const char *name, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i++) {
		if (strncasecmp(name + i, "password", 8) == 0)
			return true;
	}
	return false;
}

void tu_mongo_redact(const char *uri, char *out, size_t outlen)
{
	struct out o = { out, outlen, 0 };
	const char *scheme = strstr(uri, "://");
	const char *rest, *end, *at = NULL, *colon, *q;

	if (outlen > 0)
		out[0] = '\0';
	rest = scheme != NULL ? scheme + 3 : uri;
	put(&o, uri, (size_t)(rest - uri));
	end = rest + strcspn(rest, "/?");
	for (const char *p = rest; p < end; p++) {
		if (*p == '@')
			at = p;
	}
	colon = at != NULL ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
	if (colon != NULL) {
		put(&o, rest, (size_t)(colon + 1 - rest));
		put(&o, REDACTED, strlen(REDACTED));
		rest = at;
	}
	q = strchr(end, '?');
	if (q == NULL) {
		put(&o, rest, strlen(rest));
		return;
	}
	put(&o, rest, (size_t)(q + 1 - rest));
	for (q++; *q != '\0';) {
		size_t n = strcspn(q, "&");
		size_t name = strcspn(q, "=&");
		if (name < n && names_password(q, name)) {
			put(&o, q, name + 1);
			put(&o, REDACTED, strlen(REDACTED));
		} else {
			put(&o, q, n);
		}
		q += n;
		if (*q == '&') {
			put(&o, "&", 1);
			q++;
		}
	}
}

/* ---- pools ------------------------------------------------------------------------------- */

tu_status tu_mongo_uri_parse(const char *uri, bool with_password, int64_t timeout_ms,
			     const char *appname, mongoc_uri_t **out, char *err, size_t errlen)
{
	char shown[TU_MONGO_MAX_URI];
	bson_error_t be;
	mongoc_uri_t *u = NULL;
	int32_t t = timeout_ms > INT32_MAX ? INT32_MAX : timeout_ms < 1 ? 1 : (int32_t)timeout_ms;
	const char *user;

	tu_mongo_init();
	tu_mongo_redact(uri, shown, sizeof(shown));
	u = mongoc_uri_new_with_error(uri, &be);
	if (u == NULL) {
		snprintf(err, errlen, "uri %s: %s", shown, be.message);
		return TU_EINVAL;
	}
	user = mongoc_uri_get_username(u);
	if (mongoc_uri_get_password(u) != NULL) {
		snprintf(err, errlen, "uri %s: holds a password; put it in password_file", shown);
		goto fail;
	}
	if (with_password && (user == NULL || *user == '\0')) {
		snprintf(err, errlen, "uri %s: password_file needs a user in the URI "
			 "(mongodb://USER@host)", shown);
		goto fail;
	}
	if (!mongoc_uri_set_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, t) ||
	    !mongoc_uri_set_option_as_int32(u, MONGOC_URI_CONNECTTIMEOUTMS, t) ||
	    !mongoc_uri_set_option_as_int32(u, MONGOC_URI_SOCKETTIMEOUTMS, t)) {
		snprintf(err, errlen, "uri %s: cannot set the timeouts to %d ms", shown, (int)t);
		goto fail;
	}
	if (appname != NULL && !mongoc_uri_set_appname(u, appname)) {
		snprintf(err, errlen, "uri %s: cannot set appname \"%.64s\"", shown, appname);
		goto fail;
	}
	*out = u;
	return TU_OK;
fail:
	mongoc_uri_destroy(u);
	return TU_EINVAL;
}

tu_status tu_mongo_pool_create(const char *uri, const char *password_file, int64_t timeout_ms,
			       const char *appname, mongoc_client_pool_t **out, char *err,
			       size_t errlen)
{
	char pw[TU_MAX_SECRET + 1];
	char shown[TU_MONGO_MAX_URI];
	mongoc_uri_t *u = NULL;
	mongoc_client_pool_t *pool = NULL;
	tu_status st = tu_mongo_uri_parse(uri, password_file != NULL, timeout_ms, appname, &u,
					  err, errlen);

	if (st != TU_OK)
		return st;
	if (password_file != NULL) {
		st = tu_secret_read(password_file, pw, sizeof(pw), err, errlen);
		if (st == TU_OK && !mongoc_uri_set_password(u, pw)) {
			snprintf(err, errlen, "password from %s is not valid UTF-8", password_file);
			st = TU_EINVAL;
		}
		tu_secret_wipe(pw, sizeof(pw));
		if (st != TU_OK)
			goto out;
	}
	pool = mongoc_client_pool_new(u);
	if (pool == NULL) {
		tu_mongo_redact(uri, shown, sizeof(shown));
		snprintf(err, errlen, "uri %s: the driver cannot make a pool of it (TLS options?)",
			 shown);
		st = TU_EINVAL;
		goto out;
	}
	mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
	*out = pool;
out:
	mongoc_uri_destroy(u);
	return st;
}

/* ---- errors ----------------------------------------------------------------------------- */

bool tu_mongo_code_retryable(int32_t code)
{
	/* Server codes that say "not now" rather than "not this" (error_codes.yml). */
	static const int32_t codes[] = {
		6,     /* HostUnreachable */
		7,     /* HostNotFound */
		18,    /* AuthenticationFailed: the password file may be fixed */
		24,    /* LockTimeout */
		43,    /* CursorNotFound: the cursor timed out; a new scan starts over */
		46,    /* LockBusy */
		50,    /* MaxTimeMSExpired */
		63,    /* StaleShardVersion */
		64,    /* WriteConcernFailed */
		89,    /* NetworkTimeout */
		91,    /* ShutdownInProgress */
		112,   /* WriteConflict */
		133,   /* FailedToSatisfyReadPreference */
		150,   /* StaleEpoch */
		189,   /* PrimarySteppedDown */
		202,   /* NetworkInterfaceExceededTimeLimit */
		262,   /* ExceededTimeLimit */
		365,   /* TemporarilyUnavailable */
		9001,  /* SocketException */
		10107, /* NotWritablePrimary */
		11600, /* InterruptedAtShutdown */
		11601, /* Interrupted */
		11602, /* InterruptedDueToReplStateChange */
		13388, /* StaleConfig */
		13435, /* NotPrimaryNoSecondaryOk */
		13436, /* NotPrimaryOrSecondary */
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (codes[i] == code)
			return true;
	}
	return false;
}

bool tu_mongo_retryable(const bson_error_t *e)
{
	switch (e->domain) {
	case MONGOC_ERROR_STREAM:
	case MONGOC_ERROR_SERVER_SELECTION:
	case MONGOC_ERROR_WRITE_CONCERN:
	case MONGOC_ERROR_POOL:
	case MONGOC_ERROR_SASL:
	case MONGOC_ERROR_SCRAM:
		return true;
	case MONGOC_ERROR_CLIENT:
		return e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE ||
		       e->code == MONGOC_ERROR_CLIENT_NOT_READY;
	case MONGOC_ERROR_PROTOCOL:
		return e->code == MONGOC_ERROR_PROTOCOL_INVALID_REPLY;
	case MONGOC_ERROR_SERVER:
	case MONGOC_ERROR_QUERY:
	case MONGOC_ERROR_COMMAND:
	case MONGOC_ERROR_CURSOR:
		return tu_mongo_code_retryable((int32_t)e->code);
	default:
		return false;
	}
}

tu_status tu_mongo_status(const bson_error_t *e)
{
	switch (e->domain) {
	case MONGOC_ERROR_STREAM:
	case MONGOC_ERROR_SERVER_SELECTION:
	case MONGOC_ERROR_POOL:
		return TU_EUNAVAIL;
	case MONGOC_ERROR_SASL:
	case MONGOC_ERROR_SCRAM:
		return TU_EAUTH;
	case MONGOC_ERROR_CLIENT:
		return e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE ? TU_EAUTH : TU_EIO;
	case MONGOC_ERROR_BSON:
	case MONGOC_ERROR_MATCHER:
	case MONGOC_ERROR_NAMESPACE:
		return TU_EINVAL;
	case MONGOC_ERROR_SERVER:
	case MONGOC_ERROR_QUERY:
	case MONGOC_ERROR_COMMAND:
		if (e->code == 18 || e->code == 13)
			return TU_EAUTH; /* AuthenticationFailed, Unauthorized */
		return tu_mongo_code_retryable((int32_t)e->code) ? TU_EUNAVAIL : TU_EINVAL;
	default:
		return TU_EIO;
	}
}

/* ---- JSON ------------------------------------------------------------------------------- */

tu_status tu_mongo_bson_from_json(const char *text, bson_t **out, char *err, size_t errlen)
{
	bson_error_t be;
	const char *p = text + strspn(text, " \t\r\n");
	bson_t *b;

	if (*p != '{') {
		snprintf(err, errlen, "not a JSON object");
		return TU_EINVAL;
	}
	b = bson_new_from_json((const uint8_t *)text, -1, &be);
	if (b == NULL) {
		snprintf(err, errlen, "invalid extended JSON: %s", be.message);
		return TU_EINVAL;
	}
	*out = b;
	return TU_OK;
}

/*
 * The direct conversion: common BSON types straight into jansson values, as
 * relaxed extended JSON would read back (doubles keep their exact value; dates
 * in libbson's ISO-8601 form). Anything else, or anything odd (text that is not
 * UTF-8 or holds a NUL, a non-finite double, nesting over MAX_DEPTH), returns
 * NULL: tu_mongo_to_json then takes libbson's text, whose result is the same.
 * A scan converts every document: this skips printing and parsing its text.
 */
#define MAX_DEPTH 64
#define DATE_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z: dates taken directly up to it */

static json_t *iter_to_json(bson_iter_t *it, bool array, int depth);

static json_t *wrap(const char *key, json_t *v)
{
	json_t *o = json_object();
	if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *date_to_json(int64_t ms)
{
	char buf[64];
	if (ms < 0 || ms > DATE_MAX)
		return NULL; /* libbson's text says what such a date reads as */
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	if (gmtime_r(&secs, &tm) == NULL)
		return NULL;
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms % 1000 != 0)
		snprintf(buf + n, sizeof(buf) - n, ".%03" PRId64 "Z", ms % 1000);
	else
		snprintf(buf + n, sizeof(buf) - n, "Z");
	return wrap("$date", json_string(buf));
}

static json_t *value_to_json(bson_iter_t *it, int depth)
{
	bson_iter_t child;
	uint32_t len = 0;
	const char *s;
	char oid[25];
	double d;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		if (!bson_utf8_validate(s, len, false))
			return NULL;
		return json_stringn(s, len);
	case BSON_TYPE_INT32: return json_integer(bson_iter_int32(it));
	case BSON_TYPE_INT64: return json_integer(bson_iter_int64(it));
	case BSON_TYPE_DOUBLE:
		d = bson_iter_double(it);
		return isfinite(d) ? json_real(d) : NULL;
	case BSON_TYPE_BOOL: return json_boolean(bson_iter_bool(it));
	case BSON_TYPE_NULL: return json_null();
	case BSON_TYPE_OID:
		bson_oid_to_string(bson_iter_oid(it), oid);
		return wrap("$oid", json_string(oid));
	case BSON_TYPE_DATE_TIME: return date_to_json(bson_iter_date_time(it));
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		if (depth >= MAX_DEPTH || !bson_iter_recurse(it, &child))
			return NULL;
		return iter_to_json(&child, bson_iter_type(it) == BSON_TYPE_ARRAY, depth + 1);
	default: return NULL; /* binary, decimal128, regex, timestamp, ...: libbson's text */
	}
}

static json_t *iter_to_json(bson_iter_t *it, bool array, int depth)
{
	json_t *out = array ? json_array() : json_object();
	while (out != NULL && bson_iter_next(it)) {
		uint32_t klen = bson_iter_key_len(it);
		const char *key = bson_iter_key(it);
		json_t *v = value_to_json(it, depth);
		int rc = -1;
		if (v != NULL && array)
			rc = json_array_append_new(out, v);
		else if (v != NULL && bson_utf8_validate(key, klen, false))
			rc = json_object_setn_new(out, key, klen, v);
		else
			json_decref(v);
		if (rc != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

json_t *tu__mongo_to_json_direct(const bson_t *doc)
{
	bson_iter_t it;
	if (!bson_validate(doc, BSON_VALIDATE_NONE, NULL) || !bson_iter_init(&it, doc))
		return NULL;
	return iter_to_json(&it, false, 0);
}

json_t *tu_mongo_to_json(const bson_t *doc)
{
	size_t len = 0;
	json_error_t je;
	json_t *j = tu__mongo_to_json_direct(doc);
	if (j != NULL)
		return j;
	char *s = bson_as_relaxed_extended_json(doc, &len);
	if (s == NULL)
		return NULL;
	j = json_loadb(s, len, 0, &je);
	bson_free(s);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Copies s (n bytes) to out for a message: printable ASCII as is, other bytes as '?'. */
static void printable(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

void tu_mongo_id_text(const bson_t *doc, char *out, size_t outlen)
{
	bson_iter_t it;
	char hex[25];
	uint32_t n = 0;
	const char *s;
	bson_t wrap;

	if (!bson_iter_init_find(&it, doc, "_id")) {
		snprintf(out, outlen, "(no _id)");
		return;
	}
	if (BSON_ITER_HOLDS_OID(&it)) {
		bson_oid_to_string(bson_iter_oid(&it), hex);
		snprintf(out, outlen, "%s", hex);
		return;
	}
	if (BSON_ITER_HOLDS_UTF8(&it)) {
		s = bson_iter_utf8(&it, &n);
		printable(s, n, out, outlen);
		return;
	}
	bson_init(&wrap);
	if (bson_append_iter(&wrap, "_id", 3, &it)) {
		size_t len = 0;
		char *j = bson_as_relaxed_extended_json(&wrap, &len);
		if (j != NULL) {
			printable(j, len, out, outlen);
			bson_free(j);
			bson_destroy(&wrap);
			return;
		}
	}
	bson_destroy(&wrap);
	snprintf(out, outlen, "(an _id of BSON type 0x%02x)", (unsigned)bson_iter_type(&it));
}
