/*
 * fuzz_config.c - loading the one YAML config (lib/config.h
 * tu_config_load_string) from arbitrary bytes, then creating the producer's
 * adapter for every source it declares (each checks what the loader cannot:
 * URIs, resources, JSON filters; none connects).
 *
 * Input: the YAML text, given with its length and no NUL after it (the
 * loader takes a length). Checks: a failed load writes a message and leaves
 * *out untouched; a loaded config is freed without leaks.
 */
#include "fuzz.h"
#include "mongoconn.h"
#include "source.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_log();
	tu_mongo_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact copy without a NUL: reading past the text is a sanitizer report. */
	char *yaml = malloc(size > 0 ? size : 1);
	struct tu_config *cfg = (struct tu_config *)&yaml; /* a sentinel: must stay untouched */
	struct tu_config *const sentinel = cfg;
	char err[1024] = "";

	if (size > 0)
		memcpy(yaml, data, size);
	tu_status st = tu_config_load_string("fuzz.yaml", yaml, size, &cfg, err, sizeof(err));
	if (st != TU_OK) {
		FZ_CHECK(cfg == sentinel, "a failed load wrote *out");
		FZ_CHECK(err[0] != '\0', "a failed load (%s) without a message", tu_status_str(st));
		free(yaml);
		return 0;
	}
	FZ_CHECK(cfg != NULL && cfg != sentinel, "a load without a config");
	for (size_t i = 0; i < cfg->n_sources; i++) {
		struct tu_source *src = NULL;
		if (tu_source_create(&cfg->sources[i], &src, err, sizeof(err)) == TU_OK)
			tu_source_destroy(src);
	}
	tu_config_destroy(cfg);
	free(yaml);
	return 0;
}
