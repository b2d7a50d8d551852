/* vhost-blk controllers: features and config space from the bdev, queues, bdev events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_blk.h>

#include "core/log.h"
#include "core/reactor.h"
#include "virtio_blk/blk.h"
#include "virtio_blk/blk_internal.h"

#define BLK_NUM_QUEUES 32
#define BLK_SIZE_MAX (128u * 1024)

static uint64_t blk_features(struct vhost_dev *dev)
{
	struct blk_ctrlr *c = vhost_dev_ctx(dev);
	uint64_t f = (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		     (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_TOPOLOGY) |
		     (1ULL << VIRTIO_BLK_F_MQ);

	if (c->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (!c->bdev)
		return f;
	if (bdev_io_type_supported(c->bdev, BDEV_IO_FLUSH))
		f |= 1ULL << VIRTIO_BLK_F_FLUSH;
	if (!c->readonly && bdev_io_type_supported(c->bdev, BDEV_IO_UNMAP))
		f |= 1ULL << VIRTIO_BLK_F_DISCARD;
	if (!c->readonly && bdev_io_type_supported(c->bdev, BDEV_IO_WRITE_ZEROES))
		f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

static uint16_t blk_num_queues(struct vhost_dev *dev)
{
	(void)dev;
	return BLK_NUM_QUEUES;
}

/* A limit in blocks as sectors, capped to what the 32-bit field holds. */
static uint32_t blocks_to_sectors(uint32_t blocks, uint32_t block_size)
{
	uint64_t s = blocks ? (uint64_t)blocks * (block_size / 512) : UINT32_MAX;

	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static int blk_get_config(struct vhost_dev *dev, uint8_t *config, uint32_t len)
{
	struct blk_ctrlr *c = vhost_dev_ctx(dev);
	struct virtio_blk_config cfg = { 0 };
	uint32_t bs = c->block_size;

	if (len < sizeof(cfg))
		return -EINVAL;
	cfg.size_max = BLK_SIZE_MAX;
	cfg.seg_max = VHOST_SEG_MAX;
	cfg.blk_size = bs;
	cfg.min_io_size = 1;
	cfg.opt_io_size = 1;
	cfg.num_queues = BLK_NUM_QUEUES;
	cfg.max_discard_seg = 1;
	cfg.discard_sector_alignment = bs / 512;
	cfg.max_write_zeroes_seg = 1;
	/* A bdev gone under the controller shows as an empty disk: a front-end that connects now
	 * must still get a config (QEMU refuses a device whose GET_CONFIG fails). */
	if (c->bdev) {
		cfg.capacity = bdev_num_blocks(c->bdev) * (bs / 512);
		cfg.wce = c->bdev->write_cache;
		cfg.max_discard_sectors = blocks_to_sectors(c->bdev->max_unmap_blocks, bs);
		cfg.max_write_zeroes_sectors =
			blocks_to_sectors(c->bdev->max_write_zeroes_blocks, bs);
		cfg.write_zeroes_may_unmap = bdev_io_type_supported(c->bdev, BDEV_IO_UNMAP);
	}
	memcpy(config, &cfg, sizeof(cfg));
	return sizeof(cfg);
}

static void blk_dump_info(struct vhost_dev *dev, json_t *backend_specific)
{
	struct blk_ctrlr *c = vhost_dev_ctx(dev);

	json_object_set_new(backend_specific, "block",
			    json_pack("{s:b, s:s, s:s}", "readonly", c->readonly, "bdev", c->bdev_name,
				      "transport", "vhost_user_blk"));
}

/* --- references on the bdev desc --- */

static void blk_close_desc(void *arg)
{
	struct blk_ctrlr *c = arg;

	bdev_close(c->desc);
	c->desc = NULL;
	c->bdev = NULL;
	c->desc_closed = true;
	/* The controller may be gone already (deleted while queues drained): name only the bdev. */
	log_info("vhost-blk: bdev %s released", c->bdev_name);
	if (c->deleting) {
		free(c->bdev_name);
		free(c);
	}
}

static void blk_ref_put(struct blk_ctrlr *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		reactor_send(reactor_control(), blk_close_desc, c);
}

/* Takes a reference unless the last one is gone already. */
static bool blk_ref_get(struct blk_ctrlr *c)
{
	int n = atomic_load(&c->refs);

	while (n > 0)
		if (atomic_compare_exchange_weak(&c->refs, &n, n + 1))
			return true;
	return false;
}

void blk_queue_release_channel(struct blk_queue *q)
{
	if (!q->ch)
		return;
	bdev_channel_put(q->ch);
	q->ch = NULL;
	blk_ref_put(q->ctrlr);
}

static int blk_queue_start(struct vhost_vq *vq)
{
	struct blk_ctrlr *c = vhost_dev_ctx(vhost_vq_dev(vq));
	struct blk_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->ctrlr = c;
	if (blk_ref_get(c)) {
		if (atomic_load(&c->removed))
			blk_ref_put(c);
		else if (!(q->ch = bdev_channel_get(c->desc)))
			blk_ref_put(c);
	}
	if (!q->ch)
		log_warn("%s: queue %u has no bdev: every request fails", vhost_dev_name(c->vdev),
			 vhost_vq_index(vq));
	vhost_vq_set_priv(vq, q);
	return 0;
}

static void blk_queue_stop(struct vhost_vq *vq)
{
	struct blk_queue *q = vhost_vq_priv(vq);

	blk_queue_release_channel(q);
	free(q);
	vhost_vq_set_priv(vq, NULL);
}

static void blk_queue_detach(struct vhost_vq *vq, void *arg)
{
	struct blk_queue *q = vhost_vq_priv(vq);

	(void)arg;
	if (!q)
		return;
	q->detaching = true;
	if (q->io_inflight == 0)
		blk_queue_release_channel(q);
}

static void blk_detach_sent(void *arg)
{
	(void)arg;
}

/* The controller lets go of the bdev: queues drop their channels as their I/O drains. */
static void blk_bdev_release(struct blk_ctrlr *c)
{
	if (atomic_exchange(&c->removed, true))
		return;
	if (vhost_dev_connected(c->vdev))
		vhost_dev_foreach_queue(c->vdev, blk_queue_detach, blk_detach_sent, c);
	blk_ref_put(c);
}

static void blk_bdev_event(enum bdev_event event, struct bdev *bdev, void *ctx)
{
	struct blk_ctrlr *c = ctx;
	int rc;

	/* Deleted, only waiting for its queues to let go of the desc: c->vdev is gone already. */
	if (c->deleting)
		return;
	switch (event) {
	case BDEV_EVENT_REMOVE:
		log_warn("%s: bdev %s is being removed: I/O fails from now on", vhost_dev_name(c->vdev),
			 c->bdev_name);
		blk_bdev_release(c);
		break;
	case BDEV_EVENT_RESIZE:
		rc = vhost_dev_config_changed(c->vdev);
		log_notice("%s: bdev %s resized to %llu blocks%s", vhost_dev_name(c->vdev), c->bdev_name,
			   (unsigned long long)bdev_num_blocks(bdev),
			   rc == 0 ? ", guest notified" : rc == -ENOTCONN ? "" : ", guest NOT notified");
		break;
	}
}

static void blk_destroy(struct vhost_dev *dev)
{
	struct blk_ctrlr *c = vhost_dev_ctx(dev);

	c->deleting = true;
	blk_bdev_release(c);
	if (c->desc_closed) {
		free(c->bdev_name);
		free(c);
	}
}

const struct vhost_dev_ops blk_dev_ops = {
	.type = "vhost-blk",
	.req_size = sizeof(struct blk_req),
	.features = blk_features,
	.num_queues = blk_num_queues,
	.get_config = blk_get_config,
	.dump_info = blk_dump_info,
	.destroy = blk_destroy,
	.queue_start = blk_queue_start,
	.queue_stop = blk_queue_stop,
	.request = blk_queue_request,
};

bool blk_ctrlr_is(const struct vhost_dev *dev)
{
	return vhost_dev_ops(dev) == &blk_dev_ops;
}

int blk_ctrlr_create(const struct blk_ctrlr_opts *opts, char *err, size_t errlen)
{
	struct vhost_dev_opts vopts = {
		.name = opts->name,
		.cpumask = opts->cpumask,
		.packed_ring = opts->packed_ring,
	};
	struct blk_ctrlr *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	c->readonly = opts->readonly;
	c->packed_ring = opts->packed_ring;
	c->bdev_name = strdup(opts->bdev_name);
	atomic_init(&c->refs, 1);
	rc = c->bdev_name ? bdev_open(opts->bdev_name, !opts->readonly, blk_bdev_event, c, &c->desc) : -ENOMEM;
	if (rc) {
		snprintf(err, errlen, rc == -ENODEV ? "no such bdev '%s'" : "cannot open bdev '%s': %s",
			 opts->bdev_name, strerror(-rc));
		free(c->bdev_name);
		free(c);
		return rc;
	}
	c->bdev = bdev_desc_bdev(c->desc);
	c->block_size = c->bdev->block_size;
	rc = vhost_dev_create(&vopts, &blk_dev_ops, c, true, &c->vdev, err, errlen);
	if (rc) {
		bdev_close(c->desc);
		free(c->bdev_name);
		free(c);
		return rc;
	}
	log_notice("%s: vhost-blk controller for bdev %s%s", opts->name, opts->bdev_name,
		   opts->readonly ? " (read-only)" : "");
	return 0;
}
