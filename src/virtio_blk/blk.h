/*
 * The vhost-blk personality: one controller serves one bdev as a virtio-blk disk.
 *
 * Requests (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES) become bdev I/O on the queue's worker.
 * Feature bits and config space follow what the bdev can do. A bdev that goes away under a live
 * controller turns every request into VIRTIO_BLK_S_IOERR; a resize reaches the guest as a config
 * change.
 */
#ifndef VHOSTD_VIRTIO_BLK_H
#define VHOSTD_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>

struct vhost_dev;

struct blk_ctrlr_opts {
	const char *name;
	const char *bdev_name;
	const char *cpumask; /* NULL: every worker */
	bool readonly;
	bool packed_ring;
};

/* Control thread. Returns 0, or -errno with a message in err. */
int blk_ctrlr_create(const struct blk_ctrlr_opts *opts, char *err, size_t errlen);
/* True when dev is a vhost-blk controller. */
bool blk_ctrlr_is(const struct vhost_dev *dev);

#endif
