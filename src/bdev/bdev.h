/*
 * Block devices. A bdev is a named array of blocks served by a backend (malloc, null, uring, aio,
 * error). Lifecycle (register, open, close, unregister, resize) happens on the control reactor; I/O
 * happens on any reactor through a per-thread channel.
 *
 *   control:  bdev_open() -> desc; events RESIZE/REMOVE are delivered to the desc's callback on the
 *             control reactor. bdev_close() when done.
 *   worker:   ch = bdev_channel_get(desc) on the worker thread; bdev_io_submit(ch, io) many times;
 *             bdev_channel_put(ch) on the same thread before the desc is closed.
 *
 * A bdev that is unregistered while open stays alive until its last desc closes; I/O submitted
 * after the REMOVE event fails with -ENODEV. bdev_io structs are owned by the caller (embed them).
 */
#ifndef VHOSTD_BDEV_H
#define VHOSTD_BDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <jansson.h>

struct bdev;
struct bdev_desc;
struct bdev_channel;

enum bdev_io_type {
	BDEV_IO_READ,
	BDEV_IO_WRITE,
	BDEV_IO_FLUSH,
	BDEV_IO_UNMAP,
	BDEV_IO_WRITE_ZEROES,
	BDEV_IO_TYPE_COUNT,
};

enum bdev_event { BDEV_EVENT_RESIZE, BDEV_EVENT_REMOVE };

typedef void (*bdev_event_fn)(enum bdev_event event, struct bdev *bdev, void *ctx);

/* The most iovecs one READ/WRITE may carry (front ends advertise their seg_max from it). */
#define BDEV_IO_MAX_IOVCNT 1024

struct bdev_io;
/* status: 0 or a negative errno. Called on the thread that submitted, never inside submit: the
 * generic layer delivers every completion from a poller on that thread, so the caller's own
 * poller must report work (> 0) in an iteration that submitted I/O. */
typedef void (*bdev_io_done_fn)(struct bdev_io *io, int status);

struct bdev_io {
	enum bdev_io_type type;
	uint64_t offset_blocks;
	uint64_t num_blocks;
	struct iovec *iov; /* READ/WRITE only */
	int iovcnt;
	bdev_io_done_fn done;
	void *done_arg;
	/* Set by the generic layer. */
	struct bdev_channel *ch;
	uint64_t submit_tsc;
	int status;
	struct bdev_io *done_next; /* the thread's deferred-completion list */
	/* Backend scratch space; backends needing more allocate from their channel. */
	uint64_t driver_ctx[16];
};

struct bdev_ops {
	/* Called on the worker thread; returns the backend's per-thread context, NULL on failure.
	 * Optional (no per-thread state: chctx is NULL). */
	void *(*channel_create)(struct bdev *bdev);
	void (*channel_destroy)(struct bdev *bdev, void *chctx);
	/* Starts io; completes later via bdev_io_complete() on the same thread. */
	void (*submit)(struct bdev *bdev, void *chctx, struct bdev_io *io);
	bool (*io_type_supported)(struct bdev *bdev, enum bdev_io_type type);
	/* The bdev starts going away: called by bdev_unregister() before REMOVE reaches the users,
	 * so a backend can give back I/O it holds (optional, control thread). */
	void (*unregister)(struct bdev *bdev);
	/* Frees the backend (control thread, after the last desc closed). */
	void (*destruct)(struct bdev *bdev);
	/* Adds backend facts to bdev_get_bdevs' "driver_specific" object (optional). */
	void (*dump_info)(struct bdev *bdev, json_t *driver_specific);
	/* Appends the {"method","params"} that recreate this bdev to a save_config array
	 * (optional). */
	void (*write_config)(struct bdev *bdev, json_t *config);
};

