/* Shared body of the file-backed bdevs (uring.c, aio.c); see bdev_file.h. */
#include "bdev/bdev_file.h"
#include "bdev/bdev_module.h"
#include "bdev/bdev_rpc_util.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(sizeof(struct bdev_file_io) <= sizeof(((struct bdev_io *)0)->driver_ctx),
	       "bdev_file_io must fit the driver context");

void bdev_file_queue_init(struct bdev_file_queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
}

void bdev_file_queue_push(struct bdev_file_queue *q, struct bdev_io *io)
{
	bdev_file_io(io)->next = NULL;
	*q->tail = io;
	q->tail = &bdev_file_io(io)->next;
}

struct bdev_io *bdev_file_queue_pop(struct bdev_file_queue *q)
{
	struct bdev_io *io = q->head;

	if (io) {
		q->head = bdev_file_io(io)->next;
		if (!q->head)
			q->tail = &q->head;
	}
	return io;
}

/* --- open, size, block size --- */

static int file_size(const struct bdev_file *f, uint64_t *bytes)
{
	struct stat st;

	if (f->is_blockdev)
		return ioctl(f->fd, BLKGETSIZE64, bytes) < 0 ? -errno : 0;
	if (fstat(f->fd, &st) < 0)
		return -errno;
	*bytes = (uint64_t)st.st_size;
	return 0;
}

/* Direct I/O alignment as the kernel reports it (statx, Linux 6.1+), else the logical block. */
static void file_dio_align(struct bdev_file *f, uint32_t logical)
{
	struct statx sx;

	f->dio_mem_align = 512;
	f->dio_offset_align = logical;
	if (statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
		f->dio_mem_align = sx.stx_dio_mem_align;
		f->dio_offset_align = sx.stx_dio_offset_align;
	}
}

static int file_block_size(struct bdev_file *f, uint32_t requested, uint32_t *block_size)
{
	uint32_t detected = 512; /* regular files: the classic sector */
	int logical;

	if (f->is_blockdev) {
		if (ioctl(f->fd, BLKSSZGET, &logical) < 0)
			return -errno;
		detected = (uint32_t)logical;
	}
	file_dio_align(f, detected);
	if (!requested) {
		*block_size = detected;
		return 0;
	}
	/* As SPDK: at least 512, a power of two, not below the device's logical block. */
	if (requested < 512 || (requested & (requested - 1)) || requested < detected)
		return -EINVAL;
	*block_size = requested;
	f->block_size_override = true;
	return 0;
}

static void file_close(struct bdev_file *f)
{
	file_map_close(&f->map);
	if (f->fd_direct >= 0)
		close(f->fd_direct);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = f->fd_direct = -1;
	free(f->filename);
	f->filename = NULL;
}

static long file_fs_type(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) < 0 ? 0 : (long)sfs.f_type;
}

/* A tmpfs image is copied through a mapping (bdev_file_map.h); without one it still works. */
static void file_map_try(struct bdev_file *f, uint64_t bytes)
{
	int rc = file_map_open(&f->map, f->fd, bytes);

	if (rc)
		log_notice("bdev: %s: cannot map the image (%s), copying through the file",
			   f->filename, strerror(-rc));
}

