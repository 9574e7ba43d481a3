/*
 * mongoconn.h - what the mongodb source and target share (mongo-c-driver
 * 1.23): a client pool built from the config's URI, timeout and password
 * file; URI redaction for messages; the classification of driver and
 * server errors; the JSON <-> BSON conversions both sides need.
 *
 * Passwords are never inline in the URI (config.c refuses that). With
 * password_file the password is read when a pool is created, set on the
 * parsed URI (mongoc_uri_set_password) and wiped from trueup's buffer; a
 * URI in a message always goes through tu_mongo_redact().
 *
 * Threads: mongoc_init() runs once per process (tu_mongo_init, also called
 * by tu_mongo_pool_create); a pool is thread-safe, a client popped from it
 * belongs to one thread until it is pushed back.
 */
#ifndef TU_MONGOCONN_H
#define TU_MONGOCONN_H

#include <jansson.h>
#include <mongoc/mongoc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define TU_MONGO_MAX_URI 4096 /* bytes of a URI, redacted or not */

/* mongoc_init() once, its log routed into trueup's log; mongoc_cleanup() at exit. */
void tu_mongo_init(void);

/*
 * Writes uri to out (cut to outlen) with the userinfo password and the value
 * of every option whose name contains "password" replaced by "***".
 */
void tu_mongo_redact(const char *uri, char *out, size_t outlen);

/*
 * Parses uri and applies timeout_ms as serverSelectionTimeoutMS,
 * connectTimeoutMS and socketTimeoutMS, and appname. with_password: a
 * password will be set, so the URI must name a user. TU_EINVAL with err
 * (the URI redacted) if it cannot be used; *out is then untouched. The
 * caller frees *out with mongoc_uri_destroy().
 */
tu_status tu_mongo_uri_parse(const char *uri, bool with_password, int64_t timeout_ms,
			     const char *appname, mongoc_uri_t **out, char *err, size_t errlen);

/*
 * A pool for uri (see tu_mongo_uri_parse), with the password from
 * password_file (NULL: none) and error API 2 (server errors in domain
 * MONGOC_ERROR_SERVER with the server's code). Does not connect: the driver
 * does on first use. TU_EINVAL (URI) or TU_EIO/TU_ETOOBIG (password file)
 * with err. The caller frees with mongoc_client_pool_destroy().
 */
tu_status tu_mongo_pool_create(const char *uri, const char *password_file, int64_t timeout_ms,
			       const char *appname, mongoc_client_pool_t **out, char *err,
			       size_t errlen);

/* True for a server error code worth a retry (WriteConflict, NotWritablePrimary, ...). */
bool tu_mongo_code_retryable(int32_t code);

/*
 * True if a failed driver call may succeed later: network and server
 * selection errors, authentication (the password file may be fixed),
 * write concern errors, and server errors whose code is retryable.
 */
bool tu_mongo_retryable(const bson_error_t *e);

/*
 * The status of a failed driver call: TU_EUNAVAIL (network, server
 * selection), TU_EAUTH (authentication), TU_EINVAL (a bad query or
 * argument), TU_EIO (anything else).
 */
tu_status tu_mongo_status(const bson_error_t *e);

/*
 * Parses text (relaxed or canonical extended JSON) into *out, which must be
 * a JSON object. TU_EINVAL with err (libbson's message) otherwise. The
 * caller frees with bson_destroy().
 */
tu_status tu_mongo_bson_from_json(const char *text, bson_t **out, char *err, size_t errlen);

/*
 * A document as relaxed extended JSON loaded into jansson (ObjectId as
 * {"$oid": hex}, dates as {"$date": ISO-8601}, numbers as numbers). NULL
 * if the document is not valid BSON or holds text that is not UTF-8. The
 * caller json_decref()s it.
 */
json_t *tu_mongo_to_json(const bson_t *doc);
/* Its fast path alone: NULL for a document it leaves to libbson's text (tests). */
json_t *tu__mongo_to_json_direct(const bson_t *doc);

/*
 * The document's _id for messages: the hex of an ObjectId, a string as is,
 * anything else as relaxed JSON; cut to outlen; "(no _id)" without one.
 */
void tu_mongo_id_text(const bson_t *doc, char *out, size_t outlen);

#endif
