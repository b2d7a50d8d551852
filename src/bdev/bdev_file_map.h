/*
 * A disk image on tmpfs, mapped: reads and writes become memory copies instead of preadv/pwritev,
 * which on tmpfs spend most of their time finding the page (the kernel's page-cache lookup) rather
 * than copying it. What makes a mapping safe to use for a disk:
 *
 * - Holes. Touching a hole through a shared mapping allocates a page, so reading a sparse image
 *   would fill it. A bitmap records which granules (the file system's pages) are known to hold
 *   data: a read touching any other granule goes through the file (zeroes, nothing allocated); a
 *   write first allocates its range with fallocate, where a full file system answers ENOSPC
 *   instead of a SIGBUS during the copy. UNMAP forgets the granules it punches. The bitmap is a
 *   hint, never trusted for data: a stale bit costs at most one page.
 * - Shrinking. The file may be truncated by someone else; the mapping is guarded (mem_guard.h),
 *   the copy that faulted fails with EIO and the image is then only used through the file.
 * - Growing. The mapping covers the size at open; what a resize adds goes through the file.
 */
#ifndef VHOSTD_BDEV_FILE_MAP_H
#define VHOSTD_BDEV_FILE_MAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct file_map {
	uint8_t *base;             /* NULL: not mapped */
	uint64_t len;
	unsigned granule_shift;
	_Atomic uint64_t *present; /* one bit per granule known to hold a page */
	int guard;                 /* mem_guard slot */
};

/* Maps len bytes of the tmpfs file fd and learns where its data is. On failure m is left unmapped
 * (every call below then declines) and the error is returned. */
int file_map_open(struct file_map *m, int fd, uint64_t len);
void file_map_close(struct file_map *m);
static inline bool file_map_active(const struct file_map *m)
{
	return m->base != NULL;
}

/* Any thread. Copies between the image at off and iov (len bytes in all). Returns 0; -EIO when
 * the file shrank under the copy; -ENODATA when the range cannot be copied here (a granule not
 * known to hold data, past the mapping, or not mapped): nothing was touched, use the file. */
int file_map_copy(struct file_map *m, bool write, uint64_t off, const struct iovec *iov,
		  int iovcnt, uint64_t len);
/* Any thread. Allocates the file's pages under [off, off+len) so that a write can be copied in.
 * Returns 0, -ENODATA when the range is not mapped, or fallocate's error (-ENOSPC). */
int file_map_allocate(struct file_map *m, int fd, uint64_t off, uint64_t len);
/* Any thread, before punching [off, off+len): forgets the granules wholly inside it. */
void file_map_forget(struct file_map *m, uint64_t off, uint64_t len);

#endif
