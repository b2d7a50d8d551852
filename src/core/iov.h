/* Copies between a flat buffer and a scatter list, starting at a byte offset into the list. */
#ifndef VHOSTD_CORE_IOV_H
#define VHOSTD_CORE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Both return the bytes copied: fewer than len when the list ends first. */
size_t iov_to_buf(const struct iovec *iov, int iovcnt, size_t off, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, int iovcnt, size_t off, const void *buf, size_t len);

#endif
