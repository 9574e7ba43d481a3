/*
 * producers_raw - the yardstick of the producer benchmark: a plain client that
 * does only the reads a source adapter does, with the same request sizes, and
 * nothing else (no mapping, no digests, no publishing).
 *
 *   producers_raw redis  --url redis://127.0.0.1:P --match 'w:*' [--count 500] [--pipeline 256]
 *       SCAN MATCH COUNT to the end; the keys of each SCAN reply read with pipelined
 *       HGETALL, `pipeline` at a time (what the redis source does with read: hash)
 *   producers_raw kube   --server https://127.0.0.1:P --ca FILE --token-file FILE
 *                        --path /apis/G/V/PLURAL [--limit 500]
 *       GET PATH?limit=N, then with each continue token to the end, one kept-alive
 *       connection; each page parsed (jansson) to count its items and find the token
 *   producers_raw docker --socket PATH [--path /v1.41/containers/json?all=1]
 *       one GET over the unix socket, parsed (jansson), items counted
 *   producers_raw mongo  --uri mongodb://127.0.0.1:P --db DB --coll C [--batch 500]
 *       find {} with batchSize, the cursor read to the end (find, getMore...)
 *
 * The connection is made (and for HTTPS the TLS session set up, with a GET of
 * /version) before the clock starts: a producer's scans reuse theirs too.
 * Prints one JSON line: {"entities": N, "seconds": S, "cpu_seconds": C, "requests": R,
 * "bytes": B}; cpu_seconds is this process's user + system time over the whole run
 * (connecting included: a few ms).
 * Exit 0, 1 on a read error (message on stderr), 2 on usage.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* What one run read. */
struct tally {
	long entities; /* keys, items or documents read */
	long requests; /* round trips */
	long bytes;    /* reply bytes, where the client sees them (HTTP) */
};

struct opts {
	const char *url, *match, *server, *ca, *token_file, *path, *sock, *uri, *db, *coll;
	int count, pipeline, limit, batch;
};

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- redis ---------------------------------------------------------------------- */

