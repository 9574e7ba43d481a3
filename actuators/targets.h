/*
 * targets.h - the adapter of a configured target, by its type. Each target
 * type adds one case to tu_target_open() (targets.c).
 */
#ifndef TU_TARGETS_H
#define TU_TARGETS_H

#include "adapter.h"
#include "config.h"
#include "status.h"

/*
 * Creates the adapter for t (which must outlive it). On success *out is the
 * adapter and tu_target_close(out) frees it; on failure err says why.
 */
tu_status tu_target_open(const struct tu_target_config *t, struct tu_adapter *out, char *err,
			 size_t errlen);
void tu_target_close(const struct tu_target_config *t, struct tu_adapter *a);

#endif
