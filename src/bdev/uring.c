/*
 * uring bdev: a file or block device through io_uring, one ring per channel (per thread).
 *
 * Submit only prepares SQEs; the channel's poller submits them all with one io_uring_enter per
 * iteration and reaps CQEs. The ring's eventfd is watched by the reactor so a sleeping reactor
 * wakes on completion; while the reactor busy-polls, the eventfd is switched off.
 */
#include "bdev/bdev.h"
#include "bdev/bdev_file.h"
#include "bdev/bdev_module.h"
#include "bdev/bdev_rpc_util.h"

#include "core/log.h"
#include "core/reactor.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define URING_SQ_DEPTH 128
/* At most this many I/Os in the kernel per channel (the CQ ring is twice the SQ). */
#define URING_MAX_INFLIGHT (2 * URING_SQ_DEPTH)

struct uring_channel {
	struct io_uring ring;
	struct bdev_file *file;
	struct poller *poller;
	struct reactor_fd *rfd;
	int efd;
	unsigned inflight;            /* prepared or in the kernel */
	struct bdev_file_queue waits; /* no ring room yet, or to submit again */
};

static const struct bdev_ops uring_ops;

/* Prepares one SQE for io; false when the ring is full. */
static bool uring_prep(struct uring_channel *ch, struct bdev_io *io)
{
	struct io_uring_sqe *sqe;
	const struct iovec *iov;
	uint64_t offset;
	int fd, iovcnt;

	if (ch->inflight >= URING_MAX_INFLIGHT)
		return false;
	sqe = io_uring_get_sqe(&ch->ring);
	if (!sqe) {
		io_uring_submit(&ch->ring); /* the SQ is full of prepared entries: push them now */
		sqe = io_uring_get_sqe(&ch->ring);
		if (!sqe)
			return false;
	}
	bdev_file_io_target(ch->file, io, &fd, &iov, &iovcnt, &offset);
	switch (io->type) {
	case BDEV_IO_READ:
		io_uring_prep_readv(sqe, fd, iov, (unsigned)iovcnt, offset);
		break;
	case BDEV_IO_WRITE:
		io_uring_prep_writev(sqe, fd, iov, (unsigned)iovcnt, offset);
		break;
	default: /* FLUSH */
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	ch->inflight++;
	return true;
}

static void uring_queue(struct uring_channel *ch, struct bdev_io *io)
{
	if (ch->waits.head || !uring_prep(ch, io))
		bdev_file_queue_push(&ch->waits, io); /* keep the order behind earlier waiters */
}

static int uring_reap(struct uring_channel *ch)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&ch->ring, head, cqe) {
		struct bdev_io *io = io_uring_cqe_get_data(cqe);

		n++;
		ch->inflight--;
		if (bdev_file_io_finish(ch->file, io, cqe->res))
			bdev_file_queue_push(&ch->waits, io);
	}
	io_uring_cq_advance(&ch->ring, n);
	return (int)n;
}

static int uring_poll(void *arg)
{
	struct uring_channel *ch = arg;
	int work = uring_reap(ch);

	while (ch->waits.head && uring_prep(ch, ch->waits.head)) {
		bdev_file_queue_pop(&ch->waits);
		work++;
	}
	if (io_uring_sq_ready(&ch->ring)) {
		int rc = io_uring_submit(&ch->ring);

		/* -EAGAIN/-EBUSY: the kernel is short of resources; the entries stay queued. */
		if (rc > 0)
			work += rc;
		else if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR)
			log_error("bdev: %s: io_uring_submit: %s", ch->file->bdev.name,
				  strerror(-rc));
	}
	return work;
}

static void uring_notify(void *arg, bool enable)
{
	struct uring_channel *ch = arg;

	io_uring_cq_eventfd_toggle(&ch->ring, enable);
}

