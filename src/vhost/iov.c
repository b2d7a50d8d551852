#include <string.h>

#include "vhost/vhost.h"

/* Walks iov from byte offset off, copying up to len bytes in the direction given. */
static size_t iov_copy(const struct iovec *iov, int iovcnt, size_t off, void *buf, size_t len, bool to_iov)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		if (to_iov)
			memcpy((char *)iov[i].iov_base + off, (char *)buf + done, n);
		else
			memcpy((char *)buf + done, (char *)iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vhost_iov_to_buf(const struct iovec *iov, int iovcnt, size_t off, void *buf, size_t len)
{
	return iov_copy(iov, iovcnt, off, buf, len, false);
}

size_t vhost_buf_to_iov(const struct iovec *iov, int iovcnt, size_t off, const void *buf, size_t len)
{
	return iov_copy(iov, iovcnt, off, (void *)buf, len, true);
}
