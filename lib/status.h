/*
 * status.h - the one status type of trueup.
 *
 * Actions return tu_status; predicates return bool. Adapters translate their
 * library's error at the boundary (natsStatus, MDB_*, redisReply errors,
 * CURLcode, ...) and keep the original code and text for the log line.
 */
#ifndef TU_STATUS_H
#define TU_STATUS_H

typedef enum tu_status {
	TU_OK = 0,
	TU_EINVAL,    /* malformed input or argument (config, message, reply) */
	TU_ENOMEM,    /* allocation failed */
	TU_ENOTFOUND, /* no such key, stream, consumer, file */
	TU_EEXIST,    /* already exists */
	TU_ECONFLICT, /* precondition or compare-and-set failed; config conflicts */
	TU_ETIMEOUT,  /* the peer did not answer in time (also: idle fetch) */
	TU_EIO,       /* operating system or library I/O error */
	TU_EUNAVAIL,  /* peer not reachable or refusing service */
	TU_ETOOBIG,   /* over a configured or named bound */
	TU_EDECODE,   /* bytes that do not decode as the expected message */
	TU_EFULL,     /* storage full (MDB_MAP_FULL) */
	TU_ESTOP,     /* shutdown requested */
	TU_EAUTH,     /* authentication or permission refused */
	TU_EINTERNAL, /* a library failed in a way trueup did not expect */
} tu_status;

/* Short stable name of a status, e.g. "EINVAL". Never NULL. */
const char *tu_status_str(tu_status st);

#endif
