/*
 * I/O queues: each virtio_scsi_cmd_req becomes a scsi_task on this queue's copy of the target,
 * and its result (status, sense cut to sense_size, residual) the virtio_scsi_cmd_resp.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "virtio_scsi/vscsi_internal.h"

/* A LUN copy: what its removed callback gives back. */
struct vscsi_lun_copy {
	struct vscsi_target *t;
	struct bdev_channel *ch;
};

int vscsi_lun_decode(const uint8_t lun[8], int *target, uint32_t *lun_id)
{
	if (lun[0] != 1)
		return -EINVAL;
	*target = lun[1];
	*lun_id = SCSI_DEV_MAX_LUNS;
	if (lun[4] | lun[5] | lun[6] | lun[7])
		return 0;
	switch (lun[2] >> 6) {
	case 0: /* peripheral device addressing, bus 0 */
		if ((lun[2] & 0x3f) == 0)
			*lun_id = lun[3];
		break;
	case 1: /* flat space addressing (what Linux and QEMU send) */
		*lun_id = (uint32_t)(lun[2] & 0x3f) << 8 | lun[3];
		break;
	}
	return 0;
}

struct vscsi_ioq *vscsi_ioq_of(struct vhost_vq *vq)
{
	return vhost_vq_index(vq) >= VSCSI_FIRST_IOQ ? vhost_vq_priv(vq) : NULL;
}

struct scsi_lun *vscsi_ioq_lun(struct vscsi_ioq *q, int num, uint32_t lun_id)
{
	struct scsi_lun *lun = q->devs[num] ? scsi_dev_get_lun(q->devs[num], lun_id) : NULL;

	return lun && scsi_lun_state(lun) == SCSI_LUN_ACTIVE ? lun : NULL;
}

static void vscsi_lun_removed(void *ctx)
{
	struct vscsi_lun_copy *copy = ctx;

	bdev_channel_put(copy->ch);
	vscsi_target_put(copy->t);
	free(copy);
}

void vscsi_ioq_attach(struct vscsi_ioq *q, struct vscsi_target *t)
{
	struct vscsi_lun_copy *copy;
	struct scsi_lun_opts opts = { .removed = vscsi_lun_removed, .shared = &t->shared };
	char name[32];
	int rc = -ENOMEM;

	if (q->devs[t->num] && scsi_dev_get_lun(q->devs[t->num], 0))
		return;
	if (!vscsi_target_get(t))
		return;
	if (atomic_load(&t->removing)) {
		vscsi_target_put(t);
		return;
	}
	snprintf(name, sizeof(name), "Target %d", t->num);
	copy = calloc(1, sizeof(*copy));
	if (copy && !q->devs[t->num])
		rc = scsi_dev_create(name, t->num, &q->devs[t->num]);
	if (copy && q->devs[t->num]) {
		copy->t = t;
		copy->ch = bdev_channel_get(t->desc);
		opts.removed_ctx = copy;
		rc = copy->ch ? scsi_dev_add_lun(q->devs[t->num], 0, t->desc, copy->ch, &opts)
			      : -ENOMEM;
	}
	if (rc == 0)
		return;
	log_error("%s: target %d: cannot add its LUN to an I/O queue: %s",
		  vhost_dev_name(q->ctrlr->vdev), t->num, strerror(-rc));
	if (copy && copy->ch)
		bdev_channel_put(copy->ch);
	free(copy);
	vscsi_target_put(t);
}

int vscsi_ioq_start(struct vhost_vq *vq)
{
	struct vscsi_ctrlr *c = vhost_dev_ctx(vhost_vq_dev(vq));
	struct vscsi_ioq *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->ctrlr = c;
	/* One set of unit attentions per LUN, shared by its copies, not one per queue: a guest's
	 * SG_IO user (sg_unmap) would otherwise meet a copy's on whichever queue it lands on. */
	q->first = vhost_vq_index(vq) == VSCSI_FIRST_IOQ;
	for (int i = 0; i < VSCSI_MAX_TARGETS; i++) {
		struct vscsi_target *t = atomic_load(&c->targets[i]);

		if (!t)
			continue;
		if (q->first)
			scsi_lun_shared_init(&t->shared, bdev_num_blocks(bdev_desc_bdev(t->desc)));
		vscsi_ioq_attach(q, t);
	}
	vhost_vq_set_priv(vq, q);
	return 0;
}

