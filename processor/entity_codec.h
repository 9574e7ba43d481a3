/*
 * entity_codec.h - the view's entity records (view.proto Entity) encoded and
 * decoded, and observations (trueup.v1.ObservedState) decoded, without
 * protobuf-c's generic, descriptor-driven codec: the fold decodes an
 * observation and decodes, changes and encodes an entity record per event,
 * and protobuf-c's codec was a fifth of the fold thread's time
 * (BENCHMARKS.md).
 *
 * The bytes are protobuf-c's, byte for byte (fields in number order, proto3
 * zero values left out, minimal varints), so views written before and after
 * are the same, and `trueup view dump` and the other readers keep decoding
 * them with protobuf-c. Decoding accepts and rejects what protobuf-c does for
 * these messages, with one difference: unknown fields are skipped, not kept
 * (the view's records are written by this code only). Strings absent from the
 * wire are "" (protobuf_c_empty_string), as protobuf-c leaves them.
 * tests/unit/entity_codec_test.c checks both against protobuf-c.
 *
 * Also the wire reader that both the decoder and the sweeps (which read
 * records without decoding them) use.
 */
#ifndef TU_ENTITY_CODEC_H
#define TU_ENTITY_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "trueup/v1/observe.pb-c.h"
#include "view.pb-c.h"

/* One field of an encoded message, as tu_wire_next() reads it. */
struct tu_wire_field {
	uint32_t num;        /* field number (> 0) */
	uint32_t type;       /* wire type: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit */
	const uint8_t *data; /* type 2: the bytes */
	size_t len;          /* type 2: their length */
	uint64_t value;      /* type 0: the value */
	const uint8_t *raw;  /* the bytes after the tag (a length prefix included) */
	size_t raw_len;
};

/*
 * Reads the field at *p (before end) and moves *p past it; false if the
 * bytes are no valid field as protobuf-c reads them (truncated, a first tag
 * byte naming field 0, tags and length prefixes longer than 5 bytes, groups,
 * wire types 6 and 7).
 */
bool tu_wire_next(const uint8_t **p, const uint8_t *end, struct tu_wire_field *f);

/* Decodes an Entity record into arena a; NULL if malformed. */
Trueup__View__Entity *tu_entity_decode(struct tu_arena *a, const uint8_t *buf, size_t len);

/*
 * Decodes an observation (trueup.v1.ObservedState, from the wire) into arena
 * a, as protobuf-c would; NULL if malformed. The fold decodes one per
 * observation; what it holds is checked by the fold, as before.
 */
Trueup__V1__ObservedState *tu_observed_decode(struct tu_arena *a, const uint8_t *buf, size_t len);

/* The encoded size of e, and the encoding (exactly that many bytes into out). */
size_t tu_entity_size(const Trueup__View__Entity *e);
void tu_entity_encode(const Trueup__View__Entity *e, uint8_t *out);

#endif
