/*
 * fuzz_docker.c - the docker source on an arbitrary container list reply
 * (producers/docker_source.h tu__docker_source_reply): the reply is read as
 * a JSON array, every item is checked against the configured filters (name
 * prefixes, labels) and mapped by every observe entry (names with a leading
 * '/', labels with dots, health from the Status text). No entry inspects,
 * so no daemon is asked.
 *
 * Input: the reply body. Checks: the scan ends with TU_OK or TU_EDECODE
 * (a reply that is not a list), never another status; every entity handed
 * to the sink passed tu_entity_check (tu_source_emit's promise).
 */
#include "docker_source.h"
#include "fuzz.h"

static const char cfg_yaml[] =
	"sources:\n"
	"  - name: docker\n"
	"    type: docker\n"
	"    socket: /nonexistent/docker.sock\n"
	"    filters:\n"
	"      name_prefixes: [k3s-worker-, \"db.x+\"]\n"
	"      labels: [\"com.example.role=worker\", \"team\"]\n"
	"    observe:\n"
	"      - kind: worker\n"
	"        name: \"{.Names[0]|trimprefix:/}\"\n"
	"        name_prefix: k3s-worker-\n"
	"        attrs: { id: \"{.Id}\", state: \"{.State}\", role: "
	"\"{.Labels[\\\"com.example.role\\\"]|default:none}\", health: \"{health}\","
	" created: \"{.Created|default:0}\", image: \"{.Image|lower}\" }\n"
	"      - kind: box\n"
	"        namespace: \"{.Labels.team|default:default}\"\n"
	"        name: \"{.Names[0]|afterlast:/}\"\n"
	"        match: { .State: running }\n"
	"        attrs: { status: \"{.Status}\", port: \"{.Ports[0].PublicPort|default:}\" }\n";

static struct tu_config *g_cfg;
static struct tu_source *g_src;

static void cleanup(void)
{
	tu_source_destroy(g_src);
	tu_config_destroy(g_cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_log();
	g_cfg = fz_config(cfg_yaml);
	g_src = fz_source(g_cfg, 0);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tu_scan_sink sink = fz_sink(NULL);
	char *body = size > 0 ? malloc(size) : NULL;
	char err[1024];

	if (size > 0)
		memcpy(body, data, size);
	tu_status st = tu__docker_source_reply(g_src, body, size, &sink, err, sizeof(err));
	FZ_CHECK(st == TU_OK || st == TU_EDECODE, "reply: %s", tu_status_str(st));
	free(body);
	return 0;
}
