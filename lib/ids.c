/* ids.c - derived ids and tokens (see ids.h). */
#include "ids.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"

/*
 * SHA-256, fetched from the provider once: EVP_sha256() makes OpenSSL 3 look the
 * algorithm up again at every digest (more than half of the time of a digest of
 * an entity's attributes, which producers take for every entity they read).
 */
static pthread_once_t g_sha_once = PTHREAD_ONCE_INIT;
static EVP_MD *g_sha256;

static void sha_fetch(void)
{
	g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256(void)
{
	pthread_once(&g_sha_once, sha_fetch);
	return g_sha256 != NULL ? g_sha256 : EVP_sha256();
}

void tu_sha256(unsigned char out[32], const void *data, size_t len)
{
	unsigned int n = 32;
	EVP_Digest(data, len, out, &n, sha256(), NULL);
}

static void hex_truncated(char out[TU_ID_SIZE], const unsigned char *md)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < TU_ID_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[TU_ID_LEN] = '\0';
}

void tu_digest_hex(char out[TU_ID_SIZE], const void *data, size_t len)
{
	unsigned char md[32];
	tu_sha256(md, data, len);
	hex_truncated(out, md);
}

/* Hashes parts[0..n) each followed by a NUL. */
static void derive(char out[TU_ID_SIZE], const char *const *parts, size_t n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen = 32;
	EVP_DigestInit_ex(ctx, sha256(), NULL);
	for (size_t i = 0; i < n; i++)
		EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hex_truncated(out, md);
}

void tu_id_correlation(char out[TU_ID_SIZE], const char *rule, const char *kind,
		       const char *ns, const char *name, uint64_t opened_seq)
{
	char seq[24];
	snprintf(seq, sizeof(seq), "%" PRIu64, opened_seq);
	const char *parts[] = { "corr", rule, kind, ns, name, seq };
	derive(out, parts, 6);
}

void tu_id_command(char out[TU_ID_SIZE], const char *correlation_id, uint32_t action_index,
		   const char *action, uint32_t attempt)
{
	char idx[12], att[12];
	snprintf(idx, sizeof(idx), "%" PRIu32, action_index);
	snprintf(att, sizeof(att), "%" PRIu32, attempt);
	const char *parts[] = { "cmd", correlation_id, idx, action, att };
	derive(out, parts, 5);
}

void tu_id_drift_event(char out[TU_ID_SIZE], const char *correlation_id, uint32_t revision)
{
	char rev[12];
	snprintf(rev, sizeof(rev), "%" PRIu32, revision);
	const char *parts[] = { "drift", correlation_id, rev };
	derive(out, parts, 3);
}

bool tu_token_valid(const char *s)
{
	size_t n = 0;
	if (s == NULL || *s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, n++) {
		if (*p <= ' ' || *p == 0x7f || *p == '.' || *p == '*' || *p == '>')
			return false;
	}
	return n <= TU_MAX_KIND * 4;
}

bool tu_name_valid(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	size_t n = 0;
	for (const char *p = s; *p != '\0'; p++, n++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (n > 0 && (c == '-' || c == '_'));
		if (!ok)
			return false;
	}
	return n <= TU_MAX_KIND;
}

bool tu_token_escape(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	if (s == NULL || *s == '\0' || outlen == 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		unsigned char c = *p;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '_' || c == '-';
		size_t need = plain ? 1 : 3;
		if (o + need >= outlen)
			return false;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return true;
}
