/*
 * nats_request.c - sends one core NATS request and prints the reply, for
 * tests of request/reply control subjects (trueup.ctl.>):
 *
 *   nats_request --url nats://127.0.0.1:4222 --subject trueup.ctl.scan.redis
 *                [--data '{"full":true}'] [--timeout MS]
 *
 * Prints the reply body and a newline. Exit: 0 replied, 1 no reply (timeout,
 * no responders) or NATS error, 2 usage.
 */
#include <getopt.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: nats_request --url URL --subject SUBJECT [--data TEXT] "
		   "[--timeout MS]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "subject", required_argument, NULL, 's' },
		{ "data", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *subject = NULL, *data = "";
	long timeout = 5000;
	natsConnection *nc = NULL;
	natsMsg *reply = NULL;
	int rc = 0, c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 's': subject = optarg; break;
		case 'd': data = optarg; break;
		case 't': timeout = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (url == NULL || subject == NULL || timeout <= 0) {
		usage(stderr);
		return 2;
	}
	natsStatus s = natsConnection_ConnectTo(&nc, url);
	if (s == NATS_OK)
		s = natsConnection_Request(&reply, nc, subject, data, (int)strlen(data), timeout);
	if (s != NATS_OK) {
		fprintf(stderr, "nats_request: %s: %s\n", subject, natsStatus_GetText(s));
		rc = 1;
	} else {
		printf("%.*s\n", natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
	}
	natsMsg_Destroy(reply);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}
