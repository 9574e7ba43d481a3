/*
 * secret.h - reads a credential from a file (NATS and Redis passwords,
 * bearer tokens).
 * Credentials live in files, never inline in the config, and are never
 * logged; callers wipe the buffer after use.
 */
#ifndef TU_SECRET_H
#define TU_SECRET_H

#include <stddef.h>

#include "status.h"

#define TU_MAX_SECRET 1024 /* bytes of a password file, without the trailing newline */

/*
 * Reads the file into buf (NUL-terminated, trailing CR/LF removed). err names
 * the file and why, never the content. buflen must be > TU_MAX_SECRET.
 */
tu_status tu_secret_read(const char *path, char *buf, size_t buflen, char *err, size_t errlen);
/*
 * The same with another bound (max bytes, without the trailing newline) and
 * another name for the file in messages (e.g. "token file"). buflen must be
 * > max.
 */
tu_status tu_secret_read_max(const char *path, size_t max, const char *what, char *buf,
			     size_t buflen, char *err, size_t errlen);
/* Overwrites n bytes in a way the compiler keeps. */
void tu_secret_wipe(void *p, size_t n);

#endif
