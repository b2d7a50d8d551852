/*
 * The vhost-scsi personality: a controller is a virtio-scsi HBA with up to 256 targets, each one
 * LUN (LUN 0) over a bdev, served by the scsi layer (scsi/scsi.h).
 *
 * Queues (QEMU's vhost-user-scsi layout): 0 control (TMFs, AN query/subscribe), 1 events, 2.. I/O.
 * Each I/O queue's worker holds its own scsi_dev copy of every target, with its own bdev channel;
 * identification comes from the bdev, so the copies answer alike. Targets come and go while a
 * front-end is connected: the guest hears of it through eventq transport-reset events (RESCAN,
 * REMOVED), which wait for an eventq buffer rather than being lost.
 *
 * Every call here runs on the control thread and returns 0 (or a target number) or -errno with a
 * message in err.
 */
#ifndef VHOSTD_VIRTIO_SCSI_CTRL_H
#define VHOSTD_VIRTIO_SCSI_CTRL_H

#include <stdbool.h>
#include <stddef.h>

#define VSCSI_MAX_TARGETS 256

struct vhost_dev;

struct vscsi_ctrlr_opts {
	const char *name;
	const char *cpumask; /* NULL: every worker */
	bool delay;          /* do not bind the socket until vscsi_ctrlr_start() */
};

int vscsi_ctrlr_create(const struct vscsi_ctrlr_opts *opts, char *err, size_t errlen);
/* Binds the socket of a controller created with delay (no-op when it listens already). */
int vscsi_ctrlr_start(struct vhost_dev *dev, char *err, size_t errlen);
bool vscsi_ctrlr_is(const struct vhost_dev *dev);
/* Whether the socket is bound (false only for a delayed controller not yet started). */
bool vscsi_ctrlr_started(const struct vhost_dev *dev);

/* Adds target num (-1: the first free one) over bdev_name; returns the target number. -EINVAL
 * (num out of range), -EEXIST (taken), -EBUSY (still being removed), -ENOSPC (no free number),
 * -ENODEV (no such bdev). A connected guest gets a RESCAN event once every queue has the LUN. */
int vscsi_target_add(struct vhost_dev *dev, int num, const char *bdev_name, char *err,
		     size_t errlen);
/* Starts removing target num: new I/O to it is refused, I/O in flight drains, then the guest gets
 * a REMOVED event and the bdev is released. -EINVAL, -ENODEV (no target), -EBUSY (removing). */
int vscsi_target_remove(struct vhost_dev *dev, int num, char *err, size_t errlen);
/* The bdev of a live (not removing) target, or NULL. */
const char *vscsi_target_bdev_name(const struct vhost_dev *dev, int num);

#endif