static void vscsi_ioq_dev_destroyed(void *arg)
{
	struct vscsi_ioq *q = arg;

	if (--q->destroying == 0)
		free(q);
}

void vscsi_ioq_stop(struct vhost_vq *vq)
{
	struct vscsi_ioq *q = vhost_vq_priv(vq);

	/* Nothing is in flight on a stopped queue, so LUNs (REMOVING ones too) go at once; the
	 * removed callbacks give back the channels and target references. */
	vhost_vq_set_priv(vq, NULL);
	q->destroying = 1;
	for (int i = 0; i < VSCSI_MAX_TARGETS; i++) {
		if (!q->devs[i])
			continue;
		q->destroying++;
		scsi_dev_destroy(q->devs[i], vscsi_ioq_dev_destroyed, q);
	}
	vscsi_ioq_dev_destroyed(q);
}

#define RESP_HEADER offsetof(struct virtio_scsi_cmd_resp, sense)

/* The usual answer, no sense, stored straight from registers. Assembled in a struct on the stack
 * instead, copying it out would load 8 bytes that two 4-byte stores just wrote: that load waits
 * for them to leave the store buffer, behind the stores to guest memory still waiting for their
 * cache lines (40 ns a command). */
static void vscsi_resp_put_short(void *to, uint32_t resid, uint8_t status, uint8_t response)
{
	uint64_t sense_len_resid = htole64((uint64_t)resid << 32);
	uint32_t qualifier_status_response = htole32((uint32_t)status << 16 | (uint32_t)response << 24);

	memcpy(to, &sense_len_resid, sizeof(sense_len_resid));
	memcpy((uint8_t *)to + 8, &qualifier_status_response, sizeof(qualifier_status_response));
}

static void vscsi_cmd_finish(struct vscsi_req *r, uint8_t response, uint32_t data_len)
{
	struct vhost_req *req = &r->vreq;
	struct scsi_task *task = &r->task;
	const struct iovec *in = &req->iov[req->out_cnt];
	struct virtio_scsi_cmd_resp resp;
	uint32_t sense_len = 0, resid = 0;
	uint8_t status = 0;
	uint64_t buf_len = 0;

	if (response == VIRTIO_SCSI_S_OK) {
		status = task->status;
		sense_len = task->sense_len < sizeof(resp.sense) ? task->sense_len : sizeof(resp.sense);
		for (int i = 0; i < task->iovcnt; i++)
			buf_len += task->iov[i].iov_len;
		/* SAM residual: buffer bytes the command did not move. */
		resid = (uint32_t)(buf_len - task->transferred);
	}
	/* Only the fields and the sense bytes that carry something: the rest of the 108-byte
	 * response is another cache line taken from the guest's CPU on every command. */
	if (!sense_len && in->iov_len >= RESP_HEADER) {
		vscsi_resp_put_short(in->iov_base, resid, status, response);
	} else {
		resp.sense_len = htole32(sense_len);
		resp.resid = htole32(resid);
		resp.status_qualifier = 0;
		resp.status = status;
		resp.response = response;
		memcpy(resp.sense, task->sense, sense_len);
		vscsi_req_write_in(req, &resp, RESP_HEADER + sense_len);
	}
	vhost_req_complete(req, sizeof(resp) + data_len);
}

static void vscsi_task_done(struct scsi_task *task)
{
	struct vscsi_req *r = task->done_arg;

	vscsi_cmd_finish(r, VIRTIO_SCSI_S_OK,
			 task->dir == SCSI_DIR_FROM_DEV ? (uint32_t)task->transferred : 0);
}

/* Points the task at the part of iov[0..cnt) after skip bytes (the data buffer after the
 * header): in place when skip ends on an element boundary, as a driver lays out its buffers,
 * else a copy in the request's own array (at most VHOST_REQ_MAX_IOV entries). */
