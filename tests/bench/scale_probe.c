/*
 * scale_probe - what the scale benchmark reads off a stream: how many messages
 * it holds and the JetStream timestamps of its first and last.
 *
 *   scale_probe --url nats://127.0.0.1:P --stream TRUEUP_CMD [--want N] [--timeout S]
 *               [--quiet MS]
 *
 * Without --want: prints the stream's state now. With --want N: waits (up to
 * --timeout seconds, default 600) until the stream holds at least N messages,
 * then until no message came for --quiet ms (default 1000), and prints the
 * state: {"msgs": N, "first_ns": T, "last_ns": T}. Exit 0; 1 if the stream
 * never reached N (the state is printed anyway) or cannot be read; 2 usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The stream's state into msgs, first and last; false if it cannot be read. */
static bool state(jsCtx *js, const char *stream, uint64_t *msgs, int64_t *first, int64_t *last)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	if (js_GetStreamInfo(&si, js, stream, NULL, &jerr) != NATS_OK)
		return false;
	*msgs = si->State.Msgs;
	*first = si->State.FirstTime;
	*last = si->State.LastTime;
	jsStreamInfo_Destroy(si);
	return true;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },     { "stream", required_argument, NULL, 's' },
		{ "want", required_argument, NULL, 'w' },    { "timeout", required_argument, NULL, 't' },
		{ "quiet", required_argument, NULL, 'q' },   { NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *stream = NULL;
	uint64_t want = 0, msgs = 0;
	int64_t timeout_s = 600, quiet_ms = 1000, first = 0, last = 0;
	int ch, rc = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 's': stream = optarg; break;
		case 'w': want = strtoull(optarg, NULL, 10); break;
		case 't': timeout_s = atoll(optarg); break;
		case 'q': quiet_ms = atoll(optarg); break;
		default: return 2;
		}
	}
	if (url == NULL || stream == NULL) {
		fprintf(stderr, "usage: scale_probe --url URL --stream NAME [--want N] [--timeout S] "
				"[--quiet MS]\n");
		return 2;
	}
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
		fprintf(stderr, "scale_probe: cannot connect to %s\n", url);
		goto out;
	}
	int64_t end = mono_ms() + timeout_s * 1000;
	bool ok = state(js, stream, &msgs, &first, &last);
	while (ok && want > 0 && msgs < want && mono_ms() < end) {
		sleep_ms(20);
		ok = state(js, stream, &msgs, &first, &last);
	}
	if (ok && want > 0 && msgs >= want) {
		/* Then quiet: the last message is the last one only if nothing follows. */
		uint64_t seen = msgs;
		int64_t since = mono_ms();
		while (ok && mono_ms() - since < quiet_ms) {
			sleep_ms(50);
			ok = state(js, stream, &msgs, &first, &last);
			if (msgs != seen) {
				seen = msgs;
				since = mono_ms();
			}
		}
	}
	if (!ok) {
		fprintf(stderr, "scale_probe: cannot read stream %s\n", stream);
		goto out;
	}
	printf("{\"msgs\": %" PRIu64 ", \"first_ns\": %" PRId64 ", \"last_ns\": %" PRId64 "}\n", msgs,
	       first, last);
	rc = want > 0 && msgs < want ? 1 : 0;
out:
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
