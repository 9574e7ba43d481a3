/*
 * fuzz_mongo.c - the mongodb source's mapping of one document
 * (producers/mongo_source.h tu__mongo_entity): BSON bytes to relaxed
 * extended JSON (lib/mongoconn.h) to an entity, and the _id text every
 * message about a document carries.
 *
 * Input: u8 mode | rest. Mode bit 0 clear: the rest is a BSON document as
 * a server could send it (the length prefix must match; the content is
 * not validated first, as the cursor's is not). Set: the rest is extended
 * JSON text, parsed with tu_mongo_bson_from_json (the form filters and
 * documents take in the config) and then mapped. Bit 1: a small
 * max_document (64 bytes) instead of 1 MiB.
 *
 * Checks: the mapping returns TU_OK, TU_ENOTFOUND, TU_ETOOBIG or TU_EINVAL;
 * a mapped entity passes tu_entity_check; the _id text is printable ASCII.
 */
#include "entity.h"
#include "fuzz.h"
#include "mongo_source.h"
#include "mongoconn.h"

static const char cfg_yaml[] =
	"sources:\n"
	"  - name: mongo\n"
	"    type: mongodb\n"
	"    uri: mongodb://db1:27017/?replicaSet=rs0\n"
	"    observe:\n"
	"      - kind: database\n"
	"        database: shop\n"
	"        collection: databases\n"
	"        namespace: \"{.tier|default:default}\"\n"
	"        name: \"{.name}\"\n"
	"        attrs:\n"
	"          id: '{._id[\"$oid\"]|default:}'\n"
	"          storage: \"{.spec.storage|default:}\"\n"
	"          replicas: \"{.spec.replicas|default:1}\"\n"
	"          created: '{.created[\"$date\"]|default:}'\n"
	"          app: '{.labels[\"app.kubernetes.io/name\"]|default:}'\n"
	"          from: \"{source}:{database}.{collection}\"\n"
	"      - kind: db\n"
	"        database: shop\n"
	"        collection: databases\n"
	"        name: '{._id[\"$oid\"]}'\n"
	"        match: { .kind: db }\n"
	"        name_prefix: \"6\"\n";

static struct tu_config *g_cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_log();
	tu_mongo_init();
	g_cfg = fz_config(cfg_yaml);
	return 0;
}

static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	return true;
}

static void map(const bson_t *doc, int64_t max_document)
{
	const struct tu_mongo_source *m = &g_cfg->sources[0].mongo;
	char why[1024], id[256];
	struct tu_arena a;

	tu_mongo_id_text(doc, id, sizeof(id));
	FZ_CHECK(printable(id), "_id text is not printable");
	tu_arena_init(&a, 4096);
	for (size_t i = 0; i < m->n_observe; i++) {
		struct tu_entity e;
		tu_status st = tu__mongo_entity("mongo", &m->observe[i], doc, max_document, &a, &e,
						why, sizeof(why));
		FZ_CHECK(st == TU_OK || st == TU_ENOTFOUND || st == TU_ETOOBIG || st == TU_EINVAL,
			 "tu__mongo_entity: %s", tu_status_str(st));
		if (st == TU_OK)
			FZ_CHECK(tu_entity_check(&e, why, sizeof(why)) == TU_OK,
				 "a mapped document is a bad entity: %s", why);
		tu_arena_reset(&a);
	}
	tu_arena_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	uint8_t mode = fz_u8(&in);
	int64_t max_document = (mode & 2) ? 64 : 1 << 20;
	size_t len = 0;
	const uint8_t *p = fz_bytes(&in, in.n, &len);
	char err[512];

	if ((mode & 1) == 0) {
		/* An exact copy: reading past the document is then a sanitizer report. */
		uint8_t *copy = malloc(len > 0 ? len : 1);
		bson_t doc;
		if (len > 0)
			memcpy(copy, p, len);
		if (bson_init_static(&doc, copy, len))
			map(&doc, max_document);
		free(copy);
	} else {
		char *text = fz_strndup(p, len);
		bson_t *doc = NULL;
		if (tu_mongo_bson_from_json(text, &doc, err, sizeof(err)) == TU_OK) {
			map(doc, max_document);
			bson_destroy(doc);
		}
		free(text);
	}
	return 0;
}
