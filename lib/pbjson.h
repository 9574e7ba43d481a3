/*
 * pbjson.h - any protobuf-c message as one line of JSON, by reflection over
 * its descriptor: field names as in the .proto, enums by value name, bytes as
 * base64, 64-bit integers as numbers; fields at their proto3 default are left
 * out (like the canonical JSON mapping) unless asked for. Used by the CLI, dumps and logs.
 */
#ifndef TU_PBJSON_H
#define TU_PBJSON_H

#include <protobuf-c/protobuf-c.h>

#include "buf.h"
#include "status.h"

tu_status tu_pbjson_write(const ProtobufCMessage *m, struct tu_buf *out);
/* The same with every field, defaults included ("", 0, false, [], null, the zero enum). */
tu_status tu_pbjson_write_all(const ProtobufCMessage *m, struct tu_buf *out);

/* Standard base64 (with padding) of data appended to out. */
tu_status tu_base64_write(const void *data, size_t len, struct tu_buf *out);
/* Decodes standard base64; TU_EINVAL on bad input. */
tu_status tu_base64_read(const char *s, size_t len, struct tu_buf *out);

/* Descriptor of a trueup.v1 message by full name ("trueup.v1.Outcome"), or NULL. */
const ProtobufCMessageDescriptor *tu_pbjson_descriptor(const char *full_name);

#endif
