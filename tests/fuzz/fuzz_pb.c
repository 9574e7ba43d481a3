/*
 * fuzz_pb.c - decoding any trueup.v1 message as the CLI and the dumps do:
 * tu_cli_print_msg (ops/cli: `trueup drift`, `audit`, `streams dump`,
 * `replay`), which picks the type from the Trueup-Type header, decodes the
 * payload and prints it as a text line (its own lines for DriftEvent,
 * FixCommand, Outcome and DeadLetter) or as JSON (lib/pbjson.h, every field);
 * and base64 (lib/pbjson.h) both ways.
 *
 * Input: u8 type (one of the nine trueup.v1 names, an unknown one, or
 * none) | u8 flags (bit 0 JSON output, bit 1 a diff tag, bit 2 a timestamp)
 * | payload. Checks: what base64 writes reads back to the same bytes; a
 * payload that decodes writes JSON that jansson reads back (UTF-8 too,
 * whatever bytes its strings held); lib/text.h agrees with jansson's own
 * UTF-8 check on the payload, and what tu_text_repair leaves is UTF-8.
 */
#include <jansson.h>

#include "cli.h"
#include "contract.h"
#include "fuzz.h"
#include "pbjson.h"
#include "text.h"

static FILE *g_null;

static const char *const types[] = {
	TU_TYPE_OBSERVED, TU_TYPE_SCAN,    TU_TYPE_HEARTBEAT, TU_TYPE_TICK,
	TU_TYPE_DRIFT,    TU_TYPE_COMMAND, TU_TYPE_OUTCOME,   TU_TYPE_APPROVAL,
	TU_TYPE_DEAD,     "trueup.v1.Nothing", NULL,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_log();
	g_null = fopen("/dev/null", "w");
	if (g_null == NULL)
		abort();
	return 0;
}

static void base64_round_trip(const void *p, size_t n)
{
	struct tu_buf enc, dec;
	tu_buf_init(&enc, 1 << 24);
	tu_buf_init(&dec, 1 << 24);
	FZ_CHECK(tu_base64_write(p, n, &enc) == TU_OK, "base64 write");
	FZ_CHECK(tu_base64_read(tu_buf_cstr(&enc), enc.len, &dec) == TU_OK, "base64 read back");
	FZ_CHECK(dec.len == n && (n == 0 || memcmp(dec.data, p, n) == 0), "base64 changed bytes");
	/* The payload read as base64 text: refused or decoded, never more. */
	tu_buf_reset(&dec);
	tu_base64_read(p, n, &dec);
	tu_buf_release(&enc);
	tu_buf_release(&dec);
}

/* lib/text.h against an independent decoder: jansson refuses strings that are not UTF-8. */
static void text_agrees(const char *p, size_t n)
{
	if (memchr(p, 0, n) == NULL) {
		json_t *j = json_stringn(p, n);
		FZ_CHECK(tu_text_valid(p, n) == (j != NULL), "tu_text_valid says %d, jansson %d",
			 (int)tu_text_valid(p, n), (int)(j != NULL));
		json_decref(j);
	}
	char *s = fz_strndup((const uint8_t *)p, n);
	size_t len = strlen(s);
	tu_text_repair(s);
	FZ_CHECK(strlen(s) == len && tu_text_valid(s, len), "repaired text is not UTF-8");
	free(s);
}

/* pm written as JSON (lib/pbjson.h) reads back as JSON. */
static void json_reads_back(const ProtobufCMessage *pm, const char *type, bool all)
{
	struct tu_buf b;
	json_error_t je;
	tu_buf_init(&b, 1 << 24);
	tu_status st = all ? tu_pbjson_write_all(pm, &b) : tu_pbjson_write(pm, &b);
	FZ_CHECK(st == TU_OK, "%s as JSON%s: %s", type, all ? ", every field" : "",
		 tu_status_str(st));
	json_t *j = json_loadb(tu_buf_cstr(&b), b.len, 0, &je);
	FZ_CHECK(j != NULL, "%s as JSON does not read back: %s: %s", type, je.text,
		 tu_buf_cstr(&b));
	json_decref(j);
	tu_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	const char *type = types[fz_u8(&in) % (sizeof(types) / sizeof(types[0]))];
	uint8_t flags = fz_u8(&in);
	size_t len = 0;
	const uint8_t *p = fz_bytes(&in, in.n, &len);
	void *payload = malloc(len > 0 ? len : 1);
	struct tu_cli cli = { .json = (flags & 1) != 0, .verb = "fuzz" };

	if (len > 0)
		memcpy(payload, p, len);
	struct tu_cli_msg m = {
		.stream = TU_STREAM_EVENTS,
		.seq = 7,
		.ts_ns = (flags & 4) ? INT64_C(1763780000123456789) : 0,
		.subject = "trueup.drift.r.k",
		.msg_id = "m-1",
		.type = type,
		.corr = "c-1",
		.payload = payload,
		.len = len,
		.tag = (flags & 2) ? "+" : NULL,
	};
	tu_cli_print_msg(&cli, g_null, &m);

	const ProtobufCMessageDescriptor *d = type != NULL ? tu_pbjson_descriptor(type) : NULL;
	ProtobufCMessage *pm = d != NULL ? protobuf_c_message_unpack(d, NULL, len, payload) : NULL;
	if (pm != NULL) {
		json_reads_back(pm, type, false);
		json_reads_back(pm, type, true);
		protobuf_c_message_free_unpacked(pm, NULL);
	}
	base64_round_trip(payload, len);
	text_agrees(payload, len);
	free(payload);
	return 0;
}
