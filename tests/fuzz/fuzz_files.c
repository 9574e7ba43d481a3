/*
 * fuzz_files.c - the files source (producers/files_source.h) on arbitrary
 * manifest files: up to three files in a directory of their own, each read
 * as YAML (several documents, aliases) or JSON by its name, manifests and
 * lists of them mapped to entities, duplicates across files skipped.
 *
 * Input: u8 flags | file a \0 file b \0 file c. Flag bit i: file i is
 * named .json (else .yaml); bit 3: the source keeps only kind worker.
 * The files are written to one temporary directory per process and
 * removed after each input.
 *
 * Checks: the scan of an existing directory ends with TU_OK whatever the
 * files hold (a bad manifest is a skip, never a failed scan); every entity
 * handed to the sink passed tu_entity_check and has the kept kind.
 */
#include <unistd.h>

#include "fuzz.h"
#include "xalloc.h"

#define N_FILES 3

static const char cfg_yaml[] =
	"sources:\n"
	"  - { name: all, type: files, path: /nonexistent, namespace: shop }\n"
	"  - { name: workers, type: files, path: /nonexistent, kinds: [worker] }\n";

static struct tu_config *g_cfg;
static struct tu_source *g_src[2];
static char g_dir[64];

static void file_path(char *out, size_t len, int i, bool json)
{
	snprintf(out, len, "%s/%c.%s", g_dir, 'a' + i, json ? "json" : "yaml");
}

static void cleanup(void)
{
	tu_source_destroy(g_src[0]);
	tu_source_destroy(g_src[1]);
	tu_config_destroy(g_cfg);
	if (rmdir(g_dir) != 0)
		fprintf(stderr, "fuzz_files: could not remove %s\n", g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_log();
	g_cfg = fz_config(cfg_yaml);
	snprintf(g_dir, sizeof(g_dir), "/tmp/trueup-fuzz-files.XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		abort();
	for (int i = 0; i < 2; i++) {
		free(g_cfg->sources[i].files.path);
		g_cfg->sources[i].files.path = tu_xstrdup(g_dir);
		g_src[i] = fz_source(g_cfg, (size_t)i);
	}
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	uint8_t flags = fz_u8(&in);
	char path[N_FILES][128];
	int n = 0;
	char err[1024];

	while (n < N_FILES && (n == 0 || in.n > 0)) {
		size_t len = 0;
		const uint8_t *p = fz_until(&in, 0, &len);
		file_path(path[n], sizeof(path[n]), n, (flags >> n & 1) != 0);
		FILE *f = fopen(path[n], "wb");
		FZ_CHECK(f != NULL && (len == 0 || fwrite(p, 1, len, f) == len) && fclose(f) == 0,
			 "cannot write %s", path[n]);
		n++;
	}
	bool workers_only = (flags & 8) != 0;
	struct tu_scan_sink sink = fz_sink(workers_only ? "worker" : NULL);
	tu_status st = tu_source_scan(g_src[workers_only], &sink, err, sizeof(err));
	FZ_CHECK(st == TU_OK, "scan: %s: %s", tu_status_str(st), err);
	for (int i = 0; i < n; i++)
		FZ_CHECK(unlink(path[i]) == 0, "cannot remove %s", path[i]);
	return 0;
}
