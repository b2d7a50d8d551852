/*
 * What the file-backed bdevs (uring.c, aio.c) share: opening the file or block device, size and
 * block-size detection, the O_DIRECT decision and its buffered fallback, short transfers, the
 * synchronous UNMAP/WRITE_ZEROES, rescan, and their JSON.
 *
 * O_DIRECT is used when the file system takes it and the I/O is aligned (offset, lengths and buffer
 * addresses to what statx reports); otherwise the same I/O goes through a second, buffered fd of
 * the same file, so an unaligned guest buffer or a file system without O_DIRECT never fails the
 * guest. A direct I/O answered -EINVAL turns O_DIRECT off for the file and is retried buffered.
 */
#ifndef VHOSTD_BDEV_FILE_H
#define VHOSTD_BDEV_FILE_H

#include "bdev/bdev.h"
#include "bdev/bdev_file_map.h"

#include <stdatomic.h>

struct bdev_file {
	struct bdev bdev; /* bdev.ctx points back here */
	char *filename;
	int fd;           /* buffered */
	int fd_direct;    /* O_DIRECT, or -1 when the file system refused it */
	atomic_bool direct_ok;
	bool is_blockdev;
	bool memory_backed; /* tmpfs, ramfs, hugetlbfs: reads and writes are memory copies */
	struct file_map map; /* tmpfs: the image mapped */
	bool block_size_override;
	uint32_t dio_mem_align;
	uint32_t dio_offset_align;
};

/* Per-I/O state at the start of io->driver_ctx (backends may put their own after it). */
struct bdev_file_io {
	uint64_t done;        /* bytes transferred so far */
	struct iovec *rest;   /* what is left after a short transfer (malloc'ed), or NULL */
	int rest_cnt;
	bool direct;          /* the last submission went to fd_direct */
	struct bdev_io *next; /* a backend's wait queue */
};

static inline struct bdev_file_io *bdev_file_io(struct bdev_io *io)
{
	return (struct bdev_file_io *)io->driver_ctx;
}

/* FIFO of I/Os waiting for a backend resource (queue slots) or a resubmission. */
struct bdev_file_queue {
	struct bdev_io *head;
	struct bdev_io **tail;
};
void bdev_file_queue_init(struct bdev_file_queue *q);
void bdev_file_queue_push(struct bdev_file_queue *q, struct bdev_io *io);
struct bdev_io *bdev_file_queue_pop(struct bdev_file_queue *q);

/* Opens filename and registers a bdev of the backend ops over it. block_size 0 detects it. */
int bdev_file_create(const char *filename, const char *name, uint32_t block_size,
		     const uint8_t *uuid, const struct bdev_ops *ops, const char *product_name,
		     struct bdev **out);
/* The backends' ops->destruct. */
void bdev_file_destruct(struct bdev *bdev);
/* Re-reads the size of the backend's bdev called name and reports a change. */
int bdev_file_rescan(const char *name, const struct bdev_ops *ops);

/* Called at (re)submission of READ/WRITE/FLUSH: resets nothing, picks the fd and the iovecs still
 * to transfer, and the file offset they start at. */
void bdev_file_io_target(struct bdev_file *f, struct bdev_io *io, int *fd,
			 const struct iovec **iov, int *iovcnt, uint64_t *offset);
/* Resets the per-I/O state for a fresh submission. */
void bdev_file_io_start(struct bdev_io *io);
/* Accounts a finished transfer (res: bytes or -errno). Returns true when io must be submitted
 * again (the rest of a short transfer, -EAGAIN, or a refused direct I/O to redo buffered);
 * otherwise io has been completed. */
bool bdev_file_io_finish(struct bdev_file *f, struct bdev_io *io, long res);
/* Whether io is done synchronously on the submitting thread rather than queued to the kernel:
 * UNMAP and WRITE_ZEROES (fallocate/BLKDISCARD), and READ/WRITE on a memory-backed file. */
bool bdev_file_io_is_sync(const struct bdev_file *f, const struct bdev_io *io);
/* Does such an io now; completes it. */
void bdev_file_io_sync(struct bdev_file *f, struct bdev_io *io);

bool bdev_file_io_type_supported(struct bdev *bdev, enum bdev_io_type type);
/* driver_specific: {key: {"filename", "block_size_override", "direct_io", "memory_mapped"}}. */
void bdev_file_dump_info(struct bdev *bdev, json_t *driver_specific, const char *key);
void bdev_file_write_config(struct bdev *bdev, json_t *config, const char *method);

#endif