static void uring_efd_ready(void *arg, uint32_t events)
{
	struct uring_channel *ch = arg;
	uint64_t v;

	(void)events;
	if (read(ch->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("bdev: uring eventfd read: %s", strerror(errno));
	uring_poll(ch);
}

static void uring_submit(struct bdev *bdev, void *chctx, struct bdev_io *io)
{
	struct uring_channel *ch = chctx;

	if (bdev_file_io_is_sync(bdev->ctx, io)) {
		bdev_file_io_sync(bdev->ctx, io);
		return;
	}
	bdev_file_io_start(io);
	uring_queue(ch, io);
}

static void uring_channel_destroy(struct bdev *bdev, void *chctx)
{
	struct uring_channel *ch = chctx;

	(void)bdev;
	if (ch->inflight || ch->waits.head)
		log_error("bdev: %s: uring channel closed with I/O in flight", bdev->name);
	poller_unregister(ch->poller);
	reactor_fd_remove(ch->rfd);
	io_uring_queue_exit(&ch->ring);
	close(ch->efd);
	free(ch);
}

static void *uring_channel_create(struct bdev *bdev)
{
	struct uring_channel *ch = calloc(1, sizeof(*ch));
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
	rc = io_uring_queue_init(URING_SQ_DEPTH, &ch->ring, 0);
	if (rc < 0) {
		log_error("bdev: %s: io_uring_queue_init: %s", bdev->name, strerror(-rc));
		close(ch->efd);
		free(ch);
		return NULL;
	}
	ch->rfd = reactor_fd_add(ch->efd, EPOLLIN, uring_efd_ready, ch);
	ch->poller = poller_register(uring_poll, uring_notify, ch);
	rc = io_uring_register_eventfd(&ch->ring, ch->efd);
	if (!ch->rfd || !ch->poller || rc < 0) {
		log_error("bdev: %s: cannot watch the ring's completions", bdev->name);
		uring_channel_destroy(bdev, ch);
		return NULL;
	}
	return ch;
}

static void uring_dump_info(struct bdev *bdev, json_t *driver_specific)
{
	bdev_file_dump_info(bdev, driver_specific, "uring");
}

static void uring_write_config(struct bdev *bdev, json_t *config)
{
	bdev_file_write_config(bdev, config, "bdev_uring_create");
}

static const struct bdev_ops uring_ops = {
	.channel_create = uring_channel_create,
	.channel_destroy = uring_channel_destroy,
	.submit = uring_submit,
	.io_type_supported = bdev_file_io_type_supported,
	.destruct = bdev_file_destruct,
	.dump_info = uring_dump_info,
	.write_config = uring_write_config,
};

int bdev_uring_create(const char *filename, const char *name, uint32_t block_size,
		      const uint8_t *uuid, struct bdev **out)
{
	return bdev_file_create(filename, name, block_size, uuid, &uring_ops, "URING bdev", out);
}

int bdev_uring_delete(const char *name, bdev_delete_done_fn done, void *arg)
{
	return bdev_unregister_by_name(name, &uring_ops, done, arg);
}

int bdev_uring_rescan(const char *name)
{
	return bdev_file_rescan(name, &uring_ops);
}

/* --- RPC --- */

static void rpc_bdev_uring_create(struct rpc_request *req, json_t *params)
{
	bdev_rpc_create_file(req, params, bdev_uring_create);
}
RPC_REGISTER("bdev_uring_create", rpc_bdev_uring_create)

static void rpc_bdev_uring_delete(struct rpc_request *req, json_t *params)
{
	bdev_rpc_delete(req, params, bdev_uring_delete);
}
RPC_REGISTER("bdev_uring_delete", rpc_bdev_uring_delete)

static void rpc_bdev_uring_rescan(struct rpc_request *req, json_t *params)
{
	bdev_rpc_by_name(req, params, bdev_uring_rescan);
}
RPC_REGISTER("bdev_uring_rescan", rpc_bdev_uring_rescan)
