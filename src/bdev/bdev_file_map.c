/* Memory copies to and from a disk image on tmpfs; see bdev_file_map.h. */
#include "bdev/bdev_file_map.h"

#include "core/mem_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The bits of granules g..last that lie in g's bitmap word. */
static uint64_t word_span(uint64_t g, uint64_t last)
{
	unsigned lo = g & 63, hi = (last >> 6) == (g >> 6) ? (last & 63) : 63;

	return (~0ULL >> (63 - hi)) & (~0ULL << lo);
}

static bool granules_present(struct file_map *m, uint64_t first, uint64_t last)
{
	for (uint64_t g = first; g <= last; g = (g | 63) + 1) {
		uint64_t span = word_span(g, last);

		if ((atomic_load_explicit(&m->present[g >> 6], memory_order_relaxed) & span) != span)
			return false;
	}
	return true;
}

static void granules_set(struct file_map *m, uint64_t first, uint64_t last, bool present)
{
	for (uint64_t g = first; g <= last; g = (g | 63) + 1) {
		uint64_t span = word_span(g, last);

		if (present)
			atomic_fetch_or_explicit(&m->present[g >> 6], span, memory_order_relaxed);
		else
			atomic_fetch_and_explicit(&m->present[g >> 6], ~span, memory_order_relaxed);
	}
}

/* Marks every granule [off, off+len) touches. */
static void range_mark(struct file_map *m, uint64_t off, uint64_t len)
{
	granules_set(m, off >> m->granule_shift, (off + len - 1) >> m->granule_shift, true);
}

static bool range_usable(struct file_map *m, uint64_t off, uint64_t len)
{
	return m->base && len && off < m->len && len <= m->len - off && !mem_guard_tripped(m->guard);
}

/* The file's data extents (SEEK_DATA/SEEK_HOLE); where they cannot be learnt every granule stays
 * unknown and is only copied once written. */
static void map_learn_data(struct file_map *m, int fd)
{
	off_t data = 0, hole;

	while ((data = lseek(fd, data, SEEK_DATA)) >= 0 && (uint64_t)data < m->len) {
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole <= data)
			return;
		if ((uint64_t)hole > m->len)
			hole = (off_t)m->len;
		range_mark(m, (uint64_t)data, (uint64_t)(hole - data));
		data = hole;
	}
}

int file_map_open(struct file_map *m, int fd, uint64_t len)
{
	uint64_t granules;
	struct stat st;
	void *base;
	int rc;

	*m = (struct file_map){ .guard = -1 };
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!len || st.st_blksize < 512 || (st.st_blksize & (st.st_blksize - 1)))
		return -EINVAL;
	m->granule_shift = (unsigned)__builtin_ctzll((uint64_t)st.st_blksize);
	granules = ((len - 1) >> m->granule_shift) + 1;
	m->present = calloc((granules + 63) / 64, sizeof(*m->present));
	if (!m->present)
		return -ENOMEM;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	m->guard = mem_guard_add(base, len);
	if (m->guard < 0) {
		munmap(base, len);
		rc = -ENOSPC;
		goto fail;
	}
	m->base = base;
	m->len = len;
	map_learn_data(m, fd);
	return 0;
fail:
	free(m->present);
	*m = (struct file_map){ .guard = -1 };
	return rc;
}

void file_map_close(struct file_map *m)
{
	if (m->base) {
		mem_guard_remove(m->guard);
		munmap(m->base, m->len);
	}
	free(m->present);
	*m = (struct file_map){ .guard = -1 };
}

int file_map_copy(struct file_map *m, bool write, uint64_t off, const struct iovec *iov,
		  int iovcnt, uint64_t len)
{
	uint8_t *p;

	if (!range_usable(m, off, len) ||
	    !granules_present(m, off >> m->granule_shift, (off + len - 1) >> m->granule_shift))
		return -ENODATA;
	p = m->base + off;
	for (int i = 0; i < iovcnt; i++) {
		if (write)
			memcpy(p, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, p, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	/* A fault during the copy was answered with a zero page: the data is not the file's. */
	return mem_guard_tripped(m->guard) ? -EIO : 0;
}

int file_map_allocate(struct file_map *m, int fd, uint64_t off, uint64_t len)
{
	if (!range_usable(m, off, len))
		return -ENODATA;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return -errno;
	range_mark(m, off, len);
	return 0;
}

void file_map_forget(struct file_map *m, uint64_t off, uint64_t len)
{
	uint64_t granule = 1ULL << m->granule_shift;
	uint64_t first = (off + granule - 1) >> m->granule_shift, end;

	if (!m->base || off >= m->len)
		return;
	end = (len > m->len - off ? m->len : off + len) >> m->granule_shift;
	if (first < end)
		granules_set(m, first, end - 1, false);
}
