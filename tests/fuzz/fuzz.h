/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz share: a cursor that
 * cuts the fuzzer's bytes into fields, exact-size heap copies (so that
 * AddressSanitizer sees the end of every string a target hands to trueup),
 * a config loaded once per process, and a quiet log.
 *
 * Every target is one file, fuzz_<name>.c, defining LLVMFuzzerTestOneInput
 * (and LLVMFuzzerInitialize when it needs setup). A target must be
 * deterministic (the same bytes, the same path through trueup) and must
 * free what it allocated: libFuzzer reports leaks as bugs. A target aborts
 * (FZ_CHECK) only where trueup broke a promise of its header; a refusal of
 * bad input is the expected outcome, never a finding.
 */
#ifndef TU_FUZZ_H
#define TU_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "entity.h"
#include "log.h"
#include "source.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A promise trueup broke: report it and abort, so libFuzzer keeps the input. */
#define FZ_CHECK(cond, ...)                                                              \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__,   \
				__LINE__, #cond);                                        \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* The rest of the fuzzer's input. */
struct fz {
	const uint8_t *p; /* next byte */
	size_t n;         /* bytes left */
};

static inline struct fz fz_init(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	return f;
}

/* The next byte, 0 past the end. */
static inline uint8_t fz_u8(struct fz *f)
{
	if (f->n == 0)
		return 0;
	f->n--;
	return *f->p++;
}

/* The next two bytes, little-endian; 0 past the end. */
static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);
	return (uint16_t)(lo | (uint16_t)fz_u8(f) << 8);
}

/* The next n bytes (fewer at the end): *len gets how many; borrowed from the input. */
static inline const uint8_t *fz_bytes(struct fz *f, size_t n, size_t *len)
{
	const uint8_t *p = f->p;
	if (n > f->n)
		n = f->n;
	f->p += n;
	f->n -= n;
	*len = n;
	return p;
}

/* The bytes up to the next `sep` (consumed, not included) or the end. */
static inline const uint8_t *fz_until(struct fz *f, uint8_t sep, size_t *len)
{
	const uint8_t *e = f->n > 0 ? memchr(f->p, sep, f->n) : NULL;
	size_t n = e != NULL ? (size_t)(e - f->p) : f->n;
	const uint8_t *p = fz_bytes(f, n, len);
	if (e != NULL) {
		f->p++;
		f->n--;
	}
	return p;
}

/* A NUL-terminated malloc'd copy of exactly len bytes (free it). */
static inline char *fz_strndup(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		abort();
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/* The field up to the next NUL (or the end) as a malloc'd C string (free it). */
static inline char *fz_cstr(struct fz *f)
{
	size_t len = 0;
	const uint8_t *p = fz_until(f, 0, &len);
	return fz_strndup(p, len);
}

/*
 * The scan sink of the source targets: every entity a source hands it must
 * have passed tu_entity_check (tu_source_emit's promise) and, when ctx is
 * a kind, be of that kind; skips are expected and ignored.
 */
static inline tu_status fz_on_entity(void *ctx, const struct tu_entity *e)
{
	const char *kind = ctx;
	char why[512];
	FZ_CHECK(tu_entity_check(e, why, sizeof(why)) == TU_OK, "emitted: %s", why);
	FZ_CHECK(kind == NULL || strcmp(e->kind, kind) == 0, "kind %s emitted", e->kind);
	return TU_OK;
}

static inline void fz_on_skip(void *ctx, const char *why)
{
	(void)ctx;
	(void)why;
}

static inline bool fz_on_stopping(void *ctx)
{
	(void)ctx;
	return false;
}

/* The sink above; kind as for fz_on_entity (NULL: any). */
static inline struct tu_scan_sink fz_sink(const char *kind)
{
	struct tu_scan_sink s = { fz_on_entity, fz_on_skip, fz_on_stopping, (void *)kind };
	return s;
}

/* Logs only when TRUEUP_FUZZ_LOG is set: a log line per input would halve the speed. */
static inline void fz_quiet_log(void)
{
	const char *v = getenv("TRUEUP_FUZZ_LOG");
	enum tu_log_level level = (enum tu_log_level)(TU_LOG_ERROR + 1);
	if (v != NULL && *v != '\0')
		level = TU_LOG_DEBUG;
	tu_log_init("fuzz", level, TU_LOG_TEXT);
}

/* Loads a config the target's fixed parts come from, or aborts: the YAML is the target's. */
static inline struct tu_config *fz_config(const char *yaml)
{
	struct tu_config *cfg = NULL;
	char err[1024];
	if (tu_config_load_string("fuzz.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)) !=
	    TU_OK) {
		fprintf(stderr, "fuzz: the target's config does not load: %s\n", err);
		abort();
	}
	return cfg;
}

/* The adapter of cfg's i-th source, or aborts: the source is the target's own. */
static inline struct tu_source *fz_source(const struct tu_config *cfg, size_t i)
{
	struct tu_source *src = NULL;
	char err[1024];
	if (tu_source_create(&cfg->sources[i], &src, err, sizeof(err)) != TU_OK) {
		fprintf(stderr, "fuzz: the target's source %zu cannot be created: %s\n", i, err);
		abort();
	}
	return src;
}

#endif
