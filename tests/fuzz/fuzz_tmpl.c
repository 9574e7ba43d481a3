/*
 * fuzz_tmpl.c - the template language of mappings and actions
 * (lib/tmpl.h): check, render, the json and urlescape filters'
 * promises, placeholders_end_with and is_literal.
 *
 * Input: fields separated by NUL bytes:
 *   template \0 filter chain \0 value
 * Variables: name = "k3s-worker-3", empty = "", v and anything starting
 * with x = the value; anything else is missing.
 *
 * Checks: a template that fails tu_tmpl_check never renders; one that
 * passes renders, or fails only for a missing variable or the output
 * bound. With `chain` a filter chain (e.g. "|trimprefix:a|lower"):
 *   {{"k": "{v<chain>|json}"}} renders, when the result is UTF-8, to a JSON
 *   object whose only member is k, a string: a value never changes the
 *   structure of the document it is put into;
 *   {v<chain>|urlescape} renders to unreserved characters and %XX only.
 */
#include <jansson.h>

#include "entity.h"
#include "fuzz.h"
#include "tmpl.h"

static const char *g_value; /* the input's value, for the lookup */

static bool lookup(void *ctx, const char *var, size_t n, const char **val, size_t *len)
{
	(void)ctx;
	if (n == 4 && memcmp(var, "name", 4) == 0) {
		*val = "k3s-worker-3";
	} else if (n == 5 && memcmp(var, "empty", 5) == 0) {
		*val = "";
	} else if ((n == 1 && var[0] == 'v') || (n > 0 && var[0] == 'x')) {
		*val = g_value;
	} else {
		return false;
	}
	*len = strlen(*val);
	return true;
}

static tu_status render(const char *t, struct tu_buf *out)
{
	char err[512] = "";
	tu_buf_reset(out);
	tu_status st = tu_tmpl_render(t, lookup, NULL, out, err, sizeof(err));
	FZ_CHECK(st == TU_OK || err[0] != '\0', "a failed rendering (%s) without a reason",
		 tu_status_str(st));
	return st;
}

static bool unreserved_or_pct(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
		if (!ok)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = fz_init(data, size);
	char *t = fz_cstr(&in), *chain = fz_cstr(&in), *value = fz_cstr(&in);
	char err[512];
	struct tu_buf out;

	g_value = value;
	tu_buf_init(&out, 1 << 20);
	bool ok = tu_tmpl_check(t, err, sizeof(err)) == TU_OK;
	tu_status st = render(t, &out);
	if (!ok)
		FZ_CHECK(st != TU_OK, "\"%s\" fails its check but renders", t);
	else
		FZ_CHECK(st == TU_OK || st == TU_ENOTFOUND || st == TU_ETOOBIG,
			 "\"%s\" passes its check, renders with %s", t, tu_status_str(st));
	tu_status ends = tu_tmpl_placeholders_end_with(t, "json", err, sizeof(err));
	/* It stops at the first placeholder without the filter, before a later syntax error. */
	FZ_CHECK(ok ? ends != TU_EINVAL : ends != TU_OK, "end_with: %s for a template %s",
		 tu_status_str(ends), ok ? "that checks" : "that does not check");
	if (tu_tmpl_is_literal(t))
		FZ_CHECK(ok && st == TU_OK, "a literal that does not render");

	/* The chain stays inside its placeholder (no braces): only the value varies. */
	size_t n = strcspn(chain, "{}");
	chain[n] = '\0';
	char *doc = malloc(n + 64), *url = malloc(n + 64);
	snprintf(doc, n + 64, "{{\"k\": \"{v%s|json}\"}}", chain);
	snprintf(url, n + 64, "{v%s|urlescape}", chain);
	if (tu_tmpl_check(doc, err, sizeof(err)) == TU_OK && render(doc, &out) == TU_OK &&
	    tu_text_valid(tu_buf_cstr(&out), out.len)) {
		json_error_t je;
		json_t *j = json_loadb(tu_buf_cstr(&out), out.len, 0, &je);
		FZ_CHECK(j != NULL, "%s renders to %s: not JSON: %s", doc, tu_buf_cstr(&out),
			 je.text);
		FZ_CHECK(json_is_object(j) && json_object_size(j) == 1 &&
				 json_is_string(json_object_get(j, "k")),
			 "%s renders to %s", doc, tu_buf_cstr(&out));
		json_decref(j);
	}
	if (tu_tmpl_check(url, err, sizeof(err)) == TU_OK && render(url, &out) == TU_OK)
		FZ_CHECK(unreserved_or_pct(tu_buf_cstr(&out), out.len), "%s renders to %s", url,
			 tu_buf_cstr(&out));
	free(doc);
	free(url);
	tu_buf_release(&out);
	free(t);
	free(chain);
	free(value);
	return 0;
}