static int file_open(struct bdev_file *f, const char *filename, const char *name,
		     uint32_t block_size, const uint8_t *uuid, const struct bdev_ops *ops,
		     const char *product_name)
{
	struct stat st;
	uint64_t bytes;
	long fs_type;
	int rc;

	if (!filename || !name || !name[0])
		return -EINVAL;
	f->fd_direct = -1;
	f->fd = open(filename, O_RDWR | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	rc = fstat(f->fd, &st) < 0 ? -errno : 0;
	if (!rc && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		rc = -EINVAL;
	if (rc)
		goto fail;
	f->is_blockdev = S_ISBLK(st.st_mode);
	fs_type = f->is_blockdev ? 0 : file_fs_type(f->fd);
	f->memory_backed = fs_type == TMPFS_MAGIC || fs_type == RAMFS_MAGIC ||
			   fs_type == HUGETLBFS_MAGIC;
	/* EINVAL: this file system has no O_DIRECT (tmpfs before 6.6, ramfs, ...). */
	f->fd_direct = open(filename, O_RDWR | O_CLOEXEC | O_DIRECT);
	if (f->fd_direct < 0 && errno != EINVAL) {
		rc = -errno;
		goto fail;
	}
	atomic_store(&f->direct_ok, f->fd_direct >= 0);
	rc = file_block_size(f, block_size, &f->bdev.block_size);
	if (!rc)
		rc = file_size(f, &bytes);
	if (rc)
		goto fail;
	if (bytes == 0 || bytes % f->bdev.block_size) {
		log_error("bdev: %s: size %" PRIu64 " is not a non-zero multiple of %u", filename,
			  bytes, f->bdev.block_size);
		rc = -EINVAL;
		goto fail;
	}
	f->filename = strdup(filename);
	f->bdev.name = strdup(name);
	if (!f->filename || !f->bdev.name) {
		rc = -ENOMEM;
		goto fail;
	}
	if (fs_type == TMPFS_MAGIC)
		file_map_try(f, bytes);
	f->bdev.num_blocks = bytes / f->bdev.block_size;
	f->bdev.product_name = product_name;
	f->bdev.write_cache = true; /* the page cache or the disk's own: FLUSH matters */
	/* A punched hole reads as zeroes; what a device returns after BLKDISCARD is its own affair. */
	f->bdev.unmap_reads_zero = !f->is_blockdev;
	f->bdev.ops = ops;
	f->bdev.ctx = f;
	if (uuid)
		memcpy(f->bdev.uuid, uuid, 16);
	log_info("bdev: %s opened %s (%s)", name, filename,
		 file_map_active(&f->map) ? "mapped"
		 : f->fd_direct >= 0	  ? "O_DIRECT when aligned"
					  : "buffered");
	return 0;
fail:
	free(f->bdev.name);
	f->bdev.name = NULL;
	file_close(f);
	return rc;
}

int bdev_file_create(const char *filename, const char *name, uint32_t block_size,
		     const uint8_t *uuid, const struct bdev_ops *ops, const char *product_name,
		     struct bdev **out)
{
	struct bdev_file *f;
	int rc;

	if (name && bdev_get_by_name(name))
		return -EEXIST;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	rc = file_open(f, filename, name, block_size, uuid, ops, product_name);
	if (rc) {
		free(f);
		return rc;
	}
	rc = bdev_register(&f->bdev);
	if (rc) {
		free(f->bdev.name);
		file_close(f);
		free(f);
		return rc;
	}
	if (out)
		*out = &f->bdev;
	return 0;
}

void bdev_file_destruct(struct bdev *bdev)
{
	struct bdev_file *f = bdev->ctx;

	file_close(f);
	free(f);
}

int bdev_file_rescan(const char *name, const struct bdev_ops *ops)
{
	struct bdev *bdev = bdev_get_by_name(name);
	struct bdev_file *f;
	uint64_t bytes;
	int rc;

	if (!bdev || bdev->ops != ops)
		return -ENODEV;
	f = bdev->ctx;
	rc = file_size(f, &bytes);
	if (rc)
		return rc;
	if (bytes / bdev->block_size == 0)
		return -EINVAL;
	return bdev_notify_resize(bdev, bytes / bdev->block_size);
}

/* --- the I/O path --- */

void bdev_file_io_start(struct bdev_io *io)
{
	struct bdev_file_io *st = bdev_file_io(io);

	st->done = 0;
	st->rest = NULL;
	st->rest_cnt = 0;
	st->direct = false;
}

static bool file_io_aligned(const struct bdev_file *f, uint64_t offset, const struct iovec *iov,
			    int iovcnt)
{
	uint64_t mem_mask = f->dio_mem_align - 1, len_mask = f->dio_offset_align - 1;

	if (offset & len_mask)
		return false;
	for (int i = 0; i < iovcnt; i++)
		if (((uintptr_t)iov[i].iov_base & mem_mask) || (iov[i].iov_len & len_mask))
			return false;
	return true;
}

void bdev_file_io_target(struct bdev_file *f, struct bdev_io *io, int *fd,
			 const struct iovec **iov, int *iovcnt, uint64_t *offset)
{
	struct bdev_file_io *st = bdev_file_io(io);

	*iov = st->rest ? st->rest : io->iov;
	*iovcnt = st->rest ? st->rest_cnt : io->iovcnt;
	*offset = io->offset_blocks * f->bdev.block_size + st->done;
	st->direct = f->fd_direct >= 0 &&
		     atomic_load_explicit(&f->direct_ok, memory_order_relaxed) &&
		     (io->type == BDEV_IO_FLUSH || file_io_aligned(f, *offset, *iov, *iovcnt));
	*fd = st->direct ? f->fd_direct : f->fd;
}

/* Builds the iovecs left after `bytes` more were transferred. */
static int file_io_advance(struct bdev_io *io, uint64_t bytes)
{
	struct bdev_file_io *st = bdev_file_io(io);
	const struct iovec *iov = st->rest ? st->rest : io->iov;
	int iovcnt = st->rest ? st->rest_cnt : io->iovcnt, skip = 0;
	struct iovec *rest;

	while (skip < iovcnt && bytes >= iov[skip].iov_len)
		bytes -= iov[skip++].iov_len;
	rest = malloc(sizeof(*rest) * (size_t)(iovcnt - skip));
	if (!rest)
		return -ENOMEM;
	memcpy(rest, iov + skip, sizeof(*rest) * (size_t)(iovcnt - skip));
	rest[0].iov_base = (uint8_t *)rest[0].iov_base + bytes;
	rest[0].iov_len -= bytes;
	free(st->rest);
	st->rest = rest;
	st->rest_cnt = iovcnt - skip;
	return 0;
}

static void file_io_complete(struct bdev_io *io, int status)
{
	struct bdev_file_io *st = bdev_file_io(io);

	free(st->rest);
	st->rest = NULL;
	bdev_io_complete(io, status);
}

bool bdev_file_io_finish(struct bdev_file *f, struct bdev_io *io, long res)
{
	struct bdev_file_io *st = bdev_file_io(io);
	uint64_t total = io->num_blocks * f->bdev.block_size;
	int rc;

	if (res == -EAGAIN || res == -EINTR)
		return true;
	if (res == -EINVAL && st->direct) {
		/* The file system took O_DIRECT at open but refuses this I/O: buffered for good. */
		if (atomic_exchange(&f->direct_ok, false))
			log_notice("bdev: %s: direct I/O refused, going buffered", f->bdev.name);
		return true;
	}
	if (res < 0) {
		file_io_complete(io, (int)res);
		return false;
	}
	if (io->type == BDEV_IO_FLUSH) {
		file_io_complete(io, 0);
		return false;
	}
	if (res == 0) { /* no progress: the file shrank under us */
		file_io_complete(io, -EIO);
		return false;
	}
	st->done += (uint64_t)res;
	if (st->done >= total) {
		file_io_complete(io, 0);
		return false;
	}
	rc = file_io_advance(io, (uint64_t)res);
	if (rc) {
		file_io_complete(io, rc);
		return false;
	}
	return true;
}

/* Zeroes by writing, when the file system can neither zero nor punch a range. */
static int file_write_zeroes_slow(struct bdev_file *f, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];

	while (len) {
		size_t n = len < sizeof(zeroes) ? len : sizeof(zeroes);
		ssize_t w = pwrite(f->fd, zeroes, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

static int file_fallocate(struct bdev_file *f, int mode, uint64_t off, uint64_t len)
{
	return fallocate(f->fd, mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
}

static int file_unmap(struct bdev_file *f, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };
	int rc;

	file_map_forget(&f->map, off, len);
	if (f->is_blockdev)
		rc = ioctl(f->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	else
		rc = file_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	/* Discard is a hint: a file system or device without it loses nothing by ignoring it. */
	return rc == -EOPNOTSUPP ? 0 : rc;
}

static int file_write_zeroes(struct bdev_file *f, uint64_t off, uint64_t len)
{
	int rc;

	file_map_forget(&f->map, off, len);
	rc = file_fallocate(f, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);

	/* A punched hole reads back as zeroes in a file; on a block device PUNCH_HOLE is refused
	 * unless the device guarantees zeroes after discard. */
	if (rc == -EOPNOTSUPP)
		rc = file_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	if (rc == -EOPNOTSUPP)
		rc = file_write_zeroes_slow(f, off, len);
	return rc;
}

bool bdev_file_io_is_sync(const struct bdev_file *f, const struct bdev_io *io)
{
	if (io->type == BDEV_IO_UNMAP || io->type == BDEV_IO_WRITE_ZEROES)
		return true;
	return f->memory_backed && (io->type == BDEV_IO_READ || io->type == BDEV_IO_WRITE);
}

/* A memory-backed file takes no RWF_NOWAIT, so io_uring and libaio would hand every request to a
 * kernel worker thread; the copy itself cannot wait for a disk, and doing it here costs a fraction
 * of that hand-off. */
static void file_rw_inline(struct bdev_file *f, struct bdev_io *io)
{
	const struct iovec *iov;
	uint64_t offset;
	int fd, iovcnt;
	long res;

	do {
		bdev_file_io_target(f, io, &fd, &iov, &iovcnt, &offset);
		if (io->type == BDEV_IO_READ)
			res = preadv(fd, iov, iovcnt, (off_t)offset);
		else
			res = pwritev(fd, iov, iovcnt, (off_t)offset);
		if (res < 0)
			res = -errno;
	} while (bdev_file_io_finish(f, io, res));
}

/* Through the mapping when the range is known to hold data (a write into a hole allocates it
 * first), else through the file. */
static void file_rw_sync(struct bdev_file *f, struct bdev_io *io, uint64_t off, uint64_t len)
{
	bool write = io->type == BDEV_IO_WRITE;
	int rc = file_map_copy(&f->map, write, off, io->iov, io->iovcnt, len);

	if (rc == -ENODATA && write) {
		rc = file_map_allocate(&f->map, f->fd, off, len);
		if (!rc)
			rc = file_map_copy(&f->map, write, off, io->iov, io->iovcnt, len);
	}
	if (rc == -ENODATA || rc == -EOPNOTSUPP)
		file_rw_inline(f, io);
	else
		file_io_complete(io, rc);
}

void bdev_file_io_sync(struct bdev_file *f, struct bdev_io *io)
{
	uint64_t off = io->offset_blocks * f->bdev.block_size;
	uint64_t len = io->num_blocks * f->bdev.block_size;

	bdev_file_io_start(io);
	if (io->type == BDEV_IO_READ || io->type == BDEV_IO_WRITE)
		file_rw_sync(f, io, off, len);
	else if (io->type == BDEV_IO_UNMAP)
		file_io_complete(io, file_unmap(f, off, len));
	else
		file_io_complete(io, file_write_zeroes(f, off, len));
}

/* --- descriptions --- */

bool bdev_file_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	(void)bdev;
	return type < BDEV_IO_TYPE_COUNT;
}

void bdev_file_dump_info(struct bdev *bdev, json_t *driver_specific, const char *key)
{
	struct bdev_file *f = bdev->ctx;

	json_object_set_new(driver_specific, key,
			    json_pack("{s:s, s:b, s:b, s:b}", "filename", f->filename,
				      "block_size_override", f->block_size_override, "direct_io",
				      f->fd_direct >= 0 && atomic_load(&f->direct_ok),
				      "memory_mapped", file_map_active(&f->map)));
}

void bdev_file_write_config(struct bdev *bdev, json_t *config, const char *method)
{
	struct bdev_file *f = bdev->ctx;
	char uuid[37];
	json_t *params;

	bdev_uuid_format(bdev, uuid);
	params = json_pack("{s:s, s:s, s:s}", "name", bdev->name, "filename", f->filename, "uuid",
			   uuid);
	if (f->block_size_override)
		json_object_set_new(params, "block_size", json_integer(bdev->block_size));
	rpc_config_add(config, method, params);
}
