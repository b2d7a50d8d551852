/*
 * aio bdev: a file or block device through Linux AIO (libaio), one io context per channel.
 *
 * Submit only prepares iocbs; the channel's poller hands them to io_submit in one batch per
 * iteration and reaps events with a non-blocking io_getevents. Each iocb signals an eventfd
 * (IOCB_FLAG_RESFD) watched by the reactor, so a sleeping reactor wakes on completion.
 * Linux AIO is only asynchronous with O_DIRECT; buffered I/O (the fallback) completes inside
 * io_submit.
 */
#include "bdev/bdev.h"
#include "bdev/bdev_file.h"
#include "bdev/bdev_module.h"
#include "bdev/bdev_rpc_util.h"

#include "core/log.h"
#include "core/reactor.h"

#include <errno.h>
#include <libaio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define AIO_DEPTH 128

struct aio_io {
	struct bdev_file_io file; /* first: bdev_file_io() reads it from driver_ctx */
	struct iocb iocb;
};

_Static_assert(sizeof(struct aio_io) <= sizeof(((struct bdev_io *)0)->driver_ctx),
	       "aio_io must fit the driver context");

struct aio_channel {
	io_context_t ctx;
	struct bdev_file *file;
	struct poller *poller;
	struct reactor_fd *rfd;
	int efd;
	unsigned inflight;            /* batched or in the kernel */
	unsigned nbatch;
	struct iocb *batch[AIO_DEPTH]; /* prepared, not yet given to io_submit */
	struct bdev_file_queue waits;  /* no room yet, or to submit again */
};

static const struct bdev_ops aio_ops;

static bool aio_prep(struct aio_channel *ch, struct bdev_io *io)
{
	struct iocb *iocb = &((struct aio_io *)io->driver_ctx)->iocb;
	const struct iovec *iov;
	uint64_t offset;
	int fd, iovcnt;

	if (ch->inflight >= AIO_DEPTH)
		return false;
	bdev_file_io_target(ch->file, io, &fd, &iov, &iovcnt, &offset);
	switch (io->type) {
	case BDEV_IO_READ:
		io_prep_preadv(iocb, fd, iov, iovcnt, (long long)offset);
		break;
	case BDEV_IO_WRITE:
		io_prep_pwritev(iocb, fd, iov, iovcnt, (long long)offset);
		break;
	default: /* FLUSH */
		io_prep_fdsync(iocb, fd);
		break;
	}
	io_set_eventfd(iocb, ch->efd);
	iocb->data = io;
	ch->batch[ch->nbatch++] = iocb;
	ch->inflight++;
	return true;
}

static void aio_finish(struct aio_channel *ch, struct bdev_io *io, long res)
{
	ch->inflight--;
	if (bdev_file_io_finish(ch->file, io, res))
		bdev_file_queue_push(&ch->waits, io);
}

static int aio_reap(struct aio_channel *ch)
{
	struct io_event events[AIO_DEPTH];
	struct timespec now = { 0, 0 };
	int n;

	if (ch->inflight == ch->nbatch)
		return 0; /* nothing in the kernel */
	n = io_getevents(ch->ctx, 0, AIO_DEPTH, events, &now);
	for (int i = 0; i < n; i++)
		aio_finish(ch, events[i].data, (long)events[i].res);
	return n > 0 ? n : 0;
}

static int aio_submit_batch(struct aio_channel *ch)
{
	int rc = io_submit(ch->ctx, ch->nbatch, ch->batch);

	if (rc == -EAGAIN || rc == 0)
		return 0; /* out of kernel resources: the batch stays for the next iteration */
	if (rc < 0) {
		/* The first iocb was refused: finish it with that error, keep the rest. */
		aio_finish(ch, ch->batch[0]->data, rc);
		rc = 1;
	}
	ch->nbatch -= (unsigned)rc;
	memmove(ch->batch, ch->batch + rc, ch->nbatch * sizeof(ch->batch[0]));
	return rc;
}

static int aio_poll(void *arg)
{
	struct aio_channel *ch = arg;
	int work = aio_reap(ch);

	while (ch->waits.head && aio_prep(ch, ch->waits.head)) {
		bdev_file_queue_pop(&ch->waits);
		work++;
	}
	if (ch->nbatch)
		work += aio_submit_batch(ch);
	return work;
}

