/* targets.c - adapters by target type (see targets.h). */
#include "targets.h"

#include <stdio.h>

#include "docker_target.h"
#include "mongo_target.h"
#include "kube_target.h"
#include "http_target.h"
#include "redis_target.h"

tu_status tu_target_open(const struct tu_target_config *t, struct tu_adapter *out, char *err,
			 size_t errlen)
{
	switch (t->type) {
	case TU_TARGET_REDIS: {
		tu_redis_adapter *r = NULL;
		tu_status st = tu_redis_adapter_create(t, &r, err, errlen);
		if (st == TU_OK)
			tu_redis_adapter_view(r, out);
		return st;
	}
	case TU_TARGET_DOCKER: {
		tu_docker_adapter *d = NULL;
		tu_status st = tu_docker_adapter_create(t, &d, err, errlen);
		if (st == TU_OK)
			tu_docker_adapter_view(d, out);
		return st;
	}
	case TU_TARGET_MONGODB: {
		tu_mongo_adapter *m = NULL;
		tu_status st = tu_mongo_adapter_create(t, &m, err, errlen);
		if (st == TU_OK)
			tu_mongo_adapter_view(m, out);
		return st;
	}
	case TU_TARGET_KUBE: {
		tu_kube_adapter *k = NULL;
		tu_status st = tu_kube_adapter_create(t, &k, err, errlen);
		if (st == TU_OK)
			tu_kube_adapter_view(k, out);
		return st;
	}
	case TU_TARGET_HTTP: {
		tu_http_adapter *h = NULL;
		tu_status st = tu_http_adapter_create(t, &h, err, errlen);
		if (st == TU_OK)
			tu_http_adapter_view(h, out);
		return st;
	}
	}
	snprintf(err, errlen, "target %s: unsupported type %d", t->name, (int)t->type);
	return TU_EINVAL;
}

void tu_target_close(const struct tu_target_config *t, struct tu_adapter *a)
{
	if (a == NULL || a->impl == NULL)
		return;
	switch (t->type) {
	case TU_TARGET_REDIS:
		tu_redis_adapter_destroy(a->impl);
		break;
	case TU_TARGET_DOCKER:
		tu_docker_adapter_destroy(a->impl);
		break;
	case TU_TARGET_MONGODB:
		tu_mongo_adapter_destroy(a->impl);
		break;
	case TU_TARGET_KUBE:
		tu_kube_adapter_destroy(a->impl);
		break;
	case TU_TARGET_HTTP:
		tu_http_adapter_destroy(a->impl);
		break;
	}
	a->impl = NULL;
}
