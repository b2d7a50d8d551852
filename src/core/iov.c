#include "core/iov.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static size_t iov_copy(const struct iovec *iov, int iovcnt, size_t off, uint8_t *buf, size_t len,
		       bool to_iov)
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
			memcpy((uint8_t *)iov[i].iov_base + off, buf + done, n);
		else
			memcpy(buf + done, (const uint8_t *)iov[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, int iovcnt, size_t off, void *buf, size_t len)
{
	return iov_copy(iov, iovcnt, off, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, int iovcnt, size_t off, const void *buf, size_t len)
{
	return iov_copy(iov, iovcnt, off, (uint8_t *)buf, len, true);
}