static void aio_efd_ready(void *arg, uint32_t events)
{
	struct aio_channel *ch = arg;
	uint64_t v;

	(void)events;
	if (read(ch->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("bdev: aio eventfd read: %s", strerror(errno));
	aio_poll(ch);
}

static void aio_submit(struct bdev *bdev, void *chctx, struct bdev_io *io)
{
	struct aio_channel *ch = chctx;

	if (bdev_file_io_is_sync(bdev->ctx, io)) {
		bdev_file_io_sync(bdev->ctx, io);
		return;
	}
	bdev_file_io_start(io);
	if (ch->waits.head || !aio_prep(ch, io))
		bdev_file_queue_push(&ch->waits, io);
}

static void aio_channel_destroy(struct bdev *bdev, void *chctx)
{
	struct aio_channel *ch = chctx;

	if (ch->inflight || ch->waits.head)
		log_error("bdev: %s: aio channel closed with I/O in flight", bdev->name);
	poller_unregister(ch->poller);
	reactor_fd_remove(ch->rfd);
	io_destroy(ch->ctx);
	close(ch->efd);
	free(ch);
}

static void *aio_channel_create(struct bdev *bdev)
{
	struct aio_channel *ch = calloc(1, sizeof(*ch));
	int rc;

	if (!ch)
		return NULL;
	ch->file = bdev->ctx;
	bdev_file_queue_init(&ch->waits);
	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd < 0) {
		free(ch);
		return NULL;
	}
	rc = io_setup(AIO_DEPTH, &ch->ctx);
	if (rc < 0) {
		log_error("bdev: %s: io_setup: %s", bdev->name, strerror(-rc));
		close(ch->efd);
		free(ch);
		return NULL;
	}
	ch->rfd = reactor_fd_add(ch->efd, EPOLLIN, aio_efd_ready, ch);
	ch->poller = poller_register(aio_poll, NULL, ch);
	if (!ch->rfd || !ch->poller) {
		aio_channel_destroy(bdev, ch);
		return NULL;
	}
	return ch;
}

static void aio_dump_info(struct bdev *bdev, json_t *driver_specific)
{
	bdev_file_dump_info(bdev, driver_specific, "aio");
}

static void aio_write_config(struct bdev *bdev, json_t *config)
{
	bdev_file_write_config(bdev, config, "bdev_aio_create");
}

static const struct bdev_ops aio_ops = {
	.channel_create = aio_channel_create,
	.channel_destroy = aio_channel_destroy,
	.submit = aio_submit,
	.io_type_supported = bdev_file_io_type_supported,
	.destruct = bdev_file_destruct,
	.dump_info = aio_dump_info,
	.write_config = aio_write_config,
};

int bdev_aio_create(const char *filename, const char *name, uint32_t block_size,
		    const uint8_t *uuid, struct bdev **out)
{
	return bdev_file_create(filename, name, block_size, uuid, &aio_ops, "AIO disk", out);
}

int bdev_aio_delete(const char *name, bdev_delete_done_fn done, void *arg)
{
	return bdev_unregister_by_name(name, &aio_ops, done, arg);
}

int bdev_aio_rescan(const char *name)
{
	return bdev_file_rescan(name, &aio_ops);
}

/* --- RPC --- */

static void rpc_bdev_aio_create(struct rpc_request *req, json_t *params)
{
	bdev_rpc_create_file(req, params, bdev_aio_create);
}
RPC_REGISTER("bdev_aio_create", rpc_bdev_aio_create)

static void rpc_bdev_aio_delete(struct rpc_request *req, json_t *params)
{
	bdev_rpc_delete(req, params, bdev_aio_delete);
}
RPC_REGISTER("bdev_aio_delete", rpc_bdev_aio_delete)

static void rpc_bdev_aio_rescan(struct rpc_request *req, json_t *params)
{
	bdev_rpc_by_name(req, params, bdev_aio_rescan);
}
RPC_REGISTER("bdev_aio_rescan", rpc_bdev_aio_rescan)
