/*
 * source.c - adapter dispatch and the helpers every adapter shares (see
 * source.h).
 */
#include "source.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_source.h"
#include "files_source.h"
#include "kube_source.h"
#include "http_source.h"
#include "log.h"
#include "mongo_source.h"
#include "redis_source.h"
#include "xalloc.h"

tu_status tu_source_create(const struct tu_source_config *cfg, struct tu_source **out, char *err,
			   size_t errlen)
{
	switch (cfg->type) {
	case TU_SOURCE_REDIS:
		return tu_redis_source_create(cfg, out, err, errlen);
	case TU_SOURCE_FILES:
		return tu_files_source_create(cfg, out, err, errlen);
	case TU_SOURCE_DOCKER:
		return tu_docker_source_create(cfg, out, err, errlen);
	case TU_SOURCE_MONGODB:
		return tu_mongo_source_create(cfg, out, err, errlen);
	case TU_SOURCE_KUBE:
		return tu_kube_source_create(cfg, out, err, errlen);
	case TU_SOURCE_HTTP:
		return tu_http_source_create(cfg, out, err, errlen);
	}
	snprintf(err, errlen, "source %s: unknown type %d", cfg->name, (int)cfg->type);
	return TU_EINVAL;
}

void tu_source_destroy(struct tu_source *src)
{
	if (src == NULL)
		return;
	for (size_t i = 0; i < src->n_kinds; i++)
		free(src->kinds[i]);
	free(src->kinds);
	src->ops->destroy(src);
}

tu_status tu_source_scan(struct tu_source *src, const struct tu_scan_sink *sink, char *err,
			 size_t errlen)
{
	return src->ops->scan(src, sink, err, errlen);
}

tu_status tu_source_emit(struct tu_source *src, const struct tu_scan_sink *sink,
			 const struct tu_entity *e, const char *what)
{
	char why[512];
	if (tu_entity_check(e, why, sizeof(why)) != TU_OK) {
		tu_source_skip(src, sink, "%s: %s", what, why);
		return TU_OK;
	}
	return sink->entity(sink->ctx, e);
}

void tu_source_skip(const struct tu_source *src, const struct tu_scan_sink *sink, const char *fmt,
		    ...)
{
	char why[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	tu_warn("source %s: skipped %s", src->cfg->name, why);
	sink->skip(sink->ctx, why);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void tu__source_set_kinds(struct tu_source *src, const char *const *kinds, size_t n)
{
	char **k = tu_xcalloc(n ? n : 1, sizeof(*k));
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		k[i] = tu_xstrdup(kinds[i]);
	qsort(k, n, sizeof(*k), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && strcmp(k[m - 1], k[i]) == 0) {
			free(k[i]);
			continue;
		}
		k[m++] = k[i];
	}
	src->kinds = k;
	src->n_kinds = m;
}
