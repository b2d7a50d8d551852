/* Shared by the vhost-scsi files (internal). Threads: see each struct. */
#ifndef VHOSTD_VIRTIO_SCSI_INTERNAL_H
#define VHOSTD_VIRTIO_SCSI_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_scsi.h>

#include "core/iov.h"
#include "bdev/bdev.h"
#include "scsi/scsi.h"
#include "vhost/vhost.h"
#include "virtio_scsi/scsi_ctrl.h"

#define VSCSI_CONTROLQ 0
#define VSCSI_EVENTQ 1
#define VSCSI_FIRST_IOQ 2
#define VSCSI_IO_QUEUES 16
#define VSCSI_EVENTS_MAX 16   /* events waiting for eventq buffers before they collapse to MISSED */
#define VSCSI_INITIATOR 1     /* one guest, one I_T nexus per controller */
/* TMF response "function complete": the header names only the OK code it shares. */
#define VIRTIO_SCSI_S_FUNCTION_COMPLETE VIRTIO_SCSI_S_OK

/* A target. Created, removed and freed on the control thread; workers read the fixed fields and
 * use refs/removing. refs: one for the controller (dropped when removal starts), one per LUN copy
 * holding a channel, one per walk over the queues in progress. The last put finalizes it. */
struct vscsi_target {
	struct vscsi_ctrlr *ctrlr;
	int num;
	char *bdev_name;
	struct bdev_desc *desc;
	atomic_int refs;
	atomic_bool removing;
	struct scsi_lun_shared shared; /* the LUN's copies on every queue share these */
	struct vscsi_target *next_dead;
};

/* Control thread: events waiting for eventq buffers, oldest first. */
struct vscsi_events {
	struct virtio_scsi_event ev[VSCSI_EVENTS_MAX];
	unsigned count;
	bool flushing;  /* a delivery walk is out */
	bool again;     /* something changed while it was: walk again */
	bool collapsed; /* the list became one EVENTS_MISSED while a walk was out */
};

struct vscsi_ctrlr {
	struct vhost_dev *vdev;
	/* Written on the control thread; I/O queues read a slot when they start. A target is
	 * never freed while a session may still read its slot (see vscsi_target.c). */
	_Atomic(struct vscsi_target *) targets[VSCSI_MAX_TARGETS];
	int live;                 /* targets not yet finalized */
	int busy;                 /* walks over the queues not yet done */
	struct vscsi_target *dead; /* finalized while connected: freed once no session runs */
	bool started;             /* socket bound */
	bool deleting;
	struct vscsi_events events;
};

/* One I/O queue, on its worker: a scsi_dev per target number (made on first use). */
struct vscsi_ioq {
	struct vscsi_ctrlr *ctrlr;
	bool first; /* the first request queue: its start re-arms POWER ON (a new initiator) */
	struct scsi_dev *devs[VSCSI_MAX_TARGETS];
	int destroying; /* devs still being destroyed after the queue stopped (+1 held) */
};

struct vscsi_req {
	struct vhost_req vreq; /* first: the vhost layer allocates vscsi_req and hands out vreq */
	struct scsi_task task;
	struct vscsi_req *next; /* eventq: buffers waiting for an event */
	struct iovec data_iov[VHOST_REQ_MAX_IOV];
};

extern const struct vhost_dev_ops vscsi_dev_ops;

/* vscsi_ctrlr.c: frees the controller once it is deleted and nothing refers to it any more. */
void vscsi_ctrlr_maybe_free(struct vscsi_ctrlr *c);

/* vscsi_target.c (control thread unless said otherwise) */
bool vscsi_target_get(struct vscsi_target *t);   /* any thread; false once the last ref went */
void vscsi_target_put(struct vscsi_target *t);   /* any thread */
/* Begins removal (idempotent); announce: send the guest a REMOVED event at the end. */
void vscsi_target_start_removal(struct vscsi_target *t);
/* Every target goes (controller deletion, no session). */
void vscsi_targets_release_all(struct vscsi_ctrlr *c);

/* vscsi_io.c (the I/O queue's worker) */
int vscsi_ioq_start(struct vhost_vq *vq);
void vscsi_ioq_stop(struct vhost_vq *vq);
void vscsi_ioq_request(struct vhost_vq *vq, struct vhost_req *req);
/* The I/O queue of vq, or NULL for another queue or one that stopped. */
struct vscsi_ioq *vscsi_ioq_of(struct vhost_vq *vq);
/* Gives the queue its LUN copy of t (no-op if it has it or t is going). */
void vscsi_ioq_attach(struct vscsi_ioq *q, struct vscsi_target *t);
/* The ACTIVE LUN lun_id of target num on this queue, or NULL. */
struct scsi_lun *vscsi_ioq_lun(struct vscsi_ioq *q, int num, uint32_t lun_id);
/* Decodes a virtio-scsi LUN address: 0 with target and LUN number (>= SCSI_DEV_MAX_LUNS when the
 * LUN part is not one we address), -EINVAL when byte 0 is not 1. */
int vscsi_lun_decode(const uint8_t lun[8], int *target, uint32_t *lun_id);

/* Writes len bytes at the start of req's device-writable buffers. */
static inline void vscsi_req_write_in(struct vhost_req *req, const void *buf, size_t len)
{
	iov_from_buf(&req->iov[req->out_cnt], req->iovcnt - req->out_cnt, 0, buf, len);
}

/* vscsi_ctrlq.c (the control queue's worker) */
void vscsi_ctrlq_request(struct vhost_vq *vq, struct vhost_req *req);

/* vscsi_event.c */
int vscsi_eventq_start(struct vhost_vq *vq);   /* eventq worker */
void vscsi_eventq_stopping(struct vhost_vq *vq);
void vscsi_eventq_stop(struct vhost_vq *vq);
void vscsi_eventq_request(struct vhost_vq *vq, struct vhost_req *req);
/* Control thread: queues an event for target num (-1: none) and tries to deliver it. */
void vscsi_event_post(struct vscsi_ctrlr *c, uint32_t event, int num, uint32_t reason);

#endif
