/*
 * ids.h - derived identifiers, digests and subject tokens.
 *
 * Ids are never random (DESIGN.md, Determinism): each is the first 96 bits of
 * SHA-256 over a domain tag and its parts, each part followed by a NUL, in hex.
 *   correlation id = f("corr", rule, kind, namespace, name, opened_seq)
 *   command id     = f("cmd", correlation id, action index, action, attempt)
 *   drift event id = f("drift", correlation id, revision)
 * Replaying the stream into an empty view therefore yields the same ids.
 * Hex ids are valid NATS subject tokens.
 */
#ifndef TU_IDS_H
#define TU_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TU_ID_LEN 24 /* hex characters of an id (96 bits) */
#define TU_ID_SIZE (TU_ID_LEN + 1)

void tu_id_correlation(char out[TU_ID_SIZE], const char *rule, const char *kind,
		       const char *ns, const char *name, uint64_t opened_seq);
void tu_id_command(char out[TU_ID_SIZE], const char *correlation_id, uint32_t action_index,
		   const char *action, uint32_t attempt);
void tu_id_drift_event(char out[TU_ID_SIZE], const char *correlation_id, uint32_t revision);

/* Hex SHA-256 of data, truncated to TU_ID_LEN characters. */
void tu_digest_hex(char out[TU_ID_SIZE], const void *data, size_t len);

/* The raw 32-byte SHA-256 of data. */
void tu_sha256(unsigned char out[32], const void *data, size_t len);

/*
 * A valid subject token: 1..TU_MAX_KIND*4 bytes, none of '.', '*', '>',
 * whitespace or control characters.
 */
bool tu_token_valid(const char *s);

/*
 * A valid trueup name (source, target, rule, kind, action): [a-z0-9][a-z0-9_-]*,
 * at most TU_MAX_KIND bytes. Such names are subject tokens without escaping.
 */
bool tu_name_valid(const char *s);

/*
 * Escapes s into a subject token: bytes outside [A-Za-z0-9_-] become %XX.
 * Writes at most outlen bytes including the NUL; returns false if it does not fit
 * or s is empty.
 */
bool tu_token_escape(const char *s, char *out, size_t outlen);

#endif