struct bdev {
	/* Filled by the backend before bdev_register(). */
	char *name;              /* owned by the generic layer after register (freed on destruct) */
	const char *product_name; /* "Malloc disk", "Null disk", ... */
	uint32_t block_size;
	uint64_t num_blocks;     /* read it with bdev_num_blocks() off the control thread */
	uint8_t uuid[16];        /* all-zero: the generic layer generates one */
	bool write_cache;        /* the backend has a volatile cache (FLUSH matters) */
	bool unmap_reads_zero;   /* unmapped blocks read back as zeroes (SCSI LBPRZ) */
	uint32_t max_unmap_blocks; /* 0: no limit */
	uint32_t max_write_zeroes_blocks;
	uint32_t required_alignment; /* bytes; buffers must be aligned to it (0 = none) */
	const struct bdev_ops *ops;
	void *ctx;               /* backend's */
	struct bdev_internal *internal; /* generic layer's */
};

/* --- control thread --- */
/* Takes ownership of bdev (and bdev->name) on success. -EEXIST for a taken name. */
int bdev_register(struct bdev *bdev);
/* Removes the name now, sends REMOVE to every open desc, destructs after the last close and
 * calls done(arg) then (never inside this call). */
void bdev_unregister(struct bdev *bdev, void (*done)(void *arg), void *arg);
struct bdev *bdev_get_by_name(const char *name);
void bdev_foreach(void (*fn)(struct bdev *bdev, void *arg), void *arg);
/* Changes the size and sends RESIZE to every open desc. -EBUSY for a shrink while the bdev is open
 * (as SPDK), -EINVAL for 0 blocks. */
int bdev_notify_resize(struct bdev *bdev, uint64_t num_blocks);
int bdev_open(const char *name, bool write, bdev_event_fn event_fn, void *event_ctx,
	      struct bdev_desc **desc);
void bdev_close(struct bdev_desc *desc);
struct bdev *bdev_desc_bdev(const struct bdev_desc *desc);
/* A module (the error bdev) claims its base: a claimed bdev refuses bdev_open(write=true) with
 * -EPERM and a second claim with -EBUSY. */
int bdev_claim(struct bdev *bdev);
void bdev_release(struct bdev *bdev);
/* Unregisters every bdev (at shutdown), calling done when all are gone. */
void bdev_unregister_all(void (*done)(void *arg), void *arg);

/* --- any thread --- */
uint64_t bdev_num_blocks(const struct bdev *bdev);
bool bdev_io_type_supported(struct bdev *bdev, enum bdev_io_type type);
void bdev_uuid_format(const struct bdev *bdev, char out[37]);

/* --- the thread doing I/O --- */
/* Returns this thread's channel for the desc's bdev (refcounted), or NULL. */
struct bdev_channel *bdev_channel_get(struct bdev_desc *desc);
void bdev_channel_put(struct bdev_channel *ch);
/* Validates the range and type, then hands io to the backend. Errors complete io asynchronously:
 * -ENODEV after REMOVE, -ENOTSUP for a type the bdev lacks, -EINVAL for a bad range (0 blocks,
 * past the end), an iov total != num_blocks * block_size, or more than BDEV_IO_MAX_IOVCNT iovs.
 * FLUSH ignores the range. */
void bdev_io_submit(struct bdev_channel *ch, struct bdev_io *io);
/* For backends: finishes io (status 0 or -errno). May be called inside submit: the generic layer
 * defers the user's callback so it never runs re-entrantly. */
void bdev_io_complete(struct bdev_io *io, int status);

/* --- statistics (bdev_get_iostat) --- */
struct bdev_iostat {
	uint64_t bytes_read, num_read_ops;
	uint64_t bytes_written, num_write_ops;
	uint64_t bytes_unmapped, num_unmap_ops;
	uint64_t num_flush_ops, num_write_zeroes_ops, num_io_errors;
	uint64_t read_latency_ticks, write_latency_ticks, unmap_latency_ticks;
};
void bdev_iostat_get(struct bdev *bdev, struct bdev_iostat *stat);

#endif