static int run_redis(const struct opts *o, struct tally *t, double *secs)
{
	char host[256] = "127.0.0.1";
	int port = 6379, rc = 1;
	if (sscanf(o->url, "redis://%255[^:/]:%d", host, &port) < 1) {
		fprintf(stderr, "producers_raw: bad --url %s\n", o->url);
		return 2;
	}
	redisContext *c = redisConnect(host, port);
	if (c == NULL || c->err) {
		fprintf(stderr, "producers_raw: redis %s:%d: %s\n", host, port,
			c ? c->errstr : "no memory");
		goto out;
	}
	char cursor[32] = "0";
	redisReply **replies = calloc((size_t)o->pipeline, sizeof(*replies));
	double t0 = now_s();
	do {
		redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT %d", cursor, o->match,
					     o->count);
		t->requests++;
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			fprintf(stderr, "producers_raw: SCAN failed\n");
			free(replies);
			goto out;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		const redisReply *keys = r->element[1];
		for (size_t off = 0; off < keys->elements; off += (size_t)o->pipeline) {
			size_t n = keys->elements - off;
			if (n > (size_t)o->pipeline)
				n = (size_t)o->pipeline;
			for (size_t i = 0; i < n; i++)
				redisAppendCommand(c, "HGETALL %b", keys->element[off + i]->str,
						   keys->element[off + i]->len);
			for (size_t i = 0; i < n; i++) {
				void *rep = NULL;
				if (redisGetReply(c, &rep) != REDIS_OK || rep == NULL) {
					fprintf(stderr, "producers_raw: HGETALL: %s\n", c->errstr);
					freeReplyObject(r);
					free(replies);
					goto out;
				}
				replies[i] = rep;
			}
			t->requests++;
			for (size_t i = 0; i < n; i++) {
				if (replies[i]->type == REDIS_REPLY_ARRAY && replies[i]->elements > 0)
					t->entities++;
				freeReplyObject(replies[i]);
			}
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	*secs = now_s() - t0;
	free(replies);
	rc = 0;
out:
	if (c != NULL)
		redisFree(c);
	return rc;
}

/* ---- HTTP (kube, docker) -------------------------------------------------------------- */

struct body {
	char *data;
	size_t len, cap;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t k = size * n;
	if (b->len + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		while (cap < b->len + k + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (d == NULL)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, k);
	b->len += k;
	b->data[b->len] = '\0';
	return k;
}

/* An easy handle (kept alive across requests) whose replies go to b. */
static CURL *http_handle(struct body *b)
{
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	return h;
}

/* GETs url into b (reset first); 0 on HTTP 200. */
static int get(CURL *h, const char *url, struct body *b, struct tally *t)
{
	long code = 0;
	b->len = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK || code != 200) {
		fprintf(stderr, "producers_raw: GET %s: %s (HTTP %ld)\n", url,
			curl_easy_strerror(cc), code);
		return 1;
	}
	t->requests++;
	t->bytes += (long)b->len;
	return 0;
}

/* Parses a reply; counts the items (the array itself, or .items); copies .metadata.continue. */
static int count_items(const struct body *b, bool list, struct tally *t, char *cont,
		       size_t contlen)
{
	json_error_t je;
	json_t *doc = json_loadb(b->data, b->len, 0, &je);
	json_t *items = list ? json_object_get(doc, "items") : doc;
	if (!json_is_array(items)) {
		fprintf(stderr, "producers_raw: reply without items: %s\n", je.text);
		json_decref(doc);
		return 1;
	}
	t->entities += (long)json_array_size(items);
	cont[0] = '\0';
	if (list) {
		json_t *c = json_object_get(json_object_get(doc, "metadata"), "continue");
		if (json_is_string(c))
			snprintf(cont, contlen, "%s", json_string_value(c));
	}
	json_decref(doc);
	return 0;
}

static int run_kube(const struct opts *o, struct tally *t, double *secs)
{
	char token[4096] = "", auth[4200], url[8192], cont[4096] = "";
	FILE *f = fopen(o->token_file, "r");
	if (f == NULL || fgets(token, sizeof(token), f) == NULL) {
		fprintf(stderr, "producers_raw: cannot read %s\n", o->token_file);
		if (f)
			fclose(f);
		return 2;
	}
	fclose(f);
	token[strcspn(token, "\r\n")] = '\0';
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	struct curl_slist *hdr = curl_slist_append(NULL, auth);
	struct body b = { 0 };
	struct tally warm = { 0 };
	int rc = 1;
	CURL *h = http_handle(&b);
	curl_easy_setopt(h, CURLOPT_CAINFO, o->ca);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	snprintf(url, sizeof(url), "%s/version", o->server);
	if (get(h, url, &b, &warm) != 0)
		goto out;
	double t0 = now_s();
	do {
		char *esc = cont[0] ? curl_easy_escape(h, cont, 0) : NULL;
		snprintf(url, sizeof(url), "%s%s?limit=%d%s%s", o->server, o->path, o->limit,
			 esc ? "&continue=" : "", esc ? esc : "");
		curl_free(esc);
		if (get(h, url, &b, t) != 0 || count_items(&b, true, t, cont, sizeof(cont)) != 0)
			goto out;
	} while (cont[0] != '\0');
	*secs = now_s() - t0;
	rc = 0;
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	free(b.data);
	return rc;
}

static int run_docker(const struct opts *o, struct tally *t, double *secs)
{
	char url[4096], cont[8];
	struct body b = { 0 };
	struct tally warm = { 0 };
	int rc = 1;
	CURL *h = http_handle(&b);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, o->sock);
	if (get(h, "http://localhost/version", &b, &warm) != 0)
		goto out;
	double t0 = now_s();
	snprintf(url, sizeof(url), "http://localhost%s", o->path);
	if (get(h, url, &b, t) != 0 || count_items(&b, false, t, cont, sizeof(cont)) != 0)
		goto out;
	*secs = now_s() - t0;
	rc = 0;
out:
	curl_easy_cleanup(h);
	free(b.data);
	return rc;
}

/* ---- mongo ------------------------------------------------------------------------------- */

