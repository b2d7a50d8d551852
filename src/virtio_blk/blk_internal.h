/* Shared by the vhost-blk files (internal). */
#ifndef VHOSTD_VIRTIO_BLK_INTERNAL_H
#define VHOSTD_VIRTIO_BLK_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "bdev/bdev.h"
#include "vhost/vhost.h"

struct blk_ctrlr {
	struct vhost_dev *vdev;
	char *bdev_name;
	struct bdev_desc *desc;
	struct bdev *bdev;
	uint32_t block_size; /* kept for the config space once the bdev is gone */
	bool readonly;
	bool packed_ring;
	/* References on desc: one for the controller, one per queue holding a channel. The last put
	 * closes it on the control thread. */
	atomic_int refs;
	atomic_bool removed;
	bool desc_closed;
	bool deleting;
};

/* The queue's worker: a bdev channel, or none once the bdev is gone. */
struct blk_queue {
	struct blk_ctrlr *ctrlr;
	struct bdev_channel *ch;
	uint32_t io_inflight;
	bool detaching;
};

struct blk_req {
	struct vhost_req vreq; /* first: the vhost layer allocates blk_req and hands out vreq */
	struct bdev_io io;
	struct blk_queue *queue;
	uint8_t *status;
	uint32_t used_len;
};

extern const struct vhost_dev_ops blk_dev_ops;

void blk_queue_request(struct vhost_vq *vq, struct vhost_req *req);
void blk_queue_release_channel(struct blk_queue *q);

#endif
