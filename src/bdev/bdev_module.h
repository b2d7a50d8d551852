/*
 * Backends' side of the bdev layer: create/delete calls (used by the RPC handlers and by tests),
 * the JSON views behind bdev_get_bdevs / bdev_get_iostat, and small helpers shared by backends.
 * Everything here runs on the control reactor unless it says otherwise.
 */
#ifndef VHOSTD_BDEV_MODULE_H
#define VHOSTD_BDEV_MODULE_H

#include "bdev/bdev.h"

/* Completion of an asynchronous delete: status 0 or -errno. */
typedef void (*bdev_delete_done_fn)(void *arg, int status);

/* malloc: memory from mmap (no hugepages). name NULL picks "Malloc0", "Malloc1", ...; uuid NULL or
 * all-zero generates one. block_size a multiple of 512, num_blocks > 0. */
int bdev_malloc_create(const char *name, uint64_t num_blocks, uint32_t block_size,
		       const uint8_t *uuid, struct bdev **out);
int bdev_malloc_delete(const char *name, bdev_delete_done_fn done, void *arg);

/* null: completes READ/WRITE/WRITE_ZEROES at once without touching data (as SPDK's null). */
int bdev_null_create(const char *name, uint64_t num_blocks, uint32_t block_size,
		     const uint8_t *uuid, struct bdev **out);
int bdev_null_delete(const char *name, bdev_delete_done_fn done, void *arg);
/* new_size_mib: the new capacity in MiB (SPDK); it must not shrink the bdev. */
int bdev_null_resize(const char *name, uint64_t new_size_mib);

/* uring / aio: a file or block device. block_size 0 detects it (BLKSSZGET, 512 for files). */
int bdev_uring_create(const char *filename, const char *name, uint32_t block_size,
		      const uint8_t *uuid, struct bdev **out);
int bdev_uring_delete(const char *name, bdev_delete_done_fn done, void *arg);
int bdev_uring_rescan(const char *name);
int bdev_aio_create(const char *filename, const char *name, uint32_t block_size,
		    const uint8_t *uuid, struct bdev **out);
int bdev_aio_delete(const char *name, bdev_delete_done_fn done, void *arg);
int bdev_aio_rescan(const char *name);

/* error: "EE_<base_name>" passing I/O to base_name, with injectable failures. */
enum bdev_error_type {
	BDEV_ERROR_NONE,
	BDEV_ERROR_FAILURE,      /* completes with -EIO */
	BDEV_ERROR_PENDING,      /* held until the injection is cleared */
	BDEV_ERROR_CORRUPT_DATA, /* one byte XORed: in the data written, or in the data read */
	BDEV_ERROR_NOMEM,        /* out of resources for a moment: retried, the caller only waits */
};
struct bdev_error_opts {
	enum bdev_error_type type;
	uint32_t num;            /* how many I/Os it hits */
	uint32_t queue_depth;    /* only while at least this many of the channel's I/Os are out */
	uint64_t corrupt_offset; /* CORRUPT_DATA: the byte, from the start of the data */
	uint8_t corrupt_value;   /* CORRUPT_DATA: what it is XORed with; not 0 */
};
int bdev_error_create(const char *base_name, const uint8_t *uuid, struct bdev **out);
int bdev_error_delete(const char *name, bdev_delete_done_fn done, void *arg);
/* io_type BDEV_IO_TYPE_COUNT means every type. The next num I/Os of that type get the error
 * (SPDK's bdev_error_inject_error). -ENODEV, -EINVAL (a CORRUPT_DATA value of 0). */
int bdev_error_inject_opts(const char *name, enum bdev_io_type io_type,
			   const struct bdev_error_opts *opts);
/* The same with only a type and a count. */
int bdev_error_inject(const char *name, enum bdev_io_type io_type, enum bdev_error_type type,
		      uint32_t num);
/* Stops injecting on every type and resubmits held I/Os to the base (asynchronously). */
int bdev_error_clear(const char *name);
/* Parses "read", "write", "flush", "unmap", "write_zeroes", "all" (BDEV_IO_TYPE_COUNT). */
int bdev_error_io_type_parse(const char *s, enum bdev_io_type *type);
int bdev_error_type_parse(const char *s, enum bdev_error_type *type);

/* --- views (bdev_rpc.c) --- */
/* One bdev_get_bdevs entry. */
json_t *bdev_info_json(struct bdev *bdev);
/* One bdev_get_iostat "bdevs" entry. */
json_t *bdev_iostat_json(struct bdev *bdev);
/* The save_config array of the "bdev" subsystem. */
void bdev_config_write(json_t *config);

/* --- helpers --- */
const char *bdev_io_type_name(enum bdev_io_type type);
/* "xxxxxxxx-xxxx-..." (either case) to 16 bytes; -EINVAL when malformed. */
int bdev_uuid_parse(const char *s, uint8_t uuid[16]);
/* Latency clock of the iostat counters (any thread). */
uint64_t bdev_ticks(void);
uint64_t bdev_tick_rate(void);
/* Unregisters name if its ops are ops: the shared body of every backend's delete. -ENODEV when
 * there is no such bdev of that backend. */
int bdev_unregister_by_name(const char *name, const struct bdev_ops *ops, bdev_delete_done_fn done,
			    void *arg);

#endif