static void vscsi_task_data(struct vscsi_req *r, struct iovec *iov, int cnt, size_t skip)
{
	struct scsi_task *task = &r->task;
	int i = 0, n = 0;

	while (i < cnt && skip >= iov[i].iov_len)
		skip -= iov[i++].iov_len;
	if (!skip) {
		task->iov = &iov[i];
		task->iovcnt = cnt - i;
		return;
	}
	for (; i < cnt; i++, skip = 0) {
		r->data_iov[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		r->data_iov[n++].iov_len = iov[i].iov_len - skip;
	}
	task->iov = r->data_iov;
	task->iovcnt = n;
}

void vscsi_ioq_request(struct vhost_vq *vq, struct vhost_req *req)
{
	struct vscsi_req *r = (struct vscsi_req *)req;
	struct vscsi_ioq *q = vhost_vq_priv(vq);
	struct scsi_task *task = &r->task;
	const struct virtio_scsi_cmd_req *hdr;
	struct virtio_scsi_cmd_req gathered;
	uint8_t lun[8];
	uint32_t lun_id;
	int target, in_cnt = req->iovcnt - req->out_cnt;

	if (req->in_len < sizeof(struct virtio_scsi_cmd_resp)) {
		vhost_req_complete(req, 0); /* no room for an answer */
		return;
	}
	/* The response is written at completion, after a burst of other stores: asking for its
	 * line now, while the command runs, keeps that store from stalling on the guest's CPU. */
	__builtin_prefetch(req->iov[req->out_cnt].iov_base, 1);
	/* Read in place when the first buffer holds the whole header, as Linux sends it. The guest
	 * may rewrite it meanwhile, so every field is read once, into our own memory. */
	if (req->out_len >= sizeof(*hdr) && req->iov[0].iov_len >= sizeof(*hdr))
		hdr = req->iov[0].iov_base;
	else if (req->out_len >= sizeof(*hdr) &&
		 iov_to_buf(req->iov, req->out_cnt, 0, &gathered, sizeof(gathered)) ==
			 sizeof(gathered))
		hdr = &gathered;
	else {
		vscsi_cmd_finish(r, VIRTIO_SCSI_S_FAILURE, 0);
		return;
	}
	memcpy(lun, hdr->lun, sizeof(lun));
	if (vscsi_lun_decode(lun, &target, &lun_id) || !q->devs[target] ||
	    !scsi_dev_get_lun(q->devs[target], 0)) {
		vscsi_cmd_finish(r, VIRTIO_SCSI_S_BAD_TARGET, 0);
		return;
	}
	/* Only the "in" part: scsi_task_start() resets the layer's own state and the results. */
	memcpy(task->cdb, hdr->cdb, sizeof(task->cdb));
	task->tag = hdr->tag;
	task->dir = SCSI_DIR_NONE;
	task->iovcnt = 0;
	task->lun_id = lun_id;
	task->initiator = VSCSI_INITIATOR;
	task->iov = NULL;
	task->done = vscsi_task_done;
	task->done_arg = r;
	if (req->out_len > sizeof(*hdr) && req->in_len > sizeof(struct virtio_scsi_cmd_resp)) {
		/* Bidirectional needs VIRTIO_SCSI_F_INOUT, which is not offered. */
		vscsi_cmd_finish(r, VIRTIO_SCSI_S_FAILURE, 0);
		return;
	} else if (req->out_len > sizeof(*hdr)) {
		task->dir = SCSI_DIR_TO_DEV;
		vscsi_task_data(r, req->iov, req->out_cnt, sizeof(*hdr));
	} else if (req->in_len > sizeof(struct virtio_scsi_cmd_resp)) {
		task->dir = SCSI_DIR_FROM_DEV;
		vscsi_task_data(r, &req->iov[req->out_cnt], in_cnt,
				sizeof(struct virtio_scsi_cmd_resp));
	}
	scsi_dev_execute(q->devs[target], task);
}
