/* pb.c - protobuf helpers (see pb.h). */
#include "pb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

void *tu_pb_pack(struct tu_arena *a, const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = tu_arena_alloc(a, n);
	protobuf_c_message_pack(m, buf);
	*len = n;
	return buf;
}

Trueup__V1__EntityRef *tu_pb_entity(struct tu_arena *a, const char *kind, const char *ns,
				    const char *name)
{
	Trueup__V1__EntityRef *e = tu_arena_alloc(a, sizeof(*e));
	trueup__v1__entity_ref__init(e);
	e->kind = tu_arena_strdup(a, kind);
	e->namespace_ = tu_arena_strdup(a, ns);
	e->name = tu_arena_strdup(a, name);
	return e;
}

Trueup__V1__Attr *tu_pb_attr(struct tu_arena *a, const char *key, const char *value)
{
	Trueup__V1__Attr *at = tu_arena_alloc(a, sizeof(*at));
	trueup__v1__attr__init(at);
	at->key = tu_arena_strdup(a, key);
	at->value = tu_arena_strdup(a, value);
	return at;
}

static int cmp_attr(const void *x, const void *y)
{
	const Trueup__V1__Attr *const *a = x;
	const Trueup__V1__Attr *const *b = y;
	return strcmp((*a)->key, (*b)->key);
}

void tu_pb_attrs_sort(Trueup__V1__Attr **attrs, size_t n)
{
	/* insertion sort: stable, and lists are short and mostly sorted */
	for (size_t i = 1; i < n; i++) {
		Trueup__V1__Attr *x = attrs[i];
		size_t j = i;
		while (j > 0 && cmp_attr(&attrs[j - 1], &x) > 0) {
			attrs[j] = attrs[j - 1];
			j--;
		}
		attrs[j] = x;
	}
}

bool tu_pb_attrs_valid(Trueup__V1__Attr *const *attrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (attrs[i]->key == NULL || attrs[i]->value == NULL)
			return false;
		if (i > 0 && strcmp(attrs[i - 1]->key, attrs[i]->key) >= 0)
			return false;
	}
	return true;
}

const char *tu_pb_attrs_get(Trueup__V1__Attr *const *attrs, size_t n, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(attrs[mid]->key, key);
		if (c == 0)
			return attrs[mid]->value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool tu_pb_text_valid(const ProtobufCMessage *m, const char **field)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *at = (const char *)m + fd->offset;
		bool repeated = fd->label == PROTOBUF_C_LABEL_REPEATED;
		if (fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		/* A oneof member's memory is another member's unless it is the case set. */
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m + fd->quantifier_offset) != fd->id)
			continue;
		size_t n = repeated ? *(const size_t *)((const char *)m + fd->quantifier_offset) : 1;
		void *const *vals = repeated ? *(void *const *const *)at : (void *const *)at;
		for (size_t j = 0; j < n; j++) {
			if (vals[j] == NULL)
				continue;
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (!tu_pb_text_valid(vals[j], field))
					return false;
			} else if (!tu_text_valid(vals[j], strlen(vals[j]))) {
				if (field != NULL)
					*field = fd->name;
				return false;
			}
		}
	}
	return true;
}

const char *tu_pb_result_str(Trueup__V1__Outcome__Result r)
{
	switch (r) {
	case TRUEUP__V1__OUTCOME__RESULT__RESULT_SUCCEEDED: return "succeeded";
	case TRUEUP__V1__OUTCOME__RESULT__RESULT_NOOP: return "noop";
	case TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE: return "failed-retryable";
	case TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_PERMANENT: return "failed-permanent";
	case TRUEUP__V1__OUTCOME__RESULT__RESULT_SKIPPED_PRECONDITION: return "skipped-precondition";
	case TRUEUP__V1__OUTCOME__RESULT__RESULT_DRY_RUN: return "dry-run";
	case TRUEUP__V1__OUTCOME__RESULT__RESULT_EXPIRED: return "expired";
	default: return "unspecified";
	}
}

const char *tu_pb_drift_state_str(Trueup__V1__DriftEvent__State s)
{
	switch (s) {
	case TRUEUP__V1__DRIFT_EVENT__STATE__STATE_OPENED: return "opened";
	case TRUEUP__V1__DRIFT_EVENT__STATE__STATE_UPDATED: return "updated";
	case TRUEUP__V1__DRIFT_EVENT__STATE__STATE_RESOLVED: return "resolved";
	case TRUEUP__V1__DRIFT_EVENT__STATE__STATE_ESCALATED: return "escalated";
	default: return "unspecified";
	}
}

const char *tu_pb_mode_str(Trueup__V1__Mode m)
{
	switch (m) {
	case TRUEUP__V1__MODE__MODE_DETECT: return "detect";
	case TRUEUP__V1__MODE__MODE_DRY_RUN: return "dry-run";
	case TRUEUP__V1__MODE__MODE_PROPOSE: return "propose";
	case TRUEUP__V1__MODE__MODE_ENFORCE: return "enforce";
	default: return "unspecified";
	}
}

bool tu_pb_result_final(Trueup__V1__Outcome__Result r)
{
	return r != TRUEUP__V1__OUTCOME__RESULT__RESULT_UNSPECIFIED &&
	       r != TRUEUP__V1__OUTCOME__RESULT__RESULT_FAILED_RETRYABLE;
}
