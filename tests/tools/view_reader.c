/*
 * view_reader - test tool: holds a read transaction on an LMDB environment
 * (the processor's view) until it is killed, so that a SIGKILL leaves a
 * stale reader slot behind (tests/integration/lmdb_readers.sh).
 *
 * usage: view_reader DIR
 *
 * Opens DIR read-only, begins a read transaction, prints "reading PID" on
 * stdout and waits for a signal. Exit 1 (and why) if it cannot.
 */
#include <stdio.h>
#include <unistd.h>

#include <lmdb.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: view_reader DIR\n");
		return 2;
	}
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 24);
	if (rc == 0)
		rc = mdb_env_open(env, argv[1], MDB_RDONLY | MDB_NOTLS, 0640);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		fprintf(stderr, "view_reader: %s: %s\n", argv[1], mdb_strerror(rc));
		return 1;
	}
	printf("reading %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}