static int run_mongo(const struct opts *o, struct tally *t, double *secs)
{
	bson_error_t be;
	int rc = 1;
	mongoc_init();
	mongoc_client_t *c = mongoc_client_new(o->uri);
	mongoc_collection_t *coll = NULL;
	bson_t *filter = bson_new(), *opts = BCON_NEW("batchSize", BCON_INT32(o->batch));
	bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
	if (c == NULL || !mongoc_client_command_simple(c, o->db, ping, NULL, NULL, &be)) {
		fprintf(stderr, "producers_raw: mongodb %s: %s\n", o->uri,
			c ? be.message : "bad uri");
		goto out;
	}
	coll = mongoc_client_get_collection(c, o->db, o->coll);
	double t0 = now_s();
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	long batch_left = 0;
	while (mongoc_cursor_next(cur, &doc)) {
		if (batch_left-- <= 0) { /* find, then a getMore per batch */
			t->requests++;
			batch_left = o->batch - 1;
		}
		t->entities++;
		t->bytes += doc->len;
	}
	if (mongoc_cursor_error(cur, &be)) {
		fprintf(stderr, "producers_raw: cursor: %s\n", be.message);
		mongoc_cursor_destroy(cur);
		goto out;
	}
	mongoc_cursor_destroy(cur);
	*secs = now_s() - t0;
	rc = 0;
out:
	mongoc_collection_destroy(coll);
	if (c != NULL)
		mongoc_client_destroy(c);
	bson_destroy(filter);
	bson_destroy(opts);
	bson_destroy(ping);
	mongoc_cleanup();
	return rc;
}

/* ---- main -------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },     { "match", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'c' },   { "pipeline", required_argument, NULL, 'p' },
		{ "server", required_argument, NULL, 's' },  { "ca", required_argument, NULL, 'a' },
		{ "token-file", required_argument, NULL, 't' }, { "path", required_argument, NULL, 'P' },
		{ "limit", required_argument, NULL, 'l' },   { "socket", required_argument, NULL, 'S' },
		{ "uri", required_argument, NULL, 'U' },     { "db", required_argument, NULL, 'd' },
		{ "coll", required_argument, NULL, 'C' },    { "batch", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .match = "*", .path = "/v1.41/containers/json?all=1", .count = 500,
			  .pipeline = 256, .limit = 500, .batch = 500 };
	int ch;
	if (argc < 2) {
		fprintf(stderr, "usage: producers_raw redis|kube|docker|mongo OPTIONS (see the source)\n");
		return 2;
	}
	const char *what = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': o.url = optarg; break;
		case 'm': o.match = optarg; break;
		case 'c': o.count = atoi(optarg); break;
		case 'p': o.pipeline = atoi(optarg); break;
		case 's': o.server = optarg; break;
		case 'a': o.ca = optarg; break;
		case 't': o.token_file = optarg; break;
		case 'P': o.path = optarg; break;
		case 'l': o.limit = atoi(optarg); break;
		case 'S': o.sock = optarg; break;
		case 'U': o.uri = optarg; break;
		case 'd': o.db = optarg; break;
		case 'C': o.coll = optarg; break;
		case 'b': o.batch = atoi(optarg); break;
		default: return 2;
		}
	}
	if (o.count < 1 || o.pipeline < 1 || o.limit < 1 || o.batch < 1)
		return 2;
	struct tally t = { 0 };
	double secs = 0;
	int rc;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	double cpu0 = cpu_s();
	if (strcmp(what, "redis") == 0 && o.url != NULL)
		rc = run_redis(&o, &t, &secs);
	else if (strcmp(what, "kube") == 0 && o.server && o.ca && o.token_file && o.path)
		rc = run_kube(&o, &t, &secs);
	else if (strcmp(what, "docker") == 0 && o.sock != NULL)
		rc = run_docker(&o, &t, &secs);
	else if (strcmp(what, "mongo") == 0 && o.uri && o.db && o.coll)
		rc = run_mongo(&o, &t, &secs);
	else {
		fprintf(stderr, "producers_raw: %s: unknown, or options missing\n", what);
		rc = 2;
	}
	double cpu = cpu_s() - cpu0;
	curl_global_cleanup();
	if (rc == 0)
		printf("{\"entities\": %ld, \"seconds\": %.6f, \"cpu_seconds\": %.3f, \"requests\": "
		       "%ld, \"bytes\": %ld}\n", t.entities, secs, cpu, t.requests, t.bytes);
	return rc;
}
