/*
 * mkstream - test tool: deletes and/or creates a JetStream stream with chosen
 * storage and subjects, to set up conflicts for `trueup streams apply`.
 * usage: mkstream --url URL --name NAME [--delete] [--subjects a,b] [--memory]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <nats/nats.h>

int main(int argc, char **argv)
{
	const char *url = NULL, *name = NULL;
	char subjects[1024] = "";
	int del = 0, memory = 0;
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },   { "name", required_argument, NULL, 'n' },
		{ "delete", no_argument, NULL, 'd' },      { "subjects", required_argument, NULL, 's' },
		{ "memory", no_argument, NULL, 'm' },      { NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'n': name = optarg; break;
		case 'd': del = 1; break;
		case 's': snprintf(subjects, sizeof(subjects), "%s", optarg); break;
		case 'm': memory = 1; break;
		default: return 2;
		}
	}
	if (url == NULL || name == NULL)
		return 2;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	if (natsConnection_ConnectTo(&nc, url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
		fprintf(stderr, "mkstream: cannot connect to %s\n", url);
		return 1;
	}
	int rc = 0;
	if (del)
		js_DeleteStream(js, name, NULL, NULL);
	if (subjects[0] != '\0') {
		const char *subj[16];
		int n = 0;
		for (char *tok = strtok(subjects, ","); tok != NULL && n < 16; tok = strtok(NULL, ","))
			subj[n++] = tok;
		jsStreamConfig sc;
		jsStreamConfig_Init(&sc);
		sc.Name = name;
		sc.Subjects = subj;
		sc.SubjectsLen = n;
		sc.Storage = memory ? js_MemoryStorage : js_FileStorage;
		jsErrCode ec = 0;
		natsStatus s = js_AddStream(NULL, js, &sc, NULL, &ec);
		if (s != NATS_OK) {
			fprintf(stderr, "mkstream: %s (%d)\n", natsStatus_GetText(s), (int)ec);
			rc = 1;
		}
	}
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}
