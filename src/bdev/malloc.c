/*
 * malloc bdev: a RAM disk in anonymous memory (mmap, no hugepages). Its pages are taken lazily
 * as they are written and given back on UNMAP/WRITE_ZEROES.
 */
#include "bdev/bdev.h"
#include "bdev/bdev_module.h"
#include "bdev/bdev_rpc_util.h"

#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct malloc_disk {
	struct bdev bdev;
	uint8_t *buf;
	size_t size;
};

static const struct bdev_ops malloc_ops;
static unsigned malloc_next_index; /* for "MallocN" names, as SPDK counts */

static void malloc_copy(uint8_t *disk, const struct bdev_io *io, bool to_disk)
{
	for (int i = 0; i < io->iovcnt; i++) {
		const struct iovec *v = &io->iov[i];

		if (to_disk)
			memcpy(disk, v->iov_base, v->iov_len);
		else
			memcpy(v->iov_base, disk, v->iov_len);
		disk += v->iov_len;
	}
}

/* Zeroes [p, p+len): whole pages are dropped (they read back as zero), the edges are cleared. */
static void malloc_zero(uint8_t *p, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(page - 1);

	if (end > start && madvise((void *)start, end - start, MADV_DONTNEED) == 0) {
		memset(p, 0, start - (uintptr_t)p);
		memset((void *)end, 0, (uintptr_t)p + len - end);
		return;
	}
	memset(p, 0, len);
}

static void malloc_submit(struct bdev *bdev, void *chctx, struct bdev_io *io)
{
	struct malloc_disk *disk = bdev->ctx;
	uint8_t *p = disk->buf + io->offset_blocks * bdev->block_size;

	(void)chctx;
	switch (io->type) {
	case BDEV_IO_READ:
		malloc_copy(p, io, false);
		break;
	case BDEV_IO_WRITE:
		malloc_copy(p, io, true);
		break;
	case BDEV_IO_UNMAP:
	case BDEV_IO_WRITE_ZEROES:
		malloc_zero(p, io->num_blocks * bdev->block_size);
		break;
	case BDEV_IO_FLUSH:
	case BDEV_IO_TYPE_COUNT:
		break;
	}
	bdev_io_complete(io, 0);
}

static bool malloc_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	(void)bdev;
	return type < BDEV_IO_TYPE_COUNT;
}

static void malloc_destruct(struct bdev *bdev)
{
	struct malloc_disk *disk = bdev->ctx;

	munmap(disk->buf, disk->size);
	free(disk);
}

static void malloc_write_config(struct bdev *bdev, json_t *config)
{
	bdev_config_add_blocks(config, "bdev_malloc_create", bdev);
}

static const struct bdev_ops malloc_ops = {
	.submit = malloc_submit,
	.io_type_supported = malloc_io_type_supported,
	.destruct = malloc_destruct,
	.write_config = malloc_write_config,
};

static char *malloc_name_pick(void)
{
	char name[32];

	do
		snprintf(name, sizeof(name), "Malloc%u", malloc_next_index++);
	while (bdev_get_by_name(name));
	return strdup(name);
}

int bdev_malloc_create(const char *name, uint64_t num_blocks, uint32_t block_size,
		       const uint8_t *uuid, struct bdev **out)
{
	struct malloc_disk *disk;
	uint64_t size;
	int rc;

	if (num_blocks == 0 || block_size == 0 || block_size % 512)
		return -EINVAL;
	if (__builtin_mul_overflow(num_blocks, (uint64_t)block_size, &size) || size > SIZE_MAX)
		return -EINVAL;
	if (name && bdev_get_by_name(name))
		return -EEXIST;
	disk = calloc(1, sizeof(*disk));
	if (!disk)
		return -ENOMEM;
	disk->size = size;
	disk->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (disk->buf == MAP_FAILED) {
		free(disk);
		return -ENOMEM;
	}
	disk->bdev.name = name ? strdup(name) : malloc_name_pick();
	disk->bdev.product_name = "Malloc disk";
	disk->bdev.block_size = block_size;
	disk->bdev.num_blocks = num_blocks;
	disk->bdev.write_cache = true;
	disk->bdev.unmap_reads_zero = true;
	disk->bdev.ops = &malloc_ops;
	disk->bdev.ctx = disk;
	if (uuid)
		memcpy(disk->bdev.uuid, uuid, 16);
	rc = disk->bdev.name ? bdev_register(&disk->bdev) : -ENOMEM;
	if (rc) {
		free(disk->bdev.name);
		malloc_destruct(&disk->bdev);
		return rc;
	}
	if (out)
		*out = &disk->bdev;
	return 0;
}

int bdev_malloc_delete(const char *name, bdev_delete_done_fn done, void *arg)
{
	return bdev_unregister_by_name(name, &malloc_ops, done, arg);
}

/* --- RPC --- */

static void rpc_bdev_malloc_create(struct rpc_request *req, json_t *params)
{
	bdev_rpc_create_blocks(req, params, true, bdev_malloc_create);
}
RPC_REGISTER("bdev_malloc_create", rpc_bdev_malloc_create)

static void rpc_bdev_malloc_delete(struct rpc_request *req, json_t *params)
{
	bdev_rpc_delete(req, params, bdev_malloc_delete);
}
RPC_REGISTER("bdev_malloc_delete", rpc_bdev_malloc_delete)
