/* secret.c - credential files (see secret.h). */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void tu_secret_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n-- > 0)
		*v++ = 0;
}

tu_status tu_secret_read(const char *path, char *buf, size_t buflen, char *err, size_t errlen)
{
	return tu_secret_read_max(path, TU_MAX_SECRET, "password file", buf, buflen, err, errlen);
}

tu_status tu_secret_read_max(const char *path, size_t max, const char *what, char *buf,
			     size_t buflen, char *err, size_t errlen)
{
	if (buflen <= max) {
		snprintf(err, errlen, "secret buffer too small for %s", path);
		return TU_EINVAL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
		return TU_EIO;
	}
	size_t n = 0;
	ssize_t got = 0;
	int read_errno = 0;
	/* read until EOF or one byte over the bound (a file may come in pieces) */
	while (n <= max) {
		got = read(fd, buf + n, max + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	read_errno = errno;
	close(fd);
	if (got < 0) {
		tu_secret_wipe(buf, buflen);
		snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(read_errno));
		return TU_EIO;
	}
	if (n > max) {
		tu_secret_wipe(buf, buflen);
		snprintf(err, errlen, "%s %s is over %zu bytes", what, path, max);
		return TU_ETOOBIG;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return TU_OK;
}
