/*
 * bounds.h - named bounds on everything sized by input (STYLE 8).
 * Input over a bound is refused with TU_ETOOBIG and a message naming the bound.
 */
#ifndef TU_BOUNDS_H
#define TU_BOUNDS_H

#define TU_MAX_NAME 253            /* entity name (Kubernetes' DNS subdomain) */
#define TU_MAX_NAMESPACE 63        /* entity namespace (a DNS label); keeps view keys < 511 B */
#define TU_MAX_KIND 63             /* entity kind, source, target, rule, action names */
#define TU_MAX_ATTRS 256           /* attributes per entity per source */
#define TU_MAX_ATTR_KEY 256        /* attribute key */
#define TU_MAX_ATTR_VALUE 65536    /* attribute value */
#define TU_MAX_MSG (1024 * 1024)   /* any message body trueup publishes or accepts */
#define TU_MAX_CONFIG (4 * 1024 * 1024) /* config file */
#define TU_MAX_MANIFEST (4 * 1024 * 1024) /* one manifest file of the files source */
#define TU_MAX_TEMPLATE_OUT 65536  /* rendered template */
#define TU_MAX_SUBJECT 512         /* NATS subject */
#define TU_MAX_PARAMS 64           /* params or preconditions of one command */
/* A duration in the config: 100 years, so that a time plus one stays in int64 nanoseconds. */
#define TU_MAX_DURATION_MS (36500LL * 24 * 3600 * 1000)

#endif
