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
	if (buflen <= TU_MAX_SECRET) {
		snprintf(err, errlen, "secret buffer too small for %s", path);
		return TU_EINVAL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open password file %s: %s", path, strerror(errno));
		return TU_EIO;
	}
	ssize_t n = read(fd, buf, TU_MAX_SECRET + 1);
	int read_errno = errno;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "cannot read password file %s: %s", path, strerror(read_errno));
		return TU_EIO;
	}
	if (n > TU_MAX_SECRET) {
		tu_secret_wipe(buf, buflen);
		snprintf(err, errlen, "password file %s is over %d bytes", path, TU_MAX_SECRET);
		return TU_ETOOBIG;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return TU_OK;
}
