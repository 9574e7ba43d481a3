/* pbjson.c - reflective protobuf to JSON (see pbjson.h). */
#include "pbjson.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "trueup/v1/command.pb-c.h"
#include "trueup/v1/common.pb-c.h"
#include "trueup/v1/drift.pb-c.h"
#include "trueup/v1/observe.pb-c.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

tu_status tu_base64_write(const void *data, size_t len, struct tu_buf *out)
{
	const unsigned char *p = data;
	tu_status st = TU_OK;
	for (size_t i = 0; i < len && st == TU_OK; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		char q[4] = { b64[(v >> 18) & 63], b64[(v >> 12) & 63],
			      i + 1 < len ? b64[(v >> 6) & 63] : '=', i + 2 < len ? b64[v & 63] : '=' };
		st = tu_buf_append(out, q, 4);
	}
	return st;
}

static int b64val(char c)
{
	const char *p = strchr(b64, c);
	return (c != '\0' && p != NULL) ? (int)(p - b64) : -1;
}

tu_status tu_base64_read(const char *s, size_t len, struct tu_buf *out)
{
	if (len % 4 != 0)
		return TU_EINVAL;
	tu_status st = TU_OK;
	for (size_t i = 0; i < len && st == TU_OK; i += 4) {
		int a = b64val(s[i]), b = b64val(s[i + 1]);
		int c = s[i + 2] == '=' ? 0 : b64val(s[i + 2]);
		int d = s[i + 3] == '=' ? 0 : b64val(s[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return TU_EINVAL;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		unsigned char q[3] = { (unsigned char)(v >> 16), (unsigned char)(v >> 8),
				       (unsigned char)v };
		size_t n = s[i + 2] == '=' ? 1 : s[i + 3] == '=' ? 2 : 3;
		st = tu_buf_append(out, q, n);
	}
	return st;
}

static tu_status write_value(const ProtobufCFieldDescriptor *f, const void *p, struct tu_buf *out,
			     bool all);
static tu_status write_message(const ProtobufCMessage *m, struct tu_buf *out, bool all);

static bool is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM: return *(const int32_t *)p == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return *(const int64_t *)p == 0;
	case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
	case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
	case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return s == NULL || *s == '\0';
	}
	case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE: return *(void *const *)p == NULL;
	}
	return false;
}

static tu_status write_value(const ProtobufCFieldDescriptor *f, const void *p, struct tu_buf *out,
			     bool all)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: return tu_buf_printf(out, "%" PRId32, *(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: return tu_buf_printf(out, "%" PRIu32, *(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: return tu_buf_printf(out, "%" PRId64, *(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: return tu_buf_printf(out, "%" PRIu64, *(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT: return tu_buf_printf(out, "%g", (double)*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE: return tu_buf_printf(out, "%g", *(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return tu_buf_puts(out, *(const protobuf_c_boolean *)p ? "true" : "false");
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);
		if (ev == NULL)
			return tu_buf_printf(out, "%d", *(const int *)p);
		return tu_buf_json_str(out, ev->name, strlen(ev->name));
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return tu_buf_json_str(out, s ? s : "", s ? strlen(s) : 0);
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *bd = p;
		tu_status st = tu_buf_putc(out, '"');
		if (st == TU_OK)
			st = tu_base64_write(bd->data, bd->len, out);
		if (st == TU_OK)
			st = tu_buf_putc(out, '"');
		return st;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
		if (m == NULL)
			return tu_buf_puts(out, "null");
		return write_message(m, out, all);
	}
	}
	return TU_EINVAL;
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE: return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	default: return 4;
	}
}

static tu_status write_message(const ProtobufCMessage *m, struct tu_buf *out, bool all)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	tu_status st = tu_buf_putc(out, '{');
	bool first = true;
	for (unsigned i = 0; i < d->n_fields && st == TU_OK; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			if (n == 0 && !all)
				continue;
			const char *arr = *(char *const *)base;
			st = tu_buf_printf(out, "%s\"%s\":[", first ? "" : ",", f->name);
			for (size_t j = 0; j < n && st == TU_OK; j++) {
				if (j > 0)
					st = tu_buf_putc(out, ',');
				if (st == TU_OK)
					st = write_value(f, arr + j * elem_size(f), out, all);
			}
			if (st == TU_OK)
				st = tu_buf_putc(out, ']');
		} else {
			if (!all && is_default(f, base))
				continue;
			st = tu_buf_printf(out, "%s\"%s\":", first ? "" : ",", f->name);
			if (st == TU_OK)
				st = write_value(f, base, out, all);
		}
		first = false;
	}
	if (st == TU_OK)
		st = tu_buf_putc(out, '}');
	return st;
}

tu_status tu_pbjson_write(const ProtobufCMessage *m, struct tu_buf *out)
{
	return write_message(m, out, false);
}

tu_status tu_pbjson_write_all(const ProtobufCMessage *m, struct tu_buf *out)
{
	return write_message(m, out, true);
}

const ProtobufCMessageDescriptor *tu_pbjson_descriptor(const char *full_name)
{
	static const ProtobufCMessageDescriptor *all[] = {
		&trueup__v1__observed_state__descriptor, &trueup__v1__scan_marker__descriptor,
		&trueup__v1__heartbeat__descriptor,      &trueup__v1__tick__descriptor,
		&trueup__v1__drift_event__descriptor,    &trueup__v1__fix_command__descriptor,
		&trueup__v1__outcome__descriptor,        &trueup__v1__approval__descriptor,
		&trueup__v1__dead_letter__descriptor,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, full_name) == 0)
			return all[i];
	return NULL;
}
